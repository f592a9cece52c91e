//! The short command language (`kill registry`, `add_entry "Bob's list" 2023-12-19 "Dentist"`),
//! parsed with nom straight from the text. It lives apart from the Elixir parser because its
//! grammar is different (space-separated words, bare dates, `--flags`) and because it decides,
//! with the rule in the parent module's docs, whether a line is a command at all. Bracketed and
//! quoted arguments are handed to the Elixir lexer and parser.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while_m_n, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::sequence::preceded;

use super::lexer;
use super::token::{self, Tok};
use super::{P, PErr};
use crate::runtime::Date;
use crate::runtime::term::inspect_str;
use crate::shell::ast::{Arg, ArgKind, Command, CommandName, Line, Span};
use crate::shell::suggest::{Near, closest};

pub(super) enum CmdAttempt {
    NotCommand,
    Parsed(Line),
    /// The line starts like a command but is not one; `signature` when the arguments were well
    /// formed but do not fit the command.
    Failed {
        err: PErr,
        signature: bool,
        word: String,
    },
}

/// A position in a single line: byte offset (on a char boundary) and char offset.
#[derive(Clone, Copy)]
struct Cur<'a> {
    text: &'a str,
    pos: usize,
    cpos: usize,
}

impl<'a> Cur<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }
    fn advance(&mut self, bytes: usize) -> Span {
        let start = self.cpos;
        let chunk = self.text.get(self.pos..self.pos + bytes).unwrap_or("");
        self.cpos += chunk.chars().count();
        self.pos += chunk.len();
        Span::new(start, self.cpos)
    }
    fn span_of(&self, bytes: usize) -> Span {
        let chunk = self.text.get(self.pos..self.pos + bytes).unwrap_or("");
        Span::new(self.cpos, self.cpos + chunk.chars().count())
    }
    /// Skips blanks (not newlines); whether any were skipped.
    fn skip_ws(&mut self) -> bool {
        let rest = self.rest();
        let n = rest
            .find(|c: char| c == '\n' || !c.is_whitespace())
            .unwrap_or(rest.len());
        self.advance(n);
        n > 0
    }
    /// Nothing left but blanks and a comment.
    fn at_end(&self) -> bool {
        let rest = self
            .rest()
            .trim_start_matches(|c: char| c != '\n' && c.is_whitespace());
        rest.is_empty() || (rest.starts_with('#') && !rest.starts_with("#PID<"))
    }
}

pub(super) fn try_command(text: &str) -> CmdAttempt {
    let mut c = Cur {
        text,
        pos: 0,
        cpos: 0,
    };
    c.skip_ws();
    let mut bind = None;
    let save = c;
    if let Ok((_, var)) = token::ident(c.rest()) {
        let var_span = c.advance(var.len());
        c.skip_ws();
        let r = c.rest();
        if r.starts_with('=')
            && !r.starts_with("==")
            && !r.starts_with("=>")
            && !r.starts_with("=~")
        {
            c.advance(1);
            c.skip_ws();
            bind = Some((var.to_string(), var_span));
        } else {
            c = save;
        }
    }
    let Ok((_, word)) = token::ident(c.rest()) else {
        return CmdAttempt::NotCommand;
    };
    let Some(name) = CommandName::from_word(word) else {
        return CmdAttempt::NotCommand;
    };
    let word_span = c.advance(word.len());
    if c.rest().starts_with('(') {
        return CmdAttempt::NotCommand;
    }
    let had_space = c.skip_ws();
    let sig = name.signature();
    let failed = |err: PErr, signature: bool| CmdAttempt::Failed {
        err,
        signature,
        word: word.to_string(),
    };
    if c.at_end() {
        if sig.min > 0 {
            return CmdAttempt::NotCommand;
        }
    } else if !had_space {
        return CmdAttempt::NotCommand;
    }
    let mut args = Vec::new();
    while !c.at_end() {
        match command_arg(&mut c) {
            Ok(a) => args.push(a),
            Err(e) => return failed(e, false),
        }
        c.skip_ws();
    }
    let args = match check_signature(name, word_span, args) {
        Ok(a) => a,
        Err(e) => return failed(e, true),
    };
    let end = args.last().map_or(word_span, |a| a.span);
    let command = Command {
        name,
        args,
        span: word_span.to(end),
    };
    CmdAttempt::Parsed(match bind {
        Some((var, var_span)) => Line::Bind {
            var,
            var_span,
            command,
        },
        None => Line::Command(command),
    })
}

/// An argument as recognised by nom, before conversion.
enum RawArg<'a> {
    Flag(&'a str, Option<&'a str>),
    Pid(&'a str, &'a str, &'a str),
    Date(&'a str),
    Float(&'a str),
    Int(&'a str),
    Atom(&'a str),
    Word(&'a str),
}

type R<'a, T> = nom::IResult<&'a str, T>;

fn plain_date(i: &str) -> R<'_, &str> {
    let digits = |n| take_while_m_n(n, n, |c: char| c.is_ascii_digit());
    recognize((digits(4), char('-'), digits(2), char('-'), digits(2))).parse(i)
}

fn flag(i: &str) -> R<'_, RawArg<'_>> {
    let (i, _) = tag("--").parse(i)?;
    let (i, name) = recognize((
        satisfy(|c| c.is_ascii_lowercase()),
        take_while(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
    ))
    .parse(i)?;
    let (i, value) = opt(preceded(
        char('='),
        take_while1(|c: char| !c.is_whitespace()),
    ))
    .parse(i)?;
    Ok((i, RawArg::Flag(name, value)))
}

/// A duration such as `60s`, `500ms` or `10m` (`chaos --for`), kept as a word for the
/// command to read.
fn duration(i: &str) -> R<'_, &str> {
    let unit = alt((tag("ms"), tag("min"), tag("s"), tag("m")));
    recognize((token::dec_digits, opt((char('.'), token::dec_digits)), unit)).parse(i)
}

fn value_token(i: &str) -> R<'_, RawArg<'_>> {
    alt((
        token::pid_literal.map(|(a, b, c)| RawArg::Pid(a, b, c)),
        plain_date.map(RawArg::Date),
        duration.map(RawArg::Word),
        recognize((opt(char('-')), token::float_text)).map(RawArg::Float),
        recognize((opt(char('-')), token::dec_digits)).map(RawArg::Int),
        preceded(char(':'), token::ident).map(RawArg::Atom),
        recognize((
            token::alias_segment,
            many0((char('.'), token::alias_segment)),
        ))
        .map(RawArg::Word),
        node_name.map(RawArg::Word),
        token::ident.map(RawArg::Word),
    ))
    .parse(i)
}

/// `todo@localhost`, the argument of `connect`, kept as a word for dist to check.
fn node_name(i: &str) -> R<'_, &str> {
    let name = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let host = take_while1(|c: char| !c.is_whitespace());
    recognize((name, char('@'), host)).parse(i)
}

fn arg_token(i: &str) -> R<'_, RawArg<'_>> {
    alt((flag, value_token)).parse(i)
}

/// The error for an argument that is not one.
fn bad_char(c: &Cur<'_>, what: &str) -> PErr {
    let ch = c.rest().chars().next().unwrap_or(' ');
    PErr::new(
        c.span_of(ch.len_utf8()),
        format!("unexpected {} {}", what, inspect_str(&ch.to_string())),
    )
}

fn command_arg(c: &mut Cur<'_>) -> Result<Arg, PErr> {
    let rest = c.rest();
    let arg = if rest.starts_with(['"', '(', '[', '{', '~'])
        || rest.starts_with("%{")
        || rest.starts_with(":\"")
    {
        lexed_arg(c)?
    } else {
        let Ok((after, raw)) = arg_token(rest) else {
            return Err(bad_char(c, "character"));
        };
        let len = rest.len() - after.len();
        let span = c.span_of(len);
        let kind = convert_arg(raw, span)?;
        c.advance(len);
        Arg { kind, span }
    };
    // An argument ends at a blank, the end of the line or a comment.
    let rest = c.rest();
    if let Some(ch) = rest.chars().next()
        && !ch.is_whitespace()
        && (ch != '#' || rest.starts_with("#PID<"))
    {
        return Err(bad_char(c, "character after an argument:"));
    }
    Ok(arg)
}

/// A string, sigil, quoted atom or bracketed Elixir term, through the Elixir lexer and parser.
fn lexed_arg(c: &mut Cur<'_>) -> Result<Arg, PErr> {
    let lexed = lexer::lex(c.rest(), c.cpos, true)?;
    if let Some(e) = lexed.missing_error() {
        return Err(e);
    }
    let toks = lexed.toks.as_slice();
    let single = match toks {
        [t, _eof] => match &t.tok {
            Tok::Date(d) => Some(ArgKind::Date(*d)),
            Tok::Atom(a) => Some(ArgKind::Atom(a.clone())),
            _ => None,
        },
        [start, end, _eof] if start.tok == Tok::StrStart && end.tok == Tok::StrEnd => {
            Some(ArgKind::Str(String::new()))
        }
        [start, lit, end, _eof] if start.tok == Tok::StrStart && end.tok == Tok::StrEnd => {
            match &lit.tok {
                Tok::StrLit(s) => Some(ArgKind::Str(s.clone())),
                _ => None,
            }
        }
        _ => None,
    };
    let kind = match single {
        Some(kind) => kind,
        None => {
            let mut p = P::new(toks);
            let e = p.parse_expr()?;
            if !matches!(p.peek(), Tok::Eof) {
                return Err(p.unexpected("the end of the argument"));
            }
            ArgKind::Expr(e)
        }
    };
    let span = c.advance(lexed.end_byte);
    Ok(Arg { kind, span })
}

fn convert_arg(raw: RawArg<'_>, span: Span) -> Result<ArgKind, PErr> {
    let int = |t: &str| {
        t.replace('_', "")
            .parse::<i64>()
            .map_err(|_| PErr::new(span, "integer too large (the shell's integers are 64-bit)"))
    };
    Ok(match raw {
        RawArg::Flag(name, value) => {
            let value = match value {
                None => None,
                Some(v) => {
                    let start = span.start + 2 + name.chars().count() + 1;
                    let vspan = Span::new(start, start + v.chars().count());
                    let kind = match value_token(v) {
                        Ok(("", raw)) => convert_arg(raw, vspan)?,
                        _ => ArgKind::Word(v.to_string()),
                    };
                    Some(Box::new(Arg { kind, span: vspan }))
                }
            };
            ArgKind::Flag {
                name: name.to_string(),
                value,
            }
        }
        RawArg::Pid(a, b, c) => ArgKind::Pid(
            token::make_pid(a, b, c)
                .ok_or_else(|| PErr::new(span, "only local pids #PID<0.N.0> exist in this node"))?,
        ),
        RawArg::Date(t) => ArgKind::Date(Date::parse(t).ok_or_else(|| {
            PErr::new(
                span,
                format!(
                    "invalid date {}: expected an existing day as YYYY-MM-DD",
                    inspect_str(t)
                ),
            )
        })?),
        RawArg::Float(t) => match t.replace('_', "").parse::<f64>() {
            Ok(f) if f.is_finite() => ArgKind::Float(f),
            _ => return Err(PErr::new(span, "float out of range")),
        },
        RawArg::Int(t) => ArgKind::Int(int(t)?),
        RawArg::Atom(a) => ArgKind::Atom(a.to_string()),
        RawArg::Word(w) => ArgKind::Word(w.to_string()),
    })
}

/// Attaches the values of `--flag VALUE` and checks counts, flags and choices.
fn check_signature(name: CommandName, word_span: Span, args: Vec<Arg>) -> Result<Vec<Arg>, PErr> {
    let sig = name.signature();
    let usage = || format!("usage: {}", name.usage());
    let mut out: Vec<Arg> = Vec::with_capacity(args.len());
    let mut positional = 0usize;
    let mut it = args.into_iter().peekable();
    while let Some(mut a) = it.next() {
        if let ArgKind::Flag { name: fname, value } = &mut a.kind {
            let Some(spec) = sig.flags.iter().find(|f| f.name == fname.as_str()) else {
                let err = PErr::new(
                    a.span,
                    format!("unknown flag --{} for {}", fname, name.word()),
                );
                return Err(
                    match closest(fname, sig.flags.iter().map(|f| f.name), Near::CommandWord) {
                        Some(s) => err.with_hint(format!("did you mean --{s}?")),
                        None => err.with_hint(usage()),
                    },
                );
            };
            if spec.takes_value && value.is_none() {
                match it.peek() {
                    Some(next) if !matches!(next.kind, ArgKind::Flag { .. }) => {
                        let v = it.next().expect("peeked");
                        a.span = a.span.to(v.span);
                        *value = Some(Box::new(v));
                    }
                    _ => {
                        return Err(PErr::new(a.span, format!("--{fname} needs a value"))
                            .with_hint(usage()));
                    }
                }
            } else if !spec.takes_value && value.is_some() {
                return Err(PErr::new(a.span, format!("--{fname} takes no value")));
            }
        } else {
            positional += 1;
            if positional > sig.max {
                return Err(
                    PErr::new(a.span, format!("too many arguments for {}", name.word()))
                        .with_hint(usage()),
                );
            }
            if positional == 1
                && let Some(choices) = sig.choices
            {
                let ok = matches!(&a.kind, ArgKind::Word(w) if choices.contains(&w.as_str()));
                if !ok {
                    let err = PErr::new(
                        a.span,
                        format!("{} expects one of: {}", name.word(), choices.join(", ")),
                    );
                    let near = match &a.kind {
                        ArgKind::Word(w) => closest(w, choices.iter().copied(), Near::CommandWord),
                        _ => None,
                    };
                    return Err(match near {
                        Some(s) => err.with_hint(format!("did you mean {s}?")),
                        None => err.with_hint(usage()),
                    });
                }
            }
        }
        out.push(a);
    }
    if positional < sig.min {
        let at = out
            .last()
            .map_or(word_span, |a| Span::new(a.span.end, a.span.end));
        return Err(PErr::new(
            at,
            format!(
                "{} expects {}{} argument{}, got {}",
                name.word(),
                if sig.max > sig.min { "at least " } else { "" },
                sig.min,
                if sig.min == 1 { "" } else { "s" },
                positional
            ),
        )
        .with_hint(usage()));
    }
    Ok(out)
}
