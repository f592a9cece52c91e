defmodule Todo.DatabaseWorker do
  # One worker of the pool, registered through the registry as `{:database_worker, id}`.
  # Every store is written, in order, with :erlang.term_to_binary, as in the book; the
  # `slow_db` option makes each request take at least that many milliseconds, as otplab's
  # `--slow-db MS`.
  use GenServer

  def start_link({folder, id}) do
    IO.puts("Starting database worker #{id}")
    GenServer.start_link(__MODULE__, folder, name: via_tuple(id))
  end

  def store(id, key, data), do: GenServer.cast(via_tuple(id), {:store, key, data})
  def get(id, key), do: GenServer.call(via_tuple(id), {:get, key})
  def sync(id), do: GenServer.call(via_tuple(id), :sync, 60_000)

  defp via_tuple(id), do: {:via, Todo.ProcessRegistry, {:database_worker, id}}

  @impl true
  def init(folder), do: {:ok, folder}

  @impl true
  def handle_cast({:store, key, data}, folder) do
    slow()
    File.write!(file_name(folder, key), :erlang.term_to_binary(data))
    {:noreply, folder}
  end

  @impl true
  def handle_call({:get, key}, _, folder) do
    slow()

    data =
      case File.read(file_name(folder, key)) do
        {:ok, contents} -> :erlang.binary_to_term(contents)
        _ -> nil
      end

    {:reply, data, folder}
  end

  def handle_call(:sync, _, folder), do: {:reply, :ok, folder}

  # User text never becomes a path: the file is named by the key's base32, as otplab names it.
  defp file_name(folder, key), do: Path.join(folder, "l-" <> Base.encode32(key, padding: false))

  defp slow, do: :timer.sleep(Otplab.option(:slow_db, 0))
end
