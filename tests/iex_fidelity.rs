//! What iex 1.14 prints, checked where a user meets it: `use GenServer`'s default callbacks
//! through the runtime's API, and the shell's lines (crash reports in `report iex`, errors
//! with their blank line or stack lines, `:ets.info`, `Process.info`, `h`, `i`,
//! `recompile`) through a session, each expectation taken from real iex (issue 12).

mod common;

use common::node;
use otplab::runtime::gen_server::{self, GenServer, Init, StartOpts};
use otplab::runtime::{CallError, Dest, Event, ExitReason, Pid, Process, Term, atom};
use otplab::shell::report::Level;
use otplab::shell::session::{Options, Session};

/// A GenServer with only `init`, as `defmodule S do use GenServer; def init(x), do: {:ok, x}
/// end`.
struct Bare;

impl GenServer for Bare {
    type Arg = ();
    fn module() -> &'static str {
        "S"
    }
    async fn init(_: (), _p: &mut Process) -> Result<Init<Self>, ExitReason> {
        Ok(Init::Ok(Bare))
    }
    fn state(&self) -> Term {
        Term::Int(0)
    }
}

/// The next crash report or unexpected-message log the node publishes.
async fn next_log(events: &mut otplab::runtime::Events) -> Event {
    loop {
        match events.recv().await {
            Ok(e @ (Event::Crash(_) | Event::UnexpectedMessage(_))) => return e,
            Ok(_) => {}
            Err(e) => panic!("the event stream ended: {e}"),
        }
    }
}

#[tokio::test]
async fn a_call_without_handle_call_crashes_with_elixirs_runtime_error() {
    let node = node();
    let mut events = node.events();
    let pid = gen_server::start::<Bare>(&node, (), StartOpts::named("srv"))
        .await
        .unwrap();
    let err = node
        .call(Pid(0), &Dest::Pid(pid), atom("ask"), None)
        .await
        .unwrap_err();
    let message = "attempted to call GenServer :srv but no handle_call/3 clause was provided";
    assert_eq!(err, CallError::Exited(ExitReason::runtime_error(message)));
    let Event::Crash(report) = next_log(&mut events).await else {
        panic!("a crash report")
    };
    assert!(report.raised);
    assert_eq!(report.callback, "handle_call/3");
    assert_eq!(report.reason.frames(), vec!["S.handle_call/3"]);
}

#[tokio::test]
async fn a_cast_without_handle_cast_crashes_and_a_message_without_handle_info_is_logged() {
    let node = node();
    let mut events = node.events();
    let pid = gen_server::start::<Bare>(&node, (), StartOpts::default())
        .await
        .unwrap();
    node.send(None, &Dest::Pid(pid), atom("hello"));
    match next_log(&mut events).await {
        Event::UnexpectedMessage(m) => {
            assert_eq!(
                (m.pid, m.name.clone(), &*m.label, m.message.clone()),
                (pid, None, "S", atom("hello"))
            );
        }
        other => panic!("expected the unexpected-message log, got {other:?}"),
    }
    assert!(node.alive(pid), "the server carries on");

    node.cast(None, &Dest::Pid(pid), atom("hi"));
    let Event::Crash(report) = next_log(&mut events).await else {
        panic!("a crash report")
    };
    assert_eq!(
        report.reason,
        ExitReason::runtime_error(format!(
            "attempted to cast GenServer {pid} but no handle_cast/2 clause was provided"
        ))
    );
    assert_eq!(
        report.last_message,
        Some(Term::tuple(vec![atom("$gen_cast"), atom("hi")]))
    );
}

async fn shell(bare: bool) -> Session {
    let dir = std::env::temp_dir().join(format!("otplab-iex-fidelity-{}", std::process::id()));
    let mut config = otplab::todo::Config::with_dir(&dir);
    config.fsync = false;
    Session::start(Options {
        bare,
        config,
        level: Level::Iex,
        ..Options::default()
    })
    .await
}

/// Everything a line prints, its asynchronous consequences included, timestamps cut.
async fn lines(s: &mut Session, input: &str) -> Vec<String> {
    let mut out = s.eval(input).await;
    out.extend(s.settle().await);
    out.into_iter()
        .map(|l| match l.split_once(" [error] ") {
            Some((_, rest)) => format!("... [error] {rest}"),
            None => l,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_prints_gen_servers_default_callbacks_as_iex() {
    let mut s = shell(true).await;
    lines(&mut s, "{:ok, c} = GenServer.start(Counter, nil)").await;
    let pid = s.eval("c").await.join("");
    assert_eq!(
        lines(&mut s, "send(c, :hello)").await,
        vec![
            ":hello".to_string(),
            String::new(),
            format!(
                "... [error] Counter {pid} received unexpected message in handle_info/2: :hello"
            ),
            String::new(),
        ]
    );
    assert_eq!(lines(&mut s, "Process.alive?(c)").await, vec!["true"]);
    assert_eq!(
        lines(&mut s, "GenServer.cast(c, :hi)").await,
        vec![
            ":ok".to_string(),
            String::new(),
            format!("... [error] GenServer {pid} terminating"),
            format!(
                "** (RuntimeError) attempted to cast GenServer {pid} but no handle_cast/2 clause was provided"
            ),
            "    Counter.handle_cast/2".to_string(),
            "Last message: {:\"$gen_cast\", :hi}".to_string(),
            "State: %{count: 0, value: 0}".to_string(),
        ]
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_iexs_blank_line_or_the_frames_otplab_knows() {
    let mut s = shell(true).await;
    let cases: &[(&str, &[&str])] = &[
        ("raise \"boom\"", &["** (RuntimeError) boom", ""]),
        ("exit(:boom)", &["** (exit) :boom", ""]),
        (
            "1 / 0",
            &[
                "** (ArithmeticError) bad argument in arithmetic expression: 1 / 0",
                "    :erlang./(1, 0)",
            ],
        ),
        (
            "rem(7, 0)",
            &[
                "** (ArithmeticError) bad argument in arithmetic expression: rem(7, 0)",
                "    :erlang.rem(7, 0)",
            ],
        ),
        (
            ":ets.lookup(:nope, 1)",
            &[
                "** (ArgumentError) errors were found at the given arguments:",
                "",
                "  * 1st argument: the table identifier does not refer to an existing ETS table",
                "",
                "    :ets.lookup(:nope, 1)",
            ],
        ),
        (
            "Foo.bar()",
            &[
                "** (UndefinedFunctionError) function Foo.bar/0 is undefined (module Foo is not available)",
                "    Foo.bar()",
            ],
        ),
        (
            "GenServer.call(:nope, :x)",
            &[
                "** (exit) exited in: GenServer.call(:nope, :x, 5000)",
                "    ** (EXIT) no process: the process is not alive or there's no process currently associated with the given name, possibly because its application isn't started",
                "    GenServer.call/3",
            ],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(lines(&mut s, input).await, *want, "input: {input}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ets_info_has_otp_25s_keys_and_undefined_for_a_gone_table() {
    let mut s = shell(true).await;
    lines(&mut s, "t = :ets.new(:bar, [:bag, :public])").await;
    let info = lines(&mut s, ":ets.info(t)").await.join("\n");
    let keys: Vec<&str> = info
        .lines()
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
        .collect();
    // As iex 1.14 on OTP 25 lists them.
    assert_eq!(
        keys.join(", "),
        "id, decentralized_counters, read_concurrency, write_concurrency, compressed, memory, \
         owner, heir, name, size, node, named_table, type, keypos, protection"
    );
    let cases: &[(&str, &[&str])] = &[
        (":ets.info(t, :owner) == self()", &["true"]),
        (":ets.insert(t, {:a, 1})", &["true"]),
        (":ets.info(t, :size)", &["1"]),
        (":ets.info(t, :heir)", &[":none"]),
        (":ets.info(t, :name)", &[":bar"]),
        (":ets.info(t, :named_table)", &["false"]),
        (":ets.info(t, :type)", &[":bag"]),
        (":ets.info(t, :protection)", &[":public"]),
        (":ets.info(t, :keypos)", &["1"]),
        ("is_integer(:ets.info(t, :memory))", &["true"]),
        (
            ":ets.info(t, :bogus)",
            &[
                "** (ArgumentError) errors were found at the given arguments:",
                "",
                "  * 2nd argument: not a valid info item",
                "",
            ],
        ),
        (":ets.new(:named, [:named_table])", &[":named"]),
        (
            ":ets.new(:named, [:named_table])",
            &[
                "** (ArgumentError) errors were found at the given arguments:",
                "",
                "  * 1st argument: table name already exists",
                "",
                "    :ets.new(:named, [:named_table])",
            ],
        ),
        (":ets.delete(t)", &["true"]),
        (":ets.info(t)", &[":undefined"]),
        (":ets.info(t, :size)", &[":undefined"]),
    ];
    for (input, want) in cases {
        let got = lines(&mut s, input).await;
        let got: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .take_while(|l| !l.starts_with("    :ets.info(#Reference"))
            .collect();
        assert_eq!(got, *want, "input: {input}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_info_and_the_helpers_read_as_iex() {
    let mut s = shell(false).await;
    let info = lines(&mut s, "Process.info(Process.whereis(:todo_cache))").await;
    assert_eq!(
        info,
        [
            "[",
            "  registered_name: :todo_cache,",
            "  current_function: {:gen_server, :loop, 7},",
            "  initial_call: {:proc_lib, :init_p, 5},",
            "  status: :waiting,",
            "  message_queue_len: 0,",
            "  links: [#PID<0.103.0>],",
            "  dictionary: [],",
            "  trap_exit: false,",
            "  priority: :normal,",
            "  suspending: []",
            "]"
        ]
    );
    let cases: &[(&str, &[&str])] = &[
        (
            "Process.info(self(), :current_function)",
            &["{:current_function, {Process, :info, 2}}"],
        ),
        // The shell and the nine processes of the booted system.
        ("Process.list |> length", &["10"]),
        ("Enum.member?(Process.list, self())", &["true"]),
        (
            "h Process.alive?",
            &["Process.alive?/1", "  whether a process is alive"],
        ),
        (
            "h Process.info/2",
            &[
                "Process.info/2",
                "  information about a process: message_queue_len, memory, status, links…",
            ],
        ),
        ("h Foo", &["Could not load module Foo, got: nofile"]),
        (
            "i :ok",
            &[
                "Term",
                "  :ok",
                "Data type",
                "  Atom",
                "Reference modules",
                "  Atom",
                "Implemented protocols",
                "  IEx.Info, Inspect, List.Chars, String.Chars",
            ],
        ),
        (
            "recompile",
            &[
                "Mix is not running. Please start IEx with: iex -S mix",
                ":error",
            ],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(lines(&mut s, input).await, *want, "input: {input}");
    }
    s.shutdown().await;
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("otplab-iex-fidelity-{}", std::process::id())),
    );
}
