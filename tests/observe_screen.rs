//! The live observer in a real terminal, read through a terminal emulator: `observe` at the
//! prompt, the registry killed with the view's keys and its new pid seen in place, the
//! prompt and the held lines back after `q`; and `otplab observe` attached from a second
//! terminal, watching `flood worker 2000 --cast` typed in the first, the worker's queue
//! length rising on screen and falling back.

mod pty;

use pty::Term;

const DOWN: &str = "\x1b[B";

#[test]
fn observe_kills_the_registry_by_keys_and_shows_its_new_pid_then_gives_the_prompt_back() {
    for (cols, rows) in [(80, 24), (140, 40)] {
        let mut t = Term::start("observe-kill", cols, rows, &[], false);
        t.line("observe");
        t.wait_for("the tree in the view", |s| {
            s.contains("supervision tree") && s.contains("Todo.ProcessRegistry #PID<0.102.0>")
        });
        // Focus the tree, select its second row (the registry) and kill it.
        t.send("\t");
        t.send(DOWN);
        t.wait_for("the tree focused", |s| s.contains("▶ supervision tree"));
        t.send("k");
        t.wait_for("the new registry's pid in place of the old", |s| {
            s.contains("Todo.ProcessRegistry #PID<0.110.0>")
                && !s.contains("#PID<0.102.0> :todo")
                && s.contains("kill #PID<0.102.0>: exit signal :kill sent")
        });
        t.send("\x1b");
        t.send("q");
        t.wait_for("the prompt back, the restarts printed above it", |s| {
            s.contains("iex(1)> observe")
                && s.rows.iter().any(|r| r.starts_with("[restart] "))
                && s.last_row() == Some("iex(2)>")
                && !s.contains("supervision tree")
        });
        t.line("whereis :todo_process_registry");
        t.wait_for("the shell answering", |s| {
            s.contains("#PID<0.110.0>") && s.last_row() == Some("iex(3)>")
        });
        t.exit();
    }
}

/// The queue length shown for the first database worker in the process pane of the
/// attached view (a physical row: a full-screen view fills every row to the edge).
fn worker_queue(term: &Term) -> Option<usize> {
    let rows = term.physical_rows();
    let row = rows
        .iter()
        .find(|r| r.contains(".0>  Todo.DatabaseWorker 1 "))?;
    let after = row.split("Todo.DatabaseWorker 1").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// Waits, with the harness's patience, until the attached view shows what `ok` wants.
fn wait_view(term: &Term, what: &str, ok: impl Fn(&Term) -> bool) {
    let start = std::time::Instant::now();
    while !ok(term) {
        assert!(
            start.elapsed() < pty::PATIENCE,
            "the view never showed {what}:\n{}",
            term.physical_rows().join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn an_attached_viewer_sees_a_flooded_mailbox_rise_and_fall() {
    let mut shell = Term::start("observe-attach", 80, 24, &[], false);
    let pid = shell.pid().to_string();
    let runtime = shell.dir.clone();
    let mut viewer = Term::spawn(
        "observe-viewer",
        200,
        30,
        &["observe", "--pid", &pid],
        false,
        &[("XDG_RUNTIME_DIR", &runtime)],
    );
    viewer.wait_for("the attached view", |s| {
        s.contains("processes 1-") && s.contains("Todo.DatabaseWorker 1")
    });
    // A database that stores each write slowly (and each alone, the default), so the mailbox
    // takes seconds to drain; `worker` is bound as in scripts/database_flood.iex.
    shell.line("stop");
    shell.wait_prompt(2);
    shell.line("start --no-fsync --slow-db 1");
    shell.wait_prompt(3);
    shell.line("worker = Todo.ProcessRegistry.whereis_name({:database_worker, 1})");
    shell.wait_prompt(4);
    shell.line("flood worker 2000 --cast");
    wait_view(&viewer, "the worker's mailbox rising", |v| {
        worker_queue(v).is_some_and(|q| q >= 100)
    });
    wait_view(&viewer, "and falling back to empty", |v| {
        worker_queue(v) == Some(0)
    });
    shell.wait_prompt(5);
    shell.line("1 + 1");
    shell.wait_for("the shell still answering", |s| {
        s.last_row() == Some("iex(6)>")
    });
    viewer.send("q");
    shell.exit();
}
