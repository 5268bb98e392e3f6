//! Input files as users bring them (issue 9): YYYYMMDD, monthly, quarterly and weekly
//! dates, NeuralForecast's `ds`/`y` columns, semicolon- and tab-separated files, compressed
//! files; and `sample --out -`, `sample --rows` bounds and shell completions. Each case
//! checks the exit code, the note or the one-line error, and for accepted files that
//! `predict` continues from the right dates.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{Duration, NaiveDate};
use predicates::prelude::*;
use predicates::str::contains;

/// A tiny, fast model on a 300-row series.
const FAST: &[&str] = &[
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

fn gruf(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gruf"));
    cmd.current_dir(dir);
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A temporary folder holding `prices.csv` (300 synthetic days, 2019-01-01 to 2019-10-27)
/// and the sample's closes.
fn workspace() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("prices.csv")).unwrap();
    let closes = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().to_string())
        .collect();
    (dir, closes)
}

/// `header`, then one row per close with the i-th date from `date`.
fn series(header: &str, closes: &[String], date: impl Fn(usize) -> String) -> String {
    let mut text = format!("{header}\n");
    for (i, close) in closes.iter().enumerate() {
        text.push_str(&format!("{},{close}\n", date(i)));
    }
    text
}

fn day(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() + Duration::days(i as i64)
}

/// Trains on `csv` (plus `extra` flags); returns stderr.
fn train_ok(dir: &Path, csv: &str, extra: &[&str]) -> String {
    let out = gruf(dir)
        .args(["train", "--csv", csv])
        .args(FAST)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{csv}: {stderr}");
    stderr
}

/// Trains on `csv` expecting a data error (exit 65); returns its one line.
fn train_refused(dir: &Path, csv: &str, extra: &[&str]) -> String {
    let out = gruf(dir)
        .args(["train", "--csv", csv])
        .args(FAST)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(65), "{csv}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{csv}: not one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("gruf: error: {csv}: ")),
        "{csv}: {stderr}"
    );
    stderr
}

/// `predict --days 2` from the last model gives exactly these two dates.
fn predicts(dir: &Path, first: &str, second: &str) {
    gruf(dir)
        .args(["predict", "--days", "2", "--format", "csv"])
        .assert()
        .success()
        .stdout(
            contains(format!("\n{first},"))
                .and(contains(format!("\n{second},")))
                .and(contains(":").not()),
        );
}

/// NeuralForecast's long format (`unique_id,ds,y`) and a `Period,value` export train as
/// they are, saying which column was used; gruf 1.0 looked only for Close and Date.
#[test]
fn neuralforecast_and_value_columns_are_found() {
    let (dir, closes) = workspace();
    let dir = dir.path();
    let mut text = String::from("unique_id,ds,y\n");
    for (i, close) in closes.iter().enumerate() {
        text.push_str(&format!("BTC,{},{close}\n", day(i)));
    }
    write(dir, "nf.csv", &text);
    let stderr = train_ok(dir, "nf.csv", &[]);
    assert!(
        stderr.contains(
            "nf.csv: no Close column: using 'y' as the price column \
             (pass --column to choose another)"
        ),
        "{stderr}"
    );
    predicts(dir, "2019-10-28", "2019-10-29");

    let period = |i: usize| day(i).to_string();
    write(dir, "period.csv", &series("Period,value", &closes, period));
    let stderr = train_ok(dir, "period.csv", &[]);
    assert!(
        stderr.contains("using 'value' as the price column"),
        "{stderr}"
    );
    predicts(dir, "2019-10-28", "2019-10-29");

    // Only when no column was asked for; and any other name is still refused.
    let err = train_refused(dir, "nf.csv", &["--column", "Close"]);
    assert!(
        err.contains("column 'Close' not found; columns are: unique_id, ds, y; pass --column"),
        "{err}"
    );
    write(dir, "price.csv", "Date,Price\n2020-01-01,1\n");
    let err = train_refused(dir, "price.csv", &[]);
    assert!(
        err.contains("column 'Close' not found") && err.contains("Date, Price; pass --column"),
        "{err}"
    );
    // The date column names the message promises.
    write(dir, "nodate.csv", "Day,Close\n2020-01-01,1\n");
    let err = train_refused(dir, "nodate.csv", &[]);
    assert!(
        err.contains("Open time, Month, Week, Period, Quarter, ds); columns are: Day, Close"),
        "{err}"
    );
}
