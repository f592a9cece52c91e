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
}

struct ShellHelper {
    known: Arc<Mutex<Known>>,
    color: bool,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(complete(line, pos, &self.known.lock().unwrap()))
    }
}

/// Completion candidates for the word before `pos`: `Module.fun` after a module and a dot,
/// modules, commands, variables, `:names` and `"list names"` otherwise.
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

/// Runs the interactive REPL until Ctrl-D or `exit`.
pub async fn repl(mut session: Session, color: bool) {
    let known = Arc::new(Mutex::new(Known::default()));
    let (to_editor, prompts) = std::sync::mpsc::channel::<Option<u32>>();
    let (editor_tx, mut from_editor) = mpsc::unbounded_channel::<FromEditor>();
    let helper_known = known.clone();
    std::thread::spawn(move || editor_thread(helper_known, color, prompts, editor_tx));

    let canceller = session.canceller();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if let Some(tx) = canceller.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    });

    for line in std::mem::take(&mut session.boot_output) {
        println!("{line}");
    }
    println!("{}", banner(&session.node));
    let mut printer: Option<Box<dyn ExternalPrinter + Send>> = None;
    let mut reading = false;
    refresh_known(&session, &known);
    let _ = to_editor.send(Some(session.counter));
    loop {
        tokio::select! {
            msg = from_editor.recv() => match msg {
                Some(FromEditor::Printer(p)) => printer = Some(p),
                Some(FromEditor::Input(text)) => {
                    if matches!(text.trim(), "exit" | "exit()") {
                        break;
                    }
                    for line in session.eval(&text).await {
                        println!("{line}");
                    }
                    refresh_known(&session, &known);
                    reading = true;
                    let _ = to_editor.send(Some(session.counter));
                }
                Some(FromEditor::Interrupted) => {
                    reading = true;
                    let _ = to_editor.send(Some(session.counter));
                }
                Some(FromEditor::Eof) | None => break,
            },
            lines = session.next_output() => {
                for line in lines {
                    match (&mut printer, reading) {
                        (Some(p), true) => { let _ = p.print(line); }
                        _ => println!("{line}"),
                    }
                }
            }
        }
    }
    let _ = to_editor.send(None);
    session.shutdown().await;
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
    let dir = session.ctx.config().persist_dir.clone();
    k.lists = crate::todo::persist::Store::list_names_in(&dir);
}

fn editor_thread(
    known: Arc<Mutex<Known>>,
    color: bool,
    prompts: std::sync::mpsc::Receiver<Option<u32>>,
    tx: mpsc::UnboundedSender<FromEditor>,
) {
    let Ok(mut rl) = Editor::<ShellHelper, DefaultHistory>::new() else {
        let _ = tx.send(FromEditor::Eof);
        return;
    };
    rl.set_helper(Some(ShellHelper { known, color }));
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
                Err(ReadlineError::Interrupted) => break FromEditor::Interrupted,
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
        let mut lines = session.eval(&input).await;
        lines.extend(session.settle().await);
        if echo {
            // The input is the user's text: echoed escaped, as everything else of it.
            for (i, l) in input.lines().enumerate() {
                let l = crate::runtime::term::escape_text(l);
                if i == 0 {
                    println!("iex({prompt_n})> {l}");
                } else {
                    println!("...({prompt_n})> {l}");
                }
            }
            for l in &lines {
                println!("{l}");
            }
        }
        out.push((input, lines));
    }
    out
}

/// Reads standard input as inputs: lines joined while an expression is incomplete, invalid
/// UTF-8 and oversized lines turned into one error each.
pub fn read_inputs(reader: impl BufRead) -> Vec<Result<String, String>> {
    let mut out = vec![];
    let mut pending = String::new();
    let mut reader = reader;
    let mut n = 0;
    loop {
        n += 1;
        let mut buf = vec![];
        let read =
            std::io::Read::take(reader.by_ref(), MAX_LINE as u64 + 1).read_until(b'\n', &mut buf);
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
            // Skip the rest of the oversized line without holding it in memory.
            let mut sink = vec![];
            loop {
                sink.clear();
                match std::io::Read::take(reader.by_ref(), 1 << 16).read_until(b'\n', &mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if sink.ends_with(b"\n") => break,
                    Ok(_) => {}
                }
            }
            out.push(Err(format!(
                "** (SyntaxError) iex:{n}: input too large (a line is limited to {MAX_LINE} bytes)"
            )));
            pending.clear();
            continue;
        }
        let Ok(line) = String::from_utf8(buf) else {
            out.push(Err(format!(
                "** (SyntaxError) iex:{n}: invalid UTF-8 in the input"
            )));
            pending.clear();
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        if pending.len() > MAX_PENDING {
            out.push(Err(format!("** (SyntaxError) iex:{n}: input too large (an expression is limited to {MAX_PENDING} bytes)")));
            pending.clear();
            continue;
        }
        if line.trim() == "#iex:break" {
            out.push(Err(format!(
                "** (TokenMissingError) iex:{n}: incomplete expression"
            )));
            pending.clear();
            continue;
        }
        if parser::completeness(&pending) != Completeness::Incomplete {
            out.push(Ok(std::mem::take(&mut pending)));
        }
    }
    if !pending.trim().is_empty() {
        out.push(Err(format!(
            "** (TokenMissingError) iex:{n}: incomplete expression"
        )));
    }
    out
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
    }
}
