//! The matcher of transcripts: whether the lines one step printed match the lines a script
//! expects. A line is text with holes (`...` for figures, `#PID<…>` bound one to one to the
//! actual pids); a step's lines match in place, or in any interleaving that keeps the order
//! of each source (the lines that name no process, one process's lines, the `Starting …`
//! lines). Pure: no I/O.

use std::collections::HashMap;

/// Pids seen so far, both ways, so each expected pid stands for exactly one actual pid.
#[derive(Default, Clone)]
pub(super) struct PidMap {
    pub(super) forward: HashMap<u64, u64>,
    backward: HashMap<u64, u64>,
}

impl PidMap {
    pub(super) fn bind(&mut self, expected: u64, actual: u64) -> bool {
        match (self.forward.get(&expected), self.backward.get(&actual)) {
            (Some(a), _) => *a == actual,
            (None, Some(_)) => false,
            (None, None) => {
                self.forward.insert(expected, actual);
                self.backward.insert(actual, expected);
                true
            }
        }
    }
}

/// Where a line of output comes from, which decides the order it must keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// A line that names no process: a result, an error, a report's text. These lines keep
    /// their order among themselves; the shell's result may come before or after the
    /// asynchronous lines of the same step, as in iex, where the evaluator's answer and other
    /// processes' output reach the terminal in whichever order they happen to.
    Unnamed,
    /// `Starting …`, which the `init` of each restarted process prints: a supervisor starts
    /// its children one after another, so these lines keep their order among themselves.
    Starting,
    /// A line that names a process (the first pid it names): an exit, a restart by that
    /// supervisor, a pid as a result. Lines of one process keep their order.
    Pid(u64),
}

pub(super) fn source(line: &str) -> Source {
    if let Some(at) = line.find("#PID<0.")
        && let Some((n, _)) = parse_pid(&line[at..])
    {
        return Source::Pid(n);
    }
    if line.starts_with("Starting ") {
        return Source::Starting;
    }
    Source::Unnamed
}

/// The most lines of one step that may be found in another order, and the most line
/// comparisons spent looking for that order: a larger or stranger block is compared in
/// place only, so a hostile transcript costs bounded time.
pub(super) const MAX_REORDERED: usize = 1000;
pub(super) const SEARCH_BUDGET: usize = 100_000;

/// Whether the actual lines of one step match the expected ones. They match in place, or:
/// the same number of lines, in any interleaving that keeps the order of the lines of each
/// source (the lines that name no process, one process's lines, or the `Starting …` lines),
/// each matching its line. Pids bind one to one as everywhere in a transcript; the bindings
/// of the order found are kept.
pub(super) fn block_matches(expected: &[String], actual: &[String], pids: &mut PidMap) -> bool {
    if expected.len() != actual.len() {
        return false;
    }
    let mut trial = pids.clone();
    if expected
        .iter()
        .zip(actual)
        .all(|(e, a)| line_matches(&parts(e), a, &mut trial))
    {
        *pids = trial;
        return true;
    }
    if actual.len() > MAX_REORDERED {
        return false;
    }
    let mut groups: Vec<(Source, Vec<&str>)> = vec![];
    let slots: Vec<&str> = actual.iter().map(String::as_str).collect();
    for e in expected {
        let from = source(e);
        match groups.iter_mut().find(|(s, _)| *s == from) {
            Some((_, lines)) => lines.push(e),
            None => groups.push((from, vec![e])),
        }
    }
    let mut next = vec![0; groups.len()];
    let mut budget = SEARCH_BUDGET;
    match interleave(&groups, &mut next, &slots, pids.clone(), &mut budget) {
        Some(found) => {
            *pids = found;
            true
        }
        None => false,
    }
}

/// Fills `slots` in order, each with the next line of some group that matches it; depth
/// first, undoing a choice that leads nowhere. `next` holds each group's next line.
pub(super) fn interleave(
    groups: &[(Source, Vec<&str>)],
    next: &mut [usize],
    slots: &[&str],
    pids: PidMap,
    budget: &mut usize,
) -> Option<PidMap> {
    let Some((slot, rest)) = slots.split_first() else {
        return Some(pids);
    };
    for (g, (from, lines)) in groups.iter().enumerate() {
        let Some(e) = lines.get(next[g]) else {
            continue;
        };
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let mut trial = pids.clone();
        if !line_matches(&parts(e), slot, &mut trial) {
            continue;
        }
        // The actual line must come from the process the expected line's pid stands for.
        if let Source::Pid(p) = from
            && trial.forward.get(p).map(|a| Source::Pid(*a)) != Some(source(slot))
        {
            continue;
        }
        next[g] += 1;
        if let Some(found) = interleave(groups, next, rest, trial, budget) {
            return Some(found);
        }
        next[g] -= 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part<'a> {
    Text(&'a str),
    Any,
    Pid(u64),
}

/// Splits an expected line into text, `...` wildcards and pid placeholders.
pub(super) fn parts(line: &str) -> Vec<Part<'_>> {
    let mut out = vec![];
    let mut rest = line;
    while !rest.is_empty() {
        let any = rest.find("...");
        let pid = rest.find("#PID<0.");
        let next = match (any, pid) {
            (Some(a), Some(p)) => a.min(p),
            (Some(a), None) => a,
            (None, Some(p)) => p,
            (None, None) => {
                out.push(Part::Text(rest));
                break;
            }
        };
        if next > 0 {
            out.push(Part::Text(&rest[..next]));
        }
        rest = &rest[next..];
        if let Some(r) = rest.strip_prefix("...") {
            out.push(Part::Any);
            rest = r;
        } else if let Some((n, len)) = parse_pid(rest) {
            out.push(Part::Pid(n));
            rest = &rest[len..];
        } else {
            out.push(Part::Text("#"));
            rest = &rest[1..];
        }
    }
    out
}

/// `#PID<0.N.0>` at the start of `s`: the number and the token's length.
pub(super) fn parse_pid(s: &str) -> Option<(u64, usize)> {
    let r = s.strip_prefix("#PID<0.")?;
    let digits = r.chars().take_while(|c| c.is_ascii_digit()).count();
    let n = r[..digits].parse().ok()?;
    r[digits..]
        .starts_with(".0>")
        .then_some((n, "#PID<0.".len() + digits + 3))
}

pub(super) fn line_matches(parts: &[Part<'_>], actual: &str, pids: &mut PidMap) -> bool {
    match parts.split_first() {
        None => actual.is_empty(),
        Some((Part::Text(t), rest)) => actual
            .strip_prefix(t)
            .is_some_and(|a| line_matches(rest, a, pids)),
        Some((Part::Pid(n), rest)) => match parse_pid(actual) {
            Some((m, len)) => {
                let mut trial = pids.clone();
                if trial.bind(*n, m) && line_matches(rest, &actual[len..], &mut trial) {
                    *pids = trial;
                    true
                } else {
                    false
                }
            }
            None => false,
        },
        Some((Part::Any, rest)) => {
            let mut cut = actual.len();
            loop {
                let mut trial = pids.clone();
                if actual.is_char_boundary(cut) && line_matches(rest, &actual[cut..], &mut trial) {
                    *pids = trial;
                    return true;
                }
                if cut == 0 {
                    return false;
                }
                cut -= 1;
            }
        }
    }
}
