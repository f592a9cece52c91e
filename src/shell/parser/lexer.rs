//! The tokenizer of the shell's Elixir subset, and the O(n) nesting pre-scan that refuses
//! input nested deeper than `MAX_NESTING` before any syntax tree exists (the hostile-input
//! rules of tests/README.md).
//!
//! It is a loop over the input with an explicit stack of open frames (brackets, `fn`/`do` … `end`,
//! strings and `#{…}` interpolations), never a recursion, so no input can overflow the stack
//! here. The frame stack doubles as the nesting pre-scan: the 257th open frame is an error at once,
//! before any syntax tree exists, and a closer that does not match its opener is an error too.
//! Frames still open at the end of the input mean the input is incomplete (a continuation prompt).
//!
//! Offsets: the lexer walks `&str` with nom parsers that only ever return suffixes of their input,
//! so every position is a char boundary; every slice goes through `str::get`, which cannot panic.
//! Spans are counted in chars.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1, hex_digit1, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::{IResult, Parser};

use super::{ErrorKind, MAX_NESTING, PErr};
use crate::runtime::term::inspect_str;
use crate::runtime::{Date, Pid};
use crate::shell::ast::Span;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    /// `:ok`, `:"quoted"`: the text without the colon.
    Atom(String),
    /// `foo`, `alive?`, `_x`.
    Ident(String),
    /// One segment of an alias: `Todo`.
    Alias(String),
    /// `date:` in a keyword list.
    KwKey(String),
    StrStart,
    StrLit(String),
    InterpOpen,
    InterpClose,
    StrEnd,
    Date(Date),
    Pid(Pid),
    Kw(Kw),
    Op(Op),
    /// A newline, or `;` when `semi`.
    Eol {
        semi: bool,
    },
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    True,
    False,
    Nil,
    Fn,
    Do,
    End,
    Else,
    After,
    When,
    And,
    Or,
    Not,
    In,
    Catch,
    Rescue,
}

impl Kw {
    pub(crate) fn from_word(w: &str) -> Option<Kw> {
        Some(match w {
            "true" => Kw::True,
            "false" => Kw::False,
            "nil" => Kw::Nil,
            "fn" => Kw::Fn,
            "do" => Kw::Do,
            "end" => Kw::End,
            "else" => Kw::Else,
            "after" => Kw::After,
            "when" => Kw::When,
            "and" => Kw::And,
            "or" => Kw::Or,
            "not" => Kw::Not,
            "in" => Kw::In,
            "catch" => Kw::Catch,
            "rescue" => Kw::Rescue,
            _ => return None,
        })
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Kw::True => "true",
            Kw::False => "false",
            Kw::Nil => "nil",
            Kw::Fn => "fn",
            Kw::Do => "do",
            Kw::End => "end",
            Kw::Else => "else",
            Kw::After => "after",
            Kw::When => "when",
            Kw::And => "and",
            Kw::Or => "or",
            Kw::Not => "not",
            Kw::In => "in",
            Kw::Catch => "catch",
            Kw::Rescue => "rescue",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// `%{`
    PercentBrace,
    /// `%` not followed by `{` (a struct, unsupported)
    Percent,
    Comma,
    Dot,
    /// `->`
    Arrow,
    /// `=>`
    FatArrow,
    /// `<-`
    LeftArrow,
    /// `|`
    Bar,
    /// `|>`
    Pipe,
    /// `=`
    Match,
    Eq,
    Ne,
    StrictEq,
    StrictNe,
    Lt,
    Gt,
    Le,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    /// `<>`
    Concat,
    /// `++`
    PlusPlus,
    /// `--`
    MinusMinus,
    /// `..`
    Range,
    AndAnd,
    OrOr,
    Bang,
    Caret,
    Amp,
    At,
    DoubleColon,
    /// `\\`
    Backslashes,
}

/// Operators, longest first; `None` marks Elixir operators the shell does not support.
const OPERATORS: &[(&str, Option<Op>)] = &[
    ("===", Some(Op::StrictEq)),
    ("!==", Some(Op::StrictNe)),
    ("...", None),
    ("<<<", None),
    (">>>", None),
    ("|||", None),
    ("&&&", None),
    ("~~~", None),
    ("^^^", None),
    ("<~>", None),
    ("<<~", None),
    ("~>>", None),
    ("<|>", None),
    ("==", Some(Op::Eq)),
    ("!=", Some(Op::Ne)),
    ("<=", Some(Op::Le)),
    (">=", Some(Op::Ge)),
    ("->", Some(Op::Arrow)),
    ("=>", Some(Op::FatArrow)),
    ("<-", Some(Op::LeftArrow)),
    ("<>", Some(Op::Concat)),
    ("++", Some(Op::PlusPlus)),
    ("--", Some(Op::MinusMinus)),
    ("..", Some(Op::Range)),
    ("&&", Some(Op::AndAnd)),
    ("||", Some(Op::OrOr)),
    ("|>", Some(Op::Pipe)),
    ("::", Some(Op::DoubleColon)),
    ("\\\\", Some(Op::Backslashes)),
    ("=~", None),
    ("**", None),
    ("<<", None),
    (">>", None),
    ("//", None),
    ("~>", None),
    ("<~", None),
    ("(", Some(Op::LParen)),
    (")", Some(Op::RParen)),
    ("[", Some(Op::LBracket)),
    ("]", Some(Op::RBracket)),
    (",", Some(Op::Comma)),
    (".", Some(Op::Dot)),
    ("=", Some(Op::Match)),
    ("<", Some(Op::Lt)),
    (">", Some(Op::Gt)),
    ("+", Some(Op::Plus)),
    ("-", Some(Op::Minus)),
    ("*", Some(Op::Star)),
    ("/", Some(Op::Slash)),
    ("|", Some(Op::Bar)),
    ("!", Some(Op::Bang)),
    ("^", Some(Op::Caret)),
    ("&", Some(Op::Amp)),
    ("@", Some(Op::At)),
];

impl Op {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Op::LBrace => "{",
            Op::RBrace => "}",
            Op::PercentBrace => "%{",
            Op::Percent => "%",
            _ => OPERATORS
                .iter()
                .find(|(_, op)| *op == Some(self))
                .map(|(t, _)| *t)
                .unwrap_or("?"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
    /// Whether blank space (or the start of the input) comes right before the token: it tells
    /// `f (x)` and `a -1` (calls) from `f(x)` and `a - 1`.
    pub space_before: bool,
}

/// Something opened and not yet closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    Paren,
    Bracket,
    Brace,
    Fn,
    Do,
    Str,
    Interp,
    /// An unterminated `~D[…`.
    Sigil,
}

impl Frame {
    fn opener(self) -> &'static str {
        match self {
            Frame::Paren => "(",
            Frame::Bracket => "[",
            Frame::Brace => "{",
            Frame::Fn => "fn",
            Frame::Do => "do",
            Frame::Str => "\"",
            Frame::Interp => "#{",
            Frame::Sigil => "~D",
        }
    }
    pub(crate) fn closer(self) -> &'static str {
        match self {
            Frame::Paren => ")",
            Frame::Bracket => "]",
            Frame::Brace | Frame::Interp => "}",
            Frame::Fn | Frame::Do => "end",
            Frame::Str => "\"",
            Frame::Sigil => "]",
        }
    }
}

pub(crate) struct Lexed {
    pub toks: Vec<Token>,
    /// Frames left open at the end: non-empty means the input is incomplete.
    pub open: Vec<(Frame, Span)>,
    /// Bytes consumed (all of them unless lexing stopped at a balanced term).
    pub end_byte: usize,
}

impl Lexed {
    /// The error for input that ends inside a frame.
    pub(crate) fn missing_error(&self) -> Option<PErr> {
        let (frame, span) = self.open.last()?;
        let end = self.toks.last().map(|t| t.span.end).unwrap_or(span.end);
        Some(PErr {
            span: Span::new(end, end),
            message: format!(
                "missing terminator: {} (for {} starting at column {})",
                frame.closer(),
                inspect_str(frame.opener()),
                span.start + 1
            ),
            hint: None,
            kind: ErrorKind::TokenMissing,
        })
    }
}

type R<'a, T> = IResult<&'a str, T>;

fn is_ident_start(c: char) -> bool {
    c == '_' || (c.is_alphabetic() && !c.is_uppercase())
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `foo`, `alive?`, `store!` (a `?`/`!` is not taken when `=` follows: `a!=b`).
pub(crate) fn ident(i: &str) -> R<'_, &str> {
    let (rest, base) =
        recognize((satisfy(is_ident_start), take_while(is_ident_continue))).parse(i)?;
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some('?' | '!'), next) if next != Some('=') => {
            let len = base.len() + 1;
            Ok((rest.get(1..).unwrap_or(""), i.get(..len).unwrap_or(base)))
        }
        _ => Ok((rest, base)),
    }
}

/// One alias segment: `Todo`.
pub(crate) fn alias_segment(i: &str) -> R<'_, &str> {
    recognize((
        satisfy(|c| c.is_ascii_uppercase()),
        take_while(is_ident_continue),
    ))
    .parse(i)
}

/// Digits with single `_` separators between them: `100_000`.
pub(crate) fn dec_digits(i: &str) -> R<'_, &str> {
    recognize((digit1, many0((char('_'), digit1)))).parse(i)
}

/// A decimal float `1.5`, `1.0e-3` (a digit must follow the dot, so `1..2` is a range).
pub(crate) fn float_text(i: &str) -> R<'_, &str> {
    recognize((
        dec_digits,
        char('.'),
        dec_digits,
        opt((one_of("eE"), opt(one_of("+-")), digit1)),
    ))
    .parse(i)
}

/// `#PID<0.142.0>` → the three numbers.
pub(crate) fn pid_literal(i: &str) -> R<'_, (&str, &str, &str)> {
    let (i, _) = tag("#PID<").parse(i)?;
    let (i, (a, _, b, _, c, _)) =
        (digit1, char('.'), digit1, char('.'), digit1, char('>')).parse(i)?;
    Ok((i, (a, b, c)))
}

/// Turns the three numbers of a PID literal into a local pid.
pub(crate) fn make_pid(a: &str, b: &str, c: &str) -> Option<Pid> {
    if a.parse::<u64>().ok()? != 0 || c.parse::<u64>().ok()? != 0 {
        return None;
    }
    b.parse::<u64>().ok().map(Pid)
}

fn radix_int(i: &str) -> R<'_, (u32, &str)> {
    alt((
        (
            tag("0x"),
            recognize((hex_digit1, many0((char('_'), hex_digit1)))),
        )
            .map(|(_, d)| (16, d)),
        (tag("0o"), take_while(|c: char| c.is_digit(8) || c == '_')).map(|(_, d)| (8, d)),
        (
            tag("0b"),
            take_while(|c: char| c == '0' || c == '1' || c == '_'),
        )
            .map(|(_, d)| (2, d)),
    ))
    .parse(i)
}

/// Decodes one escape after a backslash; `chars` is positioned after the backslash.
/// Returns `Ok(None)` for a line continuation (backslash-newline).
pub(crate) fn decode_escape(chars: &mut std::str::Chars<'_>) -> Result<Option<char>, String> {
    let Some(c) = chars.next() else {
        return Err("unfinished escape at the end of the input".into());
    };
    Ok(Some(match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'e' => '\u{1b}',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        '0' => '\0',
        's' => ' ',
        '\n' => return Ok(None),
        'x' => {
            let hex: String = chars.clone().take(2).collect();
            let value = (hex.len() == 2)
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
                .ok_or("\\x needs two hex digits")?;
            if value > 0x7f {
                return Err("\\x escapes above \\x7F are not supported; use \\u{…}".into());
            }
            chars.nth(1);
            char::from_u32(value).ok_or("invalid \\x escape")?
        }
        'u' => {
            let rest = chars.as_str();
            let (hex, used) = if let Some(body) = rest.strip_prefix('{') {
                let end = body.find('}').ok_or("\\u{ needs a closing }")?;
                let hex = body.get(..end).unwrap_or("");
                (hex, end + 2)
            } else {
                (rest.get(..4).unwrap_or(""), 4)
            };
            if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err("invalid \\u escape: expected \\uXXXX or \\u{X…}".into());
            }
            let value = u32::from_str_radix(hex, 16).map_err(|_| "invalid \\u escape")?;
            let ch = char::from_u32(value)
                .ok_or_else(|| format!("\\u{{{hex}}} is not a valid code point"))?;
            for _ in 0..used {
                chars.next();
            }
            ch
        }
        other => other,
    }))
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset into `src`, always on a char boundary.
    pos: usize,
    /// Char offset from the start of the whole input (includes the base).
    cpos: usize,
    toks: Vec<Token>,
    frames: Vec<(Frame, Span)>,
    space: bool,
}

/// Tokenizes `src`, whose first char is at char offset `base` of the whole input. With
/// `stop_when_balanced`, stops right after the first complete term (used for the bracketed
/// and quoted arguments of commands).
pub(crate) fn lex(src: &str, base: usize, stop_when_balanced: bool) -> Result<Lexed, PErr> {
    let mut lx = Lexer {
        src,
        pos: 0,
        cpos: base,
        toks: Vec::new(),
        frames: Vec::new(),
        space: true,
    };
    loop {
        if stop_when_balanced && !lx.toks.is_empty() && lx.frames.is_empty() {
            break;
        }
        let more = match lx.frames.last() {
            Some((Frame::Str, _)) => lx.string_body()?,
            _ => lx.code()?,
        };
        if !more {
            break;
        }
    }
    let end = Span::new(lx.cpos, lx.cpos);
    lx.toks.push(Token {
        tok: Tok::Eof,
        span: end,
        space_before: true,
    });
    Ok(Lexed {
        toks: lx.toks,
        open: lx.frames,
        end_byte: lx.pos,
    })
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Moves past `bytes` bytes (a char-boundary length) and returns the span covered.
    fn advance(&mut self, bytes: usize) -> Span {
        let start = self.cpos;
        let chunk = self.src.get(self.pos..self.pos + bytes).unwrap_or("");
        self.cpos += chunk.chars().count();
        self.pos += chunk.len();
        Span::new(start, self.cpos)
    }

    /// The span of the next `bytes` bytes, without moving.
    fn peek_span(&self, bytes: usize) -> Span {
        let chunk = self.src.get(self.pos..self.pos + bytes).unwrap_or("");
        Span::new(self.cpos, self.cpos + chunk.chars().count())
    }

    fn push(&mut self, tok: Tok, span: Span) {
        self.toks.push(Token {
            tok,
            span,
            space_before: self.space,
        });
        self.space = false;
    }

    fn open(&mut self, frame: Frame, span: Span) -> Result<(), PErr> {
        if self.frames.len() >= MAX_NESTING {
            return Err(PErr::new(
                span,
                format!(
                    "nesting too deep: more than {MAX_NESTING} levels of brackets, blocks or strings"
                ),
            ));
        }
        self.frames.push((frame, span));
        Ok(())
    }

    /// Closes the innermost frame, which must be one of `accepted`.
    fn close(&mut self, accepted: &[Frame], text: &str, span: Span) -> Result<Frame, PErr> {
        match self.frames.last() {
            Some((f, _)) if accepted.contains(f) => {
                let f = *f;
                self.frames.pop();
                Ok(f)
            }
            Some((f, open_span)) => Err(PErr::new(
                span,
                format!("unexpected token {}", inspect_str(text)),
            )
            .with_hint(format!(
                "the {} at column {} is still open: expected {}",
                inspect_str(f.opener()),
                open_span.start + 1,
                inspect_str(f.closer())
            ))),
            None => Err(PErr::new(
                span,
                format!("unexpected token {}", inspect_str(text)),
            )),
        }
    }

    fn error_char(&self, c: char) -> PErr {
        let span = self.peek_span(c.len_utf8());
        let shown = inspect_str(&c.to_string());
        let hint = match c {
            '\'' => Some("single-quoted charlists are not supported: use a \"string\"".to_string()),
            '$' | '`' => None,
            c if c.is_uppercase() => Some("aliases start with an ASCII capital letter".to_string()),
            _ => None,
        };
        let err = PErr::new(span, format!("unexpected character {shown}"));
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }

    /// Lexes one token (or blank space / a comment) in code. `false` at the end of the input.
    fn code(&mut self) -> Result<bool, PErr> {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(false);
        };
        match c {
            '\n' => {
                let span = self.advance(1);
                self.push(Tok::Eol { semi: false }, span);
                self.space = true;
            }
            ';' => {
                let span = self.advance(1);
                self.push(Tok::Eol { semi: true }, span);
                self.space = true;
            }
            c if c.is_whitespace() => {
                let n = rest
                    .find(|c: char| c == '\n' || !c.is_whitespace())
                    .unwrap_or(rest.len());
                self.advance(n);
                self.space = true;
            }
            '#' => {
                if rest.starts_with("#PID<") {
                    self.pid()?;
                } else {
                    let n = rest.find('\n').unwrap_or(rest.len());
                    self.advance(n);
                    self.space = true;
                }
            }
            '"' => {
                if rest.starts_with("\"\"\"") {
                    return Err(PErr::new(
                        self.peek_span(3),
                        "heredocs (\"\"\") are not supported",
                    ));
                }
                let span = self.advance(1);
                self.open(Frame::Str, span)?;
                self.push(Tok::StrStart, span);
            }
            '~' => self.sigil()?,
            '?' => self.char_literal()?,
            ':' => self.colon()?,
            '0'..='9' => self.number()?,
            '{' => {
                let span = self.advance(1);
                self.open(Frame::Brace, span)?;
                self.push(Tok::Op(Op::LBrace), span);
            }
            '}' => {
                let span = self.peek_span(1);
                let f = self.close(&[Frame::Brace, Frame::Interp], "}", span)?;
                self.advance(1);
                let tok = if f == Frame::Interp {
                    Tok::InterpClose
                } else {
                    Tok::Op(Op::RBrace)
                };
                self.push(tok, span);
            }
            '%' => {
                if rest.starts_with("%{") {
                    let span = self.advance(2);
                    self.open(Frame::Brace, span)?;
                    self.push(Tok::Op(Op::PercentBrace), span);
                } else {
                    let span = self.advance(1);
                    self.push(Tok::Op(Op::Percent), span);
                }
            }
            c if is_ident_start(c) || c.is_ascii_uppercase() => self.word()?,
            _ => self.operator(c)?,
        }
        Ok(true)
    }

    fn operator(&mut self, c: char) -> Result<(), PErr> {
        let rest = self.rest();
        let Some((text, op)) = OPERATORS.iter().find(|(t, _)| rest.starts_with(t)) else {
            return Err(self.error_char(c));
        };
        let Some(op) = op else {
            return Err(PErr::new(
                self.peek_span(text.len()),
                format!("the operator {text} is not supported in the shell"),
            ));
        };
        let span = self.peek_span(text.len());
        match op {
            Op::LParen => self.open(Frame::Paren, span)?,
            Op::LBracket => self.open(Frame::Bracket, span)?,
            Op::RParen => {
                self.close(&[Frame::Paren], text, span)?;
            }
            Op::RBracket => {
                self.close(&[Frame::Bracket], text, span)?;
            }
            _ => {}
        }
        self.advance(text.len());
        self.push(Tok::Op(*op), span);
        Ok(())
    }

    fn word(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let (after, word, is_alias) = match ident(rest) {
            Ok((after, w)) => (after, w, false),
            Err(_) => match alias_segment(rest) {
                Ok((after, w)) => (after, w, true),
                Err(_) => return Err(self.error_char(rest.chars().next().unwrap_or('?'))),
            },
        };
        // `key:` (but not `key::`) is a keyword key.
        if after.starts_with(':') && !after.starts_with("::") {
            let span = self.advance(word.len() + 1);
            self.push(Tok::KwKey(word.to_string()), span);
            return Ok(());
        }
        let span = self.advance(word.len());
        if is_alias {
            self.push(Tok::Alias(word.to_string()), span);
            return Ok(());
        }
        match Kw::from_word(word) {
            Some(kw) => {
                match kw {
                    Kw::Fn => self.open(Frame::Fn, span)?,
                    Kw::Do => self.open(Frame::Do, span)?,
                    Kw::End => {
                        self.close(&[Frame::Fn, Frame::Do], "end", span)?;
                    }
                    _ => {}
                }
                self.push(Tok::Kw(kw), span);
            }
            None => self.push(Tok::Ident(word.to_string()), span),
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let (len, tok) = if let Ok((after, (radix, digits))) = radix_int(rest) {
            let clean: String = digits.chars().filter(|c| *c != '_').collect();
            let len = rest.len() - after.len();
            if clean.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
                return Err(PErr::new(self.peek_span(len), "invalid number literal"));
            }
            match i64::from_str_radix(&clean, radix) {
                Ok(v) => (len, Tok::Int(v)),
                Err(_) => {
                    return Err(PErr::new(
                        self.peek_span(len),
                        "integer literal too large (the shell's integers are 64-bit)",
                    ));
                }
            }
        } else if let Ok((after, text)) = float_text(rest) {
            let len = rest.len() - after.len();
            let clean: String = text.chars().filter(|c| *c != '_').collect();
            match clean.parse::<f64>() {
                Ok(v) if v.is_finite() => (len, Tok::Float(v)),
                _ => return Err(PErr::new(self.peek_span(len), "float literal out of range")),
            }
        } else {
            let (after, text) = dec_digits(rest)
                .map_err(|_| PErr::new(self.peek_span(1), "invalid number literal"))?;
            let len = rest.len() - after.len();
            let clean: String = text.chars().filter(|c| *c != '_').collect();
            match clean.parse::<i64>() {
                Ok(v) => (len, Tok::Int(v)),
                Err(_) => {
                    return Err(PErr::new(
                        self.peek_span(len),
                        "integer literal too large (the shell's integers are 64-bit)",
                    ));
                }
            }
        };
        // `12abc`, `1_`, `1__0`: a number glued to a word.
        if let Some(next) = rest.get(len..).and_then(|r| r.chars().next())
            && (is_ident_continue(next) || next == '_')
        {
            let word_len = rest
                .get(len..)
                .unwrap_or("")
                .find(|c: char| !is_ident_continue(c))
                .unwrap_or(rest.len() - len);
            return Err(PErr::new(
                self.peek_span(len + word_len),
                "invalid number literal",
            ));
        }
        let span = self.advance(len);
        self.push(tok, span);
        Ok(())
    }

    fn pid(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        match pid_literal(rest) {
            Ok((after, (a, b, c))) => {
                let len = rest.len() - after.len();
                let Some(pid) = make_pid(a, b, c) else {
                    return Err(PErr::new(
                        self.peek_span(len),
                        "only local pids #PID<0.N.0> exist in this node",
                    ));
                };
                let span = self.advance(len);
                self.push(Tok::Pid(pid), span);
                Ok(())
            }
            Err(_) => Err(PErr::new(
                self.peek_span(5),
                "invalid PID literal: expected #PID<0.N.0>",
            )),
        }
    }

    /// `:ok`, `:"quoted"`, `::`.
    fn colon(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let after = rest.get(1..).unwrap_or("");
        if after.starts_with(':') {
            let span = self.advance(2);
            self.push(Tok::Op(Op::DoubleColon), span);
            return Ok(());
        }
        if after.starts_with('"') {
            return self.quoted_atom();
        }
        let word = ident(after)
            .or_else(|_| recognize((alias_segment, many0((char('.'), alias_segment)))).parse(after))
            .map(|(_, w)| w);
        match word {
            Ok(w) => {
                // `:todo_cache@host` style `@` parts are accepted in atoms.
                let extra = after
                    .get(w.len()..)
                    .unwrap_or("")
                    .find(|c: char| !(c == '@' || is_ident_continue(c)))
                    .unwrap_or(after.len() - w.len());
                let text = after.get(..w.len() + extra).unwrap_or(w).to_string();
                let span = self.advance(1 + text.len());
                self.push(Tok::Atom(text), span);
                Ok(())
            }
            Err(_) => Err(PErr::new(
                self.peek_span(1),
                "unexpected \":\": an atom is written :name or :\"text\"",
            )),
        }
    }

    fn quoted_atom(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let body = rest.get(2..).unwrap_or("");
        let mut chars = body.chars();
        let mut text = String::new();
        loop {
            let before = chars.as_str();
            match chars.next() {
                None => {
                    // Unterminated: the input is incomplete.
                    let span = self.advance(rest.len());
                    self.frames
                        .push((Frame::Str, Span::new(span.start, span.start + 1)));
                    return Ok(());
                }
                Some('"') => break,
                Some('\\') => match decode_escape(&mut chars) {
                    Ok(Some(c)) => text.push(c),
                    Ok(None) => {}
                    Err(msg) => {
                        let off = rest.len() - before.len();
                        let mut err = PErr::new(self.peek_span(off + 1), msg);
                        err.span.start = err.span.end.saturating_sub(1);
                        return Err(err);
                    }
                },
                Some('#') if chars.as_str().starts_with('{') => {
                    let off = rest.len() - before.len();
                    let mut err = PErr::new(
                        self.peek_span(off + 2),
                        "interpolation in atoms is not supported",
                    );
                    err.span.start = err.span.end.saturating_sub(2);
                    return Err(err);
                }
                Some(c) => text.push(c),
            }
        }
        let len = rest.len() - chars.as_str().len();
        let span = self.advance(len);
        self.push(Tok::Atom(text), span);
        Ok(())
    }

    /// `~D[2023-12-19]` (any of Elixir's sigil delimiters).
    fn sigil(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let mut chars = rest.chars();
        chars.next();
        let letter = chars.next();
        if letter != Some('D') {
            let shown = letter.map(|c| c.to_string()).unwrap_or_default();
            return Err(PErr::new(
                self.peek_span(1 + letter.map(char::len_utf8).unwrap_or(0)),
                format!(
                    "unsupported sigil {}: only ~D[YYYY-MM-DD] dates are supported",
                    inspect_str(&format!("~{shown}"))
                ),
            ));
        }
        let open = chars.next();
        let close = match open {
            Some('[') => ']',
            Some('(') => ')',
            Some('{') => '}',
            Some('<') => '>',
            Some(c @ ('"' | '|' | '/' | '\'')) => c,
            _ => {
                return Err(PErr::new(
                    self.peek_span(2),
                    "~D needs a delimiter: ~D[2023-12-19]",
                ));
            }
        };
        let body = chars.as_str();
        let Some(end) = body.find(close) else {
            let span = self.advance(rest.len());
            self.frames
                .push((Frame::Sigil, Span::new(span.start, span.start + 2)));
            return Ok(());
        };
        let content = body.get(..end).unwrap_or("");
        let len = 3 + end + 1;
        match Date::parse(content) {
            Some(d) => {
                let span = self.advance(len);
                self.push(Tok::Date(d), span);
                Ok(())
            }
            None => Err(PErr::new(
                self.peek_span(len),
                format!(
                    "invalid date {}: expected an existing day as YYYY-MM-DD",
                    inspect_str(content)
                ),
            )),
        }
    }

    /// `?a` is the code point of `a`.
    fn char_literal(&mut self) -> Result<(), PErr> {
        let rest = self.rest();
        let mut chars = rest.get(1..).unwrap_or("").chars();
        let value = match chars.next() {
            Some('\\') => match decode_escape(&mut chars) {
                Ok(Some(c)) => c,
                _ => return Err(PErr::new(self.peek_span(2), "invalid character literal")),
            },
            Some(c) if !c.is_whitespace() && !c.is_control() => c,
            _ => {
                return Err(PErr::new(
                    self.peek_span(1),
                    "unexpected \"?\": a character literal is written ?a",
                ));
            }
        };
        let len = rest.len() - chars.as_str().len();
        let span = self.advance(len);
        self.push(Tok::Int(value as i64), span);
        Ok(())
    }

    /// Inside a string: literal text up to the closing quote or an interpolation.
    fn string_body(&mut self) -> Result<bool, PErr> {
        let rest = self.rest();
        let mut chars = rest.chars();
        let mut text = String::new();
        let lit_start = self.cpos;
        let mut lit_chars = 0usize;
        loop {
            let before = chars.as_str();
            let consumed = rest.len() - before.len();
            match chars.next() {
                None => {
                    self.advance(consumed);
                    if !text.is_empty() {
                        self.push(Tok::StrLit(text), Span::new(lit_start, self.cpos));
                    }
                    return Ok(false);
                }
                Some('"') => {
                    self.advance(consumed);
                    if !text.is_empty() {
                        self.push(Tok::StrLit(text), Span::new(lit_start, self.cpos));
                    }
                    let span = self.advance(1);
                    self.frames.pop();
                    self.push(Tok::StrEnd, span);
                    return Ok(true);
                }
                Some('#') if chars.as_str().starts_with('{') => {
                    self.advance(consumed);
                    if !text.is_empty() {
                        self.push(Tok::StrLit(text), Span::new(lit_start, self.cpos));
                    }
                    let span = self.advance(2);
                    self.open(Frame::Interp, span)?;
                    self.push(Tok::InterpOpen, span);
                    return Ok(true);
                }
                Some('\\') => {
                    let esc_start = lit_start + lit_chars;
                    match decode_escape(&mut chars) {
                        Ok(Some(c)) => text.push(c),
                        Ok(None) => {}
                        Err(msg) => {
                            return Err(PErr::new(Span::new(esc_start, esc_start + 2), msg));
                        }
                    }
                    let used = before.len() - chars.as_str().len();
                    lit_chars += before.get(..used).unwrap_or("").chars().count();
                }
                Some(c) => {
                    text.push(c);
                    lit_chars += 1;
                }
            }
        }
    }
}
