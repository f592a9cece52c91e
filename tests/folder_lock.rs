//! One owner per persist folder (issue 19, rule P5 of tests/README.md), through the real
//! binary: a second otplab on a folder in use refuses in one line naming the holder's pid, the
//! lock is free as soon as the holder is SIGKILLed, and a `--persist` that cannot be a
//! database folder is one error before any prompt.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-flock-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bin() -> String {
    std::env::var("OTPLAB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_otplab").to_string())
}

/// A shell on `dir` that has answered its first line, so it holds the folder; its stdin is
/// kept open so that it keeps running.
fn holder(dir: &Path) -> (Child, ChildStdin) {
    let mut child = Command::new(bin())
        .arg("--persist")
        .arg(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "IO.puts(\"ready\")").unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    for line in out.lines() {
        if line.unwrap().trim_end() == "ready" {
            return (child, stdin);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the first shell ended before answering");
}

/// A second shell on `path`, fed one line.
fn second(args: &[&str], path: &Path) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .arg("--persist")
        .arg(path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(b"1 + 1\n").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_second_otplab_on_the_folder_refuses_naming_the_holder_and_sigkill_frees_it_at_once() {
    let dir = temp("two");
    let db = dir.join("persist");
    let (mut first, stdin) = holder(&db);
    let refused = second(&[], &db);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the second shell must not run");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&format!("in use by another otplab (pid {})", first.id()))
            && err.contains("--persist DIR")
            && err.contains("otplab observe"),
        "{err}"
    );
    assert!(
        refused.stdout.is_empty(),
        "no prompt, nothing evaluated: {:?}",
        String::from_utf8_lossy(&refused.stdout)
    );
    // A replay on the same folder is refused too; on its own temporary folder it runs.
    let script = dir.join("s.iex");
    std::fs::write(&script, "iex(1)> 1 + 1\n2\n").unwrap();
    let replay = second(&["run", script.to_str().unwrap()], &db);
    assert!(!replay.status.success());
    let own = Command::new(bin())
        .args(["check", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(own.status.success(), "{own:?}");

    first.kill().unwrap();
    first.wait().unwrap();
    drop(stdin);
    // No retry and no wait: the kernel released the lock with the process.
    let after = second(&[], &db);
    let out = String::from_utf8_lossy(&after.stdout);
    assert!(after.status.success(), "{after:?}");
    assert!(out.lines().any(|l| l.trim_end().ends_with('2')), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_persist_that_cannot_be_a_database_folder_is_one_error_before_the_prompt() {
    let dir = temp("bad");
    let file = dir.join("plain");
    std::fs::write(&file, b"x").unwrap();
    for (path, says) in [
        (file.clone(), "exists and is not a folder"),
        (file.join("sub"), "cannot create the folder"),
    ] {
        let out = second(&[], &path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{path:?}");
        assert!(out.stdout.is_empty(), "{path:?}: no prompt");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{path:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
