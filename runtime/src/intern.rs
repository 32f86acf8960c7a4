//! The string interner: rows hold strings and zones as symbol ids (see [`cbp_ir::Scalar`]);
//! equal texts get equal ids, so compiled code compares strings by comparing slots.

use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

/// The interner hashes every string of the input: foldhash (randomly seeded per process, so
/// inputs cannot be made to collide ahead of time) is several times faster than SipHash on
/// short keys. The table holds ids only (the texts are in `texts`): a new text is hashed
/// once, and its `Arc` is not cloned into a map key (each clone and drop is an atomic
/// operation, most of what a new text cost).
type Hasher = foldhash::fast::RandomState;

/// Two kinds of entries:
/// - **permanent** ([`Interner::intern`]): the program's literals and dispatch keys, which
///   compiled code compares slots against; kept for the engine's life.
/// - **held** ([`Interner::intern_held`]): strings of the input (event ids, plates, zones…),
///   unbounded in number. The caller keeps the returned `Arc<str>` beside the id (a row keeps
///   it in its objects); once no row holds it, a sweep frees the entry and may hand its id to
///   another text later. Equal texts alive at the same time still share one id, and a held id
///   never equals a permanent one, so slot comparisons stay exact.
///
/// A held text met [`PROMOTE_AFTER`] times (a zone, a model, a sensor: the input's recurring
/// texts) becomes permanent, up to [`MAX_PROMOTED`] of them: from then on a row naming it
/// holds no `Arc` (no reference count to touch on a cold cache line, nothing to drop).
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashTable<u64>,
    hasher: Hasher,
    /// By id; `None` for a freed id.
    texts: Vec<Option<Arc<str>>>,
    permanent: Vec<bool>,
    /// By id: how many times a held text was met.
    hits: Vec<u32>,
    free: Vec<u64>,
    held: usize,
    promoted: usize,
    sweep_at: usize,
}

/// Held entries before the first sweep; later sweeps wait for the live count to double.
const FIRST_SWEEP: usize = 4096;
/// Meetings after which a held text becomes permanent.
const PROMOTE_AFTER: u32 = 16;
/// Held texts made permanent at most, so memory stays bounded whatever the input.
const MAX_PROMOTED: usize = 16_384;

impl Interner {
    pub fn new() -> Self {
        Interner::default()
    }

    /// The permanent id of `text`, adding it when new (a held entry becomes permanent).
    pub fn intern(&mut self, text: &str) -> u64 {
        let hash = self.hasher.hash_one(text);
        if let Some(id) = self.find(hash, text) {
            if let Some(p) = self.permanent.get_mut(id as usize)
                && !*p
            {
                *p = true;
                self.held = self.held.saturating_sub(1);
            }
            return id;
        }
        self.insert(hash, Arc::from(text), true)
    }

    /// The id of `text`, whose hash is `hash`, if it is interned now.
    fn find(&self, hash: u64, text: &str) -> Option<u64> {
        let texts = &self.texts;
        self.ids
            .find(hash, |&id| {
                texts
                    .get(id as usize)
                    .and_then(Option::as_deref)
                    .is_some_and(|t| t == text)
            })
            .copied()
    }

    /// The id of `text` and, unless the text is permanent, the `Arc<str>` the caller must keep
    /// for as long as it uses the id.
    pub fn intern_held(&mut self, text: &str) -> (u64, Option<Arc<str>>) {
        let hash = self.hasher.hash_one(text);
        if let Some(id) = self.find(hash, text) {
            let index = id as usize;
            if self.permanent.get(index).copied().unwrap_or(true) {
                return (id, None);
            }
            if self.promoted < MAX_PROMOTED
                && let Some(hits) = self.hits.get_mut(index)
            {
                *hits += 1;
                if *hits >= PROMOTE_AFTER
                    && let Some(p) = self.permanent.get_mut(index)
                {
                    *p = true;
                    self.held = self.held.saturating_sub(1);
                    self.promoted += 1;
                    return (id, None);
                }
            }
            let held = self.texts.get(index).cloned().flatten();
            return (id, held);
        }
        if self.held >= self.sweep_at.max(FIRST_SWEEP) {
            self.sweep();
        }
        let text: Arc<str> = Arc::from(text);
        let id = self.insert(hash, text.clone(), false);
        (id, Some(text))
    }

    /// Adds `text` (not interned now), whose hash is `hash`.
    fn insert(&mut self, hash: u64, text: Arc<str>, permanent: bool) -> u64 {
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.texts.get_mut(id as usize) {
                    *slot = Some(text);
                }
                if let Some(p) = self.permanent.get_mut(id as usize) {
                    *p = permanent;
                }
                if let Some(hits) = self.hits.get_mut(id as usize) {
                    *hits = 0;
                }
                id
            }
            None => {
                self.texts.push(Some(text));
                self.permanent.push(permanent);
                self.hits.push(0);
                (self.texts.len() - 1) as u64
            }
        };
        if !permanent {
            self.held += 1;
        }
        let (texts, hasher) = (&self.texts, &self.hasher);
        self.ids.insert_unique(hash, id, |&other| {
            let text = texts.get(other as usize).and_then(Option::as_deref);
            hasher.hash_one(text.unwrap_or_default())
        });
        id
    }

    /// Frees the held entries nobody holds any more (only `texts` refers to them).
    fn sweep(&mut self) {
        for (id, slot) in self.texts.iter_mut().enumerate() {
            let unused = match slot {
                Some(text) => {
                    !self.permanent.get(id).copied().unwrap_or(true) && Arc::strong_count(text) <= 1
                }
                None => false,
            };
            if unused && let Some(text) = slot.take() {
                let hash = self.hasher.hash_one(&*text);
                if let Ok(entry) = self.ids.find_entry(hash, |&other| other == id as u64) {
                    entry.remove();
                }
                self.free.push(id as u64);
                self.held = self.held.saturating_sub(1);
            }
        }
        self.sweep_at = self.held.saturating_mul(2);
    }

    /// The id of `text` if it is interned now.
    pub fn lookup(&self, text: &str) -> Option<u64> {
        self.find(self.hasher.hash_one(text), text)
    }

    /// The text of an id; the empty string for an id not in use.
    pub fn resolve(&self, id: u64) -> Arc<str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.texts.get(i))
            .cloned()
            .flatten()
            .unwrap_or_else(|| Arc::from(""))
    }

    /// Ids in use (permanent and held).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_an_id() {
        let mut interner = Interner::new();
        let a = interner.intern("ka.bengaluru");
        let b = interner.intern("speeding");
        assert_ne!(a, b);
        assert_eq!(interner.intern("ka.bengaluru"), a);
        assert_eq!(&*interner.resolve(b), "speeding");
        assert_eq!(&*interner.resolve(99), "");
        assert_eq!(interner.lookup("nope"), None);
    }

    #[test]
    fn held_texts_are_freed_once_nobody_holds_them() {
        let mut interner = Interner::new();
        let literal = interner.intern("speeding");
        assert_eq!(interner.intern_held("speeding"), (literal, None));
        let (kept_id, kept) = interner.intern_held("v-kept");
        let kept = kept.expect("a held text");
        let (again, _) = interner.intern_held("v-kept");
        assert_eq!(again, kept_id);
        for n in 0..3 * FIRST_SWEEP {
            let (id, held) = interner.intern_held(&format!("v-{n}"));
            assert_ne!(id, literal);
            assert_ne!(id, kept_id);
            drop(held);
        }
        // Dropped texts were swept: the table stays near one sweep's worth.
        assert!(interner.len() <= FIRST_SWEEP + 2, "{}", interner.len());
        assert_eq!(&*interner.resolve(kept_id), "v-kept");
        assert_eq!(&*kept, "v-kept");
        assert_eq!(&*interner.resolve(literal), "speeding");
        assert_eq!(interner.lookup("v-0"), None);
    }

    #[test]
    fn recurring_held_texts_become_permanent() {
        let mut interner = Interner::new();
        let (zone, first) = interner.intern_held("ka.bengaluru.east.indiranagar");
        assert!(first.is_some());
        drop(first);
        for _ in 1..PROMOTE_AFTER {
            let (id, held) = interner.intern_held("ka.bengaluru.east.indiranagar");
            assert_eq!(id, zone);
            assert!(
                held.is_some(),
                "still held before its {PROMOTE_AFTER}th meeting"
            );
        }
        assert_eq!(
            interner.intern_held("ka.bengaluru.east.indiranagar"),
            (zone, None)
        );
        // Nobody holds it, yet sweeps keep it: it is permanent now.
        for n in 0..3 * FIRST_SWEEP {
            let (id, _) = interner.intern_held(&format!("e-{n}"));
            assert_ne!(id, zone);
        }
        assert_eq!(interner.lookup("ka.bengaluru.east.indiranagar"), Some(zone));
        assert_eq!(&*interner.resolve(zone), "ka.bengaluru.east.indiranagar");
    }

    #[test]
    fn promotion_stops_at_its_cap() {
        let mut interner = Interner::new();
        interner.promoted = MAX_PROMOTED;
        let (id, _) = interner.intern_held("plate");
        for _ in 0..2 * PROMOTE_AFTER {
            let (again, held) = interner.intern_held("plate");
            assert_eq!(again, id);
            assert!(held.is_some());
        }
    }
}
