//! The magic cookie: `--cookie`, else `$OTPLAB_COOKIE`, else `~/.erlang.cookie` read as erl
//! reads it. The cookie is a secret: it has no `Display`, its `Debug` hides it, and no error
//! line quotes it.

use std::fmt;
use std::path::Path;

use super::error::DistError;

/// The environment variable that gives the cookie when `--cookie` is not passed.
pub const COOKIE_ENV: &str = "OTPLAB_COOKIE";

#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(String);

impl Cookie {
    /// A cookie given on the command line or in the environment; empty text is none.
    pub fn given(text: &str) -> Option<Cookie> {
        (!text.is_empty()).then(|| Cookie(text.to_string()))
    }

    /// The text the handshake digests.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<hidden>)")
    }
}

/// The cookie in the text of a cookie file, by the rule of OTP's `auth:check_cookie`: printable
/// ASCII up to the first line break or tab, then nothing but white space.
pub fn parse_file(text: &[u8]) -> Result<Cookie, DistError> {
    let end = text
        .iter()
        .position(|b| !(b' '..=b'~').contains(b))
        .unwrap_or(text.len());
    let (cookie, rest) = text.split_at(end);
    if !rest
        .iter()
        .all(|b| matches!(b, b'\n' | b'\r' | b'\t' | b' '))
    {
        return Err(DistError::CookieFile("bad characters in cookie".into()));
    }
    let cookie = String::from_utf8_lossy(cookie).trim_end().to_string();
    Cookie::given(&cookie).ok_or_else(|| DistError::CookieFile("the file is empty".into()))
}

/// The cookie to use: `flag`, else `env`, else the cookie file in `home`.
pub fn resolve(
    flag: Option<&str>,
    env: Option<&str>,
    home: Option<&Path>,
) -> Result<Cookie, DistError> {
    if let Some(c) = flag.and_then(Cookie::given) {
        return Ok(c);
    }
    if let Some(c) = env.and_then(Cookie::given) {
        return Ok(c);
    }
    let path = home.ok_or(DistError::NoCookie)?.join(".erlang.cookie");
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(DistError::NoCookie),
        Err(e) => return Err(DistError::CookieFile(e.kind().to_string())),
    };
    // erl refuses a cookie file that others can read, and so does otplab.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(DistError::CookieFile(
                    "it must be accessible by its owner only (chmod 400)".into(),
                ));
            }
        }
    }
    parse_file(&text)
}

/// The cookie from the process's own environment and home folder.
pub fn from_environment(flag: Option<&str>) -> Result<Cookie, DistError> {
    let env = std::env::var(COOKIE_ENV).ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    resolve(flag, env.as_deref(), home.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_read_as_erl_reads_it() {
        let cases: &[(&[u8], Result<&str, ()>)] = &[
            (b"ABCDEF\n", Ok("ABCDEF")),
            (b"ABCDEF", Ok("ABCDEF")),
            (b"two words\r\n\n", Ok("two words")),
            (b"ABC\nDEF", Err(())),
            (b"\n", Err(())),
            (b"", Err(())),
            (b"AB\x01C", Err(())),
        ];
        for (text, expected) in cases {
            let got = parse_file(text)
                .map(|c| c.secret().to_string())
                .map_err(|_| ());
            assert_eq!(got, expected.map(str::to_string), "{text:?}");
        }
    }

    #[test]
    fn the_flag_wins_then_the_environment_then_the_file() {
        let dir = std::env::temp_dir().join(format!("otplab-cookie-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".erlang.cookie");
        std::fs::write(&file, "FROMFILE\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        let get = |flag, env| resolve(flag, env, Some(&dir)).map(|c| c.secret().to_string());
        assert_eq!(get(Some("F"), Some("E")), Ok("F".into()));
        assert_eq!(get(None, Some("E")), Ok("E".into()));
        assert_eq!(get(Some(""), Some("")), Ok("FROMFILE".into()));
        assert_eq!(
            resolve(None, None, Some(&dir.join("nowhere"))),
            Err(DistError::NoCookie)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cookie_is_never_shown() {
        let c = Cookie::given("s3cret").unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
        for e in [DistError::NoCookie, DistError::CookieFile("x".into())] {
            assert!(!e.to_string().contains("s3cret"));
        }
    }
}
