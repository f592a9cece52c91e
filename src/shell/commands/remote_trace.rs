//! `trace on|off|show|mermaid [PID…]` on a real node: the relay of `dist::trace` records the
//! node's messages there, and they are drawn here with the local trace's drawings, so the
//! picture of `server_process "Bob's list"` on the BEAM reads as it does on otplab. The
//! processes that work for otplab on the node (its RPCs) are the `shell` lifeline.

use std::collections::HashMap;

use crate::dist::trace::{RemoteTrace, SHELL, Snapshot};
use crate::shell::ast::Arg;
use crate::shell::context::{Eval, R, Remote, arg_error, ok, silent};

use super::args::{Target, TraceAction};
use super::remote::pid_src;
use super::trace::{known_name, mermaid, sequence_diagram};

/// `trace ACTION [PID…] [--wide]` on the node. `trace off` stops the whole trace there:
/// the relay traces through one tracer for every process, so it is on or off as a whole.
pub async fn trace(
    ev: &mut Eval<'_>,
    remote: &Remote,
    action: TraceAction,
    pids: &[&Arg],
    wide: bool,
) -> R {
    match action {
        TraceAction::On => {
            let found: Vec<String> = pids
                .iter()
                .map(|arg| pid_src(remote, &Target { arg, number: None }))
                .collect();
            // The running relay is told to stop first; the new one waits for it to be gone.
            remote.trace.lock().unwrap().take();
            let targets = (!found.is_empty()).then_some(found.as_slice());
            let started = RemoteTrace::start(&remote.conn, targets)
                .await
                .map_err(|e| arg_error(e.to_string()))?;
            *remote.trace.lock().unwrap() = Some(started);
            ok()
        }
        TraceAction::Off => {
            remote.trace.lock().unwrap().take();
            ok()
        }
        TraceAction::Show => {
            let shot = snapshot(remote);
            let names = lifelines(&shot);
            let width = if wide { None } else { ev.ctx.width() };
            let mut out = sequence_diagram(&shot.events, &names, SHELL, width);
            if let Some(limit) = shot.full {
                out.push_str(&format!(
                    "\n(the relay stopped after {limit} messages: `trace on` again to go on)"
                ));
            }
            ev.p.puts(out);
            Ok(silent())
        }
        TraceAction::Mermaid => {
            let shot = snapshot(remote);
            ev.p.puts(mermaid(&shot.events, &lifelines(&shot), SHELL));
            Ok(silent())
        }
    }
}

/// The trace so far, empty when none runs.
fn snapshot(remote: &Remote) -> Snapshot {
    match remote.trace.lock().unwrap().as_ref() {
        Some(t) => t.snapshot(),
        None => Snapshot {
            events: vec![],
            names: HashMap::new(),
            full: None,
        },
    }
}

/// Each process's lifeline label, named as the local trace names it.
fn lifelines(shot: &Snapshot) -> HashMap<crate::runtime::Pid, String> {
    shot.names
        .iter()
        .map(|(pid, k)| (*pid, known_name(k.registered, k.via.as_ref(), &k.label)))
        .collect()
}
