//! `Supervisor` and `DynamicSupervisor`: children, counts, terminating a child, stopping.

use crate::runtime::supervisor as sup;
use crate::runtime::{CallError, ExitReason, Term, atom};

use super::function::Function;
use super::gen_server::resolve;
use crate::shell::context::wait_down;
use crate::shell::context::{CALL_TIMEOUT, Eval, R, dest_of, ok};

/// `Supervisor`'s functions: name, arities, what each does.
pub const SUPERVISOR: &[Function] = &[
    ("which_children", &[1], "the children of a supervisor"),
    ("count_children", &[1], "counts of a supervisor's children"),
    ("terminate_child", &[2], "stops one child"),
    ("stop", &[1, 2], "stops a supervisor"),
];

/// `DynamicSupervisor`'s functions: name, arities, what each does.
pub const DYNAMIC_SUPERVISOR: &[Function] = &[
    (
        "which_children",
        &[1],
        "the children of a dynamic supervisor",
    ),
    (
        "count_children",
        &[1],
        "counts of a dynamic supervisor's children",
    ),
    ("terminate_child", &[2], "stops one child by pid"),
];

/// `Supervisor.fun(args)` and `DynamicSupervisor.fun(args)`.
pub async fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let dest = dest_of(&args[0])?;
    let node = ev.ctx.node.clone();
    let me = ev.p.pid();
    let fail = |e: CallError| {
        e.exit_reason(
            &args[0],
            &atom(if fun == "count_children" {
                "count_children"
            } else {
                "which_children"
            }),
            Some(CALL_TIMEOUT.as_millis() as u64),
        )
    };
    match fun {
        "which_children" => {
            let children = sup::which_children(&node, me, &dest).await.map_err(fail)?;
            Ok(Term::List(
                children
                    .into_iter()
                    .map(|c| {
                        Term::tuple(vec![
                            c.id,
                            c.pid.map(Term::Pid).unwrap_or_else(|| atom("undefined")),
                            atom(if c.kind == sup::ChildKind::Worker {
                                "worker"
                            } else {
                                "supervisor"
                            }),
                            Term::list(vec![]),
                        ])
                    })
                    .collect(),
            ))
        }
        "count_children" => sup::count_children(&node, me, &dest).await.map_err(fail),
        "terminate_child" => {
            let done = sup::terminate_child(&node, me, &dest, args[1].clone())
                .await
                .map_err(fail)?;
            Ok(if done {
                atom("ok")
            } else {
                Term::error_tuple(atom("not_found"))
            })
        }
        _ => {
            let pid = resolve(ev, &args[0])?;
            let r = ev.p.monitor(pid);
            let reason = args
                .get(1)
                .cloned()
                .map(ExitReason::from_term)
                .unwrap_or(ExitReason::Normal);
            node.stop(pid, reason);
            wait_down(ev, r).await;
            ok()
        }
    }
}
