//! One row of a built-in module's table, and the error of a call that no row allows. Every
//! module's file holds its own table; this leaf is what they and the dispatcher share.

use crate::runtime::ExitReason;
use crate::shell::context::raise;
use crate::shell::suggest::{Near, closest};

/// One built-in function: its name, the arities it takes, what it does.
pub type Function = (&'static str, &'static [usize], &'static str);

/// The `UndefinedFunctionError` (or, for `Kernel`, the `CompileError`) of calling `fun` with
/// `arity` arguments in a module whose functions are `funs`, with a did-you-mean.
pub fn undefined_function(module: &str, fun: &str, arity: usize, funs: &[Function]) -> ExitReason {
    if module == "Kernel" {
        let names: Vec<&str> = funs.iter().map(|(f, _, _)| *f).collect();
        let hint = closest(fun, names.iter().copied(), Near::Name)
            .map(|b| format!(". Did you mean {b}?"))
            .unwrap_or_default();
        return raise(
            "CompileError",
            format!("iex:1: undefined function {fun}/{arity} (there is no such import){hint}"),
        );
    }
    let mut message = format!("function {module}.{fun}/{arity} is undefined or private");
    let same: Vec<String> = funs
        .iter()
        .filter(|(f, _, _)| *f == fun)
        .flat_map(|(f, a, _)| a.iter().map(move |n| format!("{f}/{n}")))
        .collect();
    let names: Vec<&str> = funs.iter().map(|(f, _, _)| *f).collect();
    if !same.is_empty() {
        message.push_str(&format!(". Did you mean one of: {}", same.join(", ")));
    } else if let Some(best) = closest(fun, names.iter().copied(), Near::Name) {
        message.push_str(&format!(". Did you mean {best}?"));
    }
    raise("UndefinedFunctionError", message)
}
