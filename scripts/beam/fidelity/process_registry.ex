defmodule Todo.ProcessRegistry do
  # The book's hand-written registry (chapter 9.1): a GenServer holding key => pid, which
  # monitors each registered process and forgets it when it dies. It is a `:via` module.
  use GenServer
  import Kernel, except: [send: 2]

  def start_link(_ \\ nil) do
    IO.puts("Starting process registry")
    GenServer.start_link(__MODULE__, nil, name: :todo_process_registry)
  end

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
end
