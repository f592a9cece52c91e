//! Scale (rules R13, S10 and S33 of tests/README.md): a hundred thousand processes under one
//! dynamic supervisor all die when it is stopped, and the node's process and task counts come
//! back to where they were. Runs on the multi-thread runtime, as the shell does.

mod common;

use std::time::Duration;

use common::*;
use otplab::runtime::supervisor::{self, ChildSpec, Flags, Spec, Strategy};
use otplab::runtime::{Dest, ExitReason, Process, Term, atom};

const CHILDREN: usize = 100_000;

/// A child that does nothing but wait for messages, linked to its supervisor.
fn idle_child() -> ChildSpec {
    ChildSpec::worker(atom("idle"), "Idle.start_link()", |p: &mut Process| {
        Box::pin(async move {
            p.spawn_link(|c: &mut Process| {
                Box::pin(async move {
                    loop {
                        c.receive().await;
                    }
                })
            })
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_a_hundred_thousand_children_die_with_their_supervisor_and_counts_return_to_baseline() {
    let node = node();
    let baseline = (node.count(), node.tasks());
    let started = std::time::Instant::now();
    let (peak, stop_took) = within(&node, |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let spec = Spec::dynamic("DynamicSupervisor", Flags::new(Strategy::OneForOne));
            let sup = supervisor::start_link(p, spec).await.unwrap();
            let child = idle_child();
            for _ in 0..CHILDREN {
                supervisor::start_child(p.node(), p.pid(), &Dest::Pid(sup), child.clone())
                    .await
                    .expect("start_child failed")
                    .expect("start_child ignored");
            }
            let counts = supervisor::count_children(p.node(), p.pid(), &Dest::Pid(sup))
                .await
                .unwrap();
            assert_eq!(counts.get("active"), Some(&Term::Int(CHILDREN as i64)));
            let peak = p.node().count();
            let t0 = std::time::Instant::now();
            p.exit(sup, ExitReason::Shutdown);
            let exit = p
                .receive_match(
                    move |e| e.as_exit().is_some_and(|(from, _)| from == sup),
                    Some(Duration::from_secs(120)),
                )
                .await
                .expect("the supervisor did not stop");
            assert!(exit.as_exit().unwrap().1.is_atom("shutdown"));
            (peak, t0.elapsed())
        })
    })
    .await;
    // The test process, the supervisor and its children.
    assert_eq!(peak, baseline.0 + 2 + CHILDREN);
    settle_count(&node, baseline.0).await;
    assert_eq!((node.count(), node.tasks()), baseline);
    assert!(node.pids().is_empty());
    eprintln!(
        "{CHILDREN} children: whole test {:?}, supervisor stop {stop_took:?}",
        started.elapsed()
    );
    // About 1 s in a debug build on 2 cores; a per-child scan of the supervisor's mailbox
    // made it 24 s.
    assert!(
        stop_took < Duration::from_secs(10),
        "stopping {CHILDREN} children took {stop_took:?}"
    );
}

/// Pids this far apart share a slot of the node's liveness table (`runtime::liveness`) when
/// the process limit is small: the table's smallest size.
const SLOT_TABLE: u64 = 65_536;

#[tokio::test]
async fn s33_two_live_pids_a_liveness_table_apart_are_each_alive_until_each_dies() {
    let node = otplab::runtime::Node::new(otplab::runtime::NodeConfig {
        max_processes: 1_000,
        ..Default::default()
    });
    let a = idle(&node);
    // Short-lived processes up to the pid just before `a`'s next slot-mate; a process limit
    // of 1,000 makes them die as they go.
    let mut last = a;
    while last.number() + 1 < a.number() + SLOT_TABLE {
        last = node
            .spawn(Default::default(), |_p: &mut Process| {
                Box::pin(async { ExitReason::Normal })
            })
            .unwrap();
        if last.number().is_multiple_of(500) {
            settle_count(&node, 1).await;
        }
    }
    let b = idle(&node);
    assert_eq!(b.number(), a.number() + SLOT_TABLE);
    assert!(node.alive(a) && node.alive(b));
    // Subscribed after the short-lived ones, whose exits would overflow the stream.
    let mut events = node.events();
    node.exit(a, a, ExitReason::Kill);
    exited(&mut events, a).await;
    assert!(!node.alive(a), "a killed process is dead");
    assert!(node.alive(b), "its slot-mate lives on");
    // A third pid of the same slot, after both others.
    let c = loop {
        let p = idle(&node);
        if p.number() == b.number() + SLOT_TABLE {
            break p;
        }
        node.exit(p, p, ExitReason::Kill);
        exited(&mut events, p).await;
    };
    assert!(node.alive(b) && node.alive(c));
    node.exit(b, b, ExitReason::Kill);
    exited(&mut events, b).await;
    assert!(!node.alive(b) && node.alive(c));
    assert!(!node.alive(a));
}
