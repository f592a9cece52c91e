//! How the node's events read in the shell. Three levels, chosen with `report`:
//! `short` (the default: one coloured line per crash, restart and give-up, because seeing
//! the restart is the point of the experiments), `iex` (exactly what iex prints: process
//! output and GenServer crash reports, nothing for a kill), and `sasl` (iex with
//! `--logger-sasl-reports true`: also the supervisors' progress and error reports).
//! Pure formatting; the caller prints.

use std::time::{SystemTime, UNIX_EPOCH};

use owo_colors::OwoColorize;

use crate::runtime::events::{ChildReport, CrashReport, Event, TraceKind};
use crate::runtime::{ExitReason, Term};

/// How much of the node's life the shell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Short,
    Iex,
    Sasl,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "short" => Some(Level::Short),
            "iex" => Some(Level::Iex),
            "sasl" => Some(Level::Sasl),
            _ => None,
        }
    }
}

/// Whether an event is one of the reports Erlang's logger prints (crash reports, and SASL's
/// progress and supervisor reports). The logger is a process of its own that formats and
/// prints a report some time after the event, so in iex's transcripts the reports of what
/// happened during a line come after the line's answer, in the order they were logged.
pub fn from_logger(event: &Event, level: Level) -> bool {
    level != Level::Short
        && match event {
            Event::Crash(_)
            | Event::UnexpectedMessage(_)
            | Event::ChildStarted(_)
            | Event::ChildTerminated(_) => true,
            Event::Exited(e) => {
                &*e.label == crate::runtime::PLAIN_LABEL
                    && matches!(e.reason, ExitReason::Exception { .. })
            }
            _ => false,
        }
}

/// The lines an event prints at this level (none for most events).
pub fn format(event: &Event, level: Level, color: bool) -> Vec<String> {
    let paint = |text: String, red: bool| -> String {
        match (color, red) {
            (false, _) => text,
            (true, true) => text.red().to_string(),
            (true, false) => text.yellow().to_string(),
        }
    };
    match (event, level) {
        (Event::Output { text, .. }, _) => text.lines().map(str::to_string).collect(),
        (Event::Crash(report), Level::Iex | Level::Sasl) => paint_all(crash_report(report), color),
        // A plain spawned process that raised: Erlang's error logger reports it, a GenServer
        // reports its own crash (above), and an `exit/1` is not reported at all.
        (Event::Exited(e), Level::Iex | Level::Sasl)
            if &*e.label == crate::runtime::PLAIN_LABEL
                && matches!(e.reason, ExitReason::Exception { .. }) =>
        {
            let ExitReason::Exception { kind, message, .. } = &e.reason else {
                unreachable!("the guard matched an exception")
            };
            paint_all(
                vec![
                    String::new(),
                    format!(
                        "{} [error] Process {} raised an exception",
                        timestamp(),
                        e.pid
                    ),
                    format!("** ({kind}) {message}"),
                ],
                color,
            )
        }
        (Event::UnexpectedMessage(m), level) => {
            let (label, message) = (&m.label, &m.message);
            let who = m.name.clone().unwrap_or(Term::Pid(m.pid));
            let text = format!(
                "[error] {label} {who} received unexpected message in handle_info/2: {message}"
            );
            match level {
                Level::Short => vec![paint(text, true)],
                // Elixir's log message ends with a line break of its own: a blank line after.
                Level::Iex | Level::Sasl => paint_all(
                    vec![
                        String::new(),
                        format!("{} {text}", timestamp()),
                        String::new(),
                    ],
                    color,
                ),
            }
        }
        (Event::Exited(e), Level::Short) if !e.reason.is_clean() => {
            let (pid, label) = (e.pid, &e.label);
            let who = match &e.name {
                Some(n) => format!("{label} {n} {pid}"),
                None => format!("{label} {pid}"),
            };
            vec![paint(
                format!("[exit] {who}: {}", one_line(&describe_exit(&e.reason))),
                true,
            )]
        }
        (Event::Restarting(r), Level::Short) => {
            let id = if r.id.is_atom("undefined") {
                String::new()
            } else {
                format!("{} ", r.id)
            };
            let text = format!(
                "[restart] {} {} restarts {id}(was {})",
                r.supervisor_label, r.supervisor, r.old
            );
            vec![paint(text, false)]
        }
        (Event::GaveUp(g), Level::Short | Level::Sasl) => vec![paint(
            format!(
                "[give up] {} {}: more than {} restarts in {} s; stopping its children and exiting with :shutdown",
                g.label, g.supervisor, g.restarts, g.seconds
            ),
            true,
        )],
        (Event::LateReplyDropped(l), Level::Short | Level::Sasl) => vec![paint(
            format!(
                "[late reply] {} answered {} after its call timed out; the reply {} was dropped (OTP 24+)",
                l.server, l.caller, l.reply
            ),
            false,
        )],
        (Event::ChildStarted(r), Level::Sasl) => paint_all(child_report(r, true), color),
        (Event::ChildTerminated(r), Level::Sasl) => paint_all(child_report(r, false), color),
        (Event::Trace(t), _) => {
            let kind = trace_label(t.kind);
            let from = t
                .from
                .map(|p| p.to_string())
                .unwrap_or_else(|| "(outside)".into());
            vec![format!("[trace] {kind:<5} {from} -> {} {}", t.to, t.term)]
        }
        _ => vec![],
    }
}

/// The label of a traced message: `CALL`, `CAST`, `REPLY`, `INFO`, `EXIT`, `DOWN`.
pub fn trace_label(kind: TraceKind) -> &'static str {
    match kind {
        TraceKind::Call => "CALL",
        TraceKind::Cast => "CAST",
        TraceKind::Reply => "REPLY",
        TraceKind::Info => "INFO",
        TraceKind::Exit => "EXIT",
        TraceKind::Down => "DOWN",
    }
}

fn paint_all(lines: Vec<String>, color: bool) -> Vec<String> {
    if !color {
        return lines;
    }
    lines.into_iter().map(|l| l.red().to_string()).collect()
}

fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `16:11:10.549`, the wall clock as iex's logger prints it (UTC).
pub fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// iex's `[error] GenServer … terminating` report.
pub fn crash_report(r: &CrashReport) -> Vec<String> {
    let who = r
        .name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| r.pid.to_string());
    let mut lines = vec![
        String::new(),
        format!("{} [error] GenServer {who} terminating", timestamp()),
    ];
    lines.extend(stop_reason(&r.reason).lines().map(str::to_string));
    if r.raised {
        lines.extend(stack_lines(
            &r.reason,
            &format!("{}.{}", r.label, r.callback),
        ));
    }
    match (&r.last_message, r.client) {
        (Some(m), Some(c)) => lines.push(format!("Last message (from {c}): {m}")),
        (Some(m), None) => lines.push(format!("Last message: {m}")),
        _ => {}
    }
    lines.push(format!("State: {}", r.state));
    match r.client {
        // The client is waiting in its call: the one frame of its stack otplab can name.
        Some(c) if r.client_alive => lines.extend([
            format!("Client {c} is alive"),
            String::new(),
            format!("    {CALL_FRAME}"),
        ]),
        Some(c) => lines.push(format!("Client {c} is dead")),
        None => {}
    }
    lines
}

/// The frame of an exit raised by `GenServer.call`, as iex names it without its file and line.
const CALL_FRAME: &str = "GenServer.call/3";

/// The stack lines under a raised reason, indented as iex indents them: an exception's own
/// frames, or for an exit the call that raised it and then `callback` (where the exit left
/// the server). iex prints files and line numbers; otplab's built-ins have none, so a frame
/// is the module and function only.
fn stack_lines(reason: &ExitReason, callback: &str) -> Vec<String> {
    let frames: Vec<String> = match reason {
        ExitReason::Exception { .. } => reason.frames().into_iter().map(str::to_string).collect(),
        other if call_failure(other).is_some() => {
            vec![CALL_FRAME.to_string(), callback.to_string()]
        }
        _ => vec![callback.to_string()],
    };
    frames.into_iter().map(|f| format!("    {f}")).collect()
}

/// What iex's `Exception.blame` adds to an `ArithmeticError` from `:erlang`: the expression
/// that failed, `: 1 / 0` or `: rem(7, 0)`, read from the frame that raised it.
fn blame(kind: &str, frames: &[&str]) -> String {
    let Some(call) = frames.first().and_then(|f| f.strip_prefix(":erlang.")) else {
        return String::new();
    };
    let Some((fun, args)) = call.split_once('(') else {
        return String::new();
    };
    let args = args.strip_suffix(')').unwrap_or(args);
    match (kind, top_level_args(args).as_slice()) {
        ("ArithmeticError", [a, b]) if matches!(fun, "+" | "-" | "*" | "/") => {
            format!(": {a} {fun} {b}")
        }
        ("ArithmeticError", _) => format!(": {fun}({args})"),
        _ => String::new(),
    }
}

/// The arguments of an inspected call, split at the commas outside brackets and strings.
fn top_level_args(args: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start, mut out) = (0i32, false, 0, vec![]);
    let mut chars = args.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            '(' | '[' | '{' | '<' if !quoted => depth += 1,
            ')' | ']' | '}' | '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(args[start..].trim());
    out
}

/// iex's error block for an evaluation that raised or exited: `** (Kind) message` or
/// `** (exit) …`, then the stack lines otplab knows, or iex's blank line when the expression
/// raised it itself (an empty stacktrace).
pub fn error_block(reason: &ExitReason) -> Vec<String> {
    let (text, frames) = match reason {
        ExitReason::Exception { kind, message, .. } => (
            format!("** ({kind}) {message}{}", blame(kind, &reason.frames())),
            reason.frames().into_iter().map(str::to_string).collect(),
        ),
        other if call_failure(other).is_some() => (
            format!("** (exit) {}", describe_exit(other)),
            vec![CALL_FRAME.to_string()],
        ),
        other => (format!("** (exit) {}", describe_exit(other)), vec![]),
    };
    // Split on every line break: a message that ends with one (Erlang's `ArgumentError`)
    // leaves the blank line iex prints before the stack.
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    if frames.is_empty() {
        lines.push(String::new());
    }
    lines.extend(frames.iter().map(|f| format!("    {f}")));
    lines
}

/// A SASL progress (`started`) or error (`terminated`) report.
fn child_report(r: &ChildReport, started: bool) -> Vec<String> {
    let sup = match &r.supervisor_name {
        Some(n) => n.to_string(),
        None => format!("{} ({})", r.supervisor, r.supervisor_label),
    };
    let mut lines = vec![String::new()];
    if started {
        lines.push(format!(
            "{} [info] Child {} of Supervisor {sup} started",
            timestamp(),
            r.id
        ));
    } else {
        lines.push(format!(
            "{} [error] Child {} of Supervisor {sup} terminated",
            timestamp(),
            r.id
        ));
        let reason = r.reason.as_ref().map(describe_exit).unwrap_or_default();
        lines.push(format!("** (exit) {}", reason));
    }
    lines.push(format!("Pid: {}", r.pid));
    lines.push(format!("Start Call: {}", r.start_call));
    lines.push(format!("Restart: {}", r.restart));
    lines.push(format!("Shutdown: {}", r.shutdown));
    lines.push(format!("Type: {}", r.kind));
    lines
}

/// The first line of a crash report: `** (Kind) message` for an exception, `** (stop) …`
/// for anything else.
fn stop_reason(reason: &ExitReason) -> String {
    match reason {
        ExitReason::Exception { kind, message, .. } => format!("** ({kind}) {message}"),
        other => format!("** (stop) {}", describe_exit(other)),
    }
}

/// How iex words an exit reason: `exited in: GenServer.call(...)\n    ** (EXIT) time out`
/// for a failed call, `killed`, an exception block, or the inspected term.
pub fn describe_exit(reason: &ExitReason) -> String {
    if let Some((inner, call)) = call_failure(reason) {
        return format!("exited in: {call}\n    ** (EXIT) {}", exit_words(&inner));
    }
    match reason {
        ExitReason::Exception { kind, message, .. } => {
            format!("an exception was raised:\n    ** ({kind}) {message}")
        }
        other => other.to_string(),
    }
}

/// The words after `** (EXIT)`.
pub fn exit_words(reason: &ExitReason) -> String {
    match reason {
        ExitReason::Exception { kind, message, .. } => {
            let mut text = format!("an exception was raised:\n        ** ({kind}) {message}");
            for frame in reason.frames() {
                text.push_str(&format!("\n            {frame}"));
            }
            text
        }
        other => other.to_string(),
    }
}

/// `{reason, {GenServer, :call, [server, request, timeout]}}` split into the reason and the
/// call as iex prints it.
pub fn call_failure(reason: &ExitReason) -> Option<(ExitReason, String)> {
    let ExitReason::Other(Term::Tuple(t)) = reason else {
        return None;
    };
    let [inner, Term::Tuple(mfa)] = &t[..] else {
        return None;
    };
    let [module, fun, Term::List(args)] = &mfa[..] else {
        return None;
    };
    if !(module.is_atom("Elixir.GenServer") && fun.is_atom("call")) || args.len() != 3 {
        return None;
    }
    let call = format!("GenServer.call({}, {}, {})", args[0], args[1], args[2]);
    let inner = if inner.is_atom("timeout") {
        ExitReason::Other(Term::tuple(vec![
            crate::runtime::atom("timeout"),
            Term::nil(),
        ]))
    } else {
        ExitReason::from_term(inner.clone())
    };
    Some((inner, call))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{CallError, Pid, atom};

    #[test]
    fn a_timed_out_call_reads_like_iex() {
        let reason =
            CallError::Timeout.exit_reason(&Term::Pid(Pid(146)), &atom("count"), Some(5000));
        assert_eq!(
            describe_exit(&reason),
            "exited in: GenServer.call(#PID<0.146.0>, :count, 5000)\n    ** (EXIT) time out"
        );
    }

    #[test]
    fn a_call_to_an_unregistered_via_name_reads_like_iex() {
        let via = Term::tuple(vec![
            atom("via"),
            atom("Elixir.Todo.ProcessRegistry"),
            Term::tuple(vec![atom("database_worker"), Term::Int(1)]),
        ]);
        let request = Term::tuple(vec![atom("get"), Term::str("Bob's list")]);
        let reason = CallError::Noproc.exit_reason(&via, &request, Some(5000));
        assert_eq!(
            stop_reason(&reason),
            "** (stop) exited in: GenServer.call({:via, Todo.ProcessRegistry, {:database_worker, 1}}, {:get, \"Bob's list\"}, 5000)\n    ** (EXIT) no process: the process is not alive or there's no process currently associated with the given name, possibly because its application isn't started"
        );
    }

    #[test]
    fn iex_blames_arithmetic_errors_from_their_frame() {
        let cases = [
            (
                ExitReason::badarith("/", &[&Term::Int(1), &Term::Int(0)]),
                ": 1 / 0",
            ),
            (
                ExitReason::badarith("rem", &[&Term::Int(7), &Term::Int(0)]),
                ": rem(7, 0)",
            ),
            (
                ExitReason::badarith(
                    "+",
                    &[&Term::list(vec![Term::Int(1), Term::Int(2)]), &atom("a")],
                ),
                ": [1, 2] + :a",
            ),
            (
                ExitReason::badarith("+", &[&Term::str("a, b"), &Term::Int(1)]),
                ": \"a, b\" + 1",
            ),
        ];
        for (reason, blamed) in cases {
            let block = error_block(&reason);
            assert_eq!(
                block[0],
                format!("** (ArithmeticError) bad argument in arithmetic expression{blamed}")
            );
            assert!(block[1].starts_with("    :erlang."), "{block:?}");
        }
    }

    #[test]
    fn a_raised_crash_names_its_callback_and_the_waiting_caller() {
        let report = CrashReport {
            pid: Pid(120),
            name: None,
            label: "Counter".into(),
            reason: ExitReason::runtime_error("boom").with_frame("Counter.handle_call/3"),
            last_message: Some(atom("boom")),
            client: Some(Pid(100)),
            client_alive: true,
            state: Term::Int(0),
            callback: "handle_call/3",
            raised: true,
        };
        let lines = crash_report(&report);
        assert_eq!(
            lines[2..],
            [
                "** (RuntimeError) boom",
                "    Counter.handle_call/3",
                "Last message (from #PID<0.100.0>): :boom",
                "State: 0",
                "Client #PID<0.100.0> is alive",
                "",
                "    GenServer.call/3",
            ]
        );
        let dead = CrashReport {
            client_alive: false,
            raised: false,
            reason: ExitReason::atom("bad"),
            ..report
        };
        let lines = crash_report(&dead);
        assert_eq!(lines[2], "** (stop) :bad");
        assert_eq!(lines.last().unwrap(), "Client #PID<0.100.0> is dead");
    }

    #[test]
    fn short_reports_are_one_line() {
        let event = Event::Exited(std::sync::Arc::new(crate::runtime::events::Exited {
            pid: Pid(158),
            label: "Todo.Server".into(),
            name: Some(Term::tuple(vec![
                atom("todo_server"),
                Term::str("Bob's list"),
            ])),
            reason: ExitReason::Killed,
        }));
        assert_eq!(
            format(&event, Level::Short, false),
            vec!["[exit] Todo.Server {:todo_server, \"Bob's list\"} #PID<0.158.0>: killed"]
        );
        assert!(
            format(&event, Level::Iex, false).is_empty(),
            "iex prints nothing for a kill"
        );
    }
}
