//! Per-source event-time watermarks (`clock.watermarks = "per_source"`).
//!
//! With one clock for all input, one fast or clock-skewed source (a Kafka partition, an
//! MQTT topic, a plugin's webhook) drags the clock ahead: timers fire early and the other
//! sources' events become late. Here each source has a watermark — its latest event time
//! less the allowed lateness — and:
//!
//! - an event is late only when it is behind its own source's watermark (refused before
//!   the engine, like a foreign zone: it changes no state, so it is not journaled);
//! - timers (approval deadlines, `no response`, report windows) run only to the smallest
//!   watermark of the sources heard from lately ([`Watermarks::horizon`]): a source quiet
//!   for longer than `clock.source_idle` (wall time) stops holding them back, and when
//!   every source is quiet the idle advance moves the clock on as before.
//!
//! Events are still run on arrival, never buffered: a decision does not wait for the slow
//! source. Which source each input came from, and every move of the timers (an
//! `Input::Tick`), is journaled, so a replay runs the same inputs against the same timers
//! whatever the wall clock said; what is wall-clock here (which sources are quiet) only
//! decides when a tick is written.

use cbp_runtime::time::{format_duration_readable, format_rfc3339};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The event-time state of every source the node has heard from.
///
/// The sources holding timers back are kept ordered by their latest event time, so an input
/// costs O(log sources) however many there are (an MQTT topic per sensor makes thousands);
/// one gone quiet is dropped from them when it comes first (only the first matters).
#[derive(Clone, Debug)]
pub struct Watermarks {
    lateness_ms: i64,
    /// How long a source may be quiet and still hold timers back.
    idle: Duration,
    sources: HashMap<Arc<str>, Source>,
    /// The sources that may hold timers back, by latest event time.
    holding: BTreeSet<(i64, Arc<str>)>,
    /// Sources changed since the last [`Watermarks::publish`].
    changed: Vec<Arc<str>>,
}

#[derive(Clone, Debug)]
struct Source {
    /// The largest event time seen from it (Unix ms).
    latest: i64,
    /// When it was last heard from (wall time).
    heard: Instant,
    /// In `holding`.
    holding: bool,
    /// In `changed`.
    changed: bool,
}

/// What the API and the metrics show of the watermarks: a copy the core updates with what
/// changed (see [`Watermarks::publish`]).
#[derive(Clone, Debug)]
pub struct View {
    lateness_ms: i64,
    idle: Duration,
    timers_at: Option<i64>,
    /// Source → (latest event time, last heard).
    sources: BTreeMap<Arc<str>, (i64, Instant)>,
}

/// A source in `/api/v1/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceView {
    pub source: String,
    pub latest_event_time: String,
    pub watermark: String,
    /// Heard from within `clock.source_idle`: it holds timers back.
    pub active: bool,
    pub quiet_seconds: f64,
}

/// The watermarks as the API shows them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Status {
    /// The event time timers have run to (the smallest active watermark, or the idle
    /// advance); null before the first.
    pub timers_at: Option<String>,
    pub sources: Vec<SourceView>,
}

impl Watermarks {
    pub fn new(lateness_ms: i64, idle: Duration) -> Watermarks {
        Watermarks {
            lateness_ms: lateness_ms.max(0),
            idle,
            sources: HashMap::new(),
            holding: BTreeSet::new(),
            changed: Vec::new(),
        }
    }

    /// The source's watermark: its latest event time less the allowed lateness.
    pub fn watermark(&self, source: &str) -> Option<i64> {
        self.sources
            .get(source)
            .map(|s| s.latest.saturating_sub(self.lateness_ms))
    }

    /// Why an event of `source` at `time` is late: it is behind its source's watermark.
    pub fn late(&self, source: &str, time: i64) -> Option<String> {
        let watermark = self.watermark(source)?;
        (time < watermark).then(|| {
            format!(
                "late: event time {} is before the watermark {} of source `{source}` (its latest event time less the allowed lateness {})",
                format_rfc3339(time),
                format_rfc3339(watermark),
                format_duration_readable(self.lateness_ms)
            )
        })
    }

    /// An event of `source` (its time, when it reads plainly) was run at wall time `now`.
    pub fn observe(&mut self, source: &str, time: Option<i64>, now: Instant) {
        let (name, known) = match self.sources.get_key_value(source) {
            Some((name, known)) => (name.clone(), known.clone()),
            None => {
                let Some(time) = time else { return };
                let name: Arc<str> = source.into();
                let new = Source {
                    latest: time,
                    heard: now,
                    holding: false,
                    changed: false,
                };
                self.sources.insert(name.clone(), new.clone());
                (name, new)
            }
        };
        let latest = time.map_or(known.latest, |t| known.latest.max(t));
        if known.holding && latest != known.latest {
            self.holding.remove(&(known.latest, name.clone()));
        }
        if !known.holding || latest != known.latest {
            self.holding.insert((latest, name.clone()));
        }
        if !known.changed {
            self.changed.push(name.clone());
        }
        if let Some(source) = self.sources.get_mut(&name) {
            *source = Source {
                latest,
                heard: now,
                holding: true,
                changed: true,
            };
        }
    }

    /// How far timers may run at wall time `now`: the smallest watermark of the sources
    /// heard from within the idle timeout; `None` when none was.
    pub fn horizon(&mut self, now: Instant) -> Option<i64> {
        loop {
            let (latest, name) = self.holding.first()?.clone();
            match self.sources.get_mut(&name) {
                Some(source) if now.saturating_duration_since(source.heard) <= self.idle => {
                    return Some(latest.saturating_sub(self.lateness_ms));
                }
                Some(source) => source.holding = false,
                None => {}
            }
            self.holding.pop_first();
        }
    }

    /// Brings `view` up to date with what changed since the last call, and returns the
    /// changed sources' watermarks (for the metrics).
    pub fn publish(&mut self, view: &mut View, timers_at: Option<i64>) -> Vec<(Arc<str>, i64)> {
        view.lateness_ms = self.lateness_ms;
        view.idle = self.idle;
        view.timers_at = timers_at;
        let mut changed = Vec::with_capacity(self.changed.len());
        for name in self.changed.drain(..) {
            if let Some(source) = self.sources.get_mut(&name) {
                source.changed = false;
                view.sources
                    .insert(name.clone(), (source.latest, source.heard));
                changed.push((name, source.latest.saturating_sub(self.lateness_ms)));
            }
        }
        changed
    }

    /// A view of everything (a fresh one, then [`Watermarks::publish`]).
    pub fn view(&self) -> View {
        View {
            lateness_ms: self.lateness_ms,
            idle: self.idle,
            timers_at: None,
            sources: self
                .sources
                .iter()
                .map(|(name, s)| (name.clone(), (s.latest, s.heard)))
                .collect(),
        }
    }
}

impl View {
    /// Every source at wall time `now`, for the API.
    pub fn status(&self, now: Instant) -> Status {
        Status {
            timers_at: self.timers_at.map(format_rfc3339),
            sources: self
                .sources
                .iter()
                .map(|(name, &(latest, heard))| {
                    let quiet = now.saturating_duration_since(heard);
                    SourceView {
                        source: name.to_string(),
                        latest_event_time: format_rfc3339(latest),
                        watermark: format_rfc3339(latest.saturating_sub(self.lateness_ms)),
                        active: quiet <= self.idle,
                        quiet_seconds: quiet.as_secs_f64(),
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn the_slowest_active_source_holds_timers_back() {
        let start = Instant::now();
        let mut marks = Watermarks::new(30_000, Duration::from_secs(10));
        assert_eq!(marks.horizon(start), None, "no source yet");
        marks.observe("http:fast", Some(60 * MIN), start);
        assert_eq!(marks.horizon(start), Some(60 * MIN - 30_000));
        marks.observe("http:slow", Some(10 * MIN), start);
        assert_eq!(
            marks.horizon(start),
            Some(10 * MIN - 30_000),
            "held by the slow one"
        );
        // The slow source catches up: the horizon follows it.
        marks.observe("http:slow", Some(40 * MIN), start + Duration::from_secs(1));
        assert_eq!(marks.horizon(start), Some(40 * MIN - 30_000));
        // An older event does not move a watermark back.
        marks.observe("http:slow", Some(20 * MIN), start + Duration::from_secs(2));
        assert_eq!(marks.watermark("http:slow"), Some(40 * MIN - 30_000));
        // The slow source goes quiet for longer than the idle timeout: it stops holding.
        let later = start + Duration::from_secs(13);
        marks.observe("http:fast", None, later);
        assert_eq!(marks.horizon(later), Some(60 * MIN - 30_000));
        // Everyone quiet: no horizon (the idle advance takes over).
        assert_eq!(marks.horizon(later + Duration::from_secs(11)), None);
    }

    #[test]
    fn lateness_is_against_the_events_own_source() {
        let now = Instant::now();
        let mut marks = Watermarks::new(30_000, Duration::from_secs(10));
        marks.observe("kafka:events/0", Some(60 * MIN), now);
        marks.observe("kafka:events/1", Some(10 * MIN), now);
        // 50 minutes behind the fast partition, but on time for its own.
        assert_eq!(marks.late("kafka:events/1", 10 * MIN - 20_000), None);
        let reason = marks.late("kafka:events/1", 10 * MIN - 31_000).unwrap();
        assert!(reason.contains("`kafka:events/1`"), "{reason}");
        assert!(
            reason.starts_with("late: event time 1970-01-01T00:09:29"),
            "{reason}"
        );
        assert!(marks.late("kafka:events/0", 60 * MIN - 31_000).is_some());
        assert_eq!(
            marks.late("mqtt:new", 0),
            None,
            "a new source has no watermark yet"
        );
        // A source heard from with no readable time keeps its watermark, and stays active.
        marks.observe("mqtt:new", None, now);
        assert_eq!(marks.watermark("mqtt:new"), None);
    }

    #[test]
    fn status_lists_every_source() {
        let now = Instant::now();
        let mut marks = Watermarks::new(0, Duration::from_secs(10));
        marks.observe("b", Some(2_000), now);
        marks.observe("a", Some(1_000), now - Duration::from_secs(20));
        let mut view = Watermarks::new(0, Duration::ZERO).view();
        let changed = marks.publish(&mut view, Some(2_000));
        assert_eq!(changed.len(), 2);
        let status = view.status(now);
        assert_eq!(
            status.timers_at.as_deref(),
            Some("1970-01-01T00:00:02.000Z")
        );
        let names: Vec<_> = status.sources.iter().map(|s| s.source.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(!status.sources[0].active && status.sources[1].active);
        assert_eq!(status.sources[0].watermark, "1970-01-01T00:00:01.000Z");
        // Only what changed is published again.
        marks.observe("b", Some(3_000), now);
        let changed = marks.publish(&mut view, Some(2_000));
        assert_eq!(changed, [(Arc::from("b"), 3_000)]);
        assert_eq!(
            view.status(now).sources[1].latest_event_time,
            "1970-01-01T00:00:03.000Z"
        );
    }

    /// The ordered set gives what a scan of every source gives, whatever the order of
    /// events, sources and quiet spells.
    #[test]
    fn the_horizon_is_the_smallest_active_watermark() {
        let start = Instant::now();
        let mut marks = Watermarks::new(5, Duration::from_secs(3));
        let mut state: BTreeMap<String, (i64, u64)> = BTreeMap::new();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut second = 0u64;
        for step in 0..2_000u64 {
            let source = format!("s{}", next() % 12);
            let time = (next() % 4 != 0).then(|| (next() % 1_000) as i64);
            // Wall time only moves on.
            second = second.max(step / 10);
            let now = start + Duration::from_secs(second);
            marks.observe(&source, time, now);
            match (state.get_mut(&source), time) {
                (Some(entry), time) => {
                    entry.0 = entry.0.max(time.unwrap_or(i64::MIN));
                    entry.1 = second;
                }
                (None, Some(time)) => {
                    state.insert(source.clone(), (time, second));
                }
                (None, None) => {}
            }
            let check_at = second + next() % 3;
            let scanned = state
                .values()
                .filter(|(_, heard)| check_at - heard <= 3)
                .map(|(latest, _)| latest - 5)
                .min();
            assert_eq!(
                marks.horizon(start + Duration::from_secs(check_at)),
                scanned,
                "step {step}"
            );
            second = check_at;
        }
    }
}
