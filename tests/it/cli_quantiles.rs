//! `gruf train --quantiles` as a user runs it: a tiny quantile model trains, is saved in
//! the current format (7 was the first with quantile heads) with a head of K·Q outputs, and `predict` prints its median, exactly what the
//! library's quantile forecast puts at 0.5; each bad list is refused with one clear error
//! and a non-zero exit, before anything is trained or written.

use candle_core::Device;
use predicates::prelude::*;
use predicates::str::contains;

use crate::common::{gruf, loud, stdout, workspace, write, FAST, TINY_NO_HOLDOUT};

#[test]
fn a_quantile_model_trains_and_predict_prints_its_median() {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(loud(FAST))
        .args(["--quantiles", "0.1,0.5,0.9", "--horizon", "2"])
        .args(["--transform", "window"])
        .assert()
        .success()
        .stderr(contains("GRU 8, quantiles 0.1,0.5,0.9"))
        .stdout(contains("saved model to gruf-model.safetensors"));

    let path = dir.path().join("gruf-model.safetensors");
    let ckpt = gruf::checkpoint::Checkpoint::load(&path, &Device::Cpu).unwrap();
    assert_eq!(ckpt.meta.format_version, gruf::checkpoint::FORMAT_VERSION);
    assert_eq!(ckpt.meta.model().framing.quantiles, vec![0.1, 0.5, 0.9]);
    assert_eq!(ckpt.weights["dense.weight"].dims(), &[6, 8]);
    let forecaster = ckpt.forecaster(&Device::Cpu).unwrap();
    assert_eq!(forecaster.quantiles(), &[0.1, 0.5, 0.9]);

    let out = stdout(gruf(dir.path()).args(["predict", "--days", "5", "--format", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let printed: Vec<f64> = doc["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["forecast"].as_f64().unwrap())
        .collect();
    let loaded =
        gruf::series::csv::load_csv(&dir.path().join("prices.csv"), &ckpt.meta.config.data)
            .unwrap()
            .series;
    // Past the horizon of 2, the forecast continues from the median.
    let quantiles = forecaster
        .quantile_paths(&loaded, &[loaded.len()], 5)
        .unwrap()
        .remove(0);
    assert_eq!(quantiles.len(), 5);
    for step in &quantiles {
        assert!(step[0] <= step[1] && step[1] <= step[2], "{step:?}");
    }
    let medians: Vec<f64> = quantiles.iter().map(|s| s[1]).collect();
    assert_eq!(printed, medians);

    // The commands that score a point forecast score the median.
    gruf(dir.path())
        .args(["evaluate"])
        .assert()
        .success()
        .stdout(contains("model"));
}

#[test]
fn bad_quantiles_are_refused_with_one_clear_error() {
    let dir = workspace();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--quantiles", "0.1,0.9"],
            "quantiles 0.1,0.9: the median is the point forecast; add 0.5",
        ),
        (
            &["--quantiles", "0.9,0.5,0.1"],
            "0.5 comes after 0.9; list them in increasing order (0.1,0.5,0.9)",
        ),
        (
            &["--quantiles", "0.1,0.5,0.5,0.9"],
            "0.5 is listed twice; give each level once",
        ),
        (&["--quantiles", "0.5"], "give at least two levels"),
        (&["--quantiles", "0,0.5"], "0 is not between 0 and 1"),
        (&["--quantiles", "0.5,1"], "1 is not between 0 and 1"),
        (&["--quantiles=-0.1,0.5"], "-0.1 is not between 0 and 1"),
        (&["--quantiles", "nan,0.5"], "NaN is not between 0 and 1"),
        (
            &["--quantiles", "0.1,half"],
            "invalid value 'half' for '--quantiles",
        ),
        (
            &[
                "--quantiles",
                "0.1,0.5,0.9",
                "--transform",
                "logret",
                "--horizon",
                "3",
            ],
            "use --transform window",
        ),
        (
            &["--config", "q.toml"],
            "quantiles 0.2,0.8: the median is the point forecast; add 0.5",
        ),
    ];
    write(dir.path(), "q.toml", "[model]\nquantiles = [0.2, 0.8]\n");
    for (flags, says) in cases {
        let out = gruf(dir.path())
            .args(["train", "--csv", "prices.csv", "--model", "q.safetensors"])
            .args(TINY_NO_HOLDOUT)
            .args(*flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(says),
            "{flags:?}: '{says}' not in: {stderr}"
        );
        assert_eq!(stderr.matches("error").count(), 1, "{flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flags:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{flags:?}");
        assert!(!dir.path().join("q.safetensors").exists(), "{flags:?}");
    }
    // The logret transform takes quantiles one step ahead, where a step is one log return.
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--test-days", "30"])
        .args(TINY_NO_HOLDOUT)
        .args(["--quantiles", "0.1,0.5,0.9", "--transform", "logret"])
        .assert()
        .success()
        .stderr(contains("error").not());
}
