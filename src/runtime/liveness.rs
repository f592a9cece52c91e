//! Which pids are alive, by pid number, without the process table: what `alive?` and every
//! check of rule S32 (a cache lookup never hands out a dead pid) read.
//!
//! Asking the process table costs a shard's read lock (a write to a line both cores share), a
//! bucket and the process's entry: three cache misses when a million processes do not fit in
//! the cache, which is most of an ETS cache lookup at a million to-do lists. The BEAM's
//! process table is an array preallocated at its process limit (`+P`, 1,048,576 slots by
//! default) and indexed by a pid's number; this is the same array reduced to what liveness
//! needs: a slot holds the number of the live pid that owns it, so the check is one load.

use std::sync::atomic::{AtomicU64, Ordering};

/// Below this many slots two live pids would share one often, when a node's process limit is
/// set low (tests set it at a few hundred): a shared slot is answered by the process table,
/// which is correct but slower, so even a small node gets this many (512 KiB of address
/// space, of which only the pages of pids in use are ever touched).
const MIN_SLOTS: usize = 65_536;

/// Above this many slots (128 MiB of address space) a node with a higher process limit shares
/// slots between pids instead: the BEAM caps `+P` at 134,217,727, and a limit nobody could
/// reach must not make a node ask the system for gigabytes it refuses.
const MAX_SLOTS: usize = 1 << 24;

/// How many slots a table by pid number has for a node of `max_processes`: a power of two,
/// at least the limit, within `MIN_SLOTS` and `MAX_SLOTS`. The process table's array
/// (`proctable`) has as many as this one.
pub(super) fn slot_count(max_processes: usize) -> usize {
    max_processes
        .clamp(MIN_SLOTS, MAX_SLOTS)
        .next_power_of_two()
}

/// `n` slots of zero bytes. Zeroed memory from the allocator, not a loop of stores: a table of
/// 8 MiB at the default limit would otherwise be resident from the first instant, while this
/// way the kernel maps a page only when a pid of it is first spawned.
///
/// # Safety
/// All-zero bytes must be a valid `T`, and `T` must not be zero-sized.
pub(super) unsafe fn zeroed_slots<T>(n: usize) -> Box<[T]> {
    let layout = std::alloc::Layout::array::<T>(n).expect("slot table size");
    assert!(layout.size() > 0, "a slot table of at least one slot");
    // SAFETY: the layout is non-zero and of `n` Ts, which the caller says zero bytes make;
    // the pointer is checked, and the box frees it with the same layout.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n))
    }
}

/// A slot whose pid number was taken while an older pid of the same slot was still alive:
/// both, and every later pid of the slot, ask the process table instead.
const SHARED: u64 = u64::MAX;

/// What `Liveness::alive` knows of a pid.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Known {
    Alive,
    Dead,
    /// The slot is shared (see `SHARED`): ask the process table.
    AskTable,
}

/// One slot per pid number modulo a power of two at least the process limit. Pids are
/// sequential and never reused, so the slot of a pid is taken again only after as many
/// spawns as there are slots: by then its first owner is almost always dead.
pub(super) struct Liveness {
    slots: Box<[AtomicU64]>,
    mask: u64,
}

impl Liveness {
    pub fn new(max_processes: usize) -> Liveness {
        let n = slot_count(max_processes);
        // SAFETY: zero bytes are a valid AtomicU64, and 0 means a free slot.
        let slots = unsafe { zeroed_slots::<AtomicU64>(n) };
        Liveness {
            slots,
            mask: n as u64 - 1,
        }
    }

    fn slot(&self, pid: u64) -> &AtomicU64 {
        &self.slots[(pid & self.mask) as usize]
    }

    /// Marks a new pid alive, before anyone but its spawner knows it.
    pub fn spawned(&self, pid: u64) {
        let slot = self.slot(pid);
        let mut cur = slot.load(Ordering::Acquire);
        loop {
            // A slot is cleared when its pid dies, so a number in it is a live older pid.
            let new = if cur == 0 { pid } else { SHARED };
            if cur == SHARED {
                return;
            }
            match slot.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Marks a pid dead. Called before its exit reason is recorded, so whoever sees the
    /// reason (a caller whose server died, a `:DOWN`) then finds it dead here too.
    pub fn died(&self, pid: u64) {
        // A shared slot stays shared: the process table answers for its pids.
        let _ = self
            .slot(pid)
            .compare_exchange(pid, 0, Ordering::AcqRel, Ordering::Relaxed);
    }

    pub fn alive(&self, pid: u64) -> Known {
        match self.slot(pid).load(Ordering::Acquire) {
            // Pid 0 is never handed out; its slot's 0 means free, not alive.
            n if n == pid && pid != 0 => Known::Alive,
            SHARED => Known::AskTable,
            _ => Known::Dead,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_is_alive_from_its_spawn_to_its_death() {
        let l = Liveness::new(4);
        assert_eq!(l.alive(100), Known::Dead);
        l.spawned(100);
        assert_eq!(l.alive(100), Known::Alive);
        // Another pid of another slot is not.
        assert_eq!(l.alive(101), Known::Dead);
        l.died(100);
        assert_eq!(l.alive(100), Known::Dead);
    }

    #[test]
    fn a_pid_whose_slot_a_live_older_pid_holds_is_answered_by_the_table() {
        let l = Liveness::new(4);
        let n = MIN_SLOTS as u64;
        l.spawned(100);
        l.spawned(100 + n);
        assert_eq!(l.alive(100), Known::AskTable);
        assert_eq!(l.alive(100 + n), Known::AskTable);
        l.died(100);
        assert_eq!(l.alive(100 + n), Known::AskTable);
        // A neighbouring slot is not affected.
        l.spawned(101 + n);
        assert_eq!(l.alive(101 + n), Known::Alive);
    }

    #[test]
    fn a_node_with_no_process_limit_to_speak_of_still_starts() {
        let l = Liveness::new(usize::MAX);
        assert_eq!(l.slots.len(), MAX_SLOTS);
        l.spawned(100);
        assert_eq!(l.alive(100), Known::Alive);
    }

    #[test]
    fn a_slot_is_taken_again_once_its_pid_died() {
        let l = Liveness::new(4);
        let n = MIN_SLOTS as u64;
        l.spawned(100);
        l.died(100);
        l.spawned(100 + n);
        assert_eq!(l.alive(100 + n), Known::Alive);
        // The dead pid of the same slot stays dead.
        assert_eq!(l.alive(100), Known::Dead);
    }
}
