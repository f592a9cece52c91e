//! The commands that look without touching: `whereis`, `alive?`, `info`, `ps`, `tree` and
//! `state`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::runtime::process::Status;
use crate::runtime::supervisor::{self, ChildKind};
use crate::runtime::term::BoxFuture;
use crate::runtime::{Atom, Dest, Pid, Term};

use super::args::{Target, target, value};
use crate::shell::ast::{Arg, ArgKind};
use crate::shell::builtins;
use crate::shell::context::{Eval, R, silent};

/// `whereis TARGET`: the pid, or `nil`.
pub async fn whereis(ev: &mut Eval<'_>, t: Target<'_>) -> R {
    Ok(target(ev, t)
        .await
        .map(Term::Pid)
        .unwrap_or_else(|_| Term::nil()))
}

/// `alive? TARGET`.
pub async fn alive(ev: &mut Eval<'_>, t: Target<'_>) -> R {
    Ok(Term::bool(ev.ctx.node.alive(target(ev, t).await?)))
}

/// `info TARGET [KEY…]`: `Process.info` with the keys as atoms (bare words) or terms.
pub async fn info(ev: &mut Eval<'_>, t: Target<'_>, keys: &[Arg]) -> R {
    let pid = target(ev, t).await?;
    let mut info_args = vec![Term::Pid(pid)];
    if !keys.is_empty() {
        let mut terms = vec![];
        for a in keys {
            terms.push(match &a.kind {
                ArgKind::Word(w) => Term::Atom(Atom::new(w)?),
                _ => value(ev, a).await?,
            });
        }
        info_args.push(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Term::List(terms)
        });
    }
    builtins::info(ev, &info_args)
}

/// `ps [--sort mailbox]`.
pub fn ps(ev: &mut Eval<'_>, by_mailbox: bool) -> R {
    let text = ps_text(ev, by_mailbox);
    ev.p.puts(text);
    Ok(silent())
}

/// `tree`.
pub async fn tree(ev: &mut Eval<'_>) -> R {
    let text = tree_text(ev).await;
    ev.p.puts(text);
    Ok(silent())
}

/// `state TARGET`: `:sys.get_state`.
pub async fn state(ev: &mut Eval<'_>, t: Target<'_>) -> R {
    let pid = target(ev, t).await?;
    builtins::get_state(ev, &Term::Pid(pid)).await
}

/// The process table, as `ps` prints it.
fn ps_text(ev: &Eval<'_>, by_mailbox: bool) -> String {
    let node = &ev.ctx.node;
    let mut rows: Vec<_> = node
        .pids()
        .into_iter()
        .filter_map(|p| node.info(p))
        .collect();
    if by_mailbox {
        rows.sort_by(|a, b| {
            b.message_queue_len
                .cmp(&a.message_queue_len)
                .then(a.pid.cmp(&b.pid))
        });
    }
    let mut out = format!(
        "{:<16} {:<26} {:<40} {:>8} {:<8} {:>8}\n",
        "PID", "MODULE", "NAME", "MSGQ", "STATUS", "RESTARTS"
    );
    for i in rows {
        let name = i
            .registered_name
            .map(|a| Term::Atom(a).to_string())
            .or(i.via_name.map(|v| v.to_string()))
            .unwrap_or_default();
        let status = match i.status {
            Status::Running => "running",
            Status::Waiting => "waiting",
            Status::Sleeping => "sleeping",
        };
        let me = if i.pid == ev.p.pid() { " (shell)" } else { "" };
        let _ = writeln!(
            out,
            "{:<16} {:<26} {:<40} {:>8} {:<8} {:>8}{me}",
            i.pid.to_string(),
            i.label,
            name,
            i.message_queue_len,
            status,
            i.restarts
        );
    }
    out.trim_end().to_string()
}

/// The supervision tree, as `tree` prints it.
async fn tree_text(ev: &mut Eval<'_>) -> String {
    let top = *ev.ctx.system.lock().unwrap();
    let Some(top) = top.filter(|p| ev.ctx.node.alive(*p)) else {
        return "the to-do system is not running (start it with `start`)".into();
    };
    let mut out = String::new();
    let label = ev
        .ctx
        .node
        .info(top)
        .map(|i| i.label.to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "{label} {top}{}", strategy(ev, top).await);
    draw(ev, top, String::new(), &mut out).await;
    out.trim_end().to_string()
}

async fn strategy(ev: &Eval<'_>, pid: Pid) -> String {
    match ev
        .ctx
        .node
        .get_state(&Dest::Pid(pid), Duration::from_secs(1))
        .await
    {
        Ok(state) => match (
            state.get("strategy"),
            state.get("intensity"),
            state.get("period"),
        ) {
            (Some(s), Some(i), Some(p)) => format!(
                "  ({}, {i} restarts in {p} s)",
                s.to_string().trim_start_matches(':')
            ),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

fn draw<'b>(
    ev: &'b mut Eval<'_>,
    sup: Pid,
    indent: String,
    out: &'b mut String,
) -> BoxFuture<'b, ()> {
    Box::pin(async move {
        let node = ev.ctx.node.clone();
        let Ok(children) = supervisor::which_children(&node, ev.p.pid(), &Dest::Pid(sup)).await
        else {
            return;
        };
        let n = children.len();
        for (i, c) in children.into_iter().enumerate() {
            let last = i + 1 == n;
            let branch = if last { "└─ " } else { "├─ " };
            let pid = c
                .pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "(not running)".into());
            let mut extra = String::new();
            if let Some(p) = c.pid {
                if let Some(info) = node.info(p) {
                    if let Some(name) = info.registered_name.map(|a| Term::Atom(a).to_string()) {
                        let _ = write!(extra, " {name}");
                    }
                    let _ = write!(
                        extra,
                        "  restarts: {}  links: {}",
                        c.restarts,
                        info.links.len()
                    );
                    if info.message_queue_len > 0 {
                        let _ = write!(extra, "  mailbox: {}", info.message_queue_len);
                    }
                }
                for t in node.tables().owned_by(p) {
                    let _ = write!(extra, "  table {}", t.id_term());
                }
                if c.kind == ChildKind::Supervisor {
                    extra.push_str(&strategy(ev, p).await);
                }
            }
            let id = if c.id.is_atom("undefined") {
                c.pid
                    .and_then(|p| node.info(p))
                    .and_then(|i| i.via_name)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "child".into())
            } else {
                c.id.to_string()
            };
            let line = format!("{indent}{branch}{id} {pid}{extra}");
            let line = if c.pid.is_none() && ev.ctx.color {
                format!("\u{1b}[2m{line}\u{1b}[0m")
            } else {
                line
            };
            let _ = writeln!(out, "{line}");
            if let (ChildKind::Supervisor, Some(p)) = (c.kind, c.pid) {
                let next = format!("{indent}{}", if last { "   " } else { "│  " });
                draw(ev, p, next, out).await;
            }
        }
    })
}
