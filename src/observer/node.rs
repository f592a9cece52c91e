//! The view of a real node (`observe` while the shell is connected): a [`Source`] whose
//! snapshots the node itself takes. Every [`REFRESH`] a background task asks the node, in one
//! rex call of the Elixir in [`SNAPSHOT_SRC`] (the node has no otplab code), for the header's
//! figures, the process page already sorted and cut to the window there (a node of 100,000
//! processes sends a screenful, not its table), the supervision tree through the walk `tree`
//! uses (each supervisor with its own timeout, so a stuck one shows as such) and the ETS
//! tables. The view draws the latest answer at once, so a slow node never slows the keys.
//!
//! What only successive snapshots tell is kept here, as the local sampler keeps it: a tree
//! slot (a child's place, named by the ids from the top) whose pid changed was restarted, and
//! is highlighted; the restarts of the last five seconds; the sparklines of busy mailboxes.
//!
//! A node pid `#PID<0.N.S>` is the row's `u64` `N` (with `S` above bit 32, which the BEAM
//! only reaches after 2^28 spawns), so the panes print it as the node does; the wire pid it
//! stands for is kept to act on it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::sampler::{Sparks, fade};
use super::terminal::Source;
use super::{
    Action, FLASH, Header, ProcPage, ProcRow, REFRESH, Snapshot, SortBy, TableRow, TreeRow, Window,
    actions,
};
use crate::dist::{self, Wire, WirePid};
use crate::runtime::Term;
use crate::shell::commands::remote;
use crate::shell::context::Remote;

/// The Elixir of one snapshot, evaluated on the node after `tree`'s walk is defined:
/// `{processes, limit, total, rows, tree, tables}`. Only the window's rows are asked for
/// more than their sort key.
const SNAPSHOT_SRC: &str = r##"
otplab_key = fn p ->
  case otplab_sort do
    :pid -> p
    :mailbox -> case Process.info(p, :message_queue_len) do {_, n} -> n; _ -> -1 end
    :memory -> case Process.info(p, :memory) do {_, n} -> n; _ -> -1 end
    :status ->
      case Process.info(p, :status) do
        {_, s} when s in [:running, :runnable, :garbage_collecting] -> 2
        {_, :waiting} -> 1
        {_, _} -> 0
        _ -> -1
      end
    :name ->
      case Process.info(p, [:registered_name, :dictionary, :initial_call]) do
        nil -> ""
        i -> if i[:registered_name] not in [nil, []], do: inspect(i[:registered_name]), else: inspect(otplab_label.(i))
      end
  end
end
otplab_procs = Process.list()
otplab_keyed = Enum.map(otplab_procs, fn p -> {otplab_key.(p), p} end)
otplab_sorted = if otplab_desc, do: Enum.sort(otplab_keyed, fn {a, pa}, {b, pb} -> a > b or (a == b and pa <= pb) end), else: Enum.sort(otplab_keyed)
otplab_rows = for {_, p} <- otplab_sorted |> Enum.drop(otplab_offset) |> Enum.take(otplab_count),
    i = Process.info(p, [:registered_name, :message_queue_len, :status, :memory, :dictionary, :initial_call]),
    i != nil do
  {p, i[:registered_name], i[:message_queue_len], i[:status], i[:memory], otplab_label.(i)}
end
otplab_tree = try do
  otplab_top = otplab_top_src
##TREE##
rescue
  e -> {:error, Exception.message(e)}
end
otplab_name = fn p -> case is_pid(p) && Process.info(p, :registered_name) do {_, n} when n != [] -> n; _ -> nil end end
otplab_tables = for t <- :ets.all(), i = :ets.info(t), i != :undefined do
  {if(i[:named_table], do: i[:name], else: t), i[:type], i[:protection], i[:owner], otplab_name.(i[:owner]), i[:heir], otplab_name.(i[:heir]), i[:size]}
end
{length(otplab_procs), :erlang.system_info(:process_limit), otplab_rows, otplab_tree, otplab_tables}
"##;

/// What the task and the view share.
#[derive(Default)]
struct Shared {
    window: Mutex<Window>,
    latest: Mutex<Option<Snapshot>>,
    notice: Arc<Mutex<Option<String>>>,
    /// The wire pid behind each row's `u64`, from the latest answer.
    pids: Mutex<HashMap<u64, WirePid>>,
    /// Why the view must close: the node went away.
    ended: Mutex<Option<String>>,
}

/// The view's source on a node; dropping it stops asking.
pub struct NodeSource {
    remote: Arc<Remote>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl NodeSource {
    pub fn open(remote: Arc<Remote>) -> NodeSource {
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(watch(remote.clone(), shared.clone()));
        NodeSource {
            remote,
            shared,
            task,
        }
    }

    /// Why the view closed by itself, if the node went away.
    pub fn ended(&self) -> Option<String> {
        self.shared.ended.lock().unwrap().clone()
    }
}

impl Drop for NodeSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Source for NodeSource {
    fn snapshot(&mut self, window: Window) -> Option<Snapshot> {
        *self.shared.window.lock().unwrap() = window;
        if self.shared.ended.lock().unwrap().is_some() {
            return None;
        }
        // Until the node first answers, the panes say so rather than draw an empty system.
        let mut snap = self
            .shared
            .latest
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Snapshot {
                tree: vec![TreeRow {
                    label: format!("(asking {}…)", self.remote.node()),
                    ..TreeRow::default()
                }],
                header: Header {
                    persist: self.remote.node(),
                    speed: 1.0,
                    ..Header::default()
                },
                ..Snapshot::default()
            });
        if let Some(n) = self.shared.notice.lock().unwrap().clone() {
            snap.notice = Some(n);
        }
        Some(snap)
    }

    fn act(&mut self, action: Action) {
        let pid = |p: u64| self.shared.pids.lock().unwrap().get(&p).cloned();
        let notice = self.shared.notice.clone();
        let say = move |text: String| *notice.lock().unwrap() = Some(text);
        let (p, src, reason) = match &action {
            Action::Trace(p) => {
                say(format!(
                    "trace {}: not available in the view on a node; `trace on PID` at the prompt traces there",
                    shown_pid(*p)
                ));
                return;
            }
            Action::Kill(p) => (*p, KILL_SRC, None),
            Action::Exit(p, text) => match actions::parse_reason(text) {
                Ok(r) => match dist::wire(&r.to_term()) {
                    Some(w) => (*p, EXIT_SRC, Some(w)),
                    None => {
                        return say(format!("exit {}: the reason cannot be sent", shown_pid(*p)));
                    }
                },
                Err(e) => return say(format!("exit {}: {e}", shown_pid(*p))),
            },
            Action::State(p) => (*p, STATE_SRC, None),
            Action::Info(p) => (*p, INFO_SRC, None),
        };
        let Some(wire) = pid(p) else {
            return say(format!("{}: not in the last snapshot", shown_pid(p)));
        };
        if matches!(action, Action::State(_)) {
            say(format!("state {}: asking…", shown_pid(p)));
        }
        let remote = self.remote.clone();
        let notice = self.shared.notice.clone();
        tokio::spawn(async move {
            let mut b = vec![
                ("otplab_pid".to_string(), Wire::from(wire)),
                (
                    "otplab_state_wait".to_string(),
                    Wire::from(eetf::FixInteger::from(STATE_WAIT_MS as i32)),
                ),
            ];
            if let Some(r) = reason {
                b.push(("otplab_reason".to_string(), r));
            }
            let answer = remote::eval_on(&remote, src, &b).await;
            let answer = answer.map(|(t, _)| t).map_err(|e| match e {
                crate::runtime::ExitReason::Exception { message, .. } => format!("{message}"),
                other => other.to_string(),
            });
            let text = action_notice(&action, answer);
            *notice.lock().unwrap() = Some(text);
        });
    }
}

/// How long `s` waits for a node process to answer `:sys.get_state`, as locally.
const STATE_WAIT_MS: u128 = actions::STATE_WAIT.as_millis();
const KILL_SRC: &str = "Process.alive?(otplab_pid) and Process.exit(otplab_pid, :kill)";
const EXIT_SRC: &str = "Process.alive?(otplab_pid) and Process.exit(otplab_pid, otplab_reason)";
const INFO_SRC: &str = "Process.info(otplab_pid, [:registered_name, :status, :message_queue_len, :links, :monitors, :monitored_by, :trap_exit, :memory, :current_function, :initial_call])";
const STATE_SRC: &str = "try do {:ok, :sys.get_state(otplab_pid, otplab_state_wait)} catch :exit, r -> {:no_answer, r} end";

/// The notice line for what the node answered to an action.
fn action_notice(action: &Action, answer: Result<Term, String>) -> String {
    let (verb, p) = match action {
        Action::Kill(p) => ("kill", *p),
        Action::Exit(p, _) => ("exit", *p),
        Action::State(p) => ("state", *p),
        Action::Info(p) => ("info", *p),
        Action::Trace(p) => ("trace", *p),
    };
    let pid = shown_pid(p);
    let answer = match answer {
        Ok(t) => t,
        Err(e) => return format!("{verb} {pid}: {e}"),
    };
    match action {
        Action::Kill(_) | Action::Exit(..) if answer.is_atom("false") => {
            format!("{verb} {pid}: not alive")
        }
        Action::Kill(_) => format!("{verb} {pid}: exit signal :kill sent"),
        Action::Exit(_, reason) => {
            let shown =
                actions::parse_reason(reason).map_or_else(|e| e, |r| r.to_term().to_string());
            format!("{verb} {pid}: exit signal {shown} sent")
        }
        Action::Info(_) => match &answer {
            Term::List(items) => {
                let mut out = format!("info {pid}");
                for item in items {
                    if let Some([k, v]) = item.as_tuple() {
                        let key = k.to_string();
                        out.push_str(&format!("\n{}: {}", key.trim_start_matches(':'), text(v)));
                    }
                }
                out
            }
            _ => format!("info {pid}: not alive"),
        },
        Action::State(_) => match answer.as_tuple() {
            Some([ok, state]) if ok.is_atom("ok") => format!("state {pid}\n{}", text(state)),
            _ => format!(
                "state {pid}: no answer within {} s; it may be busy in a callback",
                STATE_WAIT_MS / 1000
            ),
        },
        Action::Trace(_) => String::new(),
    }
}

/// A term as the node shows it: its pids as `#PID<0.N.S>`.
fn text(t: &Term) -> String {
    remote::shown(t)
}

fn shown_pid(p: u64) -> String {
    format!("#PID<0.{}.{}>", p & 0xffff_ffff, p >> 32)
}

/// The row key of a node pid.
pub fn pid_key(p: &WirePid) -> u64 {
    u64::from(p.id) | (u64::from(p.serial) << 32)
}

fn wire_pid(t: &Term) -> Option<WirePid> {
    match &dist::foreign(t)?.term {
        Wire::Pid(p) => Some(p.clone()),
        _ => None,
    }
}

/// Asks the node every [`REFRESH`] until it goes away.
async fn watch(remote: Arc<Remote>, shared: Arc<Shared>) {
    let mut history = History::default();
    loop {
        let window = *shared.window.lock().unwrap();
        match ask(&remote, window).await {
            Ok(answer) => {
                let mut pids = HashMap::new();
                let snap =
                    history.snapshot(&answer, window, Instant::now(), &remote.node(), &mut pids);
                *shared.pids.lock().unwrap() = pids;
                *shared.latest.lock().unwrap() = Some(snap);
            }
            Err(e) => {
                if let Some(why) = remote.conn.down_reason() {
                    *shared.ended.lock().unwrap() = Some(why.to_string());
                    return;
                }
                *shared.notice.lock().unwrap() = Some(format!("the node did not answer: {e}"));
            }
        }
        tokio::time::sleep(REFRESH).await;
    }
}

async fn ask(remote: &Remote, w: Window) -> Result<Term, crate::runtime::ExitReason> {
    let sort = match w.sort {
        SortBy::Pid | SortBy::Restarts => "pid",
        SortBy::Name => "name",
        SortBy::Mailbox => "mailbox",
        SortBy::Status => "status",
        SortBy::Memory => "memory",
    };
    let int = |n: usize| Wire::from(eetf::FixInteger::from(i32::try_from(n).unwrap_or(i32::MAX)));
    let b = vec![
        (
            "otplab_sort".to_string(),
            Wire::from(eetf::Atom::from(sort)),
        ),
        (
            "otplab_desc".to_string(),
            Wire::from(eetf::Atom::from(if w.descending {
                "true"
            } else {
                "false"
            })),
        ),
        ("otplab_offset".to_string(), int(w.offset)),
        ("otplab_count".to_string(), int(w.rows)),
        (
            "otplab_timeout".to_string(),
            int(remote::SUPERVISOR_TIMEOUT_MS as usize),
        ),
    ];
    let src = format!(
        "otplab_top_src = {}\n{}\n{}",
        remote::TOP,
        remote::LABEL_SRC,
        SNAPSHOT_SRC.replace("##TREE##", remote::TREE_SRC)
    );
    remote::eval_on(remote, &src, &b).await.map(|(t, _)| t)
}

/// What is kept between two answers of the node.
#[derive(Default)]
pub struct History {
    /// Each tree slot's pid at the last answer.
    slots: HashMap<String, u64>,
    /// Highlighted pids, until when, and why.
    flashes: HashMap<u64, (Instant, String)>,
    restarts: VecDeque<Instant>,
    /// Restarts seen in each slot since the view opened: the BEAM counts none per child.
    counted: HashMap<String, u32>,
    sparks: Sparks,
}

impl History {
    /// The snapshot for the node's `answer` at `now`; `pids` gets the wire pid of each row.
    pub fn snapshot(
        &mut self,
        answer: &Term,
        window: Window,
        now: Instant,
        node: &str,
        pids: &mut HashMap<u64, WirePid>,
    ) -> Snapshot {
        fade(&mut self.flashes, &mut self.restarts, now);
        let Some([processes, limit, rows, tree, tables]) = answer.as_tuple() else {
            return Snapshot {
                notice: Some(format!("the node answered {}", text(answer))),
                ..Snapshot::default()
            };
        };
        let count = |t: &Term| usize::try_from(t.as_int().unwrap_or(0)).unwrap_or(0);
        let mut out = Snapshot {
            tree: self.tree(tree, now, pids),
            tables: table_rows(tables),
            ..Snapshot::default()
        };
        let rows = proc_rows(rows, pids);
        self.sparks.record(rows.iter().map(|r| (r.pid, r.queue)));
        out.procs = ProcPage {
            total: count(processes),
            offset: window.offset,
            rows: rows
                .into_iter()
                .map(|mut r| {
                    r.spark = self.sparks.of(r.pid);
                    r.flash = self.flashes.contains_key(&r.pid);
                    r
                })
                .collect(),
        };
        out.header = Header {
            processes: count(processes),
            limit: count(limit),
            messages_per_second: 0,
            restarts_5s: self.restarts.len(),
            speed: 1.0,
            persist: node.to_string(),
        };
        out
    }

    fn tree(
        &mut self,
        tree: &Term,
        now: Instant,
        pids: &mut HashMap<u64, WirePid>,
    ) -> Vec<TreeRow> {
        let mut out = vec![];
        let Some([top, label, strategy, children]) = tree.as_tuple() else {
            let why = match tree.as_tuple() {
                Some([_, why]) => why.as_str().map_or_else(|| text(why), str::to_string),
                _ => text(tree),
            };
            out.push(TreeRow {
                label: format!("(no tree: {why})"),
                ..TreeRow::default()
            });
            return out;
        };
        let mut seen = HashSet::new();
        let top_pid = wire_pid(top);
        let key = top_pid.as_ref().map_or(0, pid_key);
        if let Some(p) = top_pid {
            pids.insert(key, p);
        }
        out.push(TreeRow {
            pid: key,
            label: text(label),
            strategy: strategy_of(strategy),
            flash: self.flashes.get(&key).map(|(_, why)| why.clone()),
            ..TreeRow::default()
        });
        self.branch(children, "", &text(label), now, pids, &mut seen, &mut out);
        self.slots.retain(|k, _| seen.contains(k));
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn branch(
        &mut self,
        children: &Term,
        indent: &str,
        path: &str,
        now: Instant,
        pids: &mut HashMap<u64, WirePid>,
        seen: &mut HashSet<String>,
        out: &mut Vec<TreeRow>,
    ) {
        let Term::List(kids) = children else {
            out.push(TreeRow {
                prefix: format!("{indent}└─ "),
                label: format!("(no answer within {} ms)", remote::SUPERVISOR_TIMEOUT_MS),
                ..TreeRow::default()
            });
            return;
        };
        let n = kids.len();
        let shown = n.min(super::sampler::CHILDREN_SHOWN);
        // `which_children` lists the last started first; the tree shows start order.
        for (i, k) in kids.iter().rev().take(shown).enumerate() {
            let Some([id, pid, kind, info, sub, strategy]) = k.as_tuple() else {
                continue;
            };
            let last = i + 1 == shown && n == shown;
            let branch = if last { "└─ " } else { "├─ " };
            let wire = wire_pid(pid);
            let key = wire.as_ref().map_or(0, pid_key);
            let id_text = text(id);
            let slot = format!("{path}/{id_text}");
            // Children of a dynamic supervisor share the id `:undefined`: no slot to follow.
            if !id.is_atom("undefined") && key != 0 {
                seen.insert(slot.clone());
                if let Some(old) = self.slots.insert(slot.clone(), key)
                    && old != key
                {
                    self.flashes.insert(
                        key,
                        (now + FLASH, format!("restarted, was {}", shown_pid(old))),
                    );
                    self.restarts.push_back(now);
                    *self.counted.entry(slot.clone()).or_default() += 1;
                }
            }
            if let Some(w) = wire {
                pids.insert(key, w);
            }
            let kw = |k: &str| crate::shell::context::keyword(info, k);
            out.push(TreeRow {
                prefix: format!("{indent}{branch}"),
                pid: key,
                label: if key == 0 {
                    format!("{id_text} (not running)")
                } else {
                    id_text
                },
                name: kw("registered_name")
                    .filter(|n| !matches!(n, Term::List(l) if l.is_empty()))
                    .map(|n| n.to_string()),
                restarts: self.counted.get(&slot).copied().unwrap_or(0),
                strategy: strategy_of(strategy),
                queue: kw("message_queue_len")
                    .and_then(|q| q.as_int())
                    .and_then(|q| usize::try_from(q).ok())
                    .unwrap_or(0),
                flash: self.flashes.get(&key).map(|(_, why)| why.clone()),
                tables: vec![],
            });
            if kind.is_atom("supervisor") {
                let next = format!("{indent}{}", if last { "   " } else { "│  " });
                self.branch(sub, &next, &slot, now, pids, seen, out);
            }
        }
        if n > shown {
            out.push(TreeRow {
                prefix: format!("{indent}└─ "),
                label: format!("… and {} more", n - shown),
                ..TreeRow::default()
            });
        }
    }
}

/// `(rest_for_one, 3 restarts in 5 s)` from the walk's `{strategy, intensity, period}`.
fn strategy_of(s: &Term) -> Option<String> {
    match s.as_tuple() {
        Some([s, i, p]) => Some(format!(
            "({}, {i} restarts in {p} s)",
            s.to_string().trim_start_matches(':')
        )),
        _ => None,
    }
}

fn proc_rows(rows: &Term, pids: &mut HashMap<u64, WirePid>) -> Vec<ProcRow> {
    let Term::List(rows) = rows else {
        return vec![];
    };
    rows.iter()
        .filter_map(|r| {
            let [pid, name, queue, status, memory, label] = r.as_tuple()? else {
                return None;
            };
            let wire = wire_pid(pid)?;
            let key = pid_key(&wire);
            pids.insert(key, wire);
            let size = |t: &Term| {
                t.as_int()
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0)
            };
            let name = match name {
                Term::List(l) if l.is_empty() => match label {
                    l if l.is_atom("nil") => String::new(),
                    l => text(l),
                },
                n => n.to_string(),
            };
            Some(ProcRow {
                pid: key,
                name,
                queue: size(queue),
                spark: vec![],
                status: status.to_string().trim_start_matches(':').to_string(),
                memory: size(memory),
                restarts: 0,
                flash: false,
            })
        })
        .collect()
}

fn table_rows(tables: &Term) -> Vec<TableRow> {
    let Term::List(tables) = tables else {
        return vec![];
    };
    let owner = |pid: &Term, name: &Term| {
        if wire_pid(pid).is_none() {
            return "none".to_string();
        }
        if name.is_atom("nil") {
            text(pid)
        } else {
            format!("{} {name}", text(pid))
        }
    };
    let mut out: Vec<TableRow> = tables
        .iter()
        .filter_map(|t| {
            let [id, kind, access, own, own_name, heir, heir_name, size] = t.as_tuple()? else {
                return None;
            };
            Some(TableRow {
                id: text(id),
                kind: kind.to_string().trim_start_matches(':').to_string(),
                access: access.to_string().trim_start_matches(':').to_string(),
                owner: owner(own, own_name),
                heir: owner(heir, heir_name),
                size: size
                    .as_int()
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::super::sampler::RESTART_WINDOW;
    use super::*;

    const HOME: &str = "todo@host";

    fn atom(a: &str) -> Wire {
        Wire::from(eetf::Atom::from(a))
    }
    fn int(n: i32) -> Wire {
        Wire::from(eetf::FixInteger::from(n))
    }
    fn pid(n: u32) -> Wire {
        Wire::from(eetf::Pid::new(HOME, n, 0, 1))
    }
    fn tuple(items: Vec<Wire>) -> Wire {
        Wire::from(eetf::Tuple::from(items))
    }
    fn list(items: Vec<Wire>) -> Wire {
        Wire::from(eetf::List::from(items))
    }
    fn kw(pairs: Vec<(&str, Wire)>) -> Wire {
        list(
            pairs
                .into_iter()
                .map(|(k, v)| tuple(vec![atom(k), v]))
                .collect(),
        )
    }

    /// The node's answer: a rest_for_one top with the registry (`registry` its pid) and a
    /// supervisor that did not answer, and one flooded process row.
    fn answer(registry: u32) -> Term {
        let child = |id: &str, p: u32, kind: &str, name: Wire, sub: Wire, strategy: Wire| {
            tuple(vec![
                atom(id),
                pid(p),
                atom(kind),
                kw(vec![
                    ("registered_name", name),
                    ("message_queue_len", int(0)),
                ]),
                sub,
                strategy,
            ])
        };
        // `which_children` lists the last started first.
        let kids = list(vec![
            child(
                "Elixir.Todo.SystemSupervisor",
                104,
                "supervisor",
                list(vec![]),
                atom("no_answer"),
                atom("nil"),
            ),
            child(
                "Elixir.Todo.ProcessRegistry",
                registry,
                "worker",
                atom("todo_process_registry"),
                list(vec![]),
                atom("nil"),
            ),
        ]);
        let tree = tuple(vec![
            pid(100),
            atom("Elixir.Todo.Supervisor"),
            tuple(vec![atom("rest_for_one"), int(3), int(5)]),
            kids,
        ]);
        let row = tuple(vec![
            pid(110),
            list(vec![]),
            int(42),
            atom("running"),
            int(2000),
            atom("Elixir.Todo.DatabaseWorker"),
        ]);
        let w = tuple(vec![
            int(61),
            int(1_048_576),
            list(vec![row]),
            tree,
            list(vec![]),
        ]);
        crate::dist::View { home: HOME }.term(&w)
    }

    #[test]
    fn a_node_answer_is_drawn_as_the_local_tree_and_a_changed_pid_is_a_restart() {
        let mut h = History::default();
        let mut pids = HashMap::new();
        let t0 = Instant::now();
        let first = h.snapshot(&answer(102), Window::default(), t0, HOME, &mut pids);
        assert_eq!(
            (first.header.processes, first.header.limit),
            (61, 1_048_576)
        );
        assert_eq!(first.header.persist, HOME);
        let text: Vec<String> = first.tree.iter().map(super::super::tree::text).collect();
        assert_eq!(
            text,
            [
                "Todo.Supervisor #PID<0.100.0>  restarts: 0  (rest_for_one, 3 restarts in 5 s)",
                "├─ Todo.ProcessRegistry #PID<0.102.0> :todo_process_registry  restarts: 0",
                "└─ Todo.SystemSupervisor #PID<0.104.0>  restarts: 0",
                "   └─ (no answer within 1000 ms)",
            ]
        );
        assert!(first.tree.iter().all(|r| r.flash.is_none()));
        let row = &first.procs.rows[0];
        assert_eq!(
            (
                row.pid,
                row.name.as_str(),
                row.queue,
                row.status.as_str(),
                row.spark.clone()
            ),
            (110, "Todo.DatabaseWorker", 42, "running", vec![42])
        );
        assert!(matches!(pids.get(&102), Some(p) if p.id == 102 && p.node.name == HOME));

        let later = t0 + REFRESH;
        let second = h.snapshot(&answer(120), Window::default(), later, HOME, &mut pids);
        let registry = &second.tree[1];
        assert_eq!(registry.pid, 120);
        assert_eq!(registry.restarts, 1);
        assert_eq!(
            registry.flash.as_deref(),
            Some("restarted, was #PID<0.102.0>")
        );
        assert_eq!(second.header.restarts_5s, 1);
        assert_eq!(second.procs.rows[0].spark, vec![42, 42]);
        // The highlight and the header's count fade as the local ones do.
        let gone = h.snapshot(
            &answer(120),
            Window::default(),
            later + RESTART_WINDOW,
            HOME,
            &mut pids,
        );
        assert!(gone.tree[1].flash.is_none());
        assert_eq!(gone.header.restarts_5s, 0);
    }

    #[test]
    fn a_node_without_the_tree_or_with_a_strange_answer_says_so() {
        let mut h = History::default();
        let mut pids = HashMap::new();
        let w = tuple(vec![
            int(3),
            int(100),
            list(vec![]),
            tuple(vec![
                atom("error"),
                Wire::from(eetf::Binary::from(b"nil is not a supervisor".to_vec())),
            ]),
            list(vec![]),
        ]);
        let t = crate::dist::View { home: HOME }.term(&w);
        let s = h.snapshot(&t, Window::default(), Instant::now(), HOME, &mut pids);
        assert_eq!(s.tree[0].label, "(no tree: nil is not a supervisor)");
        let s = h.snapshot(
            &Term::Int(1),
            Window::default(),
            Instant::now(),
            HOME,
            &mut pids,
        );
        assert_eq!(s.notice.as_deref(), Some("the node answered 1"));
    }

    #[test]
    fn a_node_pid_keys_its_row_and_prints_as_the_node_prints_it() {
        let p = eetf::Pid::new(HOME, 215, 0, 3);
        assert_eq!(pid_key(&p), 215);
        assert_eq!(shown_pid(pid_key(&p)), "#PID<0.215.0>");
        assert_eq!(
            crate::runtime::Pid(pid_key(&p)).to_string(),
            "#PID<0.215.0>"
        );
        let q = eetf::Pid::new(HOME, 7, 2, 3);
        assert_eq!(shown_pid(pid_key(&q)), "#PID<0.7.2>");
    }
}
