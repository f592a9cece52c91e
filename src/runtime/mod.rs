//! A small OTP on tokio: processes with mailboxes, links, monitors, names, GenServers,
//! supervisors and tables. It knows nothing of to-do lists, counters or the shell.

pub mod exit;
pub mod pid;
pub mod process;
pub mod term;

pub use exit::{CallError, ExitReason, StartError};
pub use pid::{Pid, Ref};
pub use process::Process;
pub use term::{Atom, Date, Fun, Opaque, Term, atom};
