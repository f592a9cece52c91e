//! `scripts/beam/primitives.exs`: the cost of a call, a cast, a spawn and an idle GenServer.

use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use crate::runtime::{Envelope, ExitReason, From, Process, Term, atom};
use crate::todo;

use super::{Figure, Options, err, inside, node, per_process, rss_bytes, settle, us_per};

/// A GenServer with an integer state: `:ping` answers `:pong`, `:get` the state, the cast
/// `:inc` adds one; with `sleep`, every cast sleeps 1 ms first (the flood's slow server).
pub(super) struct Bench {
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
        request: &Term,
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
pub(super) async fn call(opts: &Options) -> Result<Vec<Figure>, String> {
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
pub(super) async fn cast(opts: &Options) -> Result<Vec<Figure>, String> {
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
            Ok(cast_figures("cast", "", n, issued, total))
        })
    })
    .await?
}

/// The two figures of `n` casts: messages handled per second, counting until the last is
/// handled, and the cost of issuing one; `prefix` goes before each metric's name.
pub(super) fn cast_figures(
    bench: &'static str,
    prefix: &str,
    n: u64,
    issued: Duration,
    total: Duration,
) -> Vec<Figure> {
    vec![
        Figure::new(
            bench,
            format!("{prefix}throughput"),
            n as f64 / total.as_secs_f64(),
            "msg/s",
        ),
        Figure::new(
            bench,
            format!("{prefix}issue_cost"),
            us_per(issued, n),
            "us",
        ),
    ]
}

/// `spawn(fn -> receive do :stop -> :ok end end)` x 1M: time and resident memory per process
/// (the delta includes the pid list, 8 bytes a pid).
pub(super) async fn spawn(opts: &Options) -> Result<Vec<Figure>, String> {
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

/// 100k idle GenServers with an integer state: time and resident memory per process.
pub(super) async fn genserver_start(opts: &Options) -> Result<Vec<Figure>, String> {
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
