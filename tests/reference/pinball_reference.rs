//! The pinball loss of a quantile head against PyTorch.
//!
//! `fixtures/pinball_reference.json` was made by `fixtures/pinball_reference.py`: the
//! outputs of a head of K = 3 steps and Q = 5 quantiles for a batch of 4 (step-major,
//! `view(B, K, Q)`), their targets, and the mean pinball loss and its gradient with respect
//! to the outputs, in float64 from float32 inputs. gruf's f64 form (the validation loss)
//! must give the same figure to rounding; its f32 tensor form (the training loss) the same
//! loss and, through candle's backward pass, the same gradient to float32 precision. A
//! wrong layout (quantile-major instead of step-major) or a quantile's sign flipped misses
//! by far.

use candle_core::{Device, Tensor, Var};
use gruf::model::loss::Loss;
use serde_json::Value;

const REFERENCE: &str = include_str!("../fixtures/pinball_reference.json");

/// A JSON matrix (or vector) flattened row by row.
fn flat(v: &Value) -> Vec<f64> {
    match v.as_array() {
        Some(rows) => rows.iter().flat_map(flat).collect(),
        None => vec![v.as_f64().unwrap()],
    }
}

#[test]
fn pinball_loss_and_gradient_match_pytorch() {
    let r: Value = serde_json::from_str(REFERENCE).unwrap();
    let quantiles = flat(&r["quantiles"]);
    let targets: Vec<f32> = flat(&r["targets"]).iter().map(|&v| v as f32).collect();
    let preds: Vec<f32> = flat(&r["preds"]).iter().map(|&v| v as f32).collect();
    let (want, grad) = (r["loss"].as_f64().unwrap(), flat(&r["grad"]));
    let (b, q) = (r["targets"].as_array().unwrap().len(), quantiles.len());
    let k = targets.len() / b;
    assert_eq!((b, k, q), (4, 3, 5));
    let loss = Loss::Pinball { quantiles };

    let got = loss.mean(&preds, &targets);
    assert!(
        (got - want).abs() <= 1e-12 * want,
        "f64 form: gruf {got}, PyTorch {want}"
    );

    let dev = Device::Cpu;
    let p = Var::from_tensor(&Tensor::from_slice(&preds, (b, k * q), &dev).unwrap()).unwrap();
    let y = Tensor::from_slice(&targets, (b, k), &dev).unwrap();
    let value = loss.forward(p.as_tensor(), &y).unwrap();
    let got = f64::from(value.to_scalar::<f32>().unwrap());
    assert!(
        (got - want).abs() <= 1e-6 * want,
        "tensor form: gruf {got}, PyTorch {want}"
    );
    let grads = value.backward().unwrap();
    let got: Vec<f32> = grads
        .get(p.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(got.len(), grad.len());
    for (i, (g, w)) in got.iter().zip(&grad).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= 1e-7,
            "gradient [{}, {}]: gruf {g}, PyTorch {w}",
            i / (k * q),
            i % (k * q)
        );
    }
}
