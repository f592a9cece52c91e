//! `SlowCounter`: the bottleneck slide. An increment sleeps 10 s inside the server, so every
//! other call, even a read, waits behind it; clients wait up to 60 s.

use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::{ExitReason, From, Pid, Process, StartError, Term};

use super::counter::reply_tally;
use super::{SLOW_INCREMENT, Tally};

pub struct SlowCounter(Tally);

pub async fn new(p: &Process) -> Result<Pid, StartError> {
    gen_server::start_link::<SlowCounter>(p, (), StartOpts::default()).await
}

impl GenServer for SlowCounter {
    type Arg = ();

    fn module() -> &'static str {
        "SlowCounter"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(SlowCounter(Tally::default())))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.tag() == Some("inc_of") {
            p.sleep(SLOW_INCREMENT).await;
        }
        reply_tally(&mut self.0, request, "SlowCounter.handle_call/3")
    }

    fn state(&self) -> Term {
        self.0.to_term()
    }
}
