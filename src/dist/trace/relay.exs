# The trace relay of `trace on` on a real node, evaluated there with `Code.eval_string/2` (the
# node need not have any otplab module loaded) and the binding `sink`, otplab's pid on
# otplab's node, after the line `targets = …` that otplab puts before it: `:all`, or the
# pids to trace. It answers `{:ok, relay}`.
#
# The tracer must be local to the traced node: the BEAM delivers trace messages only to a
# process (or port) of the node that traces. The relay sets every process's send and
# receive tracing with itself as the tracer, keeps the messages otplab's local `trace` keeps
# (those sent by or to a target; of received ones only the EXIT and DOWN messages the runtime
# makes of signals, since every other message is already seen being sent) and forwards each
# one, unwrapped as otplab records it (a call's request, a reply's value), to `sink`:
#
#   {:otplab_trace, [monotonic_time, unique], kind, from, to, term}
#   {:otplab_trace_name, number, registered_name | nil, via_key | nil, label}
#   {:otplab_trace_full, limit}
#
# With no targets, the messages that OTP's own services exchange among themselves (the code
# server loading a module from the boot loader, the RPC server `rex` and its workers) are
# left out: otplab's local trace has no such services, and on an interactive node they would
# bury the system's own messages. A message between one of them and any other process (a
# database worker's file read, a server's `IO.puts` to its group leader) is kept.
#
# `from` and `to` are the middle numbers of the node's pids (`#PID<0.N.0>`), or `:shell` for
# a process working for otplab (spawned by `rex` or from otplab's node for an RPC, or whose
# group leader is on otplab's node), or `nil` for an unknown sender. A process is named once, at its first message, as it was
# then. Messages to other nodes are otplab's own traffic and are not kept.
#
# The relay is registered as :otplab_trace_relay, so that a second `trace on` replaces it and
# `trace off` reaches it by name. It stops, and clears the tracing it set, on
# `:otplab_trace_stop`, when `sink` goes away (otplab exits, disconnects, or the connection
# fails: the monitor's DOWN), and after forwarding `limit` messages, so that a flood never
# floods otplab in turn.
limit = 20_000
# `:procs` for the spawn events that tell which processes work for otplab: an RPC's process
# has ended by the time the relay looks at it, so it is known by who spawned it.
flags = [:send, :receive, :procs, :strict_monotonic_timestamp]

case Process.whereis(:otplab_trace_relay) do
  nil ->
    :ok

  old ->
    ref = Process.monitor(old)
    send(old, :otplab_trace_stop)

    receive do
      {:DOWN, ^ref, _, _, _} -> :ok
    after
      1000 -> Process.exit(old, :kill)
    end
end

number = fn pid ->
  [_, n, _] = pid |> :erlang.pid_to_list() |> to_string() |> String.trim("<") |> String.trim(">") |> String.split(".")
  String.to_integer(n)
end

# The book's registry, read once before tracing starts: the via keys of the processes
# registered through it (`{:todo_server, "Bob's list"}`); later registrations are seen in
# the traced `register_name` calls.
vias =
  case Process.whereis(:todo_process_registry) do
    nil ->
      %{}

    registry ->
      try do
        case :sys.get_state(registry, 1000) do
          %{} = keys -> Map.new(keys, fn {key, pid} -> {pid, key} end)
          _ -> %{}
        end
      catch
        _, _ -> %{}
      end
  end

# OTP's and Elixir's own applications, and the processes `init` starts before any of them.
services = [:kernel, :stdlib, :elixir, :logger, :compiler, :iex, :mix, :sasl, :runtime_tools]
boot = [:init, :erl_prim_loader, :erts_code_purger]

service? = fn pid, info ->
  Keyword.get(info, :registered_name) in boot or
    case :application.get_application(pid) do
      {:ok, app} -> Enum.member?(services, app)
      :undefined -> false
    end
end

label = fn pid, info ->
  dictionary = Keyword.get(info, :dictionary, [])

  case Keyword.get(dictionary, :"$initial_call") do
    {m, _, _} ->
      inspect(m)

    _ ->
      case Keyword.get(info, :initial_call) do
        {m, f, a} -> "#{inspect(m)}.#{f}/#{a}"
        _ -> inspect(pid)
      end
  end
end

# What the relay knows of a process: `:shell`, or its number after naming it to otplab.
who = fn pid, state ->
  case state.seen do
    %{^pid => known} ->
      {known, state}

    _ ->
      info = Process.info(pid, [:registered_name, :group_leader, :dictionary, :initial_call]) || []
      gl = Keyword.get(info, :group_leader)

      state =
        if info != [] and service?.(pid, info),
          do: %{state | services: MapSet.put(state.services, pid)},
          else: state

      if is_pid(gl) and node(gl) != node() do
        {:shell, %{state | seen: Map.put(state.seen, pid, :shell)}}
      else
        n = number.(pid)

        registered =
          case Keyword.get(info, :registered_name) do
            name when is_atom(name) and name != [] -> name
            _ -> nil
          end

        send(state.sink, {:otplab_trace_name, n, registered, Map.get(state.vias, pid), label.(pid, info)})
        {n, %{state | seen: Map.put(state.seen, pid, n)}}
      end
  end
end

# A message as otplab's trace records it: its kind and the term it shows.
classify = fn
  {:"$gen_call", {_, _}, request} -> {:call, request}
  {:"$gen_cast", request} -> {:cast, request}
  {ref, reply} when is_reference(ref) -> {:reply, reply}
  {[:alias | ref], reply} when is_reference(ref) -> {:reply, reply}
  {[[:alias | ref] | _], reply} when is_reference(ref) -> {:reply, reply}
  {:EXIT, _, reason} -> {:exit, reason}
  {:DOWN, _, :process, _, reason} -> {:down, reason}
  message -> {:info, message}
end

wanted = fn state, from, to ->
  state.targets == :all or Enum.member?(state.targets, to) or Enum.member?(state.targets, from)
end

forward = fn state, ts, from, to, message ->
  if wanted.(state, from, to) do
    {kind, term} = classify.(message)

    state =
      case {to == Process.whereis(:todo_process_registry), term} do
        {true, {:register_name, key, pid}} when kind == :call and is_pid(pid) ->
          %{state | vias: Map.put(state.vias, pid, key)}

        _ ->
          state
      end

    {f, state} = if is_pid(from), do: who.(from, state), else: {nil, state}
    {t, state} = who.(to, state)
    service = fn p, known -> known == :shell or MapSet.member?(state.services, p) end

    if state.targets == :all and service.(from, f) and service.(to, t) do
      state
    else
      {mono, unique} = ts
      send(state.sink, {:otplab_trace, [mono, unique], kind, f, t, term})
      %{state | count: state.count + 1}
    end
  else
    state
  end
end

# The alias a call's reply will be sent to, and whose it is.
aliased = fn
  state, {:"$gen_call", {pid, [:alias | ref]}, _} when is_reference(ref) ->
    %{state | aliases: Map.put(state.aliases, ref, pid)}

  state, {:"$gen_call", {pid, [[:alias | ref] | _]}, _} when is_reference(ref) ->
    %{state | aliases: Map.put(state.aliases, ref, pid)}

  state, _ ->
    state
end

stop = fn ->
  :erlang.trace(:all, false, flags)
  :ok
end

loop = fn loop, state ->
  if state.count >= limit do
    stop.()
    send(state.sink, {:otplab_trace_full, limit})
  else
    receive do
      {:trace_ts, from, :send, message, to, ts} when is_pid(to) ->
        if to == self() or node(to) != node() do
          loop.(loop, state)
        else
          loop.(loop, forward.(aliased.(state, message), ts, from, to, message))
        end

      # A reply goes to the alias the call carried (OTP 24 and later), not to a pid: the
      # caller is known from the call.
      {:trace_ts, from, :send, message, alias, ts} when is_reference(alias) ->
        case Map.pop(state.aliases, alias) do
          {nil, _} -> loop.(loop, state)
          {to, aliases} -> loop.(loop, forward.(%{state | aliases: aliases}, ts, from, to, message))
        end

      {:trace_ts, _, :send, _, _, _} ->
        loop.(loop, state)

      {:trace_ts, _, :send_to_non_existing_process, _, _, _} ->
        loop.(loop, state)

      {:trace_ts, to, :receive, {:EXIT, from, _} = message, ts} ->
        loop.(loop, forward.(state, ts, from, to, message))

      {:trace_ts, to, :receive, {:DOWN, _, :process, from, _} = message, ts} ->
        loop.(loop, forward.(state, ts, from, to, message))

      {:trace_ts, _, :receive, _, _} ->
        loop.(loop, state)

      {:trace_ts, pid, :spawned, parent, _, _} ->
        shell = node(parent) != node() or parent == Process.whereis(:rex) or state.seen[parent] == :shell

        if shell,
          do: loop.(loop, %{state | seen: Map.put(state.seen, pid, :shell)}),
          else: loop.(loop, state)

      {:DOWN, ref, :process, _, _} when ref == state.monitor ->
        stop.()

      :otplab_trace_stop ->
        stop.()

      _ ->
        loop.(loop, state)
    end
  end
end

caller = self()

relay =
  spawn(fn ->
    true = Process.register(self(), :otplab_trace_relay)
    monitor = Process.monitor(sink)
    :erlang.trace(:all, true, [{:tracer, self()} | flags])
    # Neither the relay nor the process that started it (otplab's RPC) is traced: their
    # messages are the relay's own.
    :erlang.trace(self(), false, flags)
    send(caller, {:otplab_trace_started, self()})

    # The process that started the relay is otplab's RPC, the shell.
    state = %{
      sink: sink,
      targets: targets,
      vias: vias,
      seen: %{caller => :shell},
      services: MapSet.new(),
      aliases: %{},
      count: 0,
      monitor: monitor
    }
    loop.(loop, state)
  end)

receive do
  {:otplab_trace_started, ^relay} -> {:ok, relay}
after
  5000 -> {:error, :timeout}
end
