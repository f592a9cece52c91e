//! The process table: which entry a pid number names, for every lookup of a live process.
//!
//! It was 64 hash maps, one per `pid % 64`, that grew a few buckets a spawn (`growmap`). Pids
//! go round the shards, so all 64 doubled within the same few thousand spawns: each doubling
//! allocated new tables for every process (25 MB at 458,752 processes, 50 MB at 917,504) and
//! moved every slot into them over the spawns that followed, and at a million processes the
//! old tables were still held, about 75 bytes a process for the table alone. The BEAM's process
//! table is an array preallocated at its process limit and indexed by a pid's number; this is
//! that array, as `liveness` is for the liveness check: one pointer a slot, the allocator's
//! zeroed address space, so only the pages of pids in use are ever resident, and a spawn
//! writes the next slot after the last one instead of a random bucket.
//!
//! A slot is `pid & mask`. Pids are sequential and never reused, so a slot is taken again only
//! after as many spawns as there are slots; should its older pid still be alive then, the new
//! one goes to its shard's overflow map, which every lookup that misses the slot asks.
//!
//! The locks are still 64 shards, one per `pid % 64` (the slots' count is a multiple of 64,
//! so a slot's pids all share one shard): a slot changes only under its shard's write lock,
//! and a reader holds the read lock while it takes a reference to the entry, so an entry is
//! never freed under a reader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crossbeam_utils::CachePadded;
use rustc_hash::FxBuildHasher;

use super::liveness::{slot_count, zeroed_slots};
use super::node::Entry;

const SHARDS: usize = 64;

/// Entries whose slot an older live pid holds, by pid number.
type Overflow = HashMap<u64, Arc<Entry>, FxBuildHasher>;

pub(super) struct ProcTable {
    /// `Arc::into_raw` of the entry of the pid in each slot, or null.
    slots: Box<[AtomicPtr<Entry>]>,
    mask: u64,
    /// Each shard on cache lines of its own: adjacent shards shared a line, so a lookup on
    /// one core and a lookup of a neighbouring pid on the other bounced it between them.
    shards: Box<[CachePadded<RwLock<Overflow>>]>,
    /// The first pid number handed out and the next one: the slots of pids in between are
    /// the only ones a walk of the table needs to look at.
    first: u64,
    next: AtomicU64,
}

impl ProcTable {
    pub fn new(max_processes: usize, first_pid: u64) -> ProcTable {
        // As many slots as the liveness array, within the same bounds: above them pids share
        // slots through the overflow maps.
        let n = slot_count(max_processes);
        // SAFETY: zero bytes are a null AtomicPtr, an empty slot.
        let slots = unsafe { zeroed_slots::<AtomicPtr<Entry>>(n) };
        ProcTable {
            slots,
            mask: n as u64 - 1,
            shards: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            first: first_pid,
            next: AtomicU64::new(first_pid),
        }
    }

    /// A new pid number, never handed out before.
    pub fn next_pid(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn shard(&self, pid: u64) -> &RwLock<Overflow> {
        &self.shards[(pid % SHARDS as u64) as usize]
    }

    fn slot(&self, pid: u64) -> &AtomicPtr<Entry> {
        &self.slots[(pid & self.mask) as usize]
    }

    /// Adds the entry of a new pid.
    pub fn insert(&self, entry: Arc<Entry>) {
        let pid = entry.pid.0;
        let mut overflow = self.shard(pid).write().unwrap();
        let slot = self.slot(pid);
        if slot.load(Ordering::Relaxed).is_null() {
            slot.store(Arc::into_raw(entry).cast_mut(), Ordering::Release);
        } else {
            overflow.insert(pid, entry);
        }
    }

    /// Runs `f` on the entry of `pid`, if it is in the table, under its shard's read lock.
    pub fn with<R>(&self, pid: u64, f: impl FnOnce(&Arc<Entry>) -> R) -> Option<R> {
        let overflow = self.shard(pid).read().unwrap();
        let ptr = self.slot(pid).load(Ordering::Acquire);
        // SAFETY: a non-null slot holds a reference the table owns, given up only under the
        // write lock of this shard, which the read lock held here excludes. ManuallyDrop
        // lends it to `f` without touching its count.
        if !ptr.is_null() {
            let entry = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(ptr) });
            if entry.pid.0 == pid {
                return Some(f(&entry));
            }
        }
        if overflow.is_empty() {
            return None;
        }
        overflow.get(&pid).map(f)
    }

    pub fn get(&self, pid: u64) -> Option<Arc<Entry>> {
        self.with(pid, Arc::clone)
    }

    /// Takes a pid's entry out of the table.
    pub fn remove(&self, pid: u64) {
        let mut overflow = self.shard(pid).write().unwrap();
        let slot = self.slot(pid);
        let ptr = slot.load(Ordering::Relaxed);
        // SAFETY: as in `with`; under the write lock no reader holds the slot's reference, so
        // the table's own is given back here, once: the slot is emptied in the same step.
        if !ptr.is_null() && unsafe { (*ptr).pid.0 } == pid {
            slot.store(std::ptr::null_mut(), Ordering::Relaxed);
            let entry = unsafe { Arc::from_raw(ptr) };
            // The entry is dropped after the lock, not under it: its last reference may free
            // a mailbox of any size.
            drop(overflow);
            drop(entry);
        } else {
            let entry = overflow.remove(&pid);
            drop(overflow);
            drop(entry);
        }
    }

    /// Whether `f` holds for every entry; stops at the first that fails. It holds one shard's
    /// read lock at a time, as the walk of the 64 hash maps did: a block of slots at a time,
    /// each shard's slots of the block under its lock, so that the block is read from memory
    /// once for all 64 shards (shard by shard over the whole array, each pass would read every
    /// line of it for an eighth of its slots).
    pub fn all(&self, mut f: impl FnMut(&Entry) -> bool) -> bool {
        const BLOCK: u64 = 4_096;
        let next = self.next.load(Ordering::Acquire);
        // Every slot once: those of the pids handed out, or all of them once that many were.
        let start = next.saturating_sub(self.slots.len() as u64).max(self.first);
        let mut block = start;
        while block < next {
            let end = (block + BLOCK).min(next);
            for (s, shard) in self.shards.iter().enumerate() {
                let _guard = shard.read().unwrap();
                let s = s as u64;
                let from = block + (s + SHARDS as u64 - block % SHARDS as u64) % SHARDS as u64;
                for pid in (from..end).step_by(SHARDS) {
                    let ptr = self.slot(pid).load(Ordering::Acquire);
                    // SAFETY: as in `with`: the shard's read lock keeps the reference alive.
                    if !ptr.is_null() && !f(unsafe { &*ptr }) {
                        return false;
                    }
                }
            }
            block = end;
        }
        self.shards
            .iter()
            .all(|shard| shard.read().unwrap().values().all(|e| f(e)))
    }

    /// Visits every entry of the table, one shard's read lock at a time.
    pub fn for_each(&self, mut f: impl FnMut(&Entry)) {
        self.all(|e| {
            f(e);
            true
        });
    }
}

impl Drop for ProcTable {
    /// Gives back the references of the slots of the pids handed out (the rest were never
    /// touched, and reading them would map their pages); the overflow maps drop their own.
    fn drop(&mut self) {
        let next = *self.next.get_mut();
        let start = next.saturating_sub(self.slots.len() as u64).max(self.first);
        for pid in start..next {
            let ptr = *self.slots[(pid & self.mask) as usize].get_mut();
            if !ptr.is_null() {
                // SAFETY: the table's own reference, given back once as the table goes.
                drop(unsafe { Arc::from_raw(ptr) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::pid::Pid;

    fn entry(pid: u64) -> Arc<Entry> {
        Arc::new(Entry::new(Pid(pid), false, Arc::from("fn"), None))
    }

    #[test]
    fn finds_each_pid_until_it_is_removed_even_when_its_slot_is_taken() {
        let t = ProcTable::new(4, 100);
        let slots = t.slots.len() as u64;
        let a = entry(100);
        t.insert(a.clone());
        // The same slot as 100, while 100 is alive: it goes to the overflow map.
        t.insert(entry(100 + slots));
        t.insert(entry(101));
        assert!(Arc::ptr_eq(&t.get(100).unwrap(), &a));
        assert_eq!(t.get(100 + slots).unwrap().pid, Pid(100 + slots));
        assert!(t.get(102).is_none() && t.get(100 + 2 * slots).is_none());
        // Two references: `a` and the table's.
        assert_eq!(Arc::strong_count(&a), 2);
        t.remove(100);
        assert_eq!(Arc::strong_count(&a), 1);
        assert!(t.get(100).is_none());
        assert_eq!(t.get(100 + slots).unwrap().pid, Pid(100 + slots));
        t.remove(100 + slots);
        assert!(t.get(100 + slots).is_none());
        assert_eq!(t.get(101).unwrap().pid, Pid(101));
    }

    #[test]
    fn a_walk_sees_every_entry_once() {
        let t = ProcTable::new(4, 100);
        let mut pids = vec![];
        for _ in 0..1_000 {
            let pid = t.next_pid();
            t.insert(entry(pid));
            pids.push(pid);
        }
        for pid in pids.iter().copied().filter(|p| p % 3 == 0) {
            t.remove(pid);
        }
        let mut seen = vec![];
        t.for_each(|e| seen.push(e.pid.0));
        seen.sort();
        let expected: Vec<u64> = pids.into_iter().filter(|p| p % 3 != 0).collect();
        assert_eq!(seen, expected);
        assert!(!t.all(|e| e.pid.0 != 500));
    }

    #[test]
    fn a_walk_covers_every_slot_once_pids_went_round_the_table() {
        let t = ProcTable::new(4, 100);
        let slots = t.slots.len() as u64;
        // An old pid still alive when the pids have gone round the table twice.
        let old = t.next_pid();
        t.insert(entry(old));
        for _ in 0..2 * slots {
            let pid = t.next_pid();
            t.insert(entry(pid));
            t.remove(pid);
        }
        let last = t.next_pid();
        t.insert(entry(last));
        let mut seen = vec![];
        t.for_each(|e| seen.push(e.pid.0));
        seen.sort();
        assert_eq!(seen, vec![old, last]);
    }
}
