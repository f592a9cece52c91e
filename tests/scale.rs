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
