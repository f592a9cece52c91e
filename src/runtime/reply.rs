//! The reply path of a call: `From` (the `from` a GenServer receives, which it may hand to
//! another process and answer later with `GenServer.reply/2`) and the caller's side of it.
//!
//! The reply does not go through the caller's mailbox. It goes to a one-shot cell that the
//! caller stops listening to when it gives up, which is what OTP 24's process aliases do: a
//! reply that arrives after a timeout is dropped, never left in the caller's mailbox, and is
//! counted (seed 003 asks where that reply goes). One allocation per call.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::pid::{Pid, Ref};
use super::term::{Term, atom};

struct State {
    value: Option<Term>,
    waker: Option<Waker>,
    /// The caller timed out or was cancelled: a reply now is late and dropped.
    caller_gone: bool,
}

/// The cell a call's reply goes through, with the caller's pid and the call's reference, so
/// that a `From` is one pointer: every queued call carries one, and an envelope is as large
/// as its largest variant. `replied` and `handles` sit beside the lock, not
/// under it: the common call (one `From`, answered once) then takes the lock once on each
/// side, to hand over the value and to take it, and dropping the answered `From` and the
/// finished caller's end take it not at all. They were two of the five locks of a round trip.
struct Cell {
    pid: Pid,
    tag: Ref,
    state: Mutex<State>,
    /// Set, under the lock, by the one reply that counts; read without it by the drops.
    replied: AtomicBool,
    /// Live `From` handles; when the last one goes without a reply the caller is told.
    handles: AtomicUsize,
}

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
        self.cell.pid
    }

    /// The call's reference.
    pub fn tag(&self) -> Ref {
        self.cell.tag
    }

    /// Answers the call. Safe from any process, any number of times.
    pub fn reply(&self, value: Term) -> Delivery {
        self.try_reply(value).0
    }

    /// [`From::reply`] that hands back a value it could not deliver, so a dropped late reply
    /// can be reported without copying every reply in case it is late.
    pub(crate) fn try_reply(&self, value: Term) -> (Delivery, Option<Term>) {
        let waker = {
            let mut s = self.cell.state.lock().unwrap();
            if self.cell.replied.load(Ordering::Relaxed) {
                return (Delivery::AlreadyReplied, Some(value));
            }
            self.cell.replied.store(true, Ordering::Release);
            if s.caller_gone {
                return (Delivery::LateDropped, Some(value));
            }
            s.value = Some(value);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
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
}

/// Makes a fresh reply path for one call.
pub fn channel(caller: Pid, tag: Ref) -> (From, Pending) {
    channel_from(None, caller, tag)
}

/// The cell of an answered call whose every `From` is gone, kept by a process that calls
/// often to make its next call's reply path without an allocation (see `call::CallTimer`).
pub(crate) struct Spare(Arc<Cell>);

/// [`channel`] in a spare cell when there is one. Nothing else holds a spare cell, so
/// making it as good as new is as if it were new: no `From` of the old call is left to
/// answer into it.
pub(crate) fn channel_from(spare: Option<Spare>, caller: Pid, tag: Ref) -> (From, Pending) {
    let cell = match spare {
        Some(Spare(mut cell)) => {
            let c = Arc::get_mut(&mut cell).expect("a spare reply cell is held only once");
            c.pid = caller;
            c.tag = tag;
            let state = c.state.get_mut().unwrap_or_else(|e| e.into_inner());
            // The waker is kept: the next call's first wait is by the same task.
            state.value = None;
            state.caller_gone = false;
            *c.replied.get_mut() = false;
            *c.handles.get_mut() = 1;
            cell
        }
        None => Arc::new(Cell {
            pid: caller,
            tag,
            state: Mutex::new(State {
                value: None,
                waker: None,
                caller_gone: false,
            }),
            replied: AtomicBool::new(false),
            handles: AtomicUsize::new(1),
        }),
    };
    (From { cell: cell.clone() }, Pending { cell })
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
        let mut cell = unsafe { std::ptr::read(&this.cell) };
        Arc::get_mut(&mut cell)?;
        Some(Spare(cell))
    }
}

impl Future for Pending {
    type Output = Option<Term>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Term>> {
        let mut s = self.cell.state.lock().unwrap();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if self.cell.handles.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
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
            return;
        }
        let mut s = self.cell.state.lock().unwrap();
        s.caller_gone = true;
        s.value = None;
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
