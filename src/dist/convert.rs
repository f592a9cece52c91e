//! Terms between the wire (eetf's `Term`) and the runtime's `Term`, which the shell's printer
//! draws. What the runtime cannot hold (another node's pids, references and ports, big
//! integers, improper lists, funs, bitstrings) travels as a [`Foreign`] inside `Term::Opaque`:
//! the wire term itself, so it goes back to the node unchanged, and the text iex --remsh would
//! show for it on that node.

use std::collections::BTreeMap;
use std::sync::Arc;

use eetf::Term as W;

use crate::runtime::{Atom, Date, Opaque, Term};

/// The label of a [`Foreign`] inside `Term::Opaque`.
pub const FOREIGN: &str = "foreign";

/// A wire term the runtime has no variant for, and its text as the node shows it.
#[derive(Clone, Debug)]
pub struct Foreign {
    pub term: W,
    pub text: String,
}

/// The foreign term riding in `t`, if it is one.
pub fn foreign(t: &Term) -> Option<&Foreign> {
    match t {
        Term::Opaque(o) if o.label() == FOREIGN => o.downcast::<Foreign>(),
        _ => None,
    }
}

/// How pids and references are shown: as on `home`, the node the shell is attached to, where
/// its own pids are `#PID<0.N.S>`.
pub struct View<'a> {
    pub home: &'a str,
}

impl View<'_> {
    /// The runtime term for a wire term.
    pub fn term(&self, w: &W) -> Term {
        match w {
            W::Atom(a) => atom_term(&a.name),
            W::FixInteger(i) => Term::Int(i.value as i64),
            W::BigInteger(b) => match i64::try_from(&b.value) {
                Ok(i) => Term::Int(i),
                Err(_) => self.foreign(w, b.value.to_string()),
            },
            W::Float(f) => Term::Float(f.value),
            W::Pid(p) => {
                let text = format!(
                    "#PID<{}.{}.{}>",
                    self.node_number(&p.node.name),
                    p.id,
                    p.serial
                );
                self.foreign(w, text)
            }
            W::Port(p) => {
                let text = format!("#Port<{}.{}>", self.node_number(&p.node.name), p.id);
                self.foreign(w, text)
            }
            W::Reference(r) => {
                let ids: Vec<String> = r.id.iter().rev().map(u32::to_string).collect();
                let text = format!(
                    "#Reference<{}.{}>",
                    self.node_number(&r.node.name),
                    ids.join(".")
                );
                self.foreign(w, text)
            }
            W::ExternalFun(f) => {
                let text = format!(
                    "&{}.{}/{}",
                    module_text(&f.module.name),
                    f.function.name,
                    f.arity
                );
                self.foreign(w, text)
            }
            W::InternalFun(_) => self.foreign(w, "#Function<…>".to_string()),
            W::Binary(b) => match std::str::from_utf8(&b.bytes) {
                Ok(s) => Term::str(s),
                Err(_) => Term::Binary(Arc::from(b.bytes.as_slice())),
            },
            W::BitBinary(b) => {
                let mut parts: Vec<String> = b.bytes.iter().map(u8::to_string).collect();
                if let Some(last) = parts.last_mut() {
                    let bits = b.tail_bits_size;
                    let value = b.bytes.last().copied().unwrap_or(0) >> (8 - bits.min(8));
                    *last = format!("{value}:{bits}");
                }
                self.foreign(w, format!("<<{}>>", parts.join(", ")))
            }
            W::ByteList(l) => Term::List(l.bytes.iter().map(|b| Term::Int(*b as i64)).collect()),
            W::List(l) => Term::List(l.elements.iter().map(|e| self.term(e)).collect()),
            W::ImproperList(l) => {
                let items: Vec<String> = l
                    .elements
                    .iter()
                    .map(|e| self.term(e).to_string())
                    .collect();
                let text = format!("[{} | {}]", items.join(", "), self.term(&l.last));
                self.foreign(w, text)
            }
            W::Tuple(t) => Term::Tuple(t.elements.iter().map(|e| self.term(e)).collect()),
            W::Map(m) => self.map(m),
        }
    }

    fn map(&self, m: &eetf::Map) -> Term {
        let name = m.map.iter().find_map(|(k, v)| match (k, v) {
            (W::Atom(k), W::Atom(v)) if k.name == "__struct__" => Some(v.name.as_str()),
            _ => None,
        });
        if let Some(name) = name {
            let field = |f: &str| {
                m.map.iter().find_map(|(k, v)| match (k, v) {
                    (W::Atom(k), W::FixInteger(i)) if k.name == f => Some(i.value),
                    _ => None,
                })
            };
            if name == "Elixir.Date" {
                let date = field("year")
                    .zip(field("month"))
                    .zip(field("day"))
                    .and_then(|((y, m), d)| {
                        Date::new(y, u8::try_from(m).ok()?, u8::try_from(d).ok()?)
                    });
                if let Some(d) = date {
                    return Term::Date(d);
                }
            }
            let mut fields: Vec<(Atom, Term)> = m
                .map
                .iter()
                .filter_map(|(k, v)| match k {
                    W::Atom(k) if k.name != "__struct__" => {
                        Some((Atom::new(&k.name).ok()?, self.term(v)))
                    }
                    _ => None,
                })
                .collect();
            fields.sort_by_key(|f| f.0);
            if let Ok(name) = Atom::new(module_text(name)) {
                return Term::structure(name, fields);
            }
        }
        let map: BTreeMap<Term, Term> = m
            .map
            .iter()
            .map(|(k, v)| (self.term(k), self.term(v)))
            .collect();
        Term::map(map)
    }

    /// `0` for the home node; another node gets a number of its own, as the BEAM numbers the
    /// nodes it knows (the numbers differ from the BEAM's, which otplab cannot see).
    fn node_number(&self, node: &str) -> String {
        if node == self.home {
            "0".to_string()
        } else {
            let n = node
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            (n % 32_000 + 1).to_string()
        }
    }

    fn foreign(&self, w: &W, text: String) -> Term {
        Term::Opaque(Opaque::new(
            FOREIGN,
            Foreign {
                term: w.clone(),
                text,
            },
        ))
    }
}

/// `Todo.Cache` for `Elixir.Todo.Cache`; an Erlang module keeps its name.
fn module_text(name: &str) -> &str {
    name.strip_prefix("Elixir.").unwrap_or(name)
}

fn atom_term(name: &str) -> Term {
    // The atom table is bounded; an atom past it is shown as its text.
    Atom::new(name)
        .map(Term::Atom)
        .unwrap_or_else(|_| Term::str(name))
}

/// The wire term for a runtime term: the inverse of [`View::term`], or `None` for what cannot
/// leave this process (a local fun, a local pid, an opaque value that is not foreign).
pub fn wire(t: &Term) -> Option<W> {
    Some(match t {
        Term::Int(i) => match i32::try_from(*i) {
            Ok(v) => W::from(eetf::FixInteger::from(v)),
            Err(_) => W::from(eetf::BigInteger::from(*i)),
        },
        Term::Float(f) => W::from(eetf::Float::try_from(*f).ok()?),
        Term::Atom(a) => W::from(eetf::Atom::from(a.as_str())),
        Term::Str(s) => W::from(eetf::Binary::from(s.as_bytes().to_vec())),
        Term::Binary(b) => W::from(eetf::Binary::from(b.to_vec())),
        Term::Tuple(items) => W::from(eetf::Tuple::from(
            items.iter().map(wire).collect::<Option<Vec<_>>>()?,
        )),
        Term::List(items) => W::from(eetf::List::from(
            items.iter().map(wire).collect::<Option<Vec<_>>>()?,
        )),
        Term::Map(m) => {
            let mut out = std::collections::HashMap::new();
            for (k, v) in m.iter() {
                out.insert(wire(k)?, wire(v)?);
            }
            W::from(eetf::Map::from(out))
        }
        Term::Struct(s) => {
            let mut out = std::collections::HashMap::new();
            let name = s.name.as_str();
            let module = if name.contains('.') || name.starts_with(char::is_uppercase) {
                format!("Elixir.{name}")
            } else {
                name.to_string()
            };
            out.insert(
                W::from(eetf::Atom::from("__struct__")),
                W::from(eetf::Atom::from(module)),
            );
            for (k, v) in &s.fields {
                out.insert(W::from(eetf::Atom::from(k.as_str())), wire(v)?);
            }
            W::from(eetf::Map::from(out))
        }
        Term::Date(d) => {
            let int = |i: i32| W::from(eetf::FixInteger::from(i));
            let atom = |a: &str| W::from(eetf::Atom::from(a));
            W::from(eetf::Map::from(std::collections::HashMap::from([
                (atom("__struct__"), atom("Elixir.Date")),
                (atom("calendar"), atom("Elixir.Calendar.ISO")),
                (atom("year"), int(d.year)),
                (atom("month"), int(d.month as i32)),
                (atom("day"), int(d.day as i32)),
            ])))
        }
        Term::Opaque(_) => foreign(t)?.term.clone(),
        Term::Pid(_) | Term::Ref(_) | Term::Fun(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{View, foreign, wire};
    use crate::runtime::Term;
    use eetf::{
        Atom, BigInteger, Binary, FixInteger, ImproperList, List, Map, Pid, Reference, Tuple,
    };

    fn shown(w: eetf::Term) -> String {
        let t = View { home: "todo@vm" }.term(&w);
        foreign(&t)
            .map(|f| f.text.clone())
            .unwrap_or_else(|| t.to_string())
    }

    #[test]
    fn wire_terms_become_runtime_terms() {
        let cases: Vec<(eetf::Term, &str)> = vec![
            (Atom::from("ok").into(), ":ok"),
            (Atom::from("Elixir.Todo.Cache").into(), "Todo.Cache"),
            (FixInteger::from(-3).into(), "-3"),
            (BigInteger::from(1i64 << 40).into(), "1099511627776"),
            (
                Binary::from("Bob's list".as_bytes().to_vec()).into(),
                "\"Bob's list\"",
            ),
            (Pid::new("todo@vm", 142, 0, 1).into(), "#PID<0.142.0>"),
            (
                Reference::from(("todo@vm", vec![7u32, 8, 9])).into(),
                "#Reference<0.9.8.7>",
            ),
            (
                Tuple::from(vec![Atom::from("ok").into(), FixInteger::from(1).into()]).into(),
                "{:ok, 1}",
            ),
            (
                ImproperList::from((vec![FixInteger::from(1).into()], FixInteger::from(2).into()))
                    .into(),
                "[1 | 2]",
            ),
        ];
        for (w, expected) in cases {
            assert_eq!(shown(w), expected);
        }
        let date = Map::from(std::collections::HashMap::<eetf::Term, eetf::Term>::from([
            (
                Atom::from("__struct__").into(),
                Atom::from("Elixir.Date").into(),
            ),
            (
                Atom::from("calendar").into(),
                Atom::from("Elixir.Calendar.ISO").into(),
            ),
            (Atom::from("year").into(), FixInteger::from(2023).into()),
            (Atom::from("month").into(), FixInteger::from(12).into()),
            (Atom::from("day").into(), FixInteger::from(19).into()),
        ]));
        assert_eq!(shown(date.into()), "~D[2023-12-19]");
    }

    #[test]
    fn a_round_trip_keeps_the_wire_term() {
        let view = View { home: "todo@vm" };
        let samples: Vec<eetf::Term> = vec![
            Pid::new("todo@vm", 142, 3, 99).into(),
            Tuple::from(vec![
                Atom::from("a").into(),
                Binary::from(b"x".to_vec()).into(),
            ])
            .into(),
            List::from(vec![
                FixInteger::from(1).into(),
                BigInteger::from(1i64 << 40).into(),
            ])
            .into(),
        ];
        for w in samples {
            assert_eq!(wire(&view.term(&w)), Some(w));
        }
        assert_eq!(wire(&Term::Pid(crate::runtime::Pid(1))), None);
    }
}
