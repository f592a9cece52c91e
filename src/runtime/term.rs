//! `Term`: the one value type of the runtime. Messages, replies, exit reasons and state snapshots
//! are terms, as on the BEAM, so the shell can send anything, print any mailbox and show any
//! server's state with `:sys.get_state`. The `Display` impl is Elixir's `inspect` without colour;
//! the shell's printer adds colour and line breaking on top of it.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock, RwLock};

pub use super::date::Date;
use super::exit::ExitReason;
use super::pid::{Pid, Ref};
use super::process::Process;
pub use super::term_map::TermMap;

/// The largest number of distinct atoms a node will create, as the BEAM's atom table limit:
/// atoms are never freed, so hostile input must not be able to create them without bound.
pub const MAX_ATOMS: usize = 1_048_576;

/// An interned atom. Atoms are compared by their text, so literals need no interning;
/// atoms made from runtime text go through [`Atom::new`], which leaks each distinct text once.
#[derive(Clone, Copy, Eq)]
pub struct Atom(&'static str);

impl Atom {
    /// An atom from a literal, without touching the atom table.
    pub const fn from_static(text: &'static str) -> Atom {
        Atom(text)
    }

    /// An atom from runtime text. Fails with `system_limit` once the atom table is full.
    pub fn new(text: &str) -> Result<Atom, ExitReason> {
        static TABLE: OnceLock<RwLock<HashMap<&'static str, ()>>> = OnceLock::new();
        let table = TABLE.get_or_init(Default::default);
        if let Some((k, _)) = table.read().unwrap().get_key_value(text) {
            return Ok(Atom(k));
        }
        let mut w = table.write().unwrap();
        if let Some((k, _)) = w.get_key_value(text) {
            return Ok(Atom(k));
        }
        if w.len() >= MAX_ATOMS {
            return Err(ExitReason::atom("system_limit"));
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        w.insert(leaked, ());
        Ok(Atom(leaked))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}
impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}
impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(other.0)
    }
}
impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{}", self.0)
    }
}

/// The future a [`Fun`] returns when called.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The body of a function value: it runs inside the calling process, so it can receive,
/// call and spawn as that process.
pub type FunBody = dyn for<'a> Fn(&'a mut Process, Vec<Term>) -> BoxFuture<'a, Result<Term, ExitReason>>
    + Send
    + Sync;

/// A function value (`fn -> ... end`), callable from any process. One pointer: a fun's
/// fields inline made it the largest variant of [`Term`], and every term paid for it (56
/// bytes a term instead of 48).
#[derive(Clone)]
pub struct Fun {
    inner: Arc<FunInner>,
}

struct FunInner {
    arity: usize,
    /// What `inspect` shows inside `#Function<…>`.
    label: Arc<str>,
    id: u64,
    body: Arc<FunBody>,
}

impl Fun {
    pub fn new(arity: usize, label: impl Into<Arc<str>>, body: Arc<FunBody>) -> Fun {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Fun {
            inner: Arc::new(FunInner {
                arity,
                label: label.into(),
                id: NEXT.fetch_add(1, AtomicOrdering::Relaxed),
                body,
            }),
        }
    }

    pub fn arity(&self) -> usize {
        self.inner.arity
    }

    fn id(&self) -> u64 {
        self.inner.id
    }

    /// Calls the function as the process `process`.
    pub async fn call(&self, process: &mut Process, args: Vec<Term>) -> Result<Term, ExitReason> {
        if args.len() != self.arity() {
            return Err(ExitReason::exception(
                "BadArityError",
                format!(
                    "{} with arity {} called with {} argument{}",
                    self,
                    self.arity(),
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        (self.inner.body)(process, args).await
    }
}

impl fmt::Display for Fun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "#Function<{}.{}/{}>", i.id, i.label, i.arity)
    }
}

/// A Rust value riding inside a term, for messages whose payload is code (a child spec
/// handed to a dynamic supervisor). Compared by identity. The label and the value share one
/// allocation behind one (wide) pointer: a label beside the pointer made it 32 bytes, and
/// every term paid for it.
#[derive(Clone)]
pub struct Opaque {
    cell: Arc<OpaqueCell<dyn std::any::Any + Send + Sync>>,
}

struct OpaqueCell<T: ?Sized> {
    /// What `inspect` shows inside `#Opaque<…>`.
    label: &'static str,
    value: T,
}

impl Opaque {
    pub fn new<T: std::any::Any + Send + Sync>(label: &'static str, value: T) -> Opaque {
        Opaque {
            cell: Arc::new(OpaqueCell { label, value }),
        }
    }
    pub fn label(&self) -> &'static str {
        self.cell.label
    }
    pub fn downcast<T: std::any::Any>(&self) -> Option<&T> {
        self.cell.value.downcast_ref()
    }
    fn addr(&self) -> usize {
        Arc::as_ptr(&self.cell) as *const () as usize
    }
}

/// A struct such as `%Todo.List{next_id: 2, entries: %{}}`. It sits behind a pointer in
/// [`Term::Struct`]: inline, its name and fields made every term 40 bytes instead of 32. The
/// pointer is shared, as strings are, because a term is never changed in place.
#[derive(Clone)]
pub struct Struct {
    pub name: Atom,
    /// The fields in their definition order.
    pub fields: Vec<(Atom, Term)>,
}

/// A value of the runtime, mirroring the BEAM's terms.
///
/// 24 bytes: a tag and at most two words. Tuples and lists hold a boxed slice, not a `Vec`
/// (a term is never changed in place, so the capacity word would only be paid for), and a
/// map its sorted pairs ([`TermMap`]); with a `Vec` or a `BTreeMap` of three words inline
/// every term was 32 bytes, and every element of every tuple, list and map paid for it
/// (issue 18: a queued `{:store, i, "data"}` is three terms).
#[derive(Clone)]
pub enum Term {
    Int(i64),
    Float(f64),
    Atom(Atom),
    Ref(Ref),
    Fun(Fun),
    Opaque(Opaque),
    Pid(Pid),
    Tuple(Box<[Term]>),
    Map(TermMap),
    /// A struct; build one with [`Term::structure`].
    Struct(Arc<Struct>),
    Date(Date),
    List(Box<[Term]>),
    Str(Arc<str>),
    Binary(Arc<[u8]>),
}

/// Shorthand for an atom term.
pub fn atom(text: &'static str) -> Term {
    Term::Atom(Atom::from_static(text))
}

/// Shorthand for a tuple term.
#[macro_export]
macro_rules! tuple {
    ($($e:expr),* $(,)?) => { $crate::runtime::Term::tuple(vec![$($crate::runtime::Term::from($e)),*]) };
}

impl Term {
    /// A tuple of these elements. A `Vec` built with `vec![...]` or collected from an
    /// iterator of known length becomes the boxed slice without copying.
    #[inline]
    pub fn tuple(items: Vec<Term>) -> Term {
        Term::Tuple(items.into_boxed_slice())
    }
    /// A list of these elements.
    #[inline]
    pub fn list(items: Vec<Term>) -> Term {
        Term::List(items.into_boxed_slice())
    }
    /// A map term, from a `TermMap` or a `BTreeMap`.
    pub fn map(map: impl Into<TermMap>) -> Term {
        Term::Map(map.into())
    }
    pub fn ok() -> Term {
        atom("ok")
    }
    pub fn nil() -> Term {
        atom("nil")
    }
    pub fn bool(b: bool) -> Term {
        atom(if b { "true" } else { "false" })
    }
    pub fn str(text: impl AsRef<str>) -> Term {
        Term::Str(Arc::from(text.as_ref()))
    }
    /// `{:ok, value}`.
    pub fn ok_tuple(value: impl Into<Term>) -> Term {
        Term::tuple(vec![Term::ok(), value.into()])
    }
    /// `{:error, reason}`.
    pub fn error_tuple(reason: impl Into<Term>) -> Term {
        Term::tuple(vec![atom("error"), reason.into()])
    }
    /// A keyword list `[a: 1, b: 2]`.
    pub fn keyword(pairs: Vec<(&'static str, Term)>) -> Term {
        Term::List(
            pairs
                .into_iter()
                .map(|(k, v)| Term::tuple(vec![atom(k), v]))
                .collect(),
        )
    }
    /// A struct `%Name{field: value}`; fields keep the order given.
    pub fn structure(name: Atom, fields: Vec<(Atom, Term)>) -> Term {
        Term::Struct(Arc::new(Struct { name, fields }))
    }
    /// A map with atom keys, `%{date: ..., title: ...}`.
    pub fn atom_map(pairs: Vec<(&'static str, Term)>) -> Term {
        Term::Map(pairs.into_iter().map(|(k, v)| (atom(k), v)).collect())
    }

    pub fn is_atom(&self, text: &str) -> bool {
        matches!(self, Term::Atom(a) if a.as_str() == text)
    }
    pub fn as_atom(&self) -> Option<Atom> {
        match self {
            Term::Atom(a) => Some(*a),
            _ => None,
        }
    }
    pub fn as_pid(&self) -> Option<Pid> {
        match self {
            Term::Pid(p) => Some(*p),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Term::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }
    /// Elixir truthiness: everything but `nil` and `false`.
    pub fn truthy(&self) -> bool {
        !(self.is_atom("nil") || self.is_atom("false"))
    }
    /// A field of a map or struct by atom key.
    pub fn get(&self, key: &str) -> Option<&Term> {
        match self {
            Term::Map(m) => m.iter().find(|(k, _)| k.is_atom(key)).map(|(_, v)| v),
            Term::Struct(s) => s
                .fields
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }
    /// The tag of a tagged tuple: `{:tag, ...}`.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Term::Tuple(t) => t.first().and_then(|f| f.as_atom()).map(|a| a.as_str()),
            _ => None,
        }
    }

    fn class(&self) -> u8 {
        match self {
            Term::Int(_) | Term::Float(_) => 0,
            Term::Atom(_) => 1,
            Term::Ref(_) => 2,
            Term::Fun(_) => 3,
            Term::Opaque(_) => 4,
            Term::Pid(_) => 5,
            Term::Tuple(_) => 6,
            Term::Map(_) | Term::Struct(..) | Term::Date(_) => 7,
            Term::List(_) => 8,
            Term::Str(_) | Term::Binary(_) => 9,
        }
    }

    fn subclass(&self) -> u8 {
        match self {
            Term::Map(_) => 0,
            Term::Struct(..) => 1,
            _ => 2,
        }
    }

    /// A rough heap size in bytes, for `Process.info(pid, :memory)`.
    pub fn size_estimate(&self) -> usize {
        let own = std::mem::size_of::<Term>();
        own + match self {
            Term::Tuple(v) | Term::List(v) => v.iter().map(Term::size_estimate).sum(),
            Term::Map(m) => m
                .iter()
                .map(|(k, v)| k.size_estimate() + v.size_estimate() + 16)
                .sum(),
            Term::Struct(s) => s.fields.iter().map(|(_, v)| v.size_estimate() + 16).sum(),
            Term::Str(s) => s.len() + 16,
            Term::Binary(b) => b.len() + 16,
            _ => 0,
        }
    }
}

impl From<i64> for Term {
    fn from(i: i64) -> Term {
        Term::Int(i)
    }
}
impl From<usize> for Term {
    fn from(i: usize) -> Term {
        Term::Int(i as i64)
    }
}
impl From<i32> for Term {
    fn from(i: i32) -> Term {
        Term::Int(i as i64)
    }
}
impl From<f64> for Term {
    fn from(f: f64) -> Term {
        Term::Float(f)
    }
}
impl From<bool> for Term {
    fn from(b: bool) -> Term {
        Term::bool(b)
    }
}
impl From<&str> for Term {
    fn from(s: &str) -> Term {
        Term::str(s)
    }
}
impl From<String> for Term {
    fn from(s: String) -> Term {
        Term::Str(Arc::from(s))
    }
}
impl From<Pid> for Term {
    fn from(p: Pid) -> Term {
        Term::Pid(p)
    }
}
impl From<Ref> for Term {
    fn from(r: Ref) -> Term {
        Term::Ref(r)
    }
}
impl From<Atom> for Term {
    fn from(a: Atom) -> Term {
        Term::Atom(a)
    }
}
impl From<Date> for Term {
    fn from(d: Date) -> Term {
        Term::Date(d)
    }
}
impl From<Vec<Term>> for Term {
    fn from(v: Vec<Term>) -> Term {
        Term::list(v)
    }
}

/// Equality is the term order's `Equal`, with shortcuts for the shapes keys have (a
/// registry's `{:todo_server, "list N"}`): comparing for order reads an atom's and a
/// string's bytes up to their first difference, where equality can stop at a shared
/// pointer or a length that differs. Every other pair falls back to the order, so the two
/// never disagree.
impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        use Term::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (Atom(a), Atom(b)) => a == b,
            (Pid(a), Pid(b)) => a == b,
            (Tuple(a), Tuple(b)) | (List(a), List(b)) => a == b,
            (Str(a), Str(b)) => Arc::ptr_eq(a, b) || a.as_bytes() == b.as_bytes(),
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}
impl Eq for Term {}
impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Erlang's term order (number < atom < reference < fun < pid < tuple < map < list < binary),
/// made total and consistent with exact equality: `1` and `1.0` are different keys, the integer first.
impl Ord for Term {
    fn cmp(&self, other: &Term) -> Ordering {
        use Term::*;
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Atom(a), Atom(b)) => a.cmp(b),
            (Ref(a), Ref(b)) => a.cmp(b),
            (Fun(a), Fun(b)) => a.id().cmp(&b.id()),
            (Opaque(a), Opaque(b)) => a.addr().cmp(&b.addr()),
            (Pid(a), Pid(b)) => a.cmp(b),
            (Tuple(a), Tuple(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Map(a), Map(b)) => a.len().cmp(&b.len()).then_with(|| a.iter().cmp(b.iter())),
            (Struct(a), Struct(b)) => a.name.cmp(&b.name).then_with(|| a.fields.cmp(&b.fields)),
            (Date(a), Date(b)) => a.cmp(b),
            (Map(_) | Struct(..) | Date(_), Map(_) | Struct(..) | Date(_)) => {
                self.subclass().cmp(&other.subclass())
            }
            (List(a), List(b)) => a.cmp(b),
            (Str(a), Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Binary(a), Binary(b)) => a.cmp(b),
            (Str(a), Binary(b)) => a.as_bytes().cmp(b).then(Ordering::Less),
            (Binary(a), Str(b)) => (**a).cmp(b.as_bytes()).then(Ordering::Greater),
            _ => self.class().cmp(&other.class()),
        }
    }
}

impl Hash for Term {
    fn hash<H: Hasher>(&self, state: &mut H) {
        use Term::*;
        std::mem::discriminant(self).hash(state);
        match self {
            Int(i) => i.hash(state),
            Float(f) => f.to_bits().hash(state),
            Atom(a) => a.hash(state),
            Ref(r) => r.hash(state),
            Fun(f) => f.id().hash(state),
            Opaque(o) => o.addr().hash(state),
            Pid(p) => p.hash(state),
            Tuple(v) | List(v) => v.hash(state),
            Map(m) => m.iter().for_each(|kv| kv.hash(state)),
            Struct(s) => {
                s.name.hash(state);
                s.fields.hash(state)
            }
            Date(d) => d.hash(state),
            Str(s) => s.hash(state),
            Binary(b) => b.hash(state),
        }
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Elixir's `inspect`, without colour.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Int(i) => write!(f, "{i}"),
            Term::Float(x) => f.write_str(&format_float(*x)),
            Term::Atom(a) => f.write_str(&inspect_atom(a.as_str())),
            Term::Ref(r) => write!(f, "{r}"),
            Term::Fun(fun) => write!(f, "{fun}"),
            Term::Opaque(o) => write!(f, "#Opaque<{}>", o.label()),
            Term::Pid(p) => write!(f, "{p}"),
            Term::Date(d) => write!(f, "{d}"),
            Term::Str(s) => f.write_str(&inspect_str(s)),
            Term::Binary(b) => {
                f.write_str("<<")?;
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{byte}")?;
                }
                f.write_str(">>")
            }
            Term::Tuple(items) => {
                f.write_char('{')?;
                write_seq(f, items)?;
                f.write_char('}')
            }
            Term::List(items) => {
                f.write_char('[')?;
                if is_keyword(items) {
                    for (i, item) in items.iter().enumerate() {
                        let Term::Tuple(kv) = item else {
                            unreachable!()
                        };
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(
                            f,
                            "{} {}",
                            key_label(kv[0].as_atom().unwrap().as_str()),
                            kv[1]
                        )?;
                    }
                } else {
                    write_seq(f, items)?;
                }
                f.write_char(']')
            }
            Term::Map(m) => {
                f.write_str("%{")?;
                let atom_keys = m.keys().all(|k| matches!(k, Term::Atom(_)));
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if atom_keys {
                        write!(f, "{} {v}", key_label(k.as_atom().unwrap().as_str()))?;
                    } else {
                        write!(f, "{k} => {v}")?;
                    }
                }
                f.write_char('}')
            }
            Term::Struct(s) => {
                write!(f, "%{}{{", s.name.as_str())?;
                for (i, (k, v)) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {v}", key_label(k.as_str()))?;
                }
                f.write_char('}')
            }
        }
    }
}

fn write_seq(f: &mut fmt::Formatter<'_>, items: &[Term]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A non-empty list of `{atom, value}` pairs prints as a keyword list.
pub fn is_keyword(items: &[Term]) -> bool {
    !items.is_empty()
        && items.iter().all(
            |t| matches!(t, Term::Tuple(kv) if kv.len() == 2 && matches!(kv[0], Term::Atom(_))),
        )
}

/// Shortest round-trip float text with Elixir's `.0` and `e` conventions.
pub fn format_float(x: f64) -> String {
    if x.is_nan() || x.is_infinite() {
        return format!("{x}");
    }
    let s = format!("{x:?}");
    if let Some((mantissa, exp)) = s.split_once('e') {
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}e{exp}")
    } else {
        s
    }
}

/// Whether an atom's text can be written bare after a colon (`:ok`, `:todo_cache`, `:"a b"`),
/// and so as a keyword key (`date:`).
pub fn atom_is_plain(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_alphabetic() || first == '_') {
        return false;
    }
    let rest: Vec<char> = chars.collect();
    let body_ok = |c: &char| c.is_alphanumeric() || *c == '_' || *c == '@';
    match rest.split_last() {
        None => true,
        Some((last, init)) => {
            init.iter().all(body_ok) && (body_ok(last) || *last == '?' || *last == '!')
        }
    }
}

/// `:ok`, `true`, `nil`, `Todo.Server` (aliases), or `:"quoted text"`.
pub fn inspect_atom(text: &str) -> String {
    match text {
        "true" | "false" | "nil" => text.to_string(),
        _ if text.starts_with("Elixir.") => text["Elixir.".len()..].to_string(),
        _ if atom_is_plain(text) => format!(":{text}"),
        _ => format!(":{}", inspect_str(text)),
    }
}

/// The key of a keyword pair or atom-keyed map: `date:` or `"a b":`.
fn key_label(text: &str) -> String {
    if atom_is_plain(text) {
        format!("{text}:")
    } else {
        format!("{}:", inspect_str(text))
    }
}

/// A string in double quotes with every control character and every character that can
/// reorder or hide text (bidi overrides, zero-width marks) escaped, so no text of a user's or
/// a file's ever reaches the terminal raw.
pub fn inspect_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            '\0' => out.push_str("\\0"),
            '#' => out.push('#'),
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters that must never reach a terminal raw.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

/// Escapes text for printing outside quotes (names in reports): unsafe characters become
/// `\u{…}`, everything else is kept.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:X}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// A string as a JSON string literal, for the hand-formatted JSON of `bench --json` and
/// `check --json`.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn check(term: Term, expected: &str) {
        assert_eq!(term.to_string(), expected);
    }

    #[test]
    fn equality_agrees_with_the_term_order_and_the_hash() {
        use std::hash::BuildHasher;
        let name = Term::str("list 1");
        let terms = vec![
            Term::Int(1),
            Term::Float(1.0),
            Term::Int(2),
            atom("todo_server"),
            Term::Atom(Atom::new("todo_server").unwrap()),
            Term::Pid(Pid(7)),
            name.clone(),
            Term::str("list 1"),
            Term::str("list 10"),
            Term::Binary(Arc::from(&b"list 1"[..])),
            Term::tuple(vec![atom("todo_server"), name.clone()]),
            Term::tuple(vec![atom("todo_server"), Term::str("list 1")]),
            Term::tuple(vec![atom("todo_server"), Term::str("list 2")]),
            Term::tuple(vec![atom("todo_server")]),
            Term::list(vec![atom("todo_server"), name]),
            Term::list(vec![]),
            Term::atom_map(vec![("a", Term::Int(1))]),
            Term::Date(Date::new(2023, 12, 19).unwrap()),
        ];
        let hasher = rustc_hash::FxBuildHasher;
        for a in &terms {
            for b in &terms {
                assert_eq!(a == b, a.cmp(b) == Ordering::Equal, "{a} and {b}");
                if a == b {
                    assert_eq!(hasher.hash_one(a), hasher.hash_one(b), "{a}");
                }
            }
        }
        // The same text under two pointers is one key, a string and a binary are two.
        assert_eq!(terms[3], terms[4]);
        assert_eq!(terms[10], terms[11]);
        assert_ne!(terms[6], terms[9]);
        assert_ne!(terms[0], terms[1]);
    }

    #[test]
    fn inspect_matches_iex() {
        check(Term::ok_tuple(Pid(148)), "{:ok, #PID<0.148.0>}");
        check(
            Term::list(vec![Term::atom_map(vec![
                ("date", Term::Date(Date::new(2023, 12, 19).unwrap())),
                ("id", Term::Int(1)),
                ("title", Term::str("Dentist")),
            ])]),
            r#"[%{date: ~D[2023-12-19], id: 1, title: "Dentist"}]"#,
        );
        check(
            Term::keyword(vec![
                ("message_queue_len", Term::Int(3)),
                ("memory", Term::Int(10)),
            ]),
            "[message_queue_len: 3, memory: 10]",
        );
        check(atom("todo_cache"), ":todo_cache");
        check(atom("true"), "true");
        check(Term::Atom(Atom::new("a b").unwrap()), r#":"a b""#);
        check(Term::str("\u{1b}[31m"), r#""\e[31m""#);
        check(Term::str("a\u{202E}b"), r#""a\u{202E}b""#);
        check(Term::Float(1.0), "1.0");
        check(Term::Float(1e20), "1.0e20");
        let mut m = BTreeMap::new();
        m.insert(Term::str("k"), Term::Int(1));
        check(Term::map(m), r#"%{"k" => 1}"#);
    }

    #[test]
    fn term_order_follows_erlang() {
        assert!(Term::Int(1) < atom("a"));
        assert!(atom("z") < Term::Pid(Pid(1)));
        assert!(Term::Pid(Pid(1)) < Term::tuple(vec![]));
        assert!(Term::tuple(vec![]) < Term::list(vec![]));
        assert!(Term::list(vec![]) < Term::str(""));
        assert_ne!(Term::Int(1), Term::Float(1.0));
        assert!(Term::Int(1) < Term::Float(1.0));
        assert!(Term::Float(0.5) < Term::Int(1));
    }

    /// Every tuple element, list element and map key and value is a `Term`, and so is every
    /// queued message: flood's memory per queued cast `{:store, i, "data"}` is an envelope
    /// plus three terms, so each byte of a term is paid three times a message (issue 18).
    /// A tag and two words: a `Vec` inline in a tuple or a list made it 32.
    #[test]
    fn a_term_is_at_most_24_bytes() {
        let size = std::mem::size_of::<Term>();
        assert!(size <= 24, "a Term is {size} bytes");
    }

    /// A tuple's elements are one allocation of exactly their size: `{:store, i, "data"}`
    /// is 72 bytes of terms, which the allocator rounds to 80.
    #[test]
    fn a_tuple_holds_exactly_its_elements() {
        let t = Term::tuple(vec![atom("store"), Term::Int(1), Term::str("data")]);
        let Term::Tuple(items) = &t else {
            unreachable!()
        };
        assert_eq!(std::mem::size_of_val::<[Term]>(items), 72);
        assert_eq!(t.to_string(), r#"{:store, 1, "data"}"#);
    }

    #[test]
    fn dates_are_validated() {
        assert_eq!(Date::parse("2023-12-19"), Date::new(2023, 12, 19));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2024-02-29").map(|d| d.day), Some(29));
        assert_eq!(Date::parse("2023-1-19"), None);
    }
}

/// The serialisable form of a term: what `:erlang.term_to_binary` encodes and what the
/// persist folder stores. Functions and opaque values have no external form.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Wire {
    Int(i64),
    Float(f64),
    Atom(String),
    Ref(u64),
    Pid(u64),
    Tuple(Vec<Wire>),
    Map(Vec<(Wire, Wire)>),
    Struct(String, Vec<(String, Wire)>),
    Date(Date),
    List(Vec<Wire>),
    Str(String),
    Binary(Vec<u8>),
}

impl Term {
    /// The external form, or the reason there is none (a function, an opaque value).
    pub fn to_wire(&self) -> Result<Wire, ExitReason> {
        Ok(match self {
            Term::Int(i) => Wire::Int(*i),
            Term::Float(f) => Wire::Float(*f),
            Term::Atom(a) => Wire::Atom(a.as_str().to_string()),
            Term::Ref(r) => Wire::Ref(r.0),
            Term::Pid(p) => Wire::Pid(p.0),
            Term::Tuple(v) => Wire::Tuple(v.iter().map(Term::to_wire).collect::<Result<_, _>>()?),
            Term::List(v) => Wire::List(v.iter().map(Term::to_wire).collect::<Result<_, _>>()?),
            Term::Map(m) => Wire::Map(
                m.iter()
                    .map(|(k, v)| Ok((k.to_wire()?, v.to_wire()?)))
                    .collect::<Result<_, ExitReason>>()?,
            ),
            Term::Struct(s) => Wire::Struct(
                s.name.as_str().to_string(),
                s.fields
                    .iter()
                    .map(|(k, v)| Ok((k.as_str().to_string(), v.to_wire()?)))
                    .collect::<Result<_, ExitReason>>()?,
            ),
            Term::Date(d) => Wire::Date(*d),
            Term::Str(s) => Wire::Str(s.to_string()),
            Term::Binary(b) => Wire::Binary(b.to_vec()),
            Term::Fun(_) | Term::Opaque(_) => {
                return Err(ExitReason::exception(
                    "ArgumentError",
                    format!("{self} has no external term format"),
                ));
            }
        })
    }

    /// The term back from its external form. Atoms count against the atom table.
    pub fn from_wire(wire: Wire) -> Result<Term, ExitReason> {
        Ok(match wire {
            Wire::Int(i) => Term::Int(i),
            Wire::Float(f) => Term::Float(f),
            Wire::Atom(a) => Term::Atom(Atom::new(&a)?),
            Wire::Ref(r) => Term::Ref(Ref(r)),
            Wire::Pid(p) => Term::Pid(Pid(p)),
            Wire::Tuple(v) => Term::Tuple(
                v.into_iter()
                    .map(Term::from_wire)
                    .collect::<Result<_, _>>()?,
            ),
            Wire::List(v) => Term::List(
                v.into_iter()
                    .map(Term::from_wire)
                    .collect::<Result<_, _>>()?,
            ),
            Wire::Map(m) => Term::Map(
                m.into_iter()
                    .map(|(k, v)| Ok((Term::from_wire(k)?, Term::from_wire(v)?)))
                    .collect::<Result<_, ExitReason>>()?,
            ),
            Wire::Struct(n, f) => Term::structure(
                Atom::new(&n)?,
                f.into_iter()
                    .map(|(k, v)| Ok((Atom::new(&k)?, Term::from_wire(v)?)))
                    .collect::<Result<_, ExitReason>>()?,
            ),
            Wire::Date(d) => Term::Date(
                Date::new(d.year, d.month, d.day)
                    .ok_or_else(|| ExitReason::exception("ArgumentError", "invalid date"))?,
            ),
            Wire::Str(s) => Term::Str(Arc::from(s)),
            Wire::Binary(b) => Term::Binary(Arc::from(b)),
        })
    }
}
