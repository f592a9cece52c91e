//! The bytes of a list file: a fixed header (magic, version, payload length, CRC32C of the
//! payload, the list's own name) and the codec's payload, with the limits that keep a hostile
//! file from exhausting memory. The layout is rule P2 of tests/README.md, little-endian:
//!
//! `MAGIC | u16 version | u32 payload_len | u32 crc32c(payload) | u16 name_len | name | payload`
//!
//! The version says what the payload is: version 1 a `Todo.List` in bincode, version 2 any
//! term in the codec of `term.rs`. A list is still written as version 1, its compact and
//! validated form, so that files of lists stay readable by an otplab that knows only
//! version 1; any other term is written as version 2, which such an otplab reports as
//! unsupported rather than as garbage. Both are read.
//!
//! `tests/fixtures/persist-v1/` and `tests/fixtures/persist-v2/` pin every byte of it: a change
//! here needs a new version.

use super::PersistErrorKind;
use super::term;
use crate::runtime::Term;
use crate::todo::list::List;

/// The first eight bytes of every list file.
pub const MAGIC: [u8; 8] = *b"IEXTODO\0";

/// The newest version this code writes and reads: any term.
pub const FORMAT_VERSION: u16 = 2;

/// The version of a file that holds a `Todo.List`, the only one of the first format.
pub const LIST_VERSION: u16 = 1;

/// The largest file [`Store::load`] reads, and the limit the decoder enforces on what a payload
/// may claim to contain.
pub const DEFAULT_MAX_FILE: u64 = DECODE_LIMIT as u64;

pub(super) const HEADER_LEN: usize = 8 + 2 + 4 + 4 + 2;
pub(super) const DECODE_LIMIT: usize = 8 * 1024 * 1024;

/// The fixed header of a file and the name that follows it.
pub(super) struct Header<'a> {
    pub version: u16,
    pub payload_len: u32,
    pub crc: u32,
    pub name: &'a [u8],
}

impl Header<'_> {
    /// The length of the whole file this header describes.
    pub(super) fn file_len(&self) -> u64 {
        (HEADER_LEN + self.name.len()) as u64 + u64::from(self.payload_len)
    }
}

/// A list's whole file.
pub(super) fn encode_file(name: &str, list: &List) -> Result<Vec<u8>, PersistErrorKind> {
    let payload = encode_payload(list)
        .map_err(|e| PersistErrorKind::Io(format!("cannot encode the list: {e}")))?;
    frame(name.as_bytes(), &payload)
}

/// A term's whole file: a list as version 1, anything else as version 2.
pub(super) fn encode_term_file(name: &str, value: &Term) -> Result<Vec<u8>, PersistErrorKind> {
    if let Ok(list) = List::from_term(value) {
        return encode_file(name, &list);
    }
    let wire = value
        .to_wire()
        .map_err(|e| PersistErrorKind::Io(format!("cannot encode the term: {e}")))?;
    let payload = term::encode(&wire)
        .map_err(|e| PersistErrorKind::Io(format!("cannot encode the term: {e}")))?;
    frame_version(FORMAT_VERSION, name.as_bytes(), &payload)
}

/// Wraps a list's payload in the header.
pub(super) fn frame(name: &[u8], payload: &[u8]) -> Result<Vec<u8>, PersistErrorKind> {
    frame_version(LIST_VERSION, name, payload)
}

/// Wraps a payload of `version` in the header.
pub(super) fn frame_version(
    version: u16,
    name: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, PersistErrorKind> {
    let payload_len = u32::try_from(payload.len()).map_err(|_| PersistErrorKind::TooLarge)?;
    let name_len = u16::try_from(name.len())
        .map_err(|_| PersistErrorKind::InvalidName("the name is too long".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(&crc32c(payload).to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(payload);
    Ok(out)
}

/// What a file holds: a list (version 1) or another term (version 2).
#[derive(Debug, PartialEq)]
pub(super) enum Stored {
    List(List),
    Term(Term),
}

/// Checks a whole file against the list name it should hold and decodes it. Each check runs
/// before anything that trusts what it checks: the length before the name and payload are
/// sliced, the checksum before the decoder sees the payload.
pub(super) fn decode_stored(name: &str, bytes: &[u8]) -> Result<Stored, PersistErrorKind> {
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
    let (stored, used) = if header.version == LIST_VERSION {
        let (list, used) = decode_payload(payload).map_err(PersistErrorKind::Decode)?;
        list.validate().map_err(PersistErrorKind::Decode)?;
        (Stored::List(list), used)
    } else {
        let (wire, used) = term::decode(payload).map_err(PersistErrorKind::Decode)?;
        let value = Term::from_wire(wire).map_err(|e| PersistErrorKind::Decode(e.to_string()))?;
        (Stored::Term(value), used)
    };
    if used != payload.len() {
        return Err(PersistErrorKind::TrailingBytes);
    }
    Ok(stored)
}

/// A file that must hold a list: a version 2 file holding anything else is an error that
/// says what it holds.
pub(super) fn decode_file(name: &str, bytes: &[u8]) -> Result<List, PersistErrorKind> {
    match decode_stored(name, bytes)? {
        Stored::List(list) => Ok(list),
        Stored::Term(value) => List::from_term(&value).map_err(PersistErrorKind::Decode),
    }
}

/// Reads the header and the name from the start of a file; the payload need not be there.
/// A file cut inside the header is a length error, not a bad magic, as long as what is there
/// is a prefix of the magic: the empty file a crash without fsync leaves is reported as
/// truncated.
pub(super) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, PersistErrorKind> {
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
    if !(LIST_VERSION..=FORMAT_VERSION).contains(&version) {
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
        version,
        payload_len,
        crc,
        name,
    })
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

pub(super) fn encode_payload(list: &List) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(list, codec_config()).map_err(|e| e.to_string())
}

/// The list and the number of payload bytes it used.
fn decode_payload(payload: &[u8]) -> Result<(List, usize), String> {
    bincode::serde::decode_from_slice(payload, codec_config()).map_err(|e| e.to_string())
}

/// CRC-32C (Castagnoli), the checksum of the payload. The `crc32c` crate uses the CPU's CRC
/// instruction where there is one, and a table like the one this replaced elsewhere.
pub(super) fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}
