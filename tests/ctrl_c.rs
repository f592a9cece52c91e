//! Ctrl-C in the terminal REPL during a blocking call: `SlowCounter.inc_of` keeps its server
//! busy for 10 s and its caller waits up to 60 s. SIGINT must cancel that evaluation and give
//! the prompt back within 100 ms, with the shell process, its bindings and the whole system
//! still running.
//!
//! The REPL handles Ctrl-C only on a terminal (piped input is replayed as a script), so the
//! binary runs in a pseudo-terminal (rexpect). The signal is sent with `kill -INT` to the
//! binary's pid, as a terminal does on Ctrl-C.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_command};

fn start(dir: &Path) -> (PtySession, String) {
    let mut cmd = Command::new("sh");
    // The shell prints its pid, then becomes the binary: same pid.
    cmd.arg("-c")
        .arg("echo PID=$$; exec \"$0\" --persist \"$1\"")
        // OTPLAB_BIN runs the test against another build, to check it fails on old code.
        .arg(std::env::var("OTPLAB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_otplab").into()))
        .arg(dir.join("persist"))
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", dir)
        .env("TERM", "dumb");
    let mut p = spawn_command(cmd, Some(30_000)).expect("the binary starts in a pty");
    let (_, m) = p.exp_regex("PID=[0-9]+").unwrap();
    let pid = m.trim_start_matches("PID=").to_string();
    p.exp_string("iex(1)> ").unwrap();
    (p, pid)
}

/// Reads what the binary prints until `needle` appears, polling every millisecond, so the
/// time it took is measured to the millisecond (rexpect's own waits poll every 100 ms).
fn read_until(p: &mut PtySession, needle: &str, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut got = String::new();
    while !got.contains(needle) {
        match p.try_read() {
            Some(c) => got.push(c),
            None => {
                assert!(
                    start.elapsed() < limit,
                    "no {needle:?} within {limit:?}; got {got:?}"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    (got, start.elapsed())
}

#[test]
fn ctrl_c_cancels_a_blocking_call_and_the_system_keeps_running() {
    let dir = std::env::temp_dir().join(format!("otplab-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mut p, pid) = start(&dir);
    p.send_line("sc = SlowCounter.new").unwrap();
    p.exp_string("iex(2)> ").unwrap();
    p.send_line("me = self()").unwrap();
    p.exp_string("iex(3)> ").unwrap();
    // The store runs first, so once its file exists the blocking call is being evaluated.
    p.send_line("Todo.Database.store(\"started\", 1); SlowCounter.inc_of(sc, 1)")
        .unwrap();
    let marker = dir
        .join("persist")
        .join(otplab::todo::persist::file_name("started").unwrap());
    let waiting = Instant::now();
    while !marker.exists() {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "the evaluation did not start"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let sent = Instant::now();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let (printed, _) = read_until(&mut p, "iex(3)> ", Duration::from_secs(9));
    let latency = sent.elapsed();
    println!(
        "Ctrl-C: the prompt was back {:.1} ms after SIGINT",
        latency.as_secs_f64() * 1e3
    );
    assert!(
        printed.contains("Interrupted"),
        "the evaluation is reported as cancelled: {printed:?}"
    );
    assert!(
        latency < Duration::from_millis(100),
        "the prompt is back within 100 ms, not {latency:?}"
    );
    // The shell process, its bindings and the system are still there.
    p.send_line("self() == me").unwrap();
    let (out, _) = read_until(&mut p, "iex(4)> ", Duration::from_secs(5));
    assert!(out.contains("true"), "the same shell process: {out:?}");
    p.send_line("Process.alive?(sc)").unwrap();
    let (out, _) = read_until(&mut p, "iex(5)> ", Duration::from_secs(5));
    assert!(out.contains("true"), "the counter is alive: {out:?}");
    p.send_line("Todo.Cache.server_process(\"Bob's list\")")
        .unwrap();
    let (out, _) = read_until(&mut p, "iex(6)> ", Duration::from_secs(5));
    assert!(out.contains("#PID<"), "the to-do system answers: {out:?}");
    // A second Ctrl-C at an idle prompt does not end the program either.
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    p.send_line("1 + 1").unwrap();
    let (out, _) = read_until(&mut p, "iex(7)> ", Duration::from_secs(5));
    assert!(out.contains('2'), "{out:?}");
    p.send_line("exit").unwrap();
    p.exp_eof().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
