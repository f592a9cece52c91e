//! `Process.info/1,2` and the shell's `info` command. `Process.info` gives the BEAM's keys in
//! the BEAM's order, with only the values otplab can state truly; the `info` command adds
//! otplab's own (monitors, memory, parent, restarts). Keys the BEAM has and otplab cannot
//! fill honestly (`error_handler`, `group_leader`, the heap and stack sizes, `reductions`,
//! `garbage_collection`) are left out rather than made up.

use crate::runtime::process::{ProcessInfo, Status};
use crate::runtime::{ExitReason, Term, atom};

use crate::shell::context::{Eval, R, arg_error, pid_of};

/// Whose view of a process: `Process.info`'s (the BEAM's keys) or the `info` command's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum View {
    Beam,
    Otplab,
}

/// The keys of `Process.info/1` that otplab fills, in the order OTP 25 lists them;
/// `registered_name` comes first only for a registered process, as on the BEAM.
const BEAM_KEYS: &[&str] = &[
    "registered_name",
    "current_function",
    "initial_call",
    "status",
    "message_queue_len",
    "links",
    "dictionary",
    "trap_exit",
    "priority",
    "suspending",
];

/// The keys of `Process.info/2` the BEAM has beyond those of `Process.info/1`.
const BEAM_MORE: &[&str] = &["monitors", "monitored_by", "memory", "messages"];

/// What the `info` command adds to `Process.info/1`'s keys.
const OTPLAB_SHOWN: &[&str] = &["monitors", "memory", "parent", "restarts"];

/// The keys only the `info` command knows: they are not the BEAM's.
const OTPLAB_ONLY: &[&str] = &["parent", "restarts", "label"];

/// The label of the shell's process (what iex's evaluator is).
const SHELL_LABEL: &str = "IEx.Evaluator";
/// The label of a process spawned with a function.
const FN_LABEL: &str = "fn";

/// `Process.info(pid)`, `Process.info(pid, key)`, `Process.info(pid, [keys])`.
pub fn info(ev: &Eval<'_>, args: &[Term], view: View) -> R {
    let pid = pid_of(&args[0])?;
    let node = &ev.ctx.node;
    let Some(info) = node.info(pid) else {
        return Ok(Term::nil());
    };
    let asking = (pid == ev.p.pid()).then_some(args.len());
    let value = |key: &str| -> Term {
        match key {
            "registered_name" => info
                .registered_name
                .map(Term::Atom)
                .unwrap_or_else(|| Term::list(vec![])),
            "current_function" => current_function(&info, asking),
            "initial_call" => initial_call(&info),
            "status" => atom(match info.status {
                Status::Running => "running",
                _ => "waiting",
            }),
            "message_queue_len" => Term::from(info.message_queue_len),
            "links" => Term::List(info.links.iter().map(|p| Term::Pid(*p)).collect()),
            // otplab has no process dictionary.
            "dictionary" | "suspending" => Term::list(vec![]),
            // Every process is scheduled alike.
            "priority" => atom("normal"),
            "monitors" => Term::List(
                info.monitors
                    .iter()
                    .map(|p| Term::tuple(vec![atom("process"), Term::Pid(*p)]))
                    .collect(),
            ),
            "monitored_by" => Term::List(info.monitored_by.iter().map(|p| Term::Pid(*p)).collect()),
            "trap_exit" => Term::bool(info.trap_exit),
            "memory" => Term::from(info.memory),
            "messages" => Term::list(node.messages(pid, 100).unwrap_or_default()),
            "parent" => info
                .parent
                .map(Term::Pid)
                .unwrap_or_else(|| atom("undefined")),
            "restarts" => Term::Int(info.restarts as i64),
            _ => Term::str(info.label.as_ref()),
        }
    };
    let key_of = |t: &Term| -> Result<&'static str, ExitReason> {
        let a = t
            .as_atom()
            .ok_or_else(|| arg_error(format!("not an info key: {t}")))?;
        let mine = match view {
            View::Beam => &[][..],
            View::Otplab => OTPLAB_ONLY,
        };
        BEAM_KEYS
            .iter()
            .chain(BEAM_MORE)
            .chain(mine)
            .copied()
            .find(|k| *k == a.as_str())
            .ok_or_else(|| arg_error(format!("unknown Process.info key: {t}")))
    };
    match args.get(1) {
        None => {
            let extra = match view {
                View::Beam => &[][..],
                View::Otplab => OTPLAB_SHOWN,
            };
            Ok(Term::keyword(
                BEAM_KEYS
                    .iter()
                    .chain(extra)
                    .filter(|k| **k != "registered_name" || info.registered_name.is_some())
                    .map(|k| (*k, value(k)))
                    .collect(),
            ))
        }
        Some(Term::List(keys)) => {
            let pairs: Result<Vec<_>, _> = keys
                .iter()
                .map(|k| key_of(k).map(|k| (k, value(k))))
                .collect();
            Ok(Term::keyword(pairs?))
        }
        Some(k) => {
            let k = key_of(k)?;
            Ok(Term::tuple(vec![atom(k), value(k)]))
        }
    }
}

/// A `{module, function, arity}` that exists and that the process is in: `Process.info`
/// itself for the asking process (`asking` is the arity it was called with), the sleep, the
/// GenServer loop (supervisors are GenServers), or the `receive` of a spawned function.
fn current_function(info: &ProcessInfo, asking: Option<usize>) -> Term {
    let mfa = |m: &'static str, f: &'static str, a: usize| {
        Term::tuple(vec![atom(m), atom(f), Term::Int(a as i64)])
    };
    if let Some(arity) = asking {
        return mfa("Elixir.Process", "info", arity);
    }
    match (info.status, info.label.as_ref()) {
        (Status::Sleeping, _) => mfa("timer", "sleep", 1),
        (_, SHELL_LABEL) => mfa("Elixir.IEx.Evaluator", "loop", 1),
        (Status::Waiting, FN_LABEL) => mfa("prim_eval", "receive", 2),
        (_, FN_LABEL) => mfa("erlang", "apply", 2),
        _ => mfa("gen_server", "loop", 7),
    }
}

/// How the process was started: `:proc_lib` for GenServers, supervisors and the shell,
/// `:erlang.apply/2` for a spawned function.
fn initial_call(info: &ProcessInfo) -> Term {
    let (m, f, a) = if info.label.as_ref() == FN_LABEL {
        ("erlang", "apply", 2)
    } else {
        ("proc_lib", "init_p", 5)
    };
    Term::tuple(vec![atom(m), atom(f), Term::Int(a)])
}
