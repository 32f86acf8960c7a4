//! Timers on event time, fired in (due time, creation order) order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TimerKind {
    /// An approval's deadline: resolve to the default if still pending.
    ApprovalDeadline(String),
    /// `if no response within D`: run its actions if still pending.
    NoResponse(String),
    /// The end of a report window at a node (`slot` indexes the node's reports).
    ReportWindow { node: String, slot: usize },
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(i64, u64)>>,
    kinds: HashMap<u64, TimerKind>,
    seq: u64,
}

impl Timers {
    pub fn schedule(&mut self, due: i64, kind: TimerKind) {
        self.seq += 1;
        self.heap.push(Reverse((due, self.seq)));
        self.kinds.insert(self.seq, kind);
    }

    /// The next timer due at or before `time`, removed.
    pub fn pop_due(&mut self, time: i64) -> Option<(i64, TimerKind)> {
        let Reverse((due, seq)) = *self.heap.peek()?;
        if due > time {
            return None;
        }
        self.heap.pop();
        self.kinds.remove(&seq).map(|kind| (due, kind))
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
