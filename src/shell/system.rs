//! The shell's hold on the to-do system: the tree it boots or the user starts, stopping it in
//! order, the well-known parts a command may name (`kill registry`, `flood worker 2`), and the
//! calls into a list's server that both `Todo.Server.*` and the short commands make. The
//! built-ins and the commands both build on this module, so neither re-implements the other.

use std::sync::Arc;

use crate::runtime::supervisor::{self, ChildKind};
use crate::runtime::{Atom, Date, Dest, Envelope, ExitReason, Pid, Term};
use crate::todo::{self, Config, cache, database_worker, process_registry, server};

use super::context::{Eval, R, arg_error};

/// The parts of the to-do tree a command may name instead of a pid, in the order completion
/// and the did-you-mean offer them. `system` is accepted too, as another word for
/// `system_supervisor`, but not offered.
pub const WELL_KNOWN: &[&str] = &[
    "registry",
    "cache",
    "database",
    "worker",
    "server_supervisor",
    "system_supervisor",
    "supervisor",
];

/// The error of a command naming the tree while none runs.
fn not_running() -> ExitReason {
    arg_error("the to-do system is not running (start it with `start`)")
}

/// Starts the to-do tree unlinked, as the application does at boot.
pub async fn start_system(ev: &mut Eval<'_>, config: Arc<Config>) -> R {
    *ev.ctx.config.lock().unwrap() = config.clone();
    match todo::supervisor::start(&ev.ctx.node, config).await {
        Ok(pid) => {
            *ev.ctx.system.lock().unwrap() = Some(pid);
            Ok(Term::ok_tuple(pid))
        }
        Err(e) => Ok(e.to_term()),
    }
}

/// Stops the to-do tree (the booted one or the one the shell started), children first.
pub async fn stop_system(ev: &mut Eval<'_>) {
    let top = ev.ctx.system.lock().unwrap().take();
    if let Some(pid) = top {
        if ev.ctx.node.alive(pid) {
            ev.p.unlink(pid);
            let r = ev.p.monitor(pid);
            ev.ctx.node.stop(pid, ExitReason::Shutdown);
            let _ = ev
                .p
                .receive_match(move |e| matches!(e, Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[1] == Term::Ref(r)), None)
                .await;
        }
    }
}

/// The top supervisor of the to-do system: the tree booted or started with `start`, or any
/// other `Todo.Supervisor` tree, however it was started (the book's `start_link` typed in a
/// bare shell), the newest when there are several.
pub fn top(ev: &Eval<'_>) -> Option<Pid> {
    let node = &ev.ctx.node;
    let mut held = ev.ctx.system.lock().unwrap();
    if let Some(pid) = *held
        && node.alive(pid)
    {
        return Some(pid);
    }
    let found = node.pids().into_iter().rev().find(|pid| {
        node.info(*pid)
            .is_some_and(|i| &*i.label == todo::supervisor::LABEL)
    });
    *held = found;
    found
}

/// The hint after the shell's exit when the book's `Todo.Supervisor.start_link` met the tree
/// otplab booted: the BEAM's answer (the registry's name is taken) says what happened, not
/// why the name was taken.
pub fn start_link_hint(reason: &ExitReason) -> Option<&'static str> {
    let ExitReason::Other(Term::Tuple(t)) = reason else {
        return None;
    };
    let [shutdown, Term::Tuple(failed)] = &t[..] else {
        return None;
    };
    let [what, child, Term::Tuple(why)] = &failed[..] else {
        return None;
    };
    (shutdown.is_atom("shutdown")
        && what.is_atom("failed_to_start_child")
        && child.is_atom("Elixir.Todo.ProcessRegistry")
        && why.first().is_some_and(|w| w.is_atom("already_started")))
    .then_some(
        "    hint: otplab boots the to-do system at start, so its names are taken; the booted tree keeps running (see `tree`); start otplab with --bare to start it yourself",
    )
}

/// The pid of a list's server through the current system, started on first use.
pub async fn list_pid(ev: &mut Eval<'_>, name: &str) -> Result<Pid, ExitReason> {
    let config: Arc<Config> = ev.ctx.config();
    cache::server_process(ev.p, &config, name).await
}

/// `Todo.Server.entries(pid, date)`: on failure, the exit `GenServer.call` raises, as the
/// to-do API builds it.
pub async fn entries(ev: &mut Eval<'_>, pid: Pid, date: Date) -> R {
    server::entries(ev.p, pid, date).await
}

/// The pid of a well-known part of the tree; `None` when `word` names none. `worker` takes
/// its number from `n`.
pub async fn well_known(
    ev: &mut Eval<'_>,
    word: &str,
    n: Option<i64>,
) -> Option<Result<Pid, ExitReason>> {
    let node = ev.ctx.node.clone();
    let named = |a: &'static str| {
        node.whereis(Atom::from_static(a))
            .ok_or_else(|| arg_error(format!("{word} is not running")))
    };
    Some(match word {
        "registry" => named("todo_process_registry"),
        "cache" => named("todo_cache"),
        "server_supervisor" => named("todo_server_supervisor"),
        "worker" => match n {
            Some(n) if (1..=3).contains(&n) => {
                process_registry::whereis_name(ev.p, database_worker::key(n as usize))
                    .await
                    .ok_or_else(|| arg_error(format!("database worker {n} is not running")))
            }
            _ => Err(arg_error("kill worker N takes N in 1..3")),
        },
        "supervisor" => top(ev).ok_or_else(not_running),
        "database" | "system" | "system_supervisor" => match top(ev) {
            None => Err(not_running()),
            Some(top) => {
                let label = if word == "database" {
                    "Todo.Database"
                } else {
                    "Todo.SystemSupervisor"
                };
                child_by_label(ev, top, label)
                    .await
                    .ok_or_else(|| arg_error(format!("{word} is not running")))
            }
        },
        _ => return None,
    })
}

/// Finds a supervisor's descendant by its id's module name, breadth first.
async fn child_by_label(ev: &mut Eval<'_>, top: Pid, label: &str) -> Option<Pid> {
    let node = ev.ctx.node.clone();
    let mut queue = vec![top];
    while let Some(sup) = queue.pop() {
        let children = supervisor::which_children(&node, ev.p.pid(), &Dest::Pid(sup))
            .await
            .ok()?;
        for c in children {
            if c.id.to_string() == label {
                return c.pid;
            }
            if let (ChildKind::Supervisor, Some(p)) = (c.kind, c.pid) {
                queue.push(p);
            }
        }
    }
    None
}
