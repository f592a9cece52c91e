//! Transcripts: the `.iex` script format of `otplab run` and `otplab check`. A line starting with `iex>` or `iex(N)>` is input, `...>` or
//! `...(N)>` continues it; the lines after it, up to the next prompt, are the expected output.
//! `...` inside an expected line matches any text. Pids are placeholders matched one to one
//! across the whole transcript. A file without prompts is a list of commands. A line that is
//! `#` alone or starts with `# ` is a comment. Pure: parsing, comparing, and the lines of
//! `check`'s report, which `main` prints.

use std::collections::HashMap;
use std::fmt::Write as _;

use owo_colors::OwoColorize;

use super::parser;

/// One input and the output expected after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The input, continued lines joined with newlines.
    pub input: String,
    /// 1-based line of the prompt in the file, for error messages.
    pub line: usize,
    pub expected: Vec<String>,
}

/// Whether a line is a comment of the transcript format.
pub fn is_comment(line: &str) -> bool {
    let t = line.trim_end();
    t == "#" || t.starts_with("# ")
}

/// Splits a prompt line into the input after the prompt; `continued` for `...>` prompts.
fn prompt(line: &str) -> Option<(bool, &str)> {
    let (continued, rest) = if let Some(r) = line.strip_prefix("iex") {
        (false, r)
    } else if let Some(r) = line.strip_prefix("...") {
        (true, r)
    } else {
        return None;
    };
    let rest = if let Some(r) = rest.strip_prefix('(') {
        let close = r.find(')')?;
        if close == 0 || !r[..close].chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        &r[close + 1..]
    } else {
        rest
    };
    let rest = rest.strip_prefix('>')?;
    Some((continued, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// Parses a transcript. A file with no prompt at all is a plain list of commands, one a line.
pub fn parse(text: &str) -> Vec<Step> {
    let lines: Vec<&str> = text.lines().collect();
    let has_prompts = lines.iter().any(|l| matches!(prompt(l), Some((false, _))));
    let mut steps: Vec<Step> = vec![];
    for (i, line) in lines.iter().enumerate() {
        if is_comment(line) {
            continue;
        }
        if !has_prompts {
            // A plain list of commands: lines join while the expression is incomplete.
            let pending = steps
                .last_mut()
                .filter(|s| parser::completeness(&s.input) == parser::Completeness::Incomplete);
            match pending {
                Some(step) => {
                    step.input.push('\n');
                    step.input.push_str(line);
                }
                None if !line.trim().is_empty() => steps.push(Step {
                    input: line.to_string(),
                    line: i + 1,
                    expected: vec![],
                }),
                None => {}
            }
            continue;
        }
        match prompt(line) {
            Some((false, input)) => steps.push(Step {
                input: input.to_string(),
                line: i + 1,
                expected: vec![],
            }),
            Some((true, input)) if steps.last().is_some_and(|s| s.expected.is_empty()) => {
                let step = steps.last_mut().unwrap();
                step.input.push('\n');
                step.input.push_str(input);
            }
            _ => {
                if let Some(step) = steps.last_mut() {
                    step.expected.push(line.trim_end().to_string());
                }
            }
        }
    }
    for step in &mut steps {
        while step.expected.last().is_some_and(|l| l.is_empty()) {
            step.expected.pop();
        }
    }
    steps
}

/// Renders steps and their actual output as a transcript, as `otplab run` prints it.
pub fn render(steps: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    for (n, (input, output)) in (1..).zip(steps) {
        for (i, line) in input.lines().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "iex({n})> {line}");
            } else {
                let _ = writeln!(out, "...({n})> {line}");
            }
        }
        for line in output {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The first difference between a transcript and a run, for a readable diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub line: usize,
    pub input: String,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
}

/// Pids seen so far, both ways, so each expected pid stands for exactly one actual pid.
#[derive(Default, Clone)]
struct PidMap {
    forward: HashMap<u64, u64>,
    backward: HashMap<u64, u64>,
}

impl PidMap {
    fn bind(&mut self, expected: u64, actual: u64) -> bool {
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

/// What `otplab check` prints of one transcript: `ok  FILE`, or `FAIL FILE:LINE: after
/// `INPUT`` and the expected (`- `) and actual (`+ `) lines of the first step that differs,
/// painted green and red when `color` is set.
pub fn check_report(file: &str, outcome: &Result<(), Mismatch>, color: bool) -> Vec<String> {
    match outcome {
        Ok(()) => vec![format!("{} {file}", paint("ok  ", color, true))],
        Err(m) => {
            let mut out = vec![format!(
                "{} {file}:{}: after `{}`",
                paint("FAIL", color, false),
                m.line,
                m.input.lines().next().unwrap_or("")
            )];
            out.extend(
                m.expected
                    .iter()
                    .map(|l| paint(&format!("- {l}"), color, false)),
            );
            out.extend(
                m.actual
                    .iter()
                    .map(|l| paint(&format!("+ {l}"), color, true)),
            );
            out
        }
    }
}

/// The closing line of `otplab check`.
pub fn check_summary(passed: usize, failed: usize) -> String {
    format!("{passed} passed, {failed} failed")
}

fn paint(text: &str, color: bool, good: bool) -> String {
    match (color, good) {
        (false, _) => text.to_string(),
        (true, true) => text.green().to_string(),
        (true, false) => text.red().to_string(),
    }
}

/// Compares each step's expected output with the actual output of the run.
pub fn compare(steps: &[Step], actual: &[Vec<String>]) -> Result<(), Mismatch> {
    let mut pids = PidMap::default();
    for (step, got) in steps.iter().zip(actual) {
        let mut got: Vec<String> = got.iter().map(|l| l.trim_end().to_string()).collect();
        while got.last().is_some_and(|l| l.is_empty()) {
            got.pop();
        }
        let ok = step.expected.len() == got.len()
            && step.expected.iter().zip(&got).all(|(e, a)| {
                let mut trial = pids.clone();
                let matched = line_matches(&parts(e), a, &mut trial);
                if matched {
                    pids = trial;
                }
                matched
            });
        if !ok {
            return Err(Mismatch {
                line: step.line,
                input: step.input.clone(),
                expected: step.expected.clone(),
                actual: got,
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Part<'a> {
    Text(&'a str),
    Any,
    Pid(u64),
}

/// Splits an expected line into text, `...` wildcards and pid placeholders.
fn parts(line: &str) -> Vec<Part<'_>> {
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
fn parse_pid(s: &str) -> Option<(u64, usize)> {
    let r = s.strip_prefix("#PID<0.")?;
    let digits = r.chars().take_while(|c| c.is_ascii_digit()).count();
    let n = r[..digits].parse().ok()?;
    r[digits..]
        .starts_with(".0>")
        .then_some((n, "#PID<0.".len() + digits + 3))
}

fn line_matches(parts: &[Part<'_>], actual: &str, pids: &mut PidMap) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prompts_continuations_output_and_comments() {
        let steps = parse(
            "# What this shows\n#\niex(1)> Todo.Cache.server_process(cache, \"Alice's list\") |>\n...(1)> Todo.Server.entries(~D[2023-12-19])\n[]\niex> x = 1\n1\n\n",
        );
        assert_eq!(steps.len(), 2);
        assert_eq!(
            steps[0].input,
            "Todo.Cache.server_process(cache, \"Alice's list\") |>\nTodo.Server.entries(~D[2023-12-19])"
        );
        assert_eq!(steps[0].expected, vec!["[]"]);
        assert_eq!(steps[1].line, 6);
        assert_eq!(steps[1].expected, vec!["1"]);
    }

    #[test]
    fn a_file_without_prompts_is_a_list_of_commands() {
        let steps = parse("# comment\nserver_process \"Bob's list\"\n\nkill registry\n");
        let inputs: Vec<_> = steps.iter().map(|s| s.input.as_str()).collect();
        assert_eq!(inputs, ["server_process \"Bob's list\"", "kill registry"]);
    }

    #[test]
    fn pids_are_placeholders_matched_one_to_one() {
        let steps = parse("iex> a\n#PID<0.1.0>\niex> b\n#PID<0.1.0>\niex> c\n#PID<0.2.0>\n");
        let run = |a: &str, b: &str, c: &str| {
            compare(
                &steps,
                &[
                    vec![a.to_string()],
                    vec![b.to_string()],
                    vec![c.to_string()],
                ],
            )
        };
        assert!(run("#PID<0.150.0>", "#PID<0.150.0>", "#PID<0.151.0>").is_ok());
        assert!(
            run("#PID<0.150.0>", "#PID<0.151.0>", "#PID<0.151.0>").is_err(),
            "the same pid must stay the same"
        );
        assert!(
            run("#PID<0.150.0>", "#PID<0.150.0>", "#PID<0.150.0>").is_err(),
            "different pids must differ"
        );
    }

    #[test]
    fn ellipsis_matches_any_text() {
        let steps = parse("iex> profile\n... reqs/sec\n{:ok, #PID<0.9.0>, ...}\n");
        let actual = vec![vec![
            "1823739 reqs/sec".to_string(),
            "{:ok, #PID<0.77.0>, 12}".to_string(),
        ]];
        assert!(compare(&steps, &actual).is_ok());
        let wrong = vec![vec![
            "1823739 req/sec".to_string(),
            "{:ok, #PID<0.77.0>, 12}".to_string(),
        ]];
        let m = compare(&steps, &wrong).unwrap_err();
        assert_eq!(m.line, 1);
    }

    #[test]
    fn render_numbers_prompts() {
        let text = render(&[("a |>\nb".into(), vec!["1".into()]), ("c".into(), vec![])]);
        assert_eq!(text, "iex(1)> a |>\n...(1)> b\n1\niex(2)> c\n");
    }

    #[test]
    fn check_reports_name_the_file_and_the_first_difference() {
        assert_eq!(check_report("a.iex", &Ok(()), false), vec!["ok   a.iex"]);
        let m = Mismatch {
            line: 3,
            input: "kill registry\nmore".into(),
            expected: vec!["true".into()],
            actual: vec!["false".into()],
        };
        assert_eq!(
            check_report("a.iex", &Err(m), false),
            vec!["FAIL a.iex:3: after `kill registry`", "- true", "+ false"]
        );
        assert_eq!(check_summary(2, 1), "2 passed, 1 failed");
    }
}
