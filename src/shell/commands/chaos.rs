//! `chaos RATE [--for DURATION] [--only registry|workers|servers|cache]` and `chaos off`: the
//! chaos monkey of `todo::chaos`, started on the running tree. It runs beside the shell, so
//! the user (or a `loadtest`) keeps working while processes die, and prints its report when
//! it ends: after DURATION, at `chaos off`, or when the tree is gone.

use std::time::Duration;

use crate::runtime::Term;
use crate::todo::chaos::{self, Only, Plan};

use super::args::value;
use crate::shell::ast::{Arg, ArgKind};
use crate::shell::context::{Eval, R, arg_error, ok, wait_down};
use crate::shell::system;

/// `chaos RATE …`: starts the monkey and returns at once.
pub async fn start(ev: &mut Eval<'_>, rate: &Arg, duration: Option<&Arg>, only: Option<&Arg>) -> R {
    let rate = match value(ev, rate).await? {
        Term::Int(n) => n as f64,
        Term::Float(f) => f,
        other => {
            return Err(arg_error(format!(
                "chaos takes a rate of kills a second, not {other}"
            )));
        }
    };
    let duration = duration.map(parse_duration).transpose()?;
    let only = match only {
        None => None,
        Some(Arg {
            kind: ArgKind::Word(w),
            ..
        }) => Some(Only::parse(w).ok_or_else(only_error)?),
        Some(_) => return Err(only_error()),
    };
    let Some(top) = system::top(ev) else {
        return Err(arg_error(
            "the to-do system is not running (start it with `start`)",
        ));
    };
    let plan = Plan {
        rate,
        duration,
        only,
    };
    chaos::start(ev.p, ev.ctx.config(), top, plan).map_err(arg_error)?;
    let what = only.map_or("registry, workers, servers, cache".to_string(), |o| {
        format!("{o:?}").to_lowercase()
    });
    let until = duration.map_or("until `chaos off`".to_string(), |d| {
        format!("for {:.1} s", d.as_secs_f64())
    });
    ev.p.puts(format!(
        "chaos: killing {rate} processes a second among {what} {until}; the witness list {:?} counts acknowledged entries",
        chaos::WITNESS_LIST
    ));
    ok()
}

/// `chaos off`: stops the monkey and returns once its report is printed.
pub async fn off(ev: &mut Eval<'_>) -> R {
    let Some(pid) = chaos::stop(ev.p) else {
        return Err(arg_error("chaos is not running"));
    };
    let r = ev.p.monitor(pid);
    wait_down(ev, r).await;
    ok()
}

fn only_error() -> crate::runtime::ExitReason {
    arg_error(format!("--only takes one of {}", Only::WORDS.join(", ")))
}

/// `60s`, `500ms`, `10m`, or a number of seconds.
fn parse_duration(arg: &Arg) -> Result<Duration, crate::runtime::ExitReason> {
    let bad = || arg_error("--for takes a duration such as 60s, 500ms or 10m");
    let seconds = match &arg.kind {
        ArgKind::Int(n) => *n as f64,
        ArgKind::Float(f) => *f,
        ArgKind::Word(w) | ArgKind::Str(w) => {
            let (number, unit) = w
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or((w.as_str(), "s"), |at| w.split_at(at));
            let n: f64 = number.parse().map_err(|_| bad())?;
            match unit {
                "ms" => n / 1000.0,
                "s" => n,
                "m" | "min" => n * 60.0,
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(seconds))
}
