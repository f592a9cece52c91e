//! Recording a session as a transcript that `otplab check` reads: inputs with their
//! `iex(N)>` prompts, results, and the asynchronous lines between prompts, in the order the
//! person saw them. Each line is written to the file by its own write call the moment it is
//! printed, with no buffer held in the process between lines, so a crash, a Ctrl-C or a
//! SIGKILL of the shell loses nothing that was already on the screen. Colours are stripped:
//! a recording is compared as text. Also the bounded read of a transcript for `check`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::script::{MAX_TRANSCRIPT_BYTES, TranscriptError, prompted};

/// A recording file being written.
pub struct Recorder {
    file: File,
    path: PathBuf,
}

/// Why a recording could not start, or stopped.
#[derive(Debug)]
pub struct RecordError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot record to {}: {}",
            self.path.display(),
            self.error
        )
    }
}

impl Recorder {
    /// Creates (or empties) the recording file: a recording is one session.
    pub fn create(path: &Path) -> Result<Recorder, RecordError> {
        let file = File::create(path).map_err(|error| RecordError {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Recorder {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Writes lines, each with its line break, in one write per line. A `File` has no
    /// buffer of its own, so every line is in the kernel's hands when this returns.
    pub fn lines<S: AsRef<str>>(&mut self, lines: &[S]) -> Result<(), RecordError> {
        for line in lines {
            let mut text = strip_ansi(line.as_ref());
            text.push('\n');
            self.file
                .write_all(text.as_bytes())
                .and_then(|()| self.file.flush())
                .map_err(|error| RecordError {
                    path: self.path.clone(),
                    error,
                })?;
        }
        Ok(())
    }
}

/// The recording of a session, shared by the front end that prints lines and the `record`
/// command that starts and stops it from inside the shell process.
#[derive(Clone, Default)]
pub struct Recording(Arc<Mutex<Option<Recorder>>>);

impl Recording {
    /// Starts recording to `path`, replacing any recording in progress.
    pub fn start(&self, path: &Path) -> Result<(), RecordError> {
        let recorder = Recorder::create(path)?;
        *self.0.lock().unwrap() = Some(recorder);
        Ok(())
    }

    pub fn stop(&self) {
        self.0.lock().unwrap().take();
    }

    pub fn is_on(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }

    /// Records printed lines. A write that fails (a full disk, a removed folder) ends the
    /// recording and returns the one line that says so, for the caller to print; the
    /// session carries on.
    pub fn lines<S: AsRef<str>>(&self, lines: &[S]) -> Option<String> {
        let mut guard = self.0.lock().unwrap();
        let recorder = guard.as_mut()?;
        match recorder.lines(lines) {
            Ok(()) => None,
            Err(e) => {
                guard.take();
                Some(format!("** recording stopped: {e}"))
            }
        }
    }

    /// Records one input as the prompts the person saw: `iex(N)> ` before its first line,
    /// `...(N)> ` before the others, control characters escaped as the echo shows them.
    pub fn input(&self, n: u32, text: &str) -> Option<String> {
        if !self.is_on() {
            return None;
        }
        self.lines(&prompted(n, text))
    }
}

/// The bytes of a transcript or a recording. A file over [`MAX_TRANSCRIPT_BYTES`] is refused
/// by its size before it is read, and the read itself stops past the limit, for a file whose
/// size says nothing (a pipe, a device, a file still growing).
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, TranscriptError> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| TranscriptError::Unreadable(e.to_string());
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(TranscriptError::Unreadable("a folder, not a file".into()));
    }
    if meta.len() > MAX_TRANSCRIPT_BYTES {
        return Err(TranscriptError::TooLarge { len: meta.len() });
    }
    let mut bytes = vec![];
    file.take(MAX_TRANSCRIPT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_TRANSCRIPT_BYTES {
        return Err(TranscriptError::TooLarge {
            len: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// The text of a line without its terminal escape sequences: CSI sequences (colours,
/// `ESC [ … m`), and two-character escapes.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        // A CSI sequence ends with its final byte, in `@`..=`~`; another escape is two
        // characters, both dropped.
        if chars.next() == Some('[') {
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stripped_and_text_kept() {
        assert_eq!(strip_ansi("\u{1b}[1miex(1)> \u{1b}[0m:ok"), "iex(1)> :ok");
        assert_eq!(strip_ansi("\u{1b}[38;5;2mé🙂\u{1b}[39m"), "é🙂");
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(strip_ansi("cut \u{1b}[3"), "cut ");
    }

    #[test]
    fn every_line_is_in_the_file_as_soon_as_it_is_recorded() {
        let path = std::env::temp_dir().join(format!("otplab-rec-unit-{}", std::process::id()));
        let rec = Recording::default();
        rec.start(&path).unwrap();
        assert_eq!(rec.input(1, "1 + 1"), None);
        assert_eq!(rec.lines(&["\u{1b}[33m2\u{1b}[0m"]), None);
        // Read while the recorder is still open: nothing waits in a buffer.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "iex(1)> 1 + 1\n2\n"
        );
        rec.stop();
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_that_cannot_be_created_is_one_error() {
        let rec = Recording::default();
        let e = rec.start(Path::new("/nonexistent-dir/x.iex")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot record to /nonexistent-dir/x.iex: ")
        );
        assert!(!rec.is_on());
    }
}
