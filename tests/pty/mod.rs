//! The real binary in a pseudo-terminal of a chosen size, read through a terminal emulator
//! (`vt100`), so a test asserts what a person would see on the screen, row by row, rather
//! than which bytes were written. Lines that are written and then erased by a redraw, or
//! that run into each other, fail these tests even though their bytes were sent.
//!
//! `OTPLAB_BIN` runs another build of the binary under the same tests (for example the
//! previous commit's, to check that a test fails there).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};

/// How long a test waits for the screen to show what it expects before it fails. The
/// wait ends as soon as the screen shows it; the bound only decides when to give up.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Term {
    child: Child,
    master: std::fs::File,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the binary wrote, for the failure message.
    raw: Arc<Mutex<Vec<u8>>>,
    pub dir: PathBuf,
}

/// A fresh folder for one test's persist data and history.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-screen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn binary() -> PathBuf {
    std::env::var_os("OTPLAB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_otplab")))
}

impl Term {
    /// Starts `otplab ARGS --persist DIR/persist` in a `cols` x `rows` terminal, with
    /// `NO_COLOR` unless `color`, and waits for the first prompt.
    pub fn start(name: &str, cols: u16, rows: u16, args: &[&str], color: bool) -> Term {
        Term::start_at(name, cols, rows, args, color, 1)
    }

    /// As [`Term::start`], waiting for the prompt `iex(N)>` instead of the first (after a
    /// replay of N - 1 steps, for `run --until`).
    pub fn start_at(
        name: &str,
        cols: u16,
        rows: u16,
        args: &[&str],
        color: bool,
        prompt: u32,
    ) -> Term {
        let mut term = Term::spawn(name, cols, rows, args, color, &[]);
        term.wait_prompt(prompt);
        term
    }

    /// Starts the binary as [`Term::start`] does, with `env` set too, and waits for
    /// nothing: for `otplab observe`, which shows no prompt. Each binary's runtime folder
    /// (where the observer's socket goes) is its scratch folder unless `env` says another.
    pub fn spawn(
        name: &str,
        cols: u16,
        rows: u16,
        args: &[&str],
        color: bool,
        env: &[(&str, &Path)],
    ) -> Term {
        let dir = scratch(name);
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("a pseudo-terminal");
        let slave: OwnedFd = pty.slave;
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .arg("--persist")
            .arg(dir.join("persist"))
            .env("XDG_DATA_HOME", &dir)
            .env("XDG_RUNTIME_DIR", &dir)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        if !color {
            cmd.env("NO_COLOR", "1");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The binary leads its own session with the terminal as its controlling terminal,
        // so Ctrl-C typed there raises SIGINT in it, as in a real terminal.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("the binary starts");
        let master = std::fs::File::from(pty.master);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).expect("rows"),
            std::num::NonZero::new(cols).expect("columns"),
            0,
        )));
        let raw = Arc::new(Mutex::new(vec![]));
        let mut reader = master.try_clone().unwrap();
        let mut answer = master.try_clone().unwrap();
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let chunk = &buf[..n];
                r.lock().unwrap().extend_from_slice(chunk);
                let mut parser = p.lock().unwrap();
                parser.process(chunk);
                // A terminal answers the cursor-position query (ESC [ 6 n) that the line
                // editor sends before its prompt.
                if chunk.windows(4).any(|w| w == b"\x1b[6n") {
                    let (row, col) = parser.screen().cursor_position();
                    let _ = write!(answer, "\x1b[{};{}R", row + 1, col + 1);
                }
            }
        });
        Term {
            child,
            master,
            parser,
            raw,
            dir,
        }
    }

    /// Every byte the binary wrote so far, as text (escape sequences included).
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).to_string()
    }

    /// Types text as a person would (no line break unless given).
    pub fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Types a line and Enter (a terminal sends a carriage return for Enter).
    pub fn line(&mut self, text: &str) {
        self.send(&format!("{text}\r"));
    }

    /// Pastes text as a terminal does: inside bracketed-paste markers if the program turned
    /// that mode on, and with each line break sent as a carriage return.
    pub fn paste(&mut self, text: &str) {
        let body = text.replace('\n', "\r");
        let bracketed = self.parser.lock().unwrap().screen().bracketed_paste();
        if bracketed {
            self.send(&format!("\x1b[200~{body}\x1b[201~"));
        } else {
            self.send(&body);
        }
    }

    /// The screen's lines as text, trailing blanks trimmed. A line the terminal wrapped
    /// onto several rows (longer than the width) is one line here, so that a test can say
    /// "this line is on screen, whole" at any width.
    pub fn rows(&self) -> Vec<String> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (_, cols) = screen.size();
        let mut lines: Vec<String> = vec![];
        let mut continued = false;
        for (i, row) in screen.rows(0, cols.into()).enumerate() {
            let full = row.trim_end().chars().count() >= usize::from(cols.get());
            if continued {
                lines.last_mut().unwrap().push_str(&row);
            } else {
                lines.push(row);
            }
            // The line editor moves to the next row itself when the typed line fills
            // the last column, so a full row counts as wrapped too.
            continued = screen.row_wrapped(i as u16) || full;
        }
        lines.iter().map(|l| l.trim_end().to_string()).collect()
    }

    /// The screen's physical rows, as a person sees them at this width.
    pub fn physical_rows(&self) -> Vec<String> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (_, cols) = screen.size();
        screen
            .rows(0, cols.into())
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    /// The cursor's row and column on the screen, from 0.
    pub fn cursor(&self) -> (u16, u16) {
        self.parser.lock().unwrap().screen().cursor_position()
    }

    /// Waits until the line editor has taken the line `text` that was typed with Enter: it
    /// ends a line by moving to the start of the next row, so the cursor is then at column 0
    /// below the row that shows `text`. Until then a key typed is still the editor's.
    pub fn wait_entered(&mut self, text: &str) {
        let start = Instant::now();
        loop {
            let (row, col) = self.cursor();
            let rows = self.physical_rows();
            let shown = rows
                .iter()
                .rposition(|r| r.ends_with(text))
                .is_some_and(|i| (i as u16) < row);
            if shown && col == 0 {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the editor never took {text:?}:\n{}",
                rows.join("\n")
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn screen_text(&self) -> String {
        self.rows().join("\n")
    }

    /// Waits until the screen shows what `ok` looks for; fails with the screen and the raw
    /// bytes after [`PATIENCE`].
    pub fn wait_for(&mut self, what: &str, ok: impl Fn(&Screen) -> bool) {
        let start = Instant::now();
        loop {
            let screen = Screen { rows: self.rows() };
            if ok(&screen) {
                return;
            }
            if start.elapsed() > PATIENCE {
                let raw = String::from_utf8_lossy(&self.raw.lock().unwrap()).to_string();
                panic!(
                    "the screen never showed {what}.\nscreen:\n{}\nraw bytes: {raw:?}",
                    screen.rows.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the prompt `iex(N)> ` on the last non-empty row, with nothing typed after.
    pub fn wait_prompt(&mut self, n: u32) {
        let prompt = format!("iex({n})>");
        self.wait_for(&format!("the prompt {prompt}"), |s| {
            s.last_row().is_some_and(|r| r == prompt)
        });
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn persist(&self) -> PathBuf {
        self.dir.join("persist")
    }

    pub fn exit(mut self) {
        self.line("exit");
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the binary did not exit on `exit`");
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = self.master.as_raw_fd();
    }
}

/// One look at the screen.
pub struct Screen {
    pub rows: Vec<String>,
}

impl Screen {
    pub fn contains(&self, text: &str) -> bool {
        self.rows.iter().any(|r| r.contains(text))
    }

    /// The index of the first row that is exactly `text`.
    pub fn row(&self, text: &str) -> Option<usize> {
        self.rows.iter().position(|r| r == text)
    }

    /// The index of the last row that starts with `text`.
    pub fn last_row_starting(&self, text: &str) -> Option<usize> {
        self.rows.iter().rposition(|r| r.starts_with(text))
    }

    pub fn last_row(&self) -> Option<&str> {
        self.rows
            .iter()
            .rev()
            .find(|r| !r.is_empty())
            .map(String::as_str)
    }

    /// The rows after the last one that starts with `text`.
    pub fn after(&self, text: &str) -> Vec<String> {
        match self.last_row_starting(text) {
            Some(i) => self.rows[i + 1..].to_vec(),
            None => vec![],
        }
    }
}

pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
