defmodule Todo.ServerSupervisor do
  # The dynamic supervisor of the to-do servers, registered as :todo_server_supervisor.
  def start_link(_ \\ nil) do
    IO.puts("Starting to-do server supervisor")
    DynamicSupervisor.start_link(strategy: :one_for_one, name: :todo_server_supervisor)
  end

  def child_spec(_) do
    %{id: __MODULE__, type: :supervisor, start: {__MODULE__, :start_link, [nil]}}
  end

  def start_child(name),
    do: DynamicSupervisor.start_child(:todo_server_supervisor, {Todo.Server, name})
end

defmodule Todo.SystemSupervisor do
  # Chapter 9's middle level: everything that registers through the registry, one_for_one.
  def start_link(folder) do
    IO.puts("Starting system supervisor")

    Supervisor.start_link(
      [{Todo.Database, folder}, Todo.ServerSupervisor, Todo.Cache],
      strategy: :one_for_one
    )
  end

  def child_spec(folder) do
    %{id: __MODULE__, type: :supervisor, start: {__MODULE__, :start_link, [folder]}}
  end
end

defmodule Todo.Supervisor do
  # The top of the tree: rest_for_one over the registry and the system supervisor, so a
  # registry crash restarts everything registered with it. `flat: true` is seed 001's first
  # tree, the registry as one more one_for_one child.
  def start_link(opts \\ []) do
    folder = Otplab.persist_dir()

    if Keyword.get(opts, :flat, false) do
      Supervisor.start_link(
        [Todo.ProcessRegistry, {Todo.Database, folder}, Todo.ServerSupervisor, Todo.Cache],
        strategy: :one_for_one
      )
    else
      Supervisor.start_link(
        [Todo.ProcessRegistry, {Todo.SystemSupervisor, folder}],
        strategy: :rest_for_one
      )
    end
  end
end
