//! What start-up to the prompt rests on (issue 18): the event bus's slots are small and
//! not touched until written, the shell's settle needs no timer round once the node is quiet, and it can stop that early
//! because `Node::quiescent` sees an exit signal on its way, not only once it has arrived.

mod common;

use common::*;
use otplab::runtime::events::{Bus, TryRecvError};
use otplab::runtime::{Event, ExitReason, Pid};
use otplab::shell::session::{Options, Session};

/// The bus keeps up to 16,384 events, so an event's size is the bus's resident size once it
/// has gone round: 144 bytes an event was 2.3 MB.
#[test]
fn an_event_is_at_most_four_words() {
    assert!(
        std::mem::size_of::<Event>() <= 32,
        "an Event is {} bytes",
        std::mem::size_of::<Event>()
    );
}

fn resident_anonymous_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn output(n: u64) -> Event {
    Event::Output {
        pid: Pid(n),
        text: "x".into(),
    }
}

/// A bus with a subscriber and a few events holds a chunk of slots, not the whole ring: with
/// tokio's channel each bus wrote its 16,384 slots when made, 0.9 MB resident apiece (14 MB
/// for these 16; other tests running beside this one allocate far less than the bound).
#[test]
fn a_new_bus_is_not_resident() {
    let before = resident_anonymous_kb();
    let buses: Vec<_> = (0..16)
        .map(|_| {
            let bus = Bus::new();
            let events = bus.subscribe();
            for n in 0..10 {
                bus.publish(output(n));
            }
            (bus, events)
        })
        .collect();
    let grown = resident_anonymous_kb().saturating_sub(before);
    assert!(grown < 4096, "16 buses made {grown} kB resident");
    drop(buses);
}

/// A subscriber that falls behind by more than the ring loses the oldest events and is told
/// how many, at the same point as with tokio's channel; then it reads on from the oldest left.
#[test]
fn a_slow_subscriber_lags_at_the_same_point() {
    let bus = Bus::new();
    let mut slow = bus.subscribe();
    let mut fast = bus.subscribe();
    for n in 0..16_384 + 5 {
        bus.publish(output(n));
        assert!(matches!(fast.try_recv(), Ok(Event::Output { pid, .. }) if pid == Pid(n)));
    }
    assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(5))));
    assert!(matches!(
        slow.try_recv(),
        Ok(Event::Output { pid: Pid(5), .. })
    ));
    assert!(matches!(fast.try_recv(), Err(TryRecvError::Empty)));
    drop(bus);
    assert!(matches!(fast.try_recv(), Err(TryRecvError::Closed)));
    assert!(matches!(
        slow.try_recv(),
        Ok(Event::Output { pid: Pid(6), .. })
    ));
}

/// An event is dropped once every subscriber has read it, not kept until the ring comes
/// round: a crash report's terms are freed as with tokio's channel.
#[test]
fn an_event_read_by_all_is_dropped() {
    let bus = Bus::new();
    let mut a = bus.subscribe();
    let b = bus.subscribe();
    let text: std::sync::Arc<str> = "held".into();
    bus.publish(Event::Output {
        pid: Pid(1),
        text: text.clone(),
    });
    assert!(a.try_recv().is_ok());
    assert_eq!(std::sync::Arc::strong_count(&text), 2, "b has not read it");
    drop(b);
    assert_eq!(
        std::sync::Arc::strong_count(&text),
        1,
        "read by all, still held"
    );
}

/// A waiting subscriber is woken by a publish.
#[tokio::test]
async fn a_waiting_subscriber_is_woken() {
    let bus = std::sync::Arc::new(Bus::new());
    let mut events = bus.subscribe();
    let publisher = bus.clone();
    tokio::spawn(async move { publisher.publish(output(7)) });
    assert!(matches!(
        events.recv().await,
        Ok(Event::Output { pid: Pid(7), .. })
    ));
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
