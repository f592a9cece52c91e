//! Takes the snapshots the view draws: the process table from `Node::census`, the tree from
//! each process's parent and the supervisors' noted flags, the tables from the table index,
//! and what happened between two snapshots (restarts, traced messages) from the node's event
//! stream. It sends no process anything, so nothing it shows can block it.
//!
//! It keeps what only a stream of snapshots can tell: which pid replaced which (so a
//! restarted child keeps its place in the tree), what is highlighted and until when, the
//! recent restarts, and each busy mailbox's recent lengths for its sparkline.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::error::TryRecvError;
use tokio::time::Instant;

use super::{
    FLASH, Header, MESSAGES_KEPT, ProcPage, ProcRow, SPARK_SAMPLES, Snapshot, SortBy, TableRow,
    TreeRow, Window,
};
use crate::runtime::census::{ProcessRow, SupervisorFlags};
use crate::runtime::events::{Event, Events, TraceEvent};
use crate::runtime::node::Status;
use crate::runtime::supervisor::strategy_name;
use crate::runtime::table::{Access, Kind};
use crate::runtime::term::escape_text;
use crate::runtime::{Node, Pid, Term};
use crate::shell::commands::known_name;
use crate::shell::printer::cut;
use crate::shell::report::trace_label;

/// A supervisor's children past this many are summed up in one row, so a dynamic
/// supervisor of a hundred thousand servers costs the tree a screenful, not a row each.
pub const CHILDREN_SHOWN: usize = 50;
/// The window of "restarts in the last 5 s".
pub const RESTART_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest term text of a traced message kept for the messages pane.
const MESSAGE_TEXT: usize = 160;

/// The state kept between snapshots.
pub struct Sampler {
    node: Node,
    /// The shell process, named `shell` as `trace show` names it.
    shell: Pid,
    persist: String,
    events: Events,
    /// A restarted child's pid -> the pid its line of restarts started with.
    slots: HashMap<Pid, Pid>,
    /// Highlighted pids, until when, and why.
    flashes: HashMap<Pid, (Instant, String)>,
    /// The exit reasons of processes that just died, for the highlight of their successor.
    exits: HashMap<Pid, String>,
    restarts: VecDeque<Instant>,
    sparks: Sparks,
    /// Messages delivered to the live processes at the last sample, and when.
    delivered: Option<(u64, Instant)>,
    rate: u64,
    messages: VecDeque<String>,
    names: HashMap<Pid, String>,
    traced: HashSet<Pid>,
    /// The pids in the tree at the last sample (`None` before the first), so that a child
    /// started since (the nine of a `kill registry`) is highlighted with its supervisor.
    in_tree: Option<HashSet<Pid>>,
    /// What the last action answered; actions that wait for a process write it later.
    pub notice: Arc<Mutex<Option<String>>>,
}

impl Sampler {
    pub fn new(node: &Node, shell: Pid, persist: String) -> Sampler {
        Sampler {
            events: node.events(),
            node: node.clone(),
            shell,
            persist,
            slots: HashMap::new(),
            flashes: HashMap::new(),
            exits: HashMap::new(),
            restarts: VecDeque::new(),
            sparks: Sparks::default(),
            delivered: None,
            rate: 0,
            messages: VecDeque::new(),
            names: HashMap::new(),
            traced: HashSet::new(),
            in_tree: None,
            notice: Arc::new(Mutex::new(None)),
        }
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Starts or stops showing the messages of `pid`; whether it is now traced.
    pub fn toggle_trace(&mut self, pid: Pid) -> bool {
        if self.traced.remove(&pid) {
            self.node.set_trace(false, &[pid]);
            false
        } else {
            self.traced.insert(pid);
            self.node.set_trace(true, &[pid]);
            true
        }
    }

    /// One snapshot, with the process table's `window`, at `now`.
    pub fn sample(&mut self, window: Window, now: Instant) -> Snapshot {
        self.drain_events(now);
        fade(&mut self.flashes, &mut self.restarts, now);
        let mut rows = self.node.census();
        self.measure(&rows, now);
        let tree = self.tree(&rows, now);
        let header = Header {
            processes: rows.len(),
            limit: self.node.config().max_processes,
            messages_per_second: self.rate,
            restarts_5s: self.restarts.len(),
            speed: self.node.speed(),
            persist: self.persist.clone(),
        };
        let procs = self.page(&mut rows, window);
        let mut traced: Vec<u64> = self.traced.iter().map(|p| p.0).collect();
        traced.sort();
        Snapshot {
            header,
            tree,
            procs,
            tables: self.tables(),
            messages: self.messages.iter().cloned().collect(),
            traced,
            notice: self.notice.lock().unwrap().clone(),
        }
    }

    fn drain_events(&mut self, now: Instant) {
        loop {
            match self.events.try_recv() {
                Ok(Event::Exited(e)) => {
                    if self.exits.len() > 10_000 {
                        self.exits.clear();
                    }
                    self.exits.insert(e.pid, e.reason.to_string());
                }
                Ok(Event::Restarted(r)) => {
                    let (old, new) = (r.old, r.new);
                    let slot = self.slots.remove(&old).unwrap_or(old);
                    self.slots.insert(new, slot);
                    let why = match self.exits.remove(&old) {
                        Some(reason) => format!("restarted, was {old}: {reason}"),
                        None => format!("restarted, was {old}"),
                    };
                    self.flashes.insert(new, (now + FLASH, why));
                    self.restarts.push_back(now);
                }
                Ok(Event::Trace(t)) => self.traced_message(&t),
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        self.slots.retain(|p, _| self.node.alive(*p));
    }

    fn traced_message(&mut self, t: &TraceEvent) {
        let wanted =
            self.traced.contains(&t.to) || t.from.is_some_and(|f| self.traced.contains(&f));
        if !wanted {
            return;
        }
        let from = t
            .from
            .map_or_else(|| "outside".to_string(), |p| self.name(p));
        let to = self.name(t.to);
        let text = cut(&escape_text(&t.term.to_string()), MESSAGE_TEXT);
        self.messages
            .push_back(format!("{} {from} → {to} {text}", trace_label(t.kind)));
        while self.messages.len() > MESSAGES_KEPT {
            self.messages.pop_front();
        }
    }

    /// The name of a lifeline in `trace show`, remembered past the process's death.
    fn name(&mut self, pid: Pid) -> String {
        if pid == self.shell {
            return "shell".into();
        }
        if let Some(n) = self.names.get(&pid) {
            return n.clone();
        }
        let Some(info) = self.node.info(pid) else {
            return pid.to_string();
        };
        let name = known_name(info.registered_name, info.via_name.as_ref(), &info.label);
        if self.names.len() > 10_000 {
            self.names.clear();
        }
        self.names.insert(pid, name.clone());
        name
    }

    /// Messages per second, and the sparkline samples of busy mailboxes.
    fn measure(&mut self, rows: &[ProcessRow], now: Instant) {
        let total: u64 = rows.iter().map(|r| r.received).sum();
        if let Some((before, at)) = self.delivered {
            let secs = now.duration_since(at).as_secs_f64();
            if secs > 0.0 {
                self.rate = (total.saturating_sub(before) as f64 / secs).round() as u64;
            }
        }
        self.delivered = Some((total, now));
        self.sparks
            .record(rows.iter().map(|r| (r.pid.0, r.message_queue_len)));
    }

    /// Highlights the supervised processes that were not in the tree at the last sample.
    fn flash_new(&mut self, rows: &[ProcessRow], now: Instant) {
        let sups: HashSet<Pid> = self
            .node
            .supervisors()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let now_in: HashSet<Pid> = rows
            .iter()
            .filter(|r| sups.contains(&r.pid) || r.parent.is_some_and(|p| sups.contains(&p)))
            .map(|r| r.pid)
            .collect();
        if let Some(before) = &self.in_tree {
            for pid in now_in.difference(before) {
                self.flashes
                    .entry(*pid)
                    .or_insert_with(|| (now + FLASH, "started".into()));
            }
        }
        self.in_tree = Some(now_in);
    }

    fn slot(&self, pid: Pid) -> Pid {
        self.slots.get(&pid).copied().unwrap_or(pid)
    }

    /// The supervision trees: every supervisor whose parent is not one is a root, and a
    /// supervisor's children are the processes it spawned, in the order they first started.
    fn tree(&mut self, rows: &[ProcessRow], now: Instant) -> Vec<TreeRow> {
        self.flash_new(rows, now);
        let sups: HashMap<Pid, SupervisorFlags> = self.node.supervisors().into_iter().collect();
        let mut children: HashMap<Pid, Vec<&ProcessRow>> = HashMap::new();
        let mut by_pid: HashMap<Pid, &ProcessRow> = HashMap::new();
        for r in rows {
            if sups.contains_key(&r.pid) {
                by_pid.insert(r.pid, r);
            }
            if let Some(parent) = r.parent.filter(|p| sups.contains_key(p)) {
                children.entry(parent).or_default().push(r);
            }
        }
        for list in children.values_mut() {
            list.sort_by_key(|r| (self.slot(r.pid), r.pid));
        }
        let mut roots: Vec<&ProcessRow> = by_pid
            .values()
            .filter(|r| !r.parent.is_some_and(|p| sups.contains_key(&p)))
            .copied()
            .collect();
        roots.sort_by_key(|r| (self.slot(r.pid), r.pid));
        let mut owned: HashMap<Pid, Vec<String>> = HashMap::new();
        for t in self.node.tables().all() {
            let heir = t
                .heir()
                .map_or_else(|| "none".to_string(), |h| h.to_string());
            owned
                .entry(t.owner())
                .or_default()
                .push(format!("table {} (heir: {heir})", t.id_term()));
        }
        let mut out = vec![];
        let tree = Tree {
            sampler: self,
            sups: &sups,
            children: &children,
            owned: &owned,
        };
        for root in roots {
            out.push(tree.row(root, String::new()));
            tree.branch(root.pid, String::new(), &mut out);
        }
        out
    }

    /// The window of the process table, sorted, named and with its sparklines.
    fn page(&self, rows: &mut [ProcessRow], w: Window) -> ProcPage {
        let total = rows.len();
        let offset = w.offset.min(total.saturating_sub(1));
        let end = (offset + w.rows).min(total);
        let name = |r: &ProcessRow| known_name(r.registered_name, r.via_name.as_ref(), &r.label);
        let cmp = |a: &ProcessRow, b: &ProcessRow| -> Ordering {
            let by = match w.sort {
                SortBy::Pid => a.pid.cmp(&b.pid),
                SortBy::Name => name(a).cmp(&name(b)),
                SortBy::Mailbox => a.message_queue_len.cmp(&b.message_queue_len),
                SortBy::Status => status_rank(a.status).cmp(&status_rank(b.status)),
                SortBy::Memory => a.memory.cmp(&b.memory),
                SortBy::Restarts => a.restarts.cmp(&b.restarts),
            };
            let by = if w.descending { by.reverse() } else { by };
            by.then(a.pid.cmp(&b.pid))
        };
        // Only the rows up to the window's end are put in order: the rest need only be
        // after them, which a selection finds in linear time.
        if end < total && end > 0 {
            rows.select_nth_unstable_by(end - 1, cmp);
        }
        rows[..end].sort_by(cmp);
        let rows = rows[offset..end]
            .iter()
            .map(|r| ProcRow {
                pid: r.pid.0,
                name: name(r),
                queue: r.message_queue_len,
                spark: self.sparks.of(r.pid.0),
                status: self.status(r),
                memory: r.memory,
                restarts: r.restarts,
                flash: self.flashes.contains_key(&r.pid),
            })
            .collect();
        ProcPage {
            total,
            offset,
            rows,
        }
    }

    /// `waiting: call :todo_cache` for a process blocked in a call, as a person asks "waiting
    /// for whom?".
    fn status(&self, r: &ProcessRow) -> String {
        match (r.status, r.calling) {
            (Status::Waiting, Some(server)) => {
                let whom = self
                    .node
                    .name_of(server)
                    .map_or_else(|| server.to_string(), |n| n.to_string());
                format!("waiting: call {whom}")
            }
            (Status::Running, _) => "running".into(),
            (Status::Waiting, None) => "waiting".into(),
            (Status::Sleeping, _) => "sleeping".into(),
        }
    }

    fn tables(&self) -> Vec<TableRow> {
        let mut tables = self.node.tables().all();
        tables.sort_by_key(|t| t.id_term().to_string());
        let owner_name = |pid: Pid| match self.node.info(pid) {
            // The pid first, so that a narrow column cuts the name rather than the pid.
            Some(i) => format!(
                "{pid} {}",
                known_name(i.registered_name, i.via_name.as_ref(), &i.label)
            ),
            None => pid.to_string(),
        };
        tables
            .iter()
            .filter(|t| !t.is_deleted())
            .map(|t| TableRow {
                id: t.id_term().to_string(),
                kind: match t.kind() {
                    Kind::Set => "set",
                    Kind::OrderedSet => "ordered_set",
                    Kind::Bag => "bag",
                    Kind::DuplicateBag => "duplicate_bag",
                }
                .into(),
                access: match t.access() {
                    Access::Public => "public",
                    Access::Protected => "protected",
                    Access::Private => "private",
                }
                .into(),
                owner: owner_name(t.owner()),
                heir: t.heir().map_or_else(|| "none".into(), owner_name),
                size: t.size(),
            })
            .collect()
    }
}

/// Ends the highlights that are over at `now` and forgets the restarts older than
/// [`RESTART_WINDOW`]: what the local sampler and the view of a node both do each snapshot.
pub fn fade<K>(
    flashes: &mut HashMap<K, (Instant, String)>,
    restarts: &mut VecDeque<Instant>,
    now: Instant,
) {
    flashes.retain(|_, (until, _)| *until > now);
    while restarts
        .front()
        .is_some_and(|t| now.duration_since(*t) >= RESTART_WINDOW)
    {
        restarts.pop_front();
    }
}

/// The recent queue lengths of busy mailboxes, by pid, for their sparklines: a mailbox
/// enters at its first non-empty sample and leaves once it has been empty for a whole
/// sparkline, or is not sampled. The local sampler and the view of a node both keep one.
#[derive(Default)]
pub struct Sparks {
    /// Each mailbox's samples, and the sample it was last seen in.
    history: HashMap<u64, (VecDeque<u32>, u64)>,
    epoch: u64,
}

impl Sparks {
    /// One sample of the queues seen.
    pub fn record(&mut self, queues: impl IntoIterator<Item = (u64, usize)>) {
        self.epoch += 1;
        for (pid, queue) in queues {
            let queue = u32::try_from(queue).unwrap_or(u32::MAX);
            if queue == 0 && !self.history.contains_key(&pid) {
                continue;
            }
            let (samples, seen) = self.history.entry(pid).or_default();
            samples.push_back(queue);
            if samples.len() > SPARK_SAMPLES {
                samples.pop_front();
            }
            *seen = self.epoch;
        }
        let epoch = self.epoch;
        self.history
            .retain(|_, (samples, seen)| *seen == epoch && samples.iter().any(|q| *q > 0));
    }

    /// The samples of `pid`'s queue, oldest first; empty for a quiet mailbox.
    pub fn of(&self, pid: u64) -> Vec<u32> {
        self.history
            .get(&pid)
            .map(|(s, _)| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// The order of statuses when the table is sorted by them: busy first when descending.
fn status_rank(s: Status) -> u8 {
    match s {
        Status::Sleeping => 0,
        Status::Waiting => 1,
        Status::Running => 2,
    }
}

/// What drawing the tree needs, so its recursion takes one argument less.
struct Tree<'a> {
    sampler: &'a Sampler,
    sups: &'a HashMap<Pid, SupervisorFlags>,
    children: &'a HashMap<Pid, Vec<&'a ProcessRow>>,
    owned: &'a HashMap<Pid, Vec<String>>,
}

impl Tree<'_> {
    fn row(&self, r: &ProcessRow, prefix: String) -> TreeRow {
        let strategy = self.sups.get(&r.pid).map(|s| {
            format!(
                "({}, {} restarts in {} s)",
                strategy_name(s.dynamic, s.flags.strategy),
                s.flags.max_restarts,
                s.flags.max_seconds
            )
        });
        let label = known_name(None, r.via_name.as_ref(), &r.label);
        TreeRow {
            prefix,
            pid: r.pid.0,
            label,
            name: r.registered_name.map(|a| Term::Atom(a).to_string()),
            restarts: r.restarts,
            strategy,
            queue: r.message_queue_len,
            flash: self.sampler.flashes.get(&r.pid).map(|(_, why)| why.clone()),
            tables: self.owned.get(&r.pid).cloned().unwrap_or_default(),
        }
    }

    fn branch(&self, sup: Pid, indent: String, out: &mut Vec<TreeRow>) {
        let Some(kids) = self.children.get(&sup) else {
            return;
        };
        let shown = kids.len().min(CHILDREN_SHOWN);
        let more = kids.len() - shown;
        for (i, kid) in kids[..shown].iter().enumerate() {
            let last = i + 1 == shown && more == 0;
            let branch = if last { "└─ " } else { "├─ " };
            out.push(self.row(kid, format!("{indent}{branch}")));
            if self.sups.contains_key(&kid.pid) {
                let next = format!("{indent}{}", if last { "   " } else { "│  " });
                self.branch(kid.pid, next, out);
            }
        }
        if more > 0 {
            out.push(TreeRow {
                prefix: format!("{indent}└─ "),
                label: format!("… and {more} more"),
                ..TreeRow::default()
            });
        }
    }
}
