//! `Kernel` and iex's helpers (`self`, `spawn`, `send`, `flush`, `v`, `i`, `pid`, …), and `IO`:
//! what the seeds call without a module, and how a shell process prints.

use crate::runtime::table::badarg;
use crate::runtime::{ExitReason, Pid, Process, SpawnOpts, Term, atom};

use super::function::{Function, undefined_function};
use crate::shell::context::{Eval, R, arg_error, dest_of, int_of, ok, raise, to_string};

/// `Kernel`'s functions: name, arities, what each does.
pub const KERNEL: &[Function] = &[
    ("self", &[0], "the pid of the shell process"),
    (
        "spawn",
        &[1],
        "spawns a process running a zero-arity function",
    ),
    ("spawn_link", &[1], "spawns a process linked to this one"),
    (
        "send",
        &[2],
        "sends a message to a pid or registered name; returns the message",
    ),
    ("exit", &[1], "exits the calling process with a reason"),
    ("raise", &[1], "raises a RuntimeError with a message"),
    ("make_ref", &[0], "a unique reference"),
    ("elem", &[2], "the element of a tuple at a 0-based index"),
    ("hd", &[1], "the head of a list"),
    ("tl", &[1], "the tail of a list"),
    ("length", &[1], "the length of a list"),
    ("tuple_size", &[1], "the size of a tuple"),
    ("map_size", &[1], "the size of a map"),
    ("is_pid", &[1], "whether the value is a pid"),
    ("is_atom", &[1], "whether the value is an atom"),
    ("is_integer", &[1], "whether the value is an integer"),
    ("is_list", &[1], "whether the value is a list"),
    ("is_map", &[1], "whether the value is a map"),
    ("is_binary", &[1], "whether the value is a string"),
    ("inspect", &[1], "the value as iex prints it, as a string"),
    ("to_string", &[1], "the value as a string"),
    ("div", &[2], "integer division"),
    ("rem", &[2], "integer remainder"),
    ("abs", &[1], "absolute value"),
    ("max", &[2], "the larger of two values"),
    ("min", &[2], "the smaller of two values"),
    ("node", &[0], "the name of this node"),
    (
        "flush",
        &[0],
        "prints and removes every message in the shell's mailbox",
    ),
    ("pid", &[1, 3], "a pid from \"0.N.0\" or from 0, N, 0"),
    (
        "v",
        &[0, 1],
        "the result of an earlier line (v(-1) is the last)",
    ),
    ("i", &[1], "information about a value"),
    ("h", &[0, 1], "documentation of a module or function"),
    (
        "recompile",
        &[0],
        "what iex says outside a Mix project: there is nothing to compile",
    ),
    ("clear", &[0], "clears the screen"),
    (
        "respawn",
        &[0],
        "starts a new shell process, keeping the bindings",
    ),
];

/// `IO`'s functions: name, arities, what each does.
pub const IO: &[Function] = &[
    ("puts", &[1], "prints a line"),
    ("inspect", &[1], "prints a value as iex would; returns it"),
];

/// `Kernel.fun(args)`, and the local calls of iex (`self()`, `flush()`, `v(1)`).
pub async fn call(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let a = |i: usize| args.get(i).cloned().unwrap_or_else(Term::nil);
    match fun {
        "self" => Ok(Term::Pid(ev.p.pid())),
        "spawn" => spawn_fun(ev, a(0), false),
        "spawn_link" => spawn_fun(ev, a(0), true),
        "send" => {
            ev.p.send(dest_of(&a(0))?, a(1));
            Ok(a(1))
        }
        "exit" => Err(ExitReason::from_term(a(0))),
        "raise" => Err(raise("RuntimeError", to_string(&a(0)))),
        "make_ref" => Ok(Term::Ref(ev.ctx.node.make_ref())),
        "elem" => match (&a(0), a(1).as_int()) {
            (Term::Tuple(t), Some(i)) if i >= 0 && (i as usize) < t.len() => {
                Ok(t[i as usize].clone())
            }
            // Kernel's `elem` is `:erlang.element/2`, whose index starts at 1.
            (Term::Tuple(_), Some(i)) => Err(badarg("1st argument: out of range")
                .with_frame(format!(":erlang.element({}, {})", i + 1, a(0)))),
            (_, index) => Err(badarg("2nd argument: not a tuple").with_frame(format!(
                ":erlang.element({}, {})",
                index.map(|i| Term::Int(i + 1)).unwrap_or_else(|| a(1)),
                a(0)
            ))),
        },
        "hd" | "tl" => match a(0) {
            Term::List(v) if !v.is_empty() => Ok(if fun == "hd" {
                v.into_iter().next().unwrap()
            } else {
                Term::List(v[1..].into())
            }),
            other => Err(badarg("1st argument: not a nonempty list")
                .with_frame(format!(":erlang.{fun}({other})"))),
        },
        "length" => match a(0) {
            Term::List(v) => Ok(Term::from(v.len())),
            other => Err(arg_error(format!("length({other}) of a non-list"))),
        },
        "tuple_size" => a(0)
            .as_tuple()
            .map(|t| Term::from(t.len()))
            .ok_or_else(|| arg_error("not a tuple")),
        "map_size" => match a(0) {
            Term::Map(m) => Ok(Term::from(m.len())),
            other => Err(arg_error(format!("map_size({other}) of a non-map"))),
        },
        "is_pid" => Ok(Term::bool(matches!(a(0), Term::Pid(_)))),
        "is_atom" => Ok(Term::bool(matches!(a(0), Term::Atom(_)))),
        "is_integer" => Ok(Term::bool(matches!(a(0), Term::Int(_)))),
        "is_list" => Ok(Term::bool(matches!(a(0), Term::List(_)))),
        "is_map" => Ok(Term::bool(matches!(a(0), Term::Map(_)))),
        "is_binary" => Ok(Term::bool(matches!(a(0), Term::Str(_) | Term::Binary(_)))),
        "inspect" => Ok(Term::str(a(0).to_string())),
        "to_string" => Ok(Term::str(to_string(&a(0)))),
        "div" | "rem" => {
            let (x, y) = (int_of(&a(0))?, int_of(&a(1))?);
            if y == 0 {
                return Err(ExitReason::badarith(fun, &[&a(0), &a(1)]));
            }
            Ok(Term::Int(if fun == "div" { x / y } else { x % y }))
        }
        "abs" => match a(0) {
            Term::Int(i) => Ok(Term::Int(i.abs())),
            Term::Float(f) => Ok(Term::Float(f.abs())),
            other => Err(arg_error(format!("abs({other})"))),
        },
        "max" => Ok(if a(0) >= a(1) { a(0) } else { a(1) }),
        "min" => Ok(if a(0) <= a(1) { a(0) } else { a(1) }),
        "node" => Ok(atom(crate::runtime::table::NODE_NAME)),
        "flush" => {
            flush(ev);
            ok()
        }
        "pid" => match args.as_slice() {
            [Term::Str(s)] => parse_pid_text(s),
            [Term::Int(0), Term::Int(n), Term::Int(0)] if *n >= 0 => Ok(Term::Pid(Pid(*n as u64))),
            _ => Err(arg_error("pid/3 takes 0, N, 0 and pid/1 takes \"0.N.0\"")),
        },
        "v" => {
            let n = args.first().and_then(Term::as_int).unwrap_or(-1);
            ev.ctx
                .results
                .lock()
                .unwrap()
                .get(n)
                .cloned()
                .ok_or_else(|| raise("RuntimeError", format!("v({n}) is out of bounds")))
        }
        "clear" => {
            clear(ev);
            Ok(atom("ok"))
        }
        "respawn" => Err(ExitReason::atom("respawn")),
        _ => Err(undefined_function("Kernel", fun, args.len(), KERNEL)),
    }
}

/// Runs `body` in a new process, as `spawn(fun)` does.
fn spawn_fun(ev: &mut Eval<'_>, fun: Term, link: bool) -> R {
    let Term::Fun(f) = fun else {
        return Err(raise(
            "BadFunctionError",
            format!("expected a function, got: {fun}"),
        ));
    };
    let opts = SpawnOpts {
        link: link.then(|| ev.p.pid()),
        ..Default::default()
    };
    let pid = ev
        .ctx
        .node
        .spawn(opts, move |p: &mut Process| {
            Box::pin(async move {
                match f.call(p, vec![]).await {
                    Ok(_) => ExitReason::Normal,
                    Err(reason) => reason,
                }
            })
        })
        .map_err(|e| e.reason())?;
    Ok(Term::Pid(pid))
}

fn parse_pid_text(s: &str) -> R {
    let parts: Vec<&str> = s.split('.').collect();
    match parts.as_slice() {
        ["0", n, "0"] => n
            .parse::<u64>()
            .map(|n| Term::Pid(Pid(n)))
            .map_err(|_| arg_error(format!("not a pid: {s:?}"))),
        _ => Err(arg_error(format!("not a pid: {}", Term::str(s)))),
    }
}

/// `flush()`: prints and empties the shell's mailbox.
pub fn flush(ev: &mut Eval<'_>) {
    while let Some(env) = ev.p.try_receive() {
        ev.p.puts(env.to_term().to_string());
    }
}

/// `clear()`: clears the screen. Only a terminal is cleared; elsewhere the sequence would be
/// raw bytes in a transcript.
pub fn clear(ev: &mut Eval<'_>) {
    if ev.ctx.color {
        ev.p.puts("\u{1b}[H\u{1b}[2J");
    }
}

/// `IO.puts(text)` and `IO.inspect(term)`.
pub fn io(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let text = if fun == "puts" {
        // The user's text, printed with its control characters escaped (newlines and tabs
        // kept), so no escape sequence reaches the terminal.
        to_string(&args[0])
            .split('\n')
            .map(|l| {
                l.split('\t')
                    .map(crate::runtime::term::escape_text)
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        args[0].to_string()
    };
    ev.p.puts(text);
    Ok(if fun == "puts" {
        atom("ok")
    } else {
        args[0].clone()
    })
}
