//! `observe`: asks the front end for the live observer once the line is done. The view
//! itself (`crate::observer`) sits above the shell and takes the terminal from the REPL;
//! here the command only checks that there is a terminal to take. Connected to a real node,
//! the same command opens the view of that node (the observer's node source), so it is one of
//! the commands `remote::run` leaves here.

use std::sync::atomic::Ordering;

use crate::shell::context::{Eval, R, raise, silent};

/// The view's keys, as its footer and `help observe` list them.
pub const OBSERVE_KEYS: &str = "q quit  1-4 panes  tab focus  ↑↓ select  o sort  r reverse  k kill  x exit  s state  i info  t trace";

/// `observe`.
pub fn observe(ev: &mut Eval<'_>) -> R {
    if !ev.ctx.can_observe.load(Ordering::Relaxed) {
        return Err(raise(
            "RuntimeError",
            "observe needs the interactive shell in a terminal; from another terminal, `otplab observe` attaches to a running otplab",
        ));
    }
    ev.ctx.observe.store(true, Ordering::Relaxed);
    Ok(silent())
}
