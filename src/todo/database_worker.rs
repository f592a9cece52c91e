//! `Todo.DatabaseWorker`: one of the database's workers, registered through the registry as
//! `{:database_worker, n}`. It owns the writes of the keys that hash to it, so one list has
//! one writer (the exercise of 7.3.5). Writes run on tokio's blocking pool: each one fsyncs,
//! which takes milliseconds, and a slow write must block this worker only, as a BEAM process
//! blocks only itself. Reads run in the worker itself: a list file comes from the page cache
//! in microseconds, and handing it to the blocking pool cost two thread wakes (futex
//! syscalls) that made up a third of the time of starting a server (`bench loadtest-system`:
//! 28 us a new list through the pool, 18 us read in place). The price is that a read from a
//! disk that hangs holds one of the runtime's worker threads while it hangs.
//!
//! Every store is written, in the order it arrived, as the book's worker does. With `start
//! --coalesce` (an opt-in that is not the BEAM's behaviour) stores of one key still waiting
//! in the mailbox behind the one being handled are folded into the last of them: only the
//! newest version of a list needs writing, and per-sender order (S22) means no read of that
//! key can be queued between them. The mailbox then drains in a few writes instead of one
//! write a store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts};
use crate::runtime::supervisor::ChildSpec;
use crate::runtime::{Envelope, ExitReason, From, Pid, Process, StartError, Term, atom};

use super::persist::Store;
use super::{Config, DatabaseKind, process_registry};

pub struct DatabaseWorker {
    id: usize,
    store: Arc<Store>,
    delay: Duration,
    spawn_per_request: bool,
    coalesce: bool,
    faults: WriteFaults,
}

/// The failing writes of one database, shared by its workers, their restarts and the
/// writers that bypass it: a full disk fails every store, and a learner needs to read that
/// once, not once per entry. The first failure after a success is reported; the next
/// success reports how many failed meanwhile and clears it.
#[derive(Clone, Debug, Default)]
pub struct WriteFaults(Arc<AtomicU64>);

/// `{:database_worker, n}`.
pub fn key(id: usize) -> Term {
    Term::tuple(vec![atom("database_worker"), Term::from(id)])
}

/// The worker's child spec under `Todo.Database`.
pub fn child_spec(config: Arc<Config>, store: Arc<Store>, id: usize) -> ChildSpec {
    let call = format!(
        "Todo.DatabaseWorker.start_link({{{}, {id}}})",
        config.dir_term()
    );
    ChildSpec::worker(key(id), call, move |p: &mut Process| {
        let (config, store) = (config.clone(), store.clone());
        Box::pin(async move { start_link(p, &config, store, id).await })
    })
}

/// `Todo.DatabaseWorker.start_link({folder, n})`.
pub async fn start_link(
    p: &mut Process,
    config: &Config,
    store: Arc<Store>,
    id: usize,
) -> Result<Pid, StartError> {
    p.puts(format!("Starting database worker {id}"));
    let arg = (store, id, Arc::new(config.clone()));
    gen_server::start_link::<DatabaseWorker>(
        p,
        arg,
        StartOpts::via(process_registry::Registry::shared(), key(id)),
    )
    .await
}

impl GenServer for DatabaseWorker {
    type Arg = (Arc<Store>, usize, Arc<Config>);

    fn module() -> &'static str {
        "Todo.DatabaseWorker"
    }

    async fn init(
        (store, id, config): Self::Arg,
        _p: &mut Process,
    ) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(DatabaseWorker {
            id,
            store,
            delay: config.db_delay,
            spawn_per_request: config.database == DatabaseKind::SpawnPerRequest,
            coalesce: config.coalesce_stores,
            faults: config.write_faults.clone(),
        }))
    }

    async fn handle_cast(&mut self, request: Term, p: &mut Process) -> Result<NoReply, ExitReason> {
        let Some([tag, Term::Str(key), data]) = request.as_tuple() else {
            return Err(ExitReason::function_clause(
                "Todo.DatabaseWorker.handle_cast/2",
            ));
        };
        if !tag.is_atom("store") {
            return Err(ExitReason::function_clause(
                "Todo.DatabaseWorker.handle_cast/2",
            ));
        }
        let (key, mut data) = (key.clone(), data.clone());
        while let Some(Envelope::Cast(newer)) = self
            .coalesce
            .then(|| p.take_match(|e| is_store_of(e, &key)))
            .flatten()
        {
            data = newer.as_tuple().unwrap()[2].clone();
        }
        let (store, id, delay) = (self.store.clone(), self.id, self.delay);
        let faults = self.faults.clone();
        if self.spawn_per_request {
            let _ = p.spawn(move |w: &mut Process| {
                Box::pin(async move {
                    w.sleep(delay).await;
                    let _ = report(w, &faults, write(store, id, key.to_string(), data).await);
                    ExitReason::Normal
                })
            });
        } else {
            p.sleep(delay).await;
            let _ = report(p, &faults, write(store, id, key.to_string(), data).await);
        }
        Ok(NoReply::NoReply)
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        if request.is_atom("sync") {
            return Ok(Reply::Reply(Term::ok()));
        }
        match request.as_tuple() {
            Some([tag, Term::Str(key)]) if tag.is_atom("get") => {
                let (store, key, delay) = (self.store.clone(), key.to_string(), self.delay);
                if self.spawn_per_request {
                    let from = from.clone();
                    let _ = p.spawn(move |w: &mut Process| {
                        Box::pin(async move {
                            w.sleep(delay).await;
                            w.reply(&from, read(&store, &key));
                            ExitReason::Normal
                        })
                    });
                    return Ok(Reply::NoReply);
                }
                p.sleep(delay).await;
                Ok(Reply::Reply(read(&store, &key)))
            }
            Some([tag, Term::Str(key), data]) if tag.is_atom("store") => {
                let (store, id, delay) = (self.store.clone(), self.id, self.delay);
                p.sleep(delay).await;
                let written = write(store, id, key.to_string(), data.clone()).await;
                Ok(Reply::Reply(match report(p, &self.faults, written) {
                    Ok(()) => Term::ok(),
                    Err(e) => Term::error_tuple(Term::str(e)),
                }))
            }
            Some([tag, Term::Str(key)]) if tag.is_atom("quarantine") => {
                let (store, key) = (self.store.clone(), key.to_string());
                let moved = tokio::task::spawn_blocking(move || store.quarantine(&key)).await;
                Ok(Reply::Reply(match moved {
                    Ok(Ok(path)) => Term::ok_tuple(Term::str(path.display().to_string())),
                    Ok(Err(e)) => Term::error_tuple(Term::str(e.to_string())),
                    Err(_) => Term::error_tuple(atom("panic")),
                }))
            }
            _ => Err(ExitReason::function_clause(
                "Todo.DatabaseWorker.handle_call/3",
            )),
        }
    }

    fn state(&self) -> Term {
        Term::tuple(vec![
            Term::str(format!("{}/", self.store.dir().display())),
            Term::from(self.id),
        ])
    }
}

/// The write of one value on the blocking pool. Any term is stored, as `term_to_binary`
/// takes any term (seed 003's flood stores integers); `get` gives it back.
pub(crate) async fn write(
    store: Arc<Store>,
    id: usize,
    key: String,
    data: Term,
) -> Result<(), String> {
    let written = tokio::task::spawn_blocking(move || store.store_term(&key, &data, id)).await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the write panicked: {e}")),
    }
}

/// Reports a write's outcome through `faults` (see [`WriteFaults`]) and hands it back.
pub(crate) fn report(
    p: &Process,
    faults: &WriteFaults,
    result: Result<(), String>,
) -> Result<(), String> {
    match &result {
        Err(e) => {
            if faults.0.fetch_add(1, Ordering::SeqCst) == 0 {
                p.puts(format!(
                    "[error] Todo.DatabaseWorker could not store: {e} (the lists stay in \
                     memory; further failures are not reported until a store succeeds)"
                ));
            }
        }
        Ok(()) => {
            let failed = faults.0.swap(0, Ordering::SeqCst);
            if failed > 0 {
                let s = if failed == 1 { "" } else { "s" };
                p.puts(format!(
                    "[info] Todo.DatabaseWorker stores again, after {failed} failed write{s}"
                ));
            }
        }
    }
    result
}

/// A read, in place (see the module's note): the list, `nil`, or
/// `{:error, {:corrupt, path, reason}}`.
pub(crate) fn read(store: &Store, key: &str) -> Term {
    match store.load_term(key) {
        Ok(Some(value)) => value,
        Ok(None) => Term::nil(),
        Err(e) => Term::error_tuple(Term::tuple(vec![
            atom("corrupt"),
            Term::str(e.path.display().to_string()),
            Term::str(e.to_string()),
        ])),
    }
}

fn is_store_of(env: &Envelope, key: &str) -> bool {
    matches!(env, Envelope::Cast(Term::Tuple(t)) if t.len() == 3 && t[0].is_atom("store") && t[1].as_str() == Some(key))
}
