//! `Todo.ProcessRegistry`: a process holding `key -> pid` for names that are not atoms
//! (`{:todo_server, "Bob's list"}`, `{:database_worker, 2}`), monitoring each registrant and
//! forgetting it when it dies. Registered locally as `:todo_process_registry`, so killing it
//! is seed 001's experiment. Every lookup is a call to this one process: that is the
//! bottleneck the ETS cache removes.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxBuildHasher;

use crate::runtime::gen_server::{self, GenServer, Init, NoReply, Reply, StartOpts, Via};
use crate::runtime::growmap::GrowMap;
use crate::runtime::supervisor::ChildSpec;
use crate::runtime::term::BoxFuture;
use crate::runtime::{Atom, Dest, ExitReason, From, Pid, Process, Ref, Term, atom};

/// The registry's local name.
pub const NAME: Atom = Atom::from_static("todo_process_registry");

pub struct ProcessRegistry {
    /// A key is shared by both maps: with a to-do list's key stored twice, the registry was a
    /// sixth of the memory of a list. The names grow a little at a time (`runtime::growmap`):
    /// a `HashMap` re-hashed every key, each behind its pointer, at once when it doubled,
    /// which was the last interval of a million lists' load test.
    ///
    /// The names hash with Fx: SipHash of `{:todo_server, "list N"}` was a fifth of the
    /// registry's instructions a lookup (callgrind). Names are chosen by users, so a
    /// flood of colliding names is possible, as it is on the BEAM, whose ETS tables and
    /// maps hash terms with a fixed, unkeyed function (`erlang:phash2`'s family); a
    /// registry is no more exposed than the BEAM's own `Registry` and `:global`.
    names: GrowMap<Arc<Term>, Pid, FxBuildHasher>,
    /// Each registrant's monitor and names, in a B-tree: a hash map, even hashed with Fx,
    /// re-hashed every pid in the one registration that made it double, 50 ms at 458,749
    /// to-do lists and 155 ms at 917,501 (single puts timed in `bench loadtest-ets`; the
    /// three database workers are registered too), where a tree grows a node at a time. Pids
    /// are the node's sequential numbers, so a new registrant goes to the right edge, whose
    /// nodes are the ones already in cache.
    keys: BTreeMap<Pid, (Ref, Vec<Arc<Term>>)>,
}

/// The child spec of the top supervisor's first child.
pub fn child_spec() -> ChildSpec {
    ChildSpec::worker(
        super::module("Todo.ProcessRegistry"),
        "Todo.ProcessRegistry.start_link([])",
        |p: &mut Process| {
            Box::pin(async move {
                p.puts("Starting process registry");
                gen_server::start_link::<ProcessRegistry>(
                    p,
                    (),
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

/// `Todo.ProcessRegistry.whereis_name(key)`; `None` also when the registry is not running.
pub async fn whereis_name(p: &Process, key: Term) -> Option<Pid> {
    let reply = p
        .call(
            Dest::Name(NAME),
            Term::tuple(vec![atom("whereis_name"), key]),
            Some(super::CALL_TIMEOUT),
        )
        .await;
    reply.ok().and_then(|t| t.as_pid())
}

/// `Todo.ProcessRegistry.register_name(key, pid)`: `:yes` or `:no`.
pub async fn register_name(p: &Process, key: Term, pid: Pid) -> bool {
    let request = Term::tuple(vec![atom("register_name"), key, Term::Pid(pid)]);
    p.call(Dest::Name(NAME), request, Some(super::CALL_TIMEOUT))
        .await
        .is_ok_and(|t| t.is_atom("yes"))
}

/// The registry as a `{:via, Todo.ProcessRegistry, key}` name for GenServers.
pub struct Registry;

impl Registry {
    pub fn shared() -> Arc<dyn Via> {
        Arc::new(Registry)
    }
}

impl Via for Registry {
    fn register_name<'a>(
        &'a self,
        process: &'a Process,
        key: Term,
        pid: Pid,
    ) -> BoxFuture<'a, bool> {
        Box::pin(register_name(process, key, pid))
    }
    fn whereis_name<'a>(&'a self, process: &'a Process, key: Term) -> BoxFuture<'a, Option<Pid>> {
        Box::pin(whereis_name(process, key))
    }
}

impl GenServer for ProcessRegistry {
    type Arg = ();

    fn module() -> &'static str {
        "Todo.ProcessRegistry"
    }

    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(ProcessRegistry {
            names: GrowMap::new(),
            keys: BTreeMap::new(),
        }))
    }

    async fn handle_call(
        &mut self,
        request: &Term,
        _from: &From,
        p: &mut Process,
    ) -> Result<Reply, ExitReason> {
        let reply = match request.as_tuple() {
            Some([tag, key]) if tag.is_atom("whereis_name") => self
                .names
                .get(key)
                .map(|p| Term::Pid(*p))
                .unwrap_or_else(|| atom("undefined")),
            Some([tag, key, Term::Pid(pid)]) if tag.is_atom("register_name") => {
                // A holder whose DOWN is still queued is already dead: its name is free.
                let taken = self
                    .names
                    .get(key)
                    .is_some_and(|holder| p.node().alive(*holder));
                if taken {
                    atom("no")
                } else {
                    let key = Arc::new(key.clone());
                    self.names.insert(key.clone(), *pid);
                    let (_, keys) = self
                        .keys
                        .entry(*pid)
                        .or_insert_with(|| (p.monitor(*pid), Vec::with_capacity(1)));
                    keys.push(key);
                    atom("yes")
                }
            }
            Some([tag, key]) if tag.is_atom("unregister_name") => {
                if let Some(pid) = self.names.remove(key)
                    && let Some((_, keys)) = self.keys.get_mut(&pid)
                {
                    keys.retain(|k| **k != *key);
                }
                Term::ok()
            }
            _ => {
                return Err(ExitReason::function_clause(
                    "Todo.ProcessRegistry.handle_call/3",
                ));
            }
        };
        Ok(Reply::Reply(reply))
    }

    async fn handle_info(&mut self, msg: Term, _p: &mut Process) -> Result<NoReply, ExitReason> {
        if let Some([tag, _, _, Term::Pid(pid), _]) = msg.as_tuple()
            && tag.is_atom("DOWN")
            && let Some((_, keys)) = self.keys.remove(pid)
        {
            for key in keys {
                if self.names.get(&key) == Some(pid) {
                    self.names.remove(&key);
                }
            }
        }
        Ok(NoReply::NoReply)
    }

    fn state(&self) -> Term {
        Term::Map(
            self.names
                .iter()
                .map(|(k, p)| ((**k).clone(), Term::Pid(*p)))
                .collect(),
        )
    }
}
