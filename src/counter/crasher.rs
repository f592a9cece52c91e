//! `Crasher`: a GenServer whose `boom` call raises, for the transcript where a crash of a
//! process linked to the shell replaces the shell process.

use crate::runtime::call::DEFAULT_CALL_TIMEOUT;
use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::{Dest, ExitReason, From, Pid, Process, StartError, Term, atom};

pub struct Crasher(i64);

/// `Crasher.start_link`.
pub async fn start_link(p: &Process) -> Result<Pid, StartError> {
    gen_server::start_link::<Crasher>(p, (), StartOpts::default()).await
}

/// `Crasher.boom(pid)`.
pub async fn boom(p: &Process, pid: Pid) -> Result<Term, crate::runtime::CallError> {
    p.call(Dest::Pid(pid), atom("boom"), Some(DEFAULT_CALL_TIMEOUT))
        .await
}

impl GenServer for Crasher {
    type Arg = ();

    fn module() -> &'static str {
        "Crasher"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Crasher(0)))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.is_atom("boom") {
            return Err(ExitReason::runtime_error("boom"));
        }
        Err(ExitReason::function_clause("Crasher.handle_call/3"))
    }

    fn state(&self) -> Term {
        Term::Int(self.0)
    }
}
