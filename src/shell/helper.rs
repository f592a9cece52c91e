//! The line editor's helper: completion (commands, modules and their functions, variables,
//! registered names, list names), the synopsis hint of a command once its word is typed, the
//! colouring of the line being typed in iex's colours, and where history is kept. The line
//! being typed is also noted here, for the prompt that is redrawn when the shell is replaced.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use owo_colors::OwoColorize;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::ast::CommandName;
use super::builtins::MODULES;
use super::system::WELL_KNOWN;

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

pub(super) struct ShellHelper {
    pub(super) known: Arc<Mutex<Known>>,
    pub(super) color: bool,
    pub(super) reprompt: Arc<Reprompt>,
}

/// A prompt to be drawn again with a new number while the editor is reading. When the
/// shell process is replaced (a linked process took it down), iex at once replaces the
/// prompt the user is typing at with `iex(1)>`, and drops the half-typed line with the old
/// shell. The editor is made to return by a SIGINT, which rustyline takes while it reads;
/// then the old prompt's rows are erased and the new prompt is drawn in their place.
#[derive(Default)]
pub(super) struct Reprompt {
    pub(super) wanted: std::sync::atomic::AtomicBool,
    /// The width in characters of the line being typed, as the editor last showed it: all
    /// that erasing its rows needs.
    pub(super) typed: std::sync::atomic::AtomicUsize,
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
        self.reprompt
            .typed
            .store(line.chars().count(), std::sync::atomic::Ordering::Relaxed);
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
