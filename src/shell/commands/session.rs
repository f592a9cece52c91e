//! The commands about the session itself: `help`, `history`, `clear`, `speed` (the virtual
//! clock of the experiments), `report` (how crashes and restarts are shown) and `record` (the
//! session written as a transcript).

use std::fmt::Write as _;

use crate::runtime::Term;
use crate::runtime::term::escape_text;

use super::args::{list_name, value};
use super::view::OBSERVE_KEYS;
use crate::shell::ast::{Arg, CommandName};
use crate::shell::builtins;
use crate::shell::context::{Eval, R, arg_error, ok, silent};
use crate::shell::report::Level;

/// `help [TOPIC]`.
pub fn help_command(ev: &mut Eval<'_>, topic: Option<&str>) -> R {
    ev.p.puts(help(topic));
    Ok(silent())
}

/// `help` and `help COMMAND`.
pub fn help(topic: Option<&str>) -> String {
    if let Some(topic) = topic.filter(|t| !t.is_empty()) {
        if let Some(cmd) = CommandName::from_word(topic) {
            let mut text = format!("{}\n  {}", cmd.usage(), cmd.summary());
            if cmd == CommandName::Observe {
                text.push_str(&format!("\n  keys: {OBSERVE_KEYS}"));
            }
            return text;
        }
        return builtins::help_text(Some(topic));
    }
    let mut out = String::from("Commands (Elixir works too: `h` lists the built-in modules):\n");
    for cmd in CommandName::ALL {
        if cmd.usage().len() > 44 {
            let _ = writeln!(out, "  {}\n  {:<44} {}", cmd.usage(), "", cmd.summary());
        } else {
            let _ = writeln!(out, "  {:<44} {}", cmd.usage(), cmd.summary());
        }
    }
    out.push_str("\nThe seeds' experiments, in order:\n");
    out.push_str("  bobs_list = server_process \"Bob's list\"   then   kill bobs_list   then   server_process \"Bob's list\"\n");
    out.push_str("  kill registry      (rest_for_one restarts the system)     start --flat; kill registry   (the flat tree gives up)\n");
    out.push_str("  c = Counter.new; Counter.inc_of(c, 12)     sc = SlowCounter.new     speed 10   (sleeps 10x shorter)\n");
    out.push_str(
        "  trace on; server_process \"Bob's list\"; trace show     ps --sort mailbox     tree\n",
    );
    out.push_str("  report short|iex|sasl   chooses how crashes and restarts are shown\n");
    out.push_str("Ctrl-C cancels the line or a blocking call; Ctrl-D or `exit` quits.");
    out
}

/// `history`: the inputs so far, numbered, their control characters escaped.
pub fn history(ev: &mut Eval<'_>) -> R {
    let history = ev.ctx.history.lock().unwrap().clone();
    let text: Vec<String> = history
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{:>4}  {}", i + 1, escape_text(l)))
        .collect();
    ev.p.puts(text.join("\n"));
    Ok(silent())
}

/// `clear`, as iex's `clear()` but with no result line.
pub fn clear(ev: &mut Eval<'_>) -> R {
    builtins::clear(ev);
    Ok(silent())
}

/// `speed FACTOR`: scales the node's clock, so the chapter's 10 s sleeps take a second.
pub async fn speed(ev: &mut Eval<'_>, factor: &Arg) -> R {
    let f = match value(ev, factor).await? {
        Term::Int(i) => i as f64,
        Term::Float(f) => f,
        other => return Err(arg_error(format!("speed expects a number, got {other}"))),
    };
    if !(f.is_finite() && f > 0.0) {
        return Err(arg_error("speed must be a positive number"));
    }
    ev.ctx.node.set_speed(f);
    Ok(Term::Float(f))
}

/// `report short|iex|sasl`.
pub fn report(ev: &mut Eval<'_>, level: Level) -> R {
    *ev.ctx.level.lock().unwrap() = level;
    ok()
}

/// `record "FILE"` starts writing the session to FILE (from the next line on), `record off`
/// stops. A file that cannot be created is one error line; the session carries on.
pub async fn record(ev: &mut Eval<'_>, file: Option<&Arg>) -> R {
    let Some(file) = file else {
        ev.ctx.recording.stop();
        return ok();
    };
    let path = list_name(ev, file).await?;
    match ev.ctx.recording.start(std::path::Path::new(&path)) {
        Ok(()) => ok(),
        Err(e) => Err(crate::shell::context::raise("File.Error", e.to_string())),
    }
}
