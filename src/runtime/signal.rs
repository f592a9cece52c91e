//! Exit signals, links and monitors: `Process.exit/2`, `link`, `unlink`, `monitor`,
//! `demonitor`, and the requests that make a GenServer crash or stop in order.
//!
//! What a signal does to its target follows the exit rules S17-S21 of tests/README.md: `:kill`
//! sent with `exit/2` is untrappable and ends the target as `:killed`; a trapping process gets
//! every other signal as an `{:EXIT, from, reason}` message; `:normal` is ignored by a process
//! that does not trap, unless it sent it to itself.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::events::TraceKind;
use super::exit::ExitReason;
use super::mailbox::{Envelope, SystemRequest};
use super::node::{Entry, Node};
use super::pid::{Pid, Ref};
use super::term::{Term, atom};

impl Node {
    /// `Process.exit(pid, reason)` sent by `from` (S17-S19). Returns whether the target existed.
    pub fn exit(&self, from: Pid, pid: Pid, reason: ExitReason) -> bool {
        match self.entry(pid) {
            Some(entry) => {
                self.exit_signal(&entry, from, reason, true);
                true
            }
            None => false,
        }
    }

    /// Delivers an exit signal. `explicit` is an `exit/2` call rather than a link firing: only
    /// there does `:kill` mean the untrappable kill.
    pub(super) fn exit_signal(
        &self,
        target: &Arc<Entry>,
        from: Pid,
        reason: ExitReason,
        explicit: bool,
    ) {
        if explicit && reason == ExitReason::Kill {
            self.terminate(target, ExitReason::Killed);
        } else if target.trap_exit.load(Ordering::Acquire) {
            self.trace(Some(from), target.pid, TraceKind::Exit, || reason.to_term());
            let msg = Term::tuple(vec![atom("EXIT"), Term::Pid(from), reason.to_term()]);
            let _ = target.mailbox.push(Envelope::Message(msg));
        } else if reason.is_normal() {
            if from == target.pid {
                self.terminate(target, ExitReason::Normal);
            }
        } else {
            self.terminate(target, reason);
        }
    }

    /// Ends a process from outside: records the reason, then aborts its task; the task's
    /// drop runs the exit path.
    pub(super) fn terminate(&self, target: &Arc<Entry>, reason: ExitReason) {
        if self.record_exit(target, reason)
            && let Some(handle) = target.abort.get()
        {
            handle.abort();
        }
    }

    /// Links two processes (S20): both ways, once per pair. Linking to a dead process sends
    /// `:noproc` to the linker.
    pub fn link(&self, a: Pid, b: Pid) {
        if a == b {
            return;
        }
        let (Some(ea), eb) = (self.entry(a), self.entry(b)) else {
            return;
        };
        let Some(eb) = eb.filter(|eb| {
            let mut s = eb.state.lock().unwrap();
            if s.dead {
                return false;
            }
            s.links.insert(a, ());
            true
        }) else {
            self.exit_signal(&ea, b, ExitReason::Noproc, false);
            return;
        };
        let mut s = ea.state.lock().unwrap();
        if s.dead {
            drop(s);
            eb.state.lock().unwrap().links.remove(&a);
        } else {
            s.links.insert(b, ());
        }
    }

    /// Links a parent to the child it is spawning. The child is new, so neither side can hold
    /// the link yet (pids are never reused): no scan of the parent's links, which for a
    /// supervisor of 100k children made every start cost a pass over all of them.
    pub(super) fn link_new(&self, parent: Pid, child: &Arc<Entry>) {
        // As `link`: a parent already gone or dying leaves the child unlinked.
        if parent == child.pid {
            return;
        }
        let Some(ep) = self.entry(parent) else {
            return;
        };
        let mut s = ep.state.lock().unwrap();
        if !s.dead {
            s.links.insert(child.pid, ());
            drop(s);
            child.state.lock().unwrap().links.insert(parent, ());
        }
    }

    pub fn unlink(&self, a: Pid, b: Pid) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(e) = self.entry(x) {
                e.state.lock().unwrap().links.remove(&y);
            }
        }
    }

    /// `watcher` monitors `target` (S21); a dead target gets an immediate `:noproc` DOWN.
    pub fn monitor(&self, watcher: Pid, target: Pid) -> Ref {
        let r = self.make_ref();
        let alive = self.entry(target).is_some_and(|e| {
            let mut s = e.state.lock().unwrap();
            if s.dead {
                return false;
            }
            s.monitored_by.insert(r, watcher);
            true
        });
        if alive {
            if let Some(w) = self.entry(watcher) {
                w.state.lock().unwrap().held().monitoring.insert(r, target);
            }
        } else {
            self.deliver_down(watcher, r, target, &ExitReason::Noproc);
        }
        r
    }

    /// Removes a monitor. With `flush`, a DOWN for it already queued is removed too.
    pub fn demonitor(&self, watcher: Pid, r: Ref, flush: bool) -> bool {
        let mut target = None;
        if let Some(w) = self.entry(watcher) {
            let mut s = w.state.lock().unwrap();
            target = s.held.as_mut().and_then(|h| h.monitoring.remove(&r));
        }
        let removed = target.and_then(|t| self.entry(t)).is_some_and(|t| {
            let mut s = t.state.lock().unwrap();
            s.monitored_by.remove(&r).is_some()
        });
        if flush && let Some(w) = self.entry(watcher) {
            let _ = w.mailbox.remove_where(|env| is_down_for(env, r));
        }
        removed
    }

    pub(super) fn deliver_down(&self, watcher: Pid, r: Ref, pid: Pid, reason: &ExitReason) {
        if let Some(w) = self.entry(watcher) {
            // A monitor fires once: the watcher no longer holds it.
            if let Some(h) = &mut w.state.lock().unwrap().held {
                h.monitoring.remove(&r);
            }
            self.trace(Some(pid), watcher, TraceKind::Down, || reason.to_term());
            let msg = Term::tuple(vec![
                atom("DOWN"),
                Term::Ref(r),
                atom("process"),
                Term::Pid(pid),
                reason.to_term(),
            ]);
            let _ = w.mailbox.push(Envelope::Message(msg));
        }
    }

    /// Makes a GenServer or supervisor raise inside its own loop (the shell's `crash`):
    /// an abnormal exit with a crash report, unlike a kill. `false` for a dead pid.
    pub fn crash(&self, pid: Pid) -> bool {
        self.entry(pid).is_some_and(|e| {
            e.mailbox
                .push(Envelope::System(SystemRequest::Crash))
                .is_ok()
        })
    }

    /// Asks a GenServer or supervisor to stop in order (`GenServer.stop/2`,
    /// `Supervisor.stop/2`): a supervisor stops its children first. `false` for a dead pid.
    pub fn stop(&self, pid: Pid, reason: ExitReason) -> bool {
        self.entry(pid).is_some_and(|e| {
            e.mailbox
                .push(Envelope::System(SystemRequest::Stop(Box::new(reason))))
                .is_ok()
        })
    }
}

fn is_down_for(env: &Envelope, r: Ref) -> bool {
    matches!(env, Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r))
}
