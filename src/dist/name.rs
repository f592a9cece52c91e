//! Node names, `todo@localhost`: the part before `@` names the node for EPMD, the part after
//! is the host to reach it on.

use std::fmt;

use super::error::DistError;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeName {
    pub name: String,
    pub host: String,
}

impl NodeName {
    /// Parses `NAME@HOST`. The name takes the characters EPMD accepts from `--sname`; the host
    /// is anything without `@` or blanks.
    pub fn parse(text: &str) -> Result<NodeName, DistError> {
        let bad = || DistError::BadName(text.to_string());
        let (name, host) = text.split_once('@').ok_or_else(bad)?;
        let name_ok = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let host_ok = !host.is_empty()
            && host.len() <= 255
            && !host
                .chars()
                .any(|c| c == '@' || c.is_whitespace() || c.is_control());
        if name_ok && host_ok {
            Ok(NodeName {
                name: name.to_string(),
                host: host.to_string(),
            })
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_erl_writes_them() {
        let cases = [
            ("todo@localhost", Some(("todo", "localhost"))),
            ("t-1_x@vm", Some(("t-1_x", "vm"))),
            ("a@host.example.com", Some(("a", "host.example.com"))),
            ("todo", None),
            ("@host", None),
            ("todo@", None),
            ("a@b@c", None),
            ("a b@c", None),
            ("a@b c", None),
            ("é@c", None),
        ];
        for (text, expected) in cases {
            let got = NodeName::parse(text).ok();
            let expected = expected.map(|(n, h)| NodeName {
                name: n.into(),
                host: h.into(),
            });
            assert_eq!(got, expected, "{text}");
        }
        assert_eq!(NodeName::parse("todo@vm").unwrap().to_string(), "todo@vm");
    }
}
