//! The to-do system of Elixir in Action, chapters 7 to 9, one module a file as in `lib/todo/`:
//! a reader of the book finds `Todo.Cache` in `cache.rs`. The pure parts (the list and the
//! file format of the persist folder) come first; the processes are built on the runtime and
//! know nothing of the shell. What they print (`Starting to-do server for Bob's list`) goes to
//! the node's event stream, as `IO.puts` goes to the group leader.
//!
//! [`Config`] selects the chapter's shapes so that the crash experiments can be compared
//! before and after each remedy: the flat one_for_one tree of seed 001 or the rest_for_one
//! tree, the process cache or the ETS cache, the pool of database workers, a single database
//! process or one that spawns per request, loading a list in `init` or in `handle_continue`.

pub mod cache;
pub mod chaos;
pub mod chapter7;
pub mod database;
pub mod database_worker;
pub mod list;
pub mod persist;
pub mod process_registry;
pub mod server;
pub mod server_supervisor;
pub mod supervisor;
pub mod system_supervisor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::{Atom, CallError, Dest, ExitReason, Process, Term, atom};

/// Which cache `server_process` goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheKind {
    /// Every lookup is a call to the registry process (the chapter 9 cache).
    Process,
    /// Lookups read an ETS table directly (seed 001's last section).
    Ets,
}

/// How the database handles requests (chapter 7.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Three workers, a key always on worker `hash(key) mod 3` (the exercise of 7.3.5).
    Pool,
    /// One process does every read and write in turn (the bottleneck of 7.3.3).
    Single,
    /// One process that spawns a process per request: unbounded concurrency.
    SpawnPerRequest,
    /// No database process for the data: each to-do server reads and writes its file itself
    /// ("bypassing the process"), so the caller bears the cost and concurrency is unbounded.
    Bypass,
}

/// The shape and settings of one to-do system.
#[derive(Clone, Debug)]
pub struct Config {
    pub persist_dir: PathBuf,
    /// Seed 001's first tree: the registry as one more one_for_one child.
    pub flat: bool,
    pub cache: CacheKind,
    pub database: DatabaseKind,
    /// Load a list in `init`, blocking the cache, instead of in `handle_continue`.
    pub load_in_init: bool,
    /// fsync each write (the default); off compares like with like with `File.write!`.
    pub fsync: bool,
    /// The slow database: every read and write takes at least this long.
    pub db_delay: Duration,
    /// Fold stores of one key queued behind each other into the last one (`start
    /// --coalesce`). Off by default: every store is written, in order, as the book's worker
    /// does, so a flood of stores shows the mailbox draining one write at a time.
    pub coalesce_stores: bool,
    /// The database's store shares these, so a test can make its writes fail at one step.
    pub failpoints: persist::FailPoints,
    /// The database's failing writes, so that a failing disk is reported once.
    pub write_faults: database_worker::WriteFaults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            persist_dir: PathBuf::from("persist"),
            flat: false,
            cache: CacheKind::Process,
            database: DatabaseKind::Pool,
            load_in_init: false,
            fsync: true,
            db_delay: Duration::ZERO,
            coalesce_stores: false,
            failpoints: persist::FailPoints::default(),
            write_faults: database_worker::WriteFaults::default(),
        }
    }
}

impl Config {
    pub fn with_dir(dir: impl Into<PathBuf>) -> Config {
        Config {
            persist_dir: dir.into(),
            ..Config::default()
        }
    }

    /// The database folder as the book prints it in start calls (`"./persist/"`).
    pub(crate) fn dir_term(&self) -> Term {
        Term::str(format!("{}/", self.persist_dir.display()))
    }
}

/// Shared handle on a configuration.
pub type Shared = Arc<Config>;

/// The module atom as iex prints it (`Todo.ProcessRegistry`).
pub(crate) fn module(name: &'static str) -> Term {
    Term::Atom(Atom::new(&format!("Elixir.{name}")).unwrap_or(Atom::from_static("undefined")))
}

/// `{:via, Todo.ProcessRegistry, key}`.
pub(crate) fn via(key: Term) -> Term {
    Term::tuple(vec![atom("via"), module("Todo.ProcessRegistry"), key])
}

/// `GenServer.call({:via, Todo.ProcessRegistry, key}, request, timeout)`: resolves the key in
/// the registry, then calls. Fails as the Elixir call exits, with the via tuple in the reason.
pub(crate) async fn call_via(
    p: &Process,
    key: Term,
    request: Term,
    timeout: Duration,
) -> Result<Term, ExitReason> {
    let server = via(key.clone());
    let fail = |e: CallError| e.exit_reason(&server, &request, Some(timeout.as_millis() as u64));
    let pid = process_registry::whereis_name(p, key.clone())
        .await
        .ok_or_else(|| fail(CallError::Noproc))?;
    p.call(Dest::Pid(pid), request.clone(), Some(timeout))
        .await
        .map_err(fail)
}

/// `GenServer.cast({:via, Todo.ProcessRegistry, key}, msg)`: a silent no-op for an unknown key.
pub(crate) async fn cast_via(p: &Process, key: Term, msg: Term) {
    if let Some(pid) = process_registry::whereis_name(p, key).await {
        p.cast(pid, msg);
    }
}

/// The default call timeout of the book's API: `GenServer.call`'s default (S25), defined once
/// in the runtime.
pub(crate) use crate::runtime::call::DEFAULT_CALL_TIMEOUT as CALL_TIMEOUT;
