//! The shell's state and the conversions every layer of it shares: [`Ctx`] (what the shell
//! keeps across lines), [`Env`] (a session's bindings), [`Eval`] (the shell process evaluating
//! with them), and the small functions that turn terms into the Rust values the runtime and the
//! to-do system take (`pid_of`, `date_of`, …) with the error iex would raise. It sits at the
//! bottom of the shell so that `system`, the built-ins, the evaluator and the commands all build
//! on it without importing each other.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::runtime::events::TraceEvent;
use crate::runtime::{
    Atom, CallError, Date, Dest, Envelope, ExitReason, Node, Pid, Process, Ref, StartError, Term,
    atom,
};
use crate::todo::Config;

use super::report::Level;

/// The timeout of every call the shell makes on the user's behalf when none is given, as
/// `GenServer.call/2`'s 5 seconds: the runtime's one constant for it.
pub use crate::runtime::call::DEFAULT_CALL_TIMEOUT as CALL_TIMEOUT;

/// What a built-in, a command or an expression evaluates to: a term, or the exit it raises.
pub type R = Result<Term, ExitReason>;

/// Bindings of a session: variables and aliases. They survive the shell process being
/// replaced after a linked crash.
#[derive(Clone, Default, Debug)]
pub struct Env {
    pub vars: BTreeMap<String, Term>,
    pub aliases: HashMap<String, String>,
}

/// The messages `trace on` recorded, and the name each process had when it was first seen in
/// them: by the time `trace show` draws, a traced process may be gone and its name with it.
#[derive(Clone, Default, Debug)]
pub struct TraceLog {
    pub events: Vec<Arc<TraceEvent>>,
    pub names: HashMap<Pid, String>,
}

/// What the shell keeps across lines: the node, the to-do system's configuration and top
/// supervisor, the report level, the recorded trace, the results for `v/1`, the width of the
/// terminal the next output goes to.
pub struct Ctx {
    pub node: Node,
    pub config: Mutex<Arc<Config>>,
    /// The booted (unlinked) to-do tree, if one is running.
    pub system: Mutex<Option<Pid>>,
    pub level: Mutex<Level>,
    pub trace: Mutex<TraceLog>,
    pub history: Mutex<Vec<String>>,
    pub results: Mutex<Results>,
    /// The compiler warnings of the input being evaluated, each without its place: iex writes
    /// them on standard error before the input's result or error, at the line of its prompt,
    /// which only the session knows ([`warning_text`]).
    pub warnings: Mutex<Vec<String>>,
    pub color: bool,
    /// The terminal's columns, 0 for no limit. Only the REPL sets it, before each line, so
    /// piped input, `run` and `check` print whole lines and their transcripts do not depend on
    /// the terminal they happen to run in.
    pub width: AtomicUsize,
    /// The session's recording (`--record FILE`, `record FILE`), written by the front end.
    pub recording: super::record::Recording,
    /// The pid of the shell process, kept current when a crash replaces it, for the live
    /// observer (which sends its signals as the shell does, and names it `shell`).
    pub shell: Arc<AtomicU64>,
    /// Set by a front end that can hand the terminal to the live view.
    pub can_observe: AtomicBool,
    /// Set by `observe`: the front end opens the view once the line is done.
    pub observe: AtomicBool,
    /// The real node the shell is attached to (`connect`, `--connect`): while it is set,
    /// commands and Elixir lines run there.
    pub remote: Mutex<Option<Arc<Remote>>>,
}

/// A session on a real node: the connection and the bindings its Elixir lines keep, as
/// `iex --remsh` keeps them, in the node's own terms.
pub struct Remote {
    pub conn: crate::dist::Connection,
    pub bindings: Mutex<Vec<(String, crate::dist::Wire)>>,
    /// The trace running on the node (`trace on`); dropping it removes the relay there.
    pub trace: Mutex<Option<crate::dist::trace::RemoteTrace>>,
    /// The long-lived process on the node that evaluates the lines, as iex's evaluator,
    /// started on the first line and again after it dies.
    pub evaluator: tokio::sync::Mutex<Option<Evaluator>>,
    /// The task that serves the evaluator's group leader (its `IO.puts`).
    pub io: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The evaluator on the node: its pid, the local pid its answers and its `:DOWN` come to,
/// and the monitor.
pub struct Evaluator {
    pub pid: crate::dist::WirePid,
    pub inbox: crate::dist::Mailbox,
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Some(io) = self.io.get_mut().unwrap().take() {
            io.abort();
        }
        self.conn.close();
    }
}

impl Remote {
    pub fn new(conn: crate::dist::Connection) -> Remote {
        Remote {
            conn,
            bindings: Mutex::new(vec![]),
            trace: Mutex::new(None),
            evaluator: Default::default(),
            io: Mutex::new(None),
        }
    }

    /// `todo@host`, as the prompt shows it.
    pub fn node(&self) -> String {
        self.conn.peer().to_string()
    }
}

impl Ctx {
    pub fn config(&self) -> Arc<Config> {
        self.config.lock().unwrap().clone()
    }

    /// The columns tables and diagrams must fit in, or `None` for no limit.
    pub fn width(&self) -> Option<usize> {
        Some(self.width.load(Ordering::Relaxed)).filter(|w| *w > 0)
    }

    pub fn set_width(&self, columns: Option<usize>) {
        self.width.store(columns.unwrap_or(0), Ordering::Relaxed);
    }

    /// The attached node, while its connection is up.
    pub fn remote(&self) -> Option<Arc<Remote>> {
        self.remote.lock().unwrap().clone()
    }
}

/// The prompt: `iex(3)> `, or `iex(todo@host)3> ` on a node as iex --remsh shows it, and
/// `...(3)> ` while an input continues.
pub fn prompt(n: u32, node: Option<&str>, continued: bool) -> String {
    let head = if continued { "..." } else { "iex" };
    match node {
        Some(node) => format!("{head}({node}){n}> "),
        None => format!("{head}({n})> "),
    }
}

/// Evaluates as the process `p`.
pub struct Eval<'a> {
    pub p: &'a mut Process,
    pub ctx: &'a Arc<Ctx>,
    pub env: Env,
}

/// The results `v/1` reads: the last [`Results::KEPT`] of them, as iex keeps its
/// `history_size` (20 by default). Keeping every one grew the shell's memory with every line
/// for as long as the session lived (tests/chaos.rs: 1, 2, then 4 MB in consecutive rounds).
#[derive(Default)]
pub struct Results {
    /// How many results came before the first one kept.
    dropped: usize,
    kept: std::collections::VecDeque<Term>,
}

impl Results {
    pub const KEPT: usize = 20;

    pub fn push(&mut self, value: Term) {
        if self.kept.len() == Self::KEPT {
            self.kept.pop_front();
            self.dropped += 1;
        }
        self.kept.push_back(value);
    }

    pub fn clear(&mut self) {
        *self = Results::default();
    }

    /// `v(n)`: the result of prompt `n`, or for a negative `n` the `-n`th from the last.
    pub fn get(&self, n: i64) -> Option<&Term> {
        let total = (self.dropped + self.kept.len()) as i64;
        let number = if n < 0 { total + n + 1 } else { n };
        let index = number - 1 - self.dropped as i64;
        usize::try_from(index).ok().and_then(|i| self.kept.get(i))
    }
}

/// An exception reason, the way `raise` makes one.
pub fn raise(kind: &str, message: impl Into<String>) -> ExitReason {
    ExitReason::exception(kind.to_string(), message.into())
}

/// Where iex places an error in the input it evaluates, line 1 of that input. iex evaluates
/// each input at the line of its prompt number (`iex:3` at `iex(3)>`), which only the session
/// knows, so the session renumbers the error with [`at_prompt`] when it prints it.
const FIRST_LINE: &str = "iex:1: ";

/// A `CompileError` of the input being evaluated, at its first line.
pub fn compile_error(description: impl std::fmt::Display) -> ExitReason {
    raise("CompileError", format!("{FIRST_LINE}{description}"))
}

/// A compiler warning as iex 1.14 writes it on standard error: the message, its place (the
/// line of prompt `n`) and a blank line, with `warning: ` in yellow when colours are on.
pub fn warning_text(message: &str, n: u32, color: bool) -> String {
    let prefix = if color {
        owo_colors::OwoColorize::yellow(&"warning: ").to_string()
    } else {
        "warning: ".to_string()
    };
    format!("{prefix}{message}\n  iex:{n}\n\n")
}

/// The warning iex gives before it fails to find a function for a bare name that is no
/// variable (`foo`), which it read as a call without parentheses.
pub fn expanded_variable(name: &str) -> String {
    format!(
        "variable \"{name}\" does not exist and is being expanded to \"{name}()\", please use \
         parentheses to remove the ambiguity or change the variable name"
    )
}

/// The error of the input evaluated at prompt `n`, at that line, as iex gives it.
pub fn at_prompt(reason: ExitReason, n: u32) -> ExitReason {
    match reason {
        ExitReason::Exception {
            kind,
            message,
            stack,
        } if &*kind == "CompileError" && message.starts_with(FIRST_LINE) => ExitReason::Exception {
            kind,
            message: format!("iex:{n}: {}", &message[FIRST_LINE.len()..]).into(),
            stack,
        },
        other => other,
    }
}

pub fn arg_error(message: impl Into<String>) -> ExitReason {
    raise("ArgumentError", message)
}

impl Eval<'_> {
    /// Records a compiler warning of the input the shell is evaluating. A fun run by another
    /// process runs outside any input (iex would have warned when the fun was defined), so
    /// nothing is recorded for it, rather than printed with a later input of the shell.
    pub fn warn(&self, message: String) {
        if self.p.pid().0 == self.ctx.shell.load(Ordering::Relaxed) {
            self.ctx.warnings.lock().unwrap().push(message);
        }
    }

    /// `Process.exit(pid, reason)` from the shell, sent now, in the middle of the line, as on
    /// the BEAM: what the line does next sees its effect (`Process.alive?` of a killed process
    /// is `false` at once), and the restarts it causes print when they happen. A signal that
    /// kills the shell itself takes effect before the line goes on, as `exit(self(), :kill)`
    /// does not return: the shell's task yields, and the runtime has already aborted it.
    pub async fn exit_signal(&mut self, pid: Pid, reason: ExitReason) {
        self.p.exit(pid, reason);
        if pid == self.p.pid() {
            tokio::task::yield_now().await;
        }
    }

    /// Calls a function value with arguments, in this process.
    pub async fn apply(&mut self, f: &Term, args: Vec<Term>) -> R {
        match f {
            Term::Fun(fun) => fun.call(self.p, args).await,
            other => Err(raise(
                "BadFunctionError",
                format!("expected a function, got: {other}"),
            )),
        }
    }
}

/// The value iex's `h` returns: printed output only, no result line.
pub fn silent() -> Term {
    atom("do not show this result in output")
}

/// Elixir's `==`: numbers compare by value (`1 == 1.0`), everything else exactly.
pub fn loose_eq(a: &Term, b: &Term) -> bool {
    match (a, b) {
        (Term::Int(x), Term::Float(y)) | (Term::Float(y), Term::Int(x)) => (*x as f64) == *y,
        _ => a == b,
    }
}

/// A range as a term: `%Range{first:, last:, step:}`, printed `1..10`.
pub fn range_term(first: i64, last: i64) -> Term {
    let step = if last >= first { 1 } else { -1 };
    Term::structure(
        Atom::from_static("Range"),
        vec![
            (Atom::from_static("first"), Term::Int(first)),
            (Atom::from_static("last"), Term::Int(last)),
            (Atom::from_static("step"), Term::Int(step)),
        ],
    )
}

/// The elements of a list, range or map, for `for` and `Enum`.
pub fn enumerate(t: &Term) -> Result<Vec<Term>, ExitReason> {
    match t {
        Term::List(v) => Ok(v.to_vec()),
        Term::Struct(s) if s.name.as_str() == "Range" => {
            let get = |k: &str| {
                s.fields
                    .iter()
                    .find(|(f, _)| f.as_str() == k)
                    .and_then(|(_, v)| v.as_int())
                    .unwrap_or(0)
            };
            let (first, last, step) = (get("first"), get("last"), get("step"));
            let len = if step > 0 {
                (last - first) / step + 1
            } else {
                (first - last) / -step + 1
            };
            if len > 50_000_000 {
                return Err(arg_error(
                    "range too large to enumerate in the shell (over 50,000,000 elements)",
                ));
            }
            Ok((0..len.max(0))
                .map(|i| Term::Int(first + i * step))
                .collect())
        }
        Term::Map(m) => Ok(m
            .iter()
            .map(|(k, v)| Term::tuple(vec![k.clone(), v.clone()]))
            .collect()),
        other => Err(raise(
            "Protocol.UndefinedError",
            format!("protocol Enumerable not implemented for {other}"),
        )),
    }
}

/// `to_string/1` and string interpolation.
pub fn to_string(t: &Term) -> String {
    match t {
        Term::Str(s) => s.to_string(),
        Term::Atom(a) if a.as_str() == "nil" => String::new(),
        Term::Atom(a) => a
            .as_str()
            .strip_prefix("Elixir.")
            .unwrap_or(a.as_str())
            .to_string(),
        Term::Date(d) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        other => other.to_string(),
    }
}

/// A date from a term: `~D[...]` or the text `2023-12-19`.
pub fn date_of(t: &Term) -> Result<Date, ExitReason> {
    match t {
        Term::Date(d) => Ok(*d),
        Term::Str(s) => Date::parse(s).ok_or_else(|| arg_error(format!("not a date: {t}"))),
        other => Err(arg_error(format!(
            "expected a date like ~D[2023-12-19], got: {other}"
        ))),
    }
}

pub fn pid_of(t: &Term) -> Result<Pid, ExitReason> {
    t.as_pid()
        .ok_or_else(|| arg_error(format!("expected a pid, got: {t}")))
}

pub fn int_of(t: &Term) -> Result<i64, ExitReason> {
    t.as_int()
        .ok_or_else(|| arg_error(format!("expected an integer, got: {t}")))
}

pub fn str_of(t: &Term) -> Result<String, ExitReason> {
    t.as_str()
        .map(str::to_string)
        .ok_or_else(|| arg_error(format!("expected a string, got: {t}")))
}

/// `:ok` as the result of something done for its effect.
pub fn ok() -> R {
    Ok(atom("ok"))
}

/// A number as a float, for arithmetic that mixes integers and floats.
pub fn num(t: &Term) -> Option<f64> {
    match t {
        Term::Int(i) => Some(*i as f64),
        Term::Float(f) => Some(*f),
        _ => None,
    }
}

/// A pid, or a registered name resolved at the time of the send or call.
pub fn dest_of(t: &Term) -> Result<Dest, ExitReason> {
    match t {
        Term::Pid(p) => Ok(Dest::Pid(*p)),
        Term::Atom(a) => Ok(Dest::Name(*a)),
        other => Err(arg_error(format!(
            "expected a pid or a registered name, got: {other}"
        ))),
    }
}

/// A call timeout in milliseconds, or `:infinity` for none.
pub fn timeout_of(t: &Term) -> Result<Option<Duration>, ExitReason> {
    match t {
        Term::Int(ms) if *ms >= 0 => Ok(Some(Duration::from_millis(*ms as u64))),
        t if t.is_atom("infinity") => Ok(None),
        other => Err(arg_error(format!("invalid timeout: {other}"))),
    }
}

/// The value under `key` in a keyword list (`[name: :foo, flat: true]`).
pub fn keyword(list: &Term, key: &str) -> Option<Term> {
    let Term::List(items) = list else { return None };
    items.iter().find_map(|i| match i.as_tuple() {
        Some([k, v]) if k.is_atom(key) => Some(v.clone()),
        _ => None,
    })
}

/// `{:ok, pid}` or the start error as a term.
pub fn start_result(r: Result<Pid, StartError>) -> Term {
    match r {
        Ok(pid) => Term::ok_tuple(pid),
        Err(e) => e.to_term(),
    }
}

/// A call's reply, or the exit a failed `GenServer.call(server, request, timeout)` raises in
/// the caller.
pub fn call_result(
    r: Result<Term, CallError>,
    server: &Term,
    request: &Term,
    timeout: Duration,
) -> R {
    r.map_err(|e| e.exit_reason(server, request, Some(timeout.as_millis() as u64)))
}

/// Waits for the `:DOWN` of the monitor `r`.
pub async fn wait_down(ev: &mut Eval<'_>, r: Ref) {
    let _ = ev
        .p
        .receive_match(move |e| matches!(e, Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r)), None)
        .await;
}

#[cfg(test)]
mod results_tests {
    use super::Results;
    use crate::runtime::Term;

    /// `v/1` reads the last 20 results by prompt number or from the end; older ones are
    /// gone, as in iex with its default `history_size`.
    #[test]
    fn v_keeps_the_last_twenty_results() {
        let mut r = Results::default();
        for i in 1..=25 {
            r.push(Term::Int(i));
        }
        assert_eq!(r.get(-1), Some(&Term::Int(25)));
        assert_eq!(r.get(25), Some(&Term::Int(25)));
        assert_eq!(r.get(6), Some(&Term::Int(6)));
        assert_eq!(r.get(-20), Some(&Term::Int(6)));
        assert_eq!(r.get(5), None);
        assert_eq!(r.get(-21), None);
        assert_eq!(r.get(0), None);
        assert_eq!(r.get(26), None);
    }
}

#[cfg(test)]
mod warning_tests {
    use super::{expanded_variable, warning_text};

    /// The text iex 1.14 writes on standard error for `foo` at `iex(3)>`, byte for byte, and
    /// its yellow `warning: ` on a colour terminal (both read from real iex).
    #[test]
    fn an_expanded_variable_warns_as_iex_does() {
        assert_eq!(
            warning_text(&expanded_variable("foo"), 3, false),
            "warning: variable \"foo\" does not exist and is being expanded to \"foo()\", please \
             use parentheses to remove the ambiguity or change the variable name\n  iex:3\n\n"
        );
        assert!(
            warning_text("m", 1, true).starts_with("\u{1b}[33mwarning: \u{1b}[39mm\n"),
            "{:?}",
            warning_text("m", 1, true)
        );
    }
}
