//! `Todo.ServerSupervisor`: the dynamic supervisor of the to-do servers, registered as
//! `:todo_server_supervisor`. Servers start on demand, one per list, from the cache.

use std::sync::Arc;

use crate::runtime::supervisor::{self, ChildSpec, Flags, Spec, Strategy};
use crate::runtime::{Atom, Dest, Pid, Process, StartError, Term, atom};

use super::{Config, server};

pub const NAME: Atom = Atom::from_static("todo_server_supervisor");

pub fn child_spec() -> ChildSpec {
    ChildSpec::supervisor(
        super::module("Todo.ServerSupervisor"),
        "Todo.ServerSupervisor.start_link([])",
        |p: &mut Process| {
            Box::pin(async move {
                p.puts("Starting to-do server supervisor");
                supervisor::start_link(
                    p,
                    Spec::dynamic("Todo.ServerSupervisor", Flags::new(Strategy::OneForOne))
                        .named(NAME.as_str()),
                )
                .await
            })
        },
    )
}

/// `Todo.ServerSupervisor.start_child(name)`: `{:ok, pid}`, or the server's start error.
pub async fn start_child(
    p: &Process,
    config: Arc<Config>,
    name: impl Into<Arc<str>>,
) -> Result<Pid, StartError> {
    let list: Arc<str> = name.into();
    let call = format!("Todo.Server.start_link({})", Term::Str(list.clone()));
    let spec = ChildSpec::worker(atom("undefined"), call, move |p: &mut Process| {
        let (config, list) = (config.clone(), list.clone());
        Box::pin(async move { server::start_link(p, config, list).await })
    });
    supervisor::start_child(p.node(), p.pid(), &Dest::Name(NAME), spec)
        .await?
        .ok_or(StartError::Ignore)
}
