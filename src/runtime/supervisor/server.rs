//! The supervisor process itself: its state (the children, the restart window), its loop,
//! and how it starts, restarts and stops children, following the rules cited by number (S1-S14)
//! from tests/README.md.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{
    ChildInfo, ChildKind, ChildSpec, Flags, Restart, Shutdown, Source, Strategy, strategy_name,
};
use crate::runtime::events::{ChildReport, Event, GaveUp, Restarted, Restarting};
use crate::runtime::exit::{ExitReason, StartError};
use crate::runtime::mailbox::{Envelope, SystemRequest};
use crate::runtime::pid::{Pid, Ref};
use crate::runtime::process::Process;
use crate::runtime::task::catch_panic;
use crate::runtime::term::{Opaque, Term, atom};

struct Child {
    spec: ChildSpec,
    pid: Option<Pid>,
    restarts: u32,
    /// The pid it last ran as, reported as `old` when it is restarted.
    last: Option<Pid>,
    /// A restart failed and another try is queued in the supervisor's mailbox.
    restarting: bool,
}

impl Child {
    fn new(spec: ChildSpec, pid: Option<Pid>) -> Child {
        Child {
            spec,
            pid,
            restarts: 0,
            last: None,
            restarting: false,
        }
    }
}

struct Sup {
    label: Arc<str>,
    name: Option<Term>,
    flags: Flags,
    dynamic: bool,
    /// Static children in start order.
    children: Vec<Child>,
    /// Dynamic children by pid, with their start sequence for ordering.
    /// A B-tree, not a hash map: a hash map re-hashed every child in the one start that made
    /// it double, 34 ms at 458,752 to-do lists and 90 ms at 917,504 (one start each, timed
    /// under `bench loadtest-ets`), while a tree grows a node at a time. Pids are the node's
    /// sequential numbers, so a new child goes to the tree's right edge, whose nodes are the
    /// ones already in cache. Boxed: a leaf keeps up to half of its slots empty, and an empty
    /// slot then costs a pointer's room instead of a 150-byte child record.
    dyn_children: BTreeMap<Pid, (u64, Box<Child>)>,
    /// Dynamic children whose restart failed and will be tried again, by start sequence.
    dyn_restarting: HashMap<u64, Child>,
    dyn_seq: u64,
    restarts: VecDeque<Instant>,
}

type Ack = tokio::sync::oneshot::Sender<Result<Pid, StartError>>;

pub(super) async fn run(
    p: &mut Process,
    parent: Option<Pid>,
    source: Source,
    ack: Ack,
) -> ExitReason {
    let spec = match source {
        Source::Spec(spec) => spec,
        Source::Init(init) => match catch_panic(init(p)).await {
            Ok(Some(spec)) => spec,
            Ok(None) => {
                let _ = ack.send(Err(StartError::Ignore));
                return ExitReason::Normal;
            }
            Err(reason) => {
                let _ = ack.send(Err(StartError::Init(reason.clone())));
                return reason;
            }
        },
    };
    if let Some(name) = spec.name {
        if !p.register(name) {
            let holder = p.node().whereis(name).unwrap_or(p.pid());
            let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
            return ExitReason::Normal;
        }
    }
    p.node().note_supervisor(p.pid(), spec.flags, spec.dynamic);
    let mut sup = Sup {
        label: spec.label.clone(),
        name: spec.name.map(Term::Atom),
        flags: spec.flags,
        dynamic: spec.dynamic,
        children: vec![],
        dyn_children: BTreeMap::new(),
        dyn_restarting: HashMap::new(),
        dyn_seq: 0,
        restarts: VecDeque::new(),
    };
    for child_spec in spec.children {
        match sup.start_spec(p, &child_spec).await {
            // An ignoring temporary child is forgotten; any other is kept without a pid.
            Ok(None) if child_spec.restart == Restart::Temporary => {}
            Ok(pid) => sup.children.push(Child::new(child_spec, pid)),
            Err(e) => {
                sup.shutdown_all(p).await;
                let reason = ExitReason::Other(Term::tuple(vec![
                    atom("shutdown"),
                    Term::tuple(vec![
                        atom("failed_to_start_child"),
                        child_spec.id.clone(),
                        e.reason().to_term(),
                    ]),
                ]));
                let _ = ack.send(Err(StartError::Init(reason.clone())));
                return reason;
            }
        }
    }
    let _ = ack.send(Ok(p.pid()));
    loop {
        match p.receive().await {
            envelope @ Envelope::Message(_) => {
                if let Some(key) = try_again_key(&envelope) {
                    if let Err(reason) = sup.try_again(p, &key).await {
                        sup.shutdown_all(p).await;
                        return reason;
                    }
                    continue;
                }
                let Some((from, reason)) = envelope.as_exit() else {
                    continue;
                };
                let reason = ExitReason::from_term(reason.clone());
                if Some(from) == parent {
                    sup.shutdown_all(p).await;
                    return reason;
                }
                if let Err(reason) = sup.child_exited(p, from, reason).await {
                    // Past the intensity: the others stop as at any shutdown, then us (S2).
                    sup.shutdown_all(p).await;
                    return reason;
                }
            }
            Envelope::Call { from, request } => {
                let reply = sup.handle_call(p, request).await;
                p.reply(&from, reply);
            }
            Envelope::Cast(_) => {}
            Envelope::System(SystemRequest::GetState(tx)) => {
                let _ = tx.send(sup.state_term());
            }
            Envelope::System(SystemRequest::Stop(reason)) => {
                sup.shutdown_all(p).await;
                return *reason;
            }
            Envelope::System(SystemRequest::Crash) => {
                sup.shutdown_all(p).await;
                return ExitReason::runtime_error("crash requested from the shell");
            }
        }
    }
}

impl Sup {
    /// Starts one child and reports it. `Ok(None)` for `:ignore`.
    async fn start_spec(
        &self,
        p: &mut Process,
        spec: &ChildSpec,
    ) -> Result<Option<Pid>, StartError> {
        match (spec.start)(p).await {
            Ok(pid) => {
                self.report_started(p, spec, pid);
                Ok(Some(pid))
            }
            Err(StartError::Ignore) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn report_started(&self, p: &Process, spec: &ChildSpec, pid: Pid) {
        p.node().publish(Event::ChildStarted(Arc::new(
            self.report(p, spec, pid, None),
        )));
    }

    fn report(
        &self,
        p: &Process,
        spec: &ChildSpec,
        pid: Pid,
        reason: Option<ExitReason>,
    ) -> ChildReport {
        ChildReport {
            supervisor: p.pid(),
            supervisor_label: self.label.clone(),
            supervisor_name: self.name.clone(),
            id: spec.id.clone(),
            pid,
            start_call: spec.start_call.clone(),
            restart: match spec.restart {
                Restart::Permanent => ":permanent",
                Restart::Transient => ":transient",
                Restart::Temporary => ":temporary",
            },
            shutdown: match spec.shutdown {
                Shutdown::BrutalKill => ":brutal_kill".into(),
                Shutdown::Infinity => ":infinity".into(),
                Shutdown::Timeout(d) => d.as_millis().to_string(),
            },
            kind: match spec.kind {
                ChildKind::Worker => ":worker",
                ChildKind::Supervisor => ":supervisor",
            },
            reason,
        }
    }

    /// A child died. Decides on a restart per restart type and strategy; `Err` means the
    /// supervisor gave up and must exit with that reason.
    async fn child_exited(
        &mut self,
        p: &mut Process,
        pid: Pid,
        reason: ExitReason,
    ) -> Result<(), ExitReason> {
        if self.dynamic {
            let Some((seq, mut child)) = self.dyn_children.remove(&pid) else {
                return Ok(());
            };
            self.report_terminated(p, &child.spec, pid, &reason);
            if !needs_restart(child.spec.restart, &reason) {
                return Ok(());
            }
            self.add_restart(p)?;
            child.pid = None;
            child.last = Some(pid);
            self.restart_dynamic(p, seq, *child).await;
            return Ok(());
        }
        let Some(index) = self.children.iter().position(|c| c.pid == Some(pid)) else {
            return Ok(());
        };
        let spec = self.children[index].spec.clone();
        self.report_terminated(p, &spec, pid, &reason);
        self.children[index].pid = None;
        self.children[index].last = Some(pid);
        if !needs_restart(spec.restart, &reason) {
            if spec.restart == Restart::Temporary {
                self.children.remove(index);
            }
            return Ok(());
        }
        self.add_restart(p)?;
        self.restart_group(p, index).await;
        Ok(())
    }

    /// Restarts after the child at `index` died or failed to restart, per the strategy:
    /// the running children of the strategy's range stop in reverse order (S13, S14), then
    /// the range starts in order. A start that fails leaves that child (and the rest of the
    /// range) down and queues another try in the mailbox, so that between attempts the
    /// supervisor still answers calls and its parent's shutdown (OTP-9549); the try applies
    /// the strategy again from the child that failed.
    async fn restart_group(&mut self, p: &mut Process, index: usize) {
        let range = match self.flags.strategy {
            Strategy::OneForOne => index..index + 1,
            Strategy::OneForAll => 0..self.children.len(),
            Strategy::RestForOne => index..self.children.len(),
        };
        for i in range.clone().rev() {
            if let Some(sibling) = self.children[i].pid.take() {
                self.children[i].last = Some(sibling);
                let shutdown = self.children[i].spec.shutdown;
                shutdown_child(p, sibling, shutdown).await;
            }
        }
        let mut i = range.start;
        let mut end = range.end;
        while i < end {
            // Temporary siblings are not restarted, not even as collateral (S11).
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
                end -= 1;
                continue;
            }
            self.children[i].restarting = false;
            let spec = self.children[i].spec.clone();
            let old = self.children[i].last.unwrap_or(Pid(0));
            self.report_restarting(p, &spec, old);
            match self.start_spec(p, &spec).await {
                Ok(new) => {
                    let child = &mut self.children[i];
                    child.pid = new;
                    if let Some(new) = new {
                        child.restarts += 1;
                        let restarts = child.restarts;
                        self.report_restarted(p, &spec, old, new, restarts);
                    }
                }
                Err(_) => {
                    self.children[i].restarting = true;
                    p.send(p.pid(), try_again_message(spec.id.clone()));
                    return;
                }
            }
            i += 1;
        }
    }

    /// Starts a dead dynamic child again; a failed start is tried again through the mailbox.
    async fn restart_dynamic(&mut self, p: &mut Process, seq: u64, mut child: Child) {
        let old = child.last.unwrap_or(Pid(0));
        self.report_restarting(p, &child.spec, old);
        match self.start_spec(p, &child.spec).await {
            Ok(Some(new)) => {
                child.restarts += 1;
                child.pid = Some(new);
                self.report_restarted(p, &child.spec, old, new, child.restarts);
                self.dyn_children.insert(new, (seq, Box::new(child)));
            }
            Ok(None) => {}
            Err(_) => {
                child.restarting = true;
                self.dyn_restarting.insert(seq, child);
                p.send(p.pid(), try_again_message(Term::Int(seq as i64)));
            }
        }
    }

    /// Another try at a restart that failed: it counts as a restart (S2), unless the child
    /// was terminated meanwhile.
    async fn try_again(&mut self, p: &mut Process, key: &Term) -> Result<(), ExitReason> {
        if self.dynamic {
            let Some(child) = key
                .as_int()
                .and_then(|seq| self.dyn_restarting.remove(&(seq as u64)))
            else {
                return Ok(());
            };
            self.add_restart(p)?;
            let seq = key.as_int().unwrap_or_default() as u64;
            self.restart_dynamic(p, seq, child).await;
            return Ok(());
        }
        let Some(index) = self
            .children
            .iter()
            .position(|c| c.restarting && &c.spec.id == key)
        else {
            return Ok(());
        };
        self.add_restart(p)?;
        self.restart_group(p, index).await;
        Ok(())
    }

    /// Published before each start of a restart, so it precedes what the new process prints.
    fn report_restarting(&self, p: &Process, spec: &ChildSpec, old: Pid) {
        p.node().publish(Event::Restarting(Arc::new(Restarting {
            supervisor: p.pid(),
            supervisor_label: self.label.clone(),
            id: spec.id.clone(),
            old,
        })));
    }

    fn report_restarted(&self, p: &Process, spec: &ChildSpec, old: Pid, new: Pid, restarts: u32) {
        p.node().set_restarts(new, restarts);
        p.node().publish(Event::Restarted(Arc::new(Restarted {
            supervisor: p.pid(),
            supervisor_label: self.label.clone(),
            id: spec.id.clone(),
            old,
            new,
        })));
    }

    fn report_terminated(&self, p: &Process, spec: &ChildSpec, pid: Pid, reason: &ExitReason) {
        if !reason.is_clean() {
            p.node()
                .publish(Event::ChildTerminated(Arc::new(self.report(
                    p,
                    spec,
                    pid,
                    Some(reason.clone()),
                ))));
        }
    }

    /// Records a restart event; past the intensity the supervisor stops its children and
    /// gives up with `:shutdown` (S2).
    fn add_restart(&mut self, p: &Process) -> Result<(), ExitReason> {
        let now = Instant::now();
        let window = Duration::from_secs(self.flags.max_seconds);
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window && self.flags.max_seconds > 0)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() as u32 > self.flags.max_restarts {
            p.node().publish(Event::GaveUp(Arc::new(GaveUp {
                supervisor: p.pid(),
                label: self.label.clone(),
                restarts: self.flags.max_restarts,
                seconds: self.flags.max_seconds,
            })));
            return Err(ExitReason::Shutdown);
        }
        Ok(())
    }

    /// Stops every child: static ones in reverse start order, one at a time; dynamic ones
    /// concurrently.
    async fn shutdown_all(&mut self, p: &mut Process) {
        if self.dynamic {
            self.dyn_restarting.clear();
            let children: Vec<(Pid, Shutdown)> = std::mem::take(&mut self.dyn_children)
                .into_iter()
                .map(|(pid, (_, c))| (pid, c.spec.shutdown))
                .collect();
            shutdown_many(p, children).await;
        }
        for child in self.children.iter_mut().rev() {
            if let Some(pid) = child.pid.take() {
                shutdown_child(p, pid, child.spec.shutdown).await;
            }
        }
    }

    async fn handle_call(&mut self, p: &mut Process, request: Term) -> Term {
        if request.is_atom("which_children") {
            return Term::Opaque(Opaque::new("children", self.infos()));
        }
        if request.is_atom("count_children") {
            let infos = self.infos();
            let sups = infos
                .iter()
                .filter(|c| c.kind == ChildKind::Supervisor)
                .count();
            return Term::atom_map(vec![
                (
                    "active",
                    Term::from(infos.iter().filter(|c| c.pid.is_some()).count()),
                ),
                ("specs", Term::from(infos.len())),
                ("supervisors", Term::from(sups)),
                ("workers", Term::from(infos.len() - sups)),
            ]);
        }
        match request.as_tuple() {
            Some([tag, Term::Opaque(o)]) if tag.is_atom("start_child") => {
                let Some(spec) = o.downcast::<ChildSpec>().cloned() else {
                    return Term::error_tuple(atom("badarg"));
                };
                if !self.dynamic && self.children.iter().any(|c| c.spec.id == spec.id) {
                    return Term::error_tuple(atom("already_present"));
                }
                match self.start_spec(p, &spec).await {
                    Ok(Some(pid)) => {
                        if self.dynamic {
                            self.dyn_seq += 1;
                            self.dyn_children
                                .insert(pid, (self.dyn_seq, Box::new(Child::new(spec, Some(pid)))));
                        } else {
                            self.children.push(Child::new(spec, Some(pid)));
                        }
                        Term::ok_tuple(pid)
                    }
                    Ok(None) => {
                        if !self.dynamic && spec.restart != Restart::Temporary {
                            self.children.push(Child::new(spec, None));
                        }
                        atom("ignore")
                    }
                    Err(e) => e.to_term(),
                }
            }
            Some([tag, child]) if tag.is_atom("terminate_child") => {
                let target = match child {
                    Term::Pid(pid) if self.dynamic => {
                        let pending = self
                            .dyn_restarting
                            .iter()
                            .find(|(_, c)| c.last == Some(*pid))
                            .map(|(seq, _)| *seq);
                        if let Some(seq) = pending {
                            // A child waiting for another restart try is just forgotten.
                            self.dyn_restarting.remove(&seq);
                            return Term::ok();
                        }
                        self.dyn_children
                            .remove(pid)
                            .map(|(_, c)| Some((*pid, c.spec.shutdown)))
                    }
                    _ => self
                        .children
                        .iter_mut()
                        .find(|c| {
                            &c.spec.id == child || c.pid.map(Term::Pid).as_ref() == Some(child)
                        })
                        .map(|c| {
                            // A stopped or restarting child is :ok too, and stays stopped.
                            c.restarting = false;
                            c.pid.take().map(|pid| (pid, c.spec.shutdown))
                        }),
                };
                match target {
                    Some(Some((pid, shutdown))) => {
                        shutdown_child(p, pid, shutdown).await;
                        Term::ok()
                    }
                    Some(None) => Term::ok(),
                    None => Term::error_tuple(atom("not_found")),
                }
            }
            _ => Term::error_tuple(atom("unknown_call")),
        }
    }

    fn infos(&self) -> Vec<ChildInfo> {
        let info = |c: &Child| ChildInfo {
            id: c.spec.id.clone(),
            pid: c.pid,
            kind: c.spec.kind,
            restarts: c.restarts,
            restart: c.spec.restart,
        };
        if self.dynamic {
            let mut v: Vec<(u64, ChildInfo)> = self
                .dyn_children
                .values()
                .map(|(seq, c)| (*seq, info(c)))
                .chain(self.dyn_restarting.iter().map(|(seq, c)| (*seq, info(c))))
                .collect();
            v.sort_by_key(|(seq, _)| *seq);
            v.into_iter().map(|(_, c)| c).collect()
        } else {
            self.children.iter().map(info).collect()
        }
    }

    fn state_term(&self) -> Term {
        let children = self
            .infos()
            .into_iter()
            .map(|c| {
                Term::tuple(vec![
                    c.id,
                    c.pid.map(Term::Pid).unwrap_or_else(|| atom("undefined")),
                    atom(match c.kind {
                        ChildKind::Worker => "worker",
                        ChildKind::Supervisor => "supervisor",
                    }),
                ])
            })
            .collect();
        Term::atom_map(vec![
            (
                "strategy",
                atom(strategy_name(self.dynamic, self.flags.strategy)),
            ),
            ("intensity", Term::from(self.flags.max_restarts as i64)),
            ("period", Term::from(self.flags.max_seconds as i64)),
            ("children", Term::List(children)),
        ])
    }
}

fn needs_restart(restart: Restart, reason: &ExitReason) -> bool {
    match restart {
        Restart::Permanent => true,
        Restart::Transient => !reason.is_clean(),
        Restart::Temporary => false,
    }
}

/// Stops one child as OTP does: monitor, unlink, take an exit already queued, else send the
/// shutdown signal and wait for the DOWN, killing after the timeout (S9). Returns the reason.
pub(crate) async fn shutdown_child(p: &mut Process, pid: Pid, shutdown: Shutdown) -> ExitReason {
    let r = p.monitor(pid);
    p.unlink(pid);
    if let Some(reason) = take_queued_exit(p, pid) {
        p.demonitor(r, true);
        return reason;
    }
    match shutdown {
        Shutdown::BrutalKill => {
            p.exit(pid, ExitReason::Kill);
            wait_down(p, r, None).await.unwrap_or(ExitReason::Killed)
        }
        Shutdown::Infinity => {
            p.exit(pid, ExitReason::Shutdown);
            wait_down(p, r, None).await.unwrap_or(ExitReason::Shutdown)
        }
        Shutdown::Timeout(t) => {
            p.exit(pid, ExitReason::Shutdown);
            match wait_down(p, r, Some(t)).await {
                Some(reason) => reason,
                None => {
                    p.exit(pid, ExitReason::Kill);
                    wait_down(p, r, None).await.unwrap_or(ExitReason::Killed)
                }
            }
        }
    }
}

/// Stops many children at once (dynamic supervisors, S10): signal all, then wait for all.
async fn shutdown_many(p: &mut Process, children: Vec<(Pid, Shutdown)>) {
    // Monitor and unlink them all first, then take the EXITs of those that died before their
    // unlink in one pass: a scan of the mailbox per child would be quadratic, as it fills
    // with the DOWNs of the children already stopped.
    let mut monitored = Vec::with_capacity(children.len());
    let mut pids = HashSet::with_capacity(children.len());
    for (pid, shutdown) in children {
        let r = p.monitor(pid);
        p.unlink(pid);
        monitored.push((pid, r, shutdown));
        pids.insert(pid);
    }
    let dead: HashSet<Pid> = p
        .take_all_matching(|e| e.as_exit().is_some_and(|(from, _)| pids.contains(&from)))
        .iter()
        .filter_map(|e| e.as_exit().map(|(from, _)| from))
        .collect();
    let mut waiting: HashMap<Ref, (Pid, Shutdown)> = HashMap::with_capacity(monitored.len());
    for (pid, r, shutdown) in monitored {
        if dead.contains(&pid) {
            // Its DOWN, if already queued, is taken by the wait below or left to a
            // supervisor that is exiting anyway.
            p.demonitor(r, false);
            continue;
        }
        let signal = if shutdown == Shutdown::BrutalKill {
            ExitReason::Kill
        } else {
            ExitReason::Shutdown
        };
        p.exit(pid, signal);
        waiting.insert(r, (pid, shutdown));
    }
    let longest = waiting
        .values()
        .filter_map(|(_, s)| match s {
            Shutdown::Timeout(t) => Some(*t),
            _ => None,
        })
        .max();
    let infinite = waiting.values().any(|(_, s)| *s == Shutdown::Infinity);
    let deadline = (!infinite).then(|| Instant::now() + longest.unwrap_or_default());
    while !waiting.is_empty() {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let env = p.receive_match(|e| down_ref(e).is_some(), remaining).await;
        match env {
            Some(e) => {
                if let Some(r) = down_ref(&e) {
                    waiting.remove(&r);
                }
            }
            None => {
                for (pid, _) in waiting.values() {
                    p.exit(*pid, ExitReason::Kill);
                }
                while !waiting.is_empty() {
                    let e = p.receive_match(|e| down_ref(e).is_some(), None).await;
                    if let Some(r) = e.as_ref().and_then(down_ref) {
                        waiting.remove(&r);
                    }
                }
            }
        }
    }
}

/// The message a supervisor sends itself to try a failed restart again.
fn try_again_message(key: Term) -> Term {
    Term::tuple(vec![atom("$try_again_restart"), key])
}

fn try_again_key(env: &Envelope) -> Option<Term> {
    match env {
        Envelope::Message(Term::Tuple(t)) if t.len() == 2 && t[0].is_atom("$try_again_restart") => {
            Some(t[1].clone())
        }
        _ => None,
    }
}

fn take_queued_exit(p: &mut Process, pid: Pid) -> Option<ExitReason> {
    p.take_match(|e| e.as_exit().is_some_and(|(from, _)| from == pid))
        .and_then(|e| {
            e.as_exit()
                .map(|(_, reason)| ExitReason::from_term(reason.clone()))
        })
}

fn down_ref(env: &Envelope) -> Option<Ref> {
    match env {
        Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") => match t[1] {
            Term::Ref(r) => Some(r),
            _ => None,
        },
        _ => None,
    }
}

async fn wait_down(p: &mut Process, r: Ref, timeout: Option<Duration>) -> Option<ExitReason> {
    let env = p
        .receive_match(move |e| down_ref(e) == Some(r), timeout)
        .await?;
    match env {
        Envelope::Message(Term::Tuple(t)) => Some(ExitReason::from_term(t[4].clone())),
        _ => None,
    }
}
