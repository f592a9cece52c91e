//! `Profiler.run(fun, operations, concurrency)` of seed 001: spawns `concurrency` client
//! processes, each running the operation `operations` times and then sending `:computed` to
//! the caller, which waits for all of them; the rate is operations × concurrency / elapsed.
//! [`cache`] holds the workloads of the to-do cache that both the shell's `profile` and
//! `loadtest` and the benchmarks run, so the figures of `otplab bench` and what a user measures
//! at the prompt come from the same code.

pub mod cache;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::term::BoxFuture;
use crate::runtime::{Envelope, ExitReason, Process, Term, atom};

/// One operation, run inside a client process. Its future may borrow the operation itself,
/// so what every operation needs (the system's configuration) is shared by reference: a
/// closure that cloned an `Arc` per operation made all clients write its shared reference
/// count, and the profile of the ETS cache at 100 clients spent most of its time there.
pub trait Operation: Send + Sync + 'static {
    fn run<'a>(&'a self, p: &'a mut Process) -> BoxFuture<'a, Result<(), ExitReason>>;
}

/// Operations between two yields of a client.
const YIELD_EVERY: u64 = 1000;

/// What a run measured.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub elapsed: Duration,
    /// Operations per second over all clients.
    pub rate: f64,
}

/// Runs the profile from the process `p`. A client whose operation fails ends the run with
/// that failure.
pub async fn run(
    p: &mut Process,
    op: Arc<dyn Operation>,
    operations: u64,
    concurrency: u64,
) -> Result<Outcome, ExitReason> {
    let me = p.pid();
    let started = Instant::now();
    for _ in 0..concurrency {
        let op = op.clone();
        p.spawn(move |c: &mut Process| {
            Box::pin(async move {
                for i in 0..operations {
                    // A client gives up its thread now and then, as a BEAM process is
                    // preempted after its reductions: an operation that never waits (an ETS
                    // lookup) would otherwise keep every client on the worker that spawned
                    // them, and the other worker, asleep, is never told there is work.
                    if i % YIELD_EVERY == YIELD_EVERY - 1 {
                        tokio::task::yield_now().await;
                    }
                    if let Err(reason) = op.run(c).await {
                        c.send(
                            me,
                            Term::tuple(vec![atom("profiler_failed"), reason.to_term()]),
                        );
                        return ExitReason::Normal;
                    }
                }
                c.send(me, atom("computed"));
                ExitReason::Normal
            })
        })
        .map_err(|e| e.reason())?;
    }
    for _ in 0..concurrency {
        let reply = p.receive_match(|e| matches!(e, Envelope::Message(t) if t.is_atom("computed") || t.tag() == Some("profiler_failed")), None).await;
        if let Some(Envelope::Message(Term::Tuple(t))) = reply {
            return Err(ExitReason::from_term(t[1].clone()));
        }
    }
    let elapsed = started.elapsed();
    let rate = (operations * concurrency) as f64 / elapsed.as_secs_f64().max(1e-9);
    Ok(Outcome { elapsed, rate })
}
