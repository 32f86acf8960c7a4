//! The salsa database: inputs (one per source file, plus the workspace listing them) and the
//! log of executed queries that tests use to pin incrementality.

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

/// One item of one file, by position; the key of the per-item queries.
#[salsa::interned(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(copy)]
    pub index: u32,
}

#[derive(Clone, Default)]
struct QueryLog {
    enabled: Arc<AtomicBool>,
    entries: Arc<Mutex<Vec<String>>>,
}

#[salsa::db]
#[derive(Clone)]
pub struct CheckDb {
    storage: salsa::Storage<Self>,
    log: QueryLog,
}

impl Default for CheckDb {
    fn default() -> Self {
        let log = QueryLog::default();
        let sink = log.clone();
        let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind
                && sink.enabled.load(Ordering::Relaxed)
                && let Ok(mut entries) = sink.entries.lock()
            {
                entries.push(format!("{database_key:?}"));
            }
        })));
        CheckDb { storage, log }
    }
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
