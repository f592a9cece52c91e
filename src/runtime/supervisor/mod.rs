//! Supervisors: child specs, the strategies one_for_one, one_for_all, rest_for_one and the
//! dynamic supervisor, restart types, shutdown order and timeouts, and restart intensity.
//!
//! A supervisor is a process that traps exits. Static children start in list order, each
//! `start` returning only after the child's `init` (S7), and stop in reverse order, one at a
//! time (S8); dynamic children stop concurrently (S10). Restart intensity follows Elixir:
//! more than `max_restarts` restart events within `max_seconds` (3 in 5 by default, a sliding
//! window on tokio's clock) make the supervisor stop all its children and exit with
//! `:shutdown` (S1-S5). One restart event counts once however many siblings it restarts (S4).
//!
//! This file holds the specs and the API other processes call; the loop that runs inside a
//! supervisor is `server.rs`.

mod server;

use std::sync::Arc;
use std::time::Duration;

use super::call::DEFAULT_CALL_TIMEOUT;
use super::exit::{CallError, ExitReason, StartError};
use super::node::{Dest, Node, SpawnOpts};
use super::pid::Pid;
use super::process::Process;
use super::term::{Atom, BoxFuture, Opaque, Term, atom};
use server::run;

/// How a supervisor reacts to a child's death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

/// When a child is restarted (S11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    Permanent,
    Transient,
    Temporary,
}

/// How a child is stopped (S9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    BrutalKill,
    Timeout(Duration),
    Infinity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    Worker,
    Supervisor,
}

/// Starts a child from inside the supervisor (so `start_link` links it to the supervisor).
pub type StartFn =
    Arc<dyn for<'a> Fn(&'a mut Process) -> BoxFuture<'a, Result<Pid, StartError>> + Send + Sync>;

/// A child specification.
#[derive(Clone)]
pub struct ChildSpec {
    pub id: Term,
    pub start: StartFn,
    pub restart: Restart,
    pub shutdown: Shutdown,
    pub kind: ChildKind,
    /// How reports show the start call: `Todo.Database.start_link("./persist/")`.
    pub start_call: Arc<str>,
}

impl ChildSpec {
    /// A worker: permanent, shutdown 5000 ms.
    pub fn worker<F>(id: impl Into<Term>, start_call: impl Into<Arc<str>>, start: F) -> ChildSpec
    where
        F: for<'a> Fn(&'a mut Process) -> BoxFuture<'a, Result<Pid, StartError>>
            + Send
            + Sync
            + 'static,
    {
        ChildSpec {
            id: id.into(),
            start: Arc::new(start),
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_millis(5000)),
            kind: ChildKind::Worker,
            start_call: start_call.into(),
        }
    }

    /// A supervisor child: permanent, shutdown `:infinity`.
    pub fn supervisor<F>(
        id: impl Into<Term>,
        start_call: impl Into<Arc<str>>,
        start: F,
    ) -> ChildSpec
    where
        F: for<'a> Fn(&'a mut Process) -> BoxFuture<'a, Result<Pid, StartError>>
            + Send
            + Sync
            + 'static,
    {
        ChildSpec {
            kind: ChildKind::Supervisor,
            shutdown: Shutdown::Infinity,
            ..ChildSpec::worker(id, start_call, start)
        }
    }

    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildSpec {
        self.shutdown = shutdown;
        self
    }
}

/// The strategy as `:sys.get_state` of a supervisor names it (`dynamic` for a
/// `DynamicSupervisor`).
pub fn strategy_name(dynamic: bool, strategy: Strategy) -> &'static str {
    match (dynamic, strategy) {
        (true, _) => "dynamic",
        (_, Strategy::OneForOne) => "one_for_one",
        (_, Strategy::OneForAll) => "one_for_all",
        (_, Strategy::RestForOne) => "rest_for_one",
    }
}

/// Strategy and restart intensity.
#[derive(Clone, Copy, Debug)]
pub struct Flags {
    pub strategy: Strategy,
    pub max_restarts: u32,
    pub max_seconds: u64,
}

impl Flags {
    /// Elixir's defaults: 3 restarts in 5 seconds (S1).
    pub fn new(strategy: Strategy) -> Flags {
        Flags {
            strategy,
            max_restarts: 3,
            max_seconds: 5,
        }
    }
    pub fn intensity(mut self, max_restarts: u32, max_seconds: u64) -> Flags {
        self.max_restarts = max_restarts;
        self.max_seconds = max_seconds;
        self
    }
}

/// What a supervisor is started with.
#[derive(Clone)]
pub struct Spec {
    /// The module name in reports (`Todo.Supervisor`).
    pub label: Arc<str>,
    pub name: Option<Atom>,
    pub flags: Flags,
    pub children: Vec<ChildSpec>,
    /// A dynamic supervisor: no static children, `start_child` on demand, one_for_one.
    pub dynamic: bool,
}

impl Spec {
    pub fn new(label: &str, flags: Flags, children: Vec<ChildSpec>) -> Spec {
        Spec {
            label: Arc::from(label),
            name: None,
            flags,
            children,
            dynamic: false,
        }
    }
    /// A `DynamicSupervisor`.
    pub fn dynamic(label: &str, flags: Flags) -> Spec {
        Spec {
            label: Arc::from(label),
            name: None,
            flags: Flags {
                strategy: Strategy::OneForOne,
                ..flags
            },
            children: vec![],
            dynamic: true,
        }
    }
    pub fn named(mut self, name: &str) -> Spec {
        self.name = Atom::new(name).ok();
        self
    }
}

/// One line of `which_children`, with the restart count for `tree`.
#[derive(Clone, Debug)]
pub struct ChildInfo {
    pub id: Term,
    /// `None` while not running (a temporary child that ended, or a static `:ignore`).
    pub pid: Option<Pid>,
    pub kind: ChildKind,
    pub restarts: u32,
    pub restart: Restart,
}

/// `Supervisor.start_link/2` from `parent`.
pub async fn start_link(parent: &Process, spec: Spec) -> Result<Pid, StartError> {
    start_with(parent.node(), Some(parent.pid()), spec).await
}

/// `Supervisor.start/2`: not linked to anyone.
pub async fn start(node: &Node, spec: Spec) -> Result<Pid, StartError> {
    start_with(node, None, spec).await
}

/// The `init/1` of a module-based supervisor: runs inside the new supervisor and returns its
/// spec, or `Ok(None)` for `:ignore`.
pub type InitFn = Box<
    dyn for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, Result<Option<Spec>, ExitReason>> + Send,
>;

/// `Supervisor.start_link(module, arg)` from `parent`: `init` runs inside the new supervisor.
/// `:ignore` (`Ok(None)`) makes it return [`StartError::Ignore`] and the process exit
/// `:normal`; an error or a panic in `init` is a failed start, and the process exits with
/// that reason.
pub async fn start_link_init<F>(parent: &Process, label: &str, init: F) -> Result<Pid, StartError>
where
    F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, Result<Option<Spec>, ExitReason>>
        + Send
        + 'static,
{
    spawn_sup(
        parent.node(),
        Some(parent.pid()),
        Arc::from(label),
        Source::Init(Box::new(init)),
    )
    .await
}

/// Where a supervisor's spec comes from.
enum Source {
    Spec(Spec),
    Init(InitFn),
}

async fn start_with(node: &Node, parent: Option<Pid>, spec: Spec) -> Result<Pid, StartError> {
    spawn_sup(node, parent, spec.label.clone(), Source::Spec(spec)).await
}

async fn spawn_sup(
    node: &Node,
    parent: Option<Pid>,
    label: Arc<str>,
    source: Source,
) -> Result<Pid, StartError> {
    let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
    let opts = SpawnOpts {
        link: parent,
        label: Some(label),
        trap_exit: true,
        ..Default::default()
    };
    node.spawn(opts, move |p: &mut Process| {
        Box::pin(run(p, parent, source, ack_tx))
    })?;
    ack_rx
        .await
        .unwrap_or(Err(StartError::Init(ExitReason::Killed)))
}

/// `DynamicSupervisor.start_child/2` / `Supervisor.start_child/2`: `Ok(None)` when the child
/// returned `:ignore`.
pub async fn start_child(
    node: &Node,
    caller: Pid,
    sup: &Dest,
    spec: ChildSpec,
) -> Result<Option<Pid>, StartError> {
    let request = Term::tuple(vec![
        atom("start_child"),
        Term::Opaque(Opaque::new("ChildSpec", spec)),
    ]);
    let reply = node
        .call(caller, sup, request, None)
        .await
        .map_err(|e| StartError::Init(e.reason()))?;
    match reply.as_tuple() {
        Some([tag, Term::Pid(p)]) if tag.is_atom("ok") => Ok(Some(*p)),
        Some([tag, Term::Tuple(t)])
            if tag.is_atom("error") && t.len() == 2 && t[0].is_atom("already_started") =>
        {
            Err(StartError::AlreadyStarted(t[1].as_pid().unwrap_or(Pid(0))))
        }
        Some([tag, reason]) if tag.is_atom("error") => {
            if reason.is_atom("system_limit") {
                Err(StartError::SystemLimit)
            } else {
                Err(StartError::Init(ExitReason::from_term(reason.clone())))
            }
        }
        _ => Ok(None),
    }
}

/// `Supervisor.which_children/1`, with restart counts.
pub async fn which_children(
    node: &Node,
    caller: Pid,
    sup: &Dest,
) -> Result<Vec<ChildInfo>, CallError> {
    let reply = node
        .call(
            caller,
            sup,
            atom("which_children"),
            Some(DEFAULT_CALL_TIMEOUT),
        )
        .await?;
    let Term::Opaque(o) = reply else {
        return Ok(vec![]);
    };
    Ok(o.downcast::<Vec<ChildInfo>>().cloned().unwrap_or_default())
}

/// `Supervisor.terminate_child/2` by pid (dynamic) or id (static).
pub async fn terminate_child(
    node: &Node,
    caller: Pid,
    sup: &Dest,
    child: Term,
) -> Result<bool, CallError> {
    let reply = node
        .call(
            caller,
            sup,
            Term::tuple(vec![atom("terminate_child"), child]),
            None,
        )
        .await?;
    Ok(reply.is_atom("ok"))
}

/// `Supervisor.count_children/1`: `%{active:, specs:, supervisors:, workers:}`.
pub async fn count_children(node: &Node, caller: Pid, sup: &Dest) -> Result<Term, CallError> {
    node.call(
        caller,
        sup,
        atom("count_children"),
        Some(DEFAULT_CALL_TIMEOUT),
    )
    .await
}
