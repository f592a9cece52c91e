# 3e system_start: per repetition on a fresh tree, the start, the first
# server_process("Bob's list"), recovery after a registry :kill and after Bob's server :kill
# (until server_process returns a new live pid whose entries answers, retrying every exit at
# once), and Supervisor.stop. Medians over the repetitions (default 5).
# elixir recovery.exs [--n REPS] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, _} = Bench.args()
reps = Bench.size(opts, 5, 2)
Process.flag(:trap_exit, true)
dir = Bench.scratch("recovery")
date = ~D[2023-12-19]

recovered = fn old ->
  loop = fn loop ->
    pid =
      try do
        pid = Todo.Cache.server_process("Bob's list")

        if is_pid(pid) and pid != old and Process.alive?(pid) do
          Todo.Server.entries(pid, date)
          pid
        end
      catch
        _, _ -> nil
      end

    if pid, do: pid, else: loop.(loop)
  end

  loop.(loop)
end

rows =
  for _ <- 1..reps do
    {start, {:ok, sup}} = :timer.tc(fn -> Todo.Supervisor.start_link(dir, Todo.Cache) end)
    {first, bob} = :timer.tc(fn -> Todo.Cache.server_process("Bob's list") end)
    registry = Process.whereis(:todo_process_registry)

    {reg, bob} =
      :timer.tc(fn ->
        Process.exit(registry, :kill)
        recovered.(bob)
      end)

    {srv, _} =
      :timer.tc(fn ->
        Process.exit(bob, :kill)
        recovered.(bob)
      end)

    {stop, _} = :timer.tc(fn -> Supervisor.stop(sup) end)

    receive do
      {:EXIT, ^sup, _} -> :ok
    after
      0 -> :ok
    end

    [start, first, reg, srv, stop]
  end

names = ["start", "first_server_process", "registry_kill", "server_kill", "stop"]

for {name, k} <- Enum.with_index(names) do
  sorted = rows |> Enum.map(&Enum.at(&1, k)) |> Enum.sort()
  Bench.result("recovery", name, Enum.at(sorted, div(length(sorted), 2)) * 1.0, "us")
end
