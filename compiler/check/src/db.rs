//! The salsa database: inputs (one per source file, plus the workspace listing them) and the
//! log of executed queries that tests use to pin incrementality.

use cbp_syntax::ast::Item;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One source file: its path (as given to the compiler) and text.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

/// The set of files making up the program (std files first, then user files in path order).
#[salsa::input(singleton)]
pub struct Workspace {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

/// One item of one file, by position: created by `queries::file_items` for each item of a
/// parse, and the key of the per-item queries. Its syntax (spans relative to the item's start)
/// is a tracked field: when `file_items` re-runs after an edit, an item whose syntax compares
/// equal keeps its old revision, so only the edited item's check re-runs; and re-verifying a
/// per-item memo of an untouched file reads one field revision instead of walking a query.
#[salsa::tracked(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(copy)]
    pub index: u32,
    #[tracked]
    #[returns(ref)]
    pub syntax: Arc<Item>,
}

#[derive(Clone, Default)]
struct QueryLog {
    enabled: Arc<AtomicBool>,
    entries: Arc<Mutex<Vec<String>>>,
}

/// The database the queries run on: salsa's, plus the query log.
#[salsa::db]
pub trait Db: salsa::Database {
    /// Called first thing by every tracked query that executes, like `check_item(Id(402))`.
    fn log_execution(&self, query: &'static str, key: salsa::Id);
}

/// Records a tracked query's execution in the query log (a no-op unless the log is on).
pub fn log_execution(db: &dyn Db, query: &'static str, key: impl salsa::plumbing::AsId) {
    db.log_execution(query, key.as_id());
}

#[salsa::db]
#[derive(Clone, Default)]
pub struct CheckDb {
    // No salsa event callback: with one installed salsa builds an event (and looks up the
    // current thread) for every memo it verifies, a large share of a small re-check. The
    // queries log their own executions instead.
    storage: salsa::Storage<Self>,
    log: QueryLog,
}

impl CheckDb {
    /// Starts (or stops) recording which tracked queries execute.
    pub fn set_query_log(&self, enabled: bool) {
        self.log.enabled.store(enabled, Ordering::Relaxed);
    }

    /// The queries executed since the last call, like `check_item(Id(400))`.
    pub fn take_query_log(&self) -> Vec<String> {
        self.log
            .entries
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

#[salsa::db]
impl salsa::Database for CheckDb {}

#[salsa::db]
impl Db for CheckDb {
    fn log_execution(&self, query: &'static str, key: salsa::Id) {
        if self.log.enabled.load(Ordering::Relaxed)
            && let Ok(mut entries) = self.log.entries.lock()
        {
            entries.push(format!("{query}({key:?})"));
        }
    }
}
