//! Turns one shell input into a [`Line`]: a command of the short command language, a command
//! bound to a variable, or an expression of the Elixir subset the seeds' iex sessions use. It
//! exists so every malformed input becomes a one-line error that points at a column, and so no
//! input, however hostile, can panic or overflow the stack of the shell (otp-semantics section 4).
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

mod command;
mod lexer;

use std::fmt;

use self::command::{CmdAttempt, try_command};
use self::lexer::{Kw, Op, Tok, Token};
use crate::runtime::term::{inspect_atom, inspect_str};
use crate::shell::ast::{
    AliasEntry, BinOp, Clause, CommandName, Expr, ExprKind, Line, Qualifier, Span, StrPart, UnOp,
};

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
    closest(word, CommandName::ALL.iter().map(|c| c.word())).and_then(CommandName::from_word)
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
    if let Ok((after, _)) = lexer::ident(rest) {
        let after = after.trim_start();
        if after.starts_with('=') && !after.starts_with("==") {
            rest = after.get(1..).unwrap_or("").trim_start();
        }
    }
    if let Ok((_, word)) = lexer::ident(rest)
        && Kw::from_word(word).is_none()
        && let Some(cmd) = suggest_command(word)
    {
        e.hint = Some(format!("did you mean {}?", cmd.word()));
    }
    e
}

/// Optimal-string-alignment distance (an edit, or a swap of two neighbours, costs 1).
fn osa(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate nearest to `word`, if near enough to be a likely typo.
fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.chars().take(33).collect();
    if w.is_empty() || w.len() > 32 {
        return None;
    }
    let limit = if w.len() <= 4 { 1 } else { 2 };
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let cc: Vec<char> = c.chars().collect();
        let d = osa(&w, &cc);
        if d > 0 && d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

// ---------------------------------------------------------------------------------------------
// The Elixir subset
// ---------------------------------------------------------------------------------------------

static EOF_TOKEN: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
    space_before: true,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockCtx {
    Top,
    Paren,
    DoEnd,
    Clause,
    Interp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClauseKind {
    Fn,
    Case,
    Receive,
}

enum BinKind {
    Op(BinOp),
    Match,
    Range,
}

struct P<'t> {
    toks: &'t [Token],
    pos: usize,
    depth: usize,
    /// The last newline-run scan: (position, index of the `|>` after it, if any).
    pipe_scan: Option<(usize, Option<usize>)>,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(i) => format!("number {i}"),
        Tok::Float(f) => format!("number {}", crate::runtime::term::format_float(*f)),
        Tok::Atom(a) => format!("atom {}", inspect_atom(a)),
        Tok::Ident(n) => format!("identifier {}", inspect_str(n)),
        Tok::Alias(n) => format!("alias {}", inspect_str(n)),
        Tok::KwKey(k) => format!("keyword {}", inspect_str(&format!("{k}:"))),
        Tok::StrStart | Tok::StrLit(_) => "string".to_string(),
        Tok::InterpOpen => "token \"\\#{\"".to_string(),
        Tok::InterpClose => "token \"}\"".to_string(),
        Tok::StrEnd => "end of string".to_string(),
        Tok::Date(d) => format!("date {d}"),
        Tok::Pid(p) => format!("pid {p}"),
        Tok::Kw(k) => format!("reserved word {}", inspect_str(k.text())),
        Tok::Op(o) => format!("token {}", inspect_str(o.text())),
        Tok::Eol { semi: true } => "token \";\"".to_string(),
        Tok::Eol { semi: false } => "end of line".to_string(),
        Tok::Eof => "end of input".to_string(),
    }
}

/// What a pattern may not contain, for the error message.
fn validate_pattern(e: &Expr) -> Result<(), PErr> {
    use ExprKind::*;
    let bad = |what: &str| {
        Err(PErr::new(
            e.span,
            format!("invalid pattern: {what} cannot be matched against"),
        ))
    };
    match &e.kind {
        Int(_) | Float(_) | Atom(_) | Alias(_) | Date(_) | Pid(_) | Var(_) | Pin(_) => Ok(()),
        Str(parts) => {
            if parts.iter().all(|p| matches!(p, StrPart::Lit(_))) {
                Ok(())
            } else {
                bad("an interpolated string")
            }
        }
        List { items, tail } => {
            items.iter().try_for_each(validate_pattern)?;
            tail.as_deref().map_or(Ok(()), validate_pattern)
        }
        Tuple(items) => items.iter().try_for_each(validate_pattern),
        Map(pairs) => pairs.iter().try_for_each(|(_, v)| validate_pattern(v)),
        Match(a, b) => {
            validate_pattern(a)?;
            validate_pattern(b)
        }
        Binary(BinOp::Concat, a, b) if matches!(a.kind, Str(_)) => validate_pattern(b),
        Range(a, b) if matches!(a.kind, Int(_)) && matches!(b.kind, Int(_)) => Ok(()),
        LocalCall { .. } | RemoteCall { .. } | Apply { .. } => bad("a function call"),
        Field(..) => bad("a field access"),
        Fn(_) => bad("an anonymous function"),
        Unary(..) | Binary(..) | Range(..) => bad("an operator expression"),
        MapUpdate { .. } => bad("a map update"),
        _ => bad("this expression"),
    }
}

fn block_of(mut items: Vec<Expr>, at: Span) -> Expr {
    match items.len() {
        0 => Expr::new(ExprKind::Atom("nil".into()), Span::new(at.start, at.start)),
        1 => items.pop().expect("one item"),
        _ => {
            let span = items[0].span.to(items[items.len() - 1].span);
            Expr::new(ExprKind::Block(items), span)
        }
    }
}

impl<'t> P<'t> {
    fn new(toks: &'t [Token]) -> P<'t> {
        P {
            toks,
            pos: 0,
            depth: 0,
            pipe_scan: None,
        }
    }

    fn tok(&self) -> &'t Token {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .unwrap_or(&EOF_TOKEN)
    }

    fn peek(&self) -> &'t Tok {
        &self.tok().tok
    }

    fn peek_n(&self, n: usize) -> &'t Token {
        self.toks
            .get(self.pos + n)
            .or(self.toks.last())
            .unwrap_or(&EOF_TOKEN)
    }

    fn bump(&mut self) -> &'t Token {
        let t = self.tok();
        if !matches!(t.tok, Tok::Eof) {
            self.pos += 1;
        }
        t
    }

    fn at_op(&self, op: Op) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn at_kw(&self, kw: Kw) -> bool {
        matches!(self.peek(), Tok::Kw(k) if *k == kw)
    }

    fn at_key(&self, key: &str) -> bool {
        matches!(self.peek(), Tok::KwKey(k) if k == key)
    }

    fn eat_op(&mut self, op: Op) -> Option<Span> {
        self.at_op(op).then(|| self.bump().span)
    }

    fn expect_op(&mut self, op: Op, what: &str) -> Result<Span, PErr> {
        self.eat_op(op).ok_or_else(|| self.unexpected(what))
    }

    fn expect_kw(&mut self, kw: Kw, what: &str) -> Result<Span, PErr> {
        if self.at_kw(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn skip_nl(&mut self) {
        while matches!(self.peek(), Tok::Eol { semi: false }) {
            self.pos += 1;
        }
    }

    fn skip_eols(&mut self) {
        while matches!(self.peek(), Tok::Eol { .. }) {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> PErr {
        let t = self.tok();
        let msg = format!("unexpected {}; expected {expected}", describe(&t.tok));
        if matches!(t.tok, Tok::Eof) {
            PErr::missing(t.span, msg)
        } else {
            PErr::new(t.span, msg)
        }
    }

    fn too_deep(&self, span: Span) -> PErr {
        PErr::new(
            span,
            format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
        )
    }

    fn enter(&mut self) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep(self.tok().span));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The binary operator at the cursor: kind, precedence, right-associative, token count.
    fn binop(&self) -> Option<(BinKind, u8, bool, usize)> {
        use BinOp::*;
        let op = |o, p| Some((BinKind::Op(o), p, false, 1));
        match self.peek() {
            Tok::Op(Op::Match) => Some((BinKind::Match, 50, true, 1)),
            Tok::Op(Op::OrOr) => op(OrOr, 60),
            Tok::Kw(Kw::Or) => op(Or, 60),
            Tok::Op(Op::AndAnd) => op(AndAnd, 70),
            Tok::Kw(Kw::And) => op(And, 70),
            Tok::Op(Op::Eq) => op(Eq, 80),
            Tok::Op(Op::Ne) => op(Ne, 80),
            Tok::Op(Op::StrictEq) => op(StrictEq, 80),
            Tok::Op(Op::StrictNe) => op(StrictNe, 80),
            Tok::Op(Op::Lt) => op(Lt, 90),
            Tok::Op(Op::Gt) => op(Gt, 90),
            Tok::Op(Op::Le) => op(Le, 90),
            Tok::Op(Op::Ge) => op(Ge, 90),
            Tok::Op(Op::Pipe) => op(Pipe, 100),
            Tok::Kw(Kw::In) => op(In, 110),
            Tok::Kw(Kw::Not) if matches!(self.peek_n(1).tok, Tok::Kw(Kw::In)) => {
                Some((BinKind::Op(NotIn), 110, false, 2))
            }
            Tok::Op(Op::PlusPlus) => Some((BinKind::Op(ListConcat), 120, true, 1)),
            Tok::Op(Op::MinusMinus) => Some((BinKind::Op(ListSub), 120, true, 1)),
            Tok::Op(Op::Concat) => Some((BinKind::Op(Concat), 120, true, 1)),
            Tok::Op(Op::Range) => Some((BinKind::Range, 120, true, 1)),
            Tok::Op(Op::Plus) => op(Add, 130),
            Tok::Op(Op::Minus) => op(Sub, 130),
            Tok::Op(Op::Star) => op(Mul, 140),
            Tok::Op(Op::Slash) => op(Div, 140),
            _ => None,
        }
    }

    /// `x\n|> f`: a pipe at the start of the next line continues the expression. Every
    /// enclosing operator level asks at the same position, so the scan over the newlines is
    /// remembered: a long run of blank lines is walked once, not once per level.
    fn continue_on_leading_pipe(&mut self) {
        if !matches!(self.peek(), Tok::Eol { semi: false }) {
            return;
        }
        let target = match self.pipe_scan {
            Some((at, target)) if at == self.pos => target,
            _ => {
                let mut i = self.pos;
                while matches!(
                    self.toks.get(i).map(|t| &t.tok),
                    Some(Tok::Eol { semi: false })
                ) {
                    i += 1;
                }
                let target = matches!(self.toks.get(i).map(|t| &t.tok), Some(Tok::Op(Op::Pipe)))
                    .then_some(i);
                self.pipe_scan = Some((self.pos, target));
                target
            }
        };
        if let Some(i) = target {
            self.pos = i;
        }
    }

    fn parse_expr(&mut self) -> Result<Expr, PErr> {
        self.parse_bp(0)
    }

    fn parse_bp(&mut self, min: u8) -> Result<Expr, PErr> {
        self.enter()?;
        let mut lhs = self.parse_unary()?;
        let mut chain = 0usize;
        loop {
            self.continue_on_leading_pipe();
            let Some((kind, prec, right, ntoks)) = self.binop() else {
                break;
            };
            if prec < min {
                break;
            }
            let op_span = self.tok().span;
            for _ in 0..ntoks {
                self.bump();
            }
            self.skip_nl();
            let rhs = self.parse_bp(if right { prec } else { prec + 1 })?;
            let span = lhs.span.to(rhs.span);
            let (l, r) = (Box::new(lhs), Box::new(rhs));
            lhs = match kind {
                BinKind::Match => {
                    validate_pattern(&l)?;
                    Expr::new(ExprKind::Match(l, r), span)
                }
                BinKind::Range => Expr::new(ExprKind::Range(l, r), span),
                BinKind::Op(op) => Expr::new(ExprKind::Binary(op, l, r), span),
            };
            chain += 1;
            if self.depth + chain > MAX_DEPTH {
                return Err(self.too_deep(op_span));
            }
        }
        self.leave();
        Ok(lhs)
    }

    fn parse_unary(&mut self) -> Result<Expr, PErr> {
        let t = self.tok();
        let unary = |p: &mut Self, op: UnOp| -> Result<Expr, PErr> {
            p.bump();
            p.enter()?;
            let e = p.parse_unary()?;
            p.leave();
            let span = t.span.to(e.span);
            Ok(match (op, e.kind) {
                (UnOp::Neg, ExprKind::Int(i)) => Expr::new(ExprKind::Int(i.wrapping_neg()), span),
                (UnOp::Neg, ExprKind::Float(f)) => Expr::new(ExprKind::Float(-f), span),
                (op, kind) => {
                    Expr::new(ExprKind::Unary(op, Box::new(Expr::new(kind, e.span))), span)
                }
            })
        };
        match &t.tok {
            Tok::Op(Op::Minus) => unary(self, UnOp::Neg),
            Tok::Op(Op::Plus) => unary(self, UnOp::Plus),
            Tok::Op(Op::Bang) => unary(self, UnOp::Bang),
            Tok::Kw(Kw::Not) => unary(self, UnOp::Not),
            Tok::Op(Op::Caret) => {
                self.bump();
                let v = self.tok();
                match &v.tok {
                    Tok::Ident(name) => {
                        self.bump();
                        Ok(Expr::new(ExprKind::Pin(name.clone()), t.span.to(v.span)))
                    }
                    _ => Err(self.unexpected("a variable to pin after \"^\"")),
                }
            }
            Tok::Op(Op::Amp) => Err(PErr::new(
                t.span,
                "the capture operator & is not supported: write fn x -> … end",
            )),
            Tok::Op(Op::At) => Err(PErr::new(
                t.span,
                "module attributes (@name) are not supported",
            )),
            _ => self.parse_postfix(),
        }
    }

    fn parse_postfix(&mut self) -> Result<Expr, PErr> {
        let mut e = self.parse_primary()?;
        let mut chain = 0usize;
        while self.at_op(Op::Dot) {
            let dot = self.bump().span;
            let t = self.tok();
            e = match &t.tok {
                Tok::Op(Op::LParen) => {
                    let (args, end) = self.paren_args()?;
                    let span = e.span.to(end);
                    Expr::new(
                        ExprKind::Apply {
                            fun: Box::new(e),
                            args,
                        },
                        span,
                    )
                }
                Tok::Alias(seg) => match &mut e.kind {
                    ExprKind::Alias(parts) => {
                        self.bump();
                        parts.push(seg.clone());
                        e.span = e.span.to(t.span);
                        e
                    }
                    _ => return Err(PErr::new(t.span, "an alias cannot follow a value here")),
                },
                Tok::Ident(name) => {
                    self.bump();
                    self.after_dot_name(e, name.clone(), t.span)?
                }
                Tok::Op(Op::LBrace) => {
                    return Err(PErr::new(
                        dot.to(t.span),
                        "Mod.{A, B} is only valid in alias",
                    ));
                }
                _ => return Err(self.unexpected("a function name after \".\"")),
            };
            chain += 1;
            if self.depth + chain > MAX_DEPTH {
                return Err(self.too_deep(dot));
            }
        }
        Ok(e)
    }

    /// After `module.name`: a call with or without parentheses, or a field access.
    fn after_dot_name(
        &mut self,
        module: Expr,
        name: String,
        name_span: Span,
    ) -> Result<Expr, PErr> {
        let next = self.tok();
        if next.tok == Tok::Op(Op::LParen) && !next.space_before {
            let (args, end) = self.paren_args()?;
            let span = module.span.to(end);
            return Ok(Expr::new(
                ExprKind::RemoteCall {
                    module: Box::new(module),
                    fun: name,
                    args,
                    parens: true,
                },
                span,
            ));
        }
        if self.starts_no_paren_arg() {
            let args = self.no_paren_args()?;
            let span = module.span.to(args.last().map_or(name_span, |a| a.span));
            return Ok(Expr::new(
                ExprKind::RemoteCall {
                    module: Box::new(module),
                    fun: name,
                    args,
                    parens: false,
                },
                span,
            ));
        }
        let span = module.span.to(name_span);
        if matches!(module.kind, ExprKind::Alias(_) | ExprKind::Atom(_)) {
            Ok(Expr::new(
                ExprKind::RemoteCall {
                    module: Box::new(module),
                    fun: name,
                    args: Vec::new(),
                    parens: false,
                },
                span,
            ))
        } else {
            Ok(Expr::new(ExprKind::Field(Box::new(module), name), span))
        }
    }

    /// Whether the token at the cursor starts an argument of a call without parentheses.
    fn starts_no_paren_arg(&self) -> bool {
        let t = self.tok();
        if !t.space_before {
            return false;
        }
        match &t.tok {
            Tok::Int(_)
            | Tok::Float(_)
            | Tok::Atom(_)
            | Tok::Alias(_)
            | Tok::KwKey(_)
            | Tok::StrStart
            | Tok::Date(_)
            | Tok::Pid(_)
            | Tok::Ident(_) => true,
            Tok::Kw(Kw::True | Kw::False | Kw::Nil | Kw::Fn) => true,
            Tok::Kw(Kw::Not) => !matches!(self.peek_n(1).tok, Tok::Kw(Kw::In)),
            Tok::Op(
                Op::LBracket | Op::LBrace | Op::PercentBrace | Op::LParen | Op::Bang | Op::Caret,
            ) => true,
            Tok::Op(Op::Minus | Op::Plus) => {
                let n = self.peek_n(1);
                !n.space_before && !matches!(n.tok, Tok::Eol { .. } | Tok::Eof)
            }
            _ => false,
        }
    }

    fn no_paren_args(&mut self) -> Result<Vec<Expr>, PErr> {
        let mut args = Vec::new();
        loop {
            if matches!(self.peek(), Tok::KwKey(_)) {
                args.push(self.keyword_list(false)?);
                break;
            }
            args.push(self.parse_expr()?);
            if self.at_op(Op::Comma) {
                self.bump();
                self.skip_nl();
            } else {
                break;
            }
        }
        Ok(args)
    }

    /// `a: 1, b: 2` as a keyword list expression.
    fn keyword_list(&mut self, in_brackets: bool) -> Result<Expr, PErr> {
        let start = self.tok().span;
        let mut items = Vec::new();
        loop {
            let t = self.tok();
            let Tok::KwKey(k) = &t.tok else {
                return Err(self.unexpected("a keyword such as name:"));
            };
            self.bump();
            self.skip_nl();
            let v = self.parse_expr()?;
            let span = t.span.to(v.span);
            let key = Expr::new(ExprKind::Atom(k.clone()), t.span);
            items.push(Expr::new(ExprKind::Tuple(vec![key, v]), span));
            if in_brackets {
                self.skip_nl();
            }
            let mut i = self.pos + 1;
            while matches!(
                self.toks.get(i).map(|t| &t.tok),
                Some(Tok::Eol { semi: false })
            ) {
                i += 1;
            }
            if self.at_op(Op::Comma)
                && matches!(self.toks.get(i).map(|t| &t.tok), Some(Tok::KwKey(_)))
            {
                self.bump();
                self.skip_nl();
                continue;
            }
            break;
        }
        let end = items.last().map_or(start, |e| e.span);
        Ok(Expr::new(
            ExprKind::List { items, tail: None },
            start.to(end),
        ))
    }

    /// `(args)` of a call; the cursor is on `(`. Returns the args and the span of `)`.
    fn paren_args(&mut self) -> Result<(Vec<Expr>, Span), PErr> {
        self.bump();
        self.skip_nl();
        let mut args = Vec::new();
        loop {
            if let Some(end) = self.eat_op(Op::RParen) {
                return Ok((args, end));
            }
            if matches!(self.peek(), Tok::KwKey(_)) {
                args.push(self.keyword_list(true)?);
                self.skip_nl();
                if self.eat_op(Op::Comma).is_some() {
                    self.skip_nl();
                    if !self.at_op(Op::RParen) {
                        return Err(PErr::new(
                            self.tok().span,
                            "keyword arguments must come last",
                        ));
                    }
                }
                let end = self.expect_op(Op::RParen, "\")\"")?;
                return Ok((args, end));
            }
            args.push(self.parse_expr()?);
            self.skip_nl();
            if self.eat_op(Op::Comma).is_some() {
                self.skip_nl();
                continue;
            }
            let end = self.expect_op(Op::RParen, "\",\" or \")\"")?;
            return Ok((args, end));
        }
    }

    fn parse_primary(&mut self) -> Result<Expr, PErr> {
        let t = self.tok();
        let span = t.span;
        let lit = |p: &mut Self, kind| {
            p.bump();
            Ok(Expr::new(kind, span))
        };
        match &t.tok {
            Tok::Int(i) => lit(self, ExprKind::Int(*i)),
            Tok::Float(f) => lit(self, ExprKind::Float(*f)),
            Tok::Atom(a) => lit(self, ExprKind::Atom(a.clone())),
            Tok::Date(d) => lit(self, ExprKind::Date(*d)),
            Tok::Pid(p) => lit(self, ExprKind::Pid(*p)),
            Tok::Kw(Kw::True) => lit(self, ExprKind::Atom("true".into())),
            Tok::Kw(Kw::False) => lit(self, ExprKind::Atom("false".into())),
            Tok::Kw(Kw::Nil) => lit(self, ExprKind::Atom("nil".into())),
            Tok::Alias(a) => lit(self, ExprKind::Alias(vec![a.clone()])),
            Tok::StrStart => self.string(),
            Tok::Op(Op::LParen) => self.group(),
            Tok::Op(Op::LBracket) => self.list(),
            Tok::Op(Op::LBrace) => self.tuple(),
            Tok::Op(Op::PercentBrace) => self.map(),
            Tok::Op(Op::Percent) => Err(PErr::new(span, "structs (%Name{…}) are not supported")),
            Tok::Kw(Kw::Fn) => self.parse_fn(),
            Tok::Ident(name) => self.ident_expr(name, span),
            Tok::KwKey(k) => Err(PErr::new(
                span,
                format!("unexpected keyword {}", inspect_str(&format!("{k}:"))),
            )
            .with_hint("keyword lists are written in brackets: [a: 1]")),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn ident_expr(&mut self, name: &str, span: Span) -> Result<Expr, PErr> {
        let next = self.peek_n(1);
        let glued_paren = next.tok == Tok::Op(Op::LParen) && !next.space_before;
        match name {
            "if" if !glued_paren => return self.parse_if(false),
            "unless" if !glued_paren => return self.parse_if(true),
            "case" if !glued_paren => return self.parse_case(),
            "for" if !glued_paren => return self.parse_for(),
            "receive" if !glued_paren => return self.parse_receive(),
            "alias" if matches!(next.tok, Tok::Alias(_)) => return self.parse_alias(),
            "cond" | "try" | "with" | "quote" | "unquote" | "defmodule" | "def" | "defp"
            | "defmacro" | "import" | "require" | "use"
                if next.space_before
                    && !matches!(next.tok, Tok::Eol { .. } | Tok::Eof | Tok::Op(Op::Match)) =>
            {
                return Err(PErr::new(
                    span,
                    format!("{} is not supported in the shell", inspect_str(name)),
                ));
            }
            _ => {}
        }
        self.bump();
        if glued_paren {
            let (args, end) = self.paren_args()?;
            return Ok(Expr::new(
                ExprKind::LocalCall {
                    name: name.to_string(),
                    args,
                    parens: true,
                },
                span.to(end),
            ));
        }
        if self.starts_no_paren_arg() {
            let args = self.no_paren_args()?;
            let end = args.last().map_or(span, |a| a.span);
            return Ok(Expr::new(
                ExprKind::LocalCall {
                    name: name.to_string(),
                    args,
                    parens: false,
                },
                span.to(end),
            ));
        }
        Ok(Expr::new(ExprKind::Var(name.to_string()), span))
    }

    fn string(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let mut parts = Vec::new();
        loop {
            let t = self.tok();
            match &t.tok {
                Tok::StrLit(s) => {
                    self.bump();
                    parts.push(StrPart::Lit(s.clone()));
                }
                Tok::InterpOpen => {
                    self.bump();
                    let e = self.parse_block(BlockCtx::Interp)?;
                    if !matches!(self.peek(), Tok::InterpClose) {
                        return Err(self.unexpected("\"}\" to close the interpolation"));
                    }
                    self.bump();
                    parts.push(StrPart::Interp(e));
                }
                Tok::StrEnd => {
                    self.bump();
                    return Ok(Expr::new(ExprKind::Str(parts), start.to(t.span)));
                }
                _ => return Err(self.unexpected("the end of the string")),
            }
        }
    }

    fn group(&mut self) -> Result<Expr, PErr> {
        let open = self.bump().span;
        self.skip_eols();
        if let Some(end) = self.eat_op(Op::RParen) {
            return Ok(Expr::new(ExprKind::Atom("nil".into()), open.to(end)));
        }
        let inner = self.parse_block(BlockCtx::Paren)?;
        let end = self.expect_op(Op::RParen, "\")\"")?;
        Ok(Expr {
            span: open.to(end),
            ..inner
        })
    }

    fn list(&mut self) -> Result<Expr, PErr> {
        let open = self.bump().span;
        let mut items = Vec::new();
        self.skip_nl();
        loop {
            if let Some(end) = self.eat_op(Op::RBracket) {
                return Ok(Expr::new(
                    ExprKind::List { items, tail: None },
                    open.to(end),
                ));
            }
            if matches!(self.peek(), Tok::KwKey(_)) {
                if let ExprKind::List { items: kw, .. } = self.keyword_list(true)?.kind {
                    items.extend(kw);
                }
                self.skip_nl();
                if self.eat_op(Op::Comma).is_some() {
                    self.skip_nl();
                }
                let end = self.expect_op(Op::RBracket, "\"]\"")?;
                return Ok(Expr::new(
                    ExprKind::List { items, tail: None },
                    open.to(end),
                ));
            }
            items.push(self.parse_expr()?);
            self.skip_nl();
            if self.eat_op(Op::Bar).is_some() {
                self.skip_nl();
                let tail = self.parse_expr()?;
                self.skip_nl();
                let end = self.expect_op(Op::RBracket, "\"]\"")?;
                return Ok(Expr::new(
                    ExprKind::List {
                        items,
                        tail: Some(Box::new(tail)),
                    },
                    open.to(end),
                ));
            }
            if self.eat_op(Op::Comma).is_some() {
                self.skip_nl();
                continue;
            }
            let end = self.expect_op(Op::RBracket, "\",\" or \"]\"")?;
            return Ok(Expr::new(
                ExprKind::List { items, tail: None },
                open.to(end),
            ));
        }
    }

    fn tuple(&mut self) -> Result<Expr, PErr> {
        let open = self.bump().span;
        let mut items = Vec::new();
        self.skip_nl();
        loop {
            if let Some(end) = self.eat_op(Op::RBrace) {
                return Ok(Expr::new(ExprKind::Tuple(items), open.to(end)));
            }
            if matches!(self.peek(), Tok::KwKey(_)) {
                items.push(self.keyword_list(true)?);
                self.skip_nl();
                if self.eat_op(Op::Comma).is_some() {
                    self.skip_nl();
                }
                let end = self.expect_op(Op::RBrace, "\"}\"")?;
                return Ok(Expr::new(ExprKind::Tuple(items), open.to(end)));
            }
            items.push(self.parse_expr()?);
            self.skip_nl();
            if self.eat_op(Op::Comma).is_some() {
                self.skip_nl();
                continue;
            }
            let end = self.expect_op(Op::RBrace, "\",\" or \"}\"")?;
            return Ok(Expr::new(ExprKind::Tuple(items), open.to(end)));
        }
    }

    fn map(&mut self) -> Result<Expr, PErr> {
        let open = self.bump().span;
        self.skip_nl();
        let mut pairs = Vec::new();
        if !matches!(self.peek(), Tok::KwKey(_)) && !self.at_op(Op::RBrace) {
            let first = self.parse_expr()?;
            self.skip_nl();
            if self.eat_op(Op::Bar).is_some() {
                self.skip_nl();
                let pairs = self.map_pairs()?;
                let end = self.expect_op(Op::RBrace, "\"}\"")?;
                return Ok(Expr::new(
                    ExprKind::MapUpdate {
                        base: Box::new(first),
                        pairs,
                    },
                    open.to(end),
                ));
            }
            self.expect_op(Op::FatArrow, "\"=>\" or \"|\"")?;
            self.skip_nl();
            let v = self.parse_expr()?;
            pairs.push((first, v));
            self.skip_nl();
            if self.eat_op(Op::Comma).is_none() {
                let end = self.expect_op(Op::RBrace, "\",\" or \"}\"")?;
                return Ok(Expr::new(ExprKind::Map(pairs), open.to(end)));
            }
            self.skip_nl();
        }
        pairs.extend(self.map_pairs()?);
        let end = self.expect_op(Op::RBrace, "\",\" or \"}\"")?;
        Ok(Expr::new(ExprKind::Map(pairs), open.to(end)))
    }

    fn map_pairs(&mut self) -> Result<Vec<(Expr, Expr)>, PErr> {
        let mut pairs = Vec::new();
        loop {
            if self.at_op(Op::RBrace) {
                break;
            }
            let t = self.tok();
            if let Tok::KwKey(k) = &t.tok {
                self.bump();
                self.skip_nl();
                let v = self.parse_expr()?;
                pairs.push((Expr::new(ExprKind::Atom(k.clone()), t.span), v));
            } else {
                let k = self.parse_expr()?;
                self.skip_nl();
                self.expect_op(Op::FatArrow, "\"=>\"")?;
                self.skip_nl();
                let v = self.parse_expr()?;
                pairs.push((k, v));
            }
            self.skip_nl();
            if self.eat_op(Op::Comma).is_none() {
                break;
            }
            self.skip_nl();
        }
        Ok(pairs)
    }

    fn at_block_end(&self, ctx: BlockCtx) -> bool {
        matches!(
            (ctx, self.peek()),
            (_, Tok::Eof)
                | (BlockCtx::Paren, Tok::Op(Op::RParen))
                | (
                    BlockCtx::DoEnd | BlockCtx::Clause,
                    Tok::Kw(Kw::End | Kw::Else | Kw::After | Kw::Rescue | Kw::Catch),
                )
                | (BlockCtx::Interp, Tok::InterpClose)
        )
    }

    /// Expressions separated by newlines or `;`, up to the end of the context.
    fn parse_block(&mut self, ctx: BlockCtx) -> Result<Expr, PErr> {
        let start = self.tok().span;
        let mut items = Vec::new();
        loop {
            self.skip_eols();
            if self.at_block_end(ctx) {
                break;
            }
            if ctx == BlockCtx::Clause && self.line_has_arrow() {
                break;
            }
            items.push(self.parse_expr()?);
            if matches!(self.peek(), Tok::Eol { .. }) {
                continue;
            }
            if self.at_block_end(ctx) {
                break;
            }
            let expected = match ctx {
                BlockCtx::Top => "an operator, a newline or \";\"",
                BlockCtx::Paren => "\")\"",
                BlockCtx::DoEnd => "\"end\"",
                BlockCtx::Clause => "\"end\" or a newline",
                BlockCtx::Interp => "\"}\"",
            };
            return Err(self.unexpected(expected));
        }
        Ok(block_of(items, start))
    }

    /// Whether the line starting at the cursor holds a `->` at its own level: the head of the
    /// next clause of a `fn`, `case` or `receive`.
    fn line_has_arrow(&self) -> bool {
        let mut depth = 0usize;
        for t in self.toks.iter().skip(self.pos) {
            match &t.tok {
                Tok::Op(Op::LParen | Op::LBracket | Op::LBrace | Op::PercentBrace)
                | Tok::Kw(Kw::Fn | Kw::Do)
                | Tok::StrStart
                | Tok::InterpOpen => depth += 1,
                Tok::Op(Op::RParen | Op::RBracket | Op::RBrace)
                | Tok::Kw(Kw::End)
                | Tok::StrEnd
                | Tok::InterpClose => {
                    if depth == 0 {
                        return false;
                    }
                    depth -= 1;
                }
                Tok::Op(Op::Arrow) if depth == 0 => return true,
                Tok::Eol { .. } | Tok::Kw(Kw::Else | Kw::After) if depth == 0 => return false,
                Tok::Eof => return false,
                _ => {}
            }
        }
        false
    }

    /// `(a, b) -> …` in a `fn` head: the parenthesised parameter list form.
    fn paren_params_ahead(&self) -> bool {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(self.pos) {
            match &t.tok {
                Tok::Op(Op::LParen | Op::LBracket | Op::LBrace | Op::PercentBrace) => depth += 1,
                Tok::Op(Op::RParen | Op::RBracket | Op::RBrace) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return matches!(
                            self.toks.get(i + 1).map(|t| &t.tok),
                            Some(Tok::Op(Op::Arrow) | Tok::Kw(Kw::When))
                        );
                    }
                }
                Tok::Eof => return false,
                _ => {}
            }
        }
        false
    }

    fn clauses(&mut self, kind: ClauseKind) -> Result<Vec<Clause>, PErr> {
        let mut out: Vec<Clause> = Vec::new();
        loop {
            self.skip_eols();
            match self.peek() {
                Tok::Kw(Kw::End) | Tok::Eof => break,
                Tok::Kw(Kw::After) if kind == ClauseKind::Receive => break,
                _ => {}
            }
            let start = self.tok().span;
            let params = self.clause_head(kind)?;
            let guard = if self.at_kw(Kw::When) {
                self.bump();
                self.skip_nl();
                Some(self.parse_expr()?)
            } else {
                None
            };
            self.expect_op(Op::Arrow, "\"->\"")?;
            let body = self.parse_block(BlockCtx::Clause)?;
            if kind == ClauseKind::Fn
                && let Some(first) = out.first()
                && first.params.len() != params.len()
            {
                return Err(PErr::new(
                    start,
                    "all clauses of fn must take the same number of arguments",
                ));
            }
            out.push(Clause {
                params,
                guard,
                span: start.to(body.span),
                body,
            });
        }
        if out.is_empty() && kind != ClauseKind::Receive {
            return Err(self.unexpected("a clause: pattern -> expression"));
        }
        Ok(out)
    }

    fn clause_head(&mut self, kind: ClauseKind) -> Result<Vec<Expr>, PErr> {
        if kind == ClauseKind::Fn && self.at_op(Op::Arrow) {
            return Ok(Vec::new());
        }
        let params =
            if kind == ClauseKind::Fn && self.at_op(Op::LParen) && self.paren_params_ahead() {
                self.paren_args()?.0
            } else {
                let mut params = vec![self.parse_expr()?];
                while self.at_op(Op::Comma) {
                    self.bump();
                    self.skip_nl();
                    params.push(self.parse_expr()?);
                }
                params
            };
        if kind != ClauseKind::Fn && params.len() != 1 {
            return Err(PErr::new(
                params[1].span,
                "a case or receive clause takes exactly one pattern",
            ));
        }
        params.iter().try_for_each(validate_pattern)?;
        Ok(params)
    }

    fn parse_fn(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let clauses = self.clauses(ClauseKind::Fn)?;
        let end = self.expect_kw(Kw::End, "\"end\" to close the fn")?;
        Ok(Expr::new(ExprKind::Fn(clauses), start.to(end)))
    }

    fn parse_case(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let subject = self.parse_expr()?;
        self.expect_kw(Kw::Do, "\"do\"")?;
        let clauses = self.clauses(ClauseKind::Case)?;
        let end = self.expect_kw(Kw::End, "\"end\" to close the case")?;
        Ok(Expr::new(
            ExprKind::Case {
                subject: Box::new(subject),
                clauses,
            },
            start.to(end),
        ))
    }

    fn parse_receive(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        self.expect_kw(Kw::Do, "\"do\"")?;
        let clauses = self.clauses(ClauseKind::Receive)?;
        let after = if self.at_kw(Kw::After) {
            self.bump();
            self.skip_eols();
            let timeout = self.parse_expr()?;
            self.expect_op(Op::Arrow, "\"->\"")?;
            let body = self.parse_block(BlockCtx::Clause)?;
            Some((Box::new(timeout), Box::new(body)))
        } else {
            None
        };
        if clauses.is_empty() && after.is_none() {
            return Err(self.unexpected("a clause: pattern -> expression"));
        }
        let end = self.expect_kw(Kw::End, "\"end\" to close the receive")?;
        Ok(Expr::new(
            ExprKind::Receive { clauses, after },
            start.to(end),
        ))
    }

    /// `if`/`unless` with a do-block or `, do: …, else: …`. `unless c` is read as `if !c`.
    fn parse_if(&mut self, negate: bool) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let mut cond = self.parse_expr()?;
        if negate {
            let span = cond.span;
            cond = Expr::new(ExprKind::Unary(UnOp::Bang, Box::new(cond)), span);
        }
        let (then, otherwise, end) = if self.at_kw(Kw::Do) {
            self.bump();
            let then = self.parse_block(BlockCtx::DoEnd)?;
            let otherwise = if self.at_kw(Kw::Else) {
                self.bump();
                Some(self.parse_block(BlockCtx::DoEnd)?)
            } else {
                None
            };
            let end = self.expect_kw(Kw::End, "\"end\" to close the if")?;
            (then, otherwise, end)
        } else if self.at_op(Op::Comma) {
            self.bump();
            self.skip_nl();
            if !self.at_key("do") {
                return Err(self.unexpected("do:"));
            }
            self.bump();
            self.skip_nl();
            let then = self.parse_expr()?;
            let mut end = then.span;
            let mut otherwise = None;
            if self.at_op(Op::Comma) && matches!(&self.peek_n(1).tok, Tok::KwKey(k) if k == "else")
            {
                self.bump();
                self.bump();
                self.skip_nl();
                let e = self.parse_expr()?;
                end = e.span;
                otherwise = Some(e);
            }
            (then, otherwise, end)
        } else {
            return Err(self.unexpected("\"do\" or \", do:\""));
        };
        Ok(Expr::new(
            ExprKind::If {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: otherwise.map(Box::new),
            },
            start.to(end),
        ))
    }

    fn parse_for(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let mut qualifiers = Vec::new();
        let (body, end) = loop {
            let t = self.tok();
            match &t.tok {
                Tok::KwKey(k) if k == "do" => {
                    self.bump();
                    self.skip_nl();
                    let body = self.parse_expr()?;
                    let end = body.span;
                    break (body, end);
                }
                Tok::KwKey(k) => {
                    return Err(PErr::new(
                        t.span,
                        format!("the for option {}: is not supported", k),
                    ));
                }
                Tok::Kw(Kw::Do) => {
                    self.bump();
                    let body = self.parse_block(BlockCtx::DoEnd)?;
                    let end = self.expect_kw(Kw::End, "\"end\" to close the for")?;
                    break (body, end);
                }
                _ => {}
            }
            let e = self.parse_expr()?;
            if self.eat_op(Op::LeftArrow).is_some() {
                self.skip_nl();
                validate_pattern(&e)?;
                let source = self.parse_expr()?;
                qualifiers.push(Qualifier::Generator { pattern: e, source });
            } else if qualifiers.is_empty() {
                return Err(PErr::new(
                    e.span,
                    "a for comprehension starts with a generator: x <- list",
                ));
            } else {
                qualifiers.push(Qualifier::Filter(e));
            }
            if self.eat_op(Op::Comma).is_some() {
                self.skip_nl();
                continue;
            }
            if !self.at_kw(Kw::Do) {
                return Err(self.unexpected("\",\" or \"do\""));
            }
        };
        Ok(Expr::new(
            ExprKind::For {
                qualifiers,
                body: Box::new(body),
            },
            start.to(end),
        ))
    }

    /// `alias Todo.Cache`, `alias Todo.{Cache, Supervisor}`, `alias Todo.Cache, as: C`.
    fn parse_alias(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let mut base = Vec::new();
        let mut span = start;
        let mut entries = Vec::new();
        if let Tok::Alias(a) = self.peek() {
            span = span.to(self.bump().span);
            base.push(a.clone());
        }
        loop {
            if !self.at_op(Op::Dot) {
                entries.push(AliasEntry {
                    as_name: base.last().cloned().unwrap_or_default(),
                    module: base.clone(),
                    span,
                });
                break;
            }
            match &self.peek_n(1).tok {
                Tok::Alias(a) => {
                    self.bump();
                    span = span.to(self.bump().span);
                    base.push(a.clone());
                }
                Tok::Op(Op::LBrace) => {
                    self.bump();
                    self.bump();
                    self.skip_nl();
                    loop {
                        let mut module = base.clone();
                        let Tok::Alias(first) = self.peek() else {
                            return Err(self.unexpected("an alias"));
                        };
                        let mut espan = self.bump().span;
                        module.push(first.clone());
                        while self.at_op(Op::Dot) {
                            self.bump();
                            let Tok::Alias(seg) = self.peek() else {
                                return Err(self.unexpected("an alias"));
                            };
                            module.push(seg.clone());
                            espan = espan.to(self.bump().span);
                        }
                        entries.push(AliasEntry {
                            as_name: module.last().cloned().unwrap_or_default(),
                            module,
                            span: espan,
                        });
                        self.skip_nl();
                        if self.eat_op(Op::Comma).is_some() {
                            self.skip_nl();
                            continue;
                        }
                        span = span.to(self.expect_op(Op::RBrace, "\",\" or \"}\"")?);
                        break;
                    }
                    break;
                }
                _ => return Err(self.unexpected("an alias after \".\"")),
            }
        }
        if self.at_op(Op::Comma) && matches!(&self.peek_n(1).tok, Tok::KwKey(k) if k == "as") {
            self.bump();
            self.bump();
            let t = self.tok();
            let Tok::Alias(name) = &t.tok else {
                return Err(self.unexpected("an alias after as:"));
            };
            if entries.len() != 1 {
                return Err(PErr::new(t.span, "as: needs a single alias"));
            }
            self.bump();
            entries[0].as_name = name.clone();
            span = span.to(t.span);
        }
        Ok(Expr::new(ExprKind::AliasDirective(entries), span))
    }
}

#[cfg(test)]
mod tests;
