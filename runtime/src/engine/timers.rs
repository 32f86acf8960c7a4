//! Timers on event time, fired in (due time, creation order) order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TimerKind {
    /// An approval's deadline: resolve to the default if still pending.
    ApprovalDeadline(String),
    /// `if no response within D`: run its actions if still pending.
    NoResponse(String),
    /// The end of a report window at a node (`slot` indexes the node's reports; `node` is
    /// the name the map of nodes holds).
    ReportWindow { node: Arc<str>, slot: usize },
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The kind rides in the heap with its key: no table to insert it in and remove it from.
    heap: BinaryHeap<Reverse<Timer>>,
    seq: u64,
}

/// A scheduled timer, ordered by (due time, creation).
#[derive(Debug)]
struct Timer {
    due: i64,
    seq: u64,
    kind: TimerKind,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}

impl Eq for Timer {}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

impl Timers {
    pub fn schedule(&mut self, due: i64, kind: TimerKind) {
        self.seq += 1;
        self.heap.push(Reverse(Timer {
            due,
            seq: self.seq,
            kind,
        }));
    }

    /// The next timer due at or before `time`, removed.
    pub fn pop_due(&mut self, time: i64) -> Option<(i64, TimerKind)> {
        if self.heap.peek()?.0.due > time {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse(timer)| (timer.due, timer.kind))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_by_due_time_then_creation() {
        let mut timers = Timers::default();
        timers.schedule(20, TimerKind::NoResponse("b".into()));
        timers.schedule(10, TimerKind::NoResponse("a".into()));
        timers.schedule(20, TimerKind::NoResponse("c".into()));
        assert_eq!(timers.pop_due(5), None);
        let order: Vec<_> = std::iter::from_fn(|| timers.pop_due(20))
            .map(|(_, k)| k)
            .collect();
        assert_eq!(
            order,
            vec![
                TimerKind::NoResponse("a".into()),
                TimerKind::NoResponse("b".into()),
                TimerKind::NoResponse("c".into())
            ]
        );
        assert_eq!(timers.len(), 0);
    }
}
