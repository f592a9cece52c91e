//! `scripts/beam/flood.exs`: a slow server's mailbox under a flood of casts, from one fast
//! client and from many paced ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::gen_server::{self, StartOpts};
use crate::runtime::{Envelope, ExitReason, Process, Term, atom};

use super::primitives::Bench;
use super::{Figure, Options, err, inside, node, rss_bytes, settle};

/// A server whose `handle_cast` sleeps 1 ms, flooded (a) by one process casting
/// `{:store, i, "data"}` as fast as it can for 1 s, (b) by 1000 processes casting once every
/// 10 ms for 1 s. The queue is sampled every 100 ms for 1.5 s. Growth is casts sent over the
/// flood time (a) or the queue at the first sample past 1 s over that time (b); memory per
/// queued message is the resident-memory growth over the queue at the last sample; the drain
/// rate is (sent - queued) over the elapsed time at the last sample.
pub(super) async fn flood(opts: &Options) -> Result<Vec<Figure>, String> {
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

pub(super) async fn flood_one(
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
                            Term::tuple(vec![atom("store"), Term::Int(i), data.clone()]),
                        );
                        i += 1;
                    }
                    if start.elapsed() >= flood_for {
                        break;
                    }
                }
                sent.store(i as u64, Ordering::Release);
                c.send(me, Term::tuple(vec![atom("flooded"), Term::Int(i)]));
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
                    let mut i = 0i64;
                    loop {
                        // `Process.sleep(10)` before each cast, as the BEAM side does: an
                        // interval's first tick is at once and later ones do not drift, so
                        // each client cast one more time, and more often, than its twin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if start.elapsed() >= flood_for {
                            break;
                        }
                        c.cast(
                            server,
                            Term::tuple(vec![atom("store"), Term::Int(i), data.clone()]),
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
