//! `gruf compare` on the small synthetic series: one table row per cell, CSV and JSON that
//! parse with a row per run, `--save-best` keeping the model chosen on validation loss
//! (checked against the JSON, not the code), runs that are `train`'s runs, the picture, and
//! one clear error for each bad input. On a panel (a long CSV of three series), each run
//! is the global model `train` makes, scored by its pooled held-out MASE.

use std::path::Path;

use crate::common;
use crate::common::{gruf, hash, stdout, workspace};
use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use gruf::scores::Contender;
use predicates::str::contains;
use serde_json::Value;

/// Every cell `compare` trains by default.
const CELLS: &str = "gru,lstm,rnn";
/// How many cells [`CELLS`] names.
const CELL_COUNT: usize = 3;

/// A tiny model on `prices.csv` from seeds 1, …; without the cells, the number of seeds
/// and the held-out size.
const MODEL: &[&str] = &[
    "compare",
    "--csv",
    "prices.csv",
    "--seed",
    "1",
    "--layers",
    "8",
    "--window",
    "10",
    "--epochs",
    "3",
    "--quiet",
];

/// [`MODEL`] with `extra`, and [`CELLS`] from seeds 1 and 2 holding out the last 30
/// values unless `extra` sets them.
fn tiny<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = MODEL.to_vec();
    flags.extend(extra);
    for (flag, value) in [("--cells", CELLS), ("--seeds", "2"), ("--test-size", "30")] {
        if !extra.contains(&flag) {
            flags.extend([flag, value]);
        }
    }
    flags
}

fn json(dir: &Path, extra: &[&str]) -> Value {
    let mut flags = vec!["--format", "json"];
    flags.extend(extra);
    let out = stdout(gruf(dir).args(tiny(&flags)));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn the_table_has_one_row_per_cell_and_a_verdict() {
    let dir = workspace();
    let out = stdout(gruf(dir.path()).args(tiny(&[])));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("held-out "), "{out}");
    assert!(lines[0].contains("over 2 seeds"), "{out}");
    assert!(lines[1].starts_with("cell "), "{out}");
    for (i, cell) in CELLS.split(',').enumerate() {
        let row = lines[2 + i];
        assert!(row.starts_with(&cell.to_uppercase()), "{out}");
        assert!(row.contains(" ± "), "{row}");
    }
    assert_eq!(lines.len(), 2 + CELL_COUNT + 1, "{out}");
    assert!(lines[2 + CELL_COUNT].ends_with('.'), "{out}");
}

#[test]
fn csv_and_json_parse_with_a_row_per_cell_and_per_run() {
    let dir = workspace();
    let doc = json(dir.path(), &[]);
    let cells = doc["cells"].as_array().unwrap();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(cells.len(), CELL_COUNT);
    assert_eq!(runs.len(), CELL_COUNT * 2);
    // Every cell from the same seeds, --seed and the next.
    for cell in cells {
        let name = cell["cell"].as_str().unwrap();
        let seeds: Vec<u64> = (runs.iter())
            .filter(|r| r["cell"] == name)
            .map(|r| r["seed"].as_u64().unwrap())
            .collect();
        assert_eq!(seeds, [1, 2], "{name}");
        // The mean and the sample standard deviation of its runs' held-out MAEs.
        let maes: Vec<f64> = (runs.iter())
            .filter(|r| r["cell"] == name)
            .map(|r| r["test_mae"].as_f64().unwrap())
            .collect();
        let mean = maes.iter().sum::<f64>() / 2.0;
        let sd = (maes.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / 1.0).sqrt();
        assert!(
            (cell["test_mae"].as_f64().unwrap() - mean).abs() < 1e-9 * mean,
            "{cell}"
        );
        assert!(
            (cell["test_mae_sd"].as_f64().unwrap() - sd).abs() < 1e-9 * mean,
            "{cell}"
        );
    }
    let naive = doc["held_out"]["naive_mae"].as_f64().unwrap();
    assert!(naive > 0.0);
    assert_eq!(doc["held_out"]["n"].as_u64(), Some(30));
    for r in runs {
        let mae = r["test_mae"].as_f64().unwrap();
        assert!(mae.is_finite() && mae > 0.0, "{r}");
        let ratio = r["mae_over_naive"].as_f64().unwrap();
        assert!((ratio - mae / naive).abs() < 1e-9, "{r}");
        let kept = r["kept_epoch"].as_u64().unwrap();
        assert!((1..=3).contains(&kept), "{r}");
    }
    assert!(doc["verdict"]["sentence"].as_str().unwrap().len() > 20);

    let out = stdout(gruf(dir.path()).args(tiny(&["--format", "csv"])));
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "table",
            "cell",
            "seed",
            "parameters",
            "epochs",
            "kept_epoch",
            "seconds_per_epoch",
            "val_loss",
            "test_mae",
            "test_mae_sd",
            "mae_over_naive"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "cell").count(),
        CELL_COUNT,
        "{out}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "run").count(),
        2 * CELL_COUNT,
        "{out}"
    );
    // The same runs as the JSON, to the digit.
    for (row, run) in rows.iter().filter(|r| &r[0] == "run").zip(runs) {
        assert_eq!(&row[1], run["cell"].as_str().unwrap());
        let mae: f64 = row[8].parse().unwrap();
        assert_eq!(mae, run["test_mae"].as_f64().unwrap());
    }
}

/// The saved model is the run with the lowest validation loss of the cell with the lowest
/// mean validation loss, as the JSON reports them; it loads and predicts.
#[test]
fn save_best_keeps_the_model_chosen_on_validation_loss() {
    let dir = workspace();
    let doc = json(dir.path(), &["--save-best", "best.safetensors"]);
    let cells = doc["cells"].as_array().unwrap();
    let lowest = |rows: &[&Value]| -> Value {
        (*rows
            .iter()
            .min_by(|a, b| {
                let (a, b) = (a["val_loss"].as_f64(), b["val_loss"].as_f64());
                a.partial_cmp(&b).unwrap()
            })
            .unwrap())
        .clone()
    };
    let best_cell = lowest(&cells.iter().collect::<Vec<_>>());
    let name = best_cell["cell"].as_str().unwrap();
    let runs: Vec<&Value> = (doc["runs"].as_array().unwrap().iter())
        .filter(|r| r["cell"] == name)
        .collect();
    let best_run = lowest(&runs);

    let checkpoint = Checkpoint::load(&dir.path().join("best.safetensors"), &Device::Cpu).unwrap();
    let meta = &checkpoint.meta;
    assert_eq!(meta.model().network.cell.name(), name);
    assert_eq!(meta.seed, best_run["seed"].as_u64().unwrap());
    assert_eq!(meta.config.train.seed, Some(meta.seed));
    let test = meta.test.as_ref().unwrap();
    assert_eq!(
        test.get(Contender::Model).unwrap().mae,
        best_run["test_mae"].as_f64().unwrap()
    );
    stdout(gruf(dir.path()).args(["predict", "--model", "best.safetensors", "--days", "3"]));
}

/// Each run is the run `train` makes of its cell and seed with as many threads: compare
/// reuses train's pipeline. Two runs at a time on two threads get one thread each.
#[test]
fn runs_are_trains_runs() {
    let dir = workspace();
    let out = stdout(
        gruf(dir.path())
            .env("RAYON_NUM_THREADS", "2")
            .args(tiny(&["--cells", "gru", "--format", "json"])),
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    for run in doc["runs"].as_array().unwrap() {
        let seed = run["seed"].as_u64().unwrap().to_string();
        let model = format!("seed{seed}.safetensors");
        gruf(dir.path())
            .env("RAYON_NUM_THREADS", "1")
            .args([
                "train",
                "--csv",
                "prices.csv",
                "--model",
                &model,
                "--seed",
                &seed,
            ])
            .args(["--layers", "8", "--window", "10", "--epochs", "3"])
            .args(["--test-size", "30", "--quiet"])
            .assert()
            .success();
        let checkpoint = Checkpoint::load(&dir.path().join(&model), &Device::Cpu).unwrap();
        let meta = &checkpoint.meta;
        assert_eq!(meta.best_epoch as u64, run["kept_epoch"].as_u64().unwrap());
        let kept = &meta.history[meta.best_epoch - 1];
        assert_eq!(
            kept.val_loss,
            run["val_loss"].as_f64().unwrap(),
            "seed {seed}"
        );
        assert_eq!(
            meta.test
                .as_ref()
                .unwrap()
                .get(Contender::Model)
                .unwrap()
                .mae,
            run["test_mae"].as_f64().unwrap(),
            "seed {seed}"
        );
    }
}

#[test]
fn out_draws_the_held_out_part() {
    let dir = workspace();
    let out = gruf(dir.path())
        .args(common::loud(&tiny(&["--out", "cells.png"])))
        .output()
        .unwrap();
    assert!(out.status.success());
    // Like plot's, inspect's and sample's: on stderr, unless --quiet.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wrote"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gruf: wrote cells.png\n"));
    let png = hash(&dir.path().join("cells.png"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A picture of another kind is refused before any training.
    gruf(dir.path())
        .args(tiny(&["--out", "cells.jpg"]))
        .assert()
        .code(2)
        .stderr(contains("--out cells.jpg: gruf cannot write .jpg images"));
}

/// Each bad input fails at once with one `gruf: error:` line (or clap's usage error) and
/// exit code 2, writing nothing.
#[test]
fn bad_input_is_refused_in_one_line() {
    let dir = workspace();
    let run = |extra: &[&str], message: &str| {
        let mut flags = extra.to_vec();
        flags.extend(["--save-best", "best.safetensors"]);
        let out = gruf(dir.path()).args(tiny(&flags)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        if stderr.starts_with("gruf: error:") {
            assert_eq!(stderr.lines().count(), 1, "{extra:?}: {stderr}");
        }
        assert!(out.stdout.is_empty(), "{extra:?}");
        assert!(!dir.path().join("best.safetensors").exists(), "{extra:?}");
    };
    run(
        &["--cells", "gru,foo"],
        "invalid value 'foo' for '--cells <CELL,CELL,..>'",
    );
    run(&["--seeds", "0"], "0 is not in 1..=100");
    run(
        &["--cells", "gru,gru"],
        "gruf: error: --cells names gru twice; name each cell once",
    );
    run(
        &["--cell", "lstm"],
        "gruf: error: --cell lstm picks the cell of one model; compare trains each of --cells",
    );
    run(&["--ensemble", "2"], "--ensemble 2 is not supported here");
    run(&["--test-size", "0"], "--test-size 0 holds nothing out");
}

/// A long CSV of three series on scales 10, 100 and 1,000 compares global models: each run
/// carries the pooled held-out scores `train` prints for its cell and seed (mean one-step
/// MASE and sMAPE over the series, and the parts forecast in one go), each cell their means
/// over the seeds, and the table says what was pooled.
#[test]
fn a_panel_compares_global_models_by_pooled_scores() {
    let dir = tempfile::tempdir().unwrap();
    common::write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 150),
    );
    let panel = |extra: &[&str]| -> Vec<String> {
        let mut flags: Vec<String> = ["compare", "--csv", "long.csv", "--id-column", "Symbol"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        flags.extend(MODEL[3..].iter().map(|s| s.to_string()));
        flags
            .extend(["--cells", "gru,lstm", "--seeds", "2", "--test-size", "20"].map(String::from));
        flags.extend(extra.iter().map(|s| s.to_string()));
        flags
    };
    let out = stdout(
        gruf(dir.path())
            .env("RAYON_NUM_THREADS", "2")
            .args(panel(&["--format", "json"])),
    );
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let held_out = &doc["held_out"];
    assert_eq!(held_out["series"], 3, "{held_out}");
    assert_eq!(held_out["n"], 3 * 20, "{held_out}");
    let naive = held_out["naive_mase"].as_f64().unwrap();
    assert!(naive > 0.0 && naive.is_finite(), "{held_out}");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for cell in doc["cells"].as_array().unwrap() {
        let name = cell["cell"].as_str().unwrap();
        let of = |key: &str| -> Vec<f64> {
            (runs.iter())
                .filter(|r| r["cell"] == name)
                .map(|r| r[key].as_f64().unwrap_or_else(|| panic!("{key}: {r}")))
                .collect()
        };
        for key in ["test_mase", "test_smape", "ahead_smape", "ahead_mase"] {
            let values = of(key);
            assert_eq!(values.len(), 2, "{name} {key}");
            let mean = values.iter().sum::<f64>() / 2.0;
            assert!(
                (cell[key].as_f64().unwrap() - mean).abs() < 1e-9 * mean.abs().max(1.0),
                "{name} {key}: {cell}"
            );
        }
        assert!(cell["test_mase_sd"].as_f64().is_some(), "{cell}");
    }
    // Each run is train's global model of its cell and seed, to the printed digit.
    for run in runs {
        let (cell, seed) = (run["cell"].as_str().unwrap(), run["seed"].to_string());
        let mut flags = vec!["train", "--csv", "long.csv", "--id-column", "Symbol"];
        flags.extend(&MODEL[5..]);
        flags.extend(["--test-size", "20", "--cell", cell, "--seed", &seed]);
        let model = format!("{cell}{seed}.safetensors");
        flags.extend(["--model", &model]);
        let table = stdout(gruf(dir.path()).env("RAYON_NUM_THREADS", "1").args(&flags));
        let row = |title: &str| -> Vec<String> {
            let part = table
                .split(title)
                .nth(1)
                .unwrap_or_else(|| panic!("{table}"));
            let line = part.lines().find(|l| l.starts_with("model ")).unwrap();
            line.split_whitespace().map(String::from).collect()
        };
        let one_step = row("mean MASE");
        let ahead = row("mean sMAPE %  mean MASE");
        let three = |key: &str| format!("{:.3}", run[key].as_f64().unwrap());
        assert_eq!(one_step[1], three("test_mase"), "{cell} {seed}: {table}");
        assert_eq!(one_step[2], three("test_smape"), "{cell} {seed}: {table}");
        assert_eq!(ahead[1], three("ahead_smape"), "{cell} {seed}: {table}");
        assert_eq!(ahead[2], three("ahead_mase"), "{cell} {seed}: {table}");
    }

    let table = stdout(gruf(dir.path()).args(panel(&[])));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("held-out parts of 3 series, "),
        "{table}"
    );
    assert!(lines[0].contains("mean MASE"), "{table}");
    assert!(lines[1].contains("held-out MASE"), "{table}");
    assert!(
        lines[2].starts_with("GRU ") && lines[3].starts_with("LSTM "),
        "{table}"
    );
    let verdict = lines.last().unwrap();
    assert!(verdict.contains("held-out MASE"), "{table}");
    assert!(!verdict.contains("this series"), "{table}");

    let csv = stdout(gruf(dir.path()).args(panel(&["--format", "csv"])));
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(
            "test_mase,test_mase_sd,mase_over_naive,test_smape,ahead_smape,ahead_mase,series"
        ),
        "{header}"
    );
    // Cells, runs, then each run's series: a run's score is the mean of its series'.
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2 + 4 + 4 * 3, "{csv}");
    for run in rows.iter().filter(|r| r[0] == "run") {
        let each: Vec<f64> = (rows.iter())
            .filter(|r| r[0] == "series" && r[1] == run[1] && r[2] == run[2])
            .map(|r| r[8].parse().unwrap())
            .collect();
        assert_eq!(each.len(), 3, "{csv}");
        let mean = each.iter().sum::<f64>() / 3.0;
        let pooled: f64 = run[8].parse().unwrap();
        assert!(
            (mean - pooled).abs() < 1e-12 * pooled.abs().max(1.0),
            "{run:?}: {mean}"
        );
    }

    // The picture draws the first series, and says so.
    let out = gruf(dir.path())
        .args(common::loud(
            &panel(&["--out", "cells.svg"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("gruf: note: --out draws series 'AAA', the first of the 3 compared"),
        "{stderr}"
    );
    let svg = std::fs::read_to_string(dir.path().join("cells.svg")).unwrap();
    assert!(
        svg.contains("AAA") && svg.contains("(the first of 3)"),
        "{svg}"
    );
}
