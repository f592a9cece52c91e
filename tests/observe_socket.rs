//! The observer's socket against hostile viewers: garbage bytes, a frame declaring 4 GiB,
//! and a viewer that connects and never reads. Each gets a one-line refusal or is
//! disconnected, what the instance buffers for it stays bounded, and the shell in the
//! terminal keeps answering throughout. Also: the socket is the user's alone, and
//! `otplab observe` with nothing to attach to says so in one line.

mod pty;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use otplab::observer::Window;
use otplab::observer::socket::{
    FrameError, MAX_TO_VIEWER, MAX_WINDOW_ROWS, ToInstance, ToViewer, encode, read_frame,
};
use pty::Term;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

fn socket_of(t: &Term) -> PathBuf {
    t.dir.join("otplab").join(format!("{}.sock", t.pid()))
}

/// The shell answers a line at once, whatever the viewers do.
fn answers(t: &mut Term, n: u32) {
    t.line(&format!("{n} * 1000"));
    t.wait_for("the shell's answer", |s| {
        s.contains(&format!("{}", n * 1000))
            && s.last_row() == Some(format!("iex({})>", n + 1).as_str())
    });
}

/// Reads frames until the instance refuses or closes; the refusal's words, if any.
async fn refusal(stream: &mut UnixStream) -> Option<String> {
    let deadline = Instant::now() + pty::PATIENCE;
    while Instant::now() < deadline {
        match read_frame::<ToViewer, MAX_TO_VIEWER>(stream).await {
            Ok(ToViewer::Snapshot(_)) => continue,
            Ok(ToViewer::Refused(why)) => return Some(why),
            Err(FrameError::Closed) => return None,
            Err(e) => panic!("a broken frame from the instance: {e}"),
        }
    }
    panic!("the instance neither refused nor closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_a_4_gib_frame_are_refused_in_one_line_and_the_shell_keeps_answering() {
    let mut t = Term::start("observe-socket", 80, 24, &[], false);
    let path = socket_of(&t);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is the user's alone");
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);

    let mut garbage = UnixStream::connect(&path).await.unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: otplab\r\n\r\n")
        .await
        .unwrap();
    let why = refusal(&mut garbage).await.expect("a refusal");
    assert!(why.contains("over the limit of 65536"), "{why}");
    answers(&mut t, 1);

    let mut huge = UnixStream::connect(&path).await.unwrap();
    huge.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    let why = refusal(&mut huge).await.expect("a refusal");
    assert_eq!(
        why,
        "a frame of 4294967295 bytes is over the limit of 65536"
    );
    answers(&mut t, 2);

    let mut undecodable = UnixStream::connect(&path).await.unwrap();
    undecodable
        .write_all(&[0, 0, 0, 3, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    let why = refusal(&mut undecodable).await.expect("a refusal");
    assert!(why.starts_with("an undecodable frame"), "{why}");
    answers(&mut t, 3);
    t.exit();
    assert!(!path.exists(), "the instance removes its socket at exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_never_reads_is_dropped_with_bounded_buffering_while_the_shell_answers() {
    let mut t = Term::start("observe-hang", 80, 24, &[], false);
    let path = socket_of(&t);
    let mut hung = UnixStream::connect(&path).await.unwrap();
    // It asks for more rows than any terminal has; the instance sends at most its limit.
    let window = Window {
        rows: usize::MAX,
        ..Window::default()
    };
    hung.write_all(&encode(&ToInstance::Window(window)))
        .await
        .unwrap();
    // Twenty thousand processes make each snapshot cost the instance some work.
    t.line("Enum.each(1..20_000, fn _ -> spawn(fn -> receive do :never -> :ok end end) end)");
    t.wait_prompt(2);
    // The shell answers line after line while the instance gives up on the viewer (its
    // queue full for LAG_LIMIT samples, or a write over WRITE_LIMIT).
    let start = Instant::now();
    let mut n = 2;
    while start.elapsed() < Duration::from_secs(6) {
        answers(&mut t, n);
        n += 1;
    }
    // What was buffered for it is bounded, and then the connection ends.
    let mut total = 0usize;
    let deadline = Instant::now() + pty::PATIENCE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the hung viewer was never dropped ({total} read)"
        );
        match read_frame::<ToViewer, MAX_TO_VIEWER>(&mut hung).await {
            Ok(ToViewer::Snapshot(s)) => {
                assert!(s.procs.rows.len() <= MAX_WINDOW_ROWS);
                total += 1;
            }
            Ok(ToViewer::Refused(_)) | Err(FrameError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(
            total < 40,
            "more snapshots than a bounded queue holds: {total}"
        );
    }
    t.exit();
}

#[test]
fn observe_with_nothing_running_says_so_in_one_line() {
    let dir = pty::scratch("observe-none");
    let out = std::process::Command::new(pty::binary())
        .arg("observe")
        .env("XDG_RUNTIME_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("otplab: no running otplab to observe"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let out = std::process::Command::new(pty::binary())
        .args(["observe", "--pid", "1"])
        .env("XDG_RUNTIME_DIR", &dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end(), "otplab: no otplab with pid 1 is listening");
    pty::remove(&dir);
}
