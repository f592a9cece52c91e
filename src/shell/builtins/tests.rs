//! Unit tests of the built-ins: small inputs and the lines the shell prints for them, one
//! test per module file, run in a session with nothing booted unless the test needs the
//! to-do system.

use super::*;
use crate::shell::session::{Options, Session};

/// Evaluates each input in one session and compares all it printed, joined by newlines.
async fn check(session: &mut Session, cases: &[(&str, &str)]) {
    for (input, want) in cases {
        let got = session.eval(input).await.join("\n");
        assert_eq!(got, *want, "input: {input}");
    }
}

async fn bare() -> Session {
    Session::start(Options {
        bare: true,
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_and_io() {
    let mut s = bare().await;
    check(
        &mut s,
        &[
            ("elem({:a, :b}, 1)", ":b"),
            (
                "hd([])",
                "** (ArgumentError) errors were found at the given arguments:\n\n  * 1st argument: not a nonempty list\n\n    :erlang.hd([])",
            ),
            ("length([1, 2, 3])", "3"),
            ("div(7, 2)", "3"),
            (
                "rem(7, 0)",
                "** (ArithmeticError) bad argument in arithmetic expression: rem(7, 0)\n    :erlang.rem(7, 0)",
            ),
            ("is_pid(self())", "true"),
            ("to_string(:hello)", "\"hello\""),
            ("inspect(\"a\")", "\"\\\"a\\\"\""),
            (
                "i(1.5)",
                "Term\n  1.5\nData type\n  Float\nReference modules\n  Float\nImplemented protocols\n  IEx.Info, Inspect, List.Chars, String.Chars",
            ),
            ("pid(\"0.5.0\")", "#PID<0.5.0>"),
            ("IO.puts(\"a\\tb\")", "a\tb\n:ok"),
            (
                "foo(1)",
                "** (CompileError) iex:10: undefined function foo/1 (there is no such import)\n",
            ),
        ],
    )
    .await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enumerable() {
    let mut s = bare().await;
    check(
        &mut s,
        &[
            ("Enum.map([1, 2, 3], fn x -> x * 2 end)", "[2, 4, 6]"),
            ("Enum.sum([1, 2.5])", "3.5"),
            ("Enum.join([\"a\", \"b\"], \"-\")", "\"a-b\""),
            ("Enum.reduce(1..4, 0, fn x, acc -> x + acc end)", "10"),
            ("Enum.filter(1..6, fn x -> rem(x, 2) == 0 end)", "[2, 4, 6]"),
            ("Enum.with_index([:a, :b])", "[a: 0, b: 1]"),
            (
                "Enum.max([])",
                "** (Enum.EmptyError) empty error\n    Enum.max/1",
            ),
            (
                "Enum.mapp([1], 2)",
                "** (UndefinedFunctionError) function Enum.mapp/2 is undefined or private. Did you mean map?\n    Enum.mapp([1], 2)",
            ),
        ],
    )
    .await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_ets_and_erlang() {
    let mut s = bare().await;
    check(
        &mut s,
        &[
            ("Process.alive?(self())", "true"),
            ("Process.whereis(:nobody)", "nil"),
            (
                "Proces.alive?(self())",
                "** (UndefinedFunctionError) function Proces.alive?/1 is undefined (module Proces is not available). Did you mean Process?\n    Proces.alive?(#PID<0.100.0>)",
            ),
            (":ets.new(:t, [:named_table, :public])", ":t"),
            (":ets.insert(:t, {:a, 1})", "true"),
            (":ets.lookup(:t, :a)", "[a: 1]"),
            (":ets.update_counter(:t, :a, 5)", "6"),
            (
                ":erlang.binary_to_term(:erlang.term_to_binary({:ok, [1, \"x\"]}))",
                "{:ok, [1, \"x\"]}",
            ),
            (":erlang.phash2(\"x\", 10)", "9"),
            (":rand.uniform(1)", "1"),
        ],
    )
    .await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_server_and_counters() {
    let mut s = bare().await;
    check(
        &mut s,
        &[
            ("{:ok, c} = GenServer.start(Counter, nil); :started", ":started"),
            ("GenServer.call(c, {:inc_of, 3})", ":ok"),
            ("GenServer.call(c, :value)", "3"),
            ("Counter.value(c)", "3"),
            (
                "GenServer.call(:nobody, :value)",
                "** (exit) exited in: GenServer.call(:nobody, :value, 5000)\n    ** (EXIT) no process: the process is not alive or there's no process currently associated with the given name, possibly because its application isn't started\n    GenServer.call/3",
            ),
        ],
    )
    .await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todo_server_through_the_system() {
    let dir = std::env::temp_dir().join(format!("otplab-builtins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = Session::start(Options {
        config: crate::todo::Config::with_dir(&dir),
        ..Options::default()
    })
    .await;
    check(
        &mut s,
        &[
            (
                "bob = Todo.Cache.server_process(\"Bob's list\"); is_pid(bob)",
                "Starting to-do server for Bob's list\ntrue",
            ),
            (
                "Todo.Server.add_entry(bob, %{date: ~D[2023-12-19], title: \"Dentist\"})",
                ":ok",
            ),
            (
                "Todo.Server.entries(bob, ~D[2023-12-19])",
                "[%{date: ~D[2023-12-19], id: 1, title: \"Dentist\"}]",
            ),
            ("Todo.Server.whereis(\"nobody's list\")", "nil"),
        ],
    )
    .await;
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_reads_the_tables() {
    assert_eq!(
        help_text(Some("Enum.count")),
        "Enum.count/1\n  the number of elements"
    );
    assert!(
        help_text(None)
            .starts_with("Built-in modules (h Module for its functions):\n  Kernel\n  Process")
    );
    assert!(!help_text(None).contains("Todo.SystemSupervisor"));
    assert_eq!(
        help_text(Some("Nope")),
        "Could not load module Nope, got: nofile"
    );
}

#[test]
fn module_names_resolve_with_the_seeds_spelling() {
    assert!(module_functions("SlowButResponsiveCounter").is_some());
    assert_eq!(
        module_functions("SlowButResponsiveCounter"),
        module_functions("SlowButReponsiveCounter")
    );
    assert!(module_functions("Nope").is_none());
    let names: Vec<&str> = MODULES.iter().map(|(m, _)| *m).collect();
    assert_eq!(names.first(), Some(&"Kernel"));
    assert_eq!(names.last(), Some(&":sys"));
}
