//! `chaos` (issue 19): the chaos monkey run through the shell during a loadtest. While it
//! kills processes of the to-do tree the shell keeps answering (each answer is checked, not
//! timed: speed belongs in benchmarks); at the end no acknowledged entry of its witness is
//! lost; and once the tree is stopped, the tokio tasks are those of before and the memory does
//! not grow from one round to the next.
//!
//! Sizes: CI runs two rounds of `chaos 5 --for 2s`; `OTPLAB_FULL=1` runs one round of ten
//! minutes, with loadtests back to back while it lasts.

use std::time::{Duration, Instant};

use otplab::shell::report::Level;
use otplab::shell::session::{Options, Session};
use otplab::todo::Config;

mod common;

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

fn full() -> bool {
    std::env::var_os("OTPLAB_FULL").is_some_and(|v| v != "0")
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// One round: start the tree, warm it with a loadtest, run the monkey while loadtests and
/// `1 + 1` keep the shell busy, read its report, stop the tree. Returns the report's lines.
async fn round(s: &mut Session, seconds: u64) -> Vec<String> {
    let started = s.eval("start").await;
    assert!(
        started.last().is_some_and(|l| l.starts_with("{:ok, #PID<")),
        "{started:?}"
    );
    s.eval("loadtest 100").await;
    let said = s.eval(&format!("chaos 5 --for {seconds}s")).await;
    assert_eq!(said.last().map(String::as_str), Some(":ok"), "{said:?}");
    let mut report = vec![];
    let deadline = Instant::now() + Duration::from_secs(seconds + 60);
    while !report
        .iter()
        .any(|l: &String| l.starts_with("chaos: acknowledged"))
    {
        assert!(Instant::now() < deadline, "no report: {report:?}");
        let mut out = s.eval("loadtest 50").await;
        let answer = s.eval("1 + 1").await;
        assert_eq!(
            answer.last().map(String::as_str),
            Some("2"),
            "the shell answers during chaos: {answer:?}"
        );
        out.extend(answer);
        out.extend(s.settle().await);
        report.extend(out.into_iter().filter(|l| l.starts_with("chaos: ")));
    }
    s.eval("stop").await;
    report
}

fn lost_of(report: &[String]) -> (u64, u64) {
    let line = report
        .iter()
        .find_map(|l| l.strip_prefix("chaos: acknowledged entries lost: "))
        .expect("the report counts lost entries");
    let (lost, of) = line.split_once(" of ").unwrap();
    (lost.parse().unwrap(), of.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_during_a_loadtest_loses_no_acknowledged_entry_and_leaks_nothing() {
    let dir = std::env::temp_dir().join(format!("otplab-chaos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::with_dir(&dir);
    config.fsync = false;
    let mut s = Session::start(Options {
        bare: true,
        config,
        level: Level::Short,
        ..Options::default()
    })
    .await;
    let tasks = alive_tasks();
    let (rounds, seconds) = if full() { (1, 600) } else { (2, 2) };
    let mut after_round = vec![];
    for _ in 0..rounds {
        let report = round(&mut s, seconds).await;
        println!("{}", report.join("\n"));
        let (lost, acknowledged) = lost_of(&report);
        assert!(acknowledged > 0, "the witness was acknowledged: {report:?}");
        assert_eq!(lost, 0, "{report:?}");
        assert!(
            report[0].starts_with("chaos: ") && report[0].contains(" kills in "),
            "{report:?}"
        );
        // The tree is stopped: every task it and the monkey ran ends. Polled with a deadline,
        // since a killed process's task ends after its exit signal is delivered.
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive_tasks() != tasks {
            assert!(
                Instant::now() < deadline,
                "tasks {} after the round, {tasks} before",
                alive_tasks()
            );
            tokio::task::yield_now().await;
        }
        after_round.push(common::alloc::live_bytes());
    }
    if let [first, second] = after_round[..] {
        assert!(
            second - first < 1 << 20,
            "memory grew by {} bytes from one round to the next",
            second - first
        );
    }
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
