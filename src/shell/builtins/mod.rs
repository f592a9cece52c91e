//! The built-in modules the seeds call, each backed by the real runtime, one file per group
//! with its table of functions beside its code: `kernel` (`Kernel`, `IO`), `process` (with
//! `process_info`, `Process.info` and the `info` command), `gen_server`, `supervisor`, `todo`
//! (`Todo.*`), `counters`, `profiler`, `enumerable` (`Enum`), `ets`, `erlang` (`:erlang`,
//! `:timer`, `:rand`, `:crypto`, `:sys`), and `helpers` (iex's `h`, `i`, `recompile`).
//! An error raised by a built-in gets the frame iex would print under it ([`call`]).
//! [`MODULES`]
//! names every module's table in the order `h` lists them; `h`, completion and the
//! did-you-mean of `UndefinedFunctionError` all read it, so they cannot drift from what
//! [`call`] accepts.

mod counters;
mod enumerable;
mod erlang;
mod ets;
mod function;
mod gen_server;
mod helpers;
mod kernel;
mod process;
mod process_info;
mod profiler;
mod supervisor;
mod todo;

#[cfg(test)]
mod tests;

use crate::runtime::{ExitReason, Term};

pub use self::erlang::get_state;
use self::function::undefined_function;
pub use self::function::{Function, undefined_import};
pub use self::helpers::{help_text, help_topic};
pub use self::kernel::{clear, flush};
use super::context::{Eval, R, raise, silent, to_string};
use super::suggest::{Near, closest};

/// Every built-in module and its functions, in the order `h` lists them.
pub const MODULES: &[(&str, &[Function])] = &[
    ("Kernel", kernel::KERNEL),
    ("Process", process::PROCESS),
    ("GenServer", gen_server::GEN_SERVER),
    ("Supervisor", supervisor::SUPERVISOR),
    ("DynamicSupervisor", supervisor::DYNAMIC_SUPERVISOR),
    ("Todo.Supervisor", todo::TODO_SUPERVISOR),
    ("Todo.SystemSupervisor", todo::TODO_SYSTEM_SUPERVISOR),
    ("Todo.Cache", todo::TODO_CACHE),
    ("Todo.Server", todo::TODO_SERVER),
    ("Todo.Database", todo::TODO_DATABASE),
    ("Todo.ProcessRegistry", todo::TODO_PROCESS_REGISTRY),
    ("Todo.ServerSupervisor", todo::TODO_SERVER_SUPERVISOR),
    ("Counter", counters::COUNTER),
    ("SlowCounter", counters::SLOW_COUNTER),
    (
        "SlowButReponsiveCounter",
        counters::SLOW_BUT_REPONSIVE_COUNTER,
    ),
    ("ContIncrementer", counters::CONT_INCREMENTER),
    ("Crasher", counters::CRASHER),
    ("Profiler", profiler::PROFILER),
    ("Enum", enumerable::ENUM),
    ("IO", kernel::IO),
    (":ets", ets::ETS),
    (":erlang", erlang::ERLANG),
    (":timer", erlang::TIMER),
    (":rand", erlang::RAND),
    (":crypto", erlang::CRYPTO),
    (":sys", erlang::SYS),
];

/// The `info` command: `Process.info` with otplab's own keys added.
pub fn info(ev: &Eval<'_>, args: &[Term]) -> R {
    process_info::info(ev, args, process_info::View::Otplab)
}

/// Looks a module up, accepting the seed's spelling of the responsive counter.
pub fn module_functions(module: &str) -> Option<&'static [Function]> {
    let module = if module == "SlowButResponsiveCounter" {
        "SlowButReponsiveCounter"
    } else {
        module
    };
    MODULES.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// Calls `module.fun(args)`; `module` is `Kernel` for local calls.
pub async fn call(ev: &mut Eval<'_>, module: &str, fun: &str, args: Vec<Term>) -> R {
    let arity = args.len();
    let undefined = match module_functions(module) {
        Some(funs) if funs.iter().any(|(f, a, _)| *f == fun && a.contains(&arity)) => None,
        Some(funs) => Some(undefined_function(module, fun, arity, funs)),
        None => Some(undefined_module(module, fun, arity)),
    };
    // The frame iex prints under the error: the call with its arguments when the function
    // does not exist or is an Erlang built-in (`:ets.lookup(:nope, 1)`), else the function
    // (`Process.info/1`), without the file and line otplab does not have. A local call is
    // compiled code of the shell's line, which has no frame of its own.
    let frame = if undefined.is_some() || module.starts_with(':') {
        let shown: Vec<String> = args.iter().map(Term::to_string).collect();
        format!("{module}.{fun}({})", shown.join(", "))
    } else {
        format!("{module}.{fun}/{arity}")
    };
    let result = match undefined {
        Some(error) => Err(error),
        None => dispatch(ev, module, fun, args).await,
    };
    result.map_err(|e| {
        if module == "Kernel" {
            e
        } else {
            e.with_frame(&frame)
        }
    })
}

async fn dispatch(ev: &mut Eval<'_>, module: &str, fun: &str, args: Vec<Term>) -> R {
    let arity = args.len();
    match module {
        "Kernel" if fun == "h" => {
            let topic = args.first().map(to_string);
            ev.p.puts(help_text(topic.as_deref()));
            Ok(silent())
        }
        "Kernel" if fun == "i" => helpers::i(ev, &args[0]),
        "Kernel" if fun == "recompile" => helpers::recompile(ev),
        "Kernel" => kernel::call(ev, fun, args).await,
        "Process" => process::call(ev, fun, args).await,
        "GenServer" => gen_server::call(ev, fun, args).await,
        "Supervisor" | "DynamicSupervisor" => supervisor::call(ev, fun, args).await,
        "Todo.Supervisor" => todo::supervisor(ev, args).await,
        "Todo.Cache" => todo::cache(ev, fun, args).await,
        "Todo.Server" => todo::server(ev, fun, args).await,
        "Todo.Database" => todo::database(ev, fun, args).await,
        "Todo.ProcessRegistry" => todo::registry(ev, fun, args).await,
        "Todo.ServerSupervisor" => todo::server_supervisor(ev, args).await,
        "Counter" | "SlowCounter" | "SlowButReponsiveCounter" | "SlowButResponsiveCounter" => {
            counters::call(ev, module, fun, args).await
        }
        "ContIncrementer" => counters::cont_incrementer(ev, args).await,
        "Crasher" => counters::crasher(ev, fun, args).await,
        "Profiler" => profiler::call(ev, args).await,
        "Enum" => enumerable::call(ev, fun, args).await,
        "IO" => kernel::io(ev, fun, args),
        ":ets" => ets::call(ev, fun, args),
        ":erlang" => erlang::erlang(ev, fun, args),
        ":timer" => erlang::timer(ev, fun, args).await,
        ":rand" => erlang::rand(ev, args),
        ":crypto" => erlang::crypto(ev, args),
        ":sys" => erlang::get_state(ev, &args[0]).await,
        _ => Err(undefined_module(module, fun, arity)),
    }
}

fn undefined_module(module: &str, fun: &str, arity: usize) -> ExitReason {
    let names: Vec<&str> = MODULES
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| *m != "Kernel")
        .collect();
    if module == "Kernel" {
        return undefined_import(fun, arity);
    }
    let mut message =
        format!("function {module}.{fun}/{arity} is undefined (module {module} is not available)");
    if let Some(best) = closest(module, names.iter().copied(), Near::Name) {
        message.push_str(&format!(". Did you mean {best}?"));
    }
    raise("UndefinedFunctionError", message)
}
