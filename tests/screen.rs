//! What a person sees in a real terminal: the binary runs in a pseudo-terminal and what it
//! writes goes through a terminal emulator, at 80x24 and at 200x50. Each test asserts rows
//! of the screen: a line that was written and then erased by the prompt's redraw, or that
//! ran into the next one, fails here even though its bytes were sent.

mod pty;

use pty::{Screen, Term};

/// The sizes every test runs at: the classic terminal and a wide one.
const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn rows_after(s: &Screen, input: &str) -> Vec<String> {
    s.after(input)
}

#[test]
fn kill_bobs_list_shows_the_restart_and_the_new_server_each_on_its_own_row() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("kill-bob", cols, rows, &[], false);
        t.line("bobs_list = server_process \"Bob's list\"");
        t.wait_prompt(2);
        t.line("kill bobs_list");
        t.wait_for("the kill's consequences, each on its own row", |s| {
            // The kill is sent during the line, so its `true` may print before or after the
            // restart it causes, as on the BEAM.
            let after = rows_after(s, "iex(2)> kill bobs_list");
            after.iter().any(|r| r == "true")
                && after
                    .iter()
                    .any(|r| r.starts_with("[exit] Todo.Server ") && r.ends_with(": killed"))
                && after
                    .iter()
                    .any(|r| r.starts_with("[restart] Todo.ServerSupervisor "))
                && after
                    .iter()
                    .any(|r| r == "Starting to-do server for Bob's list")
                && s.last_row() == Some("iex(3)>")
        });
        t.exit();
    }
}

#[test]
fn kill_registry_shows_every_restart_line() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("kill-registry", cols, rows, &[], false);
        t.line("kill registry");
        let starting = [
            "Starting process registry",
            "Starting system supervisor",
            "Starting database",
            "Starting database worker 1",
            "Starting database worker 2",
            "Starting database worker 3",
            "Starting to-do server supervisor",
            "Starting to-do cache",
        ];
        t.wait_for("all restart lines after `kill registry`", |s| {
            let after = rows_after(s, "iex(1)> kill registry");
            let restarts = after
                .iter()
                .filter(|r| r.starts_with("[restart] Todo.Supervisor "))
                .count();
            starting.iter().all(|l| after.iter().any(|r| r == l))
                && restarts == 2
                && after
                    .iter()
                    .any(|r| r.starts_with("[exit] Todo.ProcessRegistry "))
                && s.last_row() == Some("iex(2)>")
        });
        t.exit();
    }
}

#[test]
fn crash_reports_in_iex_and_sasl_style_are_shown_whole() {
    for (cols, rows) in SIZES {
        // SASL's progress reports fill more than 24 rows: at 80x24 the input has scrolled
        // away before the crash, so that style is read on the tall screen only.
        let levels: &[&str] = if rows >= 50 {
            &["iex", "sasl"]
        } else {
            &["iex"]
        };
        for &level in levels {
            let mut t = Term::start("report", cols, rows, &["--report", level], false);
            // The cast returns at once; the server's crash is reported after it, on its own.
            t.line("GenServer.cast(Todo.Cache.server_process(\"Bob's list\"), :bad)");
            t.wait_for("the report of the crash, each line whole and on its own row", |s| {
                let after = s.after("iex(1)> GenServer.cast(");
                let at = |text: &str| after.iter().position(|r| r.ends_with(text));
                let (Some(ok), Some(head), Some(last), Some(state)) = (
                    after.iter().position(|r| r == ":ok"),
                    at("[error] GenServer {:todo_server, \"Bob's list\"} terminating"),
                    after.iter().position(|r| r == "Last message: {:\"$gen_cast\", :bad}"),
                    after.iter().position(|r| r.starts_with("State: {\"Bob's list\", %Todo.List{")),
                ) else {
                    return false;
                };
                // The logger prints its reports after the line's answer; the report's reason
                // is the row under its head (SASL's supervisor report repeats it later).
                let clause = "** (FunctionClauseError) no function clause matching in Todo.Server.handle_cast/2";
                ok < head
                    && after.get(head + 1).is_some_and(|r| r == clause)
                    && head < last
                    && last < state
                    && s.last_row() == Some("iex(2)>")
            });
            t.exit();
        }
    }
}

#[test]
fn a_line_printed_while_a_line_is_half_typed_goes_above_it() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("half-typed", cols, rows, &[], false);
        t.line("spawn(fn -> :timer.sleep(300); IO.puts(\"tick\") end)");
        t.wait_prompt(2);
        t.send("1 + ");
        t.wait_for("the process's line above the half-typed one", |s| {
            let tick = s.row("tick");
            let typed = s.last_row_starting("iex(2)> 1 +");
            matches!((tick, typed), (Some(a), Some(b)) if a < b)
        });
        t.line("41");
        t.wait_for("the finished line's result", |s| {
            s.after("iex(2)> 1 + 41").first().is_some_and(|r| r == "42")
        });
        t.exit();
    }
}

#[test]
fn lines_typed_during_a_blocking_call_all_run() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("type-ahead", cols, rows, &[], false);
        t.line(":timer.sleep(1500)");
        // Typed while the shell is busy; none of them may be lost.
        t.line("1 + 1");
        t.line("2 + 2");
        t.line("3 + 3");
        t.wait_for(
            "each typed-ahead line at its own prompt with its result",
            |s| {
                s.after("iex(1)> :timer.sleep(1500)")
                    .first()
                    .is_some_and(|r| r == ":ok")
                    && s.after("iex(2)> 1 + 1").first().is_some_and(|r| r == "2")
                    && s.after("iex(3)> 2 + 2").first().is_some_and(|r| r == "4")
                    && s.after("iex(4)> 3 + 3").first().is_some_and(|r| r == "6")
                    && s.last_row() == Some("iex(5)>")
            },
        );
        t.exit();
    }
}

#[test]
fn a_pasted_block_of_seed_lines_runs_line_by_line() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("paste", cols, rows, &[], false);
        t.paste(concat!(
            "bobs_list = Todo.Cache.server_process(\"Bob's list\")\n",
            "Todo.Server.add_entry(bobs_list, %{date: ~D[2023-12-19], title: \"Dentist\"})\n",
            "Todo.Server.entries(bobs_list, ~D[2023-12-19])\n",
            "Todo.Cache.server_process(\"Bob's list\") == bobs_list\n",
        ));
        t.wait_for("four prompts, each with its own result", |s| {
            s.after("iex(1)> bobs_list = Todo.Cache.server_process(")
                .iter()
                .any(|r| r.starts_with("#PID<"))
                && s.after("iex(2)> Todo.Server.add_entry(")
                    .first()
                    .is_some_and(|r| r == ":ok")
                && s.after("iex(3)> Todo.Server.entries(")
                    .first()
                    .is_some_and(|r| r == "[%{date: ~D[2023-12-19], id: 1, title: \"Dentist\"}]")
                && s.after("iex(4)> Todo.Cache.server_process(")
                    .first()
                    .is_some_and(|r| r == "true")
                && s.last_row() == Some("iex(5)>")
        });
        t.exit();
    }
}

#[test]
fn ctrl_c_during_a_blocking_call_gives_the_prompt_back() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("ctrl-c", cols, rows, &[], false);
        t.line("sc = SlowCounter.new");
        t.wait_prompt(2);
        // The store runs first, so once its file exists the blocking call is being
        // evaluated: the Ctrl-C below is then the terminal's SIGINT during that call.
        t.line("Todo.Database.store(\"started\", 1); SlowCounter.inc_of(sc, 1)");
        let marker = t
            .persist()
            .join(otplab::todo::persist::file_name("started").unwrap());
        t.wait_entered("SlowCounter.inc_of(sc, 1)");
        t.wait_for("the evaluation under way", |_| marker.exists());
        // Ctrl-C as the terminal sends it.
        t.send("\x03");
        t.wait_for("the cancelled call and the prompt", |s| {
            s.after("iex(2)> Todo.Database.store(")
                .iter()
                .any(|r| r.contains("Interrupted"))
                && s.last_row() == Some("iex(2)>")
        });
        t.line("Process.alive?(sc)");
        t.wait_for("the counter still alive", |s| {
            s.after("iex(2)> Process.alive?(sc)")
                .first()
                .is_some_and(|r| r == "true")
        });
        t.exit();
    }
}

#[test]
fn the_shells_own_crash_shows_the_exit_the_banner_and_a_fresh_prompt() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("shell-crash", cols, rows, &[], false);
        t.line("{:ok, cr} = Crasher.start_link");
        t.wait_prompt(2);
        t.line("Crasher.boom(cr)");
        t.wait_for("the shell's exit, the banner and iex(1)", |s| {
            let after = s.after("iex(2)> Crasher.boom(cr)");
            after.iter().any(|r| {
                r.starts_with("** (EXIT from #PID<")
                    && r.ends_with("shell process exited with reason: an exception was raised:")
            }) && after.iter().any(|r| r.starts_with("Interactive otplab"))
                && s.last_row() == Some("iex(1)>")
        });
        t.line("1 + 1");
        t.wait_for("the new shell answers", |s| {
            s.after("iex(1)> 1 + 1").first().is_some_and(|r| r == "2")
        });
        t.exit();
    }
}

#[test]
fn a_shell_crash_while_typing_replaces_the_prompt_with_iex_1() {
    for (cols, rows) in SIZES {
        let mut t = Term::start("shell-crash-async", cols, rows, &[], false);
        t.line("spawn_link(fn -> :timer.sleep(300); exit(:boom) end)");
        t.wait_prompt(2);
        t.line("x = 1");
        t.wait_prompt(3);
        // Half a line typed when the linked process takes the shell down: as in iex, the
        // old prompt goes, and the line typed at it goes with the old shell.
        t.send("1 + ");
        t.wait_for("the shell's exit, the banner, and a fresh iex(1)", |s| {
            let after = s.after("iex(2)> x = 1");
            after.iter().any(|r| {
                r.starts_with("** (EXIT from #PID<")
                    && r.ends_with("shell process exited with reason: :boom")
            }) && after.iter().any(|r| r.starts_with("Interactive otplab"))
                && !s.contains("iex(3)>")
                && s.last_row() == Some("iex(1)>")
        });
        t.line("1 + 1");
        t.wait_for("the new shell's first line", |s| {
            s.after("iex(1)> 1 + 1").first().is_some_and(|r| r == "2")
                && s.last_row() == Some("iex(2)>")
        });
        t.exit();
    }
}

#[test]
fn trace_show_at_80_columns_fits_every_row_and_names_the_lifelines() {
    let mut t = Term::start("trace-width", 80, 24, &[], false);
    t.line("trace on");
    t.wait_prompt(2);
    t.line("server_process \"Bob's list\"");
    t.wait_prompt(3);
    t.line("Todo.Server.entries(Todo.Cache.server_process(\"Bob's list\"), ~D[2023-12-19])");
    t.wait_prompt(4);
    t.line("trace show");
    t.wait_prompt(5);
    // Physical rows, as a person sees them: a diagram row longer than 80 columns would run
    // onto the next row and leave a piece of itself there, without a lifeline at its start.
    let rows = t.physical_rows();
    // A diagram that wraps takes two or three rows per message and pushes its own first
    // rows, and the line that asked for it, off the 24 rows of the screen.
    let Some(shown) = rows
        .iter()
        .position(|r| r.starts_with("iex(4)> trace show"))
    else {
        panic!(
            "the diagram does not fit under its line on screen:\n{}",
            rows.join("\n")
        );
    };
    let end = rows.iter().rposition(|r| r == "iex(5)>").unwrap();
    let diagram = &rows[shown + 1..end];
    let header: Vec<&String> = diagram.iter().take_while(|r| !r.contains("CALL")).collect();
    let header_text = header
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        header_text.starts_with("shell")
            && header_text.contains(":todo_process_registry")
            && header_text.contains(":todo_cache"),
        "the lifelines are named:\n{}",
        diagram.join("\n")
    );
    let messages = &diagram[header.len()..];
    assert!(
        messages.len() >= 10,
        "the messages below the header:\n{}",
        diagram.join("\n")
    );
    for row in messages {
        assert!(
            row.starts_with('│') && row.chars().count() <= 80,
            "a diagram row that wrapped:\n{}",
            diagram.join("\n")
        );
    }
    assert!(
        messages
            .iter()
            .any(|r| r.contains("CALL {:entries, ~D[2023-12-19]}"))
    );
    t.exit();
}

#[test]
fn a_bare_undefined_name_shows_iexs_warning_above_its_compile_error() {
    // iex 1.14 writes the warning on standard error, then the CompileError: both on screen,
    // in that order, each whole, and the prompt's number unchanged after the error.
    let warning = "warning: variable \"foo\" does not exist and is being expanded to \"foo()\", \
                   please use parentheses to remove the ambiguity or change the variable name";
    for (cols, rows) in SIZES {
        let mut t = Term::start("expanded-variable", cols, rows, &[], false);
        t.line("foo");
        t.wait_for("the warning, its place, then the error", |s| {
            let after = rows_after(s, "iex(1)> foo");
            after.len() >= 4
                && after[0] == warning
                && after[1] == "  iex:1"
                && after[2].is_empty()
                && after[3]
                    == "** (CompileError) iex:1: undefined function foo/0 (there is no such import)"
                && s.last_row() == Some("iex(1)>")
        });
        t.exit();
    }
}
