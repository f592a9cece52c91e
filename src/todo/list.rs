//! `Todo.List` of Elixir in Action: the pure data structure behind one to-do server.
//!
//! It exists apart from the server so that the list's rules (ids handed out from 1 and never
//! reused, entries looked up by date, updates and deletes by id) can be tested without any
//! process, and so that the database can encode exactly this value to a file. The shell sees a
//! list through [`List::to_term`], which prints as iex prints the Elixir struct, so that
//! `:sys.get_state` shows `%Todo.List{next_id: 2, entries: %{1 => %{...}}}` as in the book.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::{Atom, Date, Term};

/// The largest `next_id` a decoded list may carry. Ids are shown as `Term::Int` (an `i64`), so a
/// list read from a file must stay far enough below `i64::MAX` that no realistic number of
/// later additions can overflow; 2^53 is also the largest integer every JSON reader keeps exact.
pub const MAX_NEXT_ID: u64 = 1 << 53;

/// A to-do list: entries keyed by their id, and the id the next entry will get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {
    next_id: u64,
    entries: BTreeMap<u64, Entry>,
}

/// One entry of a list, shown in the shell as `%{date: ~D[2023-12-19], id: 1, title: "Dentist"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    pub date: Date,
    pub title: String,
}

impl List {
    /// An empty list whose first entry will get id 1, as `Todo.List.new()`.
    pub fn new() -> List {
        List {
            next_id: 1,
            entries: BTreeMap::new(),
        }
    }

    /// Adds an entry and returns the id it was given. Ids are never reused, even after a delete,
    /// so an id a user saw earlier can never come to name a different entry.
    pub fn add_entry(&mut self, date: Date, title: impl Into<String>) -> u64 {
        let id = self.next_id;
        self.entries.insert(
            id,
            Entry {
                id,
                date,
                title: title.into(),
            },
        );
        self.next_id += 1;
        id
    }

    /// The entries of one date, ordered by id (the order in which they were added).
    pub fn entries(&self, date: Date) -> Vec<&Entry> {
        self.entries.values().filter(|e| e.date == date).collect()
    }

    /// Changes the date and/or the title of an entry. Returns false, changing nothing, when no
    /// entry has this id (the book's `update_entry` also leaves the list as it was then).
    pub fn update_entry(&mut self, id: u64, date: Option<Date>, title: Option<String>) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        if let Some(date) = date {
            entry.date = date;
        }
        if let Some(title) = title {
            entry.title = title;
        }
        true
    }

    /// Removes an entry. Returns false when no entry has this id.
    pub fn delete_entry(&mut self, id: u64) -> bool {
        self.entries.remove(&id).is_some()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, ordered by id.
    pub fn all(&self) -> Vec<&Entry> {
        self.entries.values().collect()
    }

    /// The list as iex shows the Elixir struct. Fields keep the order of the book's
    /// `defstruct next_id: 1, entries: %{}`.
    pub fn to_term(&self) -> Term {
        Term::structure(
            Atom::from_static("Todo.List"),
            vec![
                (
                    Atom::from_static("next_id"),
                    Term::Int(id_int(self.next_id)),
                ),
                (
                    Atom::from_static("entries"),
                    Term::Map(
                        self.entries
                            .iter()
                            .map(|(id, e)| (Term::Int(id_int(*id)), e.to_term()))
                            .collect(),
                    ),
                ),
            ],
        )
    }

    /// The list back from its term, as it travels in messages (`{:store, key, list}`) and
    /// comes back from `Todo.Database.get/1`. Anything that is not a valid list is an error.
    pub fn from_term(term: &Term) -> Result<List, String> {
        let Term::Struct(s) = term else {
            return Err(format!("not a Todo.List: {term}"));
        };
        if s.name.as_str() != "Todo.List" {
            return Err(format!("not a Todo.List: {term}"));
        }
        let field = |key: &str| {
            s.fields
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v)
        };
        let next_id = match field("next_id") {
            Some(Term::Int(n)) if *n >= 1 => *n as u64,
            _ => return Err("Todo.List without a valid next_id".into()),
        };
        let Some(Term::Map(entries)) = field("entries") else {
            return Err("Todo.List without entries".into());
        };
        let mut list = List {
            next_id,
            entries: BTreeMap::new(),
        };
        for (id, entry) in entries.iter() {
            let Term::Int(id) = id else {
                return Err(format!("entry id {id} is not an integer"));
            };
            let (date, title) = match (entry.get("date"), entry.get("title")) {
                (Some(Term::Date(d)), Some(Term::Str(t))) => (*d, t.to_string()),
                _ => return Err(format!("entry {entry} has no date and title")),
            };
            let id = u64::try_from(*id).map_err(|_| format!("entry id {id} is negative"))?;
            list.entries.insert(id, Entry { id, date, title });
        }
        list.validate()?;
        Ok(list)
    }

    /// Checks the invariants that [`List`]'s own methods keep but a decoded file might not:
    /// each entry is stored under its own id, ids are below `next_id`, `next_id` is at most
    /// [`MAX_NEXT_ID`], and every date exists. The persist layer calls this after decoding, so
    /// a crafted file that passes the checksum still cannot put the server in a state its code
    /// never produces (two entries sharing an id, or a new entry overwriting an old one).
    pub fn validate(&self) -> Result<(), String> {
        if self.next_id == 0 || self.next_id > MAX_NEXT_ID {
            return Err(format!("next_id {} is out of range", self.next_id));
        }
        for (key, entry) in &self.entries {
            if *key != entry.id {
                return Err(format!("entry {} is stored under id {key}", entry.id));
            }
            if entry.id == 0 || entry.id >= self.next_id {
                return Err(format!(
                    "entry id {} is not below next_id {}",
                    entry.id, self.next_id
                ));
            }
            let d = entry.date;
            if Date::new(d.year, d.month, d.day) != Some(d) {
                return Err(format!(
                    "entry {} has an impossible date {}-{}-{}",
                    entry.id, d.year, d.month, d.day
                ));
            }
        }
        Ok(())
    }
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl Entry {
    /// The entry as the atom-keyed map the book's lists hold: `%{date: ..., id: 1, title: "..."}`.
    pub fn to_term(&self) -> Term {
        Term::atom_map(vec![
            ("date", Term::Date(self.date)),
            ("id", Term::Int(id_int(self.id))),
            ("title", Term::str(&self.title)),
        ])
    }
}

/// Reads the date and title of a new entry from what a user typed, an atom-keyed map
/// `%{date: ~D[2023-12-19], title: "Dentist"}`. Anything else, including extra keys, is refused
/// with a message that shows the offending term, so a typo such as `titel:` is not silently
/// dropped.
pub fn entry_fields(term: &Term) -> Result<(Date, String), String> {
    const SHAPE: &str = r#"an entry is a map %{date: ~D[2023-12-19], title: "Dentist"}"#;
    let Term::Map(map) = term else {
        return Err(format!("{SHAPE}, got: {term}"));
    };
    if let Some(key) = map
        .keys()
        .find(|k| !(k.is_atom("date") || k.is_atom("title")))
    {
        return Err(format!("{SHAPE}, got the unknown key {key} in: {term}"));
    }
    let date = match term.get("date") {
        Some(Term::Date(d)) => *d,
        Some(other) => {
            return Err(format!(
                "the date must be a date like ~D[2023-12-19], got: {other}"
            ));
        }
        None => return Err(format!("{SHAPE}, the date is missing in: {term}")),
    };
    let title = match term.get("title") {
        Some(Term::Str(s)) => s.to_string(),
        Some(other) => return Err(format!("the title must be a string, got: {other}")),
        None => return Err(format!("{SHAPE}, the title is missing in: {term}")),
    };
    Ok((date, title))
}

/// An id as the shell's integer. Ids of a list stay below [`MAX_NEXT_ID`] plus the number of
/// additions since it was loaded, far below `i64::MAX`, so the saturation never shows.
fn id_int(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn check(list: &List, expected: &str) {
        assert_eq!(list.to_term().to_string(), expected);
    }

    fn check_entries(entries: Vec<&Entry>, expected: &str) {
        let shown = Term::List(entries.into_iter().map(Entry::to_term).collect());
        assert_eq!(shown.to_string(), expected);
    }

    #[test]
    fn a_list_survives_its_term() {
        let mut list = List::new();
        list.add_entry(Date::new(2023, 12, 19).unwrap(), "Dentist");
        list.add_entry(Date::new(2023, 12, 20).unwrap(), "Shopping");
        list.delete_entry(1);
        assert_eq!(List::from_term(&list.to_term()), Ok(list));
        assert!(List::from_term(&Term::Int(5)).is_err());
    }

    #[test]
    fn new_list_is_empty() {
        let list = List::new();
        check(&list, "%Todo.List{next_id: 1, entries: %{}}");
        assert!(list.is_empty());
        assert_eq!(list, List::default());
    }

    #[test]
    fn add_entry_shows_as_in_the_book() {
        let mut list = List::new();
        assert_eq!(list.add_entry(date("2023-12-19"), "Dentist"), 1);
        check(
            &list,
            r#"%Todo.List{next_id: 2, entries: %{1 => %{date: ~D[2023-12-19], id: 1, title: "Dentist"}}}"#,
        );
    }

    #[test]
    fn entries_filters_by_date_in_id_order() {
        let mut list = List::new();
        list.add_entry(date("2023-12-19"), "Dentist");
        list.add_entry(date("2023-12-20"), "Shopping");
        list.add_entry(date("2023-12-19"), "Movies");
        check_entries(
            list.entries(date("2023-12-19")),
            r#"[%{date: ~D[2023-12-19], id: 1, title: "Dentist"}, %{date: ~D[2023-12-19], id: 3, title: "Movies"}]"#,
        );
        check_entries(list.entries(date("2023-12-21")), "[]");
        assert_eq!(list.len(), 3);
        assert_eq!(list.all().len(), 3);
    }

    #[test]
    fn update_entry_changes_only_given_fields() {
        let mut list = List::new();
        list.add_entry(date("2023-12-19"), "Dentist");
        assert!(list.update_entry(1, None, Some("Dentist at 9".into())));
        assert!(list.update_entry(1, Some(date("2023-12-22")), None));
        assert!(!list.update_entry(7, None, Some("nobody".into())));
        check(
            &list,
            r#"%Todo.List{next_id: 2, entries: %{1 => %{date: ~D[2023-12-22], id: 1, title: "Dentist at 9"}}}"#,
        );
    }

    #[test]
    fn deleted_ids_are_never_reused() {
        let mut list = List::new();
        list.add_entry(date("2023-12-19"), "Dentist");
        assert!(list.delete_entry(1));
        assert!(!list.delete_entry(1));
        assert_eq!(list.add_entry(date("2023-12-19"), "Movies"), 2);
        check(
            &list,
            r#"%Todo.List{next_id: 3, entries: %{2 => %{date: ~D[2023-12-19], id: 2, title: "Movies"}}}"#,
        );
    }

    #[test]
    fn titles_are_escaped_when_shown() {
        let mut list = List::new();
        list.add_entry(date("2023-12-19"), "\u{1b}[2Jboo");
        check_entries(
            list.all(),
            r#"[%{date: ~D[2023-12-19], id: 1, title: "\e[2Jboo"}]"#,
        );
    }

    #[test]
    fn entry_fields_accepts_the_books_map() {
        let term = Term::atom_map(vec![
            ("date", Term::Date(date("2023-12-19"))),
            ("title", Term::str("Dentist")),
        ]);
        assert_eq!(
            entry_fields(&term),
            Ok((date("2023-12-19"), "Dentist".to_string()))
        );
    }

    fn check_refused(term: Term, expected: &str) {
        assert_eq!(entry_fields(&term).unwrap_err(), expected);
    }

    #[test]
    fn entry_fields_refuses_other_shapes() {
        check_refused(
            Term::str("Dentist"),
            r#"an entry is a map %{date: ~D[2023-12-19], title: "Dentist"}, got: "Dentist""#,
        );
        check_refused(
            Term::atom_map(vec![("date", Term::Date(date("2023-12-19")))]),
            r#"an entry is a map %{date: ~D[2023-12-19], title: "Dentist"}, the title is missing in: %{date: ~D[2023-12-19]}"#,
        );
        check_refused(
            Term::atom_map(vec![("title", Term::str("Dentist"))]),
            r#"an entry is a map %{date: ~D[2023-12-19], title: "Dentist"}, the date is missing in: %{title: "Dentist"}"#,
        );
        check_refused(
            Term::atom_map(vec![
                ("date", Term::str("2023-12-19")),
                ("title", Term::str("Dentist")),
            ]),
            r#"the date must be a date like ~D[2023-12-19], got: "2023-12-19""#,
        );
        check_refused(
            Term::atom_map(vec![
                ("date", Term::Date(date("2023-12-19"))),
                ("title", Term::Int(3)),
            ]),
            "the title must be a string, got: 3",
        );
        check_refused(
            Term::atom_map(vec![
                ("date", Term::Date(date("2023-12-19"))),
                ("titel", Term::str("Dentist")),
            ]),
            r#"an entry is a map %{date: ~D[2023-12-19], title: "Dentist"}, got the unknown key :titel in: %{date: ~D[2023-12-19], titel: "Dentist"}"#,
        );
    }

    #[test]
    fn validate_refuses_what_the_methods_never_build() {
        let mut list = List::new();
        list.add_entry(date("2023-12-19"), "Dentist");
        assert_eq!(list.validate(), Ok(()));

        let mut stale = list.clone();
        stale.next_id = 1;
        assert_eq!(
            stale.validate(),
            Err("entry id 1 is not below next_id 1".into())
        );

        let mut moved = list.clone();
        let entry = moved.entries.remove(&1).unwrap();
        moved.entries.insert(5, entry);
        moved.next_id = 6;
        assert_eq!(moved.validate(), Err("entry 1 is stored under id 5".into()));

        let mut huge = list.clone();
        huge.next_id = u64::MAX;
        assert_eq!(
            huge.validate(),
            Err(format!("next_id {} is out of range", u64::MAX))
        );

        let mut bad_date = list;
        bad_date.entries.get_mut(&1).unwrap().date = Date {
            year: 2023,
            month: 2,
            day: 30,
        };
        assert_eq!(
            bad_date.validate(),
            Err("entry 1 has an impossible date 2023-2-30".into())
        );
    }
}
