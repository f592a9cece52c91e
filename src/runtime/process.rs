//! The node and its processes: spawn, the process table, exit signals, links, monitors,
//! `trap_exit`, local names, calls and casts, process info.
//!
//! A process is a tokio task running the body it was spawned with, wrapped in a future
//! ([`Task`]) that turns every way of ending into one exit path: the body returning a reason,
//! a panic (caught and turned into an exception reason), or an exit signal, which aborts the
//! task. That exit path runs in the wrapper's `Drop`, in the order the semantics need:
//! the reason is recorded, names are freed, tables dropped or handed to their heir, monitors
//! told (`{:DOWN, …}`), links told (exit signals), the mailbox closed, waiting callers woken.
//! Freeing names before anyone hears of the death is what lets a supervisor restart a named
//! child at once (S16).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::events::{Bus, Event, TraceEvent, TraceKind};
use super::exit::{CallError, ExitReason, StartError};
use super::mailbox::{Envelope, Mailbox, Receive, SystemRequest};
use super::peers::Peers;
use super::pid::{Pid, Ref};
use super::reply::{self, Delivery, From};
use super::table::Tables;
use super::term::{Atom, BoxFuture, Term, atom};

/// The BEAM's default process limit.
pub const DEFAULT_MAX_PROCESSES: usize = 1_048_576;

/// The default `GenServer.call` timeout.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(5000);

const SHARDS: usize = 64;

/// A shard of the process table. Pids are sequential integers handed out by the node, not
/// input anyone can choose, so they need no SipHash (which the profile of a call round trip
/// showed at about a hundred instructions per lookup): a multiplicative hash does.
type PidMap = HashMap<u64, Arc<Entry>, std::hash::BuildHasherDefault<PidHasher>>;

#[derive(Default)]
struct PidHasher(u64);

impl std::hash::Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // The shard already took `n % 64`; spread the rest over the table's buckets.
        self.0 = (n / SHARDS as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Settings of a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `spawn` fails with `system_limit` past this many live processes (S33).
    pub max_processes: usize,
    /// The first pid number handed out, so pids look like the BEAM's (`#PID<0.100.0>`).
    pub first_pid: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            max_processes: DEFAULT_MAX_PROCESSES,
            first_pid: 100,
        }
    }
}

/// A running node: the process table, names, tables and the event bus. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

struct NodeInner {
    config: NodeConfig,
    next_pid: AtomicU64,
    next_ref: AtomicU64,
    /// Each shard on cache lines of its own: adjacent shards shared a line, so a lookup on
    /// one core and a lookup of a neighbouring pid on the other bounced it between them.
    shards: Vec<CachePadded<RwLock<PidMap>>>,
    count: AtomicUsize,
    tasks: AtomicUsize,
    names: RwLock<HashMap<Atom, Pid>>,
    tables: Tables,
    bus: Bus,
    traced: RwLock<HashSet<Pid>>,
    late_replies_dropped: AtomicU64,
    /// Divides every sleep of the experiments, so a 10 s increment can be shown in 1 s.
    speed: AtomicU64,
}

/// The status byte of a process blocked in a call: `Process.info` reports it as waiting, as
/// the BEAM does, but unlike a process waiting in `receive` it is not woken by its mailbox
/// (the reply does not pass through it), so queued messages do not make it runnable.
const IN_CALL: u8 = 3;

/// The status `Process.info` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    /// Waiting in `receive`.
    Waiting,
    /// Inside `:timer.sleep`.
    Sleeping,
}

/// What the runtime keeps about one live process.
pub(crate) struct Entry {
    pub pid: Pid,
    pub mailbox: Mailbox,
    pub trap_exit: AtomicBool,
    pub state: Mutex<LinkState>,
    /// Boxed: set once, at death, and a live process should not carry its room.
    pub exit_reason: OnceLock<Box<ExitReason>>,
    pub died: Notify,
    abort: OnceLock<AbortHandle>,
    /// What the process is (`Todo.Server`, `Supervisor`, `fn`), for `ps` and reports.
    pub label: RwLock<Arc<str>>,
    pub parent: Option<Pid>,
    pub status: AtomicU8,
    /// How many times the supervisor restarted this child before this incarnation.
    pub restarts: AtomicU32,
    /// A via name (`{:todo_server, "Bob's list"}`), for reports and `ps`; boxed, since most
    /// processes have none.
    pub via_name: OnceLock<Box<Term>>,
}

/// Links, monitors, names and tables of a process: everything its death must release.
#[derive(Default)]
pub(crate) struct LinkState {
    pub dead: bool,
    /// Ordered, small while few (`Peers`): a supervisor holds a link and a monitor per child,
    /// and unlinking or demonitoring one must not cost a scan of all of them.
    pub links: Peers<Pid, ()>,
    /// Monitors others hold on this process: ref -> watcher.
    pub monitored_by: Peers<Ref, Pid>,
    /// Monitors held, names and tables: what supervisors, registries and the shell have and
    /// most processes never do, so most pay one word for it instead of nine.
    pub held: Option<Box<Held>>,
}

#[derive(Default)]
pub(crate) struct Held {
    /// Monitors this process holds: ref -> target.
    pub monitoring: Peers<Ref, Pid>,
    pub names: Vec<Atom>,
    pub tables: Vec<u64>,
}

impl LinkState {
    pub fn held(&mut self) -> &mut Held {
        self.held.get_or_insert_with(Default::default)
    }

    pub fn first_name(&self) -> Option<Atom> {
        self.held.as_ref()?.names.first().copied()
    }
}

/// Where a message goes: a pid or a registered name.
#[derive(Clone, Debug)]
pub enum Dest {
    Pid(Pid),
    Name(Atom),
}

impl std::convert::From<Pid> for Dest {
    fn from(p: Pid) -> Dest {
        Dest::Pid(p)
    }
}
impl std::convert::From<Atom> for Dest {
    fn from(a: Atom) -> Dest {
        Dest::Name(a)
    }
}
impl std::convert::From<&'static str> for Dest {
    fn from(a: &'static str) -> Dest {
        Dest::Name(Atom::from_static(a))
    }
}
impl Dest {
    pub fn to_term(&self) -> Term {
        match self {
            Dest::Pid(p) => Term::Pid(*p),
            Dest::Name(a) => Term::Atom(*a),
        }
    }
}

/// Options of a spawn.
#[derive(Default, Clone)]
pub struct SpawnOpts {
    /// Link the new process to this one before it runs.
    pub link: Option<Pid>,
    /// Monitor the new process from this one before it runs; the ref is returned.
    pub monitor: Option<Pid>,
    pub label: Option<Arc<str>>,
    pub trap_exit: bool,
}

/// A snapshot of `Process.info`.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub pid: Pid,
    pub label: Arc<str>,
    pub registered_name: Option<Atom>,
    pub via_name: Option<Term>,
    pub status: Status,
    pub message_queue_len: usize,
    pub links: Vec<Pid>,
    pub monitors: Vec<Pid>,
    pub monitored_by: Vec<Pid>,
    pub trap_exit: bool,
    pub parent: Option<Pid>,
    pub restarts: u32,
    pub memory: usize,
    pub tables: usize,
}

type Body = Box<dyn for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send>;

impl Node {
    pub fn new(config: NodeConfig) -> Node {
        install_panic_hook();
        let first = config.first_pid;
        Node {
            inner: Arc::new(NodeInner {
                config,
                next_pid: AtomicU64::new(first),
                next_ref: AtomicU64::new(1),
                shards: (0..SHARDS)
                    .map(|_| CachePadded::new(RwLock::new(PidMap::default())))
                    .collect(),
                count: AtomicUsize::new(0),
                tasks: AtomicUsize::new(0),
                names: RwLock::new(HashMap::new()),
                tables: Tables::default(),
                bus: Bus::new(),
                traced: RwLock::new(HashSet::new()),
                late_replies_dropped: AtomicU64::new(0),
                speed: AtomicU64::new(1f64.to_bits()),
            }),
        }
    }

    // ----- spawning -------------------------------------------------------------------------

    /// Spawns a process running `body`. Fails with `system_limit` at the process limit.
    pub fn spawn<F>(&self, opts: SpawnOpts, body: F) -> Result<Pid, StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        self.spawn_boxed(opts, Box::new(body)).map(|(pid, _)| pid)
    }

    /// Spawns and monitors in one step (`spawn_monitor`).
    pub fn spawn_monitor<F>(&self, watcher: Pid, body: F) -> Result<(Pid, Ref), StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        let opts = SpawnOpts {
            monitor: Some(watcher),
            ..Default::default()
        };
        self.spawn_boxed(opts, Box::new(body))
            .map(|(pid, r)| (pid, r.unwrap()))
    }

    fn spawn_boxed(&self, opts: SpawnOpts, body: Body) -> Result<(Pid, Option<Ref>), StartError> {
        let inner = &self.inner;
        if inner.count.fetch_add(1, Ordering::AcqRel) >= inner.config.max_processes {
            inner.count.fetch_sub(1, Ordering::AcqRel);
            return Err(StartError::SystemLimit);
        }
        let pid = Pid(inner.next_pid.fetch_add(1, Ordering::Relaxed));
        let entry = Arc::new(Entry {
            pid,
            mailbox: Mailbox::new(),
            trap_exit: AtomicBool::new(opts.trap_exit),
            state: Mutex::new(LinkState::default()),
            exit_reason: OnceLock::new(),
            died: Notify::new(),
            abort: OnceLock::new(),
            label: RwLock::new(opts.label.unwrap_or_else(|| Arc::from("fn"))),
            parent: opts.link.or(opts.monitor),
            status: AtomicU8::new(Status::Running as u8),
            restarts: AtomicU32::new(0),
            via_name: OnceLock::new(),
        });
        self.shard(pid)
            .write()
            .unwrap()
            .insert(pid.0, entry.clone());
        let mut monitor_ref = None;
        if let Some(parent) = opts.link {
            self.link_new(parent, &entry);
        }
        if let Some(watcher) = opts.monitor {
            monitor_ref = Some(self.monitor(watcher, pid));
        }
        inner.tasks.fetch_add(1, Ordering::AcqRel);
        let process = Process {
            entry: entry.clone(),
            node: self.clone(),
            timer: CallTimer::default(),
        };
        let task = Task {
            node: self.clone(),
            entry: entry.clone(),
            state: TaskState::Start(body, process),
        };
        let handle = tokio::spawn(task);
        let _ = entry.abort.set(handle.abort_handle());
        // An exit signal that arrived before the abort handle existed is honoured now.
        if entry.exit_reason.get().is_some() {
            handle.abort();
        }
        Ok((pid, monitor_ref))
    }

    // ----- signals --------------------------------------------------------------------------

    /// `Process.exit(pid, reason)` sent by `from` (S17-S19). Returns whether the target existed.
    pub fn exit(&self, from: Pid, pid: Pid, reason: ExitReason) -> bool {
        match self.entry(pid) {
            Some(entry) => {
                self.exit_signal(&entry, from, reason, true);
                true
            }
            None => false,
        }
    }

    /// Delivers an exit signal. `explicit` is an `exit/2` call rather than a link firing: only
    /// there does `:kill` mean the untrappable kill.
    fn exit_signal(&self, target: &Arc<Entry>, from: Pid, reason: ExitReason, explicit: bool) {
        if explicit && reason == ExitReason::Kill {
            self.terminate(target, ExitReason::Killed);
        } else if target.trap_exit.load(Ordering::Acquire) {
            self.trace(Some(from), target.pid, TraceKind::Exit, || reason.to_term());
            let msg = Term::Tuple(vec![atom("EXIT"), Term::Pid(from), reason.to_term()]);
            let _ = target.mailbox.push(Envelope::Message(msg));
        } else if reason.is_normal() {
            if from == target.pid {
                self.terminate(target, ExitReason::Normal);
            }
        } else {
            self.terminate(target, reason);
        }
    }

    /// Ends a process from outside: records the reason, then aborts its task; the task's
    /// drop runs the exit path.
    fn terminate(&self, target: &Arc<Entry>, reason: ExitReason) {
        if target.exit_reason.set(Box::new(reason)).is_ok()
            && let Some(handle) = target.abort.get()
        {
            handle.abort();
        }
    }

    /// Links two processes (S20): both ways, once per pair. Linking to a dead process sends
    /// `:noproc` to the linker.
    pub fn link(&self, a: Pid, b: Pid) {
        if a == b {
            return;
        }
        let (Some(ea), eb) = (self.entry(a), self.entry(b)) else {
            return;
        };
        let Some(eb) = eb.filter(|eb| {
            let mut s = eb.state.lock().unwrap();
            if s.dead {
                return false;
            }
            s.links.insert(a, ());
            true
        }) else {
            self.exit_signal(&ea, b, ExitReason::Noproc, false);
            return;
        };
        let mut s = ea.state.lock().unwrap();
        if s.dead {
            drop(s);
            eb.state.lock().unwrap().links.remove(&a);
        } else {
            s.links.insert(b, ());
        }
    }

    /// Links a parent to the child it is spawning. The child is new, so neither side can hold
    /// the link yet (pids are never reused): no scan of the parent's links, which for a
    /// supervisor of 100k children made every start cost a pass over all of them.
    fn link_new(&self, parent: Pid, child: &Arc<Entry>) {
        // As `link`: a parent already gone or dying leaves the child unlinked.
        if parent == child.pid {
            return;
        }
        let Some(ep) = self.entry(parent) else {
            return;
        };
        let mut s = ep.state.lock().unwrap();
        if !s.dead {
            s.links.insert(child.pid, ());
            drop(s);
            child.state.lock().unwrap().links.insert(parent, ());
        }
    }

    pub fn unlink(&self, a: Pid, b: Pid) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(e) = self.entry(x) {
                e.state.lock().unwrap().links.remove(&y);
            }
        }
    }

    /// `watcher` monitors `target` (S21); a dead target gets an immediate `:noproc` DOWN.
    pub fn monitor(&self, watcher: Pid, target: Pid) -> Ref {
        let r = self.make_ref();
        let alive = self.entry(target).is_some_and(|e| {
            let mut s = e.state.lock().unwrap();
            if s.dead {
                return false;
            }
            s.monitored_by.insert(r, watcher);
            true
        });
        if alive {
            if let Some(w) = self.entry(watcher) {
                w.state.lock().unwrap().held().monitoring.insert(r, target);
            }
        } else {
            self.deliver_down(watcher, r, target, &ExitReason::Noproc);
        }
        r
    }

    /// Removes a monitor. With `flush`, a DOWN for it already queued is removed too.
    pub fn demonitor(&self, watcher: Pid, r: Ref, flush: bool) -> bool {
        let mut target = None;
        if let Some(w) = self.entry(watcher) {
            let mut s = w.state.lock().unwrap();
            target = s.held.as_mut().and_then(|h| h.monitoring.remove(&r));
        }
        let removed = target.and_then(|t| self.entry(t)).is_some_and(|t| {
            let mut s = t.state.lock().unwrap();
            s.monitored_by.remove(&r).is_some()
        });
        if flush && let Some(w) = self.entry(watcher) {
            let _ = w.mailbox.remove_where(|env| is_down_for(env, r));
        }
        removed
    }

    fn deliver_down(&self, watcher: Pid, r: Ref, pid: Pid, reason: &ExitReason) {
        if let Some(w) = self.entry(watcher) {
            // A monitor fires once: the watcher no longer holds it.
            if let Some(h) = &mut w.state.lock().unwrap().held {
                h.monitoring.remove(&r);
            }
            self.trace(Some(pid), watcher, TraceKind::Down, || reason.to_term());
            let msg = Term::Tuple(vec![
                atom("DOWN"),
                Term::Ref(r),
                atom("process"),
                Term::Pid(pid),
                reason.to_term(),
            ]);
            let _ = w.mailbox.push(Envelope::Message(msg));
        }
    }

    // ----- messages -------------------------------------------------------------------------

    /// `send/2`: a silent no-op for a dead pid or an unknown name (S3, S29).
    pub fn send(&self, from: Option<Pid>, dest: &Dest, msg: Term) {
        if let Some(e) = self.resolve(dest) {
            self.trace_msg(from, e.pid, TraceKind::Info, &msg);
            let _ = e.mailbox.push(Envelope::Message(msg));
        }
    }

    /// `GenServer.cast/2`: always `:ok`, even to nobody (S29).
    pub fn cast(&self, from: Option<Pid>, dest: &Dest, msg: Term) {
        if let Some(e) = self.resolve(dest) {
            self.trace_msg(from, e.pid, TraceKind::Cast, &msg);
            let _ = e.mailbox.push(Envelope::Cast(msg));
        }
    }

    /// `GenServer.call/3` from `caller` (S25-S28). The request stays with the server after a
    /// timeout and is still handled; its late reply is dropped and counted.
    pub async fn call(
        &self,
        caller: Pid,
        dest: &Dest,
        request: Term,
        timeout: Option<Duration>,
    ) -> Result<Term, CallError> {
        self.call_timed(caller, dest, request, timeout, None).await
    }

    /// A call whose timeout reuses the caller's timer when it has one (see [`CallTimer`]).
    async fn call_timed(
        &self,
        caller: Pid,
        dest: &Dest,
        request: Term,
        timeout: Option<Duration>,
        timer: Option<&CallTimer>,
    ) -> Result<Term, CallError> {
        let Some(server) = self.resolve(dest) else {
            return Err(CallError::Noproc);
        };
        if server.pid == caller {
            return Err(CallError::CallingSelf);
        }
        self.trace_msg(Some(caller), server.pid, TraceKind::Call, &request);
        let (from, pending) = reply::channel(caller, self.make_ref());
        if server
            .mailbox
            .push(Envelope::Call { from, request })
            .is_err()
        {
            return Err(self.call_failure(&server));
        }
        let mut pending = pending;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let outcome = match deadline {
            Some(d) => {
                let mut sleep = match timer.and_then(CallTimer::take) {
                    Some(mut sleep) => {
                        sleep.as_mut().reset(d);
                        sleep
                    }
                    None => Box::pin(tokio::time::sleep_until(d)),
                };
                let out = ReplyOrTimeout {
                    pending: &mut pending,
                    sleep: sleep.as_mut(),
                }
                .await;
                if let Some(t) = timer {
                    t.put(sleep);
                }
                out
            }
            None => Some((&mut pending).await),
        };
        drop(pending);
        match outcome {
            Some(Some(reply)) => {
                self.trace_msg(Some(server.pid), caller, TraceKind::Reply, &reply);
                Ok(reply)
            }
            None => Err(CallError::Timeout),
            // Every handle of the request is gone unanswered: the server died, or dropped it.
            Some(None) => {
                if let Some(reason) = server.exit_reason.get() {
                    return Err(CallError::Exited((**reason).clone()));
                }
                let died = server.died.notified();
                tokio::pin!(died);
                died.as_mut().enable();
                if let Some(reason) = server.exit_reason.get() {
                    return Err(CallError::Exited((**reason).clone()));
                }
                match deadline {
                    Some(d) => match tokio::time::timeout_at(d, died).await {
                        Ok(()) => Err(self.call_failure(&server)),
                        Err(_) => Err(CallError::Timeout),
                    },
                    None => {
                        died.await;
                        Err(self.call_failure(&server))
                    }
                }
            }
        }
    }

    fn call_failure(&self, server: &Entry) -> CallError {
        match server.exit_reason.get() {
            Some(reason) => CallError::Exited((**reason).clone()),
            None => CallError::Noproc,
        }
    }

    /// `GenServer.reply/2`, from any process. A reply to a caller that gave up is dropped,
    /// counted and published.
    pub fn reply(&self, server: Pid, from: &From, value: Term) -> Delivery {
        let (delivery, undelivered) = from.try_reply(value);
        if delivery == Delivery::LateDropped {
            self.inner
                .late_replies_dropped
                .fetch_add(1, Ordering::Relaxed);
            self.inner.bus.publish(Event::LateReplyDropped {
                server,
                caller: from.pid,
                reply: undelivered.unwrap_or_else(Term::nil),
            });
        }
        delivery
    }

    /// `:sys.get_state/1` of a GenServer.
    pub async fn get_state(&self, dest: &Dest, timeout: Duration) -> Result<Term, CallError> {
        let Some(server) = self.resolve(dest) else {
            return Err(CallError::Noproc);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if server
            .mailbox
            .push(Envelope::System(SystemRequest::GetState(tx)))
            .is_err()
        {
            return Err(self.call_failure(&server));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(_)) => Err(self.call_failure(&server)),
            Err(_) => Err(CallError::Timeout),
        }
    }

    /// Makes a GenServer or supervisor raise inside its own loop (the shell's `crash`):
    /// an abnormal exit with a crash report, unlike a kill. `false` for a dead pid.
    pub fn crash(&self, pid: Pid) -> bool {
        self.entry(pid).is_some_and(|e| {
            e.mailbox
                .push(Envelope::System(SystemRequest::Crash))
                .is_ok()
        })
    }

    /// Asks a GenServer or supervisor to stop in order (`GenServer.stop/2`,
    /// `Supervisor.stop/2`): a supervisor stops its children first. `false` for a dead pid.
    pub fn stop(&self, pid: Pid, reason: ExitReason) -> bool {
        self.entry(pid).is_some_and(|e| {
            e.mailbox
                .push(Envelope::System(SystemRequest::Stop(reason)))
                .is_ok()
        })
    }

    /// Whether every process but `except` is idle: waiting in `receive` with nothing new,
    /// asleep, or blocked in a call. The shell uses it to let the output of a line settle before the next prompt.
    pub fn quiescent(&self, except: Pid) -> bool {
        self.inner.shards.iter().all(|shard| {
            shard.read().unwrap().values().all(|e| {
                e.pid == except
                    || match e.status.load(Ordering::Relaxed) {
                        // Waiting in `receive`: runnable only if a message came since it
                        // last looked. One it skipped (no clause matches it, as the
                        // ETS-TRANSFER a process never receives) does not wake it again.
                        1 => e.mailbox.parked(),
                        0 => false,
                        // Asleep, or blocked in a call: its reply is another's work.
                        _ => true,
                    }
            })
        }) && self.tasks() == self.count()
    }

    // ----- names ----------------------------------------------------------------------------

    /// `Process.register/2`: `false` when the name is taken or the process is dead (S31).
    pub fn register(&self, name: Atom, pid: Pid) -> bool {
        let Some(entry) = self.entry(pid) else {
            return false;
        };
        let mut names = self.inner.names.write().unwrap();
        if names.contains_key(&name) {
            return false;
        }
        let mut s = entry.state.lock().unwrap();
        if s.dead {
            return false;
        }
        s.held().names.push(name);
        names.insert(name, pid);
        true
    }

    pub fn unregister(&self, name: Atom) -> bool {
        let Some(pid) = self.inner.names.write().unwrap().remove(&name) else {
            return false;
        };
        if let Some(e) = self.entry(pid) {
            if let Some(h) = &mut e.state.lock().unwrap().held {
                h.names.retain(|n| *n != name);
            }
        }
        true
    }

    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        self.inner.names.read().unwrap().get(&name).copied()
    }

    /// Every registered name and its pid, sorted by name.
    pub fn registered(&self) -> Vec<(Atom, Pid)> {
        let mut v: Vec<_> = self
            .inner
            .names
            .read()
            .unwrap()
            .iter()
            .map(|(a, p)| (*a, *p))
            .collect();
        v.sort();
        v
    }

    fn resolve(&self, dest: &Dest) -> Option<Arc<Entry>> {
        match dest {
            Dest::Pid(p) => self.entry(*p),
            Dest::Name(n) => self.whereis(*n).and_then(|p| self.entry(p)),
        }
    }

    // ----- introspection --------------------------------------------------------------------

    pub fn alive(&self, pid: Pid) -> bool {
        // Without cloning the entry: its reference count is shared with every other reader.
        self.shard(pid)
            .read()
            .unwrap()
            .get(&pid.0)
            .is_some_and(|e| e.exit_reason.get().is_none())
    }

    /// Live processes.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Tasks of processes not yet fully torn down; equals `count()` when nothing is dying.
    pub fn tasks(&self) -> usize {
        self.inner.tasks.load(Ordering::Acquire)
    }

    /// Every live pid, in spawn order.
    pub fn pids(&self) -> Vec<Pid> {
        let mut v: Vec<Pid> = self
            .inner
            .shards
            .iter()
            .flat_map(|s| {
                s.read()
                    .unwrap()
                    .keys()
                    .map(|k| Pid(*k))
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort();
        v
    }

    pub fn info(&self, pid: Pid) -> Option<ProcessInfo> {
        let e = self.entry(pid)?;
        let s = e.state.lock().unwrap();
        if s.dead {
            return None;
        }
        let queue = e.mailbox.len();
        Some(ProcessInfo {
            pid,
            label: e.label.read().unwrap().clone(),
            registered_name: s.first_name(),
            via_name: e.via_name.get().map(|t| (**t).clone()),
            status: match e.status.load(Ordering::Relaxed) {
                0 => Status::Running,
                1 | IN_CALL => Status::Waiting,
                _ => Status::Sleeping,
            },
            message_queue_len: queue,
            links: s.links.keys().copied().collect(),
            monitors: s
                .held
                .as_ref()
                .map(|h| h.monitoring.values().copied().collect())
                .unwrap_or_default(),
            monitored_by: s.monitored_by.values().copied().collect(),
            trap_exit: e.trap_exit.load(Ordering::Relaxed),
            parent: e.parent,
            restarts: e.restarts.load(Ordering::Relaxed),
            memory: std::mem::size_of::<Entry>() + 256 + queue * std::mem::size_of::<Envelope>(),
            tables: s.held.as_ref().map_or(0, |h| h.tables.len()),
        })
    }

    /// The first `limit` queued messages of a process, as terms.
    pub fn messages(&self, pid: Pid, limit: usize) -> Option<Vec<Term>> {
        self.entry(pid).map(|e| e.mailbox.snapshot(limit))
    }

    /// Sets the label shown by `ps` and reports (`Todo.Server`).
    pub fn set_label(&self, pid: Pid, label: Arc<str>) {
        if let Some(e) = self.entry(pid) {
            *e.label.write().unwrap() = label;
        }
    }

    pub fn set_via_name(&self, pid: Pid, name: Term) {
        if let Some(e) = self.entry(pid) {
            let _ = e.via_name.set(Box::new(name));
        }
    }

    pub fn set_restarts(&self, pid: Pid, n: u32) {
        if let Some(e) = self.entry(pid) {
            e.restarts.store(n, Ordering::Relaxed);
        }
    }

    /// The registered name or via name of a process, for reports.
    pub fn name_of(&self, pid: Pid) -> Option<Term> {
        let e = self.entry(pid)?;
        if let Some(v) = e.via_name.get() {
            return Some((**v).clone());
        }
        e.state.lock().unwrap().first_name().map(Term::Atom)
    }

    pub fn make_ref(&self) -> Ref {
        Ref(self.inner.next_ref.fetch_add(1, Ordering::Relaxed))
    }

    pub fn late_replies_dropped(&self) -> u64 {
        self.inner.late_replies_dropped.load(Ordering::Relaxed)
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    // ----- events, output, tracing, time ----------------------------------------------------

    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }

    pub fn publish(&self, event: Event) {
        self.inner.bus.publish(event);
    }

    /// `IO.puts` from a process: the shell prints it above the prompt.
    pub fn puts(&self, pid: Pid, text: impl Into<Arc<str>>) {
        self.inner.bus.publish(Event::Output {
            pid,
            text: text.into(),
        });
    }

    /// Traces messages to and from these pids; an empty set with `on` traces everything.
    pub fn set_trace(&self, on: bool, pids: &[Pid]) {
        let mut traced = self.inner.traced.write().unwrap();
        if on {
            traced.extend(pids.iter().copied());
        } else if pids.is_empty() {
            traced.clear();
        } else {
            pids.iter().for_each(|p| {
                traced.remove(p);
            });
        }
        self.inner
            .bus
            .tracing
            .store(on || !traced.is_empty(), Ordering::Relaxed);
    }

    fn trace_msg(&self, from: Option<Pid>, to: Pid, kind: TraceKind, term: &Term) {
        if self.inner.bus.tracing() {
            self.trace(from, to, kind, || term.clone());
        }
    }

    fn trace(&self, from: Option<Pid>, to: Pid, kind: TraceKind, term: impl FnOnce() -> Term) {
        if !self.inner.bus.tracing() {
            return;
        }
        let traced = self.inner.traced.read().unwrap();
        let wanted =
            traced.is_empty() || traced.contains(&to) || from.is_some_and(|f| traced.contains(&f));
        if wanted {
            let event = TraceEvent {
                from,
                to,
                kind,
                term: term(),
            };
            self.inner.bus.publish(Event::Trace(Arc::new(event)));
        }
    }

    /// The time scale of the experiments' sleeps (`--speed`).
    pub fn speed(&self) -> f64 {
        f64::from_bits(self.inner.speed.load(Ordering::Relaxed))
    }

    pub fn set_speed(&self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.inner.speed.store(factor.to_bits(), Ordering::Relaxed);
        }
    }

    /// A duration of the experiments, divided by the speed factor.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.speed())
    }

    pub fn tables(&self) -> &Tables {
        &self.inner.tables
    }

    // ----- helpers --------------------------------------------------------------------------

    fn shard(&self, pid: Pid) -> &RwLock<PidMap> {
        &self.inner.shards[(pid.0 as usize) % SHARDS]
    }

    pub(crate) fn entry(&self, pid: Pid) -> Option<Arc<Entry>> {
        self.shard(pid).read().unwrap().get(&pid.0).cloned()
    }

    /// The exit path, run once per process from its task's drop.
    fn finish(&self, entry: &Arc<Entry>, reason: ExitReason) {
        let reason = (**entry.exit_reason.get_or_init(|| Box::new(reason))).clone();
        let mut state = {
            let mut s = entry.state.lock().unwrap();
            // Taken first, then marked: the entry stays in the process table a little longer,
            // and a register or monitor arriving meanwhile must find it dead, not attach a
            // name or a monitor that nothing will release or fire.
            let state = std::mem::take(&mut *s);
            s.dead = true;
            state
        };
        // Names first: a restart must find them free (S16).
        let held = state.held.take().map(|h| *h).unwrap_or_default();
        let names_held = held.names;
        if !names_held.is_empty() {
            let mut names = self.inner.names.write().unwrap();
            for n in names_held.iter() {
                if names.get(n) == Some(&entry.pid) {
                    names.remove(n);
                }
            }
        }
        self.shard(entry.pid).write().unwrap().remove(&entry.pid.0);
        self.inner.count.fetch_sub(1, Ordering::AcqRel);
        for table in held.tables {
            self.inner.tables.owner_died(self, table, entry.pid);
        }
        for (r, target) in held.monitoring {
            if let Some(t) = self.entry(target) {
                t.state.lock().unwrap().monitored_by.remove(&r);
            }
        }
        // Published before anyone is told, so a report of the death always precedes the
        // reports of what it caused (a restart).
        if self.inner.bus.has_subscribers() {
            let label = entry.label.read().unwrap().clone();
            let name = entry
                .via_name
                .get()
                .map(|t| (**t).clone())
                .or_else(|| names_held.first().map(|a| Term::Atom(*a)));
            self.inner.bus.publish(Event::Exited {
                pid: entry.pid,
                label,
                name,
                reason: reason.clone(),
            });
        }
        // Monitors before links, so a registry hears of a death before the supervisor that
        // restarts the process does.
        for (r, watcher) in state.monitored_by {
            self.deliver_down(watcher, r, entry.pid, &reason);
        }
        for (peer, ()) in state.links {
            if let Some(p) = self.entry(peer) {
                p.state.lock().unwrap().links.remove(&entry.pid);
                self.exit_signal(&p, entry.pid, reason.clone(), false);
            }
        }
        drop(entry.mailbox.close());
        entry.died.notify_waiters();
    }
}

/// One shared `Arc<str>` per module name, so starting a GenServer allocates no label.
pub(crate) fn static_label(module: &'static str) -> Arc<str> {
    static LABELS: OnceLock<RwLock<HashMap<&'static str, Arc<str>>>> = OnceLock::new();
    let labels = LABELS.get_or_init(Default::default);
    if let Some(l) = labels.read().unwrap().get(module) {
        return l.clone();
    }
    labels
        .write()
        .unwrap()
        .entry(module)
        .or_insert_with(|| Arc::from(module))
        .clone()
}

fn is_down_for(env: &Envelope, r: Ref) -> bool {
    matches!(env, Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r))
}

/// The handle a running process holds on itself: its pid, its mailbox, and the node.
pub struct Process {
    entry: Arc<Entry>,
    node: Node,
    timer: CallTimer,
}

/// The timer of a process's call timeouts, kept between calls. Registering a fresh tokio
/// timer for every call takes the timer driver's lock twice and, when no other timer is due
/// sooner, wakes the driver's thread (an eventfd write): the profile of a call round trip was
/// dominated by that. A kept timer is moved to the new deadline with one atomic update while
/// its old deadline has not passed. Left behind after a call, it fires once, harmlessly.
///
/// It is kept from a process's third call on: most processes that call at all call once or
/// twice in their life (a to-do server registers its name and loads its list), and a kept
/// timer is 128 bytes for the rest of that life.
#[derive(Default)]
pub(crate) struct CallTimer(Mutex<TimerSlot>);

#[derive(Default)]
struct TimerSlot {
    calls: u8,
    kept: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Calls after which a process keeps its timer.
const CALLS_BEFORE_KEEPING: u8 = 2;

impl CallTimer {
    fn take(&self) -> Option<Pin<Box<tokio::time::Sleep>>> {
        self.0.lock().ok()?.kept.take()
    }
    fn put(&self, sleep: Pin<Box<tokio::time::Sleep>>) {
        if let Ok(mut slot) = self.0.lock() {
            if slot.calls >= CALLS_BEFORE_KEEPING {
                slot.kept = Some(sleep);
            } else {
                slot.calls += 1;
            }
        }
    }
}

/// Waits for a reply, or for the deadline: `None` on a timeout. The reply is looked at first,
/// so a reply that is there is never lost to a deadline that passed at the same moment.
struct ReplyOrTimeout<'a> {
    pending: &'a mut reply::Pending,
    sleep: Pin<&'a mut tokio::time::Sleep>,
}

impl Future for ReplyOrTimeout<'_> {
    type Output = Option<Option<Term>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(r) = Pin::new(&mut *self.pending).poll(cx) {
            return Poll::Ready(Some(r));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Process {
    pub fn pid(&self) -> Pid {
        self.entry.pid
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The next envelope of any kind. A small future of its own (no room for a timer), since
    /// every idle GenServer holds one while it waits.
    pub fn receive(&mut self) -> impl Future<Output = Envelope> + Send + '_ {
        ReceiveAny {
            entry: &self.entry,
            scanned: 0,
        }
    }

    /// The first envelope `accept` takes, leaving the others queued in order; `None` after
    /// `timeout` (scaled by the node's speed only where the caller scales it).
    pub async fn receive_match<F>(
        &mut self,
        accept: F,
        timeout: Option<Duration>,
    ) -> Option<Envelope>
    where
        F: FnMut(&Envelope) -> bool + Unpin + Send,
    {
        self.entry
            .status
            .store(Status::Waiting as u8, Ordering::Relaxed);
        let recv = Receive {
            mailbox: &self.entry.mailbox,
            accept,
            scanned: 0,
        };
        let out = match timeout {
            // Boxed, so a receive without a timeout does not carry a timer's room.
            Some(t) => Box::pin(tokio::time::timeout(t, recv)).await.ok(),
            None => Some(recv.await),
        };
        self.entry
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
        out
    }

    /// Takes a queued envelope without waiting.
    pub fn try_receive(&mut self) -> Option<Envelope> {
        self.entry.mailbox.remove_where(|_| true)
    }

    /// Takes the first queued envelope matching `pred`, without waiting.
    pub fn take_match(&mut self, pred: impl FnMut(&Envelope) -> bool) -> Option<Envelope> {
        self.entry.mailbox.remove_where(pred)
    }

    /// Takes every queued envelope matching `pred` at once, leaving the others in order.
    pub(crate) fn take_all_matching(
        &mut self,
        pred: impl FnMut(&Envelope) -> bool,
    ) -> Vec<Envelope> {
        self.entry.mailbox.remove_all_where(pred)
    }

    pub fn message_queue_len(&self) -> usize {
        self.entry.mailbox.len()
    }

    /// `Process.flag(:trap_exit, on)`; returns the old value.
    pub fn trap_exit(&self, on: bool) -> bool {
        self.entry.trap_exit.swap(on, Ordering::AcqRel)
    }

    /// `:timer.sleep/1`: blocks this process only, scaled by the node's speed.
    pub async fn sleep(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        self.entry
            .status
            .store(Status::Sleeping as u8, Ordering::Relaxed);
        tokio::time::sleep(self.node.scaled(d)).await;
        self.entry
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
    }

    pub async fn call(
        &self,
        dest: impl Into<Dest>,
        request: Term,
        timeout: Option<Duration>,
    ) -> Result<Term, CallError> {
        // Waiting for a reply is waiting, as `Process.info` shows for a process blocked in
        // `GenServer.call` on the BEAM.
        self.entry.status.store(IN_CALL, Ordering::Relaxed);
        let reply = self
            .node
            .call_timed(
                self.pid(),
                &dest.into(),
                request,
                timeout,
                Some(&self.timer),
            )
            .await;
        self.entry
            .status
            .store(Status::Running as u8, Ordering::Relaxed);
        reply
    }

    pub fn cast(&self, dest: impl Into<Dest>, msg: Term) {
        self.node.cast(Some(self.pid()), &dest.into(), msg)
    }

    pub fn send(&self, dest: impl Into<Dest>, msg: Term) {
        self.node.send(Some(self.pid()), &dest.into(), msg)
    }

    pub fn reply(&self, from: &From, value: Term) -> Delivery {
        self.node.reply(self.pid(), from, value)
    }

    pub fn link(&self, pid: Pid) {
        self.node.link(self.pid(), pid)
    }

    pub fn unlink(&self, pid: Pid) {
        self.node.unlink(self.pid(), pid)
    }

    pub fn monitor(&self, pid: Pid) -> Ref {
        self.node.monitor(self.pid(), pid)
    }

    pub fn demonitor(&self, r: Ref, flush: bool) -> bool {
        self.node.demonitor(self.pid(), r, flush)
    }

    /// `exit(pid, reason)`.
    pub fn exit(&self, pid: Pid, reason: ExitReason) -> bool {
        self.node.exit(self.pid(), pid, reason)
    }

    pub fn register(&self, name: Atom) -> bool {
        self.node.register(name, self.pid())
    }

    /// Spawns a process not linked to this one.
    pub fn spawn<F>(&self, body: F) -> Result<Pid, StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        self.node.spawn(SpawnOpts::default(), body)
    }

    /// `spawn_link/1`: the link exists before the new process runs.
    pub fn spawn_link<F>(&self, body: F) -> Result<Pid, StartError>
    where
        F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send + 'static,
    {
        self.node.spawn(
            SpawnOpts {
                link: Some(self.pid()),
                ..Default::default()
            },
            body,
        )
    }

    /// `IO.puts` from this process.
    pub fn puts(&self, text: impl Into<Arc<str>>) {
        self.node.puts(self.pid(), text)
    }
}

/// `receive` of any envelope: waiting while the mailbox is empty, running once it has one.
struct ReceiveAny<'a> {
    entry: &'a Entry,
    scanned: usize,
}

impl Future for ReceiveAny<'_> {
    type Output = Envelope;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Envelope> {
        let this = self.get_mut();
        let status = &this.entry.status;
        status.store(Status::Waiting as u8, Ordering::Relaxed);
        let polled = this
            .entry
            .mailbox
            .poll_take(cx, &mut this.scanned, &mut |_| true);
        if polled.is_ready() {
            status.store(Status::Running as u8, Ordering::Relaxed);
        }
        polled
    }
}

// ----- the task wrapper ---------------------------------------------------------------------

enum TaskState {
    Start(Body, Process),
    Running(BoxFuture<'static, ExitReason>, Box<Process>),
    Done,
}

/// The future of a process's task: runs the body, catches panics, and runs the exit path
/// when it is dropped, whether it finished or was aborted by an exit signal.
struct Task {
    node: Node,
    entry: Arc<Entry>,
    state: TaskState,
}

impl Future for Task {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let TaskState::Start(..) = this.state {
            let TaskState::Start(body, process) =
                std::mem::replace(&mut this.state, TaskState::Done)
            else {
                unreachable!()
            };
            let mut process = Box::new(process);
            // SAFETY: the process is boxed, so its address is stable, and the future that
            // borrows it is dropped before the box (see `Drop for Task`), never after.
            let p: &'static mut Process = unsafe { &mut *(process.as_mut() as *mut Process) };
            let fut = body(p);
            this.state = TaskState::Running(fut, process);
        }
        let TaskState::Running(fut, _) = &mut this.state else {
            return Poll::Ready(());
        };
        let polled = IN_PROCESS.with(|flag| {
            flag.set(true);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)));
            flag.set(false);
            r
        });
        let reason = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(reason)) => reason,
            Err(payload) => panic_reason(payload),
        };
        let _ = this.entry.exit_reason.set(Box::new(reason));
        this.drop_body();
        Poll::Ready(())
    }
}

impl Task {
    /// Drops the body's future before the process it borrows.
    fn drop_body(&mut self) {
        if let TaskState::Running(fut, process) =
            std::mem::replace(&mut self.state, TaskState::Done)
        {
            IN_PROCESS.with(|flag| {
                flag.set(true);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(fut)));
                flag.set(false);
            });
            drop(process);
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.drop_body();
        // An aborted task had its reason recorded by whoever sent the exit signal.
        self.node.finish(&self.entry, ExitReason::Killed);
        self.node.inner.tasks.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A panic in a handler is a crash of that process with a `RuntimeError`-like exception.
pub(crate) fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> ExitReason {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    };
    ExitReason::exception("RuntimeError", message)
}

thread_local! {
    /// Set while a process's code runs, so the panic hook stays quiet for panics that become
    /// process crashes (they are reported as crashes, not as Rust panics on stderr).
    static IN_PROCESS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `fut` inside the current process, turning a panic into an exception reason, so a
/// GenServer can report the crash with its state and last message.
pub fn catch_panic<'a, T: 'a>(
    fut: impl Future<Output = Result<T, ExitReason>> + Send + 'a,
) -> impl Future<Output = Result<T, ExitReason>> + Send + 'a {
    CatchPanic { fut: Box::pin(fut) }
}

struct CatchPanic<'a, T> {
    fut: Pin<Box<dyn Future<Output = Result<T, ExitReason>> + Send + 'a>>,
}

impl<T> Future for CatchPanic<'_, T> {
    type Output = Result<T, ExitReason>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.fut.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(payload) => Poll::Ready(Err(panic_reason(payload))),
        }
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_PROCESS.with(|f| f.get()) {
                default(info);
            }
        }));
    });
}
