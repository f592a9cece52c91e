//! The payload of a format version 2 file: any term, as `:erlang.term_to_binary` takes any
//! term (`Todo.Database.store("flood", 5)` stores an integer). A term is written in its
//! external form ([`Wire`]) by a small codec of its own rather than by bincode, because a
//! decoder must bound how deep a hostile file nests: serde's derived decoder recurses once per
//! level, so 8 MiB of one-element tuples would overflow the stack, which aborts the process
//! instead of returning an error. Every length is checked against the bytes left before
//! anything is allocated, and the whole payload is already bounded by the file's size limit.
//!
//! The layout, little-endian: one tag byte, then
//! `0` int `i64` · `1` float `f64` bits · `2` atom `text` · `3` ref `u64` · `4` pid `u64` ·
//! `5` tuple `u32 n, n terms` · `6` map `u32 n, n (key, value) pairs` ·
//! `7` struct `text, u32 n, n (text, term)` · `8` date `i32 year, u8 month, u8 day` ·
//! `9` list `u32 n, n terms` · `10` string `text` · `11` binary `u32 n, n bytes`,
//! where `text` is `u32 n` and `n` bytes of UTF-8.

use crate::runtime::term::Wire;

/// How deeply a stored term may nest (a list in a tuple in a map is depth 3). The BEAM has
/// no such limit; this one keeps the decoder's recursion far inside a thread's stack.
pub const MAX_DEPTH: usize = 1000;

/// The bytes of a term, or why it cannot be written (too deep to be read back).
pub(super) fn encode(term: &Wire) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    put(&mut out, term, 1)?;
    Ok(out)
}

/// The term and the number of payload bytes it used, or what is wrong with the bytes.
pub(super) fn decode(bytes: &[u8]) -> Result<(Wire, usize), String> {
    let mut reader = Reader { bytes, at: 0 };
    let term = reader.term(1)?;
    Ok((term, reader.at))
}

fn put(out: &mut Vec<u8>, term: &Wire, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the term nests deeper than {MAX_DEPTH} levels"));
    }
    let items = |out: &mut Vec<u8>, tag: u8, items: &[Wire]| {
        out.push(tag);
        put_len(out, items.len())?;
        items.iter().try_for_each(|t| put(out, t, depth + 1))
    };
    match term {
        Wire::Int(i) => {
            out.push(0);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Wire::Float(f) => {
            out.push(1);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Wire::Atom(a) => {
            out.push(2);
            put_text(out, a)?;
        }
        Wire::Ref(r) => {
            out.push(3);
            out.extend_from_slice(&r.to_le_bytes());
        }
        Wire::Pid(p) => {
            out.push(4);
            out.extend_from_slice(&p.to_le_bytes());
        }
        Wire::Tuple(v) => items(out, 5, v)?,
        Wire::Map(m) => {
            out.push(6);
            put_len(out, m.len())?;
            for (k, v) in m {
                put(out, k, depth + 1)?;
                put(out, v, depth + 1)?;
            }
        }
        Wire::Struct(name, fields) => {
            out.push(7);
            put_text(out, name)?;
            put_len(out, fields.len())?;
            for (k, v) in fields {
                put_text(out, k)?;
                put(out, v, depth + 1)?;
            }
        }
        Wire::Date(d) => {
            out.push(8);
            out.extend_from_slice(&d.year.to_le_bytes());
            out.extend_from_slice(&[d.month, d.day]);
        }
        Wire::List(v) => items(out, 9, v)?,
        Wire::Str(s) => {
            out.push(10);
            put_text(out, s)?;
        }
        Wire::Binary(b) => {
            out.push(11);
            put_len(out, b.len())?;
            out.extend_from_slice(b);
        }
    }
    Ok(())
}

fn put_len(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    let n = u32::try_from(n).map_err(|_| format!("a collection of {n} items is too large"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn put_text(out: &mut Vec<u8>, text: &str) -> Result<(), String> {
    put_len(out, text.len())?;
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn term(&mut self, depth: usize) -> Result<Wire, String> {
        if depth > MAX_DEPTH {
            return Err(format!("the term nests deeper than {MAX_DEPTH} levels"));
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            0 => Wire::Int(i64::from_le_bytes(self.array()?)),
            1 => Wire::Float(f64::from_bits(u64::from_le_bytes(self.array()?))),
            2 => Wire::Atom(self.text()?),
            3 => Wire::Ref(u64::from_le_bytes(self.array()?)),
            4 => Wire::Pid(u64::from_le_bytes(self.array()?)),
            5 => Wire::Tuple(self.items(depth)?),
            6 => {
                // Each pair takes at least two bytes, which bounds the allocation.
                let n = self.count(2)?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    pairs.push((self.term(depth + 1)?, self.term(depth + 1)?));
                }
                Wire::Map(pairs)
            }
            7 => {
                let name = self.text()?;
                // A field is at least a four-byte name length and a one-byte term.
                let n = self.count(5)?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push((self.text()?, self.term(depth + 1)?));
                }
                Wire::Struct(name, fields)
            }
            8 => {
                let year = i32::from_le_bytes(self.array()?);
                let [month, day] = self.array()?;
                Wire::Date(crate::runtime::Date { year, month, day })
            }
            9 => Wire::List(self.items(depth)?),
            10 => Wire::Str(self.text()?),
            11 => {
                let n = self.count(1)?;
                Wire::Binary(self.take(n)?.to_vec())
            }
            other => return Err(format!("unknown term tag {other} at byte {}", self.at - 1)),
        })
    }

    fn items(&mut self, depth: usize) -> Result<Vec<Wire>, String> {
        let n = self.count(1)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.term(depth + 1)?);
        }
        Ok(items)
    }

    /// A declared count of items that take at least `min_bytes` each, refused when the bytes
    /// left cannot hold them.
    fn count(&mut self, min_bytes: usize) -> Result<usize, String> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_bytes) > left {
            return Err(format!(
                "a length of {n} at byte {} exceeds the {left} bytes left",
                self.at - 4
            ));
        }
        Ok(n)
    }

    fn text(&mut self) -> Result<String, String> {
        let n = self.count(1)?;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| format!("invalid UTF-8 at byte {at}"))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().expect("take returned N bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("the term is cut short at byte {}", self.bytes.len()))?;
        let bytes = &self.bytes[self.at..end];
        self.at = end;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Date;

    fn round_trip(term: Wire) {
        let bytes = encode(&term).unwrap();
        assert_eq!(decode(&bytes), Ok((term, bytes.len())));
    }

    #[test]
    fn every_kind_of_term_comes_back() {
        round_trip(Wire::Int(-5));
        round_trip(Wire::Float(1.5));
        round_trip(Wire::Atom("ok".into()));
        round_trip(Wire::Ref(7));
        round_trip(Wire::Pid(110));
        round_trip(Wire::Date(Date::new(2023, 12, 19).unwrap()));
        round_trip(Wire::Str("Bûche 🎄".into()));
        round_trip(Wire::Binary(vec![0, 255]));
        round_trip(Wire::Tuple(vec![
            Wire::Atom("store".into()),
            Wire::List(vec![Wire::Int(1), Wire::Map(vec![])]),
            Wire::Map(vec![(Wire::Str("k".into()), Wire::Tuple(vec![]))]),
            Wire::Struct("Todo.List".into(), vec![("next_id".into(), Wire::Int(1))]),
        ]));
    }

    #[test]
    fn small_inputs_and_their_errors() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "the term is cut short at byte 0"),
            (&[0, 1, 2], "the term is cut short at byte 3"),
            (&[12], "unknown term tag 12 at byte 0"),
            (
                &[9, 0xff, 0xff, 0xff, 0xff],
                "a length of 4294967295 at byte 1 exceeds the 0 bytes left",
            ),
            (&[10, 1, 0, 0, 0, 0xff], "invalid UTF-8 at byte 5"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode(bytes), Err(expected.to_string()), "{bytes:?}");
        }
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        // One-element tuples nested far past the limit: an error, not a stack overflow.
        let mut hostile = Vec::new();
        for _ in 0..1_000_000 {
            hostile.extend_from_slice(&[5, 1, 0, 0, 0]);
        }
        hostile.extend_from_slice(&[0; 9]);
        let err = decode(&hostile).unwrap_err();
        assert!(err.contains("deeper than 1000"), "{err}");
        let mut deep = Wire::Int(0);
        for _ in 0..MAX_DEPTH {
            deep = Wire::List(vec![deep]);
        }
        assert!(encode(&deep).unwrap_err().contains("deeper than 1000"));
    }
}
