//! Every script in `scripts/` passes `otplab check`: the transcripts of the seeds'
//! experiments replay with the same output (pids as placeholders, `...` for figures).

use std::process::Command;

#[test]
fn every_script_passes_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "iex"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 4, "the seeds' experiments are in scripts/");
    let out = Command::new(env!("CARGO_BIN_EXE_otplab"))
        .arg("check")
        .arg("--no-color")
        .args(&scripts)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "otplab check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", scripts.len())),
        "{stdout}"
    );
}

#[test]
fn check_fails_with_a_diff_on_a_mismatch() {
    let dir = std::env::temp_dir().join(format!("otplab-mismatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.iex");
    std::fs::write(&file, "iex(1)> 1 + 1\n3\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_otplab"))
        .args(["check", "--bare", "--no-color"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("- 3") && stdout.contains("+ 2"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
