//! The restart figures of the reliability issue, each a test: restart intensity at its
//! boundary and its sliding window on the paused clock, the registry killed over and over
//! (S15's restart order every time, no name ever taken twice, no entry lost), one to-do server
//! killed over and over (a new live pid each time, its entries those on disk, the old pid
//! `noproc`), and many clients asking at once for a list that does not exist yet.
//!
//! Sizes: the full counts (1,000 registry kills, 10,000 server kills) run in CI too;
//! they take about 6 and 12 s on the project's 2-core machine.

mod common;

use common::{date, entry, titles};

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{cell_spec, within};
use otplab::runtime::Events;
use otplab::runtime::supervisor::{self, Flags, Spec};
use otplab::runtime::{
    Dest, Event, ExitReason, Node, NodeConfig, Pid, Process, Strategy, Term, atom,
};
use otplab::todo::persist::Store;
use otplab::todo::{self, Config, cache, server};
use tokio::time::advance;

// ----- restart intensity -----------------------------------------------------------------------

/// A one_for_one supervisor with Elixir's default intensity (3 in 5 s) over a, b, c, d.
async fn four_children(node: &Node) -> Pid {
    let spec = Spec::new(
        "Sup",
        Flags::new(Strategy::OneForOne),
        vec![
            cell_spec("a"),
            cell_spec("b"),
            cell_spec("c"),
            cell_spec("d"),
        ],
    );
    supervisor::start(node, spec).await.unwrap()
}

async fn child(node: &Node, sup: Pid, id: &'static str) -> Pid {
    let node2 = node.clone();
    within(node, move |p: &mut Process| {
        Box::pin(async move {
            supervisor::which_children(&node2, p.pid(), &Dest::Pid(sup))
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.id == atom(id))
                .and_then(|c| c.pid)
                .unwrap()
        })
    })
    .await
}

async fn restarted(events: &mut Events, old: Pid) -> Pid {
    loop {
        match events.recv().await {
            Ok(Event::Restarted(r)) if r.old == old => return r.new,
            Ok(Event::GaveUp(_)) => panic!("the supervisor gave up restarting {old}"),
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// Kills `a` and waits for its replacement.
async fn kill_a(node: &Node, sup: Pid, events: &mut Events) {
    let a = child(node, sup, "a").await;
    node.exit(Pid(0), a, ExitReason::Kill);
    restarted(events, a).await;
}

/// Kills `a` once more and checks that the supervisor gives up: `GaveUp`, then b, c, d
/// stopped in reverse start order (d, c, b) with `:shutdown`, then the supervisor itself
/// with `:shutdown`.
async fn kill_a_and_see_it_give_up(node: &Node, sup: Pid, events: &mut Events) {
    let [a, b, c, d] = [
        child(node, sup, "a").await,
        child(node, sup, "b").await,
        child(node, sup, "c").await,
        child(node, sup, "d").await,
    ];
    node.exit(Pid(0), a, ExitReason::Kill);
    let mut gave_up = false;
    let mut exits = vec![];
    loop {
        match events.recv().await.unwrap() {
            Event::GaveUp(g) if g.supervisor == sup => {
                assert_eq!((g.restarts, g.seconds), (3, 5));
                gave_up = true;
            }
            Event::Restarted(r) if r.old == a => panic!("a 4th restart within 5 s"),
            Event::Exited(e) if [a, b, c, d, sup].contains(&e.pid) => {
                exits.push((e.pid, e.reason.clone()));
                if e.pid == sup {
                    break;
                }
            }
            _ => {}
        }
    }
    assert!(gave_up);
    assert_eq!(
        exits,
        vec![
            (a, ExitReason::Killed),
            (d, ExitReason::Shutdown),
            (c, ExitReason::Shutdown),
            (b, ExitReason::Shutdown),
            (sup, ExitReason::Shutdown),
        ],
        "children stopped in reverse start order, then the supervisor"
    );
    common::settle_count(node, 0).await;
}

#[tokio::test(start_paused = true)]
async fn three_restarts_in_4_9_s_are_tolerated_and_a_fourth_gives_up() {
    let node = common::node();
    let mut events = node.events();
    let sup = four_children(&node).await;
    // Kills at 0, 2.45 and 4.9 s: three restarts within 4.9 s.
    kill_a(&node, sup, &mut events).await;
    advance(Duration::from_millis(2450)).await;
    kill_a(&node, sup, &mut events).await;
    advance(Duration::from_millis(2450)).await;
    kill_a(&node, sup, &mut events).await;
    assert!(node.alive(sup), "three restarts within 5 s are tolerated");
    // A fourth at 4.95 s, still within 5 s of the first.
    advance(Duration::from_millis(50)).await;
    kill_a_and_see_it_give_up(&node, sup, &mut events).await;
}

#[tokio::test(start_paused = true)]
async fn the_window_slides_and_after_5_s_three_more_are_fine() {
    let node = common::node();
    let mut events = node.events();
    let sup = four_children(&node).await;
    // Kills at 0, 2 and 4 s.
    for i in 0..3 {
        if i > 0 {
            advance(Duration::from_secs(2)).await;
        }
        kill_a(&node, sup, &mut events).await;
    }
    // At 5.1 s the restart of 0 s has left the window: a fourth restart is fine (2, 4, 5.1).
    advance(Duration::from_millis(1100)).await;
    kill_a(&node, sup, &mut events).await;
    assert!(node.alive(sup), "a sliding window, not a fixed one");
    // 10.2 s: every earlier restart is more than 5 s old, so three more are fine.
    advance(Duration::from_millis(5100)).await;
    for _ in 0..3 {
        kill_a(&node, sup, &mut events).await;
        advance(Duration::from_millis(100)).await;
    }
    assert!(node.alive(sup), "after 5 s, three more restarts are fine");
    // And a fourth within those 5 s is one too many.
    kill_a_and_see_it_give_up(&node, sup, &mut events).await;
}

// ----- the to-do system under repeated kills ----------------------------------------------

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-rst-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn start(tag: &str) -> (Node, Arc<Config>, Pid, Store, PathBuf) {
    let dir = temp_dir(tag);
    let mut config = Config::with_dir(&dir);
    config.fsync = false;
    let config = Arc::new(config);
    let reader = Store::open(&dir).unwrap();
    let node = Node::new(NodeConfig::default());
    let top = todo::supervisor::start(&node, config.clone())
        .await
        .unwrap();
    (node, config, top, reader, dir)
}

/// `server_process` + `entries`, then one more entry acknowledged with `sync`.
async fn visit(node: &Node, config: &Arc<Config>, list: &'static str, add: String) -> (Pid, Term) {
    let config = config.clone();
    within(node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = cache::server_process(p, &config, list).await.unwrap();
            let entries = server::entries(p, pid, date()).await.unwrap();
            server::add_entry(p, pid, entry(&add));
            assert!(server::sync(p, pid).await.unwrap().is_atom("ok"));
            (pid, entries)
        })
    })
    .await
}

/// What one registry kill must print and report, in order (S15).
#[derive(Default, Debug)]
struct Cycle {
    /// `Exited` of the tree's processes, as labels (workers with their number).
    stopped: Vec<String>,
    /// What the starting processes printed, in start order.
    starting: Vec<String>,
    /// `ChildStarted` reports, as start calls, in completion order.
    started: Vec<String>,
}

fn tree_label(label: &str, name: &Option<Term>) -> Option<String> {
    let known = [
        "Todo.ProcessRegistry",
        "Todo.SystemSupervisor",
        "Todo.Database",
        "Todo.DatabaseWorker",
        "Todo.ServerSupervisor",
        "Todo.Server",
        "Todo.Cache",
        "Todo.Supervisor",
    ];
    if !known.contains(&label) {
        return None;
    }
    Some(match (label, name) {
        ("Todo.DatabaseWorker", Some(n)) => format!("{label} {n}"),
        _ => label.to_string(),
    })
}

async fn registry_cycle(events: &mut Events) -> Cycle {
    let mut cycle = Cycle::default();
    loop {
        match events.recv().await.expect("no event lost") {
            Event::Exited(e) => {
                if let Some(l) = tree_label(&e.label, &e.name) {
                    cycle.stopped.push(format!("{l} {:?}", e.reason));
                }
            }
            Event::Output { text, .. } if text.starts_with("Starting") => {
                cycle.starting.push(text.to_string());
            }
            Event::ChildStarted(r) => {
                let call = r.start_call.split('(').next().unwrap_or("").to_string();
                let done = call == "Todo.SystemSupervisor.start_link";
                cycle.started.push(call);
                if done {
                    return cycle;
                }
            }
            Event::GaveUp(g) => panic!("{} gave up", g.label),
            _ => {}
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn the_registry_killed_over_and_over_restarts_in_order_and_loses_nothing() {
    let kills = 1_000;
    let wall = std::time::Instant::now();
    let (node, config, _top, reader, dir) = start("registry").await;
    let mut events = node.events();
    let mut acked = BTreeSet::new();
    let mut seen = HashSet::new();
    let (first, _) = visit(&node, &config, "Bob's list", "before".into()).await;
    acked.insert("before".to_string());
    seen.insert(first);
    let expected_stopped = strings(&[
        "Todo.ProcessRegistry Killed",
        "Todo.Cache Shutdown",
        "Todo.Server Shutdown",
        "Todo.ServerSupervisor Shutdown",
        "Todo.DatabaseWorker {:database_worker, 3} Shutdown",
        "Todo.DatabaseWorker {:database_worker, 2} Shutdown",
        "Todo.DatabaseWorker {:database_worker, 1} Shutdown",
        "Todo.Database Shutdown",
        "Todo.SystemSupervisor Shutdown",
    ]);
    let expected_starting = strings(&[
        "Starting process registry",
        "Starting system supervisor",
        "Starting database",
        "Starting database worker 1",
        "Starting database worker 2",
        "Starting database worker 3",
        "Starting to-do server supervisor",
        "Starting to-do cache",
    ]);
    let expected_started = strings(&[
        "Todo.ProcessRegistry.start_link",
        "Todo.DatabaseWorker.start_link",
        "Todo.DatabaseWorker.start_link",
        "Todo.DatabaseWorker.start_link",
        "Todo.Database.start_link",
        "Todo.ServerSupervisor.start_link",
        "Todo.Cache.start_link",
        "Todo.SystemSupervisor.start_link",
    ]);
    for i in 0..kills {
        // Two seconds between kills: at most three restarts in any 5 s window, with the
        // supervisors' default intensity.
        advance(Duration::from_secs(2)).await;
        while events.try_recv().is_ok() {}
        let registry = node.whereis(todo::process_registry::NAME).unwrap();
        node.exit(Pid(0), registry, ExitReason::Kill);
        let cycle = registry_cycle(&mut events).await;
        assert_eq!(cycle.stopped, expected_stopped, "kill {i}: stop order");
        assert_eq!(cycle.starting, expected_starting, "kill {i}: start order");
        assert_eq!(
            cycle.started, expected_started,
            "kill {i}: each child started once (no already_started retry)"
        );
        let title = format!("after kill {i}");
        let (pid, entries) = visit(&node, &config, "Bob's list", title.clone()).await;
        assert!(node.alive(pid), "kill {i}: a live pid");
        assert!(seen.insert(pid), "kill {i}: a new pid, not {pid} again");
        assert_eq!(titles(&entries), acked, "kill {i}: no entry lost");
        acked.insert(title);
    }
    let on_disk: BTreeSet<String> = reader
        .load("Bob's list")
        .unwrap()
        .unwrap()
        .entries(date())
        .into_iter()
        .map(|e| e.title.clone())
        .collect();
    assert_eq!(on_disk, acked);
    println!(
        "registry: killed {kills} times in {:.2} s of wall clock, each time S15's order, a new \
         live pid and all {} entries",
        wall.elapsed().as_secs_f64(),
        acked.len()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(start_paused = true)]
async fn one_server_killed_over_and_over_comes_back_with_what_is_on_disk() {
    let kills = 10_000;
    let wall = std::time::Instant::now();
    let (node, config, _top, reader, dir) = start("server").await;
    let mut events = node.events();
    let (mut old, _) = visit(&node, &config, "Bob's list", "first".into()).await;
    for i in 0..kills {
        advance(Duration::from_secs(2)).await;
        node.exit(Pid(0), old, ExitReason::Kill);
        let new = restarted(&mut events, old).await;
        let config2 = config.clone();
        let (looked_up, entries, old_answer) = within(&node, move |p: &mut Process| {
            Box::pin(async move {
                let pid = cache::server_process(p, &config2, "Bob's list")
                    .await
                    .unwrap();
                let entries = server::entries(p, pid, date()).await.unwrap();
                let old_answer = server::entries(p, old, date()).await;
                (pid, entries, old_answer)
            })
        })
        .await;
        assert_eq!(
            looked_up, new,
            "kill {i}: server_process finds the new server"
        );
        assert_ne!(new, old);
        assert!(node.alive(new), "kill {i}: a live pid");
        assert!(
            matches!(&old_answer, Err(ExitReason::Other(Term::Tuple(t))) if t[0].is_atom("noproc")),
            "kill {i}: the old pid answers noproc, not {old_answer:?}"
        );
        let on_disk = reader.load("Bob's list").unwrap().unwrap();
        let expected: BTreeSet<String> = on_disk
            .entries(date())
            .into_iter()
            .map(|e| e.title.clone())
            .collect();
        assert_eq!(
            titles(&entries),
            expected,
            "kill {i}: entries are the file's"
        );
        let last = if i == 0 {
            "first".to_string()
        } else {
            format!("after kill {}", i - 1)
        };
        assert_eq!(
            expected,
            BTreeSet::from([last]),
            "kill {i}: the last version"
        );
        // A new version of the one entry, acknowledged, so every incarnation has a different
        // file to load (and the file stays small, so 10,000 kills stay linear).
        let title = format!("after kill {i}");
        within(&node, move |p: &mut Process| {
            Box::pin(async move {
                let changes = Term::atom_map(vec![("title", Term::str(&title))]);
                server::update_entry(p, new, 1, changes);
                assert!(server::sync(p, new).await.unwrap().is_atom("ok"));
            })
        })
        .await;
        old = new;
    }
    println!(
        "to-do server: killed {kills} times in {:.2} s of wall clock, each time a new live pid \
         with the file's entries, the old pid noproc",
        wall.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_asking_at_once_for_a_new_list_get_one_pid() {
    let clients = 1_000;
    let (node, config, _top, _reader, dir) = start("thousand").await;
    let mut events = node.events();
    let barrier = Arc::new(tokio::sync::Barrier::new(clients));
    let mut handles = vec![];
    for _ in 0..clients {
        let (node, config, barrier) = (node.clone(), config.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            within(&node, move |p: &mut Process| {
                Box::pin(async move {
                    barrier.wait().await;
                    cache::server_process(p, &config, "A brand new list").await
                })
            })
            .await
        }));
    }
    let mut pids = HashSet::new();
    for h in handles {
        pids.insert(h.await.unwrap().expect("every client gets a pid"));
    }
    assert_eq!(pids.len(), 1, "one and the same pid: {pids:?}");
    let pid = *pids.iter().next().unwrap();
    assert!(node.alive(pid));
    // One server was started, and no second one was even tried.
    let mut starts = 0;
    while let Ok(e) = events.try_recv() {
        if let Event::Output { text, .. } = e
            && text.starts_with("Starting to-do server for")
        {
            starts += 1;
        }
    }
    assert_eq!(starts, 1);
    let servers = node
        .pids()
        .into_iter()
        .filter_map(|p| node.info(p))
        .filter(|i| &*i.label == "Todo.Server")
        .count();
    assert_eq!(servers, 1);
    let _ = std::fs::remove_dir_all(dir);
}
