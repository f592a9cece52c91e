//! The frames of a connection after the handshake: a 4-byte length, then either nothing (a
//! tick) or the pass-through tag 112 and the control message and payload, which erl_dist's
//! codec decodes. otplab reads the frame itself so that a peer cannot make it allocate more
//! than [`MAX_FRAME`] by claiming a huge length, and checks the terms' declared counts and
//! nesting before the crate decodes them, because eetf reserves whatever count a list or tuple
//! claims and decodes nested terms by recursion.

use erl_dist::message::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest frame accepted: `ps` pages its replies far below this.
pub const MAX_FRAME: usize = 64 << 20;

/// The deepest nesting of terms accepted (a tuple in a list in a map …).
pub const MAX_DEPTH: usize = 256;

/// The pass-through type tag of a distribution message without an atom cache.
const PASS_THROUGH: u8 = 112;

/// Why a frame was refused; the connection turns it into `DistError::Protocol`.
#[derive(Debug)]
pub enum FrameError {
    Closed,
    Io(std::io::Error),
    Bad(String),
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> FrameError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Closed
        } else {
            FrameError::Io(e)
        }
    }
}

/// Reads one frame: `None` is a tick.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, FrameError> {
    let len = r.read_u32().await? as usize;
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_FRAME {
        return Err(FrameError::Bad(format!(
            "a frame of {len} bytes (the limit is {MAX_FRAME})"
        )));
    }
    let mut body = Vec::new();
    // Read as the bytes arrive, so a peer that claims 64 MB and sends 10 bytes costs 10 bytes.
    let got = r.take(len as u64).read_to_end(&mut body).await?;
    if got < len {
        return Err(FrameError::Closed);
    }
    decode(&body).map(Some)
}

/// Decodes a frame's body (after its length).
pub fn decode(body: &[u8]) -> Result<Message, FrameError> {
    let Some((&tag, rest)) = body.split_first() else {
        return Err(FrameError::Bad("an empty frame".into()));
    };
    if tag != PASS_THROUGH {
        return Err(FrameError::Bad(format!("a frame of type {tag}")));
    }
    check_terms(rest).map_err(FrameError::Bad)?;
    Message::read_from(&mut &rest[..]).map_err(|e| FrameError::Bad(e.to_string()))
}

/// Writes one message (or a tick).
pub async fn write<W: AsyncWrite + Unpin>(w: &mut W, m: Message) -> std::io::Result<()> {
    if matches!(m, Message::Tick) {
        w.write_u32(0).await?;
    } else {
        let mut buf = vec![0, 0, 0, 0, PASS_THROUGH];
        m.write_into(&mut buf)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let len = (buf.len() - 4) as u32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        w.write_all(&buf).await?;
    }
    w.flush().await
}

/// Walks the external terms in `bytes` (each starting with the version byte 131) without
/// building them, and fails if one claims more elements than bytes remain, or nests deeper
/// than [`MAX_DEPTH`]. Only the lengths are read; the crate's codec does the decoding.
pub fn check_terms(bytes: &[u8]) -> Result<(), String> {
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != 131 {
            return Err(format!("a term without its version byte at {at}"));
        }
        at = check_term(bytes, at + 1)?;
    }
    Ok(())
}

fn check_term(b: &[u8], mut at: usize) -> Result<usize, String> {
    let short = || "a truncated term".to_string();
    let int = |at: usize, n: usize| -> Result<usize, String> {
        let s = b.get(at..at + n).ok_or_else(short)?;
        Ok(s.iter().fold(0usize, |acc, x| (acc << 8) | *x as usize))
    };
    // The number of terms still to walk at each open level.
    let mut pending: Vec<usize> = vec![1];
    while let Some(top) = pending.last_mut() {
        if *top == 0 {
            pending.pop();
            continue;
        }
        *top -= 1;
        let tag = *b.get(at).ok_or_else(short)?;
        at += 1;
        let remaining = b.len().saturating_sub(at);
        let mut open = |n: usize, at: usize| -> Result<usize, String> {
            if n > b.len().saturating_sub(at) {
                return Err(format!(
                    "a term that claims {n} elements in {remaining} bytes"
                ));
            }
            if pending.len() >= MAX_DEPTH {
                return Err(format!("terms nested deeper than {MAX_DEPTH}"));
            }
            pending.push(n);
            Ok(at)
        };
        at = match tag {
            97 => at + 1,
            98 => at + 4,
            70 => at + 8,
            99 => at + 31,
            106 => at,
            // Atoms: a 2- or 1-byte length, then the text.
            100 | 118 => at + 2 + int(at, 2)?,
            115 | 119 => at + 1 + int(at, 1)?,
            107 => at + 2 + int(at, 2)?,
            109 => at + 4 + int(at, 4)?,
            77 => at + 5 + int(at, 4)?,
            110 => at + 2 + int(at, 1)?,
            111 => at + 5 + int(at, 4)?,
            // The node atom comes first; its fixed fields after it are skipped on the way back.
            88 => skip_after_node(b, at, 12)?,
            103 => skip_after_node(b, at, 9)?,
            89 => skip_after_node(b, at, 8)?,
            120 => skip_after_node(b, at, 12)?,
            102 => skip_after_node(b, at, 5)?,
            101 => skip_after_node(b, at, 5)?,
            90 => {
                let n = int(at, 2)?;
                skip_after_node(b, at + 2, 4 + 4 * n)?
            }
            114 => {
                let n = int(at, 2)?;
                skip_after_node(b, at + 2, 1 + 4 * n)?
            }
            // A fun carries its whole size, counted from its size field.
            112 => {
                let size = int(at, 4)?;
                if size < 4 {
                    return Err(short());
                }
                at + size
            }
            104 => open(int(at, 1)?, at + 1)?,
            105 => open(int(at, 4)?, at + 4)?,
            108 => {
                let n = int(at, 4)?;
                open(n.saturating_add(1), at + 4)?
            }
            116 => {
                let n = int(at, 4)?;
                open(n.saturating_mul(2), at + 4)?
            }
            113 => open(3, at)?,
            other => return Err(format!("a term of unknown type {other}")),
        };
        if at > b.len() {
            return Err(short());
        }
    }
    Ok(at)
}

/// Skips a node atom at `at` and then `fixed` bytes.
fn skip_after_node(b: &[u8], at: usize, fixed: usize) -> Result<usize, String> {
    let short = || "a truncated term".to_string();
    let tag = *b.get(at).ok_or_else(short)?;
    let len = |n: usize| -> Result<usize, String> {
        let s = b.get(at + 1..at + 1 + n).ok_or_else(short)?;
        Ok(s.iter().fold(0usize, |acc, x| (acc << 8) | *x as usize))
    };
    let end = match tag {
        100 | 118 => at + 3 + len(2)?,
        115 | 119 => at + 2 + len(1)?,
        other => return Err(format!("a node name of type {other}")),
    };
    Ok(end + fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(t: &eetf::Term) -> Vec<u8> {
        let mut v = Vec::new();
        t.encode(&mut v).unwrap();
        v
    }

    #[test]
    fn real_terms_pass_the_check() {
        use eetf::*;
        let pid = Term::from(Pid::new("todo@vm", 80, 0, 1_700_000_000));
        let r = Term::from(Reference::from(("todo@vm", vec![1u32, 2, 3])));
        let t = Term::from(Tuple::from(vec![
            pid,
            r,
            Term::from(List::from(vec![Term::from(FixInteger::from(1)); 3])),
            Term::from(Map::from(std::collections::HashMap::from([(
                Term::from(Atom::from("a")),
                Term::from(Binary::from(vec![1, 2])),
            )]))),
            Term::from(Float::try_from(1.5).unwrap()),
            Term::from(FixInteger::from(-70_000)),
        ]));
        assert_eq!(check_terms(&encoded(&t)), Ok(()));
    }

    #[test]
    fn hostile_terms_fail_the_check() {
        // A list claiming 4 billion elements in a few bytes.
        let huge = [131, 108, 255, 255, 255, 255, 106];
        assert!(check_terms(&huge).unwrap_err().contains("claims"));
        // A tuple claiming two elements with one.
        assert!(check_terms(&[131, 104, 2, 97, 1]).is_err());
        // Nesting deeper than the limit.
        let mut deep = vec![131];
        deep.extend(std::iter::repeat_n([104, 1], MAX_DEPTH + 1).flatten());
        deep.push(106);
        assert!(check_terms(&deep).unwrap_err().contains("deeper"));
        // A binary longer than the bytes.
        assert!(check_terms(&[131, 109, 0, 0, 1, 0, 1]).is_err());
        assert!(check_terms(&[131, 200]).is_err());
        assert!(check_terms(&[7]).is_err());
    }

    #[test]
    fn frames_round_trip_and_bad_bodies_are_refused() {
        let pid = eetf::Pid::new("a@b", 1, 0, 1);
        let m = Message::send(pid, eetf::Atom::from("hi").into());
        let mut buf = Vec::new();
        futures_free_write(&mut buf, m);
        let body = &buf[4..];
        assert!(matches!(decode(body), Ok(Message::Send(_))));
        assert!(matches!(decode(&[]), Err(FrameError::Bad(_))));
        assert!(matches!(decode(&[68, 1]), Err(FrameError::Bad(_))));
        assert!(matches!(
            decode(&body[..body.len() - 2]),
            Err(FrameError::Bad(_))
        ));
    }

    fn futures_free_write(buf: &mut Vec<u8>, m: Message) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(write(buf, m)).unwrap();
    }
}
