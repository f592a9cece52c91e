//! ETS-like tables (rules R12 and S32 of tests/README.md): the four kinds, the three access
//! modes enforced against other processes, a table's life tied to its owner, heirs and
//! `give_away`, and reads that never pass through the owner.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use otplab::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use otplab::runtime::table::{Access, Kind, Table, TableOpts};
use otplab::runtime::{Atom, Dest, Envelope, ExitReason, Node, Pid, Process, Ref, Term, atom};
use tokio::sync::{Barrier, Notify};

const PATIENCE: Duration = Duration::from_secs(60);

fn row(key: impl Into<Term>, value: impl Into<Term>) -> Term {
    Term::tuple(vec![key.into(), value.into()])
}

/// Spawns a process that creates a table with `opts` (named `name`), hands it back, and then
/// waits until it is told `:stop` or killed.
async fn owner(node: &Node, name: &'static str, opts: TableOpts) -> (Pid, Table) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let pid = node
        .spawn(Default::default(), move |p: &mut Process| {
            Box::pin(async move {
                let table = p
                    .node()
                    .tables()
                    .create(p.node(), p.pid(), Atom::from_static(name), opts)
                    .unwrap();
                let _ = tx.send(table);
                p.receive_match(
                    |e| matches!(e, Envelope::Message(t) if t.is_atom("stop")),
                    None,
                )
                .await;
                ExitReason::Normal
            })
        })
        .unwrap();
    (pid, rx.await.unwrap())
}

fn opts(kind: Kind, access: Access) -> TableOpts {
    TableOpts {
        kind,
        access,
        ..Default::default()
    }
}

/// Waits for the DOWN of a monitor taken on `pid` (the owner's death has been handled by then).
async fn death_of(p: &mut Process, pid: Pid, r: Ref) -> Term {
    let env = p
        .receive_match(
            move |e| {
                matches!(e, Envelope::Message(Term::Tuple(t))
                    if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r))
            },
            Some(PATIENCE),
        )
        .await
        .unwrap_or_else(|| panic!("no DOWN from {pid}"));
    env.to_term().as_tuple().unwrap()[4].clone()
}

/// Receives the next `{:"ETS-TRANSFER", table, from, data}`.
async fn transfer(p: &mut Process) -> Vec<Term> {
    let env = p
        .receive_match(
            |e| matches!(e, Envelope::Message(t) if t.tag() == Some("ETS-TRANSFER")),
            Some(PATIENCE),
        )
        .await
        .expect("no ETS-TRANSFER message");
    env.to_term().as_tuple().unwrap().to_vec()
}

fn insufficient_access(r: Result<impl std::fmt::Debug, ExitReason>) -> bool {
    matches!(r, Err(ExitReason::Exception { ref kind, ref message, .. })
        if &**kind == "ArgumentError" && message.contains("insufficient access rights"))
}

fn no_table(r: Result<impl std::fmt::Debug, ExitReason>) -> bool {
    matches!(r, Err(ExitReason::Exception { ref message, .. })
        if message.contains("does not refer to an existing ETS table"))
}

// ----- kinds ----------------------------------------------------------------------------------

#[tokio::test]
async fn s32_set_keeps_one_object_per_key_last_write_wins() {
    let node = node();
    let (me, t) = owner(&node, "set", opts(Kind::Set, Access::Protected)).await;
    t.insert(me, row("bob", 1)).unwrap();
    t.insert(me, row("bob", 2)).unwrap();
    t.insert(me, row("alice", 3)).unwrap();
    assert_eq!(t.lookup(me, &Term::str("bob")).unwrap(), [row("bob", 2)]);
    assert_eq!(t.size(), 2);
    assert!(
        !t.insert_new(me, row("bob", 9)).unwrap(),
        "insert_new on a taken key"
    );
    assert!(t.insert_new(me, row("carol", 4)).unwrap());
    assert_eq!(
        t.lookup_value(me, &Term::str("bob")).unwrap(),
        Some(Term::Int(2))
    );
    t.delete_key(me, &Term::str("bob")).unwrap();
    assert!(t.lookup(me, &Term::str("bob")).unwrap().is_empty());
    assert_eq!(
        t.update_counter(me, &Term::str("alice"), 5, None).unwrap(),
        8
    );
}

/// The ETS cache's read by a key's text (`Table::lookup_str_value`) finds what a read by the
/// key's term finds: the row of that string, in either table while the rows grow and after,
/// and nothing for an absent key or for a key of another type with the same text.
#[tokio::test]
async fn a_read_by_a_keys_text_finds_that_string_and_no_other_key() {
    let node = node();
    let (me, t) = owner(&node, "by_text", opts(Kind::Set, Access::Protected)).await;
    t.insert(me, row(atom("twin"), 1)).unwrap();
    t.insert(me, row(Term::Binary(b"twin".as_slice().into()), 2))
        .unwrap();
    assert_eq!(t.lookup_str_value(me, "twin").unwrap(), None);
    for i in 0..5_000 {
        t.insert(me, row(Term::str(format!("k{i}")), i)).unwrap();
        // The first and the newest keys, wherever the growth has left their rows.
        for j in [0, i / 2, i] {
            let found = t.lookup_str_value(me, &format!("k{j}")).unwrap();
            assert_eq!(found, Some(Term::Int(j)), "k{j} after {i}");
        }
    }
    assert_eq!(t.lookup_str_value(me, "k5000").unwrap(), None);
    t.insert(me, row("twin", 3)).unwrap();
    assert_eq!(t.lookup_str_value(me, "twin").unwrap(), Some(Term::Int(3)));
    // Tables of the other kinds answer too, and the access rules hold.
    let (other, bag) = owner(&node, "by_text_bag", opts(Kind::Bag, Access::Private)).await;
    bag.insert(other, row("b", 4)).unwrap();
    assert_eq!(
        bag.lookup_str_value(other, "b").unwrap(),
        Some(Term::Int(4))
    );
    assert!(insufficient_access(bag.lookup_str_value(me, "b")));
}

/// `:ets.update_counter/4` on a missing key inserts the default with its key field replaced
/// by the key, as the BEAM does, and leaves a row that has the default's own key alone.
#[tokio::test]
async fn update_counter_with_a_default_stores_the_row_under_the_key() {
    let node = node();
    for kind in [Kind::Set, Kind::OrderedSet] {
        let (me, t) = owner(&node, "counters", opts(kind, Access::Protected)).await;
        t.insert(me, row("b", 7)).unwrap();
        let bumped = t.update_counter(me, &Term::str("a"), 1, Some(row("b", 0)));
        assert_eq!(bumped.unwrap(), 1, "{kind:?}");
        assert_eq!(t.update_counter(me, &Term::str("a"), 2, None).unwrap(), 3);
        assert_eq!(t.lookup(me, &Term::str("a")).unwrap(), [row("a", 3)]);
        assert_eq!(t.lookup(me, &Term::str("b")).unwrap(), [row("b", 7)]);
        // A default that cannot hold a counter is refused and stores nothing.
        assert!(
            t.update_counter(me, &Term::str("c"), 1, Some(Term::Int(0)))
                .is_err()
        );
        assert!(t.lookup(me, &Term::str("c")).unwrap().is_empty());
    }
}

#[tokio::test]
async fn s32_ordered_set_lists_objects_in_key_order() {
    let node = node();
    let keyed_second = TableOpts {
        keypos: 2,
        ..opts(Kind::OrderedSet, Access::Protected)
    };
    let (me, t) = owner(&node, "ordered", keyed_second).await;
    // Keys are the second element: the order is theirs, not the first element's.
    t.insert(
        me,
        Term::list(vec![row("x", 3), row("y", 1), row("z", 2), row("w", 1)]),
    )
    .unwrap();
    assert_eq!(
        t.to_list(me).unwrap(),
        [row("w", 1), row("z", 2), row("x", 3)],
        "key 1 was overwritten by the later object"
    );
    assert_eq!(t.kind(), Kind::OrderedSet);
}

#[tokio::test]
async fn s32_bag_keeps_distinct_objects_per_key_and_drops_exact_duplicates() {
    let node = node();
    let (me, t) = owner(&node, "bag", opts(Kind::Bag, Access::Protected)).await;
    for obj in [row("k", 1), row("k", 2), row("k", 1)] {
        t.insert(me, obj).unwrap();
    }
    assert_eq!(
        t.lookup(me, &Term::str("k")).unwrap(),
        [row("k", 1), row("k", 2)]
    );
    assert_eq!(t.size(), 2);
}

#[tokio::test]
async fn s32_duplicate_bag_keeps_every_object_duplicates_included() {
    let node = node();
    let (me, t) = owner(&node, "dbag", opts(Kind::DuplicateBag, Access::Protected)).await;
    for obj in [row("k", 1), row("k", 2), row("k", 1)] {
        t.insert(me, obj).unwrap();
    }
    assert_eq!(
        t.lookup(me, &Term::str("k")).unwrap(),
        [row("k", 1), row("k", 2), row("k", 1)]
    );
    assert_eq!(t.size(), 3);
}

// ----- access ---------------------------------------------------------------------------------

#[tokio::test]
async fn s32_protected_only_the_owner_writes_everyone_reads() {
    let node = node();
    let (own, t) = owner(&node, "protected", TableOpts::default()).await;
    assert_eq!(t.access(), Access::Protected, "protected is the default");
    t.insert(own, row("k", 1)).unwrap();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let other = p.pid();
            assert_eq!(t.lookup(other, &Term::str("k")).unwrap(), [row("k", 1)]);
            assert_eq!(t.to_list(other).unwrap(), [row("k", 1)]);
            assert!(insufficient_access(t.insert(other, row("k", 2))));
            assert!(insufficient_access(t.insert_new(other, row("j", 2))));
            assert!(insufficient_access(t.delete_key(other, &Term::str("k"))));
            assert!(insufficient_access(t.update_counter(
                other,
                &Term::str("k"),
                1,
                None
            )));
            assert!(insufficient_access(p.node().tables().delete(
                p.node(),
                other,
                &t
            )));
            assert_eq!(
                t.lookup(other, &Term::str("k")).unwrap(),
                [row("k", 1)],
                "unchanged"
            );
        })
    })
    .await;
}

#[tokio::test]
async fn s32_public_anyone_reads_and_writes() {
    let node = node();
    let (_own, t) = owner(&node, "public", opts(Kind::Set, Access::Public)).await;
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let other = p.pid();
            t.insert(other, row("k", 1)).unwrap();
            assert_eq!(
                t.update_counter(other, &Term::str("k"), 2, None).unwrap(),
                3
            );
            assert_eq!(t.lookup(other, &Term::str("k")).unwrap(), [row("k", 3)]);
            t.delete_key(other, &Term::str("k")).unwrap();
            assert_eq!(t.size(), 0);
        })
    })
    .await;
}

#[tokio::test]
async fn s32_private_only_the_owner_reads_or_writes() {
    let node = node();
    let (own, t) = owner(&node, "private", opts(Kind::Set, Access::Private)).await;
    t.insert(own, row("k", 1)).unwrap();
    assert_eq!(t.lookup(own, &Term::str("k")).unwrap(), [row("k", 1)]);
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let other = p.pid();
            assert!(insufficient_access(t.lookup(other, &Term::str("k"))));
            assert!(insufficient_access(t.lookup_value(other, &Term::str("k"))));
            assert!(insufficient_access(t.to_list(other)));
            assert!(insufficient_access(t.insert(other, row("k", 2))));
        })
    })
    .await;
}

// ----- life and ownership ---------------------------------------------------------------------

#[tokio::test]
async fn s32_a_table_dies_with_its_owner_and_its_name_is_free_again() {
    let node = node();
    let (own, t) = owner(
        &node,
        "mortal",
        TableOpts {
            named: true,
            ..TableOpts::default()
        },
    )
    .await;
    t.insert(own, row("k", 1)).unwrap();
    assert!(node.tables().get(&atom("mortal")).is_some());
    let t2 = t.clone();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let r = p.monitor(own);
            p.exit(own, ExitReason::Kill);
            assert!(death_of(p, own, r).await.is_atom("killed"));
            // By the time the DOWN arrives the table is gone.
            assert!(t2.is_deleted());
            assert!(no_table(t2.lookup(p.pid(), &Term::str("k"))));
            assert!(p.node().tables().get(&atom("mortal")).is_none());
        })
    })
    .await;
    // A normal exit deletes it just the same, and the name can be taken again.
    let (own2, t3) = owner(
        &node,
        "mortal",
        TableOpts {
            named: true,
            ..TableOpts::default()
        },
    )
    .await;
    assert_eq!(t3.id_term(), atom("mortal"));
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let r = p.monitor(own2);
            p.send(own2, atom("stop"));
            assert!(death_of(p, own2, r).await.is_atom("normal"));
            assert!(t3.is_deleted());
            assert!(p.node().tables().owned_by(own2).is_empty());
        })
    })
    .await;
    assert!(t.is_deleted());
}

#[tokio::test]
async fn s32_an_heir_inherits_the_table_and_is_told_with_ets_transfer() {
    let node = node();
    within(&node, |p: &mut Process| {
        Box::pin(async move {
            let heir = p.pid();
            let with_heir = TableOpts {
                heir: Some((heir, Term::str("heir data"))),
                ..TableOpts::default()
            };
            let (own, t) = owner(p.node(), "inherited", with_heir).await;
            t.insert(own, row("k", 1)).unwrap();
            assert!(
                insufficient_access(t.insert(heir, row("k", 2))),
                "not yet ours"
            );
            let r = p.monitor(own);
            p.exit(own, ExitReason::Kill);
            let msg = transfer(p).await;
            assert_eq!(
                msg,
                [
                    atom("ETS-TRANSFER"),
                    t.id_term(),
                    Term::Pid(own),
                    Term::str("heir data")
                ]
            );
            death_of(p, own, r).await;
            assert!(!t.is_deleted());
            assert_eq!(t.owner(), heir);
            assert_eq!(
                t.lookup(heir, &Term::str("k")).unwrap(),
                [row("k", 1)],
                "data kept"
            );
            t.insert(heir, row("k", 2)).unwrap();
            assert_eq!(p.node().tables().owned_by(heir).len(), 1);
        })
    })
    .await;
}

#[tokio::test]
async fn s32_an_inherited_table_dies_with_the_heir_and_a_dead_heir_inherits_nothing() {
    let node = node();
    let heir = idle(&node);
    let (own, t) = owner(
        &node,
        "twice",
        TableOpts {
            heir: Some((heir, atom("data"))),
            ..TableOpts::default()
        },
    )
    .await;
    let dead_heir = idle(&node);
    let (own2, t2) = owner(
        &node,
        "orphan",
        TableOpts {
            heir: Some((dead_heir, atom("data"))),
            ..TableOpts::default()
        },
    )
    .await;
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let r = p.monitor(own);
            p.exit(own, ExitReason::Kill);
            death_of(p, own, r).await;
            assert_eq!(t.owner(), heir);
            let r = p.monitor(heir);
            p.exit(heir, ExitReason::Kill);
            death_of(p, heir, r).await;
            assert!(
                t.is_deleted(),
                "the heir was the owner: nobody left to inherit"
            );
            // An heir that is already dead when the owner dies inherits nothing.
            let r = p.monitor(dead_heir);
            p.exit(dead_heir, ExitReason::Kill);
            death_of(p, dead_heir, r).await;
            let r = p.monitor(own2);
            p.exit(own2, ExitReason::Kill);
            death_of(p, own2, r).await;
            assert!(t2.is_deleted());
        })
    })
    .await;
}

#[tokio::test]
async fn s32_give_away_hands_the_table_over_and_only_the_owner_may() {
    let node = node();
    let (old, t) = owner(&node, "gift", TableOpts::default()).await;
    t.insert(old, row("k", 1)).unwrap();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let me = p.pid();
            let node = p.node().clone();
            let tables = node.tables();
            // The new owner passes what it receives on to this process.
            let new = p
                .spawn(move |c: &mut Process| {
                    Box::pin(async move {
                        loop {
                            if let Envelope::Message(m) = c.receive().await {
                                c.send(me, m);
                            }
                        }
                    })
                })
                .unwrap();
            // Only the owner gives, and only to another live process.
            assert!(tables.give_away(&node, me, &t, new, atom("x")).is_err());
            assert!(tables.give_away(&node, old, &t, old, atom("x")).is_err());
            let dead = p
                .spawn(|_c: &mut Process| Box::pin(async { ExitReason::Normal }))
                .unwrap();
            let r = p.monitor(dead);
            death_of(p, dead, r).await;
            assert!(tables.give_away(&node, old, &t, dead, atom("x")).is_err());
            assert_eq!(t.owner(), old);
            tables
                .give_away(&node, old, &t, new, Term::str("gift"))
                .unwrap();
            let msg = transfer(p).await;
            assert_eq!(
                msg,
                [
                    atom("ETS-TRANSFER"),
                    t.id_term(),
                    Term::Pid(old),
                    Term::str("gift")
                ]
            );
            assert_eq!(t.owner(), new);
            t.insert(new, row("k", 2)).unwrap();
            assert!(
                insufficient_access(t.insert(old, row("k", 3))),
                "the old owner lost it"
            );
            // Its life now follows the new owner: the old one's death leaves it alone.
            let r = p.monitor(old);
            p.exit(old, ExitReason::Kill);
            death_of(p, old, r).await;
            assert!(!t.is_deleted());
            assert_eq!(t.lookup(me, &Term::str("k")).unwrap(), [row("k", 2)]);
            let r = p.monitor(new);
            p.exit(new, ExitReason::Kill);
            death_of(p, new, r).await;
            assert!(t.is_deleted(), "gone with its new owner");
        })
    })
    .await;
}

// ----- reads never pass through the owner -----------------------------------------------------

/// A GenServer that owns a named protected table of 1000 `{i, i * i}` rows and blocks in
/// `handle_call(:block)` until released.
struct Holder {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

struct HolderArg {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl GenServer for Holder {
    type Arg = HolderArg;

    fn module() -> &'static str {
        "Holder"
    }

    async fn init(arg: HolderArg, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        let opts = TableOpts {
            named: true,
            ..TableOpts::default()
        };
        let table =
            p.node()
                .tables()
                .create(p.node(), p.pid(), Atom::from_static("squares"), opts)?;
        let rows = (0..1000)
            .map(|i| row(Term::Int(i), Term::Int(i * i)))
            .collect();
        table.insert(p.pid(), Term::List(rows))?;
        Ok(Init::Ok(Holder {
            entered: arg.entered,
            release: arg.release,
        }))
    }

    async fn handle_call(
        &mut self,
        _request: &Term,
        _from: &otplab::runtime::From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let released = self.release.notified();
        self.entered.notify_one();
        released.await;
        Ok(Reply::Reply(atom("done")))
    }

    fn state(&self) -> Term {
        Term::nil()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s32_many_readers_in_parallel_while_the_owner_is_blocked_in_a_long_call() {
    let node = node();
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let holder = gen_server::start::<Holder>(
        &node,
        HolderArg {
            entered: entered.clone(),
            release: release.clone(),
        },
        StartOpts::default(),
    )
    .await
    .unwrap();
    let n2 = node.clone();
    let blocked = tokio::spawn(async move {
        n2.call(Pid(0), &Dest::Pid(holder), atom("block"), None)
            .await
    });
    entered.notified().await;
    // The owner is inside its handler now, and stays there until released.
    const READERS: usize = 8;
    let barrier = Arc::new(Barrier::new(READERS));
    let mut done = vec![];
    for r in 0..READERS {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let barrier = barrier.clone();
        node.spawn(Default::default(), move |p: &mut Process| {
            Box::pin(async move {
                let table = p.node().tables().get(&atom("squares")).unwrap();
                barrier.wait().await;
                let mut sum = 0i64;
                for i in 0..20_000i64 {
                    let key = Term::Int((i * 7 + r as i64) % 1000);
                    let value = table.lookup_value(p.pid(), &key).unwrap().unwrap();
                    sum += value.as_int().unwrap();
                }
                let _ = tx.send(sum);
                ExitReason::Normal
            })
        })
        .unwrap();
        done.push(rx);
    }
    for (r, rx) in done.into_iter().enumerate() {
        let expected: i64 = (0..20_000i64)
            .map(|i| ((i * 7 + r as i64) % 1000).pow(2))
            .sum();
        let got = tokio::time::timeout(PATIENCE, rx)
            .await
            .expect("a reader waited on the blocked owner")
            .unwrap();
        assert_eq!(got, expected);
    }
    assert!(!blocked.is_finished(), "the owner was blocked all along");
    assert_eq!(
        node.info(holder).unwrap().message_queue_len,
        0,
        "no read went through the owner's mailbox"
    );
    release.notify_one();
    assert_eq!(blocked.await.unwrap(), Ok(atom("done")));
}
