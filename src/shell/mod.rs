//! The shell: everything a person sees. Lines are parsed, evaluated inside the shell's own
//! process, and printed; events of the node (process output, crashes, restarts) are printed
//! above the prompt. Only this module writes to the terminal.

pub mod report;
pub mod script;
