//! What a new user hit in gruf 1.0 on documented paths, one test per defect: newer data
//! shorter than the training part, horizon tables of zeros, hourly data worded as days and
//! scored without a seasonal baseline, forecasts off the calendar, `--format csv` ignored,
//! and the smaller things (quiet, plurals, zones, help). Each failed on 1.0.

use assert_cmd::Command;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{gruf, sample, stdout, write, TINY_NO_HOLDOUT};

/// A `Date,Close` CSV of `closes` on the given dates.
fn csv_on(dates: impl IntoIterator<Item = String>, closes: &[String]) -> String {
    let mut text = String::from("Date,Close\n");
    for (d, c) in dates.into_iter().zip(closes) {
        text.push_str(&format!("{d},{c}\n"));
    }
    text
}

/// An hourly series with a daily cycle, a trend and noise: `time,value` from 2016-01-01T00Z.
fn hourly_csv(hours: usize) -> String {
    let mut text = String::from("time,value\n");
    let mut state: u64 = 7;
    for h in 0..hours {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 4.0;
        let cycle = 30.0 * (2.0 * std::f64::consts::PI * (h % 24) as f64 / 24.0).sin();
        let t = Utc
            .timestamp_opt(1_451_606_400 + 3_600 * h as i64, 0)
            .unwrap();
        text.push_str(&format!(
            "{},{:.3}\n",
            t.format("%Y-%m-%dT%H:%M:%SZ"),
            500.0 + 0.05 * h as f64 + cycle + noise
        ));
    }
    text
}

fn json(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_str(&stdout(cmd)).unwrap()
}

fn model_mae(one_step: &serde_json::Value) -> f64 {
    let rows = one_step["rows"].as_array().unwrap();
    rows.iter().find(|r| r[0] == "model").unwrap()[1]["mae"]
        .as_f64()
        .unwrap()
}

/// Defect 1: train on the first rows with nothing held out, then evaluate and plot on a CSV
/// of only the newer rows, fewer than the training part (1.0 panicked, exit 101).
#[test]
fn evaluate_and_plot_on_newer_data_shorter_than_the_training_part() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "520", "--out", "all.csv"])
        .assert()
        .success();
    let all = std::fs::read_to_string(dir.path().join("all.csv")).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    write(dir.path(), "old.csv", &(lines[..401].join("\n") + "\n"));
    let newer = format!("{}\n{}\n", lines[0], lines[401..].join("\n"));
    write(dir.path(), "newer.csv", &newer);
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "old.csv",
            "--test-days",
            "0",
            "--transform",
            "window",
        ])
        .args(TINY_NO_HOLDOUT)
        .assert()
        .success();
    let doc = json(gruf(dir.path()).args(["evaluate", "--csv", "newer.csv", "--format", "json"]));
    // 120 newer rows; the first 10 are the window the first prediction needs.
    assert_eq!(doc["one_step"]["n"], 110, "{doc}");
    assert_eq!(doc["one_step"]["first_date"], "2020-02-15");
    let mase = doc["one_step"]["rows"][0][1]["mase"].as_f64().unwrap();
    assert!(mase.is_finite() && mase > 0.0, "{doc}");
    gruf(dir.path())
        .args(["plot", "--csv", "newer.csv", "--out", "newer.png"])
        .assert()
        .success();
    assert!(dir.path().join("newer.png").exists());

    // Fewer newer rows than the window: one clear error, not a panic.
    let few = format!("{}\n{}\n", lines[0], lines[401..406].join("\n"));
    write(dir.path(), "few.csv", &few);
    gruf(dir.path())
        .args(["evaluate", "--csv", "few.csv"])
        .assert()
        .code(65)
        .stderr(contains("few.csv").and(contains("panicked").not()));
}

/// Defect 3: a horizon table over fewer held-out values than horizons printed
/// `(0 origins)` and MAE 0.00, and horizon 1's MAE changed with N.
#[test]
fn horizon_tables_never_report_zeros_and_horizon_one_is_the_one_step_error() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--test-days", "5"])
        .args(TINY_NO_HOLDOUT)
        .assert()
        .success();
    let out = gruf(dir.path())
        .args(["evaluate", "--horizon", "7"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (table, err) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(
        !table.contains("0 origins") && !table.contains(" 0.00 "),
        "{table}"
    );
    assert!(err.contains("horizons 6..7 cannot be scored"), "{err}");
    assert!(err.contains("rests on only 5 days"), "{err}");

    let seven = json(gruf(dir.path()).args(["evaluate", "--horizon", "7", "--format", "json"]));
    let one = json(gruf(dir.path()).args(["evaluate", "--horizon", "1", "--format", "json"]));
    let horizons = seven["horizons"].as_array().unwrap();
    assert_eq!(horizons.len(), 5, "{seven}");
    for h in horizons {
        assert!(h["origins"].as_u64().unwrap() > 0, "{h}");
    }
    let h1 = |doc: &serde_json::Value| doc["horizons"][0]["model_mae"].as_f64().unwrap();
    assert_eq!(h1(&seven), h1(&one));
    let one_step = model_mae(&seven["one_step"]);
    common::assert_close("horizon 1 MAE", &[h1(&seven)], &[one_step], 0.0, 1e-9);
}

/// Defect 4: hourly data was held out as "365 days", worded as days, and scored without
/// the seasonal naive forecast ("the same hour yesterday").
#[test]
fn hourly_data_speaks_in_hours_and_meets_the_seasonal_naive_forecast() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "hourly.csv", &hourly_csv(24 * 30));
    let out = gruf(dir.path())
        .args(["train", "--csv", "hourly.csv", "--column", "value"])
        .args(["--test-size", "48", "--window", "24", "--layers", "8"])
        .args(["--epochs", "2", "--seed", "1"])
        .output()
        .unwrap();
    let (text, err) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("(hourly)") && err.contains("48 hours held out"),
        "{err}"
    );
    assert!(text.contains("over 48 hours"), "{text}");
    assert!(text.contains("next hour = this hour"), "{text}");
    assert!(text.contains("same hour yesterday"), "{text}");
    assert!(text.contains("seasonal naive 24") && text.contains("moving average 24"));
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .map(String::from)
            .collect()
    };
    assert!(
        !words(&text).iter().any(|w| w == "day" || w == "days"),
        "hourly results speak of days:\n{text}"
    );

    // Forecasts continue hourly; --steps is --days by a step-neutral name.
    let table = stdout(gruf(dir.path()).args(["predict", "--steps", "3"]));
    assert!(table.contains("time (UTC)"), "{table}");
    for hour in ["00:00:00", "01:00:00", "02:00:00"] {
        assert!(table.contains(&format!("2016-01-31 {hour}")), "{table}");
    }

    let doc = json(gruf(dir.path()).args(["evaluate", "--horizon", "24", "--format", "json"]));
    let names: Vec<&str> = doc["one_step"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(names.contains(&"seasonal naive 24"), "{names:?}");
    // A daily cycle with little noise: 12 hours ahead, repeating that hour of yesterday
    // beats holding the last value (24 hours ahead the two are the same forecast).
    let h12 = &doc["horizons"][11];
    assert!(h12["seasonal_naive_mae"].as_f64().unwrap() > 0.0, "{h12}");
    assert!(
        h12["seasonal_naive_mae"].as_f64() < h12["naive_mae"].as_f64(),
        "{h12}"
    );
    let h24 = &doc["horizons"][23];
    assert_eq!(h24["seasonal_naive_mae"], h24["naive_mae"], "{h24}");

    let twelve = json(gruf(dir.path()).args(["evaluate", "--season", "12", "--format", "json"]));
    assert!(twelve["one_step"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[0] == "seasonal naive 12"));
    gruf(dir.path())
        .args(["evaluate", "--season", "1"])
        .assert()
        .code(2)
        .stderr(contains("season 1"));
}

/// Defect 5: forecasts stepped by the median gap (weekends, 31-day months) and weekends of
/// business-day data were reported as gaps.
#[test]
fn forecasts_continue_on_the_series_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let closes = sample(dir.path(), 400, "sample.csv");
    let forecast = |name: &str, text: &str, steps: &str| -> (String, String) {
        write(dir.path(), name, text);
        let out = gruf(dir.path())
            .args([
                "train",
                "--csv",
                name,
                "--test-days",
                "20",
                "--transform",
                "window",
            ])
            .args(TINY_NO_HOLDOUT.iter().filter(|f| **f != "--quiet"))
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{name}: {err}");
        let table = stdout(gruf(dir.path()).args(["predict", "--days", steps]));
        (err, table)
    };
    let dates_of = |table: &str| -> Vec<String> {
        table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };

    // Weekdays only, ending on Friday 2021-06-04.
    let mut weekdays: Vec<NaiveDate> = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2021, 6, 4).unwrap();
    while weekdays.len() < closes.len() {
        if d.weekday().num_days_from_monday() < 5 {
            weekdays.push(d);
        }
        d = d.pred_opt().unwrap();
    }
    weekdays.reverse();
    let (err, table) = forecast(
        "weekdays.csv",
        &csv_on(weekdays.iter().map(|d| d.to_string()), &closes),
        "3",
    );
    assert!(!err.contains("gap"), "weekends reported as gaps: {err}");
    assert!(err.contains("business days"), "{err}");
    assert_eq!(dates_of(&table), ["2021-06-07", "2021-06-08", "2021-06-09"]);

    // Monthly, dated on the first, ending 1967-12-01.
    let months: Vec<String> = (0..120)
        .map(|i| format!("{}-{:02}-01", 1958 + i / 12, i % 12 + 1))
        .collect();
    let (_, table) = forecast("monthly.csv", &csv_on(months, &closes[..120]), "4");
    assert_eq!(
        dates_of(&table),
        ["1968-01-01", "1968-02-01", "1968-03-01", "1968-04-01"]
    );

    // Month ends.
    let ends: Vec<String> = (0..120)
        .map(|i| {
            let first = NaiveDate::from_ymd_opt(2010 + i / 12, (i % 12 + 1) as u32, 1).unwrap();
            (first + chrono::Months::new(1))
                .pred_opt()
                .unwrap()
                .to_string()
        })
        .collect();
    let (_, table) = forecast("month-ends.csv", &csv_on(ends, &closes[..120]), "3");
    assert_eq!(dates_of(&table), ["2020-01-31", "2020-02-29", "2020-03-31"]);

    // Every third day missing: daily with gaps, said loudly; forecasts step one day.
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let holey: Vec<String> = (0..)
        .filter(|i| i % 3 != 2)
        .take(closes.len())
        .map(|i| (start + chrono::Days::new(i)).to_string())
        .collect();
    let last: NaiveDate = holey.last().unwrap().parse().unwrap();
    let (err, table) = forecast("holey.csv", &csv_on(holey, &closes), "2");
    assert!(err.contains("days missing, 33 % of the span"), "{err}");
    assert_eq!(
        dates_of(&table),
        [
            (last + chrono::Days::new(1)).to_string(),
            (last + chrono::Days::new(2)).to_string()
        ]
    );

    // Half-day offsets on a daily series: irregular spacing is reported.
    let mut odd: Vec<String> = (0..closes.len() as u64)
        .map(|i| format!("{}T00:00:00Z", start + chrono::Days::new(i)))
        .collect();
    odd[100] = format!("{}T12:00:00Z", start + chrono::Days::new(99));
    let (err, _) = forecast("odd.csv", &csv_on(odd, &closes), "1");
    assert!(err.contains("irregular spacing: 2 of 399 steps"), "{err}");
}

/// Defect 6: `backtest --format csv` printed the table; `evaluate --horizon N --format csv`
/// dropped the horizon table.
#[test]
fn csv_output_is_csv_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    let text = stdout(
        gruf(dir.path())
            .args([
                "backtest",
                "--csv",
                "prices.csv",
                "--folds",
                "2",
                "--test-days",
                "20",
            ])
            .args(["--format", "csv"])
            .args(TINY_NO_HOLDOUT),
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..7],
        [
            "fold",
            "first_date",
            "last_date",
            "trained_to",
            "refit",
            "n",
            "forecaster"
        ]
    );
    let (intervals, rows): (Vec<csv::StringRecord>, Vec<csv::StringRecord>) = reader
        .records()
        .map(|r| r.unwrap())
        .partition(|r| r.get(13).is_some_and(|level| !level.is_empty()));
    // The intervals' rows after the point rows, over all folds: coverage in percent.
    assert_eq!(
        &header[13..],
        ["level", "coverage", "width", "msis", "pinball"]
    );
    for r in &intervals {
        assert_eq!(&r[0], "all", "{r:?}");
        let coverage: f64 = r[14].parse().unwrap();
        assert!((0.0..=100.0).contains(&coverage), "{r:?}");
    }
    assert!(!intervals.is_empty(), "{text}");
    // Two folds of five forecasters, then five totals.
    assert_eq!(rows.len(), 15, "{text}");
    assert_eq!(rows.iter().filter(|r| &r[0] == "all").count(), 5);
    for r in &rows {
        let mae: f64 = r[7].parse().unwrap();
        assert!(mae.is_finite() && mae > 0.0, "{r:?}");
    }

    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--test-days", "30"])
        .args(TINY_NO_HOLDOUT)
        .assert()
        .success();
    let text = stdout(gruf(dir.path()).args(["evaluate", "--horizon", "3", "--format", "csv"]));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let one_step = rows.iter().filter(|r| &r[0] == "one_step").count();
    let horizon: Vec<_> = rows.iter().filter(|r| &r[0] == "horizon").collect();
    assert_eq!(one_step, 5, "{text}");
    // model, naive and seasonal naive at horizons 1, 2 and 3.
    assert_eq!(horizon.len(), 9, "{text}");
    assert!(horizon
        .iter()
        .any(|r| &r[1] == "seasonal naive 7" && &r[2] == "3"));
}

/// Defect 8: `-q` printed a line, "1 epochs", no zone on JSON timestamps, a no-op
/// resampling called a warning, caps missing from help.
#[test]
fn quiet_plurals_zones_and_help() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    // A clean file, a scale-free transform (no range warning): quiet means nothing on stderr.
    let out = gruf(dir.path())
        .args([
            "train",
            "--csv",
            "prices.csv",
            "--test-days",
            "30",
            "--transform",
            "window",
        ])
        .args(["--epochs", "1", "--layers", "8", "--window", "10", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("trained 1 epoch in"), "{text}");

    // Resampling daily rows to hours changes nothing: a note, not a warning.
    let err = String::from_utf8(
        gruf(dir.path())
            .args([
                "train",
                "--csv",
                "prices.csv",
                "--resample",
                "1h",
                "--transform",
                "window",
            ])
            .args([
                "--epochs",
                "1",
                "--layers",
                "8",
                "--window",
                "10",
                "--test-days",
                "30",
            ])
            .output()
            .unwrap()
            .stderr,
    )
    .unwrap();
    assert!(
        err.contains("gruf: note: prices.csv: --resample 1h"),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");

    // Hourly forecasts in JSON carry their zone.
    write(dir.path(), "hourly.csv", &hourly_csv(24 * 20));
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "hourly.csv",
            "--column",
            "value",
            "--test-size",
            "24",
        ])
        .args(TINY_NO_HOLDOUT)
        .assert()
        .success();
    let doc = json(gruf(dir.path()).args(["predict", "--steps", "2", "--format", "json"]));
    assert_eq!(doc["forecast"][0]["date"], "2016-01-21T00:00:00Z", "{doc}");
    assert_eq!(doc["step"], "hour");
    let e = json(gruf(dir.path()).args(["evaluate", "--format", "json"]));
    assert_eq!(e["one_step"]["first_date"], "2016-01-20T00:00:00Z", "{e}");

    for (command, cap) in [("predict", "3650"), ("plot", "3650"), ("evaluate", "365")] {
        gruf(dir.path())
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(contains(cap));
    }
    gruf(dir.path())
        .args(["train", "--help"])
        .assert()
        .success()
        .stdout(contains("--test-size").and(contains("--season")));
}
