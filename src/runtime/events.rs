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
#[derive(Clone, Debug)]
pub enum Event {
    /// A process printed a line (`IO.puts` from inside a process).
    Output { pid: Pid, text: Arc<str> },
    /// A GenServer is terminating abnormally: iex's `[error] GenServer … terminating` report.
    Crash(Arc<CrashReport>),
    /// A GenServer without a `handle_info` callback got a plain message: `use GenServer`'s
    /// default logs it and carries on.
    UnexpectedMessage {
        pid: Pid,
        /// The registered name, which Elixir's log shows instead of the pid.
        name: Option<Term>,
        label: Arc<str>,
        message: Term,
    },
    /// A process ended. Published for every exit, normal ones included.
    Exited {
        pid: Pid,
        label: Arc<str>,
        /// The registered or via name it had.
        name: Option<Term>,
        reason: ExitReason,
    },
    /// A supervisor started a child (SASL progress report), at boot or as a restart.
    ChildStarted(Arc<ChildReport>),
    /// A supervised child died and its supervisor is handling it (SASL error report).
    ChildTerminated(Arc<ChildReport>),
    /// A supervisor is about to restart a child whose process `old` died (or was stopped as
    /// collateral of rest_for_one / one_for_all). Published before the start, so it always
    /// precedes what the new process prints.
    Restarting {
        supervisor: Pid,
        supervisor_label: Arc<str>,
        id: Term,
        old: Pid,
    },
    /// A supervisor restarted a child: `old` died, `new` replaced it.
    Restarted {
        supervisor: Pid,
        supervisor_label: Arc<str>,
        id: Term,
        old: Pid,
        new: Pid,
    },
    /// A supervisor exceeded its restart intensity and is shutting down.
    GaveUp {
        supervisor: Pid,
        label: Arc<str>,
        restarts: u32,
        seconds: u64,
    },
    /// A call's reply arrived after the caller had timed out and was dropped (OTP 24+).
    LateReplyDropped {
        server: Pid,
        caller: Pid,
        reply: Term,
    },
    /// A point in the stream placed by a process (the shell marks the end of each evaluation,
    /// so what happened before its reply prints before the result).
    Mark { pid: Pid, seq: u64 },
    /// A message passing between two traced processes.
    Trace(Arc<TraceEvent>),
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
