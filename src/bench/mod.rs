//! The benchmarks of issue 7, one function per benchmark, each doing exactly the work that
//! `scripts/beam/*.exs` do on the BEAM, one file here per script there, so that
//! `scripts/bench-vs-beam.sh` compares like with like: the profiler through both caches, the
//! chapter's load tests, `add_entry`/`entries` and the database drain, the cost of calls,
//! casts, spawns and idle GenServers, a flooded mailbox, recovery after kills, and the
//! restarts of a crash-looping child.
//! `floor` has no script: it does the work of `call`, `cast` and `spawn` with bare tokio on
//! the same runtime, the yardstick of how far each primitive is from tokio itself.
//!
//! It exists so the figures come from the library itself (the `otplab bench` subcommand and
//! the smoke test both call [`run`]), not from a separate harness that could drift from what
//! users run. Each benchmark starts its own node and its own temporary persist folder, and
//! returns [`Figure`]s; printing is left to the caller. Memory figures are resident set size
//! read from `/proc/self/statm` (the process's, so they include the allocator's slack), where
//! the BEAM reports `:erlang.memory(:total)`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

mod cache;
mod crash_loop;
mod entries;
mod flood;
mod floor;
mod loadtest;
mod observer;
mod primitives;
mod recovery;

use crate::runtime::term::{BoxFuture, json_str};
use crate::runtime::{Date, ExitReason, Node, NodeConfig, Process, SpawnOpts, Term};
use crate::todo::{self, CacheKind, Config};

pub use crate::profiler::cache::{uniform, us_per};

/// Every benchmark, in the order `bench all` runs them.
pub const NAMES: &[&str] = &[
    "cache-gen",
    "cache-ets",
    "loadtest-chapter",
    "loadtest-system",
    "loadtest-ets",
    "entries",
    "call",
    "cast",
    "spawn",
    "floor",
    "genserver-start",
    "flood",
    "recovery",
    "crash-loop",
    "observer",
];

/// One measured figure: `RESULT <bench>: <metric> <value> <unit>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub bench: &'static str,
    pub metric: String,
    pub value: f64,
    pub unit: &'static str,
}

impl Figure {
    pub(crate) fn new(
        bench: &'static str,
        metric: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Figure {
            bench,
            metric: metric.into(),
            value,
            unit,
        }
    }

    /// The plain line.
    pub fn line(&self) -> String {
        format!(
            "RESULT {}: {} {} {}",
            self.bench,
            self.metric,
            number(self.value),
            self.unit
        )
    }

    /// One JSON object, formatted by hand.
    pub fn json(&self) -> String {
        let value = if self.value.is_finite() {
            number(self.value)
        } else {
            "null".to_string()
        };
        format!(
            "{{\"bench\":{},\"metric\":{},\"value\":{},\"unit\":{}}}",
            json_str(self.bench),
            json_str(&self.metric),
            value,
            json_str(self.unit)
        )
    }
}

fn number(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Sizes and settings of a run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The main size: operations per client, lists, calls, processes, repetitions.
    pub n: Option<u64>,
    /// Concurrency of the cache benchmarks (default: both 1 and 100).
    pub clients: Option<u64>,
    /// Tiny sizes, for the smoke test and `bench all --smoke`.
    pub smoke: bool,
    /// Where the temporary persist folders go (default: the system's temp folder).
    pub scratch: Option<PathBuf>,
}

impl Options {
    pub(crate) fn size(&self, full: u64, smoke: u64) -> u64 {
        self.n
            .unwrap_or(if self.smoke { smoke } else { full })
            .max(1)
    }
}

/// Runs one benchmark by name on a fresh node.
pub async fn run(name: &str, opts: &Options) -> Result<Vec<Figure>, String> {
    match name {
        "cache-gen" => cache::cache_bench("cache-gen", CacheKind::Process, opts).await,
        "cache-ets" => cache::cache_bench("cache-ets", CacheKind::Ets, opts).await,
        "loadtest-chapter" => loadtest::loadtest_chapter(opts).await,
        "loadtest-system" => {
            loadtest::loadtest_system("loadtest-system", CacheKind::Process, opts).await
        }
        "loadtest-ets" => loadtest::loadtest_system("loadtest-ets", CacheKind::Ets, opts).await,
        "entries" => entries::entries(opts).await,
        "call" => primitives::call(opts).await,
        "cast" => primitives::cast(opts).await,
        "spawn" => primitives::spawn(opts).await,
        "floor" => floor::floor(opts).await,
        "genserver-start" => primitives::genserver_start(opts).await,
        "flood" => flood::flood(opts).await,
        "recovery" => recovery::recovery(opts).await,
        "crash-loop" => crash_loop::crash_loop(opts).await,
        "observer" => observer::observer(opts).await,
        other => Err(format!(
            "no benchmark {other:?}; one of: all, {}",
            NAMES.join(", ")
        )),
    }
}

/// Resident set size of this OS process, in bytes (`/proc/self/statm`, 4 KiB pages).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// A persist folder removed when dropped.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new(opts: &Options, tag: &str) -> Scratch {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = opts.scratch.clone().unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "otplab-bench-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn node() -> Node {
    Node::new(NodeConfig {
        max_processes: 4_000_000,
        ..NodeConfig::default()
    })
}

/// Runs `f` inside a fresh process of `node` and returns what it returns.
pub(super) async fn inside<T, F>(node: &Node, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut Process) -> BoxFuture<'a, T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    node.spawn(SpawnOpts::default(), move |p: &mut Process| {
        Box::pin(async move {
            let out = f(p).await;
            let _ = tx.send(out);
            ExitReason::Normal
        })
    })
    .map_err(|e| e.to_string())?;
    rx.await
        .map_err(|_| "the benchmark process died".to_string())
}

/// Starts the chapter 9 tree on a fresh node with a fresh persist folder.
pub(super) async fn system(
    kind: CacheKind,
    fsync: bool,
    dir: &Scratch,
) -> Result<(Node, Arc<Config>), String> {
    let mut config = Config::with_dir(&dir.0);
    config.cache = kind;
    config.fsync = fsync;
    let config = Arc::new(config);
    let node = node();
    todo::supervisor::start(&node, config.clone())
        .await
        .map_err(|e| format!("the to-do system did not start: {e}"))?;
    Ok((node, config))
}

pub(super) fn dentist() -> Term {
    Term::atom_map(vec![
        ("date", Term::Date(date())),
        ("title", Term::str("Dentist")),
    ])
}

pub(super) fn date() -> Date {
    Date::new(2023, 12, 19).expect("a valid date")
}

pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Waits until the node has no process but `keep` left (after a mass stop).
pub(super) async fn settle(node: &Node, keep: usize) {
    let t = Instant::now();
    while (node.count() > keep || node.tasks() > keep) && t.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Time and resident-memory growth per process of `n` started ones.
pub(super) fn per_process(
    bench: &'static str,
    metric: &'static str,
    elapsed: Duration,
    grown: u64,
    n: u64,
) -> Vec<Figure> {
    vec![
        Figure::new(bench, metric, us_per(elapsed, n), "us/proc"),
        Figure::new(bench, "memory", grown as f64 / n as f64, "bytes/proc"),
    ]
}
