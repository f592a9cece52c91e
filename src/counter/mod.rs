//! The talk's counters (seed 000): state kept in a GenServer (`Counter`), the single-process
//! bottleneck (`SlowCounter`, 10 s per increment inside the server), spawn-and-reply to stay
//! responsive (`SlowButReponsiveCounter`, with `GenServer.reply/2`), the `ContIncrementer`
//! that hammers any of them, and iex's `Crasher`. Built on the runtime only.

pub mod cont_incrementer;
// `counter::counter` mirrors the talk's module names, one module a file.
#[allow(clippy::module_inception)]
pub mod counter;
pub mod crasher;
pub mod slow_but_responsive;
pub mod slow_counter;

use std::time::Duration;

use crate::runtime::call::DEFAULT_CALL_TIMEOUT;
use crate::runtime::{Term, atom};

/// The state all three counters keep: `%{count: 0, value: 0}`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub value: i64,
}

impl Tally {
    pub fn to_term(self) -> Term {
        Term::atom_map(vec![
            ("count", Term::Int(self.count)),
            ("value", Term::Int(self.value)),
        ])
    }

    /// `%{state | count: state.count + 1, value: state.value + value}`.
    pub fn add(&mut self, value: i64) {
        self.count += 1;
        self.value = self.value.saturating_add(value);
    }
}

/// Which counter a function or an incrementer talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    SlowCounter,
    SlowButResponsive,
}

impl Kind {
    /// The module name, accepting the seed's spelling `SlowButReponsiveCounter`.
    pub fn from_module(name: &str) -> Option<Kind> {
        match name {
            "Counter" => Some(Kind::Counter),
            "SlowCounter" => Some(Kind::SlowCounter),
            "SlowButReponsiveCounter" | "SlowButResponsiveCounter" => Some(Kind::SlowButResponsive),
            _ => None,
        }
    }

    pub fn module(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::SlowCounter => "SlowCounter",
            Kind::SlowButResponsive => "SlowButReponsiveCounter",
        }
    }

    /// The client's call timeout: 5 s for `Counter`, 60 s for the slow ones.
    pub fn timeout(self) -> Duration {
        match self {
            Kind::Counter => DEFAULT_CALL_TIMEOUT,
            _ => Duration::from_millis(60_000),
        }
    }
}

/// How long one slow increment takes (`:timer.sleep(10000)`), before the speed factor.
pub const SLOW_INCREMENT: Duration = Duration::from_secs(10);

/// `{:inc_of, value}`.
pub fn inc_of(value: i64) -> Term {
    Term::tuple(vec![atom("inc_of"), Term::Int(value)])
}

/// A small xorshift generator for `:rand.uniform` and `:crypto.rand_uniform`: the
/// incrementers need cheap randomness, not cryptography, and no dependency for it.
#[derive(Clone, Debug)]
pub struct Rand(u64);

impl Rand {
    pub fn seeded(seed: u64) -> Rand {
        Rand(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in `low..high` (`:crypto.rand_uniform(low, high)`).
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        let span = (high - low).max(1) as u64;
        low + (x % span) as i64
    }
}
