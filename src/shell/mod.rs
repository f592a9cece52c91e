//! The shell: everything a person sees. Lines are parsed, evaluated inside the shell's own
//! process, and printed; events of the node (process output, crashes, restarts) are printed
//! above the prompt. Only this module writes to the terminal.

pub mod ast;
pub mod builtins;
pub mod commands;
pub mod editor;
pub mod eval;
pub mod parser;
pub mod printer;
pub mod report;
pub mod script;
pub mod session;
