//! Helpers the integration tests (tests/it/) share: run the built binary in a folder (a
//! fresh one holding the sample series, or one with a model trained on it), write files, the
//! sample series, the flags of a tiny model that trains in a blink, checks that a run left
//! files as they were, and the one float comparison with a tolerance (close.rs, which the
//! other test targets include on its own).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod close;
mod running;

pub use running::Running;

/// A tiny, fast model, without a held-out size (tests pick their own).
pub const TINY_NO_HOLDOUT: &[&str] = &[
    "--layers", "8", "--window", "10", "--epochs", "2", "--seed", "1", "--quiet",
];

/// [`TINY_NO_HOLDOUT`] holding out the last 30 values.
pub const FAST: &[&str] = &[
    "--layers",
    "8",
    "--window",
    "10",
    "--epochs",
    "2",
    "--test-days",
    "30",
    "--seed",
    "1",
    "--quiet",
];

/// `flags` without `--quiet`, for tests of what gruf tells the user on the way.
pub fn loud<'a>(flags: &[&'a str]) -> Vec<&'a str> {
    flags.iter().copied().filter(|f| *f != "--quiet").collect()
}

/// The gruf binary, run in `dir`.
pub fn gruf(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gruf"));
    cmd.current_dir(dir);
    cmd
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `rows` days of the synthetic sample (from 2019-01-01, Yahoo's layout) to `name`
/// in `dir`, and returns their closes as written.
pub fn sample(dir: &Path, rows: usize, name: &str) -> Vec<String> {
    gruf(dir)
        .args(["sample", "--rows", &rows.to_string(), "--out", name])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().to_string())
        .collect()
}

/// The output of a command that must succeed (else the test fails with its stderr).
fn succeeded(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The stdout of a command that must succeed.
pub fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(succeeded(cmd).stdout).unwrap()
}

/// The stderr of a command that must succeed: what gruf told the user on the way.
pub fn stderr(cmd: &mut Command) -> String {
    String::from_utf8(succeeded(cmd).stderr).unwrap()
}

/// A temporary folder holding `prices.csv` (300 synthetic days).
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    dir
}

/// [`workspace`] with a model trained on it with [`FAST`], saved as `gruf-model.safetensors`.
pub fn trained() -> tempfile::TempDir {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .assert()
        .success();
    dir
}

/// The bytes of the file at `path`, to compare before and after a run.
pub fn hash(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Fails if a save left a temporary file (`*.tmp`) in `dir`.
pub fn assert_no_temporaries(dir: &Path) {
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

/// Fails, naming `what` and the index, unless every value of `got` is within
/// `rtol · |want| + atol` of `want` ([`close::first_mismatch`]).
#[track_caller]
pub fn assert_close<T: Copy + Into<f64> + std::fmt::Display>(
    what: &str,
    got: &[T],
    want: &[T],
    rtol: f64,
    atol: f64,
) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some((i, g, w)) = close::first_mismatch(got, want, rtol, atol) {
        panic!("{what}[{i}]: got {g}, want {w} (to within {rtol:e} · |want| + {atol:e})");
    }
}

/// The structured series of the accuracy tests: daily from 1970-01-01, a weekly cycle of
/// amplitude 12 on a level of 200 rising 0.05 a day, plus uniform noise in (−1, 1) from a
/// fixed seed. A model that learns the cycle beats the naive forecast by far.
pub fn structured_series(n: usize) -> gruf::series::Series {
    use rand::{Rng, SeedableRng};
    let mut rng = gruf::rng::Rng64::seed_from_u64(42);
    let values = (0..n)
        .map(|t| {
            let t = t as f64;
            let noise: f64 = rng.random_range(-1.0..1.0);
            200.0 + 0.05 * t + 12.0 * (2.0 * std::f64::consts::PI * t / 7.0).sin() + noise
        })
        .collect();
    gruf::series::Series::new((0..n as i64).map(|d| d * 86_400).collect(), values)
}

/// `days` daily rows of each series in `ids`, in long format (`Date,Symbol,Close`), rows
/// ordered by date then id as exports usually are. Series `k` moves around `10^(k+1)`.
pub fn long_csv(ids: &[&str], days: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut text = String::from("Date,Symbol,Close\n");
    for i in 0..days {
        let date = start + chrono::Duration::days(i as i64);
        for (k, id) in ids.iter().enumerate() {
            let scale = 10f64.powi(k as i32 + 1);
            let t = i as f64 + k as f64 * 3.0;
            let v = scale * (2.0 + (t * 0.3).sin() * 0.3 + (t * 0.05).cos() * 0.2);
            text.push_str(&format!("{date},{id},{v:.4}\n"));
        }
    }
    text
}
