//! The expression parser of the Elixir subset: a recursive-descent, precedence-climbing
//! parser over the lexer's tokens with Elixir's operator table. Its recursion is bounded by a
//! depth counter, which also bounds long operator chains, so no input overflows the stack. The
//! block forms (`fn`, `case`, `receive`, `if`, `for`, `alias`) are in the sibling `block`.

use super::block::{BlockCtx, validate_pattern};
use super::token::{Kw, Op, Tok, Token};
use super::{MAX_DEPTH, PErr};
use crate::runtime::term::{inspect_atom, inspect_str};
use crate::shell::ast::{BinOp, Expr, ExprKind, Span, StrPart, UnOp};

pub(super) static EOF_TOKEN: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
    space_before: true,
};

pub(super) enum BinKind {
    Op(BinOp),
    Match,
    Range,
}

pub(super) struct P<'t> {
    pub(super) toks: &'t [Token],
    pub(super) pos: usize,
    pub(super) depth: usize,
    /// The last newline-run scan: (position, index of the `|>` after it, if any).
    pub(super) pipe_scan: Option<(usize, Option<usize>)>,
}

pub(super) fn describe(t: &Tok) -> String {
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

impl<'t> P<'t> {
    pub(super) fn new(toks: &'t [Token]) -> P<'t> {
        P {
            toks,
            pos: 0,
            depth: 0,
            pipe_scan: None,
        }
    }

    pub(super) fn tok(&self) -> &'t Token {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .unwrap_or(&EOF_TOKEN)
    }

    pub(super) fn peek(&self) -> &'t Tok {
        &self.tok().tok
    }

    pub(super) fn peek_n(&self, n: usize) -> &'t Token {
        self.toks
            .get(self.pos + n)
            .or(self.toks.last())
            .unwrap_or(&EOF_TOKEN)
    }

    pub(super) fn bump(&mut self) -> &'t Token {
        let t = self.tok();
        if !matches!(t.tok, Tok::Eof) {
            self.pos += 1;
        }
        t
    }

    pub(super) fn at_op(&self, op: Op) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    pub(super) fn at_kw(&self, kw: Kw) -> bool {
        matches!(self.peek(), Tok::Kw(k) if *k == kw)
    }

    pub(super) fn at_key(&self, key: &str) -> bool {
        matches!(self.peek(), Tok::KwKey(k) if k == key)
    }

    pub(super) fn eat_op(&mut self, op: Op) -> Option<Span> {
        self.at_op(op).then(|| self.bump().span)
    }

    pub(super) fn expect_op(&mut self, op: Op, what: &str) -> Result<Span, PErr> {
        self.eat_op(op).ok_or_else(|| self.unexpected(what))
    }

    pub(super) fn expect_kw(&mut self, kw: Kw, what: &str) -> Result<Span, PErr> {
        if self.at_kw(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(what))
        }
    }

    pub(super) fn skip_nl(&mut self) {
        while matches!(self.peek(), Tok::Eol { semi: false }) {
            self.pos += 1;
        }
    }

    pub(super) fn skip_eols(&mut self) {
        while matches!(self.peek(), Tok::Eol { .. }) {
            self.pos += 1;
        }
    }

    pub(super) fn unexpected(&self, expected: &str) -> PErr {
        let t = self.tok();
        let msg = format!("unexpected {}; expected {expected}", describe(&t.tok));
        if matches!(t.tok, Tok::Eof) {
            PErr::missing(t.span, msg)
        } else {
            PErr::new(t.span, msg)
        }
    }

    pub(super) fn too_deep(&self, span: Span) -> PErr {
        PErr::new(
            span,
            format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
        )
    }

    pub(super) fn enter(&mut self) -> Result<(), PErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep(self.tok().span));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The binary operator at the cursor: kind, precedence, right-associative, token count.
    pub(super) fn binop(&self) -> Option<(BinKind, u8, bool, usize)> {
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
    pub(super) fn continue_on_leading_pipe(&mut self) {
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

    pub(super) fn parse_expr(&mut self) -> Result<Expr, PErr> {
        self.parse_bp(0)
    }

    pub(super) fn parse_bp(&mut self, min: u8) -> Result<Expr, PErr> {
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

    pub(super) fn parse_unary(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn parse_postfix(&mut self) -> Result<Expr, PErr> {
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
    pub(super) fn after_dot_name(
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
    pub(super) fn starts_no_paren_arg(&self) -> bool {
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

    pub(super) fn no_paren_args(&mut self) -> Result<Vec<Expr>, PErr> {
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
    pub(super) fn keyword_list(&mut self, in_brackets: bool) -> Result<Expr, PErr> {
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
    pub(super) fn paren_args(&mut self) -> Result<(Vec<Expr>, Span), PErr> {
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

    pub(super) fn parse_primary(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn ident_expr(&mut self, name: &str, span: Span) -> Result<Expr, PErr> {
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

    pub(super) fn string(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn group(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn list(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn tuple(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn map(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn map_pairs(&mut self) -> Result<Vec<(Expr, Expr)>, PErr> {
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
}
