//! How the shell shows values and parse errors, as iex does: `inspect` with iex's default
//! syntax colours (atoms cyan, numbers yellow, strings green, booleans and nil magenta) and iex's
//! pretty-printing, which breaks a result wider than 80 columns across lines; and the one-line
//! `** (SyntaxError) iex:L:C: …` report. It exists so every byte the shell prints about a value
//! or an input is escaped (no raw control character, no bidi override ever reaches the terminal)
//! and so transcripts match iex's layout.
//!
//! The layout follows Elixir's `Inspect.Algebra` (Lindig's "Strictly Pretty" with flex breaks):
//! lists of simple items and tuples fill lines (`[1, 2, …,\n 23, …]`, indent 1); lists holding
//! containers, keyword lists, maps and structs put one item per line with a 2-space indent and the
//! closing bracket on its own line. A group is laid flat when it fits in the remaining width. Like
//! iex, collections show at most 50 items, then `...`. Without colour and within 80 columns the
//! output is exactly `Term`'s `Display`.

use owo_colors::OwoColorize;

use crate::runtime::Term;
use crate::runtime::term::{
    atom_is_plain, escape_text, format_float, inspect_atom, inspect_str, is_keyword,
};
use crate::shell::parser::ParseError;

/// iex's default width.
pub const WIDTH: usize = 80;
/// iex's default `:limit`: items shown per collection.
pub const LIMIT: usize = 50;
/// Deeper terms print `...` (the terms of the shell are far shallower; this bounds recursion).
const MAX_DEPTH: usize = 256;

/// `text` in at most `columns` chars: when it is longer, cut with `…` as its last char, so a
/// reader sees that something is missing. Chars stand for columns: the shell's tables and
/// diagrams hold escaped terms and box-drawing characters, one column each.
pub fn cut(text: &str, columns: usize) -> String {
    if text.chars().count() <= columns {
        return text.to_string();
    }
    match columns {
        0 => String::new(),
        n => text.chars().take(n - 1).chain(['…']).collect(),
    }
}

/// Output style.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on (a terminal without NO_COLOR) or off (scripts, pipes, tests).
    pub color: bool,
}

impl Style {
    pub const PLAIN: Style = Style { color: false };
    pub const COLOR: Style = Style { color: true };
}

/// iex's `inspect` of a term, pretty-printed to 80 columns.
pub fn inspect(term: &Term, style: &Style) -> String {
    inspect_width(term, style, WIDTH)
}

/// [`inspect`] for another width (a narrower terminal).
pub fn inspect_width(term: &Term, style: &Style, width: usize) -> String {
    let doc = to_doc(term, *style, 0, LIMIT);
    render(&doc, width)
}

/// A parse error as iex reports it, on one line (plus a hint line when there is a hint):
/// `** (SyntaxError) iex:1:12: unexpected token ")"`. `input` is the text that was parsed, the
/// input of prompt `prompt`: iex numbers an input's lines from its prompt number, so an error
/// on the first line of `iex(3)>` is at `iex:3`. The column is clamped to the line.
pub fn parse_error(err: &ParseError, input: &str, prompt: u32, style: &Style) -> String {
    let line_text = input
        .split('\n')
        .nth(err.line.saturating_sub(1))
        .unwrap_or("");
    let column = err.column.clamp(1, line_text.chars().count() + 1);
    let head = format!(
        "** ({}) iex:{}:{}: {}",
        err.kind.exception(),
        prompt as usize + err.line.saturating_sub(1),
        column,
        escape_text(&err.message)
    );
    let head = if style.color {
        head.red().bold().to_string()
    } else {
        head
    };
    match &err.hint {
        Some(h) => format!("{head}\n    hint: {}", escape_text(h)),
        None => head,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Paint {
    Atom,
    Number,
    Str,
    Magenta,
}

/// A layout document.
enum Doc {
    /// Text as printed (colour codes included) and its width in columns.
    Text(String, usize),
    Concat(Vec<Doc>),
    Nest(usize, Box<Doc>),
    /// A break that is the given text when its group is flat and a newline otherwise.
    Break(&'static str),
    /// A break decided on its own: a newline only when what follows does not fit.
    Flex(&'static str),
    Group(Box<Doc>),
}

fn text(s: impl Into<String>) -> Doc {
    let s = s.into();
    let w = s.chars().count();
    Doc::Text(s, w)
}

fn paint(s: String, paint: Paint, style: Style) -> Doc {
    let w = s.chars().count();
    if !style.color {
        return Doc::Text(s, w);
    }
    let colored = match paint {
        Paint::Atom => s.cyan().to_string(),
        Paint::Number => s.yellow().to_string(),
        Paint::Str => s.green().to_string(),
        Paint::Magenta => s.magenta().to_string(),
    };
    Doc::Text(colored, w)
}

fn is_simple(d: &Doc) -> bool {
    match d {
        Doc::Text(..) => true,
        Doc::Concat(v) => v.iter().all(is_simple),
        _ => false,
    }
}

fn key_doc(key: &str, style: Style) -> Doc {
    let label = if atom_is_plain(key) {
        format!("{key}:")
    } else {
        format!("{}:", inspect_str(key))
    };
    paint(label, Paint::Atom, style)
}

fn atom_doc(a: &str, style: Style) -> Doc {
    let p = match a {
        "true" | "false" | "nil" => Paint::Magenta,
        _ => Paint::Atom,
    };
    paint(inspect_atom(a), p, style)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Flex when every item is simple, one per line otherwise (lists).
    Maybe,
    /// Always fill lines (tuples).
    Flex,
    /// Always one per line when broken (maps, keyword lists, structs).
    Strict,
}

/// Builds the item docs of a collection under the remaining `limit`, as Elixir's
/// `container_each`: each item uses up one unit, and nested items see what is left.
fn items<'a, T: 'a>(
    iter: impl Iterator<Item = T>,
    limit: usize,
    mut each: impl FnMut(T, usize) -> Doc,
) -> (Vec<Doc>, bool) {
    let mut left = limit;
    let mut docs = Vec::new();
    for item in iter {
        if left == 0 {
            return (docs, true);
        }
        left -= 1;
        docs.push(each(item, left));
    }
    (docs, false)
}

fn container(
    left: String,
    (mut docs, truncated): (Vec<Doc>, bool),
    right: &str,
    layout: Layout,
) -> Doc {
    if docs.is_empty() && !truncated {
        return text(format!("{left}{right}"));
    }
    if truncated {
        docs.push(text("..."));
    }
    let flex = layout == Layout::Flex || (layout == Layout::Maybe && docs.iter().all(is_simple));
    let mut joined = Vec::with_capacity(docs.len() * 3);
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            joined.push(text(","));
            joined.push(if flex {
                Doc::Flex(" ")
            } else {
                Doc::Break(" ")
            });
        }
        joined.push(d);
    }
    let body = Doc::Concat(joined);
    if flex {
        Doc::Group(Box::new(Doc::Concat(vec![
            text(left),
            Doc::Nest(1, Box::new(body)),
            text(right),
        ])))
    } else {
        Doc::Group(Box::new(Doc::Concat(vec![
            Doc::Nest(
                2,
                Box::new(Doc::Concat(vec![text(left), Doc::Break(""), body])),
            ),
            Doc::Break(""),
            text(right),
        ])))
    }
}

fn to_doc(t: &Term, style: Style, depth: usize, limit: usize) -> Doc {
    if depth > MAX_DEPTH {
        return text("...");
    }
    let child = |t: &Term, limit: usize| to_doc(t, style, depth + 1, limit);
    match t {
        Term::Int(i) => paint(i.to_string(), Paint::Number, style),
        Term::Float(f) => paint(format_float(*f), Paint::Number, style),
        Term::Atom(a) => atom_doc(a.as_str(), style),
        Term::Str(s) => paint(inspect_str(s), Paint::Str, style),
        Term::Tuple(v) => container("{".into(), items(v.iter(), limit, child), "}", Layout::Flex),
        Term::List(v) if is_keyword(v) => container(
            "[".into(),
            items(v.iter(), limit, |kv, l| match kv {
                Term::Tuple(kv) if kv.len() == 2 => {
                    let key = kv[0].as_atom().map(|a| a.as_str()).unwrap_or("");
                    Doc::Concat(vec![key_doc(key, style), text(" "), child(&kv[1], l)])
                }
                other => child(other, l),
            }),
            "]",
            Layout::Strict,
        ),
        Term::List(v) => container(
            "[".into(),
            items(v.iter(), limit, child),
            "]",
            Layout::Maybe,
        ),
        Term::Map(m) => {
            let atom_keys = m.keys().all(|k| matches!(k, Term::Atom(_)));
            container(
                "%{".into(),
                items(m.iter(), limit, |(k, v), l| {
                    if atom_keys {
                        let key = k.as_atom().map(|a| a.as_str()).unwrap_or("");
                        Doc::Concat(vec![key_doc(key, style), text(" "), child(v, l)])
                    } else {
                        Doc::Concat(vec![child(k, l), text(" => "), child(v, l)])
                    }
                }),
                "}",
                Layout::Strict,
            )
        }
        Term::Struct(s) => container(
            format!("%{}{{", escape_text(s.name.as_str())),
            items(s.fields.iter(), limit, |(k, v), l| {
                Doc::Concat(vec![key_doc(k.as_str(), style), text(" "), child(v, l)])
            }),
            "}",
            Layout::Strict,
        ),
        Term::Binary(b) => {
            let (docs, truncated) = items(b.iter(), limit, |byte, _| {
                paint(byte.to_string(), Paint::Number, style)
            });
            if docs.is_empty() && !truncated {
                return text("<<>>");
            }
            let mut inner = Vec::new();
            let n = docs.len();
            for (i, d) in docs.into_iter().enumerate() {
                inner.push(d);
                if i + 1 < n || truncated {
                    inner.push(text(","));
                    inner.push(Doc::Flex(" "));
                }
            }
            if truncated {
                inner.push(text("..."));
            }
            Doc::Group(Box::new(Doc::Concat(vec![
                text("<<"),
                Doc::Nest(2, Box::new(Doc::Concat(inner))),
                text(">>"),
            ])))
        }
        // Pids, references, functions, dates: no colour in iex.
        // Another node's pid, reference, big integer or fun: the text that node shows for it.
        Term::Opaque(_) if crate::dist::foreign(t).is_some() => text(escape_text(
            &crate::dist::foreign(t)
                .map(|f| f.text.clone())
                .unwrap_or_default(),
        )),
        other => text(escape_text(&other.to_string())),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

enum Fit<'d> {
    Doc(Mode, &'d Doc),
    /// The end of a group measured flat: restores whether a break had been seen before it.
    Tail(bool),
}

/// Elixir's `fits?`: whether the content fits in `w` columns from column `k`, stopping at the
/// first break in break mode. A line without any break always "fits" (it has no other choice).
fn fits(
    w: usize,
    mut k: usize,
    mut b: bool,
    first: Option<&Doc>,
    rest: &[(usize, Mode, &Doc)],
) -> bool {
    let mut local: Vec<Fit<'_>> = first.map(|d| Fit::Doc(Mode::Flat, d)).into_iter().collect();
    let mut ri = rest.len();
    loop {
        if k > w && b {
            return false;
        }
        let (m, d) = match local.pop() {
            Some(Fit::Doc(m, d)) => (m, d),
            Some(Fit::Tail(saved)) => {
                b = saved;
                continue;
            }
            None if ri > 0 => {
                ri -= 1;
                (rest[ri].1, rest[ri].2)
            }
            None => return true,
        };
        match d {
            Doc::Text(_, l) => k += l,
            Doc::Concat(v) => local.extend(v.iter().rev().map(|x| Fit::Doc(m, x))),
            Doc::Nest(_, x) => local.push(Fit::Doc(m, x)),
            Doc::Group(x) => {
                local.push(Fit::Tail(b));
                local.push(Fit::Doc(Mode::Flat, x));
            }
            Doc::Break(s) | Doc::Flex(s) => {
                if m == Mode::Break {
                    return true;
                }
                k += s.len();
                b = true;
            }
        }
    }
}

fn render(doc: &Doc, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0usize;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Flat, doc)];
    let newline = |out: &mut String, col: &mut usize, i: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', i));
        *col = i;
    };
    while let Some((i, m, d)) = stack.pop() {
        match d {
            Doc::Text(s, w) => {
                out.push_str(s);
                col += w;
            }
            Doc::Concat(v) => stack.extend(v.iter().rev().map(|x| (i, m, x))),
            Doc::Nest(j, x) => stack.push((i + j, m, x)),
            Doc::Break(s) => {
                if m == Mode::Break {
                    newline(&mut out, &mut col, i);
                } else {
                    out.push_str(s);
                    col += s.len();
                }
            }
            Doc::Flex(s) => {
                let k = col + s.len();
                if m == Mode::Flat || fits(width, k, true, None, &stack) {
                    out.push_str(s);
                    col = k;
                } else {
                    newline(&mut out, &mut col, i);
                }
            }
            Doc::Group(x) => {
                let mode = if fits(width, col, false, Some(x), &[]) {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.push((i, mode, x));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::runtime::term::atom;
    use crate::runtime::{Atom, Date, Pid};
    use crate::shell::parser::parse_line;

    fn date() -> Term {
        Term::Date(Date::new(2023, 12, 19).unwrap())
    }

    fn entry(id: i64, title: &str) -> Term {
        Term::atom_map(vec![
            ("date", date()),
            ("id", Term::Int(id)),
            ("title", Term::str(title)),
        ])
    }

    fn check(term: Term, expected: &str) {
        assert_eq!(inspect(&term, &Style::PLAIN), expected, "term: {term}");
    }

    #[test]
    fn short_results_print_like_display() {
        let cases = vec![
            (Term::ok_tuple(Pid(148)), "{:ok, #PID<0.148.0>}"),
            (Term::Pid(Pid(158)), "#PID<0.158.0>"),
            (atom("ok"), ":ok"),
            (atom("true"), "true"),
            (Term::Int(67), "67"),
            (Term::Float(1.0), "1.0"),
            (
                Term::list(vec![entry(1, "Dentist")]),
                "[%{date: ~D[2023-12-19], id: 1, title: \"Dentist\"}]",
            ),
            (
                Term::tuple(vec![atom("message_queue_len"), Term::Int(99685)]),
                "{:message_queue_len, 99685}",
            ),
            (
                Term::keyword(vec![
                    ("message_queue_len", Term::Int(92587)),
                    ("memory", Term::Int(24800728)),
                ]),
                "[message_queue_len: 92587, memory: 24800728]",
            ),
            (
                Term::keyword(vec![
                    ("status", atom("waiting")),
                    (
                        "current_function",
                        Term::tuple(vec![atom("timer"), atom("sleep"), Term::Int(1)]),
                    ),
                ]),
                "[status: :waiting, current_function: {:timer, :sleep, 1}]",
            ),
            (
                Term::tuple(vec![Term::Int(8986634), Term::Int(1)]),
                "{8986634, 1}",
            ),
            (Term::list(vec![]), "[]"),
            (Term::map(BTreeMap::new()), "%{}"),
            (Term::tuple(vec![]), "{}"),
            (
                Term::str("\u{1b}[31mred\u{202E}"),
                "\"\\e[31mred\\u{202E}\"",
            ),
            (Term::Atom(Atom::new("a b").unwrap()), ":\"a b\""),
        ];
        for (term, expected) in cases {
            assert_eq!(term.to_string(), expected);
            check(term, expected);
        }
    }

    #[test]
    fn long_lists_of_numbers_fill_lines() {
        check(
            Term::List((1..=30).map(Term::Int).collect()),
            "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,\n 23, 24, 25, 26, 27, 28, 29, 30]",
        );
    }

    #[test]
    fn collections_stop_at_fifty_items() {
        let mut expected = String::from("[");
        let nums: Vec<String> = (1..=50).map(|i| i.to_string()).collect();
        expected.push_str(&nums.join(", "));
        expected.push_str(", ...]");
        let got = inspect_width(
            &Term::List((1..=100).map(Term::Int).collect()),
            &Style::PLAIN,
            10_000,
        );
        assert_eq!(got, expected);
        let many = Term::list(vec![atom("ok"); 100_000]);
        assert!(inspect(&many, &Style::PLAIN).ends_with(":ok, ...]"));
    }

    #[test]
    fn long_lists_of_maps_put_one_per_line() {
        check(
            Term::list(vec![
                entry(1, "Dentist"),
                entry(2, "Shopping"),
                entry(3, "Movies"),
            ]),
            "[\n  %{date: ~D[2023-12-19], id: 1, title: \"Dentist\"},\n  %{date: ~D[2023-12-19], id: 2, title: \"Shopping\"},\n  %{date: ~D[2023-12-19], id: 3, title: \"Movies\"}\n]",
        );
    }

    #[test]
    fn long_maps_and_structs_break_per_key() {
        let mut entries = BTreeMap::new();
        entries.insert(Term::Int(1), entry(1, "Dentist"));
        entries.insert(Term::Int(2), entry(2, "Shopping"));
        let list = Term::structure(
            Atom::from_static("Todo.List"),
            vec![
                (Atom::from_static("next_id"), Term::Int(3)),
                (Atom::from_static("entries"), Term::map(entries)),
            ],
        );
        check(
            Term::tuple(vec![Term::str("Bob's list"), list]),
            "{\"Bob's list\",\n %Todo.List{\n   next_id: 3,\n   entries: %{\n     1 => %{date: ~D[2023-12-19], id: 1, title: \"Dentist\"},\n     2 => %{date: ~D[2023-12-19], id: 2, title: \"Shopping\"}\n   }\n }}",
        );
    }

    #[test]
    fn long_keyword_lists_break_per_pair() {
        check(
            Term::keyword(vec![
                ("message_queue_len", Term::Int(92587)),
                ("memory", Term::Int(24800728)),
                (
                    "current_function",
                    Term::tuple(vec![atom("timer"), atom("sleep"), Term::Int(1)]),
                ),
            ]),
            "[\n  message_queue_len: 92587,\n  memory: 24800728,\n  current_function: {:timer, :sleep, 1}\n]",
        );
    }

    #[test]
    fn colours_follow_iex_defaults() {
        let got = inspect(
            &Term::tuple(vec![
                atom("ok"),
                Term::Int(1),
                Term::str("x"),
                atom("nil"),
                Term::Pid(Pid(3)),
            ]),
            &Style::COLOR,
        );
        assert_eq!(
            got,
            "{\u{1b}[36m:ok\u{1b}[39m, \u{1b}[33m1\u{1b}[39m, \u{1b}[32m\"x\"\u{1b}[39m, \u{1b}[35mnil\u{1b}[39m, #PID<0.3.0>}"
        );
        let kw = inspect(&Term::keyword(vec![("a", Term::Int(1))]), &Style::COLOR);
        assert_eq!(kw, "[\u{1b}[36ma:\u{1b}[39m \u{1b}[33m1\u{1b}[39m]");
        // Colour codes do not count towards the width.
        let nums = Term::List((1..=22).map(Term::Int).collect());
        assert!(!inspect(&nums, &Style::COLOR).contains('\n'));
    }

    #[test]
    fn user_text_is_always_escaped() {
        for hostile in [
            "\u{1b}[2J",
            "\u{7}",
            "\0",
            "a\u{202E}b",
            "x\u{200D}y",
            "\r\n",
        ] {
            let t = Term::list(vec![
                Term::str(hostile),
                Term::Map(
                    [(Term::str(hostile), Term::str(hostile))]
                        .into_iter()
                        .collect(),
                ),
            ]);
            for style in [Style::PLAIN, Style::COLOR] {
                let out = inspect(&t, &style);
                let stripped = out
                    .replace("\u{1b}[36m", "")
                    .replace("\u{1b}[39m", "")
                    .replace("\u{1b}[32m", "");
                assert!(
                    !stripped.chars().any(crate::runtime::term::is_unsafe_char),
                    "{out:?}"
                );
            }
        }
    }

    fn error_of(input: &str) -> ParseError {
        parse_line(input).expect_err(input)
    }

    #[test]
    fn parse_errors_are_one_line() {
        let cases = [
            (
                "Process.info(worker))",
                "** (SyntaxError) iex:1:21: unexpected token \")\"",
            ),
            (
                "[1, 2",
                "** (TokenMissingError) iex:1:6: missing terminator: ] (for \"[\" starting at column 1)",
            ),
            (
                "x = \u{1b}[31m",
                "** (SyntaxError) iex:1:5: unexpected character \"\\e\"",
            ),
            (
                "server_proces \"Bob's list\"",
                "** (SyntaxError) iex:1:1: unknown command \"server_proces\"\n    hint: did you mean server_process?",
            ),
            (
                "add_entry \"Bob's list\"",
                "** (SyntaxError) iex:1:23: add_entry expects 3 arguments, got 1\n    hint: usage: add_entry LIST DATE TITLE",
            ),
        ];
        for (input, expected) in cases {
            let err = match parse_line(input) {
                Ok(l) => panic!("{input:?} parsed as {}", l.sexp()),
                Err(e) => e,
            };
            assert_eq!(
                parse_error(&err, input, 1, &Style::PLAIN),
                expected,
                "input {input:?}"
            );
        }
        let colored = parse_error(&error_of("(]"), "(]", 1, &Style::COLOR);
        assert!(
            colored.starts_with("\u{1b}[1m\u{1b}[31m")
                || colored.starts_with("\u{1b}[31m\u{1b}[1m"),
            "{colored:?}"
        );
    }

    fn arb_term() -> impl Strategy<Value = Term> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Term::Int),
            (-1.0e6f64..1.0e6).prop_map(Term::Float),
            "[a-z_]{1,8}".prop_map(|s| Term::Atom(Atom::new(&s).unwrap())),
            any::<String>().prop_map(Term::str),
            (0u64..1000).prop_map(|n| Term::Pid(Pid(n))),
            Just(date()),
            Just(atom("nil")),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Term::list),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Term::tuple),
                prop::collection::vec(("[a-z]{1,6}", inner.clone()), 0..5).prop_map(|kv| {
                    Term::List(
                        kv.into_iter()
                            .map(|(k, v)| Term::tuple(vec![Term::Atom(Atom::new(&k).unwrap()), v]))
                            .collect(),
                    )
                }),
                prop::collection::vec((inner.clone(), inner), 0..5)
                    .prop_map(|kv| Term::Map(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn plain_inspect_is_display_when_it_fits(t in arb_term()) {
            let display = t.to_string();
            let pretty = inspect(&t, &Style::PLAIN);
            if display.chars().count() <= WIDTH {
                prop_assert_eq!(&pretty, &display);
            }
            // Flattening the pretty form gives back the same tokens.
            let squash = |s: &str| s.split_whitespace().collect::<String>();
            prop_assert_eq!(squash(&pretty), squash(&display));
            // Never a raw control character.
            prop_assert!(!pretty.chars().any(|c| c.is_control() && c != '\n'));
            for line in pretty.lines() {
                prop_assert!(!line.ends_with(' '));
            }
        }
    }
}
