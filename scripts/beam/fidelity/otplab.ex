defmodule Otplab do
  # What otplab's shell does around the book's modules, for the BEAM side of the fidelity
  # test: the persist folder, the booted tree (otplab boots the to-do system as `iex -S mix`
  # starts an application), the `start` command's shapes, and the end of a step.

  def persist_dir do
    System.get_env("OTPLAB_FIDELITY_PERSIST") || Path.join(System.tmp_dir!(), "otplab-fidelity")
  end

  def option(key, default), do: :persistent_term.get({__MODULE__, key}, default)

  # The booted system: started unlinked from the process that loads these files, as an
  # application's tree is, so the shell's crash does not take it down.
  def boot do
    {:ok, pid} = Todo.Supervisor.start_link()
    Process.unlink(pid)
    :persistent_term.put({__MODULE__, :tree}, pid)
    pid
  end

  # otplab's `start [--flat] [--single-db | --spawn-db | --bypass-db] [--slow-db MS]`: stops
  # the running tree, then starts one of that shape, unlinked from the shell.
  def start(opts \\ []) do
    case :persistent_term.get({__MODULE__, :tree}, nil) do
      nil -> :ok
      pid -> if Process.alive?(pid), do: Supervisor.stop(pid)
    end

    one = Enum.any?([:single_db, :spawn_db, :bypass_db], &Keyword.get(opts, &1, false))
    :persistent_term.put({__MODULE__, :pool_size}, if(one, do: 1, else: 3))
    :persistent_term.put({__MODULE__, :slow_db}, Keyword.get(opts, :slow_db, 0))
    {:ok, pid} = Todo.Supervisor.start_link(flat: Keyword.get(opts, :flat, false))
    Process.unlink(pid)
    :persistent_term.put({__MODULE__, :tree}, pid)
    {:ok, pid}
  end

  # otplab's `restart LIST`: the server supervisor terminates the list's server, the cache
  # starts a new one.
  def restart(name) do
    :ok = DynamicSupervisor.terminate_child(:todo_server_supervisor, Todo.Server.whereis(name))
    Todo.Cache.server_process(name)
  end

  @doc """
  The end of a step, which the harness types after each of the script's inputs: like
  otplab before its next prompt, it waits for the line's immediate consequences (restarts
  and their `Starting …` lines) until no other process is runnable, for 200 ms at most, then
  prints the marker line the harness splits the output on, and shows no result.

  Logger prints a crash report after the crash, from its own process and without keeping
  any process runnable in between, so the wait also flushes Logger and looks again, until
  a flush finds the node idle.
  """
  def settle(marker) do
    deadline = System.monotonic_time(:millisecond) + 200
    settle_logged(deadline)
    IO.puts(marker)
    IEx.dont_display_result()
  end

  defp settle_logged(deadline) do
    wait_idle(deadline, 0)
    before = :erlang.statistics(:total_run_queue_lengths_all)
    Logger.flush()

    if System.monotonic_time(:millisecond) < deadline and
         (before > 0 or :erlang.statistics(:total_active_tasks_all) > 1) do
      settle_logged(deadline)
    end
  end

  # Idle means this process alone is runnable, seen three times in a row with a yield
  # between (a send makes its receiver runnable at once, so no message is in flight unseen).
  # No sleep: a timer due in a few milliseconds must not fire inside the step, as it does
  # not in otplab.
  defp wait_idle(deadline, quiet) do
    cond do
      quiet >= 3 ->
        :ok

      System.monotonic_time(:millisecond) >= deadline ->
        :ok

      true ->
        :erlang.yield()
        active = :erlang.statistics(:total_active_tasks_all)
        wait_idle(deadline, if(active <= 1, do: quiet + 1, else: 0))
    end
  end
end
