//! One row of a built-in module's table, and the error of a call that no row allows. Every
//! module's file holds its own table; this leaf is what they and the dispatcher share.

use crate::runtime::ExitReason;
use crate::shell::context::{compile_error, raise};
use crate::shell::suggest::{Near, closest};

/// One built-in function: its name, the arities it takes, what it does.
pub type Function = (&'static str, &'static [usize], &'static str);

/// The `CompileError` of a local call that is no function of `Kernel`.
pub fn undefined_import(fun: &str, arity: usize) -> ExitReason {
    compile_error(format_args!(
        "undefined function {fun}/{arity} (there is no such import)"
    ))
}

/// The `UndefinedFunctionError` (or, for `Kernel`, the `CompileError`) of calling `fun` with
/// `arity` arguments in a module whose functions are `funs`, with a did-you-mean.
pub fn undefined_function(module: &str, fun: &str, arity: usize, funs: &[Function]) -> ExitReason {
    if module == "Kernel" {
        // iex 1.14 suggests nothing for a local call it cannot find, even when only the arity
        // is wrong (`exit()`, `lenght([1])`): checked in iex.
        return undefined_import(fun, arity);
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
