# 3a cache_perf: Profiler.run(fn -> server_process("list #{:rand.uniform(100)}") end, N, C)
# through the chapter 9 tree, after creating "list 1".."list 100".
# elixir cache.exs gen|ets [--n N] [--clients C] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, [kind | _]} = Bench.args()
{bench, cache} = if kind == "ets", do: {"cache-ets", Todo.EtsCache}, else: {"cache-gen", Todo.Cache}
{:ok, _} = Todo.Supervisor.start_link(Bench.scratch(bench), cache)
for i <- 1..100, do: cache.server_process("list #{i}")

runs =
  case opts[:clients] do
    nil -> [{1, Bench.size(opts, 100_000, 200)}, {100, Bench.size(opts, 10_000, 20)}]
    c -> [{c, Bench.size(opts, 100_000, 200)}]
  end

for {clients, ops} <- runs do
  rate = Profiler.run(fn -> cache.server_process("list #{:rand.uniform(100)}") end, ops, clients)
  metric = if clients == 1, do: "1_client", else: "#{clients}_clients"
  Bench.result(bench, metric, rate, "reqs/s")
end
