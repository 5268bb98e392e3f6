//! `gruf inspect` as a user runs it on a model of each cell: the picture, the numbers as
//! CSV (one row per layer, gate, unit and step, gates within their range), `--at`, and the
//! refusals of a date the data does not have or whose window would start before the data.

use predicates::str::contains;

use crate::common::{gruf, stdout, workspace, FAST};

/// A tiny model of two layers (8 then 6 units) that trains in a blink.
const TWO_LAYERS: &[&str] = &[
    "--layers",
    "8,6",
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

/// (cell, maps per layer, range of the values)
const CELLS: [(&str, usize, (f64, f64)); 3] = [
    ("gru", 2, (0.0, 1.0)),
    ("lstm", 3, (0.0, 1.0)),
    ("rnn", 1, (-1.0, 1.0)),
];

#[test]
fn inspect_draws_and_writes_the_gates_of_every_cell() {
    let dir = workspace();
    for (cell, maps, (lo, hi)) in CELLS {
        let model = format!("{cell}.safetensors");
        gruf(dir.path())
            .args([
                "train",
                "--csv",
                "prices.csv",
                "--cell",
                cell,
                "--model",
                &model,
            ])
            .args(TWO_LAYERS)
            .assert()
            .success();
        let png = format!("{cell}.png");
        gruf(dir.path())
            .args(["inspect", "--model", &model, "--out", &png])
            .assert()
            .success();
        let img = image::open(dir.path().join(&png)).unwrap();
        assert!(img.height() > 400, "{cell}: {}", img.height());

        let csv = stdout(gruf(dir.path()).args(["inspect", "--model", &model, "--format", "csv"]));
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("layer,gate,unit,step,time,value"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let layers: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0]).collect();
        assert_eq!(layers.len(), 2, "{cell}");
        let gates: std::collections::BTreeSet<(&str, &str)> =
            rows.iter().map(|r| (r[0], r[1])).collect();
        assert_eq!(gates.len(), 2 * maps, "{cell}: {gates:?}");
        let steps: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[3]).collect();
        let units: std::collections::BTreeSet<(&str, &str)> =
            rows.iter().map(|r| (r[0], r[2])).collect();
        assert_eq!((units.len(), steps.len()), (8 + 6, 10), "{cell}");
        assert_eq!(rows.len(), units.len() * maps * steps.len(), "{cell}");
        for r in &rows {
            let v: f64 = r[5].parse().unwrap();
            assert!(v >= lo && v <= hi, "{cell}: {r:?}");
        }
        // The last window ends on the data's last date.
        assert!(rows.iter().any(|r| r[4] == "2019-10-27"), "{cell}");
    }
}

#[test]
fn inspect_at_a_date_and_its_refusals() {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .assert()
        .success();
    let csv = stdout(gruf(dir.path()).args(["inspect", "--at", "2019-06-30", "--format", "csv"]));
    let last = csv.lines().last().unwrap();
    assert!(last.contains(",2019-06-30,"), "{last}");
    gruf(dir.path())
        .args(["inspect", "--at", "2030-01-01"])
        .assert()
        .failure()
        .stderr(contains(
            "no row has this date (the dates run 2019-01-01 to 2019-10-27)",
        ));
    gruf(dir.path())
        .args(["inspect", "--at", "2019-01-03"])
        .assert()
        .failure()
        .stderr(contains("the earliest --at is"));
    gruf(dir.path())
        .args(["inspect", "--out", "gates.jpg"])
        .assert()
        .failure()
        .stderr(contains("cannot write .jpg images"));
    assert!(!dir.path().join("gates.jpg").exists());
    gruf(dir.path())
        .args(["inspect", "--at", "yesterday"])
        .assert()
        .failure()
        .stderr(contains("--at yesterday"));
}
