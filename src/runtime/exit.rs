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
            ExitReason::Exception { kind, message, .. } => Term::Tuple(vec![
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

/// How iex words a reason after `** (EXIT)`: `time out`, `killed`, `no process: …`, or an
/// exception block.
impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
            ExitReason::Other(Term::Tuple(t)) if t.len() == 2 && t[0].is_atom("timeout") => {
                f.write_str("time out")
            }
            other => write!(f, "{}", other.to_term()),
        }
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
        ExitReason::Other(Term::Tuple(vec![
            reason,
            Term::Tuple(vec![
                atom("Elixir.GenServer"),
                atom("call"),
                Term::List(vec![server.clone(), request.clone(), timeout]),
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
                Term::error_tuple(Term::Tuple(vec![atom("already_started"), Term::Pid(*p)]))
            }
            StartError::Init(r) => Term::error_tuple(r.to_term()),
            StartError::Ignore => atom("ignore"),
            StartError::SystemLimit => Term::error_tuple(atom("system_limit")),
        }
    }

    pub fn reason(&self) -> ExitReason {
        match self {
            StartError::AlreadyStarted(p) => {
                ExitReason::Other(Term::Tuple(vec![atom("already_started"), Term::Pid(*p)]))
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
