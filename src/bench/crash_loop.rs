//! `scripts/beam/crash_loop.exs`: how fast a supervisor restarts a child that dies as soon as
//! it runs, with the restart intensity raised so that it never gives up.
//!
//! This is the reliability issue's crash-loop figure (at least 50,000 restarts a second). It
//! is a benchmark, not an assertion of `tests/reliability_load.rs`, because a rate measured
//! on the wall clock says nothing about behaviour and fails on a loaded machine: the test
//! keeps what can break (memory flat, no task leaked) and this reports the speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::supervisor::{self, ChildSpec, Flags, Spec};
use crate::runtime::{ExitReason, Process, SpawnOpts, Strategy, atom};

use super::{Figure, Options, err, inside, node};

/// The supervisor keeps the times of the restarts of its intensity window, one second here;
/// the measured part starts once that window is full, as the BEAM side's does.
const WARM_UP: Duration = Duration::from_millis(1200);

/// The smoke run's warm-up: long enough for the loop to be running, no more.
const SMOKE_WARM_UP: Duration = Duration::from_millis(100);

/// How often the measured part is cut into tenths, to report the slowest of them.
const TENTHS: u32 = 10;

/// The child's start function counts its starts, the same counter the BEAM side keeps with
/// `:counters`, so that both read the restarts the same way.
fn crasher(starts: Arc<AtomicU64>) -> ChildSpec {
    ChildSpec::worker(
        atom("crasher"),
        "Crasher.start_link()",
        move |p: &mut Process| {
            let starts = starts.clone();
            Box::pin(async move {
                starts.fetch_add(1, Ordering::Relaxed);
                let opts = SpawnOpts {
                    link: Some(p.pid()),
                    ..Default::default()
                };
                p.node().spawn(opts, |_p: &mut Process| {
                    Box::pin(async { ExitReason::atom("boom") })
                })
            })
        },
    )
}

/// The restarts a second over `--n` milliseconds (default 2,000) after the warm-up, and the
/// slowest tenth of that time. The smoke run's tenths are 50 ms, not shorter: on a loaded
/// machine a worker thread can be off its core for ten milliseconds, and a tenth with no
/// restart in it is a zero the smoke test would refuse.
pub(super) async fn crash_loop(opts: &Options) -> Result<Vec<Figure>, String> {
    let millis = opts.size(2_000, 500);
    let warm_up = if opts.smoke { SMOKE_WARM_UP } else { WARM_UP };
    let node = node();
    let starts = Arc::new(AtomicU64::new(0));
    let spec = Spec::new(
        "CrashLoop",
        Flags::new(Strategy::OneForOne).intensity(u32::MAX, 1),
        vec![crasher(starts.clone())],
    );
    let sup = supervisor::start(&node, spec).await.map_err(err)?;
    let figures = inside(&node, move |_p: &mut Process| {
        Box::pin(async move {
            tokio::time::sleep(warm_up).await;
            let tenth = Duration::from_millis(millis) / TENTHS;
            let (start, first) = (Instant::now(), starts.load(Ordering::Relaxed));
            let (mut last_t, mut last_n) = (start, first);
            let mut slowest = f64::INFINITY;
            for _ in 0..TENTHS {
                tokio::time::sleep(tenth).await;
                let (t, n) = (Instant::now(), starts.load(Ordering::Relaxed));
                slowest = slowest.min((n - last_n) as f64 / (t - last_t).as_secs_f64());
                (last_t, last_n) = (t, n);
            }
            let rate = (last_n - first) as f64 / (last_t - start).as_secs_f64();
            vec![
                Figure::new("crash-loop", "restarts", rate, "restarts/s"),
                Figure::new("crash-loop", "slowest_tenth", slowest, "restarts/s"),
            ]
        })
    })
    .await?;
    node.stop(sup, ExitReason::Shutdown);
    Ok(figures)
}
