//! The shell on a real node: Elixir lines sent as typed to `Code.eval_string/3` there with
//! the session's bindings (as `iex --remsh` evaluates them), and the commands turned into
//! the Elixir the node runs. The node's Elixir is the truth: what it prints, otplab prints.
//! Results come back as terms and print with otplab's printer; `ps` and `tree` are drawn
//! with the local commands' pictures from the node's answers.

use std::fmt::Write as _;
use std::time::Duration;

use crate::dist::{self, View, Wire};
use crate::runtime::{ExitReason, Term};
use crate::shell::ast::{Arg, ArgKind, Line};
use crate::shell::context::{Ctx, Eval, R, Remote, arg_error, silent};

use super::args::{Invocation, Target, value};

/// How long an Elixir line may run on the node: iex sets no limit, and a node that stops or
/// is split off ends the wait through the connection, so this only bounds a forgotten line.
const EVAL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How long one supervisor has to answer `which_children` while `tree` draws.
pub const SUPERVISOR_TIMEOUT_MS: u32 = 1000;

/// The Elixir that evaluates a line on the node and reports an exception as iex words it.
const WRAPPER: &str = r#"
try do
  {value, binding} = Code.eval_string(otplab_src, otplab_binding, file: "iex")
  {:ok, value, binding}
rescue
  e -> {:error, inspect(e.__struct__), Exception.message(e)}
catch
  kind, reason -> {:error, Atom.to_string(kind), inspect(reason)}
end
"#;

/// Whether a line is one of otplab's commands (run on the node as such) rather than Elixir.
pub fn is_command(text: &str) -> bool {
    matches!(
        crate::shell::parser::parse_line(text),
        Ok(Line::Command(_) | Line::Bind { .. })
    )
}

/// When the attached node has gone, the error that says so, once; the shell is then back on
/// its own system.
pub fn went_down(ctx: &Ctx) -> Option<ExitReason> {
    let mut slot = ctx.remote.lock().unwrap();
    let why = slot.as_ref().and_then(|r| r.conn.down_reason())?;
    *slot = None;
    Some(ExitReason::exception(
        FAULT,
        format!("{why}; back on otplab's own system"),
    ))
}

/// A command's result on the node, or the one line that says the node went away during it.
pub fn settled(ctx: &Ctx, result: R) -> R {
    match result {
        Err(e) => Err(went_down(ctx).unwrap_or(e)),
        ok => ok,
    }
}

/// The evaluator on the node: a loop like IEx.Evaluator's, whose group leader is otplab, so
/// what a line prints with `IO.puts` is shown here, as iex --remsh shows it. Each line runs
/// through [`WRAPPER`], in the evaluator itself.
const EVALUATOR: &str = r#"
gl = otplab_gl
wrapper = otplab_wrapper
spawn(fn ->
  Process.group_leader(self(), gl)
  loop = fn loop ->
    receive do
      {:otplab_eval, from, ref, src, binding} ->
        {reply, _} = Code.eval_string(wrapper, otplab_src: src, otplab_binding: binding)
        send(from, {ref, reply})
        loop.(loop)
    end
  end
  loop.(loop)
end)
"#;

/// Evaluates `text` on the node with the session's bindings, in the session's evaluator.
pub async fn eval_text(ctx: &Ctx, remote: &Remote, text: &str) -> R {
    let mut slot = remote.evaluator.lock().await;
    if slot.is_none() {
        *slot = Some(start_evaluator(ctx, remote).await?);
    }
    let ev = slot.as_mut().expect("started above");
    let r = remote.conn.make_ref();
    let bindings = remote.bindings.lock().unwrap().clone();
    let request = Wire::from(eetf::Tuple::from(vec![
        Wire::from(eetf::Atom::from("otplab_eval")),
        Wire::from(ev.inbox.pid.clone()),
        Wire::from(r.clone()),
        Wire::from(eetf::Binary::from(text.as_bytes().to_vec())),
        keyword_list(&bindings),
    ]));
    remote.conn.send(&ev.pid, request).map_err(fault)?;
    let node = remote.node();
    let view = View { home: &node };
    loop {
        let Some(msg) = ev.inbox.rx.recv().await else {
            *slot = None;
            return Err(fault(remote.conn.closed().await));
        };
        let Wire::Tuple(t) = msg else { continue };
        match t.elements.as_slice() {
            [Wire::Reference(got), reply] if got.id == r.id => {
                let (value, binding) = answer(&view, reply)?;
                *remote.bindings.lock().unwrap() = binding;
                return Ok(value);
            }
            [Wire::Atom(down), _, _, pid, reason] if down.name == "DOWN" => {
                // The evaluator died (`Process.exit(self(), :kill)`): iex starts a new one,
                // and the bindings go with the old one.
                *slot = None;
                remote.bindings.lock().unwrap().clear();
                return Err(ExitReason::exception(
                    "EXIT from ".to_string() + &shown(&view.term(pid)),
                    format!(
                        "shell process exited with reason: {}",
                        exit_text(&view.term(reason))
                    ),
                ));
            }
            _ => {}
        }
    }
}

/// Starts the evaluator, and the local group leader that prints what it writes.
async fn start_evaluator(
    ctx: &Ctx,
    remote: &Remote,
) -> Result<crate::shell::context::Evaluator, ExitReason> {
    let gl = remote.conn.mailbox();
    let gl_pid = gl.pid.clone();
    let io = tokio::spawn(serve_io(
        remote.conn.clone(),
        gl,
        ctx.node.clone(),
        ctx.shell.clone(),
    ));
    if let Some(old) = remote.io.lock().unwrap().replace(io) {
        old.abort();
    }
    let args = vec![
        Wire::from(eetf::Binary::from(EVALUATOR.as_bytes().to_vec())),
        keyword_list(&[
            ("otplab_gl".to_string(), Wire::from(gl_pid)),
            (
                "otplab_wrapper".to_string(),
                Wire::from(eetf::Binary::from(WRAPPER.as_bytes().to_vec())),
            ),
        ]),
    ];
    let reply = remote
        .conn
        .call(
            "Elixir.Code",
            "eval_string",
            args,
            crate::shell::context::CALL_TIMEOUT,
        )
        .await
        .map_err(fault)?;
    let pid = match &reply {
        Wire::Tuple(t) => match t.elements.first() {
            Some(Wire::Pid(p)) => p.clone(),
            _ => return Err(arg_error("the node did not start an evaluator")),
        },
        _ => return Err(arg_error("the node did not start an evaluator")),
    };
    let inbox = remote.conn.mailbox();
    remote.conn.monitor(&inbox.pid, &pid).map_err(fault)?;
    Ok(crate::shell::context::Evaluator { pid, inbox })
}

/// The group leader of the evaluator: each `put_chars` request prints on the shell's output
/// and is answered `:ok`, as the io protocol asks; other requests (reading input) are
/// answered `{:error, :enotsup}`.
async fn serve_io(
    conn: dist::Connection,
    mut gl: dist::Mailbox,
    node: crate::runtime::Node,
    shell: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    while let Some(msg) = gl.rx.recv().await {
        let Wire::Tuple(t) = msg else { continue };
        let [Wire::Atom(tag), Wire::Pid(from), reply_as, request] = t.elements.as_slice() else {
            continue;
        };
        if tag.name != "io_request" {
            continue;
        }
        let answer = match chars_of(request) {
            Some(text) => {
                let pid = crate::runtime::Pid(shell.load(std::sync::atomic::Ordering::Relaxed));
                let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
                node.puts(pid, text);
                Wire::from(eetf::Atom::from("ok"))
            }
            None => Wire::from(eetf::Tuple::from(vec![
                Wire::from(eetf::Atom::from("error")),
                Wire::from(eetf::Atom::from("enotsup")),
            ])),
        };
        let reply = Wire::from(eetf::Tuple::from(vec![
            Wire::from(eetf::Atom::from("io_reply")),
            reply_as.clone(),
            answer,
        ]));
        let _ = conn.send(from, reply);
    }
}

/// The text of a `put_chars` request (`{:put_chars, :unicode, chars}` or
/// `{:put_chars, chars}`), chars being a binary or an iolist.
fn chars_of(request: &Wire) -> Option<String> {
    let Wire::Tuple(t) = request else { return None };
    let chars = match t.elements.as_slice() {
        [Wire::Atom(p), _, chars] if p.name == "put_chars" => chars,
        [Wire::Atom(p), chars] if p.name == "put_chars" => chars,
        _ => return None,
    };
    let mut bytes = vec![];
    iolist(chars, &mut bytes)?;
    Some(String::from_utf8_lossy(&bytes).to_string())
}

fn iolist(w: &Wire, out: &mut Vec<u8>) -> Option<()> {
    match w {
        Wire::Binary(b) => out.extend_from_slice(&b.bytes),
        Wire::ByteList(b) => out.extend_from_slice(&b.bytes),
        Wire::FixInteger(i) => {
            let c = char::from_u32(u32::try_from(i.value).ok()?)?;
            out.extend_from_slice(c.to_string().as_bytes());
        }
        Wire::List(l) => {
            for e in &l.elements {
                iolist(e, out)?;
            }
        }
        _ => return None,
    }
    Some(())
}

fn keyword_list(pairs: &[(String, Wire)]) -> Wire {
    Wire::from(eetf::List::from(
        pairs
            .iter()
            .map(|(k, v)| {
                Wire::from(eetf::Tuple::from(vec![
                    Wire::from(eetf::Atom::from(k.as_str())),
                    v.clone(),
                ]))
            })
            .collect::<Vec<_>>(),
    ))
}

/// The wrapper's answer, `{:ok, value, binding}` or `{:error, kind, message}`.
fn answer(view: &View<'_>, reply: &Wire) -> Result<(Term, Vec<(String, Wire)>), ExitReason> {
    let inner = match reply {
        Wire::Tuple(t) => t.elements.clone(),
        _ => vec![],
    };
    match inner.as_slice() {
        [Wire::Atom(ok), v, b] if ok.name == "ok" => Ok((view.term(v), keyword(b))),
        [Wire::Atom(e), kind, message] if e.name == "error" => {
            let text = |w: &Wire| match w {
                Wire::Binary(b) => String::from_utf8_lossy(&b.bytes).to_string(),
                other => view.term(other).to_string(),
            };
            Err(ExitReason::exception(text(kind), text(message)))
        }
        _ => Err(arg_error(format!(
            "the node answered {}",
            shown(&view.term(reply))
        ))),
    }
}

/// Runs `src` on the node with `bindings`; the value and the bindings after it.
pub async fn eval_on(
    remote: &Remote,
    src: &str,
    bindings: &[(String, Wire)],
) -> Result<(Term, Vec<(String, Wire)>), ExitReason> {
    let kw = keyword_list;
    let outer = vec![
        (
            "otplab_src".to_string(),
            Wire::from(eetf::Binary::from(src.as_bytes().to_vec())),
        ),
        ("otplab_binding".to_string(), kw(bindings)),
    ];
    let args = vec![
        Wire::from(eetf::Binary::from(WRAPPER.as_bytes().to_vec())),
        kw(&outer),
    ];
    let reply = remote
        .conn
        .call_raw("Elixir.Code", "eval_string", args, EVAL_TIMEOUT)
        .await
        .map_err(fault)?;
    let node = remote.node();
    let view = View { home: &node };
    // eval_string answers {result, binding}; the wrapper's result is {:ok, v, b} or {:error, …}.
    match &reply {
        Wire::Tuple(t) => match t.elements.as_slice() {
            [Wire::Atom(a), why] if a.name == "badrpc" => Err(arg_error(format!(
                "the node could not evaluate the line: {}",
                shown(&view.term(why))
            ))),
            [result, _] => answer(&view, result),
            _ => answer(&view, &reply),
        },
        _ => answer(&view, &reply),
    }
}

fn keyword(b: &Wire) -> Vec<(String, Wire)> {
    let Wire::List(l) = b else { return vec![] };
    l.elements
        .iter()
        .filter_map(|e| match e {
            Wire::Tuple(t) => match t.elements.as_slice() {
                [Wire::Atom(k), v] => Some((k.name.clone(), v.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A fault of the connection as the error the shell prints: `** (otplab) …`, otplab's own
/// words, since no Elixir exception stands for it.
pub fn fault(e: dist::DistError) -> ExitReason {
    ExitReason::exception(FAULT, e.to_string())
}

/// The kind a fault of the distribution prints with.
pub const FAULT: &str = "otplab";

/// Runs a command on the node; `None` for the commands that stay local (help, history,
/// connect, disconnect, report, record, clear) and for `observe`, whose view asks the node
/// itself (the observer's node source).
pub async fn run(ev: &mut Eval<'_>, remote: &Remote, inv: &Invocation<'_>) -> Option<R> {
    use Invocation as I;
    let mut args = Args::default();
    let src = match inv {
        I::Help { .. }
        | I::History
        | I::Clear
        | I::Report { .. }
        | I::Record { .. }
        | I::Connect { .. }
        | I::Disconnect
        | I::Observe => return None,
        I::Ps { sort } => return Some(super::remote_ps::ps(ev, remote, *sort).await),
        I::Tree { sup } => return Some(tree(ev, remote, *sup).await),
        I::Kill { target } => format!("Process.exit({}, :kill)", pid_src(remote, target)),
        I::Exit { target, reason } => {
            let r = match args.add(ev, reason).await {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            format!("Process.exit({}, {r})", pid_src(remote, target))
        }
        I::Send { target, message } => {
            let m = match args.add(ev, message).await {
                Ok(m) => m,
                Err(e) => return Some(Err(e)),
            };
            format!("send({}, {m})", pid_src(remote, target))
        }
        I::Whereis { target } => find_src(remote, target),
        I::Alive { target } => format!("Process.alive?({})", pid_src(remote, target)),
        I::Info { target, keys: [] } => {
            format!("Process.info({})", pid_src(remote, target))
        }
        I::Info { target, keys } => {
            let mut names = vec![];
            for k in keys.iter() {
                match &k.kind {
                    ArgKind::Word(w) | ArgKind::Atom(w) => names.push(format!(":{w}")),
                    _ => return Some(Err(arg_error("info on a node takes keys as words"))),
                }
            }
            format!(
                "Process.info({}, [{}])",
                pid_src(remote, target),
                names.join(", ")
            )
        }
        I::State { target } => format!(":sys.get_state({}, 5000)", pid_src(remote, target)),
        I::ServerProcess { list } => {
            let l = match args.add(ev, list).await {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            format!("Todo.Cache.server_process({l})")
        }
        I::Entries { list, date } => {
            let (l, d) = match (args.add(ev, list).await, args.add(ev, date).await) {
                (Ok(l), Ok(d)) => (l, d),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            format!("Todo.Server.entries(Todo.Cache.server_process({l}), {d})")
        }
        I::AddEntry { list, date, title } => {
            let (l, d, t) = match (
                args.add(ev, list).await,
                args.add(ev, date).await,
                args.add(ev, title).await,
            ) {
                (Ok(l), Ok(d), Ok(t)) => (l, d, t),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Some(Err(e)),
            };
            format!(
                "Todo.Server.add_entry(Todo.Cache.server_process({l}), %{{date: {d}, title: {t}}})"
            )
        }
        _ => {
            return Some(Err(arg_error(format!(
                "this command runs on otplab's own system only: disconnect from {} first",
                remote.node()
            ))));
        }
    };
    let mut bindings = remote.bindings.lock().unwrap().clone();
    bindings.extend(args.0);
    Some(eval_on(remote, &src, &bindings).await.map(|(v, _)| v))
}

/// Values of the command's arguments, passed to the node as bindings `otplab_arg0`, … (the
/// shell evaluates them, as it does for a local command).
#[derive(Default)]
struct Args(Vec<(String, Wire)>);

impl Args {
    async fn add(&mut self, ev: &mut Eval<'_>, a: &Arg) -> Result<String, ExitReason> {
        let v = value(ev, a).await?;
        let w = dist::wire(&v)
            .ok_or_else(|| arg_error(format!("{v} cannot be sent to another node")))?;
        let name = format!("otplab_arg{}", self.0.len());
        self.0.push((name.clone(), w));
        Ok(name)
    }
}

/// The Elixir that finds the process a command names, on the node: a pid as typed, a
/// variable of the session, a list's to-do server, a registered name, or a well-known part
/// of the book's tree through the names scripts/beam/node/ registers.
pub(super) fn pid_src(remote: &Remote, t: &Target<'_>) -> String {
    let what = match &t.arg.kind {
        ArgKind::Atom(a) => format!(":{a} is not registered"),
        ArgKind::Str(s) => format!("no to-do server is running for {}", Term::str(s)),
        ArgKind::Word(w) => format!("{w} is not running"),
        _ => "no such process".to_string(),
    };
    format!(
        "(case {} do nil -> raise ArgumentError, {}; otplab_p -> otplab_p end)",
        find_src(remote, t),
        Term::str(format!("{what} on {}", remote.node()))
    )
}

/// As [`pid_src`], `nil` when there is no such process (`whereis`).
fn find_src(remote: &Remote, t: &Target<'_>) -> String {
    let via = |key: String| format!("GenServer.whereis({{:via, Todo.ProcessRegistry, {key}}})");
    match &t.arg.kind {
        ArgKind::Pid(p) => format!(":erlang.list_to_pid(~c\"<0.{}.0>\")", p.number()),
        ArgKind::Str(name) => via(format!("{{:todo_server, {}}}", Term::str(name))),
        ArgKind::Atom(a) => format!("Process.whereis({})", crate::runtime::term::inspect_atom(a)),
        ArgKind::Word(w) if remote.bindings.lock().unwrap().iter().any(|(k, _)| k == w) => {
            w.clone()
        }
        ArgKind::Word(w) => match w.as_str() {
            "registry" => "Process.whereis(:todo_process_registry)".into(),
            "cache" => "Process.whereis(:todo_cache)".into(),
            "server_supervisor" => "Process.whereis(:todo_server_supervisor)".into(),
            "worker" => {
                let n = t
                    .number
                    .and_then(|a| match a.kind {
                        ArgKind::Int(n) => Some(n),
                        _ => None,
                    })
                    .unwrap_or(1);
                via(format!("{{:database_worker, {n}}}"))
            }
            "supervisor" => TOP.into(),
            "database" => child_src("Todo.Database"),
            "system" | "system_supervisor" => child_src("Todo.SystemSupervisor"),
            other => format!(
                "Process.whereis({})",
                crate::runtime::term::inspect_atom(other)
            ),
        },
        _ => "nil".into(),
    }
}

/// The top supervisor of the application `:todo`, as observer finds it.
pub const TOP: &str = "(case :application_controller.get_master(:todo) do :undefined -> Process.whereis(Todo.Supervisor); m -> elem(:application_master.get_child(m), 0) end)";

fn child_src(id: &str) -> String {
    format!(
        "(fn -> find = fn find, sup -> Enum.find_value(Supervisor.which_children(sup), fn {{{id}, p, _, _}} -> p; {{_, p, :supervisor, _}} when is_pid(p) -> find.(find, p); _ -> nil end) end; find.(find, {TOP}) end).()"
    )
}

/// The Elixir function `otplab_label` that names a process's module as the local `ps` and
/// `tree` do: a supervisor by its callback module (`Todo.Supervisor`, not `:supervisor`), a
/// `GenServer` by its own, anything else by its initial call's module.
pub const LABEL_SRC: &str = r#"
otplab_label = fn info ->
  call = Keyword.get(info[:dictionary] || [], :"$initial_call", info[:initial_call])
  case call do
    {m, _, _} when m in [:supervisor, :supervisor_bridge] ->
      case Keyword.get(info[:dictionary] || [], :"$initial_call") do
        {_, cb, _} -> cb
        _ -> m
      end
    {m, _, _} -> m
    _ -> nil
  end
end
"#;

/// The Elixir that walks the tree from `sup` on the node, each supervisor with a short
/// timeout: one that does not answer becomes `:no_answer`, and the walk goes on.
pub const TREE_SRC: &str = r##"
strategy = fn sup ->
  try do
    s = :sys.get_state(sup, otplab_timeout)
    {elem(s, 2), elem(s, 5), elem(s, 6)}
  rescue
    _ -> nil
  catch
    :exit, _ -> nil
  end
end
walk = fn walk, sup ->
  try do
    kids = :gen_server.call(sup, :which_children, otplab_timeout)
    for {id, pid, type, _} <- kids do
      info = if is_pid(pid), do: Process.info(pid, [:registered_name, :links, :message_queue_len]), else: nil
      sub = if type == :supervisor and is_pid(pid), do: walk.(walk, pid), else: []
      {id, pid, type, info, sub, if(type == :supervisor and is_pid(pid), do: strategy.(pid))}
    end
  catch
    :exit, _ -> :no_answer
  end
end
top = otplab_top
info = (is_pid(top) && Process.info(top, [:registered_name, :dictionary, :initial_call])) || []
# A call of :which_children would crash a process that is not a supervisor: ask its
# initial call first.
supervisor? = match?({:supervisor, _, _}, Keyword.get(info[:dictionary] || [], :"$initial_call"))
unless supervisor?, do: raise(ArgumentError, "#{inspect(top)} is not a supervisor")
label = if info[:registered_name] not in [nil, []], do: info[:registered_name], else: otplab_label.(info)
{top, label, strategy.(top), walk.(walk, top)}
"##;

/// `tree [SUPERVISOR]` on the node.
async fn tree(ev: &mut Eval<'_>, remote: &Remote, sup: Option<&Arg>) -> R {
    let top = match sup {
        Some(a) => pid_src(
            remote,
            &Target {
                arg: a,
                number: None,
            },
        ),
        None => TOP.to_string(),
    };
    let src = format!("otplab_top = {top}\n{LABEL_SRC}\n{TREE_SRC}");
    let b = vec![(
        "otplab_timeout".to_string(),
        Wire::from(eetf::FixInteger::from(SUPERVISOR_TIMEOUT_MS as i32)),
    )];
    let (got, _) = eval_on(remote, &src, &b).await?;
    let Some([top, label, strategy, children]) = got
        .as_tuple()
        .map(|t| t.to_vec())
        .and_then(|v| <[Term; 4]>::try_from(v).ok())
    else {
        return Err(arg_error("no supervisor to draw on the node"));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}{}",
        shown(&label),
        shown(&top),
        strategy_text(&strategy)
    );
    draw(&children, "", &mut out);
    ev.p.puts(out.trim_end().to_string());
    Ok(silent())
}

/// A reason as `Exception.format_exit/1` words it: an atom without its colon.
fn exit_text(t: &Term) -> String {
    match t {
        Term::Atom(a) => a.as_str().to_string(),
        other => shown(other),
    }
}

pub fn shown(t: &Term) -> String {
    dist::foreign(t)
        .map(|f| f.text.clone())
        .unwrap_or_else(|| t.to_string())
}

fn strategy_text(s: &Term) -> String {
    match s.as_tuple() {
        Some([s, i, p]) => format!(
            "  ({}, {i} restarts in {p} s)",
            s.to_string().trim_start_matches(':')
        ),
        _ => String::new(),
    }
}

fn draw(children: &Term, indent: &str, out: &mut String) {
    let Term::List(kids) = children else {
        let _ = writeln!(
            out,
            "{indent}└─ (no answer within {SUPERVISOR_TIMEOUT_MS} ms)"
        );
        return;
    };
    let n = kids.len();
    // A supervisor's `which_children` lists its children last started first; the picture
    // shows them in start order, as the local `tree` does, so `rest_for_one` reads top down.
    for (i, k) in kids.iter().rev().enumerate() {
        let Some([id, pid, kind, info, sub, strategy]) = k
            .as_tuple()
            .map(|t| t.to_vec())
            .and_then(|v| <[Term; 6]>::try_from(v).ok())
        else {
            continue;
        };
        let last = i + 1 == n;
        let branch = if last { "└─ " } else { "├─ " };
        let pid_text = if dist::foreign(&pid).is_some() {
            shown(&pid)
        } else {
            "(not running)".to_string()
        };
        let mut extra = String::new();
        if let Some(name) = info.get_kw("registered_name") {
            if !matches!(&name, Term::List(l) if l.is_empty()) {
                let _ = write!(extra, " {name}");
            }
        }
        if let Some(Term::List(links)) = info.get_kw("links") {
            let _ = write!(extra, "  links: {}", links.len());
        }
        if let Some(Term::Int(q)) = info.get_kw("message_queue_len") {
            if q > 0 {
                let _ = write!(extra, "  mailbox: {q}");
            }
        }
        extra.push_str(&strategy_text(&strategy));
        let _ = writeln!(out, "{indent}{branch}{} {pid_text}{extra}", shown(&id));
        if kind.is_atom("supervisor") {
            let next = format!("{indent}{}", if last { "   " } else { "│  " });
            draw(&sub, &next, out);
        }
    }
}

trait Kw {
    fn get_kw(&self, key: &str) -> Option<Term>;
}

impl Kw for Term {
    fn get_kw(&self, key: &str) -> Option<Term> {
        crate::shell::context::keyword(self, key)
    }
}
