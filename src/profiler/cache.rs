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

/// `"list #{n}"`, the name the profile looks up, as the BEAM side builds it for every
/// operation. Written digit by digit: `format!` goes through the formatting machinery, which
/// was a quarter of the instructions of an ETS cache lookup. It is written on the stack, not
/// into a `String`: the lookup copies it once into the key it builds, as the BEAM's
/// interpolation makes one binary, where a `String` would be a second allocation and a free.
struct ListName {
    bytes: [u8; 25],
    start: usize,
}

impl ListName {
    fn new(n: u64) -> Self {
        let mut bytes = [0u8; 25];
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
        start -= 5;
        bytes[start..start + 5].copy_from_slice(b"list ");
        ListName { bytes, start }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and "list " were written from `start` on.
        std::str::from_utf8(&self.bytes[self.start..]).expect("ASCII")
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
            let name = ListName::new(uniform(100));
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
pub async fn load_pass<'a, E, F>(
    p: &'a Process,
    names: Range<u64>,
    op: &mut F,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Duration, E>
where
    F: FnMut(&'a Process, String) -> BoxFuture<'a, Result<Pid, E>>,
{
    let count = names.end.saturating_sub(names.start);
    let start = Instant::now();
    for (k, i) in names.enumerate() {
        op(p, format!("cache_{i}")).await?;
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
    use super::ListName;

    #[test]
    fn a_list_name_is_the_profiles_interpolation() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(ListName::new(n).as_str(), format!("list {n}"));
        }
    }
}
