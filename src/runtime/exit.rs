//! Why a process ended, and why a call failed. Exit reasons travel through links, monitors
//! and supervisors exactly as on the BEAM, so they are terms underneath, with the few reasons
//! the runtime itself decides on (`:normal`, `:kill`, `:noproc`, …) named for pattern matching.

use std::fmt;
use std::sync::Arc;

use super::pid::Pid;
use super::term::{Term, atom};

/// The reason a process exited (or is told to exit).
#[derive(Clone, PartialEq, Debug)]
pub enum ExitReason {
    /// Finished its work; kills no linked process.
    Normal,
    /// Stopped by its supervisor (or `{:shutdown, term}` through [`ExitReason::Other`]).
    Shutdown,
    /// The untrappable signal `exit(pid, :kill)`; the target dies with [`ExitReason::Killed`].
    Kill,
    /// How a process killed with `:kill` is reported to its links and monitors.
    Killed,
    /// The process did not exist.
    Noproc,
    /// An exception raised inside the process, printed `** (Kind) message` and then the
    /// frames of `stack` that otplab knows.
    Exception {
        kind: Arc<str>,
        message: Arc<str>,
        stack: Stack,
    },
    /// Any other term given to `exit/1,2` or returned as a `{:stop, reason, …}`.
    Other(Term),
}

impl ExitReason {
    pub fn atom(text: &'static str) -> ExitReason {
        ExitReason::from_term(atom(text))
    }

    pub fn exception(kind: impl Into<Arc<str>>, message: impl Into<Arc<str>>) -> ExitReason {
        ExitReason::Exception {
            kind: kind.into(),
            message: message.into(),
            stack: Stack::default(),
        }
    }

    /// The exception with `frame` (a line as iex prints it, `Counter.handle_call/3` or
    /// `:ets.lookup(:nope, 1)`) added below the frames it has, as the next caller out. Other
    /// reasons carry no stack and are returned as they are.
    pub fn with_frame(self, frame: impl AsRef<str>) -> ExitReason {
        match self {
            ExitReason::Exception {
                kind,
                message,
                stack,
            } => ExitReason::Exception {
                kind,
                message,
                stack: stack.push(frame.as_ref()),
            },
            other => other,
        }
    }

    /// The frames of an exception, innermost first; empty for other reasons.
    pub fn frames(&self) -> Vec<&str> {
        match self {
            ExitReason::Exception { stack, .. } => stack.frames(),
            _ => vec![],
        }
    }

    /// `raise "boom"`.
    pub fn runtime_error(message: impl Into<Arc<str>>) -> ExitReason {
        ExitReason::exception("RuntimeError", message)
    }

    /// `:erlang`'s `badarith`: the arithmetic `fun` (`/`, `+`, `rem`) failed on `args`. The
    /// message is the exception's own; iex adds `: 1 / 0` when it prints it (its blame), the
    /// logger does not.
    pub fn badarith(fun: &str, args: &[&Term]) -> ExitReason {
        let shown: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        ExitReason::exception("ArithmeticError", "bad argument in arithmetic expression")
            .with_frame(format!(":erlang.{fun}({})", shown.join(", ")))
    }

    /// The reason a server crashes with when no clause matches a message it was sent.
    pub fn function_clause(function: &str) -> ExitReason {
        ExitReason::exception(
            "FunctionClauseError",
            format!("no function clause matching in {function}"),
        )
    }

    /// Normalises a term into a reason: `:normal`, `:shutdown`, `:kill`, … become their variants.
    pub fn from_term(term: Term) -> ExitReason {
        match &term {
            Term::Atom(a) => match a.as_str() {
                "normal" => ExitReason::Normal,
                "shutdown" => ExitReason::Shutdown,
                "kill" => ExitReason::Kill,
                "killed" => ExitReason::Killed,
                "noproc" => ExitReason::Noproc,
                _ => ExitReason::Other(term),
            },
            // The term form of an exception, `{:RuntimeError, "boom"}` (see `to_term`).
            Term::Tuple(t)
                if t.len() == 2
                    && matches!(&t[0], Term::Atom(a) if a.as_str().starts_with(|c: char| c.is_ascii_uppercase()))
                    && matches!(t[1], Term::Str(_)) =>
            {
                ExitReason::exception(t[0].as_atom().unwrap().as_str(), t[1].as_str().unwrap())
            }
            _ => ExitReason::Other(term),
        }
    }

    /// The reason as a term, as it appears in `{:EXIT, pid, reason}` and `{:DOWN, …}`.
    pub fn to_term(&self) -> Term {
        match self {
            ExitReason::Normal => atom("normal"),
            ExitReason::Shutdown => atom("shutdown"),
            ExitReason::Kill => atom("kill"),
            ExitReason::Killed => atom("killed"),
            ExitReason::Noproc => atom("noproc"),
            ExitReason::Exception { kind, message, .. } => Term::tuple(vec![
                Term::Atom(
                    super::term::Atom::new(kind)
                        .unwrap_or(super::term::Atom::from_static("exception")),
                ),
                Term::Str(message.clone()),
            ]),
            ExitReason::Other(t) => t.clone(),
        }
    }

    /// `:normal`: kills no linked process and is not restarted by a transient restart type.
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal)
    }

    /// `:normal`, `:shutdown` or `{:shutdown, _}`: the exits a transient child is not restarted
    /// for and the exits that produce no crash report.
    pub fn is_clean(&self) -> bool {
        match self {
            ExitReason::Normal | ExitReason::Shutdown => true,
            ExitReason::Other(Term::Tuple(t)) => t.len() == 2 && t[0].is_atom("shutdown"),
            _ => false,
        }
    }
}

impl From<Term> for ExitReason {
    fn from(t: Term) -> ExitReason {
        ExitReason::from_term(t)
    }
}

/// How iex words a reason, after `** (EXIT)` and in `shell process exited with reason:`:
/// Elixir's `Exception.format_exit/1`. Its own words for the reasons it knows (`normal`,
/// `shutdown: 1`, `killed`, `time out`, `no process: …`, an exception block), the inspected
/// term for any other (`:boom`, `{:error, 1}`).
impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Noproc => f.write_str(
                "no process: the process is not alive or there's no process currently associated with the given name, possibly because its application isn't started",
            ),
            ExitReason::Exception { kind, message, stack } => {
                write!(f, "an exception was raised:\n    ** ({kind}) {message}")?;
                for frame in stack.frames() {
                    write!(f, "\n        {frame}")?;
                }
                Ok(())
            }
            // A call's timeout travels as `{:timeout, call}` in otplab, as `{:timeout, {m, f, a}}`
            // on the BEAM; iex words both `time out`.
            ExitReason::Other(Term::Tuple(t)) if t.len() == 2 && t[0].is_atom("timeout") => {
                f.write_str("time out")
            }
            ExitReason::Other(t) => f.write_str(&format_exit(t, "\n    ")),
            other => write!(f, "{}", other.to_term()),
        }
    }
}

/// `Exception.format_exit/2` for a reason term, `joiner` starting each nested `** (EXIT)`
/// line (each level of nesting indents four more).
fn format_exit(t: &Term, joiner: &str) -> String {
    let Term::Tuple(items) = t else {
        return match t.as_atom().map(|a| a.as_str()) {
            Some("normal") => "normal".into(),
            Some("shutdown") => "shutdown".into(),
            Some("killed") => "killed".into(),
            Some("timeout") => "time out".into(),
            Some("calling_self") => "process attempted to call itself".into(),
            Some("noconnection") => "no connection".into(),
            Some("noproc") => ExitReason::Noproc.to_string(),
            _ => t.to_string(),
        };
    };
    match &items[..] {
        // A supervisor whose child failed to start, `{:EXIT, reason}` when the child crashed.
        [shutdown, Term::Tuple(failed)]
            if shutdown.is_atom("shutdown")
                && failed.len() == 3
                && failed[0].is_atom("failed_to_start_child") =>
        {
            let why = match &failed[2] {
                Term::Tuple(e) if e.len() == 2 && e[0].is_atom("EXIT") => &e[1],
                other => other,
            };
            format!(
                "shutdown: failed to start child: {}{joiner}** (EXIT) {}",
                failed[1],
                format_exit(why, &format!("{joiner}    "))
            )
        }
        [shutdown, why] if shutdown.is_atom("shutdown") => format!("shutdown: {why}"),
        [nodedown, Term::Atom(node)] if nodedown.is_atom("nodedown") => {
            format!("no connection to {}", node.as_str())
        }
        [tag, value] => match tag.as_atom().map(|a| a.as_str()) {
            Some("already_started") => format!("already started: {value}"),
            Some("bad_return_value") => format!("bad return value: {value}"),
            Some("bad_call") => format!("bad call: {value}"),
            Some("bad_cast") => format!("bad cast: {value}"),
            _ => t.to_string(),
        },
        _ => t.to_string(),
    }
}

/// Where an exception was raised, as far as otplab knows: the frames iex would print, one a
/// line, innermost first, each without file and line where otplab does not know them. Empty
/// is an exception raised by the evaluated expression itself, for which iex prints a blank
/// line. Two reasons that differ only in their stacks are equal: the stack says where a
/// reason arose, not what it is, and supervisors and tests compare what.
#[derive(Clone, Debug, Default)]
pub struct Stack(Option<Arc<str>>);

impl Stack {
    fn push(self, frame: &str) -> Stack {
        Stack(Some(match self.0 {
            Some(lines) => Arc::from(format!("{lines}\n{frame}")),
            None => Arc::from(frame),
        }))
    }

    pub fn frames(&self) -> Vec<&str> {
        self.0
            .as_deref()
            .map(|s| s.lines().collect())
            .unwrap_or_default()
    }
}

impl PartialEq for Stack {
    fn eq(&self, _: &Stack) -> bool {
        true
    }
}

/// Why a `call` did not return a reply. The caller decides whether that is fatal; the shell
/// prints it as iex prints the exit `GenServer.call` raises.
#[derive(Clone, PartialEq, Debug)]
pub enum CallError {
    /// No reply within the timeout. The request stays queued and is still handled.
    Timeout,
    /// The server was not alive (or the name was not registered) when called.
    Noproc,
    /// The server exited while the call was pending.
    Exited(ExitReason),
    /// A process called itself, which could only ever time out.
    CallingSelf,
}

impl CallError {
    /// The exit reason a caller dies with when it does not handle the error, as in OTP:
    /// `{reason, {GenServer, :call, [server, request, timeout]}}`.
    pub fn exit_reason(&self, server: &Term, request: &Term, timeout: Option<u64>) -> ExitReason {
        let reason = match self {
            CallError::Timeout => atom("timeout"),
            CallError::Noproc => atom("noproc"),
            CallError::CallingSelf => atom("calling_self"),
            CallError::Exited(r) => r.to_term(),
        };
        let timeout = timeout
            .map(|t| Term::Int(t as i64))
            .unwrap_or_else(|| atom("infinity"));
        ExitReason::Other(Term::tuple(vec![
            reason,
            Term::tuple(vec![
                atom("Elixir.GenServer"),
                atom("call"),
                Term::list(vec![server.clone(), request.clone(), timeout]),
            ]),
        ]))
    }

    /// The reason alone, for handlers that let a failed call crash them with `?`.
    pub fn reason(&self) -> ExitReason {
        match self {
            CallError::Timeout => ExitReason::atom("timeout"),
            CallError::Noproc => ExitReason::Noproc,
            CallError::CallingSelf => ExitReason::atom("calling_self"),
            CallError::Exited(r) => r.clone(),
        }
    }
}

impl From<CallError> for ExitReason {
    fn from(e: CallError) -> ExitReason {
        e.reason()
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => f.write_str("time out"),
            CallError::Noproc => write!(f, "{}", ExitReason::Noproc),
            CallError::CallingSelf => f.write_str("process attempted to call itself"),
            CallError::Exited(r) => write!(f, "{r}"),
        }
    }
}

/// Why a process could not be started.
#[derive(Clone, PartialEq, Debug)]
pub enum StartError {
    /// The name was taken: `{:error, {:already_started, pid}}`.
    AlreadyStarted(Pid),
    /// `init` returned `{:stop, reason}` or crashed.
    Init(ExitReason),
    /// `init` returned `:ignore`; not an error for a supervisor.
    Ignore,
    /// The node's process limit was reached: `{:error, :system_limit}`.
    SystemLimit,
}

impl StartError {
    pub fn to_term(&self) -> Term {
        match self {
            StartError::AlreadyStarted(p) => {
                Term::error_tuple(Term::tuple(vec![atom("already_started"), Term::Pid(*p)]))
            }
            StartError::Init(r) => Term::error_tuple(r.to_term()),
            StartError::Ignore => atom("ignore"),
            StartError::SystemLimit => Term::error_tuple(atom("system_limit")),
        }
    }

    pub fn reason(&self) -> ExitReason {
        match self {
            StartError::AlreadyStarted(p) => {
                ExitReason::Other(Term::tuple(vec![atom("already_started"), Term::Pid(*p)]))
            }
            StartError::Init(r) => r.clone(),
            StartError::Ignore => ExitReason::Normal,
            StartError::SystemLimit => ExitReason::atom("system_limit"),
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_term())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Pid;

    /// Each reason as Elixir 1.14's `Exception.format_exit/1` words it (checked in iex).
    #[test]
    fn reasons_read_as_exception_format_exit() {
        let pid = Term::Pid(Pid(117));
        let tuple = Term::tuple;
        let cases = [
            (ExitReason::Normal, "normal".to_string()),
            (ExitReason::Shutdown, "shutdown".into()),
            (ExitReason::Killed, "killed".into()),
            (ExitReason::atom("boom"), ":boom".into()),
            (ExitReason::atom("timeout"), "time out".into()),
            (
                ExitReason::atom("calling_self"),
                "process attempted to call itself".into(),
            ),
            (
                ExitReason::from_term(tuple(vec![atom("shutdown"), Term::Int(1)])),
                "shutdown: 1".into(),
            ),
            (
                ExitReason::from_term(tuple(vec![atom("boom"), Term::Int(1)])),
                "{:boom, 1}".into(),
            ),
            (
                ExitReason::from_term(tuple(vec![
                    atom("shutdown"),
                    tuple(vec![
                        atom("failed_to_start_child"),
                        atom("Elixir.Todo.ProcessRegistry"),
                        tuple(vec![atom("already_started"), pid.clone()]),
                    ]),
                ])),
                "shutdown: failed to start child: Todo.ProcessRegistry\n    ** (EXIT) already started: #PID<0.117.0>".into(),
            ),
            (
                ExitReason::from_term(tuple(vec![
                    atom("shutdown"),
                    tuple(vec![
                        atom("failed_to_start_child"),
                        atom("x"),
                        tuple(vec![atom("EXIT"), atom("boom")]),
                    ]),
                ])),
                "shutdown: failed to start child: :x\n    ** (EXIT) :boom".into(),
            ),
            (
                ExitReason::from_term(tuple(vec![atom("bad_return_value"), Term::Int(1)])),
                "bad return value: 1".into(),
            ),
        ];
        for (reason, words) in cases {
            assert_eq!(reason.to_string(), words, "{reason:?}");
        }
    }
}
