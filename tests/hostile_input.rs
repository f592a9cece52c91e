//! Hostile input piped to the real binary: random bytes, near-valid expressions, unterminated
//! strings, control characters, ANSI escape sequences, NUL, invalid UTF-8, deep nesting
//! (`"(" × 1,000,000`) and a huge line. The shell must answer every input with an error line
//! or a value and keep going: exit status 0, no panic on stderr, and not one raw ESC byte
//! (0x1b) in its output when that output is not a terminal (`NO_COLOR=1`, a pipe).
//!
//! Sizes: 10,000 generated lines in four concurrent runs of the binary, and a 5 MiB line;
//! `OTPLAB_FULL=1` makes the huge line 100 MiB. The generator is seeded: `OTPLAB_SEED=N`
//! replays another seed and `OTPLAB_HOSTILE_LINES=N` sets the lines of each of the four runs
//! (2,500 by default), so the test doubles as a fuzzer to leave running by hand.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use otplab::shell::ast::CommandName;

fn full() -> bool {
    std::env::var_os("OTPLAB_FULL").is_some_and(|v| v != "0")
}

/// What a run of the binary printed.
struct Run {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Pipes `input` to `otplab` (with a fresh persist folder, or `--bare`) and collects what it
/// prints. A watchdog kills it after `limit`, so a hang fails the test instead of stalling CI.
fn run_binary(input: Vec<u8>, bare: bool, limit: Duration) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "otplab-hostile-{}-{}",
        std::process::id(),
        input.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otplab"));
    if bare {
        cmd.arg("--bare");
    }
    cmd.arg("--persist")
        .arg(&dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let step = Duration::from_millis(100);
            let mut waited = Duration::ZERO;
            while waited < limit {
                if done.load(Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(step);
                waited += step;
            }
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            true
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The binary may stop reading early only by dying, which the checks below catch.
        let _ = stdin.write_all(&input);
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut s);
        s
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    done.store(true, Ordering::SeqCst);
    let killed = watchdog.join().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!killed, "the binary hung for {limit:?} and was killed");
    Run {
        status,
        stdout,
        stderr,
    }
}

/// The checks every run must pass.
fn assert_survived(run: &Run, what: &str) {
    assert!(
        run.status.success(),
        "{what}: exit status {:?}, stderr: {}",
        run.status,
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "{what}: a panic: {}",
        run.stderr
    );
    if let Some(at) = run.stdout.iter().position(|b| *b == 0x1b) {
        let from = at.saturating_sub(200);
        panic!(
            "{what}: a raw ESC byte in the output at {at}: {:?}",
            String::from_utf8_lossy(&run.stdout[from..(at + 40).min(run.stdout.len())])
        );
    }
}

// ----- the generator --------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TEMPLATES: &[&str] = &[
    r#"Todo.Cache.server_process("Bob's list")"#,
    r#"Todo.Server.entries(Todo.Cache.server_process("Bob"), ~D[2023-12-19])"#,
    r#"Todo.Server.add_entry(Todo.Cache.server_process("Bob"), %{date: ~D[2023-12-19], title: "x"})"#,
    r#"%{a: 1, b: [1, 2, {:ok, "x"}], "k" => 'c'}"#,
    r#"Enum.map([1, 2, 3], fn x -> x * 2 end)"#,
    r#"{:ok, ~D[2023-12-19], 1.5e3, -7}"#,
    r#"x = 1 + 2 * (3 - 4) / 5"#,
    r#"IO.puts("hello \e[31mred\e[0m \u{202E}rtl")"#,
    r#"IO.inspect(%{k: "v\a\b"})"#,
    r#""a" <> "b" <> "\x1b]0;title\x07""#,
    r#":"an atom with \e[1m escapes""#,
    r#"[1 | [2, 3]]"#,
    r#"self()"#,
    r#"send(self(), {:hi, "\e[2J"})"#,
    r#"flush()"#,
    r#"Process.info(self(), :message_queue_len)"#,
    r#"1 / 0"#,
    r#"String.upcase("é")"#,
    r#"c = Counter.new; Counter.inc_of(c, 1)"#,
    r#"case 1 do 1 -> :one; _ -> :other end"#,
    r#"if true do :yes else :no end"#,
    r#"history"#,
    r#"ps"#,
    r#"clear"#,
    r#"help"#,
];

const SYMBOLS: &[u8] = b"()[]{}%\"'#:.,=|-><&+*/\\~@!?^`$;_ \t0123456789abcdefXYZ";

/// Lines that would stop, kill or flood the system are not hostile input, they are commands:
/// the generator leaves them out.
fn is_destructive(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let first = text
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    CommandName::from_word(first).is_some_and(|c| {
        !matches!(
            c,
            CommandName::Clear
                | CommandName::Help
                | CommandName::History
                | CommandName::Ps
                | CommandName::Tree
                | CommandName::Flush
        )
    })
}

fn mutate(rng: &mut Rng, line: &mut Vec<u8>) {
    for _ in 0..rng.below(4) {
        match rng.below(5) {
            0 if !line.is_empty() => {
                let i = rng.below(line.len());
                line.remove(i);
            }
            1 => {
                let i = rng.below(line.len() + 1);
                let c = if rng.below(4) == 0 {
                    rng.below(32) as u8
                } else {
                    *rng.pick(SYMBOLS)
                };
                line.insert(i, if c == b'\n' { 0x1b } else { c });
            }
            2 if !line.is_empty() => {
                let i = rng.below(line.len());
                let j = i + rng.below(line.len() - i);
                let slice = line[i..j].to_vec();
                line.splice(j..j, slice);
            }
            3 if !line.is_empty() => {
                let i = rng.below(line.len());
                line.truncate(i);
            }
            _ => {}
        }
    }
}

fn generated_line(rng: &mut Rng) -> Vec<u8> {
    loop {
        let line = match rng.below(7) {
            // Random bytes: invalid UTF-8, NUL, ESC, every control character.
            0 => (0..rng.below(120))
                .map(|_| rng.below(256) as u8)
                .filter(|b| *b != b'\n')
                .collect(),
            // Random punctuation soup.
            1 => (0..rng.below(120)).map(|_| *rng.pick(SYMBOLS)).collect(),
            // Near-valid: a real expression with a few mutations.
            2 | 3 => {
                let mut l = rng.pick(TEMPLATES).as_bytes().to_vec();
                mutate(rng, &mut l);
                l
            }
            // Raw control characters and escape sequences inside strings, atoms, charlists.
            4 => {
                let payload: Vec<u8> = (0..rng.below(20))
                    .flat_map(|_| match rng.below(4) {
                        0 => b"\x1b[31m".to_vec(),
                        1 => vec![rng.below(32) as u8],
                        2 => "\u{202E}\u{200B}".as_bytes().to_vec(),
                        _ => vec![*rng.pick(SYMBOLS)],
                    })
                    .filter(|b| *b != b'\n')
                    .collect();
                let (open, close): (&[u8], &[u8]) = *rng.pick(&[
                    (&b"\""[..], &b"\""[..]),
                    (b":\"", b"\""),
                    (b"'", b"'"),
                    (b"IO.puts(\"", b"\")"),
                    (b"", b""),
                ]);
                [open, &payload, close].concat()
            }
            // Nesting, balanced or not, up to 3,000 deep.
            5 => {
                let depth = rng.below(3_000);
                let (o, c) = *rng.pick(&[
                    (&b"("[..], &b")"[..]),
                    (b"[", b"]"),
                    (b"{", b"}"),
                    (b"%{a: ", b"}"),
                    (b"fn -> ", b" end"),
                ]);
                let closes = if rng.below(2) == 0 {
                    depth
                } else {
                    rng.below(depth + 1)
                };
                [o.repeat(depth), b"1".to_vec(), c.repeat(closes)].concat()
            }
            // Unterminated things.
            _ => rng
                .pick(&[
                    &b"\"never closed"[..],
                    b"'never closed",
                    b"~D[2023-12-19",
                    b"fn x ->",
                    b"case x do",
                    b"%{a: ",
                    b"\"\"\"",
                    b":\"",
                    b"[1, 2,",
                ])
                .to_vec(),
        };
        if !is_destructive(&line) {
            return line;
        }
    }
}

/// `lines` generated lines, each followed by `#iex:break` so an incomplete one does not swallow
/// the next. The break on physical line `k` answers `** (TokenMissingError) iex:k: …`: those
/// answers, in order, show that every input was read and answered.
fn script(seed: u64, lines: usize) -> (Vec<u8>, Vec<usize>) {
    let mut rng = Rng(seed | 1);
    let mut input = Vec::new();
    let mut breaks = Vec::new();
    let mut physical = 0;
    for _ in 0..lines {
        input.extend_from_slice(&generated_line(&mut rng));
        input.extend_from_slice(b"\n#iex:break\n");
        physical += 2;
        breaks.push(physical);
    }
    (input, breaks)
}

fn lines_per_run() -> usize {
    std::env::var("OTPLAB_HOSTILE_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_500)
}

fn seed() -> u64 {
    std::env::var("OTPLAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0001)
}

#[test]
fn ten_thousand_random_and_hostile_lines_are_each_answered() {
    // Four binaries at once: the shell waits a few milliseconds after each input for its
    // consequences to settle, so the runs mostly sleep, and four share the cores well.
    let runs: Vec<_> = (0..4u64)
        .map(|k| {
            std::thread::spawn(move || {
                let lines = lines_per_run();
                let (input, breaks) = script(seed().wrapping_add(k * 7919), lines);
                // About 6 ms a line; the limit only catches a hang.
                let limit = Duration::from_secs(240 + lines as u64 / 50);
                let run = run_binary(input, k % 2 == 1, limit);
                (k, run, breaks)
            })
        })
        .collect();
    for handle in runs {
        let (k, run, breaks) = handle.join().unwrap();
        let what = format!("run {k} (seed {})", seed().wrapping_add(k * 7919));
        assert_survived(&run, &what);
        let out = String::from_utf8_lossy(&run.stdout);
        let mut at = 0;
        for line in breaks {
            let marker = format!("** (TokenMissingError) iex:{line}: incomplete expression");
            match out[at..].find(&marker) {
                Some(i) => at += i + marker.len(),
                None => panic!("{what}: no answer for the input ending on line {line}"),
            }
        }
        // Values and errors were printed, not only the breaks.
        let evaluated = out.lines().filter(|l| l.starts_with("iex(")).count();
        assert!(
            evaluated > lines_per_run() / 10,
            "{what}: only {evaluated} inputs evaluated"
        );
    }
}

/// Each hostile input, followed by `:after`: one error line, then the prompt is back and
/// `:after` evaluates.
fn one_error_then_the_prompt(input: &[u8], what: &str) {
    let mut bytes = input.to_vec();
    bytes.extend_from_slice(b"\n:after\n");
    let run = run_binary(bytes, true, Duration::from_secs(120));
    assert_survived(&run, what);
    let out = String::from_utf8_lossy(&run.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("** (")).collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {errors:?}");
    let tail = &lines[lines.len() - 2..];
    assert!(
        tail[0].starts_with("iex(") && tail[0].ends_with("> :after") && tail[1] == ":after",
        "{what}: the prompt is back: {tail:?}"
    );
}

#[test]
fn a_million_open_parentheses_is_one_error() {
    one_error_then_the_prompt(&b"(".repeat(1_000_000), "\"(\" x 1,000,000");
    one_error_then_the_prompt(
        &[b"(".repeat(500_000), b")".repeat(500_000)].concat(),
        "500,000 nested pairs",
    );
    one_error_then_the_prompt(&b"[".repeat(1_000_000), "\"[\" x 1,000,000");
}

#[test]
fn a_huge_line_is_one_error() {
    let size = if full() { 100 << 20 } else { 5 << 20 };
    one_error_then_the_prompt(&vec![b'a'; size], "a huge line");
    let mut quoted = vec![b'"'; 1];
    quoted.extend(std::iter::repeat_n(b'x', size));
    one_error_then_the_prompt(&quoted, "a huge unterminated string");
}

#[test]
fn invalid_utf8_nul_and_ansi_escapes_are_errors_or_escaped_values() {
    one_error_then_the_prompt(b"\"\xff\xfe\"", "invalid UTF-8");
    one_error_then_the_prompt(b"a\x00b", "a raw NUL");
    one_error_then_the_prompt(b"\x1b[31mred\x1b[0m", "a raw ANSI escape sequence");
    // Inside strings they are data: printed as iex does, escaped.
    for (input, value) in [
        (&b"\"a\x00b\""[..], r#""a\0b""#),
        (b"\"\x1b[31mred\"", r#""\e[31mred""#),
        (b"\"\\e[31mred\"", r#""\e[31mred""#),
    ] {
        let mut bytes = input.to_vec();
        bytes.push(b'\n');
        let run = run_binary(bytes, true, Duration::from_secs(60));
        assert_survived(&run, value);
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(out.lines().any(|l| l == value), "{value}: {out}");
    }
}

#[test]
fn what_processes_print_of_user_text_is_escaped() {
    let input = b"IO.puts(\"\\e[31mred\\e[0m\")\nIO.inspect(\"\\e]0;title\\a\")\nclear\n\
                  send(self(), \"\\e[2J\")\nflush()\nhistory\n"
        .to_vec();
    let run = run_binary(input, true, Duration::from_secs(60));
    assert_survived(&run, "IO.puts of escapes");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains(r"\e[31mred") || out.contains(r"\u{1B}[31mred"),
        "{out}"
    );
}
