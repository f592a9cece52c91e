//! Messages between processes: `send`, `GenServer.cast`, `GenServer.call` with its timeout,
//! `GenServer.reply`, `:sys.get_state`, and the timers of `Process.send_after`.
//!
//! A call pushes the request into the server's mailbox with a reply channel and waits on that
//! channel, not on the caller's mailbox: a reply that comes after the caller gave up finds the
//! channel closed and is dropped and counted, never delivered as garbage (S27).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use super::events::{Event, TraceKind};
use super::exit::CallError;
use super::mailbox::{Envelope, SystemRequest};
use super::node::{Dest, Entry, Node};
use super::pid::Pid;
use super::reply::{self, Delivery, From};
use super::term::Term;

/// The default `GenServer.call` timeout.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(5000);

impl Node {
    /// `send/2`: a silent no-op for a dead pid or an unknown name (S23, S29).
    pub fn send(&self, from: Option<Pid>, dest: &Dest, msg: Term) {
        if let Some(e) = self.resolve(dest) {
            self.trace_msg(from, e.pid, TraceKind::Info, &msg);
            let _ = e.mailbox.push(Envelope::Message(msg));
        }
    }

    /// `GenServer.cast/2`: always `:ok`, even to nobody (S29).
    pub fn cast(&self, from: Option<Pid>, dest: &Dest, msg: Term) {
        if let Some(e) = self.resolve(dest) {
            self.trace_msg(from, e.pid, TraceKind::Cast, &msg);
            let _ = e.mailbox.push(Envelope::Cast(msg));
        }
    }

    /// `GenServer.call/3` from `caller` (S25-S28). The request stays with the server after a
    /// timeout and is still handled; its late reply is dropped and counted.
    pub async fn call(
        &self,
        caller: Pid,
        dest: &Dest,
        request: Term,
        timeout: Option<Duration>,
    ) -> Result<Term, CallError> {
        self.call_timed(caller, dest, request, timeout, None).await
    }

    /// A call whose timeout reuses the caller's timer when it has one (see [`CallTimer`]).
    pub(super) async fn call_timed(
        &self,
        caller: Pid,
        dest: &Dest,
        request: Term,
        timeout: Option<Duration>,
        timer: Option<&CallTimer>,
    ) -> Result<Term, CallError> {
        let Some(server) = self.resolve(dest) else {
            return Err(CallError::Noproc);
        };
        if server.pid == caller {
            return Err(CallError::CallingSelf);
        }
        self.trace_msg(Some(caller), server.pid, TraceKind::Call, &request);
        let (from, pending) = reply::channel(caller, self.make_ref());
        if server
            .mailbox
            .push(Envelope::Call { from, request })
            .is_err()
        {
            return Err(self.call_failure(&server));
        }
        let mut pending = pending;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let outcome = match deadline {
            Some(d) => {
                let mut sleep = match timer.and_then(CallTimer::take) {
                    Some(mut sleep) => {
                        sleep.as_mut().reset(d);
                        sleep
                    }
                    None => Box::pin(tokio::time::sleep_until(d)),
                };
                let out = ReplyOrTimeout {
                    pending: &mut pending,
                    sleep: sleep.as_mut(),
                }
                .await;
                if let Some(t) = timer {
                    t.put(sleep);
                }
                out
            }
            None => Some((&mut pending).await),
        };
        drop(pending);
        match outcome {
            Some(Some(reply)) => {
                self.trace_msg(Some(server.pid), caller, TraceKind::Reply, &reply);
                Ok(reply)
            }
            None => Err(CallError::Timeout),
            // Every handle of the request is gone unanswered: the server died, or dropped it.
            Some(None) => {
                if let Some(reason) = server.exit_reason.get() {
                    return Err(CallError::Exited((**reason).clone()));
                }
                let died = server.died.notified();
                tokio::pin!(died);
                died.as_mut().enable();
                if let Some(reason) = server.exit_reason.get() {
                    return Err(CallError::Exited((**reason).clone()));
                }
                match deadline {
                    Some(d) => match tokio::time::timeout_at(d, died).await {
                        Ok(()) => Err(self.call_failure(&server)),
                        Err(_) => Err(CallError::Timeout),
                    },
                    None => {
                        died.await;
                        Err(self.call_failure(&server))
                    }
                }
            }
        }
    }

    fn call_failure(&self, server: &Entry) -> CallError {
        match server.exit_reason.get() {
            Some(reason) => CallError::Exited((**reason).clone()),
            None => CallError::Noproc,
        }
    }

    /// `GenServer.reply/2`, from any process. A reply to a caller that gave up is dropped,
    /// counted and published.
    pub fn reply(&self, server: Pid, from: &From, value: Term) -> Delivery {
        let (delivery, undelivered) = from.try_reply(value);
        if delivery == Delivery::LateDropped {
            self.inner
                .late_replies_dropped
                .fetch_add(1, Ordering::Relaxed);
            self.inner.bus.publish(Event::LateReplyDropped {
                server,
                caller: from.pid,
                reply: undelivered.unwrap_or_else(Term::nil),
            });
        }
        delivery
    }

    /// `:sys.get_state/1` of a GenServer.
    pub async fn get_state(&self, dest: &Dest, timeout: Duration) -> Result<Term, CallError> {
        let Some(server) = self.resolve(dest) else {
            return Err(CallError::Noproc);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if server
            .mailbox
            .push(Envelope::System(SystemRequest::GetState(tx)))
            .is_err()
        {
            return Err(self.call_failure(&server));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(_)) => Err(self.call_failure(&server)),
            Err(_) => Err(CallError::Timeout),
        }
    }
}

/// The timer of a process's call timeouts, kept between calls. Registering a fresh tokio
/// timer for every call takes the timer driver's lock twice and, when no other timer is due
/// sooner, wakes the driver's thread (an eventfd write): the profile of a call round trip was
/// dominated by that. A kept timer is moved to the new deadline with one atomic update while
/// its old deadline has not passed. Left behind after a call, it fires once, harmlessly.
///
/// It is kept from a process's third call on: most processes that call at all call once or
/// twice in their life (a to-do server registers its name and loads its list), and a kept
/// timer is 128 bytes for the rest of that life.
#[derive(Default)]
pub(crate) struct CallTimer(Mutex<TimerSlot>);

#[derive(Default)]
struct TimerSlot {
    calls: u8,
    kept: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Calls after which a process keeps its timer.
const CALLS_BEFORE_KEEPING: u8 = 2;

impl CallTimer {
    fn take(&self) -> Option<Pin<Box<tokio::time::Sleep>>> {
        self.0.lock().ok()?.kept.take()
    }
    fn put(&self, sleep: Pin<Box<tokio::time::Sleep>>) {
        if let Ok(mut slot) = self.0.lock() {
            if slot.calls >= CALLS_BEFORE_KEEPING {
                slot.kept = Some(sleep);
            } else {
                slot.calls += 1;
            }
        }
    }
}

/// Waits for a reply, or for the deadline: `None` on a timeout. The reply is looked at first,
/// so a reply that is there is never lost to a deadline that passed at the same moment.
struct ReplyOrTimeout<'a> {
    pending: &'a mut reply::Pending,
    sleep: Pin<&'a mut tokio::time::Sleep>,
}

impl Future for ReplyOrTimeout<'_> {
    type Output = Option<Option<Term>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(r) = Pin::new(&mut *self.pending).poll(cx) {
            return Poll::Ready(Some(r));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
