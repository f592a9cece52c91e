//! The node: the process table (`proctable.rs`), spawning, local names, introspection
//! (`Process.info`, `ps`), the event bus, tracing and the experiments' time scale.
//!
//! `impl Node` is split by concern across the runtime's files: exit signals, links and monitors
//! are in `signal.rs`, messages, calls and timers in `call.rs`, and the exit path a process's
//! death runs in `task.rs`. This file owns the data all of them share.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::call::Timers;
use super::events::{Bus, Event, Events, TraceEvent, TraceKind};
use super::exit::{ExitReason, StartError};
use super::liveness::{Known, Liveness};
use super::mailbox::{Envelope, Mailbox};
use super::peers::Peers;
use super::pid::{Pid, Ref};
use super::process::Process;
use super::proctable::ProcTable;
use super::table::Tables;
use super::task::{Task, install_panic_hook};
use super::term::{Atom, BoxFuture, Term};

/// The BEAM's default process limit.
pub const DEFAULT_MAX_PROCESSES: usize = 1_048_576;

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
    pub(super) inner: Arc<NodeInner>,
}

/// The node's shared state. The fields other files of the runtime reach are `pub(super)`; the
/// rest only this file touches.
pub(super) struct NodeInner {
    config: NodeConfig,
    next_ref: AtomicU64,
    /// Every live process's entry, by pid number (`proctable.rs`).
    procs: ProcTable,
    /// Which pids are alive, for `alive` without the process table (`liveness.rs`).
    pub(super) liveness: Liveness,
    pub(super) count: AtomicUsize,
    pub(super) tasks: AtomicUsize,
    /// Hashed with Fx: every call to a registered name looks it up, and SipHash of the atom's
    /// text was 200 instructions of a registry lookup's 2,700 in the caller (callgrind). The
    /// names are atoms, bounded by the atom table, and the BEAM's own name table is unkeyed.
    pub(super) names: RwLock<HashMap<Atom, Pid, rustc_hash::FxBuildHasher>>,
    pub(super) tables: Tables,
    pub(super) bus: Bus,
    traced: RwLock<HashSet<Pid>>,
    pub(super) late_replies_dropped: AtomicU64,
    pub(super) timers: Timers,
    /// Divides every sleep of the experiments, so a 10 s increment can be shown in 1 s.
    speed: AtomicU64,
    /// The strategy and intensity of each supervisor, noted when it starts, so a live view
    /// can show them without calling a supervisor that may be busy restarting (`census.rs`).
    pub(super) supervisors: RwLock<HashMap<Pid, super::census::SupervisorFlags>>,
}

/// The label of a process spawned without one (`spawn(fn -> … end)`), as the shell names it.
pub const PLAIN_LABEL: &str = "fn";

/// The status byte of a process blocked in a call: `Process.info` reports it as waiting, as
/// the BEAM does, but unlike a process waiting in `receive` it is not woken by its mailbox
/// (the reply does not pass through it), so `quiescent` judges it by its mailbox alone.
pub(crate) const IN_CALL: u8 = 3;

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
    pub abort: OnceLock<AbortHandle>,
    /// What the process is (`Todo.Server`, `Supervisor`, `fn`), for `ps` and reports.
    pub label: RwLock<Arc<str>>,
    pub parent: Option<Pid>,
    pub status: AtomicU8,
    /// How many times the supervisor restarted this child before this incarnation.
    pub restarts: AtomicU32,
    /// A via name (`{:todo_server, "Bob's list"}`), for reports and `ps`; boxed, since most
    /// processes have none.
    pub via_name: OnceLock<Box<Term>>,
    /// The pid number of the server this process is blocked in a call to (0: none), so a
    /// live view can say whom a waiting process waits for.
    pub calling: AtomicU64,
}

impl Entry {
    pub(super) fn new(pid: Pid, trap_exit: bool, label: Arc<str>, parent: Option<Pid>) -> Entry {
        Entry {
            pid,
            mailbox: Mailbox::new(),
            trap_exit: AtomicBool::new(trap_exit),
            state: Mutex::new(LinkState::default()),
            exit_reason: OnceLock::new(),
            died: Notify::new(),
            abort: OnceLock::new(),
            label: RwLock::new(label),
            parent,
            status: AtomicU8::new(Status::Running as u8),
            restarts: AtomicU32::new(0),
            via_name: OnceLock::new(),
            calling: AtomicU64::new(0),
        }
    }
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

pub(super) type Body = Box<dyn for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, ExitReason> + Send>;

impl Node {
    pub fn new(config: NodeConfig) -> Node {
        install_panic_hook();
        let first = config.first_pid;
        let liveness = Liveness::new(config.max_processes);
        let procs = ProcTable::new(config.max_processes, first);
        Node {
            inner: Arc::new(NodeInner {
                config,
                next_ref: AtomicU64::new(1),
                procs,
                liveness,
                count: AtomicUsize::new(0),
                tasks: AtomicUsize::new(0),
                names: RwLock::new(HashMap::default()),
                tables: Tables::default(),
                bus: Bus::new(),
                traced: RwLock::new(HashSet::new()),
                late_replies_dropped: AtomicU64::new(0),
                timers: Timers::default(),
                speed: AtomicU64::new(1f64.to_bits()),
                supervisors: RwLock::new(HashMap::new()),
            }),
        }
    }

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
        let pid = Pid(inner.procs.next_pid());
        inner.liveness.spawned(pid.0);
        let label = opts.label.unwrap_or_else(|| Arc::from(PLAIN_LABEL));
        let entry = Arc::new(Entry::new(
            pid,
            opts.trap_exit,
            label,
            opts.link.or(opts.monitor),
        ));
        inner.procs.insert(entry.clone());
        let mut monitor_ref = None;
        if let Some(parent) = opts.link {
            self.link_new(parent, &entry);
        }
        if let Some(watcher) = opts.monitor {
            monitor_ref = Some(self.monitor(watcher, pid));
        }
        inner.tasks.fetch_add(1, Ordering::AcqRel);
        let process = Process::new(entry.clone(), self.clone());
        let task = Task::new(self.clone(), entry.clone(), body, process);
        let handle = tokio::spawn(task);
        let _ = entry.abort.set(handle.abort_handle());
        // An exit signal that arrived before the abort handle existed is honoured now.
        if entry.exit_reason.get().is_some() {
            handle.abort();
        }
        Ok((pid, monitor_ref))
    }

    /// Whether every process but `except` is idle: waiting in `receive` with nothing new,
    /// asleep, or blocked in a call with an empty mailbox. The shell uses it to let the output of a line settle
    /// before the next prompt.
    ///
    /// A process an exit signal has ended (its reason is set) but whose task has not yet run
    /// its exit path is busy, `except` included: that path still has to publish the death and
    /// send its signals on to links and monitors (the shell's own `** (EXIT from …)` when a
    /// linked process crashed). From the moment the exit path counts it out until its task is
    /// gone, `tasks() != count()` says the same, so an exit signal is never unseen on its way.
    pub fn quiescent(&self, except: Pid) -> bool {
        self.inner.procs.all(|e| {
            if e.exit_reason.get().is_some() {
                return false;
            }
            e.pid == except
                || match e.status.load(Ordering::Relaxed) {
                    // Waiting in `receive`: runnable only if a message came since it
                    // last looked. One it skipped (no clause matches it, as the
                    // ETS-TRANSFER a process never receives) does not wake it again.
                    1 => e.mailbox.parked(),
                    // Blocked in a call: idle while its mailbox is empty. With messages
                    // queued it counts as busy: its reply may already be on the way, and
                    // it will handle them the moment it comes.
                    IN_CALL => e.mailbox.len() == 0,
                    0 => false,
                    // Asleep.
                    _ => true,
                }
        }) && self.tasks() == self.count()
    }

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

    pub(super) fn resolve(&self, dest: &Dest) -> Option<Arc<Entry>> {
        match dest {
            Dest::Pid(p) => self.entry(*p),
            Dest::Name(n) => self.whereis(*n).and_then(|p| self.entry(p)),
        }
    }

    pub fn alive(&self, pid: Pid) -> bool {
        match self.inner.liveness.alive(pid.0) {
            Known::Alive => true,
            Known::Dead => false,
            // Without cloning the entry: its reference count is shared with every other
            // reader.
            Known::AskTable => self
                .inner
                .procs
                .with(pid.0, |e| e.exit_reason.get().is_none())
                .unwrap_or(false),
        }
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
        let mut v: Vec<Pid> = vec![];
        self.inner.procs.for_each(|e| v.push(e.pid));
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
            memory: memory(queue),
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

    pub fn events(&self) -> Events {
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

    /// Inlined to its one relaxed load, which is all a message pays while nobody traces.
    #[inline(always)]
    pub(super) fn trace_msg(&self, from: Option<Pid>, to: Pid, kind: TraceKind, term: &Term) {
        if self.inner.bus.tracing() {
            self.trace_msg_traced(from, to, kind, term);
        }
    }

    #[cold]
    #[inline(never)]
    fn trace_msg_traced(&self, from: Option<Pid>, to: Pid, kind: TraceKind, term: &Term) {
        self.trace(from, to, kind, || term.clone());
    }

    pub(super) fn trace(
        &self,
        from: Option<Pid>,
        to: Pid,
        kind: TraceKind,
        term: impl FnOnce() -> Term,
    ) {
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

    /// Visits every entry of the process table, one shard's read lock at a time.
    pub(super) fn each_entry(&self, f: impl FnMut(&Entry)) {
        self.inner.procs.for_each(f);
    }

    pub(crate) fn entry(&self, pid: Pid) -> Option<Arc<Entry>> {
        self.inner.procs.get(pid.0)
    }

    /// Takes a dying process out of the process table (the exit path's step after names).
    pub(super) fn remove_entry(&self, pid: Pid) {
        self.inner.procs.remove(pid.0);
    }
}

/// The rough size of a process with `queue` messages, as `Process.info(pid, :memory)` reports.
pub(super) fn memory(queue: usize) -> usize {
    std::mem::size_of::<Entry>() + 256 + queue * std::mem::size_of::<Envelope>()
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
