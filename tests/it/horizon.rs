//! Direct multi-step forecasts (`train --horizon K`): the bugs NeuralForecast shipped in
//! this feature, aimed at directly. Step 1 uses the latest observation (a series whose next
//! values are known exactly is forecast closely at every step); errors on a random walk
//! grow with the horizon; the K dates follow the series' step; and K = 1 is exactly the
//! model gruf trained before the flag existed.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;

use crate::common;
use crate::common::{gruf, stdout, write};

/// `Date,Close` rows from 2020-01-01, one per `step` seconds.
fn csv(values: &[f64], step: i64) -> String {
    let mut text = String::from("Date,Close\n");
    for (i, v) in values.iter().enumerate() {
        let t = chrono::DateTime::from_timestamp(1_577_836_800 + step * i as i64, 0).unwrap();
        text.push_str(&format!("{},{v:.6}\n", t.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    text
}

fn horizons(dir: &Path, model: &str) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir).args(["evaluate", "--model", model, "--format", "json"]),
    ))
    .unwrap();
    doc["horizons"].as_array().unwrap().clone()
}

/// A clean sine (period 16) is known exactly from its past: every one of the K = 5 direct
/// steps must be forecast to within 4 % of the amplitude, step 1 included (an off-by-one
/// that predicted from a stale value, or shifted the targets, would miss by far more).
#[test]
fn a_sine_is_forecast_closely_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..700)
        .map(|i| 100.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 16.0).sin())
        .collect();
    write(dir.path(), "sine.csv", &csv(&values, 86_400));
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "sine.csv",
            "--horizon",
            "5",
            "--test-size",
            "60",
        ])
        .args([
            "--layers", "24", "--window", "20", "--epochs", "40", "--lr", "0.005",
        ])
        .args([
            "--dropout",
            "0",
            "--seed",
            "3",
            "-q",
            "--model",
            "sine.safetensors",
        ])
        .assert()
        .success();
    let rows = horizons(dir.path(), "sine.safetensors");
    assert_eq!(rows.len(), 5);
    for r in &rows {
        let mae = r["model_mae"].as_f64().unwrap();
        assert!(r["direct"].as_bool().unwrap(), "{r}");
        assert!(
            mae < 0.4,
            "horizon {}: MAE {mae} on an amplitude of 10",
            r["horizon"]
        );
    }
}

/// On a random walk nothing beats the last value, and the error of every forecaster grows
/// with the horizon (about as √h); a model whose error were flat across horizons would
/// be predicting something else than its targets.
#[test]
fn errors_on_a_random_walk_grow_with_the_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let mut state: u64 = 11;
    let mut v = 1000.0;
    let values: Vec<f64> = (0..900)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v *= 1.0 + ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.04;
            v
        })
        .collect();
    write(dir.path(), "walk.csv", &csv(&values, 86_400));
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "walk.csv",
            "--horizon",
            "7",
            "--test-size",
            "200",
        ])
        .args([
            "--layers",
            "8",
            "--window",
            "10",
            "--epochs",
            "5",
            "--transform",
            "window",
        ])
        .args(["--seed", "1", "-q", "--model", "walk.safetensors"])
        .assert()
        .success();
    let rows = horizons(dir.path(), "walk.safetensors");
    let mae = |h: usize, key: &str| rows[h - 1][key].as_f64().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(mae(7, "model_mae") > 1.8 * mae(1, "model_mae"), "{rows:?}");
    assert!(mae(7, "naive_mae") > 1.8 * mae(1, "naive_mae"), "{rows:?}");
}

/// K outputs carry K dates on the series' own step, and a longer forecast continues in
/// blocks of K.
#[test]
fn the_k_dates_follow_the_series_step() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..400)
        .map(|i| 50.0 + (i as f64 * 0.3).sin() * 5.0 + i as f64 * 0.01)
        .collect();
    write(dir.path(), "hourly.csv", &csv(&values, 3_600));
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "hourly.csv",
            "--horizon",
            "3",
            "--test-size",
            "48",
        ])
        .args([
            "--layers", "8", "--window", "24", "--epochs", "2", "--seed", "1", "-q",
        ])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path()).args(["predict", "--steps", "5", "--format", "json"]),
    ))
    .unwrap();
    let dates: Vec<&str> = doc["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    // 400 hours from 2020-01-01T00:00Z end at 2020-01-17T15:00Z.
    assert_eq!(
        dates,
        [
            "2020-01-17T16:00:00Z",
            "2020-01-17T17:00:00Z",
            "2020-01-17T18:00:00Z",
            "2020-01-17T19:00:00Z",
            "2020-01-17T20:00:00Z"
        ]
    );
}

/// `--horizon 1` is the seed model: the same parameters, the same count, and, for the same
/// seed, the same trained weights as without the flag.
#[test]
fn a_horizon_of_one_is_todays_model() {
    let dir = tempfile::tempdir().unwrap();
    common::sample(dir.path(), 300, "prices.csv");
    let train = |model: &str, extra: &[&str]| {
        gruf(dir.path())
            .args(["train", "--csv", "prices.csv", "--model", model])
            .args(common::FAST)
            .args(extra)
            .assert()
            .success();
        Checkpoint::load(&dir.path().join(model), &Device::Cpu).unwrap()
    };
    let (plain, one) = (
        train("a.safetensors", &[]),
        train("b.safetensors", &["--horizon", "1"]),
    );
    let seven = train("c.safetensors", &["--horizon", "7"]);
    let count = |c: &Checkpoint| -> usize { c.weights.values().map(|t| t.elem_count()).sum() };
    assert_eq!(count(&plain), count(&one));
    assert_eq!(count(&seven), count(&plain) + 6 * 8 + 6); // Dense(7) over 8 units
    assert_eq!(
        plain.weights.keys().collect::<Vec<_>>(),
        one.weights.keys().collect::<Vec<_>>()
    );
    for (name, t) in &plain.weights {
        let (a, b) = (
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            one.weights[name]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
        );
        assert_eq!(a, b, "{name}");
    }
    assert_eq!(seven.weights["dense.weight"].dims(), [7, 8]);
}

/// `backtest` scores a direct model at every horizon from every origin of every fold, and
/// pools them: as many origins at horizon 1 as targets in the folds, one fewer per step
/// only where the data end.
#[test]
fn backtest_scores_every_horizon_of_a_direct_model() {
    let dir = tempfile::tempdir().unwrap();
    common::sample(dir.path(), 300, "prices.csv");
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path())
            .args([
                "backtest",
                "--csv",
                "prices.csv",
                "--horizon",
                "3",
                "--folds",
                "2",
            ])
            .args([
                "--test-size",
                "20",
                "--layers",
                "8",
                "--window",
                "10",
                "--epochs",
                "2",
            ])
            .args(["--seed", "1", "-q", "--format", "json"]),
    ))
    .unwrap();
    let pooled = doc["horizons"].as_array().unwrap();
    let origins: Vec<u64> = pooled
        .iter()
        .map(|h| h["origins"].as_u64().unwrap())
        .collect();
    assert_eq!(origins, [20, 19, 18], "{doc}");
    for f in doc["folds"].as_array().unwrap() {
        assert_eq!(f["horizons"].as_array().unwrap().len(), 3);
    }
    let h1 = pooled[0]["model_mae"].as_f64().unwrap();
    let one_step = doc["totals"][0]["mae"].as_f64().unwrap();
    assert!(
        (h1 - one_step).abs() <= 1e-9 * one_step,
        "{h1} vs {one_step}"
    );
}
