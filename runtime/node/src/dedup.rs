//! Recognising a redelivered message: Kafka after a crash between the commit and the offset
//! commit, MQTT QoS 1, an HTTP client that retries. A message is known by its `model_id` and
//! `event_id` (unique per `model_id`, contract section 2).
//!
//! The set lives in memory and is rebuilt from the journal at start, so it costs no store
//! write per event. An identity is forgotten only when it is both older than `window` of
//! event time and more than `keep` identities back: a redelivery repeats what was in flight
//! (a request, a Kafka batch, unacknowledged MQTT messages), which may span any stretch of
//! event time but not more than a bounded number of messages. Identities are kept as 128-bit
//! hashes (SipHash-1-3 with a 128-bit output, one pass), so the memory per message is fixed
//! and a false match needs a 2^-128 coincidence. They live only in memory (a start rebuilds
//! them), so the hash may change from one version to the next.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The set's hasher: an identity is already a hash, so its bits are used as they are
/// (hashing them again cost more than the lookup).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = (key as u64) ^ ((key >> 64) as u64);
    }
}

/// The most identities room is made for at the start (`keep`'s default).
const PREALLOCATED: usize = 1 << 20;

pub struct Seen {
    set: HashSet<u128, BuildHasherDefault<KeyHasher>>,
    /// Identities in the order they were added, with the clock then.
    order: VecDeque<(i64, u128)>,
    window_ms: i64,
    keep: usize,
}

impl Seen {
    pub fn new(window_ms: i64, keep: usize) -> Seen {
        // Room for the identities kept from the start (up to the default million): a set
        // that grows to them, and then takes one in and lets one go for every message, was
        // rehashed again and again on the core (2 % of its time). Only the set's control
        // bytes are touched now (a byte a slot); the rest as it fills.
        let room = keep.min(PREALLOCATED);
        Seen {
            set: HashSet::with_capacity_and_hasher(room, BuildHasherDefault::default()),
            order: VecDeque::with_capacity(room),
            window_ms: window_ms.max(0),
            keep,
        }
    }

    /// The identity of a line that names no message (not JSON, no ids): its bytes, so a
    /// redelivered bad line is recognised too instead of dead-lettered twice.
    pub fn key_of_bytes(bytes: &[u8]) -> u128 {
        Seen::key("\0bytes", &String::from_utf8_lossy(bytes))
    }

    /// The identity of a message with these ids.
    pub fn key(model_id: &str, event_id: &str) -> u128 {
        use siphasher::sip128::{Hasher128, SipHasher13};
        // `str`'s `Hash` ends each string with a marker byte, so ("ab", "c") and ("a", "bc")
        // hash apart.
        let mut hasher = SipHasher13::new();
        model_id.hash(&mut hasher);
        event_id.hash(&mut hasher);
        hasher.finish128().as_u128()
    }

    pub fn contains(&self, key: u128) -> bool {
        self.set.contains(&key)
    }

    /// Adds `key` seen at `clock`, and forgets what fell out of the window.
    pub fn insert(&mut self, key: u128, clock: i64) {
        if self.admit(key) {
            self.note(key, clock);
            self.expire();
        }
    }

    /// Takes `key` in when it is new (`false`: a redelivery), in one lookup; [`Seen::note`]
    /// then records when, or [`Seen::forget`] takes it out again.
    pub fn admit(&mut self, key: u128) -> bool {
        self.set.insert(key)
    }

    /// An identity [`Seen::admit`] took in is out again (its input was refused).
    pub fn forget(&mut self, key: u128) {
        self.set.remove(&key);
    }

    /// Records when an admitted `key` was seen; [`Seen::expire`] forgets what falls out of
    /// the window by it.
    pub fn note(&mut self, key: u128, clock: i64) {
        self.order.push_back((clock, key));
    }

    /// Forgets the identities both older than the window (by the clock of the last one
    /// noted) and more than `keep` back. Called once for a group of inputs rather than for
    /// each: each removal is a likely cache miss in a set of a million, and in a loop of
    /// nothing else the processor overlaps them (one at a time, they were a tenth of the
    /// core's time). Until then the set holds a group's more than `keep`, never fewer.
    pub fn expire(&mut self) {
        let Some(&(clock, _)) = self.order.back() else {
            return;
        };
        let cutoff = clock.saturating_sub(self.window_ms);
        while self.order.len() > self.keep {
            match self.order.front() {
                Some(&(time, old)) if time < cutoff => {
                    self.order.pop_front();
                    self.set.remove(&old);
                }
                _ => break,
            }
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
        let mut seen = Seen::new(1000, 1);
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

    #[test]
    fn the_latest_identities_are_kept_whatever_their_time() {
        let mut seen = Seen::new(10, 3);
        for (i, time) in [0, 1_000, 2_000, 3_000].into_iter().enumerate() {
            seen.insert(Seen::key("m", &i.to_string()), time);
        }
        assert_eq!(seen.len(), 3, "the oldest goes, the last three stay");
        assert!(!seen.contains(Seen::key("m", "0")));
        assert!(seen.contains(Seen::key("m", "1")));
        assert_ne!(Seen::key_of_bytes(b"x"), Seen::key("x", ""));
    }

    #[test]
    fn a_group_noted_is_forgotten_at_its_expiry_not_before() {
        let mut seen = Seen::new(10, 2);
        let keys: Vec<u128> = (0..5).map(|i| Seen::key("m", &i.to_string())).collect();
        for (time, key) in (0..).step_by(100).zip(&keys) {
            assert!(seen.admit(*key));
            seen.note(*key, time);
        }
        assert_eq!(seen.len(), 5, "noting forgets nothing");
        seen.expire();
        assert_eq!(seen.len(), 2, "the last two are kept");
        assert!(!seen.contains(keys[2]) && seen.contains(keys[3]) && seen.contains(keys[4]));
        // Within the window, more than `keep` stay.
        let mut recent = Seen::new(1_000, 1);
        for (time, key) in (0..).step_by(100).zip(&keys) {
            recent.admit(*key);
            recent.note(*key, time);
        }
        recent.expire();
        assert_eq!(recent.len(), 5, "all within the window of the last");
    }

    #[test]
    fn admitting_is_one_lookup_and_can_be_taken_back() {
        let mut seen = Seen::new(0, 1);
        let (a, b) = (Seen::key("m", "a"), Seen::key("m", "b"));
        assert!(seen.admit(a));
        assert!(!seen.admit(a), "the second time is a redelivery");
        seen.note(a, 5);
        assert!(seen.admit(b));
        seen.forget(b);
        assert!(
            !seen.contains(b),
            "refused, so a redelivery is not a duplicate"
        );
        assert!(seen.contains(a));
        seen.insert(b, 6);
        assert!(!seen.contains(a), "one kept: the older is forgotten");
        assert_eq!(seen.len(), 1);
    }
}
