//! `scripts/beam/loadtest.exs`: the chapter's load tests, through the chapter 7.2 cache of
//! `todo::chapter7` and through the chapter 9 system with either cache, on the load pass of
//! `crate::profiler::cache`.

use crate::profiler::cache::{Name, load_pass};
use crate::runtime::gen_server::{self, StartOpts};
use crate::runtime::{Pid, Process, Term, atom};
use crate::todo::chapter7::ChapterCache;
use crate::todo::{self, CacheKind, cache};

use super::{Figure, Options, Scratch, err, inside, node, rss_bytes, system, us_per};

/// The interval loop of the load test: for each block of up to 100k new names `cache_#{i}`,
/// time `put` (server_process of each new name), then `get` (the same names again).
async fn load_intervals<'a, F, Fut>(
    bench: &'static str,
    p: &'a mut Process,
    n: u64,
    mut op: F,
) -> Result<Vec<Figure>, String>
where
    F: FnMut(&'a Process, Name) -> Fut,
    Fut: Future<Output = Result<Pid, String>>,
{
    let p: &'a Process = p;
    let interval = n.min(100_000);
    let before = rss_bytes();
    let mut puts = vec![];
    let mut gets = vec![];
    let mut start = 0;
    while start < n {
        let end = (start + interval).min(n);
        let put = load_pass(p, start..end, &mut op, &|_| {}).await?;
        puts.push(us_per(put, end - start));
        let get = load_pass(p, start..end, &mut op, &|_| {}).await?;
        gets.push(us_per(get, end - start));
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
pub(super) async fn loadtest_chapter(opts: &Options) -> Result<Vec<Figure>, String> {
    let n = opts.size(1_000_000, 2_000);
    let node = node();
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let cache = gen_server::start::<ChapterCache>(p.node(), (), StartOpts::default())
                .await
                .map_err(err)?;
            load_intervals("loadtest-chapter", p, n, move |p, name: Name| async move {
                let request = Term::tuple(vec![atom("server_process"), Term::str(name.as_str())]);
                match p.call(cache, request, Some(todo::CALL_TIMEOUT)).await {
                    Ok(Term::Pid(pid)) => Ok(pid),
                    Ok(other) => Err(format!("unexpected reply {other}")),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
        })
    })
    .await?
}

/// The chapter 9 load test: put = `server_process` of a new name (registry miss, cache call,
/// dynamic supervisor, `Todo.Server.init`, registration; the server then reads the database
/// in `handle_continue`); get = the lookup of an existing one (registry call or ETS read).
pub(super) async fn loadtest_system(
    bench: &'static str,
    kind: CacheKind,
    opts: &Options,
) -> Result<Vec<Figure>, String> {
    let n = opts.size(100_000, 2_000);
    let dir = Scratch::new(opts, bench);
    let (node, config) = system(kind, true, &dir).await?;
    inside(&node, move |p: &mut Process| {
        Box::pin(async move {
            let config = &*config;
            load_intervals(bench, p, n, move |p, name: Name| async move {
                cache::server_process(p, config, name.as_str())
                    .await
                    .map_err(err)
            })
            .await
        })
    })
    .await?
}
