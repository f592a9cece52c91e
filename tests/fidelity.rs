//! The fidelity harness of issue 12: every `scripts/*.iex` is replayed through real `iex`,
//! with the book's modules of `scripts/beam/fidelity/` loaded, and through otplab (`otplab
//! run`), and the two are compared step by step. A script's expected lines are the pattern
//! both sides must match: pids bind one to one across the script, `...` stands for figures,
//! timestamps and references, and the lines of different processes may interleave (the
//! matcher of `otplab check`, `shell::script`). otplab's run matches the script (that is
//! tests/scripts.rs), and iex's must match it too, so that the two agree; a difference the
//! project accepts is written in the script as `#beam` lines with a `#beam:` reason (see
//! `shell::script::Beam`), and every other difference fails with both sides' lines.
//!
//! iex is fed the whole script through a pipe and reads it line by line. After each input it
//! is given `Otplab.settle/1`, which waits, as otplab does before its next prompt, until no
//! other process is runnable (200 ms at most) and prints a marker line: the output between two
//! markers is one step's. A script whose first input is otplab's `start` command runs on a
//! bare node (`otplab --bare`, where the script starts the system itself); the others on a
//! node that booted the to-do system first, as otplab boots it.
//!
//! Without `iex` on PATH the test fails and says to install Debian's `elixir` package (CI's
//! `.ci/run` installs it). `OTPLAB_BIN=path` compares another build of otplab, and
//! `OTPLAB_FIDELITY_ONLY=TEXT` only the scripts whose path contains TEXT.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otplab::shell::script::{self, Step};

/// The line `Otplab.settle/1` prints at the end of each step.
const STEP_END: &str = "#fidelity-step-end";
/// How long one script may take on either side before it is stopped.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(75);
/// Scripts replayed at once: most of a script's time is sleeps and timeouts, and the settling
/// of each step is bounded by time, so many more than this on two cores would blur it.
const PARALLEL: usize = 4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn otplab() -> String {
    std::env::var("OTPLAB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_otplab").into())
}

/// A fresh folder under the system's temporary one, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("otplab-fidelity-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a program to its end or the deadline, feeding it `input`; its standard output.
fn run(mut command: Command, input: &str) -> Result<String, String> {
    let name = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run {name} ({e}): real Elixir must be installed for the fidelity test \
                 (Debian's `elixir` package: `apt-get install -y elixir`, as .ci/run does)"
            )
        })?;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(SCRIPT_DEADLINE).is_err() {
            // The child is ours, named by its pid.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{name} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

/// The book's modules compiled once, for every iex run.
fn compile_modules(ebin: &Path) -> Result<(), String> {
    let dir = root().join("scripts/beam/fidelity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ex"))
        .collect();
    files.sort();
    let mut command = Command::new("elixirc");
    command
        .arg("--warnings-as-errors")
        .arg("-o")
        .arg(ebin)
        .args(&files);
    run(command, "").map(|_| ())
}

/// Whether the BEAM side starts with nothing running: the script starts the system itself.
fn bare(steps: &[Step]) -> bool {
    steps
        .first()
        .is_some_and(|s| s.input.split_whitespace().next() == Some("start"))
}

/// The steps iex is given, each with the lines it must print: the script's, or its `#beam|`
/// lines. A step whose `#beam>` line is empty is not given. Each step's number in the script
/// comes with it.
fn beam_steps(steps: &[Step]) -> Vec<(usize, Step)> {
    (1..)
        .zip(steps)
        .filter(|(_, s)| s.beam.input.as_deref() != Some(""))
        .map(|(n, s)| {
            let mut step = s.clone();
            if let Some(input) = &s.beam.input {
                step.input = input.clone();
            }
            if let Some(expected) = &s.beam.expected {
                step.expected = expected.clone();
            }
            step.expected = step.expected.iter().map(|l| unnumbered(l)).collect();
            (n, step)
        })
        .collect()
}

/// A line with the input's line number of an error (`iex:2:`) as any number (`iex:...:`).
/// iex numbers an input's lines by its prompt, and the harness types a line of its own after
/// each input, which iex counts, so iex's numbers run ahead of the script's; otplab's own
/// numbers are held to the script by tests/scripts.rs.
fn unnumbered(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("iex:") {
        let (head, tail) = rest.split_at(at + "iex:".len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && tail[digits..].starts_with(':') {
            out.push_str("...");
            rest = &tail[digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn an_errors_line_number_is_not_compared() {
    assert_eq!(
        unnumbered("** (CompileError) iex:12: undefined function f/0 (iex:3 is text)"),
        "** (CompileError) iex:...: undefined function f/0 (iex:3 is text)"
    );
    assert_eq!(
        unnumbered("** (SyntaxError) iex:2:6: x"),
        "** (SyntaxError) iex:...:6: x"
    );
}

/// Every step that says how iex differs must say why.
fn unexplained(file: &str, steps: &[Step]) -> Vec<String> {
    (1..)
        .zip(steps)
        .filter(|(_, s)| {
            (s.beam.input.is_some() || s.beam.expected.is_some()) && s.beam.reasons.is_empty()
        })
        .map(|(n, s)| {
            format!(
                "{file}:{}: step {n} has #beam lines without a `#beam:` reason",
                s.line
            )
        })
        .collect()
}

/// iex's output cut into steps: everything before the first prompt (boot lines, banner) is
/// dropped, prompts are removed, and each step's lines end at the marker of its settle.
fn beam_output(stdout: &str) -> Vec<Vec<String>> {
    let start = stdout.find("iex(").unwrap_or(stdout.len());
    let mut steps = vec![];
    let mut lines = vec![];
    for line in stdout[start..].lines() {
        let line = normalise(strip_prompts(line));
        if line == STEP_END {
            steps.push(std::mem::take(&mut lines));
        } else {
            lines.push(line);
        }
    }
    steps
}

/// A line without the `iex(N)> ` and `...(N)> ` prompts iex wrote before it: piped, iex
/// ends no prompt with a line break, so the output of a step starts on its prompt's line.
fn strip_prompts(mut line: &str) -> &str {
    loop {
        let rest = ["iex(", "...("].iter().find_map(|p| line.strip_prefix(p));
        let Some(rest) = rest else { return line };
        let Some(close) = rest.find(")> ") else {
            return line;
        };
        if !rest[..close].chars().all(|c| c.is_ascii_digit()) {
            return line;
        }
        line = &rest[close + 3..];
    }
}

/// The BEAM's references and Logger's timestamps as the scripts write them (`...`), so that
/// the failure message shows what differs.
fn normalise(line: &str) -> String {
    let mut out = line.to_string();
    let b = out.as_bytes();
    // `12:34:56.789 [error] …`: Logger's time of day.
    if b.len() > 13
        && b[2] == b':'
        && b[5] == b':'
        && b[8] == b'.'
        && b[12] == b' '
        && [0, 1, 3, 4, 6, 7, 9, 10, 11]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
    {
        out.replace_range(..12, "...");
    }
    let mut from = 0;
    while let Some(at) = out[from..].find("#Reference<").map(|i| from + i) {
        let end = out[at..].find('>').map_or(out.len(), |e| at + e + 1);
        out.replace_range(at..end, "#Reference<...>");
        from = at + "#Reference<...>".len();
    }
    out
}

/// Replays one script on both sides; the failure message, if any.
fn compare_script(file: &Path, ebin: &Path) -> Result<(), String> {
    let name = file
        .strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string();
    let text = std::fs::read_to_string(file).unwrap();
    let steps = script::parse(&text);
    let missing = unexplained(&name, &steps);
    if !missing.is_empty() {
        return Err(missing.join("\n"));
    }

    let persist = Scratch::new("beam");
    let given = beam_steps(&steps);
    let mut input = String::new();
    for (_, step) in &given {
        input.push_str(&step.input);
        input.push_str(&format!("\nOtplab.settle({STEP_END:?})\n"));
    }
    // After the shell's crash, iex's new shell does not end at the end of its input.
    input.push_str("System.halt()\n");
    let mut iex = Command::new("iex");
    iex.arg("-pa")
        .arg(ebin)
        .env("OTPLAB_FIDELITY_PERSIST", &persist.0);
    if !bare(&steps) {
        iex.args(["-e", "Otplab.boot()"]);
    }
    // Both sides at once: most of a script's time is its sleeps and timeouts.
    let mut ours = Command::new(otplab());
    ours.args(["run", "--no-color"]).arg(file);
    let (ours, beam) = std::thread::scope(|s| {
        let ours = s.spawn(|| run(ours, ""));
        let beam = run(iex, &input);
        (ours.join().unwrap(), beam)
    });
    let ours = script::parse(&ours?);
    let beam = beam_output(&beam?);

    // otplab is held to the script by tests/scripts.rs (`otplab check`); here its run shows
    // what otplab printed beside what iex printed. Asserting it again would make this test
    // fail on otplab's own timing (a 10 ms timer of send_after.iex on a loaded machine) too.
    let (numbers, pattern): (Vec<usize>, Vec<Step>) = given.into_iter().unzip();
    let mut actual = beam.clone();
    actual.resize(pattern.len(), vec![]);
    if let Err((k, m)) = compare_beam(&pattern, &actual) {
        let n = numbers[k];
        let step = &steps[n - 1];
        let otplab_lines = ours.get(n - 1).map_or(vec![], |s| s.expected.clone());
        let marked = if step.beam.reasons.is_empty() {
            String::new()
        } else {
            format!(
                "\n(accepted for this step: {})",
                step.beam.reasons.join("; ")
            )
        };
        let missing = if beam.len() < pattern.len() {
            format!(
                "\n(iex answered {} of the {} steps given)",
                beam.len(),
                pattern.len()
            )
        } else {
            String::new()
        };
        // With `#beam|` lines, iex is held to them: show them beside what it printed.
        let (theirs, label) = match &step.beam.expected {
            Some(lines) => (lines.clone(), "the script's #beam| lines"),
            None => (otplab_lines, "otplab"),
        };
        return Err(format!(
            "{name}:{}: step {n} `{}`: iex differs from otplab{marked}{missing}\n{}",
            step.line,
            m.input.lines().next().unwrap_or(""),
            side_by_side(&theirs, &actual[k], label, "iex")
        ));
    }
    Ok(())
}

/// Compares iex's steps with the pattern, as `check` does, with two tolerances for what the
/// BEAM prints in no fixed order; the index of the step that differs, and how.
///
/// Logger prints crash reports from its own process, late: a report may come before or after
/// the `Starting …` line of the restart it caused. Logger is one process whose lines keep
/// their order, as the matcher has it for any process, so each step is compared as two:
/// its lines without Logger's reports, then the reports, each in order.
///
/// And iex prints a line's result from its evaluator while the processes that the line woke
/// print their own lines (`Process.whereis(:todo_process_registry) |> Process.exit(:kill)`
/// prints `true` before or after `Starting process registry`). The script's matcher keeps a
/// result where the script has it, because otplab applies a kill only when the line ends
/// (being fixed, issue 12); so here a step also matches when moving one of iex's lines that
/// names no process (a result, an error) elsewhere in the step makes it match.
fn compare_beam(pattern: &[Step], actual: &[Vec<String>]) -> Result<(), (usize, script::Mismatch)> {
    let mut halves = vec![];
    let mut got = vec![];
    for (step, lines) in pattern.iter().zip(actual) {
        let (rest, reports) = split_reports(&step.expected);
        let mut reported = step.clone();
        reported.expected = reports;
        let mut step = step.clone();
        step.expected = rest;
        halves.extend([step, reported]);
        let (rest, reports) = split_reports(lines);
        got.extend([rest, reports]);
    }
    loop {
        let m = match script::compare(&halves, &got) {
            Ok(()) => return Ok(()),
            Err(m) => m,
        };
        let k = m.step - 1;
        let lines = &got[k];
        let n = lines.len();
        let moved = (0..n)
            .filter(|&i| !lines[i].starts_with("Starting ") && !lines[i].contains("#PID<"))
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| {
                let mut c = lines.clone();
                let line = c.remove(i);
                c.insert(j, line);
                c
            })
            .find(|c| {
                let mut trial = got[..=k].to_vec();
                trial[k] = c.clone();
                script::compare(&halves[..=k], &trial).is_ok()
            });
        match moved {
            Some(c) => got[k] = c,
            None => return Err((k / 2, m)),
        }
    }
}

/// A step's lines without Logger's reports, and the reports. A report is Logger's header
/// (`... [error] …`, after the blank line Logger prints first) and the lines of its text: the
/// `** (…)` line right after the header, and then indented lines, `Last message`, `State:`,
/// `Client …` lines, and blank lines followed by an indented one (the client's stack).
fn split_reports(lines: &[String]) -> (Vec<String>, Vec<String>) {
    let header = |l: &str| {
        ["error", "warning", "notice", "info", "debug"]
            .iter()
            .any(|level| l.starts_with(&format!("... [{level}] ")))
    };
    let indented = |l: &str| l.starts_with(' ');
    let text = |l: &str| {
        indented(l)
            || ["Last message", "State: ", "Client ", "Parent: ", "Reason: "]
                .iter()
                .any(|p| l.starts_with(p))
    };
    let (mut rest, mut reports) = (vec![], vec![]);
    let mut i = 0;
    while i < lines.len() {
        let blank = lines[i].is_empty() && lines.get(i + 1).is_some_and(|l| header(l));
        if !blank && !header(&lines[i]) {
            rest.push(lines[i].clone());
            i += 1;
            continue;
        }
        let head = i + usize::from(blank);
        reports.extend_from_slice(&lines[i..=head]);
        i = head + 1;
        if lines.get(i).is_some_and(|l| l.starts_with("** (")) {
            reports.push(lines[i].clone());
            i += 1;
        }
        while let Some(l) = lines.get(i) {
            let stack = l.is_empty() && lines.get(i + 1).is_some_and(|n| indented(n));
            if !text(l) && !stack {
                break;
            }
            reports.push(l.clone());
            i += 1;
        }
    }
    (rest, reports)
}

/// Both sides of a step, the first line that differs marked with `>`.
fn side_by_side(left: &[String], right: &[String], l: &str, r: &str) -> String {
    let first = (0..left.len().max(right.len()))
        .find(|&i| left.get(i) != right.get(i))
        .unwrap_or(0);
    let show = |lines: &[String], tag: &str| -> String {
        let mut out = format!("  {tag}:\n");
        for (i, line) in lines.iter().enumerate() {
            let mark = if i == first { '>' } else { ' ' };
            out.push_str(&format!("  {mark} {line}\n"));
        }
        if lines.is_empty() {
            out.push_str("    (nothing)\n");
        }
        out
    };
    format!("{}{}", show(left, l), show(right, r))
}

#[test]
fn every_script_prints_on_otplab_what_it_prints_on_the_beam() {
    // `OTPLAB_FIDELITY_ONLY=flood` compares the scripts whose path contains the text.
    let only = std::env::var("OTPLAB_FIDELITY_ONLY").ok();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root().join("scripts"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "iex"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.to_string_lossy().contains(o))
        })
        .collect();
    scripts.sort();
    assert!(
        !scripts.is_empty(),
        "the seeds' experiments are in scripts/"
    );
    if let Err(e) = Command::new("iex").arg("--version").output() {
        panic!(
            "cannot run `iex` ({e}): the fidelity test compares otplab with real iex; install \
             Debian's `elixir` package (`apt-get install -y elixir`, as .ci/run does)"
        );
    }
    let ebin = Scratch::new("ebin");
    if let Err(e) = compile_modules(&ebin.0) {
        panic!("the book's modules of scripts/beam/fidelity/ do not compile: {e}");
    }
    let queue = Mutex::new(scripts.clone());
    let failures = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    // The lock is released before the script runs.
                    let next = queue.lock().unwrap().pop();
                    let Some(file) = next else { break };
                    if let Err(e) = compare_script(&file, &ebin.0) {
                        failures.lock().unwrap().push((file, e));
                    }
                }
            });
        }
    });
    // The BEAM side's step boundary is found by waiting for its processes to go idle, a
    // guess a loaded machine can make too early. A script that differs is run once more,
    // alone; a difference that is real shows both times, and a second run that passes is
    // said, so that a flaky step is seen rather than hidden.
    let differing = failures.into_inner().unwrap();
    let mut failures: Vec<String> = vec![];
    for (file, first) in differing {
        match compare_script(&file, &ebin.0) {
            Ok(()) => println!(
                "{} passed on its second run, alone; the first, run beside others, gave:\n{first}",
                file.display()
            ),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ from the BEAM:\n\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n\n")
    );
}

#[test]
fn iex_output_is_cut_into_steps_at_the_settle_marker() {
    let stdout = "Starting process registry\nInteractive Elixir (1.14.0) - press Ctrl+C to exit (type h() ENTER for help)\niex(1)> Starting to-do server for Bob\n#PID<0.184.0>\niex(2)> #fidelity-step-end\niex(3)> ...(3)> []\nlate\niex(4)> #fidelity-step-end\niex(5)> \n12:34:56.789 [error] GenServer #PID<0.1.0> terminating\n#Reference<0.1.2.3> and #Reference<0.4.5.6>\niex(5)> #fidelity-step-end\niex(6)> ";
    assert_eq!(
        beam_output(stdout),
        vec![
            vec!["Starting to-do server for Bob", "#PID<0.184.0>"],
            vec!["[]", "late"],
            vec![
                "",
                "... [error] GenServer #PID<0.1.0> terminating",
                "#Reference<...> and #Reference<...>"
            ],
        ]
    );
}

#[test]
fn hostile_iex_output_gives_fewer_steps_never_a_panic() {
    // No prompt at all (iex did not start): no step, and the test says how many answered.
    assert!(beam_output("").is_empty());
    assert!(beam_output("Killed\n#fidelity-step-end\n").is_empty());
    // Prompt-like text that is not a prompt stays; a marker without its line break counts.
    assert_eq!(
        beam_output("iex(1)> iex(x)> a\n...(2> b\niex(3)> #fidelity-step-end"),
        vec![vec!["iex(x)> a", "...(2> b"]]
    );
    assert_eq!(strip_prompts("iex(12)> ...(12)> 1"), "1");
    assert_eq!(normalise("#Reference<0.1.2"), "#Reference<...>");
    assert_eq!(normalise("1:2:3.456 [error]"), "1:2:3.456 [error]");
}

#[test]
fn logger_reports_are_a_stream_of_their_own() {
    let lines: Vec<String> = [
        "#PID<0.124.0>",
        "",
        "... [error] GenServer {:todo_server, \"Bob's list\"} terminating",
        "** (stop) exited in: GenServer.call(...)",
        "    ** (EXIT) no process",
        "    (elixir 1.14.0) lib/gen_server.ex:1027: GenServer.call/3",
        "Last message: {:continue, :init}",
        "State: {\"Bob's list\", nil}",
        "Client #PID<0.1.0> is alive",
        "",
        "    (stdlib 4.2) gen.erl:256: :gen.do_call/4",
        "Starting to-do server for Bob's list",
        "** (exit) exited in: GenServer.call(#PID<0.144.0>, :unknown_request, 5000)",
        "",
        "true",
    ]
    .map(String::from)
    .to_vec();
    let (rest, reports) = split_reports(&lines);
    assert_eq!(
        rest,
        [
            "#PID<0.124.0>",
            "Starting to-do server for Bob's list",
            "** (exit) exited in: GenServer.call(#PID<0.144.0>, :unknown_request, 5000)",
            "",
            "true"
        ]
    );
    assert_eq!(reports, lines[1..11]);
}

#[test]
fn the_beam_side_is_given_the_beam_lines_and_every_marker_has_a_reason() {
    let steps = script::parse(
        "iex(1)> report iex\n#beam>\n#beam: otplab's command\n:ok\niex(2)> kill registry\n#beam> Process.whereis(:todo_process_registry) |> Process.exit(:kill)\ntrue\n#beam| true\niex(3)> 1 + 1\n2\n",
    );
    let given = beam_steps(&steps);
    let shown: Vec<_> = given
        .iter()
        .map(|(n, s)| (*n, s.input.as_str(), s.expected.clone()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                2,
                "Process.whereis(:todo_process_registry) |> Process.exit(:kill)",
                vec!["true".to_string()]
            ),
            (3, "1 + 1", vec!["2".to_string()]),
        ]
    );
    assert_eq!(
        unexplained("s.iex", &steps),
        vec!["s.iex:5: step 2 has #beam lines without a `#beam:` reason"]
    );
    assert!(!bare(&steps));
    assert!(bare(&script::parse("iex(1)> start --flat\n")));
}
