//! The short command language, one function per command: `server_process "Bob's list"`,
//! `kill registry`, `ps`, `tree`, `trace show`, `flood`, … They run inside the shell process,
//! like Elixir expressions, and return a term to print; commands that print a table or a
//! diagram print it and return [`silent`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::events::TraceKind;
use crate::runtime::supervisor::{self, ChildKind};
use crate::runtime::{Atom, Dest, ExitReason, Pid, Process, Term, atom};
use crate::todo::{
    self, CacheKind, Config, DatabaseKind, database, database_worker, process_registry, server,
};

use super::ast::{Arg, ArgKind, Command, CommandName};
use super::builtins::{self, list_pid};
use super::eval::{Eval, arg_error, date_of, int_of, ok, pid_of, raise, str_of};
use super::report::Level;

type R = Result<Term, ExitReason>;

/// The value iex's `h` returns: printed output only, no result line.
pub fn silent() -> Term {
    atom("do not show this result in output")
}

pub async fn run(ev: &mut Eval<'_>, cmd: &Command) -> R {
    let mut args = vec![];
    for a in &cmd.args {
        if !matches!(a.kind, ArgKind::Flag { .. }) {
            args.push(a.clone());
        }
    }
    let flag = |name: &str| {
        cmd.args.iter().find_map(|a| match &a.kind {
            ArgKind::Flag { name: n, value } if n == name => {
                Some(value.as_ref().map(|v| (**v).clone()))
            }
            _ => None,
        })
    };
    match cmd.name {
        CommandName::ServerProcess => {
            let name = list_name(ev, &args[0]).await?;
            list_pid(ev, &name).await.map(Term::Pid)
        }
        CommandName::AddEntry => {
            let name = list_name(ev, &args[0]).await?;
            let date = date_of(&value(ev, &args[1]).await?)?;
            let title = str_of(&value(ev, &args[2]).await?)?;
            let pid = list_pid(ev, &name).await?;
            server::add_entry(
                ev.p,
                pid,
                Term::atom_map(vec![
                    ("date", Term::Date(date)),
                    ("title", Term::str(title)),
                ]),
            );
            ok()
        }
        CommandName::Entries => {
            let name = list_name(ev, &args[0]).await?;
            let date = date_of(&value(ev, &args[1]).await?)?;
            let pid = list_pid(ev, &name).await?;
            let request = Term::Tuple(vec![atom("entries"), Term::Date(date)]);
            server::entries(ev.p, pid, date)
                .await
                .map_err(|e| e.exit_reason(&Term::Pid(pid), &request, Some(5000)))
        }
        CommandName::UpdateEntry => {
            let name = list_name(ev, &args[0]).await?;
            let id = int_of(&value(ev, &args[1]).await?)?;
            let title = str_of(&value(ev, &args[2]).await?)?;
            let pid = list_pid(ev, &name).await?;
            server::update_entry(
                ev.p,
                pid,
                id,
                Term::atom_map(vec![("title", Term::str(title))]),
            );
            ok()
        }
        CommandName::DeleteEntry => {
            let name = list_name(ev, &args[0]).await?;
            let id = int_of(&value(ev, &args[1]).await?)?;
            let pid = list_pid(ev, &name).await?;
            server::delete_entry(ev.p, pid, id);
            ok()
        }
        CommandName::Kill => {
            let pid = target(ev, &args).await?;
            ev.ctx.exit_later(pid, ExitReason::Kill);
            Ok(Term::bool(true))
        }
        CommandName::Exit => {
            let pid = target(ev, &args[..1]).await?;
            let reason = value(ev, &args[1]).await?;
            ev.ctx.exit_later(pid, ExitReason::from_term(reason));
            Ok(Term::bool(true))
        }
        CommandName::Crash => {
            let pid = target(ev, &args).await?;
            Ok(Term::bool(ev.ctx.node.crash(pid)))
        }
        CommandName::Whereis => Ok(target(ev, &args)
            .await
            .map(Term::Pid)
            .unwrap_or_else(|_| Term::nil())),
        CommandName::Alive => Ok(Term::bool(ev.ctx.node.alive(target(ev, &args[..1]).await?))),
        CommandName::Info => {
            let pid = target(ev, &args[..1]).await?;
            let mut info_args = vec![Term::Pid(pid)];
            if args.len() > 1 {
                let mut keys = vec![];
                for a in &args[1..] {
                    keys.push(match &a.kind {
                        ArgKind::Word(w) => Term::Atom(Atom::new(w)?),
                        _ => value(ev, a).await?,
                    });
                }
                info_args.push(if keys.len() == 1 {
                    keys.remove(0)
                } else {
                    Term::List(keys)
                });
            }
            builtins::info(ev, &info_args)
        }
        CommandName::Send => {
            let pid = target(ev, &args[..1]).await?;
            let msg = value(ev, &args[1]).await?;
            ev.p.send(pid, msg.clone());
            Ok(msg)
        }
        CommandName::Flush => {
            while let Some(env) = ev.p.try_receive() {
                ev.p.puts(env.to_term().to_string());
            }
            ok()
        }
        CommandName::Sleep => {
            let ms = int_of(&value(ev, &args[0]).await?)?.max(0) as u64;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ok()
        }
        CommandName::Ps => {
            let by_mailbox = flag("sort")
                .flatten()
                .is_some_and(|v| matches!(&v.kind, ArgKind::Word(w) if w == "mailbox"));
            ev.p.puts(ps(ev, by_mailbox));
            Ok(silent())
        }
        CommandName::Tree => {
            let text = tree(ev).await;
            ev.p.puts(text);
            Ok(silent())
        }
        CommandName::State => {
            let pid = target(ev, &args).await?;
            ev.ctx
                .node
                .get_state(&Dest::Pid(pid), Duration::from_secs(5))
                .await
                .map_err(|e| e.exit_reason(&Term::Pid(pid), &atom("get_state"), Some(5000)))
        }
        CommandName::Trace => trace(ev, &args).await,
        CommandName::Start => {
            let mut config = Config::with_dir(ev.ctx.config().persist_dir.clone());
            config.fsync = ev.ctx.config().fsync;
            config.flat = flag("flat").is_some();
            if flag("ets-cache").is_some() {
                config.cache = CacheKind::Ets;
            }
            if flag("single-db").is_some() {
                config.database = DatabaseKind::Single;
            }
            if flag("spawn-db").is_some() {
                config.database = DatabaseKind::SpawnPerRequest;
            }
            if flag("bypass-db").is_some() {
                config.database = DatabaseKind::Bypass;
            }
            config.load_in_init = flag("init-load").is_some();
            config.coalesce_stores = flag("no-batch").is_none();
            if flag("no-fsync").is_some() {
                config.fsync = false;
            }
            if let Some(value) = flag("slow-db") {
                match value.map(|a| a.kind) {
                    Some(ArgKind::Int(ms)) if ms >= 0 => {
                        config.db_delay = Duration::from_millis(ms as u64)
                    }
                    _ => return Err(arg_error("--slow-db takes milliseconds, e.g. --slow-db 2")),
                }
            }
            stop_system(ev).await;
            start_system(ev, Arc::new(config)).await
        }
        CommandName::Stop => {
            stop_system(ev).await;
            ok()
        }
        CommandName::Help => {
            let topic = args.first().map(|a| match &a.kind {
                ArgKind::Word(w) | ArgKind::Str(w) => w.clone(),
                _ => String::new(),
            });
            ev.p.puts(help(topic.as_deref()));
            Ok(silent())
        }
        CommandName::History => {
            let history = ev.ctx.history.lock().unwrap().clone();
            let text: Vec<String> = history
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{:>4}  {}", i + 1, crate::runtime::term::escape_text(l)))
                .collect();
            ev.p.puts(text.join("\n"));
            Ok(silent())
        }
        CommandName::Clear => {
            // Only a terminal is cleared; elsewhere the sequence would be raw bytes.
            if ev.ctx.color {
                ev.p.puts("\u{1b}[H\u{1b}[2J");
            }
            Ok(silent())
        }
        CommandName::Quarantine => {
            let name = list_name(ev, &args[0]).await?;
            let config = ev.ctx.config();
            database::quarantine(ev.p, &config, &name).await
        }
        CommandName::Speed => {
            let f = match value(ev, &args[0]).await? {
                Term::Int(i) => i as f64,
                Term::Float(f) => f,
                other => return Err(arg_error(format!("speed expects a number, got {other}"))),
            };
            if !(f.is_finite() && f > 0.0) {
                return Err(arg_error("speed must be a positive number"));
            }
            ev.ctx.node.set_speed(f);
            Ok(Term::Float(f))
        }
        CommandName::Flood if matches!(args.first().map(|a| &a.kind), Some(ArgKind::Word(w)) if w == "database" && !ev.env.vars.contains_key(w)) => {
            flood_database(ev, &args).await
        }
        CommandName::Flood => {
            flood(ev, &args, flag("call").is_some(), flag("clients").flatten()).await
        }
        CommandName::Profile => profile(ev, &args).await,
        CommandName::Loadtest => {
            let n = int_of(&value(ev, &args[0]).await?)?.max(1) as u64;
            loadtest(ev, n).await
        }
        CommandName::Report => {
            let word = match args.first().map(|a| &a.kind) {
                Some(ArgKind::Word(w)) => w.clone(),
                _ => String::new(),
            };
            let level =
                Level::parse(&word).ok_or_else(|| arg_error("report takes short, iex or sasl"))?;
            *ev.ctx.level.lock().unwrap() = level;
            ok()
        }
    }
}

/// The value of an argument: a variable for a bare word, the term otherwise.
async fn value(ev: &mut Eval<'_>, a: &Arg) -> R {
    Ok(match &a.kind {
        ArgKind::Str(s) => Term::str(s),
        ArgKind::Int(i) => Term::Int(*i),
        ArgKind::Float(f) => Term::Float(*f),
        ArgKind::Date(d) => Term::Date(*d),
        ArgKind::Pid(p) => Term::Pid(*p),
        ArgKind::Atom(s) => Term::Atom(Atom::new(s)?),
        ArgKind::Word(w) => match ev.env.vars.get(w) {
            Some(v) => v.clone(),
            None => {
                return Err(raise(
                    "CompileError",
                    format!("iex:1: undefined variable \"{w}\""),
                ));
            }
        },
        ArgKind::Flag { name, .. } => return Err(arg_error(format!("unexpected flag --{name}"))),
        ArgKind::Expr(e) => ev.eval(e).await?,
    })
}

/// A list name: a string, or a variable holding one.
async fn list_name(ev: &mut Eval<'_>, a: &Arg) -> Result<String, ExitReason> {
    str_of(&value(ev, a).await?)
}

/// The process a command names: a pid, a variable, a list name, or one of the well-known
/// parts (`registry`, `cache`, `database`, `worker N`, `server_supervisor`, `system`, …).
async fn target(ev: &mut Eval<'_>, args: &[Arg]) -> Result<Pid, ExitReason> {
    let Some(first) = args.first() else {
        return Err(arg_error("which process?"));
    };
    let node = ev.ctx.node.clone();
    match &first.kind {
        ArgKind::Pid(p) => Ok(*p),
        ArgKind::Str(name) => server::whereis(ev.p, name).await.ok_or_else(|| {
            arg_error(format!(
                "no to-do server is running for {}",
                Term::str(name)
            ))
        }),
        ArgKind::Atom(a) => node
            .whereis(Atom::new(a)?)
            .ok_or_else(|| arg_error(format!(":{a} is not registered"))),
        ArgKind::Word(w) => {
            if let Some(v) = ev.env.vars.get(w) {
                return match v {
                    Term::Pid(p) => Ok(*p),
                    Term::Str(name) => server::whereis(ev.p, name)
                        .await
                        .ok_or_else(|| arg_error(format!("no to-do server is running for {v}"))),
                    other => Err(arg_error(format!("{w} is {other}, not a pid"))),
                };
            }
            let named = |a: &'static str| {
                node.whereis(Atom::from_static(a))
                    .ok_or_else(|| arg_error(format!("{w} is not running")))
            };
            match w.as_str() {
                "registry" => named("todo_process_registry"),
                "cache" => named("todo_cache"),
                "server_supervisor" => named("todo_server_supervisor"),
                "worker" => {
                    let n = match args.get(1).map(|a| &a.kind) {
                        Some(ArgKind::Int(n)) if (1..=3).contains(n) => *n as usize,
                        _ => return Err(arg_error("kill worker N takes N in 1..3")),
                    };
                    process_registry::whereis_name(ev.p, database_worker::key(n))
                        .await
                        .ok_or_else(|| arg_error(format!("database worker {n} is not running")))
                }
                "database" | "system" | "system_supervisor" | "supervisor" => {
                    let top = (*ev.ctx.system.lock().unwrap()).ok_or_else(|| {
                        arg_error("the to-do system is not running (start it with `start`)")
                    })?;
                    if w == "supervisor" {
                        return Ok(top);
                    }
                    child_by_label(
                        ev,
                        top,
                        if w == "database" {
                            "Todo.Database"
                        } else {
                            "Todo.SystemSupervisor"
                        },
                    )
                    .await
                    .ok_or_else(|| arg_error(format!("{w} is not running")))
                }
                _ => {
                    let known = [
                        "registry",
                        "cache",
                        "database",
                        "worker",
                        "server_supervisor",
                        "system_supervisor",
                        "supervisor",
                    ];
                    let hint = builtins::closest(w, &known)
                        .map(|b| format!(" (did you mean {b}?)"))
                        .unwrap_or_default();
                    Err(raise(
                        "CompileError",
                        format!("iex:1: undefined variable \"{w}\"{hint}"),
                    ))
                }
            }
        }
        _ => {
            let v = value(ev, first).await?;
            pid_of(&v)
        }
    }
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
                .receive_match(move |e| matches!(e, crate::runtime::Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[1] == Term::Ref(r)), None)
                .await;
        }
    }
}

/// `help` and `help COMMAND`.
pub fn help(topic: Option<&str>) -> String {
    if let Some(topic) = topic.filter(|t| !t.is_empty()) {
        if let Some(cmd) = CommandName::from_word(topic) {
            return format!("{}\n  {}", cmd.usage(), cmd.summary());
        }
        return builtins::help_text(Some(topic));
    }
    let mut out = String::from("Commands (Elixir works too: `h` lists the built-in modules):\n");
    for cmd in CommandName::ALL {
        if cmd.usage().len() > 44 {
            let _ = writeln!(out, "  {}\n  {:<44} {}", cmd.usage(), "", cmd.summary());
        } else {
            let _ = writeln!(out, "  {:<44} {}", cmd.usage(), cmd.summary());
        }
    }
    out.push_str("\nThe seeds' experiments, in order:\n");
    out.push_str("  bobs_list = server_process \"Bob's list\"   then   kill bobs_list   then   server_process \"Bob's list\"\n");
    out.push_str("  kill registry      (rest_for_one restarts the system)     start --flat; kill registry   (the flat tree gives up)\n");
    out.push_str("  c = Counter.new; Counter.inc_of(c, 12)     sc = SlowCounter.new     speed 10   (sleeps 10x shorter)\n");
    out.push_str(
        "  trace on; server_process \"Bob's list\"; trace show     ps --sort mailbox     tree\n",
    );
    out.push_str("  report short|iex|sasl   chooses how crashes and restarts are shown\n");
    out.push_str("Ctrl-C cancels the line or a blocking call; Ctrl-D or `exit` quits.");
    out
}

// ----- ps and tree -------------------------------------------------------------------------------

fn ps(ev: &Eval<'_>, by_mailbox: bool) -> String {
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
            crate::runtime::process::Status::Running => "running",
            crate::runtime::process::Status::Waiting => "waiting",
            crate::runtime::process::Status::Sleeping => "sleeping",
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

async fn tree(ev: &mut Eval<'_>) -> String {
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
) -> crate::runtime::term::BoxFuture<'b, ()> {
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

// ----- trace ---------------------------------------------------------------------------------------

async fn trace(ev: &mut Eval<'_>, args: &[Arg]) -> R {
    let word = match args.first().map(|a| &a.kind) {
        Some(ArgKind::Word(w)) => w.clone(),
        _ => return Err(arg_error("trace on|off|show|mermaid [PID…]")),
    };
    let mut pids = vec![];
    for a in &args[1..] {
        pids.push(target(ev, std::slice::from_ref(a)).await?);
    }
    match word.as_str() {
        "on" => {
            ev.ctx.trace.lock().unwrap().clear();
            ev.ctx.node.set_trace(true, &pids);
            ok()
        }
        "off" => {
            ev.ctx.node.set_trace(false, &pids);
            ok()
        }
        "show" => {
            let events = ev.ctx.trace.lock().unwrap().clone();
            ev.p.puts(sequence_diagram(&events, ev.p.pid()));
            Ok(silent())
        }
        _ => {
            let events = ev.ctx.trace.lock().unwrap().clone();
            ev.p.puts(mermaid(&events, ev.p.pid()));
            Ok(silent())
        }
    }
}

fn kind_label(k: TraceKind) -> &'static str {
    match k {
        TraceKind::Call => "CALL",
        TraceKind::Cast => "CAST",
        TraceKind::Reply => "REPLY",
        TraceKind::Info => "INFO",
        TraceKind::Exit => "EXIT",
        TraceKind::Down => "DOWN",
    }
}

fn participants(events: &[Arc<crate::runtime::events::TraceEvent>]) -> Vec<Option<Pid>> {
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
pub fn sequence_diagram(events: &[Arc<crate::runtime::events::TraceEvent>], shell: Pid) -> String {
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
            kind_label(e.kind),
            crate::runtime::term::escape_text(&e.term.to_string())
        );
        text = text.trim_end().to_string();
        let _ = writeln!(out, "{text}{label}");
    }
    out.trim_end().to_string()
}

/// The recorded messages as a Mermaid sequence diagram, for slides.
pub fn mermaid(events: &[Arc<crate::runtime::events::TraceEvent>], shell: Pid) -> String {
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
        let text = crate::runtime::term::escape_text(&e.term.to_string()).replace(';', ",");
        let _ = writeln!(
            out,
            "    {}{arrow}{}: {} {}",
            id(&e.from),
            id(&Some(e.to)),
            kind_label(e.kind),
            text
        );
    }
    out.trim_end().to_string()
}

// ----- flood, profile, loadtest ----------------------------------------------------------------------

async fn flood(ev: &mut Eval<'_>, args: &[Arg], calls: bool, clients: Option<Arg>) -> R {
    let n = match args.get(1).map(|a| &a.kind) {
        Some(ArgKind::Int(n)) if *n > 0 => *n as u64,
        _ => return Err(arg_error("flood TARGET N: N must be a positive integer")),
    };
    let pid = target(ev, &args[..1]).await?;
    let clients = match clients.map(|a| a.kind) {
        Some(ArgKind::Int(c)) if c > 0 => c as u64,
        None => 1,
        _ => return Err(arg_error("--clients takes a positive integer")),
    };
    let label = ev
        .ctx
        .node
        .info(pid)
        .map(|i| i.label.to_string())
        .unwrap_or_default();
    let message = move |i: u64| -> Term {
        match label.as_str() {
            "Todo.DatabaseWorker" if calls => Term::Tuple(vec![atom("get"), Term::str("flood")]),
            "Todo.DatabaseWorker" => {
                Term::Tuple(vec![atom("store"), Term::str("flood"), Term::Int(i as i64)])
            }
            "Counter" | "SlowCounter" | "SlowButReponsiveCounter" => {
                Term::Tuple(vec![atom("inc_of"), Term::Int(1)])
            }
            _ => Term::Tuple(vec![atom("flood"), Term::Int(i as i64)]),
        }
    };
    let message = Arc::new(message);
    let started = tokio::time::Instant::now();
    let me = ev.p.pid();
    let per = n / clients;
    for c in 0..clients {
        let count = per + u64::from(c < n % clients);
        let message = message.clone();
        ev.p.spawn(move |w: &mut Process| {
            Box::pin(async move {
                let t0 = tokio::time::Instant::now();
                for i in 0..count {
                    if calls {
                        let _ = w.call(pid, message(i), Some(Duration::from_secs(60))).await;
                    } else {
                        w.cast(pid, message(i));
                    }
                }
                w.send(
                    me,
                    Term::Tuple(vec![
                        atom("flooded"),
                        Term::Int(t0.elapsed().as_micros() as i64),
                    ]),
                );
                ExitReason::Normal
            })
        })
        .map_err(|e| e.reason())?;
    }
    let mut blocked = 0i64;
    let mut peak = 0usize;
    for _ in 0..clients {
        loop {
            if let Some(i) = ev.ctx.node.info(pid) {
                peak = peak.max(i.message_queue_len);
            }
            let got = ev.p.receive_match(|e| matches!(e, crate::runtime::Envelope::Message(t) if t.tag() == Some("flooded")), Some(Duration::from_millis(10))).await;
            if let Some(crate::runtime::Envelope::Message(Term::Tuple(t))) = got {
                blocked += t[1].as_int().unwrap_or(0);
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let queued = ev
        .ctx
        .node
        .info(pid)
        .map(|i| i.message_queue_len)
        .unwrap_or(0);
    let peak = peak.max(queued);
    let text = if calls {
        format!(
            "{n} calls from {clients} client(s) in {:.1} ms: each client blocked {:.1} ms on average (backpressure); mailbox peak {peak}, now {queued}",
            elapsed.as_secs_f64() * 1000.0,
            blocked as f64 / clients as f64 / 1000.0
        )
    } else {
        format!(
            "{n} casts from {clients} client(s) in {:.1} ms, never blocked; mailbox now {queued} (peak {peak}): casts queue up as memory",
            elapsed.as_secs_f64() * 1000.0
        )
    };
    ev.p.puts(text);
    Ok(Term::keyword(vec![
        ("sent", Term::Int(n as i64)),
        ("message_queue_len", Term::from(queued)),
        ("peak", Term::from(peak)),
    ]))
}

/// `flood database N`: N stores of N different lists through `Todo.Database.store`, then the
/// time until every worker has written them. Compares the chapter's shapes on the same work:
/// one process (`start --single-db`), a process per request (`--spawn-db`), the pool of three.
async fn flood_database(ev: &mut Eval<'_>, args: &[Arg]) -> R {
    let n = match args.get(1).map(|a| &a.kind) {
        Some(ArgKind::Int(n)) if *n > 0 => *n as u64,
        _ => return Err(arg_error("flood database N: N must be a positive integer")),
    };
    let config = ev.ctx.config();
    let baseline = ev.ctx.node.count();
    let started = tokio::time::Instant::now();
    let mut list = todo::list::List::new();
    list.add_entry(
        crate::runtime::Date::new(2023, 12, 19).unwrap_or(crate::runtime::Date {
            year: 2023,
            month: 12,
            day: 19,
        }),
        "Dentist",
    );
    let data = list.to_term();
    for i in 0..n {
        database::store(ev.p, &config, &format!("flood {i}"), data.clone()).await;
    }
    let sent = started.elapsed();
    let mut peak = 0;
    let workers = if config.database == DatabaseKind::Pool {
        database::POOL_SIZE
    } else {
        1
    };
    for w in 1..=workers {
        if let Some(pid) = process_registry::whereis_name(ev.p, database_worker::key(w)).await {
            peak = peak.max(
                ev.ctx
                    .node
                    .info(pid)
                    .map(|i| i.message_queue_len)
                    .unwrap_or(0),
            );
        }
    }
    for w in 1..=workers {
        let key = (0..n)
            .map(|i| format!("flood {i}"))
            .find(|k| database::choose_worker(&config, k) == w);
        if let Some(key) = key {
            database::sync(ev.p, &config, &key).await?;
        }
    }
    // Spawned writers outlive the worker's answer: wait for them to finish too.
    while ev.ctx.node.count() > baseline && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let drained = started.elapsed();
    let shape = match config.database {
        DatabaseKind::Pool => "a pool of 3 workers",
        DatabaseKind::Single => "one database process",
        DatabaseKind::SpawnPerRequest => "a process per request",
        DatabaseKind::Bypass => "no database process (the caller writes)",
    };
    ev.p.puts(format!(
        "{n} stores through {shape}: sent in {:.1} ms, all written after {:.1} ms; the busiest mailbox held {peak}",
        sent.as_secs_f64() * 1000.0,
        drained.as_secs_f64() * 1000.0
    ));
    Ok(Term::keyword(vec![
        ("stores", Term::Int(n as i64)),
        ("written_ms", Term::Int(drained.as_millis() as i64)),
        ("peak", Term::from(peak)),
    ]))
}

async fn profile(ev: &mut Eval<'_>, args: &[Arg]) -> R {
    let nums: Vec<u64> = args
        .iter()
        .filter_map(|a| {
            if let ArgKind::Int(i) = a.kind {
                Some(i.max(1) as u64)
            } else {
                None
            }
        })
        .collect();
    let (ops, conc) = (
        nums.first().copied().unwrap_or(100_000),
        nums.get(1).copied().unwrap_or(1),
    );
    let config = ev.ctx.config();
    for i in 1..=100 {
        todo::cache::server_process(ev.p, &config, &format!("list {i}")).await?;
    }
    let progress = Progress::start("profile", ops * conc);
    let done = progress.counter();
    let op = Arc::new(crate::bench::CacheLookups { config, done });
    let outcome = crate::profiler::run(ev.p, op, ops, conc).await;
    progress.finish();
    ev.p.puts(format!("{} reqs/sec\n", outcome?.rate.round() as u64));
    ok()
}

/// A progress bar on one terminal line, redrawn with a carriage return, for runs longer than
/// a second; nothing at all when standard output is not a terminal (scripts, `check`).
struct Progress {
    done: Option<Arc<std::sync::atomic::AtomicU64>>,
    drawer: Option<tokio::task::JoinHandle<()>>,
    drawn: Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn start(label: &'static str, total: u64) -> Progress {
        use std::io::IsTerminal;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let drawn = Arc::new(AtomicBool::new(false));
        if !std::io::stdout().is_terminal() || total == 0 {
            return Progress {
                done: None,
                drawer: None,
                drawn,
            };
        }
        let done = Arc::new(AtomicU64::new(0));
        let (d, shown) = (done.clone(), drawn.clone());
        let drawer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loop {
                let n = d.load(Ordering::Relaxed).min(total);
                let filled = (n * 30 / total) as usize;
                let line = format!(
                    "\r{label} [{}{}] {:>3}% {n}/{total}",
                    "#".repeat(filled),
                    " ".repeat(30 - filled),
                    n * 100 / total
                );
                {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(line.as_bytes());
                    let _ = out.flush();
                }
                shown.store(true, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress {
            done: Some(done),
            drawer: Some(drawer),
            drawn,
        }
    }

    /// The counter the work bumps, when a bar is shown.
    fn counter(&self) -> Option<Arc<std::sync::atomic::AtomicU64>> {
        self.done.clone()
    }

    fn add(&self, n: u64) {
        if let Some(d) = &self.done {
            d.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Stops drawing and clears the line.
    fn finish(self) {
        if let Some(d) = &self.drawer {
            d.abort();
        }
        if self.drawn.load(std::sync::atomic::Ordering::Relaxed) {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\r\x1b[K");
            let _ = out.flush();
        }
    }
}

async fn loadtest(ev: &mut Eval<'_>, n: u64) -> R {
    let config = ev.ctx.config();
    let progress = Progress::start("loadtest", 2 * n);
    let timed = async |progress: &Progress| -> Result<f64, ExitReason> {
        let start = tokio::time::Instant::now();
        for i in 0..n {
            todo::cache::server_process(ev.p, &config, &format!("cache_{i}")).await?;
            if i % 1024 == 1023 {
                progress.add(1024);
            }
        }
        progress.add(n % 1024);
        Ok(start.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64)
    };
    let put = timed(&progress).await;
    let get = match &put {
        Ok(_) => timed(&progress).await,
        Err(_) => Ok(0.0),
    };
    progress.finish();
    let (put, get) = (put?, get?);
    ev.p.puts(format!("average put {put:.6} µs\naverage get {get:.6} µs"));
    ok()
}
