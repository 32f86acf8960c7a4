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
//! A source may also say what it knows beyond its events ([`Note`]; the Kafka consumer
//! does, from its assignment and each partition's lag), which makes a replayed backlog on
//! several partitions run without a late event:
//!
//! - a source with a **backlog** (a partition just assigned, or with messages on the broker
//!   not delivered yet) is not quiet, however long the wall clock says it has been: it holds
//!   the timers at its watermark — where they are, while it has no event yet — until it
//!   has **caught up**, and only then does the idle timeout apply again;
//! - a source **revoked** holds nothing back.
//!
//! The notes are not journaled: like the wall clock, they only decide when a tick is
//! written, and the ticks are. After a replay (a restart, a reload) the timers wait for a
//! source to speak before they move ([`Watermarks::replayed`]): the journal names only the
//! sources heard before the stop, not a partition the consumer is about to name again.
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

/// The event-time state of every source the node has heard from (or been told of).
///
/// The sources holding timers back are kept ordered by their latest event time (one with no
/// time yet first), so an input costs O(log sources) however many there are (an MQTT topic
/// per sensor makes thousands); one gone quiet is dropped from them when it comes first
/// (only the first matters).
#[derive(Clone, Debug)]
pub struct Watermarks {
    lateness_ms: i64,
    /// How long a source may be quiet and still hold timers back.
    idle: Duration,
    sources: HashMap<Arc<str>, Source>,
    /// The sources that may hold timers back, by latest event time ([`NO_TIME`] for one
    /// assigned and not heard from yet).
    holding: BTreeSet<(i64, Arc<str>)>,
    /// Sources changed since the last [`Watermarks::publish`].
    changed: Vec<Arc<str>>,
    /// Rebuilt from the journal, and no source has spoken since: the sources it names are
    /// the ones heard before the stop, not every one the node has (a partition not heard
    /// from yet is not in it), so the timers stay where the journal left them.
    replayed: bool,
}

/// Where a source with no event yet stands in the order of the holding sources: first, so
/// it holds the timers wherever they are.
const NO_TIME: i64 = i64::MIN;

#[derive(Clone, Debug)]
struct Source {
    /// The largest event time seen from it (Unix ms); `None`: assigned, nothing heard yet.
    latest: Option<i64>,
    /// When it was last heard from, or told of (wall time).
    heard: Instant,
    /// Has events it has not delivered yet ([`Note::Backlog`]): never quiet.
    backlog: bool,
    /// Revoked ([`Note::Revoked`]): holds nothing back until assigned again.
    revoked: bool,
    /// In `holding`.
    holding: bool,
    /// In `changed`.
    changed: bool,
}

impl Source {
    fn new(latest: Option<i64>, heard: Instant) -> Source {
        Source {
            latest,
            heard,
            backlog: false,
            revoked: false,
            holding: false,
            changed: false,
        }
    }

    /// Its place among the holding sources.
    fn key(&self) -> i64 {
        self.latest.unwrap_or(NO_TIME)
    }
}

/// What a source says of itself beyond its events (the Kafka consumer of its partitions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// It has events it has not delivered yet (a partition just assigned, or lagging): it
    /// is not quiet, whatever the wall clock says, until [`Note::CaughtUp`]; with no event
    /// yet, it holds the timers where they are.
    Backlog(Arc<str>),
    /// It has delivered all it had: quiet again once `clock.source_idle` passes.
    CaughtUp(Arc<str>),
    /// It is no longer the node's (a partition revoked): it holds nothing back.
    Revoked(Arc<str>),
}

/// What the API and the metrics show of the watermarks: a copy the core updates with what
/// changed (see [`Watermarks::publish`]).
#[derive(Clone, Debug)]
pub struct View {
    lateness_ms: i64,
    idle: Duration,
    timers_at: Option<i64>,
    sources: BTreeMap<Arc<str>, Seen>,
}

/// A source as the view has it.
#[derive(Clone, Copy, Debug)]
struct Seen {
    latest: Option<i64>,
    heard: Instant,
    backlog: bool,
    revoked: bool,
}

impl From<&Source> for Seen {
    fn from(source: &Source) -> Seen {
        Seen {
            latest: source.latest,
            heard: source.heard,
            backlog: source.backlog,
            revoked: source.revoked,
        }
    }
}

/// A source in `/api/v1/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceView {
    pub source: String,
    /// Null for a source assigned and not heard from yet.
    pub latest_event_time: Option<String>,
    pub watermark: Option<String>,
    /// It holds timers back: heard from within `clock.source_idle`, or with a backlog, and
    /// not revoked.
    pub active: bool,
    /// It says it has events not delivered yet (a Kafka partition's lag).
    pub backlog: bool,
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
            replayed: false,
        }
    }

    /// The source's watermark: its latest event time less the allowed lateness.
    pub fn watermark(&self, source: &str) -> Option<i64> {
        self.sources
            .get(source)
            .and_then(|s| s.latest)
            .map(|latest| latest.saturating_sub(self.lateness_ms))
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
        let name = match self.sources.get_key_value(source) {
            Some((name, _)) => name.clone(),
            None if time.is_some() => self.insert(source, now),
            None => return,
        };
        self.touch(&name, now, |source| {
            source.latest = source.latest.max(time);
        });
    }

    /// Takes in what sources said of themselves at wall time `now`.
    pub fn note(&mut self, notes: &[Note], now: Instant) {
        for note in notes {
            match note {
                Note::Backlog(name) => {
                    let name = self.known(name, now);
                    self.touch(&name, now, |source| {
                        source.revoked = false;
                        source.backlog = true;
                    });
                }
                Note::CaughtUp(name) => {
                    if self.sources.contains_key(name) {
                        self.touch(name, now, |source| source.backlog = false);
                    }
                }
                Note::Revoked(name) => {
                    if self.sources.contains_key(name) {
                        self.touch(name, now, |source| {
                            source.revoked = true;
                            source.backlog = false;
                        });
                    }
                }
            }
        }
    }

    /// The journal has been replayed into these watermarks (`before`: the ones the node had
    /// until then, if any). What the sources said before (a backlog, revoked) holds again,
    /// for they will not say it again; and the timers wait for a source to speak before
    /// they move (after a restart, the Kafka consumer names its partitions again first).
    pub fn replayed(&mut self, before: Option<&Watermarks>) {
        if let Some(before) = before {
            self.carry_notes(before);
        }
        self.replayed = true;
    }

    fn carry_notes(&mut self, before: &Watermarks) {
        for (name, old) in &before.sources {
            let known = self.sources.contains_key(name);
            if !known && (old.revoked || old.latest.is_some()) {
                continue;
            }
            let name = self.known(name, old.heard);
            let heard = self.sources.get(&name).map_or(old.heard, |s| s.heard);
            self.touch(&name, heard, |source| {
                source.backlog = old.backlog;
                source.revoked = old.revoked;
            });
        }
    }

    /// The source's name as the map holds it, made (with no time yet) when new.
    fn known(&mut self, source: &Arc<str>, now: Instant) -> Arc<str> {
        match self.sources.get_key_value(source) {
            Some((name, _)) => name.clone(),
            None => {
                self.sources.insert(source.clone(), Source::new(None, now));
                source.clone()
            }
        }
    }

    fn insert(&mut self, source: &str, now: Instant) -> Arc<str> {
        let name: Arc<str> = source.into();
        self.sources.insert(name.clone(), Source::new(None, now));
        name
    }

    /// Changes a source heard from (or told of) at `now`, keeping `holding` in step: a
    /// source not revoked holds timers back (at its latest time) from now on.
    fn touch(&mut self, name: &Arc<str>, now: Instant, change: impl FnOnce(&mut Source)) {
        let Some(source) = self.sources.get_mut(name) else {
            return;
        };
        self.replayed = false;
        let (was_holding, was_at) = (source.holding, source.key());
        change(source);
        source.heard = now;
        let (holds, at) = (!source.revoked, source.key());
        if was_holding && (!holds || at != was_at) {
            self.holding.remove(&(was_at, name.clone()));
        }
        if holds && (!was_holding || at != was_at) {
            self.holding.insert((at, name.clone()));
        }
        source.holding = holds;
        if !source.changed {
            source.changed = true;
            self.changed.push(name.clone());
        }
    }

    /// How far timers may run at wall time `now`: the smallest watermark of the sources
    /// heard from within the idle timeout or with a backlog (`i64::MIN` while one of them
    /// has no time yet); `None` when there is none.
    pub fn horizon(&mut self, now: Instant) -> Option<i64> {
        if self.replayed {
            return None;
        }
        loop {
            let (at, name) = self.holding.first()?.clone();
            match self.sources.get_mut(&name) {
                Some(source)
                    if source.backlog
                        || now.saturating_duration_since(source.heard) <= self.idle =>
                {
                    return Some(at.saturating_sub(self.lateness_ms));
                }
                Some(source) => source.holding = false,
                None => {}
            }
            self.holding.pop_first();
        }
    }

    /// Brings `view` up to date with what changed since the last call, and returns the
    /// changed sources' watermarks (for the metrics; a source with no time yet has none).
    pub fn publish(&mut self, view: &mut View, timers_at: Option<i64>) -> Vec<(Arc<str>, i64)> {
        view.lateness_ms = self.lateness_ms;
        view.idle = self.idle;
        view.timers_at = timers_at;
        let mut changed = Vec::with_capacity(self.changed.len());
        for name in self.changed.drain(..) {
            if let Some(source) = self.sources.get_mut(&name) {
                source.changed = false;
                view.sources.insert(name.clone(), Seen::from(&*source));
                if let Some(latest) = source.latest {
                    changed.push((name, latest.saturating_sub(self.lateness_ms)));
                }
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
                .map(|(name, s)| (name.clone(), Seen::from(s)))
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
                .map(|(name, seen)| {
                    let quiet = now.saturating_duration_since(seen.heard);
                    SourceView {
                        source: name.to_string(),
                        latest_event_time: seen.latest.map(format_rfc3339),
                        watermark: seen
                            .latest
                            .map(|latest| format_rfc3339(latest.saturating_sub(self.lateness_ms))),
                        active: !seen.revoked && (seen.backlog || quiet <= self.idle),
                        backlog: seen.backlog,
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
        assert_eq!(
            status.sources[0].watermark.as_deref(),
            Some("1970-01-01T00:00:01.000Z")
        );
        // Only what changed is published again.
        marks.observe("b", Some(3_000), now);
        let changed = marks.publish(&mut view, Some(2_000));
        assert_eq!(changed, [(Arc::from("b"), 3_000)]);
        assert_eq!(
            view.status(now).sources[1].latest_event_time.as_deref(),
            Some("1970-01-01T00:00:03.000Z")
        );
    }

    fn name(source: &str) -> Arc<str> {
        Arc::from(source)
    }

    /// A backlog on several partitions, each handed over whole before the next one's first
    /// event: the partitions not heard from yet hold the timers where they are.
    #[test]
    fn a_partition_with_a_backlog_holds_the_timers_until_it_catches_up() {
        let start = Instant::now();
        let mut marks = Watermarks::new(30_000, Duration::from_secs(10));
        let (p0, p1, p2) = ("kafka:e/0", "kafka:e/1", "kafka:e/2");
        // Assigned: all three presumed behind.
        let assigned = [p0, p1, p2].map(|p| Note::Backlog(name(p)));
        marks.note(&assigned, start);
        assert_eq!(marks.horizon(start), Some(i64::MIN), "no time yet: no tick");
        // Partition 0's whole day comes first: the timers may not follow it.
        marks.observe(p0, Some(600 * MIN), start);
        assert_eq!(marks.horizon(start), Some(i64::MIN));
        // Partition 1 starts at the beginning of the day; partition 2 still has nothing.
        marks.observe(p1, Some(10 * MIN), start);
        assert_eq!(marks.horizon(start), Some(i64::MIN));
        assert_eq!(marks.late(p2, 0), None, "no watermark, nothing late");
        assert_eq!(marks.watermark(p2), None);
        // An hour of wall time later (far past the idle timeout) the partitions behind still
        // hold, for they have messages waiting; partition 0 has caught up and goes quiet.
        marks.note(&[Note::CaughtUp(name(p0))], start);
        let later = start + Duration::from_secs(3_600);
        marks.observe(p2, Some(5 * MIN), later);
        assert_eq!(marks.horizon(later), Some(5 * MIN - 30_000));
        marks.observe(p2, Some(20 * MIN), later);
        assert_eq!(marks.horizon(later), Some(10 * MIN - 30_000), "held by 1");
        // Partition 1 catches up and goes quiet: partition 2 (still behind) holds alone.
        marks.note(&[Note::CaughtUp(name(p1))], later);
        let quiet = later + Duration::from_secs(11);
        assert_eq!(marks.horizon(quiet), Some(20 * MIN - 30_000));
        // Partition 2 is revoked (another node takes it): nothing holds.
        marks.note(&[Note::Revoked(name(p2))], quiet);
        assert_eq!(marks.horizon(quiet), None);
        // A message of it still in the pipeline does not make it hold again …
        marks.observe(p2, Some(30 * MIN), quiet);
        assert_eq!(marks.horizon(quiet), None);
        assert_eq!(marks.watermark(p2), Some(30 * MIN - 30_000));
        // … until it is assigned again.
        marks.note(&[Note::Backlog(name(p2))], quiet);
        assert_eq!(marks.horizon(quiet), Some(30 * MIN - 30_000));
    }

    #[test]
    fn a_source_with_no_time_yet_shows_as_such() {
        let now = Instant::now();
        let mut marks = Watermarks::new(0, Duration::from_secs(10));
        marks.note(&[Note::Backlog(name("kafka:e/1"))], now);
        marks.observe("kafka:e/0", Some(2_000), now);
        let mut view = Watermarks::new(0, Duration::ZERO).view();
        let changed = marks.publish(&mut view, None);
        assert_eq!(
            changed,
            [(name("kafka:e/0"), 2_000)],
            "no metric without a time"
        );
        let status = view.status(now + Duration::from_secs(60));
        let waiting = &status.sources[1];
        assert_eq!(waiting.source, "kafka:e/1");
        assert_eq!(
            (
                waiting.latest_event_time.as_deref(),
                waiting.watermark.as_deref()
            ),
            (None, None)
        );
        assert!(waiting.active && waiting.backlog, "{waiting:?}");
        assert!(!status.sources[0].active && !status.sources[0].backlog);
        marks.note(&[Note::Revoked(name("kafka:e/1"))], now);
        marks.publish(&mut view, None);
        assert!(!view.status(now).sources[1].active, "revoked");
    }

    /// A replay rebuilds the watermarks from the journal; what the sources said (a backlog,
    /// revoked) is carried over, so the timers stay held as they were.
    #[test]
    fn notes_outlive_a_replay() {
        let now = Instant::now();
        let mut before = Watermarks::new(0, Duration::from_secs(10));
        before.note(&[Note::Backlog(name("a")), Note::Backlog(name("b"))], now);
        before.note(&[Note::Backlog(name("c")), Note::Revoked(name("c"))], now);
        before.observe("a", Some(5_000), now);
        before.observe("c", Some(1_000), now);
        let mut after = Watermarks::new(0, Duration::from_secs(10));
        after.observe("a", Some(5_000), now);
        after.observe("c", Some(1_000), now);
        after.replayed(Some(&before));
        let later = now + Duration::from_secs(60);
        after.observe("a", None, later);
        assert_eq!(
            after.horizon(later),
            Some(i64::MIN),
            "b, never heard, holds"
        );
        after.note(&[Note::CaughtUp(name("b"))], now);
        assert_eq!(
            after.horizon(later),
            Some(5_000),
            "a has its backlog still; c is revoked"
        );
        assert_eq!(before.horizon(later), Some(i64::MIN));
    }

    /// After a restart the journal names only the sources heard before the stop: the timers
    /// wait for a source to speak (the Kafka consumer names its partitions first), or a
    /// partition not in the journal would find them run ahead.
    #[test]
    fn after_a_replay_the_timers_wait_for_a_source_to_speak() {
        let now = Instant::now();
        let mut marks = Watermarks::new(0, Duration::from_secs(10));
        marks.observe("kafka:e/3", Some(600 * MIN), now);
        marks.observe("kafka:e/2", Some(200 * MIN), now);
        marks.replayed(None);
        assert_eq!(marks.horizon(now), None, "no tick from the journal alone");
        assert_eq!(marks.watermark("kafka:e/2"), Some(200 * MIN));
        let assigned = ["kafka:e/0", "kafka:e/1", "kafka:e/2", "kafka:e/3"];
        marks.note(&assigned.map(|p| Note::Backlog(name(p))), now);
        assert_eq!(
            marks.horizon(now),
            Some(i64::MIN),
            "0 and 1 have no time yet"
        );
        marks.observe("kafka:e/0", Some(0), now);
        marks.observe("kafka:e/1", Some(MIN), now);
        assert_eq!(marks.horizon(now), Some(0));
    }

    /// The ordered set gives what a scan of every source gives, whatever the order of
    /// events, notes, sources and quiet spells.
    #[test]
    fn the_horizon_is_the_smallest_active_watermark() {
        #[derive(Default)]
        struct Model {
            latest: Option<i64>,
            heard: u64,
            backlog: bool,
            revoked: bool,
        }
        let start = Instant::now();
        let mut marks = Watermarks::new(5, Duration::from_secs(3));
        let mut state: BTreeMap<String, Model> = BTreeMap::new();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut second = 0u64;
        for step in 0..4_000u64 {
            let source = format!("s{}", next() % 12);
            // Wall time only moves on.
            second = second.max(step / 10);
            let now = start + Duration::from_secs(second);
            let roll = next() % 10;
            if roll < 7 {
                let time = (next() % 4 != 0).then(|| (next() % 1_000) as i64);
                marks.observe(&source, time, now);
                match (state.get_mut(&source), time) {
                    (Some(entry), time) => {
                        entry.latest = entry.latest.max(time);
                        entry.heard = second;
                    }
                    (None, Some(time)) => {
                        let entry = Model {
                            latest: Some(time),
                            heard: second,
                            ..Model::default()
                        };
                        state.insert(source.clone(), entry);
                    }
                    (None, None) => {}
                }
            } else {
                let note = match roll {
                    7 => Note::Backlog(name(&source)),
                    8 => Note::CaughtUp(name(&source)),
                    _ => Note::Revoked(name(&source)),
                };
                marks.note(std::slice::from_ref(&note), now);
                match (state.get_mut(&source), note) {
                    (Some(entry), note) => {
                        entry.heard = second;
                        match note {
                            Note::Backlog(_) => (entry.backlog, entry.revoked) = (true, false),
                            Note::CaughtUp(_) => entry.backlog = false,
                            Note::Revoked(_) => (entry.backlog, entry.revoked) = (false, true),
                        }
                    }
                    (None, Note::Backlog(_)) => {
                        let entry = Model {
                            heard: second,
                            backlog: true,
                            ..Model::default()
                        };
                        state.insert(source.clone(), entry);
                    }
                    (None, _) => {}
                }
            }
            let check_at = second + next() % 3;
            let scanned = state
                .values()
                .filter(|s| !s.revoked && (s.backlog || check_at - s.heard <= 3))
                .map(|s| s.latest.map_or(i64::MIN, |latest| latest - 5))
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
