//! `Process`: exits, liveness, names, links, monitors, `trap_exit`, sleeps and
//! `Process.info`, each on the real runtime.

use std::time::Duration;

use crate::runtime::{ExitReason, Term};

use super::function::{Function, undefined_function};
use super::process_info;
use crate::shell::context::{Eval, R, arg_error, dest_of, int_of, ok, pid_of};

/// `Process`'s functions: name, arities, what each does.
pub const PROCESS: &[Function] = &[
    (
        "exit",
        &[2],
        "sends an exit signal to a process (:kill cannot be trapped)",
    ),
    ("alive?", &[1], "whether a process is alive"),
    ("whereis", &[1], "the pid registered under an atom, or nil"),
    ("register", &[2], "registers a pid under an atom"),
    ("unregister", &[1], "removes a registered name"),
    ("registered", &[0], "every registered name"),
    (
        "info",
        &[1, 2],
        "information about a process: message_queue_len, memory, status, links…",
    ),
    (
        "monitor",
        &[1],
        "monitors a process; a {:DOWN, ref, :process, pid, reason} follows its death",
    ),
    ("demonitor", &[1, 2], "removes a monitor"),
    ("link", &[1], "links the shell to a process"),
    ("unlink", &[1], "removes a link"),
    (
        "flag",
        &[2],
        "Process.flag(:trap_exit, true) makes exit signals messages",
    ),
    (
        "sleep",
        &[1],
        "sleeps the calling process for some milliseconds",
    ),
    ("list", &[0], "every live pid"),
    ("send", &[2, 3], "sends a message"),
    (
        "send_after",
        &[3],
        "sends a message after some milliseconds; returns the timer's reference",
    ),
    (
        "cancel_timer",
        &[1],
        "cancels a send_after timer: the milliseconds it had left, or false",
    ),
];

/// `Process.fun(args)`.
pub async fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let node = ev.ctx.node.clone();
    match fun {
        "exit" => {
            let pid = pid_of(&args[0])?;
            ev.exit_signal(pid, ExitReason::from_term(args[1].clone()))
                .await;
            Ok(Term::bool(true))
        }
        "alive?" => Ok(Term::bool(node.alive(pid_of(&args[0])?))),
        "whereis" => {
            let name = args[0]
                .as_atom()
                .ok_or_else(|| arg_error("Process.whereis expects an atom"))?;
            Ok(node.whereis(name).map(Term::Pid).unwrap_or_else(Term::nil))
        }
        "register" => {
            let (pid, name) = (
                pid_of(&args[0])?,
                args[1]
                    .as_atom()
                    .ok_or_else(|| arg_error("the name must be an atom"))?,
            );
            if node.register(name, pid) {
                Ok(Term::bool(true))
            } else {
                Err(arg_error(format!(
                    "could not register {pid} with name {}",
                    args[1]
                )))
            }
        }
        "unregister" => {
            let name = args[0]
                .as_atom()
                .ok_or_else(|| arg_error("the name must be an atom"))?;
            if node.unregister(name) {
                Ok(Term::bool(true))
            } else {
                Err(arg_error(format!("{} is not registered", args[0])))
            }
        }
        "registered" => Ok(Term::List(
            node.registered()
                .into_iter()
                .map(|(a, _)| Term::Atom(a))
                .collect(),
        )),
        "info" => process_info::info(ev, &args, process_info::View::Beam),
        "monitor" => Ok(Term::Ref(ev.p.monitor(pid_of(&args[0])?))),
        "demonitor" => {
            let Term::Ref(r) = args[0] else {
                return Err(arg_error("Process.demonitor expects a reference"));
            };
            let flush = args.get(1).is_some_and(
                |o| matches!(o, Term::List(v) if v.iter().any(|x| x.is_atom("flush"))),
            );
            ev.p.demonitor(r, flush);
            Ok(Term::bool(true))
        }
        "link" => {
            ev.p.link(pid_of(&args[0])?);
            Ok(Term::bool(true))
        }
        "unlink" => {
            ev.p.unlink(pid_of(&args[0])?);
            Ok(Term::bool(true))
        }
        "flag" => {
            if !args[0].is_atom("trap_exit") {
                return Err(arg_error(format!(
                    "only Process.flag(:trap_exit, bool) is supported, got {}",
                    args[0]
                )));
            }
            Ok(Term::bool(ev.p.trap_exit(args[1].is_atom("true"))))
        }
        "sleep" => {
            match &args[0] {
                t if t.is_atom("infinity") => {
                    std::future::pending::<()>().await;
                }
                t => {
                    ev.p.sleep(Duration::from_millis(int_of(t)?.max(0) as u64))
                        .await
                }
            }
            ok()
        }
        "list" => Ok(Term::List(node.pids().into_iter().map(Term::Pid).collect())),
        "send" => {
            ev.p.send(dest_of(&args[0])?, args[1].clone());
            ok()
        }
        "send_after" => {
            let ms = int_of(&args[2])?;
            if ms < 0 {
                return Err(arg_error(
                    "Process.send_after expects a non-negative time in milliseconds",
                ));
            }
            let timer = node.send_after(
                dest_of(&args[0])?,
                args[1].clone(),
                Duration::from_millis(ms as u64),
            );
            Ok(Term::Ref(timer))
        }
        "cancel_timer" => {
            let Term::Ref(timer) = &args[0] else {
                return Err(arg_error("Process.cancel_timer expects a timer reference"));
            };
            Ok(match node.cancel_timer(*timer) {
                Some(left) => Term::Int(left as i64),
                None => Term::bool(false),
            })
        }
        _ => Err(undefined_function("Process", fun, args.len(), PROCESS)),
    }
}
