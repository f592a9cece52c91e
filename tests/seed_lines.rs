//! Every iex line of the seeds, pasted as it is, in order, section by section, gives the
//! result the seeds describe (issue 6). Each section starts a fresh session with its own
//! persist folder.

use otplab::shell::report::Level;
use otplab::shell::session::{Options, Session};
use otplab::todo::Config;

struct Paste {
    session: Session,
    dir: std::path::PathBuf,
}

impl Paste {
    async fn new(tag: &str, bare: bool) -> Paste {
        let dir = std::env::temp_dir().join(format!("otplab-seed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config::with_dir(&dir);
        config.fsync = false;
        let options = Options {
            bare,
            config,
            speed: 1000.0,
            level: Level::Iex,
            ..Options::default()
        };
        Paste {
            session: Session::start(options).await,
            dir,
        }
    }

    /// Pastes one input; returns the last line it printed (the result).
    async fn line(&mut self, input: &str) -> String {
        let out = self.session.eval(input).await;
        let mut all = out.clone();
        all.extend(self.session.settle().await);
        assert!(
            !out.iter().any(|l| l.starts_with("** (SyntaxError)")
                || l.starts_with("** (CompileError)")
                || l.starts_with("** (UndefinedFunctionError)")),
            "{input:?} did not run:\n{}",
            all.join("\n")
        );
        out.last().cloned().unwrap_or_default()
    }

    async fn all(&mut self, input: &str) -> Vec<String> {
        let mut out = self.session.eval(input).await;
        out.extend(self.session.settle().await);
        out
    }
}

impl Drop for Paste {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_pid(s: &str) -> bool {
    s.starts_with("#PID<0.") && s.ends_with(".0>")
}

const DENTIST: &str = r#"[%{date: ~D[2023-12-19], id: 1, title: "Dentist"}]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_chapter_7_sessions() {
    let mut s = Paste::new("003", false).await;
    // 7.1
    assert!(
        s.line("{:ok, todo_server} = Todo.Server.start()")
            .await
            .starts_with("{:ok, #PID<0.")
    );
    assert_eq!(s.line("Todo.Server.add_entry(\n    todo_server,\n    %{date: ~D[2023-12-19], title: \"Dentist\"}\n)").await, ":ok");
    assert_eq!(
        s.line("Todo.Server.entries(todo_server, ~D[2023-12-19])")
            .await,
        DENTIST
    );
    // 7.2.1
    assert!(
        s.line("{:ok, cache} = Todo.Cache.start()")
            .await
            .starts_with("{:ok, #PID<0.")
    );
    let bob = s
        .line("Todo.Cache.server_process(cache, \"Bob's list\")")
        .await;
    assert!(is_pid(&bob));
    assert_eq!(
        s.line("Todo.Cache.server_process(cache, \"Bob's list\")")
            .await,
        bob
    );
    let alice = s
        .line("Todo.Cache.server_process(cache, \"Alice's list\")")
        .await;
    assert_eq!(
        s.line("Todo.Cache.server_process(cache, \"Alice's list\")")
            .await,
        alice
    );
    assert_ne!(alice, bob);
    assert_eq!(
        s.line("bobs_list = Todo.Cache.server_process(cache, \"Bob's list\")")
            .await,
        bob
    );
    assert_eq!(
        s.line(
            "Todo.Server.add_entry(\n  bobs_list,\n  %{date: ~D[2023-12-19], title: \"Dentist\"}\n)"
        )
        .await,
        ":ok"
    );
    assert_eq!(
        s.line("Todo.Server.entries(bobs_list, ~D[2023-12-19])")
            .await,
        DENTIST
    );
    assert_eq!(s.line("Todo.Cache.server_process(cache, \"Alice's list\") |>\nTodo.Server.entries(~D[2023-12-19])").await, "[]");
    // 7.3.2
    assert!(
        s.line("{:ok, cache} = Todo.Cache.start()")
            .await
            .starts_with("{:ok, #PID<0.")
    );
    assert!(is_pid(
        &s.line("bobs_list = Todo.Cache.server_process(cache, \"bobs_list\")")
            .await
    ));
    assert_eq!(s.line("Todo.Server.add_entry(\n    bobs_list,\n    %{date: ~D[2023-12-19], title: \"Dentist\"}\n)").await, ":ok");
    assert_eq!(s.line("Todo.Server.sync(bobs_list)").await, ":ok");
    assert!(
        s.line("Todo.Database.get(\"bobs_list\")")
            .await
            .contains("Dentist")
            || s.all("Todo.Database.get(\"bobs_list\")")
                .await
                .join("\n")
                .contains("Dentist")
    );
    // 7.2.2: the comparison of two pids.
    assert_eq!(
        s.line("left_value = Todo.Cache.server_process(cache, \"bob\")")
            .await,
        s.line("Todo.Cache.server_process(cache, \"bob\")").await
    );
    let right = s
        .line("right_value = Todo.Cache.server_process(cache, \"alice\")")
        .await;
    assert!(is_pid(&right));
    assert_eq!(s.line("left_value == right_value").await, "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_supervision_profiler_and_ets() {
    let mut s = Paste::new("001", true).await;
    assert!(
        s.all("Todo.Supervisor.start_link")
            .await
            .iter()
            .any(|l| l == "Starting process registry")
    );
    let bob = s
        .line("bobs_list = Todo.Cache.server_process(\"Bob's list\")")
        .await;
    assert!(is_pid(&bob));
    assert_eq!(s.line("Process.exit(bobs_list, :kill)").await, "true");
    let again = s.line("Todo.Cache.server_process(\"Bob's list\")").await;
    assert!(
        is_pid(&again) && again != bob,
        "a new pid after the kill: {again}"
    );
    assert_eq!(
        s.line("Process.whereis(:todo_process_registry) |> Process.exit(:kill)")
            .await,
        "true"
    );
    let after = s.line("Todo.Cache.server_process(\"Bob's list\")").await;
    assert!(is_pid(&after) && after != again);
    assert_eq!(s.line("Process.alive?(bobs_list)").await, "false");
    // The profiler section, smaller.
    s.line("alias Todo.{Cache, Supervisor}").await;
    s.line("number_of_lists = 100").await;
    s.line("func = fn -> Cache.server_process(\"list #{:rand.uniform(number_of_lists)}\") end")
        .await;
    assert!(
        s.all("Profiler.run(func, 1000)")
            .await
            .iter()
            .any(|l| l.ends_with("reqs/sec"))
    );
    assert!(
        s.all("Profiler.run(func, 100, 10)")
            .await
            .iter()
            .any(|l| l.ends_with("reqs/sec"))
    );
    // The ETS section: a named protected table owned by the shell.
    assert_eq!(
        s.line(":ets.new(:ets_todo_cache, [:set, :named_table, :protected])")
            .await,
        ":ets_todo_cache"
    );
    assert_eq!(
        s.line(":ets.insert(:ets_todo_cache, {\"Bob's list\", self()})")
            .await,
        "true"
    );
    assert!(
        s.line(":ets.lookup(:ets_todo_cache, \"Bob's list\")")
            .await
            .starts_with("[{\"Bob's list\", #PID<0.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_talk_counters() {
    let mut s = Paste::new("000", true).await;
    assert!(is_pid(&s.line("c = Counter.new").await));
    for v in [12, 13, 42] {
        assert_eq!(s.line(&format!("Counter.inc_of(c, {v})")).await, ":ok");
    }
    assert_eq!(s.line("Counter.value(c)").await, "67");
    assert_eq!(s.line("Counter.count(c)").await, "3");
    s.line("counter = Counter.new").await;
    assert!(is_pid(
        &s.line("pid1 = spawn(fn -> ContIncrementer.go(Counter, counter) end)")
            .await
    ));
    assert!(is_pid(
        &s.line("pid2 = spawn(fn -> ContIncrementer.go(Counter, counter) end)")
            .await
    ));
    assert_eq!(s.line("Process.alive?(pid1)").await, "true");
    assert_eq!(s.line("Process.alive?(pid2)").await, "true");
    s.line("Counter.value(counter)").await;
    s.line("Counter.count(counter)").await;
    s.line("sc = SlowCounter.new").await;
    assert_eq!(s.line("SlowCounter.count(sc)").await, "0");
    assert_eq!(s.line("SlowCounter.value(sc)").await, "0");
    s.line("pid3 = spawn(fn -> ContIncrementer.go(SlowCounter, sc) end)")
        .await;
    s.line("SlowCounter.count(sc)").await;
    s.line("SlowCounter.value(sc)").await;
    s.line("sbrc = SlowButReponsiveCounter.new").await;
    assert_eq!(s.line("SlowButReponsiveCounter.count(sbrc)").await, "0");
    assert_eq!(s.line("SlowButReponsiveCounter.value(sbrc)").await, "0");
    assert_eq!(
        s.line("SlowButReponsiveCounter.inc_of(sbrc, 42)").await,
        ":ok"
    );
    s.line("pid4 = spawn(fn -> ContIncrementer.go(SlowButReponsiveCounter, sbrc) end)")
        .await;
    assert_eq!(s.line("Process.alive? pid4").await, "true");
    s.line("SlowButReponsiveCounter.count(sbrc)").await;
    assert_eq!(
        s.line("SlowButReponsiveCounter.value(sbrc) >= 42").await,
        "true"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_lines_of_the_anchor_sessions() {
    let mut s = Paste::new("anchor", true).await;
    assert!(
        s.all("Todo.Supervisor.start_link(flat: true)")
            .await
            .iter()
            .all(|l| l != "Starting system supervisor")
    );
    s.line("bobs_list = Todo.Cache.server_process(\"Bob's list\")")
        .await;
    assert!(is_pid(&s.line("worker = Todo.ProcessRegistry.whereis_name({:database_worker, Todo.Database.choose_worker(\"Bob's list\")})").await));
    assert!(s.line("for i <- 1..1_000, do: Todo.Database.store(\"scratch\", i); Process.info(worker, :message_queue_len)").await.starts_with("{:message_queue_len, "));
    assert!(
        s.line("Process.info(worker, [:message_queue_len, :memory])")
            .await
            .starts_with("[message_queue_len: ")
    );
    s.line("speed 20").await;
    s.line("sc2 = SlowCounter.new").await;
    s.line("spawn(fn -> SlowCounter.inc_of(sc2, 1) end)").await;
    let timeout = s.all("GenServer.call(sc2, :count, 1)").await.join("\n");
    assert!(
        timeout.contains("** (exit) exited in: GenServer.call(#PID<0.")
            && timeout.contains("** (EXIT) time out"),
        "{timeout}"
    );
    assert!(
        s.line("Process.info(sc2, [:status, :current_function])")
            .await
            .starts_with("[status: ")
    );
    assert_eq!(s.line("flush()").await, ":ok");
    assert!(
        s.line(":timer.tc(fn -> SlowCounter.count(sc2) end)")
            .await
            .starts_with('{')
    );
    assert!(
        s.line("{:ok, cr} = Crasher.start_link")
            .await
            .starts_with("{:ok, #PID<0.")
    );
    let old_shell = s.line("self()").await;
    let crash = s.all("Crasher.boom(cr)").await.join("\n");
    assert!(
        crash.contains("shell process exited with reason: an exception was raised:"),
        "{crash}"
    );
    let new_shell = s.line("self()").await;
    assert_ne!(old_shell, new_shell, "the shell process was replaced");
    // As in iex, the new shell is a new evaluator: the old one's bindings are gone.
    let gone = s.all("bobs_list").await.join("\n");
    assert!(
        gone.contains("** (CompileError) iex:2: undefined function bobs_list/0"),
        "{gone}"
    );
}
