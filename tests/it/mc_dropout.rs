//! Monte Carlo dropout (`--samples N`): the sampled paths really vary (the check Darts'
//! MC dropout lacked for a release, when it silently sampled with dropout off), at every
//! step, around the forecast made without dropout, for a recursive and a direct
//! multi-step model, a quantile model and an ensemble; the same seed repeats them bit for
//! bit and another seed does not; a model trained without dropout is refused with what to
//! do; `predict --samples` shows the bands (on a gruf 1.0 model without a calibration
//! too) and `evaluate --samples` scores them beside the calibrated ones, in every format.

use candle_core::Device;
use predicates::prelude::*;
use predicates::str::contains;

use gruf::config::RunConfig;
use gruf::features::scaler::TransformKind;
use gruf::features::split::Split;
use gruf::features::Featurizer;
use gruf::forecast::Forecaster;
use gruf::intervals::mc_dropout::{sample_bands, SampleError};
use gruf::intervals::Level;
use gruf::model::loss::Loss;
use gruf::model::Model;
use gruf::train::{Flow, TrainData};

use crate::common;
use crate::common::{gruf, stdout, FAST};

/// 400 days of the structured series of the accuracy tests.
fn series() -> gruf::series::Series {
    common::structured_series(400)
}

/// A tiny model (two layers of 8, window 10, 3 epochs) of [`series`] with this dropout,
/// horizon and quantiles, `networks` networks (seeds 1, 2, …).
fn trained(dropout: f64, horizon: usize, quantiles: &[f64], networks: usize) -> Forecaster {
    let series = series();
    let mut config = RunConfig::default();
    config.model.network.layers = vec![8, 8];
    config.model.framing.window = 10;
    config.model.network.dropout = dropout;
    config.model.framing.transform = TransformKind::Window;
    config.model.framing.horizon = horizon;
    config.model.framing.quantiles = quantiles.to_vec();
    config.train.epochs = 3;
    config.validate().unwrap();
    let split = Split::new(series.len(), 10, 60, 0.2).unwrap();
    let featurizer = Featurizer::fit(
        &config.model.framing,
        &series.values[..split.fit_end()],
        None,
    )
    .unwrap();
    let data = TrainData {
        values: (&series).into(),
        featurizer: &featurizer,
        split: &split,
    };
    let models: Vec<Model> = (1..=networks as u64)
        .map(|seed| {
            let outcome = gruf::train::train(
                &config.model,
                &config.train,
                seed,
                &Loss::for_head(&config.model.io()),
                &[data],
                &Device::Cpu,
                &mut |_| Flow::Continue,
            )
            .unwrap();
            Model::new(&config.model.network, &config.model.io(), &outcome.weights).unwrap()
        })
        .collect();
    Forecaster::ensemble(models, featurizer, Device::Cpu).unwrap()
}

fn level(p: f64) -> Level {
    Level::new(p).unwrap()
}

/// At every step, every sample differs from every other and from the forecast without
/// dropout, and the 80 % band around them has width.
fn assert_samples_vary(forecaster: &Forecaster, steps: usize, what: &str) {
    let series = series();
    let end = series.len();
    let point = forecaster.paths(&series, &[end], steps).unwrap().remove(0);
    let paths = (forecaster.sample_paths(&series, &[end - 20, end], steps, 20, 0))
        .unwrap()
        .remove(1);
    assert_eq!(paths.len(), 20, "{what}: samples");
    for k in 0..steps {
        let mut column: Vec<f64> = paths.iter().map(|p| p[k]).collect();
        assert!(column.iter().all(|v| v.is_finite()), "{what}: {column:?}");
        assert!(
            column.iter().all(|&v| v != point[k]),
            "{what}: a sample at step {} is the forecast without dropout",
            k + 1
        );
        column.sort_by(f64::total_cmp);
        assert!(
            column.windows(2).all(|w| w[0] < w[1]),
            "{what}: two samples are equal at step {}: {column:?}",
            k + 1
        );
        // Dropout perturbs the forecast, it does not replace it: the samples straddle or
        // at least stay near it (within a tenth of the price).
        let spread = (column[19] - column[0]).max((column[0] - point[k]).abs());
        assert!(
            spread < 0.1 * point[k],
            "{what}: step {}: {column:?}",
            k + 1
        );
    }
    let bands = sample_bands(&paths, &[level(0.8), level(0.95)]).unwrap();
    for (k, (b80, b95)) in bands[0]
        .intervals
        .iter()
        .zip(&bands[1].intervals)
        .enumerate()
    {
        assert!(b80.width() > 0.0, "{what}: step {}", k + 1);
        assert!(
            b95.lower() <= b80.lower() && b80.upper() <= b95.upper(),
            "{what}: step {}: the 95 % band holds the 80 % one",
            k + 1
        );
    }
}

#[test]
fn samples_vary_at_every_step_around_the_forecast_without_dropout() {
    assert_samples_vary(&trained(0.2, 1, &[], 1), 6, "recursive");
    // K = 3: two direct blocks, the second from each sample's own first block.
    assert_samples_vary(&trained(0.2, 3, &[], 1), 6, "direct, K = 3");
    assert_samples_vary(&trained(0.2, 1, &[0.1, 0.5, 0.9], 1), 4, "quantile model");
    assert_samples_vary(&trained(0.2, 1, &[], 2), 4, "ensemble of 2");
}

/// An ensemble's sample i comes from network i mod N alone: the even samples of a
/// two-network ensemble lie nearer the first network's forecast without dropout, the odd
/// ones nearer the second's.
#[test]
fn an_ensembles_samples_take_the_networks_in_turn() {
    let ensemble = trained(0.2, 1, &[], 2);
    let series = series();
    let end = series.len();
    let alone = |i: usize| {
        let f = Forecaster::new(
            ensemble.models()[i].clone(),
            ensemble.featurizer().clone(),
            Device::Cpu,
        )
        .unwrap();
        f.paths(&series, &[end], 1).unwrap()[0][0]
    };
    let (a, b) = (alone(0), alone(1));
    let paths = ensemble
        .sample_paths(&series, &[end], 1, 200, 3)
        .unwrap()
        .remove(0);
    let mean = |parity: usize| {
        let v: Vec<f64> = (paths.iter().skip(parity).step_by(2))
            .map(|p| p[0])
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (even, odd) = (mean(0), mean(1));
    eprintln!("network forecasts {a:.3} {b:.3}; sample means {even:.3} {odd:.3}");
    assert!(
        (even - a).abs() < (even - b).abs() && (odd - b).abs() < (odd - a).abs(),
        "networks {a} {b}, even samples {even}, odd {odd}"
    );
}

#[test]
fn the_same_seed_repeats_the_samples_and_another_does_not() {
    let forecaster = trained(0.2, 1, &[], 1);
    let series = series();
    let origins = [300, 350, 400];
    let draw = |seed| {
        forecaster
            .sample_paths(&series, &origins, 5, 8, seed)
            .unwrap()
    };
    let first = draw(7);
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|o| o.len() == 8 && o[0].len() == 5));
    assert_eq!(first, draw(7), "same seed, same samples bit for bit");
    let other = draw(8);
    for (a, b) in first.iter().zip(&other) {
        for (a, b) in a.iter().zip(b) {
            assert!(
                a.iter().zip(b).all(|(x, y)| x != y),
                "another seed: {a:?} {b:?}"
            );
        }
    }
}

#[test]
fn a_model_without_dropout_is_refused_with_what_to_do() {
    let forecaster = trained(0.0, 1, &[], 1);
    let series = series();
    let err = (forecaster.sample_paths(&series, &[400], 3, 50, 0))
        .unwrap_err()
        .downcast::<SampleError>()
        .unwrap();
    assert_eq!(err, SampleError::NoDropout);
    let msg = err.to_string();
    assert!(msg.contains("trained without dropout"), "{msg}");
    assert!(msg.contains("--dropout above 0"), "{msg}");
    assert!(msg.contains("calibrated intervals"), "{msg}");
    let with = trained(0.2, 1, &[], 1);
    let err = with.sample_paths(&series, &[400], 3, 1, 0).unwrap_err();
    assert!(err.to_string().contains("at least 2 samples"), "{err}");
}

/// [`common::workspace`] with a tiny model whose validation part (0.3 of 260 windows)
/// holds 78 forecasts one step ahead, and `flags` added to [`FAST`].
fn calibrated(flags: &[&str]) -> tempfile::TempDir {
    let dir = common::workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--val-fraction", "0.3"])
        .args(FAST)
        .args(flags)
        .assert()
        .success();
    dir
}

/// The forecast and interval columns of `predict --format csv`, after the date.
fn csv_rows(csv: &str) -> Vec<Vec<f64>> {
    (csv.lines().skip(1))
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn predict_takes_the_bands_from_the_samples() {
    let dir = calibrated(&[]);
    let predict = |extra: &[&str]| {
        let mut cmd = gruf(dir.path());
        cmd.args([
            "predict",
            "--days",
            "4",
            "--interval",
            "0.8",
            "--format",
            "csv",
        ]);
        cmd.args(extra);
        cmd
    };
    let out = predict(&["--samples", "50"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("not calibrated"), "{stderr}");
    assert!(stderr.contains("gruf evaluate --samples 50"), "{stderr}");
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("date,forecast,lower_80,upper_80\n"),
        "{csv}"
    );
    let sampled = csv_rows(&csv);
    assert_eq!(sampled.len(), 4);
    for r in &sampled {
        assert!(r[1] < r[2], "lower < upper: {r:?}");
    }
    // The forecast is the one without dropout, the bands are not the calibrated ones.
    let conformal = csv_rows(&stdout(&mut predict(&[])));
    for (s, c) in sampled.iter().zip(&conformal) {
        assert_eq!(s[0], c[0]);
        assert_ne!((s[1], s[2]), (c[1], c[2]));
    }
    // The seed: the same one repeats the bands, another moves them.
    let again = stdout(&mut predict(&["--samples", "50", "--seed", "0"]));
    assert_eq!(csv_rows(&again), sampled);
    let other = csv_rows(&stdout(&mut predict(&["--samples", "50", "--seed", "1"])));
    assert!((other.iter().zip(&sampled)).all(|(o, s)| o[0] == s[0] && o[1..] != s[1..]));
}

#[test]
fn predict_samples_a_model_written_before_calibration_existed() {
    let dir = common::workspace();
    gruf(dir.path())
        .args(["sample", "--rows", "400", "--out", "old.csv"])
        .assert()
        .success();
    // gruf 1.0's model file: dropout 0.2, no calibration.
    let old = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v2/window.safetensors");
    let csv = stdout(
        gruf(dir.path())
            .args([
                "predict", "--csv", "old.csv", "--days", "3", "--format", "csv",
            ])
            .args(["--samples", "20", "--interval", "0.8", "--interval", "0.95"])
            .arg("--model")
            .arg(&old),
    );
    for r in csv_rows(&csv) {
        assert!(r[3] <= r[1] && r[1] < r[2] && r[2] <= r[4], "{r:?}");
    }
    // evaluate scores the MC dropout intervals alone.
    let table = stdout(
        gruf(dir.path())
            .args(["evaluate", "--csv", "old.csv", "--samples", "20", "--model"])
            .arg(&old),
    );
    assert!(table.contains("intervals: MC dropout only"), "{table}");
    assert!(
        table.contains("1 step ahead: MC dropout's intervals (20 samples) are"),
        "{table}"
    );
    assert!(table.contains("model, MC dropout (20 samples)"), "{table}");
}

#[test]
fn evaluate_scores_the_samples_beside_the_calibrated_intervals_in_every_format() {
    let dir = calibrated(&[]);
    let evaluate = |format: &str| {
        stdout(gruf(dir.path()).args(["evaluate", "--samples", "30", "--format", format]))
    };
    let table = evaluate("table");
    for h in [1, 7] {
        let line = (table.lines())
            .find(|l| l.trim_start().starts_with(&format!("{h} step")))
            .unwrap_or_else(|| panic!("no verdict {h} steps ahead: {table}"));
        assert!(line.contains(": the intervals are"), "{line}");
        assert!(
            line.contains("MC dropout's intervals (30 samples) are"),
            "{line}"
        );
    }
    let rows = (table.lines())
        .filter(|l| l.contains("  model, MC dropout (30 samples)  "))
        .count();
    // Steps 1 and 7, at 80 and 95 % (78 validation forecasts support 95 %).
    assert_eq!(rows, 4, "{table}");

    let csv = evaluate("csv");
    let mc: Vec<&str> = (csv.lines())
        .filter(|l| l.starts_with("interval,\"model, MC dropout (30 samples)\","))
        .collect();
    assert_eq!(mc.len(), 4, "{csv}");
    assert!(mc[0].starts_with("interval,\"model, MC dropout (30 samples)\",1,30,"));

    let doc: serde_json::Value = serde_json::from_str(&evaluate("json")).unwrap();
    let rows = doc["intervals"]["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["forecaster"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "model",
            "model, MC dropout (30 samples)",
            "naive, whole history",
            "naive, last 90 days"
        ]
        .repeat(2)
    );
    assert_eq!(doc["intervals"]["method"], "residuals");
    let verdict = doc["intervals"]["verdict"][0].as_str().unwrap();
    assert!(verdict.contains("MC dropout's intervals"), "{verdict}");
}

#[test]
fn samples_without_an_interval_or_dropout_are_refused() {
    let dir = calibrated(&[]);
    gruf(dir.path())
        .args(["predict", "--samples", "50"])
        .assert()
        .code(2)
        .stderr(contains("--samples needs --interval LEVEL"));
    for (args, says) in [
        (vec!["--samples", "1"], "1 is not in 2..=10000"),
        (vec!["--samples", "10001"], "not in 2..=10000"),
        (vec!["--seed", "3", "--interval", "0.8"], "--samples"),
    ] {
        gruf(dir.path())
            .arg("predict")
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(says));
    }
    let none = calibrated(&["--dropout", "0"]);
    for cmd in [
        vec!["predict", "--samples", "50", "--interval", "0.8"],
        vec!["evaluate", "--samples", "50"],
    ] {
        gruf(none.path())
            .args(&cmd)
            .assert()
            .code(65)
            .stderr(contains("gruf-model.safetensors"))
            .stderr(contains("trained without dropout"))
            .stderr(contains("--dropout above 0"))
            .stderr(contains("panicked").not());
    }
}

/// A global model over two files: each series gets its own MC dropout bands.
#[test]
fn predict_samples_each_series_of_a_global_model() {
    let dir = common::workspace();
    common::sample(dir.path(), 300, "a.csv");
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--seed", "9", "--out", "b.csv"])
        .assert()
        .success();
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "a.csv",
            "--csv",
            "b.csv",
            "--val-fraction",
            "0.3",
        ])
        .args(FAST)
        .assert()
        .success();
    let csv = stdout(gruf(dir.path()).args([
        "predict",
        "--days",
        "3",
        "--samples",
        "20",
        "--interval",
        "0.8",
        "--format",
        "csv",
    ]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("series,date,forecast,lower_80,upper_80,seen"),
        "{csv}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "{csv}");
    for r in &rows {
        let (lower, upper): (f64, f64) = (r[3].parse().unwrap(), r[4].parse().unwrap());
        assert!(lower < upper, "{r:?}");
    }
    assert_eq!((rows[0][0], rows[5][0]), ("a", "b"));
}
