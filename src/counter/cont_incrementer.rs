//! `ContIncrementer.go(module, counter)`: increments by a random 1..99, sleeps a random
//! 1..999 ms, forever. Run as the body of a spawned process.

use std::time::Duration;

use crate::runtime::{ExitReason, Pid, Process};

use super::{Kind, Rand, counter};

/// The loop; returns only when a call fails (the counter died), with that reason.
pub async fn go(p: &mut Process, kind: Kind, target: Pid) -> ExitReason {
    let mut rand = Rand::seeded(p.pid().number() ^ 0x5EED);
    loop {
        let value = rand.range(1, 100);
        if let Err(e) = counter::increment(p, kind, target, value).await {
            return e.exit_reason(
                &crate::runtime::Term::Pid(target),
                &super::inc_of(value),
                Some(kind.timeout().as_millis() as u64),
            );
        }
        p.sleep(Duration::from_millis(rand.range(1, 1000) as u64))
            .await;
    }
}
