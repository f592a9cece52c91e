//! `trace on|off|show|mermaid`: records the messages between processes and draws them as a
//! sequence diagram in the terminal or as Mermaid for slides.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::runtime::Pid;
use crate::runtime::events::{TraceEvent, TraceKind};
use crate::runtime::term::escape_text;

use super::args::{Target, TraceAction, target};
use crate::shell::ast::Arg;
use crate::shell::context::{Eval, R, ok, silent};
use crate::shell::report::trace_label;

/// `trace ACTION [PID…]`: without pids, on or off for every process.
pub async fn trace(ev: &mut Eval<'_>, action: TraceAction, pids: &[Arg]) -> R {
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
            ev.ctx.trace.lock().unwrap().clear();
            ev.ctx.node.set_trace(true, &resolved);
            ok()
        }
        TraceAction::Off => {
            ev.ctx.node.set_trace(false, &resolved);
            ok()
        }
        TraceAction::Show => {
            let events = ev.ctx.trace.lock().unwrap().clone();
            ev.p.puts(sequence_diagram(&events, ev.p.pid()));
            Ok(silent())
        }
        TraceAction::Mermaid => {
            let events = ev.ctx.trace.lock().unwrap().clone();
            ev.p.puts(mermaid(&events, ev.p.pid()));
            Ok(silent())
        }
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

/// The recorded messages as a sequence diagram, one column per process.
pub fn sequence_diagram(events: &[Arc<TraceEvent>], shell: Pid) -> String {
    if events.is_empty() {
        return "no messages recorded (trace on, then run something)".into();
    }
    let cols = participants(events);
    let width = 22;
    let name = |p: &Option<Pid>| match p {
        Some(p) if *p == shell => "shell".to_string(),
        Some(p) => p.to_string(),
        None => "outside".into(),
    };
    let mut out = String::new();
    for c in &cols {
        let _ = write!(out, "{:<width$}", name(c));
    }
    out.push('\n');
    for e in events {
        let a = cols.iter().position(|c| *c == e.from).unwrap();
        let b = cols.iter().position(|c| *c == Some(e.to)).unwrap();
        let mut line: Vec<char> = (0..cols.len() * width)
            .map(|i| if i % width == 0 { '|' } else { ' ' })
            .collect();
        let (lo, hi) = (a.min(b) * width, a.max(b) * width);
        for ch in line.iter_mut().take(hi).skip(lo + 1) {
            *ch = '-';
        }
        if b > a {
            line[hi - 1] = '>';
        } else if b < a {
            line[lo + 1] = '<';
        }
        let mut text: String = line.into_iter().collect();
        let label = format!(
            " {} {}",
            trace_label(e.kind),
            escape_text(&e.term.to_string())
        );
        text = text.trim_end().to_string();
        let _ = writeln!(out, "{text}{label}");
    }
    out.trim_end().to_string()
}

/// The recorded messages as a Mermaid sequence diagram, for slides.
pub fn mermaid(events: &[Arc<TraceEvent>], shell: Pid) -> String {
    let id = |p: &Option<Pid>| match p {
        Some(p) if *p == shell => "shell".to_string(),
        Some(p) => format!("P{}", p.number()),
        None => "outside".to_string(),
    };
    let mut out = String::from("sequenceDiagram\n");
    for c in participants(events) {
        let label = match c {
            Some(p) if p == shell => "shell".to_string(),
            Some(p) => p.to_string(),
            None => "outside".into(),
        };
        let _ = writeln!(
            out,
            "    participant {} as {}",
            id(&c),
            label.replace('<', "&lt;").replace('>', "&gt;")
        );
    }
    for e in events {
        let arrow = if matches!(
            e.kind,
            TraceKind::Cast | TraceKind::Info | TraceKind::Exit | TraceKind::Down
        ) {
            "-)"
        } else {
            "->>"
        };
        let text = escape_text(&e.term.to_string()).replace(';', ",");
        let _ = writeln!(
            out,
            "    {}{arrow}{}: {} {}",
            id(&e.from),
            id(&Some(e.to)),
            trace_label(e.kind),
            text
        );
    }
    out.trim_end().to_string()
}
