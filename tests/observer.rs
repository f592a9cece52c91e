//! The live observer drawn into ratatui's `TestBackend` from a known system state: the
//! booted tree, the tree right after `kill registry` (new pids, highlighted), a flooded
//! worker at the top of the process pane, a table with an heir, a terminal of 40x12, and
//! NO_COLOR. Each snapshot is taken by the sampler from a real session, as the shell's
//! `observe` takes it.

use otplab::observer::view::{Pane, View};
use otplab::observer::{Sampler, Snapshot, Window, draw};
use otplab::shell::session::{Options, Session};
use otplab::todo::Config;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump() {
    let (mut s, dir) = session("dump").await;
    let mut sm = sampler(&s);
    let view = View::new(false);
    let snap = sample(&mut sm, &view);
    let (lines, _) = screen(&snap, &view, 120, 40);
    println!("{}", lines.join("\n"));
    s.eval("kill registry").await;
    s.settle().await;
    let snap = sample(&mut sm, &only(Pane::Tree));
    let (lines, _) = screen(&snap, &only(Pane::Tree), 120, 20);
    println!("{}", lines.join("\n"));
    let _ = std::fs::remove_dir_all(dir);
    let _ = Window::default();
}
