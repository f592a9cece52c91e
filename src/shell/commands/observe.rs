//! The commands that look without touching: `whereis`, `alive?`, `info`, `ps`, `tree` and
//! `state`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::runtime::process::{ProcessInfo, Status};
use crate::runtime::supervisor::{self, ChildKind};
use crate::runtime::term::BoxFuture;
use crate::runtime::{Atom, Dest, Pid, Term};

use super::args::{PsSort, Target, target, value};
use crate::shell::ast::{Arg, ArgKind};
use crate::shell::builtins;
use crate::shell::context::{Eval, R, silent};
use crate::shell::printer::cut;

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
            Term::list(terms)
        });
    }
    builtins::info(ev, &info_args)
}

/// `ps [--sort mailbox]`.
pub fn ps(ev: &mut Eval<'_>, sort: PsSort) -> R {
    let text = ps_text(ev, sort);
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
fn ps_text(ev: &Eval<'_>, sort: PsSort) -> String {
    let node = &ev.ctx.node;
    let mut rows: Vec<_> = node
        .pids()
        .into_iter()
        .filter_map(|p| node.info(p))
        .collect();
    // Stable, so equal figures keep the pid order.
    match sort {
        PsSort::Pid => {}
        PsSort::Mailbox => rows.sort_by_key(|i| std::cmp::Reverse(i.message_queue_len)),
        PsSort::Memory => rows.sort_by_key(|i| std::cmp::Reverse(i.memory)),
    }
    ps_table(&rows, ev.p.pid(), ev.ctx.width())
}

/// The columns of `ps`: title, width when there is room, and whether it is a number (right
/// aligned, never cut). MODULE and NAME are the ones that shrink at a narrow width.
const PS_COLUMNS: [(&str, usize, bool); PS_CELLS] = [
    ("PID", 16, false),
    ("MODULE", 26, false),
    ("NAME", 40, false),
    ("MSGQ", 8, true),
    ("STATUS", 8, false),
    ("MEMORY", 9, true),
    ("RESTARTS", 8, true),
];
/// The cells of a row of `ps`, one a column.
pub const PS_CELLS: usize = 7;
const MODULE: usize = 1;
const NAME: usize = 2;
/// MODULE and NAME are never cut to fewer chars than this, whatever the width.
const NARROWEST_TEXT: usize = 6;
const SHELL_MARK: &str = " (shell)";

/// The rows of `ps`, each at most `width` chars (`None`: the full columns, nothing cut).
pub fn ps_table(rows: &[ProcessInfo], shell: Pid, width: Option<usize>) -> String {
    let shells: Vec<bool> = rows.iter().map(|i| i.pid == shell).collect();
    ps_cells(&ps_rows(rows), &shells, width)
}

/// The cells of `ps` for the local processes.
fn ps_rows(rows: &[ProcessInfo]) -> Vec<[String; PS_CELLS]> {
    rows.iter()
        .map(|i| {
            let name = i
                .registered_name
                .map(|a| Term::Atom(a).to_string())
                .or(i.via_name.as_ref().map(|v| v.to_string()))
                .unwrap_or_default();
            let status = match i.status {
                Status::Running => "running",
                Status::Waiting => "waiting",
                Status::Sleeping => "sleeping",
            };
            [
                i.pid.to_string(),
                i.label.to_string(),
                name,
                i.message_queue_len.to_string(),
                status.to_string(),
                i.memory.to_string(),
                i.restarts.to_string(),
            ]
        })
        .collect()
}

/// The table of `ps` from its cells, a row marked ` (shell)` where `shells` says so: the one
/// picture of the local processes and of a real node's.
pub fn ps_cells(cells: &[[String; PS_CELLS]], shells: &[bool], width: Option<usize>) -> String {
    let is_shell = |k: usize| shells.get(k).copied().unwrap_or(false);
    let squeezed = ps_widths(cells, shells.iter().any(|s| *s), width);
    let widths = squeezed.unwrap_or(PS_COLUMNS.map(|c| c.1));
    let line = |cells: [&str; PS_CELLS], mark: &str| {
        let mut out = String::new();
        for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // At the full widths a longer cell pushes the rest of its row right, as it always
            // has; only squeezed columns cut their cells.
            let text = match squeezed {
                Some(_) => cut(cell, w),
                None => cell.to_string(),
            };
            let sep = if k == 0 { "" } else { " " };
            if PS_COLUMNS[k].2 {
                let _ = write!(out, "{sep}{text:>w$}");
            } else {
                let _ = write!(out, "{sep}{text:<w$}");
            }
        }
        out.push_str(mark);
        match width {
            Some(w) => cut(out.trim_end(), w),
            None => out,
        }
    };
    let mut out = line(PS_COLUMNS.map(|c| c.0), "");
    out.push('\n');
    for (k, c) in cells.iter().enumerate() {
        let mark = if is_shell(k) { SHELL_MARK } else { "" };
        out.push_str(&line(c.each_ref().map(String::as_str), mark));
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// The width of each column of `ps` when the full ones do not fit in `width`: the other
/// columns as wide as their widest cell and MODULE and NAME sharing what is left, the
/// narrower of the two whole when it takes no more than half. `None` when the full ones fit.
fn ps_widths(
    cells: &[[String; PS_CELLS]],
    with_shell: bool,
    width: Option<usize>,
) -> Option<[usize; PS_CELLS]> {
    let full = PS_COLUMNS.map(|c| c.1);
    let mark = if with_shell { SHELL_MARK.len() } else { 0 };
    let total = |w: &[usize; PS_CELLS]| w.iter().sum::<usize>() + w.len() - 1 + mark;
    let limit = width.filter(|&l| total(&full) > l)?;
    let mut widths = [0; PS_CELLS];
    for (k, w) in widths.iter_mut().enumerate() {
        *w = cells
            .iter()
            .map(|c| c[k].chars().count())
            .chain([PS_COLUMNS[k].0.len()])
            .max()
            .unwrap_or(0);
        if k == MODULE || k == NAME {
            *w = (*w).min(full[k]);
        }
    }
    let (module, name) = (widths[MODULE], widths[NAME]);
    widths[MODULE] = 0;
    widths[NAME] = 0;
    let room = limit.saturating_sub(total(&widths));
    let (module, name) = if module + name <= room {
        (module, name)
    } else if module <= room / 2 {
        (module, room - module)
    } else if name <= room / 2 {
        (room - name, name)
    } else {
        (room / 2, room - room / 2)
    };
    widths[MODULE] = module.max(NARROWEST_TEXT);
    widths[NAME] = name.max(NARROWEST_TEXT);
    Some(widths)
}

/// The supervision tree, as `tree` prints it.
async fn tree_text(ev: &mut Eval<'_>) -> String {
    let Some(top) = crate::shell::system::top(ev) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u64, label: &str, registered: Option<&str>, via: Option<Term>) -> ProcessInfo {
        ProcessInfo {
            pid: Pid(pid),
            label: label.into(),
            registered_name: registered.map(|r| Atom::new(r).unwrap()),
            via_name: via,
            status: Status::Waiting,
            message_queue_len: 3,
            links: vec![],
            monitors: vec![],
            monitored_by: vec![],
            trap_exit: false,
            parent: None,
            restarts: 1,
            memory: 0,
            tables: 0,
        }
    }

    fn table() -> Vec<ProcessInfo> {
        let bob = Term::tuple(vec![
            Term::Atom(Atom::new("todo_server").unwrap()),
            Term::str("Bob's list with a name long enough to be cut"),
        ]);
        vec![
            process(100, "IEx.Evaluator", None, None),
            process(
                108,
                "Todo.ServerSupervisor",
                Some("todo_server_supervisor"),
                None,
            ),
            process(110, "Todo.Server", None, Some(bob)),
        ]
    }

    #[test]
    fn at_80_columns_module_and_name_shrink_and_are_cut_with_an_ellipsis() {
        let text = ps_table(&table(), Pid(100), Some(80));
        for row in text.lines() {
            assert!(row.chars().count() <= 80, "{row}");
        }
        let rows: Vec<&str> = text.lines().collect();
        assert!(
            rows[0].starts_with("PID") && rows[0].ends_with("RESTARTS"),
            "{text}"
        );
        assert!(rows[1].ends_with(" 1 (shell)"), "{text}");
        assert!(rows[3].contains("{:todo_server…"), "{text}");
        assert!(rows[2].contains("Todo.ServerSu…"), "{text}");
        assert!(
            rows[3].contains('…') && rows[3].ends_with(" 3 waiting      0        1"),
            "{text}"
        );
    }

    #[test]
    fn at_200_columns_and_unlimited_the_full_columns_are_kept() {
        let unlimited = ps_table(&table(), Pid(100), None);
        assert_eq!(ps_table(&table(), Pid(100), Some(200)), unlimited);
        let rows: Vec<&str> = unlimited.lines().collect();
        assert_eq!(
            rows[0],
            format!(
                "{:<16} {:<26} {:<40} {:>8} {:<8} {:>9} {:>8}",
                "PID", "MODULE", "NAME", "MSGQ", "STATUS", "MEMORY", "RESTARTS"
            )
        );
        assert!(rows[3].contains("\"Bob's list with a name long enough to be cut\"}"));
        assert!(!unlimited.contains('…'));
    }
}
