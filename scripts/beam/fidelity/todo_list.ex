# The book's modules as otplab implements them (src/todo/), in plain Elixir, for the fidelity
# test (tests/fidelity.rs): every `scripts/*.iex` is replayed through real iex with these
# files loaded (`iex -r 'scripts/beam/fidelity/*.ex'`) and compared with otplab's transcript.
# Each module prints what otplab's prints, so that a difference between the two outputs is a
# difference of behaviour. Nothing here is used by the benchmarks of scripts/beam/*.exs.

defmodule Todo.List do
  # The chapter 4 list: entries in a map by id and the next id beside them. The fields are in
  # the order otplab prints them.
  defstruct next_id: 1, entries: %{}

  def new(entries \\ []) do
    Enum.reduce(entries, %Todo.List{}, &add_entry(&2, &1))
  end

  def add_entry(todo_list, entry) do
    entry = Map.put(entry, :id, todo_list.next_id)
    entries = Map.put(todo_list.entries, todo_list.next_id, entry)
    %Todo.List{todo_list | entries: entries, next_id: todo_list.next_id + 1}
  end

  def entries(todo_list, date) do
    todo_list.entries
    |> Enum.sort()
    |> Enum.map(fn {_, entry} -> entry end)
    |> Enum.filter(fn entry -> entry.date == date end)
  end

  def update_entry(todo_list, entry_id, updater_fun) do
    case Map.fetch(todo_list.entries, entry_id) do
      :error ->
        todo_list

      {:ok, old_entry} ->
        new_entry = updater_fun.(old_entry)
        %Todo.List{todo_list | entries: Map.put(todo_list.entries, new_entry.id, new_entry)}
    end
  end

  def delete_entry(todo_list, entry_id) do
    %Todo.List{todo_list | entries: Map.delete(todo_list.entries, entry_id)}
  end
end
