//! The tracer of `trace on` on a real node. The BEAM delivers trace messages only to a tracer
//! on the traced node, so a relay is started there (`relay.exs`, evaluated with
//! `Code.eval_string/2`, since the node need not have any otplab module loaded) that forwards
//! each message to a pid of otplab's (a [`Mailbox`](super::Mailbox) of the connection). Here
//! the forwarded records become the same [`TraceEvent`]s the local runtime records, which the
//! shell's `trace show` and `trace mermaid` draw with the local drawings.
//!
//! The relay goes away when its [`RemoteTrace`] is dropped (`trace off`, a second `trace on`,
//! `disconnect`, the end of the session), and by itself when otplab's pid goes away: it
//! monitors the pid, so a killed otplab or a broken connection removes it too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eetf::Term as W;

use super::{Connection, DistError, View};
use crate::runtime::events::{TraceEvent, TraceKind};
use crate::runtime::{Atom, Pid, Term};

/// The relay's source, evaluated on the node.
const RELAY: &str = include_str!("relay.exs");
/// The name the relay registers on the node (relay.exs).
const RELAY_NAME: &str = "otplab_trace_relay";
/// How long starting the relay may take: it reads the book's registry (1 s at most) and sets
/// the tracing of every process.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The lifeline of the processes that work for otplab on the node (its RPCs): the shell.
/// No pid of the node has this number.
pub const SHELL: Pid = Pid(u64::MAX);

/// What a process was known by when the relay first saw it: the parts of the name a lifeline
/// is labelled with (the shell's `known_name`).
#[derive(Clone, Debug)]
pub struct Known {
    pub registered: Option<Atom>,
    /// The key it is registered under through the book's registry.
    pub via: Option<Term>,
    /// Its module (from `$initial_call`), or its initial call.
    pub label: String,
}

/// What the relay forwarded so far.
#[derive(Default)]
struct Log {
    /// Each message with its place in the node's order of events (strict monotonic time):
    /// messages of different processes may reach the relay out of that order.
    events: Vec<((i64, i64), Arc<TraceEvent>)>,
    names: HashMap<Pid, Known>,
    /// The relay's limit, once it stopped at it.
    full: Option<i64>,
}

/// The trace so far: the messages in the node's order, what each process was known by, and
/// the relay's limit if it stopped at it.
pub struct Snapshot {
    pub events: Vec<Arc<TraceEvent>>,
    pub names: HashMap<Pid, Known>,
    pub full: Option<i64>,
}

/// A trace running on a node: the relay's records arriving in the background.
pub struct RemoteTrace {
    conn: Connection,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl RemoteTrace {
    /// Starts the relay. `targets` is the Elixir that finds the processes to trace on the
    /// node (a list of expressions, as the shell finds a command's process there), or `None`
    /// for every process.
    pub async fn start(
        conn: &Connection,
        targets: Option<&[String]>,
    ) -> Result<RemoteTrace, DistError> {
        let mut mailbox = conn.mailbox();
        let targets = match targets {
            None => ":all".to_string(),
            Some(found) => format!("[{}]", found.join(", ")),
        };
        let bindings = W::from(eetf::List::from(vec![pair(
            atom("sink"),
            W::from(mailbox.pid.clone()),
        )]));
        let source = format!("targets = {targets}\n{RELAY}");
        let source = W::from(eetf::Binary::from(source.into_bytes()));
        let reply = conn
            .call(
                "Elixir.Code",
                "eval_string",
                vec![source, bindings],
                START_TIMEOUT,
            )
            .await?;
        let home = conn.peer().to_string();
        match &reply {
            W::Tuple(t) if started(t.elements.first()) => {}
            other => {
                return Err(DistError::BadRpc(format!(
                    "the trace relay did not start: {}",
                    View { home: &home }.term(other)
                )));
            }
        }
        let log = Arc::new(Mutex::new(Log::default()));
        let into = log.clone();
        let task = tokio::spawn(async move {
            let view = View { home: &home };
            while let Some(message) = mailbox.rx.recv().await {
                let Some(record) = record(&message, &view) else {
                    continue;
                };
                let mut log = into.lock().unwrap();
                match record {
                    Record::Event(at, event) => log.events.push((at, Arc::new(event))),
                    Record::Name(pid, name) => {
                        log.names.insert(pid, name);
                    }
                    Record::Full(limit) => log.full = Some(limit),
                }
            }
        });
        Ok(RemoteTrace {
            conn: conn.clone(),
            log,
            task,
        })
    }

    /// The trace so far.
    pub fn snapshot(&self) -> Snapshot {
        let log = self.log.lock().unwrap();
        let mut events = log.events.clone();
        events.sort_by_key(|(at, _)| *at);
        Snapshot {
            events: events.into_iter().map(|(_, e)| e).collect(),
            names: log.names.clone(),
            full: log.full,
        }
    }
}

impl Drop for RemoteTrace {
    fn drop(&mut self) {
        // The relay clears the tracing it set when told to stop; were this message lost
        // with the connection, the relay's monitor of otplab's pid stops it as well.
        let _ = self.conn.send_named(RELAY_NAME, atom("otplab_trace_stop"));
        self.task.abort();
    }
}

fn atom(name: &str) -> W {
    W::from(eetf::Atom::from(name))
}

fn pair(a: W, b: W) -> W {
    W::from(eetf::Tuple::from(vec![a, b]))
}

/// Whether the relay's answer is `{{:ok, relay}, bindings}` (`Code.eval_string/2`'s pair).
fn started(result: Option<&W>) -> bool {
    matches!(result, Some(W::Tuple(t)) if matches!(t.elements.as_slice(), [W::Atom(a), W::Pid(_)] if a.name == "ok"))
}

/// One of the relay's messages, read.
#[derive(Debug)]
enum Record {
    Event((i64, i64), TraceEvent),
    Name(Pid, Known),
    Full(i64),
}

/// Reads a message of the relay (the shapes are in relay.exs); `None` for anything else,
/// which a pid of otplab's may be sent by anyone on the node.
fn record(message: &W, view: &View) -> Option<Record> {
    let W::Tuple(t) = message else { return None };
    match t.elements.as_slice() {
        [W::Atom(tag), W::List(at), W::Atom(kind), from, to, term]
            if tag.name == "otplab_trace" =>
        {
            let at = match at.elements.as_slice() {
                [a, b] => (int(a)?, int(b)?),
                _ => return None,
            };
            let kind = match kind.name.as_str() {
                "call" => TraceKind::Call,
                "cast" => TraceKind::Cast,
                "reply" => TraceKind::Reply,
                "info" => TraceKind::Info,
                "exit" => TraceKind::Exit,
                "down" => TraceKind::Down,
                _ => return None,
            };
            let from = match from {
                W::Atom(a) if a.name == "nil" => None,
                other => Some(lifeline(other)?),
            };
            let event = TraceEvent {
                from,
                to: lifeline(to)?,
                kind,
                term: home_pids(view.term(term), view),
            };
            Some(Record::Event(at, event))
        }
        [W::Atom(tag), n, registered, via, W::Binary(label)] if tag.name == "otplab_trace_name" => {
            let registered = match registered {
                W::Atom(a) if a.name != "nil" => Some(Atom::new(&a.name).ok()?),
                _ => None,
            };
            let via = match via {
                W::Atom(a) if a.name == "nil" => None,
                other => Some(home_pids(view.term(other), view)),
            };
            let known = Known {
                registered,
                via,
                label: String::from_utf8_lossy(&label.bytes).into_owned(),
            };
            Some(Record::Name(Pid(u64::try_from(int(n)?).ok()?), known))
        }
        [W::Atom(tag), limit] if tag.name == "otplab_trace_full" => Some(Record::Full(int(limit)?)),
        _ => None,
    }
}

fn int(w: &W) -> Option<i64> {
    match w {
        W::FixInteger(i) => Some(i64::from(i.value)),
        W::BigInteger(b) => i64::try_from(&b.value).ok(),
        _ => None,
    }
}

/// A message's end: a process of the node by the middle number of its pid, or the shell.
fn lifeline(w: &W) -> Option<Pid> {
    match w {
        W::Atom(a) if a.name == "shell" => Some(SHELL),
        other => u64::try_from(int(other)?).ok().map(Pid),
    }
}

/// `t` with the node's own pids as runtime pids, `#PID<0.N.0>` as iex --remsh prints them
/// there and as the lifelines are numbered; every other foreign term stays as it came.
fn home_pids(t: Term, view: &View) -> Term {
    match t {
        Term::Opaque(_) => match super::foreign(&t).map(|f| &f.term) {
            Some(W::Pid(p)) if p.node.name == view.home && p.serial == 0 => {
                Term::Pid(Pid(u64::from(p.id)))
            }
            _ => t,
        },
        Term::Tuple(items) => Term::Tuple(items.into_iter().map(|i| home_pids(i, view)).collect()),
        Term::List(items) => Term::List(items.into_iter().map(|i| home_pids(i, view)).collect()),
        Term::Map(m) => Term::Map(
            m.into_iter()
                .map(|(k, v)| (home_pids(k, view), home_pids(v, view)))
                .collect(),
        ),
        Term::Struct(s) => {
            let s = Arc::unwrap_or_clone(s);
            Term::structure(
                s.name,
                s.fields
                    .into_iter()
                    .map(|(k, v)| (k, home_pids(v, view)))
                    .collect(),
            )
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "todo@vm";

    fn int(i: i32) -> W {
        W::from(eetf::FixInteger::from(i))
    }

    fn tuple(items: Vec<W>) -> W {
        W::from(eetf::Tuple::from(items))
    }

    fn text(s: &str) -> W {
        W::from(eetf::Binary::from(s.as_bytes().to_vec()))
    }

    fn pid(node: &str, id: u32) -> W {
        W::from(eetf::Pid::new(node, id, 0, 1))
    }

    fn read(w: W) -> Option<Record> {
        record(&w, &View { home: HOME })
    }

    #[test]
    fn forwarded_messages_become_trace_events() {
        let cases: Vec<(W, Option<Record>)> = vec![
            (
                tuple(vec![
                    atom("otplab_trace"),
                    W::from(eetf::List::from(vec![int(-5), int(7)])),
                    atom("call"),
                    atom("shell"),
                    int(184),
                    tuple(vec![atom("server_process"), text("Bob's list")]),
                ]),
                Some(Record::Event(
                    (-5, 7),
                    TraceEvent {
                        from: Some(SHELL),
                        to: Pid(184),
                        kind: TraceKind::Call,
                        term: crate::tuple!(
                            Term::Atom(Atom::new("server_process").unwrap()),
                            Term::str("Bob's list")
                        ),
                    },
                )),
            ),
            // The node's pids inside a message print as on the node.
            (
                tuple(vec![
                    atom("otplab_trace"),
                    W::from(eetf::List::from(vec![int(1), int(2)])),
                    atom("reply"),
                    int(190),
                    int(191),
                    tuple(vec![atom("ok"), pid(HOME, 198)]),
                ]),
                Some(Record::Event(
                    (1, 2),
                    TraceEvent {
                        from: Some(Pid(190)),
                        to: Pid(191),
                        kind: TraceKind::Reply,
                        term: crate::tuple!(Term::ok(), Term::Pid(Pid(198))),
                    },
                )),
            ),
            // An unknown sender.
            (
                tuple(vec![
                    atom("otplab_trace"),
                    W::from(eetf::List::from(vec![int(1), int(3)])),
                    atom("exit"),
                    atom("nil"),
                    int(10),
                    atom("killed"),
                ]),
                Some(Record::Event(
                    (1, 3),
                    TraceEvent {
                        from: None,
                        to: Pid(10),
                        kind: TraceKind::Exit,
                        term: Term::Atom(Atom::new("killed").unwrap()),
                    },
                )),
            ),
            (
                tuple(vec![
                    atom("otplab_trace_name"),
                    int(198),
                    atom("nil"),
                    tuple(vec![atom("todo_server"), text("Bob's list")]),
                    text("Todo.Server"),
                ]),
                Some(Record::Name(
                    Pid(198),
                    Known {
                        registered: None,
                        via: Some(crate::tuple!(
                            Term::Atom(Atom::new("todo_server").unwrap()),
                            Term::str("Bob's list")
                        )),
                        label: "Todo.Server".into(),
                    },
                )),
            ),
            (
                tuple(vec![
                    atom("otplab_trace_name"),
                    int(184),
                    atom("todo_process_registry"),
                    atom("nil"),
                    text("Todo.ProcessRegistry"),
                ]),
                Some(Record::Name(
                    Pid(184),
                    Known {
                        registered: Some(Atom::new("todo_process_registry").unwrap()),
                        via: None,
                        label: "Todo.ProcessRegistry".into(),
                    },
                )),
            ),
            (
                tuple(vec![atom("otplab_trace_full"), int(20_000)]),
                Some(Record::Full(20_000)),
            ),
            // Anything else sent to the pid is not the relay's.
            (atom("hello"), None),
            (tuple(vec![atom("otplab_trace"), int(1)]), None),
            (
                tuple(vec![
                    atom("otplab_trace"),
                    W::from(eetf::List::from(vec![int(1), int(2)])),
                    atom("teleport"),
                    int(1),
                    int(2),
                    atom("x"),
                ]),
                None,
            ),
            (
                tuple(vec![
                    atom("otplab_trace"),
                    W::from(eetf::List::from(vec![int(1), int(2)])),
                    atom("call"),
                    int(-1),
                    int(2),
                    atom("x"),
                ]),
                None,
            ),
        ];
        for (input, expected) in cases {
            // `TraceEvent` has no equality: its fields are compared as printed.
            assert_eq!(
                format!("{:?}", read(input.clone())),
                format!("{expected:?}"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn another_nodes_pids_stay_foreign() {
        let t = View { home: HOME }.term(&pid("otplab@vm", 3));
        assert!(matches!(
            home_pids(t, &View { home: HOME }),
            Term::Opaque(_)
        ));
    }

    #[test]
    fn only_the_relays_own_answer_counts_as_started() {
        let relay = tuple(vec![atom("ok"), pid(HOME, 196)]);
        assert!(started(Some(&relay)));
        assert!(!started(Some(&tuple(vec![atom("error"), atom("timeout")]))));
        assert!(!started(None));
    }
}
