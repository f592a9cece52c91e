//! The Erlang modules the seeds call: `:erlang`, `:timer`, `:rand`, `:crypto`, `:sys`.

use std::sync::Arc;
use std::time::Duration;

use crate::counter;
use crate::runtime::{Term, atom};

use super::function::Function;
use crate::shell::context::{CALL_TIMEOUT, Eval, R, arg_error, call_result, dest_of, int_of, ok};

/// `:erlang`'s functions: name, arities, what each does.
pub const ERLANG: &[Function] = &[
    ("term_to_binary", &[1], "the external form of a term"),
    ("binary_to_term", &[1], "a term back from term_to_binary"),
    ("phash2", &[1, 2], "a stable hash"),
    ("memory", &[0], "memory used by processes (an estimate)"),
];

/// `:timer`'s functions: name, arities, what each does.
pub const TIMER: &[Function] = &[
    ("sleep", &[1], "sleeps the calling process"),
    ("tc", &[1], "{microseconds, result} of calling a function"),
];

/// `:rand`'s functions: name, arities, what each does.
pub const RAND: &[Function] = &[("uniform", &[0, 1], "a random number (1..n)")];

/// `:crypto`'s functions: name, arities, what each does.
pub const CRYPTO: &[Function] = &[("rand_uniform", &[2], "a random integer in low..high-1")];

/// `:sys`'s functions: name, arities, what each does.
pub const SYS: &[Function] = &[("get_state", &[1], "the state of a GenServer")];

/// `:erlang.fun(args)`: the external term format, `phash2`, `memory`.
pub fn erlang(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    let config = bincode::config::standard().with_limit::<{ 8 * 1024 * 1024 }>();
    match fun {
        "term_to_binary" => {
            let wire = args[0].to_wire()?;
            let bytes = bincode::serde::encode_to_vec(&wire, config)
                .map_err(|e| arg_error(e.to_string()))?;
            Ok(Term::Binary(Arc::from(bytes)))
        }
        "binary_to_term" => {
            let Term::Binary(b) = &args[0] else {
                return Err(arg_error("binary_to_term expects a binary"));
            };
            let (wire, used): (crate::runtime::term::Wire, usize) =
                bincode::serde::decode_from_slice(b, config).map_err(|e| {
                    arg_error(format!("invalid external representation of a term: {e}"))
                })?;
            if used != b.len() {
                return Err(arg_error(
                    "invalid external representation of a term: trailing bytes",
                ));
            }
            Term::from_wire(wire)
        }
        "phash2" => {
            let text = args[0].to_string();
            let mut hash: u32 = 0x811c_9dc5;
            for byte in text.as_bytes() {
                hash ^= u32::from(*byte);
                hash = hash.wrapping_mul(0x0100_0193);
            }
            let range = args
                .get(1)
                .map(int_of)
                .transpose()?
                .unwrap_or(1 << 27)
                .max(1) as u32;
            Ok(Term::Int((hash % range) as i64))
        }
        _ => {
            let total: usize = ev
                .ctx
                .node
                .pids()
                .iter()
                .filter_map(|p| ev.ctx.node.info(*p))
                .map(|i| i.memory)
                .sum();
            Ok(Term::keyword(vec![
                ("total", Term::from(total)),
                ("processes", Term::from(total)),
            ]))
        }
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

/// `:timer.sleep(ms)` and `:timer.tc(fun)`.
pub async fn timer(ev: &mut Eval<'_>, fun: &str, args: Vec<Term>) -> R {
    match fun {
        "sleep" => {
            ev.p.sleep(Duration::from_millis(int_of(&args[0])?.max(0) as u64))
                .await;
            ok()
        }
        _ => {
            // Measured on the experiments' clock: with `speed 10` a 10 s sleep reads 10 s.
            let start = tokio::time::Instant::now();
            let result = ev.apply(&args[0], vec![]).await?;
            let micros = start.elapsed().as_secs_f64() * 1e6 * ev.ctx.node.speed();
            Ok(Term::tuple(vec![Term::Int(micros as i64), result]))
        }
    }
}

/// `:rand.uniform()` and `:rand.uniform(n)`.
pub fn rand(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let mut r = counter::Rand::seeded(ev.ctx.node.make_ref().0 ^ nanos());
    Ok(match args.first() {
        Some(n) => Term::Int(r.range(1, int_of(n)? + 1)),
        None => Term::Float(r.range(0, 1 << 52) as f64 / (1u64 << 52) as f64),
    })
}

/// `:crypto.rand_uniform(low, high)`.
pub fn crypto(ev: &mut Eval<'_>, args: Vec<Term>) -> R {
    let mut r = counter::Rand::seeded(ev.ctx.node.make_ref().0 ^ nanos());
    Ok(Term::Int(r.range(int_of(&args[0])?, int_of(&args[1])?)))
}

/// `:sys.get_state(server)`: on failure, the exit the call raises.
pub async fn get_state(ev: &mut Eval<'_>, server: &Term) -> R {
    let dest = dest_of(server)?;
    call_result(
        ev.ctx.node.get_state(&dest, CALL_TIMEOUT).await,
        server,
        &atom("get_state"),
        CALL_TIMEOUT,
    )
}
