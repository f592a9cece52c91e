//! A recording or transcript fed to `otplab check` (issue 19): cut off, binary, 1 GiB, or
//! millions of one-line steps within the byte limit. Each gets one clear line, the files
//! after it are still checked, and nothing is read or replayed without a bound.

use std::path::PathBuf;
use std::process::Command;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otplab-hostile-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bin() -> String {
    std::env::var("OTPLAB_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_otplab").to_string())
}

#[test]
fn check_gives_one_line_for_each_hostile_file_and_still_checks_the_good_one() {
    let dir = scratch();
    let cut = dir.join("cut.iex");
    std::fs::write(&cut, "iex(1)> x = 1 + 2\n3\niex(2)> y =").unwrap();
    let binary = dir.join("binary.iex");
    std::fs::write(&binary, b"iex(1)> x\n\0\0\0\x7fELF\n").unwrap();
    // Sparse: 1 GiB on paper and nothing on disk, refused by its size before any read.
    let huge = dir.join("huge.iex");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // 5 MB of one-line steps: well inside the byte limit, but hours of replay.
    let many = dir.join("many.iex");
    let mut text = String::new();
    for i in 1..=200_000 {
        text.push_str(&format!("iex({i})> {i}\n{i}\n"));
    }
    std::fs::write(&many, &text).unwrap();
    let good = dir.join("good.iex");
    std::fs::write(&good, "iex(1)> x = 1 + 2\n3\n").unwrap();
    let out = Command::new(bin())
        .env("NO_COLOR", "1")
        .arg("check")
        .args([&cut, &binary, &huge, &many, &good])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success(), "{report}");
    let expected = [
        format!(
            "FAIL {}: cannot be checked: truncated: the last line, at byte 20, has no line break (the file was cut off)",
            cut.display()
        ),
        format!(
            "FAIL {}: cannot be checked: not a transcript: a NUL byte at byte 10 (a binary file)",
            binary.display()
        ),
        format!(
            "FAIL {}: cannot be checked: too large (1073741824 bytes; a transcript is limited to 64 MiB)",
            huge.display()
        ),
        format!(
            "FAIL {}: cannot be checked: too many steps (200000; a transcript is limited to 10000)",
            many.display()
        ),
        format!("ok   {}", good.display()),
        "1 passed, 4 failed".to_string(),
    ];
    assert_eq!(report.lines().collect::<Vec<_>>(), expected, "{report}");

    // The same limit holds for recordings compared with a script.
    let against = Command::new(bin())
        .env("NO_COLOR", "1")
        .args(["check".as_ref(), good.as_os_str(), "--against".as_ref()])
        .args([&many, &good])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&against.stdout).to_string();
    assert!(
        report.lines().next().is_some_and(
            |l| l.ends_with("too many steps (200000; a transcript is limited to 10000)")
        ),
        "{report}"
    );
    assert!(report.contains("1 passed, 1 failed"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
