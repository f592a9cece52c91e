//! The persist folder: how a to-do list becomes a file and comes back, and nothing else.
//!
//! The database workers of the book write `:erlang.term_to_binary` to a file named after the
//! list. Done naively that loses data on a crash (a half-written or zero-filled file), lets a
//! list name such as `../../etc/passwd` write outside the folder, and lets a corrupt or hostile
//! file exhaust memory or panic the decoder. This module is the one place that gets those right,
//! exactly as `anchors/otp-semantics.md` section 3 specifies:
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
//! tests need no runtime. The codec (bincode today) sits behind two private functions so it can
//! be swapped without touching the header.

use std::fmt::{self, Write as _};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::list::List;
use crate::runtime::term::escape_text;

/// The first eight bytes of every list file.
pub const MAGIC: [u8; 8] = *b"IEXTODO\0";

/// The header layout this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;

/// The largest file [`Store::load`] reads, and the limit the decoder enforces on what a payload
/// may claim to contain.
pub const DEFAULT_MAX_FILE: u64 = DECODE_LIMIT as u64;

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
    /// The header's version is not [`FORMAT_VERSION`].
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
    /// Any serialisable value can be stored (the book's `Todo.Database.store("Bob's list", 5)`
    /// stores an integer); `load` accepts only a valid `Todo.List` back, so anything else is
    /// reported as a decode error naming the file, never taken for a list.
    pub fn store<T: serde::Serialize + ?Sized>(
        &self,
        name: &str,
        list: &T,
        worker: usize,
    ) -> Result<(), PersistError> {
        let path = self.path(name)?;
        let bytes = encode_file(name, list).map_err(|kind| error(&path, kind))?;
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
            .write_temp(file, &bytes)
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

    /// Moves a list's file (typically a corrupt one) into `<dir>/quarantine/`, under a name not
    /// yet taken there, and returns its new path. A symbolic link is moved as the link itself.
    pub fn quarantine(&self, name: &str) -> Result<PathBuf, PersistError> {
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
    let mut hashed = String::from("h-");
    for byte in Sha256::digest(name.as_bytes()) {
        let _ = write!(hashed, "{byte:02x}");
    }
    Ok(hashed)
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

// The file format: `MAGIC | u16 version | u32 payload_len | u32 crc32c(payload) | u16 name_len |
// name | payload`, little-endian.

const TEMP_PREFIX: &str = ".tmp.";
const MAX_BASE32_LEN: usize = 200;
const HEADER_LEN: usize = 8 + 2 + 4 + 4 + 2;
const DECODE_LIMIT: usize = 8 * 1024 * 1024;

/// The fixed header of a file and the name that follows it.
struct Header<'a> {
    payload_len: u32,
    crc: u32,
    name: &'a [u8],
}

impl Header<'_> {
    /// The length of the whole file this header describes.
    fn file_len(&self) -> u64 {
        (HEADER_LEN + self.name.len()) as u64 + u64::from(self.payload_len)
    }
}

/// A list's whole file.
fn encode_file<T: serde::Serialize + ?Sized>(
    name: &str,
    list: &T,
) -> Result<Vec<u8>, PersistErrorKind> {
    let payload = encode_payload(list)
        .map_err(|e| PersistErrorKind::Io(format!("cannot encode the list: {e}")))?;
    frame(name.as_bytes(), &payload)
}

/// Wraps a payload in the header.
fn frame(name: &[u8], payload: &[u8]) -> Result<Vec<u8>, PersistErrorKind> {
    let payload_len = u32::try_from(payload.len()).map_err(|_| PersistErrorKind::TooLarge)?;
    let name_len = u16::try_from(name.len())
        .map_err(|_| PersistErrorKind::InvalidName("the name is too long".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(&crc32c(payload).to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Checks a whole file against the list name it should hold and decodes it. Each check runs
/// before anything that trusts what it checks: the length before the name and payload are
/// sliced, the checksum before the decoder sees the payload.
fn decode_file(name: &str, bytes: &[u8]) -> Result<List, PersistErrorKind> {
    let header = parse_header(bytes)?;
    if header.file_len() != bytes.len() as u64 {
        return Err(PersistErrorKind::LengthMismatch);
    }
    if header.name != name.as_bytes() {
        return Err(PersistErrorKind::NameMismatch);
    }
    let payload = &bytes[HEADER_LEN + header.name.len()..];
    if crc32c(payload) != header.crc {
        return Err(PersistErrorKind::Checksum);
    }
    let (list, used) = decode_payload(payload).map_err(PersistErrorKind::Decode)?;
    if used != payload.len() {
        return Err(PersistErrorKind::TrailingBytes);
    }
    list.validate().map_err(PersistErrorKind::Decode)?;
    Ok(list)
}

/// Reads the header and the name from the start of a file; the payload need not be there.
/// A file cut inside the header is a length error, not a bad magic, as long as what is there
/// is a prefix of the magic: the empty file a crash without fsync leaves is reported as
/// truncated.
fn parse_header(bytes: &[u8]) -> Result<Header<'_>, PersistErrorKind> {
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            PersistErrorKind::LengthMismatch
        } else {
            PersistErrorKind::BadMagic
        });
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(PersistErrorKind::BadMagic);
    }
    // The version comes right after the magic so that a future layout is reported as
    // unsupported rather than as garbage.
    let version = le_u16(bytes, 8).ok_or(PersistErrorKind::LengthMismatch)?;
    if version != FORMAT_VERSION {
        return Err(PersistErrorKind::UnsupportedVersion);
    }
    let (Some(payload_len), Some(crc), Some(name_len)) =
        (le_u32(bytes, 10), le_u32(bytes, 14), le_u16(bytes, 18))
    else {
        return Err(PersistErrorKind::LengthMismatch);
    };
    let name = bytes
        .get(HEADER_LEN..HEADER_LEN + usize::from(name_len))
        .ok_or(PersistErrorKind::LengthMismatch)?;
    Ok(Header {
        payload_len,
        crc,
        name,
    })
}

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

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

// The codec. bincode is flagged unmaintained (RUSTSEC-2025-0141) and pinned; these two
// functions are all that knows about it.

/// The codec's configuration. The limit matters: without it bincode allocates whatever length
/// prefix the payload claims before reading a byte of it (bincode #764), so a 12-byte payload
/// could abort the process.
fn codec_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

fn encode_payload<T: serde::Serialize + ?Sized>(list: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(list, codec_config()).map_err(|e| e.to_string())
}

/// The list and the number of payload bytes it used.
fn decode_payload(payload: &[u8]) -> Result<(List, usize), String> {
    bincode::serde::decode_from_slice(payload, codec_config()).map_err(|e| e.to_string())
}

// Small encoders, written out rather than pulled in as dependencies.

/// Lowercase RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    // Bits enter at the bottom of `buffer` and leave from the top of its `bits` valid bits;
    // older bits shifted past 32 are already spent, so losing them is harmless.
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the payload.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc = CRC32C_TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            k += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Date;

    /// A fresh folder under the system's temp dir, removed when dropped. The store lives in its
    /// `persist/` sub-folder, so a test can check that nothing was written beside it.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("otplab-persist-{}-{tag}-{n}", std::process::id()));
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
        bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
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
}
