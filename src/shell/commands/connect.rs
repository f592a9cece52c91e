//! `connect NAME@HOST` and `disconnect`: the shell attaches to a running Erlang or Elixir
//! node as a hidden node (src/dist/), and its commands and Elixir lines run there until
//! `disconnect`, or until the node goes away, when the shell is back on otplab's own system.

use std::sync::Arc;

use crate::dist::{self, NodeName};
use crate::runtime::Term;
use crate::shell::ast::{Arg, ArgKind};
use crate::shell::context::{Eval, R, Remote, arg_error, silent};

/// The cookie `connect` uses: `--cookie` of the command line (kept here by main.rs), else
/// `$OTPLAB_COOKIE`, else `~/.erlang.cookie`.
pub static COOKIE_FLAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Connects to `node` and makes it the shell's: the one step `connect` and `--connect` share.
pub async fn attach(
    ctx: &crate::shell::context::Ctx,
    node: &str,
) -> Result<String, dist::DistError> {
    let name = NodeName::parse(node)?;
    let cookie = dist::cookie::from_environment(COOKIE_FLAG.get().map(String::as_str))?;
    let conn = dist::connect(&name, &cookie, &dist::Options::default()).await?;
    let old = ctx
        .remote
        .lock()
        .unwrap()
        .replace(Arc::new(Remote::new(conn)));
    if let Some(old) = old {
        old.conn.close();
    }
    Ok(format!(
        "Connected to {name} (a hidden node: disconnect to come back)"
    ))
}

/// `connect NAME@HOST`.
pub async fn connect(ev: &mut Eval<'_>, node: &Arg) -> R {
    let text = match &node.kind {
        ArgKind::Word(w) => w.clone(),
        ArgKind::Str(s) => s.clone(),
        _ => {
            return Err(arg_error(
                "connect takes a node name, as in connect todo@localhost",
            ));
        }
    };
    match attach(ev.ctx, &text).await {
        Ok(line) => {
            ev.p.puts(line);
            Ok(silent())
        }
        Err(e) => Err(super::remote::fault(e)),
    }
}

/// `disconnect`.
pub fn disconnect(ev: &mut Eval<'_>) -> R {
    match ev.ctx.remote.lock().unwrap().take() {
        Some(r) => {
            r.conn.close();
            ev.p.puts(format!("Disconnected from {}", r.node()));
            Ok(silent())
        }
        None => Ok(Term::str("not connected to a node")),
    }
}
