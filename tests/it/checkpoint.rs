//! The library pipeline (sample → split → scaler → train → checkpoint), a model trained
//! with covariates through the CLI loading back with the same inputs and predictions, the
//! checkpoint loader's refusals of files that are wrong in each way it promises to catch,
//! and the metadata JSON of the current format, byte for byte (`fixtures/v8/meta.jsonl`,
//! and `fixtures/v7/meta.jsonl`, `fixtures/v6/meta.jsonl`, `fixtures/v5/meta.jsonl`,
//! `fixtures/v4/meta.jsonl` and `fixtures/v3/meta.jsonl` for what a model without a fill,
//! a point model, a GRU, of one network, and of one series, still writes).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use gruf::checkpoint::{Checkpoint, FittedSeries, Meta, Network, FORMAT, FORMAT_VERSION, META_KEY};
use gruf::config::{ModelConfig, OptimizerKind, RunConfig, TrainConfig};
use gruf::features::scaler::{Scaler, TransformKind};
use gruf::features::split::Split;
use gruf::features::{Featurizer, Framing, Input, InputTransform};
use gruf::forecast::Forecaster;
use gruf::intervals::conformal::{Calibration, ErrorSet, Method, Space};
use gruf::intervals::Level;
use gruf::model::loss::Loss;
use gruf::model::{Cell, NetworkConfig};
use gruf::scores::{Contender, Evaluation, Metrics, Scoring};
use gruf::series::calendar::Calendar;
use gruf::series::csv::{load_csv, DataConfig};
use gruf::series::fill::Fill;
use gruf::series::resample::Resample;
use gruf::series::synth::{generate, to_csv, SampleConfig};
use gruf::series::{is_volume, Provenance};
use gruf::train::{EpochRecord, TrainData};
use safetensors::tensor::{Dtype, TensorView};

use crate::common;

/// Trains a tiny model through the library on 200 synthetic days.
fn tiny_checkpoint(dir: &Path, kind: TransformKind) -> Checkpoint {
    let csv = dir.join("s.csv");
    std::fs::write(
        &csv,
        to_csv(&generate(&SampleConfig {
            rows: 200,
            ..Default::default()
        })),
    )
    .unwrap();
    let loaded = load_csv(&csv, &DataConfig::default()).unwrap();
    let mut config = RunConfig::default();
    config.model.network.layers = vec![4, 3];
    config.model.framing.window = 8;
    config.train.epochs = 2;
    config.train.test_days = 20;
    config.train.seed = Some(3);
    let values = &loaded.series.values;
    config.model.framing.transform = kind;
    let split = Split::new(values.len(), kind.lookback(8), 20, 0.1).unwrap();
    let featurizer =
        Featurizer::fit(&config.model.framing, &values[..split.fit_end()], None).unwrap();
    let scaler = featurizer.scaler;
    let data = TrainData {
        values: values.into(),
        featurizer: &featurizer,
        split: &split,
    };
    let outcome = gruf::train::train(
        &config.model,
        &config.train,
        3,
        &Loss::Mse,
        &[data],
        &Device::Cpu,
        &mut |_| gruf::train::Flow::Continue,
    )
    .unwrap();
    let mut checkpoint = Checkpoint {
        meta: Meta {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            gruf_version: "test".into(),
            created: "2024-01-01T00:00:00Z".into(),
            config,
            seed: 3,
            series: vec![FittedSeries {
                id: String::new(),
                scaler,
                inputs: Vec::new(),
                split,
                mase_scale: Some(1.5),
                file: None,
                held_out_from: None,
                held_out_in_utc: false,
            }],
            data: loaded.provenance,
            history: outcome.history,
            best_epoch: outcome.best_epoch,
            stopped_early: outcome.stopped_early,
            interrupted: None,
            test: None,
            ensemble: Vec::new(),
            calibration: None,
        },
        weights: outcome.weights,
    };
    // Where the held-out part begins, as a model read back knows it.
    checkpoint.meta.date_held_out();
    checkpoint
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn save_then_load_is_the_identity_for_every_transform() {
    for kind in [
        TransformKind::Minmax,
        TransformKind::Window,
        TransformKind::Logret,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = tiny_checkpoint(dir.path(), kind);
        let path = dir.path().join("m.safetensors");
        ckpt.save(&path).unwrap();
        let back = Checkpoint::load(&path, &Device::Cpu).unwrap();
        assert_eq!(back.meta, ckpt.meta);
        assert_eq!(back.meta.first().scaler.kind(), kind);
        assert_eq!(
            back.weights.keys().collect::<Vec<_>>(),
            ckpt.weights.keys().collect::<Vec<_>>()
        );
        for (name, t) in &ckpt.weights {
            assert_eq!(values(&back.weights[name]), values(t), "{name}");
            assert_eq!(back.weights[name].dims(), t.dims());
        }
        // The rebuilt model forecasts exactly what the saved one did.
        let history: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i)).collect();
        let forecast = |c: &Checkpoint| {
            c.forecaster(&Device::Cpu)
                .unwrap()
                .recursive(&history, 3)
                .unwrap()
        };
        let (a, b) = (forecast(&ckpt), forecast(&back));
        assert_eq!(a, b);
        assert!(
            a.iter().all(|v| v.is_finite() && *v > 0.0),
            "{kind:?}: {a:?}"
        );
    }
}

/// A model trained through the CLI with covariates (`--inputs Close,Volume,range`) loads
/// with the inputs it was trained with: the loaded featurizer (input names and fitted
/// transforms, scaler, window, horizon) is exactly the one fitted again on the same
/// training part, each covariate's `ln(1 + v)`-or-not standardisation exactly as computed
/// here; and the loaded model predicts exactly what training scored on the test part
/// before the file was written, and what `gruf predict` prints.
#[test]
fn a_model_with_covariates_loads_with_its_inputs_and_predictions() {
    let dir = common::workspace();
    common::gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(common::FAST)
        .args(["--inputs", "Close,Volume,range", "--horizon", "2"])
        .args(["--transform", "window"])
        .assert()
        .success();
    let ckpt = Checkpoint::load(&dir.path().join("gruf-model.safetensors"), &Device::Cpu).unwrap();
    let meta = &ckpt.meta;
    let forecaster = ckpt.forecaster(&Device::Cpu).unwrap();
    let featurizer = forecaster.featurizer();
    let names: Vec<&str> = featurizer.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Volume", "range"]);
    assert_eq!((meta.model().input_width, featurizer.horizon), (3, 2));

    // Fitted again on the training part of the same file, as `train` fits them.
    let loaded = load_csv(&dir.path().join("prices.csv"), &meta.config.data).unwrap();
    let series = &loaded.series;
    let prepared =
        gruf::train::prepare::prepare(&meta.config, series, meta.config.train.test_days).unwrap();
    assert_eq!(prepared.split, meta.first().split);
    assert_eq!(&prepared.featurizer, featurizer);
    let fit_end = meta.first().split.fit_end();
    for (input, covariate) in featurizer.inputs.iter().zip(&series.covariates) {
        let log = is_volume(&covariate.name);
        let f: Vec<f64> = covariate.values[..fit_end]
            .iter()
            .map(|&v| if log { v.ln_1p() } else { v })
            .collect();
        let n = f.len() as f64;
        let mean = f.iter().sum::<f64>() / n;
        let std = (f.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let want = InputTransform::Standard { log, mean, std };
        assert_eq!(input.transform, want, "{}", input.name);
    }

    // Training scored the test part with the model before saving it; the loaded model
    // scores it the same, to the last bit of every metric.
    let test = meta.test.as_ref().unwrap();
    let end = meta.first().split.test.end;
    let scoring = Scoring {
        mase_scale: meta.first().mase_scale.unwrap(),
        season: test.season,
        held_out: true,
    };
    let again =
        gruf::evaluation::evaluate::evaluate(&forecaster, series, end - test.n..end, scoring)
            .unwrap();
    assert_eq!(&again, test);

    // `gruf predict` prints what the weights with the refitted featurizer forecast.
    let out = common::stdout(
        common::gruf(dir.path()).args(["predict", "--days", "2", "--format", "json"]),
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let printed: Vec<f64> = doc["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["forecast"].as_f64().unwrap())
        .collect();
    let refitted =
        Forecaster::new(ckpt.model().unwrap(), prepared.featurizer, Device::Cpu).unwrap();
    let want = refitted.recursive(series, 2).unwrap();
    assert_eq!(want.len(), 2);
    assert_eq!(printed, want);
    assert_eq!(forecaster.recursive(series, 2).unwrap(), want);
}

/// A tensor as `write_raw` takes it: name, values, shape.
type RawTensor = (String, Vec<f32>, Vec<usize>);

/// Writes a safetensors file with `tensors` and the given metadata JSON.
fn write_raw(path: &Path, tensors: &[RawTensor], meta: Option<String>) {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, v, s)| {
            (
                n.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                s.clone(),
            )
        })
        .collect();
    let views: Vec<(&str, TensorView)> = bytes
        .iter()
        .map(|(n, b, s)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let info = meta.map(|m| HashMap::from([(META_KEY.to_string(), m)]));
    std::fs::write(path, safetensors::serialize(views, info).unwrap()).unwrap();
}

/// The calibration's errors travel in tensors: a calibrated model reads back with the same
/// errors (sorted, as written) and gives the same intervals; a file whose metadata says it
/// is calibrated but lacks a step's tensor, or whose tensor holds a non-finite error, or
/// names an unknown method, is refused with the reason.
#[test]
fn a_calibration_survives_save_and_load_and_a_broken_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut ckpt = tiny_checkpoint(dir.path(), TransformKind::Window);
    let csv = dir.path().join("s.csv");
    let loaded = load_csv(&csv, &DataConfig::default()).unwrap();
    let values = &loaded.series.values;
    ckpt.calibrate(&[values.into()], &Device::Cpu).unwrap();
    let calibration = ckpt.meta.calibration.clone().expect("calibrated");
    // 200 rows, 20 held out, window 8: 17 validation targets; 30 steps asked for, as far
    // as the validation part reaches.
    assert_eq!(calibration.steps(), 17);
    assert_eq!(calibration.windows(), 17);
    let steps = &calibration.sets[0].steps;
    assert_eq!(steps[16].len(), 1);
    assert!(steps.iter().all(|s| s.windows(2).all(|w| w[0] <= w[1])));
    let path = dir.path().join("m.safetensors");
    ckpt.save(&path).unwrap();
    let back = Checkpoint::load(&path, &Device::Cpu).unwrap();
    assert_eq!(back.meta, ckpt.meta);
    let level = Level::new(0.8).unwrap();
    let band = |c: &Checkpoint| {
        let f = c.forecaster(&Device::Cpu).unwrap();
        f.banded(&values[..], &[values.len()], 3, &[level]).unwrap()
    };
    assert_eq!(band(&back), band(&ckpt));

    let tensors: Vec<RawTensor> =
        safetensors::SafeTensors::deserialize(&std::fs::read(&path).unwrap())
            .unwrap()
            .tensors()
            .into_iter()
            .map(|(n, v)| {
                let data = v
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()));
                (n, data.collect(), v.shape().to_vec())
            })
            .collect();
    let meta = ckpt.meta.to_json().unwrap();
    let refused = |tensors: &[RawTensor], meta: String| {
        let bad = dir.path().join("bad.safetensors");
        write_raw(&bad, tensors, Some(meta));
        Checkpoint::load(&bad, &Device::Cpu)
            .unwrap_err()
            .to_string()
    };
    let without: Vec<RawTensor> = (tensors.iter())
        .filter(|t| t.0 != "calibration.step2")
        .cloned()
        .collect();
    let err = refused(&without, meta.clone());
    assert!(
        err.contains("tensor 'calibration.step2' is missing"),
        "{err}"
    );
    let mut nan = tensors.clone();
    let at = nan.iter().position(|t| t.0 == "calibration.step1").unwrap();
    nan[at].1[3] = f32::NAN;
    let err = refused(&nan, meta.clone());
    assert!(
        err.contains("tensor 'calibration.step1' holds a non-finite value"),
        "{err}"
    );
    let err = refused(&tensors, meta.replacen("\"residuals\"", "\"bootstrap\"", 1));
    assert!(
        err.contains("calibration method 'bootstrap' is unknown"),
        "{err}"
    );
    // Metadata without a calibration beside calibration tensors: they are unexpected.
    let mut plain = ckpt.meta.clone();
    plain.calibration = None;
    let err = refused(&tensors, plain.to_json().unwrap());
    assert!(err.contains("unexpected tensor 'calibration.step"), "{err}");
}

#[test]
fn malformed_checkpoints_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(dir.path(), TransformKind::Minmax);
    let good: Vec<RawTensor> = ckpt
        .weights
        .iter()
        .map(|(n, t)| (n.clone(), values(t), t.dims().to_vec()))
        .collect();
    let meta = ckpt.meta.to_json().unwrap();
    let with_meta = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&meta).unwrap();
        edit(&mut v);
        Some(v.to_string())
    };

    let mut missing = good.clone();
    missing.retain(|(n, _, _)| n != "gru.bias_hh_l1");
    let mut extra = good.clone();
    extra.push(("gru.weight_ih_l2".into(), vec![0.0; 3], vec![3]));
    let mut misshapen = good.clone();
    misshapen
        .iter_mut()
        .find(|(n, _, _)| n == "dense.weight")
        .unwrap()
        .2 = vec![3, 1];
    let mut nan = good.clone();
    nan.iter_mut()
        .find(|(n, _, _)| n == "gru.weight_hh_l0")
        .unwrap()
        .1[1] = f32::NAN;

    let cases: Vec<(&str, Vec<RawTensor>, Option<String>, &str)> = vec![
        (
            "missing",
            missing,
            Some(meta.clone()),
            "tensor 'gru.bias_hh_l1' is missing",
        ),
        (
            "extra",
            extra,
            Some(meta.clone()),
            "unexpected tensor 'gru.weight_ih_l2'",
        ),
        (
            "misshapen",
            misshapen,
            Some(meta.clone()),
            "has shape [3, 1], expected [1, 3]",
        ),
        (
            "nan",
            nan,
            Some(meta.clone()),
            "non-finite value (NaN) at index 1",
        ),
        ("not ours", good.clone(), None, "not a gruf model"),
        (
            "bad json",
            good.clone(),
            Some("{not json".into()),
            "not valid JSON",
        ),
        (
            "transform mismatch",
            good.clone(),
            with_meta(&|v| v["config"]["model"]["transform"] = "logret".into()),
            "must match the model's transform",
        ),
        (
            "scaler",
            good.clone(),
            with_meta(&|v| v["scaler"]["min"] = v["scaler"]["max"].clone()),
            "scaler is invalid",
        ),
        (
            "window 0",
            good.clone(),
            with_meta(&|v| v["config"]["model"]["window"] = 0.into()),
            "window 0",
        ),
        (
            "a quantile head over a point model's tensors",
            good.clone(),
            with_meta(&|v| {
                v["config"]["model"]["quantiles"] = serde_json::json!([0.1, 0.5, 0.9]);
            }),
            "tensor 'dense.weight' has shape [1, 3], expected [3, 3]",
        ),
        (
            "quantiles out of order",
            good.clone(),
            with_meta(&|v| {
                v["config"]["model"]["quantiles"] = serde_json::json!([0.9, 0.5, 0.1]);
            }),
            "stored configuration is invalid: quantiles 0.9,0.5,0.1: 0.5 comes after 0.9",
        ),
        (
            "quantiles without the median",
            good.clone(),
            with_meta(&|v| {
                v["config"]["model"]["quantiles"] = serde_json::json!([0.1, 0.9]);
            }),
            "add 0.5",
        ),
        (
            "version",
            good.clone(),
            with_meta(&|v| v["format_version"] = 99.into()),
            "format version 99",
        ),
        (
            "incomplete",
            good.clone(),
            with_meta(&|v| drop(v.as_object_mut().unwrap().remove("scaler"))),
            "incomplete",
        ),
    ];
    for (what, tensors, meta, fragment) in cases {
        let path = dir.path().join("bad.safetensors");
        write_raw(&path, &tensors, meta);
        let err = Checkpoint::load(&path, &Device::Cpu).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(fragment), "{what}: '{fragment}' not in: {msg}");
        assert!(msg.contains("bad.safetensors"), "{what}: {msg}");
        assert_eq!(err.exit_code(), 65, "{what}");
    }
}

/// Fixed metadata covering every field and every spelling the format has: the first as
/// `train` writes it for business-day data (every option set), then hourly log returns,
/// quarterly min-max data, and the least a file can hold (no test part, no calendar).
fn golden_metas() -> Vec<Meta> {
    let metrics = |mae: f64, directional: Option<f64>| Metrics {
        mae,
        rmse: mae * 1.25,
        mape: Some(mae / 100.0),
        smape: mae / 99.5,
        mase: mae / 3.2,
        directional,
    };
    let business = Meta {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        gruf_version: "1.1.0-golden".into(),
        created: "2024-04-01T12:30:00Z".into(),
        config: RunConfig {
            data: DataConfig {
                column: Some("Close".into()),
                date_column: Some("Date".into()),
                date_format: Some("%d.%m.%Y".into()),
                resample: Some(Resample::Day),
                season: Some(gruf::series::season::Seasons::single(5).unwrap()),
                delimiter: "tab".parse().unwrap(),
                inputs: Vec::new(),
                id_column: None,
                fill: Fill::None,
            },
            model: ModelConfig {
                network: NetworkConfig {
                    cell: Cell::Gru,
                    layers: vec![4, 3],
                    dropout: 0.1,
                },
                framing: Framing {
                    window: 8,
                    transform: TransformKind::Window,
                    horizon: 1,
                    calendar: Vec::new(),
                    quantiles: Vec::new(),
                },
                input_width: 1,
            },
            train: TrainConfig {
                epochs: 2,
                batch_size: 16,
                optimizer: OptimizerKind::Adam,
                lr: 0.003,
                patience: 1,
                clip_norm: 0.5,
                test_days: 5,
                val_fraction: 0.2,
                val_size: 0,
                recent_windows: 0,
                backprop_steps: 0,
                ensemble: 1,
                seed: Some(7),
            },
        },
        seed: 7,
        series: vec![FittedSeries {
            id: String::new(),
            scaler: Scaler::Window {
                scale: 0.03348110996438005,
            },
            inputs: Vec::new(),
            split: Split {
                lookback: 8,
                train: 8..28,
                val: 28..35,
                test: 35..40,
            },
            mase_scale: Some(47.72916666666667),
            file: None,
            held_out_from: None,
            held_out_in_utc: false,
        }],
        data: Provenance {
            path: "/data/prices.tsv".into(),
            sha256: "0f3d0631f7cd14cc4124c377dbe0fb1bf8660d8f5aacec2e4fba6f67b102e76b".into(),
            rows: 40,
            first_date: "2024-01-01".into(),
            last_date: "2024-02-23".into(),
            step_seconds: 86_400,
            calendar: Some(Calendar::BusinessDays),
            column: "Close".into(),
            date_column: "Date".into(),
        },
        history: vec![
            EpochRecord {
                epoch: 1,
                train_loss: 1.041867188465448,
                val_loss: 1.075844597119281,
                val_rmse: 263.60221454813626,
                seconds: 0.003936451,
            },
            EpochRecord {
                epoch: 2,
                train_loss: 0.5,
                val_loss: 0.75,
                val_rmse: 120.0,
                seconds: 0.25,
            },
        ],
        best_epoch: 2,
        stopped_early: true,
        interrupted: Some((2, 1)),
        test: Some(Evaluation {
            n: 5,
            first_date: "2024-02-19".into(),
            last_date: "2024-02-23".into(),
            held_out: true,
            rows: vec![
                (Contender::Model, metrics(152.38195060714986, Some(60.0))),
                (Contender::Naive, metrics(152.73336786666667, None)),
                (Contender::SeasonalNaive(5), metrics(170.5, Some(40.0))),
                (
                    Contender::Drift,
                    metrics(151.41791623398473, Some(56.666666666666664)),
                ),
                (
                    Contender::MovingAverage(5),
                    metrics(334.4060864476191, Some(20.0)),
                ),
            ],
            calendar: Some(Calendar::BusinessDays),
            season: Some(5),
        }),
        ensemble: Vec::new(),
        calibration: None,
    };
    let mut hourly = business.clone();
    hourly.config.data = DataConfig {
        resample: Some(Resample::Hour),
        season: None,
        delimiter: ";".parse().unwrap(),
        ..DataConfig::default()
    };
    hourly.config.model.framing.transform = TransformKind::Logret;
    hourly.config.train.optimizer = OptimizerKind::Rmsprop;
    hourly.series[0].scaler = Scaler::Logret { scale: 0.0125 };
    hourly.data.calendar = Some(Calendar::Fixed { seconds: 3_600 });
    hourly.data.step_seconds = 3_600;
    hourly.data.first_date = "2024-01-01T00:00:00Z".into();
    hourly.data.last_date = "2024-01-02T15:00:00Z".into();
    hourly.series[0].split.lookback = 9;
    hourly.series[0].split.train = 9..28;
    if let Some(test) = &mut hourly.test {
        test.first_date = "2024-01-02T11:00:00Z".into();
        test.last_date = "2024-01-02T15:00:00Z".into();
        test.calendar = Some(Calendar::Fixed { seconds: 3_600 });
        test.season = Some(24);
        test.rows[2].0 = Contender::SeasonalNaive(24);
        test.rows[4].0 = Contender::MovingAverage(24);
    }
    let mut quarterly = business.clone();
    quarterly.config.data = DataConfig::default();
    quarterly.config.model.framing.transform = TransformKind::Minmax;
    quarterly.config.train.seed = None;
    quarterly.series[0].scaler = Scaler::Minmax {
        min: 3098.227816,
        max: 8190.432045,
    };
    let months = Calendar::Months {
        every: 3,
        end: true,
    };
    quarterly.data.calendar = Some(months);
    quarterly.data.path = "/data/gdp.csv".into();
    quarterly.data.first_date = "2014-03-31".into();
    quarterly.data.last_date = "2023-12-31".into();
    quarterly.data.step_seconds = 7_889_231;
    quarterly.stopped_early = false;
    quarterly.interrupted = None;
    if let Some(test) = &mut quarterly.test {
        test.held_out = false;
        test.first_date = "2022-12-31".into();
        test.last_date = "2023-12-31".into();
        test.calendar = Some(months);
        test.season = None;
        test.rows.remove(2);
    }
    let minimal = Meta {
        config: RunConfig::default(),
        series: vec![FittedSeries {
            scaler: Scaler::Minmax { min: 1.0, max: 2.0 },
            mase_scale: None,
            ..quarterly.series[0].clone()
        }],
        data: Provenance {
            calendar: None,
            ..quarterly.data.clone()
        },
        history: vec![business.history[0].clone()],
        best_epoch: 1,
        test: None,
        ..quarterly.clone()
    };
    vec![business, hourly, quarterly, minimal]
}

/// [`golden_metas`] and a global model of three series (format 4 only), each series with
/// its own scaler, covariate transform, split and MASE scale.
fn golden_metas_v4() -> Vec<Meta> {
    let mut metas = golden_metas();
    let mut global = metas[0].clone();
    global.config.data.inputs = vec!["Close".into(), "Volume".into()];
    global.config.data.id_column = Some("Symbol".into());
    global.config.model.input_width = 2;
    let volume = |mean: f64| Input {
        name: "Volume".into(),
        transform: InputTransform::Standard {
            log: true,
            mean,
            std: 1.25,
        },
    };
    global.series = ["BTC", "ETH", "SOL"]
        .iter()
        .enumerate()
        .map(|(i, id)| FittedSeries {
            id: (*id).into(),
            scaler: Scaler::Window {
                scale: 0.03 + i as f64 * 0.005,
            },
            inputs: vec![volume(20.0 + i as f64)],
            split: Split {
                lookback: 8,
                train: 8..28 + i,
                val: 28 + i..35 + i,
                test: 35 + i..40 + i,
            },
            mase_scale: Some(100.0 / (i + 1) as f64),
            file: None,
            held_out_from: None,
            held_out_in_utc: false,
        })
        .collect();
    global.test = None;
    metas.push(global);
    metas
}

fn fixture(version: u32) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/v{version}/meta.jsonl"));
    std::fs::read_to_string(path).unwrap()
}

/// [`golden_metas_v4`] and ensembles (format 5 only): three networks of one series, two
/// networks of a global model, and an ensemble of three interrupted in its third network
/// (two kept).
fn golden_metas_v5() -> Vec<Meta> {
    let mut metas = golden_metas_v4();
    let network = |seed: u64, epochs: usize, best_epoch: usize, stopped_early: bool| Network {
        seed,
        history: (1..=epochs)
            .map(|epoch| EpochRecord {
                epoch,
                train_loss: 1.0 / epoch as f64 + seed as f64 / 1000.0,
                val_loss: 1.5 / epoch as f64,
                val_rmse: 250.0 / epoch as f64 + 0.125,
                seconds: 0.5 + seed as f64 / 8.0,
            })
            .collect(),
        best_epoch,
        stopped_early,
    };
    let mut three = metas[0].clone();
    three.config.train.ensemble = 3;
    three.interrupted = None;
    three.ensemble = vec![network(8, 2, 1, true), network(9, 2, 2, false)];
    let mut global = metas[4].clone();
    global.config.train.ensemble = 2;
    global.ensemble = vec![network(8, 1, 1, false)];
    let mut interrupted = metas[1].clone();
    interrupted.config.train.ensemble = 3;
    interrupted.interrupted = None;
    interrupted.ensemble = vec![network(8, 2, 2, false)];
    metas.extend([three, global, interrupted]);
    metas
}

/// [`golden_metas_v5`] and the other cells (format 6 only): an LSTM of one series and an
/// RNN ensemble of a global model.
fn golden_metas_v6() -> Vec<Meta> {
    let mut metas = golden_metas_v5();
    let mut lstm = metas[0].clone();
    lstm.config.model.network.cell = Cell::Lstm;
    let mut rnn = metas[6].clone();
    rnn.config.model.network.cell = Cell::Rnn;
    metas.extend([lstm, rnn]);
    metas
}

/// [`golden_metas_v6`], quantile heads and calibrated models (format 7 only): the
/// business-day model of one series forecasting five quantiles at each of 3 steps, the
/// hourly log-return model with three (one step: log returns take quantiles only there),
/// the global RNN ensemble with three; then a point model of one series calibrated for 30
/// steps, a global one for 48, and the five-quantile model calibrated for 3.
fn golden_metas_v7() -> Vec<Meta> {
    let mut metas = golden_metas_v6();
    let mut five = metas[0].clone();
    five.config.model.framing.horizon = 3;
    five.config.model.framing.quantiles = vec![0.025, 0.1, 0.5, 0.9, 0.975];
    let mut logret = metas[1].clone();
    logret.config.model.framing.quantiles = vec![0.05, 0.5, 0.95];
    let mut global = metas[9].clone();
    global.config.model.framing.quantiles = vec![0.1, 0.5, 0.9];
    let calibrated = |meta: &Meta, steps: usize| {
        let mut meta = meta.clone();
        let quantile = !meta.config.model.framing.quantiles.is_empty();
        meta.calibration = Some(Arc::new(Calibration {
            space: Space::Units,
            method: if quantile {
                Method::Quantiles
            } else {
                Method::Residuals
            },
            spread: if quantile { 0 } else { 60 },
            sets: if quantile {
                // The levels of 0.025, 0.1, 0.5, 0.9, 0.975.
                [0.8, 0.95]
                    .iter()
                    .map(|&l| ErrorSet {
                        level: Some(Level::new(l).unwrap()),
                        steps: vec![Vec::new(); steps],
                    })
                    .collect()
            } else {
                vec![ErrorSet {
                    level: None,
                    steps: vec![Vec::new(); steps],
                }]
            },
        }));
        meta
    };
    let (one, global_calibrated, five_calibrated) = (
        calibrated(&metas[0], 30),
        calibrated(&metas[4], 48),
        calibrated(&five, 3),
    );
    metas.extend([
        five,
        logret,
        global,
        one,
        global_calibrated,
        five_calibrated,
    ]);
    metas
}

/// [`golden_metas_v7`] and models that fill their gaps (format 8 only): the business-day
/// model filled linearly, the hourly one seasonally, and the global model forward.
fn golden_metas_v8() -> Vec<Meta> {
    let mut metas = golden_metas_v7();
    let filled = |meta: &Meta, fill: Fill| {
        let mut meta = meta.clone();
        meta.config.data.fill = fill;
        meta
    };
    let more = [
        filled(&metas[0], Fill::Linear),
        filled(&metas[1], Fill::Seasonal),
        filled(&metas[4], Fill::Ffill),
    ];
    metas.extend(more);
    metas
}

/// The metadata JSON of format 8, byte for byte. If this fails, the file format changed:
/// that needs a decision (a new format version, with a reader for the old one), never a
/// new fixture for version 8.
#[test]
fn format_8_metadata_is_written_byte_for_byte_as_the_fixture() {
    let fixture = fixture(8);
    let lines: Vec<&str> = fixture.lines().collect();
    let metas = golden_metas_v8();
    assert_eq!(lines.len(), metas.len());
    for (i, (meta, expected)) in metas.iter().zip(lines).enumerate() {
        let json = meta.to_json().unwrap();
        assert!(
            json == expected,
            "meta {i}: the format 8 metadata JSON changed\nwritten:  {json}\nfixture:  {expected}"
        );
    }
    let path = Path::new("meta.jsonl");
    for (i, (line, meta)) in fixture.lines().zip(metas).enumerate() {
        assert_eq!(
            Meta::from_json(line, path).unwrap(),
            as_read(meta, 8),
            "meta {i}"
        );
    }
}

/// Writes `tests/fixtures/v8/meta.jsonl` from [`golden_metas_v8`]: how the fixture was
/// made, run once when format 8 was decided (`cargo test --release --locked --test it
/// checkpoint::write_format_8_fixture -- --ignored`).
#[test]
#[ignore]
fn write_format_8_fixture() {
    let lines: Vec<String> = golden_metas_v8()
        .iter()
        .map(|m| m.to_json().unwrap())
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v8/meta.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// `meta` as a file of format `version` reads back: that version, and its series' held-out
/// dates on the UTC clock (files before format 8 kept every date in UTC).
fn as_read(mut meta: Meta, version: u32) -> Meta {
    meta.format_version = version;
    for m in &mut meta.series {
        m.held_out_in_utc = version < 8;
    }
    // A model of one series reads the date its held-out part begins from its test dates.
    meta.date_held_out();
    meta
}

/// A model that fills nothing writes what format 7 wrote, but for the version; format 7
/// files read back as the same values (as read: version 7), filling nothing even where a
/// `fill` key was slipped into one.
#[test]
fn format_7_is_format_8_of_a_model_without_fill() {
    let path = Path::new("meta.jsonl");
    let fixture = fixture(7);
    let metas = golden_metas_v7();
    assert_eq!(fixture.lines().count(), metas.len());
    for (i, (line, mut meta)) in fixture.lines().zip(metas).enumerate() {
        let written = meta.to_json().unwrap();
        assert_eq!(
            written,
            line.replacen("\"format_version\":7,", "\"format_version\":8,", 1),
            "meta {i}"
        );
        meta = as_read(meta, 7);
        assert_eq!(Meta::from_json(line, path).unwrap(), meta, "meta {i}");
        let slipped = line.replacen("\"data\":{", "\"data\":{\"fill\":\"linear\",", 1);
        assert_ne!(&slipped, line);
        assert_eq!(Meta::from_json(&slipped, path).unwrap(), meta, "meta {i}");
    }
}

/// A point model without a calibration writes what format 6 wrote, but for the version;
/// format 6 files read back as the same values (as read: version 6).
#[test]
fn format_6_is_format_8_of_an_uncalibrated_point_model() {
    let path = Path::new("meta.jsonl");
    let fixture = fixture(6);
    let metas = golden_metas_v6();
    assert_eq!(fixture.lines().count(), metas.len());
    for (i, (line, mut meta)) in fixture.lines().zip(metas).enumerate() {
        let written = meta.to_json().unwrap();
        assert_eq!(
            written,
            line.replacen("\"format_version\":6,", "\"format_version\":8,", 1),
            "meta {i}"
        );
        meta = as_read(meta, 6);
        assert_eq!(Meta::from_json(line, path).unwrap(), meta, "meta {i}");
    }
}

/// A GRU model writes what format 5 wrote, but for the version; format 5 files read back
/// as the same values (as read: version 5).
#[test]
fn format_5_is_format_8_of_a_gru() {
    let path = Path::new("meta.jsonl");
    let fixture = fixture(5);
    let metas = golden_metas_v5();
    assert_eq!(fixture.lines().count(), metas.len());
    for (i, (line, mut meta)) in fixture.lines().zip(metas).enumerate() {
        let written = meta.to_json().unwrap();
        assert_eq!(
            written,
            line.replacen("\"format_version\":5,", "\"format_version\":8,", 1),
            "meta {i}"
        );
        meta = as_read(meta, 5);
        assert_eq!(Meta::from_json(line, path).unwrap(), meta, "meta {i}");
    }
}

/// A model of one network writes what format 4 wrote, but for the version; format 4 files
/// read back as the same values (as read: version 4).
#[test]
fn format_4_is_format_8_of_one_network() {
    let path = Path::new("meta.jsonl");
    let fixture = fixture(4);
    let metas = golden_metas_v4();
    assert_eq!(fixture.lines().count(), metas.len());
    for (i, (line, mut meta)) in fixture.lines().zip(metas).enumerate() {
        let written = meta.to_json().unwrap();
        assert_eq!(
            written,
            line.replacen("\"format_version\":4,", "\"format_version\":8,", 1),
            "meta {i}"
        );
        meta = as_read(meta, 4);
        assert_eq!(Meta::from_json(line, path).unwrap(), meta, "meta {i}");
    }
}

/// A model of one series and one network writes what format 3 wrote, but for the version;
/// format 3 files read back as the same values (as read: version 3).
#[test]
fn format_3_is_format_8_of_one_series() {
    let path = Path::new("meta.jsonl");
    for (i, (line, mut meta)) in fixture(3).lines().zip(golden_metas()).enumerate() {
        let written = meta.to_json().unwrap();
        assert_eq!(
            written,
            line.replacen("\"format_version\":3,", "\"format_version\":8,", 1),
            "meta {i}"
        );
        meta = as_read(meta, 3);
        assert_eq!(Meta::from_json(line, path).unwrap(), meta, "meta {i}");
    }
}

/// An ensemble whose file holds more networks than its configuration asked for is refused.
#[test]
fn more_networks_than_configured_are_refused() {
    let line = fixture(7).lines().nth(5).unwrap().to_string();
    let bad = line.replacen("\"ensemble\":3", "\"ensemble\":1", 1);
    assert_ne!(bad, line);
    let err = Meta::from_json(&bad, Path::new("m.safetensors")).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds 3 networks but its configuration says an ensemble of 1"),
        "{err}"
    );
}

/// The test scores a file keeps are read into their forecasters, so a row of a forecaster
/// gruf does not know is refused by name rather than silently missing from every table.
#[test]
fn test_scores_of_an_unknown_forecaster_are_refused() {
    let line = fixture(7).lines().nth(5).unwrap().to_string();
    let meta = Meta::from_json(&line, Path::new("m.safetensors")).unwrap();
    let test = meta.test.as_ref().unwrap();
    assert_eq!(test.rows[0].0, Contender::Model);
    assert!(test.get(Contender::Drift).is_some());
    let bad = line.replacen("[\"drift\",", "[\"drift 3\",", 1);
    assert_ne!(bad, line);
    let err = Meta::from_json(&bad, Path::new("m.safetensors")).unwrap_err();
    assert!(
        err.to_string().contains("unknown forecaster 'drift 3'"),
        "{err}"
    );
}

/// Hostile model files (issue 20): every count, size, step, level and cross-reference in
/// the metadata is checked against the model and its tensors before anything is
/// allocated, and a file that fails is refused in one line (exit 65) naming it, by every
/// command, `inspect` included.
mod hostile {
    use super::*;

    /// A model trained through the CLI (`FAST`, with `flags`) in `dir`: its tensors and its
    /// metadata as JSON, to be edited.
    fn trained(dir: &Path, flags: &[&str]) -> (Vec<RawTensor>, serde_json::Value) {
        common::gruf(dir)
            .args(["train", "--csv", "prices.csv"])
            .args(common::FAST)
            .args(flags)
            .assert()
            .success();
        read_raw(&dir.join("gruf-model.safetensors"))
    }

    /// Writes `bad.safetensors` in `dir` and returns what loading it says; it must be a
    /// refusal with the data exit code naming the file.
    fn refused(dir: &Path, tensors: &[RawTensor], meta: &serde_json::Value) -> String {
        let path = dir.join("bad.safetensors");
        write_raw(&path, tensors, Some(meta.to_string()));
        let err = Checkpoint::load(&path, &Device::Cpu).unwrap_err();
        assert_eq!(err.exit_code(), 65, "{err}");
        let msg = err.to_string();
        assert!(msg.contains("bad.safetensors"), "{msg}");
        msg
    }

    /// `gruf COMMAND --model bad.safetensors` fails with one line naming the model, exit 65.
    fn cli_refuses(dir: &Path, command: &[&str], fragment: &str) {
        let out = common::gruf(dir)
            .args(command)
            .args(["--model", "bad.safetensors"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{command:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{command:?}: {stderr}");
        assert!(
            stderr.starts_with("gruf: error: model ") && stderr.contains("bad.safetensors"),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains(fragment),
            "{command:?}: '{fragment}' not in {stderr}"
        );
    }

    /// Metadata claiming 10¹² calibration steps (which allocated 24 TB and aborted) or
    /// 2⁶⁴ − 1 (a "capacity overflow" panic) is refused before anything is allocated, as is
    /// a calibration of more steps than `train` calibrates the model for, whose tensors are
    /// all there.
    #[test]
    fn calibration_steps_beyond_the_model_are_refused_before_allocating() {
        let dir = common::workspace();
        let (tensors, meta) = trained(dir.path(), &[]);
        let steps = meta["calibration"]["steps"].as_u64().unwrap() as usize;
        assert!(steps < 30, "{steps}");
        for huge in ["1000000000000", "18446744073709551615"] {
            let mut bad = meta.clone();
            bad["calibration"]["steps"] = serde_json::from_str(huge).unwrap();
            let msg = refused(dir.path(), &tensors, &bad);
            assert!(
                msg.contains(&format!("the calibration claims {huge} steps ahead")),
                "{msg}"
            );
            for command in [&["inspect"][..], &["predict", "--days", "2"]] {
                cli_refuses(dir.path(), command, "steps ahead");
            }
        }
        // 31 steps, each with its tensor: a model of horizon 1 is calibrated for 30.
        let mut more = tensors.clone();
        let last = (tensors.iter())
            .find(|t| t.0 == format!("calibration.step{steps}"))
            .unwrap()
            .clone();
        for k in steps + 1..=31 {
            more.push((
                format!("calibration.step{k}"),
                last.1.clone(),
                last.2.clone(),
            ));
        }
        let mut bad = meta.clone();
        bad["calibration"]["steps"] = 31.into();
        let msg = refused(dir.path(), &more, &bad);
        assert!(
            msg.contains(
                "claims 31 steps ahead; a model of horizon 1 is calibrated for at most 30"
            ),
            "{msg}"
        );
    }

    /// A calibration that does not fit the model's window or its series: a spread other
    /// than the window's, or a step with more errors than the series have validation
    /// targets.
    #[test]
    fn a_calibration_that_does_not_fit_the_model_is_refused() {
        let dir = common::workspace();
        let (tensors, meta) = trained(dir.path(), &[]);
        let mut bad = meta.clone();
        bad["calibration"]["spread"] = 3.into();
        let msg = refused(dir.path(), &tensors, &bad);
        assert!(
            msg.contains("spread over 3 steps, but the model's window is 10"),
            "{msg}"
        );
        bad["calibration"]["spread"] = 20000.into();
        let msg = refused(dir.path(), &tensors, &bad);
        assert!(msg.contains("spread of 20000 steps does not fit"), "{msg}");

        let val = &meta["split"]["val"];
        let targets = val["end"].as_u64().unwrap() - val["start"].as_u64().unwrap();
        let mut more = tensors.clone();
        let step1 = more
            .iter_mut()
            .find(|t| t.0 == "calibration.step1")
            .unwrap();
        let n = targets as usize + 5;
        *step1 = (step1.0.clone(), vec![0.5; n], vec![n]);
        let msg = refused(dir.path(), &more, &meta);
        assert!(
            msg.contains(&format!(
                "tensor 'calibration.step1' holds {n} calibration errors, but the model's series have {targets} validation targets"
            )),
            "{msg}"
        );

        // A point model's calibration claiming quantile levels.
        let mut bad = meta.clone();
        bad["calibration"]["method"] = "quantiles".into();
        bad["calibration"]["spread"] = 0.into();
        bad["calibration"]["levels"] = serde_json::json!([0.8]);
        let msg = refused(dir.path(), &tensors, &bad);
        assert!(
            msg.contains("the calibration's method 'quantiles' does not fit a point head"),
            "{msg}"
        );
    }

    /// A quantile list that no longer gives the calibrated levels ("internal: no quantiles
    /// for 0.8" before) is refused by every command, `inspect` included.
    #[test]
    fn quantiles_that_do_not_give_the_calibrated_levels_are_refused() {
        let dir = common::workspace();
        let (tensors, meta) = trained(dir.path(), &["--quantiles", "0.1,0.5,0.9"]);
        assert_eq!(meta["calibration"]["levels"], serde_json::json!([0.8]));
        let mut bad = meta.clone();
        bad["config"]["model"]["quantiles"] = serde_json::json!([0.05, 0.5, 0.95]);
        let msg = refused(dir.path(), &tensors, &bad);
        assert!(
            msg.contains(
                "the calibration's levels (0.8) are not those the model's quantiles (0.05, 0.5, 0.95) give (0.9)"
            ),
            "{msg}"
        );
        for command in [
            &["inspect"][..],
            &["predict", "--days", "1", "--interval", "0.8"],
            &["evaluate"],
        ] {
            cli_refuses(dir.path(), command, "the calibration's levels");
        }
        // Residuals over a quantile head.
        let mut bad = meta.clone();
        bad["calibration"]["method"] = "residuals".into();
        bad["calibration"]["spread"] = 10.into();
        drop(bad["calibration"].as_object_mut().unwrap().remove("levels"));
        let msg = refused(dir.path(), &tensors, &bad);
        assert!(
            msg.contains("method 'residuals' does not fit a quantile (0.1, 0.5, 0.9) head"),
            "{msg}"
        );
    }

    /// Counts the commands index by: the kept epoch of each network within its history,
    /// each series' split in time order, a MASE scale that a mean absolute change can be.
    #[test]
    fn counts_and_ranges_in_the_metadata_are_checked() {
        let dir = common::workspace();
        let (tensors, meta) = trained(dir.path(), &[]);
        let epochs = meta["history"].as_array().unwrap().len();
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Edit, String)> = vec![
            (
                "kept epoch 0",
                Box::new(|v| v["best_epoch"] = 0.into()),
                format!("the kept epoch is 0 but its history records {epochs} epochs"),
            ),
            (
                "kept epoch past the history",
                Box::new(|v| v["best_epoch"] = 99.into()),
                format!("the kept epoch is 99 but its history records {epochs} epochs"),
            ),
            (
                "validation before training",
                Box::new(|v| v["split"]["val"]["start"] = 5.into()),
                "stored split is invalid".into(),
            ),
            (
                "test past its end",
                Box::new(|v| {
                    v["split"]["test"]["start"] = 100000.into();
                    v["split"]["test"]["end"] = 3.into();
                }),
                "stored split is invalid".into(),
            ),
            (
                "lookback 0",
                Box::new(|v| v["split"]["lookback"] = 0.into()),
                "stored split is invalid (lookback 0".into(),
            ),
            (
                "negative MASE scale",
                Box::new(|v| v["mase_scale"] = (-2.5).into()),
                "stored MASE scale is -2.5".into(),
            ),
        ];
        for (what, edit, fragment) in cases {
            let mut bad = meta.clone();
            edit(&mut bad);
            let msg = refused(dir.path(), &tensors, &bad);
            assert!(msg.contains(&fragment), "{what}: '{fragment}' not in {msg}");
        }
        cli_refuses(dir.path(), &["inspect"], "stored MASE scale");
    }

    /// The kept epoch of an ensemble's further networks is checked as the first's.
    #[test]
    fn an_ensemble_networks_kept_epoch_is_checked() {
        let line = fixture(7).lines().nth(5).unwrap().to_string();
        let mut v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(Meta::from_json(&line, Path::new("m.safetensors")).is_ok());
        v["ensemble"][1]["best_epoch"] = 3.into();
        let err = Meta::from_json(&v.to_string(), Path::new("m.safetensors")).unwrap_err();
        assert!(
            err.to_string()
                .contains("the kept epoch of network 3 is 3 but its history records 2 epochs"),
            "{err}"
        );
    }
}

/// The tensors and the metadata JSON of the model file at `path`, to be edited.
fn read_raw(path: &Path) -> (Vec<RawTensor>, serde_json::Value) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = (st.tensors().into_iter())
        .map(|(n, v)| {
            let data = (v.data().chunks_exact(4))
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (n, data, v.shape().to_vec())
        })
        .collect();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let json = &header.metadata().as_ref().unwrap()[META_KEY];
    (tensors, serde_json::from_str(json).unwrap())
}

/// Files before format 8 kept every date in UTC, where a series now keeps its own clock
/// (issue 20): an old model of an hourly series at +05:00 still finds its held-out part
/// where it began, 30 hours, not 5 hours earlier (5 training rows scored as held out).
/// The old file is this gruf's file with its dates written back as gruf 1.5 wrote them.
#[test]
fn a_format_7_model_of_a_zoned_series_finds_its_held_out_part() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Date,Close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for i in 0..300 {
        let t = start + chrono::Duration::hours(i);
        let v = 100.0 + (i as f64 * 0.26).sin() * 3.0 + i as f64 * 0.01;
        text.push_str(&format!("{}+05:00,{v:.3}\n", t.format("%Y-%m-%dT%H:%M:%S")));
    }
    std::fs::write(dir.path().join("zoned.csv"), text).unwrap();
    common::gruf(dir.path())
        .args(["train", "--csv", "zoned.csv"])
        .args(common::FAST)
        .assert()
        .success();
    let evaluated = |model: &str| -> serde_json::Value {
        let out = common::gruf(dir.path())
            .args(["evaluate", "--model", model, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["one_step"].clone()
    };
    let new = evaluated("gruf-model.safetensors");
    assert_eq!(new["n"], 30, "{new}");

    let (tensors, mut meta) = read_raw(&dir.path().join("gruf-model.safetensors"));
    meta["format_version"] = 7.into();
    // Local times at +05:00 as gruf 1.5 stored them: the same instants in UTC.
    let utc = |local: &str| -> String {
        match chrono::DateTime::parse_from_rfc3339(local) {
            Ok(t) => t
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            Err(_) => {
                let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
                    .unwrap_or_else(|e| panic!("{local}: {e}"));
                (t - chrono::Duration::hours(5))
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            }
        }
    };
    for (section, key) in [
        ("test", "first_date"),
        ("test", "last_date"),
        ("data", "first_date"),
        ("data", "last_date"),
    ] {
        let local = meta[section][key].as_str().unwrap().to_string();
        meta[section][key] = utc(&local).into();
    }
    assert!(meta["test"]["first_date"].as_str().unwrap().ends_with('Z'));
    if let Some(c) = meta["calibration"].as_object_mut() {
        c.remove("space");
    }
    write_raw(
        &dir.path().join("old.safetensors"),
        &tensors,
        Some(meta.to_string()),
    );
    let old = evaluated("old.safetensors");
    assert_eq!(old["n"], 30, "{old}");
    assert_eq!(old["first_date"], new["first_date"]);
}
