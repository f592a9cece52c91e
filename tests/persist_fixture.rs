//! Pins the persist folder's on-disk format to files written by an earlier build: lists in
//! `persist-v1/` (format version 1, still what a list is written as) and other terms in
//! `persist-v2/` (version 2).
//!
//! `tests/fixtures/persist-v1/` was written once by the code of format version 1 and is checked
//! in. This test loads every list from it and asserts the entries, then writes the same lists
//! into a fresh folder and asserts that the file names and the bytes are identical. The format
//! holds no timestamp, random salt or other nondeterministic field (a list's entries are a
//! `BTreeMap`, so even their order is fixed), so the whole of every file can be compared. Any
//! change to the header, the checksum, the codec or the file naming makes it fail, which is the
//! point: lists people stored must keep loading, and a new layout needs a new format version.
//! The folder's rules are stated in tests/README.md (persistence protocol).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use otplab::runtime::{Date, Term, atom};
use otplab::todo::list::List;
use otplab::todo::persist::{FORMAT_VERSION, Store, file_name};

/// A name long enough (over 125 bytes, so over 200 base32 characters) to be stored under its
/// sha256 instead of its base32.
const LONG_NAME: &str = "A list whose name is far too long to be spelled out in base32 within the two hundred \
     characters a file name may take, so it is stored under its sha256";

/// The lists the fixture holds: a quote, non-ASCII text, the sha256 path, an empty list, and a
/// list whose deleted entry left a gap in its ids.
fn lists() -> Vec<(&'static str, List)> {
    let day = |d: u8| Date::new(2023, 12, d).unwrap();
    let mut bob = List::new();
    bob.add_entry(day(19), "Dentist");
    bob.add_entry(day(20), "Shopping");
    bob.add_entry(day(19), "Movies");

    let mut unicode = List::new();
    unicode.add_entry(day(24), "Bûche de Noël 🎄");
    unicode.add_entry(day(31), "Feuerwerk — „Silvester“");

    let mut long = List::new();
    long.add_entry(day(1), "A title that says \"quoted\" things");

    let mut gap = List::new();
    gap.add_entry(day(2), "first");
    gap.add_entry(day(3), "second, deleted");
    gap.add_entry(day(4), "third");
    assert!(gap.delete_entry(2));

    vec![
        ("Bob's list", bob),
        ("Alice's “list” ✓ ünïcødé", unicode),
        (LONG_NAME, long),
        ("empty", List::new()),
        ("gaps", gap),
    ]
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/persist-v1")
}

/// Every file of a folder by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn every_list_of_the_fixture_loads_with_its_entries() {
    // Attached, not opened: opening sweeps the folder, and the fixture must stay as checked in.
    let store = Store::attach(fixture_dir());
    for (name, expected) in lists() {
        let loaded = store.load(name).unwrap();
        assert_eq!(loaded.as_ref(), Some(&expected), "list {name:?}");
    }
    let titles: Vec<String> = store
        .load("Bob's list")
        .unwrap()
        .unwrap()
        .all()
        .iter()
        .map(|e| e.title.clone())
        .collect();
    assert_eq!(titles, ["Dentist", "Shopping", "Movies"]);
    let mut names: Vec<String> = lists().iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(store.list_names(), names);
}

#[test]
fn the_file_names_are_those_of_format_version_1() {
    // Spelled out, so that regenerating the fixture cannot hide a change of the naming.
    let expected = [
        "h-0e71ba345ae262cae1648a60cabf4e0cc14a77bfce5710d02b3d732278bcf86f",
        "l-ifwgsy3fe5zsbyuatrwgs43u4kaj2ihctsjsbq54n3b26y6dxbsmhki",
        "l-ijxwej3tebwgs43u",
        "l-mvwxa5dz",
        "l-m5qxa4y",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    let on_disk: Vec<String> = files(&fixture_dir()).into_keys().collect();
    assert_eq!(on_disk, expected);
    for (name, _) in lists() {
        let file = otplab::todo::persist::file_name(name).unwrap();
        assert!(expected.contains(&file), "{name:?} -> {file}");
    }
}

#[test]
fn writing_the_same_lists_today_gives_the_same_bytes() {
    let dir = std::env::temp_dir().join(format!("otplab-fixture-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let store = Store::open(&dir).unwrap().with_fsync(false);
    for (name, list) in lists() {
        store.store(name, &list, 0).unwrap();
    }
    let written = files(&dir);
    let fixture = files(&fixture_dir());
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        fixture.keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &fixture {
        assert!(written[file] == *bytes, "{file} differs from the fixture");
    }
}

/// The terms of `tests/fixtures/persist-v2/`, written once by the code of format version 2:
/// what `Todo.Database.store/2` takes besides lists (seed 003's flood stores integers).
fn terms() -> Vec<(&'static str, Term)> {
    let date = Date::new(2023, 12, 19).unwrap();
    vec![
        ("flood", Term::Int(10_000)),
        (
            "mixed",
            Term::tuple(vec![
                atom("ok"),
                Term::Float(-1.5),
                Term::list(vec![Term::str("Bûche 🎄"), Term::Date(date)]),
                Term::atom_map(vec![("title", Term::str("Dentist"))]),
            ]),
        ),
        ("empty list", Term::list(vec![])),
    ]
}

fn fixture_v2_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/persist-v2")
}

#[test]
fn every_term_of_the_v2_fixture_loads_and_version_1_lists_still_do() {
    let store = Store::attach(fixture_v2_dir());
    for (name, expected) in terms() {
        assert_eq!(store.load_term(name).unwrap(), Some(expected), "{name:?}");
        // The version is the header's bytes 8 and 9.
        let bytes = fs::read(store.path(name).unwrap()).unwrap();
        assert_eq!(bytes[8..10], FORMAT_VERSION.to_le_bytes(), "{name:?}");
    }
    // A file of version 2 is no list: `load` says what it holds.
    let err = store.load("flood").unwrap_err();
    assert!(err.to_string().ends_with("not a Todo.List: 10000"), "{err}");
    let v1 = Store::attach(fixture_dir());
    for (name, list) in lists() {
        assert_eq!(
            v1.load_term(name).unwrap(),
            Some(list.to_term()),
            "{name:?}"
        );
    }
}

#[test]
fn writing_the_same_terms_today_gives_the_v2_fixture_and_lists_stay_version_1() {
    let dir = std::env::temp_dir().join(format!("otplab-fixture-v2-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let store = Store::open(&dir).unwrap().with_fsync(false);
    for (name, value) in terms() {
        store.store_term(name, &value, 0).unwrap();
    }
    let written = files(&dir);
    // A list stored as a term is the version 1 file of the list.
    let (name, list) = lists().remove(0);
    store.store_term(name, &list.to_term(), 0).unwrap();
    let as_term = fs::read(store.path(name).unwrap()).unwrap();
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(as_term, files(&fixture_dir())[&file_name(name).unwrap()]);
    let fixture = files(&fixture_v2_dir());
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        fixture.keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &fixture {
        assert!(written[file] == *bytes, "{file} differs from the fixture");
    }
}
