//! The shell: everything a person sees. Lines are parsed, evaluated inside the shell's own
//! process, and printed; events of the node (process output, crashes, restarts) are printed
//! above the prompt. Only this module writes to the terminal.
//!
//! The layers, each importing only those before it: `ast` and `suggest`; `parser`; `record`
//! (the recording file); `context` (the session's state and term conversions); `system` (the
//! to-do tree the shell drives); `builtins`; `eval`; `commands`; `session`; then the front
//! ends: `screen` (the one output path to the terminal), `helper` (completion, hints,
//! colour), `replay` (scripts and piped input) and `editor` (the REPL). `printer`, `report`
//! and `script` are pure functions of their input, used by the layers above them.

pub mod ast;
pub mod builtins;
pub mod commands;
pub mod context;
pub mod editor;
pub mod eval;
pub mod helper;
pub mod parser;
pub mod printer;
pub mod record;
pub mod replay;
pub mod report;
pub mod screen;
pub mod script;
pub mod session;
pub mod suggest;
pub mod system;
