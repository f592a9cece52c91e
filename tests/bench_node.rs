//! The benchmark of issue 16: how long `ps` and `tree` take through `otplab --connect` on a
//! real node running the book's to-do system beside 10,000 and 100,000 idle processes, and
//! how long the same queries take typed in a remote iex (`iex --remsh`, in a pseudo-terminal
//! as a person would type them, since iex ignores `--remsh` on piped input).
//!
//! Both are timed the same way: a query line and then a marker expression are typed, and the
//! time runs until the marker's result is printed; the time of the marker alone, measured
//! right after, is subtracted. So a figure is the query's whole round trip as a person sees
//! it: fetching, formatting and printing, up to the next prompt. otplab's `ps` prints every
//! row; iex prints the first 50 elements of its list (its inspect limit).
//!
//!   cargo build --release && cargo test --release --test bench_node -- [N…] [--rounds R]
//!
//! or `scripts/bench-node.sh`. Prints `RESULT node-QUERY-N: SIDE MS ms` lines (medians), each
//! with the two round trips it is the difference of: below a millisecond or so, the
//! difference is within the noise of the marker's own round trip.

mod beam_node;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beam_node::{BeamNode, Options, Session};

/// The remote iex's queries: what a person types there for otplab's `ps` (the fields its
/// table shows) and `tree` (the supervisors' children, level by level, from the root).
const IEX_SETUP: &str = "root = :application_controller.get_master(:todo) |> \
    :application_master.get_child() |> elem(0); walk = fn walk, sup -> \
    for {id, pid, type, _} <- Supervisor.which_children(sup), do: \
    if(type == :supervisor, do: {id, pid, walk.(walk, pid)}, else: {id, pid}) end";
const IEX_PS: &str = "Process.list |> Enum.map(&Process.info(&1, [:message_queue_len, \
    :registered_name, :status, :memory]))";
const IEX_TREE: &str = "walk.(walk, root)";

struct Timer {
    session: Session,
    marks: usize,
}

impl Timer {
    /// The time from typing `line` (and the marker) to the marker's result.
    fn round_trip(&mut self, line: Option<&str>) -> Duration {
        self.marks += 1;
        let mark = format!(":bench_mark_{}", self.marks);
        let start = Instant::now();
        if let Some(line) = line {
            self.session.send(line);
        }
        self.session.send(&mark);
        self.session
            .read_until(|l| l.trim_end_matches('\r') == mark);
        let took = start.elapsed();
        // Only the last screenful is kept: 100,000 rows a round would otherwise pile up.
        let keep = self.session.seen.len().saturating_sub(100);
        self.session.seen.drain(..keep);
        took
    }

    /// The medians, over `rounds` (after one to warm up), of the query's time less the
    /// marker's, of the query with its marker, and of the marker alone, in milliseconds.
    fn median(&mut self, query: &str, rounds: usize) -> [f64; 3] {
        let mut rows: Vec<[f64; 3]> = (0..=rounds)
            .map(|_| {
                let with = self.round_trip(Some(query));
                let without = self.round_trip(None);
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                [ms(with.saturating_sub(without)), ms(with), ms(without)]
            })
            .skip(1)
            .collect();
        let mut out = [0.0; 3];
        for (i, slot) in out.iter_mut().enumerate() {
            rows.sort_by(|a, b| a[i].total_cmp(&b[i]));
            *slot = rows[rows.len() / 2][i];
        }
        out
    }
}

fn remsh(node: &BeamNode) -> Session {
    let probe = format!("bench_probe_{}", std::process::id());
    let naming = if node.name().ends_with("@127.0.0.1") {
        format!("--name {probe}@127.0.0.1")
    } else {
        format!("--sname {probe}")
    };
    // `script` gives iex the terminal it needs for --remsh; the cookie is the harness's
    // random one of a node on loopback.
    let iex = format!(
        "iex {naming} --cookie {} --remsh {}",
        node.cookie(),
        node.name()
    );
    let mut command = Command::new("script");
    command
        .args(["-qec", &iex, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Session::spawn(command)
}

fn main() {
    let mut sizes = vec![];
    let mut rounds = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()).unwrap_or(rounds),
            n => match n.parse::<usize>() {
                Ok(n) => sizes.push(n),
                Err(_) => {
                    eprintln!("usage: bench_node [N…] [--rounds R]");
                    std::process::exit(2);
                }
            },
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000];
    }
    for n in sizes {
        let node = BeamNode::start_with(Options {
            idle: n,
            ..Options::default()
        });
        let mut otplab = Timer {
            session: node.session(),
            marks: 0,
        };
        let mut iex = Timer {
            session: remsh(&node),
            marks: 0,
        };
        iex.round_trip(Some(IEX_SETUP));
        for (query, ours, theirs) in [("ps", "ps", IEX_PS), ("tree", "tree", IEX_TREE)] {
            for (side, timer, line) in [
                ("otplab", &mut otplab, ours),
                ("iex-remsh", &mut iex, theirs),
            ] {
                let [less, with, alone] = timer.median(line, rounds);
                println!(
                    "RESULT node-{query}-{n}: {side} {less:.1} ms  \
                     (with the marker {with:.1} ms, the marker alone {alone:.1} ms)"
                );
            }
        }
    }
}
