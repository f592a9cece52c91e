//! Issue 16 on a real BEAM: otplab driven through its binary against an Elixir node running
//! the book's to-do system (`scripts/beam/node/todo.exs`, started by the harness of
//! `tests/beam_node/` on loopback with a random name and cookie). Each test starts its own
//! node, so that a kill or a flood in one never shows in another.
//!
//! The output shapes are those of the local commands: `tree` draws the same tree, `ps` the
//! same table, `trace show` the same sequence.

mod beam_node;

use std::time::{Duration, Instant};

use beam_node::{BeamNode, Options};

/// Polls `ok` until it holds or `within` has passed; whether it held.
fn eventually(within: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        // A short pause between looks: the node is another OS process, with no signal to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

#[test]
fn the_harness_starts_a_node_and_stops_it_when_dropped() {
    let mut node = BeamNode::start();
    let pid = node.os_pid();
    assert!(node.running());
    assert!(node.registered(), "epmd lists {}", node.name());
    assert_eq!(node.cookie().len(), 20);
    assert!(
        node.output().contains("Starting to-do cache"),
        "{}",
        node.output()
    );
    let other = BeamNode::start_with(Options {
        long_name: true,
        ..Options::default()
    });
    assert_ne!(node.name(), other.name(), "each node has its own name");
    assert_ne!(node.cookie(), other.cookie(), "and its own cookie");
    assert!(other.name().ends_with("@127.0.0.1"), "{}", other.name());
    drop(node);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the node's BEAM is gone once its harness is dropped"
    );
    drop(other);
}

#[test]
fn a_node_halts_by_itself_when_the_harness_goes_away() {
    // The test binary's end closes the node's standard input, however the binary ends.
    let mut node = BeamNode::start();
    node.close_input();
    assert!(
        eventually(Duration::from_secs(30), || !node.running()),
        "the node halts at the end of its input"
    );
    assert!(
        eventually(Duration::from_secs(10), || !node.registered()),
        "and EPMD forgets it"
    );
}

/// The lines of `text` that hold, in this order, each group of `needles` (all of a group on
/// one line); the first group not found, if any.
fn in_order<'a>(text: &'a str, groups: &[&[&str]]) -> Result<Vec<&'a str>, String> {
    let mut lines = text.lines();
    let mut found = vec![];
    for group in groups {
        match lines.find(|l| group.iter().all(|n| l.contains(n))) {
            Some(line) => found.push(line),
            None => return Err(format!("no line with {group:?} (in order) in:\n{text}")),
        }
    }
    Ok(found)
}

/// The to-do tree's lines as `tree` draws it, top to bottom: each group is one line's marks.
const TODO_TREE: &[&[&str]] = &[
    &["rest_for_one"],
    &["Todo.ProcessRegistry", ":todo_process_registry"],
    &["Todo.SystemSupervisor", "one_for_one"],
    &["Todo.Database", "one_for_one"],
    &["{:database_worker, 1}"],
    &["{:database_worker, 2}"],
    &["{:database_worker, 3}"],
    &["Todo.ServerSupervisor", ":todo_server_supervisor"],
    &["Todo.Cache", ":todo_cache"],
];

/// The first `#PID<…>` of a line.
fn pid_of(line: &str) -> &str {
    let at = line
        .find("#PID<")
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    let end = line[at..].find('>').map_or(line.len(), |e| at + e + 1);
    &line[at..end]
}

/// Sends `line` and then a marker expression, and returns the lines printed in between: the
/// marker's result (the atom, on a line of its own) ends them.
fn answer(session: &mut beam_node::Session, line: &str, n: &mut usize) -> String {
    *n += 1;
    let mark = format!(":mark_{n}");
    let from = session.seen.len();
    session.send(line);
    session.send(&mark);
    session.read_until(|l| l == mark);
    session.seen[from..session.seen.len() - 1].join("\n")
}

#[test]
fn tree_shows_the_nodes_to_do_tree() {
    let node = BeamNode::start();
    let run = node.run("tree\n");
    assert!(run.status.success(), "{}", run.all());
    let lines = in_order(&run.stdout, TODO_TREE).unwrap();
    // Pids print as on the node, as iex --remsh prints them there.
    for line in lines {
        assert!(line.contains("#PID<0."), "{line:?}\n{}", run.all());
    }
}

#[test]
fn kill_registry_restarts_the_rest_of_the_tree_under_rest_for_one() {
    let node = BeamNode::start();
    let mut s = node.session();
    let mut n = 0;
    let before = answer(&mut s, "tree", &mut n);
    let old: Vec<String> = in_order(&before, TODO_TREE)
        .unwrap()
        .iter()
        .map(|l| pid_of(l).to_string())
        .collect();
    answer(&mut s, "kill registry", &mut n);
    // The restarts happen on the node after the kill; the tree is read again until the new
    // one is complete, as a person would type `tree` again.
    let deadline = Instant::now() + beam_node::PATIENCE;
    let new = loop {
        let after = answer(&mut s, "tree", &mut n);
        if let Ok(lines) = in_order(&after, TODO_TREE) {
            let pids: Vec<String> = lines.iter().map(|l| pid_of(l).to_string()).collect();
            if pids[1] != old[1] && pids.iter().skip(1).all(|p| !p.is_empty()) {
                break pids;
            }
        }
        assert!(Instant::now() < deadline, "no restarted tree:\n{after}");
    };
    assert_eq!(new[0], old[0], "the top supervisor itself lives on");
    for (i, (was, now)) in old.iter().zip(&new).enumerate().skip(1) {
        assert_ne!(
            was, now,
            "rest_for_one restarts every child after the registry (line {i} of the tree)"
        );
    }
    let (_, status) = s.finish();
    assert!(status.success());
    assert_eq!(
        node.output().matches("Starting process registry").count(),
        2,
        "{}",
        node.output()
    );
}

/// The message queue lengths of `ps`'s rows, the largest first as `--sort mailbox` gives
/// them: the number before the status of each `#PID<…>` row.
fn queues(ps: &str) -> Vec<u64> {
    const STATUS: &[&str] = &[
        "waiting",
        "running",
        "runnable",
        "suspended",
        "garbage_collecting",
        "exiting",
    ];
    ps.lines()
        .filter(|l| l.trim_start().starts_with("#PID<"))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| STATUS.contains(w))?;
            words.get(at.checked_sub(1)?)?.parse().ok()
        })
        .collect()
}

#[test]
fn a_cast_flood_shows_the_workers_queue_rising_and_falling_in_ps() {
    let node = BeamNode::start();
    let mut s = node.session();
    let mut n = 0;
    let idle = answer(&mut s, "ps --sort mailbox", &mut n);
    assert!(idle.contains("Todo.DatabaseWorker"), "{idle}");
    assert_eq!(queues(&idle).iter().max(), Some(&0), "{idle}");
    // otplab's `--slow-db 2` on the node (scripts/beam/fidelity/database_worker.ex): each
    // store takes 2 ms, so 1,500 casts to one worker take three seconds to drain.
    answer(
        &mut s,
        ":persistent_term.put({Otplab, :slow_db}, 2)",
        &mut n,
    );
    answer(
        &mut s,
        "for _ <- 1..1500, do: Todo.Database.store(\"flood\", :x)",
        &mut n,
    );
    let mut samples = vec![];
    let deadline = Instant::now() + beam_node::PATIENCE;
    loop {
        let ps = answer(&mut s, "ps --sort mailbox", &mut n);
        let top = *queues(&ps)
            .first()
            .unwrap_or_else(|| panic!("no rows in ps:\n{ps}"));
        if top > 0 {
            assert!(
                ps.lines()
                    .find(|l| l.trim_start().starts_with("#PID<"))
                    .is_some_and(|l| l.contains("DatabaseWorker")),
                "the worker heads the sorted table:\n{ps}"
            );
        }
        samples.push(top);
        if top == 0 && samples.iter().any(|&q| q > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue never drained: {samples:?}"
        );
    }
    let peak = samples.iter().max().unwrap();
    assert!(*peak > 0, "{samples:?}");
    assert_eq!(samples.last(), Some(&0), "{samples:?}");
}

#[test]
fn trace_show_draws_the_messages_of_server_process() {
    let node = BeamNode::start();
    let mut s = node.session();
    let mut n = 0;
    answer(&mut s, "trace on", &mut n);
    let pid = answer(&mut s, "server_process \"Bob's list\"", &mut n);
    assert!(pid.contains("#PID<0."), "{pid}");
    // The relay forwards the messages as they happen; they are drawn once they are all in.
    let deadline = Instant::now() + beam_node::PATIENCE;
    let shown = loop {
        let shown = answer(&mut s, "trace show --wide", &mut n);
        if shown.contains("CALL {:get, \"Bob's list\"}") {
            break shown;
        }
        assert!(Instant::now() < deadline, "no traced messages:\n{shown}");
    };
    in_order(
        &shown,
        &[
            &["shell", ":todo_cache"],
            &["CALL {:whereis_name, {:todo_server, \"Bob's list\"}}"],
            &["CALL {:server_process, \"Bob's list\"}"],
            &["CALL {:register_name, {:todo_server, \"Bob's list\"}, #PID<0."],
            &["CALL {:get, \"Bob's list\"}"],
        ],
    )
    .unwrap();
    let mermaid = answer(&mut s, "trace mermaid", &mut n);
    in_order(
        &mermaid,
        &[
            &["sequenceDiagram"],
            &["participant shell as shell"],
            &["participant ", "as Todo.Server \"Bob's list\""],
            &["shell->>", ": CALL {:server_process, \"Bob's list\"}"],
        ],
    )
    .unwrap();
    answer(&mut s, "trace off", &mut n);
    // `trace off` removes the relay and the tracing it set, on the node.
    let gone = answer(
        &mut s,
        "{Process.whereis(:otplab_trace_relay), :erlang.trace_info(:new, :flags)}",
        &mut n,
    );
    assert!(gone.lines().any(|l| l == "{nil, {:flags, []}}"), "{gone}");
    let (_, status) = s.finish();
    assert!(status.success());
}

#[test]
fn the_relay_goes_when_otplab_goes() {
    let node = BeamNode::start();
    let run = node.run("trace on\n");
    assert!(run.status.success(), "{}", run.all());
    // The relay monitors otplab's pid: the connection's end is its DOWN.
    let mut last = String::new();
    let gone = eventually(beam_node::PATIENCE, || {
        last = node
            .run("{Process.whereis(:otplab_trace_relay), :erlang.trace_info(:new, :flags)}\n")
            .stdout;
        last.lines().any(|l| l == "{nil, {:flags, []}}")
    });
    assert!(gone, "the relay is still there:\n{last}");
}

#[test]
fn a_wrong_cookie_gives_its_error_line_and_the_shell_carries_on() {
    let node = BeamNode::start();
    let wrong = "NOTTHECOOKIEATALLXYZ";
    let run = beam_node::run(node.otplab_with_cookie(wrong), "1 + 1\n");
    let all = run.all();
    assert!(run.status.success(), "{all}");
    let errors: Vec<&str> = all
        .lines()
        .filter(|l| l.to_lowercase().contains("cookie"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "one line says the cookie was refused:\n{all}"
    );
    assert!(errors[0].contains(node.name()), "{all}");
    assert!(!all.contains(wrong), "the cookie is never printed:\n{all}");
    assert!(!all.contains(node.cookie()), "{all}");
    // Back on the local system, the line is answered.
    assert!(run.stdout.lines().any(|l| l == "2"), "{all}");
}

#[test]
fn killing_the_node_mid_session_leaves_the_shell_usable() {
    let mut node = BeamNode::start();
    let mut s = node.session();
    let mut n = 0;
    let tree = answer(&mut s, "tree", &mut n);
    in_order(&tree, TODO_TREE).unwrap();
    node.kill();
    let after = answer(&mut s, "ps", &mut n);
    let said: Vec<&str> = after.lines().filter(|l| l.contains(node.name())).collect();
    assert!(!said.is_empty(), "one line says the node is gone:\n{after}");
    // The shell is back on the local system and answers.
    let sum = answer(&mut s, "1 + 1", &mut n);
    assert!(sum.lines().any(|l| l == "2"), "{sum}");
    let local = answer(&mut s, "tree", &mut n);
    assert!(local.contains("Todo.Supervisor"), "{local}");
    let (_, status) = s.finish();
    assert!(status.success());
}
