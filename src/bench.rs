//! The benchmarks of issue 7, one function per benchmark, each doing exactly the work that
//! `anchors/beam-figures.md` describes for the BEAM (and that `scripts/beam/*.exs` do there),
//! so that `scripts/bench-vs-beam.sh` compares like with like: the profiler through both
//! caches, the chapter's load tests, `add_entry`/`entries` and the database drain, the cost
//! of calls, casts, spawns and idle GenServers, a flooded mailbox, and recovery after kills.
//!
//! It exists so the figures come from the library itself (the `otplab bench` subcommand and
//! the smoke test both call [`run`]), not from a separate harness that could drift from what
//! users run. Each benchmark starts its own node and its own temporary persist folder, and
//! returns [`Figure`]s; printing is left to the caller. Memory figures are resident set size
//! read from `/proc/self/statm` (the process's, so they include the allocator's slack), where
//! the BEAM reports `:erlang.memory(:total)`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::profiler;
use crate::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use crate::runtime::term::BoxFuture;
use crate::runtime::{
    Date, Dest, Envelope, ExitReason, From, Node, NodeConfig, Pid, Process, SpawnOpts, Term, atom,
};
use crate::todo::{self, CacheKind, Config, cache, database, database_worker, list::List, server};

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
    "genserver-start",
    "flood",
    "recovery",
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
    fn new(bench: &'static str, metric: impl Into<String>, value: f64, unit: &'static str) -> Self {
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

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
    fn size(&self, full: u64, smoke: u64) -> u64 {
        self.n
            .unwrap_or(if self.smoke { smoke } else { full })
            .max(1)
    }
}

/// Runs one benchmark by name on a fresh node.
pub async fn run(name: &str, opts: &Options) -> Result<Vec<Figure>, String> {
    match name {
        "cache-gen" => cache_bench("cache-gen", CacheKind::Process, opts).await,
        "cache-ets" => cache_bench("cache-ets", CacheKind::Ets, opts).await,
        "loadtest-chapter" => loadtest_chapter(opts).await,
        "loadtest-system" => loadtest_system("loadtest-system", CacheKind::Process, opts).await,
        "loadtest-ets" => loadtest_system("loadtest-ets", CacheKind::Ets, opts).await,
        "entries" => entries(opts).await,
        "call" => call(opts).await,
        "cast" => cast(opts).await,
        "spawn" => spawn(opts).await,
        "genserver-start" => genserver_start(opts).await,
        "flood" => flood(opts).await,
        "recovery" => recovery(opts).await,
        other => Err(format!(
            "no benchmark {other:?}; one of: all, {}",
            NAMES.join(", ")
        )),
    }
}

// ----- helpers -------------------------------------------------------------------------------

/// Resident set size of this OS process, in bytes (`/proc/self/statm`, 4 KiB pages).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// A persist folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(opts: &Options, tag: &str) -> Scratch {
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

fn node() -> Node {
    Node::new(NodeConfig {
        max_processes: 4_000_000,
        ..NodeConfig::default()
    })
}

/// Runs `f` inside a fresh process of `node` and returns what it returns.
async fn inside<T, F>(node: &Node, f: F) -> Result<T, String>
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
async fn system(
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

fn us_per(elapsed: Duration, n: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n.max(1) as f64
}

thread_local! {
    static RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// `:rand.uniform(n)`: 1..=n, from a per-thread xorshift (no shared state between clients).
pub fn uniform(n: u64) -> u64 {
    RNG.with(|c| {
        let mut x = c.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        x % n.max(1) + 1
    })
}

fn dentist() -> Term {
    Term::atom_map(vec![
        ("date", Term::Date(date())),
        ("title", Term::str("Dentist")),
    ])
}

fn date() -> Date {
    Date::new(2023, 12, 19).expect("a valid date")
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ----- 3a: the profiler through the caches ---------------------------------------------------

/// `Profiler.run(fn -> server_process("list #{:rand.uniform(100)}") end, N, C)` after creating
/// "list 1".."list 100", at 1 client x 100k and 100 clients x 10k (or `--clients` only).
async fn cache_bench(
    bench: &'static str,
    kind: CacheKind,
    opts: &Options,
) -> Result<Vec<Figure>, String> {
    let dir = Scratch::new(opts, bench);
    let (node, config) = system(kind, true, &dir).await?;
    let runs: Vec<(u64, u64)> = match opts.clients {
        Some(c) => vec![(c.max(1), opts.size(100_000, 200))],
        None => vec![(1, opts.size(100_000, 200)), (100, opts.size(10_000, 20))],
    };
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            for i in 1..=100 {
                cache::server_process(p, &config, &format!("list {i}"))
                    .await
                    .map_err(err)?;
            }
            let mut out = vec![];
            for (clients, ops) in runs {
                let op = Arc::new(CacheLookups {
                    config: config.clone(),
                    done: None,
                });
                let outcome = profiler::run(p, op, ops, clients).await.map_err(err)?;
                let metric = if clients == 1 {
                    "1_client".to_string()
                } else {
                    format!("{clients}_clients")
                };
                out.push(Figure::new(bench, metric, outcome.rate, "reqs/s"));
            }
            Ok(out)
        })
    })
    .await?
}

/// The operation of seed 001's profile: `server_process("list #{:rand.uniform(100)}")`.
pub struct CacheLookups {
    pub config: Arc<Config>,
    /// Operations done so far, for a progress bar.
    pub done: Option<Arc<AtomicU64>>,
}

impl profiler::Operation for CacheLookups {
    fn run<'a>(&'a self, p: &'a mut Process) -> BoxFuture<'a, Result<(), ExitReason>> {
        Box::pin(async move {
            let name = format!("list {}", uniform(100));
            let r = cache::server_process(p, &self.config, &name).await;
            if let Some(done) = &self.done {
                done.fetch_add(1, Ordering::Relaxed);
            }
            r.map(|_| ())
        })
    }
}

// ----- 3b: the load tests ----------------------------------------------------------------------

/// The interval loop of the load test: for each block of up to 100k new names `cache_#{i}`,
/// time `put` (server_process of each new name), then `get` (the same names again).
async fn load_intervals<'a, F>(
    bench: &'static str,
    p: &'a mut Process,
    n: u64,
    mut op: F,
) -> Result<Vec<Figure>, String>
where
    F: FnMut(&'a Process, String) -> BoxFuture<'a, Result<Pid, String>>,
{
    let p: &'a Process = p;
    let interval = n.min(100_000);
    let before = rss_bytes();
    let mut puts = vec![];
    let mut gets = vec![];
    let mut start = 0;
    while start < n {
        let end = (start + interval).min(n);
        let t = Instant::now();
        for i in start..end {
            op(p, format!("cache_{i}")).await?;
        }
        puts.push(us_per(t.elapsed(), end - start));
        let t = Instant::now();
        for i in start..end {
            op(p, format!("cache_{i}")).await?;
        }
        gets.push(us_per(t.elapsed(), end - start));
        start = end;
    }
    let after = rss_bytes();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut out = vec![
        Figure::new(bench, "put", mean(&puts), "us"),
        Figure::new(bench, "get", mean(&gets), "us"),
        Figure::new(bench, "memory", after as f64 / 1048576.0, "MiB"),
        Figure::new(
            bench,
            "memory_per_list",
            after.saturating_sub(before) as f64 / n as f64,
            "bytes",
        ),
    ];
    for (k, (put, get)) in puts.iter().zip(&gets).enumerate() {
        let upto = ((k as u64 + 1) * interval).min(n);
        out.push(Figure::new(bench, format!("put_upto_{upto}"), *put, "us"));
        out.push(Figure::new(bench, format!("get_upto_{upto}"), *get, "us"));
    }
    Ok(out)
}

/// The chapter 7.2 load test: one unsupervised GenServer cache holding `name => pid`; a put is
/// one call in which it `GenServer.start`s a plain to-do server (no registry, no database).
async fn loadtest_chapter(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(1_000_000, 2_000);
    let node = node();
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let cache = gen_server::start::<ChapterCache>(p.node(), (), StartOpts::default())
                .await
                .map_err(err)?;
            load_intervals("loadtest-chapter", p, n, move |p, name| {
                Box::pin(async move {
                    let request = Term::Tuple(vec![atom("server_process"), Term::str(name)]);
                    match p.call(cache, request, Some(todo::CALL_TIMEOUT)).await {
                        Ok(Term::Pid(pid)) => Ok(pid),
                        Ok(other) => Err(format!("unexpected reply {other}")),
                        Err(e) => Err(e.to_string()),
                    }
                })
            })
            .await
        })
    })
    .await?
}

/// The chapter 7.2 `Todo.Cache`: a map `name => pid`.
struct ChapterCache {
    servers: HashMap<Arc<str>, Pid>,
}

impl GenServer for ChapterCache {
    type Arg = ();

    fn module() -> &'static str {
        "Todo.Cache"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(ChapterCache {
            servers: HashMap::new(),
        }))
    }

    async fn handle_call(
        &mut self,
        request: Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let Some([_, Term::Str(name)]) = request.as_tuple() else {
            return Err(ExitReason::function_clause("Todo.Cache.handle_call/3"));
        };
        if let Some(pid) = self.servers.get(name) {
            return Ok(Reply::Reply(Term::Pid(*pid)));
        }
        let pid = gen_server::start::<PlainServer>(p.node(), (), StartOpts::default())
            .await
            .map_err(|e| e.reason())?;
        self.servers.insert(name.clone(), pid);
        Ok(Reply::Reply(Term::Pid(pid)))
    }

    fn state(&self) -> Term {
        Term::from(self.servers.len())
    }
}

/// The chapter 7.2 `Todo.Server`: a `Todo.List` in a GenServer, nothing else.
struct PlainServer {
    list: List,
}

impl GenServer for PlainServer {
    type Arg = ();

    fn module() -> &'static str {
        "Todo.Server"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(PlainServer { list: List::new() }))
    }

    fn state(&self) -> Term {
        self.list.to_term()
    }
}

/// The chapter 9 load test: put = `server_process` of a new name (registry miss, cache call,
/// dynamic supervisor, `Todo.Server.init`, registration; the server then reads the database
/// in `handle_continue`); get = the lookup of an existing one (registry call or ETS read).
async fn loadtest_system(
    bench: &'static str,
    kind: CacheKind,
    opts: &Options,
) -> Result<Vec<Figure>, String> {
    let n = opts.size(100_000, 2_000);
    let dir = Scratch::new(opts, bench);
    let (node, config) = system(kind, true, &dir).await?;
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            load_intervals(bench, p, n, move |p, name| {
                let config = config.clone();
                Box::pin(async move { cache::server_process(p, &config, &name).await.map_err(err) })
            })
            .await
        })
    })
    .await?
}

// ----- 3b: add_entry, entries and the database drain ----------------------------------------

/// 20k lists created and warmed (one `entries` call each); then `add_entry` (a cast) on every
/// pid, `entries` (a call behind that cast, checked to hold one entry) on every pid, and the
/// time until every database worker answers a sync call, i.e. every list is written. Run with
/// fsync (the default) and again without (`_nofsync`, like the book's `File.write!`).
async fn entries(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(20_000, 300);
    let mut out = vec![];
    for fsync in [true, false] {
        let suffix = if fsync { "" } else { "_nofsync" };
        let dir = Scratch::new(opts, "entries");
        let (node, config) = system(CacheKind::Process, fsync, &dir).await?;
        let figures = inside(&node, move |p: &mut Process| {
            Box::pin(async move {
                let mut pids = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let pid = cache::server_process(p, &config, &format!("list_{i}"))
                        .await
                        .map_err(err)?;
                    server::entries(p, pid, date()).await.map_err(err)?;
                    pids.push(pid);
                }
                let t = Instant::now();
                for pid in &pids {
                    server::add_entry(p, *pid, dentist());
                }
                let add = us_per(t.elapsed(), n);
                let t = Instant::now();
                for pid in &pids {
                    match server::entries(p, *pid, date()).await.map_err(err)? {
                        Term::List(l) if l.len() == 1 => {}
                        other => return Err(format!("entries returned {other}")),
                    }
                }
                let get = us_per(t.elapsed(), n);
                let t = Instant::now();
                for id in 1..=database::POOL_SIZE {
                    todo::call_via(
                        p,
                        database_worker::key(id),
                        atom("sync"),
                        Duration::from_secs(600),
                    )
                    .await
                    .map_err(err)?;
                }
                let drain = t.elapsed().as_secs_f64() * 1e3;
                Ok(vec![
                    Figure::new("entries", format!("add_entry{suffix}"), add, "us"),
                    Figure::new("entries", format!("entries{suffix}"), get, "us"),
                    Figure::new("entries", format!("db_drain{suffix}"), drain, "ms"),
                ])
            })
        })
        .await??;
        out.extend(figures);
    }
    Ok(out)
}

// ----- 3c: primitives ---------------------------------------------------------------------------

/// A GenServer with an integer state: `:ping` answers `:pong`, `:get` the state, the cast
/// `:inc` adds one; with `sleep`, every cast sleeps 1 ms first (the flood's slow server).
struct Bench {
    count: i64,
    sleep: bool,
}

impl GenServer for Bench {
    type Arg = bool;

    fn module() -> &'static str {
        "Bench"
    }

    async fn init(sleep: bool, _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Bench { count: 0, sleep }))
    }

    async fn handle_call(
        &mut self,
        request: Term,
        _from: &From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.is_atom("get") {
            return Ok(Reply::Reply(Term::Int(self.count)));
        }
        Ok(Reply::Reply(atom("pong")))
    }

    async fn handle_cast(
        &mut self,
        _request: Term,
        p: &mut Process,
    ) -> Result<NoReply, ExitReason> {
        if self.sleep {
            p.sleep(Duration::from_millis(1)).await;
        }
        self.count += 1;
        Ok(NoReply::NoReply)
    }

    fn state(&self) -> Term {
        Term::Int(self.count)
    }
}

/// 1M sequential `GenServer.call(pid, :ping)` from one client.
async fn call(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(1_000_000, 2_000);
    let node = node();
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = gen_server::start::<Bench>(p.node(), false, StartOpts::default())
                .await
                .map_err(err)?;
            let ping = atom("ping");
            let t = Instant::now();
            for _ in 0..n {
                p.call(pid, ping.clone(), Some(todo::CALL_TIMEOUT))
                    .await
                    .map_err(err)?;
            }
            let rt = us_per(t.elapsed(), n);
            p.exit(pid, ExitReason::Kill);
            Ok(vec![Figure::new("call", "round_trip", rt, "us")])
        })
    })
    .await?
}

/// 1M `GenServer.cast(pid, :inc)`, then a `:get` call that returns once all are handled.
async fn cast(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(1_000_000, 2_000);
    let node = node();
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let pid = gen_server::start::<Bench>(p.node(), false, StartOpts::default())
                .await
                .map_err(err)?;
            let inc = atom("inc");
            let t = Instant::now();
            for _ in 0..n {
                p.cast(pid, inc.clone());
            }
            let issued = t.elapsed();
            let got = p
                .call(pid, atom("get"), Some(Duration::from_secs(600)))
                .await
                .map_err(err)?;
            let total = t.elapsed();
            if got.as_int() != Some(n as i64) {
                return Err(format!("the server counted {got}, not {n}"));
            }
            p.exit(pid, ExitReason::Kill);
            Ok(vec![
                Figure::new(
                    "cast",
                    "throughput",
                    n as f64 / total.as_secs_f64(),
                    "msg/s",
                ),
                Figure::new("cast", "issue_cost", us_per(issued, n), "us"),
            ])
        })
    })
    .await?
}

/// Waits until the node has no process but `keep` left (after a mass stop).
async fn settle(node: &Node, keep: usize) {
    let t = Instant::now();
    while (node.count() > keep || node.tasks() > keep) && t.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `spawn(fn -> receive do :stop -> :ok end end)` x 1M: time and resident memory per process
/// (the delta includes the pid list, 8 bytes a pid).
async fn spawn(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(1_000_000, 5_000);
    let node = node();
    let figures = inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let before = rss_bytes();
            let t = Instant::now();
            let mut pids = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let pid = p
                    .spawn(|c: &mut Process| {
                        Box::pin(async move {
                            c.receive_match(
                                |e| matches!(e, Envelope::Message(m) if m.is_atom("stop")),
                                None,
                            )
                            .await;
                            ExitReason::Normal
                        })
                    })
                    .map_err(err)?;
                pids.push(pid);
            }
            let elapsed = t.elapsed();
            // Let every new process reach its receive, so its memory is all there.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let after = rss_bytes();
            for pid in pids {
                p.send(pid, atom("stop"));
            }
            Ok::<_, String>(per_process(
                "spawn",
                "spawn",
                elapsed,
                after.saturating_sub(before),
                n,
            ))
        })
    })
    .await??;
    settle(&node, 0).await;
    Ok(figures)
}

/// Time and resident-memory growth per process of `n` started ones.
fn per_process(
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

/// 100k idle GenServers with an integer state: time and resident memory per process.
async fn genserver_start(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(100_000, 2_000);
    let node = node();
    let figures = inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let before = rss_bytes();
            let t = Instant::now();
            let mut pids = Vec::with_capacity(n as usize);
            for _ in 0..n {
                pids.push(
                    gen_server::start::<Bench>(p.node(), false, StartOpts::default())
                        .await
                        .map_err(err)?,
                );
            }
            let elapsed = t.elapsed();
            let after = rss_bytes();
            for pid in pids {
                p.exit(pid, ExitReason::Kill);
            }
            Ok::<_, String>(per_process(
                "genserver-start",
                "start",
                elapsed,
                after.saturating_sub(before),
                n,
            ))
        })
    })
    .await??;
    settle(&node, 0).await;
    Ok(figures)
}

// ----- 3d: flood --------------------------------------------------------------------------------

/// A server whose `handle_cast` sleeps 1 ms, flooded (a) by one process casting
/// `{:store, i, "data"}` as fast as it can for 1 s, (b) by 1000 processes casting once every
/// 10 ms for 1 s. The queue is sampled every 100 ms for 1.5 s. Growth is casts sent over the
/// flood time (a) or the queue at the first sample past 1 s over that time (b); memory per
/// queued message is the resident-memory growth over the queue at the last sample; the drain
/// rate is (sent - queued) over the elapsed time at the last sample.
async fn flood(opts: &Options) -> Result<Vec<Figure>, String> {
    let secs = if opts.smoke { 0.2 } else { 1.0 };
    let clients_b = opts.n.unwrap_or(if opts.smoke { 50 } else { 1000 });
    let mut out = vec![];
    for scenario in ["a", "b"] {
        let node = node();
        let figures = inside(&node, move |p: &mut Process| {
            Box::pin(async move { flood_one(p, scenario, secs, clients_b).await })
        })
        .await??;
        out.extend(figures);
        settle(&node, 0).await;
    }
    Ok(out)
}

async fn flood_one(
    p: &mut Process,
    scenario: &'static str,
    secs: f64,
    clients: u64,
) -> Result<Vec<Figure>, String> {
    let server = gen_server::start::<Bench>(p.node(), true, StartOpts::default())
        .await
        .map_err(err)?;
    let sent = Arc::new(AtomicU64::new(0));
    let flood_for = Duration::from_secs_f64(secs);
    let before = rss_bytes();
    let start = Instant::now();
    let me = p.pid();
    if scenario == "a" {
        let sent = sent.clone();
        p.spawn(move |c: &mut Process| {
            Box::pin(async move {
                let data = Term::str("data");
                let mut i = 0i64;
                loop {
                    for _ in 0..1024 {
                        c.cast(
                            server,
                            Term::Tuple(vec![atom("store"), Term::Int(i), data.clone()]),
                        );
                        i += 1;
                    }
                    if start.elapsed() >= flood_for {
                        break;
                    }
                }
                sent.store(i as u64, Ordering::Release);
                c.send(me, Term::Tuple(vec![atom("flooded"), Term::Int(i)]));
                ExitReason::Normal
            })
        })
        .map_err(err)?;
    } else {
        for _ in 0..clients {
            let sent = sent.clone();
            p.spawn(move |c: &mut Process| {
                Box::pin(async move {
                    let data = Term::str("data");
                    let mut tick = tokio::time::interval(Duration::from_millis(10));
                    let mut i = 0i64;
                    loop {
                        tick.tick().await;
                        if start.elapsed() >= flood_for {
                            break;
                        }
                        c.cast(
                            server,
                            Term::Tuple(vec![atom("store"), Term::Int(i), data.clone()]),
                        );
                        sent.fetch_add(1, Ordering::AcqRel);
                        i += 1;
                    }
                    ExitReason::Normal
                })
            })
            .map_err(err)?;
        }
    }
    // Sample every 100 ms for 1.5x the flood time.
    let mut samples = vec![];
    let mut k = 1u32;
    let sample_every = flood_for.div_f64(10.0);
    while start.elapsed() < flood_for.mul_f64(1.5) {
        tokio::time::sleep_until(start + sample_every * k).await;
        k += 1;
        let queued = p.node().info(server).map_or(0, |i| i.message_queue_len);
        samples.push((start.elapsed(), queued, rss_bytes()));
    }
    let growth = if scenario == "a" {
        // The flooder reports how many it sent once its time is up.
        let got = p
            .receive_match(
                |e| matches!(e, Envelope::Message(t) if t.tag() == Some("flooded")),
                Some(Duration::from_secs(60)),
            )
            .await;
        let Some(Envelope::Message(Term::Tuple(t))) = got else {
            return Err("the flooder did not finish".into());
        };
        t[1].as_int().unwrap_or(0) as f64 / secs
    } else {
        let (at, queued, _) = samples
            .iter()
            .find(|(t, _, _)| *t >= flood_for)
            .copied()
            .unwrap_or(*samples.last().unwrap());
        queued as f64 / at.as_secs_f64()
    };
    let (at, queued, rss) = *samples.last().unwrap();
    let total_sent = sent.load(Ordering::Acquire);
    let per_msg = rss.saturating_sub(before) as f64 / queued.max(1) as f64;
    let drain = total_sent.saturating_sub(queued as u64) as f64 / at.as_secs_f64();
    p.exit(server, ExitReason::Kill);
    let bench = "flood";
    Ok(vec![
        Figure::new(bench, format!("{scenario}_growth"), growth, "msgs/s"),
        Figure::new(
            bench,
            format!("{scenario}_memory_per_msg"),
            per_msg,
            "bytes",
        ),
        Figure::new(bench, format!("{scenario}_drain"), drain, "msgs/s"),
    ])
}

// ----- 3e: start, recovery and stop -------------------------------------------------------------

/// Per repetition, on a fresh tree: start it, the first `server_process("Bob's list")`, the
/// time from killing the registry until `server_process` gives a new live pid whose `entries`
/// answers (retrying every failure at once), the same after killing Bob's server, and stopping
/// the tree. Medians over the repetitions (default 5).
async fn recovery(opts: &Options) -> Result<Vec<Figure>, String> {
    let reps = opts.size(5, 2);
    let dir = Scratch::new(opts, "recovery");
    let mut config = Config::with_dir(&dir.0);
    config.fsync = true;
    let config = Arc::new(config);
    let node = node();
    let rows = inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            p.trap_exit(true);
            let mut rows = vec![];
            for _ in 0..reps {
                rows.push(recovery_once(p, &config).await?);
            }
            Ok::<_, String>(rows)
        })
    })
    .await??;
    let names = [
        "start",
        "first_server_process",
        "registry_kill",
        "server_kill",
        "stop",
    ];
    Ok(names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let mut v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
            v.sort_by(f64::total_cmp);
            Figure::new("recovery", *name, v[v.len() / 2], "us")
        })
        .collect())
}

async fn recovery_once(p: &mut Process, config: &Arc<Config>) -> Result<[f64; 5], String> {
    let us = |t: Instant| t.elapsed().as_secs_f64() * 1e6;
    let t = Instant::now();
    let sup = todo::supervisor::start_link(p, config.clone())
        .await
        .map_err(err)?;
    let start = us(t);
    let t = Instant::now();
    let bob = cache::server_process(p, config, "Bob's list")
        .await
        .map_err(err)?;
    let first = us(t);
    let registry = p
        .node()
        .whereis(todo::process_registry::NAME)
        .ok_or("no registry")?;
    let t = Instant::now();
    p.exit(registry, ExitReason::Kill);
    let bob = until_recovered(p, config, bob).await;
    let registry_kill = us(t);
    let t = Instant::now();
    p.exit(bob, ExitReason::Kill);
    until_recovered(p, config, bob).await;
    let server_kill = us(t);
    let t = Instant::now();
    let watch = p.monitor(sup);
    p.exit(sup, ExitReason::Shutdown);
    p.receive_match(
        |e| matches!(e, Envelope::Message(Term::Tuple(m)) if m.len() == 5 && m[1] == Term::Ref(watch)),
        Some(Duration::from_secs(30)),
    )
    .await
    .ok_or("the tree did not stop")?;
    let stop = us(t);
    // Our link's exit message is of no interest.
    while p.take_match(|e| e.as_exit().is_some()).is_some() {}
    Ok([start, first, registry_kill, server_kill, stop])
}

/// Busy-retries `server_process("Bob's list")` and `entries` until both work with a new pid.
async fn until_recovered(p: &mut Process, config: &Config, old: Pid) -> Pid {
    loop {
        if let Ok(pid) = cache::server_process(p, config, "Bob's list").await
            && pid != old
            && p.node().alive(pid)
            && p.call(
                Dest::Pid(pid),
                Term::Tuple(vec![atom("entries"), Term::Date(date())]),
                Some(todo::CALL_TIMEOUT),
            )
            .await
            .is_ok()
        {
            return pid;
        }
        // The BEAM preempts a busy loop; a task must give way itself.
        tokio::task::yield_now().await;
    }
}
