//! The rows of a `:set` keyed by its first element: an open-addressed table of slots, each
//! the row's hash and the row, probed linearly.
//!
//! A lookup of a million-row table in a `hashbrown` table (through `growmap`) read three lines
//! that were not in the cache: the group of control bytes, the slot, and the row. Here the
//! slot holds the whole hash, so the probe reads the slot's line and then the row's, the
//! row only when the hashes match.
//!
//! The table grows as `growmap`'s do, a little at a time: when it is three quarters full a
//! table of twice the room takes its place, and each insert moves the next few slots of the
//! old one into it. Probes never wrap around (the table has `OVERFLOW` slots past its last
//! home), so the slots moved so far are always the old table's first ones: a key whose home
//! in the old table is at or past the next slot to move has not been moved, and one whose
//! home is before it is looked for in the new table first. A lookup of a present key thus
//! probes one table, where `growmap` probed the new table and then the old one for every key
//! not yet moved (most of them, just after a doubling). A removal moves what is left first,
//! so the old table only ever loses its first slots and its probe runs stay whole.

use std::hash::{BuildHasher, Hash};

use rustc_hash::FxBuildHasher;

use super::row::{Row, StrKey};
use crate::runtime::term::Term;

/// Slots past the last home of a table, so that a run of slots never wraps to the start. A
/// run longer than this (keys that hash alike) rebuilds the table with twice as many.
const OVERFLOW: usize = 32;

/// The room of the first table, once something is inserted.
const FIRST_ROOM: usize = 8;

/// Slots of the old table an insert moves into the new one. The new table has room for half
/// as many inserts again as the old one held (it grows at three quarters of twice the room),
/// so eight empty the old one after a quarter of those, and its memory is returned early.
const MOVES_PER_INSERT: usize = 8;

struct Slot {
    hash: u64,
    row: Option<Row>,
}

/// One table of slots: `room` homes (a power of two) and `extra` slots past them.
struct Slots {
    slots: Box<[Slot]>,
    /// `64 - log2(room)`: a home is the top bits of the mixed hash.
    shift: u32,
    len: usize,
}

impl Slots {
    fn empty() -> Slots {
        Slots {
            slots: Box::new([]),
            shift: 63,
            len: 0,
        }
    }

    fn with_room(room: usize, extra: usize) -> Slots {
        debug_assert!(room.is_power_of_two() && room >= 2);
        Slots {
            slots: (0..room + extra)
                .map(|_| Slot { hash: 0, row: None })
                .collect(),
            shift: 64 - room.trailing_zeros(),
            len: 0,
        }
    }

    fn room(&self) -> usize {
        if self.slots.is_empty() {
            0
        } else {
            1 << (64 - self.shift)
        }
    }

    /// The first slot a hash's probe reads. The hash is mixed first (a Fibonacci multiply)
    /// because an Fx hash is weak in some bits.
    fn home(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The index of the row of `hash` that `eq` accepts, probing from `start`.
    fn find_from(&self, start: usize, hash: u64, eq: &impl Fn(&Row) -> bool) -> Option<usize> {
        for (i, slot) in self.slots.iter().enumerate().skip(start) {
            match &slot.row {
                None => return None,
                Some(row) if slot.hash == hash && eq(row) => return Some(i),
                Some(_) => {}
            }
        }
        None
    }

    fn find(&self, hash: u64, eq: &impl Fn(&Row) -> bool) -> Option<usize> {
        self.find_from(self.home(hash), hash, eq)
    }

    /// Takes every row out, with its hash.
    fn drain(&mut self) -> impl Iterator<Item = (u64, Row)> + '_ {
        self.len = 0;
        self.slots
            .iter_mut()
            .filter_map(|s| Some((s.hash, s.row.take()?)))
    }

    /// Places a row known to be absent; gives it back when its run reaches the end.
    fn place(&mut self, hash: u64, row: Row) -> Result<(), Row> {
        let home = self.home(hash);
        match self.slots.iter_mut().skip(home).find(|s| s.row.is_none()) {
            Some(slot) => {
                *slot = Slot {
                    hash,
                    row: Some(row),
                };
                self.len += 1;
                Ok(())
            }
            None => Err(row),
        }
    }

    /// Takes the row at `i` out and shifts the rest of its run back (the removal of linear
    /// probing without tombstones): a later row moves into the hole when its home is at or
    /// before it.
    fn take(&mut self, mut i: usize) -> Row {
        let row = self.slots[i].row.take().expect("a taken slot is full");
        self.len -= 1;
        for j in i + 1..self.slots.len() {
            if self.slots[j].row.is_none() {
                break;
            }
            if self.home(self.slots[j].hash) <= i {
                self.slots.swap(i, j);
                i = j;
            }
        }
        row
    }
}

/// The rows of a `:set` table (see the module's comment).
pub(super) struct Rows {
    table: Slots,
    /// The table being emptied into `table` since the last growth; empty otherwise.
    old: Slots,
    /// The old table's slots before this one have been moved.
    next: usize,
    hasher: FxBuildHasher,
}

impl Default for Rows {
    fn default() -> Self {
        Rows {
            table: Slots::empty(),
            old: Slots::empty(),
            next: 0,
            hasher: FxBuildHasher,
        }
    }
}

impl Rows {
    pub(super) fn len(&self) -> usize {
        self.table.len + self.old.len
    }

    fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Where the row of `hash` that `eq` accepts is: in the old table (`true`) or the new one.
    fn locate(&self, hash: u64, eq: impl Fn(&Row) -> bool) -> Option<(bool, usize)> {
        if self.old.len > 0 {
            let home = self.old.home(hash);
            if home >= self.next {
                // Not moved yet, unless it was inserted since the growth.
                if let Some(i) = self.old.find_from(home, hash, &eq) {
                    return Some((true, i));
                }
                return self.table.find(hash, &eq).map(|i| (false, i));
            }
            if let Some(i) = self.table.find(hash, &eq) {
                return Some((false, i));
            }
            return self.old.find_from(self.next, hash, &eq).map(|i| (true, i));
        }
        self.table.find(hash, &eq).map(|i| (false, i))
    }

    fn slot(&self, (old, i): (bool, usize)) -> &Row {
        let slots = if old { &self.old } else { &self.table };
        slots.slots[i].row.as_ref().expect("a located slot is full")
    }

    fn slot_mut(&mut self, (old, i): (bool, usize)) -> &mut Option<Row> {
        let slots = if old { &mut self.old } else { &mut self.table };
        &mut slots.slots[i].row
    }

    /// The row of `key`.
    pub(super) fn get(&self, key: &Term) -> Option<&Row> {
        let hash = self.hash_of(key);
        self.locate(hash, |r| r.key() == key)
            .map(|at| self.slot(at))
    }

    /// The row whose key is the string `key`, found by its text.
    pub(super) fn get_str(&self, key: &str) -> Option<&Row> {
        let hash = self.hash_of(&StrKey(key));
        self.locate(hash, |r| r.is_str_key(key))
            .map(|at| self.slot(at))
    }

    pub(super) fn get_mut(&mut self, key: &Term) -> Option<&mut Row> {
        let hash = self.hash_of(key);
        let at = self.locate(hash, |r| r.key() == key)?;
        self.slot_mut(at).as_mut()
    }

    pub(super) fn contains_key(&self, key: &Term) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `row`, replacing the row of the same key (an ETS `:set` replaces the whole
    /// row).
    pub(super) fn replace(&mut self, row: Row) {
        let hash = self.hash_of(row.key());
        match self.locate(hash, |r| r.key() == row.key()) {
            Some(at) => *self.slot_mut(at) = Some(row),
            None => self.insert_new(hash, row),
        }
    }

    fn insert_new(&mut self, hash: u64, row: Row) {
        if (self.table.len + 1) * 4 > self.table.room() * 3 {
            self.grow();
        }
        self.move_some(MOVES_PER_INSERT);
        if let Err(row) = self.table.place(hash, row) {
            self.rebuild();
            self.insert_new(hash, row);
        }
    }

    /// Starts a table of twice the room, the current one becoming the old one.
    fn grow(&mut self) {
        // The old table is empty by now (see MOVES_PER_INSERT); emptied here should a change
        // of that arithmetic ever leave slots in it.
        self.move_some(usize::MAX);
        let room = (self.table.room() * 2).max(FIRST_ROOM);
        let extra = self.table.slots.len() - self.table.room();
        let new = Slots::with_room(room, extra.max(OVERFLOW));
        self.old = std::mem::replace(&mut self.table, new);
        self.next = 0;
    }

    /// Moves up to `count` of the old table's slots into the new one, and frees the old table
    /// once it is empty.
    fn move_some(&mut self, count: usize) {
        let end = self.next.saturating_add(count).min(self.old.slots.len());
        while self.next < end && self.old.len > 0 {
            let slot = &mut self.old.slots[self.next];
            if let Some(row) = slot.row.take() {
                let hash = slot.hash;
                self.old.len -= 1;
                if let Err(row) = self.table.place(hash, row) {
                    self.next += 1;
                    self.rebuild_with(Some((hash, row)));
                    return;
                }
            }
            self.next += 1;
        }
        if self.old.len == 0 && !self.old.slots.is_empty() {
            self.old = Slots::empty();
            self.next = 0;
        }
    }

    /// Puts every row into one new table with twice the slots past its last home: a run
    /// reached the end, which only keys that hash alike make.
    fn rebuild(&mut self) {
        self.rebuild_with(None)
    }

    fn rebuild_with(&mut self, pending: Option<(u64, Row)>) {
        let mut rows: Vec<(u64, Row)> = pending.into_iter().collect();
        rows.extend(self.table.drain());
        rows.extend(self.old.drain());
        let mut extra = (self.table.slots.len() - self.table.room()).max(OVERFLOW) * 2;
        let room = ((rows.len() + 1) * 2).next_power_of_two().max(FIRST_ROOM);
        loop {
            let mut table = Slots::with_room(room, extra);
            let mut left = vec![];
            for (hash, row) in rows.drain(..) {
                if let Err(row) = table.place(hash, row) {
                    left.push((hash, row));
                }
            }
            if left.is_empty() {
                self.table = table;
                self.old = Slots::empty();
                self.next = 0;
                return;
            }
            rows = left;
            rows.extend(table.drain());
            extra *= 2;
        }
    }

    /// Removes the row of `key`.
    pub(super) fn remove(&mut self, key: &Term) -> Option<Row> {
        // The old table loses only its first slots (see the module's comment).
        self.move_some(usize::MAX);
        let hash = self.hash_of(key);
        let i = self.table.find(hash, &|r: &Row| r.key() == key)?;
        Some(self.table.take(i))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Row> {
        self.table
            .slots
            .iter()
            .chain(self.old.slots.iter())
            .filter_map(|s| s.row.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: u64) -> Row {
        Row::new(Term::tuple(vec![
            Term::str(format!("k{k}")),
            Term::Int(k as i64),
        ]))
    }

    fn key(k: u64) -> Term {
        Term::str(format!("k{k}"))
    }

    fn value(rows: &Rows, k: u64) -> Option<Term> {
        rows.get_str(&format!("k{k}")).and_then(Row::value)
    }

    #[test]
    fn finds_every_row_while_it_grows_and_after() {
        let mut rows = Rows::default();
        for i in 0..20_000u64 {
            rows.replace(row(i));
            assert_eq!(rows.len(), i as usize + 1);
            // Every row so far, by its term and by its text, wherever its slot is now.
            if i % 1_999 == 0 || rows.old.len > 0 && i % 97 == 0 {
                for j in 0..=i {
                    assert_eq!(value(&rows, j), Some(Term::Int(j as i64)), "k{j} at {i}");
                    assert!(rows.contains_key(&key(j)), "k{j} at {i}");
                }
                assert!(rows.get(&key(i + 1)).is_none());
            }
        }
        assert_eq!(rows.iter().count(), 20_000);
    }

    /// Rows `k0`.. inserted until just past a growth, where most of them are still in the old
    /// table, and how many.
    fn mid_growth() -> (Rows, u64) {
        let mut rows = Rows::default();
        let mut n = 0;
        while rows.old.len == 0 || rows.len() < 1_000 {
            rows.replace(row(n));
            n += 1;
        }
        (rows, n)
    }

    #[test]
    fn a_replaced_row_is_replaced_in_whichever_table_holds_it() {
        let (mut rows, n) = mid_growth();
        for k in 0..n {
            rows.replace(Row::new(Term::tuple(vec![key(k), Term::Int(-1)])));
        }
        assert_eq!(rows.len(), n as usize);
        assert!((0..n).all(|k| value(&rows, k) == Some(Term::Int(-1))));
        let Term::Int(v) = &mut rows.get_mut(&key(3)).unwrap().fields_mut()[1] else {
            panic!("an integer")
        };
        *v = 7;
        assert_eq!(value(&rows, 3), Some(Term::Int(7)));
    }

    #[test]
    fn a_removal_during_a_growth_keeps_every_other_row() {
        let (mut rows, n) = mid_growth();
        for k in (0..n).step_by(2) {
            assert!(rows.remove(&key(k)).is_some(), "k{k}");
        }
        assert!(rows.remove(&key(0)).is_none());
        for k in 0..n {
            assert_eq!(value(&rows, k).is_some(), k % 2 == 1, "k{k}");
        }
        assert_eq!(rows.len(), n as usize / 2);
        assert_eq!(rows.iter().count(), n as usize / 2);
    }

    #[test]
    fn rows_that_hash_alike_past_the_overflow_slots_are_all_kept() {
        let mut rows = Rows::default();
        // One hash for every row: a single run, which outgrows the slots past the last home.
        for k in 0..(OVERFLOW as u64 * 5) {
            rows.insert_new(42, row(k));
        }
        for k in 0..(OVERFLOW as u64 * 5) {
            let text = format!("k{k}");
            let at = rows.locate(42, |r| r.is_str_key(&text));
            assert!(at.is_some(), "{text}");
        }
        assert_eq!(rows.len(), OVERFLOW * 5);
    }

    #[test]
    fn a_removal_closes_its_run() {
        let mut slots = Slots::with_room(8, OVERFLOW);
        // Three rows of one home and one of the next: removing the first moves the others back.
        let home = (0..).find(|h| slots.home(*h) == 2).unwrap();
        let next = (0..).find(|h| slots.home(*h) == 3).unwrap();
        for (k, hash) in [(0, home), (1, home), (2, next), (3, home)] {
            assert!(slots.place(hash, row(k)).is_ok());
        }
        let first = slots.find(home, &|r: &Row| r.is_str_key("k0")).unwrap();
        drop(slots.take(first));
        for (k, hash) in [(1, home), (2, next), (3, home)] {
            let at = slots.find(hash, &|r: &Row| r.is_str_key(&format!("k{k}")));
            assert!(at.is_some(), "k{k}");
        }
        assert_eq!(slots.len, 3);
        assert!(slots.slots[6].row.is_none());
    }
}
