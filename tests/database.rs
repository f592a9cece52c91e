//! `Todo.Database` as the book has it (issue 12): every store written, in order, so a flood of
//! stores drains one write at a time (folding them is the opt-in `coalesce_stores`); any term
//! stored and read back; and a failing disk (issue 19) reported once, with `sync` returning
//! the error until a store succeeds again. Paused clock: the database's delay is virtual time.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{date, entry, titles, within};
use otplab::runtime::{Event, Node, NodeConfig, Pid, Process, Term, atom};
use otplab::todo::persist::{Store, WriteStep};
use otplab::todo::{self, Config, cache, database, database_worker, process_registry, server};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-db-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn start_system(tag: &str, tweak: impl FnOnce(&mut Config)) -> (Node, Arc<Config>) {
    let mut config = Config::with_dir(temp_dir(tag));
    config.fsync = false;
    tweak(&mut config);
    let config = Arc::new(config);
    let node = Node::new(NodeConfig::default());
    todo::supervisor::start(&node, config.clone())
        .await
        .expect("the tree starts");
    (node, config)
}

/// The worker's queue length read four times, 25 ms of virtual time apart, after 100 stores
/// of one key were cast to a worker whose every write takes 10 ms.
async fn queue_after_a_flood(config: Arc<Config>, node: &Node) -> Vec<usize> {
    within(node, move |p: &mut Process| {
        Box::pin(async move {
            let worker = database_worker::key(database::choose_worker(&config, "flood"));
            let worker: Pid = process_registry::whereis_name(p, worker).await.unwrap();
            for i in 0..100 {
                database::store(p, &config, "flood", Term::Int(i)).await;
            }
            let mut reads = vec![];
            for _ in 0..4 {
                reads.push(p.node().info(worker).unwrap().message_queue_len);
                p.sleep(Duration::from_millis(25)).await;
            }
            database::sync(p, &config, "flood").await.unwrap();
            reads
        })
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn every_store_is_written_so_a_flood_drains_over_several_reads() {
    let (node, config) = start_system("flood", |c| c.db_delay = Duration::from_millis(10)).await;
    let reads = queue_after_a_flood(config.clone(), &node).await;
    assert!(reads[0] >= 99, "the casts are queued: {reads:?}");
    assert!(
        reads.windows(2).all(|w| w[0] > w[1]) && reads[3] > 50,
        "one write a store, so the queue shrinks slowly: {reads:?}"
    );
    let last = within(&node, move |p: &mut Process| {
        Box::pin(async move { database::get(p, &config, "flood").await.unwrap() })
    })
    .await;
    assert_eq!(last, Term::Int(99), "the last store is the one kept");
}

#[tokio::test(start_paused = true)]
async fn coalescing_is_an_opt_in_that_folds_the_queued_stores() {
    let (node, config) = start_system("coalesce", |c| {
        c.db_delay = Duration::from_millis(10);
        c.coalesce_stores = true;
    })
    .await;
    let reads = queue_after_a_flood(config, &node).await;
    assert!(reads[0] >= 99, "the casts are queued: {reads:?}");
    assert_eq!(reads[1..], [0, 0, 0], "folded into one write: {reads:?}");
}

#[tokio::test(start_paused = true)]
async fn any_term_is_stored_and_a_list_holding_one_refuses_with_a_clear_error() {
    let (node, config) = start_system("terms", |_| {}).await;
    let mut events = node.events();
    let (int, tuple, refused) = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            database::store(p, &config, "Bob's list", Term::Int(5)).await;
            let mixed = Term::tuple(vec![atom("ok"), Term::list(vec![Term::str("x")])]);
            database::store(p, &config, "mixed", mixed).await;
            database::sync(p, &config, "Bob's list").await.unwrap();
            database::sync(p, &config, "mixed").await.unwrap();
            let int = database::get(p, &config, "Bob's list").await.unwrap();
            let tuple = database::get(p, &config, "mixed").await.unwrap();
            let pid = cache::server_process(p, &config, "Bob's list")
                .await
                .unwrap();
            let refused = server::entries(p, pid, date()).await.unwrap();
            (int, tuple, refused)
        })
    })
    .await;
    assert_eq!(int, Term::Int(5));
    assert_eq!(tuple.to_string(), "{:ok, [\"x\"]}");
    assert_eq!(refused.to_string(), "{:error, {:not_a_list, 5}}");
    let mut said = vec![];
    while let Ok(e) = events.try_recv() {
        if let Event::Output { text, .. } = e {
            said.push(text.to_string());
        }
    }
    assert!(
        said.iter().any(|l| l
            == "[error] could not load the to-do list \"Bob's list\": its file holds 5, not a %Todo.List{}"),
        "{said:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_disk_is_reported_once_sync_returns_the_error_and_a_later_store_clears_it() {
    let (node, config) = start_system("disk", |_| {}).await;
    let reader = Store::attach(&config.persist_dir);
    let mut events = node.events();
    let c = config.clone();
    let pid = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = cache::server_process(p, &c, "Bob's list").await.unwrap();
            server::add_entry(p, pid, entry("kept"));
            assert_eq!(server::sync(p, pid).await, Ok(Term::ok()));
            pid
        })
    })
    .await;
    let before = std::fs::read(reader.path("Bob's list").unwrap()).unwrap();
    config.failpoints.set(Some(WriteStep::Write));
    let failing = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            for i in 0..5 {
                server::add_entry(p, pid, entry(&format!("lost-{i}")));
            }
            let first = server::sync(p, pid).await.unwrap();
            let second = server::sync(p, pid).await.unwrap();
            let in_memory = server::entries(p, pid, date()).await.unwrap();
            (first, second, in_memory)
        })
    })
    .await;
    let (first, second, in_memory) = failing;
    for answer in [&first, &second] {
        assert!(
            answer.to_string().starts_with("{:error, ")
                && answer.to_string().contains("injected failure at Write"),
            "{answer}"
        );
    }
    assert_eq!(
        titles(&in_memory).len(),
        6,
        "the server keeps the list in memory: {in_memory}"
    );
    assert_eq!(
        std::fs::read(reader.path("Bob's list").unwrap()).unwrap(),
        before,
        "the old file is intact"
    );
    config.failpoints.set(None);
    let healed = within(&node, move |p: &mut Process| {
        Box::pin(async move { server::sync(p, pid).await.unwrap() })
    })
    .await;
    assert_eq!(healed, Term::ok());
    let stored = reader.load("Bob's list").unwrap().unwrap();
    assert_eq!(
        stored.all().len(),
        6,
        "the later store wrote the whole list"
    );
    let mut said = vec![];
    while let Ok(e) = events.try_recv() {
        if let Event::Output { text, .. } = e {
            said.push(text.to_string());
        }
    }
    let errors: Vec<&String> = said
        .iter()
        .filter(|l| l.starts_with("[error] Todo.DatabaseWorker"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "reported once, not once per entry: {said:?}"
    );
    assert!(
        said.iter()
            .any(|l| l == "[info] Todo.DatabaseWorker stores again, after 7 failed writes"),
        "{said:?}"
    );
}
