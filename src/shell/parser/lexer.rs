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
//!
//! The tokens themselves and the recognisers of words and numbers are in `token`.

use nom::Parser;
use nom::character::complete::char;
use nom::combinator::recognize;
use nom::multi::many0;

use super::token::{
    Frame, Kw, Lexed, OPERATORS, Op, Tok, Token, alias_segment, dec_digits, decode_escape,
    float_text, ident, is_ident_continue, is_ident_start, make_pid, pid_literal, radix_int,
};
use super::{MAX_NESTING, PErr};
use crate::runtime::Date;
use crate::runtime::term::inspect_str;
use crate::shell::ast::Span;

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
