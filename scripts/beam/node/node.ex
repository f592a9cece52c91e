defmodule TodoNode do
  # The book's to-do system of chapter 9 as a running node, for `otplab --connect` and for
  # tests/real_node.rs. The modules are those of scripts/beam/fidelity/ (the book's, in plain
  # Elixir, as the fidelity test loads them); this file only starts them the way a release
  # does: as the application `:todo`, whose top supervisor is `Todo.Supervisor`, so that the
  # tree is found as observer finds it, through the application master
  # (`:application_controller.get_master(:todo) |> :application_master.get_child()`), and no
  # name is added that the book does not give.
  #
  # The registered names are the book's: `:todo_process_registry`, `:todo_cache`,
  # `:todo_server_supervisor`; the database workers and the to-do servers register through
  # the registry as `{:database_worker, id}` and `{:todo_server, name}`.

  @usage """
  usage: elixir --sname todo scripts/beam/node/todo.exs [--persist DIR] [--idle N] [--until-eof]

    --persist DIR  the database folder (default: ./persist-node)
    --idle N       also spawn N idle processes (for the benchmark)
    --until-eof    stop the node when its standard input ends (the test harness's pipe)
  """

  # The line printed once the node answers over distribution; the harness waits for it and
  # checks that the name in it is the one it asked for.
  @ready "otplab-node ready"

  def main(argv) do
    {opts, rest, bad} =
      OptionParser.parse(argv, strict: [persist: :string, idle: :integer, until_eof: :boolean])

    if rest != [] or bad != [] do
      IO.puts(:stderr, @usage)
      System.halt(2)
    end

    if Node.self() == :nonode@nohost do
      IO.puts(
        :stderr,
        "this node is not distributed: start it with --sname or --name\n" <> @usage
      )

      System.halt(2)
    end

    folder = Path.expand(opts[:persist] || "persist-node")
    start(folder)
    idle = spawn_idle(opts[:idle] || 0)
    if opts[:until_eof], do: halt_on_eof()
    IO.puts("#{@ready} #{Node.self()} #{length(idle)} idle")
    Process.sleep(:infinity)
  end

  # Starts the application of the book's modules (todo.exs loaded them with this file). The
  # persist folder reaches `Otplab.persist_dir/0` through the variable the fidelity side reads.
  def start(folder) do
    System.put_env("OTPLAB_FIDELITY_PERSIST", folder)

    spec = [
      description: ~c"The to-do system of Elixir in Action, chapter 9",
      vsn: ~c"0.1.0",
      registered: [:todo_process_registry, :todo_cache, :todo_server_supervisor],
      applications: [:kernel, :stdlib, :elixir, :logger],
      mod: {TodoNode.Application, []}
    ]

    :ok = :application.load({:application, :todo, spec})
    {:ok, _} = Application.ensure_all_started(:todo)
  end

  # Processes that do nothing but wait, as a busy node's idle connections and timers do:
  # the benchmark's 10,000 and 100,000.
  def spawn_idle(n) when n > 0 do
    for _ <- 1..n do
      spawn(fn ->
        receive do
          :stop -> :ok
        end
      end)
    end
  end

  def spawn_idle(_), do: []

  # With -noshell the node owns its standard input; its end means the harness is gone, even
  # when the harness died without running any cleanup.
  defp halt_on_eof do
    spawn(fn ->
      wait_eof()
      System.halt(0)
    end)
  end

  defp wait_eof do
    case IO.read(:stdio, :line) do
      :eof -> :ok
      {:error, _} -> :ok
      _ -> wait_eof()
    end
  end
end

defmodule TodoNode.Application do
  # What `iex -S mix` starts for the book's project: the top supervisor of chapter 9.
  use Application

  @impl true
  def start(_type, _args), do: Todo.Supervisor.start_link()
end
