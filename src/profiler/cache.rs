//! The two workloads of the to-do cache: seed 001's profile (`server_process` of one of
//! "list 1".."list 100" at random, by many clients) and the chapter's load test (time
//! `server_process` of new names `cache_#{i}`, then of the same names again). The shell's
//! `profile` and `loadtest` and the benchmarks all run these.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::runtime::term::BoxFuture;
use crate::runtime::{ExitReason, Pid, Process};
use crate::todo::{Config, cache};

use super::Operation;

/// How many names a load pass does between two reports of its progress.
const PROGRESS_EVERY: u64 = 1024;

thread_local! {
    static RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// `:rand.uniform(n)`: 1..=n, from a per-thread xorshift (no shared state between clients).
pub fn uniform(n: u64) -> u64 {
    RNG.with(|c| {
        let mut x = c.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.set(x);
        x % n.max(1) + 1
    })
}

/// A name built from a prefix and a number, `"list #{n}"` (the profile's) or `"cache_#{i}"`
/// (the load test's), as the BEAM side builds it for every operation. Written digit by
/// digit: `format!` goes through the formatting machinery, which was a quarter of the
/// instructions of an ETS cache lookup. It is written on the stack, not into a `String`: a
/// lookup of an existing list reads the table by the name's text, and a new list's request
/// copies it once into the term it sends, as the BEAM's interpolation makes one binary,
/// where a `String` would be a second allocation and a free.
#[derive(Clone, Copy)]
pub struct Name {
    bytes: [u8; Name::ROOM],
    start: usize,
}

impl Name {
    /// The longest prefix (`"cache_"`) and the 20 digits of the largest `u64`.
    const ROOM: usize = 6 + 20;

    /// `prefix` followed by `n`'s decimal digits; the prefix is one of the workloads' and
    /// fits, which the tests check.
    pub fn new(prefix: &'static str, n: u64) -> Self {
        let mut bytes = [0u8; Name::ROOM];
        let mut start = bytes.len();
        let mut rest = n;
        loop {
            start -= 1;
            bytes[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        start -= prefix.len();
        bytes[start..start + prefix.len()].copy_from_slice(prefix.as_bytes());
        Name { bytes, start }
    }

    pub fn as_str(&self) -> &str {
        // Only the prefix (a `str`) and ASCII digits were written from `start` on.
        std::str::from_utf8(&self.bytes[self.start..]).expect("a prefix and digits")
    }
}

/// Creates "list 1".."list 100", the lists the profile looks up.
pub async fn create_lists(p: &Process, config: &Config) -> Result<(), ExitReason> {
    for i in 1..=100 {
        cache::server_process(p, config, &format!("list {i}")).await?;
    }
    Ok(())
}

/// The operation of seed 001's profile: `server_process("list #{:rand.uniform(100)}")`.
pub struct CacheLookups {
    pub config: Arc<Config>,
    /// Operations done so far, for a progress bar.
    pub done: Option<Arc<AtomicU64>>,
}

impl Operation for CacheLookups {
    fn run<'a>(&'a self, p: &'a mut Process) -> BoxFuture<'a, Result<(), ExitReason>> {
        Box::pin(async move {
            let name = Name::new("list ", uniform(100));
            let r = cache::server_process(p, &self.config, name.as_str()).await;
            if let Some(done) = &self.done {
                done.fetch_add(1, Ordering::Relaxed);
            }
            r.map(|_| ())
        })
    }
}

/// One pass of the load test: `op` (a `server_process`) of each name `cache_#{i}` for `i` in
/// `names`, timed. `progress` hears how many were done, every [`PROGRESS_EVERY`] and at the end.
/// `op`'s future is awaited where it is made, as the BEAM's loop calls the function: boxing
/// it was an allocation, a free and a copy of the whole future every operation.
pub async fn load_pass<'a, E, F, Fut>(
    p: &'a Process,
    names: Range<u64>,
    op: &mut F,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Duration, E>
where
    F: FnMut(&'a Process, Name) -> Fut,
    Fut: Future<Output = Result<Pid, E>>,
{
    let count = names.end.saturating_sub(names.start);
    let start = Instant::now();
    for (k, i) in names.enumerate() {
        op(p, Name::new("cache_", i)).await?;
        if k as u64 % PROGRESS_EVERY == PROGRESS_EVERY - 1 {
            progress(PROGRESS_EVERY);
        }
    }
    progress(count % PROGRESS_EVERY);
    Ok(start.elapsed())
}

/// Microseconds per operation.
pub fn us_per(elapsed: Duration, n: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn a_name_is_the_workloads_interpolation() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(Name::new("list ", n).as_str(), format!("list {n}"));
            assert_eq!(Name::new("cache_", n).as_str(), format!("cache_{n}"));
        }
    }
}
