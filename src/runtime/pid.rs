//! Process and reference identifiers, the two opaque handles the BEAM prints as `#PID<0.N.0>`
//! and `#Reference<…>`. Numbers grow and are never reused within one node (rule R1 of
//! tests/README.md).

use std::fmt;

/// A process identifier. Only the middle number of `#PID<0.N.0>` carries information: there is
/// one node, and pids are never reused, so the serial is not needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Pid(pub u64);

impl Pid {
    /// The `N` of `#PID<0.N.0>`.
    pub fn number(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#PID<0.{}.0>", self.0)
    }
}

/// A unique reference, as made by `make_ref()`, `monitor/1` and every `GenServer.call`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Ref(pub u64);

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Reference<0.0.0.{}>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_prints_like_the_beam() {
        assert_eq!(Pid(142).to_string(), "#PID<0.142.0>");
        assert_eq!(Ref(7).to_string(), "#Reference<0.0.0.7>");
    }
}
