//! The live observer drawn into ratatui's `TestBackend` from a known system state: the
//! booted tree, the tree right after `kill registry` (new pids, highlighted), a flooded
//! process at the top of the process pane, a table with an heir, a terminal of 40x12,
//! NO_COLOR, and a hundred thousand processes. Each snapshot is taken by the sampler from a
//! real session, as the shell's `observe` takes it.

use std::time::Duration;

use otplab::observer::view::{Outcome, Pane, View};
use otplab::observer::{Action, Sampler, Snapshot, draw};
use otplab::runtime::table::TableOpts;
use otplab::runtime::{Atom, Dest, ExitReason, Pid, SpawnOpts, atom};
use otplab::shell::session::{Options, Session};
use otplab::todo::Config;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Modifier;

async fn session(name: &str) -> (Session, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("otplab-observer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::with_dir(dir.join("persist"));
    config.fsync = false;
    let session = Session::start(Options {
        config,
        ..Options::default()
    })
    .await;
    (session, dir)
}

fn sampler(s: &Session) -> Sampler {
    Sampler::new(&s.node, s.shell_pid(), "./persist".into())
}

fn sample(sampler: &mut Sampler, view: &View) -> Snapshot {
    sampler.sample(view.window, tokio::time::Instant::now())
}

fn screen(snap: &Snapshot, view: &View, cols: u16, rows: u16) -> (Vec<String>, Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    terminal.draw(|f| draw(f, snap, view)).unwrap();
    let buf = terminal.backend().buffer().clone();
    let lines = (0..rows)
        .map(|y| {
            (0..cols)
                .map(|x| buf.cell((x, y)).map_or(" ", |c| c.symbol()))
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect();
    (lines, buf)
}

fn only(pane: Pane) -> View {
    let mut view = View::new(false);
    view.shown = [false; 4];
    view.shown[pane as usize] = true;
    view.focus = pane;
    view
}

/// Whether the cells of row `y` that hold `text` are drawn in reverse video.
fn reversed(buf: &Buffer, lines: &[String], text: &str) -> bool {
    let Some(y) = lines.iter().position(|l| l.contains(text)) else {
        return false;
    };
    let col = lines[y]
        .find(text)
        .map(|b| lines[y][..b].chars().count())
        .unwrap();
    buf.cell((col as u16, y as u16))
        .is_some_and(|c| c.modifier.contains(Modifier::REVERSED))
}

const BOOTED_TREE: [&str; 12] = [
    " otplab observer │ processes 10/1048576 │ 0 msg/s │ restarts (5 s) 0 │ speed 1x │ ./persist",
    "┌ ▶ supervision tree ──────────────────────────────────────────────────────────────────────────────┐",
    "│  Todo.Supervisor #PID<0.101.0>  restarts: 0  (rest_for_one, 3 restarts in 5 s)                   │",
    "│  ├─ Todo.ProcessRegistry #PID<0.102.0> :todo_process_registry  restarts: 0                       │",
    "│  └─ Todo.SystemSupervisor #PID<0.103.0>  restarts: 0  (one_for_one, 3 restarts in 5 s)           │",
    "│     ├─ Todo.Database #PID<0.104.0>  restarts: 0  (one_for_one, 3 restarts in 5 s)                │",
    "│     │  ├─ Todo.DatabaseWorker 1 #PID<0.105.0>  restarts: 0                                       │",
    "│     │  ├─ Todo.DatabaseWorker 2 #PID<0.106.0>  restarts: 0                                       │",
    "│     │  └─ Todo.DatabaseWorker 3 #PID<0.107.0>  restarts: 0                                       │",
    "│     ├─ Todo.ServerSupervisor #PID<0.108.0> :todo_server_supervisor  restarts: 0  (dynamic, 3 rest│",
    "│     └─ Todo.Cache #PID<0.109.0> :todo_cache  restarts: 0                                         │",
    "└──────────────────────────────────────────────────────────────────────────────────────────────────┘",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booted_tree_shows_each_supervisor_with_its_strategy_and_each_child_with_its_pid() {
    let (s, dir) = session("booted").await;
    let view = only(Pane::Tree);
    let snap = sample(&mut sampler(&s), &view);
    let (lines, _) = screen(&snap, &view, 100, 13);
    assert_eq!(lines[..12], BOOTED_TREE, "\n{}", lines.join("\n"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_after_kill_registry_the_new_pids_stand_in_place_highlighted() {
    let (mut s, dir) = session("kill-registry").await;
    let mut view = only(Pane::Tree);
    // The selection (reverse video too) on the last row, away from the rows checked.
    view.tree_selected = 8;
    let mut sampler = sampler(&s);
    sample(&mut sampler, &view);
    s.eval("kill registry").await;
    s.settle().await;
    let snap = sample(&mut sampler, &view);
    let (lines, buf) = screen(&snap, &view, 120, 13);
    let expected = [
        "┌ ▶ supervision tree ──────────────────────────────────────────────────────────────────────────────────────────────────┐",
        "│  Todo.Supervisor #PID<0.101.0>  restarts: 0  (rest_for_one, 3 restarts in 5 s)                                       │",
        "│● ├─ Todo.ProcessRegistry #PID<0.110.0> :todo_process_registry  restarts: 1  ◀ restarted, was #PID<0.102.0>: killed   │",
        "│● └─ Todo.SystemSupervisor #PID<0.111.0>  restarts: 1  (one_for_one, 3 restarts in 5 s)  ◀ restarted, was #PID<0.103.0│",
        "│●    ├─ Todo.Database #PID<0.112.0>  restarts: 0  (one_for_one, 3 restarts in 5 s)  ◀ started                         │",
        "│●    │  ├─ Todo.DatabaseWorker 1 #PID<0.113.0>  restarts: 0  ◀ started                                                │",
        "│●    │  ├─ Todo.DatabaseWorker 2 #PID<0.114.0>  restarts: 0  ◀ started                                                │",
        "│●    │  └─ Todo.DatabaseWorker 3 #PID<0.115.0>  restarts: 0  ◀ started                                                │",
        "│●    ├─ Todo.ServerSupervisor #PID<0.116.0> :todo_server_supervisor  restarts: 0  (dynamic, 3 restarts in 5 s)  ◀ star│",
        "│●    └─ Todo.Cache #PID<0.117.0> :todo_cache  restarts: 0  ◀ started                                                  │",
        "└──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘",
    ];
    assert_eq!(lines[1..12], expected, "\n{}", lines.join("\n"));
    assert!(lines[0].contains("restarts (5 s) 2"), "{}", lines[0]);
    // The root was not restarted: drawn plainly; the new registry in reverse video.
    assert!(!reversed(&buf, &lines, "Todo.Supervisor #PID<0.101.0>"));
    assert!(reversed(&buf, &lines, "Todo.ProcessRegistry #PID<0.110.0>"));
    // A second later the highlight is gone and the pids stay.
    let later = sampler.sample(
        view.window,
        tokio::time::Instant::now() + Duration::from_millis(1100),
    );
    let (lines, buf) = screen(&later, &view, 120, 13);
    assert!(lines[3].contains("Todo.ProcessRegistry #PID<0.110.0>") && !lines[3].contains('●'));
    assert!(!reversed(
        &buf,
        &lines,
        "Todo.ProcessRegistry #PID<0.110.0>"
    ));
    let _ = std::fs::remove_dir_all(dir);
}

/// A process that never reads its mailbox, and `n` messages sent to it.
fn flooded(s: &Session, n: usize) -> Pid {
    let pid = s
        .node
        .spawn(SpawnOpts::default(), |_p| {
            Box::pin(async move {
                std::future::pending::<()>().await;
                ExitReason::Normal
            })
        })
        .unwrap();
    for _ in 0..n {
        s.node.send(None, &Dest::Pid(pid), atom("hello"));
    }
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_process_is_at_the_top_of_the_process_pane_with_its_mailbox_rising() {
    let (s, dir) = session("flooded").await;
    let view = only(Pane::Procs);
    let mut sampler = sampler(&s);
    let pid = flooded(&s, 100);
    sample(&mut sampler, &view);
    for _ in 0..3 {
        for _ in 0..100 {
            s.node.send(None, &Dest::Pid(pid), atom("hello"));
        }
        sample(&mut sampler, &view);
    }
    let snap = sample(&mut sampler, &view);
    let (lines, buf) = screen(&snap, &view, 100, 8);
    let text = lines.join("\n");
    assert_eq!(
        lines[2],
        "│PID             NAME                      MSGQ▼   RECENT     STATUS                   MEMORY  RST │",
        "{text}"
    );
    // Memory is the runtime's estimate, so only its place is checked.
    assert!(
        lines[3].starts_with(
            "│ #PID<0.110.0>  fn                        400     ▃▅▇██      running    "
        ),
        "{text}"
    );
    assert!(
        lines[4]
            .starts_with("│ #PID<0.100.0>  IEx.Evaluator             0                  running"),
        "{text}"
    );
    assert!(
        reversed(&buf, &lines, "#PID<0.110.0>"),
        "the selection is the top row"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_blocked_in_a_long_call_shows_whom_it_waits_for_and_its_mailbox_growing() {
    let (s, dir) = session("stuck").await;
    let view = only(Pane::Procs);
    let mut sampler = sampler(&s);
    let server = flooded(&s, 0);
    assert!(s.node.register(Atom::new("stuck").unwrap(), server));
    let caller = s
        .node
        .spawn(SpawnOpts::default(), move |p| {
            Box::pin(async move {
                let _ = p
                    .call(server, atom("hi"), Some(Duration::from_secs(10)))
                    .await;
                ExitReason::Normal
            })
        })
        .unwrap();
    for _ in 0..25 {
        s.node.send(None, &Dest::Pid(caller), atom("more"));
    }
    // The caller runs on another worker: wait, with a deadline, until its call is sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut snap = sample(&mut sampler, &view);
    while snap.procs.rows[0].status == "running" && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        snap = sample(&mut sampler, &view);
    }
    let row = &snap.procs.rows[0];
    assert_eq!((row.pid, row.queue), (caller.0, 25));
    assert_eq!(row.status, "waiting: call :stuck");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_an_heir_hangs_under_its_owner_and_is_listed_with_kind_access_and_size() {
    let (s, dir) = session("table").await;
    let cache = s.node.whereis(Atom::new("todo_cache").unwrap()).unwrap();
    let database = s.node.whereis(Atom::new("todo_database").unwrap());
    let heir = database.unwrap_or(Pid(104));
    let opts = TableOpts {
        named: true,
        heir: Some((heir, atom("gift"))),
        ..TableOpts::default()
    };
    let table = s
        .node
        .tables()
        .create(&s.node, cache, Atom::new("scores").unwrap(), opts)
        .unwrap();
    table
        .insert(
            cache,
            otplab::runtime::Term::tuple(vec![atom("bob"), otplab::runtime::Term::Int(3)]),
        )
        .unwrap();
    let mut view = View::new(false);
    view.shown = [true, false, true, false];
    view.focus = Pane::Tree;
    let snap = sample(&mut sampler(&s), &view);
    let (lines, _) = screen(&snap, &view, 100, 24);
    let text = lines.join("\n");
    assert!(
        lines.iter().any(|l| l == "│     └─ Todo.Cache #PID<0.109.0> :todo_cache  restarts: 0                                         │"),
        "{text}"
    );
    let under = lines
        .iter()
        .position(|l| l.contains("Todo.Cache #PID"))
        .unwrap()
        + 1;
    assert_eq!(
        lines[under],
        "│          table :scores (heir: #PID<0.104.0>)                                                     │",
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("│:scores")
            && l.contains("set")
            && l.contains("protected")
            && l.contains("#PID<0.109.0> :todo_")
            && l.contains("#PID<0.104.0> Todo.")
            && l.trim_end_matches('│').trim_end().ends_with('1')),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_40x12_every_pane_still_draws_and_nothing_panics() {
    let (s, dir) = session("small").await;
    let mut view = View::new(false);
    let snap = sample(&mut sampler(&s), &view);
    for (cols, rows) in [(40, 12), (20, 5), (1, 1), (0, 0), (80, 24), (250, 70)] {
        let (lines, _) = screen(&snap, &view, cols, rows);
        assert_eq!(lines.len(), usize::from(rows));
    }
    let (lines, _) = screen(&snap, &view, 40, 12);
    assert!(
        lines[0].starts_with(" otplab observer │ processes 10/"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("supervision tree")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("processes 1-")),
        "{lines:?}"
    );
    // A notice over a tiny screen, and the reason prompt, draw too.
    view.input = Some((105, "shutdown".into()));
    let mut with_notice = snap.clone();
    with_notice.notice = Some("info #PID<0.105.0>\nlabel: Todo.DatabaseWorker".into());
    for (cols, rows) in [(40, 12), (10, 3)] {
        screen(&with_notice, &view, cols, rows);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_colour_highlights_are_reverse_video_and_with_colour_they_are_coloured() {
    let (mut s, dir) = session("no-color").await;
    let mut sampler = sampler(&s);
    let plain = only(Pane::Tree);
    sample(&mut sampler, &plain);
    s.eval("kill registry").await;
    s.settle().await;
    let snap = sample(&mut sampler, &plain);
    let (lines, buf) = screen(&snap, &plain, 120, 13);
    assert!(reversed(&buf, &lines, "Todo.ProcessRegistry #PID<0.110.0>"));
    let y = lines
        .iter()
        .position(|l| l.contains("#PID<0.110.0>"))
        .unwrap();
    let cell = buf.cell((3, y as u16)).unwrap();
    assert_eq!(
        cell.bg,
        ratatui::style::Color::Reset,
        "no colour without colours"
    );
    let mut coloured = plain.clone();
    coloured.color = true;
    let (lines, buf) = screen(&snap, &coloured, 120, 13);
    let cell = buf.cell((3, y as u16)).unwrap();
    assert_eq!(cell.bg, ratatui::style::Color::Yellow, "{lines:?}");
    assert!(!reversed(
        &buf,
        &lines,
        "Todo.ProcessRegistry #PID<0.110.0>"
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_processes_give_a_snapshot_of_a_screenful() {
    let (s, dir) = session("many").await;
    let view = only(Pane::Procs);
    let mut pids = vec![];
    for _ in 0..100_000 {
        pids.push(flooded(&s, 0));
    }
    for _ in 0..7 {
        s.node.send(None, &Dest::Pid(pids[50_000]), atom("x"));
    }
    let mut view = view;
    view.window.rows = 20;
    let snap = sample(&mut sampler(&s), &view);
    assert_eq!(snap.procs.total, 100_010);
    assert_eq!(snap.procs.rows.len(), 20);
    assert_eq!(snap.procs.rows[0].pid, pids[50_000].0);
    // The last page is as small, and reaching it by keys scrolls the window.
    let end = view.key(KeyEvent::from(KeyCode::End), &snap);
    assert_eq!(end, Outcome::Redraw);
    assert_eq!(view.selected, 100_009);
    let snap = sample(&mut sampler(&s), &view);
    assert_eq!(snap.procs.rows.len(), 20);
    assert_eq!(snap.procs.offset, 100_010 - 20);
    assert_eq!(view.selected_pid(&snap), Some(snap.procs.rows[19].pid));
    let (lines, _) = screen(&snap, &view, 100, 24);
    assert!(
        lines[1].contains("processes 99991-100010 of 100010"),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_act_on_the_selected_process() {
    let (s, dir) = session("keys").await;
    let mut view = View::new(false);
    view.focus = Pane::Tree;
    let snap = sample(&mut sampler(&s), &view);
    let key = |c| KeyEvent::from(KeyCode::Char(c));
    view.key(KeyEvent::from(KeyCode::Down), &snap);
    assert_eq!(view.key(key('k'), &snap), Outcome::Act(Action::Kill(102)));
    assert_eq!(view.key(key('i'), &snap), Outcome::Act(Action::Info(102)));
    assert_eq!(view.key(key('x'), &snap), Outcome::Redraw);
    for c in ":shutdown".chars() {
        view.key(key(c), &snap);
    }
    assert_eq!(
        view.key(KeyEvent::from(KeyCode::Enter), &snap),
        Outcome::Act(Action::Exit(102, ":shutdown".into()))
    );
    view.key(key('o'), &snap);
    assert_eq!(view.window.sort, otplab::observer::SortBy::Status);
    view.key(key('2'), &snap);
    assert!(!view.is_shown(Pane::Procs));
    assert_eq!(view.key(key('q'), &snap), Outcome::Quit);
    let _ = std::fs::remove_dir_all(dir);
}
