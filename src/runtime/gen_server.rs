//! The GenServer behaviour: a process that keeps state and answers calls, casts and plain
//! messages one at a time through callbacks. Callbacks are async, so a handler that sleeps
//! (`:timer.sleep(10000)` in SlowCounter) blocks its own process only.
//!
//! `start`/`start_link` return once `init` has returned (S7), with the name registered
//! before `init` runs, so a taken name fails fast with `already_started` (S31). `init` may
//! ask for a continue, which runs before any message (semantic 6). A handler may answer
//! later: it returns `NoReply` and someone calls `reply(from, value)` (semantic 7). A crash
//! (an `Err`, a `Stop` with an abnormal reason, or a panic) publishes iex's
//! `GenServer … terminating` report with the last message and the state, then runs
//! `terminate`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::events::{CrashReport, Event};
use super::exit::{ExitReason, StartError};
use super::mailbox::{Envelope, SystemRequest};
use super::pid::Pid;
use super::process::{Node, Process, SpawnOpts, catch_panic};
use super::reply::From;
use super::term::{Atom, BoxFuture, Term, atom};

/// What `init` returns.
pub enum Init<S> {
    Ok(S),
    /// `{:ok, state, {:continue, arg}}`.
    Continue(S, Term),
    /// `:ignore`: the process exits normally and `start` returns [`StartError::Ignore`].
    Ignore,
    Stop(ExitReason),
}

/// What `handle_call` returns.
pub enum Reply {
    Reply(Term),
    ReplyContinue(Term, Term),
    /// The reply comes later, through [`Process::reply`] from this or any process.
    NoReply,
    NoReplyContinue(Term),
    /// `{:stop, reason, reply}` or `{:stop, reason, state}`.
    Stop(ExitReason, Option<Term>),
}

/// What `handle_cast`, `handle_info` and `handle_continue` return.
pub enum NoReply {
    NoReply,
    Continue(Term),
    Stop(ExitReason),
}

/// A GenServer's callbacks. A failed `?` inside a callback is a crash of the server.
pub trait GenServer: Send + Sized + 'static {
    type Arg: Send + 'static;

    /// The module name used in reports and `ps` (`Todo.Server`).
    fn module() -> &'static str;

    fn init(
        arg: Self::Arg,
        process: &mut Process,
    ) -> impl Future<Output = Result<Init<Self>, ExitReason>> + Send;

    fn handle_call(
        &mut self,
        request: Term,
        from: &From,
        process: &mut Process,
    ) -> impl Future<Output = Result<Reply, ExitReason>> + Send {
        let _ = (request, from, process);
        async {
            Err(ExitReason::function_clause(&format!(
                "{}.handle_call/3",
                Self::module()
            )))
        }
    }

    fn handle_cast(
        &mut self,
        request: Term,
        process: &mut Process,
    ) -> impl Future<Output = Result<NoReply, ExitReason>> + Send {
        let _ = (request, process);
        async {
            Err(ExitReason::function_clause(&format!(
                "{}.handle_cast/2",
                Self::module()
            )))
        }
    }

    /// Plain messages. The default ignores them, as `use GenServer` does (it only logs).
    fn handle_info(
        &mut self,
        msg: Term,
        process: &mut Process,
    ) -> impl Future<Output = Result<NoReply, ExitReason>> + Send {
        let _ = (msg, process);
        async { Ok(NoReply::NoReply) }
    }

    fn handle_continue(
        &mut self,
        arg: Term,
        process: &mut Process,
    ) -> impl Future<Output = Result<NoReply, ExitReason>> + Send {
        let _ = (arg, process);
        async {
            Err(ExitReason::function_clause(&format!(
                "{}.handle_continue/2",
                Self::module()
            )))
        }
    }

    fn terminate(
        &mut self,
        reason: &ExitReason,
        process: &mut Process,
    ) -> impl Future<Output = ()> + Send {
        let _ = (reason, process);
        async {}
    }

    /// The state as a term, for `:sys.get_state` and crash reports.
    fn state(&self) -> Term;
}

/// A name registry other than the node's local names, for `{:via, module, key}`.
/// The to-do system's `Todo.ProcessRegistry` implements it.
pub trait Via: Send + Sync + 'static {
    /// `register_name(key, pid)`: `false` when the key is taken by a live process.
    fn register_name<'a>(
        &'a self,
        process: &'a Process,
        key: Term,
        pid: Pid,
    ) -> BoxFuture<'a, bool>;
    fn whereis_name<'a>(&'a self, process: &'a Process, key: Term) -> BoxFuture<'a, Option<Pid>>;
}

/// How a GenServer is named.
#[derive(Clone)]
pub enum Name {
    Local(Atom),
    Via(Arc<dyn Via>, Term),
}

/// Options of `start`/`start_link`.
#[derive(Clone, Default)]
pub struct StartOpts {
    pub name: Option<Name>,
    /// How long the starter waits for `init`; `None` is `:infinity`.
    pub timeout: Option<Duration>,
}

impl StartOpts {
    pub fn named(name: &'static str) -> StartOpts {
        StartOpts {
            name: Some(Name::Local(Atom::from_static(name))),
            timeout: None,
        }
    }
    pub fn via(registry: Arc<dyn Via>, key: Term) -> StartOpts {
        StartOpts {
            name: Some(Name::Via(registry, key)),
            timeout: None,
        }
    }
}

/// `GenServer.start/3`: not linked to anyone.
pub async fn start<S: GenServer>(
    node: &Node,
    arg: S::Arg,
    opts: StartOpts,
) -> Result<Pid, StartError> {
    start_with::<S>(node, None, arg, opts).await
}

/// `GenServer.start_link/3` from `parent`: linked before `init` runs.
pub async fn start_link<S: GenServer>(
    parent: &Process,
    arg: S::Arg,
    opts: StartOpts,
) -> Result<Pid, StartError> {
    start_with::<S>(parent.node(), Some(parent.pid()), arg, opts).await
}

async fn start_with<S: GenServer>(
    node: &Node,
    parent: Option<Pid>,
    arg: S::Arg,
    opts: StartOpts,
) -> Result<Pid, StartError> {
    let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
    let spawn_opts = SpawnOpts {
        link: parent,
        label: Some(Arc::from(S::module())),
        ..Default::default()
    };
    let name = opts.name.clone();
    let pid = node.spawn(spawn_opts, move |p: &mut Process| {
        Box::pin(run::<S>(p, parent, arg, name, ack_tx))
    })?;
    let ack = match opts.timeout {
        Some(t) => match tokio::time::timeout(t, ack_rx).await {
            Ok(a) => a,
            Err(_) => {
                node.exit(pid, pid, ExitReason::Kill);
                return Err(StartError::Init(ExitReason::atom("timeout")));
            }
        },
        None => ack_rx.await,
    };
    // A dropped ack means the process was killed during init.
    ack.unwrap_or(Err(StartError::Init(ExitReason::Killed)))
        .map(|()| pid)
}

type Ack = tokio::sync::oneshot::Sender<Result<(), StartError>>;

async fn run<S: GenServer>(
    p: &mut Process,
    parent: Option<Pid>,
    arg: S::Arg,
    name: Option<Name>,
    ack: Ack,
) -> ExitReason {
    let me = p.pid();
    let node = p.node().clone();
    let name_term = match &name {
        None => None,
        Some(Name::Local(a)) => {
            if !node.register(*a, me) {
                let holder = node.whereis(*a).unwrap_or(me);
                let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
                return ExitReason::Normal;
            }
            Some(Term::Atom(*a))
        }
        Some(Name::Via(registry, key)) => {
            if !registry.register_name(p, key.clone(), me).await {
                let holder = registry.whereis_name(p, key.clone()).await.unwrap_or(me);
                let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
                return ExitReason::Normal;
            }
            node.set_via_name(me, key.clone());
            Some(key.clone())
        }
    };
    let (mut state, mut cont) = match catch_panic(S::init(arg, p)).await {
        Ok(Init::Ok(s)) => (s, None),
        Ok(Init::Continue(s, c)) => (s, Some(c)),
        Ok(Init::Ignore) => {
            let _ = ack.send(Err(StartError::Ignore));
            return ExitReason::Normal;
        }
        Ok(Init::Stop(reason)) | Err(reason) => {
            let _ = ack.send(Err(StartError::Init(reason.clone())));
            return reason;
        }
    };
    let _ = ack.send(Ok(()));
    let mut server = Server {
        name: name_term,
        parent,
    };
    loop {
        if let Some(arg) = cont.take() {
            let last = Term::Tuple(vec![atom("continue"), arg.clone()]);
            let outcome = catch_panic(state.handle_continue(arg, p)).await;
            match server.after_noreply(outcome, &mut cont) {
                Ok(()) => continue,
                Err(reason) => {
                    return server
                        .stop(&mut state, p, reason, Some(last), None, "handle_continue/2")
                        .await;
                }
            }
        }
        match p.receive().await {
            Envelope::Call { from, request } => {
                let last = request.clone();
                let outcome = catch_panic(state.handle_call(request, &from, p)).await;
                let result = match outcome {
                    Ok(Reply::Reply(t)) => {
                        p.reply(&from, t);
                        Ok(())
                    }
                    Ok(Reply::ReplyContinue(t, c)) => {
                        p.reply(&from, t);
                        cont = Some(c);
                        Ok(())
                    }
                    Ok(Reply::NoReply) => Ok(()),
                    Ok(Reply::NoReplyContinue(c)) => {
                        cont = Some(c);
                        Ok(())
                    }
                    Ok(Reply::Stop(reason, reply)) => {
                        if let Some(t) = reply {
                            p.reply(&from, t);
                        }
                        Err(reason)
                    }
                    Err(reason) => Err(reason),
                };
                if let Err(reason) = result {
                    return server
                        .stop(
                            &mut state,
                            p,
                            reason,
                            Some(last),
                            Some(from.pid),
                            "handle_call/3",
                        )
                        .await;
                }
            }
            Envelope::Cast(request) => {
                let last = request.clone();
                let outcome = catch_panic(state.handle_cast(request, p)).await;
                if let Err(reason) = server.after_noreply(outcome, &mut cont) {
                    return server
                        .stop(&mut state, p, reason, Some(last), None, "handle_cast/2")
                        .await;
                }
            }
            envelope @ Envelope::Message(_) => {
                // The parent's exit signal stops a trapping server through terminate (S9).
                if let Some((from, reason)) = envelope.as_exit() {
                    if Some(from) == server.parent {
                        let reason = ExitReason::from_term(reason.clone());
                        state.terminate(&reason, p).await;
                        return reason;
                    }
                }
                let Envelope::Message(msg) = envelope else {
                    unreachable!()
                };
                let last = msg.clone();
                let outcome = catch_panic(state.handle_info(msg, p)).await;
                if let Err(reason) = server.after_noreply(outcome, &mut cont) {
                    return server
                        .stop(&mut state, p, reason, Some(last), None, "handle_info/2")
                        .await;
                }
            }
            Envelope::System(SystemRequest::GetState(tx)) => {
                let _ = tx.send(state.state());
            }
            Envelope::System(SystemRequest::Stop(reason)) => {
                state.terminate(&reason, p).await;
                return reason;
            }
            Envelope::System(SystemRequest::Crash) => {
                let reason = ExitReason::runtime_error("crash requested from the shell");
                return server
                    .stop(
                        &mut state,
                        p,
                        reason,
                        Some(atom("crash")),
                        None,
                        "handle_info/2",
                    )
                    .await;
            }
        }
    }
}

struct Server {
    name: Option<Term>,
    parent: Option<Pid>,
}

impl Server {
    fn after_noreply(
        &mut self,
        outcome: Result<NoReply, ExitReason>,
        cont: &mut Option<Term>,
    ) -> Result<(), ExitReason> {
        match outcome {
            Ok(NoReply::NoReply) => Ok(()),
            Ok(NoReply::Continue(c)) => {
                *cont = Some(c);
                Ok(())
            }
            Ok(NoReply::Stop(reason)) | Err(reason) => Err(reason),
        }
    }

    /// Ends the server: the crash report for abnormal reasons, then `terminate`.
    async fn stop<S: GenServer>(
        &mut self,
        state: &mut S,
        p: &mut Process,
        reason: ExitReason,
        last_message: Option<Term>,
        client: Option<Pid>,
        callback: &'static str,
    ) -> ExitReason {
        if !reason.is_clean() {
            p.node().publish(Event::Crash(Arc::new(CrashReport {
                pid: p.pid(),
                name: self.name.clone(),
                label: Arc::from(S::module()),
                reason: reason.clone(),
                last_message,
                client,
                state: state.state(),
                callback,
            })));
        }
        let _ = catch_panic(async {
            state.terminate(&reason, p).await;
            Ok(())
        })
        .await;
        reason
    }
}
