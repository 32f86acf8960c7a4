//! The string interner: rows hold strings and zones as symbol ids (see [`cbp_ir::Scalar`]);
//! equal texts get equal ids, so compiled code compares strings by comparing slots.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<Arc<str>, u64>,
    texts: Vec<Arc<str>>,
}

impl Interner {
    pub fn new() -> Self {
        Interner::default()
    }

    /// The id of `text`, adding it when new.
    pub fn intern(&mut self, text: &str) -> u64 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.texts.len() as u64;
        let text: Arc<str> = Arc::from(text);
        self.texts.push(text.clone());
        self.ids.insert(text, id);
        id
    }

    /// The id of `text` if it was ever interned.
    pub fn lookup(&self, text: &str) -> Option<u64> {
        self.ids.get(text).copied()
    }

    /// The text of an id; the empty string for an id never handed out.
    pub fn resolve(&self, id: u64) -> Arc<str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.texts.get(i))
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
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
}
