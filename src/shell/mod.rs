//! The shell: everything between the text a user types and the runtime. `ast` is what a line
//! means, `parser` turns text into it (commands and the Elixir subset, robust to hostile input),
//! `printer` turns runtime terms and parse errors back into iex-style text. These three are pure:
//! no I/O, no runtime calls, so they are tested with plain input/expected pairs.

pub mod ast;
pub mod parser;
pub mod printer;
