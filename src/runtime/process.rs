//! What a process body sees: the [`Process`] handle, with its pid, its mailbox (`receive`,
//! selective receive with a timeout), its flags, and the calls it makes on the node in its own
//! name (`send`, `call`, `link`, `spawn_link`, …).
//!
//! The node's side of each of those lives in `node.rs`, `signal.rs` and `call.rs`; the paths
//! that used to be defined here (`runtime::process::Status`, `DEFAULT_MAX_PROCESSES`,
//! `catch_panic`, …) are re-exported so that code written against them keeps compiling.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use super::call::CallTimer;
use super::exit::{CallError, ExitReason, StartError};
use super::mailbox::{Envelope, Receive};
use super::node::Entry;
use super::pid::{Pid, Ref};
use super::reply::{Delivery, From};
use super::term::{Atom, BoxFuture, Term};

pub use super::call::DEFAULT_CALL_TIMEOUT;
pub use super::node::{
    DEFAULT_MAX_PROCESSES, Dest, Node, NodeConfig, ProcessInfo, SpawnOpts, Status,
};
pub use super::task::catch_panic;

/// The handle a running process holds on itself: its pid, its mailbox, and the node.
pub struct Process {
    entry: Arc<Entry>,
    node: Node,
    timer: CallTimer,
}

impl Process {
    /// The handle of a process about to run; only spawning makes one.
    pub(super) fn new(entry: Arc<Entry>, node: Node) -> Process {
        Process {
            entry,
            node,
            timer: CallTimer::default(),
        }
    }

    pub fn pid(&self) -> Pid {
        self.entry.pid
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The next envelope of any kind. A small future of its own (no room for a timer), since
    /// every idle GenServer holds one while it waits.
    pub fn receive(&mut self) -> impl Future<Output = Envelope> + Send + '_ {
        ReceiveAny { entry: &self.entry }
    }

    /// The first envelope `accept` takes, leaving the others queued in order; `None` after
    /// `timeout` (scaled by the node's speed only where the caller scales it).
    pub async fn receive_match<F>(
        &mut self,
        accept: F,
        timeout: Option<Duration>,
    ) -> Option<Envelope>
    where
        F: FnMut(&Envelope) -> bool + Unpin + Send,
    {
        self.entry
            .status
            .store(Status::Waiting as u8, Ordering::Relaxed);
        let recv = Receive {
            mailbox: &self.entry.mailbox,
            accept,
            scanned: 0,
        };
        let out = match timeout {
            // Boxed, so a receive without a timeout does not carry a timer's room.
            Some(t) => Box::pin(tokio::time::timeout(t, recv)).await.ok(),
            None => Some(recv.await),
        };
        self.entry
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
        out
    }

    /// Takes a queued envelope without waiting.
    pub fn try_receive(&mut self) -> Option<Envelope> {
        self.entry.mailbox.remove_where(|_| true)
    }

    /// Takes the first queued envelope matching `pred`, without waiting.
    pub fn take_match(&mut self, pred: impl FnMut(&Envelope) -> bool) -> Option<Envelope> {
        self.entry.mailbox.remove_where(pred)
    }

    /// Takes every queued envelope matching `pred` at once, leaving the others in order.
    pub(crate) fn take_all_matching(
        &mut self,
        pred: impl FnMut(&Envelope) -> bool,
    ) -> Vec<Envelope> {
        self.entry.mailbox.remove_all_where(pred)
    }

    pub fn message_queue_len(&self) -> usize {
        self.entry.mailbox.len()
    }

    /// `Process.flag(:trap_exit, on)`; returns the old value.
    pub fn trap_exit(&self, on: bool) -> bool {
        self.entry.trap_exit.swap(on, Ordering::AcqRel)
    }

    /// `:timer.sleep/1`: blocks this process only, scaled by the node's speed.
    pub async fn sleep(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        self.entry
            .status
            .store(Status::Sleeping as u8, Ordering::Relaxed);
        tokio::time::sleep(self.node.scaled(d)).await;
        self.entry
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
    }

    /// `GenServer.call/3`. A name is resolved here, once, so that the server's pid can be
    /// noted for a live view to show whom this process waits for; the call itself then goes
    /// to that pid.
    pub fn call(
        &self,
        dest: impl Into<Dest>,
        request: Term,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Term, CallError>> + Send + '_ {
        let dest = match dest.into() {
            Dest::Name(name) => match self.node.whereis(name) {
                Some(pid) => Dest::Pid(pid),
                None => Dest::Name(name),
            },
            pid => pid,
        };
        self.node.call_timed(
            self.pid(),
            dest,
            request,
            timeout,
            Some((&self.entry, &self.timer)),
        )
    }

    pub fn cast(&self, dest: impl Into<Dest>, msg: Term) {
        self.node.cast(Some(self.pid()), &dest.into(), msg)
    }

    pub fn send(&self, dest: impl Into<Dest>, msg: Term) {
        self.node.send(Some(self.pid()), &dest.into(), msg)
    }

    pub fn reply(&self, from: &From, value: Term) -> Delivery {
        self.node.reply(self.pid(), from, value)
    }

    pub fn link(&self, pid: Pid) {
        self.node.link(self.pid(), pid)
    }

    pub fn unlink(&self, pid: Pid) {
        self.node.unlink(self.pid(), pid)
    }

    pub fn monitor(&self, pid: Pid) -> Ref {
        self.node.monitor(self.pid(), pid)
    }

    pub fn demonitor(&self, r: Ref, flush: bool) -> bool {
        self.node.demonitor(self.pid(), r, flush)
    }

    /// `exit(pid, reason)`.
    pub fn exit(&self, pid: Pid, reason: ExitReason) -> bool {
        self.node.exit(self.pid(), pid, reason)
    }

    pub fn register(&self, name: Atom) -> bool {
        self.node.register(name, self.pid())
    }

    /// Spawns a process not linked to this one.
    pub fn spawn<F>(&self, body: F) -> Result<Pid, StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        self.node.spawn(SpawnOpts::default(), body)
    }

    /// `spawn_link/1`: the link exists before the new process runs.
    pub fn spawn_link<F>(&self, body: F) -> Result<Pid, StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        self.node.spawn(
            SpawnOpts {
                link: Some(self.pid()),
                ..Default::default()
            },
            body,
        )
    }

    /// `IO.puts` from this process.
    pub fn puts(&self, text: impl Into<Arc<str>>) {
        self.node.puts(self.pid(), text)
    }
}

/// `receive` of any envelope: waiting while the mailbox is empty, running once it has one.
struct ReceiveAny<'a> {
    entry: &'a Entry,
}

impl Future for ReceiveAny<'_> {
    type Output = Envelope;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Envelope> {
        let this = self.get_mut();
        let status = &this.entry.status;
        status.store(Status::Waiting as u8, Ordering::Relaxed);
        let polled = this.entry.mailbox.poll_take_any(cx);
        if polled.is_ready() {
            status.store(Status::Running as u8, Ordering::Relaxed);
        }
        polled
    }
}
