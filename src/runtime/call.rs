//! Messages between processes: `send`, `GenServer.cast`, `GenServer.call` with its timeout,
//! `GenServer.reply`, `:sys.get_state`, and the timers of `Process.send_after`.
//!
//! A call pushes the request into the server's mailbox with a reply channel and waits on that
//! channel, not on the caller's mailbox: a reply that comes after the caller gave up finds the
//! channel closed and is dropped and counted, never delivered as garbage (S27).
//!
//! A timer of `send_after` is a tokio task that sleeps until its deadline and then sends, as
//! `erlang:send_after/3` does: to a pid, a message the runtime drops if that process is dead by
//! then; to a name, resolved only when the timer fires. Its entry in the node's table of timers
//! is what makes firing and cancelling exclusive: whichever takes the entry out first wins, so
//! a timer either delivers its message or is cancelled with the time it had left, never both.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::events::{Event, LateReplyDropped, TraceKind};
use super::exit::CallError;
use super::mailbox::{Envelope, SystemRequest};
use super::node::{Dest, Entry, IN_CALL, Node, Status};
use super::pid::{Pid, Ref};
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

    /// `Process.send_after(dest, msg, ms)`: sends `msg` to `dest` once `after` has passed,
    /// scaled by the node's speed as the experiments' sleeps are, and returns the timer's
    /// reference for [`Node::cancel_timer`]. A pid that is dead when the timer fires gets
    /// nothing, silently; a name is looked up when the timer fires, not now, so it reaches
    /// whoever holds the name then, or nobody.
    pub fn send_after(&self, dest: impl Into<Dest>, msg: Term, after: Duration) -> Ref {
        let dest = dest.into();
        let timer = self.make_ref();
        let speed = self.speed();
        let deadline = tokio::time::Instant::now() + self.scaled(after);
        // The task holds the node weakly: a pending timer must not keep a dropped node alive.
        let node = Arc::downgrade(&self.inner);
        // The table stays locked until the entry is in: a timer due at once must find its entry
        // when it fires, or it would take itself for cancelled and never send.
        let mut timers = self.inner.timers.lock().unwrap();
        let task = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            if let Some(inner) = node.upgrade() {
                Node { inner }.fire(timer);
            }
        });
        timers.insert(
            timer,
            PendingTimer {
                dest,
                msg,
                deadline,
                speed,
                task: task.abort_handle(),
            },
        );
        timer
    }

    /// `Process.cancel_timer(ref)`: the milliseconds the timer had left, in the experiment's
    /// time (unscaled by the speed it was started with), or `None` (Elixir's `false`) when it
    /// already fired, was cancelled before, or was sent to a pid that is no longer alive, as
    /// the BEAM cancels a timer whose destination process exited.
    pub fn cancel_timer(&self, timer: Ref) -> Option<u64> {
        let pending = self.inner.timers.lock().unwrap().remove(&timer)?;
        pending.task.abort();
        let left = pending
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            // Due but not yet run: it has fired as far as anyone can tell, so it sends now
            // rather than lose the message.
            self.send(None, &pending.dest, pending.msg);
            return None;
        }
        if let Dest::Pid(pid) = pending.dest
            && !self.alive(pid)
        {
            return None;
        }
        Some(left.mul_f64(pending.speed).as_millis() as u64)
    }

    /// A timer's deadline passed: it sends, unless it was cancelled first.
    fn fire(&self, timer: Ref) {
        let pending = self.inner.timers.lock().unwrap().remove(&timer);
        if let Some(pending) = pending {
            self.send(None, &pending.dest, pending.msg);
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
        self.call_timed(caller, dest.clone(), request, timeout, None)
            .await
    }

    /// A call from `caller`, or from a process whose entry shows it waiting in the call and
    /// whose timer the call's timeout reuses (see [`CallTimer`]). A process's call is this
    /// one future, not one around it: a future awaited inside another is a state machine
    /// more to set up, poll and drop, a twentieth of a round trip's instructions.
    pub(super) async fn call_timed(
        &self,
        caller: Pid,
        dest: Dest,
        request: Term,
        timeout: Option<Duration>,
        process: Option<(&Entry, &CallTimer)>,
    ) -> Result<Term, CallError> {
        let _waiting = process.map(|(entry, _)| InCall::enter(entry, &dest));
        let mut held = process.and_then(|(_, timer)| timer.hold());
        let keeping = held.is_some();
        // Made only for a call that keeps nothing: an empty `Kept` made and dropped on every
        // call was 29 instructions of a round trip.
        let mut unkept = None;
        let kept = match held.as_mut() {
            Some(h) => h.kept(),
            None => unkept.insert(Kept::default()),
        };
        let Some(server) = kept.resolve(self, &dest) else {
            return Err(CallError::Noproc);
        };
        if server.pid == caller {
            return Err(CallError::CallingSelf);
        }
        self.trace_msg(Some(caller), server.pid, TraceKind::Call, &request);
        let (from, pending) = reply::channel_from(kept.spare.take(), caller, self.make_ref());
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
                // A kept timer due before this deadline is left as it is: when it fires
                // early, the wait moves it to the deadline then (see [`ReplyOrTimeout`]).
                // Moving it on every call was a fifth of a call's instructions, and with
                // one timeout for all calls the kept deadline is nearly always earlier.
                match &mut kept.sleep {
                    Some(sleep) if sleep.deadline() > d => {
                        sleep.as_mut().reset(d);
                        kept.armed = None;
                    }
                    Some(_) => {}
                    None => {
                        kept.armed = None;
                        kept.sleep = Some(Box::pin(tokio::time::sleep_until(d)));
                    }
                }
                let Kept { sleep, armed, .. } = &mut *kept;
                ReplyOrTimeout {
                    pending: &mut pending,
                    sleep: sleep.as_mut().expect("armed just above").as_mut(),
                    armed,
                    deadline: d,
                }
                .await
            }
            None => Some((&mut pending).await),
        };
        match outcome {
            Some(Some(_)) if keeping => {
                kept.spare = pending.recycle();
                // Made anew only for another server: a downgrade and the old reference's
                // drop are two locked instructions, on every call to the same server.
                if !kept
                    .server
                    .as_ref()
                    .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&server)))
                {
                    kept.server = Some(Arc::downgrade(&server));
                }
            }
            _ => drop(pending),
        }
        drop(held);
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
            self.inner
                .bus
                .publish(Event::LateReplyDropped(Arc::new(LateReplyDropped {
                    server,
                    caller: from.pid(),
                    reply: undelivered.unwrap_or_else(Term::nil),
                })));
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

/// A process waiting in a call, as `Process.info` shows a process blocked in `GenServer.call`
/// on the BEAM: its status says so, and its entry notes the server's pid, when the call went
/// to one, for a live view to show whom it waits for. Both are put back when the call ends,
/// however it ends.
struct InCall<'a>(&'a Entry);

impl<'a> InCall<'a> {
    fn enter(entry: &'a Entry, dest: &Dest) -> InCall<'a> {
        if let Dest::Pid(server) = dest {
            entry.calling.store(server.0, Ordering::Relaxed);
        }
        entry.status.store(IN_CALL, Ordering::Relaxed);
        InCall(entry)
    }
}

impl Drop for InCall<'_> {
    fn drop(&mut self) {
        self.0
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
        self.0.calling.store(0, Ordering::Relaxed);
    }
}

/// The timer of a process's call timeouts, the cell of its last reply and the entry of the
/// process it last called, kept between calls. Registering a fresh tokio timer for every call
/// takes the timer driver's lock twice and, when no other timer is due sooner, wakes the
/// driver's thread (an eventfd write): the profile of a call round trip was dominated by that.
/// A kept timer is moved to the new deadline with one atomic update while its old deadline has
/// not passed. Left behind after a call, it fires once, harmlessly. A kept reply cell saves the
/// allocation of every call's reply path, and its free on the server's side. A kept entry
/// saves the process table's lookup (a shard's read lock and a hash probe) when a process
/// calls the same server again.
///
/// They are kept from a process's third call on: most processes that call at all call once
/// or twice in their life (a to-do server registers its name and loads its list), and a kept
/// timer and cell are about 240 bytes for the rest of that life. A kept entry is a weak
/// reference: what it costs a process that outlives the server is the entry's bare
/// allocation, until the process calls another server or ends.
///
/// The slot is used in place by one call at a time, which a flag claims: only the process's
/// own calls reach it, and they are nearly always one after another, so the flag is never
/// contended; a second call in flight at once (two calls joined in one body) finds it claimed
/// and calls without a kept timer, as the first calls of a process do. A mutex here was taken
/// and released twice a call (110 instructions of a round trip) to move the kept parts out and
/// back.
#[derive(Default)]
pub(crate) struct CallTimer {
    claimed: AtomicBool,
    slot: UnsafeCell<TimerSlot>,
}

// SAFETY: the slot is reached only through a `Held`, and `claimed` lets one exist at a time.
unsafe impl Sync for CallTimer {}

#[derive(Default)]
struct TimerSlot {
    calls: u8,
    kept: Kept,
}

/// What the calls of a process keep for the next one.
#[derive(Default)]
struct Kept {
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The waker the kept timer was last polled with while it stayed in the timer wheel: the
    /// wheel still holds it, so a wait by the same task need not poll the timer again.
    armed: Option<Waker>,
    spare: Option<reply::Spare>,
    /// The last server that answered.
    /// Weak, so that a server that died and left the table is freed whole: a strong
    /// reference kept its mailbox, as large as the server's queue ever grew, for as long as
    /// the caller lived (2 MB a round in tests/chaos.rs).
    server: Option<Weak<Entry>>,
}

impl Kept {
    /// `Node::resolve`, answered by the kept entry when `dest` is its pid and it is alive. An
    /// entry leaves the process table only after its exit reason is set, so an entry without
    /// one is the one the table holds; with one, the table decides, as it did before.
    fn resolve(&self, node: &Node, dest: &Dest) -> Option<Arc<Entry>> {
        if let (Some(kept), Dest::Pid(pid)) = (&self.server, dest) {
            if let Some(e) = kept.upgrade() {
                if e.pid == *pid && e.exit_reason.get().is_none() {
                    return Some(e);
                }
            }
        }
        node.resolve(dest)
    }
}

/// Calls after which a process keeps its timer.
const CALLS_BEFORE_KEEPING: u8 = 2;

/// The claim of a call on its process's slot, released when the call ends or is dropped.
struct Held<'a>(&'a CallTimer);

impl CallTimer {
    /// Claims the slot for one call, unless another call holds it or the process has not yet
    /// made enough calls to keep anything (that call is counted).
    fn hold(&self) -> Option<Held<'_>> {
        if self.claimed.swap(true, Ordering::Acquire) {
            return None;
        }
        let held = Held(self);
        // SAFETY: claimed above; `held` releases the claim when it goes.
        let slot = unsafe { &mut *self.slot.get() };
        if slot.calls < CALLS_BEFORE_KEEPING {
            slot.calls += 1;
            return None;
        }
        Some(held)
    }
}

impl Held<'_> {
    fn kept(&mut self) -> &mut Kept {
        // SAFETY: a `Held` exists only while the claim is held, and lends the slot mutably
        // through `&mut self`, so this is the only reference to it.
        unsafe { &mut (*self.0.slot.get()).kept }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.claimed.store(false, Ordering::Release);
    }
}

/// Waits for a reply, or for the deadline: `None` on a timeout. The reply is looked at first,
/// so a reply that is there is never lost to a deadline that passed at the same moment. The
/// timer may be due before the deadline (a kept timer, not moved): firing early, it is moved
/// to the deadline and waited on again, so the call times out at its deadline, not before.
///
/// A timer still in the wheel and armed with this task's waker is not polled: the wheel wakes
/// the task when it fires, and the task then finds it elapsed and polls it. Polling it on every
/// call only to register the same waker again was a twentieth of a round trip.
struct ReplyOrTimeout<'a> {
    pending: &'a mut reply::Pending,
    sleep: Pin<&'a mut tokio::time::Sleep>,
    armed: &'a mut Option<Waker>,
    deadline: tokio::time::Instant,
}

impl Future for ReplyOrTimeout<'_> {
    type Output = Option<Option<Term>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(r) = Pin::new(&mut *self.pending).poll(cx) {
            return Poll::Ready(Some(r));
        }
        loop {
            let armed = self.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
            if armed && !self.sleep.is_elapsed() {
                return Poll::Pending;
            }
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => {
                    if !armed {
                        *self.armed = Some(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
                Poll::Ready(()) if self.sleep.deadline() >= self.deadline => {
                    *self.armed = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(()) => {
                    *self.armed = None;
                    let deadline = self.deadline;
                    self.sleep.as_mut().reset(deadline);
                }
            }
        }
    }
}

/// The pending timers of `send_after`, by reference.
pub(super) type Timers = Mutex<HashMap<Ref, PendingTimer>>;

/// A timer that has neither fired nor been cancelled.
pub(super) struct PendingTimer {
    dest: Dest,
    msg: Term,
    /// On tokio's clock, so a paused clock in tests moves it.
    deadline: tokio::time::Instant,
    /// The speed the delay was divided by, to give back the time left in the experiment's ms.
    speed: f64,
    task: tokio::task::AbortHandle,
}

#[cfg(test)]
mod tests {
    use super::super::exit::ExitReason;
    use super::super::node::{NodeConfig, SpawnOpts};
    use super::super::process::Process;
    use super::super::term::atom;
    use super::*;

    /// A process that answers every call with `:pong` until it is sent `:die`.
    fn echo(node: &Node) -> Pid {
        node.spawn(SpawnOpts::default(), |p: &mut Process| {
            Box::pin(async move {
                loop {
                    match p.receive().await {
                        Envelope::Call { from, .. } => {
                            p.reply(&from, atom("pong"));
                        }
                        Envelope::Message(m) if m.is_atom("die") => return ExitReason::Normal,
                        _ => {}
                    }
                }
            })
        })
        .unwrap()
    }

    /// Runs `body` as a process and gives back what it returns.
    async fn within<T: Send + 'static>(
        node: &Node,
        body: impl for<'a> FnOnce(&'a mut Process) -> super::super::term::BoxFuture<'a, T>
        + Send
        + 'static,
    ) -> T {
        let (tx, rx) = tokio::sync::oneshot::channel();
        node.spawn(SpawnOpts::default(), move |p: &mut Process| {
            Box::pin(async move {
                let _ = tx.send(body(p).await);
                ExitReason::Normal
            })
        })
        .unwrap();
        rx.await.unwrap()
    }

    /// The kept entry of the last server answers only while that server lives: once it has
    /// died, a call to its pid is `noproc`, as the process table answers.
    #[tokio::test]
    async fn a_kept_server_that_died_is_noproc() {
        let node = Node::new(NodeConfig::default());
        let server = echo(&node);
        let got = within(&node, move |p: &mut Process| {
            Box::pin(async move {
                let mut replies = Vec::new();
                for _ in 0..4 {
                    replies.push(p.call(server, atom("ping"), Some(DEFAULT_CALL_TIMEOUT)).await);
                }
                let watch = p.monitor(server);
                p.send(server, atom("die"));
                p.receive_match(
                    |e| matches!(e, Envelope::Message(Term::Tuple(t)) if t.get(1) == Some(&Term::Ref(watch))),
                    None,
                )
                .await;
                while node_has(p, server) {
                    tokio::task::yield_now().await;
                }
                let after = p.call(server, atom("ping"), Some(DEFAULT_CALL_TIMEOUT)).await;
                (replies, after)
            })
        })
        .await;
        assert!(got.0.iter().all(|r| r == &Ok(atom("pong"))), "{:?}", got.0);
        assert_eq!(got.1, Err(CallError::Noproc));
    }

    /// A call given up by its caller (its future dropped, here by a `select!` whose other arm
    /// is ready at once) leaves the caller neither waiting nor noted as calling the server,
    /// whatever the call had reached; the request stays queued with the server.
    #[tokio::test]
    async fn a_dropped_call_leaves_its_caller_running() {
        let node = Node::new(NodeConfig::default());
        let silent = node
            .spawn(SpawnOpts::default(), |p: &mut Process| {
                Box::pin(async move {
                    p.receive_match(|e| matches!(e, Envelope::Message(_)), None)
                        .await;
                    ExitReason::Normal
                })
            })
            .unwrap();
        let (me, row) = within(&node, move |p: &mut Process| {
            Box::pin(async move {
                tokio::select! {
                    biased;
                    _ = p.call(silent, atom("ping"), Some(DEFAULT_CALL_TIMEOUT)) => {}
                    _ = std::future::ready(()) => {}
                }
                let me = p.pid();
                let row = p.node().census().into_iter().find(|r| r.pid == me);
                (me, row)
            })
        })
        .await;
        let row = row.expect("the caller is alive");
        assert_eq!(row.pid, me);
        assert_eq!(row.status, Status::Running);
        assert_eq!(row.calling, None);
        assert_eq!(node.info(silent).map(|i| i.message_queue_len), Some(1));
        node.send(None, &Dest::Pid(silent), atom("done"));
    }

    fn node_has(p: &Process, pid: Pid) -> bool {
        p.node().entry(pid).is_some()
    }

    /// Two calls in flight at once from one process: the second finds the kept slot claimed
    /// and calls without it; both are answered, and the calls after them still are.
    #[tokio::test]
    async fn two_calls_at_once_from_one_process_are_both_answered() {
        let node = Node::new(NodeConfig::default());
        let a = echo(&node);
        let b = echo(&node);
        let got = within(&node, move |p: &mut Process| {
            Box::pin(async move {
                let t = Some(DEFAULT_CALL_TIMEOUT);
                let mut out = Vec::new();
                for _ in 0..3 {
                    out.push(p.call(a, atom("ping"), t).await);
                }
                let (x, y) = tokio::join!(p.call(a, atom("ping"), t), p.call(b, atom("ping"), t));
                out.push(x);
                out.push(y);
                out.push(p.call(b, atom("ping"), t).await);
                out.push(p.call(a, atom("ping"), t).await);
                out
            })
        })
        .await;
        assert_eq!(got.len(), 7);
        assert!(got.iter().all(|r| r == &Ok(atom("pong"))), "{got:?}");
    }
}
