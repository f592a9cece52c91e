//! A real Elixir node for the tests of issue 16: the book's to-do system of
//! `scripts/beam/node/todo.exs` (or `idle.exs`, with idle processes beside it), started on
//! loopback with a random name and a random cookie, and otplab run against it.
//!
//! The node is named with `--sname` when this machine's short host name resolves (the
//! connecting side looks the host up to reach its EPMD), else with `--name …@127.0.0.1`,
//! which needs no name service: either way its distribution listens on 127.0.0.1 only. The
//! harness waits, with a deadline, for the line the node prints once it answers over
//! distribution, and checks that the name in it is the one it asked for.
//!
//! The node stops when its [`BeamNode`] is dropped (also while a failing test unwinds), and
//! in any case when the test binary ends, however it ends: the node runs with `--until-eof`
//! and the harness holds the write end of its standard input, which the kernel closes with
//! the test process.
//!
//! Without `elixir` on PATH the start fails and says to install Debian's `elixir` package,
//! as `.ci/run` does. `OTPLAB_BIN=path` runs another build of otplab. The benchmark of
//! `tests/bench_node.rs` starts its nodes through this file too.
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node may take to boot and answer: the BEAM starts in about a second, but two
/// cores shared by a whole test suite can make it many times slower.
pub const BOOT_DEADLINE: Duration = Duration::from_secs(90);
/// How long one otplab run against the node, or one awaited line, may take.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// The line `TodoNode.main/1` prints when the node is up (scripts/beam/node/node.ex).
const READY: &str = "otplab-node ready ";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$OTPLAB_BIN`, else the binary cargo built for the tests, else (for the benchmark, an
/// example, which cargo tells no binary's path) the release build.
pub fn otplab_bin() -> String {
    std::env::var("OTPLAB_BIN").unwrap_or_else(|_| {
        option_env!("CARGO_BIN_EXE_otplab").map_or_else(
            || root().join("target/release/otplab").display().to_string(),
            String::from,
        )
    })
}

/// A random number from the standard library's randomly keyed hasher: names and cookies
/// need to be unguessable and distinct between runs, not cryptographic.
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A cookie as erl makes one: 20 capital letters.
fn random_cookie() -> String {
    let mut out = String::new();
    while out.len() < 20 {
        let mut n = random();
        for _ in 0..10 {
            out.push(char::from(b'A' + (n % 26) as u8));
            n /= 26;
        }
    }
    out.truncate(20);
    out
}

/// This machine's short host name, as `hostname -s` prints it and `--sname` uses it.
fn short_host() -> Option<String> {
    let out = Command::new("hostname").arg("-s").output().ok()?;
    let host = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !host.is_empty()).then_some(host)
}

/// Whether `host` resolves to an address of this machine's loopback.
fn resolves_to_loopback(host: &str) -> bool {
    (host, 4369)
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.any(|a| a.ip().is_loopback()))
}

/// Starts EPMD when none answers: erl would start one too, but asking first makes a missing
/// `epmd` binary fail here with its own message rather than as a node that never answers.
fn ensure_epmd() {
    let running = Command::new("epmd")
        .arg("-names")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !running {
        let started = Command::new("epmd").arg("-daemon").status();
        assert!(
            started.is_ok_and(|s| s.success()),
            "cannot start epmd: install Debian's `erlang` and `elixir` packages \
             (`apt-get install -y elixir erlang`, as .ci/run does)"
        );
    }
}

/// What to start: the to-do node, with `idle` idle processes beside it.
#[derive(Default, Clone, Copy)]
pub struct Options {
    pub idle: usize,
    /// Long names (`--name …@127.0.0.1`) even where the short host name resolves.
    pub long_name: bool,
}

/// A running Elixir node with the to-do system; stopped when dropped.
pub struct BeamNode {
    child: Child,
    /// The write end of the node's standard input: closing it stops the node.
    stdin: Option<ChildStdin>,
    name: String,
    cookie: String,
    persist: PathBuf,
    output: Arc<Mutex<String>>,
}

impl BeamNode {
    /// The to-do node, up and answering.
    pub fn start() -> BeamNode {
        BeamNode::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> BeamNode {
        ensure_epmd();
        let tag = format!("otplab_{:x}", random());
        let (flag, name) = match short_host() {
            Some(host) if !options.long_name && resolves_to_loopback(&host) => {
                ("--sname", format!("{tag}@{host}"))
            }
            _ => ("--name", format!("{tag}@127.0.0.1")),
        };
        let cookie = random_cookie();
        let persist = std::env::temp_dir().join(format!("{tag}-persist"));
        let _ = std::fs::remove_dir_all(&persist);
        let script = if options.idle > 0 {
            "idle.exs"
        } else {
            "todo.exs"
        };
        let mut command = Command::new("elixir");
        command
            .arg(flag)
            .arg(if flag == "--sname" {
                tag.as_str()
            } else {
                &name
            })
            .arg("--cookie")
            .arg(&cookie)
            .args(["--erl", "-kernel inet_dist_use_interface {127,0,0,1}"])
            .arg(root().join("scripts/beam/node").join(script));
        if options.idle > 0 {
            command.arg(options.idle.to_string());
        }
        command
            .arg("--persist")
            .arg(&persist)
            .arg("--until-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run elixir ({e}): install Debian's `elixir` package \
                 (`apt-get install -y elixir erlang`, as .ci/run does)"
            )
        });
        let stdin = child.stdin.take();
        let output = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        collect(child.stdout.take().unwrap(), output.clone(), Some(ready_tx));
        collect(child.stderr.take().unwrap(), output.clone(), None);
        let mut node = BeamNode {
            child,
            stdin,
            name,
            cookie,
            persist,
            output,
        };
        match ready_rx.recv_timeout(BOOT_DEADLINE) {
            Ok(line) => {
                let said = line.split_whitespace().next().unwrap_or("");
                assert_eq!(
                    said,
                    node.name,
                    "the node calls itself otherwise than the harness does; its output:\n{}",
                    node.output()
                );
            }
            Err(_) => {
                node.stop();
                panic!(
                    "the node did not answer within {BOOT_DEADLINE:?}; its output:\n{}",
                    node.output()
                );
            }
        }
        node
    }

    /// The node's full name, `otplab_…@host`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The node's database folder.
    pub fn persist(&self) -> &Path {
        &self.persist
    }

    /// Everything the node printed so far (the `Starting …` lines of its restarts too).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The operating system's pid of the node's BEAM (the `elixir` and `erl` scripts exec it).
    pub fn os_pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the node's BEAM is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the node at once, as a crash or `kill -9` would, and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes the node's standard input, as the end of the test binary does, without
    /// killing it; [`BeamNode::running`] tells when it has halted.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// Whether EPMD still lists the node.
    pub fn registered(&self) -> bool {
        let tag = self.name.split('@').next().unwrap_or("");
        Command::new("epmd").arg("-names").output().is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(tag))
        })
    }

    fn stop(&mut self) {
        // Closing its standard input asks the node to halt; the kill makes sure.
        self.stdin = None;
        self.kill();
    }

    /// `otplab --connect NAME` with the node's cookie in `$OTPLAB_COOKIE` (so that it is
    /// never on a command line), without colour, its own local persist folder, and pipes.
    pub fn otplab(&self) -> Command {
        self.otplab_with_cookie(&self.cookie)
    }

    /// The same with another cookie, for the wrong-cookie test.
    pub fn otplab_with_cookie(&self, cookie: &str) -> Command {
        let mut command = self.otplab_local(cookie);
        command.arg("--connect").arg(&self.name);
        command
    }

    /// otplab on its own system, with `cookie` in `$OTPLAB_COOKIE` for a `connect` typed
    /// later.
    pub fn otplab_local(&self, cookie: &str) -> Command {
        let mut command = Command::new(otplab_bin());
        command
            .args(["--no-color", "--persist"])
            .arg(self.persist.with_extension("local"))
            .env("OTPLAB_COOKIE", cookie)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `otplab --connect` on `input` to its end; its output, standard error after
    /// standard output.
    pub fn run(&self, input: &str) -> Run {
        run(self.otplab(), input)
    }

    /// A session connected to the node, fed line by line.
    pub fn session(&self) -> Session {
        Session::spawn(self.otplab())
    }
}

impl Drop for BeamNode {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.persist);
        let _ = std::fs::remove_dir_all(self.persist.with_extension("local"));
    }
}

/// Reads a child's output into `into`, line by line, telling `ready` of the ready line.
fn collect(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    ready: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(rest)) = (&ready, line.strip_prefix(READY)) {
                let _ = tx.send(rest.to_string());
            }
            let mut out = into.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    });
}

/// What one otplab run printed, and how it ended.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Run {
    /// Both streams, for a failure message.
    pub fn all(&self) -> String {
        format!("{}\n--- stderr ---\n{}", self.stdout, self.stderr)
    }
}

/// Runs `command` on `input` to its end, killing it past [`PATIENCE`].
pub fn run(mut command: Command, input: &str) -> Run {
    let mut child = command.spawn().expect("otplab starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(PATIENCE).is_err() {
            // The child is ours, named by its pid.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    });
    let out = child.wait_with_output().expect("otplab runs");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let _ = writer.join();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status,
    }
}

/// An otplab fed one line at a time, whose output lines (both streams) are read as they
/// come.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, for failure messages.
    pub seen: Vec<String>,
}

impl Session {
    pub fn spawn(mut command: Command) -> Session {
        let mut child = command.spawn().expect("otplab starts");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Session {
            child,
            stdin,
            lines,
            seen: vec![],
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the input is still open");
        writeln!(stdin, "{line}").expect("otplab reads its input");
    }

    /// Reads lines until one satisfies `ok` (and returns it); fails after [`PATIENCE`] with
    /// the output so far.
    pub fn read_until(&mut self, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if ok(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no such line came within {PATIENCE:?}; the output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Closes the input and waits for otplab to end; the lines it printed after the last
    /// one read, and its exit status.
    pub fn finish(mut self) -> (Vec<String>, ExitStatus) {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        let mut rest = vec![];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "otplab did not end within {PATIENCE:?} of its input's end:\n{}\n{}",
                        self.seen.join("\n"),
                        rest.join("\n")
                    );
                }
            }
        }
        let status = self.child.wait().expect("otplab ends");
        (rest, status)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
