defmodule Todo.Database do
  # The pool of chapter 7.3.5 under its own supervisor (chapter 9): a key always goes to the
  # same worker, so one list has one writer. `Otplab.start(single_db: true)` (and the other
  # one-process shapes) gives a pool of one, as otplab's `start --single-db` does.
  def start_link(folder) do
    IO.puts("Starting database")
    File.mkdir_p!(folder)

    workers =
      for id <- 1..pool_size() do
        Supervisor.child_spec({Todo.DatabaseWorker, {folder, id}}, id: {:database_worker, id})
      end

    Supervisor.start_link(workers, strategy: :one_for_one)
  end

  def child_spec(folder) do
    %{id: __MODULE__, type: :supervisor, start: {__MODULE__, :start_link, [folder]}}
  end

  def store(key, data), do: Todo.DatabaseWorker.store(choose_worker(key), key, data)
  def get(key), do: Todo.DatabaseWorker.get(choose_worker(key), key)
  def sync(key), do: Todo.DatabaseWorker.sync(choose_worker(key))

  # otplab's choice (src/todo/database.rs): FNV-1a of the key's bytes, so a key goes to the
  # same worker number on both sides.
  def choose_worker(key) do
    hash =
      key
      |> :binary.bin_to_list()
      |> Enum.reduce(0x811C9DC5, fn byte, h ->
        Bitwise.band(Bitwise.bxor(h, byte) * 0x01000193, 0xFFFFFFFF)
      end)

    rem(hash, pool_size()) + 1
  end

  def pool_size, do: Otplab.option(:pool_size, 3)
end
