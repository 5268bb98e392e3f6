//! `gruf backtest` as a user runs it: walk-forward folds in time order, refits every N folds,
//! no model written, and its flag bounds.

use predicates::str::contains;

use crate::common;
use crate::common::{gruf, stdout, workspace, FAST};

#[test]
fn backtest_walks_forward_fold_by_fold() {
    let dir = workspace();
    let out = gruf(dir.path())
        .args([
            "backtest",
            "--csv",
            "prices.csv",
            "--folds",
            "3",
            "--refit-every",
            "2",
            "--format",
            "json",
        ])
        .args(FAST)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let folds = doc["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let refits: Vec<bool> = folds
        .iter()
        .map(|f| f["refit"].as_bool().unwrap())
        .collect();
    assert_eq!(refits, [true, false, true]);
    // The folds tile the last 30 days in order; each model was fitted only on data before them.
    let days: u64 = folds
        .iter()
        .map(|f| f["evaluation"]["n"].as_u64().unwrap())
        .sum();
    assert_eq!((days, doc["n"].as_u64().unwrap()), (30, 30));
    for f in folds {
        assert!(
            f["trained_to"].as_str().unwrap() < f["evaluation"]["first_date"].as_str().unwrap()
        );
    }
    assert_eq!(doc["totals"].as_array().unwrap().len(), 5);
    assert!(
        !dir.path().join("gruf-model.safetensors").exists(),
        "backtest must not write a model"
    );

    gruf(dir.path())
        .args(["backtest", "--csv", "prices.csv", "--folds", "40"])
        .args(FAST)
        .assert()
        .code(2)
        .stderr(contains("--folds"));
}

/// Several `--csv` files are a panel, each series named by its file's stem, as `train`
/// reads them: one network per fold on both, each file's fold scored and pooled.
#[test]
fn backtest_of_several_files_is_a_panel() {
    let dir = workspace();
    common::sample(dir.path(), 240, "other.csv");
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path())
            .args([
                "backtest",
                "--csv",
                "prices.csv",
                "--csv",
                "other.csv",
                "--folds",
                "2",
                "--format",
                "json",
            ])
            .args(FAST),
    ))
    .unwrap();
    let folds = doc["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 2, "{doc}");
    for f in folds {
        let ids: Vec<&str> = (f["scores"]["series"].as_array().unwrap().iter())
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["other", "prices"], "{f}");
        assert_eq!(f["scores"]["one_step"]["series"], 2, "{f}");
    }
    assert_eq!(doc["all"]["one_step"]["series"], 4, "{doc}");
}
