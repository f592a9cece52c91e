//! `scripts/beam/cache.exs`: seed 001's profile through both caches, the process cache and
//! the ETS cache, on `crate::profiler`'s workload.

use std::sync::Arc;

use crate::profiler::{self, cache::CacheLookups, cache::create_lists};
use crate::runtime::Process;
use crate::todo::CacheKind;

use super::{Figure, Options, Scratch, err, inside, system};

/// `Profiler.run(fn -> server_process("list #{:rand.uniform(100)}") end, N, C)` after creating
/// "list 1".."list 100", at 1 client x 100k and 100 clients x 10k (or `--clients` only).
pub(super) async fn cache_bench(
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
            create_lists(p, &config).await.map_err(err)?;
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
