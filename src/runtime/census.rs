//! The cheap walk of the process table that a live view redraws from: one small row per
//! process, read from what the runtime already keeps (atomics, the mailbox's length under
//! its lock), never by sending a process anything. A process stuck for ten seconds in a
//! `handle_call` is counted like any other, its mailbox growing.
//!
//! `Process.info` (`Node::info`) copies a process's links and monitors; a view of a
//! hundred thousand processes a few times a second must not, so this walk leaves them out.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::node::{IN_CALL, Node, Status, memory};
use super::pid::Pid;
use super::supervisor::Flags;
use super::term::{Atom, Term};

/// What a supervisor was started with, as a live view shows it.
#[derive(Clone, Copy, Debug)]
pub struct SupervisorFlags {
    pub flags: Flags,
    /// A `DynamicSupervisor`.
    pub dynamic: bool,
}

/// What a live view shows of one process.
#[derive(Clone, Debug)]
pub struct ProcessRow {
    pub pid: Pid,
    pub label: Arc<str>,
    pub registered_name: Option<Atom>,
    pub via_name: Option<Term>,
    pub status: Status,
    /// The server it is blocked in a call to.
    pub calling: Option<Pid>,
    pub message_queue_len: usize,
    /// Messages ever delivered to it.
    pub received: u64,
    pub restarts: u32,
    pub memory: usize,
    /// The process that spawned it linked or monitored (a supervisor, for its children).
    pub parent: Option<Pid>,
}

impl Node {
    /// A row for every live process, in no particular order.
    pub fn census(&self) -> Vec<ProcessRow> {
        let mut rows = Vec::with_capacity(self.count());
        self.each_entry(|e| {
            if e.exit_reason.get().is_some() {
                return;
            }
            let (queue, received) = e.mailbox.counts();
            let status = e.status.load(Ordering::Relaxed);
            let calling = e.calling.load(Ordering::Relaxed);
            let registered_name = e.state.lock().unwrap().first_name();
            rows.push(ProcessRow {
                pid: e.pid,
                label: e.label.read().unwrap().clone(),
                registered_name,
                via_name: e.via_name.get().map(|t| (**t).clone()),
                status: match status {
                    0 => Status::Running,
                    1 | IN_CALL => Status::Waiting,
                    _ => Status::Sleeping,
                },
                calling: (status == IN_CALL && calling != 0).then_some(Pid(calling)),
                message_queue_len: queue,
                received,
                restarts: e.restarts.load(Ordering::Relaxed),
                memory: memory(queue),
                parent: e.parent,
            });
        });
        rows
    }

    /// Notes a supervisor's strategy and intensity as it starts. Supervisors that died are
    /// forgotten here, so the map holds about as many entries as there are live ones.
    pub(crate) fn note_supervisor(&self, pid: Pid, flags: Flags, dynamic: bool) {
        let mut sups = self.inner.supervisors.write().unwrap();
        sups.retain(|p, _| self.alive(*p));
        sups.insert(pid, SupervisorFlags { flags, dynamic });
    }

    /// The live supervisors, with their strategy and intensity.
    pub fn supervisors(&self) -> Vec<(Pid, SupervisorFlags)> {
        let sups = self.inner.supervisors.read().unwrap();
        sups.iter()
            .filter(|(p, _)| self.alive(**p))
            .map(|(p, f)| (*p, *f))
            .collect()
    }
}
