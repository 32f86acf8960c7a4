//! The string interner: rows hold strings and zones as symbol ids (see [`cbp_ir::Scalar`]);
//! equal texts get equal ids, so compiled code compares strings by comparing slots.

use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

/// The interner hashes every string of the input: foldhash (randomly seeded per process, so
/// inputs cannot be made to collide ahead of time) is several times faster than SipHash on
/// short keys. The table holds ids only (the texts are in `entries`): a new text is hashed
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
    /// By id (one entry, so one cache line, for all an id's state).
    entries: Vec<Entry>,
    free: Vec<u64>,
    held: usize,
    promoted: usize,
    sweep_at: usize,
}

#[derive(Debug, Default)]
struct Entry {
    /// `None` for a freed id.
    text: Option<Arc<str>>,
    /// The text's hash, kept for the table's growth and the sweep (no text hashed twice).
    hash: u64,
    /// How many times a held text was met.
    hits: u32,
    permanent: bool,
    /// The text was found to be a well-formed zone (see [`Interner::is_known_zone`]).
    zone: bool,
}

/// Held entries before the first sweep; later sweeps wait for the live count to double.
const FIRST_SWEEP: usize = 4096;
/// Meetings after which a held text becomes permanent.
const PROMOTE_AFTER: u32 = 16;
/// Held texts made permanent at most, so memory stays bounded whatever the input.
const MAX_PROMOTED: usize = 16_384;

impl Interner {
    /// An interner with room for the held texts of its first sweep (a run's first thousands
    /// of event ids then grow nothing).
    pub fn new() -> Self {
        Interner {
            ids: HashTable::with_capacity(FIRST_SWEEP),
            entries: Vec::with_capacity(FIRST_SWEEP),
            ..Interner::default()
        }
    }

    /// The permanent id of `text`, adding it when new (a held entry becomes permanent).
    pub fn intern(&mut self, text: &str) -> u64 {
        let hash = self.hasher.hash_one(text);
        if let Some(id) = self.find(hash, text) {
            if let Some(entry) = self.entries.get_mut(id as usize)
                && !entry.permanent
            {
                entry.permanent = true;
                self.held = self.held.saturating_sub(1);
            }
            return id;
        }
        self.insert(hash, Arc::from(text), true)
    }

    /// The id of `text`, whose hash is `hash`, if it is interned now.
    #[inline]
    fn find(&self, hash: u64, text: &str) -> Option<u64> {
        let entries = &self.entries;
        self.ids
            .find(hash, |&id| {
                entries
                    .get(id as usize)
                    .and_then(|e| e.text.as_deref())
                    .is_some_and(|t| same(t.as_bytes(), text.as_bytes()))
            })
            .copied()
    }

    /// The id of `text` and, unless the text is permanent, the `Arc<str>` the caller must keep
    /// for as long as it uses the id.
    pub fn intern_held(&mut self, text: &str) -> (u64, Option<Arc<str>>) {
        let hash = self.hasher.hash_one(text);
        if let Some(id) = self.find(hash, text) {
            let Some(entry) = self.entries.get_mut(id as usize) else {
                return (id, None);
            };
            if entry.permanent {
                return (id, None);
            }
            if self.promoted < MAX_PROMOTED {
                entry.hits += 1;
                if entry.hits >= PROMOTE_AFTER {
                    entry.permanent = true;
                    self.held = self.held.saturating_sub(1);
                    self.promoted += 1;
                    return (id, None);
                }
            }
            return (id, entry.text.clone());
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
        let entry = Entry {
            text: Some(text),
            hash,
            hits: 0,
            permanent,
            zone: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.entries.get_mut(id as usize) {
                    *slot = entry;
                }
                id
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u64
            }
        };
        if !permanent {
            self.held += 1;
        }
        let entries = &self.entries;
        self.ids.insert_unique(hash, id, |&other| {
            entries.get(other as usize).map_or(0, |e| e.hash)
        });
        id
    }

    /// Frees the held entries nobody holds any more (only `entries` refers to them).
    fn sweep(&mut self) {
        for (id, entry) in self.entries.iter_mut().enumerate() {
            let unused = match &entry.text {
                Some(text) => !entry.permanent && Arc::strong_count(text) <= 1,
                None => false,
            };
            if unused && entry.text.take().is_some() {
                entry.zone = false;
                if let Ok(found) = self.ids.find_entry(entry.hash, |&other| other == id as u64) {
                    found.remove();
                }
                self.free.push(id as u64);
                self.held = self.held.saturating_sub(1);
            }
        }
        self.sweep_at = self.held.saturating_mul(2);
    }

    /// Whether the text of `id` was marked a well-formed zone ([`Interner::mark_zone`]) since
    /// it got the id: the decoder checks a zone's text once, not at every message naming it.
    pub(crate) fn is_known_zone(&self, id: u64) -> bool {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e.zone)
    }

    /// Marks the text of `id` a well-formed zone, for as long as it keeps the id.
    pub(crate) fn mark_zone(&mut self, id: u64) {
        if let Some(entry) = usize::try_from(id)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            entry.zone = true;
        }
    }

    /// The id of `text` if it is interned now.
    pub fn lookup(&self, text: &str) -> Option<u64> {
        self.find(self.hasher.hash_one(text), text)
    }

    /// The text of an id; the empty string for an id not in use.
    pub fn resolve(&self, id: u64) -> Arc<str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.entries.get(i))
            .and_then(|e| e.text.clone())
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

/// Whether two texts are equal, compared a word at a time without a call to `memcmp` (most
/// interned texts are a few dozen bytes, where the call costs more than the comparison).
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two (possibly overlapping) loads cover 2 to 16 bytes; longer texts go word by word,
    // the last word overlapping.
    fn word(t: Option<&[u8]>) -> u64 {
        t.and_then(|t| t.first_chunk::<8>())
            .map_or(0, |c| u64::from_le_bytes(*c))
    }
    fn pair<const N: usize>(t: &[u8]) -> Option<([u8; N], [u8; N])> {
        Some((*t.first_chunk::<N>()?, *t.last_chunk::<N>()?))
    }
    match n {
        0 => true,
        1 => a.first() == b.first(),
        2..4 => pair::<2>(a) == pair::<2>(b),
        4..8 => pair::<4>(a) == pair::<4>(b),
        8..=16 => pair::<8>(a) == pair::<8>(b),
        _ => {
            let mut at = 0;
            while at + 8 <= n {
                if word(a.get(at..at + 8)) != word(b.get(at..at + 8)) {
                    return false;
                }
                at += 8;
            }
            pair::<8>(a) == pair::<8>(b)
        }
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
    fn texts_compare_equal_exactly_when_they_are() {
        let texts: Vec<String> = (0..40)
            .flat_map(|n| {
                let base: String = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
                    .chars()
                    .take(n)
                    .collect();
                // The same length, one byte changed first, in the middle, last.
                let mut variants = vec![base.clone()];
                for at in [0, n / 2, n.saturating_sub(1)] {
                    if n > 0 {
                        let mut bytes = base.clone().into_bytes();
                        bytes[at] = b'_';
                        variants.push(String::from_utf8(bytes).unwrap());
                    }
                }
                variants
            })
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn a_zone_mark_lasts_as_long_as_the_id() {
        let mut interner = Interner::new();
        let (id, held) = interner.intern_held("ka.bengaluru.east.indiranagar");
        assert!(!interner.is_known_zone(id));
        interner.mark_zone(id);
        assert!(interner.is_known_zone(id));
        assert_eq!(interner.intern_held("ka.bengaluru.east.indiranagar").0, id);
        assert!(interner.is_known_zone(id));
        // Freed and given to another text: the mark is gone.
        drop(held);
        for n in 0..3 * FIRST_SWEEP {
            let (other, _) = interner.intern_held(&format!("e-{n}"));
            assert!(!interner.is_known_zone(other), "{n}");
        }
        assert!(!interner.is_known_zone(id));
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
