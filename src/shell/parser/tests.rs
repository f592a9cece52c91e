//! Input/expected tables for the parser: every iex line of the seeds and the transcripts, every
//! command form, the precedence rule, the errors, and hostile input.

use proptest::prelude::*;

use super::*;

/// The test notation of a parse: the sexp of the line, or `error: ` and the error's Display.
fn show(input: &str) -> String {
    match parse_line(input) {
        Ok(line) => line.sexp(),
        Err(e) => format!("error: {e}"),
    }
}

/// Checks a whole table and reports every mismatch at once.
fn check_all(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = show(input);
        if got != *expected {
            failures.push(format!(
                "input:    {input:?}\nexpected: {expected}\ngot:      {got}\n"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_000_counters() {
    check_all(&[
        ("c = Counter.new", "(= c (Counter.new))"),
        ("Counter.inc_of(c, 12)", "(Counter.inc_of c 12)"),
        ("Counter.value(c)", "(Counter.value c)"),
        ("Counter.count(c)", "(Counter.count c)"),
        ("counter = Counter.new", "(= counter (Counter.new))"),
        (
            "pid1 = spawn(fn -> ContIncrementer.go(Counter, counter) end)",
            "(= pid1 (spawn (fn (-> (ContIncrementer.go Counter counter)))))",
        ),
        ("Process.alive?(pid1)", "(Process.alive? pid1)"),
        ("sc = SlowCounter.new", "(= sc (SlowCounter.new))"),
        (
            "pid3 = spawn(fn -> ContIncrementer.go(SlowCounter, sc) end)",
            "(= pid3 (spawn (fn (-> (ContIncrementer.go SlowCounter sc)))))",
        ),
        (
            "sbrc = SlowButReponsiveCounter.new",
            "(= sbrc (SlowButReponsiveCounter.new))",
        ),
        (
            "SlowButReponsiveCounter.inc_of(sbrc, 42)",
            "(SlowButReponsiveCounter.inc_of sbrc 42)",
        ),
        ("Process.alive? pid4", "(Process.alive? pid4)"),
        (
            "state = %{state | count: state.count + 1, value: state.value + value}",
            "(= state %{state | :count => (+ (.field state count) 1), :value => (+ (.field state value) value)})",
        ),
        (
            "{:ok, pid} = GenServer.start_link(__MODULE__, [], [])",
            "(= {:ok, pid} (GenServer.start_link __MODULE__ [] []))",
        ),
        (
            "GenServer.call(counter, {:inc_of, value}, 60000)",
            "(GenServer.call counter {:inc_of, value} 60000)",
        ),
        (":timer.sleep(10000) #wait 10 sec", "(:timer.sleep 10000)"),
        (
            "module.inc_of(counter, :crypto.rand_uniform(1, 100))",
            "(. module inc_of counter (:crypto.rand_uniform 1 100))",
        ),
        ("go(module,counter)", "(go module counter)"),
        ("parent = self()", "(= parent (self))"),
        (
            "spawn_link(fn ->\n  :timer.sleep(10000) #wait 10 sec\n  GenServer.call(parent, {:update_state, value})\n  GenServer.reply(from, :ok)\nend)",
            "(spawn_link (fn (-> (block (:timer.sleep 10000) (GenServer.call parent {:update_state, value}) (GenServer.reply from :ok)))))",
        ),
        ("{:noreply, state}", "{:noreply, state}"),
        (
            "{:reply, state.value, state}",
            "{:reply, (.field state value), state}",
        ),
    ]);
}

#[test]
fn seed_001_supervision_and_ets() {
    check_all(&[
        ("Todo.Supervisor.start_link", "(Todo.Supervisor.start_link)"),
        (
            "bobs_list = Todo.Cache.server_process(\"Bob's list\")",
            "(= bobs_list (Todo.Cache.server_process \"Bob's list\"))",
        ),
        (
            "Process.exit(bobs_list, :kill)",
            "(Process.exit bobs_list :kill)",
        ),
        (
            "Todo.Cache.server_process(\"Bob's list\")",
            "(Todo.Cache.server_process \"Bob's list\")",
        ),
        (
            "Process.whereis(:todo_process_registry) |> Process.exit(:kill)",
            "(|> (Process.whereis :todo_process_registry) (Process.exit :kill))",
        ),
        (
            "{:ok, pid} = Todo.Supervisor.start_link",
            "(= {:ok, pid} (Todo.Supervisor.start_link))",
        ),
        ("Process.exit(pid, :normal)", "(Process.exit pid :normal)"),
        (
            "case Server.whereis(todo_list_name) do\n  pid when is_pid(pid) -> pid\n  :undefined -> GenServer.call(:todo_cache, {:server_process, todo_list_name})\nend",
            "(case (Server.whereis todo_list_name) (pid when (is_pid pid) -> pid) (:undefined -> (GenServer.call :todo_cache {:server_process, todo_list_name})))",
        ),
        (
            "alias Todo.{Cache, Supervisor}",
            "(alias Todo.Cache as Cache Todo.Supervisor as Supervisor)",
        ),
        ("alias Todo.Cache", "(alias Todo.Cache as Cache)"),
        ("alias Todo.Cache, as: C", "(alias Todo.Cache as C)"),
        ("Supervisor.start_link", "(Supervisor.start_link)"),
        ("number_of_lists = 100", "(= number_of_lists 100)"),
        (
            "func = fn -> Cache.server_process(\"list #{:rand.uniform(number_of_lists)}\") end",
            "(= func (fn (-> (Cache.server_process (str \"list \" (:rand.uniform number_of_lists))))))",
        ),
        ("Profiler.run(func, 100000)", "(Profiler.run func 100000)"),
        (
            "Profiler.run(func, 100000, 100)",
            "(Profiler.run func 100000 100)",
        ),
        (
            ":ets.new(:ets_todo_cache, [:set, :named_table, :protected])",
            "(:ets.new :ets_todo_cache [:set, :named_table, :protected])",
        ),
        (
            "case :ets.lookup(:ets_todo_cache, todo_list_name) do\n  [{^todo_list_name, pid}] -> pid\n  _ -> GenServer.call(:todo_cache, {:server_process, todo_list_name})\nend",
            "(case (:ets.lookup :ets_todo_cache todo_list_name) ([{^todo_list_name, pid}] -> pid) (_ -> (GenServer.call :todo_cache {:server_process, todo_list_name})))",
        ),
        (
            ":ets.insert(:ets_todo_cache, {todo_list_name, pid})",
            "(:ets.insert :ets_todo_cache {todo_list_name, pid})",
        ),
        (
            "for _ <- 1..operations_count, do: fun.()",
            "(for (<- _ (.. 1 operations_count)) (.() fun))",
        ),
        (
            "for _ <- 1..concurrency_level do\n  receive do\n    :computed -> :ok\n  end\nend",
            "(for (<- _ (.. 1 concurrency_level)) (receive (:computed -> :ok)))",
        ),
        ("send(me, :computed)", "(send me :computed)"),
        (
            "projected_rate = round(1000000 * operations_count * concurrency_level / time)",
            "(= projected_rate (round (/ (* (* 1000000 operations_count) concurrency_level) time)))",
        ),
        (
            "IO.puts \"#{projected_rate} reqs/sec\\n\"",
            "(IO.puts (str projected_rate \" reqs/sec\\n\"))",
        ),
        (
            "{time, _} = :timer.tc(fn ->\n  me = self\n  for _ <- 1..concurrency_level do\n    spawn(fn ->\n      for _ <- 1..operations_count, do: fun.()\n      send(me, :computed)\n    end)\n  end\nend)",
            "(= {time, _} (:timer.tc (fn (-> (block (= me self) (for (<- _ (.. 1 concurrency_level)) (spawn (fn (-> (block (for (<- _ (.. 1 operations_count)) (.() fun)) (send me :computed)))))))))))",
        ),
        (
            "pid = case :ets.lookup(:ets_todo_cache, todo_list_name) do\n  [{^todo_list_name, pid}] -> pid\n  _ ->\n    {:ok, pid} = ServerSupervisor.start_child(todo_list_name)\n    :ets.insert(:ets_todo_cache, {todo_list_name, pid})\n    pid\nend",
            "(= pid (case (:ets.lookup :ets_todo_cache todo_list_name) ([{^todo_list_name, pid}] -> pid) (_ -> (block (= {:ok, pid} (ServerSupervisor.start_child todo_list_name)) (:ets.insert :ets_todo_cache {todo_list_name, pid}) pid))))",
        ),
    ]);
}

#[test]
fn seed_002_to_004_chapter_7() {
    check_all(&[
        (
            "todo_list = Todo.Database.get(name) || Todo.List.new()",
            "(= todo_list (|| (Todo.Database.get name) (Todo.List.new)))",
        ),
        (
            "{:ok, initial_state, {:continue, some_arg}}",
            "{:ok, initial_state, {:continue, some_arg}}",
        ),
        (
            "{:ok, todo_server} = Todo.Server.start()",
            "(= {:ok, todo_server} (Todo.Server.start))",
        ),
        (
            "Todo.Server.add_entry(\n    todo_server,\n    %{date: ~D[2023-12-19], title: \"Dentist\"}\n)",
            "(Todo.Server.add_entry todo_server %{:date => ~D[2023-12-19], :title => \"Dentist\"})",
        ),
        (
            "Todo.Server.entries(todo_server, ~D[2023-12-19])",
            "(Todo.Server.entries todo_server ~D[2023-12-19])",
        ),
        (
            "{:ok, cache} = Todo.Cache.start()",
            "(= {:ok, cache} (Todo.Cache.start))",
        ),
        (
            "Todo.Cache.server_process(cache, \"Bob's list\")",
            "(Todo.Cache.server_process cache \"Bob's list\")",
        ),
        (
            "bobs_list = Todo.Cache.server_process(cache, \"Bob's list\")",
            "(= bobs_list (Todo.Cache.server_process cache \"Bob's list\"))",
        ),
        (
            "Todo.Cache.server_process(cache, \"Alice's list\") |>\nTodo.Server.entries(~D[2023-12-19])",
            "(|> (Todo.Cache.server_process cache \"Alice's list\") (Todo.Server.entries ~D[2023-12-19]))",
        ),
        ("left_value = bob_pid", "(= left_value bob_pid)"),
        (
            "right_value = Todo.Cache.server_process(cache, \"alice\")",
            "(= right_value (Todo.Cache.server_process cache \"alice\"))",
        ),
        (
            "if left_value == right_value do\n  # raise an error\nend",
            "(if (== left_value right_value) nil)",
        ),
        (
            "spawn(fn ->\n    key\n    |> file_name()\n    |> File.write!(:erlang.term_to_binary(data))\n  end)",
            "(spawn (fn (-> (|> (|> key (file_name)) (File.write! (:erlang.term_to_binary data))))))",
        ),
        (
            "data = case File.read(file_name(key)) do\n  {:ok, contents} -> :erlang.binary_to_term(contents)\n  _ -> nil\nend",
            "(= data (case (File.read (file_name key)) ({:ok, contents} -> (:erlang.binary_to_term contents)) (_ -> nil)))",
        ),
        (
            "GenServer.reply(caller, data)",
            "(GenServer.reply caller data)",
        ),
        (
            "GenServer.start(__MODULE__), nil)",
            "error: iex:1:33: unexpected token \")\"",
        ),
    ]);
}

#[test]
fn transcript_lines() {
    check_all(&[
        (
            "Todo.Supervisor.start_link(flat: true)",
            "(Todo.Supervisor.start_link [{:flat, true}])",
        ),
        (
            "Todo.Server.add_entry(bobs_list, %{date: ~D[2023-12-19], title: \"Dentist\"})",
            "(Todo.Server.add_entry bobs_list %{:date => ~D[2023-12-19], :title => \"Dentist\"})",
        ),
        (
            "Todo.Server.entries(bobs_list, ~D[2023-12-19])",
            "(Todo.Server.entries bobs_list ~D[2023-12-19])",
        ),
        (
            "Todo.Cache.server_process(\"Bob's list\") |> Todo.Server.entries(~D[2023-12-19])",
            "(|> (Todo.Cache.server_process \"Bob's list\") (Todo.Server.entries ~D[2023-12-19]))",
        ),
        (
            "GenServer.call(Todo.Cache.server_process(\"Bob's list\"), :unknown_request)",
            "(GenServer.call (Todo.Cache.server_process \"Bob's list\") :unknown_request)",
        ),
        (
            "worker = Todo.ProcessRegistry.whereis_name({:database_worker, Todo.Database.choose_worker(\"Bob's list\")})",
            "(= worker (Todo.ProcessRegistry.whereis_name {:database_worker, (Todo.Database.choose_worker \"Bob's list\")}))",
        ),
        (
            "for i <- 1..100_000, do: Todo.Database.store(\"Bob's list\", i); Process.info(worker, :message_queue_len)",
            "(block (for (<- i (.. 1 100000)) (Todo.Database.store \"Bob's list\" i)) (Process.info worker :message_queue_len))",
        ),
        (
            "Process.info(worker, :message_queue_len)",
            "(Process.info worker :message_queue_len)",
        ),
        (
            "Process.info(worker, [:message_queue_len, :memory])",
            "(Process.info worker [:message_queue_len, :memory])",
        ),
        ("Process.alive?(bobs_list)", "(Process.alive? bobs_list)"),
        (
            "Process.whereis(:todo_server_supervisor)",
            "(Process.whereis :todo_server_supervisor)",
        ),
        (
            ":timer.tc(fn -> SlowCounter.count(sc) end)",
            "(:timer.tc (fn (-> (SlowCounter.count sc))))",
        ),
        (
            ":timer.tc(fn -> SlowButReponsiveCounter.inc_of(sbrc, 42) end)",
            "(:timer.tc (fn (-> (SlowButReponsiveCounter.inc_of sbrc 42))))",
        ),
        (
            "Process.info(sc, :message_queue_len)",
            "(Process.info sc :message_queue_len)",
        ),
        ("GenServer.call(sc, :count)", "(GenServer.call sc :count)"),
        (
            "GenServer.call(sc2, :count, 1000)",
            "(GenServer.call sc2 :count 1000)",
        ),
        ("flush()", "(flush)"),
        (
            "{SlowButReponsiveCounter.count(sbrc), SlowButReponsiveCounter.value(sbrc)}",
            "{(SlowButReponsiveCounter.count sbrc), (SlowButReponsiveCounter.value sbrc)}",
        ),
        (
            "{:ok, cr} = Crasher.start_link",
            "(= {:ok, cr} (Crasher.start_link))",
        ),
        ("Crasher.boom(cr)", "(Crasher.boom cr)"),
        ("self()", "(self)"),
        ("sc2 = SlowCounter.new", "(= sc2 (SlowCounter.new))"),
        (
            "spawn(fn -> SlowCounter.inc_of(sc2, 1) end)",
            "(spawn (fn (-> (SlowCounter.inc_of sc2 1))))",
        ),
        (
            "Process.info(sc2, [:status, :current_function])",
            "(Process.info sc2 [:status, :current_function])",
        ),
        ("SlowCounter.count(sc2)", "(SlowCounter.count sc2)"),
        ("h Todo.Cache", "(h Todo.Cache)"),
        ("pid(0, 142, 0)", "(pid 0 142 0)"),
        ("#PID<0.142.0>", "#PID<0.142.0>"),
        (
            "Process.exit(#PID<0.142.0>, :kill)",
            "(Process.exit #PID<0.142.0> :kill)",
        ),
    ]);
}

#[test]
fn elixir_subset() {
    check_all(&[
        ("", "(empty)"),
        ("   # just a comment", "(empty)"),
        ("\n\n", "(empty)"),
        ("100_000", "100000"),
        ("-5", "-5"),
        ("- x", "(- x)"),
        ("1.5e3", "1500.0"),
        ("0x1F", "31"),
        ("?a", "97"),
        (":\"quoted atom\"", ":\"quoted atom\""),
        (":alive?", ":alive?"),
        ("true and not false", "(and true (not false))"),
        ("!x || y && z", "(|| (! x) (&& y z))"),
        ("1 + 2 * 3 - 4 / 2", "(- (+ 1 (* 2 3)) (/ 4 2))"),
        ("a == b and c != d", "(and (== a b) (!= c d))"),
        ("a === b or a !== c", "(or (=== a b) (!== a c))"),
        ("1 < 2 == 3 >= 4", "(== (< 1 2) (>= 3 4))"),
        ("\"a\" <> \"b\" <> c", "(<> \"a\" (<> \"b\" c))"),
        ("[1] ++ [2] ++ [3]", "(++ [1] (++ [2] [3]))"),
        ("[1, 2] -- [2]", "(-- [1, 2] [2])"),
        ("x in [1, 2]", "(in x [1, 2])"),
        ("x not in [1, 2]", "(not in x [1, 2])"),
        ("1..10", "(.. 1 10)"),
        ("a = b = 1", "(= a (= b 1))"),
        ("x |> f() |> g(1)", "(|> (|> x (f)) (g 1))"),
        ("[h | t] = [1, 2, 3]", "(= [h | t] [1, 2, 3])"),
        ("[a: 1, b: 2]", "[{:a, 1}, {:b, 2}]"),
        ("[1, 2, a: 3]", "[1, 2, {:a, 3}]"),
        ("%{\"k\" => v, \"j\" => 2}", "%{\"k\" => v, \"j\" => 2}"),
        ("%{\"k\" => 1, a: 2}", "%{\"k\" => 1, :a => 2}"),
        ("%{}", "%{}"),
        ("{}", "{}"),
        ("{a, b: 1}", "{a, [{:b, 1}]}"),
        ("[\n  1,\n  2,\n]", "[1, 2]"),
        ("f.(1, 2)", "(.() f 1 2)"),
        ("fn x -> x * 2 end", "(fn (x -> (* x 2)))"),
        ("fn x, y -> x + y end", "(fn (x, y -> (+ x y)))"),
        ("fn(x, y) -> x end", "(fn (x, y -> x))"),
        (
            "fn {:ok, x} -> x; _ -> nil end",
            "(fn ({:ok, x} -> x) (_ -> nil))",
        ),
        ("fn -> :ok end.()", "(.() (fn (-> :ok)))"),
        (
            "fn x when x > 0 -> :pos; _ -> :neg end",
            "(fn (x when (> x 0) -> :pos) (_ -> :neg))",
        ),
        ("if c, do: x, else: y", "(if c x y)"),
        ("if c, do: x", "(if c x)"),
        ("if c do\n  x\nelse\n  y\nend", "(if c x y)"),
        ("unless c, do: x", "(if (! c) x)"),
        (
            "case x do {:ok, v} -> v; :error -> 0 end",
            "(case x ({:ok, v} -> v) (:error -> 0))",
        ),
        (
            "receive do\n  msg -> msg\nafter\n  1000 -> :timeout\nend",
            "(receive (msg -> msg) (after 1000 :timeout))",
        ),
        (
            "for x <- [1, 2], x > 1, do: x * 2",
            "(for (<- x [1, 2]) (filter (> x 1)) (* x 2))",
        ),
        ("for x <- list do\n  x\nend", "(for (<- x list) x)"),
        (
            "for {k, v} <- map, y <- v, do: {k, y}",
            "(for (<- {k, v} map) (<- y v) {k, y})",
        ),
        ("a; b; c", "(block a b c)"),
        ("a\nb", "(block a b)"),
        ("x = 1;", "(= x 1)"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("(a; b)", "(block a b)"),
        ("()", "nil"),
        ("\"a#{x}b#{y}\"", "(str \"a\" x \"b\" y)"),
        ("\"#{\"inner #{x}\"}\"", "(str (str \"inner \" x))"),
        (
            "\"esc \\t \\e \\u{1F600} \\x41 \\#{no}\"",
            "\"esc \\t \\e 😀 A #{no}\"",
        ),
        ("~D(2024-02-29)", "~D[2024-02-29]"),
        ("IO.puts \"hi\"", "(IO.puts \"hi\")"),
        ("Process.exit pid, :kill", "(Process.exit pid :kill)"),
        (
            "IO.inspect x, label: \"y\"",
            "(IO.inspect x [{:label, \"y\"}])",
        ),
        ("f -1", "(f -1)"),
        ("f - 1", "(- f 1)"),
        ("f(a, b: 1, c: 2)", "(f a [{:b, 1}, {:c, 2}])"),
        ("state.count", "(.field state count)"),
        ("state.a.b", "(.field (.field state a) b)"),
        ("x\n|> f()\n|> g()", "(|> (|> x (f)) (g))"),
        (":erlang.term_to_binary(x)", "(:erlang.term_to_binary x)"),
        (
            "Kernel.+(1, 2)",
            "error: iex:1:8: unexpected token \"+\"; expected a function name after \".\"",
        ),
        ("_ = 1", "(= _ 1)"),
        ("_name = 1", "(= _name 1)"),
        ("^x = 1", "(= ^x 1)"),
        ("\"prefix\" <> rest = s", "(= (<> \"prefix\" rest) s)"),
        ("é = 1", "(= é 1)"),
        ("\"👩‍👩‍👧 héllo\"", "\"👩\\u{200D}👩\\u{200D}👧 héllo\""),
    ]);
}

#[test]
fn commands() {
    check_all(&[
        (
            "server_process \"Bob's list\"",
            "(cmd server_process \"Bob's list\")",
        ),
        (
            "bobs_list = server_process \"Bob's list\"",
            "(bind bobs_list (cmd server_process \"Bob's list\"))",
        ),
        (
            "add_entry \"Bob's list\" ~D[2023-12-19] \"Dentist\"",
            "(cmd add_entry \"Bob's list\" ~D[2023-12-19] \"Dentist\")",
        ),
        (
            "add_entry \"Bob's list\" 2023-12-19 \"Dentist\"",
            "(cmd add_entry \"Bob's list\" ~D[2023-12-19] \"Dentist\")",
        ),
        (
            "entries \"Bob's list\" 2023-12-19",
            "(cmd entries \"Bob's list\" ~D[2023-12-19])",
        ),
        (
            "entries \"Bob's list\" ~D[2023-12-19]",
            "(cmd entries \"Bob's list\" ~D[2023-12-19])",
        ),
        (
            "entries bobs_list 2023-12-19",
            "(cmd entries bobs_list ~D[2023-12-19])",
        ),
        (
            "update_entry \"Bob's list\" 1 \"New title\"",
            "(cmd update_entry \"Bob's list\" 1 \"New title\")",
        ),
        (
            "delete_entry \"Bob's list\" 1",
            "(cmd delete_entry \"Bob's list\" 1)",
        ),
        ("kill registry", "(cmd kill registry)"),
        ("kill cache", "(cmd kill cache)"),
        ("kill database", "(cmd kill database)"),
        ("kill worker 2", "(cmd kill worker 2)"),
        ("kill \"Bob's list\"", "(cmd kill \"Bob's list\")"),
        ("kill #PID<0.142.0>", "(cmd kill #PID<0.142.0>)"),
        ("kill bobs_list", "(cmd kill bobs_list)"),
        ("kill registry # the error kernel", "(cmd kill registry)"),
        ("  kill\tregistry  ", "(cmd kill registry)"),
        (
            "exit #PID<0.142.0> :normal",
            "(cmd exit #PID<0.142.0> :normal)",
        ),
        ("exit bobs_list :kill", "(cmd exit bobs_list :kill)"),
        ("crash cache", "(cmd crash cache)"),
        ("whereis :todo_cache", "(cmd whereis :todo_cache)"),
        ("whereis registry", "(cmd whereis registry)"),
        ("whereis Todo.Cache", "(cmd whereis Todo.Cache)"),
        ("alive? #PID<0.142.0>", "(cmd alive? #PID<0.142.0>)"),
        ("alive? pid4", "(cmd alive? pid4)"),
        ("info #PID<0.142.0>", "(cmd info #PID<0.142.0>)"),
        (
            "info worker :message_queue_len :memory",
            "(cmd info worker :message_queue_len :memory)",
        ),
        (
            "send #PID<0.142.0> :hello",
            "(cmd send #PID<0.142.0> :hello)",
        ),
        ("send pid {:hello, 1}", "(cmd send pid (expr {:hello, 1}))"),
        (
            "send pid \"hi #{name}\"",
            "(cmd send pid (expr (str \"hi \" name)))",
        ),
        ("send pid [1, 2]", "(cmd send pid (expr [1, 2]))"),
        ("send pid %{a: 1}", "(cmd send pid (expr %{:a => 1}))"),
        ("send pid :\"with space\"", "(cmd send pid :\"with space\")"),
        ("flush", "(cmd flush)"),
        ("sleep 100", "(cmd sleep 100)"),
        ("sleep 1_000", "(cmd sleep 1000)"),
        ("sleep (1000 * 2)", "(cmd sleep (expr (* 1000 2)))"),
        ("ps", "(cmd ps)"),
        ("ps --sort mailbox", "(cmd ps --sort=mailbox)"),
        ("ps --sort=mailbox", "(cmd ps --sort=mailbox)"),
        ("tree", "(cmd tree)"),
        ("state cache", "(cmd state cache)"),
        ("state #PID<0.150.0>", "(cmd state #PID<0.150.0>)"),
        ("trace on", "(cmd trace on)"),
        ("trace off", "(cmd trace off)"),
        ("trace show", "(cmd trace show)"),
        ("trace show --wide", "(cmd trace show --wide)"),
        (
            "trace mermaid #PID<0.1.0> #PID<0.2.0>",
            "(cmd trace mermaid #PID<0.1.0> #PID<0.2.0>)",
        ),
        ("trace on cache worker", "(cmd trace on cache worker)"),
        ("start", "(cmd start)"),
        ("start --flat --ets-cache", "(cmd start --flat --ets-cache)"),
        ("start --pool --init-load", "(cmd start --pool --init-load)"),
        ("start --single-db", "(cmd start --single-db)"),
        ("start --spawn-db", "(cmd start --spawn-db)"),
        ("stop", "(cmd stop)"),
        ("help", "(cmd help)"),
        ("help kill", "(cmd help kill)"),
        ("history", "(cmd history)"),
        ("clear", "(cmd clear)"),
        (
            "quarantine \"Bob's list\"",
            "(cmd quarantine \"Bob's list\")",
        ),
        ("quarantine \"\"", "(cmd quarantine \"\")"),
        ("speed 0.5", "(cmd speed 0.5)"),
        ("speed 2", "(cmd speed 2)"),
        (
            "flood database 100000 --cast",
            "(cmd flood database 100000 --cast)",
        ),
        (
            "flood worker 1000 --call --clients 10",
            "(cmd flood worker 1000 --call --clients=10)",
        ),
        (
            "flood cache 100 --clients=4",
            "(cmd flood cache 100 --clients=4)",
        ),
        ("profile cache 100000 100", "(cmd profile cache 100000 100)"),
        ("loadtest 100000", "(cmd loadtest 100000)"),
        ("x = flush", "(bind x (cmd flush))"),
        ("t = tree", "(bind t (cmd tree))"),
        (
            "p = whereis :todo_cache",
            "(bind p (cmd whereis :todo_cache))",
        ),
    ]);
}

#[test]
fn elixir_wins_over_commands_when_the_line_is_elixir() {
    check_all(&[
        ("flush()", "(flush)"),
        ("send(pid, :hi)", "(send pid :hi)"),
        ("exit(pid, :kill)", "(exit pid :kill)"),
        ("send pid, :hi", "(send pid :hi)"),
        ("exit :normal", "(exit :normal)"),
        ("kill(registry)", "(kill registry)"),
        ("state.count", "(.field state count)"),
        ("state = 1", "(= state 1)"),
        ("state", "state"),
        ("info", "info"),
        ("tree = Counter.new", "(= tree (Counter.new))"),
        ("state == 1", "(== state 1)"),
        ("kill registry, cache", "(kill registry cache)"),
        ("a = b\nkill registry", "(block (= a b) (kill registry))"),
        ("clear()", "(clear)"),
    ]);
}

#[test]
fn errors_point_at_the_column() {
    check_all(&[
        (
            "add_entry \"Bob's list\"",
            "error: iex:1:23: add_entry expects 3 arguments, got 1 (usage: add_entry LIST DATE TITLE)",
        ),
        (
            "entries \"Bob's list\" 2023-02-30",
            "error: iex:1:22: invalid date \"2023-02-30\": expected an existing day as YYYY-MM-DD",
        ),
        (
            "entries \"Bob's list\" ~D[2023-13-01]",
            "error: iex:1:22: invalid date \"2023-13-01\": expected an existing day as YYYY-MM-DD",
        ),
        (
            "ps --srot mailbox",
            "error: iex:1:4: unknown flag --srot for ps (did you mean --sort?)",
        ),
        (
            "ps --sort",
            "error: iex:1:4: --sort needs a value (usage: ps [--sort mailbox|memory])",
        ),
        ("start --flat=1", "error: iex:1:7: --flat takes no value"),
        (
            "trace onn",
            "error: iex:1:7: trace expects one of: on, off, show, mermaid (did you mean on?)",
        ),
        (
            "kill registry cache worker",
            "error: iex:1:21: too many arguments for kill (usage: kill registry|cache|database|worker N|LIST|PID|VAR)",
        ),
        (
            "server_proces \"Bob's list\"",
            "error: iex:1:1: unknown command \"server_proces\" (did you mean server_process?)",
        ),
        (
            "x = server_proces \"Bob's list\"",
            "error: iex:1:5: unknown command \"server_proces\" (did you mean server_process?)",
        ),
        (
            "entires \"Bob's list\" 2023-12-19",
            "error: iex:1:22: unexpected number 2023; expected an operator, a newline or \";\" (did you mean entries?)",
        ),
        (
            "Process.info(worker))",
            "error: iex:1:21: unexpected token \")\"",
        ),
        (
            "Process.info(worker]",
            "error: iex:1:20: unexpected token \"]\" (the \"(\" at column 13 is still open: expected \")\")",
        ),
        ("end", "error: iex:1:1: unexpected token \"end\""),
        (
            "else",
            "error: iex:1:1: unexpected reserved word \"else\"; expected an expression",
        ),
        (
            "1 2",
            "error: iex:1:3: unexpected number 2; expected an operator, a newline or \";\"",
        ),
        (
            "foo(a: 1, 2)",
            "error: iex:1:11: keyword arguments must come last",
        ),
        (
            "f(x) = 3",
            "error: iex:1:1: invalid pattern: a function call cannot be matched against",
        ),
        (
            "%Todo.List{}",
            "error: iex:1:1: structs (%Name{…}) are not supported",
        ),
        (
            "Enum.map(l, &(&1 + 1))",
            "error: iex:1:13: the capture operator & is not supported: write fn x -> … end",
        ),
        (
            "'abc'",
            "error: iex:1:1: unexpected character \"'\" (single-quoted charlists are not supported: use a \"string\")",
        ),
        (
            "~w(a b)",
            "error: iex:1:1: unsupported sigil \"~w\": only ~D[YYYY-MM-DD] dates are supported",
        ),
        (
            "x ** 2",
            "error: iex:1:3: the operator ** is not supported in the shell",
        ),
        (
            "99999999999999999999",
            "error: iex:1:1: integer literal too large (the shell's integers are 64-bit)",
        ),
        ("12abc", "error: iex:1:1: invalid number literal"),
        (
            "#PID<1.2.3>",
            "error: iex:1:1: only local pids #PID<0.N.0> exist in this node",
        ),
        (
            "#PID<0.1>",
            "error: iex:1:1: invalid PID literal: expected #PID<0.N.0>",
        ),
        (
            "\"\\u{D800}\"",
            "error: iex:1:2: \\u{D800} is not a valid code point",
        ),
        (
            ":",
            "error: iex:1:1: unexpected \":\": an atom is written :name or :\"text\"",
        ),
        (
            "for x > 1, do: x",
            "error: iex:1:5: a for comprehension starts with a generator: x <- list",
        ),
        (
            "for x <- l, into: %{}, do: x",
            "error: iex:1:13: the for option into: is not supported",
        ),
        (
            "defmodule Foo do end",
            "error: iex:1:1: \"defmodule\" is not supported in the shell",
        ),
        (
            "fn x -> x; x, y -> y end",
            "error: iex:1:12: all clauses of fn must take the same number of arguments",
        ),
        (
            "case x do a, b -> 1 end",
            "error: iex:1:14: a case or receive clause takes exactly one pattern",
        ),
        (
            "x = 1 +",
            "error: iex:1:8: unexpected end of input; expected an expression",
        ),
        (
            "[1, 2",
            "error: iex:1:6: missing terminator: ] (for \"[\" starting at column 1)",
        ),
        (
            "\"abc",
            "error: iex:1:5: missing terminator: \" (for \"\\\"\" starting at column 1)",
        ),
        (
            "if x",
            "error: iex:1:5: unexpected end of input; expected \"do\" or \", do:\"",
        ),
        ("a.B", "error: iex:1:3: an alias cannot follow a value here"),
    ]);
}

#[test]
fn errors_count_columns_in_chars_and_lines() {
    check_all(&[
        ("\"😀😀\" )", "error: iex:1:6: unexpected token \")\""),
        ("x = 👍", "error: iex:1:5: unexpected character \"👍\""),
        (
            "x\u{301} = 1",
            "error: iex:1:2: unexpected character \"\u{301}\"",
        ),
        ("a = 1\nb = )", "error: iex:2:5: unexpected token \")\""),
        (
            "x = \u{202E}",
            "error: iex:1:5: unexpected character \"\\u{202E}\"",
        ),
        ("x = \0", "error: iex:1:5: unexpected character \"\\0\""),
        (
            "x = \u{1b}[31m",
            "error: iex:1:5: unexpected character \"\\e\"",
        ),
        ("x = \u{7}", "error: iex:1:5: unexpected character \"\\a\""),
        (
            "\u{200D}",
            "error: iex:1:1: unexpected character \"\\u{200D}\"",
        ),
        (
            "\u{feff}x",
            "error: iex:1:1: unexpected character \"\\u{FEFF}\"",
        ),
    ]);
    // Inside strings every character is a value.
    check_all(&[
        ("\"\u{202E}\u{0}\u{1b}\u{7}\"", "\"\\u{202E}\\0\\e\\a\""),
        ("\"e\u{301}\"", "\"e\u{301}\""),
        ("send pid \"\u{1b}[2J\"", "(cmd send pid \"\\e[2J\")"),
    ]);
}

#[test]
fn spans_are_char_columns() {
    let Ok(Line::Expr(e)) = parse_line("é = foo(1, \"😀\")") else {
        panic!("parse")
    };
    let ExprKind::Match(lhs, rhs) = &e.kind else {
        panic!("match")
    };
    assert_eq!(lhs.span, Span::new(0, 1));
    assert_eq!(rhs.span, Span::new(4, 15));
    let ExprKind::LocalCall { args, .. } = &rhs.kind else {
        panic!("call")
    };
    assert_eq!(args[1].span, Span::new(11, 14));

    let Ok(Line::Bind {
        var_span, command, ..
    }) = parse_line("w = kill worker 2")
    else {
        panic!("bind")
    };
    assert_eq!(var_span, Span::new(0, 1));
    assert_eq!(command.span, Span::new(4, 17));
    let spans: Vec<Span> = command.args.iter().map(|a| a.span).collect();
    assert_eq!(spans, vec![Span::new(9, 15), Span::new(16, 17)]);

    let Ok(Line::Command(c)) = parse_line("ps --sort mailbox") else {
        panic!("ps")
    };
    assert_eq!(c.args[0].span, Span::new(3, 17));
}

#[test]
fn completeness_drives_the_continuation_prompt() {
    use Completeness::*;
    let cases: &[(&str, bool)] = &[
        (
            "Todo.Cache.server_process(cache, \"Alice's list\") |>",
            false,
        ),
        ("Todo.Server.add_entry(", false),
        ("Todo.Server.add_entry(\n    todo_server,", false),
        ("\"abc", false),
        ("fn ->", false),
        ("fn x ->\n  x", false),
        ("case x do", false),
        ("if x do\n  1\nelse", false),
        ("for x <- list,", false),
        ("x =", false),
        ("~D[2023", false),
        ("server_process \"Bob", false),
        ("[1, 2,", false),
        ("%{a: 1,", false),
        ("if x", false),
        ("x when", false),
        ("a and", false),
        ("\"#{x", false),
        ("1 + 1", true),
        ("kill registry", true),
        ("", true),
        ("# comment", true),
        ("x = 1;", true),
        (
            "Todo.Cache.server_process(cache, \"Alice's list\") |>\nTodo.Server.entries(~D[2023-12-19])",
            true,
        ),
        (
            "Todo.Server.add_entry(\n    todo_server,\n    %{date: ~D[2023-12-19], title: \"Dentist\"}\n)",
            true,
        ),
    ];
    for (input, complete) in cases {
        let got = completeness(input);
        let want = if *complete { Complete } else { Incomplete };
        assert_eq!(got, want, "input {input:?}");
    }
    let abandoned = completeness("Todo.Server.add_entry(\n  bobs_list,\n#iex:break");
    assert_eq!(
        abandoned,
        Invalid(ParseError {
            line: 3,
            column: 1,
            message: "incomplete expression".into(),
            hint: None,
            kind: ErrorKind::TokenMissing,
        })
    );
    assert_eq!(completeness("#iex:break"), Complete);
    for bad in [
        ")",
        "(]",
        "1 2",
        "end",
        "x = \u{1b}",
        "Process.info(worker))",
    ] {
        assert!(matches!(completeness(bad), Invalid(_)), "input {bad:?}");
    }
}

#[test]
fn a_million_open_parens_is_an_error_not_a_crash() {
    let input = "(".repeat(1_000_000);
    let err = parse_line(&input).unwrap_err();
    assert_eq!(err.column, 257);
    assert!(
        err.message.starts_with("nesting too deep"),
        "{}",
        err.message
    );
    assert!(matches!(completeness(&input), Completeness::Invalid(_)));
    for opener in ["[", "{", "%{", "fn -> ", "if x do ", "\"#{", "(fn -> "] {
        let input = opener.repeat(100_000);
        let err = parse_line(&input).unwrap_err();
        assert!(
            err.message.starts_with("nesting too deep"),
            "{opener}: {}",
            err.message
        );
    }
}

#[test]
fn deep_but_allowed_nesting_parses_on_a_small_stack() {
    // Test threads have 2 MiB of stack; parse the deepest allowed input on 1 MiB to be safe.
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let lists = format!("{}1{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
            assert!(parse_line(&lists).is_ok());
            let tuples = format!("{}1{}", "{".repeat(MAX_NESTING), "}".repeat(MAX_NESTING));
            assert!(parse_line(&tuples).is_ok());
            let fns = format!("{}1{}", "fn -> ".repeat(200), " end".repeat(200));
            assert!(parse_line(&fns).is_ok());
            let calls = format!("{}1{}", "f(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
            assert!(parse_line(&calls).is_ok());
            let strings = format!("{}x{}", "\"#{".repeat(128), "}\"".repeat(128));
            assert!(parse_line(&strings).is_ok());
            let too_deep = format!(
                "{}1{}",
                "[".repeat(MAX_NESTING + 1),
                "]".repeat(MAX_NESTING + 1)
            );
            assert!(parse_line(&too_deep).is_err());
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn long_operator_chains_are_bounded() {
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            for input in [
                format!("{}1", "- ".repeat(200_000)),
                format!("{}1", "not ".repeat(200_000)),
                format!("{}1", "!".repeat(500_000)),
                format!("1{}", " + 1".repeat(200_000)),
                format!("a{}", " = a".repeat(200_000)),
                format!("a{}", ".b".repeat(300_000)),
                format!("x{}", " |> f()".repeat(100_000)),
                format!("x{}", " <> y".repeat(200_000)),
            ] {
                let err = parse_line(&input).unwrap_err();
                assert!(err.message.contains("nested too deeply"), "{}", err.message);
            }
            assert!(parse_line(&format!("1{}", " + 1".repeat(400))).is_ok());
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn oversized_input_is_refused() {
    let big = format!("x = \"{}\"", "a".repeat(MAX_LINE_BYTES));
    let err = parse_line(&big).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert!(err.message.starts_with("input too large"));
    assert!(
        matches!(completeness(&big), Completeness::Invalid(e) if e.kind == ErrorKind::TooLarge)
    );
    // Exactly 1 MiB is fine.
    let fits = format!("\"{}\"", "a".repeat(MAX_LINE_BYTES - 2));
    assert!(parse_line(&fits).is_ok());
    // 5 lines of 1 MiB each: every line fits, the whole does not.
    let line = format!("{}\n", "1".repeat(MAX_LINE_BYTES - 1));
    let many = line.repeat(5);
    let err = parse_line(&many).unwrap_err();
    assert_eq!((err.kind, err.line), (ErrorKind::TooLarge, 1));
    // The second line is the long one.
    let err = parse_line(&format!("1\n{}", "1".repeat(MAX_LINE_BYTES + 1))).unwrap_err();
    assert_eq!((err.line, err.column), (2, 1));
}

#[test]
fn near_misses_suggest_commands() {
    assert_eq!(
        suggest_command("server_proces"),
        Some(CommandName::ServerProcess)
    );
    assert_eq!(suggest_command("entires"), Some(CommandName::Entries));
    assert_eq!(suggest_command("kil"), Some(CommandName::Kill));
    assert_eq!(suggest_command("kill"), None);
    assert_eq!(suggest_command("self"), None);
    assert_eq!(suggest_command(&"x".repeat(10_000)), None);
    for name in CommandName::ALL {
        assert_eq!(CommandName::from_word(name.word()), Some(*name));
        let sig = name.signature();
        assert!(sig.min <= sig.max);
        assert!(name.usage().starts_with(name.word()));
    }
}

/// The valid lines the mutation test starts from.
const SEED_LINES: &[&str] = &[
    "Todo.Cache.server_process(cache, \"Alice's list\") |>\nTodo.Server.entries(~D[2023-12-19])",
    "for i <- 1..100_000, do: Todo.Database.store(\"Bob's list\", i); Process.info(worker, :message_queue_len)",
    "{:ok, cr} = Crasher.start_link",
    ":timer.tc(fn -> SlowCounter.count(sc) end)",
    "pid1 = spawn(fn -> ContIncrementer.go(Counter, counter) end)",
    "Process.whereis(:todo_process_registry) |> Process.exit(:kill)",
    "state = %{state | count: state.count + 1, value: state.value + value}",
    "case :ets.lookup(:t, n) do\n  [{^n, pid}] -> pid\n  _ -> nil\nend",
    "func = fn -> Cache.server_process(\"list #{:rand.uniform(n)}\") end",
    "add_entry \"Bob's list\" 2023-12-19 \"Dentist\"",
    "flood worker 1000 --call --clients 10",
    "kill #PID<0.142.0>",
    "if c, do: [a: 1, b: {2, 3.5}], else: %{\"k\" => ?a}",
    "receive do\n  x when x > 1 -> x\nafter\n  10 -> :t\nend",
];

const SPICE: &[char] = &[
    '(', ')', '[', ']', '{', '}', '"', '#', '{', '\\', ':', ',', ';', '\n', '|', '>', '<', '-',
    '=', '.', '~', '%', '^', '&', '?', '!', ' ', 'e', 'n', 'd', '0', '_', '\'', '\u{0}', '\u{1b}',
    '\u{202E}', '\u{200D}', '\u{301}', '😀', 'é', '\u{7}', '\r', '\t',
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutate(line: &str, muts: &[Mutation]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    for m in muts {
        let n = chars.len().max(1);
        match *m {
            Mutation::Insert(i, c) => chars.insert(i % (n + 1).min(chars.len() + 1), c),
            Mutation::Delete(i) if !chars.is_empty() => {
                chars.remove(i % chars.len());
            }
            Mutation::Replace(i, c) if !chars.is_empty() => {
                let i = i % chars.len();
                chars[i] = c;
            }
            Mutation::Truncate(i) => chars.truncate(i % n),
            Mutation::Duplicate(i, len) if !chars.is_empty() => {
                let i = i % chars.len();
                let end = (i + len % 8).min(chars.len());
                let piece: Vec<char> = chars[i..end].to_vec();
                for (k, c) in piece.into_iter().enumerate() {
                    chars.insert(end + k, c);
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let ch = prop_oneof![prop::sample::select(SPICE), any::<char>()];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), ch).prop_map(|(i, c)| Mutation::Replace(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, l)| Mutation::Duplicate(i, l)),
    ]
}

/// Everything a caller might do with a parse result, so none of it may panic.
fn exercise(input: &str) {
    match parse_line(input) {
        Ok(line) => {
            let _ = line.sexp();
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(!shown.contains('\n'), "multi-line error {shown:?}");
            assert!(e.line >= 1 && e.column >= 1);
            let printed = crate::shell::printer::parse_error(&e, input, 1, &Default::default());
            assert!(
                !printed.chars().any(|c| c.is_control() && c != '\n'),
                "{printed:?}"
            );
        }
    }
    let _ = completeness(input);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        exercise(&s);
    }

    #[test]
    fn syntax_soup_never_panics(s in prop::collection::vec(prop::sample::select(SPICE), 0..64)) {
        exercise(&s.into_iter().collect::<String>());
    }

    #[test]
    fn near_valid_lines_never_panic(
        seed in prop::sample::select(SEED_LINES),
        muts in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        exercise(&mutate(seed, &muts));
    }
}

#[test]
fn seed_lines_parse() {
    for line in SEED_LINES {
        assert!(parse_line(line).is_ok(), "{line:?}: {:?}", parse_line(line));
    }
}

#[test]
fn legal_but_hostile_inputs_stay_fast() {
    let cases = [
        format!(
            "{}[{}1]{}",
            "fn -> ".repeat(250),
            "1,".repeat(200_000),
            " end".repeat(250)
        ),
        format!("{}1{}", "a = ".repeat(400), "\n".repeat(1_000_000)),
        format!("case x do\n{}end", "1 -> 2\n".repeat(140_000)),
        format!("[{}a: 1]", "a: 1, ".repeat(150_000)),
        format!("info {}", "x ".repeat(400_000)),
        "a".repeat(MAX_LINE_BYTES),
    ];
    // How fast they are is for a benchmark, not a test that a busy machine would fail: here,
    // each parses to an answer without overflowing the stack or giving up.
    for input in &cases {
        let parsed = parse_line(input);
        let complete = completeness(input);
        assert_eq!(
            parsed.is_ok(),
            !matches!(complete, Completeness::Invalid(_)),
            "the parser and the completeness check agree on {:.40}",
            input
        );
    }
}
