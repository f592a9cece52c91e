//! Calls versus casts against one slow process (chapter 7.3.3 and 7.4): a cast flood grows the
//! mailbox to the number sent without blocking the sender and drains back to zero; a call
//! flood keeps the mailbox at or below the number of clients (backpressure). Paused clock.

mod common;

use std::time::Duration;

use common::{node, within};
use otplab::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use otplab::runtime::{Dest, ExitReason, From, Pid, Process, Term, atom};

/// A server whose every request takes 1 ms, like the book's database under load.
struct Slow(i64);

impl GenServer for Slow {
    type Arg = ();

    fn module() -> &'static str {
        "Slow"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Slow(0)))
    }

    async fn handle_cast(
        &mut self,
        _request: Term,
        p: &mut Process,
    ) -> Result<NoReply, ExitReason> {
        p.sleep(Duration::from_millis(1)).await;
        self.0 += 1;
        Ok(NoReply::NoReply)
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if !request.is_atom("count") {
            p.sleep(Duration::from_millis(1)).await;
            self.0 += 1;
        }
        Ok(Reply::Reply(Term::Int(self.0)))
    }

    fn state(&self) -> Term {
        Term::Int(self.0)
    }
}

#[tokio::test(start_paused = true)]
async fn a_cast_flood_grows_the_mailbox_to_the_number_sent_and_drains_to_zero() {
    let node = node();
    let server = gen_server::start::<Slow>(&node, (), StartOpts::default())
        .await
        .unwrap();
    let (queued, after, handled) = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            for i in 0..1_000 {
                p.cast(server, Term::Int(i));
            }
            assert_eq!(
                started.elapsed(),
                Duration::ZERO,
                "the sender never blocked"
            );
            let queued = p.node().info(server).unwrap().message_queue_len;
            let handled = p
                .call(
                    Dest::Pid(server),
                    atom("count"),
                    Some(Duration::from_secs(60)),
                )
                .await
                .unwrap();
            (
                queued,
                p.node().info(server).unwrap().message_queue_len,
                handled,
            )
        })
    })
    .await;
    assert!(queued >= 999, "the mailbox holds what was sent: {queued}");
    assert_eq!(after, 0, "drained");
    assert_eq!(handled, Term::Int(1_000));
}

#[tokio::test(start_paused = true)]
async fn a_call_flood_keeps_the_mailbox_at_most_one_per_client() {
    const CLIENTS: usize = 10;
    let node = node();
    let server = gen_server::start::<Slow>(&node, (), StartOpts::default())
        .await
        .unwrap();
    let peak = within(&node, move |p: &mut Process| {
        Box::pin(async move {
            let me = p.pid();
            for _ in 0..CLIENTS {
                p.spawn(move |c: &mut Process| {
                    Box::pin(async move {
                        let mut peak = 0;
                        for i in 0..20 {
                            c.call(
                                Dest::Pid(server),
                                Term::Int(i),
                                Some(Duration::from_secs(60)),
                            )
                            .await
                            .unwrap();
                            peak = peak.max(
                                c.node()
                                    .info(server)
                                    .map(|i| i.message_queue_len)
                                    .unwrap_or(0),
                            );
                        }
                        c.send(me, Term::Int(peak as i64));
                        ExitReason::Normal
                    })
                })
                .unwrap();
            }
            let mut peak = 0;
            for _ in 0..CLIENTS {
                if let otplab::runtime::Envelope::Message(Term::Int(n)) = p.receive().await {
                    peak = peak.max(n);
                }
            }
            peak
        })
    })
    .await;
    assert!(
        peak as usize <= CLIENTS,
        "each client waits for its answer: peak {peak}"
    );
    assert!(peak >= 1);
    let _ = Pid(0);
}
