//! Issue 16 on a real BEAM: otplab driven through its binary against an Elixir node running
//! the book's to-do system (`scripts/beam/node/todo.exs`, started by the harness of
//! `tests/beam_node/` on loopback with a random name and cookie). Each test starts its own
//! node, so that a kill or a flood in one never shows in another.
//!
//! The output shapes are those of the local commands: `tree` draws the same tree, `ps` the
//! same table, `trace show` the same sequence.

mod beam_node;

use std::time::{Duration, Instant};

use beam_node::{BeamNode, Options};

/// Polls `ok` until it holds or `within` has passed; whether it held.
fn eventually(within: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        // A short pause between looks: the node is another OS process, with no signal to wait on.
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

#[test]
fn the_harness_starts_a_node_and_stops_it_when_dropped() {
    let mut node = BeamNode::start();
    let pid = node.os_pid();
    assert!(node.running());
    assert!(node.registered(), "epmd lists {}", node.name());
    assert_eq!(node.cookie().len(), 20);
    assert!(
        node.output().contains("Starting to-do cache"),
        "{}",
        node.output()
    );
    let other = BeamNode::start_with(Options {
        long_name: true,
        ..Options::default()
    });
    assert_ne!(node.name(), other.name(), "each node has its own name");
    assert_ne!(node.cookie(), other.cookie(), "and its own cookie");
    assert!(other.name().ends_with("@127.0.0.1"), "{}", other.name());
    drop(node);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the node's BEAM is gone once its harness is dropped"
    );
    drop(other);
}

#[test]
fn a_node_halts_by_itself_when_the_harness_goes_away() {
    // The test binary's end closes the node's standard input, however the binary ends.
    let mut node = BeamNode::start();
    node.close_input();
    assert!(
        eventually(Duration::from_secs(30), || !node.running()),
        "the node halts at the end of its input"
    );
    assert!(
        eventually(Duration::from_secs(10), || !node.registered()),
        "and EPMD forgets it"
    );
}
