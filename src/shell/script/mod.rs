//! Transcripts: the `.iex` script format of `otplab run` and `otplab check`, and the
//! recordings of `--record`. A line starting with `iex>` or `iex(N)>` is input, `...>` or
//! `...(N)>` continues it; the lines after it, up to the next prompt, are the expected output.
//! `...` inside an expected line matches any text. Pids are placeholders matched one to one
//! across the whole transcript. A file without prompts is a list of commands. A line that is
//! `#` alone or starts with `# ` is a comment; the comments before a prompt are its notes,
//! which `run` shows as narration.
//!
//! Lines starting with `#beam` are the fidelity test's (tests/fidelity.rs), which replays the
//! script through real iex: `#beam> INPUT` is what iex is given for the step instead of its
//! input (nothing, when the line is empty: an otplab command with no Elixir equivalent),
//! `#beam| LINE` a line iex prints instead of the step's lines, `#beam: REASON` why. `check`
//! and `run` ignore them; see [`Beam`].
//!
//! A transcript whose prompts are indented, as in an Elixir `@doc`, is a doctest, read as
//! ExUnit reads one: the indentation of the prompts is removed, a blank line ends the
//! expected output (what follows it up to the next prompt is prose), and an input followed
//! directly by another prompt shows no result, so its output is not checked.
//!
//! The asynchronous lines of a step (restarts, `Starting …`, reports) may come in another
//! order than the transcript's, as long as each process's own lines keep their order: see
//! [`block_matches`]. Pure: decoding, parsing, comparing, and the lines of `check`'s report,
//! which `main` prints.

use std::fmt::Write as _;

use owo_colors::OwoColorize;

use super::parser;
use matcher::{PidMap, block_matches, line_matches, parts};

mod matcher;
use crate::runtime::term::json_str;

/// One input and the output expected after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The input, continued lines joined with newlines.
    pub input: String,
    /// 1-based line of the prompt in the file, for error messages.
    pub line: usize,
    pub expected: Vec<String>,
    /// The comments just before the prompt, without their `# `: narration for `run`.
    pub notes: Vec<String>,
    /// False for a doctest input that shows no result: ExUnit does not check it either.
    pub checked: bool,
    /// Where real iex is given or prints something else: the step's `#beam` lines.
    pub beam: Beam,
}

/// The accepted differences of one step between otplab and real iex, written in the script
/// beside the step so that the fidelity test fails on every other difference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Beam {
    /// `#beam> INPUT` lines, joined: the Elixir that iex is given instead of the step's
    /// input. Empty: iex is given nothing for this step and its output is not compared.
    pub input: Option<String>,
    /// `#beam| LINE` lines: what iex prints for this step, matched as expected lines are.
    pub expected: Option<Vec<String>>,
    /// `#beam: REASON` lines: why the two differ. The fidelity test refuses a `#beam|` line
    /// without one.
    pub reasons: Vec<String>,
}

/// The marker that starts each of the fidelity test's lines.
pub const BEAM_MARKER: &str = "#beam";

impl Beam {
    /// Adds a `#beam` line to the step's; false when the line is not one.
    fn add(&mut self, line: &str) -> bool {
        let Some(rest) = line.strip_prefix(BEAM_MARKER) else {
            return false;
        };
        let text = |r: &str| r.strip_prefix(' ').unwrap_or(r).to_string();
        if let Some(r) = rest.strip_prefix('>') {
            let input = self.input.get_or_insert_with(String::new);
            if !input.is_empty() {
                input.push('\n');
            }
            input.push_str(&text(r));
        } else if let Some(r) = rest.strip_prefix('|') {
            self.expected.get_or_insert_with(Vec::new).push(text(r));
        } else if let Some(r) = rest.strip_prefix(':') {
            self.reasons.push(text(r).trim().to_string());
        } else {
            return false;
        }
        true
    }
}

impl Step {
    fn new(input: &str, line: usize, notes: Vec<String>) -> Step {
        Step {
            input: input.to_string(),
            line,
            expected: vec![],
            notes,
            checked: true,
            beam: Beam::default(),
        }
    }
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
    // The indentation of the first prompt: none for a transcript, some for a doctest.
    let indent = lines.iter().find_map(|l| {
        let t = l.trim_start();
        matches!(prompt(t), Some((false, _))).then_some(l.len() - t.len())
    });
    let mut steps: Vec<Step> = vec![];
    let mut notes: Vec<String> = vec![];
    // In a doctest, whether a blank line has ended the expected output of the last step.
    let mut prose = false;
    for (i, line) in lines.iter().enumerate() {
        // A fidelity marker belongs to the step above it; before the first step it is
        // ignored.
        if line.trim_start().starts_with(BEAM_MARKER) {
            let mut scratch = Beam::default();
            let beam = steps.last_mut().map_or(&mut scratch, |s| &mut s.beam);
            if beam.add(line.trim()) {
                continue;
            }
        }
        if is_comment(line.trim_start()) {
            let text = line.trim_start().trim_end();
            notes.push(
                text.strip_prefix('#')
                    .unwrap_or("")
                    .trim_start()
                    .to_string(),
            );
            continue;
        }
        let Some(indent) = indent else {
            // A plain list of commands: lines join while the expression is incomplete.
            let pending = steps
                .last_mut()
                .filter(|s| parser::completeness(&s.input) == parser::Completeness::Incomplete);
            match pending {
                Some(step) => {
                    step.input.push('\n');
                    step.input.push_str(line);
                }
                None if !line.trim().is_empty() => {
                    steps.push(Step::new(line, i + 1, std::mem::take(&mut notes)))
                }
                None => {}
            }
            continue;
        };
        let doctest = indent > 0;
        let line = if doctest { dedent(line, indent) } else { line };
        match prompt(line) {
            Some((false, input)) => {
                prose = false;
                steps.push(Step::new(input, i + 1, std::mem::take(&mut notes)));
            }
            Some((true, input)) if steps.last().is_some_and(|s| s.expected.is_empty()) => {
                let step = steps.last_mut().unwrap();
                step.input.push('\n');
                step.input.push_str(input);
            }
            _ if doctest && line.trim().is_empty() => prose = true,
            _ if prose => {}
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
        if indent.is_some_and(|n| n > 0) && step.expected.is_empty() {
            step.checked = false;
        }
    }
    steps
}

/// A doctest line without the indentation of its prompts (or without all of its leading
/// blanks, when it has fewer).
fn dedent(line: &str, indent: usize) -> &str {
    let blanks = line.len() - line.trim_start_matches(' ').len();
    &line[blanks.min(indent)..]
}

/// An input as its prompt lines, as the REPL shows and records them.
pub fn prompted(n: u32, text: &str) -> Vec<String> {
    prompted_on(n, None, text)
}

/// As [`prompted`], with the prompts of a session on `node` (`iex(todo@host)1> `).
pub fn prompted_on(n: u32, node: Option<&str>, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let l = crate::runtime::term::escape_text(l);
            format!("{}{l}", crate::shell::context::prompt(n, node, i > 0))
        })
        .collect()
}

/// Renders steps and their actual output as a transcript, as `otplab run` prints it.
pub fn render(steps: &[(String, Vec<String>)]) -> String {
    let mut out = String::new();
    for (n, (input, output)) in (1..).zip(steps) {
        for line in prompted(n, input).iter().chain(output) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The first difference between a transcript and a run, for a readable diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The step's number, from 1.
    pub step: usize,
    /// The line of the step's prompt in the expected transcript.
    pub line: usize,
    pub input: String,
    pub expected: Vec<String>,
    pub actual: Vec<String>,
    pub why: Why,
}

/// What differs at the step of a [`Mismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The output; `expected` and `actual` are the step's lines.
    Output,
    /// The input (of a recording); `expected` and `actual` are the two inputs' prompt lines.
    Input,
    /// The recording ends before this step; `actual` is empty.
    Ended,
}

/// What `otplab check` prints of one transcript: `ok  FILE`, or `FAIL FILE:LINE: step N
/// `INPUT`` and the expected (`- `) and actual (`+ `) lines of the first step that differs,
/// painted red and green when `color` is set.
pub fn check_report(file: &str, outcome: &Result<(), Failure>, color: bool) -> Vec<String> {
    match outcome {
        Err(Failure::Diverged(m)) => {
            let mut out = vec![format!(
                "{} {file}:{}: step {} `{}`",
                paint("FAIL", color, false),
                m.line,
                m.step,
                first_line(&m.input)
            )];
            out.extend(diff(m, "", color));
            out
        }
        other => against_report(file, other, color),
    }
}

/// What `check SCRIPT --against RECORDING…` prints of one recording: `ok  FILE`, or one
/// line naming the step where it leaves the script with both sides, then the diff indented;
/// or one line saying why the file cannot be checked.
pub fn against_report(file: &str, outcome: &Result<(), Failure>, color: bool) -> Vec<String> {
    let fail = paint("FAIL", color, false);
    match outcome {
        Ok(()) => vec![format!("{} {file}", paint("ok  ", color, true))],
        Err(Failure::Unreadable(e)) => vec![format!("{fail} {file}: cannot be checked: {e}")],
        Err(Failure::Diverged(m)) => {
            let (e, a) = first_difference(m);
            let head = format!("{fail} {file}: step {} `{}`", m.step, first_line(&m.input));
            let head = match m.why {
                Why::Ended => format!("{head}: the recording ends before this step"),
                Why::Input => format!(
                    "{head}: the recording has `{}` instead",
                    m.actual.first().map_or("", |l| l.as_str())
                ),
                Why::Output => format!("{head}: expected `{e}`, got `{a}`"),
            };
            let mut out = vec![head];
            out.extend(diff(m, "    ", color));
            out
        }
    }
}

/// Why a recording was not compared, or where it diverged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Unreadable(TranscriptError),
    Diverged(Mismatch),
}

/// One JSON object for a grader: `file`, `ok`, and for a divergence the `step`, its
/// `input`, and the `expected` and `actual` lines; `error` says why a file could not be
/// checked, or that a recording ended early.
pub fn json_report(file: &str, outcome: &Result<(), Failure>) -> String {
    let lines = |ls: &[String]| {
        let items: Vec<String> = ls.iter().map(|l| json_str(l)).collect();
        format!("[{}]", items.join(","))
    };
    let (ok, step, input, expected, actual, error) = match outcome {
        Ok(()) => (true, None, None, None, None, None),
        Err(Failure::Unreadable(e)) => (false, None, None, None, None, Some(e.to_string())),
        Err(Failure::Diverged(m)) => (
            false,
            Some(m.step),
            Some(json_str(&m.input)),
            Some(lines(&m.expected)),
            Some(lines(&m.actual)),
            match m.why {
                Why::Ended => Some("the recording ends before this step".to_string()),
                Why::Input => Some("the recording has another input at this step".to_string()),
                Why::Output => None,
            },
        ),
    };
    let null = || "null".to_string();
    format!(
        "{{\"file\":{},\"ok\":{ok},\"step\":{},\"input\":{},\"expected\":{},\"actual\":{},\"error\":{}}}",
        json_str(file),
        step.map_or_else(null, |n| n.to_string()),
        input.unwrap_or_else(null),
        expected.unwrap_or_else(null),
        actual.unwrap_or_else(null),
        error.map_or_else(null, |e| json_str(&e)),
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The expected (`- `) and actual (`+ `) lines of a mismatch.
fn diff(m: &Mismatch, indent: &str, color: bool) -> Vec<String> {
    let expected = m
        .expected
        .iter()
        .map(|l| paint(&format!("{indent}- {l}"), color, false));
    let actual = m
        .actual
        .iter()
        .map(|l| paint(&format!("{indent}+ {l}"), color, true));
    expected.chain(actual).collect()
}

/// The first expected and actual lines that differ in place, for a one-line summary;
/// `(nothing)` where one side has no line there.
fn first_difference(m: &Mismatch) -> (String, String) {
    let n = m.expected.len().max(m.actual.len());
    let at = (0..n)
        .find(|&i| match (m.expected.get(i), m.actual.get(i)) {
            (Some(e), Some(a)) => !line_matches(&parts(e), a, &mut PidMap::default()),
            _ => true,
        })
        .unwrap_or(0);
    let side = |l: Option<&String>| l.cloned().unwrap_or_else(|| "(nothing)".to_string());
    (side(m.expected.get(at)), side(m.actual.get(at)))
}

/// The largest transcript or recording `check` reads: larger files are refused before they
/// are read, so a class's folder with one huge file costs bounded memory.
pub const MAX_TRANSCRIPT_BYTES: u64 = 64 << 20;

/// Why a file is not a transcript `check` can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranscriptError {
    /// It could not be opened or read (the system's message).
    Unreadable(String),
    /// Larger than [`MAX_TRANSCRIPT_BYTES`]; `len` as far as it was measured.
    TooLarge { len: u64 },
    /// Not UTF-8 text: the first invalid byte.
    NotText { offset: usize },
    /// A NUL byte, which no printed line holds: a binary file.
    Binary { offset: usize },
    /// The last line has no line break: the file was cut off while it was written.
    Truncated { offset: usize },
    /// More steps than [`MAX_STEPS`].
    TooManySteps { steps: usize },
}

/// The most steps `check` replays or compares from one file. A workshop's script has
/// hundreds; millions of one-line steps fit in [`MAX_TRANSCRIPT_BYTES`] and would replay for
/// hours, holding every printed line until the comparison.
pub const MAX_STEPS: usize = 10_000;

/// The steps of a transcript or a recording that `check` reads, within [`MAX_STEPS`],
/// counted before any step is built. A last prompt line without a line break is a file cut
/// off while it was written, not a step to run.
pub fn steps_of(text: &str) -> Result<Vec<Step>, TranscriptError> {
    let last = text.rsplit('\n').next().unwrap_or_default();
    if prompt(last.trim_start()).is_some() {
        return Err(TranscriptError::Truncated {
            offset: text.len() - last.len(),
        });
    }
    let steps = text
        .lines()
        .filter(|l| matches!(prompt(l.trim_start()), Some((false, _))))
        .count();
    if steps > MAX_STEPS {
        return Err(TranscriptError::TooManySteps { steps });
    }
    Ok(parse(text))
}

impl std::fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TranscriptError::Unreadable(e) => write!(f, "{e}"),
            TranscriptError::TooLarge { len } => write!(
                f,
                "too large ({len} bytes; a transcript is limited to {} MiB)",
                MAX_TRANSCRIPT_BYTES >> 20
            ),
            TranscriptError::NotText { offset } => {
                write!(f, "not a transcript: invalid UTF-8 at byte {offset}")
            }
            TranscriptError::Binary { offset } => {
                write!(
                    f,
                    "not a transcript: a NUL byte at byte {offset} (a binary file)"
                )
            }
            TranscriptError::Truncated { offset } => write!(
                f,
                "truncated: the last line, at byte {offset}, has no line break (the file was cut off)"
            ),
            TranscriptError::TooManySteps { steps } => write!(
                f,
                "too many steps ({steps}; a transcript is limited to {MAX_STEPS})"
            ),
        }
    }
}

/// The text of a recording, checked: UTF-8, no NUL byte, and every line ended, since the
/// recorder writes each line with its line break in one write.
pub fn decode_recording(bytes: &[u8]) -> Result<&str, TranscriptError> {
    let text = decode(bytes)?;
    if !text.is_empty() && !text.ends_with('\n') {
        let offset = text.rfind('\n').map_or(0, |i| i + 1);
        return Err(TranscriptError::Truncated { offset });
    }
    Ok(text)
}

/// The text of a transcript: UTF-8 without NUL bytes.
pub fn decode(bytes: &[u8]) -> Result<&str, TranscriptError> {
    let text = std::str::from_utf8(bytes).map_err(|e| TranscriptError::NotText {
        offset: e.valid_up_to(),
    })?;
    match text.find('\0') {
        Some(offset) => Err(TranscriptError::Binary { offset }),
        None => Ok(text),
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
    for (n, (step, got)) in (1..).zip(steps.iter().zip(actual)) {
        let got = trimmed(got);
        if !step_matches(step, &got, &mut pids) {
            return Err(mismatch(n, step, Why::Output, step.expected.clone(), got));
        }
    }
    Ok(())
}

/// Compares a recording of a session (a transcript, as `--record` writes it) with the
/// script it follows, without running anything: step by step, the same input and the output
/// the script expects. Steps the recording has beyond the script's end are not compared.
pub fn compare_recording(script: &[Step], recording: &[Step]) -> Result<(), Mismatch> {
    let mut pids = PidMap::default();
    for (n, step) in (1..).zip(script) {
        let Some(done) = recording.get(n - 1) else {
            return Err(mismatch(n, step, Why::Ended, step.expected.clone(), vec![]));
        };
        if !same_input(&step.input, &done.input) {
            let (expected, actual) = (
                prompted(n as u32, &step.input),
                prompted(n as u32, &done.input),
            );
            return Err(mismatch(n, step, Why::Input, expected, actual));
        }
        let got = trimmed(&done.expected);
        if !step_matches(step, &got, &mut pids) {
            return Err(mismatch(n, step, Why::Output, step.expected.clone(), got));
        }
    }
    Ok(())
}

/// Whether a step's output is what it expects. A doctest input that shows no result is not
/// compared, but it must not raise: in ExUnit an exception fails the test.
fn step_matches(step: &Step, got: &[String], pids: &mut PidMap) -> bool {
    if step.checked {
        block_matches(&step.expected, got, pids)
    } else {
        !got.iter().any(|l| l.starts_with("** ("))
    }
}

fn mismatch(
    n: usize,
    step: &Step,
    why: Why,
    expected: Vec<String>,
    actual: Vec<String>,
) -> Mismatch {
    Mismatch {
        step: n,
        line: step.line,
        input: step.input.clone(),
        expected,
        actual,
        why,
    }
}

/// Lines without trailing blanks, and without the blank lines that end the block. An output
/// with line breaks in it (the shell's exit) is the lines it shows on the terminal.
fn trimmed(lines: &[String]) -> Vec<String> {
    let lines = lines.iter().flat_map(|l| l.split('\n'));
    let mut got: Vec<String> = lines.map(|l| l.trim_end().to_string()).collect();
    while got.last().is_some_and(|l| l.is_empty()) {
        got.pop();
    }
    got
}

/// Inputs are the same when their lines are, blanks around each line aside.
fn same_input(a: &str, b: &str) -> bool {
    a.trim()
        .lines()
        .map(str::trim)
        .eq(b.trim().lines().map(str::trim))
}

/// The step `run --until` stops after: `N` (from 1), or the first step whose input contains
/// the text. `None` when there is no such step.
pub fn until(steps: &[Step], spec: &str) -> Option<usize> {
    if !spec.is_empty() && spec.chars().all(|c| c.is_ascii_digit()) {
        return spec.parse().ok().filter(|n| (1..=steps.len()).contains(n));
    }
    steps
        .iter()
        .position(|s| s.input.contains(spec))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::matcher::MAX_REORDERED;
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
    fn inputs_have_numbered_prompts() {
        assert_eq!(
            prompted(3, "a |>\nb"),
            vec!["iex(3)> a |>".to_string(), "...(3)> b".to_string()]
        );
    }

    #[test]
    fn render_numbers_prompts() {
        let text = render(&[("a |>\nb".into(), vec!["1".into()]), ("c".into(), vec![])]);
        assert_eq!(text, "iex(1)> a |>\n...(1)> b\n1\niex(2)> c\n");
    }

    #[test]
    fn check_reports_name_the_file_the_step_and_the_first_difference() {
        assert_eq!(check_report("a.iex", &Ok(()), false), vec!["ok   a.iex"]);
        let m = Mismatch {
            step: 2,
            line: 3,
            input: "kill registry\nmore".into(),
            expected: vec!["true".into()],
            actual: vec!["false".into()],
            why: Why::Output,
        };
        assert_eq!(
            check_report("a.iex", &Err(Failure::Diverged(m.clone())), false),
            vec!["FAIL a.iex:3: step 2 `kill registry`", "- true", "+ false"]
        );
        assert_eq!(
            against_report("bob.iex", &Err(Failure::Diverged(m.clone())), false),
            vec![
                "FAIL bob.iex: step 2 `kill registry`: expected `true`, got `false`",
                "    - true",
                "    + false"
            ]
        );
        let painted = against_report("bob.iex", &Err(Failure::Diverged(m)), true);
        assert!(painted.iter().all(|l| l.contains("\u{1b}[")), "{painted:?}");
        assert_eq!(check_summary(2, 1), "2 passed, 1 failed");
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn block(expected: &str, actual: &str) -> bool {
        block_matches(&lines(expected), &lines(actual), &mut PidMap::default())
    }

    #[test]
    fn asynchronous_lines_may_interleave_keeping_each_process_order() {
        let expected = "true\n[exit] #PID<0.2.0>: killed\n[restart] #PID<0.1.0> restarts A\nStarting A\n[restart] #PID<0.1.0> restarts B\nStarting B";
        // The same lines, in place.
        assert!(block(expected, expected));
        // The restarts' lines between the exit's, each source in its order.
        assert!(block(
            expected,
            "true\n[restart] #PID<0.7.0> restarts A\nStarting A\n[exit] #PID<0.8.0>: killed\nStarting B\n[restart] #PID<0.7.0> restarts B"
        ));
        // One supervisor's two restarts swapped: its own order is broken.
        assert!(!block(
            expected,
            "true\n[exit] #PID<0.8.0>: killed\n[restart] #PID<0.7.0> restarts B\nStarting A\n[restart] #PID<0.7.0> restarts A\nStarting B"
        ));
        // The `Starting` lines swapped.
        assert!(!block(
            expected,
            "true\n[exit] #PID<0.8.0>: killed\n[restart] #PID<0.7.0> restarts A\nStarting B\n[restart] #PID<0.7.0> restarts B\nStarting A"
        ));
        // The result may come after the asynchronous lines, as the exit is sent during the
        // evaluation; the lines that name no process keep their order among themselves.
        assert!(block(
            expected,
            "[exit] #PID<0.8.0>: killed\ntrue\n[restart] #PID<0.7.0> restarts A\nStarting A\n[restart] #PID<0.7.0> restarts B\nStarting B"
        ));
        assert!(block("true\nhello\nStarting A", "Starting A\ntrue\nhello"));
        assert!(!block("true\nhello\nStarting A", "hello\nStarting A\ntrue"));
        // A line more, or a line changed.
        assert!(!block("true\nStarting A", "true\nStarting A\nStarting A"));
        assert!(!block("true\nStarting A", "true\nStarting C"));
    }

    #[test]
    fn reordered_lines_keep_pids_one_to_one() {
        // Two processes' lines swapped: allowed, and each expected pid still stands for one
        // actual pid, whichever order was found.
        let expected = "#PID<0.1.0> down\n#PID<0.2.0> down";
        assert!(block(expected, "#PID<0.9.0> down\n#PID<0.8.0> down"));
        assert!(!block(expected, "#PID<0.9.0> down\n#PID<0.9.0> down"));
        // The lines of one process must come from one process.
        assert!(!block(
            "#PID<0.1.0> a\n#PID<0.1.0> b\n#PID<0.2.0> c",
            "#PID<0.5.0> a\n#PID<0.6.0> b\n#PID<0.5.0> c"
        ));
    }

    #[test]
    fn a_huge_step_is_compared_in_place_only() {
        let n = MAX_REORDERED + 1;
        let expected: Vec<String> = (0..n).map(|i| format!("Starting {i}")).collect();
        let mut actual = expected.clone();
        actual.swap(0, 1);
        assert!(!block_matches(&expected, &actual, &mut PidMap::default()));
        assert!(block_matches(&expected, &expected, &mut PidMap::default()));
    }

    #[test]
    fn a_recording_is_compared_step_by_step_without_running() {
        let script = parse("iex(1)> x = 1\n1\niex(2)> kill registry\ntrue\nStarting A\n");
        let good = parse(
            "Booted\niex(1)> x = 1\n1\niex(2)> kill registry\ntrue\nStarting A\niex(3)> extra\n:more\n",
        );
        assert_eq!(compare_recording(&script, &good), Ok(()));
        let wrong = parse("iex(1)> x = 1\n1\niex(2)> kill registry\nfalse\n");
        let m = compare_recording(&script, &wrong).unwrap_err();
        assert_eq!((m.step, m.why), (2, Why::Output));
        assert_eq!(m.actual, vec!["false"]);
        let other = parse("iex(1)> x = 2\n2\n");
        let m = compare_recording(&script, &other).unwrap_err();
        assert_eq!((m.step, m.why), (1, Why::Input));
        assert_eq!(m.actual, vec!["iex(1)> x = 2"]);
        let short = parse("iex(1)> x = 1\n1\n");
        let m = compare_recording(&script, &short).unwrap_err();
        assert_eq!((m.step, m.why), (2, Why::Ended));
    }

    #[test]
    fn json_reports_one_object_per_file() {
        assert_eq!(
            json_report("a \"b\".iex", &Ok(())),
            r#"{"file":"a \"b\".iex","ok":true,"step":null,"input":null,"expected":null,"actual":null,"error":null}"#
        );
        let m = Mismatch {
            step: 3,
            line: 7,
            input: "1 + 1".into(),
            expected: vec!["2".into()],
            actual: vec![],
            why: Why::Ended,
        };
        assert_eq!(
            json_report("s.iex", &Err(Failure::Diverged(m))),
            r#"{"file":"s.iex","ok":false,"step":3,"input":"1 + 1","expected":["2"],"actual":[],"error":"the recording ends before this step"}"#
        );
    }

    #[test]
    fn hostile_recordings_are_refused_with_the_reason() {
        assert_eq!(decode_recording(b"iex(1)> 1\n1\n"), Ok("iex(1)> 1\n1\n"));
        assert_eq!(decode_recording(b""), Ok(""));
        assert_eq!(
            decode_recording(b"iex(1)> 1\n1"),
            Err(TranscriptError::Truncated { offset: 10 })
        );
        assert_eq!(
            decode_recording(b"ok\n\xff\xfe\n"),
            Err(TranscriptError::NotText { offset: 3 })
        );
        assert_eq!(
            decode_recording(b"a\0b\n"),
            Err(TranscriptError::Binary { offset: 1 })
        );
        // A hand-written script may lack its last line break.
        assert_eq!(decode(b"iex> 1\n1"), Ok("iex> 1\n1"));
    }

    #[test]
    fn indented_prompts_are_a_doctest() {
        let steps = parse(
            "Some prose.\n\n    iex> list = [1, 2]\n    iex> Enum.sum(list)\n    3\n\n    More prose\n    iex> %{a: 1} |>\n    ...>   Map.get(:a)\n    1\n    # after the blank line nothing is expected\n",
        );
        let shown: Vec<_> = steps
            .iter()
            .map(|s| (s.input.as_str(), s.expected.clone(), s.checked))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("list = [1, 2]", vec![], false),
                ("Enum.sum(list)", vec!["3".to_string()], true),
                ("%{a: 1} |>\n  Map.get(:a)", vec!["1".to_string()], true),
            ]
        );
        // A step that shows no result is not checked; the others are.
        let run = |a: &str| {
            compare(
                &steps,
                &[vec!["[1, 2]".into()], vec![a.into()], vec!["1".into()]],
            )
        };
        assert!(run("3").is_ok());
        assert_eq!(run("4").unwrap_err().step, 2);
        // An input whose result is not shown must still not raise, as in ExUnit.
        let raised = compare(
            &steps,
            &[
                vec!["** (CompileError) undefined".into()],
                vec!["3".into()],
                vec!["1".into()],
            ],
        );
        assert_eq!(raised.unwrap_err().step, 1);
    }

    #[test]
    fn beam_lines_are_the_fidelity_tests_and_check_ignores_them() {
        let text = "#beam: before any step, ignored\niex(1)> kill registry\n#beam> Process.whereis(:todo_process_registry) |>\n#beam>   Process.exit(:kill)\n#beam: the short command of the book's line\ntrue\n[exit] killed\n#beam| true\n#beam|\niex(2)> report iex\n#beam>\n:ok\n";
        let steps = parse(text);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].expected, vec!["true", "[exit] killed"]);
        assert!(steps[0].notes.is_empty() && steps[1].notes.is_empty());
        assert_eq!(
            steps[0].beam,
            Beam {
                input: Some(
                    "Process.whereis(:todo_process_registry) |>\n  Process.exit(:kill)".into()
                ),
                expected: Some(vec!["true".into(), "".into()]),
                reasons: vec!["the short command of the book's line".into()],
            }
        );
        assert_eq!(steps[1].beam.input.as_deref(), Some(""));
        assert_eq!(steps[1].expected, vec![":ok"]);
        // `check` compares the step's own lines only.
        let ran = [
            vec!["true".into(), "[exit] killed".into()],
            vec![":ok".into()],
        ];
        assert_eq!(compare(&steps, &ran), Ok(()));
        // Any other line starting with `#` is still output.
        assert_eq!(parse("iex(1)> x\n#beamish\n")[0].expected, vec!["#beamish"]);
    }

    #[test]
    fn an_output_with_line_breaks_is_compared_as_its_lines() {
        let steps = parse(
            "iex(1)> spawn_link(fn -> raise \"boom\" end)\n** (EXIT) boom:\n    ** (RuntimeError) boom\n",
        );
        let shown = vec![vec![
            "** (EXIT) boom:\n    ** (RuntimeError) boom".to_string(),
        ]];
        assert_eq!(compare(&steps, &shown), Ok(()));
    }

    #[test]
    fn comments_before_a_prompt_are_its_notes() {
        let steps = parse("# First, a list.\n#\niex(1)> x = 1\n1\n# Then\niex(2)> x\n1\n");
        assert_eq!(steps[0].notes, vec!["First, a list.", ""]);
        assert_eq!(steps[1].notes, vec!["Then"]);
    }

    #[test]
    fn until_takes_a_step_number_or_text_of_an_input() {
        let steps = parse("iex> a = 1\niex> kill registry\niex> b\n");
        assert_eq!(until(&steps, "2"), Some(2));
        assert_eq!(until(&steps, "0"), None);
        assert_eq!(until(&steps, "4"), None);
        assert_eq!(until(&steps, "registry"), Some(2));
        assert_eq!(until(&steps, "nothing like it"), None);
    }
}
