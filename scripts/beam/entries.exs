# 3b entries: 20 000 lists created and warmed (one entries call each); then add_entry (a cast,
# client side) on every pid, entries (a call behind that cast, checked to hold 1 entry) on every
# pid, and the time until all 3 database workers answer a sync call (every File.write! done).
# elixir entries.exs [--n N] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, _} = Bench.args()
n = Bench.size(opts, 20_000, 300)
{:ok, _} = Todo.Supervisor.start_link(Bench.scratch("entries"), Todo.Cache)
date = ~D[2023-12-19]

pids =
  for i <- 0..(n - 1) do
    pid = Todo.Cache.server_process("list_#{i}")
    Todo.Server.entries(pid, date)
    pid
  end

{add, _} =
  :timer.tc(fn ->
    for pid <- pids, do: Todo.Server.add_entry(pid, %{date: date, title: "Dentist"})
  end)

{get, _} =
  :timer.tc(fn ->
    for pid <- pids, do: [_] = Todo.Server.entries(pid, date)
  end)

{drain, _} =
  :timer.tc(fn -> for id <- 1..Todo.Database.pool_size(), do: Todo.DatabaseWorker.sync(id) end)

Bench.result("entries", "add_entry", add / n, "us")
Bench.result("entries", "entries", get / n, "us")
Bench.result("entries", "db_drain", drain / 1000, "ms")
