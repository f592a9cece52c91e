//! `scripts/beam/recovery.exs`: starting the tree, the first `server_process`, recovery after
//! killing the registry and after killing a list's server, and stopping the tree.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::{Dest, Envelope, ExitReason, Pid, Process, Term, atom};
use crate::todo::{self, Config, cache};

use super::{Figure, Options, Scratch, date, err, inside, node};

/// Per repetition, on a fresh tree: start it, the first `server_process("Bob's list")`, the
/// time from killing the registry until `server_process` gives a new live pid whose `entries`
/// answers (retrying every failure at once), the same after killing Bob's server, and stopping
/// the tree. Medians over the repetitions (default 5).
pub(super) async fn recovery(opts: &Options) -> Result<Vec<Figure>, String> {
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

pub(super) async fn recovery_once(
    p: &mut Process,
    config: &Arc<Config>,
) -> Result<[f64; 5], String> {
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
pub(super) async fn until_recovered(p: &mut Process, config: &Config, old: Pid) -> Pid {
    loop {
        if let Ok(pid) = cache::server_process(p, config, "Bob's list").await
            && pid != old
            && p.node().alive(pid)
            && p.call(
                Dest::Pid(pid),
                Term::tuple(vec![atom("entries"), Term::Date(date())]),
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
