//! The persist folder: how a to-do list becomes a file and comes back, and nothing else.
//!
//! The database workers of the book write `:erlang.term_to_binary` to a file named after the
//! list. Done naively that loses data on a crash (a half-written or zero-filled file), lets a
//! list name such as `../../etc/passwd` write outside the folder, and lets a corrupt or hostile
//! file exhaust memory or panic the decoder. This module is the one place that gets those right,
//! following the persist-folder rules P1-P4 of tests/README.md:
//!
//! * a write goes to a unique temporary sibling, is synced, renamed over the old file, and the
//!   folder is synced, so a reader sees either the old list or the new one, never a mix;
//! * a file carries a header (magic, version, lengths, CRC32C, the list's own name) that the load
//!   path checks before the payload is decoded under a size limit, so every bad file becomes a
//!   typed [`PersistError`] naming the file, never a panic or an unbounded allocation;
//! * file names are derived from list names by base32 (or sha256 for long names), so no user
//!   text is ever joined into a path.
//!
//! It uses plain `std::fs` and no processes: the database worker processes call it, and its
//! tests (in `tests.rs`) need no runtime. The bytes of a file (header, checksum, codec and its
//! limits) are `format.rs`; this file is the folder: names, the write protocol, the load path.

mod format;
mod lock;
mod term;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, PoisonError};

use data_encoding::{Encoding, HEXLOWER, Specification};
use sha2::{Digest, Sha256};

use super::list::List;
use crate::runtime::Term;
use crate::runtime::term::escape_text;
use format::{
    HEADER_LEN, Stored, decode_file, decode_stored, encode_file, encode_term_file, parse_header,
};

pub use format::{DEFAULT_MAX_FILE, FORMAT_VERSION, LIST_VERSION, MAGIC};
pub use lock::{FolderLock, LOCK_FILE, LockError};
pub use term::MAX_DEPTH;

/// The longest list name, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// The sub-folder that [`Store::quarantine`] moves bad files into.
pub const QUARANTINE_DIR: &str = "quarantine";

/// The steps of a store, named so tests can make one of them fail (see [`Store::fail_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStep {
    /// Creating the temporary file.
    CreateTemp,
    /// Writing the bytes into it (an injected failure writes half of them first).
    Write,
    /// `sync_all` of the temporary file.
    Sync,
    /// Renaming it over the list's file.
    Rename,
    /// `fsync` of the folder after the rename.
    SyncDir,
}

/// A switch that makes the stores of every [`Store`] sharing it fail at one [`WriteStep`].
/// Cheap to clone: [`crate::todo::Config`] carries one so a fault-injection test can arm the
/// store of a running database, which it cannot otherwise reach.
#[derive(Clone, Debug, Default)]
pub struct FailPoints(Arc<AtomicU8>);

impl FailPoints {
    /// Makes every later store fail at `step` with an I/O error, or no step for `None`.
    pub fn set(&self, step: Option<WriteStep>) {
        let code = step.map_or(0, |s| s as u8 + 1);
        self.0.store(code, Ordering::SeqCst);
    }

    fn is(&self, step: WriteStep) -> bool {
        self.0.load(Ordering::SeqCst) == step as u8 + 1
    }
}

/// A persist folder. Open it once and share it (it is `Sync`) between the database workers:
/// opening sweeps temporary files, which would destroy a write another `Store` on the same
/// folder has in flight.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    fsync: bool,
    max_file: u64,
    /// The injected failure, 0 for none, else `WriteStep as u8 + 1`. An atomic so a test can
    /// arm it on a store already shared with running workers.
    fail_at: FailPoints,
    swept: Vec<String>,
}

/// The writes of this process under way (files being published or quarantined), and the
/// signal that the count came back to zero: what the program waits for before it ends
/// (see [`wait_for_writes`]).
static WRITING: Mutex<usize> = Mutex::new(0);
static WRITES_DONE: Condvar = Condvar::new();

/// One write under way, counted while it lives.
struct Writing;

impl Writing {
    fn start() -> Writing {
        *WRITING.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Writing
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        let mut n = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
        *n -= 1;
        if *n == 0 {
            WRITES_DONE.notify_all();
        }
    }
}

/// Blocks until no write of this process is under way. A write runs on tokio's blocking
/// pool, where ending the program would cut it short; the program waits for exactly those
/// before it ends, instead of letting the runtime's teardown join every thread it has.
pub fn wait_for_writes() {
    let mut n = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
    while *n > 0 {
        n = WRITES_DONE.wait(n).unwrap_or_else(PoisonError::into_inner);
    }
}

/// Why a file could not be stored, loaded or quarantined, with the file it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistError {
    /// The list's file (or the folder, for an invalid name).
    pub path: PathBuf,
    pub kind: PersistErrorKind,
}

/// What went wrong; each variant names one check of the load path or one failure of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistErrorKind {
    /// The file (or the encoded list) is larger than the store's size limit.
    TooLarge,
    /// The file does not start with [`MAGIC`].
    BadMagic,
    /// The header's version is neither [`LIST_VERSION`] nor [`FORMAT_VERSION`].
    UnsupportedVersion,
    /// The file's length is not what its header declares (truncated, or padded).
    LengthMismatch,
    /// The payload's CRC32C differs from the header's.
    Checksum,
    /// The file holds another list's name (a foreign file, or a sha256 collision).
    NameMismatch,
    /// The payload does not decode to a valid list.
    Decode(String),
    /// The payload decodes but leaves bytes unread.
    TrailingBytes,
    /// The list's path is a symbolic link, which is refused, never followed.
    Symlink,
    /// The list name cannot name a file (empty, or too long).
    InvalidName(String),
    /// The operating system refused an operation.
    Io(String),
}

impl Store {
    /// A handle on a folder the database already opened, for writers that bypass the database
    /// process (chapter 7.3.4). It sweeps nothing: only the database's `open` may, since a
    /// sweep would remove another writer's file in flight.
    pub fn attach(dir: impl Into<PathBuf>) -> Store {
        Store {
            dir: dir.into(),
            fsync: true,
            max_file: DEFAULT_MAX_FILE,
            fail_at: FailPoints::default(),
            swept: Vec::new(),
        }
    }

    /// Opens the folder, creating it if needed, and removes the `.tmp.*` files that writes cut
    /// short by a crash left behind; [`Store::swept`] lists them so the caller can log each.
    /// A leftover that cannot be removed is left alone: it is never loaded as a list anyway.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, PersistError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "cannot create the folder", e))?;
        let entries =
            fs::read_dir(&dir).map_err(|e| io_error(&dir, "cannot list the folder", e))?;
        let mut swept = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes())
                && fs::remove_file(entry.path()).is_ok()
            {
                swept.push(name.to_string_lossy().into_owned());
            }
        }
        swept.sort();
        Ok(Store {
            dir,
            fsync: true,
            max_file: DEFAULT_MAX_FILE,
            fail_at: FailPoints::default(),
            swept,
        })
    }

    /// Turns the file and folder syncs on (the default) or off. Off trades durability on power
    /// loss for speed, which only tests and benchmarks should want; atomicity is kept.
    pub fn with_fsync(mut self, fsync: bool) -> Store {
        self.fsync = fsync;
        self
    }

    /// Lowers the size limit of files and encoded lists. It cannot be raised past
    /// [`DEFAULT_MAX_FILE`], the limit compiled into the decoder.
    pub fn with_max_file(mut self, max_file: u64) -> Store {
        self.max_file = max_file.min(DEFAULT_MAX_FILE);
        self
    }

    /// Makes every later store fail at `step` with an I/O error, or no step for `None`, so
    /// fault-injection tests can show that a failed write keeps the previous file.
    pub fn fail_at(&self, step: Option<WriteStep>) {
        self.fail_at.set(step);
    }

    /// Shares `failpoints` with this store: arming them arms it.
    pub fn with_failpoints(mut self, failpoints: FailPoints) -> Store {
        self.fail_at = failpoints;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The names of the temporary files [`Store::open`] removed, as the file system spells them
    /// (escape them before printing).
    pub fn swept(&self) -> &[String] {
        &self.swept
    }

    /// The file a list is stored in.
    pub fn path(&self, name: &str) -> Result<PathBuf, PersistError> {
        let file = file_name(name).map_err(|e| PersistError {
            path: self.dir.clone(),
            kind: e.kind,
        })?;
        let path = self.dir.join(file);
        // The encoding only produces `[a-z0-9-]`, so this holds by construction; it is checked
        // anyway because a path outside the folder is the one mistake this module must not make.
        if path.parent() != Some(self.dir.as_path()) {
            return Err(PersistError {
                path: self.dir.clone(),
                kind: PersistErrorKind::InvalidName("the file name leaves the folder".into()),
            });
        }
        Ok(path)
    }

    /// Writes a list atomically and durably: encode, write a unique temporary sibling
    /// (`.tmp.<file>.<worker>.<counter>`), sync it, rename it over the list's file, sync the
    /// folder. On an error before the rename the temporary file is removed and the old file is
    /// untouched. On an error syncing the folder after the rename, the file already holds the
    /// new, complete list, but its durability is not known, which the error reports.
    ///
    /// A list is written as format version 1, which [`Store::load`] reads back.
    pub fn store(&self, name: &str, list: &List, worker: usize) -> Result<(), PersistError> {
        let _writing = Writing::start();
        let path = self.path(name)?;
        let bytes = encode_file(name, list).map_err(|kind| error(&path, kind))?;
        self.publish(&path, &bytes, worker)
    }

    /// Writes any term, as `:erlang.term_to_binary` takes any term (the book's
    /// `Todo.Database.store("Bob's list", 5)` stores an integer): a list as version 1, anything
    /// else as version 2, with the same protocol as [`Store::store`]. [`Store::load_term`]
    /// reads either back; [`Store::load`] accepts only a valid `Todo.List`, so anything else
    /// is reported as a decode error naming the file, never taken for a list.
    pub fn store_term(&self, name: &str, value: &Term, worker: usize) -> Result<(), PersistError> {
        let _writing = Writing::start();
        let path = self.path(name)?;
        let bytes = encode_term_file(name, value).map_err(|kind| error(&path, kind))?;
        self.publish(&path, &bytes, worker)
    }

    /// The write protocol of [`Store::store`] for the bytes of a whole file.
    /// Its callers count the write (`Writing`) from before they encode, so that a write whose
    /// encoding is under way when the program ends is waited for too.
    fn publish(&self, path: &Path, bytes: &[u8], worker: usize) -> Result<(), PersistError> {
        let path = path.to_path_buf();
        if bytes.len() as u64 > self.max_file {
            // A file the load path would refuse must not replace one it accepts.
            return Err(error(&path, PersistErrorKind::TooLarge));
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(error(&path, PersistErrorKind::Symlink));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, "cannot inspect the file", e)),
        }

        let (tmp, file) = self
            .create_temp(&path, worker)
            .map_err(|e| io_error(&path, "cannot create a temporary file", e))?;
        let published = self
            .write_temp(file, bytes)
            .and_then(|()| self.failpoint(WriteStep::Rename))
            .and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = published {
            let _ = fs::remove_file(&tmp);
            return Err(io_error(&path, "cannot write the list (old file kept)", e));
        }
        self.sync_dir(&self.dir).map_err(|e| {
            io_error(
                &path,
                "written, but the folder sync failed (may not survive a power loss)",
                e,
            )
        })
    }

    /// Reads a list back: `None` when it has no file, an error naming the file when the file is
    /// anything but a valid file of this very list.
    pub fn load(&self, name: &str) -> Result<Option<List>, PersistError> {
        let path = self.path(name)?;
        let Some(bytes) = self.read_file(&path)? else {
            return Ok(None);
        };
        decode_file(name, &bytes)
            .map(Some)
            .map_err(|kind| error(&path, kind))
    }

    /// Reads back what [`Store::store_term`] wrote: a list as its `%Todo.List{}` term, any
    /// other term as itself, `None` when there is no file, and the same errors as
    /// [`Store::load`] for a bad file.
    pub fn load_term(&self, name: &str) -> Result<Option<Term>, PersistError> {
        let path = self.path(name)?;
        let Some(bytes) = self.read_file(&path)? else {
            return Ok(None);
        };
        match decode_stored(name, &bytes).map_err(|kind| error(&path, kind))? {
            Stored::List(list) => Ok(Some(list.to_term())),
            Stored::Term(value) => Ok(Some(value)),
        }
    }

    /// Moves a list's file (typically a corrupt one) into `<dir>/quarantine/`, under a name not
    /// yet taken there, and returns its new path. A symbolic link is moved as the link itself.
    pub fn quarantine(&self, name: &str) -> Result<PathBuf, PersistError> {
        let _writing = Writing::start();
        let path = self.path(name)?;
        if let Err(e) = fs::symlink_metadata(&path) {
            let what = if e.kind() == io::ErrorKind::NotFound {
                "there is no file to quarantine"
            } else {
                "cannot inspect the file"
            };
            return Err(io_error(&path, what, e));
        }
        let qdir = self.dir.join(QUARANTINE_DIR);
        match fs::symlink_metadata(&qdir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(error(
                    &qdir,
                    PersistErrorKind::Io("exists and is not a folder".into()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&qdir).map_err(|e| io_error(&qdir, "cannot create the folder", e))?
            }
            Err(e) => return Err(io_error(&qdir, "cannot inspect the folder", e)),
        }
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        let dest = (0u32..)
            .map(|n| match n {
                0 => qdir.join(&*file),
                n => qdir.join(format!("{file}.{n}")),
            })
            .find(|p| fs::symlink_metadata(p).is_err())
            .unwrap_or_else(|| qdir.join(&*file));
        fs::rename(&path, &dest).map_err(|e| io_error(&path, "cannot move to quarantine", e))?;
        self.sync_dir(&self.dir)
            .and_then(|()| self.sync_dir(&qdir))
            .map_err(|e| io_error(&dest, "moved, but the folder sync failed", e))?;
        Ok(dest)
    }

    /// The names of the stored lists, sorted, read from the file headers (a file name is a hash
    /// for long names, so it cannot be decoded back). Files whose header is bad, or whose name
    /// does not match the file they sit in, are skipped: this serves completion in the shell,
    /// and [`Store::load`] reports the bad files.
    pub fn list_names(&self) -> Vec<String> {
        list_names_with(&self.dir, self.max_file)
    }

    /// [`Store::list_names`] of a folder without opening a store on it (opening sweeps
    /// temporary files, which only the database may do while it runs).
    pub fn list_names_in(dir: &Path) -> Vec<String> {
        list_names_with(dir, DEFAULT_MAX_FILE)
    }

    // Helpers of the write path.

    /// Creates the temporary file with `create_new`, so it can never clobber another writer's
    /// file; on a name clash (a second store on the same folder) it takes the next counter.
    fn create_temp(&self, path: &Path, worker: usize) -> io::Result<(PathBuf, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        let mut attempts = 0;
        loop {
            self.failpoint(WriteStep::CreateTemp)?;
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = self.dir.join(format!("{TEMP_PREFIX}{file}.{worker}.{n}"));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes and syncs the temporary file, and closes it before the rename.
    fn write_temp(&self, mut file: File, bytes: &[u8]) -> io::Result<()> {
        if self.failing_at(WriteStep::Write) {
            // A real failure (disk full) usually happens part-way, so leave half a file.
            file.write_all(&bytes[..bytes.len() / 2])?;
            self.failpoint(WriteStep::Write)?;
        }
        file.write_all(bytes)?;
        self.failpoint(WriteStep::Sync)?;
        if self.fsync {
            file.sync_all()?;
        }
        Ok(())
    }

    /// Makes a rename in `dir` durable. Only Unix can open a folder to sync it; elsewhere the
    /// file system journals renames itself.
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.failpoint(WriteStep::SyncDir)?;
        #[cfg(unix)]
        if self.fsync {
            File::open(dir)?.sync_all()?;
        }
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }

    fn failing_at(&self, step: WriteStep) -> bool {
        self.fail_at.is(step)
    }

    fn failpoint(&self, step: WriteStep) -> io::Result<()> {
        if self.failing_at(step) {
            return Err(io::Error::other(format!("injected failure at {step:?}")));
        }
        Ok(())
    }

    // Helpers of the load path.

    /// The file's bytes, `None` when it does not exist. The size is checked before anything is
    /// read, and the read itself is bounded, so a file growing meanwhile cannot exhaust memory.
    fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>, PersistError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, "cannot inspect the file", e)),
        };
        if meta.file_type().is_symlink() {
            return Err(error(path, PersistErrorKind::Symlink));
        }
        if !meta.is_file() {
            return Err(error(
                path,
                PersistErrorKind::Io("not a regular file".into()),
            ));
        }
        if meta.len() > self.max_file {
            return Err(error(path, PersistErrorKind::TooLarge));
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, "cannot open the file", e)),
        };
        // Between the check and the open the file may have been replaced by a symbolic link,
        // which the open followed: the opened file is then another inode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let opened = file
                .metadata()
                .map_err(|e| io_error(path, "cannot inspect the file", e))?;
            if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
                return Err(error(path, PersistErrorKind::Symlink));
            }
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(self.max_file + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(path, "cannot read the file", e))?;
        if bytes.len() as u64 > self.max_file {
            return Err(error(path, PersistErrorKind::TooLarge));
        }
        Ok(Some(bytes))
    }
}

/// The file name of a list: `l-` and the lowercase unpadded base32 of its UTF-8 bytes, or `h-`
/// and the sha256 hex of the name when the base32 would exceed 200 bytes. Base32 keeps only
/// `[a-z2-7]`, so names that differ only in case (`Bob`, `bob`) get different files even on
/// case-insensitive file systems, and no name can spell `..`, a separator, NUL or a device name.
/// The error's path is empty: no folder is involved yet.
pub fn file_name(name: &str) -> Result<String, PersistError> {
    let invalid = |why: String| PersistError {
        path: PathBuf::new(),
        kind: PersistErrorKind::InvalidName(why),
    };
    if name.is_empty() {
        return Err(invalid("the name is empty".into()));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(invalid(format!(
            "the name is {} bytes long, the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    let encoded = base32(name.as_bytes());
    if encoded.len() <= MAX_BASE32_LEN {
        return Ok(format!("l-{encoded}"));
    }
    Ok(format!(
        "h-{}",
        HEXLOWER.encode(&Sha256::digest(name.as_bytes()))
    ))
}

impl PersistErrorKind {
    /// A short snake_case tag for the reason, for terms such as `{:error, {:corrupt, path,
    /// :checksum}}`.
    pub fn tag(&self) -> &'static str {
        match self {
            PersistErrorKind::TooLarge => "too_large",
            PersistErrorKind::BadMagic => "bad_magic",
            PersistErrorKind::UnsupportedVersion => "unsupported_version",
            PersistErrorKind::LengthMismatch => "length_mismatch",
            PersistErrorKind::Checksum => "checksum",
            PersistErrorKind::NameMismatch => "name_mismatch",
            PersistErrorKind::Decode(_) => "decode",
            PersistErrorKind::TrailingBytes => "trailing_bytes",
            PersistErrorKind::Symlink => "symlink",
            PersistErrorKind::InvalidName(_) => "invalid_name",
            PersistErrorKind::Io(_) => "io",
        }
    }
}

impl fmt::Display for PersistErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistErrorKind::TooLarge => f.write_str("file too large (over the size limit)"),
            PersistErrorKind::BadMagic => f.write_str("not a to-do list file (bad magic)"),
            PersistErrorKind::UnsupportedVersion => {
                f.write_str("unsupported format version (written by a newer otplab?)")
            }
            PersistErrorKind::LengthMismatch => {
                f.write_str("length mismatch (file is truncated or padded)")
            }
            PersistErrorKind::Checksum => f.write_str("checksum mismatch (file is corrupt)"),
            PersistErrorKind::NameMismatch => {
                f.write_str("holds another list (foreign file or hash collision)")
            }
            PersistErrorKind::Decode(why) => {
                write!(
                    f,
                    "cannot decode the list (file is corrupt): {}",
                    escape_text(why)
                )
            }
            PersistErrorKind::TrailingBytes => {
                f.write_str("trailing bytes after the list (file is corrupt)")
            }
            PersistErrorKind::Symlink => {
                f.write_str("is a symbolic link (refused, never followed)")
            }
            PersistErrorKind::InvalidName(why) => {
                write!(f, "invalid list name: {}", escape_text(why))
            }
            PersistErrorKind::Io(why) => f.write_str(&escape_text(why)),
        }
    }
}

/// One line: the file, a colon, what is wrong with it. Every part is escaped, since a folder
/// name or an OS message could carry terminal control characters.
impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            write!(f, "{}", self.kind)
        } else {
            let path = escape_text(&self.path.display().to_string());
            write!(f, "{path}: {}", self.kind)
        }
    }
}

impl std::error::Error for PersistError {}

const TEMP_PREFIX: &str = ".tmp.";
const MAX_BASE32_LEN: usize = 200;

/// The list name in a file's header, reading no more than the header and the longest name;
/// `None` for anything but a sound header whose declared length is the file's.
fn read_stored_name(path: &Path, max_file: u64) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > max_file {
        return None;
    }
    let mut start = Vec::new();
    File::open(path)
        .ok()?
        .take((HEADER_LEN + MAX_NAME_BYTES) as u64)
        .read_to_end(&mut start)
        .ok()?;
    let header = parse_header(&start).ok()?;
    if header.file_len() != meta.len() {
        return None;
    }
    String::from_utf8(header.name.to_vec()).ok()
}

/// Lowercase RFC 4648 base32 without padding, the alphabet of file names. `data_encoding`'s
/// ready-made base32 encodings are uppercase, so the lowercase one is built from its
/// specification: same bit order, no padding.
fn base32(bytes: &[u8]) -> String {
    static LOWER_BASE32: LazyLock<Encoding> = LazyLock::new(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
        spec.encoding()
            .expect("32 distinct symbols make a valid base32 specification")
    });
    LOWER_BASE32.encode(bytes)
}

fn error(path: &Path, kind: PersistErrorKind) -> PersistError {
    PersistError {
        path: path.to_path_buf(),
        kind,
    }
}

fn io_error(path: &Path, what: &str, e: io::Error) -> PersistError {
    error(path, PersistErrorKind::Io(format!("{what}: {e}")))
}

/// The names of the valid list files of a folder, sorted.
fn list_names_with(dir: &Path, max_file: u64) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            if !(file.starts_with("l-") || file.starts_with("h-")) {
                return None;
            }
            let name = read_stored_name(&e.path(), max_file)?;
            (file_name(&name).ok()? == file).then_some(name)
        })
        .collect();
    names.sort();
    names
}
