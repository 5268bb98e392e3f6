//! Series that are not prices (issue 10): temperatures, loads, spreads and P&L cross zero.
//! Any finite value loads; `diff` and `minmax` train and predict on them; `window` and
//! `logret`, which divide by values, refuse them in one line naming the value, its line and
//! date and suggesting `diff`; MAPE is missing where a true value is zero; model files of
//! earlier gruf versions still load.

use std::path::Path;

use predicates::str::contains;

use crate::common::{gruf, hash, stdout, TINY_NO_HOLDOUT};

/// A sine around zero with noise, `rows` days from 2021-01-01, written as `Date,Close`
/// with two decimals; every 25th value is exactly `0`. Returns the values as written.
fn signed_csv(dir: &Path, name: &str, rows: usize, offset: f64) -> Vec<f64> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = || {
        // A small LCG: deterministic noise in [-0.5, 0.5).
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut text = String::from("Date,Close\n");
    let mut values = Vec::with_capacity(rows);
    for i in 0..rows {
        let v = if i % 25 == 24 {
            0.0
        } else {
            let raw = offset + 5.0 * (i as f64 * 2.0 * std::f64::consts::PI / 30.0).sin() + noise();
            (raw * 100.0).round() / 100.0
        };
        let date = start + chrono::Duration::days(i as i64);
        text.push_str(&format!("{},{v}\n", date.format("%Y-%m-%d")));
        values.push(v);
    }
    std::fs::write(dir.join(name), text).unwrap();
    values
}

/// The 1-based line of the first value <= 0 (the header is line 1), its value as written
/// and its date.
fn first_non_positive(values: &[f64]) -> (usize, f64, String) {
    let i = values.iter().position(|&v| v <= 0.0).unwrap();
    let date =
        chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap() + chrono::Duration::days(i as i64);
    (i + 2, values[i], date.format("%Y-%m-%d").to_string())
}

fn train_flags<'a>(transform: &'a str, horizon: &'a str) -> Vec<&'a str> {
    let mut flags = vec!["--transform", transform, "--horizon", horizon];
    flags.extend_from_slice(TINY_NO_HOLDOUT);
    flags.extend_from_slice(&["--test-days", "60"]);
    flags
}

/// The forecast values of `predict --format json`.
fn forecast(dir: &Path, model: &str, steps: &str) -> Vec<f64> {
    let out = stdout(gruf(dir).args([
        "predict", "--model", model, "--steps", steps, "--format", "json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = json["forecast"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"));
    rows.iter()
        .map(|r| r["forecast"].as_f64().unwrap_or_else(|| panic!("{out}")))
        .collect()
}

#[test]
fn a_series_crossing_zero_trains_and_predicts_with_diff_and_minmax() {
    let dir = tempfile::tempdir().unwrap();
    let values = signed_csv(dir.path(), "signed.csv", 300, 0.0);
    assert!(values.iter().any(|&v| v < 0.0) && values.iter().any(|&v| v > 0.0));
    for (transform, horizon) in [
        ("diff", "1"),
        ("diff", "5"),
        ("minmax", "1"),
        ("minmax", "3"),
    ] {
        let model = format!("{transform}-{horizon}.safetensors");
        gruf(dir.path())
            .args(["train", "--csv", "signed.csv", "--model", &model])
            .args(train_flags(transform, horizon))
            .assert()
            .success();
        let path = forecast(dir.path(), &model, "7");
        assert_eq!(path.len(), 7, "{transform} K={horizon}");
        // Finite and of the series' size: nothing exploded or came back as a price level.
        assert!(
            path.iter().all(|v| v.is_finite() && v.abs() < 50.0),
            "{transform} K={horizon}: {path:?}"
        );
    }
}

#[test]
fn mape_is_missing_where_a_true_value_is_zero() {
    let dir = tempfile::tempdir().unwrap();
    signed_csv(dir.path(), "signed.csv", 300, 0.0);
    gruf(dir.path())
        .args(["train", "--csv", "signed.csv"])
        .args(train_flags("diff", "1"))
        .assert()
        .success();
    // The held-out 60 days hold exact zeros: MAPE is null for every forecaster, sMAPE a number.
    let out = stdout(gruf(dir.path()).args(["evaluate", "--format", "json", "--horizon", "0"]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = json["one_step"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"));
    assert!(!rows.is_empty());
    for row in rows {
        let metrics = &row[1];
        assert!(metrics["mape"].is_null(), "{row}");
        assert!(
            metrics["smape"].as_f64().is_some_and(f64::is_finite),
            "{row}"
        );
        assert!(metrics["mae"].as_f64().is_some_and(f64::is_finite), "{row}");
    }
    let table = stdout(gruf(dir.path()).args(["evaluate", "--horizon", "0"]));
    let naive = table.lines().find(|l| l.starts_with("naive")).unwrap();
    let cells: Vec<&str> = naive.split_whitespace().collect();
    assert_eq!(cells[3], "-", "MAPE cell of: {naive}\n{table}");
    let csv = stdout(gruf(dir.path()).args(["evaluate", "--horizon", "0", "--format", "csv"]));
    assert!(csv.lines().any(|l| l.contains(",naive,")), "{csv}");
}

#[test]
fn window_and_logret_refuse_values_that_are_not_positive_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let values = signed_csv(dir.path(), "signed.csv", 300, 0.0);
    let (line, value, date) = first_non_positive(&values);
    let count = values.iter().filter(|&&v| v <= 0.0).count();
    std::fs::write(dir.path().join("gruf-model.safetensors"), b"previous").unwrap();
    for command in ["train", "backtest"] {
        for transform in ["window", "logret"] {
            let out = gruf(dir.path())
                .args([command, "--csv", "signed.csv"])
                .args(train_flags(transform, "1"))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(65), "{command} {transform}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{err}");
            for part in [
                "signed.csv",
                &format!("line {line}: value {value} ({date}) is not positive"),
                &format!("--transform {transform}"),
                &format!("({count} of 300 are zero or negative)"),
                "use --transform diff (or minmax)",
            ] {
                assert!(
                    err.contains(part),
                    "{command} {transform}: no '{part}' in: {err}"
                );
            }
        }
    }
    // Nothing was written over the previous model.
    assert_eq!(
        hash(&dir.path().join("gruf-model.safetensors")),
        b"previous"
    );
}

#[test]
fn a_stored_window_model_refuses_a_csv_that_crosses_zero() {
    let dir = tempfile::tempdir().unwrap();
    // Trained on positive values (the same sine, lifted above zero)...
    let lifted = signed_csv(dir.path(), "positive.csv", 300, 20.0);
    assert!(lifted.iter().filter(|&&v| v != 0.0).all(|&v| v > 0.0));
    std::fs::write(
        dir.path().join("positive.csv"),
        std::fs::read_to_string(dir.path().join("positive.csv"))
            .unwrap()
            .replace(",0\n", ",20\n"),
    )
    .unwrap();
    gruf(dir.path())
        .args(["train", "--csv", "positive.csv"])
        .args(train_flags("window", "1"))
        .assert()
        .success();
    // ...then fed a CSV that crosses zero: every consumer refuses it in one line.
    let values = signed_csv(dir.path(), "signed.csv", 300, 0.0);
    let (line, value, _) = first_non_positive(&values);
    for args in [
        &["predict", "--csv", "signed.csv"][..],
        &["evaluate", "--csv", "signed.csv"],
        &["plot", "--csv", "signed.csv", "--out", "p.png"],
    ] {
        let out = gruf(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(65), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("signed.csv: line {line}: value {value}"))
                && err.contains("the model's transform (window)")
                && err.contains("retrain it with --transform diff (or minmax)"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.path().join("p.png").exists());
}

#[test]
fn gruf_1_0_model_files_still_load_beside_signed_data() {
    let fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/v2")
            .join(name)
    };
    let dir = tempfile::tempdir().unwrap();
    signed_csv(dir.path(), "signed.csv", 300, 0.0);
    // gruf 1.0's min-max model takes values of any sign (far outside its range: a warning).
    gruf(dir.path())
        .args(["predict", "--csv", "signed.csv", "--steps", "3", "--model"])
        .arg(fixture("minmax.safetensors"))
        .assert()
        .success()
        .stderr(contains("outside the range the model was trained on"));
    // Its per-window model needs positive values, and says so.
    gruf(dir.path())
        .args(["predict", "--csv", "signed.csv", "--model"])
        .arg(fixture("window.safetensors"))
        .assert()
        .code(65)
        .stderr(contains("retrain it with --transform diff"));
}

#[test]
fn a_plot_of_a_series_crossing_zero_is_written() {
    let dir = tempfile::tempdir().unwrap();
    signed_csv(dir.path(), "signed.csv", 300, 0.0);
    gruf(dir.path())
        .args(["train", "--csv", "signed.csv"])
        .args(train_flags("diff", "1"))
        .assert()
        .success();
    gruf(dir.path())
        .args(["plot", "--out", "signed.png", "--steps", "14"])
        .assert()
        .success();
    let png = std::fs::read(dir.path().join("signed.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    if let Ok(keep) = std::env::var("GRUF_TEST_KEEP_PLOT") {
        std::fs::write(keep, png).unwrap();
    }
}
