//! The core thread's scheduling priority (`node.core_priority`).
//!
//! The core runs the engine for every input on one thread; sources, commits and sinks have
//! threads of their own and slack. On cores shared with other work the core thread waited
//! for a CPU a third of its time in the Kafka bench (`docs/performance.md`), and the
//! pipeline with it.

/// Sets the calling thread's nice value to `nice` (-20 … 19, checked with the config; 0:
/// leaves it); the threads it starts
/// afterwards (the core's commit thread) inherit it. Without the privilege to raise a
/// priority, logs why and runs on at the priority it has.
pub fn set_this_threads(nice: i32) {
    if nice == 0 {
        return;
    }
    // On Linux a thread id names one thread to `setpriority`.
    match rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        Ok(()) => tracing::info!("the core thread runs at nice {nice}"),
        Err(e) => tracing::warn!(
            "the core thread keeps its priority: nice {nice} was refused ({e}); raising a \
             priority needs CAP_SYS_NICE"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_priority_is_always_allowed() {
        std::thread::spawn(|| {
            set_this_threads(5);
            let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
            assert_eq!(nice.ok(), Some(5));
        })
        .join()
        .unwrap();
    }
}
