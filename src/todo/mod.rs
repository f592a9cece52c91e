//! The to-do system of Elixir in Action, chapters 7 to 9, one module a file as in `lib/todo/`.
//! The pure parts come first: the list itself and the file format of its persist folder, which
//! the server and database processes are built on.

pub mod list;
pub mod persist;
