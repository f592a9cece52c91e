//! The talk's counters (`Counter`, `SlowCounter`, `SlowButReponsiveCounter`), the
//! `ContIncrementer` that hammers one, and iex's `Crasher`.

use crate::counter::{self, Kind};
use crate::runtime::{ExitReason, Term, atom};

use super::function::Function;
use crate::shell::context::{
    CALL_TIMEOUT, Eval, R, arg_error, call_result, int_of, pid_of, raise, start_result,
};

/// `Counter`'s functions: name, arities, what each does.
pub const COUNTER: &[Function] = &[
    ("new", &[0], "a counter process, linked to the shell"),
    ("inc_of", &[2], "adds a value (a call)"),
    ("value", &[1], "the sum so far"),
    ("count", &[1], "how many increments"),
];

/// `SlowCounter`'s functions: name, arities, what each does.
pub const SLOW_COUNTER: &[Function] = &[
    (
        "new",
        &[0],
        "a counter whose increments take 10 s inside the server",
    ),
    ("inc_of", &[2], "adds a value; blocks the server 10 s"),
    ("value", &[1], "the sum so far (waits behind increments)"),
    (
        "count",
        &[1],
        "how many increments (waits behind increments)",
    ),
];

/// `SlowButReponsiveCounter`'s functions: name, arities, what each does.
pub const SLOW_BUT_REPONSIVE_COUNTER: &[Function] = &[
    (
        "new",
        &[0],
        "a counter that increments in a spawned worker and answers with GenServer.reply",
    ),
    (
        "inc_of",
        &[2],
        "adds a value; the caller waits 10 s, the server does not",
    ),
    ("value", &[1], "the sum so far, at once"),
    ("count", &[1], "how many increments, at once"),
];

/// `ContIncrementer`'s functions: name, arities, what each does.
pub const CONT_INCREMENTER: &[Function] = &[(
    "go",
    &[2],
    "increments a counter by 1..99 every 1..999 ms, forever (run it in spawn)",
)];

/// `Crasher`'s functions: name, arities, what each does.
pub const CRASHER: &[Function] = &[
    (
        "start_link",
        &[0],
        "a GenServer linked to the shell: {:ok, pid}",
    ),
    (
        "boom",
        &[1],
        "makes it raise; the link then replaces the shell process",
    ),
];

/// `Counter`, `SlowCounter` and `SlowButReponsiveCounter`: `new`, `inc_of`, `value`, `count`.
pub async fn call(ev: &mut Eval<'_>, module: &str, fun: &str, args: Vec<Term>) -> R {
    let kind = Kind::from_module(module).ok_or_else(|| arg_error(module.to_string()))?;
    if fun == "new" {
        let r = match kind {
            Kind::Counter => counter::counter::new(ev.p).await,
            Kind::SlowCounter => counter::slow_counter::new(ev.p).await,
            Kind::SlowButResponsive => counter::slow_but_responsive::new(ev.p).await,
        };
        return r.map(Term::Pid).map_err(|e| {
            raise(
                "MatchError",
                format!("no match of right hand side value: {}", e.to_term()),
            )
        });
    }
    let pid = pid_of(&args[0])?;
    let request = match fun {
        "inc_of" => counter::inc_of(int_of(&args[1])?),
        other => atom(if other == "value" { "value" } else { "count" }),
    };
    let r = counter::counter::call(ev.p, kind, pid, request.clone()).await;
    call_result(r, &args[0], &request, kind.timeout())
}

fn kind_of(t: &Term) -> Result<Kind, ExitReason> {
    let name = t
        .as_atom()
        .map(|a| a.as_str().trim_start_matches("Elixir.").to_string())
        .unwrap_or_default();
    Kind::from_module(&name).ok_or_else(|| arg_error(format!("not a counter module: {t}")))
}

/// `ContIncrementer.go(kind, target)`: runs until it dies.
pub async fn cont_incrementer(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let kind = kind_of(&args[0])?;
    let target = pid_of(&args[1])?;
    Err(counter::cont_incrementer::go(ev.p, kind, target).await)
}

/// `Crasher.start_link()` and `Crasher.boom(pid)`.
pub async fn crasher(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    match fun {
        "start_link" => Ok(start_result(counter::crasher::start_link(ev.p).await)),
        _ => call_result(
            counter::crasher::boom(ev.p, pid_of(&args[0])?).await,
            &args[0],
            &atom("boom"),
            CALL_TIMEOUT,
        ),
    }
}
