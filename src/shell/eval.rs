//! The evaluator of the Elixir subset: expressions, patterns and closures, run inside the
//! shell's own process so that calls, links, monitors, `self()` and `flush()` behave as in
//! iex. Remote and local calls go to [`super::builtins`]; the short commands (the
//! `commands` module) sit above and use this evaluator for their bracketed arguments. The
//! state it evaluates with ([`Eval`], [`Ctx`], [`Env`]) is in [`super::context`].
//!
//! Errors are exit reasons, as on the BEAM: an exception (`raise`, a `MatchError`, an
//! `UndefinedFunctionError`) is [`ExitReason::Exception`] and prints `** (Kind) message`;
//! anything else is an exit and prints `** (exit) …`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::runtime::term::{BoxFuture, Fun};
use crate::runtime::{Atom, ExitReason, Process, Term};

use super::ast::{BinOp, Clause, Expr, ExprKind, Qualifier, StrPart, UnOp};
use super::builtins;
#[cfg(doc)]
use super::context::{Ctx, Env};
use super::context::{
    Eval, R, arg_error, compile_error, enumerate, expanded_variable, loose_eq, raise, range_term,
    to_string,
};

impl<'a> Eval<'a> {
    /// Evaluates an expression.
    pub fn eval<'b>(&'b mut self, e: &'b Expr) -> BoxFuture<'b, R> {
        Box::pin(async move { self.eval_inner(e).await })
    }

    async fn eval_inner(&mut self, e: &Expr) -> R {
        match &e.kind {
            ExprKind::Int(i) => Ok(Term::Int(*i)),
            ExprKind::Float(f) => Ok(Term::Float(*f)),
            ExprKind::Atom(a) => Ok(Term::Atom(Atom::new(a)?)),
            ExprKind::Alias(parts) => Ok(Term::Atom(Atom::new(&format!(
                "Elixir.{}",
                self.resolve_alias(parts)
            ))?)),
            ExprKind::Str(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        StrPart::Lit(s) => out.push_str(s),
                        StrPart::Interp(e) => out.push_str(&to_string(&self.eval(e).await?)),
                    }
                }
                Ok(Term::str(out))
            }
            ExprKind::Date(d) => Ok(Term::Date(*d)),
            ExprKind::Pid(p) => Ok(Term::Pid(*p)),
            ExprKind::Var(name) => match self.env.vars.get(name) {
                Some(v) => Ok(v.clone()),
                // A name that is no variable is a call without parentheses (`self`, `node`);
                // when no such function exists either, iex warns that it read it as one.
                None => {
                    let result = self.local_call(name, vec![]).await;
                    if result
                        .as_ref()
                        .is_err_and(|e| *e == builtins::undefined_import(name, 0))
                    {
                        self.warn(expanded_variable(name));
                    }
                    result
                }
            },
            ExprKind::Pin(name) => self
                .env
                .vars
                .get(name)
                .cloned()
                .ok_or_else(|| undefined_var(name)),
            ExprKind::List { items, tail } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item).await?);
                }
                if let Some(t) = tail {
                    match self.eval(t).await? {
                        Term::List(rest) => out.extend(rest),
                        other => {
                            return Err(arg_error(format!(
                                "improper lists are not supported: tail {other}"
                            )));
                        }
                    }
                }
                Ok(Term::list(out))
            }
            ExprKind::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item).await?);
                }
                Ok(Term::tuple(out))
            }
            ExprKind::Map(pairs) => {
                let mut m = BTreeMap::new();
                for (k, v) in pairs {
                    let k = self.eval(k).await?;
                    let v = self.eval(v).await?;
                    m.insert(k, v);
                }
                Ok(Term::map(m))
            }
            ExprKind::MapUpdate { base, pairs } => {
                let base = self.eval(base).await?;
                let Term::Map(mut m) = base else {
                    return Err(raise("BadMapError", format!("expected a map, got: {base}")));
                };
                for (k, v) in pairs {
                    let k = self.eval(k).await?;
                    if !m.contains_key(&k) {
                        return Err(raise(
                            "KeyError",
                            format!("key {k} not found in: {}", Term::Map(m)),
                        ));
                    }
                    let v = self.eval(v).await?;
                    m.insert(k, v);
                }
                Ok(Term::Map(m))
            }
            ExprKind::Range(a, b) => {
                let (a, b) = (self.eval(a).await?, self.eval(b).await?);
                match (a, b) {
                    (Term::Int(a), Term::Int(b)) => Ok(range_term(a, b)),
                    (a, b) => Err(arg_error(format!(
                        "ranges (first..last) expect both sides to be integers, got: {a}..{b}"
                    ))),
                }
            }
            ExprKind::Match(pat, value) => {
                let v = self.eval(value).await?;
                let mut bound = HashMap::new();
                if !self.matches(pat, &v, &mut bound)? {
                    return Err(raise(
                        "MatchError",
                        format!("no match of right hand side value: {v}"),
                    ));
                }
                self.env.vars.extend(bound);
                Ok(v)
            }
            ExprKind::Unary(op, x) => {
                let x = self.eval(x).await?;
                match (op, &x) {
                    (UnOp::Neg, Term::Int(i)) => {
                        Ok(Term::Int(i.checked_neg().ok_or_else(|| arith(&x))?))
                    }
                    (UnOp::Neg, Term::Float(f)) => Ok(Term::Float(-f)),
                    (UnOp::Plus, Term::Int(_) | Term::Float(_)) => Ok(x),
                    (UnOp::Not, Term::Atom(a)) if matches!(a.as_str(), "true" | "false") => {
                        Ok(Term::bool(a.as_str() == "false"))
                    }
                    (UnOp::Bang, _) => Ok(Term::bool(!x.truthy())),
                    _ => Err(arg_error(format!(
                        "bad argument in arithmetic expression: {}{x}",
                        op.text()
                    ))),
                }
            }
            ExprKind::Binary(BinOp::Pipe, left, right) => {
                let first = self.eval(left).await?;
                self.call_with_first(right, first).await
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r).await,
            // `h` is a macro in iex: `h Process.info` names a function, it does not call it.
            ExprKind::LocalCall { name, args, .. }
                if name == "h"
                    && let [arg] = args.as_slice()
                    && let Some(topic) = builtins::help_topic(arg) =>
            {
                self.local_call(name, vec![Term::str(topic)]).await
            }
            ExprKind::LocalCall { name, args, .. } => {
                let args = self.eval_args(args).await?;
                self.local_call(name, args).await
            }
            ExprKind::RemoteCall {
                module, fun, args, ..
            } => {
                let module_term = self.eval(module).await?;
                let args = self.eval_args(args).await?;
                self.remote_call(&module_term, fun, args).await
            }
            ExprKind::Field(base, field) => {
                let base = self.eval(base).await?;
                match base.get(field) {
                    Some(v) => Ok(v.clone()),
                    None if matches!(base, Term::Map(_) | Term::Struct(..)) => Err(raise(
                        "KeyError",
                        format!("key :{field} not found in: {base}"),
                    )),
                    None => match base {
                        // `Module.function` without parentheses on a module value.
                        Term::Atom(_) => self.remote_call(&base, field, vec![]).await,
                        _ => Err(arg_error(format!("cannot access field {field} of {base}"))),
                    },
                }
            }
            ExprKind::Apply { fun, args } => {
                let f = self.eval(fun).await?;
                let args = self.eval_args(args).await?;
                self.apply(&f, args).await
            }
            ExprKind::Fn(clauses) => Ok(self.closure(clauses)),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.eval(cond).await?.truthy() {
                    self.eval(then).await
                } else if let Some(o) = otherwise {
                    self.eval(o).await
                } else {
                    Ok(Term::nil())
                }
            }
            ExprKind::Case { subject, clauses } => {
                let v = self.eval(subject).await?;
                for clause in clauses {
                    let mut bound = HashMap::new();
                    if clause.params.len() == 1
                        && self.matches(&clause.params[0], &v, &mut bound)?
                    {
                        let saved = self.env.vars.clone();
                        self.env.vars.extend(bound);
                        if let Some(g) = &clause.guard
                            && !self.eval(g).await?.truthy()
                        {
                            self.env.vars = saved;
                            continue;
                        }
                        return self.eval(&clause.body).await;
                    }
                }
                Err(raise(
                    "CaseClauseError",
                    format!("no case clause matching: {v}"),
                ))
            }
            ExprKind::Receive { clauses, after } => self.receive(clauses, after.as_ref()).await,
            ExprKind::For { qualifiers, body } => {
                let mut out = vec![];
                self.for_loop(qualifiers, body, &mut out).await?;
                Ok(Term::list(out))
            }
            ExprKind::AliasDirective(entries) => {
                for entry in entries {
                    self.env
                        .aliases
                        .insert(entry.as_name.clone(), entry.module.join("."));
                }
                let last = entries
                    .last()
                    .map(|e| e.module.join("."))
                    .unwrap_or_default();
                Ok(Term::Atom(Atom::new(&format!("Elixir.{last}"))?))
            }
            ExprKind::Block(exprs) => {
                let mut last = Term::nil();
                for e in exprs {
                    last = self.eval(e).await?;
                }
                Ok(last)
            }
        }
    }

    async fn eval_args(&mut self, args: &[Expr]) -> Result<Vec<Term>, ExitReason> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(self.eval(a).await?);
        }
        Ok(out)
    }

    /// `x |> f(a)` is `f(x, a)`.
    async fn call_with_first(&mut self, call: &Expr, first: Term) -> R {
        match &call.kind {
            ExprKind::LocalCall { name, args, .. } => {
                let mut all = vec![first];
                all.extend(self.eval_args(args).await?);
                self.local_call(name, all).await
            }
            ExprKind::Var(name) => self.local_call(name, vec![first]).await,
            ExprKind::RemoteCall {
                module, fun, args, ..
            } => {
                let m = self.eval(module).await?;
                let mut all = vec![first];
                all.extend(self.eval_args(args).await?);
                self.remote_call(&m, fun, all).await
            }
            ExprKind::Field(module, fun) => {
                let m = self.eval(module).await?;
                self.remote_call(&m, fun, vec![first]).await
            }
            ExprKind::Apply { fun, args } => {
                let f = self.eval(fun).await?;
                let mut all = vec![first];
                all.extend(self.eval_args(args).await?);
                self.apply(&f, all).await
            }
            _ => Err(arg_error("the right side of |> must be a function call")),
        }
    }

    fn resolve_alias(&self, parts: &[String]) -> String {
        match self.env.aliases.get(&parts[0]) {
            Some(full) => std::iter::once(full.clone())
                .chain(parts[1..].iter().cloned())
                .collect::<Vec<_>>()
                .join("."),
            None => parts.join("."),
        }
    }

    async fn remote_call(&mut self, module: &Term, fun: &str, args: Vec<Term>) -> R {
        let Term::Atom(m) = module else {
            return Err(arg_error(format!(
                "you attempted to apply a function on {module}. Modules (the first argument of apply) must always be an atom"
            )));
        };
        let name = m.as_str();
        let module = name
            .strip_prefix("Elixir.")
            .map(str::to_string)
            .unwrap_or_else(|| format!(":{name}"));
        builtins::call(self, &module, fun, args).await
    }

    async fn local_call(&mut self, name: &str, args: Vec<Term>) -> R {
        builtins::call(self, "Kernel", name, args).await
    }

    /// `fn … end`: captures the current bindings; runs in whichever process calls it.
    fn closure(&self, clauses: &[Clause]) -> Term {
        let arity = clauses.first().map(|c| c.params.len()).unwrap_or(0);
        let clauses: Arc<Vec<Clause>> = Arc::new(clauses.to_vec());
        let env = self.env.clone();
        let ctx = self.ctx.clone();
        let body: Arc<crate::runtime::term::FunBody> =
            Arc::new(move |p: &mut Process, args: Vec<Term>| {
                let (clauses, env, ctx) = (clauses.clone(), env.clone(), ctx.clone());
                Box::pin(async move {
                    let mut ev = Eval { p, ctx: &ctx, env };
                    for clause in clauses.iter() {
                        let mut bound = HashMap::new();
                        let mut ok = clause.params.len() == args.len();
                        for (pat, arg) in clause.params.iter().zip(&args) {
                            if !ok {
                                break;
                            }
                            ok = ev.matches(pat, arg, &mut bound)?;
                        }
                        if !ok {
                            continue;
                        }
                        ev.env.vars.extend(bound);
                        if let Some(g) = &clause.guard
                            && !ev.eval(g).await?.truthy()
                        {
                            continue;
                        }
                        return ev.eval(&clause.body).await;
                    }
                    Err(raise(
                        "FunctionClauseError",
                        "no function clause matching in anonymous fn/".to_string()
                            + &args.len().to_string(),
                    ))
                })
            });
        Term::Fun(Fun::new(arity, "erl_eval.expr", body))
    }

    async fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> R {
        // Short-circuit operators evaluate the right side only when needed.
        match op {
            BinOp::AndAnd => {
                let a = self.eval(l).await?;
                return if a.truthy() {
                    self.eval(r).await
                } else {
                    Ok(a)
                };
            }
            BinOp::OrOr => {
                let a = self.eval(l).await?;
                return if a.truthy() {
                    Ok(a)
                } else {
                    self.eval(r).await
                };
            }
            BinOp::And | BinOp::Or => {
                let a = self.eval(l).await?;
                let a_bool = strict_bool(&a)?;
                if (op == BinOp::And && !a_bool) || (op == BinOp::Or && a_bool) {
                    return Ok(a);
                }
                return self.eval(r).await;
            }
            _ => {}
        }
        let a = self.eval(l).await?;
        let b = self.eval(r).await?;
        binary_values(op, a, b)
    }

    async fn receive(&mut self, clauses: &[Clause], after: Option<&(Box<Expr>, Box<Expr>)>) -> R {
        let timeout = match after {
            Some((t, _)) => match self.eval(t).await? {
                Term::Int(ms) if ms >= 0 => Some(std::time::Duration::from_millis(ms as u64)),
                t if t.is_atom("infinity") => None,
                t => return Err(arg_error(format!("invalid timeout in receive after: {t}"))),
            },
            None => None,
        };
        // Patterns are matched on the snapshot of each envelope's term.
        let pats: Vec<Clause> = clauses.to_vec();
        let env_vars = self.env.vars.clone();
        let accept = move |env: &crate::runtime::Envelope| {
            let term = env.to_term();
            pats.iter()
                .any(|c| c.params.len() == 1 && pattern_matches(&c.params[0], &term, &env_vars))
        };
        match self.p.receive_match(accept, timeout).await {
            Some(envelope) => {
                let term = envelope.to_term();
                for clause in clauses {
                    let mut bound = HashMap::new();
                    if self.matches(&clause.params[0], &term, &mut bound)? {
                        self.env.vars.extend(bound);
                        return self.eval(&clause.body).await;
                    }
                }
                Ok(Term::nil())
            }
            None => match after {
                Some((_, body)) => self.eval(body).await,
                None => Ok(Term::nil()),
            },
        }
    }

    fn for_loop<'b>(
        &'b mut self,
        qs: &'b [Qualifier],
        body: &'b Expr,
        out: &'b mut Vec<Term>,
    ) -> BoxFuture<'b, Result<(), ExitReason>> {
        Box::pin(async move {
            let Some((first, rest)) = qs.split_first() else {
                out.push(self.eval(body).await?);
                return Ok(());
            };
            match first {
                Qualifier::Filter(f) => {
                    if self.eval(f).await?.truthy() {
                        self.for_loop(rest, body, out).await?;
                    }
                }
                Qualifier::Generator { pattern, source } => {
                    let source = self.eval(source).await?;
                    let items = enumerate(&source)?;
                    let saved = self.env.vars.clone();
                    for item in items {
                        let mut bound = HashMap::new();
                        if self.matches(pattern, &item, &mut bound)? {
                            self.env.vars.extend(bound);
                            self.for_loop(rest, body, out).await?;
                            self.env.vars = saved.clone();
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// Matches a pattern, collecting new bindings; `Ok(false)` on no match.
    pub fn matches(
        &self,
        pat: &Expr,
        v: &Term,
        bound: &mut HashMap<String, Term>,
    ) -> Result<bool, ExitReason> {
        // A pin of a variable never bound is an error of the code, found before any match
        // is tried, as Elixir's compiler finds it: not a `MatchError`.
        if let Some(name) = unbound_pin(pat, &self.env.vars) {
            return Err(undefined_var(name));
        }
        Ok(match_pattern(pat, v, &self.env.vars, bound))
    }
}

/// The first variable a pattern pins that is not bound, walking what [`match_pattern`] walks.
fn unbound_pin<'p>(pat: &'p Expr, vars: &BTreeMap<String, Term>) -> Option<&'p str> {
    let first = |items: &'p [Expr]| items.iter().find_map(|p| unbound_pin(p, vars));
    match &pat.kind {
        ExprKind::Pin(name) => (!vars.contains_key(name)).then_some(name.as_str()),
        ExprKind::Tuple(items) => first(items),
        ExprKind::List { items, tail } => {
            first(items).or_else(|| tail.as_deref().and_then(|t| unbound_pin(t, vars)))
        }
        ExprKind::Map(pairs) => pairs.iter().find_map(|(_, p)| unbound_pin(p, vars)),
        ExprKind::Match(a, b) => unbound_pin(a, vars).or_else(|| unbound_pin(b, vars)),
        _ => None,
    }
}

/// Whether a pattern matches, without binding (for selective receive).
fn pattern_matches(pat: &Expr, v: &Term, vars: &BTreeMap<String, Term>) -> bool {
    match_pattern(pat, v, vars, &mut HashMap::new())
}

fn match_pattern(
    pat: &Expr,
    v: &Term,
    vars: &BTreeMap<String, Term>,
    bound: &mut HashMap<String, Term>,
) -> bool {
    match &pat.kind {
        ExprKind::Var(name) if name.starts_with('_') => true,
        ExprKind::Var(name) => match bound.get(name) {
            Some(prev) => prev == v,
            None => {
                bound.insert(name.clone(), v.clone());
                true
            }
        },
        ExprKind::Pin(name) => vars.get(name) == Some(v),
        ExprKind::Int(i) => *v == Term::Int(*i),
        ExprKind::Float(f) => *v == Term::Float(*f),
        ExprKind::Atom(a) => matches!(v, Term::Atom(x) if x.as_str() == a),
        ExprKind::Alias(parts) => {
            matches!(v, Term::Atom(x) if x.as_str() == format!("Elixir.{}", parts.join(".")))
        }
        ExprKind::Str(parts) => match (parts.as_slice(), v) {
            ([], Term::Str(s)) => s.is_empty(),
            ([StrPart::Lit(l)], Term::Str(s)) => **s == **l,
            _ => false,
        },
        ExprKind::Date(d) => *v == Term::Date(*d),
        ExprKind::Pid(p) => *v == Term::Pid(*p),
        ExprKind::Tuple(items) => match v {
            Term::Tuple(vs) => {
                items.len() == vs.len()
                    && items
                        .iter()
                        .zip(vs)
                        .all(|(p, x)| match_pattern(p, x, vars, bound))
            }
            _ => false,
        },
        ExprKind::List { items, tail } => match v {
            Term::List(vs) => match tail {
                None => {
                    items.len() == vs.len()
                        && items
                            .iter()
                            .zip(vs)
                            .all(|(p, x)| match_pattern(p, x, vars, bound))
                }
                Some(t) => {
                    vs.len() >= items.len()
                        && items
                            .iter()
                            .zip(vs)
                            .all(|(p, x)| match_pattern(p, x, vars, bound))
                        && match_pattern(t, &Term::List(vs[items.len()..].into()), vars, bound)
                }
            },
            _ => false,
        },
        ExprKind::Map(pairs) => pairs.iter().all(|(k, p)| {
            let key = match &k.kind {
                ExprKind::Atom(a) => Atom::new(a).map(Term::Atom).ok(),
                ExprKind::Str(parts) => match parts.as_slice() {
                    [StrPart::Lit(l)] => Some(Term::str(l)),
                    _ => None,
                },
                ExprKind::Int(i) => Some(Term::Int(*i)),
                _ => None,
            };
            match (key, v) {
                (Some(key), Term::Map(m)) => m
                    .get(&key)
                    .is_some_and(|x| match_pattern(p, x, vars, bound)),
                (Some(Term::Atom(a)), Term::Struct(s)) => s
                    .fields
                    .iter()
                    .find(|(k, _)| *k == a)
                    .is_some_and(|(_, x)| match_pattern(p, x, vars, bound)),
                _ => false,
            }
        }),
        ExprKind::Unary(UnOp::Neg, inner) => match &inner.kind {
            ExprKind::Int(i) => *v == Term::Int(-i),
            ExprKind::Float(f) => *v == Term::Float(-f),
            _ => false,
        },
        ExprKind::Match(a, b) => {
            match_pattern(a, v, vars, bound) && match_pattern(b, v, vars, bound)
        }
        _ => false,
    }
}

fn strict_bool(t: &Term) -> Result<bool, ExitReason> {
    match t {
        Term::Atom(a) if a.as_str() == "true" => Ok(true),
        Term::Atom(a) if a.as_str() == "false" => Ok(false),
        _ => Err(raise(
            "BadBooleanError",
            format!("expected a boolean on left-side of \"and\"/\"or\", got: {t}"),
        )),
    }
}

fn arith(t: &Term) -> ExitReason {
    raise(
        "ArithmeticError",
        format!("bad argument in arithmetic expression: {t}"),
    )
}

/// A pin of a variable that is not bound, in iex 1.14's words.
fn undefined_var(name: &str) -> ExitReason {
    compile_error(format_args!(
        "undefined variable ^{name}. No variable \"{name}\" has been defined before the current pattern"
    ))
}

fn binary_values(op: BinOp, a: Term, b: Term) -> R {
    use Term::{Float, Int};
    let num = |x: &Term| match x {
        Int(i) => Some(*i as f64),
        Float(f) => Some(*f),
        _ => None,
    };
    Ok(match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul => match (&a, &b) {
            (Int(x), Int(y)) => Int(match op {
                BinOp::Add => x.checked_add(*y),
                BinOp::Sub => x.checked_sub(*y),
                _ => x.checked_mul(*y),
            }
            .ok_or_else(|| {
                raise(
                    "ArithmeticError",
                    "integer overflow (otplab integers are 64-bit)",
                )
            })?),
            _ => match (num(&a), num(&b)) {
                (Some(x), Some(y)) => Float(match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    _ => x * y,
                }),
                _ => {
                    return Err(ExitReason::badarith(op.text(), &[&a, &b]));
                }
            },
        },
        BinOp::Div => match (num(&a), num(&b)) {
            (Some(x), Some(y)) if y != 0.0 => Float(x / y),
            _ => {
                return Err(ExitReason::badarith("/", &[&a, &b]));
            }
        },
        BinOp::Eq => Term::bool(loose_eq(&a, &b)),
        BinOp::Ne => Term::bool(!loose_eq(&a, &b)),
        BinOp::StrictEq => Term::bool(a == b),
        BinOp::StrictNe => Term::bool(a != b),
        BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
            let ord = match (num(&a), num(&b)) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                _ => a.cmp(&b),
            };
            Term::bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Gt => ord.is_gt(),
                BinOp::Le => ord.is_le(),
                _ => ord.is_ge(),
            })
        }
        BinOp::Concat => match (&a, &b) {
            (Term::Str(x), Term::Str(y)) => Term::str(format!("{x}{y}")),
            _ => {
                return Err(arg_error(format!(
                    "expected binary arguments to <>, got: {a} <> {b}"
                )));
            }
        },
        BinOp::ListConcat => match (a, b) {
            (Term::List(x), Term::List(y)) => {
                let mut x = x.into_vec();
                x.extend(y);
                Term::list(x)
            }
            (a, b) => return Err(arg_error(format!("expected lists for ++, got: {a} ++ {b}"))),
        },
        BinOp::ListSub => match (a, b) {
            (Term::List(x), Term::List(y)) => {
                let mut x = x.into_vec();
                for item in y {
                    if let Some(i) = x.iter().position(|e| *e == item) {
                        x.remove(i);
                    }
                }
                Term::list(x)
            }
            (a, b) => return Err(arg_error(format!("expected lists for --, got: {a} -- {b}"))),
        },
        BinOp::In | BinOp::NotIn => {
            let found = enumerate(&b)?.iter().any(|x| loose_eq(x, &a));
            Term::bool(if op == BinOp::In { found } else { !found })
        }
        BinOp::AndAnd | BinOp::OrOr | BinOp::And | BinOp::Or | BinOp::Pipe => {
            unreachable!("handled before")
        }
    })
}
