//! The commands that act on processes: exit signals (`kill`, `exit`, `crash`), messages
//! (`send`, `flush`) and `sleep`. Exit signals are sent at once, as `Process.exit/2` sends
//! them: the restarts a `kill registry` causes may print before or after its `true`.

use std::time::Duration;

use crate::runtime::{ExitReason, Term};

use super::args::{Target, target, value};
use crate::shell::ast::Arg;
use crate::shell::builtins;
use crate::shell::context::{Eval, R, int_of, ok};

/// `kill TARGET`: the untrappable `:kill`.
pub async fn kill(ev: &mut Eval<'_>, t: Target<'_>) -> R {
    let pid = target(ev, t).await?;
    ev.exit_signal(pid, ExitReason::Kill).await;
    Ok(Term::bool(true))
}

/// `exit TARGET REASON`.
pub async fn exit(ev: &mut Eval<'_>, t: Target<'_>, reason: &Arg) -> R {
    let pid = target(ev, t).await?;
    let reason = value(ev, reason).await?;
    ev.exit_signal(pid, ExitReason::from_term(reason)).await;
    Ok(Term::bool(true))
}

/// `crash TARGET`: the process raises, as a bug in it would.
pub async fn crash(ev: &mut Eval<'_>, t: Target<'_>) -> R {
    let pid = target(ev, t).await?;
    Ok(Term::bool(ev.ctx.node.crash(pid)))
}

/// `send TARGET TERM`: returns the message, as `send/2`.
pub async fn send(ev: &mut Eval<'_>, t: Target<'_>, message: &Arg) -> R {
    let pid = target(ev, t).await?;
    let msg = value(ev, message).await?;
    ev.p.send(pid, msg.clone());
    Ok(msg)
}

/// `flush`, as iex's `flush()`.
pub fn flush(ev: &mut Eval<'_>) -> R {
    builtins::flush(ev);
    ok()
}

/// `sleep MS`: waits on tokio's clock, not on the node's clock that `speed` scales.
pub async fn sleep(ev: &mut Eval<'_>, ms: &Arg) -> R {
    let ms = int_of(&value(ev, ms).await?)?.max(0) as u64;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ok()
}
