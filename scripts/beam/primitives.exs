# 3c primitives: call (1M sequential GenServer.call(pid, :ping)), cast (1M casts then a :get
# call that returns once all are handled), spawn (1M processes waiting for :stop), and
# genserver-start (100k idle GenServers with an integer state). Memory is the
# :erlang.memory(:total) delta per process.
# elixir --erl "+P 4000000" primitives.exs call|cast|spawn|genserver-start [--n N] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, [what | _]} = Bench.args()

case what do
  "call" ->
    n = Bench.size(opts, 1_000_000, 2_000)
    {:ok, pid} = GenServer.start(Bench.Server, false)
    {t, _} = :timer.tc(fn -> for _ <- 1..n, do: GenServer.call(pid, :ping) end)
    Bench.result("call", "round_trip", t / n, "us")

  "cast" ->
    n = Bench.size(opts, 1_000_000, 2_000)
    {:ok, pid} = GenServer.start(Bench.Server, false)

    {total, issued} =
      :timer.tc(fn ->
        {issued, _} = :timer.tc(fn -> for _ <- 1..n, do: GenServer.cast(pid, :inc) end)
        ^n = GenServer.call(pid, :get, :infinity)
        issued
      end)

    Bench.result("cast", "throughput", n / (total / 1_000_000), "msg/s")
    Bench.result("cast", "issue_cost", issued / n, "us")

  "spawn" ->
    n = Bench.size(opts, 1_000_000, 5_000)
    before = :erlang.memory(:total)

    {t, pids} =
      :timer.tc(fn ->
        for _ <- 1..n do
          spawn(fn ->
            receive do
              :stop -> :ok
            end
          end)
        end
      end)

    Process.sleep(20)
    after_ = :erlang.memory(:total)
    Bench.result("spawn", "spawn", t / n, "us/proc")
    Bench.result("spawn", "memory", (after_ - before) / n, "bytes/proc")
    for pid <- pids, do: send(pid, :stop)

  "genserver-start" ->
    n = Bench.size(opts, 100_000, 2_000)
    before = :erlang.memory(:total)

    {t, pids} =
      :timer.tc(fn ->
        for _ <- 1..n do
          {:ok, pid} = GenServer.start(Bench.Server, false)
          pid
        end
      end)

    after_ = :erlang.memory(:total)
    Bench.result("genserver-start", "start", t / n, "us/proc")
    Bench.result("genserver-start", "memory", (after_ - before) / n, "bytes/proc")
    for pid <- pids, do: Process.exit(pid, :kill)
end
