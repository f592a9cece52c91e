//! Workshops through the real binary: a session recorded with `--record` (piped, and in a
//! terminal with colours) passes `check SCRIPT --against RECORDING` when it follows the
//! script and names the step where it does not; a SIGKILL loses no printed line of the
//! recording; hostile recordings each get one line while the others are still checked; and
//! `run --until` / `--interactive` hand the replayed session (its bindings and processes)
//! to the presenter.

mod pty;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pty::Term;

/// How long a test waits for an answer of the binary before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A session with a crash and its restarts: a to-do server killed and restarted, then the
/// registry killed, which restarts the whole system.
const SESSION: &str = "bobs_list = server_process \"Bob's list\"\n\
Process.exit(bobs_list, :kill)\n\
kill registry\n\
Todo.Cache.server_process(\"Bob's list\")\n\
x = 1 + 2\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-workshop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn otplab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otplab"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `otplab ARGS` with `input` piped in, to the end.
fn piped(args: &[&str], input: &str) -> Output {
    let mut child = otplab()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A session recorded from piped input, on its own persist folder.
fn record(dir: &Path, name: &str, input: &str) -> PathBuf {
    let rec = dir.join(name);
    let persist = dir.join(format!("{name}.persist"));
    let out = piped(
        &[
            "--record",
            rec.to_str().unwrap(),
            "--persist",
            persist.to_str().unwrap(),
        ],
        input,
    );
    assert!(out.status.success(), "{out:?}");
    rec
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_recording_passes_check_against_the_script_it_follows_and_a_changed_one_is_named() {
    let dir = scratch("against");
    // The instructor's session is the script; a student's follows it on another node.
    let script = record(&dir, "script.iex", SESSION);
    let recorded = std::fs::read_to_string(&script).unwrap();
    for line in [
        "iex(1)> bobs_list = server_process \"Bob's list\"",
        "iex(2)> Process.exit(bobs_list, :kill)",
        "[restart] Todo.ServerSupervisor #PID<0.",
        "Starting process registry",
        "iex(5)> x = 1 + 2",
    ] {
        assert!(recorded.contains(line), "{line:?} is not in:\n{recorded}");
    }
    let student = record(&dir, "alice.iex", SESSION);
    let out = otplab()
        .arg("check")
        .arg(&script)
        .arg("--against")
        .arg(&student)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out),
        format!("ok   {}\n1 passed, 0 failed\n", student.display())
    );
    // The script replays too, with its restarts in whatever order they come.
    let replayed = otplab().arg("check").arg(&script).output().unwrap();
    assert!(replayed.status.success(), "{}", text(&replayed));

    let changed = dir.join("bob.iex");
    let edited = std::fs::read_to_string(&student)
        .unwrap()
        .replace("iex(5)> x = 1 + 2\n3\n", "iex(5)> x = 1 + 2\n4\n");
    std::fs::write(&changed, edited).unwrap();
    let out = otplab()
        .arg("check")
        .arg(&script)
        .arg("--against")
        .arg(&student)
        .arg(&changed)
        .output()
        .unwrap();
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains(&format!(
            "FAIL {}: step 5 `x = 1 + 2`: expected `3`, got `4`\n    - 3\n    + 4\n",
            changed.display()
        )),
        "{report}"
    );
    assert!(report.ends_with("1 passed, 1 failed\n"), "{report}");

    let json = otplab()
        .arg("check")
        .arg(&script)
        .arg("--json")
        .arg("--against")
        .arg(&changed)
        .output()
        .unwrap();
    assert_eq!(
        text(&json),
        format!(
            "{{\"file\":\"{}\",\"ok\":false,\"step\":5,\"input\":\"x = 1 + 2\",\"expected\":[\"3\"],\"actual\":[\"4\"],\"error\":null}}\n",
            changed.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sigkill_mid_session_loses_no_line_printed_before_it() {
    let dir = scratch("kill9");
    let rec = dir.join("rec.iex");
    let mut child = otplab()
        .arg("--record")
        .arg(&rec)
        .arg("--persist")
        .arg(dir.join("persist"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, printed) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<String> = vec![];
    let wait_for = |seen: &mut Vec<String>, wanted: &str| {
        let start = Instant::now();
        while !seen.iter().any(|l| l == wanted) {
            let left = PATIENCE.saturating_sub(start.elapsed());
            match printed.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("never printed {wanted:?}; printed:\n{}", seen.join("\n")),
            }
        }
    };
    // Each input goes in once the answer of the one before is out: the kill comes in the
    // middle of a session that is still reading.
    for (input, answer) in [
        (
            "bobs_list = server_process \"Bob's list\"",
            "Starting to-do server for Bob's list",
        ),
        ("kill bobs_list", "true"),
        ("x = 40 + 2", "42"),
    ] {
        writeln!(stdin, "{input}").unwrap();
        wait_for(&mut seen, answer);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded: Vec<String> = std::fs::read_to_string(&rec)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        recorded.len() >= seen.len() && recorded[..seen.len()] == seen[..],
        "the recording lost lines.\nprinted:\n{}\nrecorded:\n{}",
        seen.join("\n"),
        recorded.join("\n")
    );
    assert!(recorded.contains(&"iex(3)> x = 40 + 2".to_string()));
    drop(stdin);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_recordings_get_one_line_each_and_the_others_are_still_checked() {
    let dir = scratch("hostile");
    let script = dir.join("script.iex");
    std::fs::write(&script, "iex(1)> x = 1 + 2\n3\n").unwrap();
    let good = dir.join("good.iex");
    std::fs::write(&good, "iex(1)> x = 1 + 2\n3\n").unwrap();
    let truncated = dir.join("truncated.iex");
    std::fs::write(&truncated, "iex(1)> x = 1 + 2\n3\niex(2)> y =").unwrap();
    let binary = dir.join("binary.iex");
    std::fs::write(&binary, b"iex(1)> x\n\0\0\0\x7fELF\n").unwrap();
    let latin1 = dir.join("latin1.iex");
    std::fs::write(&latin1, b"iex(1)> \"caf\xe9\"\n").unwrap();
    // Sparse: 8 GiB on paper and nothing on disk. Reading it whole would exhaust memory,
    // so the test finishing at all shows it was refused by its size.
    let huge = dir.join("huge.iex");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let also_good = dir.join("also_good.iex");
    std::fs::write(&also_good, "iex(3)> x = 1 + 2\n3\n").unwrap();
    // A device says nothing by its size: the read itself stops at the limit.
    let endless = Path::new("/dev/zero");
    let out = otplab()
        .arg("check")
        .arg(&script)
        .arg("--against")
        .args([&good, &truncated, &binary, &latin1, &huge])
        .arg(endless)
        .arg(&also_good)
        .output()
        .unwrap();
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    let expected = [
        format!("ok   {}", good.display()),
        format!(
            "FAIL {}: cannot be checked: truncated: the last line, at byte 20, has no line break (the file was cut off)",
            truncated.display()
        ),
        format!(
            "FAIL {}: cannot be checked: not a transcript: a NUL byte at byte 10 (a binary file)",
            binary.display()
        ),
        format!(
            "FAIL {}: cannot be checked: not a transcript: invalid UTF-8 at byte 12",
            latin1.display()
        ),
        format!(
            "FAIL {}: cannot be checked: too large (8589934592 bytes; a transcript is limited to 64 MiB)",
            huge.display()
        ),
        "FAIL /dev/zero: cannot be checked: too large (67108865 bytes; a transcript is limited to 64 MiB)".to_string(),
        format!("ok   {}", also_good.display()),
        "2 passed, 5 failed".to_string(),
    ];
    assert_eq!(report.lines().collect::<Vec<_>>(), expected, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script whose steps bind values and start a to-do server, for the hand-over tests.
fn presenter_script(dir: &Path) -> PathBuf {
    let path = dir.join("talk.iex");
    std::fs::write(
        &path,
        "# Bind a few values, then take over.\n\
iex(1)> a = 20\n20\n\
iex(2)> b = a + 1\n21\n\
iex(3)> c = b * 2\n42\n\
# A process the presenter will use live.\n\
iex(4)> bobs_list = Todo.Cache.server_process(\"Bob's list\")\nStarting to-do server for Bob's list\n#PID<0.110.0>\n\
iex(5)> d = c + 1\n43\n\
iex(6)> e = 999\n999\n",
    )
    .unwrap();
    path
}

#[test]
fn run_until_a_step_hands_the_replayed_session_to_the_presenter_in_a_terminal() {
    let dir = scratch("until-pty");
    let script = presenter_script(&dir);
    let path = script.to_str().unwrap();
    let mut t = Term::start_at("until", 100, 40, &["run", "--until", "5", path], true, 6);
    t.wait_for("the replay up to step 5 and not beyond", |s| {
        s.contains("iex(5)> d = c + 1") && s.contains("43") && !s.contains("e = 999")
    });
    // The narration is dimmed (SGR 2) on a terminal.
    let raw = t.raw_text();
    assert!(
        raw.contains("\u{1b}[2m# A process the presenter will use live."),
        "{raw:?}"
    );
    t.line("d * 2 + length([bobs_list])");
    t.wait_for("a binding and a process of the replay used live", |s| {
        s.after("iex(6)> d * 2 + length([bobs_list])")
            .first()
            .is_some_and(|r| r == "87")
    });
    t.wait_prompt(7);
    t.line("Process.alive?(bobs_list)");
    t.wait_for("the replay's to-do server still running", |s| {
        s.after("iex(7)> Process.alive?(bobs_list)")
            .first()
            .is_some_and(|r| r == "true")
    });
    t.wait_prompt(8);
    t.exit();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_until_text_and_run_interactive_hand_over_piped_input() {
    let dir = scratch("until-piped");
    let script = presenter_script(&dir);
    let path = script.to_str().unwrap();
    let out = piped(&["run", "--until", "c = b", path], "c + 1\n");
    let stdout = text(&out);
    assert!(
        stdout.contains("iex(3)> c = b * 2\n42\n") && stdout.contains("iex(4)> c + 1\n43\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("bobs_list"), "step 4 ran:\n{stdout}");
    let out = piped(&["run", "--interactive", path], "e + 1\n");
    let stdout = text(&out);
    assert!(
        stdout.contains("iex(6)> e = 999\n999\n") && stdout.contains("iex(7)> e + 1\n1000\n"),
        "{stdout}"
    );
    let missing = otplab()
        .args(["run", "--until", "no such input", path])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("has no step \"no such input\""),
        "{missing:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn speed_divides_the_sleeps_of_a_replay() {
    let dir = scratch("speed");
    let script = dir.join("sleep.iex");
    std::fs::write(&script, "iex(1)> Process.sleep(8000)\n:ok\n").unwrap();
    // 8 s at 40x is 0.2 s; the bound is far from both. `check` replays, and so does `run`.
    for (command, shows) in [
        ("check", "1 passed, 0 failed\n"),
        ("run", "iex(1)> Process.sleep(8000)\n:ok\n"),
    ] {
        let start = Instant::now();
        let out = otplab()
            .args([command, "--bare", "--speed", "40"])
            .arg(&script)
            .output()
            .unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(4), "{command} took {took:?}");
        assert!(
            out.status.success() && text(&out).contains(shows),
            "{}",
            text(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn record_in_the_shell_starts_and_stops_and_a_bad_file_is_one_error() {
    let dir = scratch("record-cmd");
    let rec = dir.join("part.iex");
    let input = format!(
        "before = 1\nrecord \"{}/no/such/folder.iex\"\nrecord \"{}\"\nx = 2\nrecord off\nlater = 3\n",
        dir.display(),
        rec.display()
    );
    let out = piped(&["--bare"], &input);
    let stdout = text(&out);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("** ")).collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].starts_with("** (File.Error) cannot record to ")
            && errors[0].contains("folder.iex: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("iex(5)> later = 3\n3\n"),
        "the shell carried on:\n{stdout}"
    );
    // The recording begins with the `:ok` of the command that started it, before any
    // prompt (so no step), and ends with the input that stopped it.
    assert_eq!(
        std::fs::read_to_string(&rec).unwrap(),
        ":ok\niex(3)> x = 2\n2\niex(4)> record off\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_repl_records_what_it_prints_without_colours() {
    let dir = scratch("record-repl");
    let rec = dir.join("repl.iex");
    let mut t = Term::start(
        "record-repl",
        100,
        40,
        &["--record", rec.to_str().unwrap()],
        true,
    );
    t.line("bobs_list = server_process \"Bob's list\"");
    t.wait_prompt(2);
    t.line("kill bobs_list");
    t.wait_prompt(3);
    t.line("%{a: 1, b: [1, 2]}");
    t.wait_prompt(4);
    t.exit();
    let recorded = std::fs::read_to_string(&rec).unwrap();
    assert!(!recorded.contains('\u{1b}'), "{recorded:?}");
    for line in [
        "iex(1)> bobs_list = server_process \"Bob's list\"",
        "iex(2)> kill bobs_list",
        "[restart] Todo.ServerSupervisor #PID<0.",
        "iex(3)> %{a: 1, b: [1, 2]}\n%{a: 1, b: [1, 2]}\n",
    ] {
        assert!(recorded.contains(line), "{line:?} is not in:\n{recorded}");
    }
    // The recording is a transcript: it checks against itself, step by step.
    let out = otplab()
        .arg("check")
        .arg(&rec)
        .arg("--against")
        .arg(&rec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
