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
