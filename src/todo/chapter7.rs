//! The unsupervised to-do system of chapter 7.2: `Todo.Cache` as one GenServer holding a map
//! `name => pid`, which starts a plain `Todo.Server` (a `Todo.List` in a GenServer, with no
//! registry and no database) on the first lookup of a name. The chapter's load test runs on it,
//! to compare with the chapter 9 system.

use std::sync::Arc;

use crate::runtime::gen_server::{self, GenServer, Init, Reply, StartOpts};
use crate::runtime::growmap::GrowMap;
use crate::runtime::{ExitReason, From, Pid, Process, Term};

use super::list::List;

/// The chapter 7.2 `Todo.Cache`: a map `name => pid`, grown a little at a time as a BEAM map
/// is (`runtime::growmap` says why).
pub struct ChapterCache {
    servers: GrowMap<Arc<str>, Pid>,
}

impl GenServer for ChapterCache {
    type Arg = ();

    fn module() -> &'static str {
        "Todo.Cache"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(ChapterCache {
            servers: GrowMap::new(),
        }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let Some([_, Term::Str(name)]) = request.as_tuple() else {
            return Err(ExitReason::function_clause("Todo.Cache.handle_call/3"));
        };
        if let Some(pid) = self.servers.get(name) {
            return Ok(Reply::Reply(Term::Pid(*pid)));
        }
        let pid = gen_server::start::<PlainServer>(p.node(), (), StartOpts::default())
            .await
            .map_err(|e| e.reason())?;
        self.servers.insert(name.clone(), pid);
        Ok(Reply::Reply(Term::Pid(pid)))
    }

    fn state(&self) -> Term {
        Term::from(self.servers.len())
    }
}

/// The chapter 7.2 `Todo.Server`: a `Todo.List` in a GenServer, nothing else.
pub struct PlainServer {
    list: List,
}

impl GenServer for PlainServer {
    type Arg = ();

    fn module() -> &'static str {
        "Todo.Server"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(PlainServer { list: List::new() }))
    }

    fn state(&self) -> Term {
        self.list.to_term()
    }
}
