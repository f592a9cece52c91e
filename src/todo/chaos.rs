//! A chaos monkey for the to-do tree: "let it crash", seen live, and a soak test in one. A
//! process kills random processes of the tree with the untrappable `:kill` at a given rate,
//! while a witness process adds entries to a list of its own and acknowledges each with
//! `Todo.Server.sync`. At the end it reports the kills, the restarts the supervisors made,
//! the supervisors that gave up, and the acknowledged entries missing from the witness's file,
//! which must be none (rule P1 of tests/README.md).
//!
//! Nothing is bent for the monkey: the supervisors keep the book's restart intensity (3
//! restarts in 5 seconds), so at more than a few kills a second a supervisor gives up and
//! takes its subtree, and eventually the whole tree, down, as the BEAM's would. The monkey then
//! stops and says so; `start` boots the system again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime::supervisor;
use crate::runtime::{Atom, Date, Dest, Envelope, Event, ExitReason, Pid, Process, Term, atom};

use super::persist::Store;
use super::{
    Config, cache, database, database_worker, process_registry, server, server_supervisor,
};

/// The name the monkey registers under, so that `chaos off` finds it and a second `chaos`
/// is refused while one runs.
pub const NAME: Atom = Atom::from_static("otplab_chaos");

/// The list the witness writes to, in the persist folder like any other.
pub const WITNESS_LIST: &str = "chaos witness";

/// The most entries the witness adds in one run: every `sync` writes the whole list, so an
/// unbounded witness would make each write slower than the last.
pub const WITNESS_MAX: usize = 5_000;

/// How long the witness waits between two acknowledged entries.
const WITNESS_PAUSE: Duration = Duration::from_millis(10);

/// How long the monkey waits for the witness to finish its operation in hand before it
/// kills it (a `sync` stuck behind a slow disk).
const WITNESS_STOP: Duration = Duration::from_secs(5);

/// Which processes the monkey picks from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    Registry,
    Workers,
    Servers,
    Cache,
}

impl Only {
    pub const WORDS: &'static [&'static str] = &["registry", "workers", "servers", "cache"];

    pub fn parse(word: &str) -> Option<Only> {
        Some(match word {
            "registry" => Only::Registry,
            "workers" => Only::Workers,
            "servers" => Only::Servers,
            "cache" => Only::Cache,
            _ => return None,
        })
    }
}

/// One run of the monkey.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Kills a second.
    pub rate: f64,
    /// `None`: until `chaos off`.
    pub duration: Option<Duration>,
    pub only: Option<Only>,
}

/// What a run did, for the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub kills: u64,
    pub restarts: u64,
    /// The labels of the supervisors that gave up, in order.
    pub gave_up: Vec<String>,
    pub acknowledged: u64,
    pub lost: u64,
    pub elapsed: Duration,
    /// The tree was gone before the run ended.
    pub gone: bool,
    /// Why the witness's file could not be read back, if it could not.
    pub unreadable: Option<String>,
}

impl Figures {
    /// The report's lines.
    pub fn lines(&self) -> Vec<String> {
        let gave_up = if self.gave_up.is_empty() {
            "none".to_string()
        } else {
            self.gave_up.join(", ")
        };
        let mut lines = vec![
            format!(
                "chaos: {} kills in {:.1} s, {} restarts, supervisors that gave up: {gave_up}",
                self.kills,
                self.elapsed.as_secs_f64(),
                self.restarts
            ),
            format!(
                "chaos: acknowledged entries lost: {} of {}",
                self.lost, self.acknowledged
            ),
        ];
        if let Some(why) = &self.unreadable {
            lines.push(format!(
                "chaos: the witness's list could not be read: {why}"
            ));
        }
        if self.gone {
            lines.push(
                "chaos: the to-do system is gone (its top supervisor gave up); `start` boots it again"
                    .to_string(),
            );
        }
        lines
    }
}

/// Starts the monkey for the tree under `top`, registered as [`NAME`], unlinked from the
/// caller, which learns of its end by monitoring it. Its report is printed when it ends.
pub fn start(p: &Process, config: Arc<Config>, top: Pid, plan: Plan) -> Result<Pid, String> {
    if !p.node().alive(top) {
        return Err("the to-do system is not running (start it with `start`)".into());
    }
    if p.node().whereis(NAME).is_some() {
        return Err("chaos is already running (`chaos off` stops it)".into());
    }
    if !(plan.rate.is_finite() && plan.rate > 0.0 && plan.rate <= 10_000.0) {
        return Err("chaos takes a rate of kills a second, above 0 and at most 10000".into());
    }
    let pid = p
        .spawn(move |m: &mut Process| Box::pin(monkey(m, config, top, plan)))
        .map_err(|e| e.to_string())?;
    if !p.node().register(NAME, pid) {
        p.exit(pid, ExitReason::Kill);
        return Err("chaos is already running (`chaos off` stops it)".into());
    }
    Ok(pid)
}

/// Asks the running monkey to stop; `None` when none runs.
pub fn stop(p: &Process) -> Option<Pid> {
    let pid = p.node().whereis(NAME)?;
    p.send(pid, atom("stop"));
    Some(pid)
}

async fn monkey(m: &mut Process, config: Arc<Config>, top: Pid, plan: Plan) -> ExitReason {
    let started = Instant::now();
    let mut events = m.node().events();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let witness = {
        let (config, acked, done) = (config.clone(), acked.clone(), done.clone());
        m.spawn_link(move |w: &mut Process| Box::pin(witness(w, config, acked, done)))
    };
    // The first kill waits for the witness's first acknowledged entry (or 5 s), so that even
    // a run that brings the tree down at once has something acknowledged to check.
    let warm = Instant::now() + WITNESS_STOP;
    while acked.lock().unwrap().is_empty() && Instant::now() < warm {
        let stop = |e: &Envelope| matches!(e, Envelope::Message(t) if t.is_atom("stop"));
        if m.receive_match(stop, Some(WITNESS_PAUSE)).await.is_some() {
            done.store(true, Ordering::SeqCst);
            break;
        }
    }
    let interval = Duration::from_secs_f64(1.0 / plan.rate);
    let mut rng = Rng::seeded();
    let mut figures = Figures::default();
    let mut next = Instant::now();
    while !done.load(Ordering::SeqCst) {
        next += interval;
        let wait = next.saturating_duration_since(Instant::now());
        let stop = |e: &Envelope| matches!(e, Envelope::Message(t) if t.is_atom("stop"));
        if m.receive_match(stop, Some(wait)).await.is_some() {
            break;
        }
        count(&mut events, &mut figures);
        if plan.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        if !m.node().alive(top) {
            figures.gone = true;
            break;
        }
        let candidates = targets(m, plan.only).await;
        if candidates.is_empty() {
            continue;
        }
        let victim = candidates[rng.below(candidates.len())];
        if m.exit(victim, ExitReason::Kill) {
            figures.kills += 1;
        }
    }
    if let Ok(w) = witness {
        // Asked, not killed: a kill would print as a crash, and the witness ends after the
        // operation in hand, whose outcome it then records.
        done.store(true, Ordering::SeqCst);
        m.unlink(w);
        let r = m.monitor(w);
        let down = |e: &Envelope| matches!(e, Envelope::Message(Term::Tuple(t)) if t.len() == 5 && t[1] == Term::Ref(r));
        if m.receive_match(down, Some(WITNESS_STOP)).await.is_none() {
            m.exit(w, ExitReason::Kill);
        }
    }
    count(&mut events, &mut figures);
    figures.elapsed = started.elapsed();
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    figures.acknowledged = acked.len() as u64;
    // Read from the file itself, not through the tree, which may be gone: an acknowledged
    // entry is one whose write was on disk when `sync` answered.
    let dir = config.persist_dir.clone();
    let on_disk = tokio::task::spawn_blocking(move || Store::attach(dir).load(WITNESS_LIST)).await;
    match on_disk {
        Ok(Ok(list)) => {
            let titles: std::collections::HashSet<String> = list
                .map(|l| l.all().iter().map(|e| e.title.clone()).collect())
                .unwrap_or_default();
            figures.lost = acked.iter().filter(|t| !titles.contains(*t)).count() as u64;
        }
        Ok(Err(e)) => {
            figures.lost = figures.acknowledged;
            figures.unreadable = Some(e.to_string());
        }
        Err(e) => {
            figures.lost = figures.acknowledged;
            figures.unreadable = Some(e.to_string());
        }
    }
    for line in figures.lines() {
        m.puts(line);
    }
    ExitReason::Normal
}

/// Adds the run's restarts and give-ups seen so far.
fn count(events: &mut crate::runtime::Events, figures: &mut Figures) {
    use tokio::sync::broadcast::error::TryRecvError;
    loop {
        match events.try_recv() {
            Ok(Event::Restarted(_)) => figures.restarts += 1,
            Ok(Event::GaveUp(g)) => figures.gave_up.push(g.label.to_string()),
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

/// The live processes of the tree of the kinds asked for, as `kill registry`, `kill cache`,
/// `kill worker N` and `kill LIST` find them.
async fn targets(m: &mut Process, only: Option<Only>) -> Vec<Pid> {
    let wanted = |kind| only.is_none_or(|o| o == kind);
    let mut out = vec![];
    let node = m.node().clone();
    if wanted(Only::Registry) {
        out.extend(node.whereis(process_registry::NAME));
    }
    if wanted(Only::Cache) {
        out.extend(node.whereis(cache::NAME));
    }
    if wanted(Only::Workers) {
        for n in 1..=database::POOL_SIZE {
            if let Some(pid) = process_registry::whereis_name(m, database_worker::key(n)).await {
                out.push(pid);
            }
        }
    }
    if wanted(Only::Servers) {
        let sup = Dest::Name(server_supervisor::NAME);
        if let Ok(children) = supervisor::which_children(&node, m.pid(), &sup).await {
            out.extend(children.into_iter().filter_map(|c| c.pid));
        }
    }
    out.retain(|pid| node.alive(*pid));
    out
}

/// Adds entries to [`WITNESS_LIST`] and records each one `sync` acknowledged. Every failure
/// (the cache, the server or a worker killed under it) is simply tried again: only an `:ok`
/// counts.
async fn witness(
    w: &mut Process,
    config: Arc<Config>,
    acked: Arc<Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
) -> ExitReason {
    let date = Date::new(2023, 12, 19).expect("a valid date");
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut n = 0;
    while !done.load(Ordering::SeqCst) {
        w.sleep(WITNESS_PAUSE).await;
        if n >= WITNESS_MAX {
            continue;
        }
        let Ok(pid) = cache::server_process(w, &config, WITNESS_LIST).await else {
            continue;
        };
        let title = format!("run {run} entry {n}");
        let entry = Term::atom_map(vec![
            ("date", Term::Date(date)),
            ("title", Term::str(&title)),
        ]);
        server::add_entry(w, pid, entry);
        if server::sync(w, pid).await == Ok(Term::ok()) {
            acked.lock().unwrap().push(title);
            n += 1;
        }
    }
    ExitReason::Normal
}

/// xorshift64*, seeded from the clock: which process dies next need not be reproducible,
/// only spread over the candidates.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64);
        Rng(nanos | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}
