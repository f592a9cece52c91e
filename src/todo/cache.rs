//! `Todo.Cache`: finds or starts the to-do server of a list.
//!
//! The chapter 9 cache (`server_process/1`) looks the server up from the caller first, and
//! only when it is absent asks the cache process, which looks again before starting it under
//! `Todo.ServerSupervisor`: two concurrent requests for a new list create one server, and
//! requests for existing lists never enter the cache process. The lookup is a registry call
//! (`CacheKind::Process`) or a read of the cache's protected ETS table (`CacheKind::Ets`,
//! seed 001's last section), which never passes through any process.
//!
//! The chapter 7 cache ([`start`], `server_process/2`) is an unsupervised process holding a
//! map `name => pid`, its servers linked to it: a crash of one takes everything down.

use std::sync::Arc;

use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::growmap::GrowMap;
use crate::runtime::supervisor::ChildSpec;
use crate::runtime::table::{Access, Table, TableOpts};
use crate::runtime::{
    Atom, CallError, Dest, ExitReason, From, Pid, Process, StartError, Term, atom,
};

use super::{CALL_TIMEOUT, CacheKind, Config, server, server_supervisor};

/// The cache's local name.
pub const NAME: Atom = Atom::from_static("todo_cache");
/// The ETS cache's table.
pub const TABLE: Atom = Atom::from_static("ets_todo_cache");

pub struct Cache {
    config: Arc<Config>,
    table: Option<Table>,
}

pub fn child_spec(config: Arc<Config>) -> ChildSpec {
    ChildSpec::worker(
        super::module("Todo.Cache"),
        "Todo.Cache.start_link([])",
        move |p: &mut Process| {
            let config = config.clone();
            Box::pin(async move {
                p.puts("Starting to-do cache");
                gen_server::start_link::<Cache>(
                    p,
                    config,
                    StartOpts {
                        name: Some(gen_server::Name::Local(NAME)),
                        timeout: None,
                    },
                )
                .await
            })
        },
    )
}

/// `Todo.Cache.server_process(name)`: the pid of the list's server, started if needed.
pub async fn server_process(p: &Process, config: &Config, name: &str) -> Result<Pid, ExitReason> {
    if let Some(pid) = lookup(p, config, name).await {
        return Ok(pid);
    }
    let request = Term::tuple(vec![atom("server_process"), Term::str(name)]);
    let reply = p
        .call(Dest::Name(NAME), request.clone(), Some(CALL_TIMEOUT))
        .await
        .map_err(|e| {
            e.exit_reason(
                &Term::Atom(NAME),
                &request,
                Some(CALL_TIMEOUT.as_millis() as u64),
            )
        })?;
    match reply {
        Term::Pid(pid) => Ok(pid),
        other => Err(ExitReason::Other(other)),
    }
}

/// The caller-side lookup: no message to the cache.
async fn lookup(p: &Process, config: &Config, name: &str) -> Option<Pid> {
    match config.cache {
        CacheKind::Process => server::whereis(p, name).await,
        CacheKind::Ets => {
            let found = p.node().tables().with(&Term::Atom(TABLE), |table| {
                table.lookup_str_value(p.pid(), name).ok().flatten()
            });
            // A server restarted by its supervisor has a new pid the table does not know yet:
            // a dead pid is never handed out (S32).
            found
                .flatten()
                .and_then(|t| t.as_pid())
                .filter(|pid| p.node().alive(*pid))
        }
    }
}

impl GenServer for Cache {
    type Arg = Arc<Config>;

    fn module() -> &'static str {
        "Todo.Cache"
    }

    async fn init(config: Arc<Config>, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        let table = match config.cache {
            CacheKind::Process => None,
            CacheKind::Ets => {
                let opts = TableOpts {
                    named: true,
                    access: Access::Protected,
                    ..Default::default()
                };
                Some(p.node().tables().create(p.node(), p.pid(), TABLE, opts)?)
            }
        };
        Ok(Init::Ok(Cache { config, table }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let name = requested_name(request)?;
        if let Some(pid) = lookup(p, &self.config, name).await {
            return Ok(Reply::Reply(Term::Pid(pid)));
        }
        // The request's copy of the name becomes the server's, shared by everything that
        // keeps it (see `server::Server`).
        let name = name.clone();
        // The table's pid died and its supervisor restarted the server: remember the new one.
        let restarted = match &self.table {
            Some(_) => server::whereis(p, &name)
                .await
                .filter(|pid| p.node().alive(*pid)),
            None => None,
        };
        let started = match restarted {
            Some(pid) => Ok(pid),
            None => server_supervisor::start_child(p, self.config.clone(), name.clone()).await,
        };
        match started {
            // The supervisor restarted the server between our lookup and this start.
            Ok(pid) | Err(StartError::AlreadyStarted(pid)) => {
                if let Some(table) = &self.table {
                    table.insert(p.pid(), Term::tuple(vec![Term::Str(name), Term::Pid(pid)]))?;
                }
                Ok(Reply::Reply(Term::Pid(pid)))
            }
            Err(e) => Ok(Reply::Reply(e.to_term())),
        }
    }

    fn state(&self) -> Term {
        match &self.table {
            Some(t) => t.id_term(),
            None => Term::nil(),
        }
    }
}

/// The list name of a `{:server_process, name}` request; any other request is a crash, as
/// a missing clause is in Elixir.
fn requested_name(request: &Term) -> Result<&Arc<str>, ExitReason> {
    match request.as_tuple() {
        Some([tag, Term::Str(name)]) if tag.is_atom("server_process") => Ok(name),
        _ => Err(ExitReason::function_clause("Todo.Cache.handle_call/3")),
    }
}

// ----- chapter 7 ---------------------------------------------------------------------------

/// The chapter 7 cache: a map `name => pid` inside one unsupervised process.
pub struct ChapterSeven {
    config: Arc<Config>,
    servers: GrowMap<String, Pid>,
}

/// `Todo.Cache.start()` of chapter 7: `{:ok, cache}`.
pub async fn start(p: &Process, config: Arc<Config>) -> Result<Pid, StartError> {
    gen_server::start::<ChapterSeven>(p.node(), config, StartOpts::default()).await
}

/// `Todo.Cache.server_process(cache, name)` of chapter 7.
pub async fn server_process_in(p: &Process, cache: Pid, name: &str) -> Result<Pid, CallError> {
    let reply = p
        .call(
            Dest::Pid(cache),
            Term::tuple(vec![atom("server_process"), Term::str(name)]),
            Some(CALL_TIMEOUT),
        )
        .await?;
    reply
        .as_pid()
        .ok_or(CallError::Exited(ExitReason::Other(reply)))
}

impl GenServer for ChapterSeven {
    type Arg = Arc<Config>;

    fn module() -> &'static str {
        "Todo.Cache"
    }

    async fn init(config: Arc<Config>, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        // Chapter 7's cache starts its database; here the database is reached through the
        // registry, so a cache started with nothing running brings both up, unlinked.
        if p.node().whereis(super::process_registry::NAME).is_none() {
            let children = vec![
                super::process_registry::child_spec(),
                super::database::child_spec(config.clone()),
            ];
            let spec = crate::runtime::supervisor::Spec::new(
                "Todo.Database",
                crate::runtime::supervisor::Flags::new(crate::runtime::Strategy::OneForOne),
                children,
            );
            crate::runtime::supervisor::start(p.node(), spec)
                .await
                .map_err(|e| e.reason())?;
        }
        Ok(Init::Ok(ChapterSeven {
            config,
            servers: GrowMap::new(),
        }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let name = requested_name(request)?;
        if let Some(pid) = self.servers.get(&**name) {
            return Ok(Reply::Reply(Term::Pid(*pid)));
        }
        let pid = server::start_link_unregistered(p, self.config.clone(), name.clone())
            .await
            .map_err(|e| e.reason())?;
        self.servers.insert(name.to_string(), pid);
        Ok(Reply::Reply(Term::Pid(pid)))
    }

    fn state(&self) -> Term {
        Term::Map(
            self.servers
                .iter()
                .map(|(k, v)| (Term::str(k), Term::Pid(*v)))
                .collect(),
        )
    }
}
