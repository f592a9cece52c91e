//! The to-do system's modules as the book calls them: `Todo.Supervisor`, `Todo.Cache`,
//! `Todo.Server`, `Todo.Database`, `Todo.ProcessRegistry`, `Todo.ServerSupervisor`. Each is a
//! thin conversion of terms to the calls of `crate::todo`; what the shell holds of the tree is
//! in `shell::system`.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::{Term, atom};
use crate::todo::{self, cache, database, process_registry, server, server_supervisor};

use super::function::{Function, undefined_function};
use crate::shell::context::{
    CALL_TIMEOUT, Eval, R, call_result, date_of, int_of, keyword, ok, pid_of, start_result, str_of,
};
use crate::shell::system;

/// The timeout of `Todo.Server.sync`, as `todo::server::sync` calls with it.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// `Todo.Supervisor`'s functions: name, arities, what each does.
pub const TODO_SUPERVISOR: &[Function] = &[(
    "start_link",
    &[0, 1],
    "starts the to-do tree linked to the shell; start_link(flat: true) is seed 001's flat tree",
)];

/// `Todo.SystemSupervisor` has no function of its own; `h` lists it with none.
pub const TODO_SYSTEM_SUPERVISOR: &[Function] = &[];

/// `Todo.Cache`'s functions: name, arities, what each does.
pub const TODO_CACHE: &[Function] = &[
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
];

/// `Todo.Server`'s functions: name, arities, what each does.
pub const TODO_SERVER: &[Function] = &[
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
];

/// `Todo.Database`'s functions: name, arities, what each does.
pub const TODO_DATABASE: &[Function] = &[
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
];

/// `Todo.ProcessRegistry`'s functions: name, arities, what each does.
pub const TODO_PROCESS_REGISTRY: &[Function] = &[
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
];

/// `Todo.ServerSupervisor`'s functions: name, arities, what each does.
pub const TODO_SERVER_SUPERVISOR: &[Function] = &[(
    "start_child",
    &[1],
    "starts a to-do server under the dynamic supervisor",
)];

/// `Todo.Supervisor.start_link(opts)`.
pub async fn supervisor(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let mut config = (*ev.ctx.config()).clone();
    if let Some(opts) = args.first() {
        config.flat = keyword(opts, "flat").is_some_and(|v| v.truthy());
        if keyword(opts, "cache")
            .is_some_and(|v| v.is_atom("Elixir.Todo.EtsCache") || v.is_atom("ets"))
        {
            config.cache = todo::CacheKind::Ets;
        }
    }
    // A tree already running (the booted one) holds the names, so this start fails as on the
    // BEAM: the new supervisor cannot start its registry, exits, and takes the linked shell
    // with it (the session adds a hint). A tree that starts is the system from now on.
    let config = Arc::new(config);
    let started = todo::supervisor::start_link(ev.p, config.clone()).await;
    if let Ok(pid) = started {
        *ev.ctx.config.lock().unwrap() = config;
        *ev.ctx.system.lock().unwrap() = Some(pid);
    }
    Ok(start_result(started))
}

/// `Todo.Cache.fun(args)`.
pub async fn cache(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
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
            let request = Term::tuple(vec![atom("server_process"), Term::str(&name)]);
            cache::server_process_in(ev.p, c, &name)
                .await
                .map(Term::Pid)
                .map_err(|e| {
                    e.exit_reason(
                        &Term::Pid(c),
                        &request,
                        Some(CALL_TIMEOUT.as_millis() as u64),
                    )
                })
        }
        _ => Err(undefined_function(
            "Todo.Cache",
            fun,
            args.len(),
            TODO_CACHE,
        )),
    }
}

/// `Todo.Server.fun(args)`.
pub async fn server(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
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
            system::entries(ev, pid, date).await
        }
        "sync" => call_result(
            server::sync(ev.p, pid_of(&args[0])?).await,
            &args[0],
            &atom("sync"),
            SYNC_TIMEOUT,
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
        _ => Err(undefined_function(
            "Todo.Server",
            fun,
            args.len(),
            TODO_SERVER,
        )),
    }
}

/// `Todo.Database.fun(args)`.
pub async fn database(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
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
        _ => Err(undefined_function(
            "Todo.Database",
            fun,
            args.len(),
            TODO_DATABASE,
        )),
    }
}

/// `Todo.ProcessRegistry.fun(args)`.
pub async fn registry(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
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

/// `Todo.ServerSupervisor.start_child(name)`.
pub async fn server_supervisor(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let name = str_of(&args[0])?;
    Ok(start_result(
        server_supervisor::start_child(ev.p, ev.ctx.config(), name.as_str()).await,
    ))
}
