//! Turns one shell input into a [`Line`]: a command of the short command language, a command
//! bound to a variable, or an expression of the Elixir subset the seeds' iex sessions use. It
//! exists so every malformed input becomes a one-line error that points at a column, and so no
//! input, however hostile, can panic or overflow the stack of the shell (the hostile-input rules of tests/README.md).
//!
//! # Commands versus Elixir (the precedence rule)
//!
//! A single-line input is read as a **command** when all of these hold:
//! 1. its first word (after an optional `var =`) is a command word ([`CommandName`]);
//! 2. the word is not directly followed by `(`: `flush()`, `send(pid, :hi)`, `exit(pid, :kill)`,
//!    `self()` are always Elixir;
//! 3. the rest is space-separated command arguments (no commas, no operators): `send pid, :hi`,
//!    `state.count`, `state = 1`, `info + 1` are Elixir;
//! 4. a bare command word with nothing after it is a command only when the command takes no
//!    argument (`flush`, `tree`, `ps`): a bare `state` or `info` is the variable of that name.
//!
//! When the arguments are well formed but do not fit the command (wrong count, unknown flag),
//! the command's error wins, except for the words that are also iex/Kernel functions (`exit`,
//! `send`, `flush`, `clear`), which fall back to Elixir when that parses (`exit :normal`).
//! Everything else is Elixir. Multi-line input is always Elixir. A line that parses as an Elixir
//! call without parentheses of an unknown function whose name is a near miss of a command word
//! (`server_proces "Bob's list"`) is an error with a did-you-mean hint, since the shell has no such
//! function; failed parses also get that hint when their first word is a near miss.
//!
//! # Shape of the parser
//!
//! The [`lexer`] (nom recognisers driven by a loop with an explicit frame stack) turns the text
//! into tokens and, in the same O(n) pass, enforces the nesting cap of [`MAX_NESTING`] before any
//! syntax tree exists. The expression parser is a recursive-descent, precedence-climbing parser
//! over those tokens with Elixir's operator table; its recursion is bounded by a depth counter
//! (which also bounds long operator chains such as `1 + 1 + … + 1`), so building, walking and
//! dropping the tree cannot overflow the stack. The command language (module `command`) is parsed with
//! nom over the text directly; its bracketed and quoted arguments go through the lexer and the
//! expression parser. Long runs of blank lines and clause look-ahead are scanned in linear time
//! (a test keeps 1 MiB of legal but hostile input under a few seconds in a debug build).
//!
//! # Not supported
//!
//! `defmodule`/`def`, `cond`, `try`/`rescue`, `with`, `quote`, captures (`&fun/1`, `&(&1 + 1)`),
//! module attributes, structs (`%Todo.List{}`), binaries (`<<>>`), heredocs, charlists
//! (`'abc'`), sigils other than `~D`, `**`, `=~`, bitwise operators, `..//` steps, `for` options
//! (`into:`, `reduce:`, `uniq:`), access syntax (`map[key]`), do-blocks on ordinary calls,
//! interpolation in atoms and quoted keyword keys (`"a b": 1`). Each gives a clear error.

mod block;
mod command;
mod expr;
mod lexer;
mod token;

use std::fmt;

use self::block::BlockCtx;
use self::command::{CmdAttempt, try_command};
use self::expr::P;
use self::token::{Kw, Op, Tok, Token};
use crate::runtime::term::inspect_str;
use crate::shell::ast::{CommandName, ExprKind, Line, Span};
use crate::shell::suggest::{Near, closest};

/// The longest line accepted: 1 MiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The longest pending multi-line expression accepted: 4 MiB.
pub const MAX_PENDING_BYTES: usize = 4 << 20;
/// The deepest nesting of brackets, `fn`/`do` blocks, strings and interpolations.
pub const MAX_NESTING: usize = 256;
/// The deepest syntax tree the parser builds (nesting plus operator chains).
const MAX_DEPTH: usize = 2 * MAX_NESTING;

/// A parse failure, ready to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the input.
    pub line: usize,
    /// 1-based column in chars within that line.
    pub column: usize,
    pub message: String,
    /// A suggestion (`did you mean server_process?`), shown on its own line.
    pub hint: Option<String>,
    pub kind: ErrorKind,
}

/// Which iex exception the error is shown as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `** (SyntaxError)`
    Syntax,
    /// `** (TokenMissingError)`: the input ended inside an expression.
    TokenMissing,
    /// `** (SyntaxError) … input too large`.
    TooLarge,
}

impl ErrorKind {
    /// The exception name iex prints: `SyntaxError` or `TokenMissingError`.
    pub fn exception(self) -> &'static str {
        match self {
            ErrorKind::Syntax | ErrorKind::TooLarge => "SyntaxError",
            ErrorKind::TokenMissing => "TokenMissingError",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "iex:{}:{}: {}", self.line, self.column, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Whether the input typed so far is a whole expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// Open string, bracket, `do`/`fn` without `end`, or a trailing operator: read another line.
    Incomplete,
    Invalid(ParseError),
}

/// An error before it is placed on a line: the span is in chars from the start of the input.
#[derive(Clone, Debug)]
pub(crate) struct PErr {
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
    pub kind: ErrorKind,
}

impl PErr {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> PErr {
        PErr {
            span,
            message: message.into(),
            hint: None,
            kind: ErrorKind::Syntax,
        }
    }
    fn missing(span: Span, message: impl Into<String>) -> PErr {
        PErr {
            kind: ErrorKind::TokenMissing,
            ..PErr::new(span, message)
        }
    }
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> PErr {
        self.hint = Some(hint.into());
        self
    }
    fn into_public(self, text: &str) -> ParseError {
        let (mut line, mut column) = (1, 1);
        for c in text.chars().take(self.span.start) {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        ParseError {
            line,
            column,
            message: self.message,
            hint: self.hint,
            kind: self.kind,
        }
    }
}

/// Functions of iex and Kernel callable without a module; a call without parentheses of any
/// other name cannot succeed in the shell.
const IEX_LOCALS: &[&str] = &[
    "self",
    "spawn",
    "spawn_link",
    "spawn_monitor",
    "send",
    "exit",
    "flush",
    "clear",
    "h",
    "i",
    "v",
    "pid",
    "ref",
    "respawn",
    "make_ref",
    "node",
    "raise",
    "throw",
    "elem",
    "put_elem",
    "hd",
    "tl",
    "length",
    "map_size",
    "tuple_size",
    "abs",
    "div",
    "rem",
    "round",
    "trunc",
    "max",
    "min",
    "inspect",
    "to_string",
    "apply",
    "is_pid",
    "is_atom",
    "is_integer",
    "is_float",
    "is_number",
    "is_list",
    "is_map",
    "is_tuple",
    "is_binary",
    "is_boolean",
    "is_function",
    "is_nil",
];

/// Parses one input (one line, or several lines gathered after [`Completeness::Incomplete`]).
pub fn parse_line(text: &str) -> Result<Line, ParseError> {
    parse_line_inner(text).map_err(|e| e.into_public(text))
}

/// Parses Elixir only, never the command language (for scripts and tests).
pub fn parse_elixir(text: &str) -> Result<Line, ParseError> {
    check_size(text)
        .and_then(|_| elixir(text))
        .map_err(|e| e.into_public(text))
}

/// Tells a REPL whether to evaluate the input or to ask for another line.
///
/// A pending input whose last line is `#iex:break` is abandoned, as in iex: the answer is
/// `Invalid` with a `TokenMissingError` "incomplete expression" (alone on a fresh prompt,
/// `#iex:break` is just a comment).
pub fn completeness(text: &str) -> Completeness {
    if let Err(e) = check_size(text) {
        return Completeness::Invalid(e.into_public(text));
    }
    let lines: Vec<&str> = text.trim_end_matches(['\n', '\r']).split('\n').collect();
    if lines.len() > 1 && lines.last().map(|l| l.trim()) == Some("#iex:break") {
        return Completeness::Invalid(ParseError {
            line: lines.len(),
            column: 1,
            message: "incomplete expression".to_string(),
            hint: None,
            kind: ErrorKind::TokenMissing,
        });
    }
    if let Ok(lexed) = lexer::lex(text, 0, false)
        && (!lexed.open.is_empty() || ends_with_continuation(&lexed.toks))
    {
        return Completeness::Incomplete;
    }
    match parse_line(text) {
        Ok(_) => Completeness::Complete,
        Err(e) if e.kind == ErrorKind::TokenMissing => Completeness::Incomplete,
        Err(e) => Completeness::Invalid(e),
    }
}

/// The command a misspelled word most likely meant (`server_proces` → `server_process`).
pub fn suggest_command(word: &str) -> Option<CommandName> {
    if CommandName::from_word(word).is_some() {
        return None;
    }
    closest(
        word,
        CommandName::ALL.iter().map(|c| c.word()),
        Near::CommandWord,
    )
    .and_then(CommandName::from_word)
}

fn check_size(text: &str) -> Result<(), PErr> {
    let too_large = |offset_bytes: usize, message: String| {
        let start = text.get(..offset_bytes).map_or(0, |s| s.chars().count());
        Err(PErr {
            kind: ErrorKind::TooLarge,
            ..PErr::new(Span::new(start, start), message)
        })
    };
    if text.len() > MAX_PENDING_BYTES {
        return too_large(
            0,
            format!(
                "input too large: {} bytes, the limit for one expression is {MAX_PENDING_BYTES} (4 MiB)",
                text.len()
            ),
        );
    }
    let mut offset = 0;
    for line in text.split('\n') {
        if line.len() > MAX_LINE_BYTES {
            return too_large(
                offset,
                format!(
                    "input too large: a line of {} bytes, the limit is {MAX_LINE_BYTES} (1 MiB)",
                    line.len()
                ),
            );
        }
        offset += line.len() + 1;
    }
    Ok(())
}

fn parse_line_inner(text: &str) -> Result<Line, PErr> {
    check_size(text)?;
    let body = text.trim_end_matches(['\n', '\r']);
    let attempt = if body.contains('\n') {
        CmdAttempt::NotCommand
    } else {
        try_command(body)
    };
    match attempt {
        CmdAttempt::Parsed(line) => Ok(line),
        CmdAttempt::NotCommand => match elixir(text) {
            Ok(line) => reject_near_miss(line),
            Err(e) => Err(hint_near_miss(e, text)),
        },
        CmdAttempt::Failed {
            err,
            signature,
            word,
        } => {
            if signature && !IEX_LOCALS.contains(&word.as_str()) {
                return Err(err);
            }
            elixir(text).map_err(|_| err)
        }
    }
}

fn elixir(text: &str) -> Result<Line, PErr> {
    let lexed = lexer::lex(text, 0, false)?;
    if let Some(e) = lexed.missing_error() {
        return Err(e);
    }
    let mut p = P::new(&lexed.toks);
    p.skip_eols();
    if matches!(p.peek(), Tok::Eof) {
        return Ok(Line::Empty);
    }
    let e = p.parse_block(BlockCtx::Top)?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.unexpected("the end of the input"));
    }
    Ok(Line::Expr(e))
}

fn ends_with_continuation(toks: &[Token]) -> bool {
    let last = toks
        .iter()
        .rev()
        .find(|t| !matches!(t.tok, Tok::Eof | Tok::Eol { semi: false }));
    match last.map(|t| &t.tok) {
        Some(Tok::Op(Op::RParen | Op::RBracket | Op::RBrace)) => false,
        Some(Tok::Op(_)) => true,
        Some(Tok::Kw(Kw::When | Kw::And | Kw::Or | Kw::Not | Kw::In)) => true,
        Some(Tok::KwKey(_)) => true,
        _ => false,
    }
}

/// An Elixir call without parentheses of an unknown near-miss of a command is an error.
fn reject_near_miss(line: Line) -> Result<Line, PErr> {
    if let Line::Expr(e) = &line {
        let call = match &e.kind {
            ExprKind::Match(_, rhs) => rhs,
            _ => e,
        };
        if let ExprKind::LocalCall {
            name,
            args,
            parens: false,
        } = &call.kind
            && !args.is_empty()
            && !IEX_LOCALS.contains(&name.as_str())
            && let Some(cmd) = suggest_command(name)
        {
            let span = Span::new(call.span.start, call.span.start + name.chars().count());
            return Err(
                PErr::new(span, format!("unknown command {}", inspect_str(name)))
                    .with_hint(format!("did you mean {}?", cmd.word())),
            );
        }
    }
    Ok(line)
}

/// Adds a did-you-mean to a failed parse whose first word is a near miss of a command word.
fn hint_near_miss(mut e: PErr, text: &str) -> PErr {
    if e.hint.is_some() {
        return e;
    }
    let mut rest = text.trim_start();
    if let Ok((after, _)) = token::ident(rest) {
        let after = after.trim_start();
        if after.starts_with('=') && !after.starts_with("==") {
            rest = after.get(1..).unwrap_or("").trim_start();
        }
    }
    if let Ok((_, word)) = token::ident(rest)
        && Kw::from_word(word).is_none()
        && let Some(cmd) = suggest_command(word)
    {
        e.hint = Some(format!("did you mean {}?", cmd.word()));
    }
    e
}

#[cfg(test)]
mod tests;
