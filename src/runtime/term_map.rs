//! `TermMap`: the pairs of a map term, sorted by key in the term order, each key once.
//!
//! A map term is never changed in place (an update makes a new map), and most maps are small
//! (`%{date: ..., id: 1, title: ...}` is three pairs), so the pairs sit in one boxed slice, as
//! the BEAM keeps a map of up to 32 keys in one flat sorted array. A `BTreeMap` was three
//! words inline, which made every term 32 bytes, and its first node is a whole leaf with room
//! for eleven pairs, 540 bytes for a map of three, where the slice is 144. Lookups are a
//! binary search; an insert copies the pairs, which only the shell's `%{map | k => v}` does.

use std::collections::BTreeMap;

use super::term::Term;

/// The pairs of a map, sorted by key, no key twice.
#[derive(Clone, Default)]
pub struct TermMap(Box<[(Term, Term)]>);

impl TermMap {
    pub fn new() -> TermMap {
        TermMap::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &Term) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &Term) -> Option<&Term> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &Term) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, giving back the value it had.
    pub fn insert(&mut self, key: Term, value: Term) -> Option<Term> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut pairs = std::mem::take(&mut self.0).into_vec();
                pairs.insert(i, (key, value));
                self.0 = pairs.into_boxed_slice();
                None
            }
        }
    }

    /// The pairs in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Term, &Term)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Term> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Term> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
}

/// As a `BTreeMap` collects: a key given twice keeps the value given last (`%{a: 1, a: 2}` is
/// `%{a: 2}`).
impl FromIterator<(Term, Term)> for TermMap {
    fn from_iter<I: IntoIterator<Item = (Term, Term)>>(iter: I) -> TermMap {
        let mut pairs: Vec<(Term, Term)> = iter.into_iter().collect();
        // A stable sort keeps a repeated key's pairs in the order given; the dedup then keeps
        // the first slot and moves the later pair into it. Sorted input (a map rebuilt from
        // another, an Elixir map's keys in order) costs one pass.
        if !pairs.is_sorted_by(|a, b| a.0 < b.0) {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(later, kept);
                }
                same
            });
        }
        TermMap(pairs.into_boxed_slice())
    }
}

impl From<BTreeMap<Term, Term>> for TermMap {
    fn from(map: BTreeMap<Term, Term>) -> TermMap {
        // Already sorted and without repeats.
        TermMap(map.into_iter().collect())
    }
}

impl IntoIterator for TermMap {
    type Item = (Term, Term);
    type IntoIter = std::vec::IntoIter<(Term, Term)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::atom;

    #[test]
    fn pairs_are_sorted_and_a_repeated_key_keeps_its_last_value() {
        let m: TermMap = [
            (atom("b"), Term::Int(1)),
            (atom("a"), Term::Int(2)),
            (atom("b"), Term::Int(3)),
            (Term::Int(1), Term::Int(4)),
        ]
        .into_iter()
        .collect();
        let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(pairs, ["1=4", ":a=2", ":b=3"]);
        assert_eq!(m.get(&atom("b")), Some(&Term::Int(3)));
        assert!(!m.contains_key(&Term::Float(1.0)));
    }

    #[test]
    fn insert_keeps_the_order_and_replaces_a_value() {
        let mut m = TermMap::new();
        assert_eq!(m.insert(atom("c"), Term::Int(1)), None);
        assert_eq!(m.insert(atom("a"), Term::Int(2)), None);
        assert_eq!(m.insert(atom("c"), Term::Int(3)), Some(Term::Int(1)));
        let keys: Vec<String> = m.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, [":a", ":c"]);
        assert_eq!(
            m.values().cloned().collect::<Vec<_>>(),
            [Term::Int(2), Term::Int(3)]
        );
    }

    /// A map is its pairs and nothing more: one allocation of 48 bytes a pair, where a
    /// `BTreeMap`'s first node held room for eleven.
    #[test]
    fn a_map_is_one_slice_of_its_pairs() {
        assert_eq!(std::mem::size_of::<TermMap>(), 16);
        let m: TermMap = (0..3).map(|i| (Term::Int(i), Term::Int(i))).collect();
        assert_eq!(std::mem::size_of_val::<[(Term, Term)]>(&m.0), 3 * 48);
    }
}
