//! `Todo.SystemSupervisor`: one_for_one over the database, the server supervisor and the
//! cache: everything but the registry, so the top supervisor can restart all of it at once
//! when the registry dies (seed 001's rest_for_one fix).

use std::sync::Arc;

use crate::runtime::Process;
use crate::runtime::supervisor::{self, ChildSpec, Flags, Spec, Strategy};

use super::{Config, cache, database, server_supervisor};

pub fn child_spec(config: Arc<Config>) -> ChildSpec {
    ChildSpec::supervisor(
        super::module("Todo.SystemSupervisor"),
        "Todo.SystemSupervisor.start_link([])",
        move |p: &mut Process| {
            let config = config.clone();
            Box::pin(async move {
                p.puts("Starting system supervisor");
                let children = vec![
                    database::child_spec(config.clone()),
                    server_supervisor::child_spec(),
                    cache::child_spec(config),
                ];
                supervisor::start_link(
                    p,
                    Spec::new(
                        "Todo.SystemSupervisor",
                        Flags::new(Strategy::OneForOne),
                        children,
                    ),
                )
                .await
            })
        },
    )
}
