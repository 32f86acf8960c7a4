//! Recognising a redelivered message: Kafka after a crash between the commit and the offset
//! commit, MQTT QoS 1, an HTTP client that retries. A message is known by its `model_id` and
//! `event_id` (unique per `model_id`, contract section 2).
//!
//! The set lives in memory and is rebuilt from the journal at start, so it costs no store
//! write per event. An identity is kept for `window` of event time after the clock passed it:
//! a redelivery older than that is beyond the allowed lateness anyway, and is dead-lettered
//! as late. Identities are kept as 128-bit hashes (two SipHash-1-3 of different keys), so the
//! memory per message is fixed and a false match needs a 2^-128 coincidence.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};

pub struct Seen {
    set: HashSet<u128>,
    /// Identities in the order they were added, with the clock then.
    order: VecDeque<(i64, u128)>,
    window_ms: i64,
}

impl Seen {
    pub fn new(window_ms: i64) -> Seen {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            window_ms: window_ms.max(0),
        }
    }

    /// The identity of a message with these ids.
    pub fn key(model_id: &str, event_id: &str) -> u128 {
        let half = |salt: u8| {
            let mut hasher = std::hash::DefaultHasher::new();
            salt.hash(&mut hasher);
            model_id.hash(&mut hasher);
            event_id.hash(&mut hasher);
            hasher.finish()
        };
        (u128::from(half(0)) << 64) | u128::from(half(1))
    }

    pub fn contains(&self, key: u128) -> bool {
        self.set.contains(&key)
    }

    /// Adds `key` seen at `clock`, and forgets what fell out of the window.
    pub fn insert(&mut self, key: u128, clock: i64) {
        if self.set.insert(key) {
            self.order.push_back((clock, key));
        }
        let cutoff = clock.saturating_sub(self.window_ms);
        while let Some(&(time, old)) = self.order.front() {
            if time >= cutoff {
                break;
            }
            self.order.pop_front();
            self.set.remove(&old);
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_remembered_for_the_window() {
        let mut seen = Seen::new(1000);
        let a = Seen::key("cam", "e-1");
        assert_ne!(a, Seen::key("cam", "e-2"));
        assert_ne!(a, Seen::key("cam2", "e-1"));
        assert_ne!(Seen::key("ab", "c"), Seen::key("a", "bc"));
        assert_eq!(a, Seen::key("cam", "e-1"), "the same on every run");
        seen.insert(a, 0);
        assert!(seen.contains(a));
        seen.insert(Seen::key("cam", "e-2"), 1000);
        assert!(seen.contains(a), "still within the window");
        seen.insert(Seen::key("cam", "e-3"), 1001);
        assert!(
            !seen.contains(a),
            "forgotten once the clock is past the window"
        );
        assert_eq!(seen.len(), 2);
    }
}
