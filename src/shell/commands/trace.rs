//! `trace on|off|show|mermaid`: records the messages between processes and draws them as a
//! sequence diagram in the terminal or as Mermaid for slides. Lifelines are labelled by the
//! name a person knows a process by (`:todo_cache`, `Todo.DatabaseWorker 1`, `shell`), and
//! each kind of message has its own arrow, the same in both drawings. The drawing fits the
//! terminal's width unless `--wide` asks for everything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::runtime::Pid;
use crate::runtime::events::{TraceEvent, TraceKind};
use crate::runtime::process::ProcessInfo;
use crate::runtime::term::{Term, escape_text};

use super::args::{Target, TraceAction, target};
use crate::shell::ast::Arg;
use crate::shell::context::{Ctx, Eval, R, ok, silent};
use crate::shell::printer::cut;
use crate::shell::report::trace_label;

/// The columns between two lifelines when there is room, and when there is not.
const WIDEST_GAP: usize = 16;
const NARROWEST_GAP: usize = 4;
/// The columns kept for a message's text beside the lifelines before they are squeezed.
const TEXT_COLUMNS: usize = 28;
/// Lifeline labels are staggered over at most this many rows at a limited width, so that the
/// header stays short enough to leave a screenful of messages below it.
const HEADER_ROWS: usize = 3;

/// `trace ACTION [PID…] [--wide]`: without pids, on or off for every process.
pub async fn trace(ev: &mut Eval<'_>, action: TraceAction, pids: &[&Arg], wide: bool) -> R {
    let mut resolved = vec![];
    for a in pids {
        resolved.push(
            target(
                ev,
                Target {
                    arg: a,
                    number: None,
                },
            )
            .await?,
        );
    }
    match action {
        TraceAction::On => {
            ev.ctx.trace.lock().unwrap().events.clear();
            ev.ctx.node.set_trace(true, &resolved);
            ok()
        }
        TraceAction::Off => {
            ev.ctx.node.set_trace(false, &resolved);
            ok()
        }
        TraceAction::Show => {
            let log = ev.ctx.trace.lock().unwrap().clone();
            let width = if wide { None } else { ev.ctx.width() };
            ev.p.puts(sequence_diagram(&log.events, &log.names, ev.p.pid(), width));
            Ok(silent())
        }
        TraceAction::Mermaid => {
            let log = ev.ctx.trace.lock().unwrap().clone();
            ev.p.puts(mermaid(&log.events, &log.names, ev.p.pid()));
            Ok(silent())
        }
    }
}

/// Keeps a traced message, and the names of its two processes while they are still alive.
pub fn record(ctx: &Ctx, event: &Arc<TraceEvent>) {
    let mut log = ctx.trace.lock().unwrap();
    for pid in event.from.into_iter().chain([event.to]) {
        if !log.names.contains_key(&pid)
            && let Some(info) = ctx.node.info(pid)
        {
            log.names.insert(pid, lifeline_name(&info));
        }
    }
    log.events.push(event.clone());
}

/// The name a lifeline is labelled with: the registered name, or the module with the key of
/// its via name (`Todo.DatabaseWorker 1` for `{:database_worker, 1}`), or the module.
pub fn lifeline_name(info: &ProcessInfo) -> String {
    if let Some(name) = info.registered_name {
        return Term::Atom(name).to_string();
    }
    match &info.via_name {
        Some(via) => match via.as_tuple() {
            Some([_, key]) => format!("{} {key}", info.label),
            _ => format!("{} {via}", info.label),
        },
        None => info.label.to_string(),
    }
}

/// How one kind of message is drawn: the line of its arrow, the heads pointing right and
/// left, and the Mermaid arrow of the same kind, so that both drawings tell kinds apart
/// alike: a call is solid, a reply dotted, a cast or a plain message dashed with an open
/// head, an exit or a DOWN ends in a cross.
struct Stroke {
    line: char,
    right: char,
    left: char,
    mermaid: &'static str,
}

fn stroke(kind: TraceKind) -> Stroke {
    let (line, right, left, mermaid) = match kind {
        TraceKind::Call => ('─', '►', '◄', "->>"),
        TraceKind::Reply => ('┈', '►', '◄', "-->>"),
        TraceKind::Cast | TraceKind::Info => ('-', '▷', '◁', "-)"),
        TraceKind::Exit | TraceKind::Down => ('─', '×', '×', "-x"),
    };
    Stroke {
        line,
        right,
        left,
        mermaid,
    }
}

fn participants(events: &[Arc<TraceEvent>]) -> Vec<Option<Pid>> {
    let mut cols: Vec<Option<Pid>> = vec![];
    for e in events {
        for p in [e.from, Some(e.to)] {
            if !cols.contains(&p) {
                cols.push(p);
            }
        }
    }
    cols
}

/// The label of each participant. Two processes of one module without a name would look
/// alike, so such labels are told apart by the pid.
fn labels(cols: &[Option<Pid>], names: &HashMap<Pid, String>, shell: Pid) -> Vec<String> {
    let plain: Vec<String> = cols
        .iter()
        .map(|c| match c {
            Some(p) if *p == shell => "shell".to_string(),
            Some(p) => names.get(p).cloned().unwrap_or_else(|| p.to_string()),
            None => "outside".into(),
        })
        .collect();
    plain
        .iter()
        .zip(cols)
        .map(|(label, col)| match col {
            Some(p) if plain.iter().filter(|l| *l == label).count() > 1 => format!("{label} {p}"),
            _ => label.clone(),
        })
        .collect()
}

/// The recorded messages as a sequence diagram, one lifeline per process, each row at most
/// `width` chars (`None`: as wide as it takes, nothing cut).
pub fn sequence_diagram(
    events: &[Arc<TraceEvent>],
    names: &HashMap<Pid, String>,
    shell: Pid,
    width: Option<usize>,
) -> String {
    if events.is_empty() {
        return "no messages recorded (trace on, then run something)".into();
    }
    let cols = participants(events);
    let n = cols.len();
    let gap = match width {
        None => WIDEST_GAP,
        Some(w) => (w.saturating_sub(TEXT_COLUMNS + 2) / (n - 1).max(1))
            .clamp(NARROWEST_GAP, WIDEST_GAP),
    };
    let mut rows = header(&labels(&cols, names, shell), gap, width);
    // The lifelines, then a space, then the message's text.
    let text_at = (n - 1) * gap + 2;
    for e in events {
        let from = cols.iter().position(|c| *c == e.from).unwrap();
        let to = cols.iter().position(|c| *c == Some(e.to)).unwrap();
        let mut line: Vec<char> = (0..text_at)
            .map(|i| if i % gap == 0 { '│' } else { ' ' })
            .collect();
        let s = stroke(e.kind);
        let (lo, hi) = (from.min(to) * gap, from.max(to) * gap);
        if from == to {
            line[lo + 1] = '↺';
        } else {
            for ch in &mut line[lo + 1..hi] {
                *ch = s.line;
            }
            if to > from {
                line[hi - 1] = s.right;
            } else {
                line[lo + 1] = s.left;
            }
        }
        let text = format!(
            "{} {}",
            trace_label(e.kind),
            escape_text(&e.term.to_string())
        );
        let room = width.map_or(usize::MAX, |w| w.saturating_sub(text_at));
        let row: String = line.into_iter().collect();
        rows.push(format!("{row}{}", cut(&text, room)));
    }
    rows.iter()
        .map(|r| match width {
            Some(w) => cut(r.trim_end(), w),
            None => r.trim_end().to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lifelines' labels, each starting at its lifeline's column. When they do not fit side
/// by side they are staggered over several rows, and a lifeline starts below the last label
/// drawn across its column.
fn header(labels: &[String], gap: usize, width: Option<usize>) -> Vec<String> {
    let n = labels.len();
    let room = |i: usize, rows: usize| -> usize {
        if i + rows < n {
            rows * gap - 1
        } else {
            width.map_or(usize::MAX, |w| w.saturating_sub(i * gap))
        }
    };
    let most = match width {
        Some(_) => HEADER_ROWS.min(n),
        None => n,
    };
    let rows = (1..=most)
        .find(|&h| (0..n).all(|i| labels[i].chars().count() <= room(i, h)))
        .unwrap_or(most);
    let mut grid: Vec<Vec<char>> = vec![vec![]; rows];
    // The last header row each column is written on, so its lifeline can start below it.
    let mut covered: HashMap<usize, usize> = HashMap::new();
    for (i, label) in labels.iter().enumerate() {
        let r = i % rows;
        let x = i * gap;
        let text: Vec<char> = cut(label, room(i, rows)).chars().collect();
        let line = &mut grid[r];
        if line.len() < x + text.len() {
            line.resize(x + text.len(), ' ');
        }
        for (k, ch) in text.iter().enumerate() {
            line[x + k] = *ch;
            let last = covered.entry(x + k).or_insert(r);
            *last = (*last).max(r);
        }
    }
    for i in 0..n {
        let x = i * gap;
        let below = covered.get(&x).map_or(0, |r| r + 1);
        for line in grid.iter_mut().skip(below) {
            if line.len() <= x {
                line.resize(x + 1, ' ');
            }
            line[x] = '│';
        }
    }
    grid.into_iter().map(|l| l.into_iter().collect()).collect()
}

/// The recorded messages as a Mermaid sequence diagram, for slides.
pub fn mermaid(events: &[Arc<TraceEvent>], names: &HashMap<Pid, String>, shell: Pid) -> String {
    let id = |p: &Option<Pid>| match p {
        Some(p) if *p == shell => "shell".to_string(),
        Some(p) => format!("P{}", p.number()),
        None => "outside".to_string(),
    };
    let mut out = String::from("sequenceDiagram\n");
    let cols = participants(events);
    for (c, label) in cols.iter().zip(labels(&cols, names, shell)) {
        let _ = writeln!(
            out,
            "    participant {} as {}",
            id(c),
            label
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace(';', ",")
        );
    }
    for e in events {
        let text = escape_text(&e.term.to_string()).replace(';', ",");
        let _ = writeln!(
            out,
            "    {}{}{}: {} {}",
            id(&e.from),
            stroke(e.kind).mermaid,
            id(&Some(e.to)),
            trace_label(e.kind),
            text
        );
    }
    out.trim_end().to_string()
}
