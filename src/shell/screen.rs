//! The REPL's one output path to the terminal (a writer thread that owns rustyline's
//! external printer and ends every line itself), the terminal's echo while a line is
//! evaluated, and the terminal's width.

use std::io::Write;

use rustyline::ExternalPrinter;

use super::record::Recording;

/// The one path by which the REPL's lines reach the terminal: results, the output of
/// processes, reports, traces and errors alike, in the order they were emitted.
///
/// A writer thread owns rustyline's external printer. While the editor is reading, the
/// printer clears the prompt and the half-typed line, prints above them and redraws them;
/// while it is not, the printer writes straight to the terminal. In both cases every
/// message ends with its own line break here, so no line runs into the next and no prompt
/// redraw (`\r` and erase-line) wipes one out. The printer may block while the editor is
/// between two reads, so it runs on its own thread and never holds up the runtime.
pub struct Screen {
    lines: std::sync::mpsc::Sender<ScreenMsg>,
    /// Every line that reaches the screen is recorded here first, in the same order.
    recording: Recording,
}

enum ScreenMsg {
    Lines(Vec<String>),
    Printer(Box<dyn ExternalPrinter + Send>),
    /// Answered once every line sent before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// While a full-screen view has the terminal, lines are kept, then written when it
    /// gives the terminal back.
    Hold(bool),
}

impl Screen {
    pub(super) fn start(recording: Recording) -> Screen {
        let (tx, rx) = std::sync::mpsc::channel::<ScreenMsg>();
        std::thread::spawn(move || {
            let mut printer: Option<Box<dyn ExternalPrinter + Send>> = None;
            let mut held: Option<Vec<String>> = None;
            while let Ok(msg) = rx.recv() {
                let mut batch: Vec<String> = vec![];
                let mut flushes = vec![];
                let mut next = Some(msg);
                // Everything already queued goes out in one write, so a burst of lines
                // (nine restarts) costs one redraw of the prompt, not nine.
                while let Some(msg) = next.take() {
                    match msg {
                        ScreenMsg::Lines(lines) => batch.extend(lines),
                        ScreenMsg::Printer(p) => {
                            write_lines(&mut printer, std::mem::take(&mut batch));
                            printer = Some(p);
                        }
                        ScreenMsg::Flush(done) => flushes.push(done),
                        ScreenMsg::Hold(true) => {
                            write_lines(&mut printer, std::mem::take(&mut batch));
                            held.get_or_insert_with(Vec::new);
                        }
                        ScreenMsg::Hold(false) => {
                            let mut kept = held.take().unwrap_or_default();
                            kept.append(&mut batch);
                            batch = kept;
                        }
                    }
                    next = rx.try_recv().ok();
                }
                match &mut held {
                    Some(kept) => kept.append(&mut batch),
                    None => write_lines(&mut printer, batch),
                }
                for done in flushes {
                    let _ = done.send(());
                }
            }
        });
        Screen {
            lines: tx,
            recording,
        }
    }

    /// Queues lines for the terminal, each to be ended with a line break, and records them.
    pub fn print(&self, mut lines: Vec<String>) {
        if !lines.is_empty() {
            lines.extend(self.recording.lines(&lines));
            let _ = self.lines.send(ScreenMsg::Lines(lines));
        }
    }

    /// Holds every line back from the terminal (`true`) while a full-screen view has it,
    /// and writes them, in order, when it is given back (`false`).
    pub(super) fn hold(&self, on: bool) {
        let _ = self.lines.send(ScreenMsg::Hold(on));
    }

    pub(super) fn set_printer(&self, p: Box<dyn ExternalPrinter + Send>) {
        let _ = self.lines.send(ScreenMsg::Printer(p));
    }

    /// Waits until every line queued so far is written (or handed to the editor), so the
    /// prompt that follows comes after them. Bounded: the editor may hold the printer
    /// until its next read, and then the lines go above that prompt instead.
    pub(super) async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.lines.send(ScreenMsg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(FLUSH_LIMIT, rx).await;
        }
    }
}

/// How long a prompt waits for the lines before it to be written.
const FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_millis(100);

fn write_lines(printer: &mut Option<Box<dyn ExternalPrinter + Send>>, lines: Vec<String>) {
    if lines.is_empty() {
        return;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    match printer {
        Some(p) => {
            let _ = p.print(text);
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

/// The terminal's settings while the shell evaluates: as the user left them, but without
/// echo. Lines typed ahead then wait unseen in the terminal's buffer, and the editor shows
/// each one at its own prompt when it reads it, as iex does, instead of the terminal
/// scattering them among the output of the line being evaluated. Ctrl-C still raises
/// SIGINT. The original settings come back when the REPL ends.
pub(super) struct QuietEcho {
    original: Option<nix::sys::termios::Termios>,
}

impl QuietEcho {
    pub(super) fn new() -> QuietEcho {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let Ok(original) = tcgetattr(&stdin) else {
            return QuietEcho { original: None };
        };
        let mut quiet = original.clone();
        quiet
            .local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ECHONL);
        let _ = tcsetattr(&stdin, SetArg::TCSADRAIN, &quiet);
        QuietEcho {
            original: Some(original),
        }
    }
}

impl Drop for QuietEcho {
    fn drop(&mut self) {
        if let Some(original) = &self.original {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSADRAIN,
                original,
            );
        }
    }
}

/// The width of the prompt `iex(N)> ` (or `...(N)> ` for a continued line), as drawn.
pub(super) fn prompt_width(n: u32, continued: bool) -> usize {
    let dots = if continued { "..." } else { "iex" };
    format!("{dots}({n})> ").len()
}

/// Erases the rows of a prompt and its line, `width` columns in all, that the editor left
/// behind when it returned: the cursor is on the row below them.
pub(super) fn erase_prompt(width: usize) {
    let cols = terminal_columns().max(1);
    let rows = width / cols + 1;
    let mut out = std::io::stdout().lock();
    // Up to the first of those rows, then erase from there to the end of the screen.
    let _ = write!(out, "\x1b[{rows}F\x1b[J");
    let _ = out.flush();
}

/// The terminal's width in columns (80 when it cannot be asked).
pub fn terminal_columns() -> usize {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given, which lives
    // for the call.
    let ok = unsafe { nix::libc::ioctl(1, nix::libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}
