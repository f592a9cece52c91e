//! The real binary killed with SIGKILL in the middle of writes, over and over on one persist
//! folder. Each run adds entries to two lists from piped input, acknowledging them with
//! `Todo.Server.sync`, and is killed at a random point of its transcript, most often right
//! after an `add_entry` whose write is in flight. After each kill:
//!
//! * every list file loads (no torn, half-written or zero-filled file) and holds a version the
//!   program wrote: the first k entries added to that list, in order (old or new, complete);
//! * every acknowledged entry (its list's `sync` printed `:ok`) is in the file;
//! * the next run finds every acknowledged entry through the running system.
//!
//! Sizes: 20 kills in CI, 200 with `OTPLAB_FULL=1`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use otplab::runtime::Date;
use otplab::todo::persist::Store;

fn full() -> bool {
    std::env::var_os("OTPLAB_FULL").is_some_and(|v| v != "0")
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

const LISTS: [(&str, &str); 2] = [("b", "Bob's list"), ("a", "Alice's list")];

fn date() -> Date {
    Date::new(2023, 12, 19).unwrap()
}

fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_otplab"))
        .arg("--persist")
        .arg(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

/// The titles in a list's file, in id order; the file must load.
fn on_disk(dir: &Path, list: &str) -> Vec<String> {
    // Opening sweeps temporary files, as the program's database does at boot: the binary is
    // dead, so no write is in flight.
    let store = Store::open(dir).unwrap();
    match store.load(list) {
        Ok(Some(l)) => l
            .entries(date())
            .into_iter()
            .map(|e| e.title.clone())
            .collect(),
        Ok(None) => vec![],
        Err(e) => panic!("a torn file after SIGKILL: {e}"),
    }
}

#[test]
fn sigkill_in_the_middle_of_writes_loses_no_acknowledged_entry() {
    let kills = if full() { 200 } else { 20 };
    let dir = std::env::temp_dir().join(format!("otplab-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Per list, what its file held after the last kill: where the next run starts from.
    let mut base: HashMap<&str, Vec<String>> = HashMap::new();
    let mut kill_points = vec![];
    let mut acknowledged_total = 0;
    for run in 0..kills {
        let mut child = start(&dir);
        // The script: bind the servers, print what the system has, then adds and syncs.
        let mut script = String::new();
        for (var, list) in LISTS {
            script.push_str(&format!("{var} = Todo.Cache.server_process({list:?})\n"));
            script.push_str(&format!(
                "Enum.each(Todo.Server.entries({var}, ~D[2023-12-19]), fn e -> IO.puts(\"have {var} \" <> e.title) end)\n"
            ));
        }
        // Every add of the script, per list, in order: whatever the binary got to evaluate
        // before the kill, the file must hold a prefix of the list's entries followed by these.
        let mut planned: HashMap<&str, Vec<String>> = base.clone();
        let mut steps: Vec<(&str, Option<String>)> = vec![];
        for n in 0..400 {
            let (var, _) = LISTS[rng.below(2)];
            let title = format!("r{run}-{var}-{n}");
            script.push_str(&format!(
                "Todo.Server.add_entry({var}, %{{date: ~D[2023-12-19], title: {title:?}}})\n"
            ));
            planned.entry(var).or_default().push(title.clone());
            steps.push((var, Some(title)));
            if rng.below(3) == 0 {
                script.push_str(&format!("Todo.Server.sync({var})\n"));
                steps.push((var, None));
            }
        }
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(script.as_bytes()).unwrap();
        drop(stdin);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // The acknowledged prefix of each list: what the file had, then every add before a
        // sync whose :ok was read.
        let mut added: HashMap<&str, usize> = base.iter().map(|(k, v)| (*k, v.len())).collect();
        let mut acked = added.clone();
        let mut have: HashMap<&str, Vec<String>> = HashMap::new();
        // Kill after a random number of answered steps: often right after an add, whose
        // write is then in flight, sometimes in the middle of a sync.
        let kill_after = 1 + rng.below(60);
        let mut answered = 0;
        let mut next_step = steps.iter();
        let mut pending = None;
        let mut line = String::new();
        while answered < kill_after {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("run {run}: the binary ended before it was killed");
            }
            let text = line.trim_end();
            if let Some(rest) = text.strip_prefix("have ") {
                let (var, title) = rest.split_once(' ').unwrap();
                let var = LISTS.iter().find(|(v, _)| *v == var).unwrap().0;
                have.entry(var).or_default().push(title.to_string());
            } else if text.starts_with("iex(")
                && (text.contains("Todo.Server.add_entry(") || text.contains("Todo.Server.sync("))
            {
                pending = next_step.next();
            } else if let Some((var, step)) = pending.take() {
                assert_eq!(text, ":ok", "run {run}: {var} {step:?}");
                match step {
                    Some(_) => *added.entry(var).or_default() += 1,
                    None => {
                        acked.insert(var, added[var]);
                    }
                }
                answered += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kill_points.push(answered);
        for (var, list) in LISTS {
            // On restart the system had every entry of the file, in order.
            let start = base.get(var).cloned().unwrap_or_default();
            assert_eq!(
                have.get(var).cloned().unwrap_or_default(),
                start,
                "run {run}: {list} restarted without what its file held"
            );
            // The file: a complete version that was written, with every acknowledged entry.
            let disk = on_disk(&dir, list);
            let planned = planned.get(var).cloned().unwrap_or_default();
            assert!(
                planned.starts_with(&disk),
                "run {run}: the file of {list} is not a version that was written: {disk:?}"
            );
            let acknowledged = acked.get(var).copied().unwrap_or(0);
            assert!(
                disk.len() >= acknowledged,
                "run {run}: {list} lost acknowledged entries: {} in the file, {acknowledged} acknowledged",
                disk.len()
            );
            acknowledged_total += acknowledged - start.len();
            base.insert(var, disk);
        }
    }
    println!(
        "kill -9: {kills} kills after {} answered steps on average, {acknowledged_total} entries \
         acknowledged in all, none lost; the lists end with {} and {} entries",
        kill_points.iter().sum::<usize>() / kills,
        base.get("b").map_or(0, Vec::len),
        base.get("a").map_or(0, Vec::len)
    );
    assert!(acknowledged_total > 0);
    let _ = std::fs::remove_dir_all(&dir);
}
