//! The doctest script of `scripts/` is Elixir's doctest syntax for real: the same text, as
//! the `@moduledoc` of a module, passes ExUnit's `doctest` on the installed Elixir (and
//! `otplab check` replays it, in tests/scripts.rs). A copy with one result changed fails
//! there, so the run below does check the results. Without `elixir` on PATH this fails:
//! `.ci/run` installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = "scripts/doctest_todo_list.iex";

/// The module and the ExUnit test of a doctest text, compiled and run; returns ExUnit's
/// output and whether it succeeded.
fn exunit(dir: &Path, doc: &str) -> (String, bool) {
    std::fs::create_dir_all(dir.join("ebin")).unwrap();
    // Inside a heredoc, a backslash and a closing `"""` would end or change the text.
    let doc = doc.replace('\\', "\\\\").replace("\"\"\"", "\\\"\"\"");
    let module = format!("defmodule DoctestTodoList do\n  @moduledoc \"\"\"\n{doc}\"\"\"\nend\n");
    std::fs::write(dir.join("mod.ex"), module).unwrap();
    std::fs::write(
        dir.join("test.exs"),
        "ExUnit.start()\n\ndefmodule DoctestTodoListTest do\n  use ExUnit.Case\n  doctest DoctestTodoList\nend\n",
    )
    .unwrap();
    let compiled = run(dir, "elixirc", &["-o", "ebin", "mod.ex"]);
    assert!(compiled.1, "elixirc failed:\n{}", compiled.0);
    run(dir, "elixir", &["-pa", "ebin", "test.exs"])
}

fn run(dir: &Path, program: &str, args: &[&str]) -> (String, bool) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}): Elixir must be installed for this test \
                 (`apt-get install -y elixir`, as .ci/run does)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text, out.status.success())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-doctest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_doctest_script_passes_exunit_on_real_elixir() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join(SCRIPT)).unwrap();
    let dir = scratch("pass");
    let (out, ok) = exunit(&dir, &doc);
    assert!(ok, "ExUnit failed on {SCRIPT}:\n{out}");
    let counted = out
        .lines()
        .find_map(|l| l.strip_suffix(" doctests, 0 failures"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    assert!(
        counted.is_some_and(|n| n >= 6),
        "expected at least 6 doctests and no failure:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_result_fails_exunit_too() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join(SCRIPT)).unwrap();
    let wrong = doc.replacen("\n    6\n", "\n    7\n", 1);
    assert_ne!(wrong, doc, "the script has the result 6 to change");
    let dir = scratch("fail");
    let (out, ok) = exunit(&dir, &wrong);
    assert!(!ok && out.contains("1 failure"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
