//! A small OTP on tokio: processes with mailboxes, links, monitors, names, GenServers,
//! supervisors and tables. It knows nothing of to-do lists, counters or the shell.

pub mod call;
pub mod census;
pub mod date;
pub mod events;
pub mod exit;
pub mod gen_server;
pub mod growmap;
mod liveness;
pub mod mailbox;
pub mod node;
mod peers;
pub mod pid;
pub mod process;
mod proctable;
pub mod reply;
pub mod signal;
pub mod supervisor;
pub mod table;
mod task;
pub mod term;
pub mod term_map;

pub use events::{Event, Events};
pub use exit::{CallError, ExitReason, StartError};
pub use gen_server::{GenServer, Init, NoReply, Reply, StartOpts};
pub use mailbox::Envelope;
pub use node::{Dest, Node, NodeConfig, PLAIN_LABEL, SpawnOpts};
pub use pid::{Pid, Ref};
pub use process::Process;
pub use reply::From;
pub use supervisor::{ChildSpec, Restart, Shutdown, Strategy};
pub use term::{Atom, Date, Fun, Opaque, Term, atom};
