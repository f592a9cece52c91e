//! The real binary in a pseudo-terminal: a few lines typed, Tab completion, a crash report
//! printed while a line is half typed, and that line intact afterwards.

use std::process::Command;

use rexpect::session::spawn_command;

#[test]
fn completion_and_output_above_a_half_typed_line() {
    let dir = std::env::temp_dir().join(format!("otplab-pty-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otplab"));
    cmd.args(["--no-color", "--persist"])
        .arg(&dir)
        .env("XDG_DATA_HOME", &dir)
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(20_000)).expect("the binary starts in a pty");
    p.exp_string("iex(1)> ").unwrap();

    // Tab completes a module, then a function: the line only runs if both completed.
    p.send("Todo.Cac").unwrap();
    p.send("\t").unwrap();
    p.send(".server_pro").unwrap();
    p.send("\t").unwrap();
    p.send_line("(\"Bob's list\")").unwrap();
    p.exp_string("Starting to-do server for Bob's list")
        .unwrap();
    p.exp_string("#PID<0.").unwrap();
    p.exp_string("iex(2)> ").unwrap();

    // A process dies while a line is half typed: its report appears, the line survives.
    p.send_line("spawn(fn -> :timer.sleep(400); exit(:boom) end)")
        .unwrap();
    p.exp_string("iex(3)> ").unwrap();
    p.send("1 + ").unwrap();
    p.exp_string("[exit] fn #PID<0.").unwrap();
    p.exp_string(": :boom").unwrap();
    p.send_line("41").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string("iex(4)> ").unwrap();

    // A malformed line gets one error and the shell carries on.
    p.send_line("server_proces \"x\"").unwrap();
    p.exp_string("did you mean server_process?").unwrap();
    p.send_line("exit").unwrap();
    p.exp_eof().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
