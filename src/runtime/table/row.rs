//! A row of an ETS `:set` keyed by its first element, and the key of a lookup by a string
//! key's text.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use super::term_bytes;
use crate::runtime::term::Term;

/// A row of a `:set` keyed by its first element: the tuple's elements, without the `Vec`
/// that `Term::Tuple` keeps them in. Its slot in the table is a pointer and a length (16
/// bytes, and the map adds the hash) instead of a whole term (32), and a hash table has up to
/// twice as many slots as rows, and during its growth an old table of half as many again: the
/// ETS cache's rows took 40 bytes of slots a list where they now take 24 (about 50 bytes a
/// list at a million lists, counting both tables). Hashed, compared and looked up by its key.
pub(super) struct Row(pub(super) Box<[Term]>);

impl Row {
    /// The row of `object`, a tuple of at least one element (`key_of` checked it on the way
    /// in).
    pub(super) fn new(object: Term) -> Row {
        match object {
            Term::Tuple(fields) if !fields.is_empty() => Row(fields.into_boxed_slice()),
            // Not reached: every row is checked to be a tuple first.
            other => Row(Box::new([other])),
        }
    }

    pub(super) fn key(&self) -> &Term {
        &self.0[0]
    }

    /// The row as the tuple it was inserted as.
    pub(super) fn to_term(&self) -> Term {
        Term::Tuple(self.0.to_vec())
    }

    /// The second element, the value of a `{key, value}` row.
    pub(super) fn value(&self) -> Option<Term> {
        self.0.get(1).cloned()
    }

    /// What `term_bytes` counts for the row's tuple.
    pub(super) fn bytes(&self) -> usize {
        std::mem::size_of::<Term>() + self.0.iter().map(term_bytes).sum::<usize>()
    }
}

impl Hash for Row {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Row {}

impl std::borrow::Borrow<Term> for Row {
    fn borrow(&self) -> &Term {
        self.key()
    }
}

/// A string key's text, hashed as the `Term::Str` that holds it is, so that it finds the row of
/// that term without the term being made.
pub(super) struct StrKey<'a>(pub(super) &'a str);

impl Hash for StrKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `Term`'s hash starts with the variant's discriminant, which only a term can give.
        static STR: LazyLock<std::mem::Discriminant<Term>> =
            LazyLock::new(|| std::mem::discriminant(&Term::str("")));
        STR.hash(state);
        self.0.hash(state);
    }
}
