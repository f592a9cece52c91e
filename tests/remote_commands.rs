//! otplab's commands and Elixir lines on a real node (issue 16): the node of
//! `scripts/beam/node/todo.exs`, started by the harness of `tests/beam_node/`. What is
//! checked is what the BEAM does: a session's bindings and evaluator survive between lines
//! as in `iex --remsh`, what a line prints comes back, a killed evaluator is reported and
//! replaced, and the commands act on the node's own processes.

mod beam_node;

use beam_node::BeamNode;

/// The lines of a run's output.
fn lines(out: &str) -> Vec<&str> {
    out.lines().collect()
}

/// The line after the one that is `iex(NODE)N> input` for this input.
fn answer<'a>(out: &'a str, input: &str) -> &'a str {
    let all = lines(out);
    let at = all
        .iter()
        .position(|l| l.ends_with(&format!("> {input}")))
        .unwrap_or_else(|| panic!("no prompt for {input:?} in:\n{out}"));
    all.get(at + 1).copied().unwrap_or("")
}

#[test]
fn elixir_lines_keep_their_bindings_evaluator_and_output_as_remsh_does() {
    let node = BeamNode::start();
    let r = node.run(
        "x = 20 + 1\n\
         x * 2\n\
         a = self()\n\
         self() == a\n\
         send(self(), :hello)\n\
         receive do m -> m end\n\
         IO.puts(\"printed on the node\")\n\
         Node.self()\n",
    );
    let out = &r.stdout;
    assert!(
        out.contains(&format!("iex({})1> x = 20 + 1", node.name())),
        "the prompt names the node:\n{}",
        r.all()
    );
    assert_eq!(answer(out, "x * 2"), "42", "{}", r.all());
    assert_eq!(
        answer(out, "self() == a"),
        "true",
        "one evaluator:\n{}",
        r.all()
    );
    assert_eq!(
        answer(out, "receive do m -> m end"),
        ":hello",
        "its mailbox is kept:\n{}",
        r.all()
    );
    assert_eq!(
        answer(out, "IO.puts(\"printed on the node\")"),
        "printed on the node"
    );
    assert_eq!(answer(out, "Node.self()"), format!(":{}", node.name()));
    assert!(
        !node.output().contains("printed on the node"),
        "the line's output comes to otplab, not to the node's terminal"
    );
}

#[test]
fn a_killed_evaluator_is_reported_and_replaced_and_its_bindings_go_with_it() {
    let node = BeamNode::start();
    let r = node.run("x = 1\nProcess.exit(self(), :kill)\nx\n:still_here\n");
    let out = &r.stdout;
    let killed = answer(out, "Process.exit(self(), :kill)");
    assert!(
        killed.starts_with("** (EXIT from #PID<0.")
            && killed.ends_with(") shell process exited with reason: killed"),
        "{}",
        r.all()
    );
    assert!(
        answer(out, "x").contains("undefined function x/0"),
        "{}",
        r.all()
    );
    assert_eq!(answer(out, ":still_here"), ":still_here");
}

#[test]
fn the_short_forms_act_on_the_nodes_to_do_system() {
    let node = BeamNode::start();
    let r = node.run(
        "bobs_list = server_process \"Bob's list\"\n\
         add_entry \"Bob's list\" 2023-12-19 \"Dentist\"\n\
         entries \"Bob's list\" 2023-12-19\n\
         Todo.Server.entries(bobs_list, ~D[2023-12-19])\n\
         old = whereis registry\n\
         kill registry\n\
         Enum.find_value(1..1000, fn _ -> p = Process.whereis(:todo_process_registry); (p && p != old) || (Process.sleep(10) && nil) end)\n\
         alive? bobs_list\n\
         kill :nosuch\n",
    );
    let out = &r.stdout;
    let entry = "[%{date: ~D[2023-12-19], id: 1, title: \"Dentist\"}]";
    assert_eq!(
        answer(out, "entries \"Bob's list\" 2023-12-19"),
        entry,
        "{}",
        r.all()
    );
    assert_eq!(
        answer(out, "Todo.Server.entries(bobs_list, ~D[2023-12-19])"),
        entry,
        "a command's bound result is a variable of the node's lines:\n{}",
        r.all()
    );
    assert_eq!(answer(out, "kill registry"), "true");
    assert_eq!(
        answer(
            out,
            "Enum.find_value(1..1000, fn _ -> p = Process.whereis(:todo_process_registry); (p && p != old) || (Process.sleep(10) && nil) end)"
        ),
        "true",
        "the registry is restarted with a new pid (polled on the node, with a deadline):\n{}",
        r.all()
    );
    assert_eq!(
        answer(out, "alive? bobs_list"),
        "false",
        "rest_for_one took the server down with the registry:\n{}",
        r.all()
    );
    assert_eq!(
        answer(out, "kill :nosuch"),
        format!(
            "** (ArgumentError) :nosuch is not registered on {}",
            node.name()
        )
    );
}

#[test]
fn tree_and_ps_draw_the_nodes_processes_and_a_mute_supervisor_never_hangs_them() {
    let node = BeamNode::start();
    let r = node.run(
        "tree\n\
         db = whereis database\n\
         :sys.suspend(db)\n\
         tree\n\
         tree cache\n\
         ps --sort mailbox\n",
    );
    let out = &r.stdout;
    for name in [
        "(rest_for_one, 3 restarts in 5 s)",
        "└─ Todo.SystemSupervisor #PID<0.",
        "Todo.Cache #PID<0.",
        ":todo_cache",
        "{:database_worker, 1} #PID<0.",
        "├─ Todo.ProcessRegistry #PID<0.",
    ] {
        assert!(out.contains(name), "{name}:\n{}", r.all());
    }
    assert!(
        out.contains("└─ (no answer within 1000 ms)"),
        "the suspended database is drawn as not answering:\n{}",
        r.all()
    );
    assert!(
        out.contains("is not a supervisor"),
        "a worker is not asked for children:\n{}",
        r.all()
    );
    let header = lines(out)
        .into_iter()
        .find(|l| l.starts_with("PID "))
        .unwrap_or_else(|| panic!("no ps table:\n{}", r.all()));
    for column in ["MODULE", "NAME", "MSGQ", "STATUS", "MEMORY", "RESTARTS"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        out.contains(":todo_cache") && out.contains("Todo.Cache"),
        "{}",
        r.all()
    );
}
