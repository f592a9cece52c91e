# The reliability issue's crash loop: a one_for_one supervisor whose intensity never runs out
# (max_restarts huge in 1 s) restarting a child that dies with :boom as soon as it runs. The
# child's start function counts its starts in :counters; after 1.2 s of warm-up (the intensity
# window full) the restarts are counted over --n milliseconds (default 2000), in tenths, and
# the rate and the slowest tenth printed. src/bench/crash_loop.rs does the same.
# elixir crash_loop.exs [--n MILLIS] [--smoke]
Code.require_file("common.exs", __DIR__)

defmodule Bench.Crasher do
  def start_link(starts) do
    :counters.add(starts, 1, 1)
    {:ok, spawn_link(fn -> exit(:boom) end)}
  end
end

{opts, _} = Bench.args()
millis = Bench.size(opts, 2_000, 500)
# The smoke run only checks the script: a short warm-up, as src/bench/crash_loop.rs's.
warm_up = if opts[:smoke], do: 100, else: 1200
starts = :counters.new(1, [])
# Exits of the crashing children reach the supervisor only; this process must not die with it.
Process.flag(:trap_exit, true)

{:ok, sup} =
  Supervisor.start_link(
    [%{id: :crasher, start: {Bench.Crasher, :start_link, [starts]}}],
    strategy: :one_for_one,
    max_restarts: 4_000_000_000,
    max_seconds: 1
  )

Process.sleep(warm_up)
tenth = div(millis, 10)
t0 = System.monotonic_time(:microsecond)
n0 = :counters.get(starts, 1)

{slowest, t1, n1} =
  Enum.reduce(1..10, {:infinity, t0, n0}, fn _, {slowest, t, n} ->
    Process.sleep(tenth)
    t2 = System.monotonic_time(:microsecond)
    n2 = :counters.get(starts, 1)
    rate = (n2 - n) * 1_000_000 / max(t2 - t, 1)
    {if(slowest == :infinity, do: rate, else: min(slowest, rate)), t2, n2}
  end)

Bench.result("crash-loop", "restarts", (n1 - n0) * 1_000_000 / max(t1 - t0, 1), "restarts/s")
Bench.result("crash-loop", "slowest_tenth", slowest, "restarts/s")
Supervisor.stop(sup)
