//! The commands of the to-do system: a list's server and entries, quarantining a list's
//! file, and starting and stopping the tree with the chapter's shapes. They call what the
//! built-ins `Todo.Server.*` call, through `shell::system`.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::{Dest, Term, supervisor};
use crate::todo::{CacheKind, Config, DatabaseKind, database, server, server_supervisor};

use super::args::{StartFlags, list_name, value};
use crate::shell::ast::Arg;
use crate::shell::context::{Eval, R, date_of, int_of, ok, str_of};
use crate::shell::system::{self, list_pid, start_system, stop_system};

/// `server_process LIST`.
pub async fn server_process(ev: &mut Eval<'_>, list: &Arg) -> R {
    let name = list_name(ev, list).await?;
    list_pid(ev, &name).await.map(Term::Pid)
}

/// `restart LIST`: the server supervisor terminates the list's server (`:shutdown`, as
/// `DynamicSupervisor.terminate_child/2`, so it does not restart it itself), then the
/// cache is asked for the list again and starts one new server, which loads the list from
/// the database. Nothing acknowledged is lost: the server stores the list after every
/// change. Returns the new pid.
pub async fn restart(ev: &mut Eval<'_>, list: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let old = list_pid(ev, &name).await?;
    let node = ev.ctx.node.clone();
    let sup = Dest::Name(server_supervisor::NAME);
    supervisor::terminate_child(&node, ev.p.pid(), &sup, Term::Pid(old))
        .await
        .map_err(|e| e.reason())?;
    list_pid(ev, &name).await.map(Term::Pid)
}

/// `add_entry LIST DATE TITLE`: a cast, as `Todo.Server.add_entry`.
pub async fn add_entry(ev: &mut Eval<'_>, list: &Arg, date: &Arg, title: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let date = date_of(&value(ev, date).await?)?;
    let title = str_of(&value(ev, title).await?)?;
    let pid = list_pid(ev, &name).await?;
    server::add_entry(
        ev.p,
        pid,
        Term::atom_map(vec![
            ("date", Term::Date(date)),
            ("title", Term::str(title)),
        ]),
    );
    ok()
}

/// `entries LIST DATE`: a call, as `Todo.Server.entries`.
pub async fn entries(ev: &mut Eval<'_>, list: &Arg, date: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let date = date_of(&value(ev, date).await?)?;
    let pid = list_pid(ev, &name).await?;
    system::entries(ev, pid, date).await
}

/// `update_entry LIST ID TITLE`.
pub async fn update_entry(ev: &mut Eval<'_>, list: &Arg, id: &Arg, title: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let id = int_of(&value(ev, id).await?)?;
    let title = str_of(&value(ev, title).await?)?;
    let pid = list_pid(ev, &name).await?;
    server::update_entry(
        ev.p,
        pid,
        id,
        Term::atom_map(vec![("title", Term::str(title))]),
    );
    ok()
}

/// `delete_entry LIST ID`.
pub async fn delete_entry(ev: &mut Eval<'_>, list: &Arg, id: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let id = int_of(&value(ev, id).await?)?;
    let pid = list_pid(ev, &name).await?;
    server::delete_entry(ev.p, pid, id);
    ok()
}

/// `quarantine LIST`: moves an unreadable file of LIST aside.
pub async fn quarantine(ev: &mut Eval<'_>, list: &Arg) -> R {
    let name = list_name(ev, list).await?;
    let config = ev.ctx.config();
    database::quarantine(ev.p, &config, &name).await
}

/// `start [flags]`: replaces the running tree by one of the shape the flags select, keeping
/// the persist folder and its fsync setting.
pub async fn start(ev: &mut Eval<'_>, flags: StartFlags) -> R {
    let mut config = Config::with_dir(ev.ctx.config().persist_dir.clone());
    config.fsync = ev.ctx.config().fsync;
    config.flat = flags.flat;
    if flags.ets_cache {
        config.cache = CacheKind::Ets;
    }
    if flags.single_db {
        config.database = DatabaseKind::Single;
    }
    if flags.spawn_db {
        config.database = DatabaseKind::SpawnPerRequest;
    }
    if flags.bypass_db {
        config.database = DatabaseKind::Bypass;
    }
    config.load_in_init = flags.init_load;
    config.coalesce_stores = flags.coalesce;
    if flags.no_fsync {
        config.fsync = false;
    }
    if let Some(ms) = flags.slow_db_ms {
        config.db_delay = Duration::from_millis(ms);
    }
    stop_system(ev).await;
    if config.coalesce_stores {
        // Said before the tree starts, so that it is read before any flood is watched.
        ev.p.puts(COALESCE_NOTE);
    }
    start_system(ev, Arc::new(config)).await
}

/// What `start --coalesce` changes, printed when it is given: the experiment no longer
/// shows what the BEAM does.
const COALESCE_NOTE: &str = "Coalescing stores: a database worker folds the stores of one \
     list queued behind each other into the last, so its mailbox drains in a few writes \
     (not the book's behaviour: the BEAM writes every store, in order)";

/// `stop`: the tree stops in order, children first.
pub async fn stop(ev: &mut Eval<'_>) -> R {
    stop_system(ev).await;
    ok()
}
