//! What happened in the node: crashes, exits, restarts, supervisor give-ups, output of
//! processes (`IO.puts`) and traced messages. The runtime publishes; the shell and tests
//! subscribe. Nothing here prints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;

use super::exit::ExitReason;
use super::pid::Pid;
use super::term::Term;

/// One thing that happened.
///
/// Every variant is at most three words and a tag (32 bytes): the bus keeps 16,384 of them (see [`Bus::new`]), and
/// it was 144 bytes an event while the large ones were inline, 2.3 MB touched at start. The
/// large variants keep their fields behind an `Arc`, as the crash and child reports already
/// did, so a subscriber's copy of one is a reference count, not a copy of its terms.
#[derive(Clone, Debug)]
pub enum Event {
    /// A process printed a line (`IO.puts` from inside a process).
    Output { pid: Pid, text: Arc<str> },
    /// A GenServer is terminating abnormally: iex's `[error] GenServer … terminating` report.
    Crash(Arc<CrashReport>),
    /// A GenServer without a `handle_info` callback got a plain message: `use GenServer`'s
    /// default logs it and carries on.
    UnexpectedMessage(Arc<UnexpectedMessage>),
    /// A process ended. Published for every exit, normal ones included.
    Exited(Arc<Exited>),
    /// A supervisor started a child (SASL progress report), at boot or as a restart.
    ChildStarted(Arc<ChildReport>),
    /// A supervised child died and its supervisor is handling it (SASL error report).
    ChildTerminated(Arc<ChildReport>),
    /// A supervisor is about to restart a child whose process `old` died (or was stopped as
    /// collateral of rest_for_one / one_for_all). Published before the start, so it always
    /// precedes what the new process prints.
    Restarting(Arc<Restarting>),
    /// A supervisor restarted a child: `old` died, `new` replaced it.
    Restarted(Arc<Restarted>),
    /// A supervisor exceeded its restart intensity and is shutting down.
    GaveUp(Arc<GaveUp>),
    /// A call's reply arrived after the caller had timed out and was dropped (OTP 24+).
    LateReplyDropped(Arc<LateReplyDropped>),
    /// A point in the stream placed by a process (the shell marks the end of each evaluation,
    /// so what happened before its reply prints before the result).
    Mark { pid: Pid, seq: u64 },
    /// A message passing between two traced processes.
    Trace(Arc<TraceEvent>),
}

/// The fields of [`Event::UnexpectedMessage`].
#[derive(Debug)]
pub struct UnexpectedMessage {
    pub pid: Pid,
    /// The registered name, which Elixir's log shows instead of the pid.
    pub name: Option<Term>,
    pub label: Arc<str>,
    pub message: Term,
}

/// The fields of [`Event::Exited`].
#[derive(Debug)]
pub struct Exited {
    pub pid: Pid,
    pub label: Arc<str>,
    /// The registered or via name it had.
    pub name: Option<Term>,
    pub reason: ExitReason,
}

/// The fields of [`Event::Restarting`].
#[derive(Debug)]
pub struct Restarting {
    pub supervisor: Pid,
    pub supervisor_label: Arc<str>,
    pub id: Term,
    pub old: Pid,
}

/// The fields of [`Event::Restarted`].
#[derive(Debug)]
pub struct Restarted {
    pub supervisor: Pid,
    pub supervisor_label: Arc<str>,
    pub id: Term,
    pub old: Pid,
    pub new: Pid,
}

/// The fields of [`Event::GaveUp`].
#[derive(Debug)]
pub struct GaveUp {
    pub supervisor: Pid,
    pub label: Arc<str>,
    pub restarts: u32,
    pub seconds: u64,
}

/// The fields of [`Event::LateReplyDropped`].
#[derive(Debug)]
pub struct LateReplyDropped {
    pub server: Pid,
    pub caller: Pid,
    pub reply: Term,
}

/// The fields of iex's GenServer crash report.
#[derive(Debug)]
pub struct CrashReport {
    pub pid: Pid,
    /// The registered or via name the process held when it crashed, if any
    /// (`{:todo_server, "Bob's list"}`).
    pub name: Option<Term>,
    pub label: Arc<str>,
    pub reason: ExitReason,
    pub last_message: Option<Term>,
    /// The caller whose request was being handled, for calls.
    pub client: Option<Pid>,
    /// Whether that caller was alive when the server crashed.
    pub client_alive: bool,
    pub state: Term,
    /// The callback that was running (`handle_call/3`, `handle_continue/2`, …).
    pub callback: &'static str,
    /// The callback raised (rather than returned `{:stop, …}`), so the report says where.
    pub raised: bool,
}

/// The fields of a SASL supervisor report.
#[derive(Debug)]
pub struct ChildReport {
    pub supervisor: Pid,
    pub supervisor_label: Arc<str>,
    pub supervisor_name: Option<Term>,
    pub id: Term,
    pub pid: Pid,
    pub start_call: Arc<str>,
    pub restart: &'static str,
    pub shutdown: String,
    pub kind: &'static str,
    /// Why it died, for `ChildTerminated`.
    pub reason: Option<ExitReason>,
}

/// How a traced message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    Call,
    Cast,
    Reply,
    Info,
    Exit,
    Down,
}

#[derive(Debug)]
pub struct TraceEvent {
    pub from: Option<Pid>,
    pub to: Pid,
    pub kind: TraceKind,
    pub term: Term,
}

/// The broadcast bus. Slow subscribers lag and are told how much they missed rather than
/// slowing the node down.
pub struct Bus {
    tx: broadcast::Sender<Event>,
    /// Message tracing costs a clone per message, so it is off until someone turns it on.
    pub tracing: AtomicBool,
}

impl Bus {
    /// A bus of 16,384 events: how far a subscriber may fall behind before it is told it
    /// lost some, which is behaviour (the shell's `[N events were not shown]`).
    pub fn new() -> Bus {
        Bus {
            tx: broadcast::channel(16_384).0,
            tracing: AtomicBool::new(false),
        }
    }

    pub fn publish(&self, event: Event) {
        // An error only means nobody listens, which is fine.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn tracing(&self) -> bool {
        self.tracing.load(Ordering::Relaxed)
    }
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}
