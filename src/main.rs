//! The `otplab` binary: the REPL (the default), `run FILE` and `check FILE…` for transcripts,
//! `bench NAME` for the benchmarks and `observe` to attach the live observer to a running
//! one. It wires the observer (which sits above the shell) into the REPL. The only place that uses anyhow: every error here
//! becomes one printed line and an exit code.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use otplab::observer::{socket, terminal};
use otplab::shell::record;
use otplab::shell::report::Level;
use otplab::shell::script;
use otplab::shell::session::{Options, Session};
use otplab::shell::{editor, replay};
use otplab::todo::Config;
use otplab::todo::persist::FolderLock;

#[derive(Parser)]
#[command(
    name = "otplab",
    version,
    about = "An iex for supervised processes: the experiments of Elixir in Action, chapters 7 to 9"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Start with nothing running (by default the to-do system is booted, as `iex -S mix`).
    #[arg(long, global = true)]
    bare: bool,
    /// The database folder (default `./persist`; `run` and `check` use a fresh temporary one).
    #[arg(long, global = true)]
    persist: Option<PathBuf>,
    /// No colours (also with NO_COLOR set, or when output is not a terminal).
    #[arg(long, global = true)]
    no_color: bool,
    /// Divides every sleep of the experiments: `--speed 10` makes a 10 s increment take 1 s.
    #[arg(long, global = true, default_value_t = 1.0)]
    speed: f64,
    /// How crashes and restarts are shown: short, iex or sasl.
    #[arg(long, global = true, default_value = "short")]
    report: String,
    /// Write without fsync (like the book's File.write!): faster, not durable on power loss.
    #[arg(long, global = true)]
    no_fsync: bool,
    /// Records the session to FILE as a transcript that `check` reads (the REPL, piped input,
    /// and `run`, including the live part after `--until`).
    #[arg(long, global = true, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Attaches the shell to a running Erlang or Elixir node (`todo@host`) as a hidden node:
    /// commands and Elixir lines run there (`disconnect` comes back).
    #[arg(long, value_name = "NAME@HOST")]
    connect: Option<String>,
    /// The node's cookie (else $OTPLAB_COOKIE, else ~/.erlang.cookie).
    #[arg(long, value_name = "COOKIE")]
    cookie: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Replays a script and prints a fresh transcript.
    Run {
        file: PathBuf,
        /// Waits for Enter before each input, for presenting in a workshop.
        #[arg(long)]
        step: bool,
        /// Replays up to and including step N (from 1), or the first step whose input
        /// contains TEXT, then hands over the live shell with the replay's bindings and
        /// processes.
        #[arg(long, value_name = "N|TEXT")]
        until: Option<String>,
        /// Replays the whole script, then hands over the live shell.
        #[arg(long)]
        interactive: bool,
    },
    /// Replays scripts and compares them with their transcripts; non-zero on a mismatch.
    /// With `--against`, compares recordings (of `--record`) with one script, running nothing.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The students' recordings to compare with the script, one verdict each.
        #[arg(long, num_args = 1.., value_name = "RECORDING")]
        against: Vec<PathBuf>,
        /// One JSON object a line per file: file, ok, step, input, expected, actual, error.
        #[arg(long)]
        json: bool,
    },
    /// Runs a benchmark (or `all`) and prints one `RESULT <bench>: <metric> <value> <unit>`
    /// line per figure.
    Bench {
        /// cache-gen, cache-ets, loadtest-chapter, loadtest-system, loadtest-ets, entries,
        /// call, cast, spawn, floor, genserver-start, flood, recovery, crash-loop, observer, or all.
        name: String,
        /// The size: operations per client, lists, calls, processes or repetitions.
        #[arg(long)]
        n: Option<u64>,
        /// Client processes of the cache benchmarks (default: 1 and 100).
        #[arg(long)]
        clients: Option<u64>,
        /// One JSON object per figure: {"bench", "metric", "value", "unit"}.
        #[arg(long)]
        json: bool,
        /// Tiny sizes: checks that every benchmark runs and prints its figures.
        #[arg(long)]
        smoke: bool,
    },
    /// Shows the live observer of a running otplab (its `observe` view) in this terminal,
    /// attached over the instance's Unix socket.
    Observe {
        /// The process id of the otplab to attach to, when several are running.
        #[arg(long)]
        pid: Option<u32>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benchmarks need no I/O driver: without one, an idle worker parks on a futex rather
    // than in epoll, and waking it costs a futex wake instead of an eventfd write.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, Some(Command::Bench { .. })) && std::env::var_os("OTPLAB_IO").is_none()
    {
        builder.enable_time();
    } else {
        builder.enable_all();
    }
    let spin = std::env::var("OTPLAB_SPIN_MICROS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(SPIN, std::time::Duration::from_micros);
    builder.on_thread_park(move || spin_before_sleep(spin));
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("otplab: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ran = runtime.block_on(run(cli));
    // Dropping the runtime would join its workers and every thread of its blocking pool, and
    // drop each process still running, one exit path at a time: a millisecond or more at the
    // end of every session, and nothing of it is needed, except that a database write under
    // way on the pool must finish. So the program waits for exactly those and ends.
    otplab::todo::persist::wait_for_writes();
    runtime.shutdown_background();
    match ran {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otplab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A worker with nothing to do keeps its core for a moment before it sleeps, as the BEAM's
/// schedulers busy-wait before they sleep. While it spins it does not count as idle, so the
/// other worker, scheduling the next step of a chain of calls, wakes nobody: waking a sleeping
/// worker is a futex syscall, and the profile of the load test spent a third of its time in
/// the kernel waking a worker that then found nothing to do. Any task that arrives meanwhile
/// is run by the worker that is awake, and an idle shell sleeps after one spin.
fn spin_before_sleep(spin: std::time::Duration) {
    let until = std::time::Instant::now() + spin;
    while std::time::Instant::now() < until {
        // Yielding, not a bare spin: on two cores a thread of the blocking pool (a database
        // write) may be waiting for this one.
        std::thread::yield_now();
    }
}

/// How long an idle worker spins (`OTPLAB_SPIN_MICROS` to change it, 0 to compare without).
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let color =
        !cli.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let Some(level) = Level::parse(&cli.report) else {
        bail!("--report takes short, iex or sasl, not {:?}", cli.report)
    };
    if !(cli.speed.is_finite() && cli.speed > 0.0) {
        bail!("--speed must be a positive number");
    }
    let options = |persist: PathBuf, color: bool| {
        let mut config = Config::with_dir(persist);
        config.fsync = !cli.no_fsync;
        Options {
            color,
            bare: cli.bare,
            config,
            speed: cli.speed,
            level,
            ..Options::default()
        }
    };
    match &cli.command {
        Some(Command::Bench {
            name,
            n,
            clients,
            json,
            smoke,
        }) => {
            let opts = otplab::bench::Options {
                n: *n,
                clients: *clients,
                smoke: *smoke,
                scratch: cli.persist.clone(),
            };
            let names: Vec<&str> = if name == "all" {
                otplab::bench::NAMES.to_vec()
            } else {
                vec![name.as_str()]
            };
            for name in names {
                let figures = otplab::bench::run(name, &opts)
                    .await
                    .map_err(|e| anyhow::anyhow!("bench {name}: {e}"))?;
                let mut out = std::io::stdout().lock();
                for f in figures {
                    // A closed pipe (`| head`) ends the output, not in a panic.
                    if writeln!(out, "{}", if *json { f.json() } else { f.line() }).is_err() {
                        std::process::exit(0);
                    }
                }
            }
            // The benchmarks leave their processes running (100k lists, 1M spawned): ending
            // here spares tearing them down one by one, which is no part of any figure.
            let _ = std::io::stdout().flush();
            std::process::exit(0)
        }
        None => {
            let persist = cli
                .persist
                .clone()
                .unwrap_or_else(|| PathBuf::from("persist"));
            let _lock = claim(&persist)?;
            let session = Session::start(options(persist, color)).await;
            start_recording(&session, &cli.record);
            if let Some(c) = &cli.cookie {
                let _ = otplab::shell::commands::COOKIE_FLAG.set(c.clone());
            }
            // A node that cannot be reached is one line, and the shell starts on its own
            // system, as after a failed `connect`.
            if let Some(node) = &cli.connect {
                match otplab::shell::commands::attach(&session.ctx, node).await {
                    Ok(line) => println!("{line}"),
                    Err(e) => eprintln!("otplab: {e}; starting on otplab's own system"),
                }
            }
            if std::io::stdin().is_terminal() {
                let _listening = listen(&session);
                editor::repl(session, color, Some(live_view())).await;
            } else {
                replay::piped(session, std::io::stdin()).await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Observe { pid }) => {
            let path = socket::find(*pid)?;
            if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
                bail!("observe draws a full-screen view: run it in a terminal");
            }
            let mut remote = socket::Remote::connect(&path)
                .await
                .with_context(|| format!("cannot attach to {}", path.display()))?;
            terminal::run(&mut remote, color).await?;
            if let Some(why) = remote.ended {
                bail!("{why}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run {
            file,
            step,
            until,
            interactive,
        }) => {
            let text = read_script(file)?;
            let steps = script::parse(&text);
            let last = match until {
                Some(spec) => script::until(&steps, spec).with_context(|| {
                    format!(
                        "{} has no step {spec:?} (a step number from 1, or text of an input)",
                        file.display()
                    )
                })?,
                None => steps.len(),
            };
            let (persist, _guard) = scratch(&cli.persist)?;
            let _lock = claim(&persist)?;
            let mut session = Session::start(options(persist, color)).await;
            start_recording(&session, &cli.record);
            let boot = std::mem::take(&mut session.boot_output);
            for line in boot
                .iter()
                .chain(session.ctx.recording.lines(&boot).as_ref())
            {
                println!("{line}");
            }
            for s in &steps[..last] {
                // The script's comments are the presenter's narration, dimmed on a terminal.
                for note in &s.notes {
                    let note = format!("# {note}");
                    if color {
                        println!("{}", owo_colors::OwoColorize::dimmed(&note));
                    } else {
                        println!("{note}");
                    }
                }
                replay::replay(&mut session, vec![s.input.clone()], true, *step).await;
            }
            if until.is_some() || *interactive {
                // The presenter takes over the same session: its bindings and processes.
                if std::io::stdin().is_terminal() {
                    let _listening = listen(&session);
                    editor::repl(session, color, Some(live_view())).await;
                } else {
                    replay::piped(session, std::io::stdin()).await;
                }
            } else {
                session.shutdown().await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check {
            files,
            against,
            json,
        }) => {
            let mut failed = 0;
            let mut print = |file: &PathBuf, outcome: Result<(), script::Failure>| {
                failed += usize::from(outcome.is_err());
                let name = file.display().to_string();
                let lines = match (*json, against.is_empty()) {
                    (true, _) => vec![script::json_report(&name, &outcome)],
                    (false, true) => script::check_report(&name, &outcome, color),
                    (false, false) => script::against_report(&name, &outcome, color),
                };
                for line in lines {
                    println!("{line}");
                }
            };
            let checked = if against.is_empty() {
                for file in files {
                    let outcome = match read_transcript(file, script::decode) {
                        Ok(steps) => {
                            let (persist, _guard) = scratch(&cli.persist)?;
                            let _lock = claim(&persist)?;
                            let mut session = Session::start(options(persist, false)).await;
                            let inputs = steps.iter().map(|s| s.input.clone()).collect();
                            let ran = replay::replay(&mut session, inputs, false, false).await;
                            session.shutdown().await;
                            let actual: Vec<Vec<String>> =
                                ran.into_iter().map(|(_, lines)| lines).collect();
                            script::compare(&steps, &actual).map_err(script::Failure::Diverged)
                        }
                        Err(e) => Err(script::Failure::Unreadable(e)),
                    };
                    print(file, outcome);
                }
                files.len()
            } else {
                let [file] = files.as_slice() else {
                    bail!(
                        "check --against compares recordings with one script, not {}",
                        files.len()
                    );
                };
                let steps = script::parse(&read_script(file)?);
                for recording in against {
                    let outcome = read_transcript(recording, script::decode_recording)
                        .map_err(script::Failure::Unreadable)
                        .and_then(|done| {
                            script::compare_recording(&steps, &done)
                                .map_err(script::Failure::Diverged)
                        });
                    print(recording, outcome);
                }
                against.len()
            };
            if !*json {
                println!("{}", script::check_summary(checked - failed, failed));
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The live view the REPL opens for `observe`: snapshots of this node, actions as the shell.
fn live_view() -> editor::FullScreen {
    std::sync::Arc::new(|ctx: std::sync::Arc<otplab::shell::context::Ctx>| {
        Box::pin(async move {
            let refused =
                |e: std::io::Error| format!("observe: the terminal refused the view ({e})");
            // Connected to a real node, the view shows that node; a node that goes away
            // while it is up closes it with the line any command would print then.
            if let Some(remote) = ctx.remote() {
                let mut source = otplab::observer::node::NodeSource::open(remote);
                let shown = terminal::run(&mut source, ctx.color).await;
                let gone = source.ended().and_then(|_| {
                    let e = otplab::shell::commands::remote::went_down(&ctx)?;
                    otplab::shell::report::error_block(&e).into_iter().next()
                });
                return match (shown, gone) {
                    (Err(e), _) => Some(refused(e)),
                    (Ok(()), gone) => gone,
                };
            }
            let shell = otplab::runtime::Pid(ctx.shell.load(std::sync::atomic::Ordering::Relaxed));
            let persist = ctx.config().persist_dir.display().to_string();
            let mut local = terminal::Local {
                sampler: otplab::observer::Sampler::new(&ctx.node, shell, persist),
                shell,
            };
            terminal::run(&mut local, ctx.color)
                .await
                .err()
                .map(refused)
        })
    })
}

/// Lets `otplab observe` attach to this instance; without a socket the shell carries on,
/// saying why once.
fn listen(session: &Session) -> Option<socket::Listening> {
    let instance = socket::Instance {
        node: session.node.clone(),
        shell: session.ctx.shell.clone(),
        persist: session.ctx.config().persist_dir.display().to_string(),
    };
    match socket::listen(instance) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("otplab: `otplab observe` cannot attach to this shell: {e}");
            None
        }
    }
}

/// A transcript's steps, read within the size limit and decoded by `decode`.
fn read_transcript(
    file: &std::path::Path,
    decode: fn(&[u8]) -> Result<&str, script::TranscriptError>,
) -> Result<Vec<script::Step>, script::TranscriptError> {
    let bytes = record::read_bounded(file)?;
    decode(&bytes).and_then(script::steps_of)
}

/// The text of a script to run or compare with, or the one error that ends the command.
fn read_script(file: &std::path::Path) -> anyhow::Result<String> {
    let bytes = record::read_bounded(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let text = script::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    Ok(text.to_string())
}

/// Starts `--record FILE`. A file that cannot be created is one error line, and the shell
/// carries on without a recording.
fn start_recording(session: &Session, file: &Option<PathBuf>) {
    if let Some(file) = file
        && let Err(e) = session.ctx.recording.start(file)
    {
        eprintln!("otplab: {e}");
    }
}

/// Takes the persist folder for this process before anything is printed: a second otplab on
/// one folder would silently overwrite the first one's acknowledged writes (issue 19), and a
/// folder that cannot be made or written is better said before the prompt than at the first
/// store. The lock is held while the returned value lives.
fn claim(persist: &std::path::Path) -> anyhow::Result<FolderLock> {
    FolderLock::acquire(persist).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The persist folder of a replay: the one given, or a fresh temporary folder removed after.
fn scratch(given: &Option<PathBuf>) -> anyhow::Result<(PathBuf, Option<TempDir>)> {
    if let Some(p) = given {
        return Ok((p.clone(), None));
    }
    let dir = std::env::temp_dir().join(format!(
        "otplab-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok((dir.clone(), Some(TempDir(dir))))
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
