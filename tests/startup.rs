//! What start-up to the prompt rests on (issue 18): the event bus's slots are small, the
//! shell's settle needs no timer round once the node is quiet, and it can stop that early
//! because `Node::quiescent` sees an exit signal on its way, not only once it has arrived.

mod common;

use common::*;
use otplab::runtime::{Event, ExitReason, Pid};
use otplab::shell::session::{Options, Session};

/// The bus keeps 16,384 events and touches them all at start, so an event's size is the
/// bus's resident size: 144 bytes an event was 2.3 MB.
#[test]
fn an_event_is_at_most_four_words() {
    assert!(
        std::mem::size_of::<Event>() <= 32,
        "an Event is {} bytes",
        std::mem::size_of::<Event>()
    );
}

/// An idle process killed from outside looks idle (waiting in `receive`, nothing queued)
/// until its task runs the exit path; `quiescent` must count it busy meanwhile, the
/// excepted process (the shell) included, or a settle could end before the death and what
/// it causes are published.
#[tokio::test]
async fn a_process_killed_but_not_yet_torn_down_is_not_quiet() {
    let node = node();
    let mut events = node.events();
    let pid = idle(&node);
    while !node.quiescent(Pid(0)) {
        tokio::task::yield_now().await;
    }
    // The test's runtime has one thread, so nothing runs the aborted task until this test
    // yields: the kill is on its way for every look below.
    assert!(node.exit(Pid(0), pid, ExitReason::Kill));
    assert!(!node.quiescent(Pid(0)), "a killed process is quiet");
    assert!(
        !node.quiescent(pid),
        "the excepted process's own death is not seen"
    );
    assert_eq!(exited(&mut events, pid).await, ExitReason::Killed);
    settle_count(&node, 0).await;
    assert!(node.quiescent(Pid(0)), "quiet again once it is torn down");
}

async fn bare_session() -> Session {
    let dir = std::env::temp_dir().join(format!("otplab-startup-{}", std::process::id()));
    let mut config = otplab::todo::Config::with_dir(&dir);
    config.fsync = false;
    Session::start(Options {
        bare: true,
        config,
        ..Options::default()
    })
    .await
}

/// The settle after a line looks at the node a yield apart, not a timer round apart: on the
/// paused clock, a settle of a quiet node takes no time at all. With 2 ms looks it took
/// 4 ms, and the runtime's 1 ms timer made each about 3 ms of wall time.
#[tokio::test(start_paused = true)]
async fn a_settle_of_a_quiet_node_waits_for_no_timer() {
    let mut session = bare_session().await;
    assert_eq!(session.eval("1 + 1").await, ["2"]);
    let before = tokio::time::Instant::now();
    assert!(session.settle().await.is_empty());
    assert_eq!(tokio::time::Instant::now(), before);
}
