//! The block forms of the Elixir subset: `do … end` bodies, `->` clauses, `fn`, `case`,
//! `receive … after`, `if`/`unless`, `for` comprehensions and `alias`, with the check that a
//! pattern holds nothing that cannot be matched. They extend the expression parser of `expr`.

use super::PErr;
use super::expr::P;
use super::token::{Kw, Op, Tok};
use crate::shell::ast::{
    AliasEntry, BinOp, Clause, Expr, ExprKind, Qualifier, Span, StrPart, UnOp,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BlockCtx {
    Top,
    Paren,
    DoEnd,
    Clause,
    Interp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ClauseKind {
    Fn,
    Case,
    Receive,
}

/// What a pattern may not contain, for the error message.
pub(super) fn validate_pattern(e: &Expr) -> Result<(), PErr> {
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

pub(super) fn block_of(mut items: Vec<Expr>, at: Span) -> Expr {
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
    pub(super) fn at_block_end(&self, ctx: BlockCtx) -> bool {
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
    pub(super) fn parse_block(&mut self, ctx: BlockCtx) -> Result<Expr, PErr> {
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
    pub(super) fn line_has_arrow(&self) -> bool {
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
    pub(super) fn paren_params_ahead(&self) -> bool {
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

    pub(super) fn clauses(&mut self, kind: ClauseKind) -> Result<Vec<Clause>, PErr> {
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

    pub(super) fn clause_head(&mut self, kind: ClauseKind) -> Result<Vec<Expr>, PErr> {
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

    pub(super) fn parse_fn(&mut self) -> Result<Expr, PErr> {
        let start = self.bump().span;
        let clauses = self.clauses(ClauseKind::Fn)?;
        let end = self.expect_kw(Kw::End, "\"end\" to close the fn")?;
        Ok(Expr::new(ExprKind::Fn(clauses), start.to(end)))
    }

    pub(super) fn parse_case(&mut self) -> Result<Expr, PErr> {
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

    pub(super) fn parse_receive(&mut self) -> Result<Expr, PErr> {
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
    pub(super) fn parse_if(&mut self, negate: bool) -> Result<Expr, PErr> {
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

    pub(super) fn parse_for(&mut self) -> Result<Expr, PErr> {
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
    pub(super) fn parse_alias(&mut self) -> Result<Expr, PErr> {
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
