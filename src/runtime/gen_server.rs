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

use std::alloc::Layout;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::events::{CrashReport, Event, UnexpectedMessage};
use super::exit::{ExitReason, StartError};
use super::mailbox::{Envelope, SystemRequest};
use super::node::{Node, SpawnOpts};
use super::pid::Pid;
use super::process::Process;
use super::reply::From;
use super::task::catch_panic;
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

    /// The request is lent, not given: the loop keeps it to name it as the last message in a
    /// crash report, as the BEAM shares one immutable term between the two. A copy kept for
    /// the report cost every call a deep clone of its request.
    fn handle_call(
        &mut self,
        request: &Term,
        from: &From,
        process: &mut Process,
    ) -> impl Future<Output = Result<Reply, ExitReason>> + Send {
        let _ = (request, from);
        let reason = no_clause(process, "call", "handle_call/3");
        async { Err(reason) }
    }

    fn handle_cast(
        &mut self,
        request: Term,
        process: &mut Process,
    ) -> impl Future<Output = Result<NoReply, ExitReason>> + Send {
        let _ = request;
        let reason = no_clause(process, "cast", "handle_cast/2");
        async { Err(reason) }
    }

    /// Plain messages. The default is `use GenServer`'s: the message is logged as unexpected
    /// (`[error] Counter #PID<0.101.0> received unexpected message in handle_info/2: :hello`)
    /// and the server carries on.
    fn handle_info(
        &mut self,
        msg: Term,
        process: &mut Process,
    ) -> impl Future<Output = Result<NoReply, ExitReason>> + Send {
        process
            .node()
            .publish(Event::UnexpectedMessage(Arc::new(UnexpectedMessage {
                pid: process.pid(),
                name: local_name(process),
                label: Arc::from(Self::module()),
                message: msg,
            })));
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

/// How `use GenServer`'s default `handle_call`/`handle_cast` crash a server that defines no
/// such callback: `attempted to cast GenServer #PID<0.101.0> but no handle_cast/2 clause was
/// provided`, naming the server by its registered name when it has one, as Elixir does.
fn no_clause(process: &Process, verb: &str, callback: &str) -> ExitReason {
    let who = local_name(process).unwrap_or(Term::Pid(process.pid()));
    ExitReason::runtime_error(format!(
        "attempted to {verb} GenServer {who} but no {callback} clause was provided"
    ))
}

/// The locally registered name, what `Process.info(self(), :registered_name)` gives (a via
/// name is not one).
fn local_name(process: &Process) -> Option<Term> {
    process
        .node()
        .info(process.pid())
        .and_then(|i| i.registered_name)
        .map(Term::Atom)
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
        label: Some(super::node::static_label(S::module())),
        ..Default::default()
    };
    let name = opts.name.clone();
    let start = Box::new(Start {
        parent,
        arg,
        name,
        ack: ack_tx,
    });
    let pid = node.spawn(spawn_opts, move |p: &mut Process| {
        Box::pin(run::<S>(p, start))
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

/// What the start phase needs, boxed so the process's future does not keep room for it.
struct Start<S: GenServer> {
    parent: Option<Pid>,
    arg: S::Arg,
    name: Option<Name>,
    ack: Ack,
}

/// The process of a GenServer: the start phase (registration and `init`) in a boxed future of
/// its own, freed once `init` has returned, then the loop. Every rarely taken path of the loop
/// (stopping, `terminate`) is boxed too, so an idle server's future holds little more than its
/// state and its `receive`.
async fn run<S: GenServer>(p: &mut Process, start: Box<Start<S>>) -> ExitReason {
    let Start {
        parent,
        arg,
        name,
        ack,
    } = unbox(start);
    let start = Box::pin(start_phase::<S>(p, parent, arg, name, ack));
    let started = start.await;
    match started {
        Ok(looping) => serve(p, looping).await,
        Err(reason) => reason,
    }
}

/// Moves a value out of its box and frees the box now. Destructuring `*boxed` in a `let`
/// moves the fields out but frees the box only when the variable goes out of scope, which for
/// `run` and `serve` is the end of the process: every GenServer held its empty start and loop
/// boxes (400 bytes for a to-do server) for its whole life.
#[allow(clippy::boxed_local)] // Taking the box is the point: it is freed on return.
fn unbox<T>(boxed: Box<T>) -> T {
    *boxed
}

/// Registration and `init`; acknowledges the starter either way.
async fn start_phase<S: GenServer>(
    p: &mut Process,
    parent: Option<Pid>,
    arg: S::Arg,
    name: Option<Name>,
    ack: Ack,
) -> Result<Box<Looping<S>>, ExitReason> {
    let me = p.pid();
    let node = p.node().clone();
    // A name is taken before `init` runs, so a second start fails with `already_started`.
    let taken = match &name {
        None => None,
        Some(Name::Local(a)) => (!node.register(*a, me)).then(|| node.whereis(*a).unwrap_or(me)),
        Some(Name::Via(..)) => None,
    };
    if let Some(holder) = taken {
        let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
        return Err(ExitReason::Normal);
    }
    if let Some(Name::Via(registry, key)) = &name {
        let registering = registry.register_name(p, key.clone(), me);
        if !registering.await {
            let holder = registry.whereis_name(p, key.clone()).await.unwrap_or(me);
            let _ = ack.send(Err(StartError::AlreadyStarted(holder)));
            return Err(ExitReason::Normal);
        }
        node.set_via_name(me, key.clone());
    }
    let init = catch_panic(S::init(arg, p));
    let initialised = init.await;
    let (state, cont) = match initialised {
        Ok(Init::Ok(s)) => (s, None),
        Ok(Init::Continue(s, c)) => (s, Some(c)),
        Ok(Init::Ignore) => {
            let _ = ack.send(Err(StartError::Ignore));
            return Err(ExitReason::Normal);
        }
        Ok(Init::Stop(reason)) | Err(reason) => {
            let _ = ack.send(Err(StartError::Init(reason.clone())));
            return Err(reason);
        }
    };
    let _ = ack.send(Ok(()));
    let server = Server { parent };
    Ok(Box::new(Looping {
        state,
        cont,
        server,
    }))
}

/// The loop: one message at a time, through the callbacks. Handling a message is a boxed
/// future of its own ([`step`]), in a block recycled from message to message ([`Recycled`]), so that what an idle server holds
/// while it waits is only its state and its `receive` (an async fn's state machine gives each
/// local of every arm its own room, which made an idle GenServer's future 1.2 KB). Each kind
/// of message has its own step, so the box is only as large as that kind's callback needs:
/// one step for all kinds was over a kilobyte, allocated and copied for every message.
async fn serve<S: GenServer>(p: &mut Process, looping: Box<Looping<S>>) -> ExitReason {
    let Looping {
        mut state,
        mut cont,
        mut server,
    } = unbox(looping);
    loop {
        if let Some(arg) = cont.take() {
            let fut = Box::pin(continue_step(p, &mut state, &mut cont, &mut server, arg));
            match fut.await {
                Ok(()) => continue,
                Err(reason) => return reason,
            }
        }
        let envelope = p.receive().await;
        if let Err(reason) = step(p, &mut state, &mut cont, &mut server, envelope).await {
            return reason;
        }
    }
}

/// What the loop carries from one message to the next.
struct Looping<S> {
    state: S,
    cont: Option<Term>,
    server: Server,
}

/// `handle_continue`; `Err` is the reason the server stopped with.
async fn continue_step<S: GenServer>(
    p: &mut Process,
    state: &mut S,
    cont: &mut Option<Term>,
    server: &mut Server,
    arg: Term,
) -> Result<(), ExitReason> {
    let last = Term::tuple(vec![atom("continue"), arg.clone()]);
    let outcome = catch_unwind(state.handle_continue(arg, p)).await;
    match server.after_noreply(outcome, cont) {
        Ok(()) => Ok(()),
        Err(reason) => {
            let fut =
                Box::pin(server.stop(state, p, reason, Some(last), None, "handle_continue/2"));
            Err(fut.await)
        }
    }
}

/// One message through its callback; `Err` is the reason the server stopped with.
fn step<'a, S: GenServer>(
    p: &'a mut Process,
    state: &'a mut S,
    cont: &'a mut Option<Term>,
    server: &'a mut Server,
    envelope: Envelope,
) -> Recycled<'a, Result<(), ExitReason>> {
    match envelope {
        Envelope::Call { from, request } => {
            recycled(|| call_step(p, state, cont, server, from, request))
        }
        Envelope::Cast(request) => recycled(|| cast_step(p, state, cont, server, request)),
        Envelope::Message(msg) => recycled(|| info_step(p, state, cont, server, msg)),
        Envelope::System(request) => recycled(|| system_step(p, state, server, request)),
    }
}

/// A boxed step whose memory goes back to its thread's spare block when it ends, and comes
/// from it when the next step has the same layout. A server handles its messages one after
/// another, so the block of one message's step is free when the next comes: with a fresh box
/// for each, the allocation and the free were 150 of the 1,080 instructions the server spends
/// on a call. The spare is kept by the worker thread, not by the server, so an idle server
/// still holds no room for a step (one block a thread in all).
struct Recycled<'a, T> {
    fut: NonNull<dyn Future<Output = T> + Send + 'a>,
    layout: Layout,
}

// SAFETY: `Recycled` owns its future, which is `Send`, as a `Box` of it would be.
unsafe impl<T> Send for Recycled<'_, T> {}

thread_local! {
    /// The block of this thread's last finished step, and its layout.
    static SPARE_STEP: SpareStep = const { SpareStep(Cell::new(None)) };
}

/// A thread's spare block, freed with the thread: a runtime's worker threads end with it,
/// and a bare cell would leave each one's block behind.
struct SpareStep(Cell<Option<(NonNull<u8>, Layout)>>);

impl Drop for SpareStep {
    fn drop(&mut self) {
        if let Some((block, layout)) = self.0.take() {
            // SAFETY: the spare block was allocated with `layout` and nothing else owns it.
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
        }
    }
}

/// The step is made by `make` right into its block: a step made first and then moved in was
/// copied whole, every byte of its largest state, on every message.
fn recycled<'a, F, T>(make: impl FnOnce() -> F) -> Recycled<'a, T>
where
    F: Future<Output = T> + Send + 'a,
{
    let layout = Layout::new::<F>();
    let block = match SPARE_STEP.try_with(|spare| spare.0.take()).ok().flatten() {
        Some((block, kept)) if kept == layout => block,
        other => {
            if let Some((block, kept)) = other {
                // SAFETY: the spare block was allocated with `kept` and nothing else owns it.
                unsafe { std::alloc::dealloc(block.as_ptr(), kept) };
            }
            if layout.size() == 0 {
                NonNull::<F>::dangling().cast()
            } else {
                // SAFETY: the layout is not zero-sized.
                let raw = unsafe { std::alloc::alloc(layout) };
                NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
            }
        }
    };
    let typed = block.cast::<F>();
    // SAFETY: the block is valid for `F`'s layout and owned by no one else.
    unsafe { typed.as_ptr().write(make()) };
    let fut: NonNull<dyn Future<Output = T> + Send + 'a> = typed;
    Recycled { fut, layout }
}

impl<T> Future for Recycled<'_, T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: the future stays in its block until it is dropped, so it is pinned there.
        unsafe { Pin::new_unchecked(&mut *self.fut.as_ptr()) }.poll(cx)
    }
}

impl<T> Drop for Recycled<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the future was written into the block and is dropped once, here.
        unsafe { std::ptr::drop_in_place(self.fut.as_ptr()) };
        if self.layout.size() == 0 {
            return;
        }
        let block = self.fut.cast::<u8>();
        // A thread that is ending has no spare any more: the block is freed then.
        let freed = SPARE_STEP
            .try_with(|spare| spare.0.replace(Some((block, self.layout))))
            .unwrap_or(Some((block, self.layout)));
        if let Some((old, kept)) = freed {
            // SAFETY: that block was allocated with `kept` and is owned by no one.
            unsafe { std::alloc::dealloc(old.as_ptr(), kept) };
        }
    }
}

async fn call_step<S: GenServer>(
    p: &mut Process,
    state: &mut S,
    cont: &mut Option<Term>,
    server: &mut Server,
    from: From,
    request: Term,
) -> Result<(), ExitReason> {
    let outcome = catch_unwind(state.handle_call(&request, &from, p)).await;
    let result = match outcome {
        Ok(Reply::Reply(t)) => {
            p.reply(&from, t);
            Ok(())
        }
        Ok(Reply::ReplyContinue(t, c)) => {
            p.reply(&from, t);
            *cont = Some(c);
            Ok(())
        }
        Ok(Reply::NoReply) => Ok(()),
        Ok(Reply::NoReplyContinue(c)) => {
            *cont = Some(c);
            Ok(())
        }
        Ok(Reply::Stop(reason, reply)) => {
            if let Some(t) = reply {
                p.reply(&from, t);
            }
            Err(Ending::Returned(reason))
        }
        Err(reason) => Err(Ending::Raised(reason)),
    };
    if let Err(reason) = result {
        let client = Some(from.pid());
        let fut = Box::pin(server.stop(state, p, reason, Some(request), client, "handle_call/3"));
        return Err(fut.await);
    }
    Ok(())
}

async fn cast_step<S: GenServer>(
    p: &mut Process,
    state: &mut S,
    cont: &mut Option<Term>,
    server: &mut Server,
    request: Term,
) -> Result<(), ExitReason> {
    // `handle_cast` takes the request, so a copy is kept for a crash report; the envelope
    // around it is built only when there is one to report, not on every cast.
    let kept = request.clone();
    let outcome = catch_unwind(state.handle_cast(request, p)).await;
    if let Err(reason) = server.after_noreply(outcome, cont) {
        // gen_server's last message for a cast is the envelope it received.
        let last = Term::tuple(vec![atom("$gen_cast"), kept]);
        let fut = Box::pin(server.stop(state, p, reason, Some(last), None, "handle_cast/2"));
        return Err(fut.await);
    }
    Ok(())
}

async fn info_step<S: GenServer>(
    p: &mut Process,
    state: &mut S,
    cont: &mut Option<Term>,
    server: &mut Server,
    msg: Term,
) -> Result<(), ExitReason> {
    // The parent's exit signal stops a trapping server through terminate (S9).
    let envelope = Envelope::Message(msg);
    if let Some((from, reason)) = envelope.as_exit()
        && Some(from) == server.parent
    {
        let reason = ExitReason::from_term(reason.clone());
        let fut = Box::pin(state.terminate(&reason, p));
        fut.await;
        return Err(reason);
    }
    let Envelope::Message(msg) = envelope else {
        unreachable!()
    };
    let last = msg.clone();
    let outcome = catch_unwind(state.handle_info(msg, p)).await;
    if let Err(reason) = server.after_noreply(outcome, cont) {
        let fut = Box::pin(server.stop(state, p, reason, Some(last), None, "handle_info/2"));
        return Err(fut.await);
    }
    Ok(())
}

async fn system_step<S: GenServer>(
    p: &mut Process,
    state: &mut S,
    server: &mut Server,
    request: SystemRequest,
) -> Result<(), ExitReason> {
    match request {
        SystemRequest::GetState(tx) => {
            let _ = tx.send(state.state());
            Ok(())
        }
        SystemRequest::Stop(reason) => {
            let reason = *reason;
            let fut = Box::pin(state.terminate(&reason, p));
            fut.await;
            Err(reason)
        }
        SystemRequest::Crash => {
            // Not raised by a callback: the report names no frame rather than invent one.
            let reason =
                Ending::Returned(ExitReason::runtime_error("crash requested from the shell"));
            let fut =
                Box::pin(server.stop(state, p, reason, Some(atom("crash")), None, "handle_info/2"));
            Err(fut.await)
        }
    }
}

/// A callback's future, polled in place (the step around it is boxed already) with a panic
/// turned into an exception reason.
fn catch_unwind<F, T>(fut: F) -> CatchUnwind<F>
where
    F: Future<Output = Result<T, ExitReason>>,
{
    CatchUnwind { fut }
}

struct CatchUnwind<F> {
    fut: F,
}

impl<F, T> Future for CatchUnwind<F>
where
    F: Future<Output = Result<T, ExitReason>>,
{
    type Output = Result<T, ExitReason>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // SAFETY: `fut` is never moved out of the pinned `CatchUnwind` (structural pinning).
        let fut = unsafe { self.map_unchecked_mut(|s| &mut s.fut) };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(p) => p,
            Err(payload) => std::task::Poll::Ready(Err(super::task::panic_reason(payload))),
        }
    }
}

struct Server {
    parent: Option<Pid>,
}

/// How a callback ended the server: it returned `{:stop, reason, …}`, or it raised (an `Err`,
/// a panic, a failed call), which iex's report follows with where it was raised.
enum Ending {
    Returned(ExitReason),
    Raised(ExitReason),
}

impl Server {
    fn after_noreply(
        &mut self,
        outcome: Result<NoReply, ExitReason>,
        cont: &mut Option<Term>,
    ) -> Result<(), Ending> {
        match outcome {
            Ok(NoReply::NoReply) => Ok(()),
            Ok(NoReply::Continue(c)) => {
                *cont = Some(c);
                Ok(())
            }
            Ok(NoReply::Stop(reason)) => Err(Ending::Returned(reason)),
            Err(reason) => Err(Ending::Raised(reason)),
        }
    }

    /// Ends the server: the crash report for abnormal reasons, then `terminate`. A raised
    /// exception gets the callback as its frame (`Counter.handle_call/3`): it is the one
    /// place otplab knows the exception passed through, and where iex's report points.
    async fn stop<S: GenServer>(
        &mut self,
        state: &mut S,
        p: &mut Process,
        ending: Ending,
        last_message: Option<Term>,
        client: Option<Pid>,
        callback: &'static str,
    ) -> ExitReason {
        let (reason, raised) = match ending {
            Ending::Raised(reason) => (
                reason.with_frame(format!("{}.{callback}", S::module())),
                true,
            ),
            Ending::Returned(reason) => (reason, false),
        };
        if !reason.is_clean() {
            p.node().publish(Event::Crash(Arc::new(CrashReport {
                pid: p.pid(),
                // Looked up at the crash, not kept: the node holds the name already, and a
                // copy per server was a tenth of the memory of a to-do list.
                name: p.node().name_of(p.pid()),
                label: Arc::from(S::module()),
                reason: reason.clone(),
                last_message,
                client,
                client_alive: client.is_some_and(|c| p.node().alive(c)),
                state: state.state(),
                callback,
                raised,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A step's block is the next step's when their layouts agree, so a server handling one
    /// message after another allocates none; a step of another layout gets a block of its own.
    #[test]
    fn a_finished_steps_block_is_reused_by_the_next_step_of_its_layout() {
        let payload = [7u64; 6];
        let first = recycled(|| async move { payload[0] });
        let block = first.fut.cast::<u8>();
        drop(first);
        let second = recycled(|| async move { payload[1] + 1 });
        assert_eq!(second.fut.cast::<u8>(), block);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        {
            // Pinned in this block, so the step and its block are dropped at its end.
            let mut second = std::pin::pin!(second);
            assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(8));
        }
        let other = recycled(|| async move { [payload; 3][2][0] });
        assert_ne!(std::mem::size_of_val(&[payload; 3]), 0);
        let mut other = std::pin::pin!(other);
        assert_eq!(other.as_mut().poll(&mut cx), Poll::Ready(7));
    }
}
