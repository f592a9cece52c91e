# The book's to-do system of chapter 9 as a node, until stopped (Ctrl-C twice, or the end of
# standard input with --until-eof). Two terminals:
#
#   elixir --sname todo scripts/beam/node/todo.exs
#   otplab --connect todo@$(hostname -s)
#
# The node reads the cookie as erl does (~/.erlang.cookie, or --cookie C before the script).
# The book's modules are those of scripts/beam/fidelity/, compiled together with node.ex,
# which starts them.
files = Path.wildcard(Path.join(__DIR__, "../fidelity/*.ex")) ++ [Path.join(__DIR__, "node.ex")]
{:ok, _, _} = Kernel.ParallelCompiler.require(Enum.sort(files))
TodoNode.main(System.argv())
