//! Supervisors: a port of OTP's `supervisor_SUITE` (lib/stdlib/test/supervisor_SUITE.erl, the
//! cases listed in tests/README.md) and the supervisor rules S1-S15 and S22-S24 stated there,
//! one named test each.
//!
//! Ported cases keep the OTP name at the front of the test name. Where the runtime's API has
//! no equivalent of an OTP call (`restart_child`, `{ok, Pid, Info}` returns), the port tests the
//! same rule through what the runtime offers, and the test's comment says so. Counts are
//! `[specs, active, supervisors, workers]` as in the suite's `get_child_counts`; dynamic
//! supervisors count like Elixir's `DynamicSupervisor` (`specs` = number of children), not like
//! OTP's `simple_one_for_one` (`specs` = 1).
//!
//! Every wait is on an explicit signal: an `{:EXIT, …}` or `{:DOWN, …}` message, or an event of
//! the node (`Exited`, `Restarted`, `GaveUp`, `ChildStarted`). Timing rules run on tokio's
//! paused clock, moved with `advance` or by the runtime's own timers.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use otplab::runtime::Events;
use otplab::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use otplab::runtime::supervisor::{
    self, ChildInfo, ChildKind, ChildSpec, Flags, Restart, Shutdown, Spec, StartFn, Strategy,
};
use otplab::runtime::term::BoxFuture;
use otplab::runtime::{
    Atom, CallError, Dest, Envelope, Event, ExitReason, Pid, Process, Ref, StartError, Term, atom,
};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// How long a test waits for a signal before failing (on the paused clock this costs nothing).
const PATIENCE: Duration = Duration::from_secs(60);

// ----- the children of the suite --------------------------------------------------------------

/// What the children did, in order: `init:ID`, `terminate:ID` (terminate began),
/// `terminated:ID` (terminate returned).
type Log = Arc<Mutex<Vec<String>>>;

fn new_log() -> Log {
    Arc::default()
}

fn note(log: &Log, entry: String) {
    log.lock().unwrap().push(entry);
}

/// The ids of the entries of `log` with this kind (`init`, `terminate`, `terminated`), in order.
fn notes(log: &Log, kind: &str) -> Vec<String> {
    let prefix = format!("{kind}:");
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| e.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// The arguments of a [`Worker`]; each start of a child spec uses a fresh copy.
#[derive(Clone)]
struct Arg {
    id: &'static str,
    log: Log,
    value: i64,
    trap: bool,
    init_ms: u64,
    terminate_ms: u64,
    name: Option<&'static str>,
    /// A sibling name that `init` calls, so it only succeeds if that sibling is already up.
    needs: Option<&'static str>,
    /// `init` returns `:ignore`.
    ignore: bool,
    /// supervisor_3: `init` tells this process `{id, self()}` and waits for `:go` or `:fail`.
    gate: Option<Pid>,
    /// supervisor_deadlock: while set, `init` hangs for 2 s and then fails with `:error`.
    fail_start: Option<Arc<AtomicBool>>,
}

impl Arg {
    fn new(id: &'static str, log: &Log) -> Arg {
        Arg {
            id,
            log: log.clone(),
            value: 0,
            trap: false,
            init_ms: 0,
            terminate_ms: 0,
            name: None,
            needs: None,
            ignore: false,
            gate: None,
            fail_start: None,
        }
    }
    fn trap(mut self) -> Arg {
        self.trap = true;
        self
    }
    fn value(mut self, v: i64) -> Arg {
        self.value = v;
        self
    }
    fn init_ms(mut self, ms: u64) -> Arg {
        self.init_ms = ms;
        self
    }
    fn terminate_ms(mut self, ms: u64) -> Arg {
        self.trap = true;
        self.terminate_ms = ms;
        self
    }
    fn named(mut self, name: &'static str) -> Arg {
        self.name = Some(name);
        self
    }
    fn needs(mut self, name: &'static str) -> Arg {
        self.needs = Some(name);
        self
    }
    fn ignore(mut self) -> Arg {
        self.ignore = true;
        self
    }
    fn gate(mut self, tester: Pid) -> Arg {
        self.gate = Some(tester);
        self
    }
    fn fail_start(mut self, flag: &Arc<AtomicBool>) -> Arg {
        self.fail_start = Some(flag.clone());
        self
    }
}

/// The suite's `supervisor_1`: a GenServer that stops on `:stop` (reason `:normal`) and on
/// `:die` (reason `:died`), sleeps on `{:sleep, ms}`, stops on `{:exit, reason}`, answers
/// `:ping` and `:get`, and logs its init and terminate.
struct Worker {
    arg: Arg,
}

impl GenServer for Worker {
    type Arg = Arg;

    fn module() -> &'static str {
        "Worker"
    }

    async fn init(arg: Arg, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        if arg.trap {
            p.trap_exit(true);
        }
        if arg.ignore {
            return Ok(Init::Ignore);
        }
        if arg
            .fail_start
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
        {
            p.sleep(Duration::from_millis(2000)).await;
            return Ok(Init::Stop(ExitReason::atom("error")));
        }
        if arg.init_ms > 0 {
            p.sleep(Duration::from_millis(arg.init_ms)).await;
        }
        if let Some(sibling) = arg.needs {
            p.call(
                Dest::Name(Atom::from_static(sibling)),
                atom("ping"),
                Some(Duration::from_secs(1)),
            )
            .await?;
        }
        if let Some(tester) = arg.gate {
            p.send(tester, Term::tuple(vec![atom(arg.id), Term::Pid(p.pid())]));
            let answer = p
                .receive_match(
                    |e| matches!(e, Envelope::Message(t) if t.is_atom("go") || t.is_atom("fail")),
                    None,
                )
                .await;
            if matches!(answer, Some(Envelope::Message(t)) if t.is_atom("fail")) {
                return Ok(Init::Stop(ExitReason::Normal));
            }
        }
        note(&arg.log, format!("init:{}", arg.id));
        Ok(Init::Ok(Worker { arg }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &otplab::runtime::From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.is_atom("ping") {
            return Ok(Reply::Reply(atom("pong")));
        }
        Ok(Reply::Reply(Term::Int(self.arg.value)))
    }

    async fn handle_info(&mut self, msg: Term, p: &mut Process) -> Result<NoReply, ExitReason> {
        if msg.is_atom("stop") {
            return Ok(NoReply::Stop(ExitReason::Normal));
        }
        if msg.is_atom("die") {
            return Ok(NoReply::Stop(ExitReason::atom("died")));
        }
        match msg.as_tuple() {
            Some([tag, Term::Int(ms)]) if tag.is_atom("sleep") => {
                p.sleep(Duration::from_millis(*ms as u64)).await;
                Ok(NoReply::NoReply)
            }
            Some([tag, reason]) if tag.is_atom("exit") => {
                Ok(NoReply::Stop(ExitReason::from_term(reason.clone())))
            }
            // An exit signal from someone other than the parent stops a trapping worker too.
            Some([tag, _, reason]) if tag.is_atom("EXIT") => {
                Ok(NoReply::Stop(ExitReason::from_term(reason.clone())))
            }
            _ => Ok(NoReply::NoReply),
        }
    }

    async fn terminate(&mut self, _reason: &ExitReason, p: &mut Process) {
        note(&self.arg.log, format!("terminate:{}", self.arg.id));
        if self.arg.terminate_ms > 0 {
            p.sleep(Duration::from_millis(self.arg.terminate_ms)).await;
        }
        note(&self.arg.log, format!("terminated:{}", self.arg.id));
    }

    fn state(&self) -> Term {
        Term::Int(self.arg.value)
    }
}

fn start_fn<F>(f: F) -> StartFn
where
    F: for<'a> Fn(&'a mut Process) -> BoxFuture<'a, Result<Pid, StartError>>
        + Send
        + Sync
        + 'static,
{
    Arc::new(f)
}

/// A permanent worker child (shutdown 5000 ms) running [`Worker`].
fn worker(arg: Arg) -> ChildSpec {
    let id = arg.id;
    ChildSpec::worker(
        atom(id),
        format!("Worker.start_link({id})"),
        move |p: &mut Process| {
            let arg = arg.clone();
            Box::pin(async move {
                let opts = arg.name.map(StartOpts::named).unwrap_or_default();
                gen_server::start_link::<Worker>(p, arg, opts).await
            })
        },
    )
}

/// supervisor_1's `start_child(error)`: the first start succeeds, every later one fails.
fn error_worker(arg: Arg) -> ChildSpec {
    let started = Arc::new(AtomicBool::new(false));
    let id = arg.id;
    ChildSpec::worker(
        atom(id),
        format!("Worker.start_link({id}, :error)"),
        move |p: &mut Process| {
            let arg = arg.clone();
            let again = started.swap(true, Ordering::SeqCst);
            Box::pin(async move {
                if again {
                    return Err(StartError::Init(ExitReason::atom("failed_to_start_child")));
                }
                gen_server::start_link::<Worker>(p, arg, StartOpts::default()).await
            })
        },
    )
}

/// A supervisor child (permanent, shutdown `:infinity`) starting a supervisor with `spec`.
fn sup_child(id: &'static str, spec: Spec) -> ChildSpec {
    ChildSpec::supervisor(
        atom(id),
        format!("Supervisor.start_link({id})"),
        move |p: &mut Process| {
            let spec = spec.clone();
            Box::pin(async move { supervisor::start_link(p, spec).await })
        },
    )
}

fn spec(strategy: Strategy, max_restarts: u32, max_seconds: u64, children: Vec<ChildSpec>) -> Spec {
    Spec::new(
        "Sup",
        Flags::new(strategy).intensity(max_restarts, max_seconds),
        children,
    )
}

fn dynamic(max_restarts: u32, max_seconds: u64) -> Spec {
    Spec::dynamic(
        "DynSup",
        Flags::new(Strategy::OneForOne).intensity(max_restarts, max_seconds),
    )
}

// ----- waiting on signals ---------------------------------------------------------------------

/// Receives `{:EXIT, pid, reason}` (the suite's `check_exit_reason/2`).
async fn exit_of(p: &mut Process, pid: Pid) -> ExitReason {
    let env = p
        .receive_match(
            move |e| e.as_exit().is_some_and(|(from, _)| from == pid),
            Some(PATIENCE),
        )
        .await
        .unwrap_or_else(|| panic!("no EXIT from {pid}"));
    ExitReason::from_term(env.as_exit().unwrap().1.clone())
}

fn down_ref(env: &Envelope) -> Option<(Ref, Term)> {
    match env {
        Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") => match t[1] {
            Term::Ref(r) => Some((r, t[4].clone())),
            _ => None,
        },
        _ => None,
    }
}

/// Receives the `{:DOWN, r, …}` of a monitor; returns its reason.
async fn down_of(p: &mut Process, r: Ref) -> ExitReason {
    let env = p
        .receive_match(
            move |e| down_ref(e).is_some_and(|(x, _)| x == r),
            Some(PATIENCE),
        )
        .await
        .unwrap_or_else(|| panic!("no DOWN for {r}"));
    ExitReason::from_term(down_ref(&env).unwrap().1)
}

/// Receives a `{tag, pid}` message (what the gated children of supervisor_3 send).
async fn tagged(p: &mut Process, tag: &'static str) -> Pid {
    let env = p
        .receive_match(
            move |e| matches!(e, Envelope::Message(t) if t.tag() == Some(tag)),
            Some(PATIENCE),
        )
        .await
        .unwrap_or_else(|| panic!("no {{{tag}, pid}} message"));
    match env {
        Envelope::Message(t) => t.as_tuple().unwrap()[1].as_pid().unwrap(),
        _ => unreachable!(),
    }
}

/// The next event for which `pick` returns something.
async fn event<T>(ev: &mut Events, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            match ev.recv().await {
                Ok(e) => {
                    if let Some(t) = pick(&e) {
                        return t;
                    }
                }
                Err(RecvError::Lagged(n)) => panic!("the test missed {n} events"),
                Err(RecvError::Closed) => panic!("the event stream ended"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the awaited event never came")
}

/// Waits until `pid` has exited; returns its reason. A process's exit path (names, tables,
/// DOWNs, EXITs and this event) runs in one step, and these tests run on the current-thread
/// runtime: once the event is seen here, its supervisor has the EXIT queued, ahead of
/// anything this process sends it afterwards.
async fn gone(ev: &mut Events, pid: Pid) -> ExitReason {
    event(ev, |e| match e {
        Event::Exited(e) if e.pid == pid => Some(e.reason.clone()),
        _ => None,
    })
    .await
}

/// Waits until every one of `pids` has exited, in whatever order; returns their reasons.
async fn all_gone(ev: &mut Events, pids: &[Pid]) -> Vec<ExitReason> {
    let mut reasons: HashMap<Pid, ExitReason> = HashMap::new();
    while reasons.len() < pids.len() {
        let (pid, reason) = event(ev, |e| match e {
            Event::Exited(e) if pids.contains(&e.pid) => Some((e.pid, e.reason.clone())),
            _ => None,
        })
        .await;
        reasons.insert(pid, reason);
    }
    pids.iter().map(|p| reasons[p].clone()).collect()
}

/// Waits until a supervisor has restarted the child `old`; returns the new pid.
async fn restarted(ev: &mut Events, old: Pid) -> Pid {
    event(ev, |e| match e {
        Event::Restarted(r) if r.old == old => Some(r.new),
        _ => None,
    })
    .await
}

/// Waits until `sup` has restarted the child with this id; returns the new pid.
async fn restarted_id(ev: &mut Events, sup: Pid, id: &'static str) -> Pid {
    event(ev, |e| match e {
        Event::Restarted(r) if r.supervisor == sup && r.id.is_atom(id) => Some(r.new),
        _ => None,
    })
    .await
}

async fn gave_up(ev: &mut Events, sup: Pid) {
    event(ev, |e| match e {
        Event::GaveUp(g) if g.supervisor == sup => Some(()),
        _ => None,
    })
    .await
}

/// Moves the paused clock to `ms` after `t0`.
async fn advance_to(t0: Instant, ms: u64) {
    let target = t0 + Duration::from_millis(ms);
    let now = Instant::now();
    assert!(target >= now, "the clock is already past {ms} ms");
    tokio::time::advance(target - now).await;
}

// ----- talking to supervisors -----------------------------------------------------------------

async fn children(p: &Process, sup: Pid) -> Vec<ChildInfo> {
    supervisor::which_children(p.node(), p.pid(), &Dest::Pid(sup))
        .await
        .unwrap()
}

/// `[specs, active, supervisors, workers]`, the suite's `get_child_counts`.
async fn counts(p: &Process, sup: Pid) -> [i64; 4] {
    let t = supervisor::count_children(p.node(), p.pid(), &Dest::Pid(sup))
        .await
        .unwrap();
    ["specs", "active", "supervisors", "workers"]
        .map(|k| t.get(k).and_then(Term::as_int).unwrap_or(-1))
}

async fn start_child(p: &Process, sup: Pid, spec: ChildSpec) -> Result<Option<Pid>, StartError> {
    supervisor::start_child(p.node(), p.pid(), &Dest::Pid(sup), spec).await
}

async fn start_ok(p: &Process, sup: Pid, spec: ChildSpec) -> Pid {
    start_child(p, sup, spec)
        .await
        .expect("start_child failed")
        .expect("start_child ignored")
}

/// The pid of the static child `id`.
async fn pid_of(p: &Process, sup: Pid, id: &str) -> Pid {
    children(p, sup)
        .await
        .into_iter()
        .find(|c| c.id.is_atom(id))
        .and_then(|c| c.pid)
        .unwrap_or_else(|| panic!("no running child {id}"))
}

/// `(id, pid)` of every child, in the supervisor's order.
async fn listing(p: &Process, sup: Pid) -> Vec<(String, Option<Pid>)> {
    children(p, sup)
        .await
        .into_iter()
        .map(|c| {
            (
                c.id.as_atom()
                    .map(|a| a.as_str())
                    .unwrap_or("?")
                    .to_string(),
                c.pid,
            )
        })
        .collect()
}

#[derive(Clone, Copy)]
enum How {
    Normal,
    Abnormal,
    Shutdown,
    ShutdownInfo,
    Kill,
}

/// The suite's `terminate/4`: ends a child the given way and waits until it is gone (see
/// [`gone`]).
async fn terminate(p: &mut Process, ev: &mut Events, child: Pid, how: How) {
    let expected = match how {
        How::Normal => {
            p.send(child, atom("stop"));
            ExitReason::Normal
        }
        How::Abnormal => {
            p.send(child, atom("die"));
            ExitReason::atom("died")
        }
        How::Shutdown => {
            p.exit(child, ExitReason::Shutdown);
            ExitReason::Shutdown
        }
        How::ShutdownInfo => {
            let r = ExitReason::Other(Term::tuple(vec![atom("shutdown"), atom("some_info")]));
            p.exit(child, r.clone());
            r
        }
        How::Kill => {
            p.exit(child, ExitReason::Kill);
            ExitReason::Killed
        }
    };
    assert_eq!(gone(ev, child).await, expected, "how {child} ended");
}

fn a(name: &'static str) -> Atom {
    Atom::from_static(name)
}

#[tokio::test]
async fn sup_start_normal_starts_and_stops_with_its_parents_shutdown() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(
                p,
                spec(Strategy::OneForOne, 2, 3600, vec![]).named("sup_test"),
            )
            .await
            .unwrap();
            assert_eq!(p.node().whereis(a("sup_test")), Some(sup));
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(p.node().whereis(a("sup_test")), None);
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_ignore_init_returns_ignore_and_exits_normal() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let before = p.node().count();
            let r = supervisor::start_link_init(p, "Sup", |_p: &mut Process| {
                Box::pin(async { Ok(None) })
            })
            .await;
            assert_eq!(r, Err(StartError::Ignore));
            let env = p
                .receive_match(|e| e.as_exit().is_some(), Some(PATIENCE))
                .await
                .expect("no EXIT from the ignoring supervisor");
            assert!(env.as_exit().unwrap().1.is_atom("normal"));
            settle_count(p.node(), before).await;
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_ignore_child_keeps_the_spec_without_a_pid() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_child(p, sup, worker(Arg::new("child1", &log).ignore())).await;
            assert_eq!(c1, Ok(None), "{{:ok, :undefined}}");
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log))).await;
            assert_eq!(
                listing(p, sup).await,
                [("child1".into(), None), ("child2".into(), Some(c2))]
            );
            assert_eq!(counts(p, sup).await, [2, 1, 0, 2]);
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_ignore_temporary_child_is_not_kept() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let children = vec![
                worker(Arg::new("child1", &log).ignore()).restart(Restart::Temporary),
                worker(Arg::new("child2", &log)).restart(Restart::Temporary),
            ];
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, children))
                .await
                .unwrap();
            let listed = listing(p, sup).await;
            assert_eq!(listed.len(), 1, "{listed:?}");
            assert_eq!(listed[0].0, "child2");
            assert!(listed[0].1.is_some());
            assert_eq!(counts(p, sup).await, [1, 1, 0, 1]);
            // Same through start_child.
            let dropped = start_child(
                p,
                sup,
                worker(Arg::new("child3", &log).ignore()).restart(Restart::Temporary),
            )
            .await;
            assert_eq!(dropped, Ok(None));
            assert_eq!(counts(p, sup).await, [1, 1, 0, 1]);
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_error_return_fails_the_start_and_exits_with_the_error() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let bad = ExitReason::Other(Term::tuple(vec![atom("bad_return"), atom("invalid")]));
            let expected = bad.clone();
            let r = supervisor::start_link_init(p, "Sup", move |_p: &mut Process| {
                Box::pin(async move { Err(bad) })
            })
            .await;
            assert_eq!(r, Err(StartError::Init(expected.clone())));
            let env = p
                .receive_match(|e| e.as_exit().is_some(), Some(PATIENCE))
                .await
                .expect("no EXIT from the failed supervisor");
            assert_eq!(
                ExitReason::from_term(env.as_exit().unwrap().1.clone()),
                expected
            );
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_fail_a_crashing_init_fails_the_start_with_the_crash() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let r = supervisor::start_link_init(p, "Sup", |_p: &mut Process| {
                Box::pin(async { panic!("badmatch 2") })
            })
            .await;
            let crash = ExitReason::runtime_error("badmatch 2");
            assert_eq!(r, Err(StartError::Init(crash.clone())));
            let env = p
                .receive_match(|e| e.as_exit().is_some(), Some(PATIENCE))
                .await
                .expect("no EXIT from the crashed supervisor");
            assert_eq!(env.as_exit().unwrap().1, &crash.to_term());
        })
    })
    .await;
}

#[tokio::test]
async fn sup_start_fail_a_child_that_fails_to_start_fails_the_supervisor() {
    // The spec-based analog of sup_start_fail: the supervisor's start is its children's starts.
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut bad = worker(Arg::new("bad", &log));
            bad.start = failing_start();
            let children = vec![worker(Arg::new("good", &log).trap()), bad];
            let r = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, children)).await;
            let reason = ExitReason::Other(Term::tuple(vec![
                atom("shutdown"),
                Term::tuple(vec![
                    atom("failed_to_start_child"),
                    atom("bad"),
                    atom("bad"),
                ]),
            ]));
            assert_eq!(r, Err(StartError::Init(reason.clone())));
            let env = p
                .receive_match(|e| e.as_exit().is_some(), Some(PATIENCE))
                .await
                .expect("no EXIT from the failed supervisor");
            assert_eq!(
                ExitReason::from_term(env.as_exit().unwrap().1.clone()),
                reason
            );
            // The child started before the failure was stopped, through its terminate.
            assert_eq!(notes(&log, "init"), ["good"]);
            assert_eq!(notes(&log, "terminated"), ["good"]);
        })
    })
    .await;
}

#[tokio::test]
async fn sup_stop_infinity_waits_for_supervisor_and_worker_children_to_end_with_shutdown() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let child1 = sup_child("child1", spec(Strategy::OneForOne, 2, 3600, vec![]));
            assert_eq!(child1.shutdown, Shutdown::Infinity);
            let child2 = worker(Arg::new("child2", &log)).shutdown(Shutdown::Infinity);
            let c1 = start_ok(p, sup, child1).await;
            let c2 = start_ok(p, sup, child2).await;
            p.link(c1);
            p.link(c2);
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c1).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn sup_stop_timeout_kills_a_child_still_busy_after_its_shutdown_time() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let ms = Shutdown::Timeout(Duration::from_millis(1000));
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log).trap()).shutdown(ms)).await;
            p.link(c1);
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log).trap()).shutdown(ms)).await;
            p.link(c2);
            p.send(c2, Term::tuple(vec![atom("sleep"), Term::Int(200_000)]));
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(t0.elapsed(), Duration::from_millis(1000));
            assert_eq!(exit_of(p, c1).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c2).await, ExitReason::Killed);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn sup_stop_brutal_kill_kills_at_once() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let ms = Shutdown::Timeout(Duration::from_millis(1000));
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log).trap()).shutdown(ms)).await;
            p.link(c1);
            let c2 = start_ok(
                p,
                sup,
                worker(Arg::new("child2", &log).terminate_ms(60_000))
                    .shutdown(Shutdown::BrutalKill),
            )
            .await;
            p.link(c2);
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(t0.elapsed(), Duration::ZERO);
            assert_eq!(exit_of(p, c1).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c2).await, ExitReason::Killed);
            assert_eq!(
                notes(&log, "terminate"),
                ["child1"],
                "brutal_kill runs no terminate"
            );
        })
    })
    .await;
}

/// Starts `child1` with `restart` under a one_for_one supervisor (2 restarts in 3600 s), ends
/// it `how`, and returns the supervisor's listing and counts afterwards, with the pid it had.
async fn restart_case(restart: Restart, how: How) -> (Pid, Vec<(String, Option<Pid>)>, [i64; 4]) {
    let node = node();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let log = new_log();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log)).restart(restart)).await;
            terminate(p, &mut ev, c1, how).await;
            if restart == Restart::Permanent
                || (restart == Restart::Transient && matches!(how, How::Abnormal))
            {
                restarted(&mut ev, c1).await;
            }
            (c1, listing(p, sup).await, counts(p, sup).await)
        })
    })
    .await
}

fn assert_restarted(old: Pid, listed: &[(String, Option<Pid>)], counts: [i64; 4]) {
    assert_eq!(listed.len(), 1);
    let new = listed[0].1.expect("the child was not restarted");
    assert_ne!(new, old);
    assert_eq!(counts, [1, 1, 0, 1]);
}

#[tokio::test]
async fn permanent_normal_is_restarted() {
    let (old, listed, counts) = restart_case(Restart::Permanent, How::Normal).await;
    assert_restarted(old, &listed, counts);
}

#[tokio::test]
async fn transient_normal_is_not_restarted_and_its_spec_stays() {
    let (_, listed, counts) = restart_case(Restart::Transient, How::Normal).await;
    assert_eq!(listed, [("child1".to_string(), None)]);
    assert_eq!(counts, [1, 0, 0, 1]);
}

#[tokio::test]
async fn temporary_normal_is_not_restarted_and_its_spec_is_dropped() {
    let (_, listed, counts) = restart_case(Restart::Temporary, How::Normal).await;
    assert!(listed.is_empty());
    assert_eq!(counts, [0, 0, 0, 0]);
}

#[tokio::test]
async fn permanent_shutdown_is_restarted_also_for_shutdown_with_info() {
    let (old, listed, counts) = restart_case(Restart::Permanent, How::Shutdown).await;
    assert_restarted(old, &listed, counts);
    let (old, listed, counts) = restart_case(Restart::Permanent, How::ShutdownInfo).await;
    assert_restarted(old, &listed, counts);
}

#[tokio::test]
async fn transient_shutdown_is_not_restarted_also_for_shutdown_with_info() {
    for how in [How::Shutdown, How::ShutdownInfo] {
        let (_, listed, counts) = restart_case(Restart::Transient, how).await;
        assert_eq!(listed, [("child1".to_string(), None)]);
        assert_eq!(counts, [1, 0, 0, 1]);
    }
}

#[tokio::test]
async fn temporary_shutdown_is_not_restarted_also_for_shutdown_with_info() {
    for how in [How::Shutdown, How::ShutdownInfo] {
        let (_, listed, counts) = restart_case(Restart::Temporary, how).await;
        assert!(listed.is_empty());
        assert_eq!(counts, [0, 0, 0, 0]);
    }
}

#[tokio::test]
async fn permanent_abnormal_is_restarted() {
    let (old, listed, counts) = restart_case(Restart::Permanent, How::Abnormal).await;
    assert_restarted(old, &listed, counts);
}

#[tokio::test]
async fn transient_abnormal_is_restarted() {
    let (old, listed, counts) = restart_case(Restart::Transient, How::Abnormal).await;
    assert_restarted(old, &listed, counts);
}

#[tokio::test]
async fn temporary_abnormal_is_not_restarted() {
    let (_, listed, counts) = restart_case(Restart::Temporary, How::Abnormal).await;
    assert!(listed.is_empty());
    assert_eq!(counts, [0, 0, 0, 0]);
}

#[tokio::test]
async fn temporary_bystander_killed_by_a_group_restart_is_not_restarted() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let ms = Shutdown::Timeout(Duration::from_millis(100));
            let child1 = worker(Arg::new("child1", &log)).shutdown(ms);
            let child2 = worker(Arg::new("child2", &log))
                .restart(Restart::Temporary)
                .shutdown(ms);
            let sup1 = supervisor::start_link(p, spec(Strategy::OneForAll, 2, 300, vec![]))
                .await
                .unwrap();
            let sup2 = supervisor::start_link(p, spec(Strategy::RestForOne, 2, 300, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup1, child1.clone()).await;
            let c2 = start_ok(p, sup1, child2.clone()).await;
            let c3 = start_ok(p, sup2, child1).await;
            let c4 = start_ok(p, sup2, child2).await;
            terminate(p, &mut ev, c1, How::Normal).await;
            restarted(&mut ev, c1).await;
            terminate(p, &mut ev, c3, How::Normal).await;
            restarted(&mut ev, c3).await;
            assert!(p.node().alive(sup1) && p.node().alive(sup2));
            assert!(
                !p.node().alive(c2) && !p.node().alive(c4),
                "the bystanders were stopped"
            );
            for sup in [sup1, sup2] {
                let listed = listing(p, sup).await;
                assert_eq!(listed.len(), 1, "{listed:?}");
                assert_eq!(listed[0].0, "child1");
            }
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn multiple_restarts_spaced_past_the_period_never_exhaust_intensity() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 1, 1, vec![]))
                .await
                .unwrap();
            let child = worker(Arg::new("child1", &log)).shutdown(Shutdown::BrutalKill);
            let mut c = start_ok(p, sup, child).await;
            terminate(p, &mut ev, c, How::Abnormal).await;
            c = restarted(&mut ev, c).await;
            for _ in 0..3 {
                tokio::time::advance(Duration::from_millis(2100)).await;
                assert_eq!(pid_of(p, sup, "child1").await, c);
                terminate(p, &mut ev, c, How::Abnormal).await;
                c = restarted(&mut ev, c).await;
            }
            assert!(p.node().alive(sup));
            let done =
                supervisor::terminate_child(p.node(), p.pid(), &Dest::Pid(sup), atom("child1"))
                    .await
                    .unwrap();
            assert!(done);
            assert!(!p.node().alive(c));
        })
    })
    .await;
}

#[tokio::test]
async fn one_for_one_restarts_only_the_dead_child_and_gives_up_past_intensity() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log))).await;
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log))).await;
            terminate(p, &mut ev, c1, How::Abnormal).await;
            let n1 = restarted(&mut ev, c1).await;
            assert_eq!(
                listing(p, sup).await,
                [("child1".into(), Some(n1)), ("child2".into(), Some(c2))]
            );
            assert_eq!(counts(p, sup).await, [2, 2, 0, 2]);
            terminate(p, &mut ev, c2, How::Abnormal).await;
            restarted(&mut ev, c2).await;
            terminate(p, &mut ev, n1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn one_for_one_escalation_a_child_that_cannot_restart_takes_the_supervisor_down() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 4, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, error_worker(Arg::new("child1", &log))).await;
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log).trap())).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
            // child1 ran terminate when it stopped itself; child2 when the supervisor stopped it.
            assert_eq!(notes(&log, "terminated"), ["child1", "child2"]);
        })
    })
    .await;
}

#[tokio::test]
async fn one_for_all_restarts_every_child_with_new_pids_and_gives_up_past_intensity() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::OneForAll, 2, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log))).await;
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log))).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
            let n2 = restarted_id(&mut ev, sup, "child2").await;
            let listed = listing(p, sup).await;
            assert_eq!(listed.len(), 2);
            let pids: Vec<Pid> = listed.iter().map(|(_, p)| p.unwrap()).collect();
            assert!(
                !pids.contains(&c1) && !pids.contains(&c2),
                "no old child is left"
            );
            assert_eq!(pids[1], n2);
            assert_eq!(counts(p, sup).await, [2, 2, 0, 2]);
            terminate(p, &mut ev, pids[0], How::Abnormal).await;
            let n1 = restarted_id(&mut ev, sup, "child1").await;
            restarted_id(&mut ev, sup, "child2").await;
            terminate(p, &mut ev, n1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn one_for_all_escalation_a_sibling_that_cannot_restart_takes_the_supervisor_down() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::OneForAll, 4, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log))).await;
            let c2 = start_ok(p, sup, error_worker(Arg::new("child2", &log))).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

/// The starter of the `*_other_child_fails_restart` cases: starts the supervisor (whose
/// children wait for the tester's word in their `init`), tells the tester its pid, and
/// stops on `:stop`.
fn starter(p: &mut Process, tester: Pid, strategy: Strategy, log: &Log) -> Pid {
    let children = vec![
        worker(Arg::new("child1", log).gate(tester)),
        worker(Arg::new("child2", log).gate(tester)),
    ];
    let sup_spec = spec(strategy, 3, 3600, children);
    p.spawn_link(move |s: &mut Process| {
        Box::pin(async move {
            let sup = supervisor::start_link(s, sup_spec).await.unwrap();
            s.send(tester, Term::tuple(vec![atom("sup_pid"), Term::Pid(sup)]));
            s.receive_match(
                |e| matches!(e, Envelope::Message(t) if t.is_atom("stop")),
                None,
            )
            .await;
            ExitReason::Normal
        })
    })
    .unwrap()
}

#[tokio::test]
async fn one_for_all_other_child_fails_restart_terminates_the_restarted_child_and_retries_all() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let starter = starter(p, p.pid(), Strategy::OneForAll, &log);
            let c1 = tagged(p, "child1").await;
            p.send(c1, atom("go"));
            let c2 = tagged(p, "child2").await;
            p.send(c2, atom("go"));
            let sup = tagged(p, "sup_pid").await;
            p.link(sup);
            p.exit(c1, ExitReason::atom("die"));
            // child1 restarts; child2 does not.
            let c1b = tagged(p, "child1").await;
            let r = p.monitor(c1b);
            p.send(c1b, atom("go"));
            let c2b = tagged(p, "child2").await;
            p.send(c2b, atom("fail"));
            // The restarted child1 is terminated before anything starts again.
            let first = p
                .receive_match(
                    move |e| {
                        down_ref(e).is_some_and(|(x, _)| x == r)
                            || matches!(e, Envelope::Message(t) if t.tag() == Some("child1") || t.tag() == Some("child2"))
                    },
                    Some(PATIENCE),
                )
                .await
                .expect("neither a DOWN nor a start");
            let (_, reason) = down_ref(&first).expect("a child started before child1 was stopped");
            assert!(reason.is_atom("shutdown"));
            // Then the whole group starts again, in order.
            let c1c = tagged(p, "child1").await;
            p.send(c1c, atom("go"));
            let c2c = tagged(p, "child2").await;
            p.send(c2c, atom("go"));
            assert_eq!(pending_start(p, sup).await, None, "nothing else restarts");
            p.send(starter, atom("stop"));
            assert_eq!(exit_of(p, starter).await, ExitReason::Normal);
            assert_eq!(exit_of(p, sup).await, ExitReason::Normal);
        })
    })
    .await;
}

/// Once the supervisor has answered a call (so it is done restarting), the tag of a gated
/// child's start request still queued here, if any.
async fn pending_start(p: &mut Process, sup: Pid) -> Option<String> {
    let _ = children(p, sup).await;
    p.take_match(|e| {
        matches!(e, Envelope::Message(t) if t.tag() == Some("child1") || t.tag() == Some("child2"))
    })
    .map(|e| e.to_term().tag().unwrap_or("?").to_string())
}

#[tokio::test]
async fn rest_for_one_other_child_fails_restart_retries_only_the_failed_child() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let starter = starter(p, p.pid(), Strategy::RestForOne, &log);
            let c1 = tagged(p, "child1").await;
            p.send(c1, atom("go"));
            let c2 = tagged(p, "child2").await;
            p.send(c2, atom("go"));
            let sup = tagged(p, "sup_pid").await;
            p.link(sup);
            p.exit(c1, ExitReason::atom("die"));
            let c1b = tagged(p, "child1").await;
            p.send(c1b, atom("go"));
            let c2b = tagged(p, "child2").await;
            p.send(c2b, atom("fail"));
            // Only child2 is tried again; the restarted child1 stays.
            let next = p
                .receive_match(
                    |e| matches!(e, Envelope::Message(t) if t.tag() == Some("child1") || t.tag() == Some("child2")),
                    Some(PATIENCE),
                )
                .await
                .expect("child2 was not tried again");
            assert_eq!(next.to_term().tag(), Some("child2"), "child1 was restarted again");
            let c2c = next.to_term().as_tuple().unwrap()[1].as_pid().unwrap();
            p.send(c2c, atom("go"));
            assert_eq!(
                listing(p, sup).await,
                [("child1".into(), Some(c1b)), ("child2".into(), Some(c2c))]
            );
            p.send(starter, atom("stop"));
            assert_eq!(exit_of(p, starter).await, ExitReason::Normal);
            assert_eq!(exit_of(p, sup).await, ExitReason::Normal);
        })
    })
    .await;
}

#[tokio::test]
async fn rest_for_one_restarts_the_dead_child_and_those_after_it() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::RestForOne, 2, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log))).await;
            p.link(c1);
            let c2 = start_ok(p, sup, worker(Arg::new("child2", &log))).await;
            let c3 = start_ok(p, sup, worker(Arg::new("child3", &log))).await;
            p.link(c3);
            assert_eq!(counts(p, sup).await, [3, 3, 0, 3]);
            terminate(p, &mut ev, c2, How::Abnormal).await;
            assert_eq!(exit_of(p, c3).await, ExitReason::Shutdown);
            let n2 = restarted(&mut ev, c2).await;
            let n3 = restarted_id(&mut ev, sup, "child3").await;
            assert_eq!(
                listing(p, sup).await,
                [
                    ("child1".into(), Some(c1)),
                    ("child2".into(), Some(n2)),
                    ("child3".into(), Some(n3))
                ]
            );
            assert!(n3 != c3 && n2 != c2);
            assert_eq!(counts(p, sup).await, [3, 3, 0, 3]);
            terminate(p, &mut ev, n3, How::Abnormal).await;
            restarted(&mut ev, n3).await;
            terminate(p, &mut ev, n2, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c1).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn rest_for_one_escalation_a_later_child_that_cannot_restart_takes_the_supervisor_down() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, spec(Strategy::RestForOne, 4, 3600, vec![]))
                .await
                .unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child1", &log))).await;
            let c2 = start_ok(p, sup, error_worker(Arg::new("child2", &log))).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn simple_one_for_one_restarts_only_the_dead_child_and_gives_up_past_intensity() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, dynamic(2, 3600)).await.unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child", &log))).await;
            let c2 = start_ok(p, sup, worker(Arg::new("child", &log))).await;
            terminate(p, &mut ev, c1, How::Abnormal).await;
            let n1 = restarted(&mut ev, c1).await;
            let listed = listing(p, sup).await;
            assert_eq!(listed.len(), 2);
            assert!(listed.iter().any(|(_, p)| *p == Some(c2)));
            assert!(listed.iter().any(|(_, p)| *p == Some(n1)));
            assert_eq!(counts(p, sup).await, [2, 2, 0, 2]);
            terminate(p, &mut ev, c2, How::Abnormal).await;
            restarted(&mut ev, c2).await;
            terminate(p, &mut ev, n1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn simple_one_for_one_shutdown_stops_children_together_within_their_shutdown_time() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, dynamic(2, 3600)).await.unwrap();
            let shutdown = Shutdown::Timeout(Duration::from_millis(2000));
            let mut kids = vec![];
            for (id, ms) in [("c1", 1000), ("c2", 1000), ("c3", 5000)] {
                let spec = worker(Arg::new(id, &log).terminate_ms(ms)).shutdown(shutdown);
                kids.push(start_ok(p, sup, spec).await);
            }
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            // Longer than one child's terminate, shorter than the slow one's: in parallel,
            // and the slow one killed at its shutdown time.
            assert_eq!(t0.elapsed(), Duration::from_millis(2000));
            let reasons = all_gone(&mut ev, &kids).await;
            assert_eq!(
                reasons,
                [
                    ExitReason::Shutdown,
                    ExitReason::Shutdown,
                    ExitReason::Killed
                ]
            );
        })
    })
    .await;
}

#[tokio::test]
async fn simple_one_for_one_extra_a_restart_reuses_that_childs_own_start_arguments() {
    // OTP's case checks children whose start returns `{ok, Pid, Info}`; the runtime's start
    // returns a pid only, so this port checks the part that carries over: each dynamic child
    // is restarted with its own start arguments, and the intensity still applies.
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, dynamic(2, 3600)).await.unwrap();
            let c1 = start_ok(p, sup, worker(Arg::new("child", &log).value(11))).await;
            let c2 = start_ok(p, sup, worker(Arg::new("child", &log).value(22))).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            let n1 = restarted(&mut ev, c1).await;
            assert_eq!(p.call(n1, atom("get"), None).await, Ok(Term::Int(11)));
            assert_eq!(p.call(c2, atom("get"), None).await, Ok(Term::Int(22)));
            assert_eq!(counts(p, sup).await, [2, 2, 0, 2]);
            terminate(p, &mut ev, c2, How::Abnormal).await;
            let n2 = restarted(&mut ev, c2).await;
            assert_eq!(p.call(n2, atom("get"), None).await, Ok(Term::Int(22)));
            terminate(p, &mut ev, n1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn simple_one_for_one_escalation_a_child_that_cannot_restart_takes_the_supervisor_down() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, dynamic(4, 3600)).await.unwrap();
            let c1 = start_ok(p, sup, error_worker(Arg::new("child", &log))).await;
            p.link(c1);
            let c2 = start_ok(p, sup, worker(Arg::new("child", &log))).await;
            p.link(c2);
            terminate(p, &mut ev, c1, How::Abnormal).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(exit_of(p, c2).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test]
async fn simple_one_for_one_scale_many_temporary_children_terminate_one_by_one() {
    let node = node();
    let log = new_log();
    let (t1, t2) = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, dynamic(2, 3600)).await.unwrap();
            let child = worker(Arg::new("child", &log)).restart(Restart::Temporary);
            // Best of three rounds per size, so a preemption on a busy machine does not count.
            let mut times = vec![];
            for n in [1_000, 10_000] {
                let mut best = Duration::MAX;
                for _ in 0..3 {
                    let mut kids = Vec::with_capacity(n);
                    for _ in 0..n {
                        kids.push(start_ok(p, sup, child.clone()).await);
                    }
                    let t0 = std::time::Instant::now();
                    for kid in kids {
                        let done = supervisor::terminate_child(
                            p.node(),
                            p.pid(),
                            &Dest::Pid(sup),
                            Term::Pid(kid),
                        )
                        .await
                        .unwrap();
                        assert!(done);
                    }
                    best = best.min(t0.elapsed());
                    assert_eq!(counts(p, sup).await, [0, 0, 0, 0]);
                }
                times.push(best);
            }
            (times[0], times[1])
        })
    })
    .await;
    // OTP's suite also compares the two times (linear would be 10x); here speed is measured
    // by the benchmarks, never asserted in a test, so the figures are only printed.
    eprintln!("terminate_child: {t1:?} for 1000 children, {t2:?} for 10000");
    assert!(t1 > Duration::ZERO && t2 > Duration::ZERO);
}

#[tokio::test]
async fn count_children_counts_thousands_of_dynamic_children_and_their_deaths() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, dynamic(2, 3600)).await.unwrap();
            let child = worker(Arg::new("child", &log)).restart(Restart::Temporary);
            for _ in 0..1000 {
                start_ok(p, sup, child.clone()).await;
            }
            let first = children(p, sup).await;
            let first_counts = counts(p, sup).await;
            for _ in 0..1000 {
                start_ok(p, sup, child.clone()).await;
            }
            let second_counts = counts(p, sup).await;
            let second = children(p, sup).await;
            assert_eq!(first.len(), 1000);
            assert_eq!(first_counts, [1000, 1000, 0, 1000]);
            assert_eq!(second.len(), 2000);
            assert_eq!(second_counts, [2000, 2000, 0, 2000]);
            let again: Vec<Option<Pid>> = children(p, sup).await.iter().map(|c| c.pid).collect();
            let second: Vec<Option<Pid>> = second.iter().map(|c| c.pid).collect();
            assert_eq!(again, second, "which_children is stable");
            let mut ev = p.node().events();
            for pid in &second {
                p.exit(pid.unwrap(), ExitReason::Kill);
            }
            let pids: Vec<Pid> = second.iter().map(|p| p.unwrap()).collect();
            let reasons = all_gone(&mut ev, &pids).await;
            assert!(reasons.iter().all(|r| *r == ExitReason::Killed));
            assert_eq!(counts(p, sup).await, [0, 0, 0, 0]);
        })
    })
    .await;
}

#[tokio::test]
async fn tree_a_subtree_that_gives_up_is_restarted_by_its_parent_without_its_dynamic_children() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup1_spec = spec(
                Strategy::OneForOne,
                4,
                3600,
                vec![
                    worker(Arg::new("child1", &log)),
                    worker(Arg::new("child2", &log)),
                ],
            );
            let sup2_spec = spec(Strategy::OneForOne, 4, 3600, vec![]);
            let top = supervisor::start_link(p, spec(Strategy::OneForAll, 4, 3600, vec![]))
                .await
                .unwrap();
            let sup1 = start_ok(p, top, sup_child("supchild1", sup1_spec)).await;
            let sup2 = start_ok(p, top, sup_child("supchild2", sup2_spec)).await;
            assert_eq!(counts(p, top).await, [2, 2, 2, 0]);
            let workers1 = listing(p, sup1).await;
            assert_eq!(counts(p, sup1).await, [2, 2, 0, 2]);
            assert_eq!(counts(p, sup2).await, [0, 0, 0, 0]);
            let c3 = start_ok(p, sup2, error_worker(Arg::new("child3", &log))).await;
            let c4 = start_ok(p, sup2, worker(Arg::new("child4", &log))).await;
            assert_eq!(counts(p, sup2).await, [2, 2, 0, 2]);
            // Only the process that died is restarted.
            terminate(p, &mut ev, c4, How::Abnormal).await;
            let n4 = restarted(&mut ev, c4).await;
            assert_ne!(n4, c4);
            assert_eq!(listing(p, sup1).await, workers1);
            assert_eq!(
                listing(p, sup2).await,
                [("child3".into(), Some(c3)), ("child4".into(), Some(n4))]
            );
            // child3 cannot restart: supchild2 gives up, and the top restarts the whole tree,
            // without the children that were added to supchild2 by start_child.
            terminate(p, &mut ev, c3, How::Abnormal).await;
            gave_up(&mut ev, sup2).await;
            let new1 = restarted_id(&mut ev, top, "supchild1").await;
            let new2 = restarted_id(&mut ev, top, "supchild2").await;
            assert!(new1 != sup1 && new2 != sup2);
            assert_eq!(
                listing(p, top).await,
                [
                    ("supchild1".into(), Some(new1)),
                    ("supchild2".into(), Some(new2))
                ]
            );
            assert_eq!(counts(p, top).await, [2, 2, 2, 0]);
            let ids: Vec<String> = listing(p, new1).await.into_iter().map(|(i, _)| i).collect();
            assert_eq!(ids, ["child1", "child2"]);
            assert_eq!(counts(p, new1).await, [2, 2, 0, 2]);
            assert!(listing(p, new2).await.is_empty());
            assert_eq!(counts(p, new2).await, [0, 0, 0, 0]);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn hanging_restart_loop_the_supervisor_stays_responsive_and_can_be_stopped() {
    // A child whose restart hangs 2 s and then fails, under 8 restarts in 10 s: the intensity
    // is never reached, so the supervisor retries for ever. Between attempts it must still
    // answer calls, let the child be terminated, and stop when its parent says so (OTP-9549).
    // OTP's `restart_child` has no equivalent here; the second half uses a second child.
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(
                p,
                spec(Strategy::OneForOne, 8, 10, vec![]).named("sup_test"),
            )
            .await
            .unwrap();
            let fail = Arc::new(AtomicBool::new(false));
            let child1 =
                worker(Arg::new("child1", &log).fail_start(&fail)).shutdown(Shutdown::BrutalKill);
            let c1 = start_ok(p, sup, child1.clone()).await;
            p.link(c1);
            fail.store(true, Ordering::SeqCst);
            p.send(c1, Term::tuple(vec![atom("exit"), atom("error")]));
            assert_eq!(exit_of(p, c1).await, ExitReason::atom("error"));
            // Wait for a failed restart attempt: a Worker that exits with `:error` on its own.
            event(&mut ev, |e| match e {
                Event::Exited(e) if e.pid != c1 && &*e.label == "Worker" => {
                    (e.reason == ExitReason::atom("error")).then_some(())
                }
                _ => None,
            })
            .await;
            assert_eq!(
                start_child(p, sup, child1).await,
                Err(StartError::Init(ExitReason::atom("already_present")))
            );
            assert_eq!(listing(p, sup).await, [("child1".into(), None)]);
            assert_eq!(counts(p, sup).await, [1, 0, 0, 1]);
            let done =
                supervisor::terminate_child(p.node(), p.pid(), &Dest::Pid(sup), atom("child1"))
                    .await
                    .unwrap();
            assert!(done, "terminate_child of a restarting child is :ok");
            assert_eq!(listing(p, sup).await, [("child1".into(), None)]);
            // A second child enters the same loop; the supervisor is stopped in the middle.
            fail.store(false, Ordering::SeqCst);
            let child2 =
                worker(Arg::new("child2", &log).fail_start(&fail)).shutdown(Shutdown::BrutalKill);
            let c2 = start_ok(p, sup, child2).await;
            p.link(c2);
            fail.store(true, Ordering::SeqCst);
            p.send(c2, Term::tuple(vec![atom("exit"), atom("error")]));
            assert_eq!(exit_of(p, c2).await, ExitReason::atom("error"));
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(p.node().whereis(a("sup_test")), None);
        })
    })
    .await;
}

#[tokio::test]
async fn s1_default_intensity_is_elixirs_three_restarts_in_five_seconds() {
    let flags = Flags::new(Strategy::OneForOne);
    assert_eq!((flags.max_restarts, flags.max_seconds), (3, 5));
    let node = node();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let sup = supervisor::start_link(p, Spec::new("Sup", flags, vec![]))
                .await
                .unwrap();
            let state = p
                .node()
                .get_state(&Dest::Pid(sup), Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(state.get("intensity"), Some(&Term::Int(3)));
            assert_eq!(state.get("period"), Some(&Term::Int(5)));
        })
    })
    .await;
}

/// Three trapping children `a`, `b`, `c` under a default one_for_one supervisor.
async fn abc(p: &mut Process, log: &Log, strategy: Strategy) -> Pid {
    let children = ["a", "b", "c"]
        .map(|id| worker(Arg::new(id, log).trap()))
        .to_vec();
    supervisor::start_link(p, Spec::new("Sup", Flags::new(strategy), children))
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn s2_three_restarts_in_4_9_s_survive_the_fourth_gives_up_stopping_children_in_reverse() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = abc(p, &log, Strategy::OneForOne).await;
            let t0 = Instant::now();
            let mut b = pid_of(p, sup, "b").await;
            for at in [0, 2450, 4900] {
                advance_to(t0, at).await;
                terminate(p, &mut ev, b, How::Kill).await;
                b = restarted(&mut ev, b).await;
            }
            assert!(p.node().alive(sup), "three restarts in 4.9 s are tolerated");
            assert_eq!(t0.elapsed(), Duration::from_millis(4900));
            terminate(p, &mut ev, b, How::Kill).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            // The others were stopped by the supervisor, last started first, through
            // terminate; b was killed and has nothing to run.
            assert_eq!(notes(&log, "terminate"), ["c", "a"]);
            assert_eq!(notes(&log, "terminated"), ["c", "a"]);
            assert_eq!(p.node().count(), 1, "only the test process is left");
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s3_a_restart_older_than_the_period_no_longer_counts() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = abc(p, &log, Strategy::OneForOne).await;
            let t0 = Instant::now();
            let mut b = pid_of(p, sup, "b").await;
            // Restarts at 0, 1, 2 s; at 5.1 s the one at 0 has left the window.
            for at in [0, 1000, 2000, 5100] {
                advance_to(t0, at).await;
                terminate(p, &mut ev, b, How::Kill).await;
                b = restarted(&mut ev, b).await;
            }
            assert!(p.node().alive(sup));
            // At 5.5 s the window holds 1, 2, 5.1 and 5.5: four, one too many.
            advance_to(t0, 5500).await;
            terminate(p, &mut ev, b, How::Kill).await;
            gave_up(&mut ev, sup).await;
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s3_after_the_window_slides_three_more_restarts_are_fine() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = abc(p, &log, Strategy::OneForOne).await;
            let t0 = Instant::now();
            let mut b = pid_of(p, sup, "b").await;
            for at in [0, 1000, 2000, 7500, 8000, 9000] {
                advance_to(t0, at).await;
                terminate(p, &mut ev, b, How::Kill).await;
                b = restarted(&mut ev, b).await;
            }
            assert!(
                p.node().alive(sup),
                "six restarts, never more than three in 5 s"
            );
            assert!(p.node().alive(b));
        })
    })
    .await;
}

#[tokio::test]
async fn s4_a_group_restart_of_three_children_counts_as_one_restart() {
    for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
        let node = node();
        let log = new_log();
        within(&node, move |p: &mut Process| {
            Box::pin(async move {
                p.trap_exit(true);
                let mut ev = p.node().events();
                let children = ["a", "b", "c"]
                    .map(|id| worker(Arg::new(id, &log)))
                    .to_vec();
                let sup = supervisor::start_link(
                    p,
                    Spec::new("Sup", Flags::new(strategy).intensity(1, 5), children),
                )
                .await
                .unwrap();
                let a = pid_of(p, sup, "a").await;
                terminate(p, &mut ev, a, How::Kill).await;
                restarted_id(&mut ev, sup, "a").await;
                restarted_id(&mut ev, sup, "b").await;
                restarted_id(&mut ev, sup, "c").await;
                assert!(
                    p.node().alive(sup),
                    "{strategy:?}: three restarts counted as one"
                );
                let b = pid_of(p, sup, "b").await;
                terminate(p, &mut ev, b, How::Kill).await;
                gave_up(&mut ev, sup).await;
                assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            })
        })
        .await;
    }
}

/// A supervisor child that gives up at its first restart (intensity 0), over one worker.
fn fragile_sup(id: &'static str, log: &Log) -> ChildSpec {
    let inner = Spec::new(
        "Fragile",
        Flags::new(Strategy::OneForOne).intensity(0, 5),
        vec![worker(Arg::new("inner", log))],
    );
    sup_child(id, inner)
}

#[tokio::test]
async fn s5_a_permanent_supervisor_that_gives_up_is_restarted_by_its_parent() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let children = vec![fragile_sup("sub", &log), worker(Arg::new("other", &log))];
            let top = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, children))
                .await
                .unwrap();
            let sub = pid_of(p, top, "sub").await;
            let other = pid_of(p, top, "other").await;
            let inner = pid_of(p, sub, "inner").await;
            terminate(p, &mut ev, inner, How::Kill).await;
            gave_up(&mut ev, sub).await;
            assert_eq!(gone(&mut ev, sub).await, ExitReason::Shutdown);
            let new_sub = restarted(&mut ev, sub).await;
            assert_ne!(new_sub, sub);
            let new_inner = pid_of(p, new_sub, "inner").await;
            assert_ne!(new_inner, inner);
            assert_eq!(
                pid_of(p, top, "other").await,
                other,
                "one_for_one: siblings stay"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s5_a_transient_supervisor_that_gives_up_with_shutdown_is_not_restarted() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let children = vec![fragile_sup("sub", &log).restart(Restart::Transient)];
            let top = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, children))
                .await
                .unwrap();
            let sub = pid_of(p, top, "sub").await;
            let inner = pid_of(p, sub, "inner").await;
            terminate(p, &mut ev, inner, How::Kill).await;
            assert_eq!(gone(&mut ev, sub).await, ExitReason::Shutdown);
            assert_eq!(listing(p, top).await, [("sub".into(), None)]);
            assert!(p.node().alive(top));
        })
    })
    .await;
}

#[tokio::test]
async fn s5_escalation_is_handled_by_the_parents_strategy() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let children = vec![
                worker(Arg::new("before", &log)),
                fragile_sup("sub", &log),
                worker(Arg::new("after", &log)),
            ];
            let top = supervisor::start_link(p, spec(Strategy::RestForOne, 3, 5, children))
                .await
                .unwrap();
            let before = pid_of(p, top, "before").await;
            let after = pid_of(p, top, "after").await;
            let sub = pid_of(p, top, "sub").await;
            let inner = pid_of(p, sub, "inner").await;
            terminate(p, &mut ev, inner, How::Kill).await;
            gave_up(&mut ev, sub).await;
            restarted(&mut ev, sub).await;
            let new_after = restarted_id(&mut ev, top, "after").await;
            assert_ne!(new_after, after, "rest_for_one: the later sibling restarts");
            assert_eq!(
                pid_of(p, top, "before").await,
                before,
                "the earlier one stays"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s6_a_process_that_started_a_supervisor_that_gives_up_dies_with_shutdown() {
    // The runtime half of S6: the shell's evaluator does not trap exits, so the `:shutdown`
    // of the top supervisor it linked to kills it; the node goes on, and a fresh evaluator
    // can start the system again.
    let node = node();
    let log = new_log();
    let mut ev = node.events();
    let (evaluator, sup) = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spec = Spec::new(
                "Top",
                Flags::new(Strategy::OneForOne).intensity(0, 5),
                vec![worker(Arg::new("a", &log))],
            );
            let evaluator = p
                .spawn(move |e: &mut Process| {
                    Box::pin(async move {
                        let sup = supervisor::start_link(e, spec).await.unwrap();
                        let _ = tx.send(sup);
                        loop {
                            e.receive().await;
                        }
                    })
                })
                .unwrap();
            (evaluator, rx.await.unwrap())
        })
    })
    .await;
    let a = within(&node, move |p: &mut Process| {
        Box::pin(async move { pid_of(p, sup, "a").await })
    })
    .await;
    node.exit(a, a, ExitReason::Kill);
    assert_eq!(gone(&mut ev, sup).await, ExitReason::Shutdown);
    assert_eq!(gone(&mut ev, evaluator).await, ExitReason::Shutdown);
    let log = new_log();
    let again = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let spec = spec(Strategy::OneForOne, 3, 5, vec![worker(Arg::new("a", &log))]);
            supervisor::start_link(p, spec).await
        })
    })
    .await;
    assert!(again.is_ok());
}

#[tokio::test(start_paused = true)]
async fn s7_children_start_in_order_each_after_the_previous_init_returned() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let children = vec![
                worker(Arg::new("a", &log).named("s7_a").init_ms(500)),
                worker(Arg::new("b", &log).named("s7_b").needs("s7_a")),
                worker(Arg::new("c", &log).needs("s7_b")),
            ];
            let t0 = Instant::now();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, children))
                .await
                .unwrap();
            // start_link returned after every init, the slow first one included.
            assert_eq!(t0.elapsed(), Duration::from_millis(500));
            assert_eq!(notes(&log, "init"), ["a", "b", "c"]);
            let listed = listing(p, sup).await;
            let ids: Vec<&str> = listed.iter().map(|(i, _)| i.as_str()).collect();
            assert_eq!(ids, ["a", "b", "c"]);
            assert!(
                listed
                    .iter()
                    .all(|(_, pid)| pid.is_some_and(|x| p.node().alive(x)))
            );
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s8_stopping_a_supervisor_terminates_children_in_reverse_order_one_at_a_time() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let children = ["a", "b", "c"]
                .map(|id| worker(Arg::new(id, &log).terminate_ms(1000)))
                .to_vec();
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, children))
                .await
                .unwrap();
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            let stops: Vec<String> = entries(&log)
                .into_iter()
                .filter(|e| !e.starts_with("init:"))
                .collect();
            assert_eq!(
                stops,
                [
                    "terminate:c",
                    "terminated:c",
                    "terminate:b",
                    "terminated:b",
                    "terminate:a",
                    "terminated:a"
                ]
            );
            assert_eq!(t0.elapsed(), Duration::from_millis(3000));
        })
    })
    .await;
}

#[tokio::test]
async fn s13_one_for_all_stops_the_others_in_reverse_then_starts_all_in_order_with_new_pids() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = abc(p, &log, Strategy::OneForAll).await;
            let old: Vec<Pid> = listing(p, sup)
                .await
                .iter()
                .map(|(_, x)| x.unwrap())
                .collect();
            log.lock().unwrap().clear();
            terminate(p, &mut ev, old[1], How::Kill).await;
            restarted_id(&mut ev, sup, "c").await;
            assert_eq!(
                entries(&log),
                [
                    "terminate:c",
                    "terminated:c",
                    "terminate:a",
                    "terminated:a",
                    "init:a",
                    "init:b",
                    "init:c"
                ]
            );
            let new: Vec<Pid> = listing(p, sup)
                .await
                .iter()
                .map(|(_, x)| x.unwrap())
                .collect();
            assert!(
                new.iter().all(|n| !old.contains(n)),
                "every child has a new pid"
            );
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s9_brutal_kill_kills_at_once_without_terminate() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let child =
                worker(Arg::new("a", &log).terminate_ms(10_000)).shutdown(Shutdown::BrutalKill);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, vec![child]))
                .await
                .unwrap();
            let a = pid_of(p, sup, "a").await;
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(gone(&mut ev, a).await, ExitReason::Killed);
            assert_eq!(t0.elapsed(), Duration::ZERO);
            assert!(notes(&log, "terminate").is_empty());
        })
    })
    .await;
}

/// Stops a one-child supervisor; returns how the child ended, how long it took, and whether
/// the child's terminate began and ended.
async fn stop_one(arg: Arg, shutdown: Option<Shutdown>) -> (ExitReason, Duration, bool, bool) {
    let node = node();
    let log = arg.log.clone();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let mut child = worker(arg);
            if let Some(s) = shutdown {
                child = child.shutdown(s);
            }
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, vec![child]))
                .await
                .unwrap();
            let kid = children(p, sup).await[0].pid.unwrap();
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            let elapsed = t0.elapsed();
            let reason = gone(&mut ev, kid).await;
            (
                reason,
                elapsed,
                !notes(&log, "terminate").is_empty(),
                !notes(&log, "terminated").is_empty(),
            )
        })
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn s9_a_trapping_child_still_in_terminate_after_its_timeout_is_killed() {
    let log = new_log();
    let arg = Arg::new("a", &log).terminate_ms(200_000);
    let out = stop_one(arg, Some(Shutdown::Timeout(Duration::from_millis(1000)))).await;
    assert_eq!(
        out,
        (ExitReason::Killed, Duration::from_millis(1000), true, false)
    );
}

#[tokio::test(start_paused = true)]
async fn s9_a_trapping_child_that_ends_terminate_in_time_ends_with_shutdown() {
    let log = new_log();
    let arg = Arg::new("a", &log).terminate_ms(300);
    let out = stop_one(arg, Some(Shutdown::Timeout(Duration::from_millis(1000)))).await;
    assert_eq!(
        out,
        (ExitReason::Shutdown, Duration::from_millis(300), true, true)
    );
}

#[tokio::test(start_paused = true)]
async fn s9_a_child_not_trapping_exits_dies_at_once_with_shutdown() {
    let log = new_log();
    let arg = Arg::new("a", &log);
    let out = stop_one(arg, Some(Shutdown::Timeout(Duration::from_millis(1000)))).await;
    assert_eq!(out, (ExitReason::Shutdown, Duration::ZERO, false, false));
}

#[tokio::test(start_paused = true)]
async fn s9_a_worker_defaults_to_5000_ms_and_a_supervisor_to_infinity() {
    let log = new_log();
    let spec_w = worker(Arg::new("a", &log));
    assert_eq!(
        spec_w.shutdown,
        Shutdown::Timeout(Duration::from_millis(5000))
    );
    assert_eq!(spec_w.kind, ChildKind::Worker);
    let out = stop_one(Arg::new("a", &log).terminate_ms(60_000), None).await;
    assert_eq!(
        out,
        (ExitReason::Killed, Duration::from_millis(5000), true, false)
    );
    // A supervisor child is waited for as long as it takes (its own child takes 20 s).
    let node = node();
    let log2 = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let slow =
                worker(Arg::new("slow", &log2).terminate_ms(20_000)).shutdown(Shutdown::Infinity);
            let sub = sup_child("sub", spec(Strategy::OneForOne, 3, 5, vec![slow]));
            assert_eq!(sub.shutdown, Shutdown::Infinity);
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, vec![sub]))
                .await
                .unwrap();
            let sub = pid_of(p, sup, "sub").await;
            p.link(sub);
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(t0.elapsed(), Duration::from_millis(20_000));
            assert_eq!(exit_of(p, sub).await, ExitReason::Shutdown);
            assert_eq!(notes(&log2, "terminated"), ["slow"]);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s10_dynamic_children_are_shut_down_concurrently() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let sup = supervisor::start_link(p, dynamic(3, 5)).await.unwrap();
            for id in ["a", "b", "c"] {
                start_ok(p, sup, worker(Arg::new(id, &log).terminate_ms(1000))).await;
            }
            let t0 = Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(t0.elapsed(), Duration::from_millis(1000), "not 3 x 1000 ms");
            let mut ended = notes(&log, "terminated");
            ended.sort();
            assert_eq!(ended, ["a", "b", "c"]);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s10_a_dynamic_child_already_dead_when_the_shutdown_begins_is_not_waited_for() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = supervisor::start_link(p, dynamic(3, 5)).await.unwrap();
            let a = start_ok(p, sup, worker(Arg::new("a", &log))).await;
            let b = start_ok(p, sup, worker(Arg::new("b", &log))).await;
            let t0 = Instant::now();
            // a dies while the supervisor is about to handle its parent's exit.
            p.exit(a, ExitReason::Kill);
            p.exit(sup, ExitReason::Shutdown);
            assert_eq!(exit_of(p, sup).await, ExitReason::Shutdown);
            assert_eq!(
                t0.elapsed(),
                Duration::ZERO,
                "no shutdown timeout was waited out"
            );
            assert_eq!(
                all_gone(&mut ev, &[a, b]).await,
                [ExitReason::Killed, ExitReason::Shutdown]
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s11_restart_types_decide_on_the_exit_reason() {
    // The 9-cell matrix above, in one table, plus `{:shutdown, term}` and `:kill`.
    let cases = [
        (Restart::Permanent, How::Normal, true),
        (Restart::Permanent, How::Shutdown, true),
        (Restart::Permanent, How::Abnormal, true),
        (Restart::Permanent, How::Kill, true),
        (Restart::Transient, How::Normal, false),
        (Restart::Transient, How::Shutdown, false),
        (Restart::Transient, How::ShutdownInfo, false),
        (Restart::Transient, How::Abnormal, true),
        (Restart::Transient, How::Kill, true),
        (Restart::Temporary, How::Normal, false),
        (Restart::Temporary, How::Abnormal, false),
        (Restart::Temporary, How::Kill, false),
    ];
    for (restart, how, expected) in cases {
        let (old, listed, _) = restart_case(restart, how).await;
        let now = listed.first().and_then(|(_, p)| *p);
        assert_eq!(
            now.is_some_and(|n| n != old),
            expected,
            "{restart:?} after {:?}",
            match how {
                How::Normal => "normal",
                How::Abnormal => "abnormal",
                How::Shutdown => "shutdown",
                How::ShutdownInfo => "{shutdown, info}",
                How::Kill => "kill",
            }
        );
    }
}

#[tokio::test]
async fn s12_one_for_one_restarts_only_the_dead_child_siblings_keep_their_pids() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let sup = abc(p, &log, Strategy::OneForOne).await;
            let old = listing(p, sup).await;
            let b = old[1].1.unwrap();
            terminate(p, &mut ev, b, How::Kill).await;
            let nb = restarted(&mut ev, b).await;
            let now = listing(p, sup).await;
            assert_eq!(now[0], old[0]);
            assert_eq!(now[1].1, Some(nb));
            assert_eq!(now[2], old[2]);
            assert_eq!(notes(&log, "terminate"), Vec::<String>::new());
        })
    })
    .await;
}

#[tokio::test]
async fn s14_rest_for_one_keeps_earlier_children_and_restarts_the_rest_in_order() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let children = ["a", "b", "c", "d"]
                .map(|id| worker(Arg::new(id, &log).trap()))
                .to_vec();
            let sup = supervisor::start_link(
                p,
                Spec::new("Sup", Flags::new(Strategy::RestForOne), children),
            )
            .await
            .unwrap();
            let old = listing(p, sup).await;
            log.lock().unwrap().clear();
            terminate(p, &mut ev, old[1].1.unwrap(), How::Kill).await;
            restarted_id(&mut ev, sup, "d").await;
            assert_eq!(
                entries(&log),
                [
                    "terminate:d",
                    "terminated:d",
                    "terminate:c",
                    "terminated:c",
                    "init:b",
                    "init:c",
                    "init:d"
                ]
            );
            let now = listing(p, sup).await;
            assert_eq!(now[0], old[0], "the child before keeps its pid");
            for i in 1..4 {
                assert_ne!(now[i].1, old[i].1);
            }
        })
    })
    .await;
}

/// Wraps a child spec so that each start announces itself on the event stream first, where it
/// is ordered with the `Exited` events.
fn announced(name: &'static str, mut spec: ChildSpec) -> ChildSpec {
    let inner = spec.start.clone();
    spec.start = start_fn(move |p: &mut Process| {
        p.node().puts(p.pid(), format!("start:{name}"));
        inner(p)
    });
    spec
}

#[tokio::test]
async fn s15_killing_the_registry_stops_the_system_in_reverse_and_restarts_it_in_order() {
    // The shape of the to-do system of seed 001, with plain workers: top = rest_for_one
    // [Registry, SystemSupervisor]; SystemSupervisor = one_for_one [Database (3 workers),
    // ServerSupervisor (dynamic), Cache].
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let db = Spec::new(
                "Database",
                Flags::new(Strategy::OneForOne),
                vec![
                    announced(
                        "w1",
                        worker(Arg::new("w1", &log).trap().named("db_worker_1")),
                    ),
                    announced(
                        "w2",
                        worker(Arg::new("w2", &log).trap().named("db_worker_2")),
                    ),
                    announced(
                        "w3",
                        worker(Arg::new("w3", &log).trap().named("db_worker_3")),
                    ),
                ],
            );
            let servers = Spec::dynamic("ServerSupervisor", Flags::new(Strategy::OneForOne))
                .named("server_sup");
            let system = Spec::new(
                "SystemSupervisor",
                Flags::new(Strategy::OneForOne),
                vec![
                    announced("database", sup_child("database", db)),
                    announced("server_sup", sup_child("server_sup", servers)),
                    announced("cache", worker(Arg::new("cache", &log).trap())),
                ],
            );
            let top_children = vec![
                announced("registry", worker(Arg::new("registry", &log).trap())),
                announced("system_sup", sup_child("system_sup", system)),
            ];
            let top = supervisor::start_link(
                p,
                Spec::new("Top", Flags::new(Strategy::RestForOne), top_children),
            )
            .await
            .unwrap();
            let server_sup = p.node().whereis(a("server_sup")).unwrap();
            for list in ["bob", "alice"] {
                let server = worker(Arg::new(list, &log).trap()).restart(Restart::Temporary);
                start_ok(p, server_sup, server).await;
            }
            // Every pid of the tree, by role.
            let mut names: HashMap<Pid, String> = HashMap::new();
            let mut stack = vec![top];
            while let Some(sup) = stack.pop() {
                for c in children(p, sup).await {
                    let pid = c.pid.unwrap();
                    let id = c.id.as_atom().unwrap().as_str();
                    let role = if id == "bob" || id == "alice" {
                        "server"
                    } else {
                        id
                    };
                    names.insert(pid, role.to_string());
                    if c.kind == ChildKind::Supervisor {
                        stack.push(pid);
                    }
                }
            }
            let old_w1 = p.node().whereis(a("db_worker_1")).unwrap();
            let mut ev = p.node().events();
            let registry = pid_of(p, top, "registry").await;
            p.exit(registry, ExitReason::Kill);
            // Until the top has the new SystemSupervisor (its start returns after its children's).
            let mut trace = vec![];
            event(&mut ev, |e| match e {
                Event::Exited(e) => {
                    if let Some(name) = names.get(&e.pid) {
                        trace.push(format!("exit:{name}"));
                    }
                    None
                }
                Event::Output { text, .. } if text.starts_with("start:") => {
                    trace.push(text.to_string());
                    None
                }
                Event::ChildStarted(r) if r.supervisor == top && r.id.is_atom("system_sup") => {
                    Some(())
                }
                _ => None,
            })
            .await;
            assert_eq!(
                trace,
                [
                    "exit:registry",
                    "exit:cache",
                    "exit:server",
                    "exit:server",
                    "exit:server_sup",
                    "exit:w3",
                    "exit:w2",
                    "exit:w1",
                    "exit:database",
                    "exit:system_sup",
                    "start:registry",
                    "start:system_sup",
                    "start:database",
                    "start:w1",
                    "start:w2",
                    "start:w3",
                    "start:server_sup",
                    "start:cache",
                ]
            );
            // The workers registered their names again; the new ServerSupervisor is empty.
            let new_w1 = p.node().whereis(a("db_worker_1")).unwrap();
            assert_ne!(new_w1, old_w1);
            assert_eq!(p.call(new_w1, atom("ping"), None).await, Ok(atom("pong")));
            let new_server_sup = p.node().whereis(a("server_sup")).unwrap();
            assert_ne!(new_server_sup, server_sup);
            assert!(children(p, new_server_sup).await.is_empty());
        })
    })
    .await;
}

#[tokio::test]
async fn s22_messages_from_one_sender_arrive_in_order_and_before_its_down_and_exit() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            let me = p.pid();
            p.trap_exit(true);
            let child = p
                .spawn_link(move |c: &mut Process| {
                    Box::pin(async move {
                        c.receive().await;
                        for i in 0..100 {
                            c.send(me, Term::Int(i));
                        }
                        c.send(me, atom("reply"));
                        ExitReason::atom("gone")
                    })
                })
                .unwrap();
            let r = p.monitor(child);
            p.send(child, atom("go"));
            for i in 0..100 {
                assert_eq!(next_message(p).await, Term::Int(i));
            }
            assert_eq!(
                next_message(p).await,
                atom("reply"),
                "the reply comes before the DOWN"
            );
            let down = next_message(p).await;
            assert_eq!(down_ref(&Envelope::Message(down)), Some((r, atom("gone"))));
            let exit = next_message(p).await;
            assert_eq!(
                exit,
                Term::tuple(vec![atom("EXIT"), Term::Pid(child), atom("gone")])
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s22_a_message_sent_before_an_exit_signal_is_received_before_it() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            let me = p.pid();
            p.trap_exit(true);
            let sender = p
                .spawn(move |c: &mut Process| {
                    Box::pin(async move {
                        c.send(me, atom("last words"));
                        c.exit(me, ExitReason::atom("bye"));
                        ExitReason::Normal
                    })
                })
                .unwrap();
            assert_eq!(next_message(p).await, atom("last words"));
            assert_eq!(
                next_message(p).await,
                Term::tuple(vec![atom("EXIT"), Term::Pid(sender), atom("bye")])
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s22_a_call_answered_just_before_the_server_stops_returns_the_reply() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            for _ in 0..50 {
                let server = gen_server::start::<CellServer>(
                    p.node(),
                    CellArg::default(),
                    StartOpts::default(),
                )
                .await
                .unwrap();
                let r = p.monitor(server);
                let stop = Term::tuple(vec![atom("stop"), atom("done")]);
                assert_eq!(p.call(server, stop, None).await, Ok(Term::ok()));
                assert_eq!(down_of(p, r).await, ExitReason::atom("done"));
            }
        })
    })
    .await;
}

#[tokio::test]
async fn s23_a_restarted_child_is_a_new_process_with_an_empty_mailbox_and_the_old_pid_is_dead() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let child = worker(Arg::new("a", &log).value(7));
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, vec![child]))
                .await
                .unwrap();
            let old = pid_of(p, sup, "a").await;
            p.send(old, Term::tuple(vec![atom("sleep"), Term::Int(60_000)]));
            for _ in 0..5 {
                p.send(old, atom("hello"));
            }
            assert!(p.node().info(old).unwrap().message_queue_len >= 5);
            terminate(p, &mut ev, old, How::Kill).await;
            let new = restarted(&mut ev, old).await;
            assert_ne!(new, old);
            assert_eq!(
                p.node().info(new).unwrap().message_queue_len,
                0,
                "nothing carried over"
            );
            assert_eq!(p.call(old, atom("get"), None).await, Err(CallError::Noproc));
            p.send(old, atom("lost"));
            p.cast(old, atom("lost"));
            assert!(p.node().info(old).is_none());
            assert_eq!(p.call(new, atom("get"), None).await, Ok(Term::Int(7)));
            assert_eq!(p.node().info(new).unwrap().message_queue_len, 0);
        })
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn s24_a_new_incarnation_starts_only_after_the_old_terminate_returned() {
    let node = node();
    let log = new_log();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut ev = p.node().events();
            let child = worker(Arg::new("a", &log).terminate_ms(1000));
            let sup = supervisor::start_link(p, spec(Strategy::OneForOne, 3, 5, vec![child]))
                .await
                .unwrap();
            let old = pid_of(p, sup, "a").await;
            let t0 = Instant::now();
            p.send(old, atom("die"));
            let new = restarted(&mut ev, old).await;
            assert_eq!(t0.elapsed(), Duration::from_millis(1000));
            assert_eq!(
                entries(&log),
                ["init:a", "terminate:a", "terminated:a", "init:a"]
            );
            assert!(p.node().alive(new) && !p.node().alive(old));
        })
    })
    .await;
}
