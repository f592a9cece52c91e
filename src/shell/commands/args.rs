//! Each command's arguments, taken apart once into a typed [`Invocation`]. The parser has
//! already checked the count and the flags against `ast`'s `commands!` table; this is the one
//! place that says which argument is which, so the code running a command never indexes a
//! list of arguments. Arguments that stay [`Arg`]s are evaluated when the command runs: a bare
//! word may be a variable, a bracketed term is Elixir.

use crate::runtime::{Atom, ExitReason, Pid, Term};
use crate::todo::server;

use crate::shell::ast::{Arg, ArgKind, Command, CommandName};
use crate::shell::context::{Env, Eval, R, arg_error, compile_error, pid_of, raise, str_of};
use crate::shell::report::Level;
use crate::shell::suggest::{Near, closest};
use crate::shell::system::{self, WELL_KNOWN};

/// The process a command names, and for `worker N` the number after it.
#[derive(Clone, Copy, Debug)]
pub struct Target<'c> {
    pub arg: &'c Arg,
    pub number: Option<&'c Arg>,
}

impl<'c> Target<'c> {
    fn one(arg: &'c Arg) -> Target<'c> {
        Target { arg, number: None }
    }
}

/// What `trace` is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceAction {
    On,
    Off,
    Show,
    Mermaid,
}

/// The flags of `start`, each the remedy or shape of the chapter it selects.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartFlags {
    pub flat: bool,
    pub ets_cache: bool,
    pub single_db: bool,
    pub spawn_db: bool,
    pub bypass_db: bool,
    pub init_load: bool,
    /// `--coalesce`: queued stores of one list folded into the last (not the book's behaviour).
    pub coalesce: bool,
    pub no_fsync: bool,
    /// `--slow-db MS`: every read and write of the database takes at least MS milliseconds.
    pub slow_db_ms: Option<u64>,
}

/// The order `ps` lists processes in: by pid, or largest first by mailbox or memory, as
/// observer_cli sorts its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsSort {
    Pid,
    Mailbox,
    Memory,
}

/// One command with its arguments in place.
#[derive(Clone, Debug)]
pub enum Invocation<'c> {
    ServerProcess {
        list: &'c Arg,
    },
    Restart {
        list: &'c Arg,
    },
    AddEntry {
        list: &'c Arg,
        date: &'c Arg,
        title: &'c Arg,
    },
    Entries {
        list: &'c Arg,
        date: &'c Arg,
    },
    UpdateEntry {
        list: &'c Arg,
        id: &'c Arg,
        title: &'c Arg,
    },
    DeleteEntry {
        list: &'c Arg,
        id: &'c Arg,
    },
    Kill {
        target: Target<'c>,
    },
    Exit {
        target: Target<'c>,
        reason: &'c Arg,
    },
    Crash {
        target: Target<'c>,
    },
    Whereis {
        target: Target<'c>,
    },
    Alive {
        target: Target<'c>,
    },
    Info {
        target: Target<'c>,
        keys: &'c [Arg],
    },
    Send {
        target: Target<'c>,
        message: &'c Arg,
    },
    Flush,
    Sleep {
        ms: &'c Arg,
    },
    Ps {
        sort: PsSort,
    },
    /// `tree [SUPERVISOR]`: a supervisor other than the top one only on a node.
    Tree {
        sup: Option<&'c Arg>,
    },
    Observe,
    State {
        target: Target<'c>,
    },
    Trace {
        action: TraceAction,
        pids: Vec<&'c Arg>,
        /// `--wide`: the diagram as wide as it takes, nothing cut to the terminal's width.
        wide: bool,
    },
    Start(StartFlags),
    Stop,
    Help {
        topic: Option<String>,
    },
    History,
    Clear,
    Quarantine {
        list: &'c Arg,
    },
    Speed {
        factor: &'c Arg,
    },
    /// `flood database N`: stores through the database, not messages to one process.
    FloodDatabase {
        n: &'c Arg,
    },
    Flood {
        target: Target<'c>,
        n: &'c Arg,
        calls: bool,
        clients: Option<&'c Arg>,
    },
    /// `profile cache N C`: the numbers among the arguments, in order.
    Profile {
        operations: Option<u64>,
        clients: Option<u64>,
    },
    Loadtest {
        n: &'c Arg,
    },
    Report {
        level: Level,
    },
    /// `record "FILE"` (a string or a variable holding one), or `record off` for `None`.
    Record {
        file: Option<&'c Arg>,
    },
    /// `chaos RATE [--for DURATION] [--only KIND]`.
    Chaos {
        rate: &'c Arg,
        duration: Option<&'c Arg>,
        only: Option<&'c Arg>,
    },
    /// `chaos off`.
    ChaosOff,
    /// `connect NAME@HOST`.
    Connect {
        node: &'c Arg,
    },
    Disconnect,
}

impl<'c> Invocation<'c> {
    /// Takes a parsed command apart. `env` decides whether a bare word that is also a
    /// variable (`flood database 100` with a variable `database`) is the variable.
    pub fn parse(cmd: &'c Command, env: &Env) -> Result<Invocation<'c>, ExitReason> {
        let positional: Vec<&'c Arg> = cmd
            .args
            .iter()
            .filter(|a| !matches!(a.kind, ArgKind::Flag { .. }))
            .collect();
        // The arguments after the first, for `info`, which takes no flags, so that its
        // positional and given arguments are the same list.
        let rest = |from: usize| -> &'c [Arg] { cmd.args.get(from..).unwrap_or(&[]) };
        let flag = |name: &str| {
            cmd.args.iter().find_map(|a| match &a.kind {
                ArgKind::Flag { name: n, value } if n == name => Some(value.as_deref()),
                _ => None,
            })
        };
        let usage = || arg_error(format!("usage: {}", cmd.name.usage()));
        use CommandName as C;
        use Invocation as I;
        Ok(match (cmd.name, positional.as_slice()) {
            (C::ServerProcess, [list]) => I::ServerProcess { list },
            (C::Restart, [list]) => I::Restart { list },
            (C::AddEntry, [list, date, title]) => I::AddEntry { list, date, title },
            (C::Entries, [list, date]) => I::Entries { list, date },
            (C::UpdateEntry, [list, id, title]) => I::UpdateEntry { list, id, title },
            (C::DeleteEntry, [list, id]) => I::DeleteEntry { list, id },
            (C::Kill, [arg, number @ ..]) => I::Kill {
                target: Target {
                    arg,
                    number: number.first().copied(),
                },
            },
            (C::Exit, [target, reason]) => I::Exit {
                target: Target::one(target),
                reason,
            },
            (C::Crash, [target]) => I::Crash {
                target: Target::one(target),
            },
            (C::Whereis, [target]) => I::Whereis {
                target: Target::one(target),
            },
            (C::Alive, [target]) => I::Alive {
                target: Target::one(target),
            },
            (C::Info, [target, ..]) => I::Info {
                target: Target::one(target),
                keys: rest(1),
            },
            (C::Send, [target, message]) => I::Send {
                target: Target::one(target),
                message,
            },
            (C::Flush, []) => I::Flush,
            (C::Sleep, [ms]) => I::Sleep { ms },
            (C::Ps, []) => I::Ps {
                sort: match flag("sort").flatten().map(|v| &v.kind) {
                    None => PsSort::Pid,
                    Some(ArgKind::Word(w)) if w == "mailbox" => PsSort::Mailbox,
                    Some(ArgKind::Word(w)) if w == "memory" => PsSort::Memory,
                    Some(_) => return Err(arg_error("ps --sort takes mailbox or memory")),
                },
            },
            (C::Tree, []) => I::Tree { sup: None },
            (C::Tree, [sup]) => I::Tree { sup: Some(*sup) },
            (C::Connect, [node]) => I::Connect { node },
            (C::Disconnect, []) => I::Disconnect,
            (C::Observe, []) => I::Observe,
            (C::State, [target]) => I::State {
                target: Target::one(target),
            },
            (C::Trace, [action, ..]) => I::Trace {
                action: match &action.kind {
                    ArgKind::Word(w) if w == "on" => TraceAction::On,
                    ArgKind::Word(w) if w == "off" => TraceAction::Off,
                    ArgKind::Word(w) if w == "show" => TraceAction::Show,
                    ArgKind::Word(_) => TraceAction::Mermaid,
                    _ => return Err(usage()),
                },
                pids: positional[1..].to_vec(),
                wide: flag("wide").is_some(),
            },
            (C::Start, []) => I::Start(StartFlags {
                flat: flag("flat").is_some(),
                ets_cache: flag("ets-cache").is_some(),
                single_db: flag("single-db").is_some(),
                spawn_db: flag("spawn-db").is_some(),
                bypass_db: flag("bypass-db").is_some(),
                init_load: flag("init-load").is_some(),
                coalesce: flag("coalesce").is_some(),
                no_fsync: flag("no-fsync").is_some(),
                slow_db_ms: match flag("slow-db") {
                    None => None,
                    Some(Some(Arg {
                        kind: ArgKind::Int(ms),
                        ..
                    })) if *ms >= 0 => Some(*ms as u64),
                    Some(_) => {
                        return Err(arg_error("--slow-db takes milliseconds, e.g. --slow-db 2"));
                    }
                },
            }),
            (C::Stop, []) => I::Stop,
            (C::Help, topic) => I::Help {
                topic: topic.first().map(|a| match &a.kind {
                    ArgKind::Word(w) | ArgKind::Str(w) => w.clone(),
                    _ => String::new(),
                }),
            },
            (C::History, []) => I::History,
            (C::Clear, []) => I::Clear,
            (C::Quarantine, [list]) => I::Quarantine { list },
            (C::Speed, [factor]) => I::Speed { factor },
            (C::Flood, [what, n]) if matches!(&what.kind, ArgKind::Word(w) if w == "database" && !env.vars.contains_key(w)) => {
                I::FloodDatabase { n }
            }
            (C::Flood, [target, n]) => I::Flood {
                target: Target::one(target),
                n,
                calls: flag("call").is_some(),
                clients: flag("clients").flatten(),
            },
            (C::Profile, args) => {
                let mut numbers = args.iter().filter_map(|a| match a.kind {
                    ArgKind::Int(i) => Some(i.max(1) as u64),
                    _ => None,
                });
                I::Profile {
                    operations: numbers.next(),
                    clients: numbers.next(),
                }
            }
            (C::Loadtest, [n]) => I::Loadtest { n },
            (C::Chaos, [off]) if matches!(&off.kind, ArgKind::Word(w) if w == "off") => {
                I::ChaosOff
            }
            (C::Chaos, [rate]) => I::Chaos {
                rate,
                duration: flag("for").flatten(),
                only: flag("only").flatten(),
            },
            (C::Report, args) => {
                let word = match args.first().map(|a| &a.kind) {
                    Some(ArgKind::Word(w)) => w.as_str(),
                    _ => "",
                };
                I::Report {
                    level: Level::parse(word)
                        .ok_or_else(|| arg_error("report takes short, iex or sasl"))?,
                }
            }
            (C::Record, [file]) => I::Record {
                file: (!matches!(&file.kind, ArgKind::Word(w) if w == "off" && !env.vars.contains_key(w)))
                    .then_some(*file),
            },
            _ => return Err(usage()),
        })
    }
}

/// The value of an argument: a variable for a bare word, the term otherwise.
pub async fn value(ev: &mut Eval<'_>, a: &Arg) -> R {
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
                return Err(compile_error(format_args!("undefined variable \"{w}\"")));
            }
        },
        ArgKind::Flag { name, .. } => return Err(arg_error(format!("unexpected flag --{name}"))),
        ArgKind::Expr(e) => ev.eval(e).await?,
    })
}

/// A list name: a string, or a variable holding one.
pub async fn list_name(ev: &mut Eval<'_>, a: &Arg) -> Result<String, ExitReason> {
    str_of(&value(ev, a).await?)
}

/// The process a command names: a pid, a variable, a list name, or one of the well-known
/// parts of the tree ([`WELL_KNOWN`]).
pub async fn target(ev: &mut Eval<'_>, t: Target<'_>) -> Result<Pid, ExitReason> {
    let node = ev.ctx.node.clone();
    match &t.arg.kind {
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
            let number = t.number.and_then(|a| match a.kind {
                ArgKind::Int(n) => Some(n),
                _ => None,
            });
            match system::well_known(ev, w, number).await {
                Some(found) => found,
                None => {
                    let hint = closest(w, WELL_KNOWN.iter().copied(), Near::Name)
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
            let v = value(ev, t.arg).await?;
            pid_of(&v)
        }
    }
}
