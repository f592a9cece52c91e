//! The short command language: `server_process "Bob's list"`, `kill registry`, `ps`, `tree`,
//! `trace show`, `flood`, … They run inside the shell process, like Elixir expressions, and
//! return a term to print; commands that print a table or a diagram print it and return
//! `silent()`. [`args`] takes each command's arguments apart once; the commands themselves are
//! grouped by what they are for: `todo` (the to-do lists and the tree), `signals` (exits,
//! messages, sleeps), `observe` (`ps`, `tree`, `info`, `state`), `view` (`observe`, the live
//! view), `trace`, `load` (`flood`, `profile`, `loadtest`), `chaos` (the chaos monkey) and
//! `session` (`help`, `history`, `speed`, `report`, `record`); `connect` (`connect`,
//! `disconnect`), `remote` (the commands and Elixir lines that run on a real node),
//! `remote_ps` (`ps` there) and `remote_trace` (`trace` there).

pub mod args;
mod chaos;
mod connect;
mod load;
mod observe;
pub mod remote;
mod remote_ps;
mod remote_trace;
mod session;
mod signals;
mod todo;
mod trace;
mod view;

use self::args::Invocation;
use super::ast::Command;
use super::context::{Eval, R};

pub use self::connect::{COOKIE_FLAG, attach};
pub use self::observe::ps_table;
pub use self::session::help;
pub use self::trace::{known_name, mermaid, record as record_trace, sequence_diagram};
pub use self::view::OBSERVE_KEYS;
/// Re-exported for the session, which tells a printed-only result by it.
pub use super::context::silent;

/// Runs one command in the shell process.
pub async fn run(ev: &mut Eval<'_>, cmd: &Command) -> R {
    use Invocation as I;
    let invocation = Invocation::parse(cmd, &ev.env)?;
    if let Some(remote) = ev.ctx.remote() {
        if let I::Trace { action, pids, wide } = &invocation {
            return remote_trace::trace(ev, &remote, *action, pids, *wide).await;
        }
        if let Some(result) = remote::run(ev, &remote, &invocation).await {
            return remote::settled(ev.ctx, result);
        }
    }
    match invocation {
        I::ServerProcess { list } => todo::server_process(ev, list).await,
        I::Restart { list } => todo::restart(ev, list).await,
        I::AddEntry { list, date, title } => todo::add_entry(ev, list, date, title).await,
        I::Entries { list, date } => todo::entries(ev, list, date).await,
        I::UpdateEntry { list, id, title } => todo::update_entry(ev, list, id, title).await,
        I::DeleteEntry { list, id } => todo::delete_entry(ev, list, id).await,
        I::Quarantine { list } => todo::quarantine(ev, list).await,
        I::Start(flags) => todo::start(ev, flags).await,
        I::Stop => todo::stop(ev).await,
        I::Kill { target } => signals::kill(ev, target).await,
        I::Exit { target, reason } => signals::exit(ev, target, reason).await,
        I::Crash { target } => signals::crash(ev, target).await,
        I::Send { target, message } => signals::send(ev, target, message).await,
        I::Flush => signals::flush(ev),
        I::Sleep { ms } => signals::sleep(ev, ms).await,
        I::Whereis { target } => observe::whereis(ev, target).await,
        I::Alive { target } => observe::alive(ev, target).await,
        I::Info { target, keys } => observe::info(ev, target, keys).await,
        I::Ps { sort } => observe::ps(ev, sort),
        I::Tree { sup: None } => observe::tree(ev).await,
        I::Tree { sup: Some(_) } => Err(crate::shell::context::arg_error(
            "tree SUPERVISOR draws a supervisor of a real node (connect first); here `tree` draws the to-do tree",
        )),
        I::Observe => view::observe(ev),
        I::State { target } => observe::state(ev, target).await,
        I::Trace { action, pids, wide } => trace::trace(ev, action, &pids, wide).await,
        I::FloodDatabase { n } => load::flood_database(ev, n).await,
        I::Flood {
            target,
            n,
            calls,
            clients,
        } => load::flood(ev, target, n, calls, clients).await,
        I::Profile {
            operations,
            clients,
        } => load::profile(ev, operations, clients).await,
        I::Loadtest { n } => load::loadtest(ev, n).await,
        I::Help { topic } => session::help_command(ev, topic.as_deref()),
        I::History => session::history(ev),
        I::Clear => session::clear(ev),
        I::Speed { factor } => session::speed(ev, factor).await,
        I::Report { level } => session::report(ev, level),
        I::Record { file } => session::record(ev, file).await,
        I::Chaos {
            rate,
            duration,
            only,
        } => chaos::start(ev, rate, duration, only).await,
        I::ChaosOff => chaos::off(ev).await,
        I::Connect { node } => connect::connect(ev, node).await,
        I::Disconnect => connect::disconnect(ev),
    }
}
