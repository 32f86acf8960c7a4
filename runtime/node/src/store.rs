//! Durable state in one redb file (`state.dir/node.redb`).
//!
//! The engine is deterministic, so the node keeps its state as an *input journal*: every
//! accepted input (event, clock tick), in order, together with the records it produced,
//! written in one transaction. A restart replays the journal through a fresh engine with its
//! output discarded, which rebuilds windows, pending approvals, timers and report counts
//! exactly; nothing is done twice, because the records of a journaled input were committed
//! with it. Inputs older than the retention are pruned from the front.
//!
//! A transaction writes its inputs as one journal entry and its records as one log entry,
//! keyed by the sequence number of the first: one B-tree insert per group instead of one per
//! event (per-event inserts were most of a node's cost).
//!
//! redb: a well-kept, pure-Rust embedded store with ACID write transactions (one fsync per
//! commit, so a batch of inputs costs one), a stable file format, and no background threads
//! or compaction to tune — what an append-mostly journal with a few small tables needs.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::path::Path;

/// Sequence number of a group's first input → the group's inputs, each encoded as a varint
/// length and an [`Input`].
pub const INPUTS: TableDefinition<u64, &[u8]> = TableDefinition::new("inputs");
/// Sequence number of a group's first record → its records as JSON lines joined by `\n`
/// (the decision log).
pub const RECORDS: TableDefinition<u64, &str> = TableDefinition::new("records");
/// Decision id → the pending approval (JSON), while it waits for a person.
pub const PENDING: TableDefinition<&str, &str> = TableDefinition::new("pending");
/// Counters and cursors.
pub const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// Journal entry key → the clock after its inputs (for pruning).
pub const CHECKPOINTS: TableDefinition<u64, i64> = TableDefinition::new("checkpoints");
/// Registered plugin id → its manifest (JSON).
pub const PLUGINS: TableDefinition<&str, &str> = TableDefinition::new("plugins");
/// The bundle reloaded through the API, which outlives a restart.
pub const PROGRAM: TableDefinition<&str, &[u8]> = TableDefinition::new("program");

/// The store's page cache.
const CACHE_BYTES: usize = 64 << 20;

/// Keys of [`META`].
pub mod meta {
    pub const NEXT_INPUT: &str = "next_input";
    pub const NEXT_RECORD: &str = "next_record";
    /// `sink:<name>`: the next record the sink has not yet delivered.
    pub fn sink_cursor(name: &str) -> String {
        format!("sink:{name}")
    }
}

/// One journaled input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An NDJSON event line (from HTTP, Kafka or MQTT, or an approval made through the API).
    Line(String),
    /// A protobuf `cbp.v1.Event`.
    Proto(Vec<u8>),
    /// The clock moved on with the wall clock while the input was quiet, or (with
    /// per-source watermarks) the timers were let run to the sources' watermark.
    Tick(i64),
    /// An input and the source it came from (`http:<plugin>`, `kafka:<topic>/<partition>`,
    /// `mqtt:<topic>`), for per-source watermarks. Journaled only while they are on.
    Sourced(std::sync::Arc<str>, Box<Input>),
    /// A message another node's engine sent to `node` (the `message` of an `escalation` or
    /// `command` record it received on a layer route), delivered at that node.
    Delivered { node: String, line: String },
}

impl Input {
    /// Tags every input with `source`.
    pub fn from_source(source: &str, inputs: Vec<Input>) -> Vec<Input> {
        let source: std::sync::Arc<str> = short_source(source).into();
        inputs
            .into_iter()
            .map(|input| Input::Sourced(source.clone(), Box::new(input)))
            .collect()
    }

    /// The input without its source.
    pub fn unsourced(&self) -> &Input {
        match self {
            Input::Sourced(_, input) => input.unsourced(),
            other => other,
        }
    }

    /// The source the input came from, when it says.
    pub fn source(&self) -> Option<&str> {
        match self {
            Input::Sourced(source, _) => Some(source),
            _ => None,
        }
    }

    /// Appends the input to a journal entry: its length as a varint, then its encoding
    /// (written in place: no copy of the input on the way).
    pub fn append_to(&self, entry: &mut Vec<u8>) {
        let mut length = self.encoded_len() as u64;
        loop {
            let byte = (length & 0x7f) as u8;
            length >>= 7;
            if length == 0 {
                entry.push(byte);
                break;
            }
            entry.push(byte | 0x80);
        }
        self.encode_into(entry);
    }

    /// The length of [`Input::encode`]'s bytes.
    fn encoded_len(&self) -> usize {
        match self {
            Input::Line(text) => 1 + text.len(),
            Input::Proto(bytes) => 1 + bytes.len(),
            Input::Tick(_) => 9,
            Input::Sourced(source, input) => 2 + short_source(source).len() + input.encoded_len(),
            Input::Delivered { node, line } => {
                3 + node.len().min(usize::from(u16::MAX)) + line.len()
            }
        }
    }

    /// The inputs of a journal entry.
    pub fn split_entry(mut entry: &[u8]) -> Result<Vec<Input>, StoreError> {
        let corrupt = || StoreError::Corrupt("a journal entry is cut short".into());
        let mut inputs = Vec::new();
        while !entry.is_empty() {
            let mut length: u64 = 0;
            let mut shift = 0;
            loop {
                let (&byte, rest) = entry.split_first().ok_or_else(corrupt)?;
                entry = rest;
                length |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
                shift += 7;
                if shift > 63 {
                    return Err(corrupt());
                }
            }
            let length = usize::try_from(length).map_err(|_| corrupt())?;
            if length > entry.len() {
                return Err(corrupt());
            }
            let (body, rest) = entry.split_at(length);
            inputs.push(Input::decode(body)?);
            entry = rest;
        }
        Ok(inputs)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding: a tag byte, then the body.
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Input::Line(text) => {
                out.push(0);
                out.extend_from_slice(text.as_bytes());
            }
            Input::Proto(bytes) => {
                out.push(1);
                out.extend_from_slice(bytes);
            }
            Input::Tick(time) => {
                out.push(2);
                out.extend_from_slice(&time.to_le_bytes());
            }
            // The source's length (a byte: sources are short names), the source, the input.
            Input::Sourced(source, input) => {
                let name = short_source(source).as_bytes();
                out.push(3);
                out.push(name.len() as u8);
                out.extend_from_slice(name);
                input.encode_into(out);
            }
            // The node's length (two bytes, little-endian), the node, the message line.
            Input::Delivered { node, line } => {
                let node = &node.as_bytes()[..node.len().min(usize::from(u16::MAX))];
                out.push(4);
                out.extend_from_slice(&(node.len() as u16).to_le_bytes());
                out.extend_from_slice(node);
                out.extend_from_slice(line.as_bytes());
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Input, StoreError> {
        let corrupt = || StoreError::Corrupt("an input entry of an unknown form".into());
        let (&tag, body) = bytes.split_first().ok_or_else(corrupt)?;
        match tag {
            0 => String::from_utf8(body.to_vec())
                .map(Input::Line)
                .map_err(|_| corrupt()),
            1 => Ok(Input::Proto(body.to_vec())),
            2 => {
                let raw: [u8; 8] = body.try_into().map_err(|_| corrupt())?;
                Ok(Input::Tick(i64::from_le_bytes(raw)))
            }
            3 => {
                let (&length, rest) = body.split_first().ok_or_else(corrupt)?;
                let (name, inner) = rest
                    .split_at_checked(usize::from(length))
                    .ok_or_else(corrupt)?;
                let name = std::str::from_utf8(name).map_err(|_| corrupt())?;
                let inner = Input::decode(inner)?;
                if matches!(inner, Input::Sourced(..)) {
                    return Err(corrupt());
                }
                Ok(Input::Sourced(name.into(), Box::new(inner)))
            }
            4 => {
                let (length, rest) = body.split_at_checked(2).ok_or_else(corrupt)?;
                let length = u16::from_le_bytes([length[0], length[1]]);
                let (node, line) = rest
                    .split_at_checked(usize::from(length))
                    .ok_or_else(corrupt)?;
                let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| corrupt());
                Ok(Input::Delivered {
                    node: text(node)?,
                    line: text(line)?,
                })
            }
            _ => Err(corrupt()),
        }
    }
}

/// A source name as the journal keeps it: at most 255 bytes.
fn short_source(source: &str) -> &str {
    let mut end = source.len().min(255);
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    &source[..end]
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store: {0}")]
    Redb(#[from] redb::Error),
    #[error("state store is damaged: {0}")]
    Corrupt(String),
    #[error("state store: the commit thread stopped")]
    Stopped,
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the store in `dir`, creating the folder.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state folder `{}`: {e}", dir.display()))?;
        let path = dir.join("node.redb");
        // redb caches up to 1 GiB by default; a node's working set is the newest journal
        // and log entries, so memory stays flat with far less.
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| format!("cannot open the state store `{}`: {e}", path.display()))?;
        let store = Store { db };
        store
            .create_tables()
            .map_err(|e| format!("cannot open the state store `{}`: {e}", path.display()))?;
        Ok(store)
    }

    fn create_tables(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(INPUTS)?;
        txn.open_table(RECORDS)?;
        txn.open_table(PENDING)?;
        txn.open_table(META)?;
        txn.open_table(CHECKPOINTS)?;
        txn.open_table(PLUGINS)?;
        txn.open_table(PROGRAM)?;
        txn.commit()?;
        Ok(())
    }

    pub fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value()))
    }

    pub fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.write_meta(key, value, redb::Durability::Immediate)
    }

    /// [`Store::set_meta`] without waiting for the disk: the value is written now and made
    /// durable by the next durable commit (the next group's). For what may be a little
    /// behind after a crash, such as a sink's cursor (its deliveries are at-least-once):
    /// a write of its own with an `fdatasync` each time would cost a sink's batch as much
    /// as a group's commit, and hold the store's one writer meanwhile.
    pub fn set_meta_lazily(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.write_meta(key, value, redb::Durability::None)
    }

    fn write_meta(
        &self,
        key: &str,
        value: i64,
        durability: redb::Durability,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        txn.open_table(META)?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }

    /// Calls `each` with every journaled input, oldest first.
    pub fn for_each_input(
        &self,
        mut each: impl FnMut(u64, Input) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INPUTS)?;
        for entry in table.iter()? {
            let (first, bytes) = entry?;
            for (i, input) in Input::split_entry(bytes.value())?.into_iter().enumerate() {
                each(first.value() + i as u64, input)?;
            }
        }
        Ok(())
    }

    /// Up to `limit` records from `from` on: (sequence number, JSON line).
    pub fn records_from(&self, from: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        // The entry holding `from` starts at or before it.
        let start = match table.range(..=from)?.next_back() {
            Some(entry) => entry?.0.value(),
            None => from,
        };
        let mut out = Vec::new();
        for entry in table.range(start..)? {
            let (first, lines) = entry?;
            for (i, line) in lines.value().split('\n').enumerate() {
                let seq = first.value() + i as u64;
                if seq < from {
                    continue;
                }
                if out.len() == limit {
                    return Ok(out);
                }
                out.push((seq, line.to_string()));
            }
        }
        Ok(out)
    }

    pub fn record_count(&self) -> Result<u64, StoreError> {
        Ok(self.meta(meta::NEXT_RECORD)?.unwrap_or(0).max(0) as u64)
    }

    /// Every pending approval (decision id, JSON), in id order.
    pub fn pending(&self) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PENDING)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (id, json) = entry?;
            out.push((id.value().to_string(), json.value().to_string()));
        }
        Ok(out)
    }

    pub fn register_plugin(&self, id: &str, manifest: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(PLUGINS)?.insert(id, manifest)?;
        txn.commit()?;
        Ok(())
    }

    pub fn plugins(&self) -> Result<Vec<(String, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PLUGINS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (id, json) = entry?;
            out.push((id.value().to_string(), json.value().to_string()));
        }
        Ok(out)
    }

    pub fn reloaded_program(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PROGRAM)?;
        Ok(table.get("current")?.map(|v| v.value().to_vec()))
    }

    pub fn set_reloaded_program(&self, bundle: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(PROGRAM)?.insert("current", bundle)?;
        txn.commit()?;
        Ok(())
    }

    pub fn clear_reloaded_program(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(PROGRAM)?.remove("current")?;
        txn.commit()?;
        Ok(())
    }

    /// How many inputs the journal holds now (after pruning).
    pub fn journal_len(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INPUTS)?;
        let first = match table.first()? {
            Some(entry) => entry.0.value(),
            None => return Ok(0),
        };
        drop(table);
        let next = txn
            .open_table(META)?
            .get(meta::NEXT_INPUT)?
            .map(|v| v.value().max(0) as u64)
            .unwrap_or(first);
        Ok(next.saturating_sub(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_round_trip() {
        for input in [
            Input::Line("{\"a\":1}".into()),
            Input::Line(String::new()),
            Input::Proto(vec![0, 1, 2, 255]),
            Input::Tick(-5),
            Input::Tick(1_764_770_400_000),
            Input::Sourced("kafka:events/3".into(), Box::new(Input::Line("{}".into()))),
            Input::Sourced("http:x".into(), Box::new(Input::Proto(vec![1, 2]))),
            Input::Delivered {
                node: "ka.bengaluru.east".into(),
                line: "{\"event_id\":\"i-1\"}".into(),
            },
        ] {
            assert_eq!(Input::decode(&input.encode()).unwrap(), input);
            assert_eq!(input.encode().len(), input.encoded_len());
        }
        assert!(Input::decode(&[]).is_err());
        assert!(Input::decode(&[9, 1]).is_err());
        assert!(Input::decode(&[2, 1, 2]).is_err());
        assert!(Input::decode(&[3, 5, b'a']).is_err(), "a source cut short");
        assert!(Input::decode(&[4, 9, 0, b'a']).is_err(), "a node cut short");
        assert!(
            Input::decode(&[3, 1, b'a', 3, 1, b'b', 0]).is_err(),
            "nested"
        );
        assert!(Input::decode(&[0, 0xff]).is_err());
        let mut entry = Vec::new();
        let long = Input::Line("y".repeat(300));
        long.append_to(&mut entry);
        Input::Tick(3).append_to(&mut entry);
        assert_eq!(Input::split_entry(&entry).unwrap(), [long, Input::Tick(3)]);
        assert!(Input::split_entry(&entry[..entry.len() - 1]).is_err());
        assert!(Input::split_entry(&[0xff]).is_err());
    }

    #[test]
    fn state_outlives_the_store_handle() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let txn = store.begin_write().unwrap();
            let mut entry = Vec::new();
            Input::Tick(7).append_to(&mut entry);
            Input::Line("x".into()).append_to(&mut entry);
            txn.open_table(INPUTS)
                .unwrap()
                .insert(0, entry.as_slice())
                .unwrap();
            let mut log = txn.open_table(RECORDS).unwrap();
            log.insert(0, "{}\n{\"a\":1}").unwrap();
            log.insert(2, "{\"b\":2}").unwrap();
            drop(log);
            let mut metas = txn.open_table(META).unwrap();
            metas.insert(meta::NEXT_RECORD, 3).unwrap();
            metas.insert(meta::NEXT_INPUT, 2).unwrap();
            drop(metas);
            txn.commit().unwrap();
            store.register_plugin("p", "{\"x\":1}").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let mut inputs = Vec::new();
        store
            .for_each_input(|seq, input| {
                inputs.push((seq, input));
                Ok(())
            })
            .unwrap();
        assert_eq!(inputs, [(0, Input::Tick(7)), (1, Input::Line("x".into()))]);
        assert_eq!(store.journal_len().unwrap(), 2);
        let all = store.records_from(0, 10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2], (2, "{\"b\":2}".to_string()));
        assert_eq!(
            store.records_from(1, 1).unwrap(),
            [(1, "{\"a\":1}".to_string())],
            "from the middle of an entry"
        );
        assert_eq!(store.records_from(3, 10).unwrap(), []);
        assert_eq!(store.record_count().unwrap(), 3);
        assert_eq!(store.plugins().unwrap()[0].0, "p");
    }

    #[test]
    fn an_uncommitted_batch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        {
            let txn = store.begin_write().unwrap();
            let mut entry = Vec::new();
            Input::Tick(1).append_to(&mut entry);
            txn.open_table(INPUTS)
                .unwrap()
                .insert(0, entry.as_slice())
                .unwrap();
            // Dropped without commit: aborted.
        }
        assert_eq!(store.journal_len().unwrap(), 0);
    }
}
