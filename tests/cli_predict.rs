//! `gruf predict` as a user runs it on newer data than the model was trained on. (Its table,
//! CSV and JSON output are checked end to end in tests/cli_train.rs, a model file rewritten
//! under it in tests/cli_errors.rs.)

use predicates::str::contains;

mod common;
use common::{gruf, trained};

#[test]
fn predict_from_newer_csv_uses_its_last_window() {
    let dir = trained();
    gruf(dir.path())
        .args(["sample", "--rows", "320", "--out", "newer.csv"])
        .assert()
        .success();
    gruf(dir.path())
        .args(["predict", "--csv", "newer.csv", "--days", "1"])
        .assert()
        .success()
        .stdout(contains("2019-11-17"));
}
