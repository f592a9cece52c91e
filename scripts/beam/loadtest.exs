# 3b load_test: names "cache_#{i}" in intervals of 100 000; per interval, one sequential client
# times server_process on every new name (put), then on the same names again (get).
# chapter = the ch.7.2 unsupervised cache (put starts a plain GenServer); system / ets = the
# ch.9 tree with the process or ETS cache.
# elixir --erl "+P 4000000" loadtest.exs chapter|system|ets [--n N] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, [kind | _]} = Bench.args()

{bench, op, default} =
  case kind do
    "chapter" ->
      {:ok, cache} = Chapter.Cache.start()
      {"loadtest-chapter", fn name -> Chapter.Cache.server_process(cache, name) end, 1_000_000}

    other ->
      {bench, cache} =
        if other == "ets", do: {"loadtest-ets", Todo.EtsCache}, else: {"loadtest-system", Todo.Cache}

      {:ok, _} = Todo.Supervisor.start_link(Bench.scratch(bench), cache)
      {bench, &cache.server_process/1, 100_000}
  end

n = Bench.size(opts, default, 2_000)
interval = min(n, 100_000)
before = :erlang.memory(:total)

rows =
  Stream.iterate(0, &(&1 + interval))
  |> Enum.take_while(&(&1 < n))
  |> Enum.map(fn start ->
    last = min(start + interval, n) - 1
    count = last - start + 1
    {put, _} = :timer.tc(fn -> for i <- start..last, do: op.("cache_#{i}") end)
    {get, _} = :timer.tc(fn -> for i <- start..last, do: op.("cache_#{i}") end)
    {last + 1, put / count, get / count}
  end)

total = :erlang.memory(:total)
mean = fn l -> Enum.sum(l) / length(l) end
Bench.result(bench, "put", mean.(Enum.map(rows, &elem(&1, 1))), "us")
Bench.result(bench, "get", mean.(Enum.map(rows, &elem(&1, 2))), "us")
Bench.result(bench, "memory", total / 1_048_576, "MiB")
Bench.result(bench, "memory_per_list", (total - before) / n, "bytes")

for {upto, put, get} <- rows do
  Bench.result(bench, "put_upto_#{upto}", put, "us")
  Bench.result(bench, "get_upto_#{upto}", get, "us")
end
