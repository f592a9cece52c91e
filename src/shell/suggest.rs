//! The one did-you-mean of the shell: the candidate nearest to a mistyped word, if it is near
//! enough to be a typo. The parser asks it about command words (`server_proces`), the
//! built-ins about modules and functions (`Enum.mapp`), the commands about well-known process
//! names (`kill regsitry`). The distances come from `strsim`; what "near enough" means is the
//! one thing that differs between those callers, so it is a parameter, not a second matcher.

/// How near a candidate must be to count as what the user meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Near {
    /// A command word at the prompt. A swap of two neighbours costs one edit (optimal string
    /// alignment); one edit is allowed in a word of up to 4 characters, two in a longer one;
    /// words over 32 characters are not typos of any command; the word itself is no hint.
    CommandWord,
    /// A module, function or process name. Edits are counted as Levenshtein distance and
    /// allowed up to 2, or a quarter of the candidate's length in bytes when that is more.
    Name,
}

impl Near {
    /// The distance of `word` to `candidate` when it is near enough, `None` otherwise.
    fn distance(self, word: &str, candidate: &str) -> Option<usize> {
        match self {
            Near::CommandWord => {
                let d = strsim::osa_distance(word, candidate);
                let limit = if word.chars().count() <= 4 { 1 } else { 2 };
                (d > 0 && d <= limit).then_some(d)
            }
            Near::Name => {
                let d = strsim::levenshtein(word, candidate);
                (d <= 2.max(candidate.len() / 4)).then_some(d)
            }
        }
    }
}

/// The candidate nearest to `word` under `near`; of equally near ones, the first.
pub fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    near: Near,
) -> Option<&'a str> {
    if near == Near::CommandWord {
        let len = word.chars().take(33).count();
        if len == 0 || len > 32 {
            return None;
        }
    }
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if let Some(d) = near.distance(word, c)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMANDS: &[&str] = &["server_process", "kill", "state", "start", "stop"];
    const NAMES: &[&str] = &["registry", "cache", "database", "worker", "supervisor"];

    #[test]
    fn command_words_allow_swaps_and_few_edits() {
        let cases: &[(&str, Option<&str>)] = &[
            ("server_proces", Some("server_process")),
            ("sevrer_process", Some("server_process")),
            ("kil", Some("kill")),
            ("kll", Some("kill")),
            ("kx", None),
            ("kill", None),
            ("", None),
            ("stat", Some("state")),
        ];
        for (word, want) in cases {
            assert_eq!(
                closest(word, COMMANDS.iter().copied(), Near::CommandWord),
                *want,
                "{word}"
            );
        }
        let long = "s".repeat(33);
        assert_eq!(
            closest(&long, COMMANDS.iter().copied(), Near::CommandWord),
            None
        );
    }

    #[test]
    fn names_allow_two_edits_or_a_quarter() {
        let cases: &[(&str, Option<&str>)] = &[
            ("regsitry", Some("registry")),
            ("cach", Some("cache")),
            ("databse", Some("database")),
            ("cache", Some("cache")),
            ("xyzzyq", None),
            ("supervisr", Some("supervisor")),
        ];
        for (word, want) in cases {
            assert_eq!(
                closest(word, NAMES.iter().copied(), Near::Name),
                *want,
                "{word}"
            );
        }
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(closest("ab", ["ax", "ay"], Near::Name), Some("ax"));
        assert_eq!(
            closest("abcde", ["abcdx", "abcdy"], Near::CommandWord),
            Some("abcdx")
        );
    }
}
