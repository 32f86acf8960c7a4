//! Correlation windows: the recent messages of one type at one node, indexed by event time
//! and by a spatial grid, so `correlate … over last D within R` is a range lookup, not a scan.
//!
//! Entries are kept in event-time order (ties by arrival); the grid has cells about the size
//! of the smallest radius correlated on the type, keyed by latitude and longitude; a radius
//! query visits the cells overlapping the circle's bounding box, then checks the exact
//! great-circle distance. Entries older than the store's retention (the longest window on
//! the type plus the allowed lateness) are dropped as the clock moves; a hard cap bounds
//! memory even under a flood of messages with the same time.

use crate::geo::{EARTH_RADIUS_M, Point, haversine};
use cbp_ir::Row;
use std::collections::hash_map::Entry as CellEntry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// The most entries one store keeps; beyond it the oldest go first.
pub const MAX_ENTRIES: usize = 1_000_000;

const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

type Key = (i64, u64);
type Cell = (i64, i64);

#[derive(Debug)]
struct Entry {
    row: Arc<Row>,
    point: Option<Point>,
    /// Where its grid cell keeps it: an index into `WindowStore::slots` (no lookup of the
    /// cell when it leaves).
    slot: Option<u32>,
}

/// Tables looked up for every message: foldhash, several times faster than SipHash on small
/// keys.
type FastHash = foldhash::fast::RandomState;

#[derive(Debug)]
pub struct WindowStore {
    retention_ms: i64,
    cell_deg: f64,
    /// In key order. Messages mostly arrive in event-time order, so an insertion is a push at
    /// the back and expiry pops from the front; a late message is put in its place.
    entries: VecDeque<(Key, Entry)>,
    /// Grid cell → its slot in `slots`.
    cells: HashMap<Cell, u32, FastHash>,
    /// Per grid cell, its entries (key, location), in key order: a radius query reads the
    /// cells around the centre, then finds each message it keeps in `entries`. A cell holds
    /// no copy of the message (a reference count to touch on insertion and expiry).
    slots: Vec<VecDeque<Located>>,
    /// Cells left empty by expiry: kept, since a location that reported once mostly
    /// reports again (no table insertion and no allocation then), until they are many.
    empty_cells: usize,
}

/// An entry as its grid cell keeps it.
type Located = (Key, Point);

/// Empty cells are dropped when there are more than this many, and more than non-empty ones.
const MAX_EMPTY_CELLS: usize = 64;

/// One match: event time, arrival sequence, the message.
pub type Match = (i64, u64, Arc<Row>);

/// Puts `item` in its place in `items` (ascending keys; an item with the same key is
/// replaced).
fn insert_sorted(items: &mut VecDeque<Located>, item: Located) {
    if items.back().is_none_or(|last| last.0 < item.0) {
        items.push_back(item);
        return;
    }
    let at = items.partition_point(|other| other.0 < item.0);
    match items.get_mut(at) {
        Some(other) if other.0 == item.0 => *other = item,
        _ => items.insert(at, item),
    }
}

/// The positions of `keys` from the first at or after `from` to before the first after `to`.
fn span<T>(items: &VecDeque<T>, key: impl Fn(&T) -> Key, from: Key, to: Key) -> (usize, usize) {
    let lo = items.partition_point(|item| key(item) < from);
    let hi = items.partition_point(|item| key(item) <= to);
    (lo, hi.max(lo))
}

impl WindowStore {
    /// `cell_m`: the grid's cell size in metres (clamped to 50 m … 50 km).
    pub fn new(retention_ms: i64, cell_m: f64) -> Self {
        let cell_m = if cell_m.is_finite() {
            cell_m.clamp(50.0, 50_000.0)
        } else {
            1000.0
        };
        WindowStore {
            retention_ms: retention_ms.max(0),
            cell_deg: cell_m / METRES_PER_DEGREE,
            entries: VecDeque::new(),
            cells: HashMap::default(),
            slots: Vec::new(),
            empty_cells: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn cell_of(&self, p: Point) -> Option<Cell> {
        let (y, x) = (
            (p.lat / self.cell_deg).floor(),
            (p.lon / self.cell_deg).floor(),
        );
        (y.is_finite() && x.is_finite()).then_some((y as i64, x as i64))
    }

    fn remove_from_slot(&mut self, slot: u32, key: Key) {
        let Some(items) = self.slots.get_mut(slot as usize) else {
            return;
        };
        // The oldest entry of the store is the oldest of its cell.
        if items.front().is_some_and(|item| item.0 == key) {
            items.pop_front();
        } else if let Ok(at) = items.binary_search_by(|item| item.0.cmp(&key)) {
            items.remove(at);
        }
        if items.is_empty() {
            self.empty_cells += 1;
            if self.empty_cells > MAX_EMPTY_CELLS && self.empty_cells * 2 > self.slots.len() {
                self.drop_empty_cells();
            }
        }
    }

    /// Forgets the empty cells: the others get new slots, and their entries learn them.
    fn drop_empty_cells(&mut self) {
        let mut moved: Vec<Option<u32>> = Vec::with_capacity(self.slots.len());
        let mut kept = Vec::with_capacity(self.slots.len() - self.empty_cells);
        for items in self.slots.drain(..) {
            if items.is_empty() {
                moved.push(None);
            } else {
                moved.push(Some(kept.len() as u32));
                kept.push(items);
            }
        }
        self.slots = kept;
        let new_slot = |slot: u32| moved.get(slot as usize).copied().flatten();
        self.cells.retain(|_, slot| match new_slot(*slot) {
            Some(new) => {
                *slot = new;
                true
            }
            None => false,
        });
        for (_, entry) in &mut self.entries {
            entry.slot = entry.slot.and_then(new_slot);
        }
        self.empty_cells = 0;
    }

    /// The slot of `cell`, made when new.
    fn slot_of(&mut self, cell: Cell) -> u32 {
        match self.cells.entry(cell) {
            CellEntry::Occupied(kept) => {
                let slot = *kept.get();
                if self
                    .slots
                    .get(slot as usize)
                    .is_some_and(VecDeque::is_empty)
                {
                    self.empty_cells = self.empty_cells.saturating_sub(1);
                }
                slot
            }
            CellEntry::Vacant(new) => {
                let slot = self.slots.len() as u32;
                self.slots.push(VecDeque::new());
                new.insert(slot);
                slot
            }
        }
    }

    pub fn insert(&mut self, time: i64, seq: u64, row: Arc<Row>, point: Option<Point>) {
        let key = (time, seq);
        // Where it goes: at the back (in order), or in its place (late).
        let at = self
            .entries
            .back()
            .is_some_and(|(last, _)| *last >= key)
            .then(|| self.entries.partition_point(|(k, _)| *k < key));
        // The same key again: the new entry replaces the old one, as in a map; the old one
        // leaves its cell first.
        let replaces = at
            .and_then(|at| self.entries.get(at))
            .filter(|(k, _)| *k == key)
            .map(|(_, old)| old.slot);
        if let Some(Some(old_slot)) = replaces {
            self.remove_from_slot(old_slot, key);
        }
        let located = point.and_then(|p| Some((self.cell_of(p)?, p)));
        let slot = located.map(|(cell, _)| self.slot_of(cell));
        let entry = Entry { row, point, slot };
        match (at, replaces) {
            (None, _) => self.entries.push_back((key, entry)),
            (Some(at), Some(_)) => {
                if let Some((_, old)) = self.entries.get_mut(at) {
                    *old = entry;
                }
            }
            (Some(at), None) => self.entries.insert(at, (key, entry)),
        }
        if let (Some(slot), Some((_, p))) = (slot, located)
            && let Some(items) = self.slots.get_mut(slot as usize)
        {
            insert_sorted(items, (key, p));
        }
        while self.entries.len() > MAX_ENTRIES {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((key, entry)) = self.entries.pop_front()
            && let Some(slot) = entry.slot
        {
            self.remove_from_slot(slot, key);
        }
    }

    /// Drops what is older than `now − retention`.
    pub fn expire(&mut self, now: i64) {
        let cutoff = now.saturating_sub(self.retention_ms);
        while self.entries.front().is_some_and(|(key, _)| key.0 < cutoff) {
            self.pop_oldest();
        }
    }

    /// Whether an entry with event time `time` satisfies `same` (a scan of that time only,
    /// without collecting: the duplicate check of every insertion).
    pub fn any_at(&self, time: i64, mut same: impl FnMut(&Row) -> bool) -> bool {
        // Messages mostly come in time order: nothing at a time after the newest entry.
        if self.entries.back().is_none_or(|(last, _)| last.0 < time) {
            return false;
        }
        let (lo, hi) = span(&self.entries, |(k, _)| *k, (time, 0), (time, u64::MAX));
        self.entries.range(lo..hi).any(|(_, e)| same(&e.row))
    }

    /// The entries with event time in `[from, to]`, and within `radius` metres of `center`
    /// when given, in (time, arrival) order.
    pub fn query(&self, from: i64, to: i64, near: Option<(Point, f64)>) -> Vec<Match> {
        if from > to {
            return Vec::new();
        }
        let (low, high) = ((from, 0), (to, u64::MAX));
        let in_time = || {
            let (lo, hi) = span(&self.entries, |(k, _)| *k, low, high);
            self.entries.range(lo..hi)
        };
        let Some((center, radius)) = near else {
            return in_time().map(|(k, e)| (k.0, k.1, e.row.clone())).collect();
        };
        let near_enough = |p: Point| haversine(center, p) <= radius;
        let Some(cells) = self.cells_around(center, radius) else {
            // The box is too large or wraps around: look at every entry of the time range.
            return in_time()
                .filter(|(_, e)| e.point.is_some_and(near_enough))
                .map(|(k, e)| (k.0, k.1, e.row.clone()))
                .collect();
        };
        let mut keys: Vec<Key> = Vec::new();
        for items in cells
            .iter()
            .filter_map(|c| self.slots.get(*self.cells.get(c)? as usize))
        {
            let (a, b) = span(items, |item| item.0, low, high);
            keys.extend(
                items
                    .range(a..b)
                    .filter(|(_, p)| near_enough(*p))
                    .map(|(k, _)| *k),
            );
        }
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|key| {
                let at = self.entries.partition_point(|(k, _)| *k < key);
                let (k, entry) = self.entries.get(at)?;
                (*k == key).then(|| (key.0, key.1, entry.row.clone()))
            })
            .collect()
    }

    /// The cells overlapping the bounding box of the circle, or `None` when a scan is cheaper
    /// or the box is not simple (poles, the antimeridian).
    fn cells_around(&self, center: Point, radius: f64) -> Option<Vec<Cell>> {
        let dlat = radius / METRES_PER_DEGREE;
        let (south, north) = (center.lat - dlat, center.lat + dlat);
        if !(dlat.is_finite() && south > -89.0 && north < 89.0) {
            return None;
        }
        let widest = south.abs().max(north.abs()).to_radians().cos();
        let dlon = dlat / widest;
        let (west, east) = (center.lon - dlon, center.lon + dlon);
        if !(west > -180.0 && east < 180.0) {
            return None;
        }
        let (y0, x0) = self.cell_of(Point {
            lat: south,
            lon: west,
        })?;
        let (y1, x1) = self.cell_of(Point {
            lat: north,
            lon: east,
        })?;
        let count = (y1 - y0 + 1).saturating_mul(x1 - x0 + 1);
        if count > self.cells.len() as i64 * 4 + 16 {
            return None;
        }
        Some(
            (y0..=y1)
                .flat_map(|y| (x0..=x1).map(move |x| (y, x)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbp_ir::MessageId;

    fn row(tag: u64) -> Arc<Row> {
        let mut row = Row::new(MessageId(0), 1, 0);
        row.set(0, tag);
        Arc::new(row)
    }

    fn tags(matches: &[Match]) -> Vec<u64> {
        matches.iter().map(|m| m.2.get(0)).collect()
    }

    #[test]
    fn time_range_and_radius() {
        let mut store = WindowStore::new(300_000, 500.0);
        let flood = Point {
            lat: 12.9784,
            lon: 77.6408,
        };
        store.insert(
            0,
            1,
            row(1),
            Some(Point {
                lat: 12.9802,
                lon: 77.6408,
            }),
        ); // 200 m
        store.insert(
            60_000,
            2,
            row(2),
            Some(Point {
                lat: 12.9856,
                lon: 77.6408,
            }),
        ); // 800 m
        store.insert(
            60_000,
            3,
            row(3),
            Some(Point {
                lat: 12.9784,
                lon: 77.6435,
            }),
        ); // 293 m
        store.insert(400_000, 4, row(4), Some(flood));
        assert_eq!(
            tags(&store.query(0, 120_000, Some((flood, 500.0)))),
            vec![1, 3]
        );
        assert_eq!(tags(&store.query(0, 120_000, None)), vec![1, 2, 3]);
        assert_eq!(
            tags(&store.query(1, 120_000, Some((flood, 500.0)))),
            vec![3]
        );
        assert_eq!(
            tags(&store.query(0, 120_000, Some((flood, 1000.0)))),
            vec![1, 2, 3]
        );
        store.expire(360_000);
        assert_eq!(tags(&store.query(0, 500_000, None)), vec![2, 3, 4]);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn a_moving_source_leaves_few_empty_cells() {
        // A message a time unit, each in a new cell: expiry empties cells one by one.
        let mut store = WindowStore::new(20, 50.0);
        let at = |i: i64| Point {
            lat: 12.0 + i as f64 * 0.01,
            lon: 77.0,
        };
        for i in 0..1000i64 {
            store.expire(i);
            store.insert(i, i as u64, row(i as u64), Some(at(i)));
            assert!(
                store.slots.len() <= 2 * MAX_EMPTY_CELLS + 30,
                "{}",
                store.slots.len()
            );
            // The latest messages are found around where they were.
            let found = tags(&store.query(i - 5, i, Some((at(i - 2), 10.0))));
            assert_eq!(found, if i >= 2 { vec![i as u64 - 2] } else { vec![] });
        }
        assert_eq!(store.len(), 21);
    }

    #[test]
    fn a_huge_radius_scans() {
        let mut store = WindowStore::new(1000, 50.0);
        store.insert(
            0,
            1,
            row(1),
            Some(Point {
                lat: 0.0,
                lon: 179.9,
            }),
        );
        store.insert(
            0,
            2,
            row(2),
            Some(Point {
                lat: 0.0,
                lon: -179.9,
            }),
        );
        let found = store.query(
            0,
            0,
            Some((
                Point {
                    lat: 0.0,
                    lon: 179.95,
                },
                50_000.0,
            )),
        );
        assert_eq!(tags(&found), vec![1, 2]);
    }

    proptest::proptest! {
        /// Insertions in any time order, expiry and queries agree with a plain list of the
        /// entries kept.
        #[test]
        fn agrees_with_a_list(
            ops in proptest::collection::vec((0u8..4, 0i64..400, -0.02f64..0.02, -0.02f64..0.02), 0..120),
        ) {
            let base = Point { lat: 12.97, lon: 77.64 };
            let mut store = WindowStore::new(150, 300.0);
            let mut model: Vec<(i64, u64, Point)> = Vec::new();
            for (seq, (op, time, dlat, dlon)) in ops.into_iter().enumerate() {
                let at = Point { lat: base.lat + dlat, lon: base.lon + dlon };
                match op {
                    0 | 1 => {
                        store.insert(time, seq as u64, row(seq as u64), Some(at));
                        model.push((time, seq as u64, at));
                    }
                    2 => {
                        store.expire(time);
                        model.retain(|(t, _, _)| *t >= time - 150);
                    }
                    _ => {
                        let radius = dlat.abs() * 100_000.0;
                        let found = tags(&store.query(time - 100, time, Some((at, radius))));
                        let mut expected: Vec<(i64, u64)> = model
                            .iter()
                            .filter(|(t, _, p)| (time - 100..=time).contains(t) && haversine(at, *p) <= radius)
                            .map(|(t, s, _)| (*t, *s))
                            .collect();
                        expected.sort_unstable();
                        let expected: Vec<u64> = expected.into_iter().map(|(_, s)| s).collect();
                        proptest::prop_assert_eq!(found, expected);
                        let all = tags(&store.query(time - 100, time, None));
                        let mut expected: Vec<(i64, u64)> = model
                            .iter()
                            .filter(|(t, _, _)| (time - 100..=time).contains(t))
                            .map(|(t, s, _)| (*t, *s))
                            .collect();
                        expected.sort_unstable();
                        let expected: Vec<u64> = expected.into_iter().map(|(_, s)| s).collect();
                        proptest::prop_assert_eq!(all, expected);
                        let same = model.iter().any(|(t, s, _)| *t == time && *s % 3 == 0);
                        proptest::prop_assert_eq!(store.any_at(time, |r| r.get(0) % 3 == 0), same);
                    }
                }
                proptest::prop_assert_eq!(store.len(), model.len());
                let cell_keys: usize = store.slots.iter().map(VecDeque::len).sum();
                proptest::prop_assert_eq!(cell_keys, model.len());
                // Every entry is in the cell it names; empty cells are counted, and bounded.
                for (key, entry) in &store.entries {
                    let items = entry.slot.and_then(|s| store.slots.get(s as usize));
                    proptest::prop_assert!(items.is_some_and(|items| items.iter().any(|i| i.0 == *key)));
                }
                proptest::prop_assert_eq!(store.cells.len(), store.slots.len());
                let empty = store.slots.iter().filter(|c| c.is_empty()).count();
                proptest::prop_assert_eq!(empty, store.empty_cells);
                proptest::prop_assert!(empty <= MAX_EMPTY_CELLS.max(store.slots.len() - empty));
            }
        }

        /// The grid finds exactly what a scan with the exact distance finds.
        #[test]
        fn grid_queries_equal_a_scan(
            points in proptest::collection::vec((-0.05f64..0.05, -0.05f64..0.05, 0i64..1000), 0..200),
            center in (-0.05f64..0.05, -0.05f64..0.05),
            radius in 10.0f64..8000.0,
            cell in 50.0f64..3000.0,
            from in 0i64..1000,
            span in 0i64..1000,
        ) {
            let base = Point { lat: 12.97, lon: 77.64 };
            let at = |(dlat, dlon): (f64, f64)| Point { lat: base.lat + dlat, lon: base.lon + dlon };
            let mut store = WindowStore::new(10_000, cell);
            for (i, (dlat, dlon, time)) in points.iter().enumerate() {
                store.insert(*time, i as u64, row(i as u64), Some(at((*dlat, *dlon))));
            }
            let c = at(center);
            let found = tags(&store.query(from, from + span, Some((c, radius))));
            let mut expected: Vec<(i64, u64)> = points
                .iter()
                .enumerate()
                .filter(|(_, (dlat, dlon, time))| {
                    (from..=from + span).contains(time) && haversine(c, at((*dlat, *dlon))) <= radius
                })
                .map(|(i, (_, _, time))| (*time, i as u64))
                .collect();
            expected.sort_unstable();
            let expected: Vec<u64> = expected.into_iter().map(|(_, i)| i).collect();
            proptest::prop_assert_eq!(found, expected);
        }
    }
}
