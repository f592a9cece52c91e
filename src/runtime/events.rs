//! What happened in the node: crashes, exits, restarts, supervisor give-ups, output of
//! processes (`IO.puts`) and traced messages. The runtime publishes; the shell and tests
//! subscribe. Nothing here prints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
pub use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::exit::ExitReason;
use super::pid::Pid;
use super::term::Term;

/// One thing that happened.
///
/// Every variant is at most three words and a tag (32 bytes): the bus keeps up to 16,384 of
/// them (see [`Bus`]), and it was 144 bytes an event while the large ones were inline. The
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

/// How far a subscriber may fall behind before it is told it lost events: behaviour (the
/// shell's `[N events were not shown]`), so it is the 16,384 of the tokio channel the bus
/// replaced, and a slow subscriber lags at the same point.
const CAPACITY: usize = 16_384;

/// Slots are allocated this many at a time, when the ring first reaches them: a node that
/// publishes a few hundred events holds one chunk, not the 0.9 MB the whole ring takes.
const CHUNK: usize = 512;

/// The broadcast bus. Slow subscribers lag and are told how much they missed rather than
/// slowing the node down.
///
/// It behaves as tokio's `broadcast` channel of [`CAPACITY`], which it replaced because that
/// channel writes every one of its slots when it is made: 0.9 MB touched at start, before a
/// single event. Here the ring grows in chunks as it is written, and one lock guards it all,
/// since events are few (one per exit, report or line of output) and never on the call path.
pub struct Bus {
    shared: Arc<Shared>,
    /// Message tracing costs a clone per message, so it is off until someone turns it on.
    pub tracing: AtomicBool,
}

struct Shared {
    ring: Mutex<Ring>,
    /// Wakes the subscribers waiting in [`Events::recv`].
    published: Notify,
}

struct Ring {
    /// The position the next event takes; the ring holds positions from
    /// `tail - CAPACITY` (or 0) to `tail`.
    tail: u64,
    subscribers: usize,
    /// The bus is gone: a subscriber is told once it has read what is left.
    closed: bool,
    /// Slot `i` is `chunks[i / CHUNK][i % CHUNK]`; chunks are pushed in order as the ring
    /// first reaches them.
    chunks: Vec<Box<[Slot]>>,
}

#[derive(Default)]
struct Slot {
    /// Subscribers that have still to read this event; the last one drops it, so a report's
    /// terms are not kept alive until the ring comes round, as with tokio's channel.
    unread: usize,
    event: Option<Event>,
}

impl Ring {
    fn slot(&mut self, pos: u64) -> &mut Slot {
        let i = (pos % CAPACITY as u64) as usize;
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }

    /// The oldest position the ring still holds.
    fn oldest(&self) -> u64 {
        self.tail.saturating_sub(CAPACITY as u64)
    }

    /// One subscriber is done with the event at `pos`: the last one takes it, to drop it or
    /// to hand it on without a clone.
    fn release(&mut self, pos: u64) -> Option<Event> {
        let slot = self.slot(pos);
        slot.unread -= 1;
        if slot.unread == 0 {
            slot.event.take()
        } else {
            None
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Ring> {
    // A panic while the lock was held left the ring whole: every change is one assignment.
    shared
        .ring
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Bus {
    pub fn new() -> Bus {
        Bus {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring {
                    tail: 0,
                    subscribers: 0,
                    closed: false,
                    chunks: Vec::new(),
                }),
                published: Notify::new(),
            }),
            tracing: AtomicBool::new(false),
        }
    }

    pub fn publish(&self, event: Event) {
        let mut ring = lock(&self.shared);
        // Nobody listens: the event goes nowhere, and a later subscriber starts after it.
        if ring.subscribers == 0 {
            return;
        }
        let pos = ring.tail;
        let i = (pos % CAPACITY as u64) as usize;
        if i / CHUNK == ring.chunks.len() {
            ring.chunks
                .push((0..CHUNK).map(|_| Slot::default()).collect());
        }
        let subscribers = ring.subscribers;
        let slot = ring.slot(pos);
        slot.unread = subscribers;
        // An event overwritten here is one a slow subscriber loses; it learns how many when
        // it next reads.
        let overwritten = slot.event.replace(event);
        ring.tail += 1;
        drop(ring);
        drop(overwritten);
        self.shared.published.notify_waiters();
    }

    pub fn subscribe(&self) -> Events {
        let mut ring = lock(&self.shared);
        ring.subscribers += 1;
        Events {
            next: ring.tail,
            shared: self.shared.clone(),
        }
    }

    pub fn has_subscribers(&self) -> bool {
        lock(&self.shared).subscribers > 0
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

impl Drop for Bus {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.published.notify_waiters();
    }
}

/// A subscription to the bus: every event published after it was made, in order, with the
/// receiving side of tokio's `broadcast` channel (its error types too).
pub struct Events {
    shared: Arc<Shared>,
    /// The position of the next event to read.
    next: u64,
}

impl Events {
    /// The next event, waiting for one; `Lagged(n)` when `n` were overwritten before this
    /// subscriber read them (the next read gets the oldest one left), `Closed` once the bus is
    /// gone and everything published has been read. Cancel-safe: nothing is consumed until
    /// it returns.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        loop {
            // Made before the look, so a publish between the look and the wait still wakes it.
            let published = self.shared.published.notified();
            match take(&self.shared, &mut self.next) {
                Ok(event) => {
                    // As tokio's channel, a subscriber that always finds an event still gives
                    // way to other tasks once its budget is spent.
                    tokio::task::consume_budget().await;
                    return Ok(event);
                }
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => published.await,
            }
        }
    }

    /// The next event if there is one, with the errors of [`Events::recv`] and `Empty`.
    pub fn try_recv(&mut self) -> Result<Event, TryRecvError> {
        take(&self.shared, &mut self.next)
    }
}

/// The event at `next` for a subscriber, moving it on.
fn take(shared: &Shared, next: &mut u64) -> Result<Event, TryRecvError> {
    let mut ring = lock(shared);
    let oldest = ring.oldest();
    if *next < oldest {
        let missed = oldest - *next;
        *next = oldest;
        return Err(TryRecvError::Lagged(missed));
    }
    if *next == ring.tail {
        return Err(if ring.closed {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        });
    }
    let pos = *next;
    *next += 1;
    // Every subscriber there when it was published is counted in its `unread`, so an event
    // between `oldest` and `tail` is held until the last of them reads it.
    let event = match ring.release(pos) {
        Some(event) => event,
        None => ring
            .slot(pos)
            .event
            .clone()
            .expect("an unread event is held"),
    };
    Ok(event)
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut ring = lock(&self.shared);
        ring.subscribers -= 1;
        // What this subscriber left unread need not wait for it any more.
        let mut dropped = Vec::new();
        for pos in self.next.max(ring.oldest())..ring.tail {
            dropped.extend(ring.release(pos));
        }
        drop(ring);
        drop(dropped);
    }
}
