//! The tokens of the shell's Elixir subset and the small nom recognisers the lexer and the
//! command parser share: identifiers, aliases, numbers, pids and string escapes. They sit apart
//! from the lexer's loop so that the command language, which is not tokenized, recognises a
//! word or a number by exactly the rules the Elixir subset uses.
//!
//! Every recogniser returns a suffix of its input, so every position stays on a char boundary.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1, hex_digit1, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::{IResult, Parser};

use super::{ErrorKind, PErr};
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
pub(super) const OPERATORS: &[(&str, Option<Op>)] = &[
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
    pub(super) fn opener(self) -> &'static str {
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

pub(super) fn is_ident_start(c: char) -> bool {
    c == '_' || (c.is_alphabetic() && !c.is_uppercase())
}

pub(super) fn is_ident_continue(c: char) -> bool {
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

pub(super) fn radix_int(i: &str) -> R<'_, (u32, &str)> {
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
