//! Keeps the documentation true where a test can: every source file opens with a `//!`
//! saying why it exists, the crate map names every module, and the README shows the two
//! commands a newcomer needs.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_opens_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(files.len() > 20);
    assert!(
        missing.is_empty(),
        "files without a `//!` opening: {missing:?}"
    );
}

#[test]
fn the_crate_map_names_every_top_level_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    for entry in std::fs::read_dir(root.join("src")).unwrap().flatten() {
        let name = entry
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        assert!(
            lib.contains(&format!("[`{name}`]")),
            "src/lib.rs's crate map does not describe `{name}`"
        );
    }
}

#[test]
fn the_readme_shows_how_to_start_and_how_to_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release"));
    assert!(readme.contains("cargo test --release"));
}

#[test]
fn release_builds_keep_panics_unwinding() {
    // A panic in a handler must become a crash of that process (rules R14 and H6 of
    // tests/README.md).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let release = manifest.split("[profile.release]").nth(1).unwrap_or("");
    assert!(!release.contains("panic = \"abort\""));
    let caught = std::panic::catch_unwind(|| panic!("a handler bug"));
    assert!(
        caught.is_err(),
        "panics unwind, so the runtime can turn them into process crashes"
    );
}

/// The layers of the shell, lowest first: a file may import its own layer and those below it,
/// never one above (src/lib.rs's layering rules). `printer`, `report` and `script` are pure
/// and sit low, since the layers above print through them.
const SHELL_LAYERS: &[&[&str]] = &[
    &["ast", "suggest", "report"],
    &["parser"],
    &["printer", "script", "record", "context"],
    &["system"],
    &["builtins"],
    &["eval"],
    &["commands"],
    &["session"],
    &["screen", "replay", "helper", "editor"],
];

fn layer_of(module: &str) -> Option<usize> {
    SHELL_LAYERS.iter().position(|l| l.contains(&module))
}

/// The shell modules a file names: `crate::shell::X`, and `super::X` (or `super::{X, Y}`)
/// resolved from where the file sits.
fn shell_modules_named(text: &str, depth: usize) -> Vec<String> {
    let mut out = vec![];
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut prefixes = vec!["crate::shell::".to_string()];
    if depth > 0 {
        prefixes.push("super::".repeat(depth));
    }
    for prefix in &prefixes {
        for (i, _) in code.match_indices(prefix.as_str()) {
            // `super::super::x` found as `super::x` inside a deeper path is not this depth.
            if prefix.starts_with("super") && code[..i].ends_with("super::") {
                continue;
            }
            let rest = &code[i + prefix.len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(0);
                group[..end].split(',').collect()
            } else {
                vec![rest]
            };
            for n in names {
                let word: String = n
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !word.is_empty() {
                    out.push(word);
                }
            }
        }
    }
    out
}

#[test]
fn the_layering_rules_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    let mut broken = vec![];
    for file in &files {
        let rel = file.strip_prefix(root.join("src")).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        let text = std::fs::read_to_string(file).unwrap();
        // Test modules may reach anything they test with.
        let text = text.split("#[cfg(test)]").next().unwrap().to_string();
        let top = parts[0].as_str();
        let forbidden: &[&str] = match top {
            "runtime" => &[
                "todo", "counter", "profiler", "bench", "shell", "observer", "dist",
            ],
            // The distribution builds on the runtime's terms only.
            "dist" => &["todo", "counter", "profiler", "bench", "shell", "observer"],
            "todo" | "counter" => &["profiler", "bench", "shell", "observer", "dist"],
            "profiler" => &["bench", "shell", "observer"],
            "bench" => &["shell"],
            "shell" => &["bench", "observer"],
            "observer" => &["bench"],
            _ => &[],
        };
        for f in forbidden {
            if text.contains(&format!("crate::{f}::")) || text.contains(&format!("crate::{f};")) {
                broken.push(format!("{} imports {f}", rel.display()));
            }
        }
        let is_tests = parts.last().is_some_and(|p| p == "tests");
        if top == "shell" && parts.len() >= 2 && parts[1] != "mod" && !is_tests {
            let own = parts[1].as_str();
            let Some(mine) = layer_of(own) else {
                broken.push(format!("src/shell/{own} is in no layer of SHELL_LAYERS"));
                continue;
            };
            // A file directly in shell/ reaches siblings with `super::`; one in shell/x/ with
            // `super::super::`, and `super::` is its own folder.
            let depth = if parts.len() == 2 { 1 } else { 2 };
            for named in shell_modules_named(&text, depth) {
                if let Some(theirs) = layer_of(&named)
                    && theirs > mine
                {
                    broken.push(format!(
                        "src/{} imports shell::{named}, a layer above it",
                        rel.display()
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layering rules broken:\n{}",
        broken.join("\n")
    );
}

/// No source file is longer than a person can hold in their head: about 800 lines, not
/// counting its test module or a file of tests.
#[test]
fn no_source_file_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("tests.rs"))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let n = code.lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}

/// Every rule label a comment or test name uses (`S16`, `R4`, `P3`, `H1`) is stated in
/// tests/README.md, and nothing points at files outside the repository.
#[test]
fn every_label_resolves_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = std::fs::read_to_string(root.join("tests/README.md")).unwrap();
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let mut unresolved = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for outside in ["anchors/", "otp-semantics", "DESIGN.md", "../shared"] {
                if line.contains(outside) && !f.ends_with("docs.rs") {
                    unresolved.push(format!("{}:{}: {outside}", f.display(), n + 1));
                }
            }
            let Some(comment) = line.find("//").map(|i| &line[i..]) else {
                continue;
            };
            let bytes = comment.as_bytes();
            for i in 0..bytes.len() {
                let c = bytes[i];
                let starts = i == 0 || !(bytes[i - 1] as char).is_alphanumeric();
                if starts && matches!(c, b'S' | b'R' | b'P' | b'H') {
                    let digits: String = comment[i + 1..]
                        .chars()
                        .take_while(|d| d.is_ascii_digit())
                        .collect();
                    let after = comment[i + 1 + digits.len()..].chars().next();
                    if !digits.is_empty()
                        && digits.len() <= 2
                        && !after.is_some_and(|a| a.is_alphanumeric() || a == '_')
                    {
                        // A rule is stated as `**S16.**` or `**P1. Writing.**`.
                        let label = format!("**{}{digits}.", c as char);
                        if !rules.contains(&label) {
                            unresolved.push(format!(
                                "{}:{}: {}{digits}",
                                f.display(),
                                n + 1,
                                c as char
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unresolved.is_empty(),
        "labels or pointers that do not resolve in the repository:\n{}",
        unresolved.join("\n")
    );
}
