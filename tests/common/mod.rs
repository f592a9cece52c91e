//! Helpers shared by the integration tests: a node, small GenServers to supervise, and
//! waits on explicit signals (events, DOWN messages), never on sleeps.
#![allow(dead_code)]

pub mod alloc;

use std::time::Duration;

use otplab::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use otplab::runtime::supervisor::{ChildSpec, StartFn};
use otplab::runtime::{Event, ExitReason, Node, NodeConfig, Pid, Process, StartError, Term, atom};

pub fn node() -> Node {
    Node::new(NodeConfig::default())
}

/// A GenServer holding an integer: `:get`, `{:add, n}`, `{:sleep, ms}`, `:crash`,
/// `{:stop, reason}`; casts `{:add, n}`; traps exits when started with `trap: true`.
pub struct Cell {
    pub value: i64,
    pub label: &'static str,
}

pub struct CellArg {
    pub value: i64,
    pub trap: bool,
    pub label: &'static str,
    /// Sleep in `terminate`, to test shutdown timeouts.
    pub terminate_ms: u64,
}

impl Default for CellArg {
    fn default() -> Self {
        CellArg {
            value: 0,
            trap: false,
            label: "cell",
            terminate_ms: 0,
        }
    }
}

pub struct CellServer {
    pub value: i64,
    pub label: &'static str,
    pub terminate_ms: u64,
}

impl GenServer for CellServer {
    type Arg = CellArg;

    fn module() -> &'static str {
        "Cell"
    }

    async fn init(arg: CellArg, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        if arg.trap {
            p.trap_exit(true);
        }
        if arg.value < 0 {
            return Ok(Init::Stop(ExitReason::atom("negative")));
        }
        Ok(Init::Ok(CellServer {
            value: arg.value,
            label: arg.label,
            terminate_ms: arg.terminate_ms,
        }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &otplab::runtime::From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.is_atom("get") {
            return Ok(Reply::Reply(Term::Int(self.value)));
        }
        if request.is_atom("crash") {
            return Err(ExitReason::runtime_error("boom"));
        }
        if request.is_atom("panic") {
            panic!("handler panicked");
        }
        match request.as_tuple() {
            Some([tag, Term::Int(n)]) if tag.is_atom("add") => {
                self.value += n;
                Ok(Reply::Reply(Term::Int(self.value)))
            }
            Some([tag, Term::Int(ms)]) if tag.is_atom("sleep") => {
                p.sleep(Duration::from_millis(*ms as u64)).await;
                self.value += 1;
                Ok(Reply::Reply(Term::Int(self.value)))
            }
            Some([tag, reason]) if tag.is_atom("stop") => Ok(Reply::Stop(
                ExitReason::from_term(reason.clone()),
                Some(Term::ok()),
            )),
            _ => Err(ExitReason::function_clause("Cell.handle_call/3")),
        }
    }

    async fn handle_cast(
        &mut self,
        request: Term,
        _p: &mut Process,
    ) -> Result<NoReply, ExitReason> {
        match request.as_tuple() {
            Some([tag, Term::Int(n)]) if tag.is_atom("add") => {
                self.value += n;
                Ok(NoReply::NoReply)
            }
            _ => Err(ExitReason::function_clause("Cell.handle_cast/2")),
        }
    }

    async fn terminate(&mut self, _reason: &ExitReason, p: &mut Process) {
        if self.terminate_ms > 0 {
            p.sleep(Duration::from_millis(self.terminate_ms)).await;
        }
    }

    fn state(&self) -> Term {
        Term::Int(self.value)
    }
}

/// A child spec for a `CellServer` with the given id.
pub fn cell_spec(id: &'static str) -> ChildSpec {
    cell_spec_with(id, || CellArg {
        label: "cell",
        ..Default::default()
    })
}

pub fn cell_spec_with(
    id: &'static str,
    arg: impl Fn() -> CellArg + Send + Sync + 'static,
) -> ChildSpec {
    let arg = std::sync::Arc::new(arg);
    ChildSpec::worker(
        atom(id),
        format!("Cell.start_link({id})"),
        move |p: &mut Process| {
            let a = arg();
            Box::pin(async move {
                gen_server::start_link::<CellServer>(p, a, StartOpts::default()).await
            })
        },
    )
}

/// A start function that always fails.
pub fn failing_start() -> StartFn {
    std::sync::Arc::new(|_p: &mut Process| {
        Box::pin(async { Err(StartError::Init(ExitReason::atom("bad"))) })
    })
}

/// Spawns a process that does nothing but wait for messages forever; returns its pid.
pub fn idle(node: &Node) -> Pid {
    node.spawn(Default::default(), |p: &mut Process| {
        Box::pin(async move {
            loop {
                p.receive().await;
            }
        })
    })
    .unwrap()
}

/// Waits (on the event stream) until `pid` has exited; returns its reason.
pub async fn exited(events: &mut otplab::runtime::Events, pid: Pid) -> ExitReason {
    loop {
        match events.recv().await {
            Ok(Event::Exited(e)) if e.pid == pid => return e.reason.clone(),
            Ok(_) => {}
            Err(e) => panic!("event stream ended: {e}"),
        }
    }
}

/// Waits until `node.count()` equals `n`, yielding to the runtime between checks.
pub async fn settle_count(node: &Node, n: usize) {
    // Bounded by wall time, not by a number of yields: tearing down a process with a million
    // queued messages takes a while on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        if node.count() == n && node.tasks() == n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!(
        "process count stuck at {} (tasks {}), expected {n}",
        node.count(),
        node.tasks()
    );
}

/// Runs `f` inside a fresh process (so it can receive, link, monitor and call as a process)
/// and returns what it returns. A failed assertion inside it is a crash of that process: the
/// test then fails with the assertion's message. Panics if the process is killed first.
pub async fn within<T, F>(node: &Node, f: F) -> T
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut Process) -> otplab::runtime::term::BoxFuture<'a, T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(Default::default(), move |p: &mut Process| {
        Box::pin(async move {
            let out = otplab::runtime::process::catch_panic(async { Ok(f(p).await) }).await;
            let _ = tx.send(out);
            ExitReason::Normal
        })
    })
    .unwrap();
    match rx.await {
        Ok(Ok(out)) => out,
        Ok(Err(reason)) => panic!("the test process crashed: {reason}"),
        Err(_) => panic!("the test process was killed before finishing"),
    }
}

/// Receives the next plain message of a process, as a term.
pub async fn next_message(p: &mut Process) -> Term {
    match p.receive().await {
        otplab::runtime::Envelope::Message(t) => t,
        other => other.to_term(),
    }
}

/// The book's date, `~D[2023-12-19]`.
pub fn date() -> otplab::runtime::Date {
    otplab::runtime::Date::new(2023, 12, 19).unwrap()
}

/// `%{date: ~D[2023-12-19], title: title}`.
pub fn entry(title: &str) -> Term {
    Term::atom_map(vec![
        ("date", Term::Date(date())),
        ("title", Term::str(title)),
    ])
}

/// The titles of an `entries` reply.
pub fn titles(entries: &Term) -> std::collections::BTreeSet<String> {
    match entries {
        Term::List(items) => items
            .iter()
            .filter_map(|e| e.get("title").and_then(|t| t.as_str()).map(str::to_string))
            .collect(),
        other => panic!("entries is not a list: {other}"),
    }
}
