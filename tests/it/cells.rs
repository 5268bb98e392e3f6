//! Models of every cell through the whole CLI: an LSTM, an RNN ensemble and a global LSTM
//! train, record their cell, name their tensors after it with PyTorch's shapes, survive save
//! and load, and forecast; a file whose cell and tensors disagree is refused.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use gruf::model::Cell;
use predicates::str::contains;

use crate::common::{gruf, stdout, workspace};

/// A tiny model of two layers (6 then 4 units), seeded, holding out the last 30 values.
const TINY_TWO_LAYERS: &[&str] = &[
    "--layers",
    "6,4",
    "--window",
    "10",
    "--epochs",
    "2",
    "--test-days",
    "30",
    "--seed",
    "3",
    "--quiet",
];

fn load(dir: &Path, model: &str) -> Checkpoint {
    Checkpoint::load(&dir.join(model), &Device::Cpu).unwrap()
}

#[test]
fn each_cell_records_itself_and_names_its_tensors() {
    let dir = workspace();
    for (cell, gates) in [(Cell::Lstm, 4), (Cell::Rnn, 1), (Cell::Gru, 3)] {
        let model = format!("{cell}.safetensors");
        gruf(dir.path())
            .args([
                "train",
                "--csv",
                "prices.csv",
                "--cell",
                cell.name(),
                "--model",
                &model,
            ])
            .args(TINY_TWO_LAYERS)
            .assert()
            .success();
        let c = load(dir.path(), &model);
        assert_eq!(c.meta.model().network.cell, cell);
        let name = cell.name();
        assert_eq!(
            c.weights[&format!("{name}.weight_ih_l0")].dims(),
            [gates * 6, 1]
        );
        assert_eq!(
            c.weights[&format!("{name}.weight_hh_l1")].dims(),
            [gates * 4, 4]
        );
        assert!(c
            .weights
            .keys()
            .all(|k| k.starts_with(name) || k.starts_with("dense")));
        let forecast = stdout(gruf(dir.path()).args(["predict", "--model", &model, "--days", "3"]));
        assert_eq!(forecast.lines().count(), 4, "{forecast}");
    }
}

#[test]
fn an_rnn_ensemble_and_a_global_lstm_work_like_gru_ones() {
    let dir = workspace();
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "prices.csv",
            "--cell",
            "rnn",
            "--ensemble",
            "2",
        ])
        .args(["--model", "e.safetensors"])
        .args(TINY_TWO_LAYERS)
        .assert()
        .success();
    let e = load(dir.path(), "e.safetensors");
    assert_eq!(
        (e.meta.model().network.cell, e.meta.networks()),
        (Cell::Rnn, 2)
    );
    assert_eq!(e.weights["ensemble.1.rnn.weight_ih_l0"].dims(), [6, 1]);
    e.save(&dir.path().join("again.safetensors")).unwrap();
    let days = ["--days", "4", "--format", "csv"];
    assert_eq!(
        stdout(
            gruf(dir.path())
                .args(["predict", "--model", "again.safetensors"])
                .args(days)
        ),
        stdout(
            gruf(dir.path())
                .args(["predict", "--model", "e.safetensors"])
                .args(days)
        )
    );

    std::fs::copy(dir.path().join("prices.csv"), dir.path().join("other.csv")).unwrap();
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "prices.csv",
            "--csv",
            "other.csv",
            "--cell",
            "lstm",
        ])
        .args(["--model", "g.safetensors"])
        .args(TINY_TWO_LAYERS)
        .assert()
        .success();
    let g = load(dir.path(), "g.safetensors");
    assert_eq!(
        (g.meta.model().network.cell, g.meta.series.len()),
        (Cell::Lstm, 2)
    );
    let forecast =
        stdout(gruf(dir.path()).args(["predict", "--model", "g.safetensors", "--days", "2"]));
    assert!(
        forecast.contains("other") && forecast.contains("prices"),
        "{forecast}"
    );
}

/// A file that says LSTM but holds a GRU's tensors is refused, naming the missing tensor.
#[test]
fn a_cell_that_disagrees_with_the_tensors_is_refused() {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--model", "gru.safetensors"])
        .args(TINY_TWO_LAYERS)
        .assert()
        .success();
    let mut c = load(dir.path(), "gru.safetensors");
    c.meta.config.model.network.cell = Cell::Lstm;
    c.save(&dir.path().join("liar.safetensors")).unwrap();
    gruf(dir.path())
        .args(["predict", "--model", "liar.safetensors"])
        .assert()
        .failure()
        .stderr(contains("lstm.weight_ih_l0"));
}
