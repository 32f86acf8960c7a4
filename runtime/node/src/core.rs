//! The core: one thread that owns the engine (the engine and its JIT code stay on the thread
//! that made them) and the store's writer. Everything that changes state is a [`Request`] on
//! one bounded channel, so ingestion from every source is serialised in arrival order, and a
//! full channel makes the senders wait (backpressure) instead of growing memory.
//!
//! Requests are taken in groups: each group is one store transaction (group commit: one
//! fsync for many inputs). An input is journaled, run through the engine, and its records
//! written in the same transaction; replies go out only after the commit.

use crate::approvals::{PendingApproval, PendingChange};
use crate::commit::{Committer, Job};
use crate::dedup::Seen;
use crate::inputs::{Arrivals, Head, Scan, apply, wall_clock_ms};
use crate::metrics::{Metrics, Tally};
use crate::store::{Input, META, RECORDS, Store, StoreError, meta};
use crate::watermarks::Watermarks;
use cbp_ir::Program;
use cbp_runtime::{Engine, Evaluator, LineOutcome, Record, RunOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Sends inputs to the core and waits until they are committed (their identities, zones and
/// times are read here, on the caller's thread).
pub async fn ingest(core: &mpsc::Sender<Request>, inputs: Vec<Input>) -> Result<Ingested, String> {
    let (reply, answer) = oneshot::channel();
    core.send(Request::Ingest {
        inputs: inputs.into(),
        records: false,
        reply,
    })
    .await
    .map_err(|_| "the node is stopping".to_string())?;
    answer
        .await
        .map_err(|_| "the node is stopping".to_string())?
}

/// How many of the latest message identities are always kept, whatever their event time:
/// more than any source has in flight (a request, a Kafka batch, unacknowledged MQTT
/// messages), so every redelivery after a crash is recognised. ~50 MB at most.
const DEDUP_KEEP: usize = 1_000_000;

/// The most requests one transaction takes.
const MAX_GROUP: usize = 256;

/// A group takes no more requests once it has this many inputs: when many arrive at once,
/// the first are answered after their own share has run and committed (the next share runs
/// while it commits) rather than after everyone's.
const GROUP_INPUTS: usize = 2048;

/// A group of at least this many inputs is committed on the commit thread even when no
/// request waits (a Kafka batch); a smaller one, the core commits itself (a webhook's event
/// answers sooner without a thread's wake-up).
const HAND_OVER_FROM: usize = 512;

/// What the core needs to know beyond the program.
#[derive(Clone, Debug)]
pub struct CoreOptions {
    pub lateness_ms: i64,
    pub idle_advance_ms: Option<i64>,
    /// Per-source watermarks (`clock.watermarks = "per_source"`): how long (wall ms) a quiet
    /// source still holds timers back. `None`: one clock, the largest event time.
    pub source_idle_ms: Option<i64>,
    /// How far ahead of the wall clock an event may be (`None`: any).
    pub max_ahead_ms: Option<i64>,
    pub retention_ms: i64,
    pub max_sink_lag: u64,
    /// How long (event time) a message's identity is remembered to recognise a redelivery.
    pub dedup_window_ms: i64,
    /// The zone prefix this node serves; empty: all.
    pub zone: String,
    /// The layers the engine runs (`Config::layers`).
    pub lowest_layer: u8,
    pub highest_layer: u8,
    /// The zones of the child nodes (`command … to children` reaches them).
    pub children: Vec<String>,
    pub interpreter: bool,
}

pub type Reply<T> = oneshot::Sender<Result<T, String>>;

pub enum Request {
    /// Inputs from one source, in order (each read by [`Scan`] on the sender's thread).
    Ingest {
        inputs: Arrivals,
        /// Whether the reply carries the records (HTTP) or only counts (Kafka, MQTT).
        records: bool,
        reply: Reply<Ingested>,
    },
    /// A record that is no engine's output, to write to the log: what another node sent
    /// (`received`), a delivery a sink gave up on (`sink_failure`).
    Log {
        record: serde_json::Value,
        reply: Reply<u64>,
    },
    /// Swap in a new program. A `bundle` sent through the API is kept, so a restart runs it
    /// too; `None` (the configured bundle file changed) makes the file the truth again.
    Reload {
        program: Arc<Program>,
        bundle: Option<Vec<u8>>,
        reply: Reply<Reloaded>,
    },
    /// What a source says of itself beyond its events (the Kafka consumer: partitions
    /// assigned, revoked, with a backlog): decides when timers may run on, with per-source
    /// watermarks; not journaled (the ticks it lets through are).
    Sources(Vec<crate::watermarks::Note>),
}

impl Request {
    /// How many inputs it brings.
    fn input_count(&self) -> usize {
        match self {
            Request::Ingest { inputs, .. } => inputs.len(),
            _ => 0,
        }
    }
}

/// What became of a group of inputs.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Ingested {
    /// Inputs journaled and run (dead-lettered ones included).
    pub accepted: usize,
    /// Inputs already seen (same `model_id` and `event_id`): acknowledged, not run again.
    pub duplicates: usize,
    pub dead_letters: usize,
    /// The records the inputs produced, in order (as written to the log).
    pub records: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Reloaded {
    pub source_hash: String,
    pub rules: usize,
    /// Journaled inputs replayed into the new program's state.
    pub replayed: u64,
}

/// Read-only facts the core publishes for the API and the sinks.
#[derive(Default)]
pub struct Shared {
    /// Records committed so far (the next record's sequence number).
    pub records: AtomicU64,
    /// The smallest cursor of the sinks (records delivered by every sink).
    pub slowest_sink: AtomicU64,
    /// Told each time a sink moves its cursor, so a core held back by the sinks goes on as
    /// soon as they catch up.
    pub sink_moved: tokio::sync::Notify,
    /// The core is running a group (or waiting to hand it over): a source that batches
    /// (Kafka) sends its next batch once this is false and the core's queue is empty.
    pub core_busy: std::sync::atomic::AtomicBool,
    /// Told each time the core is done with a group, so such a source sends its next batch
    /// then, and the core runs it while the group before commits.
    pub core_free: tokio::sync::Notify,
    /// The engine clock (Unix ms; `i64::MIN` before any input).
    pub clock: std::sync::atomic::AtomicI64,
    pub pending: std::sync::Mutex<std::collections::BTreeMap<String, PendingApproval>>,
    /// Approvals resolved lately, so a late second answer is told why it is refused.
    pub resolved: std::sync::Mutex<crate::approvals::Resolved>,
    pub program: std::sync::RwLock<Option<Arc<Program>>>,
    /// The sources' watermarks, with per-source watermarks on.
    pub watermarks: std::sync::Mutex<Option<crate::watermarks::View>>,
}

pub struct Core {
    store: Arc<Store>,
    options: CoreOptions,
    program: Arc<Program>,
    engine: Engine,
    next_input: u64,
    next_record: u64,
    seen: Seen,
    /// Per-source event time (`None`: the one global clock).
    watermarks: Option<Watermarks>,
    /// Wall time of the last input, and the clock then (for the idle advance).
    last_input_wall: Instant,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    committed: watch::Sender<u64>,
    /// Buffers for a group's journal entry and log entry, kept from group to group so their
    /// memory is not allocated (and touched for the first time) again each time. Two pairs:
    /// while one group commits beside the core, the next is built in the other (with one,
    /// every other group grew fresh buffers, and the kernel's zeroing of their pages was a
    /// tenth of the node's time).
    spare_buffers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Writes and commits a group's transaction while the core runs the next group (`None`:
    /// the core commits itself).
    committer: Option<Committer>,
    /// The group whose commit the committer is doing; its replies wait for it.
    in_flight: Option<Ran>,
}

impl Core {
    /// Opens the core on the store: replays the journal through `program` to rebuild the
    /// state the node had when it stopped.
    pub fn start(
        store: Arc<Store>,
        program: Arc<Program>,
        options: CoreOptions,
        shared: Arc<Shared>,
        metrics: Arc<Metrics>,
        committed: watch::Sender<u64>,
    ) -> Result<(Core, u64), String> {
        let engine = new_engine(&program, &options);
        let dedup_window_ms = options.dedup_window_ms;
        let next_record = store.record_count().map_err(|e| e.to_string())?;
        let next_input = store
            .meta(meta::NEXT_INPUT)
            .map_err(|e| e.to_string())?
            .unwrap_or(0)
            .max(0) as u64;
        let mut core = Core {
            store,
            options,
            program,
            engine,
            next_input,
            next_record,
            seen: Seen::new(dedup_window_ms, DEDUP_KEEP),
            watermarks: None,
            last_input_wall: Instant::now(),
            shared,
            metrics,
            committed,
            spare_buffers: Vec::new(),
            committer: None,
            in_flight: None,
        };
        let replayed = core.replay().map_err(|e| e.to_string())?;
        let pending = core.store.pending().map_err(|e| e.to_string())?;
        if let Ok(mut map) = core.shared.pending.lock() {
            map.clear();
            for (id, json) in pending {
                if let Ok(p) = serde_json::from_str::<PendingApproval>(&json) {
                    map.insert(id, p);
                }
            }
        }
        core.publish();
        Ok((core, replayed))
    }

    /// Runs every journaled input through a fresh engine, output discarded: the records of
    /// those inputs were committed with them.
    fn replay(&mut self) -> Result<u64, StoreError> {
        self.engine = new_engine(&self.program, &self.options);
        self.seen = Seen::new(self.options.dedup_window_ms, DEDUP_KEEP);
        let before = std::mem::replace(&mut self.watermarks, new_watermarks(&self.options));
        if self.watermarks.is_some() {
            self.engine.hold_timers();
        }
        if let Ok(mut view) = self.shared.watermarks.lock() {
            *view = None;
        }
        let mut count = 0u64;
        let (engine, seen, watermarks) = (&mut self.engine, &mut self.seen, &mut self.watermarks);
        // The sources replayed count as heard from now: each holds timers back until it has
        // been quiet for the idle timeout.
        let now = Instant::now();
        let replayed = self.store.for_each_input(|seq, input| {
            apply(engine, seq, &input, &mut |_| {});
            let head = Head::of(&input);
            if let Some(key) = head.identity {
                seen.insert(key, engine.clock().unwrap_or(i64::MIN));
            }
            if let (Some(watermarks), Some(source)) = (watermarks.as_mut(), input.source()) {
                watermarks.observe(source, head.time, now);
            }
            count += 1;
            Ok(())
        });
        // What the sources said of themselves (a backlog, revoked) is not in the journal.
        if let Some(after) = &mut self.watermarks {
            after.replayed(before.as_ref());
        }
        replayed?;
        Ok(count)
    }

    fn publish(&mut self) {
        self.publish_at(
            self.next_record,
            self.engine.clock(),
            self.engine.timers_held_at(),
        );
    }

    /// Publishes the state after a commit: `records` committed, the engine `clock` and
    /// where its timers had run to (`timers_at`, per-source watermarks) then — the engine
    /// may have run on since, into a group not committed yet. The sources' own watermarks
    /// shown may already include that group's.
    fn publish_at(&mut self, records: u64, clock: Option<i64>, timers_at: Option<i64>) {
        self.shared.records.store(records, Ordering::Release);
        self.shared
            .clock
            .store(clock.unwrap_or(i64::MIN), Ordering::Release);
        if let Ok(mut program) = self.shared.program.write() {
            *program = Some(self.program.clone());
        }
        if let Some(watermarks) = &mut self.watermarks
            && let Ok(mut shared) = self.shared.watermarks.lock()
        {
            let view = shared.get_or_insert_with(|| watermarks.view());
            let changed = watermarks.publish(view, timers_at);
            self.metrics.set_watermarks(&changed, timers_at);
        }
        self.committed.send_replace(records);
    }

    /// The core's loop, on its own thread, until every sender is gone.
    pub fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::error!("the core cannot start its timer: {e}");
                return;
            }
        };
        self.committer = Committer::spawn(self.store.clone());
        runtime.block_on(async move {
            let tick = Duration::from_millis(500);
            loop {
                // While a group commits, a request already waiting is run meanwhile; with
                // none, the commit is awaited and its replies go out.
                if self.in_flight.is_some() {
                    let finished = self.committer.as_ref().map(|c| c.finished.clone());
                    match (requests.try_recv(), finished) {
                        (Ok(first), _) => self.take_group(first, &mut requests).await,
                        // Whichever comes first: the commit, or a request to run meanwhile.
                        (Err(_), Some(finished)) => {
                            tokio::select! {
                                biased;
                                () = finished.notified() => {
                                    self.finish_in_flight();
                                }
                                request = requests.recv() => match request {
                                    Some(first) => self.take_group(first, &mut requests).await,
                                    None => break,
                                },
                            }
                        }
                        (Err(_), None) => {
                            self.finish_in_flight();
                        }
                    }
                    continue;
                }
                let first = match tokio::time::timeout(tick, requests.recv()).await {
                    Ok(Some(request)) => request,
                    Ok(None) => break,
                    Err(_) => {
                        self.watermark_tick();
                        self.idle_tick();
                        continue;
                    }
                };
                self.take_group(first, &mut requests).await;
            }
            self.finish_in_flight();
            if let Some(committer) = self.committer.take() {
                committer.stop();
            }
            tracing::info!("the core stops: every input is committed");
        });
    }

    /// Takes `first` and what else is waiting (up to [`MAX_GROUP`]) as one group.
    async fn take_group(&mut self, first: Request, requests: &mut mpsc::Receiver<Request>) {
        self.shared.core_busy.store(true, Ordering::Release);
        self.wait_for_sinks().await;
        let mut inputs = first.input_count();
        let mut group = vec![first];
        while group.len() < MAX_GROUP && inputs < GROUP_INPUTS {
            match requests.try_recv() {
                Ok(request) => {
                    inputs += request.input_count();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        self.handle_group(group, requests);
        self.shared.core_busy.store(false, Ordering::Release);
        self.shared.core_free.notify_one();
    }

    /// Backpressure from the sinks: while the slowest is too far behind, take no input.
    async fn wait_for_sinks(&mut self) {
        loop {
            let slowest = self.shared.slowest_sink.load(Ordering::Acquire);
            if self.next_record.saturating_sub(slowest) <= self.options.max_sink_lag {
                return;
            }
            // The sinks only see committed records.
            self.finish_in_flight();
            // Woken by a sink's progress (a move since the check above left a permit, so the
            // wait returns at once); the timeout only re-checks if no sink moves at all.
            let moved = self.shared.sink_moved.notified();
            let _ = tokio::time::timeout(Duration::from_millis(20), moved).await;
        }
    }

    /// With per-source watermarks, a source that has gone quiet stops holding timers back
    /// even while no input comes: the timers run on to the new horizon (journaled).
    fn watermark_tick(&mut self) {
        let Some(tick) = self.watermark_step(None) else {
            return;
        };
        match self.commit_inputs(&[tick], false) {
            Ok(_) => self.publish(),
            Err(e) => {
                tracing::error!("a watermark tick could not be committed: {e}");
                if let Err(e) = self
                    .reload_counters()
                    .and_then(|()| self.replay().map(|_| ()))
                {
                    tracing::error!("the state could not be rebuilt: {e}");
                }
            }
        }
    }

    /// Notes an input's source and event time; the tick that lets the timers run on, when
    /// the smallest watermark of the active sources has passed where they are.
    fn watermark_step(&mut self, heard: Option<(&str, Option<i64>)>) -> Option<Input> {
        let watermarks = self.watermarks.as_mut()?;
        let now = Instant::now();
        if let Some((source, time)) = heard {
            watermarks.observe(source, time, now);
        }
        let horizon = watermarks.horizon(now)?;
        (horizon > self.engine.timers_held_at().unwrap_or(i64::MIN)).then_some(Input::Tick(horizon))
    }

    /// When the input has been quiet for the idle advance, the clock runs on with the wall
    /// clock (journaled as a tick, so a replay sees the same clock).
    fn idle_tick(&mut self) {
        let Some(idle_ms) = self.options.idle_advance_ms else {
            return;
        };
        let Some(clock) = self.engine.clock() else {
            return;
        };
        let quiet = self.last_input_wall.elapsed().as_millis() as i64;
        if quiet < idle_ms {
            return;
        }
        let target = clock.saturating_add(quiet);
        self.last_input_wall = Instant::now();
        match self.commit_inputs(&[Input::Tick(target)], false) {
            Ok(_) => self.publish(),
            Err(e) => {
                tracing::error!("a clock tick could not be committed: {e}");
                if let Err(e) = self
                    .reload_counters()
                    .and_then(|()| self.replay().map(|_| ()))
                {
                    tracing::error!("the state could not be rebuilt: {e}");
                }
            }
        }
    }

    /// Runs a group; `requests` tells whether more are waiting (see [`Core::flush_inputs`]).
    fn handle_group(&mut self, group: Vec<Request>, requests: &mpsc::Receiver<Request>) {
        let mut inputs = Arrivals::default();
        let mut waiting: Vec<Waiting> = Vec::new();
        for request in group {
            match request {
                Request::Ingest {
                    inputs: mut batch,
                    records,
                    reply,
                } => {
                    let start = inputs.len();
                    inputs.append(&mut batch);
                    waiting.push(Waiting {
                        start,
                        end: inputs.len(),
                        records,
                        reply,
                    });
                }
                Request::Log { record, reply } => {
                    self.flush_inputs(&mut inputs, &mut waiting, None);
                    self.finish_in_flight();
                    let _ = reply.send(self.log(&record).map_err(|e| e.to_string()));
                    self.publish();
                }
                Request::Reload {
                    program,
                    bundle,
                    reply,
                } => {
                    // Inputs before the reload run on the old program.
                    self.flush_inputs(&mut inputs, &mut waiting, None);
                    self.finish_in_flight();
                    let _ = reply.send(self.reload(program, bundle.as_deref()));
                }
                Request::Sources(notes) => {
                    if let Some(watermarks) = &mut self.watermarks {
                        watermarks.note(&notes, Instant::now());
                        // What is published is committed: the group in flight first.
                        self.finish_in_flight();
                        self.publish();
                    }
                }
            }
        }
        self.flush_inputs(&mut inputs, &mut waiting, Some(requests));
    }

    /// Runs and commits the inputs gathered. When `requests` has more waiting once they have
    /// run, the committer commits them while the core runs on; otherwise the core commits
    /// them itself (handing over would only add a thread's wake-up to the reply).
    fn flush_inputs(
        &mut self,
        inputs: &mut Arrivals,
        waiting: &mut Vec<Waiting>,
        requests: Option<&mpsc::Receiver<Request>>,
    ) {
        if inputs.is_empty() {
            for waiter in waiting.drain(..) {
                let _ = waiter.reply.send(Ok(Ingested::default()));
            }
            return;
        }
        self.last_input_wall = Instant::now();
        let keep_records = waiting.iter().any(|w| w.records);
        let (mut job, ran) = self.run_group(
            &inputs.inputs,
            &inputs.scans,
            keep_records,
            std::mem::take(waiting),
        );
        // Freed by the committer (they were allocated on the sources' threads), not the core.
        job.inputs = std::mem::take(&mut inputs.inputs);
        inputs.scans.clear();
        // Commits go in order: the previous group's first. When it failed, the state was
        // rebuilt from the store, and this group's run is void.
        if !self.finish_in_flight() {
            self.recycle(job);
            fail(
                ran.waiting,
                "the inputs were not committed: an earlier group failed to commit",
            );
            return;
        }
        // A large group is handed over even with nothing waiting: the next one may arrive
        // while it commits, and a thread's wake-up is nothing beside its write.
        let hand_over =
            ran.outcomes.len() >= HAND_OVER_FROM || requests.is_some_and(|r| !r.is_empty());
        let job = match &self.committer {
            Some(committer) if hand_over => match committer.jobs.send(job) {
                Ok(()) => {
                    self.in_flight = Some(ran);
                    return;
                }
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            _ => job,
        };
        let committed = job.write(&self.store);
        self.recycle(job);
        self.conclude(ran, committed);
    }

    /// Waits for the commit in flight, if any, and concludes its group. `false`: it failed
    /// (and the state was rebuilt from the store).
    fn finish_in_flight(&mut self) -> bool {
        let Some(ran) = self.in_flight.take() else {
            return true;
        };
        let done = self.committer.as_ref().map(|c| c.done.recv());
        let committed = match done {
            Some(Ok((job, committed))) => {
                self.recycle(job);
                committed
            }
            _ => {
                self.committer = None;
                Err(StoreError::Stopped)
            }
        };
        self.conclude(ran, committed)
    }

    /// After a group's commit: publishes what it committed and replies; on a failure, fails
    /// its requests and rebuilds the state from the store (the engine ran inputs that are not
    /// in it). Returns whether it committed.
    fn conclude(&mut self, ran: Ran, committed: Result<(), StoreError>) -> bool {
        if let Err(e) = committed {
            let message = format!("the inputs were not committed: {e}");
            tracing::error!("{message}; rebuilding the state from the journal");
            fail(ran.waiting, &message);
            if let Err(e) = self
                .reload_counters()
                .and_then(|()| self.replay().map(|_| ()))
            {
                tracing::error!("the state could not be rebuilt: {e}");
            }
            self.publish();
            return false;
        }
        let (next_record, clock, timers_at) = (ran.next_record, ran.clock, ran.timers_at);
        let (outcomes, waiting) = self.committed(ran);
        // What the replies announce is visible (clock, record count) before they go out.
        self.publish_at(next_record, clock, timers_at);
        for Waiting {
            start,
            end,
            records: _,
            reply,
        } in waiting
        {
            let mut ingested = Ingested::default();
            for outcome in &outcomes[start..end] {
                match outcome {
                    InputOutcome::Duplicate => ingested.duplicates += 1,
                    InputOutcome::Run { dead, records } => {
                        ingested.accepted += 1;
                        ingested.dead_letters += usize::from(*dead);
                        ingested.records.extend(records.iter().cloned());
                    }
                }
            }
            let _ = reply.send(Ok(ingested));
        }
        true
    }

    fn reload_counters(&mut self) -> Result<(), StoreError> {
        self.next_record = self.store.record_count()?;
        self.next_input = self.store.meta(meta::NEXT_INPUT)?.unwrap_or(0).max(0) as u64;
        Ok(())
    }

    /// Journals and runs `inputs` in one transaction: one journal entry for the inputs, one
    /// log entry for their records. With `keep_records`, each outcome carries its records
    /// (for the reply).
    fn commit_inputs(
        &mut self,
        inputs: &[Input],
        keep_records: bool,
    ) -> Result<Vec<InputOutcome>, StoreError> {
        // (A failure there has rebuilt the state from the store, which this group builds on.)
        self.finish_in_flight();
        let scans: Vec<Scan> = inputs.iter().map(Scan::of).collect();
        let (job, ran) = self.run_group(inputs, &scans, keep_records, Vec::new());
        let committed = job.write(&self.store);
        self.recycle(job);
        committed?;
        Ok(self.committed(ran).0)
    }

    /// Runs a group through the engine: what its transaction writes, and what waits for it.
    fn run_group(
        &mut self,
        inputs: &[Input],
        scans: &[Scan],
        keep_records: bool,
        waiting: Vec<Waiting>,
    ) -> (Job, Ran) {
        let started = Instant::now();
        let first_input = self.next_input;
        let first_record = self.next_record;
        let (mut entry, mut log) = self.spare_buffers.pop().unwrap_or_default();
        entry.clear();
        log.clear();
        let (outcomes, changes, tally) =
            self.run_inputs(inputs, scans, keep_records, &mut entry, &mut log);
        let pending = changes
            .iter()
            .map(|change| match change {
                PendingChange::Open(p) => (
                    p.decision_id.clone(),
                    Some(serde_json::to_string(p).unwrap_or_default()),
                ),
                PendingChange::Close(id) => (id.clone(), None),
            })
            .collect();
        let clock = self.engine.clock();
        let job = Job {
            first_input,
            first_record,
            next_input: self.next_input,
            next_record: self.next_record,
            entry,
            log,
            pending,
            clock,
            retention_ms: self.options.retention_ms,
            inputs: Vec::new(),
        };
        let ran = Ran {
            outcomes,
            changes,
            tally,
            waiting,
            next_record: self.next_record,
            clock,
            timers_at: self.engine.timers_held_at(),
            started,
        };
        (job, ran)
    }

    /// A committed group's approvals and metrics; its outcomes, and who waits for them.
    fn committed(&mut self, ran: Ran) -> (Vec<InputOutcome>, Vec<Waiting>) {
        for change in ran.changes {
            self.apply_pending(change);
        }
        ran.tally.publish(&self.metrics);
        self.metrics
            .commit_seconds
            .observe(ran.started.elapsed().as_secs_f64());
        (ran.outcomes, ran.waiting)
    }

    /// Keeps a written job's buffers for a later group, unless a huge group left them huge.
    fn recycle(&mut self, job: Job) {
        const KEEP_BYTES: usize = 16 << 20;
        const KEEP_PAIRS: usize = 2;
        let keep = |buffer: Vec<u8>| {
            if buffer.capacity() <= KEEP_BYTES {
                buffer
            } else {
                Vec::new()
            }
        };
        if self.spare_buffers.len() < KEEP_PAIRS {
            self.spare_buffers.push((keep(job.entry), keep(job.log)));
        }
    }

    /// Runs one journaled input (its sequence number is the next), logging its records into
    /// `log` (and `reply`, when kept) and collecting the approvals it opens or closes.
    fn run_logged(
        &mut self,
        input: &Input,
        log: &mut Vec<u8>,
        changes: &mut Vec<PendingChange>,
        tally: &mut Tally,
        mut reply: Option<&mut Vec<Box<serde_json::value::RawValue>>>,
    ) -> LineOutcome {
        let seq = self.next_input;
        self.next_input += 1;
        let mut next_record = self.next_record;
        let outcome = apply(&mut self.engine, seq, input, &mut |record| {
            if let Some(change) = PendingChange::of(record, input) {
                changes.push(change);
            }
            log_record(record, log, tally, reply.as_deref_mut());
            next_record += 1;
        });
        self.next_record = next_record;
        outcome
    }

    /// Runs `inputs` through the engine, their journal entry into `entry` and their records'
    /// log entry into `log`.
    fn run_inputs(
        &mut self,
        inputs: &[Input],
        scans: &[Scan],
        keep_records: bool,
        entry: &mut Vec<u8>,
        log: &mut Vec<u8>,
    ) -> (Vec<InputOutcome>, Vec<PendingChange>, Tally) {
        let mut outcomes = Vec::with_capacity(inputs.len());
        let mut changes: Vec<PendingChange> = Vec::new();
        let mut tally = Tally::default();
        // The wall clock, read once for the group when an input needs it.
        let mut now: Option<i64> = None;
        // The group's identities are taken into the duplicate set first, in one tight loop:
        // each lookup is a likely cache miss in a set of a million, and in a loop of nothing
        // else the processor overlaps them. An input found there already is looked up again
        // at its turn, when what ran before it may have changed the answer (an identity
        // forgotten because its input was refused, or fallen out of the window), so every
        // input is decided exactly as one lookup at its turn would decide it.
        let admitted: Vec<bool> = scans
            .iter()
            .map(|scan| scan.identity().is_none_or(|key| self.seen.admit(key)))
            .collect();
        for (i, input) in inputs.iter().enumerate() {
            let head = match scans.get(i) {
                Some(scan) => scan.head(input),
                None => Head::of(input),
            };
            let identity = head.identity;
            // Taken in (above, or now), its clock noted once it has run.
            if let Some(key) = identity
                && !admitted.get(i).copied().unwrap_or(false)
                && !self.seen.admit(key)
            {
                self.metrics.duplicates.inc();
                outcomes.push(InputOutcome::Duplicate);
                continue;
            }
            let refusal = head
                .outside(&self.options.zone)
                .or_else(|| {
                    let ahead = self.options.max_ahead_ms?;
                    head.too_far_ahead(ahead, *now.get_or_insert_with(wall_clock_ms))
                })
                .or_else(|| {
                    // Late against its own source's watermark.
                    let (watermarks, source) = (self.watermarks.as_ref()?, input.source()?);
                    watermarks.late(source, head.time?)
                });
            if let Some(reason) = refusal {
                // Refused before the engine: it changes no state, so it is not journaled,
                // and a redelivery is refused again.
                if let Some(key) = identity {
                    self.seen.forget(key);
                }
                self.metrics.refused.inc();
                let raw = match input.unsourced() {
                    Input::Line(raw) | Input::Delivered { line: raw, .. } => raw.as_str(),
                    _ => "",
                };
                let record = Record::dead_letter(self.next_input + 1, reason, raw);
                let mut records = Vec::new();
                log_record(
                    &record,
                    log,
                    &mut tally,
                    keep_records.then_some(&mut records),
                );
                self.next_record += 1;
                outcomes.push(InputOutcome::Run {
                    dead: true,
                    records,
                });
                continue;
            }
            let mut records = Vec::new();
            // When this input moves the slowest source's watermark, the timers due by then
            // fire first (as `cbpc run` fires those due by an event's time before it).
            let heard = input.source().map(|source| (source, head.time));
            if let Some(tick) = self.watermark_step(heard) {
                tick.append_to(entry);
                self.run_logged(
                    &tick,
                    log,
                    &mut changes,
                    &mut tally,
                    keep_records.then_some(&mut records),
                );
            }
            // The source is journaled only when it matters (per-source watermarks).
            match self.watermarks {
                Some(_) => input.append_to(entry),
                None => input.unsourced().append_to(entry),
            }
            let outcome = self.run_logged(
                input,
                log,
                &mut changes,
                &mut tally,
                keep_records.then_some(&mut records),
            );
            if let Some(key) = identity {
                self.seen.note(key, self.engine.clock().unwrap_or(i64::MIN));
            }
            if !matches!(input, Input::Tick(_)) {
                tally.count_event();
            }
            outcomes.push(InputOutcome::Run {
                dead: matches!(outcome, LineOutcome::DeadLettered),
                records,
            });
        }
        self.seen.expire();
        (outcomes, changes, tally)
    }

    fn apply_pending(&self, change: PendingChange) {
        if let Ok(mut map) = self.shared.pending.lock() {
            match change {
                PendingChange::Open(p) => {
                    map.insert(p.decision_id.clone(), *p);
                }
                PendingChange::Close(id) => {
                    if let Some(closed) = map.remove(&id)
                        && let Ok(mut resolved) = self.shared.resolved.lock()
                    {
                        resolved.insert(closed);
                    }
                }
            }
            self.metrics.pending_approvals.set(map.len() as i64);
        }
    }

    fn log(&mut self, record: &serde_json::Value) -> Result<u64, StoreError> {
        let line = record.to_string();
        let seq = self.next_record;
        let txn = self.store.begin_write()?;
        {
            txn.open_table(RECORDS)?.insert(seq, line.as_str())?;
            txn.open_table(META)?
                .insert(meta::NEXT_RECORD, (seq + 1) as i64)?;
        }
        txn.commit()?;
        self.next_record = seq + 1;
        Ok(seq)
    }

    fn reload(&mut self, program: Arc<Program>, bundle: Option<&[u8]>) -> Result<Reloaded, String> {
        let previous = std::mem::replace(&mut self.program, program);
        match self.replay() {
            Ok(replayed) => {
                let saved = match bundle {
                    Some(bytes) => self.store.set_reloaded_program(bytes),
                    None => self.store.clear_reloaded_program(),
                };
                if let Err(e) = saved {
                    tracing::warn!("the reloaded bundle is running but not saved: {e}");
                }
                self.metrics.reloads.inc();
                self.publish();
                Ok(Reloaded {
                    source_hash: self.program.source_hash.clone(),
                    rules: self.program.rules.len(),
                    replayed,
                })
            }
            Err(e) => {
                self.program = previous;
                let _ = self.replay();
                Err(format!("the journal could not be replayed: {e}"))
            }
        }
    }
}

/// An ingest request waiting for its group's commit: its inputs are `start..end` of the group.
struct Waiting {
    start: usize,
    end: usize,
    records: bool,
    reply: Reply<Ingested>,
}

enum InputOutcome {
    Duplicate,
    Run {
        dead: bool,
        records: Vec<Box<serde_json::value::RawValue>>,
    },
}

fn fail(waiting: Vec<Waiting>, message: &str) {
    for waiter in waiting {
        let _ = waiter.reply.send(Err(message.to_string()));
    }
}

/// A group the engine has run, waiting for its commit.
struct Ran {
    outcomes: Vec<InputOutcome>,
    changes: Vec<PendingChange>,
    tally: Tally,
    waiting: Vec<Waiting>,
    /// The record count, the engine clock and where its timers had run to after the group.
    next_record: u64,
    clock: Option<i64>,
    timers_at: Option<i64>,
    started: Instant,
}

fn new_engine(program: &Arc<Program>, options: &CoreOptions) -> Engine {
    let evaluator: Box<dyn Evaluator> = if options.interpreter {
        cbp_runtime::interpreter(program)
    } else {
        cbp_jit::evaluator(program)
    };
    let mut engine = Engine::new(
        program.clone(),
        evaluator,
        RunOptions {
            until: None,
            lateness_ms: options.lateness_ms,
            lowest_layer: options.lowest_layer,
            highest_layer: options.highest_layer,
        },
    );
    for child in &options.children {
        engine.add_remote_node(child);
    }
    engine
}

fn new_watermarks(options: &CoreOptions) -> Option<Watermarks> {
    let idle = options.source_idle_ms?;
    Some(Watermarks::new(
        options.lateness_ms,
        Duration::from_millis(idle.max(0) as u64),
    ))
}

/// Appends `record` to the group's log entry (and to `reply`, when kept): serialized once,
/// as a raw JSON value the reply can carry without parsing it again.
fn log_record(
    record: &Record,
    log: &mut Vec<u8>,
    tally: &mut Tally,
    reply: Option<&mut Vec<Box<serde_json::value::RawValue>>>,
) {
    tally.count(record);
    if !log.is_empty() {
        log.push(b'\n');
    }
    match reply {
        Some(reply) => {
            let raw = serde_json::value::to_raw_value(record)
                .unwrap_or_else(|_| Box::<serde_json::value::RawValue>::default());
            log.extend_from_slice(raw.get().as_bytes());
            reply.push(raw);
        }
        None => record.write_json(log),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicySource, load};

    fn options() -> CoreOptions {
        let config = crate::Config::from_toml("[clock]\nidle_advance = \"off\"\n").unwrap();
        let (lowest_layer, highest_layer) = config.layers();
        CoreOptions {
            lateness_ms: config.lateness_ms(),
            idle_advance_ms: None,
            source_idle_ms: None,
            max_ahead_ms: None,
            retention_ms: config.retention_ms(),
            max_sink_lag: u64::MAX,
            dedup_window_ms: config.dedup_window_ms(),
            zone: String::new(),
            lowest_layer,
            highest_layer,
            children: Vec::new(),
            interpreter: true,
        }
    }

    /// A core on the store in `dir`, on its thread; how many inputs it replayed.
    fn start(
        dir: &std::path::Path,
    ) -> (
        mpsc::Sender<Request>,
        std::thread::JoinHandle<()>,
        Arc<Store>,
        u64,
    ) {
        start_with(dir, options())
    }

    fn start_with(
        dir: &std::path::Path,
        options: CoreOptions,
    ) -> (
        mpsc::Sender<Request>,
        std::thread::JoinHandle<()>,
        Arc<Store>,
        u64,
    ) {
        let store = Arc::new(Store::open(dir).unwrap());
        let program = load(&PolicySource::Shipped).unwrap();
        let (requests, inbox) = mpsc::channel(1024);
        let (started, replayed) = std::sync::mpsc::channel();
        let thread = {
            let store = store.clone();
            std::thread::spawn(move || {
                let (committed, _) = watch::channel(0);
                let shared = Arc::new(Shared::default());
                let metrics = Arc::new(Metrics::new());
                let (core, replayed) =
                    Core::start(store, program, options, shared, metrics, committed).unwrap();
                started.send(replayed).unwrap();
                core.run(inbox);
            })
        };
        (requests, thread, store, replayed.recv().unwrap())
    }

    /// Sends every chunk in order without waiting for the replies (so the core runs a group
    /// while the one before commits), then waits for them all.
    async fn send_all(core: &mpsc::Sender<Request>, chunks: &[Vec<Input>]) -> Ingested {
        let mut answers = Vec::new();
        for chunk in chunks {
            let (reply, answer) = oneshot::channel();
            let inputs = chunk.clone();
            let request = Request::Ingest {
                inputs: inputs.into(),
                records: true,
                reply,
            };
            core.send(request).await.unwrap();
            answers.push(answer);
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
        let mut total = Ingested::default();
        for answer in answers {
            let ingested = answer.await.unwrap().unwrap();
            total.accepted += ingested.accepted;
            total.duplicates += ingested.duplicates;
            total.records.extend(ingested.records);
        }
        total
    }

    fn log(store: &Store) -> Vec<String> {
        let records = store.records_from(0, usize::MAX).unwrap();
        records.into_iter().map(|(_, line)| line).collect()
    }

    /// Identities are taken in for the whole group first; an input is still decided as a
    /// lookup at its turn would decide it.
    #[test]
    fn a_group_is_deduplicated_as_one_input_after_another() {
        let line = |id: &str, zone: &str| {
            Input::Line(format!(
                r#"{{"event_id":"{id}","model_id":"traffic_monitoring","type":"traffic_status","timestamp":"2025-12-03T14:00:05Z","zone":"{zone}","location":{{"latitude":12.97,"longitude":77.59}},"severity":"low","confidence":0.9,"metadata":{{}},"payload":{{"road_id":"r-1","avg_speed_kmh":30,"congestion":0.2}}}}"#
            ))
        };
        let (here, there) = ("ka.bengaluru.east.indiranagar", "ka.bengaluru.west.x");
        let dir = tempfile::tempdir().unwrap();
        let options = CoreOptions {
            zone: "ka.bengaluru.east".into(),
            ..options()
        };
        let (core, thread, _store, _) = start_with(dir.path(), options);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let group = vec![
            // Refused (another zone): its identity is forgotten, so the next one with the
            // same ids is new; the one after that is its duplicate.
            line("e-1", there),
            line("e-1", here),
            line("e-1", here),
            line("e-2", here),
            line("e-2", here),
        ];
        let first = runtime.block_on(ingest(&core, group)).unwrap();
        assert_eq!(
            (first.accepted, first.dead_letters, first.duplicates),
            (3, 1, 2)
        );
        let again = runtime
            .block_on(ingest(&core, vec![line("e-2", here), line("e-3", here)]))
            .unwrap();
        assert_eq!((again.accepted, again.duplicates), (1, 1));
        drop(core);
        thread.join().unwrap();
    }

    #[test]
    fn groups_committed_while_the_next_runs_log_what_one_at_a_time_logs() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/city-day.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        let chunks: Vec<Vec<Input>> = text
            .lines()
            .take(1200)
            .collect::<Vec<_>>()
            .chunks(40)
            .map(|chunk| chunk.iter().map(|l| Input::Line(l.to_string())).collect())
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();

        // One request at a time: each commit ends before the next group runs.
        let one = tempfile::tempdir().unwrap();
        let (core, thread, store, _) = start(one.path());
        for chunk in &chunks {
            runtime.block_on(ingest(&core, chunk.clone())).unwrap();
        }
        drop(core);
        thread.join().unwrap();
        let expected = log(&store);
        drop(store);
        assert!(expected.len() > 100, "the day makes records");

        // Many at once, pipelined.
        let many = tempfile::tempdir().unwrap();
        let (core, thread, store, _) = start(many.path());
        let total = runtime.block_on(send_all(&core, &chunks));
        assert_eq!(total.accepted, 1200);
        let replied: Vec<String> = total.records.iter().map(|r| r.get().to_string()).collect();
        drop(core);
        thread.join().unwrap();
        assert_eq!(log(&store), expected, "the same log, byte for byte");
        assert_eq!(replied, expected, "the replies carry the records in order");
        drop(store);

        // After a restart everything is recognised, and nothing is logged twice.
        let (core, thread, store, replayed) = start(many.path());
        assert_eq!(replayed, 1200);
        let again = runtime.block_on(send_all(&core, &chunks));
        assert_eq!((again.accepted, again.duplicates), (0, 1200));
        drop(core);
        thread.join().unwrap();
        assert_eq!(log(&store), expected);
    }
}
