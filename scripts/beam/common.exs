# Shared by every script of scripts/beam/: the to-do system of the seeds (chapter 9 tree, with
# the process cache or the ETS cache), the chapter 7.2 cache of the load test, the Profiler,
# and the RESULT printer. Plain Elixir, no Mix: each benchmark script does
# `Code.require_file("common.exs", __DIR__)`. The work matches src/bench.rs one for one.

defmodule Bench do
  @moduledoc "RESULT lines, arguments and memory readings."

  def result(bench, metric, value, unit) do
    IO.puts("RESULT #{bench}: #{metric} #{fmt(value)} #{unit}")
  end

  defp fmt(v) when is_integer(v), do: fmt(v * 1.0)
  defp fmt(v) when abs(v) >= 1000, do: :erlang.float_to_binary(Float.round(v), decimals: 0)
  defp fmt(v), do: :erlang.float_to_binary(v * 1.0, decimals: 3)

  # `--n N --clients C` after the positional arguments.
  def args do
    {opts, rest, _} =
      OptionParser.parse(System.argv(), strict: [n: :integer, clients: :integer, smoke: :boolean])

    {opts, rest}
  end

  def size(opts, full, smoke) do
    opts[:n] || if(opts[:smoke], do: smoke, else: full)
  end

  def us(fun) do
    {t, v} = :timer.tc(fun)
    {t, v}
  end

  def scratch(tag) do
    dir = Path.join(System.tmp_dir!(), "beam-bench-#{tag}-#{System.os_time()}")
    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    System.at_exit(fn _ -> File.rm_rf(dir) end)
    dir
  end
end

defmodule Profiler do
  # Sasa Juric's profiler of seed 001, returning the rate instead of printing it.
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

    1_000_000 * operations_count * concurrency_level / time
  end
end

defmodule Todo.List do
  defstruct auto_id: 1, entries: %{}

  def new(), do: %Todo.List{}

  def add_entry(todo_list, entry) do
    entry = Map.put(entry, :id, todo_list.auto_id)
    entries = Map.put(todo_list.entries, todo_list.auto_id, entry)
    %Todo.List{todo_list | entries: entries, auto_id: todo_list.auto_id + 1}
  end

  def entries(todo_list, date) do
    todo_list.entries
    |> Stream.filter(fn {_, entry} -> entry.date == date end)
    |> Enum.map(fn {_, entry} -> entry end)
  end
end

defmodule Todo.ProcessRegistry do
  use GenServer
  import Kernel, except: [send: 2]

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: :todo_process_registry)

  def register_name(key, pid),
    do: GenServer.call(:todo_process_registry, {:register_name, key, pid})

  def whereis_name(key), do: GenServer.call(:todo_process_registry, {:whereis_name, key})

  def unregister_name(key), do: GenServer.call(:todo_process_registry, {:unregister_name, key})

  def send(key, message) do
    case whereis_name(key) do
      :undefined ->
        {:badarg, {key, message}}

      pid ->
        Kernel.send(pid, message)
        pid
    end
  end

  @impl true
  def init(_), do: {:ok, %{}}

  @impl true
  def handle_call({:register_name, key, pid}, _, registry) do
    case Map.get(registry, key) do
      nil ->
        Process.monitor(pid)
        {:reply, :yes, Map.put(registry, key, pid)}

      _ ->
        {:reply, :no, registry}
    end
  end

  def handle_call({:whereis_name, key}, _, registry),
    do: {:reply, Map.get(registry, key, :undefined), registry}

  def handle_call({:unregister_name, key}, _, registry),
    do: {:reply, key, Map.delete(registry, key)}

  @impl true
  def handle_info({:DOWN, _, :process, pid, _}, registry) do
    {:noreply, for({k, v} <- registry, v != pid, into: %{}, do: {k, v})}
  end

  def handle_info(_, state), do: {:noreply, state}
end

defmodule Todo.DatabaseWorker do
  use GenServer

  def start_link({folder, id}),
    do: GenServer.start_link(__MODULE__, folder, name: via_tuple(id))

  def store(id, key, data), do: GenServer.cast(via_tuple(id), {:store, key, data})
  def get(id, key), do: GenServer.call(via_tuple(id), {:get, key})
  def sync(id), do: GenServer.call(via_tuple(id), :sync, :infinity)

  defp via_tuple(id), do: {:via, Todo.ProcessRegistry, {:database_worker, id}}

  @impl true
  def init(folder), do: {:ok, folder}

  @impl true
  def handle_cast({:store, key, data}, folder) do
    folder |> Path.join(key) |> File.write!(:erlang.term_to_binary(data))
    {:noreply, folder}
  end

  @impl true
  def handle_call({:get, key}, _, folder) do
    data =
      case File.read(Path.join(folder, key)) do
        {:ok, contents} -> :erlang.binary_to_term(contents)
        _ -> nil
      end

    {:reply, data, folder}
  end

  def handle_call(:sync, _, folder), do: {:reply, :ok, folder}
end

defmodule Todo.Database do
  @pool_size 3

  def child_spec(folder) do
    File.mkdir_p!(folder)

    workers =
      for id <- 1..@pool_size do
        Supervisor.child_spec({Todo.DatabaseWorker, {folder, id}}, id: id)
      end

    %{
      id: __MODULE__,
      type: :supervisor,
      start: {Supervisor, :start_link, [workers, [strategy: :one_for_one]]}
    }
  end

  def store(key, data), do: Todo.DatabaseWorker.store(choose_worker(key), key, data)
  def get(key), do: Todo.DatabaseWorker.get(choose_worker(key), key)
  def choose_worker(key), do: :erlang.phash2(key, @pool_size) + 1
  def pool_size, do: @pool_size
end

defmodule Todo.Server do
  use GenServer, restart: :temporary

  def start_link(name), do: GenServer.start_link(__MODULE__, name, name: via_tuple(name))
  def whereis(name), do: Todo.ProcessRegistry.whereis_name({:todo_server, name})
  def add_entry(pid, entry), do: GenServer.cast(pid, {:add_entry, entry})
  def entries(pid, date), do: GenServer.call(pid, {:entries, date})

  defp via_tuple(name), do: {:via, Todo.ProcessRegistry, {:todo_server, name}}

  @impl true
  def init(name), do: {:ok, {name, nil}, {:continue, :init}}

  @impl true
  def handle_continue(:init, {name, nil}),
    do: {:noreply, {name, Todo.Database.get(name) || Todo.List.new()}}

  @impl true
  def handle_cast({:add_entry, entry}, {name, list}) do
    list = Todo.List.add_entry(list, entry)
    Todo.Database.store(name, list)
    {:noreply, {name, list}}
  end

  @impl true
  def handle_call({:entries, date}, _, {name, list}),
    do: {:reply, Todo.List.entries(list, date), {name, list}}
end

defmodule Todo.ServerSupervisor do
  def child_spec(_) do
    %{
      id: __MODULE__,
      type: :supervisor,
      start: {DynamicSupervisor, :start_link, [[strategy: :one_for_one, name: __MODULE__]]}
    }
  end

  def start_child(name), do: DynamicSupervisor.start_child(__MODULE__, {Todo.Server, name})
end

defmodule Todo.Cache do
  # The chapter 9 cache: the lookup is a registry call from the caller.
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: :todo_cache)

  def server_process(name) do
    case Todo.Server.whereis(name) do
      :undefined -> GenServer.call(:todo_cache, {:server_process, name})
      pid -> pid
    end
  end

  @impl true
  def init(_), do: {:ok, nil}

  @impl true
  def handle_call({:server_process, name}, _, state) do
    case Todo.Server.whereis(name) do
      :undefined ->
        {:ok, pid} = Todo.ServerSupervisor.start_child(name)
        {:reply, pid, state}

      pid ->
        {:reply, pid, state}
    end
  end
end

defmodule Todo.EtsCache do
  # Seed 001's ETS cache: the lookup reads a protected named table, no message.
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: :todo_cache)

  def server_process(name) do
    case :ets.lookup(:ets_todo_cache, name) do
      [{^name, pid}] -> pid
      _ -> GenServer.call(:todo_cache, {:server_process, name})
    end
  end

  @impl true
  def init(_) do
    :ets.new(:ets_todo_cache, [:set, :named_table, :protected, read_concurrency: true])
    {:ok, nil}
  end

  @impl true
  def handle_call({:server_process, name}, _, state) do
    pid =
      case :ets.lookup(:ets_todo_cache, name) do
        [{^name, pid}] ->
          pid

        _ ->
          {:ok, pid} = Todo.ServerSupervisor.start_child(name)
          :ets.insert(:ets_todo_cache, {name, pid})
          pid
      end

    {:reply, pid, state}
  end
end

defmodule Todo.SystemSupervisor do
  def child_spec({folder, cache}) do
    children = [Todo.Database.child_spec(folder), Todo.ServerSupervisor, cache]

    %{
      id: __MODULE__,
      type: :supervisor,
      start: {Supervisor, :start_link, [children, [strategy: :one_for_one]]}
    }
  end
end

defmodule Todo.Supervisor do
  def start_link(folder, cache) do
    Supervisor.start_link(
      [Todo.ProcessRegistry, {Todo.SystemSupervisor, {folder, cache}}],
      strategy: :rest_for_one
    )
  end
end

defmodule Chapter.Server do
  # The chapter 7.2 to-do server of the load test: a Todo.List in a GenServer.
  use GenServer
  @impl true
  def init(_), do: {:ok, Todo.List.new()}
end

defmodule Chapter.Cache do
  # The chapter 7.2 cache: one unsupervised GenServer holding name => pid.
  use GenServer

  def start, do: GenServer.start(__MODULE__, nil)
  def server_process(cache, name), do: GenServer.call(cache, {:server_process, name})

  @impl true
  def init(_), do: {:ok, %{}}

  @impl true
  def handle_call({:server_process, name}, _, servers) do
    case Map.fetch(servers, name) do
      {:ok, pid} ->
        {:reply, pid, servers}

      :error ->
        {:ok, pid} = GenServer.start(Chapter.Server, nil)
        {:reply, pid, Map.put(servers, name, pid)}
    end
  end
end

defmodule Bench.Server do
  # call/cast/genserver-start/flood: an integer state; casts sleep 1 ms when asked to.
  use GenServer
  @impl true
  def init(sleep), do: {:ok, {0, sleep}}
  @impl true
  def handle_call(:get, _, {n, s}), do: {:reply, n, {n, s}}
  def handle_call(:ping, _, state), do: {:reply, :pong, state}
  @impl true
  def handle_cast(_, {n, sleep}) do
    if sleep, do: :timer.sleep(1)
    {:noreply, {n + 1, sleep}}
  end
end
