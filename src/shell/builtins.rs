//! The built-in modules the seeds call, each backed by the real runtime: `Todo.*`, the
//! counters, `GenServer`, `Process`, `Kernel`, `:ets`, `:erlang`, `:timer`, `:rand`, `:sys`,
//! `Enum`, `Profiler` and iex's helpers. [`MODULES`] lists every function with its arities and
//! a line of documentation; `h`, completion and the did-you-mean of
//! `UndefinedFunctionError` all read it, so they cannot drift from what `call` accepts.

use std::sync::Arc;
use std::time::Duration;

use crate::counter::{self, Kind};
use crate::runtime::gen_server::StartOpts;
use crate::runtime::table::{Access, Kind as TableKind, TableOpts};
use crate::runtime::{
    Atom, CallError, Dest, ExitReason, Pid, Process, SpawnOpts, StartError, Term, atom,
};
use crate::todo::{self, Config, cache, database, process_registry, server, server_supervisor};

use super::eval::{
    Eval, arg_error, date_of, enumerate, int_of, loose_eq, ok, pid_of, raise, range_term, str_of,
    to_string,
};

type R = Result<Term, ExitReason>;

/// One built-in function: its name, the arities it takes, what it does.
pub type Function = (&'static str, &'static [usize], &'static str);

/// Every built-in function: module, function, arities, what it does.
pub const MODULES: &[(&str, &[Function])] = &[
    (
        "Kernel",
        &[
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
            ("clear", &[0], "clears the screen"),
            (
                "respawn",
                &[0],
                "starts a new shell process, keeping the bindings",
            ),
        ],
    ),
    (
        "Process",
        &[
            (
                "exit",
                &[2],
                "sends an exit signal to a process (:kill cannot be trapped)",
            ),
            ("alive?", &[1], "whether a process is alive"),
            ("whereis", &[1], "the pid registered under an atom, or nil"),
            ("register", &[2], "registers a pid under an atom"),
            ("unregister", &[1], "removes a registered name"),
            ("registered", &[0], "every registered name"),
            (
                "info",
                &[1, 2],
                "information about a process: message_queue_len, memory, status, links…",
            ),
            (
                "monitor",
                &[1],
                "monitors a process; a {:DOWN, ref, :process, pid, reason} follows its death",
            ),
            ("demonitor", &[1, 2], "removes a monitor"),
            ("link", &[1], "links the shell to a process"),
            ("unlink", &[1], "removes a link"),
            (
                "flag",
                &[2],
                "Process.flag(:trap_exit, true) makes exit signals messages",
            ),
            (
                "sleep",
                &[1],
                "sleeps the calling process for some milliseconds",
            ),
            ("list", &[0], "every live pid"),
            ("send", &[2, 3], "sends a message"),
        ],
    ),
    (
        "GenServer",
        &[
            (
                "call",
                &[2, 3],
                "a synchronous request; exits the caller on timeout (default 5000 ms)",
            ),
            ("cast", &[2], "an asynchronous request; always :ok"),
            ("reply", &[2], "answers a call from any process"),
            (
                "start",
                &[2, 3],
                "starts a built-in GenServer module unlinked",
            ),
            (
                "start_link",
                &[2, 3],
                "starts a built-in GenServer module linked to the shell",
            ),
            ("stop", &[1, 2], "stops a GenServer with a reason"),
            ("whereis", &[1], "the pid of a name"),
        ],
    ),
    (
        "Supervisor",
        &[
            ("which_children", &[1], "the children of a supervisor"),
            ("count_children", &[1], "counts of a supervisor's children"),
            ("terminate_child", &[2], "stops one child"),
            ("stop", &[1, 2], "stops a supervisor"),
        ],
    ),
    (
        "DynamicSupervisor",
        &[
            (
                "which_children",
                &[1],
                "the children of a dynamic supervisor",
            ),
            (
                "count_children",
                &[1],
                "counts of a dynamic supervisor's children",
            ),
            ("terminate_child", &[2], "stops one child by pid"),
        ],
    ),
    (
        "Todo.Supervisor",
        &[(
            "start_link",
            &[0, 1],
            "starts the to-do tree linked to the shell; start_link(flat: true) is seed 001's flat tree",
        )],
    ),
    ("Todo.SystemSupervisor", &[]),
    (
        "Todo.Cache",
        &[
            (
                "server_process",
                &[1, 2],
                "the to-do server of a list (server_process(cache, name) for chapter 7)",
            ),
            (
                "start",
                &[0],
                "the unsupervised chapter-7 cache: {:ok, pid}",
            ),
        ],
    ),
    (
        "Todo.Server",
        &[
            (
                "add_entry",
                &[2],
                "adds %{date: ~D[...], title: \"...\"} (a cast)",
            ),
            ("entries", &[2], "the entries of a date (a call)"),
            (
                "update_entry",
                &[3],
                "updates an entry's date or title by id (a cast)",
            ),
            ("delete_entry", &[2], "deletes an entry by id (a cast)"),
            ("whereis", &[1], "the pid of a list's server, or nil"),
            ("start", &[0, 1], "an unsupervised to-do server (chapter 7)"),
            (
                "sync",
                &[1],
                "returns once every change cast before it is on disk",
            ),
        ],
    ),
    (
        "Todo.Database",
        &[
            (
                "store",
                &[2],
                "stores a value under a key (a cast to the key's worker)",
            ),
            ("get", &[1], "the value stored under a key, or nil"),
            (
                "choose_worker",
                &[1],
                "the worker (1..3) a key always goes to",
            ),
            (
                "quarantine",
                &[1],
                "moves an unreadable file aside to persist/quarantine/",
            ),
        ],
    ),
    (
        "Todo.ProcessRegistry",
        &[
            (
                "whereis_name",
                &[1],
                "the pid registered under a key, or :undefined",
            ),
            (
                "register_name",
                &[2],
                "registers a pid under a key: :yes or :no",
            ),
        ],
    ),
    (
        "Todo.ServerSupervisor",
        &[(
            "start_child",
            &[1],
            "starts a to-do server under the dynamic supervisor",
        )],
    ),
    (
        "Counter",
        &[
            ("new", &[0], "a counter process, linked to the shell"),
            ("inc_of", &[2], "adds a value (a call)"),
            ("value", &[1], "the sum so far"),
            ("count", &[1], "how many increments"),
        ],
    ),
    (
        "SlowCounter",
        &[
            (
                "new",
                &[0],
                "a counter whose increments take 10 s inside the server",
            ),
            ("inc_of", &[2], "adds a value; blocks the server 10 s"),
            ("value", &[1], "the sum so far (waits behind increments)"),
            (
                "count",
                &[1],
                "how many increments (waits behind increments)",
            ),
        ],
    ),
    (
        "SlowButReponsiveCounter",
        &[
            (
                "new",
                &[0],
                "a counter that increments in a spawned worker and answers with GenServer.reply",
            ),
            (
                "inc_of",
                &[2],
                "adds a value; the caller waits 10 s, the server does not",
            ),
            ("value", &[1], "the sum so far, at once"),
            ("count", &[1], "how many increments, at once"),
        ],
    ),
    (
        "ContIncrementer",
        &[(
            "go",
            &[2],
            "increments a counter by 1..99 every 1..999 ms, forever (run it in spawn)",
        )],
    ),
    (
        "Crasher",
        &[
            (
                "start_link",
                &[0],
                "a GenServer linked to the shell: {:ok, pid}",
            ),
            (
                "boom",
                &[1],
                "makes it raise; the link then replaces the shell process",
            ),
        ],
    ),
    (
        "Profiler",
        &[(
            "run",
            &[2, 3],
            "runs a function N times in each of C client processes and prints reqs/sec",
        )],
    ),
    (
        "Enum",
        &[
            ("map", &[2], "applies a function to each element"),
            ("each", &[2], "calls a function on each element; :ok"),
            (
                "filter",
                &[2],
                "the elements for which a function is truthy",
            ),
            ("reduce", &[3], "folds the elements with an accumulator"),
            ("count", &[1], "the number of elements"),
            ("sum", &[1], "the sum of numbers"),
            ("to_list", &[1], "a list of the elements"),
            ("take", &[2], "the first n elements"),
            ("at", &[2], "the element at an index"),
            ("member?", &[2], "whether a value is an element"),
            ("sort", &[1], "the elements in term order"),
            ("max", &[1], "the largest element"),
            ("min", &[1], "the smallest element"),
            ("reverse", &[1], "the elements in reverse order"),
            ("join", &[1, 2], "the elements joined into a string"),
            ("with_index", &[1], "each element with its index"),
            ("empty?", &[1], "whether there are no elements"),
        ],
    ),
    (
        "IO",
        &[
            ("puts", &[1], "prints a line"),
            ("inspect", &[1], "prints a value as iex would; returns it"),
        ],
    ),
    (
        ":ets",
        &[
            (
                "new",
                &[2],
                "a table owned by the calling process: kinds :set, :ordered_set, :bag, :duplicate_bag; :public/:protected/:private; :named_table; {:heir, pid, data}",
            ),
            ("insert", &[2], "inserts a tuple or a list of tuples"),
            ("insert_new", &[2], "inserts unless the key exists"),
            (
                "lookup",
                &[2],
                "the rows with a key (never passes through the owner)",
            ),
            ("delete", &[1, 2], "deletes a table, or the rows of a key"),
            ("tab2list", &[1], "every row"),
            ("info", &[1], "the table's settings and size"),
            ("give_away", &[3], "makes another process the owner"),
            ("setopts", &[2], "sets {:heir, pid, data} or {:heir, :none}"),
            (
                "update_counter",
                &[3, 4],
                "adds to the integer of a {key, n} row",
            ),
        ],
    ),
    (
        ":erlang",
        &[
            ("term_to_binary", &[1], "the external form of a term"),
            ("binary_to_term", &[1], "a term back from term_to_binary"),
            ("phash2", &[1, 2], "a stable hash"),
            ("memory", &[0], "memory used by processes (an estimate)"),
        ],
    ),
    (
        ":timer",
        &[
            ("sleep", &[1], "sleeps the calling process"),
            ("tc", &[1], "{microseconds, result} of calling a function"),
        ],
    ),
    (":rand", &[("uniform", &[0, 1], "a random number (1..n)")]),
    (
        ":crypto",
        &[("rand_uniform", &[2], "a random integer in low..high-1")],
    ),
    (":sys", &[("get_state", &[1], "the state of a GenServer")]),
];

/// Looks a module up, accepting the seed's spelling of the responsive counter.
pub fn module_functions(module: &str) -> Option<&'static [Function]> {
    let module = if module == "SlowButResponsiveCounter" {
        "SlowButReponsiveCounter"
    } else {
        module
    };
    MODULES.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// Calls `module.fun(args)`; `module` is `Kernel` for local calls.
pub async fn call(ev: &mut Eval<'_>, module: &str, fun: &str, args: Vec<Term>) -> R {
    let arity = args.len();
    match module_functions(module) {
        Some(funs) if funs.iter().any(|(f, a, _)| *f == fun && a.contains(&arity)) => {}
        Some(funs) => return Err(undefined_function(module, fun, arity, funs)),
        None => return Err(undefined_module(module, fun, arity)),
    }
    match module {
        "Kernel" => kernel(ev, fun, args).await,
        "Process" => process(ev, fun, args).await,
        "GenServer" => gen_server(ev, fun, args).await,
        "Supervisor" | "DynamicSupervisor" => supervisor(ev, fun, args).await,
        "Todo.Supervisor" => todo_supervisor(ev, args).await,
        "Todo.Cache" => todo_cache(ev, fun, args).await,
        "Todo.Server" => todo_server(ev, fun, args).await,
        "Todo.Database" => todo_database(ev, fun, args).await,
        "Todo.ProcessRegistry" => todo_registry(ev, fun, args).await,
        "Todo.ServerSupervisor" => {
            let name = str_of(&args[0])?;
            Ok(start_result(
                server_supervisor::start_child(ev.p, ev.ctx.config(), name.as_str()).await,
            ))
        }
        "Counter" | "SlowCounter" | "SlowButReponsiveCounter" | "SlowButResponsiveCounter" => {
            counters(ev, module, fun, args).await
        }
        "ContIncrementer" => {
            let kind = kind_of(&args[0])?;
            let target = pid_of(&args[1])?;
            Err(counter::cont_incrementer::go(ev.p, kind, target).await)
        }
        "Crasher" => match fun {
            "start_link" => Ok(start_result(counter::crasher::start_link(ev.p).await)),
            _ => call_result(
                ev,
                counter::crasher::boom(ev.p, pid_of(&args[0])?).await,
                &args[0],
                &atom("boom"),
                5000,
            ),
        },
        "Profiler" => profiler(ev, args).await,
        "Enum" => enumerable(ev, fun, args).await,
        "IO" => {
            let text = if fun == "puts" {
                // The user's text, printed with its control characters escaped (newlines
                // and tabs kept), so no escape sequence reaches the terminal.
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
        ":ets" => ets(ev, fun, args),
        ":erlang" => erlang(ev, fun, args),
        ":timer" => match fun {
            "sleep" => {
                ev.p.sleep(Duration::from_millis(int_of(&args[0])?.max(0) as u64))
                    .await;
                ok()
            }
            _ => {
                // Measured on the experiments' clock: with `speed 10` a 10 s sleep reads 10 s.
                let start = tokio::time::Instant::now();
                let result = ev.apply(&args[0], vec![]).await?;
                let micros = start.elapsed().as_secs_f64() * 1e6 * ev.ctx.node.speed();
                Ok(Term::Tuple(vec![Term::Int(micros as i64), result]))
            }
        },
        ":rand" => {
            let mut r = counter::Rand::seeded(ev.ctx.node.make_ref().0 ^ nanos());
            Ok(match args.first() {
                Some(n) => Term::Int(r.range(1, int_of(n)? + 1)),
                None => Term::Float(r.range(0, 1 << 52) as f64 / (1u64 << 52) as f64),
            })
        }
        ":crypto" => {
            let mut r = counter::Rand::seeded(ev.ctx.node.make_ref().0 ^ nanos());
            Ok(Term::Int(r.range(int_of(&args[0])?, int_of(&args[1])?)))
        }
        ":sys" => {
            let dest = dest_of(&args[0])?;
            ev.ctx
                .node
                .get_state(&dest, Duration::from_secs(5))
                .await
                .map_err(|e| e.exit_reason(&args[0], &atom("get_state"), Some(5000)))
        }
        _ => Err(undefined_module(module, fun, arity)),
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

// ----- errors ------------------------------------------------------------------------------

fn undefined_module(module: &str, fun: &str, arity: usize) -> ExitReason {
    let names: Vec<&str> = MODULES
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| *m != "Kernel")
        .collect();
    if module == "Kernel" {
        return raise(
            "CompileError",
            format!("iex:1: undefined function {fun}/{arity} (there is no such import)"),
        );
    }
    let mut message =
        format!("function {module}.{fun}/{arity} is undefined (module {module} is not available)");
    if let Some(best) = closest(module, &names) {
        message.push_str(&format!(". Did you mean {best}?"));
    }
    raise("UndefinedFunctionError", message)
}

fn undefined_function(module: &str, fun: &str, arity: usize, funs: &[Function]) -> ExitReason {
    if module == "Kernel" {
        let names: Vec<&str> = funs.iter().map(|(f, _, _)| *f).collect();
        let hint = closest(fun, &names)
            .map(|b| format!(". Did you mean {b}?"))
            .unwrap_or_default();
        return raise(
            "CompileError",
            format!("iex:1: undefined function {fun}/{arity} (there is no such import){hint}"),
        );
    }
    let mut message = format!("function {module}.{fun}/{arity} is undefined or private");
    let same: Vec<String> = funs
        .iter()
        .filter(|(f, _, _)| *f == fun)
        .flat_map(|(f, a, _)| a.iter().map(move |n| format!("{f}/{n}")))
        .collect();
    let names: Vec<&str> = funs.iter().map(|(f, _, _)| *f).collect();
    if !same.is_empty() {
        message.push_str(&format!(". Did you mean one of: {}", same.join(", ")));
    } else if let Some(best) = closest(fun, &names) {
        message.push_str(&format!(". Did you mean {best}?"));
    }
    raise("UndefinedFunctionError", message)
}

/// The closest name by edit distance, if close enough to be a typo.
pub fn closest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(word, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `{:ok, pid}` or the start error as a term.
fn start_result(r: Result<Pid, StartError>) -> Term {
    match r {
        Ok(pid) => Term::ok_tuple(pid),
        Err(e) => e.to_term(),
    }
}

/// A call's reply, or the exit a failed `GenServer.call` raises in the caller.
fn call_result(
    _ev: &Eval<'_>,
    r: Result<Term, CallError>,
    server: &Term,
    request: &Term,
    timeout: u64,
) -> R {
    r.map_err(|e| e.exit_reason(server, request, Some(timeout)))
}

/// A pid, or a registered name resolved now.
fn dest_of(t: &Term) -> Result<Dest, ExitReason> {
    match t {
        Term::Pid(p) => Ok(Dest::Pid(*p)),
        Term::Atom(a) => Ok(Dest::Name(*a)),
        other => Err(arg_error(format!(
            "expected a pid or a registered name, got: {other}"
        ))),
    }
}

fn kind_of(t: &Term) -> Result<Kind, ExitReason> {
    let name = t
        .as_atom()
        .map(|a| a.as_str().trim_start_matches("Elixir.").to_string())
        .unwrap_or_default();
    Kind::from_module(&name).ok_or_else(|| arg_error(format!("not a counter module: {t}")))
}

fn timeout_of(t: &Term) -> Result<Option<Duration>, ExitReason> {
    match t {
        Term::Int(ms) if *ms >= 0 => Ok(Some(Duration::from_millis(*ms as u64))),
        t if t.is_atom("infinity") => Ok(None),
        other => Err(arg_error(format!("invalid timeout: {other}"))),
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

// ----- Kernel ------------------------------------------------------------------------------

async fn kernel(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
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
            _ => Err(arg_error(format!(
                "elem({}, {}) is out of range",
                a(0),
                a(1)
            ))),
        },
        "hd" | "tl" => match a(0) {
            Term::List(mut v) if !v.is_empty() => Ok(if fun == "hd" {
                v.remove(0)
            } else {
                Term::List(v.split_off(1))
            }),
            other => Err(arg_error(format!(
                "{fun}({other}) of an empty list or non-list"
            ))),
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
                return Err(raise(
                    "ArithmeticError",
                    "bad argument in arithmetic expression",
                ));
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
        "node" => Ok(atom("nonode@nohost")),
        "flush" => {
            while let Some(env) = ev.p.try_receive() {
                ev.p.puts(env.to_term().to_string());
            }
            ok()
        }
        "pid" => match args.as_slice() {
            [Term::Str(s)] => parse_pid_text(s),
            [Term::Int(0), Term::Int(n), Term::Int(0)] if *n >= 0 => Ok(Term::Pid(Pid(*n as u64))),
            _ => Err(arg_error("pid/3 takes 0, N, 0 and pid/1 takes \"0.N.0\"")),
        },
        "v" => {
            let results = ev.ctx.results.lock().unwrap();
            let n = args.first().and_then(Term::as_int).unwrap_or(-1);
            let idx = if n < 0 {
                results.len() as i64 + n
            } else {
                n - 1
            };
            results
                .get(idx.max(0) as usize)
                .cloned()
                .filter(|_| idx >= 0)
                .ok_or_else(|| raise("RuntimeError", format!("v({n}) is out of bounds")))
        }
        "i" => Ok(Term::str(describe(&a(0)))),
        "h" => {
            let topic = args.first().map(to_string);
            ev.p.puts(help_text(topic.as_deref()));
            Ok(super::commands::silent())
        }
        "clear" => {
            // Only a terminal is cleared; elsewhere the sequence would be raw bytes.
            if ev.ctx.color {
                ev.p.puts("\u{1b}[H\u{1b}[2J");
            }
            Ok(atom("ok"))
        }
        "respawn" => Err(ExitReason::atom("respawn")),
        _ => Err(undefined_module("Kernel", fun, args.len())),
    }
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

/// `i(term)`: what kind of value it is.
fn describe(t: &Term) -> String {
    let kind = match t {
        Term::Int(_) => "Integer",
        Term::Float(_) => "Float",
        Term::Atom(_) => "Atom",
        Term::Ref(_) => "Reference",
        Term::Fun(_) => "Function",
        Term::Opaque(_) => "Opaque",
        Term::Pid(_) => "PID",
        Term::Tuple(_) => "Tuple",
        Term::Map(_) => "Map",
        Term::Struct(..) => "Struct",
        Term::Date(_) => "Date",
        Term::List(_) => "List",
        Term::Str(_) => "BitString",
        Term::Binary(_) => "BitString",
    };
    format!("Term\n  {t}\nData type\n  {kind}")
}

/// `h`, `h Module`, `h Module.fun`: the documentation of the built-ins.
pub fn help_text(topic: Option<&str>) -> String {
    let Some(topic) = topic.map(|t| t.trim_start_matches("Elixir.")) else {
        let mut out = String::from("Built-in modules (h Module for its functions):\n");
        for (m, funs) in MODULES {
            if !funs.is_empty() {
                out.push_str(&format!("  {m}\n"));
            }
        }
        return out.trim_end().to_string();
    };
    if let Some(funs) = module_functions(topic) {
        let mut out = format!("{topic}\n");
        for (f, arities, doc) in funs {
            let ar: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
            out.push_str(&format!("  {f}/{}  {doc}\n", ar.join(",")));
        }
        return out.trim_end().to_string();
    }
    if let Some((module, fun)) = topic.rsplit_once('.')
        && let Some(funs) = module_functions(module)
        && let Some((f, arities, doc)) = funs.iter().find(|(f, _, _)| *f == fun)
    {
        let ar: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
        return format!("{module}.{f}/{}\n  {doc}", ar.join(","));
    }
    format!("No documentation for {topic} was found")
}

// ----- Process -----------------------------------------------------------------------------

async fn process(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let node = ev.ctx.node.clone();
    match fun {
        "exit" => {
            let pid = pid_of(&args[0])?;
            ev.ctx
                .exit_later(pid, ExitReason::from_term(args[1].clone()));
            Ok(Term::bool(true))
        }
        "alive?" => Ok(Term::bool(node.alive(pid_of(&args[0])?))),
        "whereis" => {
            let name = args[0]
                .as_atom()
                .ok_or_else(|| arg_error("Process.whereis expects an atom"))?;
            Ok(node.whereis(name).map(Term::Pid).unwrap_or_else(Term::nil))
        }
        "register" => {
            let (pid, name) = (
                pid_of(&args[0])?,
                args[1]
                    .as_atom()
                    .ok_or_else(|| arg_error("the name must be an atom"))?,
            );
            if node.register(name, pid) {
                Ok(Term::bool(true))
            } else {
                Err(arg_error(format!(
                    "could not register {pid} with name {}",
                    args[1]
                )))
            }
        }
        "unregister" => {
            let name = args[0]
                .as_atom()
                .ok_or_else(|| arg_error("the name must be an atom"))?;
            if node.unregister(name) {
                Ok(Term::bool(true))
            } else {
                Err(arg_error(format!("{} is not registered", args[0])))
            }
        }
        "registered" => Ok(Term::List(
            node.registered()
                .into_iter()
                .map(|(a, _)| Term::Atom(a))
                .collect(),
        )),
        "info" => info(ev, &args),
        "monitor" => Ok(Term::Ref(ev.p.monitor(pid_of(&args[0])?))),
        "demonitor" => {
            let Term::Ref(r) = args[0] else {
                return Err(arg_error("Process.demonitor expects a reference"));
            };
            let flush = args.get(1).is_some_and(
                |o| matches!(o, Term::List(v) if v.iter().any(|x| x.is_atom("flush"))),
            );
            ev.p.demonitor(r, flush);
            Ok(Term::bool(true))
        }
        "link" => {
            ev.p.link(pid_of(&args[0])?);
            Ok(Term::bool(true))
        }
        "unlink" => {
            ev.p.unlink(pid_of(&args[0])?);
            Ok(Term::bool(true))
        }
        "flag" => {
            if !args[0].is_atom("trap_exit") {
                return Err(arg_error(format!(
                    "only Process.flag(:trap_exit, bool) is supported, got {}",
                    args[0]
                )));
            }
            Ok(Term::bool(ev.p.trap_exit(args[1].is_atom("true"))))
        }
        "sleep" => {
            match &args[0] {
                t if t.is_atom("infinity") => {
                    std::future::pending::<()>().await;
                }
                t => {
                    ev.p.sleep(Duration::from_millis(int_of(t)?.max(0) as u64))
                        .await
                }
            }
            ok()
        }
        "list" => Ok(Term::List(node.pids().into_iter().map(Term::Pid).collect())),
        "send" => {
            ev.p.send(dest_of(&args[0])?, args[1].clone());
            ok()
        }
        _ => Err(undefined_module("Process", fun, args.len())),
    }
}

/// The keys `Process.info/1` shows and `Process.info/2` accepts.
pub const INFO_KEYS: &[&str] = &[
    "registered_name",
    "current_function",
    "status",
    "message_queue_len",
    "links",
    "monitors",
    "monitored_by",
    "trap_exit",
    "memory",
    "messages",
    "parent",
    "restarts",
    "label",
];

/// `Process.info(pid)`, `Process.info(pid, key)`, `Process.info(pid, [keys])`.
pub fn info(ev: &Eval<'_>, args: &[Term]) -> R {
    let pid = pid_of(&args[0])?;
    let node = &ev.ctx.node;
    let Some(info) = node.info(pid) else {
        return Ok(Term::nil());
    };
    let value = |key: &str| -> Option<Term> {
        Some(match key {
            "registered_name" => info
                .registered_name
                .map(Term::Atom)
                .unwrap_or_else(|| Term::List(vec![])),
            "current_function" => match info.status {
                crate::runtime::process::Status::Sleeping => {
                    Term::Tuple(vec![atom("timer"), atom("sleep"), Term::Int(1)])
                }
                _ => Term::Tuple(vec![
                    Term::Atom(
                        Atom::new(&format!("Elixir.{}", info.label))
                            .unwrap_or(Atom::from_static("erlang")),
                    ),
                    atom("loop"),
                    Term::Int(1),
                ]),
            },
            "status" => atom(match info.status {
                crate::runtime::process::Status::Running => "running",
                _ => "waiting",
            }),
            "message_queue_len" => Term::from(info.message_queue_len),
            "links" => Term::List(info.links.iter().map(|p| Term::Pid(*p)).collect()),
            "monitors" => Term::List(
                info.monitors
                    .iter()
                    .map(|p| Term::Tuple(vec![atom("process"), Term::Pid(*p)]))
                    .collect(),
            ),
            "monitored_by" => Term::List(info.monitored_by.iter().map(|p| Term::Pid(*p)).collect()),
            "trap_exit" => Term::bool(info.trap_exit),
            "memory" => Term::from(info.memory),
            "messages" => Term::List(node.messages(pid, 100).unwrap_or_default()),
            "parent" => info
                .parent
                .map(Term::Pid)
                .unwrap_or_else(|| atom("undefined")),
            "restarts" => Term::Int(info.restarts as i64),
            "label" => Term::str(info.label.as_ref()),
            _ => return None,
        })
    };
    let key_of = |t: &Term| -> Result<&'static str, ExitReason> {
        let a = t
            .as_atom()
            .ok_or_else(|| arg_error(format!("not an info key: {t}")))?;
        INFO_KEYS
            .iter()
            .copied()
            .find(|k| *k == a.as_str())
            .ok_or_else(|| arg_error(format!("unknown Process.info key: {t}")))
    };
    match args.get(1) {
        None => Ok(Term::keyword(
            [
                "registered_name",
                "current_function",
                "status",
                "message_queue_len",
                "links",
                "monitors",
                "trap_exit",
                "memory",
                "parent",
                "restarts",
            ]
            .into_iter()
            .map(|k| (k, value(k).unwrap()))
            .collect(),
        )),
        Some(Term::List(keys)) => {
            let pairs: Result<Vec<_>, _> = keys
                .iter()
                .map(|k| key_of(k).map(|k| (k, value(k).unwrap())))
                .collect();
            Ok(Term::keyword(pairs?))
        }
        Some(k) => {
            let k = key_of(k)?;
            Ok(Term::Tuple(vec![atom(k), value(k).unwrap()]))
        }
    }
}

// ----- GenServer, Supervisor ---------------------------------------------------------------

async fn gen_server(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    match fun {
        "call" => {
            let timeout = match args.get(2) {
                Some(t) => timeout_of(t)?,
                None => Some(Duration::from_millis(5000)),
            };
            let dest = dest_of(&args[0])?;
            let r = ev.p.call(dest, args[1].clone(), timeout).await;
            r.map_err(|e| e.exit_reason(&args[0], &args[1], timeout.map(|t| t.as_millis() as u64)))
        }
        "cast" => {
            ev.p.cast(dest_of(&args[0])?, args[1].clone());
            ok()
        }
        "reply" => {
            let from = from_of(&args[0])?;
            ev.p.reply(&from, args[1].clone());
            ok()
        }
        "start" | "start_link" => {
            let link = fun == "start_link";
            let module = args[0]
                .as_atom()
                .map(|a| a.as_str().trim_start_matches("Elixir.").to_string())
                .unwrap_or_default();
            let name = args
                .get(2)
                .and_then(|opts| keyword(opts, "name"))
                .and_then(|n| n.as_atom());
            let opts = StartOpts {
                name: name.map(crate::runtime::gen_server::Name::Local),
                timeout: None,
            };
            start_builtin(ev, &module, link, opts).await
        }
        "stop" => {
            let pid = resolve(ev, &args[0])?;
            let reason = args
                .get(1)
                .cloned()
                .map(ExitReason::from_term)
                .unwrap_or(ExitReason::Normal);
            let r = ev.p.monitor(pid);
            ev.ctx.node.exit(
                ev.p.pid(),
                pid,
                if reason.is_normal() {
                    ExitReason::Shutdown
                } else {
                    reason
                },
            );
            wait_down(ev, r).await;
            ok()
        }
        "whereis" => Ok(resolve(ev, &args[0])
            .map(Term::Pid)
            .unwrap_or_else(|_| Term::nil())),
        _ => Err(undefined_module("GenServer", fun, args.len())),
    }
}

/// The `from` of a call, as handed to a shell function.
fn from_of(t: &Term) -> Result<crate::runtime::From, ExitReason> {
    match t {
        Term::Opaque(o) => o
            .downcast::<crate::runtime::From>()
            .cloned()
            .ok_or_else(|| arg_error("not a from")),
        other => Err(arg_error(format!(
            "GenServer.reply expects the from of a call, got: {other}"
        ))),
    }
}

async fn start_builtin(ev: &mut Eval<'_>, module: &str, link: bool, opts: StartOpts) -> R {
    use crate::runtime::gen_server as gs;
    let p = &*ev.p;
    let r = match (module, link) {
        ("Counter", true) => gs::start_link::<counter::counter::Counter>(p, (), opts).await,
        ("Counter", false) => gs::start::<counter::counter::Counter>(p.node(), (), opts).await,
        ("SlowCounter", true) => {
            gs::start_link::<counter::slow_counter::SlowCounter>(p, (), opts).await
        }
        ("SlowCounter", false) => {
            gs::start::<counter::slow_counter::SlowCounter>(p.node(), (), opts).await
        }
        ("SlowButReponsiveCounter" | "SlowButResponsiveCounter", true) => {
            gs::start_link::<counter::slow_but_responsive::SlowButResponsive>(p, (), opts).await
        }
        ("SlowButReponsiveCounter" | "SlowButResponsiveCounter", false) => {
            gs::start::<counter::slow_but_responsive::SlowButResponsive>(p.node(), (), opts).await
        }
        ("Crasher", true) => gs::start_link::<counter::crasher::Crasher>(p, (), opts).await,
        ("Crasher", false) => gs::start::<counter::crasher::Crasher>(p.node(), (), opts).await,
        _ => {
            return Err(raise(
                "UndefinedFunctionError",
                format!(
                    "function {module}.init/1 is undefined (module {module} is not a built-in GenServer: Counter, SlowCounter, SlowButReponsiveCounter, Crasher)"
                ),
            ));
        }
    };
    Ok(start_result(r))
}

fn keyword(list: &Term, key: &str) -> Option<Term> {
    let Term::List(items) = list else { return None };
    items.iter().find_map(|i| match i.as_tuple() {
        Some([k, v]) if k.is_atom(key) => Some(v.clone()),
        _ => None,
    })
}

fn resolve(ev: &Eval<'_>, t: &Term) -> Result<Pid, ExitReason> {
    match t {
        Term::Pid(p) => Ok(*p),
        Term::Atom(a) => ev.ctx.node.whereis(*a).ok_or_else(|| ExitReason::Noproc),
        other => Err(arg_error(format!("expected a pid or name, got: {other}"))),
    }
}

async fn wait_down(ev: &mut Eval<'_>, r: crate::runtime::Ref) {
    let _ = ev
        .p
        .receive_match(move |e| matches!(e, crate::runtime::Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[0].is_atom("DOWN") && t[1] == Term::Ref(r)), None)
        .await;
}

async fn supervisor(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    use crate::runtime::supervisor as sup;
    let dest = dest_of(&args[0])?;
    let node = ev.ctx.node.clone();
    let me = ev.p.pid();
    let fail = |e: CallError| {
        e.exit_reason(
            &args[0],
            &atom(if fun == "count_children" {
                "count_children"
            } else {
                "which_children"
            }),
            Some(5000),
        )
    };
    match fun {
        "which_children" => {
            let children = sup::which_children(&node, me, &dest).await.map_err(fail)?;
            Ok(Term::List(
                children
                    .into_iter()
                    .map(|c| {
                        Term::Tuple(vec![
                            c.id,
                            c.pid.map(Term::Pid).unwrap_or_else(|| atom("undefined")),
                            atom(if c.kind == sup::ChildKind::Worker {
                                "worker"
                            } else {
                                "supervisor"
                            }),
                            Term::List(vec![]),
                        ])
                    })
                    .collect(),
            ))
        }
        "count_children" => sup::count_children(&node, me, &dest).await.map_err(fail),
        "terminate_child" => {
            let done = sup::terminate_child(&node, me, &dest, args[1].clone())
                .await
                .map_err(fail)?;
            Ok(if done {
                atom("ok")
            } else {
                Term::error_tuple(atom("not_found"))
            })
        }
        _ => {
            let pid = resolve(ev, &args[0])?;
            let r = ev.p.monitor(pid);
            let reason = args
                .get(1)
                .cloned()
                .map(ExitReason::from_term)
                .unwrap_or(ExitReason::Normal);
            node.stop(pid, reason);
            wait_down(ev, r).await;
            ok()
        }
    }
}

// ----- the to-do system ----------------------------------------------------------------------

async fn todo_supervisor(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let mut config = (*ev.ctx.config()).clone();
    if let Some(opts) = args.first() {
        config.flat = keyword(opts, "flat").is_some_and(|v| v.truthy());
        if keyword(opts, "cache")
            .is_some_and(|v| v.is_atom("Elixir.Todo.EtsCache") || v.is_atom("ets"))
        {
            config.cache = todo::CacheKind::Ets;
        }
    }
    // The booted tree holds the names; the tree the user starts replaces it, as if the
    // application had not been started.
    super::commands::stop_system(ev).await;
    let config = Arc::new(config);
    *ev.ctx.config.lock().unwrap() = config.clone();
    Ok(start_result(
        todo::supervisor::start_link(ev.p, config).await,
    ))
}

async fn todo_cache(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let config = ev.ctx.config();
    match (fun, args.as_slice()) {
        ("start", []) => Ok(start_result(cache::start(ev.p, config).await)),
        ("server_process", [name]) => {
            let name = str_of(name)?;
            cache::server_process(ev.p, &config, &name)
                .await
                .map(Term::Pid)
        }
        ("server_process", [c, name]) => {
            let (c, name) = (pid_of(c)?, str_of(name)?);
            let request = Term::Tuple(vec![atom("server_process"), Term::str(&name)]);
            cache::server_process_in(ev.p, c, &name)
                .await
                .map(Term::Pid)
                .map_err(|e| e.exit_reason(&Term::Pid(c), &request, Some(5000)))
        }
        _ => Err(undefined_module("Todo.Cache", fun, args.len())),
    }
}

async fn todo_server(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let config = ev.ctx.config();
    match fun {
        "add_entry" => {
            server::add_entry(ev.p, pid_of(&args[0])?, args[1].clone());
            ok()
        }
        "update_entry" => {
            server::update_entry(ev.p, pid_of(&args[0])?, int_of(&args[1])?, args[2].clone());
            ok()
        }
        "delete_entry" => {
            server::delete_entry(ev.p, pid_of(&args[0])?, int_of(&args[1])?);
            ok()
        }
        "entries" => {
            let (pid, date) = (pid_of(&args[0])?, date_of(&args[1])?);
            let request = Term::Tuple(vec![atom("entries"), Term::Date(date)]);
            call_result(
                ev,
                server::entries(ev.p, pid, date).await,
                &args[0],
                &request,
                5000,
            )
        }
        "sync" => call_result(
            ev,
            server::sync(ev.p, pid_of(&args[0])?).await,
            &args[0],
            &atom("sync"),
            60_000,
        ),
        "whereis" => Ok(server::whereis(ev.p, &str_of(&args[0])?)
            .await
            .map(Term::Pid)
            .unwrap_or_else(Term::nil)),
        "start" => {
            let name = match args.first() {
                Some(n) => str_of(n)?,
                None => format!("unnamed list {}", ev.ctx.node.make_ref().0),
            };
            Ok(start_result(server::start(ev.p, config, name).await))
        }
        _ => Err(undefined_module("Todo.Server", fun, args.len())),
    }
}

async fn todo_database(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let config = ev.ctx.config();
    let key = str_of(&args[0])?;
    match fun {
        "store" => {
            database::store(ev.p, &config, &key, args[1].clone()).await;
            ok()
        }
        "get" => database::get(ev.p, &config, &key).await,
        "choose_worker" => Ok(Term::from(database::choose_worker(&config, &key))),
        "quarantine" => database::quarantine(ev.p, &config, &key).await,
        _ => Err(undefined_module("Todo.Database", fun, args.len())),
    }
}

async fn todo_registry(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    match fun {
        "whereis_name" => Ok(process_registry::whereis_name(ev.p, args[0].clone())
            .await
            .map(Term::Pid)
            .unwrap_or_else(|| atom("undefined"))),
        _ => {
            let pid = pid_of(&args[1])?;
            Ok(atom(
                if process_registry::register_name(ev.p, args[0].clone(), pid).await {
                    "yes"
                } else {
                    "no"
                },
            ))
        }
    }
}

/// Resolves the pid of a list name through the current system (for commands).
pub async fn list_pid(ev: &mut Eval<'_>, name: &str) -> Result<Pid, ExitReason> {
    let config: Arc<Config> = ev.ctx.config();
    cache::server_process(ev.p, &config, name).await
}

// ----- counters ------------------------------------------------------------------------------

async fn counters(ev: &mut Eval<'_>, module: &str, fun: &str, args: Vec<Term>) -> R {
    let kind = Kind::from_module(module).ok_or_else(|| arg_error(module.to_string()))?;
    if fun == "new" {
        let r = match kind {
            Kind::Counter => counter::counter::new(ev.p).await,
            Kind::SlowCounter => counter::slow_counter::new(ev.p).await,
            Kind::SlowButResponsive => counter::slow_but_responsive::new(ev.p).await,
        };
        return r.map(Term::Pid).map_err(|e| {
            raise(
                "MatchError",
                format!("no match of right hand side value: {}", e.to_term()),
            )
        });
    }
    let pid = pid_of(&args[0])?;
    let request = match fun {
        "inc_of" => counter::inc_of(int_of(&args[1])?),
        other => atom(if other == "value" { "value" } else { "count" }),
    };
    let r = counter::counter::call(ev.p, kind, pid, request.clone()).await;
    call_result(ev, r, &args[0], &request, kind.timeout().as_millis() as u64)
}

// ----- Profiler --------------------------------------------------------------------------------

async fn profiler(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let Term::Fun(f) = args[0].clone() else {
        return Err(raise(
            "BadFunctionError",
            format!("expected a function, got: {}", args[0]),
        ));
    };
    let ops = int_of(&args[1])?.max(0) as u64;
    let conc = args.get(2).map(int_of).transpose()?.unwrap_or(1).max(1) as u64;
    let op = Arc::new(FunOperation(f));
    let outcome = crate::profiler::run(ev.p, op, ops, conc).await?;
    ev.p.puts(format!("{} reqs/sec\n", outcome.rate.round() as u64));
    ok()
}

/// A zero-arity fun as the profiler's operation.
struct FunOperation(crate::runtime::term::Fun);

impl crate::profiler::Operation for FunOperation {
    fn run<'a>(
        &'a self,
        p: &'a mut Process,
    ) -> crate::runtime::term::BoxFuture<'a, Result<(), ExitReason>> {
        Box::pin(async move { self.0.call(p, vec![]).await.map(|_| ()) })
    }
}

// ----- Enum ------------------------------------------------------------------------------------

async fn enumerable(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let items = enumerate(&args[0])?;
    match fun {
        "map" => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(ev.apply(&args[1], vec![i]).await?);
            }
            Ok(Term::List(out))
        }
        "each" => {
            for i in items {
                ev.apply(&args[1], vec![i]).await?;
            }
            ok()
        }
        "filter" => {
            let mut out = vec![];
            for i in items {
                if ev.apply(&args[1], vec![i.clone()]).await?.truthy() {
                    out.push(i);
                }
            }
            Ok(Term::List(out))
        }
        "reduce" => {
            let mut acc = args[1].clone();
            for i in items {
                acc = ev.apply(&args[2], vec![i, acc]).await?;
            }
            Ok(acc)
        }
        "count" => Ok(Term::from(items.len())),
        "sum" => items
            .into_iter()
            .try_fold(Term::Int(0), |acc, x| match (acc, x) {
                (Term::Int(a), Term::Int(b)) => a
                    .checked_add(b)
                    .map(Term::Int)
                    .ok_or_else(|| raise("ArithmeticError", "integer overflow")),
                (a, b) => match (num(&a), num(&b)) {
                    (Some(a), Some(b)) => Ok(Term::Float(a + b)),
                    _ => Err(raise(
                        "ArithmeticError",
                        format!("bad argument in arithmetic expression: {a} + {b}"),
                    )),
                },
            }),
        "to_list" => Ok(Term::List(items)),
        "take" => Ok(Term::List(
            items
                .into_iter()
                .take(int_of(&args[1])?.max(0) as usize)
                .collect(),
        )),
        "at" => Ok(items
            .get(int_of(&args[1])?.max(0) as usize)
            .cloned()
            .unwrap_or_else(Term::nil)),
        "member?" => Ok(Term::bool(items.iter().any(|x| loose_eq(x, &args[1])))),
        "sort" => {
            let mut v = items;
            v.sort();
            Ok(Term::List(v))
        }
        "max" => items
            .into_iter()
            .max()
            .ok_or_else(|| raise("Enum.EmptyError", "empty error")),
        "min" => items
            .into_iter()
            .min()
            .ok_or_else(|| raise("Enum.EmptyError", "empty error")),
        "reverse" => Ok(Term::List(items.into_iter().rev().collect())),
        "join" => {
            let sep = args.get(1).map(to_string).unwrap_or_default();
            Ok(Term::str(
                items.iter().map(to_string).collect::<Vec<_>>().join(&sep),
            ))
        }
        "with_index" => Ok(Term::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, x)| Term::Tuple(vec![x, Term::from(i)]))
                .collect(),
        )),
        "empty?" => Ok(Term::bool(items.is_empty())),
        _ => Err(undefined_module("Enum", fun, args.len())),
    }
}

fn num(t: &Term) -> Option<f64> {
    match t {
        Term::Int(i) => Some(*i as f64),
        Term::Float(f) => Some(*f),
        _ => None,
    }
}

// ----- :ets, :erlang -------------------------------------------------------------------------

fn ets(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let node = ev.ctx.node.clone();
    let me = ev.p.pid();
    if fun == "new" {
        let name = args[0]
            .as_atom()
            .ok_or_else(|| arg_error("the table name must be an atom"))?;
        let mut opts = TableOpts::default();
        for o in enumerate(&args[1])? {
            match &o {
                t if t.is_atom("set") => opts.kind = TableKind::Set,
                t if t.is_atom("ordered_set") => opts.kind = TableKind::OrderedSet,
                t if t.is_atom("bag") => opts.kind = TableKind::Bag,
                t if t.is_atom("duplicate_bag") => opts.kind = TableKind::DuplicateBag,
                t if t.is_atom("public") => opts.access = Access::Public,
                t if t.is_atom("protected") => opts.access = Access::Protected,
                t if t.is_atom("private") => opts.access = Access::Private,
                t if t.is_atom("named_table") => opts.named = true,
                Term::Tuple(t) if t.len() == 3 && t[0].is_atom("heir") => {
                    opts.heir = Some((pid_of(&t[1])?, t[2].clone()))
                }
                Term::Tuple(t) if t.len() == 2 && t[0].is_atom("keypos") => {
                    opts.keypos = int_of(&t[1])?.max(1) as usize
                }
                _ => {}
            }
        }
        return Ok(node.tables().create(&node, me, name, opts)?.id_term());
    }
    let table = node.tables().get(&args[0]).ok_or_else(|| arg_error("errors were found at the given arguments:\n\n  * 1st argument: the table identifier does not refer to an existing ETS table"))?;
    match fun {
        "insert" => table.insert(me, args[1].clone()).map(|()| Term::bool(true)),
        "insert_new" => table.insert_new(me, args[1].clone()).map(Term::bool),
        "lookup" => table.lookup(me, &args[1]).map(Term::List),
        "delete" if args.len() == 1 => node
            .tables()
            .delete(&node, me, &table)
            .map(|()| Term::bool(true)),
        "delete" => table.delete_key(me, &args[1]).map(|()| Term::bool(true)),
        "tab2list" => table.to_list(me).map(Term::List),
        "info" => Ok(table.info()),
        "give_away" => node
            .tables()
            .give_away(&node, me, &table, pid_of(&args[1])?, args[2].clone())
            .map(|()| Term::bool(true)),
        "setopts" => {
            let heir = match args[1].as_tuple() {
                Some([h, who, data]) if h.is_atom("heir") => Some((pid_of(who)?, data.clone())),
                Some([h, none]) if h.is_atom("heir") && none.is_atom("none") => None,
                _ => {
                    return Err(arg_error(
                        "only {:heir, pid, data} and {:heir, :none} are supported",
                    ));
                }
            };
            node.tables()
                .set_heir(me, &table, heir)
                .map(|()| Term::bool(true))
        }
        "update_counter" => table
            .update_counter(me, &args[1], int_of(&args[2])?, args.get(3).cloned())
            .map(Term::Int),
        _ => Err(undefined_module(":ets", fun, args.len())),
    }
}

fn erlang(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let config = bincode::config::standard().with_limit::<{ 8 * 1024 * 1024 }>();
    match fun {
        "term_to_binary" => {
            let wire = args[0].to_wire()?;
            let bytes = bincode::serde::encode_to_vec(&wire, config)
                .map_err(|e| arg_error(e.to_string()))?;
            Ok(Term::Binary(Arc::from(bytes)))
        }
        "binary_to_term" => {
            let Term::Binary(b) = &args[0] else {
                return Err(arg_error("binary_to_term expects a binary"));
            };
            let (wire, used): (crate::runtime::term::Wire, usize) =
                bincode::serde::decode_from_slice(b, config).map_err(|e| {
                    arg_error(format!("invalid external representation of a term: {e}"))
                })?;
            if used != b.len() {
                return Err(arg_error(
                    "invalid external representation of a term: trailing bytes",
                ));
            }
            Term::from_wire(wire)
        }
        "phash2" => {
            let text = args[0].to_string();
            let mut hash: u32 = 0x811c_9dc5;
            for byte in text.as_bytes() {
                hash ^= u32::from(*byte);
                hash = hash.wrapping_mul(0x0100_0193);
            }
            let range = args
                .get(1)
                .map(int_of)
                .transpose()?
                .unwrap_or(1 << 27)
                .max(1) as u32;
            Ok(Term::Int((hash % range) as i64))
        }
        _ => {
            let total: usize = ev
                .ctx
                .node
                .pids()
                .iter()
                .filter_map(|p| ev.ctx.node.info(*p))
                .map(|i| i.memory)
                .sum();
            Ok(Term::keyword(vec![
                ("total", Term::from(total)),
                ("processes", Term::from(total)),
            ]))
        }
    }
}

/// Used by commands: a range term (kept here so `Enum` and `for` agree).
pub fn range(first: i64, last: i64) -> Term {
    range_term(first, last)
}
