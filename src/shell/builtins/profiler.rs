//! `Profiler.run(fun, operations, concurrency)` of seed 001, on the crate's one profiler.

use std::sync::Arc;

use crate::profiler;
use crate::runtime::term::{BoxFuture, Fun};
use crate::runtime::{ExitReason, Process, Term};

use super::function::Function;
use crate::shell::context::{Eval, R, int_of, ok, raise};

/// `Profiler`'s functions: name, arities, what each does.
pub const PROFILER: &[Function] = &[(
    "run",
    &[2, 3],
    "runs a function N times in each of C client processes and prints reqs/sec",
)];

/// `Profiler.run(fun, operations, concurrency)`: prints the rate, as the seed's module does.
pub async fn call(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let Term::Fun(f) = args[0].clone() else {
        return Err(raise(
            "BadFunctionError",
            format!("expected a function, got: {}", args[0]),
        ));
    };
    let ops = int_of(&args[1])?.max(0) as u64;
    let conc = args.get(2).map(int_of).transpose()?.unwrap_or(1).max(1) as u64;
    let op = Arc::new(FunOperation(f));
    let outcome = profiler::run(ev.p, op, ops, conc).await?;
    ev.p.puts(format!("{} reqs/sec\n", outcome.rate.round() as u64));
    ok()
}

/// A zero-arity fun as the profiler's operation.
struct FunOperation(Fun);

impl profiler::Operation for FunOperation {
    fn run<'a>(&'a self, p: &'a mut Process) -> BoxFuture<'a, Result<(), ExitReason>> {
        Box::pin(async move { self.0.call(p, vec![]).await.map(|_| ()) })
    }
}
