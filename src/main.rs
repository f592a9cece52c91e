//! The `otplab` binary: the REPL (the default), `run FILE` and `check FILE…` for transcripts,
//! and `bench NAME` for the benchmarks. The only place that uses anyhow: every error here
//! becomes one printed line and an exit code.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

use otplab::shell::editor;
use otplab::shell::report::Level;
use otplab::shell::script;
use otplab::shell::session::{Options, Session};
use otplab::todo::Config;

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
}

#[derive(Subcommand)]
enum Command {
    /// Replays a script and prints a fresh transcript.
    Run {
        file: PathBuf,
        /// Waits for Enter before each input, for presenting in a workshop.
        #[arg(long)]
        step: bool,
    },
    /// Replays scripts and compares them with their transcripts; non-zero on a mismatch.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Runs a benchmark (or `all`) and prints one `RESULT <bench>: <metric> <value> <unit>`
    /// line per figure.
    Bench {
        /// cache-gen, cache-ets, loadtest-chapter, loadtest-system, loadtest-ets, entries,
        /// call, cast, spawn, genserver-start, flood, recovery, or all.
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
    match runtime.block_on(run(cli)) {
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
            let session = Session::start(options(persist, color)).await;
            start_recording(&session, &cli.record);
            if std::io::stdin().is_terminal() {
                editor::repl(session, color).await;
            } else {
                editor::piped(session, std::io::stdin()).await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run { file, step }) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let (persist, _guard) = scratch(&cli.persist)?;
            let mut session = Session::start(options(persist, color)).await;
            for line in std::mem::take(&mut session.boot_output) {
                println!("{line}");
            }
            let inputs = script::parse(&text).into_iter().map(|s| s.input).collect();
            editor::replay(&mut session, inputs, true, *step).await;
            session.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check { files }) => {
            let mut failed = 0;
            for file in files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let steps = script::parse(&text);
                let (persist, _guard) = scratch(&cli.persist)?;
                let mut session = Session::start(options(persist, false)).await;
                let ran = editor::replay(
                    &mut session,
                    steps.iter().map(|s| s.input.clone()).collect(),
                    false,
                    false,
                )
                .await;
                session.shutdown().await;
                let actual: Vec<Vec<String>> = ran.into_iter().map(|(_, lines)| lines).collect();
                let outcome = script::compare(&steps, &actual);
                failed += usize::from(outcome.is_err());
                for line in script::check_report(&file.display().to_string(), &outcome, color) {
                    println!("{line}");
                }
            }
            println!("{}", script::check_summary(files.len() - failed, failed));
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
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
