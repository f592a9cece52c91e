//! `GenServer`: calls with their timeouts and exits, casts, replies, and starting the
//! built-in GenServers (the counters and `Crasher`) by module name.

use crate::counter;
use crate::runtime::gen_server::{self as gs, StartOpts};
use crate::runtime::{ExitReason, Pid, Term};

use super::function::{Function, undefined_function};
use crate::shell::context::{
    CALL_TIMEOUT, Eval, R, arg_error, dest_of, keyword, ok, raise, start_result, timeout_of,
    wait_down,
};

/// `GenServer`'s functions: name, arities, what each does.
pub const GEN_SERVER: &[Function] = &[
    (
        "call",
        &[2, 3],
        "a synchronous request; exits the caller on timeout (default 5000 ms)",
    ),
    ("cast", &[2], "an asynchronous request; always :ok"),
    ("reply", &[2], "answers a call from any process"),
    (
        "start",
        &[2, 3],
        "starts a built-in GenServer module unlinked",
    ),
    (
        "start_link",
        &[2, 3],
        "starts a built-in GenServer module linked to the shell",
    ),
    ("stop", &[1, 2], "stops a GenServer with a reason"),
    ("whereis", &[1], "the pid of a name"),
];

/// `GenServer.fun(args)`.
pub async fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    match fun {
        "call" => {
            let timeout = match args.get(2) {
                Some(t) => timeout_of(t)?,
                None => Some(CALL_TIMEOUT),
            };
            let dest = dest_of(&args[0])?;
            let r = ev.p.call(dest, args[1].clone(), timeout).await;
            r.map_err(|e| e.exit_reason(&args[0], &args[1], timeout.map(|t| t.as_millis() as u64)))
        }
        "cast" => {
            ev.p.cast(dest_of(&args[0])?, args[1].clone());
            ok()
        }
        "reply" => {
            let from = from_of(&args[0])?;
            ev.p.reply(&from, args[1].clone());
            ok()
        }
        "start" | "start_link" => {
            let link = fun == "start_link";
            let module = args[0]
                .as_atom()
                .map(|a| a.as_str().trim_start_matches("Elixir.").to_string())
                .unwrap_or_default();
            let name = args
                .get(2)
                .and_then(|opts| keyword(opts, "name"))
                .and_then(|n| n.as_atom());
            let opts = StartOpts {
                name: name.map(gs::Name::Local),
                timeout: None,
            };
            start_builtin(ev, &module, link, opts).await
        }
        "stop" => {
            let pid = resolve(ev, &args[0])?;
            let reason = args
                .get(1)
                .cloned()
                .map(ExitReason::from_term)
                .unwrap_or(ExitReason::Normal);
            let r = ev.p.monitor(pid);
            ev.ctx.node.exit(
                ev.p.pid(),
                pid,
                if reason.is_normal() {
                    ExitReason::Shutdown
                } else {
                    reason
                },
            );
            wait_down(ev, r).await;
            ok()
        }
        "whereis" => Ok(resolve(ev, &args[0])
            .map(Term::Pid)
            .unwrap_or_else(|_| Term::nil())),
        _ => Err(undefined_function("GenServer", fun, args.len(), GEN_SERVER)),
    }
}

/// The `from` of a call, as handed to a shell function.
fn from_of(t: &Term) -> Result<crate::runtime::From, ExitReason> {
    match t {
        Term::Opaque(o) => o
            .downcast::<crate::runtime::From>()
            .cloned()
            .ok_or_else(|| arg_error("not a from")),
        other => Err(arg_error(format!(
            "GenServer.reply expects the from of a call, got: {other}"
        ))),
    }
}

async fn start_builtin(ev: &mut Eval<'_>, module: &str, link: bool, opts: StartOpts) -> R {
    let p = &*ev.p;
    let r = match (module, link) {
        ("Counter", true) => gs::start_link::<counter::counter::Counter>(p, (), opts).await,
        ("Counter", false) => gs::start::<counter::counter::Counter>(p.node(), (), opts).await,
        ("SlowCounter", true) => {
            gs::start_link::<counter::slow_counter::SlowCounter>(p, (), opts).await
        }
        ("SlowCounter", false) => {
            gs::start::<counter::slow_counter::SlowCounter>(p.node(), (), opts).await
        }
        ("SlowButReponsiveCounter" | "SlowButResponsiveCounter", true) => {
            gs::start_link::<counter::slow_but_responsive::SlowButResponsive>(p, (), opts).await
        }
        ("SlowButReponsiveCounter" | "SlowButResponsiveCounter", false) => {
            gs::start::<counter::slow_but_responsive::SlowButResponsive>(p.node(), (), opts).await
        }
        ("Crasher", true) => gs::start_link::<counter::crasher::Crasher>(p, (), opts).await,
        ("Crasher", false) => gs::start::<counter::crasher::Crasher>(p.node(), (), opts).await,
        _ => {
            return Err(raise(
                "UndefinedFunctionError",
                format!(
                    "function {module}.init/1 is undefined (module {module} is not a built-in GenServer: Counter, SlowCounter, SlowButReponsiveCounter, Crasher)"
                ),
            ));
        }
    };
    Ok(start_result(r))
}

/// A pid, or a registered name resolved now.
pub(super) fn resolve(ev: &Eval<'_>, t: &Term) -> Result<Pid, ExitReason> {
    match t {
        Term::Pid(p) => Ok(*p),
        Term::Atom(a) => ev.ctx.node.whereis(*a).ok_or_else(|| ExitReason::Noproc),
        other => Err(arg_error(format!("expected a pid or name, got: {other}"))),
    }
}
