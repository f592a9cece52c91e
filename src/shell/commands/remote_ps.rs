//! `ps` on a real node: every process's `Process.info`, fetched in pages and drawn as the
//! local table.

use crate::dist::{self, View, Wire};
use crate::runtime::Term;
use crate::shell::context::{Eval, R, Remote, arg_error, silent};

use super::args::PsSort;
use super::observe::PS_CELLS;
use super::remote::fault;

/// What `ps` asks `Process.info/2` of each process on the node.
const PS_KEYS: [&str; 6] = [
    "registered_name",
    "message_queue_len",
    "status",
    "memory",
    "dictionary",
    "initial_call",
];

/// `ps` on the node: the same table as the local one, from `Process.info` of every process,
/// fetched in pages so a node of 100,000 processes answers in pieces. Each page is one
/// `:lists.zipwith(&:erlang.process_info/2, pids, keys)`: compiled code on the node, where
/// a comprehension sent as Elixir would run in the evaluator, several times slower.
pub(super) async fn ps(ev: &mut Eval<'_>, remote: &Remote, sort: PsSort) -> R {
    const PAGE: usize = 5000;
    let timeout = crate::shell::context::CALL_TIMEOUT;
    let pids = remote
        .conn
        .call("erlang", "processes", vec![], timeout)
        .await
        .map_err(fault)?;
    let Wire::List(pids) = pids else {
        return Err(arg_error("the node's process list is not a list"));
    };
    let node = remote.node();
    let view = View { home: &node };
    let process_info = Wire::from(eetf::ExternalFun {
        module: eetf::Atom::from("erlang"),
        function: eetf::Atom::from("process_info"),
        arity: 2,
    });
    let keys = Wire::from(eetf::List::from(
        PS_KEYS.map(|k| Wire::from(eetf::Atom::from(k))).to_vec(),
    ));
    let mut rows: Vec<(i64, i64, [String; PS_CELLS])> = vec![];
    for page in pids.elements.chunks(PAGE) {
        let args = vec![
            process_info.clone(),
            Wire::from(eetf::List::from(page.to_vec())),
            Wire::from(eetf::List::from(vec![keys.clone(); page.len()])),
        ];
        let got = remote
            .conn
            .call("lists", "zipwith", args, timeout)
            .await
            .map_err(fault)?;
        let Wire::List(infos) = got else { continue };
        for (pid, info) in page.iter().zip(&infos.elements) {
            // A process that ended since the list was taken answers `undefined`.
            if let Some(row) = ps_row(&view.term(pid), &view.term(info)) {
                rows.push(row);
            }
        }
    }
    // Stable: equal figures keep the pid order, as the local `ps --sort`.
    match sort {
        PsSort::Pid => {}
        PsSort::Mailbox => rows.sort_by_key(|r| std::cmp::Reverse(r.0)),
        PsSort::Memory => rows.sort_by_key(|r| std::cmp::Reverse(r.1)),
    }
    let cells: Vec<[String; PS_CELLS]> = rows.into_iter().map(|(_, _, c)| c).collect();
    ev.p.puts(super::observe::ps_cells(&cells, &[], ev.ctx.width()));
    Ok(silent())
}

/// One row of `ps` from a process's `Process.info` keyword list: its queue length and
/// memory (to sort by) and its cells. The module is what `LABEL_SRC` names on the node: the
/// `$initial_call` proc_lib noted, a supervisor by its callback module.
fn ps_row(pid: &Term, info: &Term) -> Option<(i64, i64, [String; PS_CELLS])> {
    let Term::List(pairs) = info else { return None };
    let get = |key: &str| {
        pairs.iter().find_map(|p| match p.as_tuple() {
            Some([Term::Atom(a), v]) if a.as_str() == key => Some(v),
            _ => None,
        })
    };
    let noted = get("dictionary").and_then(|d| match d {
        Term::List(entries) => entries.iter().find_map(|e| match e.as_tuple() {
            Some([Term::Atom(a), v]) if a.as_str() == "$initial_call" => Some(v),
            _ => None,
        }),
        _ => None,
    });
    let module = match noted.or(get("initial_call")).and_then(Term::as_tuple) {
        Some([Term::Atom(m), cb, _])
            if matches!(m.as_str(), "supervisor" | "supervisor_bridge") =>
        {
            match (noted, cb) {
                (Some(_), Term::Atom(cb)) => Term::Atom(*cb).to_string(),
                _ => Term::Atom(*m).to_string(),
            }
        }
        Some([m @ Term::Atom(_), _, _]) => m.to_string(),
        _ => String::new(),
    };
    let name = match get("registered_name") {
        None => String::new(),
        Some(Term::List(l)) if l.is_empty() => String::new(),
        Some(other) => other.to_string(),
    };
    let queue = get("message_queue_len").and_then(Term::as_int).unwrap_or(0);
    let memory = get("memory").and_then(Term::as_int).unwrap_or(0);
    let status = get("status").map(|s| s.to_string()).unwrap_or_default();
    let shown = dist::foreign(pid)
        .map(|f| f.text.clone())
        .unwrap_or_default();
    Some((
        queue,
        memory,
        [
            shown,
            module,
            name,
            queue.to_string(),
            status.trim_start_matches(':').to_string(),
            memory.to_string(),
            "-".into(),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::atom;

    fn pair(key: &'static str, value: Term) -> Term {
        Term::tuple(vec![atom(key), value])
    }

    fn info(dictionary: Vec<Term>, initial_call: Term) -> Term {
        Term::list(vec![
            pair("registered_name", Term::list(vec![])),
            pair("message_queue_len", Term::Int(7)),
            pair("status", atom("waiting")),
            pair("memory", Term::Int(2_688)),
            pair("dictionary", Term::list(dictionary)),
            pair("initial_call", initial_call),
        ])
    }

    fn cells(row: Option<(i64, i64, [String; PS_CELLS])>) -> (i64, i64, Vec<String>) {
        let (queue, memory, cells) = row.expect("a row");
        (queue, memory, cells[1..].to_vec())
    }

    #[test]
    fn a_genserver_is_named_by_the_initial_call_proc_lib_noted() {
        let noted = pair(
            "$initial_call",
            Term::tuple(vec![atom("Elixir.Todo.Cache"), atom("init"), Term::Int(1)]),
        );
        let proc_lib = Term::tuple(vec![atom("proc_lib"), atom("init_p"), Term::Int(5)]);
        let (queue, memory, cells) = cells(ps_row(&atom("nil"), &info(vec![noted], proc_lib)));
        assert_eq!((queue, memory), (7, 2_688));
        assert_eq!(cells[0], atom("Elixir.Todo.Cache").to_string());
        assert_eq!(cells[1..], ["", "7", "waiting", "2688", "-"]);
    }

    #[test]
    fn a_supervisor_is_named_by_its_callback_module() {
        let noted = pair(
            "$initial_call",
            Term::tuple(vec![
                atom("supervisor"),
                atom("Elixir.Todo.Supervisor"),
                Term::Int(1),
            ]),
        );
        let (_, _, cells) = cells(ps_row(&atom("nil"), &info(vec![noted], atom("nil"))));
        assert_eq!(cells[0], atom("Elixir.Todo.Supervisor").to_string());
    }

    #[test]
    fn a_process_that_ended_meanwhile_has_no_row() {
        assert!(ps_row(&atom("nil"), &atom("undefined")).is_none());
    }
}
