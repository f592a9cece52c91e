//! Every benchmark of `otplab bench` at a tiny size, through the library: it completes and
//! prints its figures, each finite and positive. No timing is asserted. Memory figures are
//! resident-set deltas, which at these sizes may be zero when the allocator reuses pages a
//! previous benchmark freed, so they are only checked to be finite and not negative.

use otplab::bench::{self, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_benchmark_runs_at_a_tiny_size_and_prints_its_figures() {
    let opts = Options {
        smoke: true,
        ..Options::default()
    };
    for name in bench::NAMES {
        let figures = bench::run(name, &opts)
            .await
            .unwrap_or_else(|e| panic!("bench {name} failed: {e}"));
        assert!(!figures.is_empty(), "bench {name} printed nothing");
        for f in &figures {
            assert_eq!(f.bench, *name);
            let line = f.line();
            assert!(
                line.starts_with(&format!("RESULT {name}: {} ", f.metric)),
                "{line}"
            );
            let json = f.json();
            assert!(
                json.starts_with(&format!("{{\"bench\":\"{name}\",\"metric\":")),
                "{json}"
            );
            assert!(f.value.is_finite(), "{line}");
            if matches!(f.unit, "bytes" | "bytes/proc" | "MiB") {
                assert!(f.value >= 0.0, "{line}");
            } else {
                assert!(f.value > 0.0, "{line}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_benchmark_is_refused_with_the_list() {
    let e = bench::run("nope", &Options::default()).await.unwrap_err();
    assert!(e.contains("cache-gen") && e.contains("recovery"), "{e}");
}
