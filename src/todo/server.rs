//! `Todo.Server`: one process per list, registered through the registry as
//! `{:todo_server, name}`. It prints `Starting to-do server for NAME` when started, loads its
//! list from the database in `handle_continue` (or in `init`, the chapter's first version,
//! which blocks whoever starts it), and persists after every change with a cast to the
//! database. `add_entry` is a cast as in the book; `sync` is the call that acknowledges it.
//!
//! A list whose file does not decode is never overwritten: the server keeps running, answers
//! `{:error, {:corrupt, path, reason}}` and refuses changes until the file is quarantined and
//! the server restarted.

use std::sync::Arc;

use crate::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use crate::runtime::{
    CallError, Date, Dest, ExitReason, From, Pid, Process, StartError, Term, atom,
};

use super::list::{List, entry_fields};
use super::{CALL_TIMEOUT, Config, database, process_registry};

pub struct Server {
    /// Shared with the registry's key, the process's via name, the supervisor's child spec
    /// and the ETS cache's row: one allocation of the name per list, not five.
    name: Arc<str>,
    list: Option<List>,
    /// Why the stored list could not be loaded, while it cannot.
    corrupt: Option<Term>,
    config: Arc<Config>,
    /// A change was cast to the database and no write of it has been confirmed since.
    unsynced: bool,
}

/// `{:todo_server, name}`.
pub fn key(name: &str) -> Term {
    shared_key(&Arc::from(name))
}

/// `{:todo_server, name}` sharing the name's allocation.
fn shared_key(name: &Arc<str>) -> Term {
    Term::tuple(vec![atom("todo_server"), Term::Str(name.clone())])
}

/// `Todo.Server.start_link(name)`: prints, then starts registered under its via name.
pub async fn start_link(
    p: &mut Process,
    config: Arc<Config>,
    name: impl Into<Arc<str>>,
) -> Result<Pid, StartError> {
    let name = name.into();
    announce(p, &name);
    let opts = StartOpts::via(process_registry::Registry::shared(), shared_key(&name));
    gen_server::start_link::<Server>(p, (config, name), opts).await
}

/// `Todo.Server.start(name)` of chapter 7: unregistered, unlinked.
pub async fn start(
    p: &mut Process,
    config: Arc<Config>,
    name: impl Into<Arc<str>>,
) -> Result<Pid, StartError> {
    let name = name.into();
    announce(p, &name);
    gen_server::start::<Server>(p.node(), (config, name), StartOpts::default()).await
}

/// The chapter 7 cache's servers: linked to the cache, not registered.
pub async fn start_link_unregistered(
    p: &mut Process,
    config: Arc<Config>,
    name: impl Into<Arc<str>>,
) -> Result<Pid, StartError> {
    let name = name.into();
    announce(p, &name);
    gen_server::start_link::<Server>(p, (config, name), StartOpts::default()).await
}

/// The book's `IO.puts "Starting to-do server for #{name}"`, printed by the starter.
fn announce(p: &Process, name: &str) {
    p.puts(format!(
        "Starting to-do server for {}",
        crate::runtime::term::escape_text(name)
    ));
}

/// `Todo.Server.whereis(name)`.
pub async fn whereis(p: &Process, name: &str) -> Option<Pid> {
    process_registry::whereis_name(p, key(name)).await
}

/// `Todo.Server.add_entry(pid, %{date: ..., title: ...})`: a cast, always `:ok`.
pub fn add_entry(p: &Process, server: Pid, entry: Term) {
    p.cast(server, Term::tuple(vec![atom("add_entry"), entry]));
}

/// `Todo.Server.update_entry(pid, id, %{title: ...})`: a cast.
pub fn update_entry(p: &Process, server: Pid, id: i64, changes: Term) {
    p.cast(
        server,
        Term::tuple(vec![atom("update_entry"), Term::Int(id), changes]),
    );
}

/// `Todo.Server.delete_entry(pid, id)`: a cast.
pub fn delete_entry(p: &Process, server: Pid, id: i64) {
    p.cast(
        server,
        Term::tuple(vec![atom("delete_entry"), Term::Int(id)]),
    );
}

/// `Todo.Server.entries(pid, date)`: a call.
///
/// On failure, the exit `GenServer.call` raises, ready to print: the request is built again
/// only then, here, so callers never rebuild it and a successful call does not pay for it.
pub async fn entries(p: &Process, server: Pid, date: Date) -> Result<Term, ExitReason> {
    let request = |date| Term::tuple(vec![atom("entries"), Term::Date(date)]);
    p.call(Dest::Pid(server), request(date), Some(CALL_TIMEOUT))
        .await
        .map_err(|e| {
            e.exit_reason(
                &Term::Pid(server),
                &request(date),
                Some(CALL_TIMEOUT.as_millis() as u64),
            )
        })
}

/// Returns `:ok` once every change cast before it is on disk, `{:error, reason}` when the
/// write failed.
pub async fn sync(p: &Process, server: Pid) -> Result<Term, CallError> {
    p.call(
        Dest::Pid(server),
        atom("sync"),
        Some(std::time::Duration::from_secs(60)),
    )
    .await
}

impl GenServer for Server {
    type Arg = (Arc<Config>, Arc<str>);

    fn module() -> &'static str {
        "Todo.Server"
    }

    async fn init((config, name): Self::Arg, p: &mut Process) -> Result<Init<Self>, ExitReason> {
        let mut server = Server {
            name,
            list: None,
            corrupt: None,
            config,
            unsynced: false,
        };
        if server.config.load_in_init {
            server.load(p).await?;
            return Ok(Init::Ok(server));
        }
        Ok(Init::Continue(server, atom("init")))
    }

    async fn handle_continue(
        &mut self,
        _arg: Term,
        p: &mut Process,
    ) -> Result<NoReply, ExitReason> {
        self.load(p).await?;
        Ok(NoReply::NoReply)
    }

    async fn handle_cast(&mut self, request: Term, p: &mut Process) -> Result<NoReply, ExitReason> {
        if self.corrupt.is_some() {
            p.puts(format!(
                "[error] Todo.Server for {} refused {request}: its stored list could not be loaded",
                crate::runtime::term::inspect_str(&self.name)
            ));
            return Ok(NoReply::NoReply);
        }
        let list = self.list.get_or_insert_with(List::new);
        let changed = match request.as_tuple() {
            Some([tag, entry]) if tag.is_atom("add_entry") => match entry_fields(entry) {
                Ok((date, title)) => {
                    list.add_entry(date, title);
                    true
                }
                Err(e) => return Err(ExitReason::exception("ArgumentError", e)),
            },
            Some([tag, Term::Int(id), changes]) if tag.is_atom("update_entry") => {
                let date = changes.get("date").and_then(|d| {
                    if let Term::Date(d) = d {
                        Some(*d)
                    } else {
                        None
                    }
                });
                let title = changes
                    .get("title")
                    .and_then(|t| t.as_str())
                    .map(str::to_string);
                list.update_entry(*id as u64, date, title)
            }
            Some([tag, Term::Int(id)]) if tag.is_atom("delete_entry") => {
                list.delete_entry(*id as u64)
            }
            _ => return Err(ExitReason::function_clause("Todo.Server.handle_cast/2")),
        };
        if changed {
            let term = list.to_term();
            database::store(p, &self.config, &self.name, term).await;
            self.unsynced = true;
        }
        Ok(NoReply::NoReply)
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if let Some(reason) = &self.corrupt {
            return Ok(Reply::Reply(Term::error_tuple(reason.clone())));
        }
        if request.is_atom("sync") {
            // The store casts may have failed or been lost with a worker that died, so the
            // acknowledgement is a confirmed write of the current list (rule P1 of
            // tests/README.md).
            // A worker that is down answers `{:error, reason}` instead of crashing this server.
            if self.unsynced {
                let term = self.list.get_or_insert_with(List::new).to_term();
                let written = match database::store_confirmed(p, &self.config, &self.name, term)
                    .await
                {
                    Ok(written) => written,
                    Err(reason) => return Ok(Reply::Reply(Term::error_tuple(reason.to_term()))),
                };
                if !written.is_atom("ok") {
                    return Ok(Reply::Reply(written));
                }
                self.unsynced = false;
            }
            return Ok(Reply::Reply(Term::ok()));
        }
        match request.as_tuple() {
            Some([tag, Term::Date(date)]) if tag.is_atom("entries") => {
                let list = self.list.get_or_insert_with(List::new);
                Ok(Reply::Reply(Term::List(
                    list.entries(*date)
                        .into_iter()
                        .map(|e| e.to_term())
                        .collect(),
                )))
            }
            _ => Err(ExitReason::function_clause("Todo.Server.handle_call/3")),
        }
    }

    fn state(&self) -> Term {
        let list = match (&self.list, &self.corrupt) {
            (Some(l), _) => l.to_term(),
            (None, Some(reason)) => Term::error_tuple(reason.clone()),
            (None, None) => Term::nil(),
        };
        Term::tuple(vec![Term::Str(self.name.clone()), list])
    }
}

impl Server {
    /// `Todo.Database.get(name) || Todo.List.new()`, keeping a corrupt file's error instead.
    async fn load(&mut self, p: &mut Process) -> Result<(), ExitReason> {
        let stored = database::get(p, &self.config, &self.name).await?;
        match &stored {
            t if t.is_atom("nil") => self.list = Some(List::new()),
            Term::Tuple(t) if t.len() == 2 && t[0].is_atom("error") => {
                p.puts(format!(
                    "[error] could not load the to-do list {}: {}",
                    crate::runtime::term::inspect_str(&self.name),
                    t[1]
                ));
                self.corrupt = Some(t[1].clone());
            }
            other => match List::from_term(other) {
                Ok(list) => self.list = Some(list),
                Err(_) => {
                    // `Todo.Database.store` takes any term, so the list's file may hold one
                    // that is not a list. The book's server would take it as its state and
                    // crash on the next change; this one says so at once and refuses changes
                    // until the file is quarantined, as for a corrupt file.
                    p.puts(format!(
                        "[error] could not load the to-do list {}: its file holds {other}, not a %Todo.List{{}}",
                        crate::runtime::term::inspect_str(&self.name),
                    ));
                    self.corrupt = Some(Term::tuple(vec![atom("not_a_list"), other.clone()]));
                }
            },
        }
        Ok(())
    }
}
