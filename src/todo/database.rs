//! `Todo.Database`: a supervisor of the database workers, and the functions that route a key
//! to its worker. A key always goes to worker `hash(key) mod N + 1` with a stable hash (not
//! Rust's randomised one), so one list has one writer and replays are deterministic. With
//! `DatabaseKind::Single` there is one worker for every key: the chapter's bottleneck.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::supervisor::{self, ChildSpec, Flags, Spec, Strategy};
use crate::runtime::{ExitReason, Pid, Process, StartError, Term, atom};

use super::persist::Store;
use super::{CALL_TIMEOUT, Config, DatabaseKind, database_worker};

/// The pool size of the exercise.
pub const POOL_SIZE: usize = 3;

/// The child spec under `Todo.SystemSupervisor` (or the flat tree).
pub fn child_spec(config: Arc<Config>) -> ChildSpec {
    let call = format!("Todo.Database.start_link({})", config.dir_term());
    ChildSpec::supervisor(
        super::module("Todo.Database"),
        call,
        move |p: &mut Process| {
            let config = config.clone();
            Box::pin(async move { start_link(p, config).await })
        },
    )
}

/// `Todo.Database.start_link(folder)`: opens the folder (sweeping temp files left by a crash)
/// and starts the workers.
pub async fn start_link(p: &mut Process, config: Arc<Config>) -> Result<Pid, StartError> {
    p.puts("Starting database");
    let dir = config.persist_dir.clone();
    let (fsync, failpoints) = (config.fsync, config.failpoints.clone());
    let opened = tokio::task::spawn_blocking(move || {
        Store::open(dir).map(|s| s.with_fsync(fsync).with_failpoints(failpoints))
    })
    .await;
    let store = match opened {
        Ok(Ok(store)) => Arc::new(store),
        Ok(Err(e)) => {
            return Err(StartError::Init(ExitReason::Other(Term::str(
                e.to_string(),
            ))));
        }
        Err(_) => return Err(StartError::Init(ExitReason::atom("panic"))),
    };
    for swept in store.swept() {
        p.puts(format!(
            "Removed an unfinished write: {}",
            crate::runtime::term::escape_text(swept)
        ));
    }
    let workers = (1..=pool_size(&config))
        .map(|id| database_worker::child_spec(config.clone(), store.clone(), id))
        .collect();
    supervisor::start_link(
        p,
        Spec::new("Todo.Database", Flags::new(Strategy::OneForOne), workers),
    )
    .await
}

fn pool_size(config: &Config) -> usize {
    match config.database {
        DatabaseKind::Pool => POOL_SIZE,
        DatabaseKind::Single | DatabaseKind::SpawnPerRequest | DatabaseKind::Bypass => 1,
    }
}

/// `Todo.Database.choose_worker(key)`: 1-based, stable across runs and machines (FNV-1a).
pub fn choose_worker(config: &Config, key: &str) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in key.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash as usize % pool_size(config)) + 1
}

/// `Todo.Database.store(key, data)`: a cast, acknowledged by nothing (see `sync`).
pub async fn store(p: &Process, config: &Config, key: &str, data: Term) {
    if config.database == DatabaseKind::Bypass {
        let written = database_worker::write(direct(config), 0, key.to_string(), data).await;
        let _ = database_worker::report(p, &config.write_faults, written);
        return;
    }
    let worker = database_worker::key(choose_worker(config, key));
    super::cast_via(
        p,
        worker,
        Term::tuple(vec![atom("store"), Term::str(key), data]),
    )
    .await;
}

/// `Todo.Database.get(key)`: the stored list, `nil`, or `{:error, {:corrupt, path, reason}}`.
pub async fn get(p: &Process, config: &Config, key: &str) -> Result<Term, ExitReason> {
    if config.database == DatabaseKind::Bypass {
        return Ok(database_worker::read(&direct(config), key));
    }
    let worker = database_worker::key(choose_worker(config, key));
    let request = Term::tuple(vec![atom("get"), Term::str(key)]);
    super::call_via(p, worker, request, CALL_TIMEOUT).await
}

/// `Todo.Database.store` as a call: writes `data` and answers `:ok` once it is on disk, or
/// `{:error, reason}` when the write failed. What `Todo.Server.sync` acknowledges with.
pub async fn store_confirmed(
    p: &Process,
    config: &Config,
    key: &str,
    data: Term,
) -> Result<Term, ExitReason> {
    if config.database == DatabaseKind::Bypass {
        let written = database_worker::write(direct(config), 0, key.to_string(), data).await;
        return Ok(
            match database_worker::report(p, &config.write_faults, written) {
                Ok(()) => Term::ok(),
                Err(e) => Term::error_tuple(Term::str(e)),
            },
        );
    }
    let worker = database_worker::key(choose_worker(config, key));
    let request = Term::tuple(vec![atom("store"), Term::str(key), data]);
    super::call_via(p, worker, request, Duration::from_secs(60)).await
}

/// Returns once every store of `key` sent before it has been written: the acknowledgement of
/// a cast `add_entry` (rule P1 of tests/README.md).
pub async fn sync(p: &Process, config: &Config, key: &str) -> Result<(), ExitReason> {
    if config.database == DatabaseKind::Bypass {
        // Every write was done by its caller before `store` returned.
        return Ok(());
    }
    let worker = database_worker::key(choose_worker(config, key));
    super::call_via(p, worker, atom("sync"), Duration::from_secs(60))
        .await
        .map(|_| ())
}

/// `Todo.Database.quarantine(key)`: moves a list's file to `persist/quarantine/`.
pub async fn quarantine(p: &Process, config: &Config, key: &str) -> Result<Term, ExitReason> {
    let worker = database_worker::key(choose_worker(config, key));
    super::call_via(
        p,
        worker,
        Term::tuple(vec![atom("quarantine"), Term::str(key)]),
        CALL_TIMEOUT,
    )
    .await
}

/// The folder as a bypassing writer sees it: the same settings, no database process.
fn direct(config: &Config) -> std::sync::Arc<Store> {
    let store = Store::attach(&config.persist_dir)
        .with_fsync(config.fsync)
        .with_failpoints(config.failpoints.clone());
    std::sync::Arc::new(store)
}
