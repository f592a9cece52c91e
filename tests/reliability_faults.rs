//! Fault injection on the running to-do system, and the checker that judges it.
//!
//! Every operation of the clients is recorded: which list, which title, whether `sync`
//! acknowledged it (acknowledged = `Todo.Server.sync` returned `:ok` after the `add_entry`
//! cast), which pid `server_process` handed out. Faults are injected while the clients run:
//! a failpoint at each step of a database write, a kill or a crash of any node of the tree, a
//! panicking handler inside the tree, a slow `init`. After the system settles the checker
//! verifies:
//!
//! * no acknowledged entry is lost: it is in the server's entries and in the list's file;
//! * `server_process` never handed out a pid whose death had already been observed when the
//!   request started, and once settled it hands out live pids only;
//! * never two live servers for one list;
//! * the process and task counts are those of the tree (and zero once the tree is stopped),
//!   and the runtime's tokio tasks are back to their baseline.
//!
//! The persist folder's hostile files (corrupt, truncated, empty, foreign, symlinked, huge
//! length prefix) are here too: each gives a clear error naming the file through the running
//! system, and the file is left untouched.

mod common;

use common::{date, entry, titles};

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::within;
use otplab::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use otplab::runtime::supervisor::{self, ChildKind, ChildSpec};
use otplab::runtime::{Dest, Event, ExitReason, From, Node, NodeConfig, Pid, Process, Term, atom};
use otplab::todo::persist::{Store, WriteStep};
use otplab::todo::{self, CacheKind, Config, cache, server, server_supervisor};

// ----- the system under test -----------------------------------------------------------------

struct Sys {
    node: Node,
    config: Arc<Config>,
    top: Pid,
    dir: PathBuf,
    /// Opened before the system, so it never sweeps a temporary file of a write in flight.
    reader: Store,
    deaths: Deaths,
    /// Tokio's alive tasks before the system started (the death tracker included).
    task_baseline: usize,
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-rel-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn start_system(tag: &str, tweak: impl FnOnce(&mut Config)) -> Sys {
    let dir = temp_dir(tag);
    let mut config = Config::with_dir(&dir);
    config.fsync = false;
    tweak(&mut config);
    let config = Arc::new(config);
    let reader = Store::open(&dir).unwrap();
    let node = Node::new(NodeConfig::default());
    let deaths = Deaths::track(&node);
    let task_baseline = alive_tasks();
    let top = todo::supervisor::start(&node, config.clone())
        .await
        .expect("the tree starts");
    Sys {
        node,
        config,
        top,
        dir,
        reader,
        deaths,
        task_baseline,
    }
}

/// How many clients and operations a round has: `OTPLAB_FULL=1` multiplies both.
fn scale(n: usize) -> usize {
    if std::env::var_os("OTPLAB_FULL").is_some_and(|v| v != "0") {
        n * 3
    } else {
        n
    }
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

// ----- the death tracker -----------------------------------------------------------------------

/// Numbers every `Exited` event as it is observed, so a pid handed out by `server_process` can
/// be judged: if its death had been observed before the request started, the pid was stale.
#[derive(Clone, Default)]
struct Deaths {
    seen: Arc<Mutex<HashMap<Pid, u64>>>,
    seq: Arc<AtomicU64>,
}

impl Deaths {
    fn track(node: &Node) -> Deaths {
        let deaths = Deaths::default();
        let mut events = node.events();
        let d = deaths.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Event::Exited(e)) => {
                        let mut seen = d.seen.lock().unwrap();
                        let n = d.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        seen.insert(e.pid, n);
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
        });
        deaths
    }

    fn mark(&self) -> u64 {
        // Taken under the lock so a death numbered after it is also inserted after it.
        let _seen = self.seen.lock().unwrap();
        self.seq.load(Ordering::SeqCst)
    }

    fn died_before(&self, pid: Pid, mark: u64) -> bool {
        self.seen
            .lock()
            .unwrap()
            .get(&pid)
            .is_some_and(|n| *n <= mark)
    }
}

// ----- the record and the checker ----------------------------------------------------------

#[derive(Default)]
struct Record {
    /// list -> titles whose `sync` returned `:ok`.
    acked: HashMap<String, BTreeSet<String>>,
    ops: usize,
    acks: usize,
    violations: Vec<String>,
}

type Rec = Arc<Mutex<Record>>;

/// One operation of a client: find the list's server, cast `add_entry`, `sync`.
async fn add_op(p: &mut Process, sys: &Ctx, list: &str, title: &str) -> bool {
    let mark = sys.deaths.mark();
    let got = cache::server_process(p, &sys.config, list).await;
    let mut acked = false;
    if let Ok(pid) = got {
        if sys.deaths.died_before(pid, mark) {
            sys.rec.lock().unwrap().violations.push(format!(
                "server_process({list:?}) handed out {pid}, whose death was observed before the request"
            ));
        }
        server::add_entry(p, pid, entry(title));
        if let Ok(reply) = server::sync(p, pid).await {
            acked = reply.is_atom("ok");
        }
    }
    let mut rec = sys.rec.lock().unwrap();
    rec.ops += 1;
    if acked {
        rec.acks += 1;
        rec.acked
            .entry(list.to_string())
            .or_default()
            .insert(title.to_string());
    }
    acked
}

/// What the clients share.
#[derive(Clone)]
struct Ctx {
    config: Arc<Config>,
    deaths: Deaths,
    rec: Rec,
}

impl Sys {
    fn ctx(&self, rec: &Rec) -> Ctx {
        Ctx {
            config: self.config.clone(),
            deaths: self.deaths.clone(),
            rec: rec.clone(),
        }
    }

    /// Runs `clients` clients of `ops` operations each over `lists`, concurrently with
    /// `inject`, which runs once the clients are under way.
    async fn round<F, Fut>(&self, rec: &Rec, round: usize, clients: usize, ops: usize, inject: F)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        // Six seconds of the paused clock between rounds: each round's fault meets restart
        // intensities (3 in 5 s) that no earlier round has used.
        tokio::time::advance(Duration::from_secs(6)).await;
        let lists = LISTS;
        let mut handles = vec![];
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        for c in 0..clients {
            let (node, ctx, started) = (self.node.clone(), self.ctx(rec), started_tx.clone());
            handles.push(tokio::spawn(async move {
                within(&node, move |p: &mut Process| {
                    Box::pin(async move {
                        for i in 0..ops {
                            let list = lists[(c + i) % lists.len()];
                            let title = format!("r{round}-c{c}-op{i}");
                            add_op(p, &ctx, list, &title).await;
                            if i == 0 {
                                let _ = started.send(());
                            }
                        }
                    })
                })
                .await
            }));
        }
        drop(started_tx);
        // The fault lands once every client has finished its first operation.
        for _ in 0..clients {
            started_rx.recv().await;
        }
        inject().await;
        for h in handles {
            h.await.unwrap();
        }
    }

    /// Waits until every process is idle on an empty mailbox (or asleep) and every dying
    /// process is torn down, yielding in between; fails after 30 s of real time.
    async fn settle(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut quiet = 0;
        while quiet < 50 {
            if self.node.quiescent(Pid(0)) && self.node.count() == self.node.tasks() {
                quiet += 1;
            } else {
                quiet = 0;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the system did not settle"
            );
            tokio::task::yield_now().await;
        }
    }

    /// The checker, after the system settled.
    async fn check(&self, rec: &Rec, what: &str) {
        self.settle().await;
        check_one_server_per_list(&self.node, rec);
        // Once settled, every list has a live server with every acknowledged entry, and the
        // file on disk has them too.
        let acked = rec.lock().unwrap().acked.clone();
        let ctx = self.ctx(rec);
        let node = self.node.clone();
        let got = within(&self.node, move |p: &mut Process| {
            Box::pin(async move {
                let mut out = vec![];
                for list in LISTS {
                    let pid = cache::server_process(p, &ctx.config, list).await;
                    let pid = match pid {
                        Ok(pid) => pid,
                        Err(e) => {
                            out.push(Err(format!("server_process({list:?}) failed: {e:?}")));
                            continue;
                        }
                    };
                    if !node.alive(pid) {
                        out.push(Err(format!(
                            "server_process({list:?}) handed out the dead {pid} once settled"
                        )));
                        continue;
                    }
                    match server::entries(p, pid, date()).await {
                        Ok(entries) => out.push(Ok((list, titles(&entries)))),
                        Err(e) => out.push(Err(format!("entries({list:?}) failed: {e:?}"))),
                    }
                }
                out
            })
        })
        .await;
        let mut violations = vec![];
        for r in got {
            match r {
                Err(v) => violations.push(v),
                Ok((list, live)) => {
                    let want = acked.get(list).cloned().unwrap_or_default();
                    let lost: Vec<_> = want.difference(&live).collect();
                    if !lost.is_empty() {
                        violations.push(format!("{list}: acknowledged entries lost: {lost:?}"));
                    }
                    let on_disk = match self.reader.load(list) {
                        Ok(Some(l)) => l
                            .entries(date())
                            .into_iter()
                            .map(|e| e.title.clone())
                            .collect::<BTreeSet<_>>(),
                        Ok(None) => BTreeSet::new(),
                        Err(e) => {
                            violations.push(format!("{list}: its file does not load: {e}"));
                            BTreeSet::new()
                        }
                    };
                    let lost: Vec<_> = want.difference(&on_disk).collect();
                    if !lost.is_empty() {
                        violations.push(format!(
                            "{list}: acknowledged entries missing from the file: {lost:?}"
                        ));
                    }
                }
            }
        }
        self.settle().await;
        // The process count is the tree's: nothing leaked, nothing missing.
        let tree = walk(&self.node, self.top).await;
        self.settle().await;
        if self.node.count() != tree.len() || self.node.tasks() != tree.len() {
            violations.push(format!(
                "{} processes and {} process tasks for a tree of {}: {:?}",
                self.node.count(),
                self.node.tasks(),
                tree.len(),
                self.node
                    .pids()
                    .iter()
                    .filter_map(|p| self.node.info(*p))
                    .map(|i| format!("{} {}", i.pid, i.label))
                    .collect::<Vec<_>>()
            ));
        }
        let mut rec = rec.lock().unwrap();
        rec.violations.extend(violations);
        assert!(
            rec.violations.is_empty(),
            "after {what}: {:#?}",
            rec.violations
        );
    }

    /// Stops the tree and checks that every process and task is gone.
    async fn stop(self) {
        let mut events = self.node.events();
        self.node.stop(self.top, ExitReason::Shutdown);
        common::exited(&mut events, self.top).await;
        common::settle_count(&self.node, 0).await;
        for _ in 0..100_000 {
            if alive_tasks() <= self.task_baseline {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            alive_tasks(),
            self.task_baseline,
            "tokio tasks leaked after the tree stopped"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const LISTS: [&str; 4] = ["Bob's list", "Alice's list", "\u{1b}[31mred list", "l4"];

/// No two live `Todo.Server`s for one list. A snapshot of the process table is not atomic, so
/// a pair found in it is checked again: both alive in two passes means both were alive at once.
fn check_one_server_per_list(node: &Node, rec: &Rec) {
    let mut by_list: HashMap<String, Vec<Pid>> = HashMap::new();
    for pid in node.pids() {
        if let Some(info) = node.info(pid).filter(|i| &*i.label == "Todo.Server")
            && let Some(via) = info.via_name
        {
            by_list.entry(via.to_string()).or_default().push(pid);
        }
    }
    for (list, pids) in by_list {
        if pids.len() < 2 {
            continue;
        }
        let first: Vec<Pid> = pids.iter().copied().filter(|p| node.alive(*p)).collect();
        let both: Vec<Pid> = first.iter().copied().filter(|p| node.alive(*p)).collect();
        if both.len() >= 2 {
            rec.lock()
                .unwrap()
                .violations
                .push(format!("two live servers for {list}: {both:?}"));
        }
    }
}

/// Every process of the tree under `sup`, `sup` included, with its path of ids.
async fn walk(node: &Node, sup: Pid) -> Vec<(String, Pid)> {
    let node2 = node.clone();
    within(node, move |p: &mut Process| {
        Box::pin(async move {
            let mut out = vec![("top".to_string(), sup)];
            let mut stack = vec![("top".to_string(), sup)];
            while let Some((path, s)) = stack.pop() {
                let Ok(children) = supervisor::which_children(&node2, p.pid(), &Dest::Pid(s)).await
                else {
                    continue;
                };
                for c in children {
                    let Some(pid) = c.pid else { continue };
                    let name = node2
                        .name_of(pid)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| c.id.to_string());
                    let child_path = format!("{path}/{name}");
                    out.push((child_path.clone(), pid));
                    if c.kind == ChildKind::Supervisor {
                        stack.push((child_path, pid));
                    }
                }
            }
            out
        })
    })
    .await
}

// ----- failpoints --------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_failed_write_at_any_step_is_never_acknowledged_and_loses_nothing() {
    let sys = start_system("failpoints", |_| {}).await;
    let rec: Rec = Arc::default();
    let ctx = sys.ctx(&rec);
    let steps = [
        WriteStep::CreateTemp,
        WriteStep::Write,
        WriteStep::Sync,
        WriteStep::Rename,
        WriteStep::SyncDir,
    ];
    for (round, step) in steps.into_iter().enumerate() {
        // Acknowledged versions first, so a failed write has an old file to keep.
        sys.round(&rec, round * 3, 2, 3, || async {}).await;
        let before: HashMap<&str, Option<Vec<u8>>> = LISTS
            .iter()
            .map(|l| (*l, std::fs::read(sys.reader.path(l).unwrap()).ok()))
            .collect();
        sys.config.failpoints.set(Some(step));
        // Sequential operations while the failpoint is armed: none may be acknowledged.
        let acked_while_failing = within(&sys.node, {
            let ctx = ctx.clone();
            move |p: &mut Process| {
                Box::pin(async move {
                    let mut acked = vec![];
                    for (i, list) in LISTS.iter().enumerate() {
                        let title = format!("failing-{step:?}-{i}");
                        if add_op(p, &ctx, list, &title).await {
                            acked.push(title);
                        }
                    }
                    acked
                })
            }
        })
        .await;
        sys.settle().await;
        assert!(
            acked_while_failing.is_empty(),
            "sync acknowledged writes that failed at {step:?}: {acked_while_failing:?}"
        );
        for list in LISTS {
            let path = sys.reader.path(list).unwrap();
            let now = std::fs::read(&path).ok();
            if step == WriteStep::SyncDir {
                // The rename happened: the file is the new complete version, not a mix.
                sys.reader
                    .load(list)
                    .unwrap_or_else(|e| panic!("{step:?}: {e}"));
            } else {
                assert_eq!(
                    now,
                    before[list],
                    "{step:?}: a failed write changed {}",
                    path.display()
                );
            }
        }
        let temps: Vec<_> = std::fs::read_dir(&sys.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp."))
            .collect();
        assert!(temps.is_empty(), "{step:?} left temporary files: {temps:?}");
        sys.config.failpoints.set(None);
        // Concurrent clients while the failpoint is armed and disarmed mid-way.
        sys.config.failpoints.set(Some(step));
        sys.round(&rec, round * 3 + 1, scale(4), scale(6), || async {
            sys.config.failpoints.set(None);
        })
        .await;
        sys.round(&rec, round * 3 + 2, scale(2), scale(3), || async {})
            .await;
        sys.check(&rec, &format!("failpoint {step:?}")).await;
    }
    assert!(rec.lock().unwrap().acks > 0);
    sys.stop().await;
}

// ----- kills and crashes at every node of the tree --------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Blow {
    Kill,
    /// Raises inside the process's loop, as a bug in a callback would.
    Crash,
}

async fn every_node(cache_kind: CacheKind, blow: Blow) {
    let tag = format!("nodes-{cache_kind:?}-{blow:?}");
    let sys = start_system(&tag, |c| c.cache = cache_kind).await;
    let rec: Rec = Arc::default();
    // Every list has a server, so the tree has every kind of node.
    sys.round(&rec, 0, LISTS.len(), 1, || async {}).await;
    sys.check(&rec, "start").await;
    let targets: Vec<String> = walk(&sys.node, sys.top)
        .await
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| path != "top")
        .collect();
    assert!(
        targets.len() >= 12,
        "the tree has registry, system supervisor, database, 3 workers, server supervisor, \
         4 servers, cache: {targets:?}"
    );
    for (round, target) in targets.iter().enumerate() {
        let node = sys.node.clone();
        let top = sys.top;
        let path = target.clone();
        let hit = Arc::new(Mutex::new(None));
        let hit2 = hit.clone();
        sys.round(&rec, round + 1, scale(4), scale(8), || async move {
            // The path is resolved now: the pid may have changed since the listing.
            let found = walk(&node, top).await.into_iter().find(|(p, _)| *p == path);
            if let Some((_, pid)) = found {
                match blow {
                    Blow::Kill => {
                        node.exit(Pid(0), pid, ExitReason::Kill);
                    }
                    Blow::Crash => {
                        node.crash(pid);
                    }
                }
                *hit2.lock().unwrap() = Some(pid);
            }
        })
        .await;
        check_one_server_per_list(&sys.node, &rec);
        sys.check(&rec, &format!("{blow:?} of {target}")).await;
        if let Some(pid) = *hit.lock().unwrap() {
            assert!(!sys.node.alive(pid), "{target} {pid} survived {blow:?}");
        }
    }
    let (acks, ops) = {
        let rec = rec.lock().unwrap();
        (rec.acks, rec.ops)
    };
    println!(
        "{blow:?} at every node, {cache_kind:?} cache: {acks} of {ops} operations acknowledged, none lost"
    );
    assert!(acks > ops / 2, "{acks} of {ops} acknowledged");
    sys.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_kill_at_any_node_of_the_tree_with_the_process_cache() {
    every_node(CacheKind::Process, Blow::Kill).await;
}

#[tokio::test(start_paused = true)]
async fn a_kill_at_any_node_of_the_tree_with_the_ets_cache() {
    every_node(CacheKind::Ets, Blow::Kill).await;
}

#[tokio::test(start_paused = true)]
async fn a_crash_in_a_handler_at_any_node_of_the_tree() {
    every_node(CacheKind::Process, Blow::Crash).await;
}

// ----- a panicking handler and a slow init ----------------------------------------------------

/// A GenServer whose `handle_call` panics: a buggy neighbour of the to-do servers under
/// `Todo.ServerSupervisor`.
struct Panicker;

impl GenServer for Panicker {
    type Arg = ();
    fn module() -> &'static str {
        "Panicker"
    }
    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Panicker))
    }
    async fn handle_call(
        &mut self,
        _request: &Term,
        _from: &From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        panic!("a bug in a handler");
    }
    fn state(&self) -> Term {
        Term::nil()
    }
}

fn panicker_spec() -> ChildSpec {
    ChildSpec::worker(
        atom("panicker"),
        "Panicker.start_link()",
        |p: &mut Process| {
            Box::pin(async move {
                gen_server::start_link::<Panicker>(p, (), StartOpts::default()).await
            })
        },
    )
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_in_the_tree_and_a_slow_init_lose_nothing() {
    let sys = start_system("panic-slow", |c| {
        c.load_in_init = true;
        c.db_delay = Duration::from_millis(3);
    })
    .await;
    let rec: Rec = Arc::default();
    sys.round(&rec, 0, LISTS.len(), 1, || async {}).await;
    sys.check(&rec, "start").await;
    for round in 1..=3 {
        let node = sys.node.clone();
        sys.round(&rec, round, scale(3), scale(4), || async move {
            let outcome = within(&node, move |p: &mut Process| {
                Box::pin(async move {
                    let mut reasons = vec![];
                    // Four panics within 5 s: the fourth exceeds the server supervisor's
                    // intensity, which takes every to-do server down with it.
                    for _ in 0..4 {
                        let sup = Dest::Name(server_supervisor::NAME);
                        let Ok(Some(pid)) =
                            supervisor::start_child(p.node(), p.pid(), &sup, panicker_spec()).await
                        else {
                            continue;
                        };
                        let r = p
                            .call(pid, atom("boom"), Some(Duration::from_secs(5)))
                            .await;
                        reasons.push(r.map_err(|e| e.reason().to_string()));
                    }
                    reasons
                })
            })
            .await;
            assert!(!outcome.is_empty());
            for r in outcome {
                let reason = r.expect_err("a panicking call never replies");
                assert!(
                    reason.contains("a bug in a handler"),
                    "the caller sees the panic as the reason: {reason}"
                );
            }
        })
        .await;
        sys.check(&rec, &format!("panics, round {round}")).await;
    }
    // The panicking children are gone with the supervisor that gave up; no orphan remains.
    assert!(
        sys.node
            .pids()
            .iter()
            .filter_map(|p| sys.node.info(*p))
            .all(|i| &*i.label != "Panicker")
    );
    sys.stop().await;
}

// ----- hostile files in the persist folder -----------------------------------------------------

/// Plants `bytes` as the file of `list` (or a symlink when `bytes` is `None`), then asks the
/// running system for the list: `server_process` + `entries` must answer an error naming the
/// file, the node must keep answering, and the file must be untouched.
async fn hostile_file(kind: &str, make: impl FnOnce(&Path, &Path)) {
    let sys = start_system(&format!("hostile-{kind}"), |_| {}).await;
    let list = format!("planted {kind}");
    let path = sys.reader.path(&list).unwrap();
    make(&path, &sys.dir);
    let before = std::fs::symlink_metadata(&path).unwrap();
    let before_bytes = std::fs::read(&path).ok();
    let ctx = sys.ctx(&Arc::default());
    let l = list.clone();
    let (reply, synced, other) = within(&sys.node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = cache::server_process(p, &ctx.config, &l).await.unwrap();
            let reply = server::entries(p, pid, date()).await.unwrap();
            // A change is refused, and never overwrites the file.
            server::add_entry(p, pid, entry("must not land"));
            let synced = server::sync(p, pid).await.unwrap();
            // The rest of the system keeps answering.
            let ok = cache::server_process(p, &ctx.config, "a sound list")
                .await
                .unwrap();
            server::add_entry(p, ok, entry("fine"));
            let other = server::sync(p, ok).await.unwrap();
            (reply, synced, other)
        })
    })
    .await;
    let text = reply.to_string();
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        text.starts_with("{:error, {:corrupt,") && text.contains(&file),
        "{kind}: the error names the file {file}: {text}"
    );
    assert!(
        synced.to_string().starts_with("{:error,"),
        "{kind}: {synced}"
    );
    assert!(other.is_atom("ok"), "{kind}: the system keeps working");
    sys.settle().await;
    let after = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(before.len(), after.len(), "{kind}: file untouched");
    assert_eq!(before.modified().ok(), after.modified().ok(), "{kind}");
    assert_eq!(
        std::fs::read(&path).ok(),
        before_bytes,
        "{kind}: file untouched"
    );
    sys.stop().await;
}

fn valid_file(name: &str) -> Vec<u8> {
    let dir = temp_dir(&format!("valid-{}", name.len()));
    let store = Store::open(&dir).unwrap().with_fsync(false);
    let mut list = otplab::todo::list::List::new();
    list.add_entry(date(), "Dentist");
    store.store(name, &list, 1).unwrap();
    let bytes = std::fs::read(store.path(name).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_file_is_a_clear_error_naming_it() {
    hostile_file("corrupt", |path, _| {
        let mut bytes = valid_file("planted corrupt");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(path, bytes).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_is_a_clear_error_naming_it() {
    hostile_file("truncated", |path, _| {
        let bytes = valid_file("planted truncated");
        std::fs::write(path, &bytes[..bytes.len() - 3]).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_is_a_clear_error_naming_it() {
    hostile_file("empty", |path, _| std::fs::write(path, b"").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_file_is_a_clear_error_naming_it() {
    hostile_file("foreign", |path, _| {
        std::fs::write(path, valid_file("somebody else's list")).unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_file_is_a_clear_error_naming_it() {
    hostile_file("symlinked", |path, dir| {
        let target = dir.join("target-outside");
        std::fs::write(&target, valid_file("planted symlinked")).unwrap();
        std::os::unix::fs::symlink(&target, path).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_length_prefix_is_a_clear_error_naming_it() {
    // A valid header and checksum around a payload whose map claims u64::MAX entries (varint
    // 253 + 8 bytes): the decoder must refuse it before allocating.
    hostile_file("huge-prefix", |path, _| {
        let name = b"planted huge-prefix";
        let mut payload = vec![2, 253];
        payload.extend_from_slice(&[0xff; 8]);
        let mut bytes = b"IEXTODO\0".to_vec();
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32c(&payload).to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&payload);
        std::fs::write(path, bytes).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_header_length_is_a_clear_error_naming_it() {
    hostile_file("huge-header", |path, _| {
        let mut bytes = valid_file("planted huge-header");
        bytes[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(path, bytes).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_past_the_size_limit_is_a_clear_error_naming_it() {
    hostile_file("oversized", |path, _| {
        let f = std::fs::File::create(path).unwrap();
        f.set_len(otplab::todo::persist::DEFAULT_MAX_FILE + 1)
            .unwrap();
    })
    .await;
}

fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ----- a store lost with its worker ---------------------------------------------------------

/// The store casts of two entries sit in a database worker's mailbox (the worker busy with a
/// slow write) when the worker is killed: the casts die with it. `sync` must not acknowledge
/// the entries unless they are on disk once it returns.
#[tokio::test(start_paused = true)]
async fn a_store_lost_with_its_worker_is_never_acknowledged() {
    use otplab::todo::{database, database_worker, process_registry};
    let sys = start_system("lost-store", |c| c.db_delay = Duration::from_secs(1)).await;
    let mut events = sys.node.events();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let config = sys.config.clone();
    let client = tokio::spawn({
        let node = sys.node.clone();
        async move {
            within(&node, move |p: &mut Process| {
                Box::pin(async move {
                    let list = "Bob's list";
                    let pid = cache::server_process(p, &config, list).await.unwrap();
                    let worker = process_registry::whereis_name(
                        p,
                        database_worker::key(database::choose_worker(&config, list)),
                    )
                    .await
                    .unwrap();
                    // Loaded: the worker has nothing of this server's left to answer.
                    server::entries(p, pid, date()).await.unwrap();
                    server::add_entry(p, pid, entry("first"));
                    server::add_entry(p, pid, entry("second"));
                    let _ = ready_tx.send(worker);
                    let _ = go_rx.await;
                    server::sync(p, pid).await
                })
            })
            .await
        }
    });
    let worker = ready_rx.await.unwrap();
    // Wait until the second store is queued behind the first, slow one: the paused clock moves
    // a millisecond at a time, so the 1 s load and the 1 s write take a thousand steps each.
    for _ in 0..100_000 {
        if sys
            .node
            .info(worker)
            .is_some_and(|i| i.message_queue_len >= 1)
        {
            break;
        }
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    assert!(sys.node.info(worker).unwrap().message_queue_len >= 1);
    sys.node.exit(Pid(0), worker, ExitReason::Kill);
    loop {
        if let Ok(Event::Restarted(r)) = events.recv().await
            && r.old == worker
        {
            break;
        }
    }
    go_tx.send(()).unwrap();
    let synced = client.await.unwrap();
    let on_disk: BTreeSet<String> = sys
        .reader
        .load("Bob's list")
        .unwrap()
        .map(|l| {
            l.entries(date())
                .into_iter()
                .map(|e| e.title.clone())
                .collect()
        })
        .unwrap_or_default();
    if matches!(&synced, Ok(t) if t.is_atom("ok")) {
        assert_eq!(
            on_disk,
            BTreeSet::from(["first".to_string(), "second".to_string()]),
            "sync acknowledged entries that are not on disk"
        );
    }
    assert!(
        synced.unwrap().is_atom("ok"),
        "the sync after the restart succeeds"
    );
    sys.stop().await;
}
