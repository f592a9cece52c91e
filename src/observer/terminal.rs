//! The view on a real terminal: raw mode and the alternate screen while it is up (restored
//! on `q`, Esc, an error or a panic unwinding), keys read on a blocking thread that polls so
//! it can stop, and a redraw every [`REFRESH`] and after every key. The same loop serves the
//! shell's `observe` ([`Local`]) and `otplab observe` (a [`Source`] fed by the socket).

use std::io::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use super::render::areas;
use super::sampler::Sampler;
use super::view::{Outcome, View};
use super::{Action, REFRESH, Snapshot, Window, actions, draw};
use crate::runtime::Pid;

/// Where snapshots come from and where actions go.
pub trait Source {
    /// The latest snapshot for `window`; `None` when there will be no more (the instance
    /// an attached viewer watched has ended).
    fn snapshot(&mut self, window: Window) -> Option<Snapshot>;
    fn act(&mut self, action: Action);
}

/// The view inside the shell: snapshots taken on the spot, actions done on the node.
pub struct Local {
    pub sampler: Sampler,
    pub shell: Pid,
}

impl Source for Local {
    fn snapshot(&mut self, window: Window) -> Option<Snapshot> {
        Some(self.sampler.sample(window, tokio::time::Instant::now()))
    }

    fn act(&mut self, action: Action) {
        actions::run(&mut self.sampler, self.shell, action);
    }
}

/// The terminal as it was, put back when the view closes however it closes.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let mut out = io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Reads keys on a blocking thread until told to stop. It polls rather than blocks in a
/// read, so that once the view closes it stops, and the view waits for it to stop before it
/// gives the terminal back: a key typed at the next prompt is the line editor's.
fn keys(stop: Arc<AtomicBool>) -> (mpsc::Receiver<Event>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let reader = tokio::task::spawn_blocking(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.blocking_send(ev).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
    (rx, reader)
}

/// Runs the view until `q` or Esc, or until the source ends.
pub async fn run(source: &mut impl Source, color: bool) -> io::Result<()> {
    enable_raw_mode()?;
    let restore = Restore;
    execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (mut keys, reader) = keys(stop.clone());
    let mut view = View::new(color);
    let mut snap = Snapshot::default();
    let mut tick = tokio::time::interval(REFRESH);
    let outcome = loop {
        let resample = tokio::select! {
            _ = tick.tick() => true,
            ev = keys.recv() => match ev {
                Some(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    match view.key(k, &snap) {
                        Outcome::Quit => break Ok(()),
                        Outcome::Act(a) => {
                            source.act(a);
                            true
                        }
                        Outcome::Redraw => true,
                    }
                }
                Some(Event::Resize(..)) => {
                    terminal.autoresize()?;
                    true
                }
                Some(_) => false,
                None => break Ok(()),
            },
        };
        if resample {
            let size = terminal.size()?;
            let a = areas(Rect::new(0, 0, size.width, size.height), &view);
            view.fit(a.proc_rows(), a.tree_rows());
            match source.snapshot(view.window) {
                Some(s) => snap = s,
                None => break Ok(()),
            }
            terminal.draw(|f| draw(f, &snap, &view))?;
        }
    };
    stop.store(true, Ordering::Relaxed);
    drop(keys);
    let _ = reader.await;
    drop(restore);
    outcome
}
