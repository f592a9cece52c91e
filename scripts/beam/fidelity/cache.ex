defmodule Todo.Cache do
  # Both caches of the book in one module, as otplab's `Todo.Cache` takes both:
  # chapter 9's `server_process/1`, which looks the server up from the caller and asks the
  # cache process (registered as :todo_cache) only to start it under Todo.ServerSupervisor,
  # and chapter 7's unsupervised `start/0` and `server_process/2`, a map name => pid whose
  # servers are linked to the cache and which starts the registry and the database it needs.
  use GenServer

  def start_link(_ \\ nil) do
    IO.puts("Starting to-do cache")
    GenServer.start_link(__MODULE__, :chapter9, name: :todo_cache)
  end

  def start, do: GenServer.start(__MODULE__, :chapter7)

  def server_process(name) do
    case Todo.Server.whereis(name) do
      nil -> GenServer.call(:todo_cache, {:server_process, name})
      pid -> pid
    end
  end

  def server_process(cache, name), do: GenServer.call(cache, {:server_process, name})

  @impl true
  def init(:chapter9), do: {:ok, :chapter9}

  def init(:chapter7) do
    if Process.whereis(:todo_process_registry) == nil do
      {:ok, _} = Todo.ProcessRegistry.start_link()
      {:ok, _} = Todo.Database.start_link(Otplab.persist_dir())
    end

    {:ok, %{}}
  end

  @impl true
  def handle_call({:server_process, name}, _, :chapter9) do
    case Todo.Server.whereis(name) do
      nil ->
        {:ok, pid} = Todo.ServerSupervisor.start_child(name)
        {:reply, pid, :chapter9}

      pid ->
        {:reply, pid, :chapter9}
    end
  end

  def handle_call({:server_process, name}, _, servers) do
    case Map.fetch(servers, name) do
      {:ok, pid} ->
        {:reply, pid, servers}

      :error ->
        {:ok, pid} = Todo.Server.start(name)
        Process.link(pid)
        {:reply, pid, Map.put(servers, name, pid)}
    end
  end
end
