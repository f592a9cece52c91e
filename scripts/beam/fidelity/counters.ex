defmodule Counter do
  # The talk's counter (seed 000): state kept in a GenServer, %{count: 0, value: 0}. The slow
  # counters share its start, its state and its reads, as otplab's share `reply_tally`.
  use GenServer

  def new, do: start(__MODULE__)
  def inc_of(pid, value), do: GenServer.call(pid, {:inc_of, value})
  def value(pid), do: GenServer.call(pid, :value)
  def count(pid), do: GenServer.call(pid, :count)

  @impl true
  def init(_), do: {:ok, %{count: 0, value: 0}}

  @impl true
  def handle_call({:inc_of, value}, _, state), do: {:reply, :ok, add(state, value)}
  def handle_call(read, _, state) when read in [:value, :count], do: read(read, state)

  def start(module) do
    {:ok, pid} = GenServer.start_link(module, nil)
    pid
  end

  def add(state, value), do: %{state | count: state.count + 1, value: state.value + value}
  def read(read, state), do: {:reply, Map.fetch!(state, read), state}
end

defmodule SlowCounter do
  # The single-process bottleneck: each increment takes 10 s inside the server, so every
  # other request waits behind it. Clients wait up to 60 s.
  use GenServer

  def new, do: Counter.start(__MODULE__)
  def inc_of(pid, value), do: GenServer.call(pid, {:inc_of, value}, 60_000)
  def value(pid), do: GenServer.call(pid, :value, 60_000)
  def count(pid), do: GenServer.call(pid, :count, 60_000)

  @impl true
  defdelegate init(arg), to: Counter

  @impl true
  def handle_call({:inc_of, value}, _, state) do
    :timer.sleep(10_000)
    {:reply, :ok, Counter.add(state, value)}
  end

  def handle_call(read, _, state) when read in [:value, :count], do: Counter.read(read, state)
end

defmodule SlowButReponsiveCounter do
  # Spawn and reply (the seed's spelling): the slow work runs in a linked worker, which
  # updates the state with a call and answers the client with GenServer.reply/2, so reads
  # are answered at once.
  use GenServer

  def new, do: Counter.start(__MODULE__)
  defdelegate inc_of(pid, value), to: SlowCounter
  defdelegate value(pid), to: SlowCounter
  defdelegate count(pid), to: SlowCounter

  @impl true
  defdelegate init(arg), to: Counter

  @impl true
  def handle_call({:inc_of, value}, from, state) do
    me = self()

    spawn_link(fn ->
      :timer.sleep(10_000)
      GenServer.call(me, {:update_state, value})
      GenServer.reply(from, :ok)
    end)

    {:noreply, state}
  end

  def handle_call({:update_state, value}, _, state), do: {:reply, :ok, Counter.add(state, value)}
  def handle_call(read, _, state) when read in [:value, :count], do: Counter.read(read, state)
end

defmodule ContIncrementer do
  # Hammers a counter: a random increment, then a random pause of up to a second.
  def go(module, pid) do
    module.inc_of(pid, Enum.random(1..99))
    :timer.sleep(Enum.random(1..999))
    go(module, pid)
  end
end

defmodule Crasher do
  # iex's crash experiment: a GenServer whose :boom raises.
  use GenServer

  def start_link, do: GenServer.start_link(__MODULE__, nil)
  def boom(pid), do: GenServer.call(pid, :boom)

  @impl true
  def init(_), do: {:ok, 0}

  @impl true
  def handle_call(:boom, _, _), do: raise("boom")
end

defmodule Profiler do
  # Sasa Juric's profiler of seed 001: runs `fun` `operations_count` times in each of
  # `concurrency_level` processes and prints the rate.
  def run(fun, operations_count, concurrency_level \\ 1) do
    {time, _} =
      :timer.tc(fn ->
        me = self()

        for _ <- 1..concurrency_level do
          spawn(fn ->
            for _ <- 1..operations_count, do: fun.()
            send(me, :computed)
          end)
        end

        for _ <- 1..concurrency_level do
          receive do
            :computed -> :ok
          end
        end
      end)

    IO.puts("#{round(1_000_000 * operations_count * concurrency_level / time)} reqs/sec\n")
  end
end
