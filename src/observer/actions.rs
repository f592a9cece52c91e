//! Carries out what a key asked on the selected process: `k` kills, `x` sends an exit signal
//! with the reason typed in, `i` shows `Process.info`, `s` `:sys.get_state` and `t` traces.
//! Signals are sent as the shell's `kill` and `exit` send them, from the shell process, so
//! killing the registry from the view is the chapter 9 experiment done by pointing.
//!
//! Only `s` asks the process anything, and never while the view waits: the answer (or
//! "no answer") arrives in the notice line when it comes.

use std::time::Duration;

use super::Action;
use super::sampler::Sampler;
use crate::runtime::{Atom, Dest, ExitReason, Pid, Term};
use crate::shell::ast::{Expr, ExprKind, Line, StrPart};
use crate::shell::parser::parse_elixir;

/// How long `s` waits for a process to answer `:sys.get_state`.
pub const STATE_WAIT: Duration = Duration::from_secs(2);

/// Carries out `action` as `shell`, and says so in the notice line.
pub fn run(sampler: &mut Sampler, shell: Pid, action: Action) {
    let node = sampler.node().clone();
    let notice = sampler.notice.clone();
    let say = |text: String| *notice.lock().unwrap() = Some(text);
    match action {
        Action::Kill(p) => {
            let sent = node.exit(shell, Pid(p), ExitReason::Kill);
            say(signal_notice(Pid(p), "kill", ":kill", sent));
        }
        Action::Exit(p, text) => match parse_reason(&text) {
            Ok(reason) => {
                let shown = reason.to_term().to_string();
                let sent = node.exit(shell, Pid(p), reason);
                say(signal_notice(Pid(p), "exit", &shown, sent));
            }
            Err(e) => say(format!("exit {}: {e}", Pid(p))),
        },
        Action::Info(p) => say(match node.info(Pid(p)) {
            Some(info) => format!(
                "info {}\nlabel: {}\nregistered_name: {}\nstatus: {}\nmessage_queue_len: {}\nlinks: {}\nmonitors: {}\nmonitored_by: {}\ntrap_exit: {}\nrestarts: {}\nmemory: {}",
                info.pid,
                info.label,
                info.registered_name
                    .map_or_else(|| "none".into(), |a| format!(":{}", a.as_str())),
                format!("{:?}", info.status).to_lowercase(),
                info.message_queue_len,
                pids(&info.links),
                pids(&info.monitors),
                pids(&info.monitored_by),
                info.trap_exit,
                info.restarts,
                info.memory
            ),
            None => format!("info {}: not alive", Pid(p)),
        }),
        Action::Trace(p) => {
            let on = sampler.toggle_trace(Pid(p));
            say(format!(
                "trace {}: {}",
                Pid(p),
                if on { "on (messages pane)" } else { "off" }
            ));
        }
        Action::State(p) => {
            say(format!("state {}: asking…", Pid(p)));
            tokio::spawn(async move {
                let answer = node.get_state(&Dest::Pid(Pid(p)), STATE_WAIT).await;
                let text = match answer {
                    Ok(state) => format!("state {}\n{state}", Pid(p)),
                    Err(e) => format!(
                        "state {}: no answer within {} s ({e}); it may be busy in a callback",
                        Pid(p),
                        STATE_WAIT.as_secs()
                    ),
                };
                *notice.lock().unwrap() = Some(text);
            });
        }
    }
}

fn signal_notice(pid: Pid, verb: &str, reason: &str, sent: bool) -> String {
    if sent {
        format!("{verb} {pid}: exit signal {reason} sent")
    } else {
        format!("{verb} {pid}: not alive")
    }
}

fn pids(list: &[Pid]) -> String {
    let all: Vec<String> = list.iter().map(Pid::to_string).collect();
    format!("[{}]", all.join(", "))
}

/// The reason typed after `x`: a literal term (`:shutdown`, `{:error, :boom}`, `"text"`); a
/// bare word is an atom, as `exit PID shutdown` reads in the shell.
pub fn parse_reason(text: &str) -> Result<ExitReason, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("type a reason (:normal, :shutdown, {:error, :boom}), then Enter".into());
    }
    if let Ok(atom) = Atom::new(text)
        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !text.starts_with(|c: char| c.is_ascii_digit())
    {
        return Ok(ExitReason::from_term(Term::Atom(atom)));
    }
    match parse_elixir(text) {
        Ok(Line::Expr(e)) => literal(&e).map(ExitReason::from_term),
        _ => Err(format!("{text:?} is not a term")),
    }
}

/// A literal expression as a term; anything to evaluate is refused, since the view runs
/// no code.
fn literal(e: &Expr) -> Result<Term, String> {
    Ok(match &e.kind {
        ExprKind::Int(n) => Term::Int(*n),
        ExprKind::Float(f) => Term::Float(*f),
        ExprKind::Atom(a) => Term::Atom(Atom::new(a).map_err(|e| e.to_string())?),
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => Term::str(""),
            [StrPart::Lit(s)] => Term::str(s),
            _ => return Err("a reason is a literal: no interpolation".into()),
        },
        ExprKind::Tuple(items) => Term::Tuple(items.iter().map(literal).collect::<Result<_, _>>()?),
        ExprKind::List { items, tail: None } => {
            Term::List(items.iter().map(literal).collect::<Result<_, _>>()?)
        }
        _ => return Err("a reason is a literal term, such as :shutdown or {:error, :boom}".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_reason_is_a_literal_term_or_a_bare_atom() {
        let reason = |t: &str| parse_reason(t).map(|r| r.to_term().to_string());
        assert_eq!(reason("shutdown").unwrap(), ":shutdown");
        assert_eq!(reason(":normal").unwrap(), ":normal");
        assert_eq!(reason("{:error, :boom}").unwrap(), "{:error, :boom}");
        assert_eq!(reason("\"bye\"").unwrap(), "\"bye\"");
        assert!(reason("").is_err());
        assert!(reason("1 + 2").is_err());
        assert!(reason("{:a,").is_err());
    }
}
