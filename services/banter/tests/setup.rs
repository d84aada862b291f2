//! `./test.sh`, the README's test command, on a machine that has none of the
//! servers and tools the tests need: it names each with the command that
//! installs it and exits 2 without running the tests. (Installing them is
//! what it does as root on Debian; `.ci/run` exercises that path.)
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn test_sh_says_exactly_what_is_missing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // A PATH with a shell and the few basic commands the script itself uses,
    // and a HOME without ~/.cargo/bin: nothing the tests need is found.
    let bin = tempfile::tempdir().unwrap();
    for tool in [
        "bash", "id", "dirname", "ls", "sort", "tail", "seq", "sleep",
    ] {
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8(found.stdout).unwrap();
        std::os::unix::fs::symlink(path.trim(), bin.path().join(tool)).unwrap();
    }
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin.path().join("bash"))
        .arg(root.join("test.sh"))
        .arg("--check")
        .env("PATH", bin.path())
        .env("HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needed in [
        "PostgreSQL on 127.0.0.1:5432: apt-get install postgresql",
        "Redis on 127.0.0.1:6379: apt-get install redis-server",
        "prometheus: apt-get install prometheus",
        "promtool: apt-get install prometheus",
        "nginx: apt-get install nginx",
        "chromium: apt-get install chromium",
        "kubectl",
        "tansu: cargo install tansu --locked --features dynostore,postgres",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(&format!("  - {needed}"))),
            "{needed:?} in:\n{err}"
        );
    }
    assert!(out.stdout.is_empty(), "no test ran");
}
