//! Covariates beside the price (issue 10, `--inputs`): a CSV with Close, Volume, High and
//! Low trains on `Close,Volume,range` with a horizon of 3, predicts 3 steps, refuses more
//! (the covariates' future is unknown), evaluates up to its horizon and keeps the inputs
//! and their fitted transforms in the model file; every unusable input is one line and exit
//! 65; a model without `--inputs` writes no new metadata keys.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;
use safetensors::SafeTensors;

use crate::common::{gruf, stdout, write, FAST};

/// `rows` days from 2020-01-01 of Date,Open,High,Low,Close,Volume: a wavy price, High and
/// Low around it, a volume that moves.
fn ohlcv(rows: usize) -> String {
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for i in 0..rows {
        let t = i as f64;
        let close = 100.0 + t * 0.05 + (t * 0.3).sin() * 4.0 + (t * 0.07).cos() * 2.0;
        let open = close - (t * 0.9).sin();
        let high = close.max(open) + 0.5 + (t * 0.4).cos().abs();
        let low = close.min(open) - 0.5 - (t * 0.6).sin().abs();
        let volume = 1000.0 + ((i * 37) % 101) as f64 * 20.0;
        let date = start + chrono::Duration::days(i as i64);
        text.push_str(&format!(
            "{date},{open:.4},{high:.4},{low:.4},{close:.4},{volume}\n"
        ));
    }
    text
}

/// The metadata JSON of a model file.
fn metadata(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let json = &header.metadata().as_ref().unwrap()[gruf::checkpoint::META_KEY];
    serde_json::from_str(json).unwrap()
}

fn train_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--csv", "ohlcv.csv"];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    args
}

#[test]
fn close_volume_and_range_train_predict_within_the_horizon_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", &ohlcv(300));
    gruf(dir.path())
        .args(train_args(&[
            "--inputs",
            "Close,Volume,range",
            "--horizon",
            "3",
            "--transform",
            "window",
        ]))
        .assert()
        .success();

    let meta = metadata(&dir.path().join("gruf-model.safetensors"));
    assert_eq!(meta["config"]["model"]["features"], 3);
    assert_eq!(
        meta["config"]["data"]["inputs"],
        serde_json::json!(["Close", "Volume", "range"])
    );
    let inputs = meta["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["name"], "Volume");
    assert_eq!(inputs[0]["transform"]["kind"], "standard");
    assert_eq!(inputs[0]["transform"]["log"], true);
    assert_eq!(inputs[1]["name"], "range");
    assert_eq!(inputs[1]["transform"]["log"], false);

    let out = stdout(gruf(dir.path()).args(["predict", "--days", "3", "--format", "csv"]));
    assert_eq!(out.lines().count(), 4, "{out}");

    gruf(dir.path())
        .args(["predict", "--steps", "5"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            contains("--steps 5")
                .and(contains("larger --horizon"))
                .and(contains("Volume, range"))
                .and(predicate::function(|e: &str| e.lines().count() == 1)),
        );

    let out = stdout(gruf(dir.path()).args(["evaluate", "--format", "json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["horizons"].as_array().unwrap().len(), 3, "{out}");
    // Asked for more, the table still stops at the horizon, with a warning.
    gruf(dir.path())
        .args(["evaluate", "--horizon", "7", "--format", "json"])
        .assert()
        .success()
        .stderr(contains("stops at 3"));
}

#[test]
fn price_like_inputs_and_the_price_listed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", &ohlcv(300));
    for transform in ["minmax", "window", "logret", "diff"] {
        gruf(dir.path())
            .args(train_args(&[
                "--inputs",
                "high,Low",
                "--transform",
                transform,
                "--horizon",
                "2",
            ]))
            .assert()
            .success();
        let meta = metadata(&dir.path().join("gruf-model.safetensors"));
        assert_eq!(meta["config"]["model"]["features"], 3, "{transform}");
        assert_eq!(meta["inputs"][0]["transform"]["kind"], "price");
        let out = stdout(gruf(dir.path()).args(["predict", "--days", "2", "--format", "csv"]));
        assert_eq!(out.lines().count(), 3, "{transform}: {out}");
    }
}

/// `train --inputs` on `text`: exit 65, one line naming `needle`.
fn refused(text: &str, inputs: &str, extra: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", text);
    let mut args = train_args(&["--inputs", inputs]);
    args.extend_from_slice(extra);
    gruf(dir.path())
        .args(args)
        .assert()
        .code(65)
        .stdout("")
        .stderr(contains(needle).and(predicate::function(|e: &str| e.lines().count() == 1)));
    assert!(!dir.path().join("gruf-model.safetensors").exists());
}

/// Line `line` (header = 1) of `text` with field `field` replaced by `value`.
fn with_cell(text: &str, line: usize, field: usize, value: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[field] = value;
                cells.join(",") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn unusable_inputs_are_refused_in_one_line() {
    let good = ohlcv(300);
    refused(
        &with_cell(&good, 40, 5, "lots"),
        "Volume",
        &[],
        "line 40: Volume value 'lots' is not a number",
    );
    refused(
        &with_cell(&good, 41, 5, "-3"),
        "Volume",
        &[],
        "line 41: Volume value '-3' is negative",
    );
    refused(
        &good,
        "Volume,Turnover",
        &[],
        "input column 'Turnover' not found; columns are: Date, Open, High, Low, Close, Volume",
    );
    let no_high = good.replace("Date,Open,High,", "Date,Open,Top,");
    refused(
        &no_high,
        "range",
        &[],
        "input 'range' needs High and Low columns",
    );
    let flat: String = good
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells[5] = "500";
                cells.join(",") + "\n"
            }
        })
        .collect();
    refused(
        &flat,
        "Volume",
        &[],
        "input 'Volume' is constant on the training part",
    );
    refused(
        &good,
        "Volume",
        &["--resample", "1d"],
        "--resample 1d cannot aggregate the --inputs columns",
    );
}

#[test]
fn a_missing_input_drops_the_row_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_cell(&with_cell(&ohlcv(300), 50, 5, ""), 60, 5, "NaN");
    write(dir.path(), "ohlcv.csv", &text);
    let args: Vec<&str> = train_args(&["--inputs", "Volume"])
        .into_iter()
        .filter(|a| *a != "--quiet")
        .collect();
    gruf(dir.path())
        .args(args)
        .assert()
        .success()
        .stderr(contains(
        "dropped 2 rows with a missing input value (null, empty or NaN), first at line 50 (Volume)",
    ));
    let meta = metadata(&dir.path().join("gruf-model.safetensors"));
    assert_eq!(meta["data"]["rows"], 298);
}

#[test]
fn a_model_without_inputs_writes_no_new_keys() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", &ohlcv(200));
    gruf(dir.path()).args(train_args(&[])).assert().success();
    let meta = metadata(&dir.path().join("gruf-model.safetensors"));
    assert!(meta.get("inputs").is_none(), "{meta}");
    assert!(meta["config"]["data"].get("inputs").is_none(), "{meta}");
    assert!(meta["config"]["model"].get("features").is_none(), "{meta}");
    // Listing the price alone is the price alone.
    gruf(dir.path())
        .args(train_args(&["--inputs", "Close"]))
        .assert()
        .success();
    let meta = metadata(&dir.path().join("gruf-model.safetensors"));
    assert!(meta.get("inputs").is_none(), "{meta}");
    assert!(meta["config"]["model"].get("features").is_none(), "{meta}");
}

#[test]
fn inputs_come_from_a_config_file_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", &ohlcv(300));
    write(
        dir.path(),
        "run.toml",
        "[data]\ninputs = [\"Close\", \"Volume\"]\n",
    );
    gruf(dir.path())
        .args(train_args(&["--config", "run.toml"]))
        .assert()
        .success();
    let meta = metadata(&dir.path().join("gruf-model.safetensors"));
    assert_eq!(meta["config"]["model"]["features"], 2);
    assert_eq!(meta["inputs"][0]["name"], "Volume");
    // plot re-reads the same columns and stops the forecast at the horizon.
    gruf(dir.path())
        .args(["plot", "--out", "p.png"])
        .assert()
        .success();
}

#[test]
fn backtest_trains_each_fold_on_the_inputs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ohlcv.csv", &ohlcv(300));
    let mut args = vec!["backtest", "--csv", "ohlcv.csv", "--folds", "2"];
    args.extend_from_slice(FAST);
    args.extend_from_slice(&["--inputs", "Volume,range", "--horizon", "2"]);
    let out = stdout(gruf(dir.path()).args(args));
    assert!(!out.is_empty());
}
