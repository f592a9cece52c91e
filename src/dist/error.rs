//! The faults of the distribution, each with the one line the shell prints for it. The callee
//! builds the error (EPMD lookup, handshake, the connection task), so every line names the
//! node or host it is about and never the cookie.

use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum DistError {
    /// `connect foo` or `connect a@b@c`.
    BadName(String),
    /// No `--cookie`, no `$OTPLAB_COOKIE` and no readable `~/.erlang.cookie`.
    NoCookie,
    /// `~/.erlang.cookie` exists but erl would refuse it (bad characters, readable by others).
    CookieFile(String),
    /// Nothing answers on the EPMD port of the host.
    NoEpmd { host: String, port: u16 },
    /// EPMD answers but knows no node of that name.
    UnknownNode { name: String, host: String },
    /// The node closed the handshake after our digest: the cookies differ.
    WrongCookie { node: String },
    /// The node refused the handshake for another reason (not_allowed, an ongoing handshake).
    Refused { node: String, why: String },
    /// The connection closed, or the node stopped, while it was in use.
    NodeDown { node: String },
    /// No answer in time: a net split, or a node too busy to reply.
    Timeout { node: String, after: Duration },
    /// The peer sent what the distribution protocol does not allow.
    Protocol { node: String, what: String },
    /// The call reached the node and failed there (`{:badrpc, reason}`).
    BadRpc(String),
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistError::BadName(text) => write!(
                f,
                "not a node name: {text:?} (expected NAME@HOST, as in todo@localhost)"
            ),
            DistError::NoCookie => write!(
                f,
                "no cookie: pass --cookie, set OTPLAB_COOKIE, or create ~/.erlang.cookie"
            ),
            DistError::CookieFile(why) => write!(f, "cannot use ~/.erlang.cookie: {why}"),
            DistError::NoEpmd { host, port } => write!(
                f,
                "no EPMD on {host}:{port}: is a node running there (elixir --sname NAME)?"
            ),
            DistError::UnknownNode { name, host } => {
                write!(f, "EPMD on {host} knows no node named {name}")
            }
            DistError::WrongCookie { node } => {
                write!(f, "{node} refused the connection: wrong cookie")
            }
            DistError::Refused { node, why } => {
                write!(f, "{node} refused the connection: {why}")
            }
            DistError::NodeDown { node } => write!(f, "{node} is gone: the connection closed"),
            DistError::Timeout { node, after } => write!(
                f,
                "{node} did not answer within {} ms (net split or busy node)",
                after.as_millis()
            ),
            DistError::Protocol { node, what } => {
                write!(f, "{node} broke the distribution protocol: {what}")
            }
            DistError::BadRpc(why) => write!(f, "the call failed on the node: {why}"),
        }
    }
}

impl std::error::Error for DistError {}
