//! `trace on|off|show|mermaid`: records the messages between processes and draws them as a
//! sequence diagram in the terminal or as Mermaid for slides. Lifelines are labelled by the
//! name a person knows a process by (`:todo_cache`, `Todo.DatabaseWorker 1`, `shell`), and
//! each kind of message has its own arrow, the same in both drawings. The drawing fits the
//! terminal's width unless `--wide` asks for everything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::runtime::events::{TraceEvent, TraceKind};
use crate::runtime::process::ProcessInfo;
use crate::runtime::term::{Term, escape_text};
use crate::runtime::{Atom, Pid};

use super::args::{Target, TraceAction, target};
use crate::shell::ast::Arg;
use crate::shell::context::{Ctx, Eval, R, ok, silent};
use crate::shell::printer::cut;
use crate::shell::report::trace_label;

/// The columns between two lifelines when there is room, and when there is not.
const WIDEST_GAP: usize = 16;
const NARROWEST_GAP: usize = 4;
/// The columns kept for a message's text beside the lifelines before they are squeezed.
const TEXT_COLUMNS: usize = 36;
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
    known_name(info.registered_name, info.via_name.as_ref(), &info.label)
}

/// [`lifeline_name`] from the three things it is made of, for a view that has them without
/// a whole `Process.info`.
pub fn known_name(registered: Option<Atom>, via: Option<&Term>, label: &str) -> String {
    if let Some(name) = registered {
        return Term::Atom(name).to_string();
    }
    match via {
        Some(via) => match via.as_tuple() {
            Some([_, key]) => format!("{label} {key}"),
            _ => format!("{label} {via}"),
        },
        None => label.to_string(),
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
        Some(w) => {
            (w.saturating_sub(TEXT_COLUMNS + 2) / (n - 1).max(1)).clamp(NARROWEST_GAP, WIDEST_GAP)
        }
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
            // Beside its lifeline, on the left of the last one so the text keeps its space.
            let beside = if from + 1 == n && n > 1 {
                lo - 1
            } else {
                lo + 1
            };
            line[beside] = '↺';
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::atom;

    const SHELL: Pid = Pid(100);
    const REGISTRY: Pid = Pid(102);
    const WORKER: Pid = Pid(105);
    const SUPERVISOR: Pid = Pid(108);
    const CACHE: Pid = Pid(109);
    const SERVER: Pid = Pid(110);

    fn event(from: Pid, to: Pid, kind: TraceKind, term: Term) -> Arc<TraceEvent> {
        Arc::new(TraceEvent {
            from: Some(from),
            to,
            kind,
            term,
        })
    }

    /// `{:tag, args…}`, the shape of most requests.
    fn request(tag: &'static str, args: impl IntoIterator<Item = Term>) -> Term {
        Term::Tuple([atom(tag)].into_iter().chain(args).collect())
    }

    fn bob() -> Term {
        request("todo_server", [Term::str("Bob's list")])
    }

    /// What `server_process "Bob's list"` and `entries` of it send, as recorded in a session.
    fn bobs_list() -> (Vec<Arc<TraceEvent>>, HashMap<Pid, String>) {
        use TraceKind::{Call, Reply};
        let whereis = || request("whereis_name", [bob()]);
        let list = || Term::str("Bob's list");
        let register = request("register_name", [bob(), Term::Pid(SERVER)]);
        let events = vec![
            event(SHELL, REGISTRY, Call, whereis()),
            event(REGISTRY, SHELL, Reply, atom("undefined")),
            event(SHELL, CACHE, Call, request("server_process", [list()])),
            event(CACHE, REGISTRY, Call, whereis()),
            event(REGISTRY, CACHE, Reply, atom("undefined")),
            event(
                CACHE,
                SUPERVISOR,
                Call,
                request("start_child", [atom("spec")]),
            ),
            event(SERVER, REGISTRY, Call, register),
            event(REGISTRY, SERVER, Reply, atom("yes")),
            event(SERVER, WORKER, Call, request("get", [list()])),
            event(SUPERVISOR, CACHE, Reply, Term::ok_tuple(SERVER)),
            event(WORKER, SERVER, Reply, Term::nil()),
            event(CACHE, SHELL, Reply, Term::Pid(SERVER)),
        ];
        let names = [
            (SHELL, "IEx.Evaluator"),
            (REGISTRY, ":todo_process_registry"),
            (WORKER, "Todo.DatabaseWorker 1"),
            (SUPERVISOR, ":todo_server_supervisor"),
            (CACHE, ":todo_cache"),
            (SERVER, "Todo.Server \"Bob's list\""),
        ];
        let names = names.into_iter().map(|(p, n)| (p, n.to_string())).collect();
        (events, names)
    }

    fn rows(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn at_80_and_200_columns_every_row_fits_and_the_header_names_every_lifeline() {
        let (events, names) = bobs_list();
        for width in [80, 200] {
            let drawn = sequence_diagram(&events, &names, SHELL, Some(width));
            for row in rows(&drawn) {
                assert!(
                    row.chars().count() <= width,
                    "{} chars at {width} columns: {row}",
                    row.chars().count()
                );
            }
            // Every label whole in the header, and the shell by its name, not its pid.
            let header: String = rows(&drawn)[..HEADER_ROWS].join("\n");
            for label in ["shell", ":todo_process_registry", ":todo_cache"] {
                assert!(header.contains(label), "{label} at {width}:\n{drawn}");
            }
            for label in ["Todo.DatabaseWorker 1", "Todo.Server \"Bob's list\""] {
                assert!(header.contains(label), "{label} at {width}:\n{drawn}");
            }
            assert!(!drawn.contains("IEx.Evaluator") && !drawn.contains("#PID<0.100.0>"));
            assert_eq!(rows(&drawn).len(), events.len() + header_rows(&drawn));
        }
    }

    /// The rows above the first message.
    fn header_rows(drawn: &str) -> usize {
        rows(drawn).iter().position(|r| r.contains("CALL")).unwrap()
    }

    #[test]
    fn at_80_columns_long_terms_are_cut_with_an_ellipsis_and_short_ones_are_whole() {
        let (events, names) = bobs_list();
        let drawn = sequence_diagram(&events, &names, SHELL, Some(80));
        let register = rows(&drawn)
            .into_iter()
            .find(|r| r.contains("CALL {:register_name"))
            .unwrap();
        assert!(register.ends_with('…'), "{register}");
        assert_eq!(register.chars().count(), 80);
        assert!(rows(&drawn).iter().any(|r| r.ends_with(" REPLY :yes")));
        assert!(
            rows(&drawn)
                .iter()
                .any(|r| r.ends_with(" CALL {:get, \"Bob's list\"}"))
        );
    }

    #[test]
    fn wide_cuts_nothing() {
        let (events, names) = bobs_list();
        let drawn = sequence_diagram(&events, &names, SHELL, None);
        assert!(!drawn.contains('…'), "{drawn}");
        let full = format!("CALL {}", events[6].term);
        assert!(drawn.lines().any(|r| r.ends_with(&full)), "{drawn}");
        assert!(drawn.lines().any(|r| r.chars().count() > 120));
    }

    #[test]
    fn each_kind_of_message_has_its_own_arrow() {
        use TraceKind::*;
        let events = vec![
            event(SHELL, CACHE, Call, atom("a")),
            event(CACHE, SHELL, Reply, atom("b")),
            event(SHELL, CACHE, Cast, atom("c")),
            event(CACHE, SHELL, Info, atom("d")),
            event(SHELL, CACHE, Exit, atom("kill")),
            event(CACHE, SHELL, Down, atom("e")),
            event(CACHE, CACHE, Info, atom("f")),
        ];
        let names = HashMap::from([(CACHE, ":todo_cache".to_string())]);
        let expected = "\
shell           :todo_cache
│──────────────►│ CALL :a
│◄┈┈┈┈┈┈┈┈┈┈┈┈┈┈│ REPLY :b
│--------------▷│ CAST :c
│◁--------------│ INFO :d
│──────────────×│ EXIT :kill
│×──────────────│ DOWN :e
│              ↺│ INFO :f";
        assert_eq!(sequence_diagram(&events, &names, SHELL, Some(80)), expected);
        let expected = "\
sequenceDiagram
    participant shell as shell
    participant P109 as :todo_cache
    shell->>P109: CALL :a
    P109-->>shell: REPLY :b
    shell-)P109: CAST :c
    P109-)shell: INFO :d
    shell-xP109: EXIT :kill
    P109-xshell: DOWN :e
    P109-)P109: INFO :f";
        assert_eq!(mermaid(&events, &names, SHELL), expected);
    }

    #[test]
    fn at_a_narrow_width_labels_are_cut_too_and_rows_still_fit() {
        let (events, names) = bobs_list();
        let drawn = sequence_diagram(&events, &names, SHELL, Some(40));
        assert!(
            rows(&drawn).iter().all(|r| r.chars().count() <= 40),
            "{drawn}"
        );
        assert!(
            rows(&drawn)[..header_rows(&drawn)]
                .join("")
                .contains(":todo_proc…")
        );
    }

    #[test]
    fn lifelines_without_a_name_are_told_apart_by_pid_and_outsiders_are_outside() {
        let events = vec![
            event(SERVER, WORKER, TraceKind::Cast, atom("a")),
            Arc::new(TraceEvent {
                from: None,
                to: SERVER,
                kind: TraceKind::Info,
                term: atom("b"),
            }),
        ];
        let names = HashMap::from([
            (SERVER, "Todo.Server".to_string()),
            (WORKER, "Todo.Server".to_string()),
        ]);
        let cols = participants(&events);
        assert_eq!(
            labels(&cols, &names, SHELL),
            [
                "Todo.Server #PID<0.110.0>",
                "Todo.Server #PID<0.105.0>",
                "outside"
            ]
        );
    }

    #[test]
    fn a_lifeline_is_named_by_registered_name_then_module_and_via_key_then_module() {
        let info = |registered: Option<&str>, via: Option<Term>, label: &str| ProcessInfo {
            pid: WORKER,
            label: label.into(),
            registered_name: registered.map(|r| crate::runtime::Atom::new(r).unwrap()),
            via_name: via,
            status: crate::runtime::process::Status::Waiting,
            message_queue_len: 0,
            links: vec![],
            monitors: vec![],
            monitored_by: vec![],
            trap_exit: false,
            parent: None,
            restarts: 0,
            memory: 0,
            tables: 0,
        };
        let via = Term::tuple(vec![atom("database_worker"), Term::Int(1)]);
        assert_eq!(
            lifeline_name(&info(None, Some(via), "Todo.DatabaseWorker")),
            "Todo.DatabaseWorker 1"
        );
        assert_eq!(
            lifeline_name(&info(Some("todo_cache"), None, "Todo.Cache")),
            ":todo_cache"
        );
        assert_eq!(
            lifeline_name(&info(None, None, "Todo.Database")),
            "Todo.Database"
        );
    }
}
