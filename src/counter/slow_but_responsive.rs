//! `SlowButReponsiveCounter` (the seed's spelling): spawn and reply. An increment spawns a
//! linked worker that sleeps 10 s, updates the server with its own call and then answers the
//! original caller with `GenServer.reply/2`; the server itself stays free, so reads answer at
//! once while increments are in flight.

use crate::runtime::call::DEFAULT_CALL_TIMEOUT;
use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::{Dest, ExitReason, From, Pid, Process, StartError, Term, atom};

use super::counter::reply_tally;
use super::{SLOW_INCREMENT, Tally};

pub struct SlowButResponsive(Tally);

pub async fn new(p: &Process) -> Result<Pid, StartError> {
    gen_server::start_link::<SlowButResponsive>(p, (), StartOpts::default()).await
}

impl GenServer for SlowButResponsive {
    type Arg = ();

    fn module() -> &'static str {
        "SlowButReponsiveCounter"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(SlowButResponsive(Tally::default())))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if let Some([tag, Term::Int(value)]) = request.as_tuple()
            && tag.is_atom("inc_of")
        {
            let (parent, from, value) = (p.pid(), from.clone(), *value);
            p.spawn_link(move |w: &mut Process| {
                Box::pin(async move {
                    w.sleep(SLOW_INCREMENT).await;
                    let update = Term::tuple(vec![atom("update_state"), Term::Int(value)]);
                    if let Err(e) = w
                        .call(Dest::Pid(parent), update, Some(DEFAULT_CALL_TIMEOUT))
                        .await
                    {
                        return e.reason();
                    }
                    w.reply(&from, Term::ok());
                    ExitReason::Normal
                })
            })
            .map_err(|e| e.reason())?;
            return Ok(Reply::NoReply);
        }
        reply_tally(
            &mut self.0,
            request,
            "SlowButReponsiveCounter.handle_call/3",
        )
    }

    fn state(&self) -> Term {
        self.0.to_term()
    }
}
