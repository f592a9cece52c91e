//! The commands that load a process or the system and measure it: `flood` (a mailbox under
//! casts or calls), `flood database` (the chapter's database shapes on the same stores),
//! `profile` and `loadtest` (the cache workloads of `crate::profiler::cache`, which the
//! benchmarks run too), with a progress line on a terminal for runs longer than a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::profiler::{self, cache as workload};
use crate::runtime::{Date, Envelope, ExitReason, Process, Term, atom};
use crate::todo::list::List;
use crate::todo::{DatabaseKind, cache, database, database_worker, process_registry};

use super::args::{Target, target, value};
use crate::shell::ast::{Arg, ArgKind};
use crate::shell::context::{Eval, R, arg_error, int_of, ok};

/// `flood TARGET N [--call|--cast] [--clients C]`: N requests to TARGET from C clients,
/// watching its mailbox; calls show backpressure, casts a mailbox growing as memory.
pub async fn flood(
    ev: &mut Eval<'_>,
    t: Target<'_>,
    n: &Arg,
    calls: bool,
    clients: Option<&Arg>,
) -> R {
    let n = match n.kind {
        ArgKind::Int(n) if n > 0 => n as u64,
        _ => return Err(arg_error("flood TARGET N: N must be a positive integer")),
    };
    let pid = target(ev, t).await?;
    let clients = match clients.map(|a| &a.kind) {
        Some(ArgKind::Int(c)) if *c > 0 => *c as u64,
        None => 1,
        _ => return Err(arg_error("--clients takes a positive integer")),
    };
    let label = ev
        .ctx
        .node
        .info(pid)
        .map(|i| i.label.to_string())
        .unwrap_or_default();
    let message = move |i: u64| -> Term {
        match label.as_str() {
            "Todo.DatabaseWorker" if calls => Term::tuple(vec![atom("get"), Term::str("flood")]),
            "Todo.DatabaseWorker" => {
                Term::tuple(vec![atom("store"), Term::str("flood"), Term::Int(i as i64)])
            }
            "Counter" | "SlowCounter" | "SlowButReponsiveCounter" => {
                Term::tuple(vec![atom("inc_of"), Term::Int(1)])
            }
            _ => Term::tuple(vec![atom("flood"), Term::Int(i as i64)]),
        }
    };
    let message = Arc::new(message);
    let started = tokio::time::Instant::now();
    let me = ev.p.pid();
    let per = n / clients;
    for c in 0..clients {
        let count = per + u64::from(c < n % clients);
        let message = message.clone();
        ev.p.spawn(move |w: &mut Process| {
            Box::pin(async move {
                let t0 = tokio::time::Instant::now();
                for i in 0..count {
                    if calls {
                        let _ = w.call(pid, message(i), Some(Duration::from_secs(60))).await;
                    } else {
                        w.cast(pid, message(i));
                    }
                }
                w.send(
                    me,
                    Term::tuple(vec![
                        atom("flooded"),
                        Term::Int(t0.elapsed().as_micros() as i64),
                    ]),
                );
                ExitReason::Normal
            })
        })
        .map_err(|e| e.reason())?;
    }
    let mut blocked = 0i64;
    let mut peak = 0usize;
    for _ in 0..clients {
        loop {
            if let Some(i) = ev.ctx.node.info(pid) {
                peak = peak.max(i.message_queue_len);
            }
            let got =
                ev.p.receive_match(
                    |e| matches!(e, Envelope::Message(t) if t.tag() == Some("flooded")),
                    Some(Duration::from_millis(10)),
                )
                .await;
            if let Some(Envelope::Message(Term::Tuple(t))) = got {
                blocked += t[1].as_int().unwrap_or(0);
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let queued = ev
        .ctx
        .node
        .info(pid)
        .map(|i| i.message_queue_len)
        .unwrap_or(0);
    let peak = peak.max(queued);
    let text = if calls {
        format!(
            "{n} calls from {clients} client(s) in {:.1} ms: each client blocked {:.1} ms on average (backpressure); mailbox peak {peak}, now {queued}",
            elapsed.as_secs_f64() * 1000.0,
            blocked as f64 / clients as f64 / 1000.0
        )
    } else {
        format!(
            "{n} casts from {clients} client(s) in {:.1} ms, never blocked; mailbox now {queued} (peak {peak}): casts queue up as memory",
            elapsed.as_secs_f64() * 1000.0
        )
    };
    ev.p.puts(text);
    Ok(Term::keyword(vec![
        ("sent", Term::Int(n as i64)),
        ("message_queue_len", Term::from(queued)),
        ("peak", Term::from(peak)),
    ]))
}

/// `flood database N`: N stores of N different lists through `Todo.Database.store`, then the
/// time until every worker has written them. Compares the chapter's shapes on the same work:
/// one process (`start --single-db`), a process per request (`--spawn-db`), the pool of three.
pub async fn flood_database(ev: &mut Eval<'_>, n: &Arg) -> R {
    let n = match n.kind {
        ArgKind::Int(n) if n > 0 => n as u64,
        _ => return Err(arg_error("flood database N: N must be a positive integer")),
    };
    let config = ev.ctx.config();
    let baseline = ev.ctx.node.count();
    let started = tokio::time::Instant::now();
    let mut list = List::new();
    list.add_entry(
        Date::new(2023, 12, 19).unwrap_or(Date {
            year: 2023,
            month: 12,
            day: 19,
        }),
        "Dentist",
    );
    let data = list.to_term();
    for i in 0..n {
        database::store(ev.p, &config, &format!("flood {i}"), data.clone()).await;
    }
    let sent = started.elapsed();
    let mut peak = 0;
    let workers = if config.database == DatabaseKind::Pool {
        database::POOL_SIZE
    } else {
        1
    };
    for w in 1..=workers {
        if let Some(pid) = process_registry::whereis_name(ev.p, database_worker::key(w)).await {
            peak = peak.max(
                ev.ctx
                    .node
                    .info(pid)
                    .map(|i| i.message_queue_len)
                    .unwrap_or(0),
            );
        }
    }
    for w in 1..=workers {
        let key = (0..n)
            .map(|i| format!("flood {i}"))
            .find(|k| database::choose_worker(&config, k) == w);
        if let Some(key) = key {
            database::sync(ev.p, &config, &key).await?;
        }
    }
    // Spawned writers outlive the worker's answer: wait for them to finish too.
    while ev.ctx.node.count() > baseline && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let drained = started.elapsed();
    let shape = match config.database {
        DatabaseKind::Pool => "a pool of 3 workers",
        DatabaseKind::Single => "one database process",
        DatabaseKind::SpawnPerRequest => "a process per request",
        DatabaseKind::Bypass => "no database process (the caller writes)",
    };
    ev.p.puts(format!(
        "{n} stores through {shape}: sent in {:.1} ms, all written after {:.1} ms; the busiest mailbox held {peak}",
        sent.as_secs_f64() * 1000.0,
        drained.as_secs_f64() * 1000.0
    ));
    Ok(Term::keyword(vec![
        ("stores", Term::Int(n as i64)),
        ("written_ms", Term::Int(drained.as_millis() as i64)),
        ("peak", Term::from(peak)),
    ]))
}

/// `profile cache N C`: seed 001's profile of the cache, N lookups by each of C clients.
pub async fn profile(ev: &mut Eval<'_>, operations: Option<u64>, clients: Option<u64>) -> R {
    let (ops, conc) = (operations.unwrap_or(100_000), clients.unwrap_or(1));
    let config = ev.ctx.config();
    workload::create_lists(ev.p, &config).await?;
    let progress = Progress::start("profile", ops * conc);
    let op = Arc::new(workload::CacheLookups {
        config,
        done: progress.counter(),
    });
    let outcome = profiler::run(ev.p, op, ops, conc).await;
    progress.finish();
    ev.p.puts(format!("{} reqs/sec\n", outcome?.rate.round() as u64));
    ok()
}

/// `loadtest N`: the chapter's load test, N new lists (`put`) then the same N again (`get`).
pub async fn loadtest(ev: &mut Eval<'_>, n: &Arg) -> R {
    let n = int_of(&value(ev, n).await?)?.max(1) as u64;
    let config = ev.ctx.config();
    let progress = Progress::start("loadtest", 2 * n);
    let p: &Process = ev.p;
    let mut lookup = |p, name: workload::Name| -> crate::runtime::term::BoxFuture<'_, _> {
        let config = &config;
        Box::pin(async move { cache::server_process(p, config, name.as_str()).await })
    };
    let tick = |k| progress.add(k);
    let put = workload::load_pass(p, 0..n, &mut lookup, &tick).await;
    let get = match &put {
        Ok(_) => workload::load_pass(p, 0..n, &mut lookup, &tick).await,
        Err(_) => Ok(Duration::ZERO),
    };
    progress.finish();
    let (put, get) = (workload::us_per(put?, n), workload::us_per(get?, n));
    ev.p.puts(format!("average put {put:.6} µs\naverage get {get:.6} µs"));
    ok()
}

/// A progress bar on one terminal line, shown once a run has taken a second; nothing at all
/// when standard output is not a terminal (scripts, `check`, pipes), which `indicatif` tells.
/// The work counts in an atomic the bar reads every 100 ms, so counting costs an operation no
/// more than a relaxed add.
struct Progress {
    bar: ProgressBar,
    done: Option<Arc<AtomicU64>>,
    drawer: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(label: &'static str, total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
        if bar.is_hidden() || total == 0 {
            return Progress {
                bar,
                done: None,
                drawer: None,
            };
        }
        bar.set_draw_target(ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {pos}/{len}")
        {
            bar.set_style(style.progress_chars("# "));
        }
        bar.set_prefix(label);
        let done = Arc::new(AtomicU64::new(0));
        let (d, shown) = (done.clone(), bar.clone());
        let drawer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            shown.set_draw_target(ProgressDrawTarget::stdout());
            loop {
                shown.set_position(d.load(Ordering::Relaxed).min(total));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress {
            bar,
            done: Some(done),
            drawer: Some(drawer),
        }
    }

    /// The counter the work bumps, when a bar is shown.
    fn counter(&self) -> Option<Arc<AtomicU64>> {
        self.done.clone()
    }

    fn add(&self, n: u64) {
        if let Some(d) = &self.done {
            d.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Stops drawing and clears the line.
    fn finish(self) {
        if let Some(d) = &self.drawer {
            d.abort();
        }
        self.bar.finish_and_clear();
    }
}
