//! `ps`: the process table with each process's memory, sorted as asked, and one clear line for
//! a sort it does not know. The same table is drawn for a real node (tests/remote_commands.rs).

use otplab::shell::session::{Options, Session};
use otplab::todo::Config;

async fn session(tag: &str) -> (Session, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("otplab-ps-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::with_dir(&dir);
    config.fsync = false;
    let options = Options {
        config,
        ..Options::default()
    };
    (Session::start(options).await, dir)
}

/// The numbers of column `title` in a `ps` table, row by row.
fn column(table: &[String], title: &str) -> Vec<u64> {
    let header = &table[0];
    let titles: Vec<&str> = header.split_whitespace().collect();
    let k = titles.iter().position(|t| *t == title).expect("the column");
    table[1..]
        .iter()
        .map(|row| {
            // Numbers are right-aligned and never cut, so counting cells from the right end is
            // safe even when a NAME cell holds spaces.
            let row = row.trim_end_matches(" (shell)");
            let cells: Vec<&str> = row.split_whitespace().collect();
            let from_end = titles.len() - k;
            cells[cells.len() - from_end].parse().expect("a number")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_shows_memory_and_sorts_by_it_largest_first() {
    let (mut s, dir) = session("memory").await;
    s.settle().await;
    // A process whose mailbox holds 100 unread messages is the largest, as on the BEAM.
    let pid = s
        .eval("pid = spawn(fn -> Process.sleep(:infinity) end)")
        .await;
    s.eval("Enum.each(1..100, fn i -> send(pid, i) end)").await;
    let table = s.eval("ps --sort memory").await;
    assert!(table[0].contains("MEMORY"), "{}", table.join("\n"));
    assert!(
        table[1].starts_with(&pid[0]),
        "{pid:?} first:\n{}",
        table.join("\n")
    );
    let memory = column(&table, "MEMORY");
    assert!(memory.len() > 10, "the booted tree's processes: {table:?}");
    assert!(memory.iter().all(|m| *m > 0), "{memory:?}");
    assert!(memory[0] > memory[1], "{memory:?}");
    assert!(
        memory.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {memory:?}"
    );
    let by_pid = s.eval("ps").await;
    assert!(!by_pid[1].starts_with(&pid[0]), "without --sort, pid order");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sort_is_one_line_and_the_shell_carries_on() {
    let (mut s, dir) = session("bogus").await;
    let out: Vec<String> = s
        .eval("ps --sort color")
        .await
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].contains("ps --sort takes mailbox or memory"),
        "{out:?}"
    );
    assert_eq!(s.eval("1 + 1").await, ["2"]);
    let _ = std::fs::remove_dir_all(dir);
}
