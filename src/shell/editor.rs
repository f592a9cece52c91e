//! The terminal: rustyline on its own thread (it blocks), with history kept in the user's
//! data folder, completion, hints and an external printer so that output of processes
//! appears above the prompt without breaking the line being typed. Continued lines are read
//! one readline at a time with the `...(N)>` prompt, as iex does.
//!
//! Also the two non-terminal front ends: piped standard input and script replay, which print
//! a transcript.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use owo_colors::OwoColorize;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter, Helper};
use tokio::sync::mpsc;

use super::ast::CommandName;
use super::builtins::MODULES;
use super::parser::{self, Completeness};
use super::record::Recording;
use super::script::prompted;
use super::session::{Session, banner};
use super::system::WELL_KNOWN;

/// The largest line, and the largest pending multi-line expression, the shell accepts: the
/// parser's limits, so that reading and parsing refuse the same inputs.
pub use super::parser::{MAX_LINE_BYTES as MAX_LINE, MAX_PENDING_BYTES as MAX_PENDING};

/// What completion knows besides the built-ins: bound variables, registered names, list names.
#[derive(Default)]
pub struct Known {
    pub vars: Vec<String>,
    pub names: Vec<String>,
    pub lists: Vec<String>,
    /// Where the persisted lists are. Their names are read only when a `"` is completed,
    /// not after every input: the folder may hold a million lists, and it is the
    /// database's, so the shell looks at it only when the user asks.
    pub persist_dir: Option<std::path::PathBuf>,
}

struct ShellHelper {
    known: Arc<Mutex<Known>>,
    color: bool,
    reprompt: Arc<Reprompt>,
}

/// A prompt to be drawn again with a new number while the editor is reading. When the
/// shell process is replaced (a linked process took it down), iex at once replaces the
/// prompt the user is typing at with `iex(1)>`, and drops the half-typed line with the old
/// shell. The editor is made to return by a SIGINT, which rustyline takes while it reads;
/// then the old prompt's rows are erased and the new prompt is drawn in their place.
#[derive(Default)]
struct Reprompt {
    wanted: std::sync::atomic::AtomicBool,
    /// The line being typed and the cursor in it, as the editor last showed them.
    typed: Mutex<(String, usize)>,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let mut known = self.known.lock().unwrap();
        let in_string = line[..pos].matches('"').count() % 2 == 1;
        if in_string && let Some(dir) = known.persist_dir.clone() {
            known.lists = crate::todo::persist::Store::list_names_in(&dir);
        }
        Ok(complete(line, pos, &known))
    }
}

/// Completion candidates for the word before `pos`: the command's flags after `--`,
/// `Module.fun` after a module and a dot, modules, commands, variables, `:names` and
/// `"list names"` otherwise.
pub fn complete(line: &str, pos: usize, known: &Known) -> (usize, Vec<Pair>) {
    let before = &line[..pos];
    let start = before
        .rfind(|c: char| {
            !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '?' | '!' | '"' | '\''))
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    let word = &before[start..];
    let pair = |s: String| Pair {
        display: s.clone(),
        replacement: s,
    };
    let mut out: Vec<Pair> = vec![];
    let command = line
        .split_whitespace()
        .next()
        .and_then(CommandName::from_word);
    if let (true, Some(cmd)) = (before[..start].ends_with("--"), command) {
        // A flag of the command on the line, from the same table the parser checks.
        out.extend(
            cmd.signature()
                .flags
                .iter()
                .filter(|f| f.name.starts_with(word))
                .map(|f| pair(format!("--{}", f.name))),
        );
        return (start - 2, out);
    }
    if let Some(list) = word.strip_prefix('"') {
        out.extend(
            known
                .lists
                .iter()
                .filter(|l| l.starts_with(list))
                .map(|l| pair(format!("\"{l}\""))),
        );
    } else if let Some((module, fun)) = word.rsplit_once('.').filter(|(m, _)| {
        m.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c == ':')
    }) {
        if let Some((_, funs)) = MODULES.iter().find(|(m, _)| *m == module) {
            out.extend(
                funs.iter()
                    .filter(|(f, _, _)| f.starts_with(fun))
                    .map(|(f, _, _)| pair(format!("{module}.{f}"))),
            );
        } else {
            out.extend(
                MODULES
                    .iter()
                    .filter(|(m, _)| m.starts_with(word))
                    .map(|(m, _)| pair(m.to_string())),
            );
        }
    } else if word.starts_with(':') {
        out.extend(
            known
                .names
                .iter()
                .filter(|n| format!(":{n}").starts_with(word))
                .map(|n| pair(format!(":{n}"))),
        );
        out.extend(
            MODULES
                .iter()
                .filter(|(m, _)| m.starts_with(word))
                .map(|(m, _)| pair(m.to_string())),
        );
    } else {
        out.extend(
            MODULES
                .iter()
                .filter(|(m, _)| *m != "Kernel" && m.starts_with(word))
                .map(|(m, _)| pair(m.to_string())),
        );
        if start == 0 || before[..start].trim().is_empty() {
            out.extend(
                CommandName::ALL
                    .iter()
                    .filter(|c| c.word().starts_with(word))
                    .map(|c| pair(c.word().to_string())),
            );
        }
        out.extend(
            known
                .vars
                .iter()
                .filter(|v| v.starts_with(word))
                .map(|v| pair(v.clone())),
        );
        if let Some((_, kernel)) = MODULES.iter().find(|(m, _)| *m == "Kernel") {
            out.extend(
                kernel
                    .iter()
                    .filter(|(f, _, _)| f.starts_with(word))
                    .map(|(f, _, _)| pair(f.to_string())),
            );
        }
        for w in WELL_KNOWN {
            if w.starts_with(word) && !word.is_empty() {
                out.push(pair(w.to_string()));
            }
        }
    }
    out.sort_by(|a, b| a.replacement.cmp(&b.replacement));
    out.dedup_by(|a, b| a.replacement == b.replacement);
    (start, out)
}

impl Hinter for ShellHelper {
    type Hint = String;

    /// The synopsis of a command once its word is typed: `add_entry LIST DATE TITLE`.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        // Called on every change of the line: the one place that sees what is typed.
        *self.reprompt.typed.lock().unwrap() = (line.to_string(), pos);
        if pos != line.len() {
            return None;
        }
        let word = line.split_whitespace().next()?;
        let cmd = CommandName::from_word(word)?;
        let typed = line.split_whitespace().count() - 1 + usize::from(line.ends_with(' '));
        let usage: Vec<&str> = cmd.usage().split_whitespace().collect();
        let rest: Vec<&str> = usage.iter().skip(typed.max(1)).copied().collect();
        if rest.is_empty() || (typed == 0 && !line.ends_with(' ')) && line.trim() != word {
            return None;
        }
        let sep = if line.ends_with(' ') { "" } else { " " };
        Some(format!("{sep}{}", rest.join(" ")))
    }
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color && line.len() < 4096 {
            Cow::Owned(colorize(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(
        &self,
        _line: &str,
        _pos: usize,
        _kind: rustyline::highlight::CmdKind,
    ) -> bool {
        self.color
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(hint.dimmed().to_string())
        } else {
            Cow::Borrowed(hint)
        }
    }
}

/// Syntax colouring of the line being typed, in iex's colours: strings green, atoms cyan,
/// numbers yellow, modules blue, a command word bold. Lexical only, so it never fails.
pub fn colorize(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() * 2);
    let mut i = 0;
    let first_word_end = chars
        .iter()
        .position(|c| !(c.is_alphanumeric() || *c == '_' || *c == '?'))
        .unwrap_or(chars.len());
    let first: String = chars[..first_word_end].iter().collect();
    if CommandName::from_word(&first).is_some() {
        out.push_str(&first.bold().to_string());
        i = first_word_end;
    }
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            let s: String = chars[start..i].iter().collect();
            out.push_str(&s.green().to_string());
        } else if c == ':'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_' || *n == '"')
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '?' | '!' | '@'))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push_str(&s.cyan().to_string());
        } else if c.is_ascii_digit()
            && (start == 0 || !(chars[start - 1].is_alphanumeric() || chars[start - 1] == '_'))
        {
            while i < chars.len()
                && (chars[i].is_ascii_digit() || matches!(chars[i], '_' | '.' | '-'))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push_str(&s.yellow().to_string());
        } else if c.is_uppercase()
            && (start == 0 || !(chars[start - 1].is_alphanumeric() || chars[start - 1] == '_'))
        {
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(|n| n.is_uppercase())))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push_str(&s.blue().to_string());
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Where history is kept: `$XDG_DATA_HOME/otplab/history`, or `~/.local/share/otplab/history`.
pub fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("otplab").join("history"))
}

enum FromEditor {
    Input(String),
    Interrupted,
    Eof,
    Printer(Box<dyn ExternalPrinter + Send>),
}

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
}

impl Screen {
    fn start(recording: Recording) -> Screen {
        let (tx, rx) = std::sync::mpsc::channel::<ScreenMsg>();
        std::thread::spawn(move || {
            let mut printer: Option<Box<dyn ExternalPrinter + Send>> = None;
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
                    }
                    next = rx.try_recv().ok();
                }
                write_lines(&mut printer, batch);
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

    fn set_printer(&self, p: Box<dyn ExternalPrinter + Send>) {
        let _ = self.lines.send(ScreenMsg::Printer(p));
    }

    /// Waits until every line queued so far is written (or handed to the editor), so the
    /// prompt that follows comes after them. Bounded: the editor may hold the printer
    /// until its next read, and then the lines go above that prompt instead.
    async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.lines.send(ScreenMsg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(FLUSH_LIMIT, rx).await;
        }
    }
}

/// How long a prompt waits for the lines before it to be written.
const FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_millis(100);

impl Screen {}

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
struct QuietEcho {
    original: Option<nix::sys::termios::Termios>,
}

impl QuietEcho {
    fn new() -> QuietEcho {
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

/// Runs the interactive REPL until Ctrl-D or `exit`.
pub async fn repl(mut session: Session, color: bool) {
    let known = Arc::new(Mutex::new(Known::default()));
    let quiet = QuietEcho::new();
    let (to_editor, prompts) = std::sync::mpsc::channel::<Option<u32>>();
    let (editor_tx, mut from_editor) = mpsc::unbounded_channel::<FromEditor>();
    let helper_known = known.clone();
    let reprompt = Arc::new(Reprompt::default());
    let editor_reprompt = reprompt.clone();
    std::thread::spawn(move || {
        editor_thread(helper_known, color, editor_reprompt, prompts, editor_tx)
    });

    let canceller = session.canceller();
    let ours = reprompt.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            // The SIGINT the REPL raised to redraw the prompt, arriving after the editor
            // had already returned: it is not the user's Ctrl-C and cancels nothing.
            if ours.wanted.swap(false, std::sync::atomic::Ordering::SeqCst) {
                continue;
            }
            if let Some(tx) = canceller.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    });

    let screen = Screen::start(session.ctx.recording.clone());
    let mut boot = std::mem::take(&mut session.boot_output);
    boot.push(banner(&session.node));
    screen.print(boot);
    refresh_known(&session, &known);
    screen.flush().await;
    // The number of the prompt on screen, while the editor reads.
    let mut shown = Some(session.counter);
    let _ = to_editor.send(shown);
    loop {
        tokio::select! {
            msg = from_editor.recv() => match msg {
                Some(FromEditor::Printer(p)) => screen.set_printer(p),
                Some(FromEditor::Input(text)) => {
                    if matches!(text.trim(), "exit" | "exit()") {
                        break;
                    }
                    session.set_width(Some(terminal_columns()));
                    screen.print(session.ctx.recording.input(session.counter, &text).into_iter().collect());
                    screen.print(session.eval(&text).await);
                    // The line's immediate consequences (a restart and its `Starting …`
                    // lines, the shell's own crash and its new prompt number) come before
                    // the next prompt, as in iex's transcripts. Later ones print above it.
                    screen.print(session.settle().await);
                    refresh_known(&session, &known);
                    screen.flush().await;
                    shown = Some(session.counter);
                    let _ = to_editor.send(shown);
                }
                Some(FromEditor::Interrupted) => {
                    shown = Some(session.counter);
                    let _ = to_editor.send(shown);
                }
                Some(FromEditor::Eof) | None => break,
            },
            lines = session.next_output() => {
                screen.print(lines);
                if shown.is_some_and(|n| n != session.counter) {
                    // The shell was replaced while the user was at the prompt: its lines
                    // go above the old prompt, then the prompt comes back renumbered.
                    shown = None;
                    screen.flush().await;
                    reprompt.wanted.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGINT);
                }
            }
        }
    }
    let _ = to_editor.send(None);
    session.shutdown().await;
    screen.flush().await;
    drop(quiet);
}

fn refresh_known(session: &Session, known: &Arc<Mutex<Known>>) {
    let mut k = known.lock().unwrap();
    k.vars = session.env.vars.keys().cloned().collect();
    k.names = session
        .node
        .registered()
        .into_iter()
        .map(|(a, _)| a.as_str().to_string())
        .collect();
    k.persist_dir = Some(session.ctx.config().persist_dir.clone());
}

fn editor_thread(
    known: Arc<Mutex<Known>>,
    color: bool,
    reprompt: Arc<Reprompt>,
    prompts: std::sync::mpsc::Receiver<Option<u32>>,
    tx: mpsc::UnboundedSender<FromEditor>,
) {
    // Bracketed paste stays off, as in iex: a pasted block then arrives as typed lines and
    // each one runs in turn at its own prompt, instead of the whole block becoming one
    // input that waits for another Enter. What the editor has read beyond the line it
    // returns is kept for the next read (rustyline's `buffer-redux`), so lines typed ahead
    // or pasted are never dropped between two prompts.
    let config = rustyline::Config::builder().bracketed_paste(false).build();
    let Ok(mut rl) = Editor::<ShellHelper, DefaultHistory>::with_config(config) else {
        let _ = tx.send(FromEditor::Eof);
        return;
    };
    rl.set_helper(Some(ShellHelper {
        known,
        color,
        reprompt: reprompt.clone(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = std::fs::create_dir_all(h.parent().unwrap());
        let _ = rl.load_history(h);
    }
    if let Ok(p) = rl.create_external_printer() {
        let _ = tx.send(FromEditor::Printer(Box::new(p)));
    }
    while let Ok(Some(n)) = prompts.recv() {
        let mut pending = String::new();
        let outcome = loop {
            let prompt = if pending.is_empty() {
                format!("iex({n})> ")
            } else {
                format!("...({n})> ")
            };
            let prompt = if color {
                prompt.bold().to_string()
            } else {
                prompt
            };
            match rl.readline(&prompt) {
                Ok(line) => {
                    if line.trim() == "#iex:break" {
                        break FromEditor::Input("#iex:break".into());
                    }
                    if !pending.is_empty() {
                        pending.push('\n');
                    }
                    pending.push_str(&line);
                    if pending.len() > MAX_PENDING || line.len() > MAX_LINE {
                        break FromEditor::Input(pending.clone());
                    }
                    match parser::completeness(&pending) {
                        Completeness::Incomplete => continue,
                        _ => break FromEditor::Input(pending.clone()),
                    }
                }
                Err(ReadlineError::Interrupted) => {
                    if reprompt
                        .wanted
                        .swap(false, std::sync::atomic::Ordering::SeqCst)
                    {
                        let (typed, _) = std::mem::take(&mut *reprompt.typed.lock().unwrap());
                        erase_prompt(prompt_width(n, !pending.is_empty()) + typed.chars().count());
                    }
                    break FromEditor::Interrupted;
                }
                Err(ReadlineError::Eof) if !pending.is_empty() => {
                    break FromEditor::Input(format!("{pending}\n#iex:eof"));
                }
                Err(_) => break FromEditor::Eof,
            }
        };
        if let FromEditor::Input(text) = &outcome
            && !text.trim().is_empty()
        {
            let _ = rl.add_history_entry(text.as_str());
            if let Some(h) = &history {
                let _ = rl.append_history(h);
            }
        }
        if tx.send(outcome).is_err() {
            break;
        }
    }
}

/// The width of the prompt `iex(N)> ` (or `...(N)> ` for a continued line), as drawn.
fn prompt_width(n: u32, continued: bool) -> usize {
    let dots = if continued { "..." } else { "iex" };
    format!("{dots}({n})> ").len()
}

/// Erases the rows of a prompt and its line, `width` columns in all, that the editor left
/// behind when it returned: the cursor is on the row below them.
fn erase_prompt(width: usize) {
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
        // Recorded as the REPL records: the input before it runs, its lines after.
        let recording = session.ctx.recording.clone();
        let mut failed: Vec<String> = recording.input(prompt_n, &input).into_iter().collect();
        let mut lines = session.eval(&input).await;
        lines.extend(session.settle().await);
        failed.extend(recording.lines(&lines));
        if echo {
            // The input is the user's text: echoed escaped, as everything else of it.
            for l in prompted(prompt_n, &input).iter().chain(&lines) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colouring_keeps_every_character() {
        for line in [
            "add_entry \"Bob's list\" 2023-12-19 \"Dentist\"",
            "Todo.Cache.server_process(\"a\\\"b\") |> Todo.Server.entries(~D[2023-12-19])",
            ":ets.new(:t, [:set]); x = -12_000",
            "\"unterminated \\",
            "é🙂\u{202E}:\"q\" 1.5e3",
        ] {
            let coloured = colorize(line);
            assert_eq!(strip(&coloured), line);
        }
        assert!(
            colorize("kill registry").contains("\u{1b}["),
            "the command word is bold"
        );
    }

    #[test]
    fn completion_offers_modules_functions_commands_and_variables() {
        let known = Known {
            vars: vec!["bobs_list".into()],
            names: vec!["todo_cache".into()],
            lists: vec!["Bob's list".into()],
            persist_dir: None,
        };
        let names = |line: &str| {
            complete(line, line.len(), &known)
                .1
                .into_iter()
                .map(|p| p.replacement)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("Todo.Cac"), ["Todo.Cache"]);
        assert!(names("Todo.Cache.ser").contains(&"Todo.Cache.server_process".to_string()));
        assert!(names("server_p").contains(&"server_process".to_string()));
        assert!(names("kill bobs").contains(&"bobs_list".to_string()));
        assert_eq!(names("whereis :todo_c"), [":todo_cache"]);
        assert_eq!(names("entries \"Bo"), ["\"Bob's list\""]);
        assert_eq!(names("trace show --w"), ["--wide"]);
        assert_eq!(complete("trace show --", 13, &known).0, 11);
        assert!(names("ps --").contains(&"--sort".to_string()));
    }
}
