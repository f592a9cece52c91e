//! The Erlang distribution: otplab as a hidden node attached to a real BEAM node, so the
//! shell's commands and Elixir lines can run there (`otplab --connect todo@host`,
//! `connect`, `disconnect`). It imports only `runtime`, for the terms the shell prints.
//!
//! - `cookie`: where the cookie comes from; it is never shown.
//! - `name`: `NAME@HOST`.
//! - `error`: [`DistError`], one line per fault.
//! - `frame`: the bounded frames after the handshake and the check of a frame's terms.
//! - `conn`: EPMD, the handshake, the connection's tasks, calls (`rex`), sends, exits,
//!   monitors and subscribed local pids, node-down and net-split detection.
//! - `convert`: terms between the wire and the runtime.
//! - `trace`: the relay `trace on` starts on the node, and its records read back.

pub mod conn;
pub mod convert;
pub mod cookie;
pub mod error;
pub mod frame;
pub mod name;
pub mod trace;

pub use conn::{Connection, Mailbox, Options, connect};
pub use convert::{Foreign, View, foreign, wire};
pub use cookie::Cookie;
pub use error::DistError;
pub use name::NodeName;

/// The wire term types of the crate the distribution uses.
pub use eetf::{Pid as WirePid, Reference as WireRef, Term as Wire};
