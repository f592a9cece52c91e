//! The two front ends that are not a terminal: script replay (`run`, `check`), which prints
//! a transcript, and piped standard input, evaluated line by line as it arrives.

use std::io::{BufRead, Write};

use owo_colors::OwoColorize;
use tokio::sync::mpsc;

use super::parser::{self, Completeness};
use super::script::prompted_on;
use super::session::Session;

/// The largest line, and the largest pending multi-line expression, the shell accepts: the
/// parser's limits, so that reading and parsing refuse the same inputs.
pub use super::parser::{MAX_LINE_BYTES as MAX_LINE, MAX_PENDING_BYTES as MAX_PENDING};

/// Replays inputs as a transcript: standard input when it is not a terminal, or a script.
/// Returns each input with the lines it printed.
pub async fn replay(
    session: &mut Session,
    inputs: Vec<String>,
    echo: bool,
    step: bool,
) -> Vec<(String, Vec<String>)> {
    let mut out = vec![];
    let mut stdout = std::io::stdout();
    for input in inputs {
        if step {
            let _ = write!(
                stdout,
                "{}",
                format!("[Enter] {}", input.lines().next().unwrap_or("")).dimmed()
            );
            let _ = stdout.flush();
            let mut buf = String::new();
            let _ = std::io::stdin().lock().read_line(&mut buf);
        }
        let prompt_n = session.counter;
        let node = session.ctx.remote().map(|r| r.node());
        // Recorded as the REPL records: the input before it runs, its lines after.
        let recording = session.ctx.recording.clone();
        let mut failed: Vec<String> = recording.input(prompt_n, &input).into_iter().collect();
        if echo {
            // The input is the user's text: echoed escaped, as everything else of it. It is
            // written before it runs, as a terminal shows it, so what the line writes on
            // standard error (iex's compiler warnings) comes after it there too.
            for l in prompted_on(prompt_n, node.as_deref(), &input) {
                println!("{l}");
            }
        }
        let mut lines = session.eval(&input).await;
        lines.extend(session.settle().await);
        failed.extend(recording.lines(&lines));
        if echo {
            for l in &lines {
                println!("{l}");
            }
        }
        for l in failed {
            eprintln!("{l}");
        }
        out.push((input, lines));
    }
    out
}

/// Reads standard input as inputs: lines joined while an expression is incomplete, invalid
/// UTF-8 and oversized lines turned into one error each.
pub fn read_inputs(reader: impl BufRead) -> Vec<Result<String, String>> {
    let mut inputs = Inputs::new(reader);
    std::iter::from_fn(|| inputs.next_input()).collect()
}

/// Inputs read one at a time, each handed over as soon as its last line arrives, so that a
/// program driving the shell through a pipe gets each answer before it sends the next line.
pub struct Inputs<R> {
    reader: R,
    pending: String,
    /// The number of the line being read, for iex's `iex:N` in errors.
    n: usize,
    done: bool,
}

impl<R: BufRead> Inputs<R> {
    pub fn new(reader: R) -> Inputs<R> {
        Inputs {
            reader,
            pending: String::new(),
            n: 0,
            done: false,
        }
    }

    /// The next complete input, or the error of a line that cannot be one; `None` at the end.
    pub fn next_input(&mut self) -> Option<Result<String, String>> {
        while !self.done {
            self.n += 1;
            let n = self.n;
            let mut buf = vec![];
            let read = std::io::Read::take(self.reader.by_ref(), MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf);
            match read {
                Ok(0) | Err(_) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
            }
            if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
                // Skip the rest of the oversized line without holding it in memory.
                let mut sink = vec![];
                loop {
                    sink.clear();
                    match std::io::Read::take(self.reader.by_ref(), 1 << 16)
                        .read_until(b'\n', &mut sink)
                    {
                        Ok(0) | Err(_) => break,
                        Ok(_) if sink.ends_with(b"\n") => break,
                        Ok(_) => {}
                    }
                }
                self.pending.clear();
                return Some(Err(format!(
                    "** (SyntaxError) iex:{n}: input too large (a line is limited to {MAX_LINE} bytes)"
                )));
            }
            let Ok(line) = String::from_utf8(buf) else {
                self.pending.clear();
                return Some(Err(format!(
                    "** (SyntaxError) iex:{n}: invalid UTF-8 in the input"
                )));
            };
            let line = line.trim_end_matches(['\n', '\r']);
            if !self.pending.is_empty() {
                self.pending.push('\n');
            }
            self.pending.push_str(line);
            if self.pending.len() > MAX_PENDING {
                self.pending.clear();
                return Some(Err(format!(
                    "** (SyntaxError) iex:{n}: input too large (an expression is limited to {MAX_PENDING} bytes)"
                )));
            }
            if line.trim() == "#iex:break" {
                self.pending.clear();
                return Some(Err(format!(
                    "** (TokenMissingError) iex:{n}: incomplete expression"
                )));
            }
            if parser::completeness(&self.pending) != Completeness::Incomplete {
                return Some(Ok(std::mem::take(&mut self.pending)));
            }
        }
        if !self.pending.trim().is_empty() {
            self.pending.clear();
            return Some(Err(format!(
                "** (TokenMissingError) iex:{}: incomplete expression",
                self.n
            )));
        }
        None
    }
}

/// Standard input that is not a terminal, answered as it arrives: each input is evaluated
/// as soon as its last line is read, echoed with its prompt and followed by its output, and
/// what processes print between two inputs (while the writer of the pipe pauses) is printed
/// when it happens.
pub async fn piped(mut session: Session, input: impl std::io::Read + Send + 'static) {
    let (tx, mut inputs) = mpsc::unbounded_channel();
    // A thread, not a task: reading a pipe blocks, and the runtime's workers run processes.
    std::thread::spawn(move || {
        let mut reader = Inputs::new(std::io::BufReader::new(input));
        while let Some(next) = reader.next_input() {
            if tx.send(next).is_err() {
                break;
            }
        }
    });
    let mut stdout = std::io::stdout();
    let recording = session.ctx.recording.clone();
    let mut print = |mut lines: Vec<String>| {
        lines.extend(recording.lines(&lines));
        for l in lines {
            let _ = writeln!(stdout, "{l}");
        }
        let _ = stdout.flush();
    };
    for line in std::mem::take(&mut session.boot_output) {
        print(vec![line]);
    }
    loop {
        tokio::select! {
            // Output already published goes out before the next input is echoed.
            biased;
            lines = session.next_output() => print(lines),
            next = inputs.recv() => match next {
                Some(Ok(text)) => {
                    replay(&mut session, vec![text], true, false).await;
                    let _ = std::io::stdout().flush();
                }
                Some(Err(error)) => print(vec![error]),
                None => break,
            },
        }
    }
    session.shutdown().await;
}
