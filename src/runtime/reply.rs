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

/// The cell a call's reply goes through. `replied` and `handles` sit beside the lock, not
/// under it: the common call (one `From`, answered once) then takes the lock once on each
/// side, to hand over the value and to take it, and dropping the answered `From` and the
/// finished caller's end take it not at all. They were two of the five locks of a round trip.
struct Cell {
    state: Mutex<State>,
    /// Set, under the lock, by the one reply that counts; read without it by the drops.
    replied: AtomicBool,
    /// Live `From` handles; when the last one goes without a reply the caller is told.
    handles: AtomicUsize,
}

/// Where a reply goes: the caller's pid and the call's reference, like `{pid, [:alias | ref]}`.
pub struct From {
    pub pid: Pid,
    pub tag: Ref,
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
        Term::Tuple(vec![
            Term::Pid(self.pid),
            Term::List(vec![atom("alias"), Term::Ref(self.tag)]),
        ])
    }
}

impl Clone for From {
    fn clone(&self) -> From {
        self.cell.handles.fetch_add(1, Ordering::Relaxed);
        From {
            pid: self.pid,
            tag: self.tag,
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
    let cell = Arc::new(Cell {
        state: Mutex::new(State {
            value: None,
            waker: None,
            caller_gone: false,
        }),
        replied: AtomicBool::new(false),
        handles: AtomicUsize::new(1),
    });
    (
        From {
            pid: caller,
            tag,
            cell: cell.clone(),
        },
        Pending { cell },
    )
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

    #[tokio::test]
    async fn a_second_reply_is_ignored() {
        let (from, pending) = channel(Pid(1), Ref(1));
        let copy = from.clone();
        assert_eq!(from.reply(Term::Int(1)), Delivery::Delivered);
        assert_eq!(copy.reply(Term::Int(2)), Delivery::AlreadyReplied);
        assert_eq!(pending.await, Some(Term::Int(1)));
    }
}
