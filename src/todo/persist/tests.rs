//! Unit tests of the persist folder: file names, the write protocol under injected failures,
//! and the load path against corrupt, truncated, foreign and hostile files.

use super::format::{DECODE_LIMIT, crc32c, decode_file, encode_file, encode_payload, frame};
use super::*;
use crate::runtime::Date;

/// A fresh folder under the system's temp dir, removed when dropped. The store lives in its
/// `persist/` sub-folder, so a test can check that nothing was written beside it.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("otplab-persist-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn store(&self) -> Store {
        Store::open(self.0.join("persist")).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sample(titles: &[&str]) -> List {
    let mut list = List::new();
    for title in titles {
        list.add_entry(Date::parse("2023-12-19").unwrap(), *title);
    }
    list
}

/// The files of a folder, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Loads `name`, expects the error `kind`, and checks that its message names the file.
fn check_load_error(store: &Store, name: &str, kind: PersistErrorKind) -> String {
    let err = store.load(name).unwrap_err();
    assert_eq!(err.kind, kind);
    let path = store.path(name).unwrap();
    assert_eq!(err.path, path);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: ", path.display())),
        "{message}"
    );
    message
}

/// Writes `name`'s file by hand.
fn plant(store: &Store, name: &str, bytes: &[u8]) {
    fs::write(store.path(name).unwrap(), bytes).unwrap();
}

fn valid_file(name: &str) -> Vec<u8> {
    encode_file(name, &sample(&["Dentist", "Movies"])).unwrap()
}

#[test]
fn base32_matches_rfc_4648() {
    let cases = [
        ("", ""),
        ("f", "my"),
        ("fo", "mzxq"),
        ("foo", "mzxw6"),
        ("foob", "mzxw6yq"),
        ("fooba", "mzxw6ytb"),
        ("foobar", "mzxw6ytboi"),
    ];
    for (input, expected) in cases {
        assert_eq!(base32(input.as_bytes()), expected, "{input}");
    }
}

#[test]
fn crc32c_matches_the_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b""), 0);
}

#[test]
fn file_names() {
    assert_eq!(file_name("Bob").unwrap(), "l-ijxwe");
    assert_eq!(file_name("bob").unwrap(), "l-mjxwe");
    assert_eq!(file_name("../x").unwrap(), "l-fyxc66a");
    // 125 bytes encode to exactly 200 characters; one more byte switches to the hash.
    assert_eq!(file_name(&"a".repeat(125)).unwrap().len(), 202);
    let hashed = file_name(&"a".repeat(126)).unwrap();
    assert_eq!(hashed.len(), 66);
    assert!(hashed.starts_with("h-"));
    assert_eq!(
        file_name("").unwrap_err().to_string(),
        "invalid list name: the name is empty"
    );
    assert_eq!(
        file_name(&"x".repeat(1025)).unwrap_err().to_string(),
        "invalid list name: the name is 1025 bytes long, the limit is 1024"
    );
    assert!(file_name(&"x".repeat(1024)).is_ok());
}

#[test]
fn round_trip() {
    let tmp = TempDir::new("round-trip");
    let store = tmp.store();
    assert_eq!(store.load("Bob's list").unwrap(), None);
    for name in ["Bob's list", "ünïcødé ✓", "x"] {
        let list = sample(&["Dentist", "Movies", "\u{1b}[31m"]);
        store.store(name, &list, 1).unwrap();
        assert_eq!(store.load(name).unwrap(), Some(list));
    }
    let empty = List::new();
    store.store("empty", &empty, 0).unwrap();
    assert_eq!(store.load("empty").unwrap(), Some(empty));
    // A second store replaces the first.
    let longer = sample(&["a", "b", "c"]);
    store.store("x", &longer, 2).unwrap();
    assert_eq!(store.load("x").unwrap(), Some(longer));
    assert!(files(store.dir()).iter().all(|f| !f.starts_with(".tmp.")));
}

#[test]
fn names_differing_in_case_get_different_files() {
    let tmp = TempDir::new("case");
    let store = tmp.store();
    store.store("Bob", &sample(&["upper"]), 0).unwrap();
    store.store("bob", &sample(&["lower", "case"]), 0).unwrap();
    assert_eq!(store.load("Bob").unwrap(), Some(sample(&["upper"])));
    assert_eq!(store.load("bob").unwrap(), Some(sample(&["lower", "case"])));
    assert_eq!(files(store.dir()), ["l-ijxwe", "l-mjxwe"]);
}

#[test]
fn hostile_names_stay_inside_the_folder() {
    let tmp = TempDir::new("hostile");
    let store = tmp.store();
    let names = [
        "../x",
        "/etc/passwd",
        "../../etc/passwd",
        "a\0b",
        "..",
        ".",
        "\\..\\x",
        "CON",
        "nul.txt",
        "line\nbreak",
    ];
    let long = "é".repeat(512); // 1024 bytes: the longest name, stored under its hash.
    for name in names.iter().copied().chain([long.as_str()]) {
        store.store(name, &sample(&[name]), 0).unwrap();
        assert_eq!(store.load(name).unwrap(), Some(sample(&[name])), "{name:?}");
        let path = store.path(name).unwrap();
        assert_eq!(path.parent(), Some(store.dir()));
        let file = path.file_name().unwrap().to_str().unwrap();
        assert!(
            file.bytes()
                .skip(2)
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{file}"
        );
    }
    // A 10 kB name is refused before any file is touched.
    let huge = "x".repeat(10_000);
    let err = store.store(&huge, &List::new(), 0).unwrap_err();
    assert!(matches!(err.kind, PersistErrorKind::InvalidName(_)));
    assert_eq!(err.path, store.dir());
    assert!(matches!(
        store.load(&huge).unwrap_err().kind,
        PersistErrorKind::InvalidName(_)
    ));
    assert_eq!(files(store.dir()).len(), names.len() + 1);
    assert_eq!(files(&tmp.0), ["persist"]);
}

#[test]
fn corrupt_payload_byte_is_a_checksum_error() {
    let tmp = TempDir::new("checksum");
    let store = tmp.store();
    store.store("Bob", &sample(&["Dentist"]), 0).unwrap();
    let path = store.path("Bob").unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    fs::write(&path, &bytes).unwrap();
    let message = check_load_error(&store, "Bob", PersistErrorKind::Checksum);
    assert_eq!(
        message,
        format!(
            "{}/l-ijxwe: checksum mismatch (file is corrupt)",
            store.dir().display()
        )
    );
}

#[test]
fn every_truncation_is_an_error() {
    let tmp = TempDir::new("truncated");
    let store = tmp.store();
    let bytes = valid_file("Bob");
    for len in 0..bytes.len() {
        plant(&store, "Bob", &bytes[..len]);
        let err = store.load("Bob").unwrap_err();
        assert_eq!(err.kind, PersistErrorKind::LengthMismatch, "cut at {len}");
    }
    plant(&store, "Bob", &[]);
    check_load_error(&store, "Bob", PersistErrorKind::LengthMismatch);
    let mut padded = bytes.clone();
    padded.push(0);
    plant(&store, "Bob", &padded);
    check_load_error(&store, "Bob", PersistErrorKind::LengthMismatch);
}

#[test]
fn random_bytes_are_not_a_list() {
    let tmp = TempDir::new("random");
    let store = tmp.store();
    plant(&store, "Bob", b"\x89PNG\r\n\x1a\n and then some");
    check_load_error(&store, "Bob", PersistErrorKind::BadMagic);
    plant(&store, "Bob", b"IEX");
    check_load_error(&store, "Bob", PersistErrorKind::LengthMismatch);
    plant(&store, "Bob", b"xyz");
    check_load_error(&store, "Bob", PersistErrorKind::BadMagic);
}

#[test]
fn another_version_is_unsupported() {
    let tmp = TempDir::new("version");
    let store = tmp.store();
    let mut bytes = valid_file("Bob");
    bytes[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    plant(&store, "Bob", &bytes);
    check_load_error(&store, "Bob", PersistErrorKind::UnsupportedVersion);
}

#[test]
fn a_huge_declared_length_allocates_nothing() {
    let tmp = TempDir::new("huge-len");
    let store = tmp.store();
    let mut bytes = valid_file("Bob");
    bytes[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    plant(&store, "Bob", &bytes);
    check_load_error(&store, "Bob", PersistErrorKind::LengthMismatch);
    let mut bytes = valid_file("Bob");
    bytes[18..20].copy_from_slice(&u16::MAX.to_le_bytes());
    plant(&store, "Bob", &bytes);
    check_load_error(&store, "Bob", PersistErrorKind::LengthMismatch);
}

/// A payload with a correct checksum whose length prefixes claim far more than the file
/// holds: the decoder's limit must turn it into an error before any allocation.
#[test]
fn hostile_length_prefixes_are_decode_errors() {
    let tmp = TempDir::new("prefix");
    let store = tmp.store();
    let huge = [253, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // varint u64::MAX
    // next_id 2, then a map claiming u64::MAX entries.
    let mut map_payload = vec![2];
    map_payload.extend_from_slice(&huge);
    // next_id 2, one entry 1 => {id 1, 2023-12-19, a title claiming u64::MAX bytes}.
    let mut title_payload = vec![2, 1, 1, 1, 251];
    title_payload.extend_from_slice(&4046u16.to_le_bytes()); // zigzag(2023)
    title_payload.extend_from_slice(&[12, 19]);
    title_payload.extend_from_slice(&huge);
    // Just under the limit, so the claim passes the limit check and must fail on the data.
    let mut near_limit = vec![2, 1, 1, 1, 251];
    near_limit.extend_from_slice(&4046u16.to_le_bytes());
    near_limit.extend_from_slice(&[12, 19, 252]);
    near_limit.extend_from_slice(&(DECODE_LIMIT as u32 - 64).to_le_bytes());
    for payload in [map_payload, title_payload, near_limit] {
        plant(&store, "Bob", &frame(b"Bob", &payload).unwrap());
        let err = store.load("Bob").unwrap_err();
        assert!(
            matches!(err.kind, PersistErrorKind::Decode(_)),
            "{payload:?}: {err}"
        );
        assert!(
            err.to_string()
                .starts_with(&store.dir().display().to_string())
        );
    }
}

#[test]
fn trailing_bytes_and_invalid_lists_are_refused() {
    let tmp = TempDir::new("trailing");
    let store = tmp.store();
    let mut payload = encode_payload(&sample(&["Dentist"])).unwrap();
    payload.push(0);
    plant(&store, "Bob", &frame(b"Bob", &payload).unwrap());
    check_load_error(&store, "Bob", PersistErrorKind::TrailingBytes);

    // next_id 1 with an entry 1: the next add would overwrite it.
    let mut payload = encode_payload(&sample(&["Dentist"])).unwrap();
    payload[0] = 1;
    plant(&store, "Bob", &frame(b"Bob", &payload).unwrap());
    check_load_error(
        &store,
        "Bob",
        PersistErrorKind::Decode("entry id 1 is not below next_id 1".into()),
    );
}

#[test]
fn a_foreign_file_is_a_name_mismatch() {
    let tmp = TempDir::new("foreign");
    let store = tmp.store();
    store.store("Alice", &sample(&["secret"]), 0).unwrap();
    fs::copy(store.path("Alice").unwrap(), store.path("Bob").unwrap()).unwrap();
    check_load_error(&store, "Bob", PersistErrorKind::NameMismatch);
}

#[cfg(unix)]
#[test]
fn a_planted_symlink_is_refused_and_its_target_untouched() {
    let tmp = TempDir::new("symlink");
    let store = tmp.store();
    let target = tmp.0.join("target");
    fs::write(&target, valid_file("Bob")).unwrap();
    std::os::unix::fs::symlink(&target, store.path("Bob").unwrap()).unwrap();
    check_load_error(&store, "Bob", PersistErrorKind::Symlink);
    let err = store.store("Bob", &List::new(), 0).unwrap_err();
    assert_eq!(err.kind, PersistErrorKind::Symlink);
    assert_eq!(fs::read(&target).unwrap(), valid_file("Bob"));
    assert!(
        fs::symlink_metadata(store.path("Bob").unwrap())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(files(store.dir()), ["l-ijxwe"]);
}

#[test]
fn a_file_over_the_limit_is_not_read_nor_written() {
    let tmp = TempDir::new("large");
    let store = tmp.store().with_max_file(100);
    plant(&store, "Bob", &[0; 101]);
    check_load_error(&store, "Bob", PersistErrorKind::TooLarge);
    fs::remove_file(store.path("Bob").unwrap()).unwrap();
    let big = sample(&[&"x".repeat(200)]);
    let err = store.store("Bob", &big, 0).unwrap_err();
    assert_eq!(err.kind, PersistErrorKind::TooLarge);
    assert!(files(store.dir()).is_empty());
}

#[test]
fn every_failpoint_keeps_the_previous_version() {
    let steps = [
        WriteStep::CreateTemp,
        WriteStep::Write,
        WriteStep::Sync,
        WriteStep::Rename,
        WriteStep::SyncDir,
    ];
    for step in steps {
        let tmp = TempDir::new("failpoint");
        let store = tmp.store();
        let old = sample(&["old"]);
        let new = sample(&["new", "newer"]);
        store.store("Bob", &old, 0).unwrap();
        store.fail_at(Some(step));
        let err = store.store("Bob", &new, 0).unwrap_err();
        assert_eq!(err.path, store.path("Bob").unwrap());
        assert!(
            matches!(&err.kind, PersistErrorKind::Io(m) if m.contains(&format!("{step:?}"))),
            "{err}"
        );
        // Past the rename the new list is complete and published; only its durability is
        // in doubt. Before it, the old file is untouched.
        let expected = if step == WriteStep::SyncDir {
            &new
        } else {
            &old
        };
        assert_eq!(
            store.load("Bob").unwrap().as_ref(),
            Some(expected),
            "{step:?}"
        );
        assert_eq!(files(store.dir()), ["l-ijxwe"], "{step:?}");
        // A list that never had a file still has none.
        if step != WriteStep::SyncDir {
            assert!(store.store("Alice", &new, 0).is_err());
            assert_eq!(store.load("Alice").unwrap(), None);
        }
        store.fail_at(None);
        store.store("Bob", &new, 0).unwrap();
        assert_eq!(store.load("Bob").unwrap(), Some(new));
    }
}

#[test]
fn open_sweeps_temporary_leftovers() {
    let tmp = TempDir::new("sweep");
    let dir = tmp.0.join("persist");
    {
        let store = Store::open(&dir).unwrap();
        assert!(store.swept().is_empty());
        store.store("Bob", &sample(&["kept"]), 0).unwrap();
    }
    fs::write(dir.join(".tmp.l-ijxwe.0.7"), b"half a wri").unwrap();
    fs::write(dir.join(".tmp.l-mjxwe.2.9"), b"").unwrap();
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.swept(), [".tmp.l-ijxwe.0.7", ".tmp.l-mjxwe.2.9"]);
    assert_eq!(files(&dir), ["l-ijxwe"]);
    assert_eq!(store.load("Bob").unwrap(), Some(sample(&["kept"])));
}

#[test]
fn quarantine_moves_the_file_aside() {
    let tmp = TempDir::new("quarantine");
    let store = tmp.store();
    plant(&store, "Bob", b"garbage");
    let first = store.quarantine("Bob").unwrap();
    assert_eq!(first, store.dir().join("quarantine").join("l-ijxwe"));
    assert_eq!(store.load("Bob").unwrap(), None);
    plant(&store, "Bob", b"more garbage");
    let second = store.quarantine("Bob").unwrap();
    assert_eq!(second, store.dir().join("quarantine").join("l-ijxwe.1"));
    assert_eq!(fs::read(first).unwrap(), b"garbage");
    assert_eq!(fs::read(second).unwrap(), b"more garbage");
    let err = store.quarantine("Bob").unwrap_err();
    assert!(
        err.to_string().contains("there is no file to quarantine"),
        "{err}"
    );
    // The quarantine folder is no list and does not disturb the others.
    store.store("Bob", &sample(&["fresh"]), 0).unwrap();
    assert_eq!(store.list_names(), ["Bob"]);
}

#[test]
fn list_names_reads_headers_and_skips_bad_files() {
    let tmp = TempDir::new("names");
    let store = tmp.store();
    let long = "n".repeat(300);
    for name in ["Bob", "Alice", long.as_str()] {
        store.store(name, &List::new(), 0).unwrap();
    }
    plant(&store, "garbage", b"IEXTODO\0nonsense");
    fs::copy(store.path("Bob").unwrap(), store.path("copy").unwrap()).unwrap();
    fs::write(store.dir().join("README"), valid_file("README")).unwrap();
    assert_eq!(store.list_names(), ["Alice", "Bob", long.as_str()]);
}

#[test]
fn messages_escape_control_characters() {
    let err = PersistError {
        path: PathBuf::from("persist\u{1b}[2J/l-x"),
        kind: PersistErrorKind::Decode("bad \u{202E} text".into()),
    };
    assert_eq!(
        err.to_string(),
        "persist\\u{1B}[2J/l-x: cannot decode the list (file is corrupt): bad \\u{202E} text"
    );
}

/// Every single-byte change of a valid file is detected, wherever it falls.
#[test]
fn every_single_byte_change_is_an_error() {
    let bytes = valid_file("Bob");
    for at in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] ^= flip;
            assert!(decode_file("Bob", &changed).is_err(), "byte {at} ^ {flip}");
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The decoder never panics, on bytes with or without a valid header in front.
        #[test]
        fn decode_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            framed in any::<bool>(),
        ) {
            let bytes = if framed { frame(b"Bob", &body).unwrap() } else { body };
            let _ = decode_file("Bob", &bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary bytes written as a list's file never panic `load`.
        #[test]
        fn load_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let tmp = TempDir::new("prop");
            let store = tmp.store().with_fsync(false);
            plant(&store, "Bob", &bytes);
            let _ = store.load("Bob");
        }

        /// Any name stores to a file of its own inside the folder and loads back.
        #[test]
        fn any_name_round_trips(name in "\\PC{1,40}") {
            let tmp = TempDir::new("prop-name");
            let store = tmp.store().with_fsync(false);
            let list = sample(&[&name]);
            store.store(&name, &list, 0).unwrap();
            prop_assert_eq!(store.load(&name).unwrap(), Some(list));
            let path = store.path(&name).unwrap();
            prop_assert_eq!(path.parent(), Some(store.dir()));
        }
    }
}
