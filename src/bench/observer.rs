//! The live observer's redraw: how long a snapshot and a drawing of it take with a thousand
//! and with a hundred thousand processes, and what share of one core the view takes while
//! open at its rate of [`REFRESH`]. No BEAM script mirrors it: observer's cost on the BEAM is
//! not what this compares.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::time::Instant;

use crate::observer::{REFRESH, Sampler, View, draw};
use crate::runtime::{ExitReason, Pid, SpawnOpts};

use super::{Figure, Options, node};

/// For each size: the processes (idle, each waiting forever), then `reps` redraws, each a
/// snapshot (`Sampler::sample`) and a drawing of it into a 120x40 `TestBackend`. The share of
/// a core is the time of one redraw times the redraws a second.
pub(super) async fn observer(opts: &Options) -> Result<Vec<Figure>, String> {
    let sizes: Vec<u64> = match (opts.n, opts.smoke) {
        (Some(n), _) => vec![n],
        (None, true) => vec![100, 1_000],
        (None, false) => vec![1_000, 100_000],
    };
    let reps = if opts.smoke { 3 } else { 40 };
    let mut out = vec![];
    for n in sizes {
        let node = node();
        for _ in 0..n {
            node.spawn(SpawnOpts::default(), |_p| {
                Box::pin(async move {
                    std::future::pending::<()>().await;
                    ExitReason::Normal
                })
            })
            .map_err(|e| e.reason().to_string())?;
        }
        let mut sampler = Sampler::new(&node, Pid(0), "./persist".into());
        let view = View::new(false);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).map_err(|e| e.to_string())?;
        let (mut sampling, mut drawing) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..reps {
            let t0 = Instant::now();
            let snap = sampler.sample(view.window, t0);
            let t1 = Instant::now();
            terminal
                .draw(|f| draw(f, &snap, &view))
                .map_err(|e| e.to_string())?;
            sampling += t1 - t0;
            drawing += t1.elapsed();
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / reps as f64;
        let redraw = ms(sampling + drawing);
        let per_second = 1000.0 / REFRESH.as_millis() as f64;
        out.push(Figure::new(
            "observer",
            format!("snapshot_{n}"),
            ms(sampling),
            "ms",
        ));
        out.push(Figure::new(
            "observer",
            format!("draw_{n}"),
            ms(drawing),
            "ms",
        ));
        out.push(Figure::new("observer", format!("redraw_{n}"), redraw, "ms"));
        out.push(Figure::new(
            "observer",
            format!("core_share_{n}"),
            redraw * per_second / 10.0,
            "%",
        ));
    }
    Ok(out)
}
