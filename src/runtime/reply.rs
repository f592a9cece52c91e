//! The reply path of a call: `From` (the `from` a GenServer receives, which it may hand to
//! another process and answer later with `GenServer.reply/2`) and the caller's side of it.
//!
//! The reply does not go through the caller's mailbox. It goes to a one-shot cell that the
//! caller stops listening to when it gives up, which is what OTP 24's process aliases do: a
//! reply that arrives after a timeout is dropped, never left in the caller's mailbox, and is
//! counted (seed 003 asks where that reply goes). One allocation per call.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::pid::{Pid, Ref};
use super::term::{Term, atom};

struct State {
    waker: Option<Waker>,
    /// The caller timed out or was cancelled: a reply now is late and dropped.
    caller_gone: bool,
}

/// The cell a call's reply goes through, with the caller's pid and the call's reference, so
/// that a `From` is one pointer: every queued call carries one, and an envelope is as large
/// as its largest variant. `replied`, `handles` and the value sit beside the lock, not
/// under it: the common call (one `From`, answered once) then takes the lock once, to hand
/// over the value, and taking it, dropping the answered `From` and the finished caller's end
/// take it not at all. They were three of the five locks of a round trip.
struct Cell {
    /// The caller's pid and the call's reference, as numbers: atomics (plain loads and
    /// stores, with no ordering of their own) so that a spare cell is made new through a
    /// shared reference, without `Arc::get_mut`'s locked compare-exchange on every call.
    /// A `From` reaches its server through the mailbox's lock, which orders them.
    pid: AtomicU64,
    tag: AtomicU64,
    state: Mutex<State>,
    /// Set, under the lock, by the one reply that counts; read without it by the drops.
    replied: AtomicBool,
    /// The reply, written once, under the lock, by the reply that counts, and then announced
    /// by `ready`; taken by the caller's end alone, after it has seen `ready`. The caller
    /// takes it without the lock: taking the lock again once the answer was there was two of
    /// the locked instructions of a round trip, and when the caller ran on another worker it
    /// spun on the lock while the server, holding it, woke it.
    value: UnsafeCell<Option<Term>>,
    ready: AtomicBool,
    /// Live `From` handles; when the last one goes without a reply the caller is told.
    handles: AtomicUsize,
}

// SAFETY: every field but `value` is `Sync`. `value` is written only by the one reply that
// counts (`replied`, under the lock, lets one through), before its `ready` store with
// release ordering, and nothing writes it after; it is read only by the one `Pending` after
// it has loaded `ready` as true with acquire ordering, or with no other handle left (a
// spare's reset), so a write and a read of it never overlap.
unsafe impl Sync for Cell {}

/// Where a reply goes: the caller's pid and the call's reference, like `{pid, [:alias | ref]}`.
pub struct From {
    cell: Arc<Cell>,
}

/// What became of a reply.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Delivery {
    Delivered,
    /// The caller had stopped waiting (timeout): the OTP 24 late reply, dropped.
    LateDropped,
    /// The call had already been answered; a second reply is ignored.
    AlreadyReplied,
}

impl From {
    /// The caller's pid.
    pub fn pid(&self) -> Pid {
        Pid(self.cell.pid.load(Ordering::Relaxed))
    }

    /// The call's reference.
    pub fn tag(&self) -> Ref {
        Ref(self.cell.tag.load(Ordering::Relaxed))
    }

    /// Answers the call. Safe from any process, any number of times.
    pub fn reply(&self, value: Term) -> Delivery {
        self.try_reply(value).0
    }

    /// [`From::reply`] that hands back a value it could not deliver, so a dropped late reply
    /// can be reported without copying every reply in case it is late.
    pub(crate) fn try_reply(&self, value: Term) -> (Delivery, Option<Term>) {
        {
            let s = self.cell.state.lock().unwrap();
            if self.cell.replied.load(Ordering::Relaxed) {
                return (Delivery::AlreadyReplied, Some(value));
            }
            self.cell.replied.store(true, Ordering::Release);
            if s.caller_gone {
                return (Delivery::LateDropped, Some(value));
            }
            // SAFETY: only the reply that set `replied` first gets here, once, and the caller
            // reads the value only after the `ready` store below (see `Cell`).
            unsafe { *self.cell.value.get() = Some(value) };
            self.cell.ready.store(true, Ordering::Release);
            // Woken by reference, under the lock, and left in the cell: the caller's next
            // call reuses the cell, and a waker it finds there is one it need not clone again
            // (see `Pending::registered`).
            if let Some(w) = &s.waker {
                w.wake_by_ref();
            }
        }
        (Delivery::Delivered, None)
    }

    /// `{#PID<…>, [:alias | #Reference<…>]}`, as iex prints a `from`.
    pub fn to_term(&self) -> Term {
        Term::tuple(vec![
            Term::Pid(self.pid()),
            Term::list(vec![atom("alias"), Term::Ref(self.tag())]),
        ])
    }
}

impl Clone for From {
    fn clone(&self) -> From {
        self.cell.handles.fetch_add(1, Ordering::Relaxed);
        From {
            cell: self.cell.clone(),
        }
    }
}

impl Drop for From {
    fn drop(&mut self) {
        if self.cell.handles.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // Answered: nobody is to be woken. An answer is never taken back while a `From`
        // lives, so `true` read without the lock is the truth; only `false` may be stale (an
        // answer from another thread under way), and the lock below decides it. A server
        // drops its `From` right after answering, so this spares the lock on every call.
        if self.cell.replied.load(Ordering::Acquire) {
            return;
        }
        // The last handle: the caller is woken to find it unanswered, unless it was answered.
        // `replied` is written under the lock, so read under it here it cannot be stale.
        let waker = {
            let mut s = self.cell.state.lock().unwrap();
            if self.cell.replied.load(Ordering::Relaxed) {
                None
            } else {
                s.waker.take()
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl std::fmt::Debug for From {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_term())
    }
}

/// The caller's end: resolves to the reply, or to `None` once every `From` is gone unanswered
/// (the server died, or dropped the request).
pub struct Pending {
    cell: Arc<Cell>,
    /// The waker this end last left in the cell, as the data and vtable addresses that
    /// `Waker::will_wake` compares, or zeros. Only this end writes the cell's waker while a
    /// `From` may answer (an answer wakes it by reference and leaves it), so while the call
    /// is unanswered and the task polls with that waker, the cell already holds it and a
    /// poll need not take the lock to find that out: the first poll of every call, made
    /// before the server can have run, is then two loads.
    registered: (usize, usize),
}

/// What identifies a waker for `Waker::will_wake`.
fn waker_key(w: &Waker) -> (usize, usize) {
    (w.data() as usize, w.vtable() as *const _ as usize)
}

/// Makes a fresh reply path for one call.
pub fn channel(caller: Pid, tag: Ref) -> (From, Pending) {
    channel_from(None, caller, tag)
}

/// The cell of an answered call whose every `From` is gone, kept by a process that calls
/// often to make its next call's reply path without an allocation (see `call::CallTimer`).
pub(crate) struct Spare(Arc<Cell>, (usize, usize));

/// [`channel`] in a spare cell when there is one. Nothing else holds a spare cell, so
/// making it as good as new is as if it were new: no `From` of the old call is left to
/// answer into it.
pub(crate) fn channel_from(spare: Option<Spare>, caller: Pid, tag: Ref) -> (From, Pending) {
    let mut registered = (0, 0);
    let cell = match spare {
        Some(Spare(cell, kept)) => {
            // A spare is answered, its answer taken and its caller not gone (see
            // `Pending::recycle`), so of its state only the waker is left, and it is kept:
            // the next call's first wait is by the same task.
            registered = kept;
            cell.pid.store(caller.0, Ordering::Relaxed);
            cell.tag.store(tag.0, Ordering::Relaxed);
            cell.replied.store(false, Ordering::Relaxed);
            cell.ready.store(false, Ordering::Relaxed);
            cell.handles.store(1, Ordering::Relaxed);
            cell
        }
        None => Arc::new(Cell {
            pid: AtomicU64::new(caller.0),
            tag: AtomicU64::new(tag.0),
            state: Mutex::new(State {
                waker: None,
                caller_gone: false,
            }),
            replied: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            ready: AtomicBool::new(false),
            handles: AtomicUsize::new(1),
        }),
    };
    (From { cell: cell.clone() }, Pending { cell, registered })
}

impl Pending {
    /// Gives the cell back for another call once the call is answered and no `From` is
    /// left, which is the common end of a call: the server dropped its `From` after replying.
    /// Otherwise the cell goes with the last handle, as it would without recycling.
    pub(crate) fn recycle(self) -> Option<Spare> {
        if !self.cell.replied.load(Ordering::Acquire) {
            return None;
        }
        // Moved out without running `Drop`, which for an answered call only drops the cell's
        // reference, as `cell` now does if it is not the last one.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the `Arc` is moved out of it once only.
        let cell = unsafe { std::ptr::read(&this.cell) };
        // The only one left: a count of one, read after the last `From`'s release of its
        // own, as `Arc::get_mut` decides, without its compare-exchange, which guards
        // against weak references racing an upgrade, and a cell never has one.
        if Arc::strong_count(&cell) != 1 {
            forget_waker(&cell);
            return None;
        }
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: this is the cell's last reference, so nothing else reaches `value`.
        debug_assert!(unsafe { (*cell.value.get()).is_none() });
        debug_assert!(!cell.state.lock().unwrap().caller_gone);
        Some(Spare(cell, this.registered))
    }
}

/// Drops the caller's waker from an answered cell that a `From` still holds: the caller is
/// done with it, and a kept `From` (a server that keeps it to reply again, or hands it on)
/// must not keep the caller's task alive through it.
fn forget_waker(cell: &Cell) {
    let waker = cell.state.lock().unwrap().waker.take();
    drop(waker);
}

impl Cell {
    /// The reply, once `ready` says it is there and it has not been taken yet. Only the
    /// caller's end, the one `Pending`, calls it.
    fn take_ready(&self) -> Option<Term> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `ready` was loaded as true with acquire ordering, after the one write of
        // the value, and only the one `Pending` reads it (see `Cell`).
        unsafe { (*self.value.get()).take() }
    }
}

impl Future for Pending {
    type Output = Option<Term>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Term>> {
        let this = self.get_mut();
        if let Some(v) = this.cell.take_ready() {
            return Poll::Ready(Some(v));
        }
        let key = waker_key(cx.waker());
        // Unanswered, a `From` still alive, and the cell holds this waker: nothing to do. An
        // answer or the last `From`'s drop that comes after these loads finds the waker in
        // the cell and wakes it; one that came before is seen by them.
        if this.registered == key
            && !this.cell.replied.load(Ordering::Acquire)
            && this.cell.handles.load(Ordering::Acquire) != 0
        {
            return Poll::Pending;
        }
        let mut s = this.cell.state.lock().unwrap();
        if let Some(v) = this.cell.take_ready() {
            return Poll::Ready(Some(v));
        }
        if this.cell.handles.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        this.registered = key;
        Poll::Pending
    }
}

impl Drop for Pending {
    /// Giving up on a call (timeout, or the caller cancelled) closes the alias: later replies
    /// are dropped.
    fn drop(&mut self) {
        // Answered already: a later reply is refused as a second one, whatever the caller
        // does, so there is no alias to close. The answer, if never taken, goes with the cell.
        if self.cell.replied.load(Ordering::Acquire) {
            // A `From` still held keeps the cell, but not the caller's waker (see
            // `forget_waker`). With none left the cell goes now, with the waker.
            if Arc::strong_count(&self.cell) > 1 {
                forget_waker(&self.cell);
            }
            return;
        }
        // A reply that came since `replied` was read leaves its value in the cell, which goes
        // with the cell, as an answer never taken does above.
        let waker = {
            let mut s = self.cell.state.lock().unwrap();
            s.caller_gone = true;
            s.waker.take()
        };
        // Dropped outside the lock: the waker's drop is the last reference to a task that
        // has ended.
        drop(waker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_reaches_a_waiting_caller() {
        let (from, pending) = channel(Pid(1), Ref(1));
        assert_eq!(from.reply(Term::Int(7)), Delivery::Delivered);
        assert_eq!(pending.await, Some(Term::Int(7)));
    }

    #[tokio::test]
    async fn a_reply_after_the_caller_gave_up_is_dropped() {
        let (from, pending) = channel(Pid(1), Ref(1));
        drop(pending);
        assert_eq!(from.reply(Term::Int(7)), Delivery::LateDropped);
    }

    #[tokio::test]
    async fn dropping_every_from_unanswered_wakes_the_caller() {
        let (from, pending) = channel(Pid(1), Ref(1));
        let copy = from.clone();
        drop(from);
        drop(copy);
        assert_eq!(pending.await, None);
    }

    /// A cell is reused only when nothing can answer into it any more: a `From` kept by the
    /// server (to reply again, or handed to another process) would otherwise deliver its late
    /// reply to the next call.
    #[tokio::test]
    async fn a_cell_is_reused_only_once_no_from_is_left() {
        let (from, mut pending) = channel(Pid(1), Ref(1));
        let kept = from.clone();
        assert_eq!(from.reply(Term::Int(1)), Delivery::Delivered);
        drop(from);
        assert_eq!((&mut pending).await, Some(Term::Int(1)));
        assert!(pending.recycle().is_none(), "a From is still alive");
        assert_eq!(kept.reply(Term::Int(2)), Delivery::AlreadyReplied);

        let (from, mut pending) = channel(Pid(1), Ref(2));
        assert_eq!(from.reply(Term::Int(3)), Delivery::Delivered);
        drop(from);
        assert_eq!((&mut pending).await, Some(Term::Int(3)));
        let spare = pending.recycle().expect("answered, and no From is left");
        let (from, pending) = channel_from(Some(spare), Pid(4), Ref(5));
        assert_eq!((from.pid(), from.tag()), (Pid(4), Ref(5)));
        drop(pending);
        assert_eq!(
            from.reply(Term::Int(6)),
            Delivery::LateDropped,
            "a reused cell is a fresh call's: unanswered, and closed when its caller goes"
        );
    }

    #[tokio::test]
    async fn a_second_reply_is_ignored() {
        let (from, pending) = channel(Pid(1), Ref(1));
        let copy = from.clone();
        assert_eq!(from.reply(Term::Int(1)), Delivery::Delivered);
        assert_eq!(copy.reply(Term::Int(2)), Delivery::AlreadyReplied);
        assert_eq!(pending.await, Some(Term::Int(1)));
    }
}
