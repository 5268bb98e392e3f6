//! The library pipeline (sample → split → scaler → train → checkpoint) and the checkpoint
//! loader's refusals of files that are wrong in each way it promises to catch.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use gruf::checkpoint::{Checkpoint, Meta, FORMAT, FORMAT_VERSION, META_KEY};
use gruf::config::RunConfig;
use gruf::data::{load_csv, DataConfig};
use gruf::features::Featurizer;
use gruf::loss::Loss;
use gruf::scaler::TransformKind;
use gruf::synth::{generate, to_csv, SampleConfig};
use gruf::train::TrainData;
use gruf::window::Split;
use safetensors::tensor::{Dtype, TensorView};

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
    config.model.layers = vec![4, 3];
    config.model.window = 8;
    config.train.epochs = 2;
    config.train.test_days = 20;
    config.train.seed = Some(3);
    let values = &loaded.series.values;
    config.model.transform = kind;
    let split = Split::new(values.len(), kind.lookback(8), 20, 0.1).unwrap();
    let featurizer = Featurizer::fit(&config.model, &values[..split.fit_end()]).unwrap();
    let scaler = featurizer.scaler;
    let data = TrainData {
        values,
        featurizer: &featurizer,
        split: &split,
    };
    let outcome = gruf::train::train(
        &config.model,
        &config.train,
        3,
        &Loss::Mse,
        data,
        &Device::Cpu,
        &mut |_| gruf::train::Flow::Continue,
    )
    .unwrap();
    Checkpoint {
        meta: Meta {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            gruf_version: "test".into(),
            created: "2024-01-01T00:00:00Z".into(),
            config,
            seed: 3,
            scaler,
            data: loaded.provenance,
            split,
            history: outcome.history,
            best_epoch: outcome.best_epoch,
            stopped_early: outcome.stopped_early,
            interrupted: None,
            test: None,
            mase_scale: Some(1.5),
        },
        weights: outcome.weights,
    }
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
        assert_eq!(back.meta.scaler.kind(), kind);
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

#[test]
fn malformed_checkpoints_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(dir.path(), TransformKind::Minmax);
    let good: Vec<RawTensor> = ckpt
        .weights
        .iter()
        .map(|(n, t)| (n.clone(), values(t), t.dims().to_vec()))
        .collect();
    let meta = serde_json::to_string(&ckpt.meta).unwrap();
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
