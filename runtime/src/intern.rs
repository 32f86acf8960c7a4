//! The string interner: rows hold strings and zones as symbol ids (see [`cbp_ir::Scalar`]);
//! equal texts get equal ids, so compiled code compares strings by comparing slots.

use std::collections::HashMap;
use std::sync::Arc;

/// The interner hashes every string of the input: foldhash (randomly seeded per process, so
/// inputs cannot be made to collide ahead of time) is several times faster than SipHash on
/// short keys.
type Ids = HashMap<Arc<str>, u64, foldhash::fast::RandomState>;

/// Two kinds of entries:
/// - **permanent** ([`Interner::intern`]): the program's literals and dispatch keys, which
///   compiled code compares slots against; kept for the engine's life.
/// - **held** ([`Interner::intern_held`]): strings of the input (event ids, plates, zones…),
///   unbounded in number. The caller keeps the returned `Arc<str>` beside the id (a row keeps
///   it in its objects); once no row holds it, a sweep frees the entry and may hand its id to
///   another text later. Equal texts alive at the same time still share one id, and a held id
///   never equals a permanent one, so slot comparisons stay exact.
#[derive(Debug, Default)]
pub struct Interner {
    ids: Ids,
    /// By id; `None` for a freed id.
    texts: Vec<Option<Arc<str>>>,
    permanent: Vec<bool>,
    free: Vec<u64>,
    held: usize,
    sweep_at: usize,
}

/// Held entries before the first sweep; later sweeps wait for the live count to double.
const FIRST_SWEEP: usize = 4096;

impl Interner {
    pub fn new() -> Self {
        Interner::default()
    }

    /// The permanent id of `text`, adding it when new (a held entry becomes permanent).
    pub fn intern(&mut self, text: &str) -> u64 {
        if let Some(id) = self.ids.get(text).copied() {
            if let Some(p) = self.permanent.get_mut(id as usize)
                && !*p
            {
                *p = true;
                self.held = self.held.saturating_sub(1);
            }
            return id;
        }
        self.insert(Arc::from(text), true)
    }

    /// The id of `text` and, unless the text is permanent, the `Arc<str>` the caller must keep
    /// for as long as it uses the id.
    pub fn intern_held(&mut self, text: &str) -> (u64, Option<Arc<str>>) {
        if let Some(id) = self.ids.get(text).copied() {
            if self.permanent.get(id as usize).copied().unwrap_or(true) {
                return (id, None);
            }
            let held = self.texts.get(id as usize).cloned().flatten();
            return (id, held);
        }
        if self.held >= self.sweep_at.max(FIRST_SWEEP) {
            self.sweep();
        }
        let text: Arc<str> = Arc::from(text);
        let id = self.insert(text.clone(), false);
        (id, Some(text))
    }

    fn insert(&mut self, text: Arc<str>, permanent: bool) -> u64 {
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.texts.get_mut(id as usize) {
                    *slot = Some(text.clone());
                }
                if let Some(p) = self.permanent.get_mut(id as usize) {
                    *p = permanent;
                }
                id
            }
            None => {
                self.texts.push(Some(text.clone()));
                self.permanent.push(permanent);
                (self.texts.len() - 1) as u64
            }
        };
        if !permanent {
            self.held += 1;
        }
        self.ids.insert(text, id);
        id
    }

    /// Frees the held entries nobody holds any more (only the map and `texts` refer to them).
    fn sweep(&mut self) {
        for (id, slot) in self.texts.iter_mut().enumerate() {
            let unused = match slot {
                Some(text) => {
                    !self.permanent.get(id).copied().unwrap_or(true) && Arc::strong_count(text) <= 2
                }
                None => false,
            };
            if unused && let Some(text) = slot.take() {
                self.ids.remove(&text);
                self.free.push(id as u64);
                self.held = self.held.saturating_sub(1);
            }
        }
        self.sweep_at = self.held.saturating_mul(2);
    }

    /// The id of `text` if it is interned now.
    pub fn lookup(&self, text: &str) -> Option<u64> {
        self.ids.get(text).copied()
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
}
