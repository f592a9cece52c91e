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

  Logger prints a crash report from its own process after the crash, so the wait flushes
  Logger and then waits again for what the report's printing woke.
  """
  def settle(marker) do
    deadline = System.monotonic_time(:millisecond) + 200
    wait_idle(deadline, nil)
    Logger.flush()
    wait_idle(deadline, nil)
    IO.puts(marker)
    IEx.dont_display_result()
  end

  # Idle means that every other process waits in a receive, none of them for its output to
  # be written, and no port is ready to run, and it must last 50 ms: a message or an output
  # in flight leaves every process waiting for an instant, with the rest of a restart still
  # to come, and nothing on the BEAM shows it. otplab sees that at once; here a timer due
  # within 50 ms of the step's end fires inside the step (scripts/send_after.iex says so).
  @quiet_ms 50

  defp wait_idle(deadline, since) do
    now = System.monotonic_time(:millisecond)

    cond do
      now >= deadline ->
        :ok

      not idle?() ->
        :timer.sleep(1)
        wait_idle(deadline, nil)

      since != nil and now - since >= @quiet_ms ->
        :ok

      true ->
        :timer.sleep(1)
        wait_idle(deadline, since || now)
    end
  end

  defp idle? do
    me = self()

    :erlang.statistics(:total_active_tasks) <= 1 and
      Enum.all?(Process.list(), fn pid ->
        pid == me or
          (Process.info(pid, :status) in [{:status, :waiting}, nil] and
             Process.info(pid, :current_function) !=
               {:current_function, {:io, :execute_request, 3}})
      end)
  end
end
