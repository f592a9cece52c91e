//! One owner per persist folder (rule P5 of tests/README.md). Two otplab shells on one folder
//! would each load a list, each add an entry, each have `sync` answer `:ok`, and the second
//! write would silently replace the first: an acknowledged entry lost. So a running otplab
//! holds an exclusive lock on `<folder>/.otplab.lock`, taken with `flock(2)` through
//! [`File::try_lock`]: the kernel releases it when the holder's file is closed, which happens
//! when the process dies however it dies (SIGKILL included), so a lock can never go stale and
//! nothing needs cleaning up. The holder writes its pid in the file, so that a second otplab
//! can name who holds the folder; the pid is information only, never what decides.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::runtime::term::escape_text;

/// The lock file's name inside the persist folder. It is neither a list's file (`l-`, `h-`)
/// nor a temporary one (`.tmp.`), so the database neither loads nor sweeps it.
pub const LOCK_FILE: &str = ".otplab.lock";

/// The lock on a folder, held until this is dropped or the process ends.
#[derive(Debug)]
pub struct FolderLock {
    // Never read: holding the open file is holding the lock.
    _file: File,
}

/// Why a folder cannot be used as this process's persist folder.
#[derive(Debug)]
pub enum LockError {
    /// The path exists and is not a folder.
    NotAFolder(PathBuf),
    /// The folder does not exist and cannot be created.
    CannotCreate(PathBuf, io::Error),
    /// The folder exists but a file cannot be written in it.
    NotWritable(PathBuf, io::Error),
    /// Another process holds the lock; its pid when it wrote one.
    Held(PathBuf, Option<u32>),
}

impl FolderLock {
    /// Creates the folder if needed, checks that files can be written in it, and takes its
    /// lock without waiting.
    pub fn acquire(dir: &Path) -> Result<FolderLock, LockError> {
        match fs::metadata(dir) {
            Ok(meta) if !meta.is_dir() => return Err(LockError::NotAFolder(dir.to_path_buf())),
            Ok(_) => {}
            Err(_) => fs::create_dir_all(dir)
                .map_err(|e| LockError::CannotCreate(dir.to_path_buf(), e))?,
        }
        let not_writable = |e| LockError::NotWritable(dir.to_path_buf(), e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(not_writable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held(dir.to_path_buf(), holder(&mut file)));
            }
            Err(TryLockError::Error(e)) => return Err(not_writable(e)),
        }
        // The lock file may be writable in a folder that is not (its mode changed after it
        // was made), and every list write creates a file: try one now, not at the first store.
        let probe = dir.join(format!(".tmp.probe.{}", std::process::id()));
        File::create(&probe).map_err(not_writable)?;
        let _ = fs::remove_file(&probe);
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(not_writable)?;
        Ok(FolderLock { _file: file })
    }
}

/// The pid the holder wrote, if it has written one yet.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// One line, every part of it escaped (a folder name may carry control characters).
impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |p: &Path| escape_text(&p.display().to_string());
        match self {
            LockError::NotAFolder(p) => write!(f, "{}: exists and is not a folder", show(p)),
            LockError::CannotCreate(p, e) => write!(
                f,
                "{}: cannot create the folder: {}",
                show(p),
                escape_text(&e.to_string())
            ),
            LockError::NotWritable(p, e) => write!(
                f,
                "{}: cannot write in the folder: {}",
                show(p),
                escape_text(&e.to_string())
            ),
            LockError::Held(p, pid) => {
                let who = match pid {
                    Some(pid) => format!("another otplab (pid {pid})"),
                    None => "another otplab".to_string(),
                };
                write!(
                    f,
                    "{} is in use by {who}; start with --persist DIR for a separate database, \
                     or run `otplab observe` to watch the running one",
                    show(p)
                )
            }
        }
    }
}

impl std::error::Error for LockError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("otplab-lock-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_one_is_free() {
        let dir = temp("twice");
        let first = FolderLock::acquire(&dir).unwrap();
        let held = FolderLock::acquire(&dir).unwrap_err();
        let pid = std::process::id();
        assert!(
            matches!(held, LockError::Held(_, Some(p)) if p == pid),
            "{held}"
        );
        assert!(held.to_string().contains(&format!("(pid {pid})")), "{held}");
        drop(first);
        assert!(FolderLock::acquire(&dir).is_ok());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_is_no_folder_and_nothing_is_created_under_it() {
        let dir = temp("file");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plain");
        fs::write(&file, b"x").unwrap();
        let err = FolderLock::acquire(&file).unwrap_err();
        assert!(matches!(err, LockError::NotAFolder(_)), "{err}");
        let err = FolderLock::acquire(&file.join("sub")).unwrap_err();
        assert!(matches!(err, LockError::CannotCreate(..)), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }
}
