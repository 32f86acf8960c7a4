//! Committing a group: the one transaction that makes a group of inputs durable (journal
//! entry, log entry, approvals, counters, pruning), and the thread that runs it while the
//! core runs the next group.

use crate::store::{CHECKPOINTS, INPUTS, META, PENDING, RECORDS, Store, StoreError, meta};
use redb::{ReadableTable, Table};
use std::sync::Arc;

/// What a group's transaction writes.
pub(crate) struct Job {
    pub(crate) first_input: u64,
    pub(crate) first_record: u64,
    pub(crate) next_input: u64,
    pub(crate) next_record: u64,
    /// The journal entry (the inputs) and the log entry (the records, JSON lines).
    pub(crate) entry: Vec<u8>,
    pub(crate) log: Vec<u8>,
    /// Approvals opened (decision id, JSON) and closed (`None`).
    pub(crate) pending: Vec<(String, Option<String>)>,
    /// The engine clock after the group.
    pub(crate) clock: Option<i64>,
    pub(crate) retention_ms: i64,
    /// The group's inputs, journaled into `entry` already: the committer frees them, so the
    /// core does not spend its time freeing what the sources' threads allocated.
    pub(crate) inputs: Vec<crate::store::Input>,
}

impl Job {
    /// Writes the group in one transaction and commits it (durably: nothing is announced
    /// before this returns).
    pub(crate) fn write(&self, store: &Store) -> Result<(), StoreError> {
        let txn = store.begin_write()?;
        {
            let mut journal = txn.open_table(INPUTS)?;
            let mut checkpoints = txn.open_table(CHECKPOINTS)?;
            if !self.entry.is_empty() {
                journal.insert(self.first_input, self.entry.as_slice())?;
                checkpoints.insert(self.first_input, self.clock.unwrap_or(i64::MIN))?;
            }
            if self.next_record > self.first_record {
                // Serialized records are UTF-8 (checked by the quick path; the lossy view
                // would only copy what is not).
                let lossy;
                let text = match std::str::from_utf8(&self.log) {
                    Ok(text) => text,
                    Err(_) => {
                        lossy = String::from_utf8_lossy(&self.log);
                        lossy.as_ref()
                    }
                };
                txn.open_table(RECORDS)?.insert(self.first_record, text)?;
            }
            let mut pending = txn.open_table(PENDING)?;
            for (id, json) in &self.pending {
                match json {
                    Some(json) => {
                        pending.insert(id.as_str(), json.as_str())?;
                    }
                    None => {
                        pending.remove(id.as_str())?;
                    }
                }
            }
            let mut metas = txn.open_table(META)?;
            metas.insert(meta::NEXT_INPUT, self.next_input as i64)?;
            metas.insert(meta::NEXT_RECORD, self.next_record as i64)?;
            if let Some(clock) = self.clock {
                prune(
                    &mut journal,
                    &mut checkpoints,
                    clock.saturating_sub(self.retention_ms),
                )?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

/// Drops journal entries whose inputs are all older than `cutoff`, from the front (the
/// newest entry always stays, so the clock survives a restart).
fn prune(
    journal: &mut Table<u64, &[u8]>,
    checkpoints: &mut Table<u64, i64>,
    cutoff: i64,
) -> Result<(), StoreError> {
    let mut keep_from = None;
    let last = checkpoints.last()?.map(|(key, _)| key.value());
    for entry in checkpoints.iter()? {
        let (key, time) = entry?;
        if time.value() > cutoff || Some(key.value()) == last {
            keep_from = Some(key.value());
            break;
        }
    }
    if let Some(from) = keep_from
        && from > 0
    {
        journal.retain_in(..from, |_, _| false)?;
        checkpoints.retain_in(..from, |_, _| false)?;
    }
    Ok(())
}

/// The thread that writes and commits groups, in the order given, while the core runs on.
pub(crate) struct Committer {
    pub(crate) jobs: std::sync::mpsc::Sender<Job>,
    pub(crate) done: std::sync::mpsc::Receiver<(Job, Result<(), StoreError>)>,
    /// Told after each job is done, so the core can wait for a commit or a new request,
    /// whichever comes first (a permit left over only makes one wait return early).
    pub(crate) finished: Arc<tokio::sync::Notify>,
    pub(crate) thread: std::thread::JoinHandle<()>,
}

impl Committer {
    /// `None` when no thread can be started (the core then commits itself).
    pub(crate) fn spawn(store: Arc<Store>) -> Option<Committer> {
        let (jobs, incoming) = std::sync::mpsc::channel::<Job>();
        let (results, done) = std::sync::mpsc::channel();
        let finished = Arc::new(tokio::sync::Notify::new());
        let notify = finished.clone();
        let spawned = std::thread::Builder::new()
            .name("cbp-commit".into())
            .spawn(move || {
                for mut job in incoming {
                    let committed = job.write(&store);
                    let inputs = std::mem::take(&mut job.inputs);
                    if results.send((job, committed)).is_err() {
                        break;
                    }
                    notify.notify_one();
                    drop(inputs);
                }
            });
        match spawned {
            Ok(thread) => Some(Committer {
                jobs,
                done,
                finished,
                thread,
            }),
            Err(e) => {
                tracing::warn!("no commit thread ({e}): the core commits itself");
                None
            }
        }
    }

    /// Ends the thread once it has written what it was given (so the store is closed when
    /// the core is).
    pub(crate) fn stop(self) {
        drop(self.jobs);
        let _ = self.thread.join();
    }
}
