#!/usr/bin/env bash
# `ps` and `tree` latency on a real node (issue 16): otplab --connect against the book's
# to-do system beside N idle processes (scripts/beam/node/idle.exs), and the same queries
# typed in `iex --remsh`, timed the same way (tests/bench_node.rs says how).
#
#   scripts/bench-node.sh                 # N = 10,000 and 100,000, 5 rounds each
#   scripts/bench-node.sh 1000 --rounds 3
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo test --release --quiet --test bench_node -- "$@"
