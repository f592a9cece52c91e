//! The one exit path of a process. A process is a tokio task running the body it was spawned
//! with, wrapped in a future ([`Task`]) that turns every way of ending into one path: the body
//! returning a reason, a panic (caught and turned into an exception reason), or an exit signal,
//! which aborts the task. That path runs in the wrapper's `Drop`, in the order the semantics
//! need: the reason is recorded, names are freed, tables dropped or handed to their heir,
//! monitors told (`{:DOWN, …}`), links told (exit signals), the mailbox closed, waiting callers
//! woken. Freeing names before anyone hears of the death is what lets a supervisor restart a
//! named child at once (S16).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::events::{Event, Exited};
use super::exit::ExitReason;
use super::node::{Body, Entry, Node};
use super::process::Process;
use super::term::{BoxFuture, Term};

impl Node {
    /// Records why a process ended, unless a reason was recorded first; `false` then. It is
    /// dead for `alive` before the reason is visible, so whoever reads the reason (a caller
    /// whose server died) finds it dead too.
    pub(super) fn record_exit(&self, entry: &Entry, reason: ExitReason) -> bool {
        self.inner.liveness.died(entry.pid.0);
        entry.exit_reason.set(Box::new(reason)).is_ok()
    }

    /// The exit path, run once per process from its task's drop.
    pub(super) fn finish(&self, entry: &Arc<Entry>, reason: ExitReason) {
        // The reason recorded first wins: an exit signal's, when one ended the process.
        self.record_exit(entry, reason);
        let reason = (**entry.exit_reason.get().expect("recorded just above")).clone();
        let mut state = {
            let mut s = entry.state.lock().unwrap();
            // Taken first, then marked: the entry stays in the process table a little longer,
            // and a register or monitor arriving meanwhile must find it dead, not attach a
            // name or a monitor that nothing will release or fire.
            let state = std::mem::take(&mut *s);
            s.dead = true;
            state
        };
        // Names first: a restart must find them free (S16).
        let held = state.held.take().map(|h| *h).unwrap_or_default();
        let names_held = held.names;
        if !names_held.is_empty() {
            let mut names = self.inner.names.write().unwrap();
            for n in names_held.iter() {
                if names.get(n) == Some(&entry.pid) {
                    names.remove(n);
                }
            }
        }
        // Counted out before it leaves the table, so that `quiescent` sees it dying at every
        // moment: in the table with its reason set, then as a task not yet torn down.
        self.inner.count.fetch_sub(1, Ordering::AcqRel);
        self.remove_entry(entry.pid);
        for table in held.tables {
            self.inner.tables.owner_died(self, table, entry.pid);
        }
        for (r, target) in held.monitoring {
            if let Some(t) = self.entry(target) {
                t.state.lock().unwrap().monitored_by.remove(&r);
            }
        }
        // Published before anyone is told, so a report of the death always precedes the
        // reports of what it caused (a restart).
        if self.inner.bus.has_subscribers() {
            let label = entry.label.read().unwrap().clone();
            let name = entry
                .via_name
                .get()
                .map(|t| (**t).clone())
                .or_else(|| names_held.first().map(|a| Term::Atom(*a)));
            self.inner.bus.publish(Event::Exited(Arc::new(Exited {
                pid: entry.pid,
                label,
                name,
                reason: reason.clone(),
            })));
        }
        // Monitors before links, so a registry hears of a death before the supervisor that
        // restarts the process does.
        for (r, watcher) in state.monitored_by {
            self.deliver_down(watcher, r, entry.pid, &reason);
        }
        for (peer, ()) in state.links {
            if let Some(p) = self.entry(peer) {
                p.state.lock().unwrap().links.remove(&entry.pid);
                self.exit_signal(&p, entry.pid, reason.clone(), false);
            }
        }
        drop(entry.mailbox.close());
        entry.died.notify_waiters();
    }
}

enum TaskState {
    Start(Body, Process),
    Running(BoxFuture<'static, ExitReason>, Box<Process>),
    Done,
}

/// The future of a process's task: runs the body, catches panics, and runs the exit path
/// when it is dropped, whether it finished or was aborted by an exit signal.
pub(super) struct Task {
    node: Node,
    entry: Arc<Entry>,
    state: TaskState,
}

impl Future for Task {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let TaskState::Start(..) = this.state {
            let TaskState::Start(body, process) =
                std::mem::replace(&mut this.state, TaskState::Done)
            else {
                unreachable!()
            };
            let mut process = Box::new(process);
            // SAFETY: the process is boxed, so its address is stable, and the future that
            // borrows it is dropped before the box (see `Drop for Task`), never after.
            let p: &'static mut Process = unsafe { &mut *(process.as_mut() as *mut Process) };
            let fut = body(p);
            this.state = TaskState::Running(fut, process);
        }
        let TaskState::Running(fut, _) = &mut this.state else {
            return Poll::Ready(());
        };
        let polled = IN_PROCESS.with(|flag| {
            flag.set(true);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)));
            flag.set(false);
            r
        });
        let reason = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(reason)) => reason,
            Err(payload) => panic_reason(payload),
        };
        this.node.record_exit(&this.entry, reason);
        this.drop_body();
        Poll::Ready(())
    }
}

impl Task {
    pub(super) fn new(node: Node, entry: Arc<Entry>, body: Body, process: Process) -> Task {
        Task {
            node,
            entry,
            state: TaskState::Start(body, process),
        }
    }

    /// Drops the body's future before the process it borrows.
    fn drop_body(&mut self) {
        if let TaskState::Running(fut, process) =
            std::mem::replace(&mut self.state, TaskState::Done)
        {
            IN_PROCESS.with(|flag| {
                flag.set(true);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(fut)));
                flag.set(false);
            });
            drop(process);
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.drop_body();
        // An aborted task had its reason recorded by whoever sent the exit signal.
        self.node.finish(&self.entry, ExitReason::Killed);
        self.node.inner.tasks.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A panic in a handler is a crash of that process with a `RuntimeError`-like exception.
pub(crate) fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> ExitReason {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    };
    ExitReason::exception("RuntimeError", message)
}

thread_local! {
    /// Set while a process's code runs, so the panic hook stays quiet for panics that become
    /// process crashes (they are reported as crashes, not as Rust panics on stderr).
    static IN_PROCESS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `fut` inside the current process, turning a panic into an exception reason, so a
/// GenServer can report the crash with its state and last message.
pub fn catch_panic<'a, T: 'a>(
    fut: impl Future<Output = Result<T, ExitReason>> + Send + 'a,
) -> impl Future<Output = Result<T, ExitReason>> + Send + 'a {
    CatchPanic { fut: Box::pin(fut) }
}

struct CatchPanic<'a, T> {
    fut: Pin<Box<dyn Future<Output = Result<T, ExitReason>> + Send + 'a>>,
}

impl<T> Future for CatchPanic<'_, T> {
    type Output = Result<T, ExitReason>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.fut.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(payload) => Poll::Ready(Err(panic_reason(payload))),
        }
    }
}

pub(super) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_PROCESS.with(|f| f.get()) {
                default(info);
            }
        }));
    });
}
