defmodule Todo.Server do
  # One process per list (chapter 9), registered through the registry as
  # `{:todo_server, name}`; it loads its list in handle_continue and stores it after each
  # change. `sync/1` is otplab's acknowledgement of the casts before it. Permanent, as the
  # first edition's `worker(Todo.Server, [])` under :simple_one_for_one is, and otplab's: a
  # killed server is restarted at once and registers again.
  use GenServer

  def start_link(name) do
    IO.puts("Starting to-do server for #{name}")
    GenServer.start_link(__MODULE__, name, name: via_tuple(name))
  end

  # Chapter 7: unregistered and unlinked.
  def start(name \\ nil) do
    if name, do: IO.puts("Starting to-do server for #{name}")
    GenServer.start(__MODULE__, name)
  end

  def whereis(name) do
    case Todo.ProcessRegistry.whereis_name({:todo_server, name}) do
      :undefined -> nil
      pid -> pid
    end
  end

  def add_entry(pid, entry), do: GenServer.cast(pid, {:add_entry, entry})
  def update_entry(pid, id, changes), do: GenServer.cast(pid, {:update_entry, id, changes})
  def delete_entry(pid, id), do: GenServer.cast(pid, {:delete_entry, id})
  def entries(pid, date), do: GenServer.call(pid, {:entries, date})
  def sync(pid), do: GenServer.call(pid, :sync, 60_000)

  defp via_tuple(name), do: {:via, Todo.ProcessRegistry, {:todo_server, name}}

  @impl true
  def init(name), do: {:ok, {name, nil}, {:continue, :init}}

  @impl true
  def handle_continue(:init, {nil, nil}), do: {:noreply, {nil, Todo.List.new()}}

  def handle_continue(:init, {name, nil}),
    do: {:noreply, {name, Todo.Database.get(name) || Todo.List.new()}}

  @impl true
  def handle_cast({:add_entry, entry}, {name, list}),
    do: {:noreply, store(name, Todo.List.add_entry(list, entry))}

  def handle_cast({:update_entry, id, changes}, {name, list}),
    do: {:noreply, store(name, Todo.List.update_entry(list, id, &Map.merge(&1, changes)))}

  def handle_cast({:delete_entry, id}, {name, list}),
    do: {:noreply, store(name, Todo.List.delete_entry(list, id))}

  @impl true
  def handle_call({:entries, date}, _, {name, list}),
    do: {:reply, Todo.List.entries(list, date), {name, list}}

  def handle_call(:sync, _, {name, list}) do
    if name, do: Todo.Database.sync(name)
    {:reply, :ok, {name, list}}
  end

  defp store(name, list) do
    if name, do: Todo.Database.store(name, list)
    {name, list}
  end
end
