//! A row of an ETS `:set` keyed by its first element, and the key of a lookup by a string
//! key's text.

use std::alloc::{self, Layout};
use std::hash::{Hash, Hasher};
use std::ptr::{self, NonNull};
use std::sync::LazyLock;

use super::term_bytes;
use crate::runtime::term::Term;

/// The longest string key whose text a row keeps a copy of, as the BEAM keeps a binary of up
/// to 64 bytes inside the row (a heap binary) and a longer one behind a pointer.
const MAX_TEXT: usize = 64;

/// `Head::text` of a row that keeps no copy of its key's text.
const NO_TEXT: u32 = u32::MAX;

/// What a row's allocation starts with; the key's text follows it, then the elements. A
/// lookup reads the head, the text and the value, in that order: with the text after the
/// elements the three spanned 68 bytes of a row and always two cache lines; with the text
/// first they span 64 bytes (for the load test's names), and one line when the row starts
/// one.
#[repr(C)]
struct Head {
    len: u32,
    /// The bytes of the key's text after the head, or `NO_TEXT`.
    text: u32,
}

/// Where a row's text starts in its allocation.
const TEXT_AT: usize = size_of::<Head>();

/// The alignment of a row's allocation.
const ALIGN: usize = if align_of::<Term>() > align_of::<Head>() {
    align_of::<Term>()
} else {
    align_of::<Head>()
};

/// A row of a `:set` keyed by its first element: one allocation that holds the tuple's
/// elements and, for a string key of up to `MAX_TEXT` bytes, a copy of the key's text. Its
/// slot in the table is one pointer (the map adds the hash), where a `Term::Tuple` took 32
/// bytes; and a read by a key's text compares the copy in the row, so that finding a row
/// reads the row and not the key's string too, a cache miss of its own once the rows
/// outgrow the cache.
pub(super) struct Row(NonNull<Head>);

// SAFETY: a row owns its elements as a `Box<[Term]>` would, and its text is plain bytes; the
// assertion below keeps terms themselves fit to be sent and shared between threads.
unsafe impl Send for Row {}
unsafe impl Sync for Row {}

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Term>()
};

impl Row {
    /// The row of `object`, a tuple of at least one element (`key_of` checked it on the way
    /// in).
    pub(super) fn new(object: Term) -> Row {
        let fields = match object {
            Term::Tuple(fields) if !fields.is_empty() => fields,
            // Not reached: every row is checked to be a tuple first.
            other => Box::new([other]),
        };
        let text = match &fields[0] {
            Term::Str(s) if s.len() <= MAX_TEXT => Some(s.as_bytes()),
            _ => None,
        };
        let head = Head {
            len: u32::try_from(fields.len()).expect("a tuple of fewer than 2^32 elements"),
            text: text.map_or(NO_TEXT, |s| s.len() as u32),
        };
        let layout = head.layout();
        // SAFETY: the layout is not empty (a head and at least one element); the head, the
        // elements and the text are written within it at the offsets `Head` gives, each
        // element moved out of `fields` exactly once.
        unsafe {
            let base = alloc::alloc(layout);
            if base.is_null() {
                alloc::handle_alloc_error(layout);
            }
            let terms = base.add(head.terms_at()).cast::<Term>();
            if let Some(s) = text {
                ptr::copy_nonoverlapping(s.as_ptr(), base.add(TEXT_AT), s.len());
            }
            base.cast::<Head>().write(head);
            for (i, t) in fields.into_iter().enumerate() {
                terms.add(i).write(t);
            }
            Row(NonNull::new_unchecked(base.cast()))
        }
    }

    fn head(&self) -> &Head {
        // SAFETY: the head was written by `new` and lives as long as the row.
        unsafe { self.0.as_ref() }
    }

    fn base(&self) -> *mut u8 {
        self.0.as_ptr().cast()
    }

    pub(super) fn fields(&self) -> &[Term] {
        // SAFETY: `new` wrote `len` elements at `terms_at`.
        unsafe {
            let terms = self.base().add(self.head().terms_at()).cast::<Term>();
            std::slice::from_raw_parts(terms, self.head().len as usize)
        }
    }

    /// The elements, to change a value in place; the key (which the text copies) must not
    /// change.
    pub(super) fn fields_mut(&mut self) -> &mut [Term] {
        let (len, at) = (self.head().len as usize, self.head().terms_at());
        // SAFETY: as for `fields`, and the row is borrowed mutably.
        unsafe {
            let terms = self.base().add(at).cast::<Term>();
            std::slice::from_raw_parts_mut(terms, len)
        }
    }

    pub(super) fn key(&self) -> &Term {
        &self.fields()[0]
    }

    /// Whether the key is the string `key`, compared with the row's copy of the text when it
    /// has one.
    pub(super) fn is_str_key(&self, key: &str) -> bool {
        let head = self.head();
        if head.text == NO_TEXT {
            return matches!(self.key(), Term::Str(s) if **s == *key);
        }
        // SAFETY: `new` wrote `head.text` bytes at `TEXT_AT`.
        let text =
            unsafe { std::slice::from_raw_parts(self.base().add(TEXT_AT), head.text as usize) };
        text == key.as_bytes()
    }

    /// The row as the tuple it was inserted as.
    pub(super) fn to_term(&self) -> Term {
        Term::Tuple(self.fields().into())
    }

    /// The second element, the value of a `{key, value}` row.
    pub(super) fn value(&self) -> Option<Term> {
        self.fields().get(1).cloned()
    }

    /// What `term_bytes` counts for the row's tuple.
    pub(super) fn bytes(&self) -> usize {
        size_of::<Term>() + self.fields().iter().map(term_bytes).sum::<usize>()
    }
}

impl Head {
    fn text_len(&self) -> usize {
        if self.text == NO_TEXT {
            0
        } else {
            self.text as usize
        }
    }

    /// Where the elements start: after the text, aligned for a term.
    fn terms_at(&self) -> usize {
        (TEXT_AT + self.text_len()).next_multiple_of(align_of::<Term>())
    }

    fn layout(&self) -> Layout {
        let size = self.terms_at() + self.len as usize * size_of::<Term>();
        Layout::from_size_align(size, ALIGN).expect("a row's size")
    }
}

impl Drop for Row {
    fn drop(&mut self) {
        let layout = self.head().layout();
        // SAFETY: the elements were written by `new` and are dropped once, here; then the
        // allocation is freed with the layout it was made with.
        unsafe {
            ptr::drop_in_place(self.fields_mut());
            alloc::dealloc(self.base(), layout);
        }
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
