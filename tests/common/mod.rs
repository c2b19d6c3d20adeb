//! What several test files share: comparing numbers within a relative
//! tolerance, running one of `scripts/` that may skip (exit code 77,
//! refused in CI), and running one test again in a process of its own.
//! Each test file uses some of it.
#![allow(dead_code)]

pub mod programs;

use std::ffi::OsStr;
use std::process::Command;

/// Whether `a` and `b` agree within `rel` of the larger of them (within
/// `rel` absolutely near 0). Two infinities of one sign, or two NaNs,
/// agree.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return a == b || (a.is_nan() && b.is_nan());
    }
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Runs `scripts/NAME` with `args`; its printed text, or `None` if it
/// skipped (exit 77: a browser or Python package missing, outside CI).
/// Any other failure fails the test with what the script said.
pub fn run_script<S: AsRef<OsStr>>(name: &str, args: &[S]) -> Option<String> {
    let script = format!("{}/scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.code() == Some(77) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must not skip scripts/{name}: {said}"
        );
        eprintln!("skipped: {}", said.trim());
        return None;
    }
    assert!(output.status.success(), "scripts/{name} failed:\n{said}");
    Some(said)
}

/// Whether this process is the child that runs test `name` alone. If not,
/// runs it in a child (with `marker` set, and `env`), fails if the child
/// fails, keeps its output (a second "running 1 test" would count in the
/// totals), and returns false: the caller then returns.
pub fn in_a_process_of_its_own(name: &str, marker: &str, env: &[(&str, &str)]) -> bool {
    if std::env::var_os(marker).is_some() {
        return true;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--quiet"])
        .env(marker, "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    false
}
