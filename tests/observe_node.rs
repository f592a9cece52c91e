//! `observe` while connected to a real node (issue 16), in a real terminal read through a
//! terminal emulator: the view shows the node's own `Todo.Supervisor` tree and process
//! count; `k` on the registry's row kills the node's registry and the new pids of its
//! `rest_for_one` restarts show in place; a cast flood on a node worker shows its queue in
//! the process pane, rising and falling; `q` gives the `iex(node@host)N>` prompt back; and a
//! node that stops while the view is up closes it with one line, the shell back on its own
//! system.

mod beam_node;
mod pty;

use std::path::Path;

use beam_node::BeamNode;
use pty::Term;

const DOWN: &str = "\x1b[B";

/// otplab connected to `node`, in a `cols` x `rows` terminal, at its first prompt.
fn connected(node: &BeamNode, name: &str, cols: u16, rows: u16) -> Term {
    let mut t = Term::spawn(
        name,
        cols,
        rows,
        &["--connect", node.name()],
        false,
        &[("OTPLAB_COOKIE", Path::new(node.cookie()))],
    );
    let prompt = format!("iex({})1>", node.name());
    t.wait_for("the node's prompt", |s| {
        s.last_row() == Some(prompt.as_str())
    });
    t
}

/// The pid text after `label` on the screen's row that has it (`#PID<0.N.0>`).
fn pid_after(rows: &[String], label: &str) -> Option<String> {
    let row = rows
        .iter()
        .find(|r| r.contains(&format!("{label} #PID<")))?;
    let rest = &row[row.find(label)? + label.len() + 1..];
    Some(rest[..=rest.find('>')?].to_string())
}

/// The header's process count and limit (`processes 61/1048576`).
fn processes(rows: &[String]) -> Option<(usize, usize)> {
    let row = rows.iter().find(|r| r.contains("otplab observer"))?;
    let figures = row.split("processes ").nth(1)?.split_whitespace().next()?;
    let (n, limit) = figures.split_once('/')?;
    Some((n.parse().ok()?, limit.parse().ok()?))
}

#[test]
fn observe_on_a_node_shows_its_tree_and_kills_its_registry_by_keys() {
    let node = BeamNode::start();
    for (cols, rows) in [(80, 24), (140, 40)] {
        let mut t = connected(&node, &format!("observe-node-{cols}"), cols, rows);
        // The node's own limit, which the view's header must show (otplab's is another).
        t.line(":erlang.system_info(:process_limit)");
        let prompt = format!("iex({})2>", node.name());
        t.wait_for("the node's limit", |s| {
            s.last_row() == Some(prompt.as_str())
        });
        let rows_now = t.rows();
        let asked = rows_now
            .iter()
            .position(|r| r.ends_with(":erlang.system_info(:process_limit)"))
            .unwrap();
        let node_limit: usize = rows_now[asked + 1].trim().parse().unwrap();
        t.line("observe");
        t.wait_for("the node's tree and process count in the view", |s| {
            // The top is the process `Todo.Supervisor.start_link/0` starts, named by its
            // callback module as `tree` names it: Elixir's `Supervisor.Default`.
            s.contains("supervision tree")
                && s.contains("Supervisor.Default #PID<0.")
                && s.contains("(rest_for_one, ")
                && s.contains("Todo.ProcessRegistry #PID<0.")
                && processes(&s.rows).is_some_and(|(n, limit)| n > 20 && limit > n)
        });
        let old = pid_after(&t.rows(), "Todo.ProcessRegistry").expect("the registry's pid");
        // The BEAM's own count, not otplab's: the view asked the node.
        let (n, limit) = processes(&t.rows()).unwrap();
        assert_eq!(limit, node_limit, "the node's process limit");
        assert!(n > 20, "{n} processes on the node");
        // Focus the tree, select its second row (the registry) and kill it.
        t.send("\t");
        t.send(DOWN);
        t.wait_for("the tree focused", |s| s.contains("▶ supervision tree"));
        t.send("k");
        let killed = format!("kill {old}: exit signal :kill sent");
        t.wait_for("the node's new registry in place of the old", |s| {
            pid_after(&s.rows, "Todo.ProcessRegistry").is_some_and(|p| p != old)
                && s.contains(&killed)
        });
        t.send("\x1b");
        t.send("q");
        let prompt = format!("iex({})3>", node.name());
        t.wait_for("the node's prompt back", |s| {
            s.last_row() == Some(prompt.as_str()) && !s.contains("supervision tree")
        });
        t.line("whereis :todo_process_registry");
        let prompt = format!("iex({})4>", node.name());
        t.wait_for("the node answering with a new registry", |s| {
            s.last_row() == Some(prompt.as_str())
                && s.rows
                    .iter()
                    .any(|r| r.starts_with("#PID<0.") && !r.contains(&old))
        });
        t.exit();
    }
}

/// The queue shown for the node's database workers in the process pane: the largest.
fn worker_queue(rows: &[String]) -> Option<usize> {
    rows.iter()
        .filter(|r| r.contains(".0>  Todo.DatabaseWorker "))
        .filter_map(|r| {
            let after = r.split("Todo.DatabaseWorker").nth(1)?;
            after.split_whitespace().next()?.parse().ok()
        })
        .max()
}

#[test]
fn a_cast_flood_on_a_node_worker_shows_its_queue_rising_and_falling_in_the_view() {
    let node = BeamNode::start();
    let mut t = connected(&node, "observe-node-flood", 120, 40);
    // Each store takes 5 ms on the node (scripts/beam/fidelity/database_worker.ex), so
    // 1,500 casts to one worker take seven seconds to drain.
    t.line(":persistent_term.put({Otplab, :slow_db}, 5)");
    t.line("spawn(fn -> for _ <- 1..1500, do: Todo.Database.store(\"flood\", :x) end)");
    let prompt = format!("iex({})3>", node.name());
    t.wait_for("the flood started", |s| {
        s.last_row() == Some(prompt.as_str())
    });
    t.line("observe");
    t.wait_for("the worker's queue in the process pane", |s| {
        worker_queue(&s.rows).is_some_and(|q| q > 100)
    });
    let peak = worker_queue(&t.rows()).unwrap();
    t.wait_for("the queue falling as the worker drains it", |s| {
        worker_queue(&s.rows).is_some_and(|q| q < peak / 2)
    });
    t.send("q");
    let prompt = format!("iex({})4>", node.name());
    t.wait_for("the node's prompt back", |s| {
        s.last_row() == Some(prompt.as_str())
    });
    t.exit();
}

#[test]
fn a_node_that_stops_under_the_view_closes_it_with_one_line() {
    let mut node = BeamNode::start();
    let mut t = connected(&node, "observe-node-down", 100, 30);
    t.line("observe");
    t.wait_for("the node's tree", |s| {
        s.contains("Todo.ProcessRegistry #PID<0.")
    });
    node.kill();
    t.wait_for("the view closed, one line, the local prompt", |s| {
        !s.contains("supervision tree")
            && s.rows
                .iter()
                .filter(|r| r.starts_with("** (otplab)"))
                .count()
                == 1
            && s.contains("back on otplab's own system")
            && s.last_row() == Some("iex(2)>")
    });
    t.line("1 + 1");
    t.wait_for("the shell on its own system", |s| {
        s.contains("2") && s.last_row() == Some("iex(3)>")
    });
    t.exit();
}
