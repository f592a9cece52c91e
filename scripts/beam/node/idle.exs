# The to-do node with N idle processes beside it, for the `ps` and `tree` latency benchmark
# (scripts/bench-node.sh): `elixir --sname bench scripts/beam/node/idle.exs 100000`. The
# options after N are todo.exs's.
usage = fn ->
  IO.puts(:stderr, "usage: elixir --sname NAME scripts/beam/node/idle.exs N [todo.exs options]")
  System.halt(2)
end

with [n | rest] <- System.argv(),
     {count, ""} when count >= 0 <- Integer.parse(n) do
  System.argv(["--idle", n | rest])
  Code.require_file("todo.exs", __DIR__)
else
  _ -> usage.()
end
