//! `scripts/beam/entries.exs`: `add_entry` and `entries` on 20k lists, and the time until the
//! database has written them all, with and without fsync.

use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::{Process, Term, atom};
use crate::todo::{self, CacheKind, cache, database, database_worker, server};

use super::{Figure, Options, Scratch, date, dentist, err, inside, system, us_per};

/// 20k lists created and warmed (one `entries` call each); then `add_entry` (a cast) on every
/// pid, `entries` (a call behind that cast, checked to hold one entry) on every pid, and the
/// time until every database worker answers a sync call, i.e. every list is written. Run with
/// fsync (the default) and again without (`_nofsync`, like the book's `File.write!`).
pub(super) async fn entries(opts: &Options) -> Result<Vec<Figure>, String> {
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
