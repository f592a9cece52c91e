//! `Todo.Supervisor`: the top of the tree. rest_for_one over the registry and the system
//! supervisor, so a registry crash restarts everything that registered with it and no stale
//! registration survives (S15). With `Config::flat`, seed 001's first version instead: one
//! one_for_one level where killing the registry leaves the rest running with stale names,
//! to-do servers failing to reach their database workers, and their supervisor giving up.

use std::sync::Arc;

use crate::runtime::supervisor::{self, ChildSpec, Flags, Spec, Strategy};
use crate::runtime::{Node, Pid, Process, StartError};

use super::{Config, cache, database, process_registry, server_supervisor, system_supervisor};

/// The label of the top supervisor's process: what makes a tree *the* to-do system for the
/// shell, however it was started.
pub const LABEL: &str = "Todo.Supervisor";

/// The top supervisor's spec for this configuration.
pub fn spec(config: Arc<Config>) -> Spec {
    if config.flat {
        let children = vec![
            process_registry::child_spec(),
            database::child_spec(config.clone()),
            server_supervisor::child_spec(),
            cache::child_spec(config),
        ];
        Spec::new(LABEL, Flags::new(Strategy::OneForOne), children)
    } else {
        let children = vec![
            process_registry::child_spec(),
            system_supervisor::child_spec(config),
        ];
        Spec::new(LABEL, Flags::new(Strategy::RestForOne), children)
    }
}

/// `Todo.Supervisor.start_link`: linked to the caller, as from iex.
pub async fn start_link(p: &Process, config: Arc<Config>) -> Result<Pid, StartError> {
    supervisor::start_link(p, spec(config)).await
}

/// Starts the tree unlinked, as an application does.
pub async fn start(node: &Node, config: Arc<Config>) -> Result<Pid, StartError> {
    supervisor::start(node, spec(config)).await
}

/// The tree as a child spec, for embedding it under another supervisor.
pub fn child_spec(config: Arc<Config>) -> ChildSpec {
    ChildSpec::supervisor(
        super::module("Todo.Supervisor"),
        "Todo.Supervisor.start_link()",
        move |p: &mut Process| {
            let config = config.clone();
            Box::pin(async move { start_link(p, config).await })
        },
    )
}
