//! The floor under `bench call`, `cast` and `spawn`: the same work done with bare tokio on
//! the same runtime, so that every primitive's figure can be read against what tokio itself
//! does on this machine, whatever its load. A call is an mpsc send of the request with a
//! oneshot sender and an await of the oneshot; a cast is an mpsc send; a spawn is a tokio task
//! waiting on a oneshot for its `:stop`. The counts and the clock are those of
//! `primitives.rs`, and the client runs in a spawned task, as a process body does, not on the
//! thread that blocks on the runtime.
//!
//! What the floor leaves out is what a process has and a task does not: a pid in the process
//! table, a mailbox with selective receive and an observable length, links and monitors, the
//! call's timeout and its reply path that drops a late reply. The distance between the two
//! columns is the price of those.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::runtime::{Term, atom};

use super::primitives::cast_figures;
use super::{Figure, Options, rss_bytes, us_per};

/// A request of the floor's server: a call carries where its reply goes, a cast does not.
enum Request {
    Call(Term, oneshot::Sender<Term>),
    Cast(Term),
}

/// The floor's GenServer: counts casts, answers a call with the count for `:get` and `:pong`
/// otherwise, as `primitives::Bench` does.
async fn server(mut rx: mpsc::UnboundedReceiver<Request>) {
    let mut count: i64 = 0;
    while let Some(request) = rx.recv().await {
        match request {
            Request::Call(request, reply) => {
                let answer = if request.is_atom("get") {
                    Term::Int(count)
                } else {
                    atom("pong")
                };
                let _ = reply.send(answer);
            }
            Request::Cast(msg) => {
                drop(msg);
                count += 1;
            }
        }
    }
}

fn start_server() -> (mpsc::UnboundedSender<Request>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, tokio::spawn(server(rx)))
}

async fn call(server: &mpsc::UnboundedSender<Request>, request: Term) -> Result<Term, String> {
    let (tx, rx) = oneshot::channel();
    server
        .send(Request::Call(request, tx))
        .map_err(|_| "the floor's server is gone".to_string())?;
    rx.await
        .map_err(|_| "the floor's server dropped a call".to_string())
}

/// Runs `f` in a task of the runtime (a worker thread, as a process runs) and returns what it
/// returns.
async fn in_task<T: Send + 'static>(
    f: impl Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(f)
        .await
        .map_err(|e| format!("the floor's task failed: {e}"))?
}

/// 1M sequential calls, 1M casts then a `:get` call, and 1M tasks waiting for their stop.
pub(super) async fn floor(opts: &Options) -> Result<Vec<Figure>, String> {
    let mut out = round_trips(opts.size(1_000_000, 2_000)).await?;
    out.extend(casts(opts.size(1_000_000, 2_000)).await?);
    out.extend(spawns(opts.size(1_000_000, 5_000)).await?);
    Ok(out)
}

async fn round_trips(n: u64) -> Result<Vec<Figure>, String> {
    in_task(async move {
        let (tx, served) = start_server();
        let ping = atom("ping");
        let t = Instant::now();
        for _ in 0..n {
            call(&tx, ping.clone()).await?;
        }
        let rt = us_per(t.elapsed(), n);
        served.abort();
        Ok(vec![Figure::new("floor", "call_round_trip", rt, "us")])
    })
    .await
}

async fn casts(n: u64) -> Result<Vec<Figure>, String> {
    in_task(async move {
        let (tx, served) = start_server();
        let inc = atom("inc");
        let t = Instant::now();
        for _ in 0..n {
            let _ = tx.send(Request::Cast(inc.clone()));
        }
        let issued = t.elapsed();
        let got = call(&tx, atom("get")).await?;
        let total = t.elapsed();
        served.abort();
        if got.as_int() != Some(n as i64) {
            return Err(format!("the floor's server counted {got}, not {n}"));
        }
        Ok(cast_figures("floor", "cast_", n, issued, total))
    })
    .await
}

async fn spawns(n: u64) -> Result<Vec<Figure>, String> {
    in_task(async move {
        let before = rss_bytes();
        let t = Instant::now();
        // One 8-byte sender a task, as `primitives::spawn` keeps one 8-byte pid a process.
        let mut stops = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (stop, wait) = oneshot::channel::<Term>();
            tokio::spawn(async move {
                let _ = wait.await;
            });
            stops.push(stop);
        }
        let elapsed = t.elapsed();
        // As in `primitives::spawn`: every task reaches its wait before memory is read.
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let grown = rss_bytes().saturating_sub(before);
        for stop in stops {
            let _ = stop.send(atom("stop"));
        }
        Ok(vec![
            Figure::new("floor", "spawn_spawn", us_per(elapsed, n), "us/proc"),
            Figure::new(
                "floor",
                "spawn_memory",
                grown as f64 / n as f64,
                "bytes/proc",
            ),
        ])
    })
    .await
}
