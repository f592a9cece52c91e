//! Standard input that is not a terminal is answered as it arrives, as iex answers it: a
//! program that drives otplab through a pipe reads each answer before it writes the next
//! line, and what processes print while the writer pauses arrives while it pauses. A line
//! never waits for the end of the input, nor for a process that holds an unread message.

mod pty;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use otplab::shell::session::{Options, SETTLE_LIMIT, Session};

/// Reads lines until one satisfies `ok`; fails after [`pty::PATIENCE`] with what came.
fn read_until(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, ok: impl Fn(&str) -> bool) {
    loop {
        match lines.recv_timeout(pty::PATIENCE) {
            Ok(line) => {
                let done = ok(&line);
                seen.push(line);
                if done {
                    return;
                }
            }
            Err(_) => panic!("no such line came; the output so far:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn each_piped_line_is_answered_before_the_next_is_written() {
    let dir = pty::scratch("piped");
    let mut child = Command::new(pty::binary())
        .args(["--bare", "--persist"])
        .arg(dir.join("persist"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = vec![];

    // Each answer is read while the pipe is still open: nothing waits for its end.
    writeln!(stdin, "1 + 1").unwrap();
    read_until(&lines, &mut seen, |l| l == "2");
    writeln!(stdin, "x = 20").unwrap();
    read_until(&lines, &mut seen, |l| l == "20");
    writeln!(stdin, "x * 2 +").unwrap();
    writeln!(stdin, "  2").unwrap();
    read_until(&lines, &mut seen, |l| l == "42");

    // A process prints while the writer is silent: the line arrives then, unasked.
    writeln!(
        stdin,
        "spawn(fn -> :timer.sleep(50); IO.puts(\"late\") end)"
    )
    .unwrap();
    read_until(&lines, &mut seen, |l| l == "late");

    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(seen.iter().any(|l| l == "iex(1)> 1 + 1"), "{seen:?}");
    assert!(seen.iter().any(|l| l == "...(3)>   2"), "{seen:?}");
    pty::remove(&dir);
}

/// A process waiting in `receive` with a message no clause takes is idle, not runnable:
/// the line after it (here an error, which waits for the consequences of a crash) is
/// answered as soon as nothing runs, far inside the settle bound. The clock is tokio's
/// paused clock, so what is measured is the time the shell asked for, not the machine's.
#[tokio::test(start_paused = true)]
async fn an_unread_message_does_not_hold_up_the_next_line() {
    let mut session = Session::start(Options {
        bare: true,
        ..Options::default()
    })
    .await;
    session
        .eval("p = spawn(fn -> receive do :never -> :ok end end)")
        .await;
    session.eval("send(p, :hello)").await;
    let queued = session.eval("Process.info(p, :message_queue_len)").await;
    assert_eq!(queued, ["{:message_queue_len, 1}"]);

    let start = tokio::time::Instant::now();
    let out = session.eval("1 / 0").await;
    let mut settled = session.settle().await;
    let waited = start.elapsed();
    settled.extend(out);
    assert!(
        settled.iter().any(|l| l.contains("ArithmeticError")),
        "{settled:?}"
    );
    assert!(
        waited < SETTLE_LIMIT / 4,
        "the error and the settle after it waited {waited:?} of the shell's clock"
    );
}
