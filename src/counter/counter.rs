//! `Counter`: the talk's first slide. State lives in the process; every read and write is a
//! call, so they are serialised and consistent.

use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::{CallError, Dest, ExitReason, From, Pid, Process, StartError, Term};

use super::{Kind, Tally, inc_of};

pub struct Counter(Tally);

/// `Counter.new`: started linked to the caller, as `GenServer.start_link` in the talk.
pub async fn new(p: &Process) -> Result<Pid, StartError> {
    gen_server::start_link::<Counter>(p, (), StartOpts::default()).await
}

/// `inc_of`, `value` and `count` for any of the three counters.
pub async fn call(p: &Process, kind: Kind, counter: Pid, request: Term) -> Result<Term, CallError> {
    p.call(Dest::Pid(counter), request, Some(kind.timeout()))
        .await
}

pub async fn increment(
    p: &Process,
    kind: Kind,
    counter: Pid,
    value: i64,
) -> Result<Term, CallError> {
    call(p, kind, counter, inc_of(value)).await
}

impl GenServer for Counter {
    type Arg = ();

    fn module() -> &'static str {
        "Counter"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Counter(Tally::default())))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        _p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        reply_tally(&mut self.0, request, "Counter.handle_call/3")
    }

    fn state(&self) -> Term {
        self.0.to_term()
    }
}

/// The clauses the three counters share: `{:inc_of, v}` (immediate here), `:value`, `:count`.
pub(crate) fn reply_tally(
    tally: &mut Tally,
    request: &Term,
    function: &str,
) -> Result<Reply, ExitReason> {
    if request.is_atom("value") {
        return Ok(Reply::Reply(Term::Int(tally.value)));
    }
    if request.is_atom("count") {
        return Ok(Reply::Reply(Term::Int(tally.count)));
    }
    match request.as_tuple() {
        Some([tag, Term::Int(v)]) if tag.is_atom("inc_of") || tag.is_atom("update_state") => {
            tally.add(*v);
            Ok(Reply::Reply(Term::ok()))
        }
        _ => Err(ExitReason::function_clause(function)),
    }
}
