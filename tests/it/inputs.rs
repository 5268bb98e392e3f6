//! Input files as users bring them (issue 9): YYYYMMDD, monthly, quarterly and weekly
//! dates, NeuralForecast's `ds`/`y` columns, semicolon- and tab-separated files, compressed
//! files; and `sample --out -`, `sample --rows` bounds and shell completions. Each case
//! checks the exit code, the note or the one-line error, and for accepted files that
//! `predict` continues from the right dates.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use predicates::prelude::*;
use predicates::str::contains;

use crate::common::{gruf, sample, write, FAST};

/// A temporary folder holding `prices.csv` (300 synthetic days, 2019-01-01 to 2019-10-27)
/// and the sample's closes.
fn workspace() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let closes = sample(dir.path(), 300, "prices.csv");
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
    // Not quiet: the summary line and the notes are what these tests read.
    let out = gruf(dir)
        .args(["train", "--csv", csv])
        .args(FAST.iter().filter(|f| **f != "--quiet"))
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

/// gruf 1.0 read `20190101` as Unix seconds (1970-08-22 16:21:41).
#[test]
fn yyyymmdd_dates_are_read_as_dates_with_a_note() {
    let (dir, closes) = workspace();
    let dir = dir.path();
    let text = series("Date,Close", &closes, |i| {
        day(i).format("%Y%m%d").to_string()
    });
    write(dir, "ymd.csv", &text);
    let stderr = train_ok(dir, "ymd.csv", &[]);
    assert!(
        stderr.contains(
            "ymd.csv: read Date values such as '20190101' as YYYYMMDD dates (2019-01-01); \
             if they are Unix seconds, pass --date-format %s"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("300 rows 2019-01-01 to 2019-10-27"),
        "{stderr}"
    );
    predicts(dir, "2019-10-28", "2019-10-29");

    // The way out when they really are Unix seconds: no note, 1970 timestamps.
    let stderr = train_ok(dir, "ymd.csv", &["--date-format", "%s"]);
    assert!(!stderr.contains("YYYYMMDD"), "{stderr}");
    assert!(
        stderr.contains("300 rows 1970-08-22 16:21:41 to 1970-08-22 16:37:07"),
        "{stderr}"
    );
}

/// The column's reading is decided once: a later date in another form is refused, never
/// read another way (gruf 1.0 read the ISO row as a date and the rest as 1970 seconds).
#[test]
fn a_date_column_is_read_one_way() {
    let (dir, closes) = workspace();
    let dir = dir.path();
    // Line 40 (row 39) written as an ISO date in a YYYYMMDD column.
    let text = series("Date,Close", &closes, |i| {
        let fmt = if i == 38 { "%Y-%m-%d" } else { "%Y%m%d" };
        day(i).format(fmt).to_string()
    });
    write(dir, "mixed.csv", &text);
    let err = train_refused(dir, "mixed.csv", &[]);
    assert!(
        err.contains("line 40: Date '2019-02-08' is not an 8-digit YYYYMMDD date")
            && err.contains("'20190101'")
            && err.contains("write every date the same way"),
        "{err}"
    );
    // An 8-digit number in a column of ISO dates could be either: refused, naming its line.
    let text = series("Date,Close", &closes, |i| {
        let fmt = if i == 99 { "%Y%m%d" } else { "%Y-%m-%d" };
        day(i).format(fmt).to_string()
    });
    write(dir, "mixed2.csv", &text);
    let err = train_refused(dir, "mixed2.csv", &[]);
    assert!(
        err.contains("line 101: Date '20190410' could be a YYYYMMDD date or Unix seconds"),
        "{err}"
    );
}

/// Monthly, quarterly and weekly exports: each date is its period's first day (a week's
/// Monday), found under the column names those exports use. gruf 1.0 refused them all.
#[test]
fn months_quarters_and_weeks_are_read_as_their_first_day() {
    let (dir, closes) = workspace();
    let dir = dir.path();
    let month = |i: usize| format!("{}-{:02}", 1960 + i / 12, i % 12 + 1);
    write(dir, "monthly.csv", &series("Month,Close", &closes, month));
    let stderr = train_ok(dir, "monthly.csv", &[]);
    assert!(
        stderr.contains("300 rows 1960-01-01 to 1984-12-01"),
        "{stderr}"
    );
    predicts(dir, "1985-01-01", "1985-02-01");

    let quarter = |i: usize| {
        let sep = if i.is_multiple_of(2) { "-" } else { "" };
        format!("{}{sep}Q{}", 1950 + i / 4, i % 4 + 1)
    };
    write(
        dir,
        "quarterly.csv",
        &series("Quarter,Close", &closes, quarter),
    );
    let stderr = train_ok(dir, "quarterly.csv", &[]);
    assert!(
        stderr.contains("300 rows 1950-01-01 to 2024-10-01"),
        "{stderr}"
    );
    predicts(dir, "2025-01-01", "2025-04-01");

    // ISO weeks 2000-W01 (Monday 2000-01-03) onwards, through 2005-W52.
    let monday = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap();
    let week = |i: usize| {
        let d = monday + Duration::weeks(i as i64);
        d.format("%G-W%V").to_string()
    };
    write(dir, "weekly.csv", &series("Week,Close", &closes, week));
    let stderr = train_ok(dir, "weekly.csv", &[]);
    let last = monday + Duration::weeks(299);
    assert!(
        stderr.contains(&format!("300 rows 2000-01-03 to {last}")),
        "{stderr}"
    );
    let next = |n| (last + Duration::weeks(n)).to_string();
    predicts(dir, &next(1), &next(2));
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
        err.contains("Open time, Month, Week, Period, Quarter, ds, Year); columns are: Day, Close"),
        "{err}"
    );
}

/// Semicolon- and tab-separated files: refused with the delimiter to pass, then read with
/// it, and `predict` re-reads them with the delimiter stored in the model.
#[test]
fn other_delimiters_are_named_and_taken() {
    let (dir, _) = workspace();
    let dir = dir.path();
    let csv = std::fs::read_to_string(dir.join("prices.csv")).unwrap();
    write(dir, "semi.csv", &csv.replace(',', ";"));
    write(dir, "tab.tsv", &csv.replace(',', "\t"));

    let err = train_refused(dir, "semi.csv", &[]);
    assert!(
        err.contains(
            "the header is one field, 'Date;Open;High;Low;Close;Adj Close;Volume'; \
             the file looks ';'-separated: pass --delimiter ';'"
        ),
        "{err}"
    );
    let err = train_refused(dir, "tab.tsv", &[]);
    assert!(
        err.contains("the file looks tab-separated: pass --delimiter tab"),
        "{err}"
    );

    train_ok(dir, "semi.csv", &["--delimiter", ";"]);
    predicts(dir, "2019-10-28", "2019-10-29");
    gruf(dir)
        .args(["evaluate", "--horizon", "0"])
        .assert()
        .success()
        .stdout(contains("2019-09-28 to 2019-10-27"));

    train_ok(dir, "tab.tsv", &["--delimiter", "tab"]);
    predicts(dir, "2019-10-28", "2019-10-29");
    // The config file's [data] delimiter, a TOML tab.
    write(dir, "tab.toml", "[data]\ndelimiter = \"\\t\"\n");
    train_ok(dir, "tab.tsv", &["--config", "tab.toml"]);
    predicts(dir, "2019-10-28", "2019-10-29");

    for bad in ["ab", "x", "\""] {
        gruf(dir)
            .args(["train", "--csv", "semi.csv", "--delimiter", bad])
            .assert()
            .code(2)
            .stderr(contains("--delimiter").and(contains("one character")));
    }
    write(dir, "bad.toml", "[data]\ndelimiter = \"::\"\n");
    gruf(dir)
        .args(["train", "--csv", "semi.csv", "--config", "bad.toml"])
        .assert()
        .code(2)
        .stderr(contains("bad.toml").and(contains("one character")));
}

/// A compressed file is named as such, with the command that undoes it (gruf 1.0 said
/// "not valid UTF-8", or for a zip, that a column was missing).
#[test]
fn compressed_files_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cases: &[(&str, &[u8], &str, &str)] = &[
        // `printf 'Date,Close\n' | gzip -n`; the others: the format's signature and a few bytes.
        (
            "p.csv.gz",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x73\x49\x2c\x49\xd5\x71\xce\xc9\x2f\x4e\xe5\x02\x00\x0f\x7e\xc9\x16\x0b\x00\x00\x00",
            "gzip",
            "gunzip",
        ),
        ("p.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00Date,Close", "zip", "unzip"),
        ("p.csv.zst", b"\x28\xb5\x2f\xfd\x04\x58\x59\x00\x00", "zstd", "unzstd"),
        ("p.csv.bz2", b"BZh91AY&SY\x00\x00", "bzip2", "bunzip2"),
        ("p.csv.xz", b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46", "xz", "unxz"),
    ];
    for (name, bytes, format, command) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let err = train_refused(dir, name, &[]);
        assert!(
            err.contains(&format!(
                "this looks compressed ({format}): decompress it first, e.g. {command} {name}"
            )),
            "{err}"
        );
    }
}

/// `sample --out -` writes the CSV to stdout and no file named `-` (gruf 1.0 created one);
/// `--rows` is bounded so a typo cannot fill a disk.
#[test]
fn sample_writes_to_stdout_and_bounds_rows() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    gruf(dir)
        .args(["sample", "--rows", "5", "--out", "s.csv"])
        .assert()
        .success();
    let file = std::fs::read(dir.join("s.csv")).unwrap();
    gruf(dir)
        .args(["sample", "--rows", "5", "--out", "-"])
        .assert()
        .success()
        .stdout(predicate::eq(file));
    assert!(!dir.join("-").exists(), "a file named '-' was created");
    for rows in ["1", "1000001", "99999999999"] {
        gruf(dir)
            .args(["sample", "--rows", rows, "--out", "big.csv"])
            .assert()
            .code(2)
            .stderr(contains("--rows").and(contains("2..=1000000")));
    }
    assert!(!dir.join("big.csv").exists());
}

/// `gruf completions SHELL` prints a completion script that knows the subcommands and flags.
#[test]
fn completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        gruf(dir.path())
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(
                contains("gruf")
                    .and(contains("backtest"))
                    .and(contains("delimiter")),
            );
    }
    gruf(dir.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(contains("possible values"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
