//! Seed 000's bottleneck, on the paused clock: a `SlowCounter` read waits behind a running
//! increment; a `SlowButReponsiveCounter` read answers at once during the same increment.

mod common;

use std::time::Duration;

use common::{node, within};
use otplab::counter::{self, Kind, counter as client};
use otplab::runtime::{Process, Term, atom};
use tokio::time::Instant;

async fn read_during_increment(kind: Kind) -> (Duration, Term, Duration) {
    let node = node();
    within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = match kind {
                Kind::SlowCounter => counter::slow_counter::new(p).await.unwrap(),
                _ => counter::slow_but_responsive::new(p).await.unwrap(),
            };
            let started = Instant::now();
            let incrementer = p
                .spawn(move |w: &mut Process| {
                    Box::pin(async move {
                        client::increment(w, kind, pid, 42).await.unwrap();
                        otplab::runtime::ExitReason::Normal
                    })
                })
                .unwrap();
            let r = p.monitor(incrementer);
            // Let the increment reach the counter before reading.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let value = client::call(p, kind, pid, atom("value")).await.unwrap();
            let read_took = started.elapsed();
            let down = p.receive_match(move |e| matches!(e, otplab::runtime::Envelope::Message(Term::Tuple(t)) if t.get(1) == Some(&Term::Ref(r))), None).await;
            assert!(down.is_some());
            (read_took, value, started.elapsed())
        })
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn slow_counter_reads_wait_behind_the_increment() {
    let (read_took, value, inc_took) = read_during_increment(Kind::SlowCounter).await;
    assert_eq!(read_took, Duration::from_secs(10));
    assert_eq!(value, Term::Int(42), "the read ran after the increment");
    assert_eq!(inc_took, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn slow_but_responsive_reads_answer_at_once_during_the_increment() {
    let (read_took, value, inc_took) = read_during_increment(Kind::SlowButResponsive).await;
    assert_eq!(read_took, Duration::from_millis(1));
    assert_eq!(value, Term::Int(0), "the increment had not landed yet");
    assert_eq!(
        inc_took,
        Duration::from_secs(10),
        "the caller of inc_of still waits 10 s"
    );
}
