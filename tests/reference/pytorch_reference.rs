//! gruf's recurrent stacks (GRU, LSTM, plain RNN) against PyTorch: outputs and gradients.
//!
//! `fixtures/gru_reference.json` (a one-step head), `fixtures/gru_reference_k3.json` (a
//! direct three-step head, Dense(3)), `fixtures/gru_reference_k3_f3.json` (the same on
//! three values per input step) and the LSTM and RNN fixtures
//! (`fixtures/{lstm,rnn}_reference{,_k3_f3}.json`) were made by `fixtures/cell_reference.py`
//! (PyTorch, float64 reference from float32 weights, `nn.GRU`, `nn.LSTM`, `nn.RNN`), and
//! so were `fixtures/{gru,lstm,rnn}_reference_k3_f3_b4.json`: the gradients of truncated
//! backpropagation through the last 4 of the 6 steps (`--backprop-steps 4`; PyTorch runs
//! the first two steps under `no_grad`). gruf
//! computes in float32, so the tolerance is |gruf − torch| ≤ 1e-5 · |torch| + 1e-6:
//! float32 rounding over a 6-step recurrence stays well inside it, and a wrong gate order,
//! bias or layout misses it by orders of magnitude.

use candle_core::{Device, Tensor, Var};
use gruf::model::{param_shapes, Backprop, Cell, Io, Model, NetworkConfig, Weights};
use serde_json::Value;

use crate::close::first_mismatch;

const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

/// The fixtures: per cell the one-step head and the three-step head on three values per
/// input step, the latter also with truncated backpropagation (and for the GRU also the
/// three-step head on the price alone).
const FIXTURES: [(&str, &str); 10] = [
    ("GRU, K = 1", include_str!("../fixtures/gru_reference.json")),
    (
        "GRU, K = 3",
        include_str!("../fixtures/gru_reference_k3.json"),
    ),
    (
        "GRU, K = 3, F = 3",
        include_str!("../fixtures/gru_reference_k3_f3.json"),
    ),
    (
        "LSTM, K = 1",
        include_str!("../fixtures/lstm_reference.json"),
    ),
    (
        "LSTM, K = 3, F = 3",
        include_str!("../fixtures/lstm_reference_k3_f3.json"),
    ),
    ("RNN, K = 1", include_str!("../fixtures/rnn_reference.json")),
    (
        "RNN, K = 3, F = 3",
        include_str!("../fixtures/rnn_reference_k3_f3.json"),
    ),
    (
        "GRU, K = 3, F = 3, backprop 4",
        include_str!("../fixtures/gru_reference_k3_f3_b4.json"),
    ),
    (
        "LSTM, K = 3, F = 3, backprop 4",
        include_str!("../fixtures/lstm_reference_k3_f3_b4.json"),
    ),
    (
        "RNN, K = 3, F = 3, backprop 4",
        include_str!("../fixtures/rnn_reference_k3_f3_b4.json"),
    ),
];

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// gruf's `got` against PyTorch's `want`, to within the tolerance above.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some((i, g, w)) = first_mismatch(got, want, RTOL, ATOL) {
        panic!("{what}[{i}]: gruf {g}, torch {w}");
    }
}

/// A fixture's network: its own config and its ends.
type Network = (NetworkConfig, Io);

fn setup(text: &str) -> (Value, Network, Vec<(String, Var)>, Tensor) {
    let f: Value = serde_json::from_str(text).unwrap();
    let layers: Vec<usize> = f["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let (batch, seq) = (
        f["batch"].as_u64().unwrap() as usize,
        f["seq"].as_u64().unwrap() as usize,
    );
    let cell: Cell = f["cell"].as_str().unwrap_or("gru").parse().unwrap();
    let network = NetworkConfig {
        cell,
        layers,
        dropout: 0.0,
    };
    let io = Io::point(
        f["features"].as_u64().unwrap_or(1) as usize,
        f["horizon"].as_u64().unwrap_or(1) as usize,
    );
    let dev = Device::Cpu;
    let vars = param_shapes(&network, &io)
        .into_iter()
        .map(|(name, shape)| {
            let p = &f["params"][&name];
            let stored: Vec<usize> = p["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(stored, shape, "{name}: PyTorch's layout");
            let t = Tensor::from_vec(floats(&p["values"]), shape, &dev).unwrap();
            (name, Var::from_tensor(&t).unwrap())
        })
        .collect();
    let x = Tensor::from_vec(floats(&f["x"]), (batch, seq, io.input_width), &dev).unwrap();
    (f, (network, io), vars, x)
}

#[test]
fn forward_matches_pytorch() {
    for (which, text) in FIXTURES {
        forward_matches(which, text);
    }
}

fn forward_matches(which: &str, text: &str) {
    let (f, (network, io), vars, x) = setup(text);
    let weights: Weights = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let model = Model::new(&network, &io, &weights).unwrap();
    let out = model
        .forward(&x, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_close(&format!("{which}: output"), &out, &floats(&f["output"]));

    // The first layer alone, every step.
    let name = network.cell.name();
    let layer0 = gruf::model::recurrent::Recurrent::new(
        network.cell,
        weights[&format!("{name}.weight_ih_l0")].clone(),
        weights[&format!("{name}.weight_hh_l0")].clone(),
        weights[&format!("{name}.bias_ih_l0")].clone(),
        weights[&format!("{name}.bias_hh_l0")].clone(),
    )
    .unwrap();
    let h = layer0
        .forward(&x, true, None, Backprop::Whole)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_close(
        &format!("{which}: layer0_output"),
        &h,
        &floats(&f["layer0_output"]),
    );
}

#[test]
fn gradients_match_pytorch() {
    for (which, text) in FIXTURES {
        gradients_match(which, text);
    }
}

fn gradients_match(which: &str, text: &str) {
    let (f, (network, io), vars, x) = setup(text);
    let x = Var::from_tensor(&x).unwrap();
    let weights: Weights = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    // Absent: the whole window.
    let backprop = Backprop::from_steps(f["backprop_steps"].as_u64().unwrap_or(0) as usize);
    let model = Model::new(&network, &io, &weights)
        .unwrap()
        .with_backprop(backprop);
    let target = floats(&f["target"]);
    let target = Tensor::from_vec(
        target.clone(),
        (target.len() / io.horizon, io.horizon),
        &Device::Cpu,
    )
    .unwrap();
    let loss = (model.forward(x.as_tensor(), None).unwrap() - target)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap();
    let loss_value = loss.to_scalar::<f32>().unwrap();
    assert_close(
        &format!("{which}: loss"),
        &[loss_value],
        &[f["loss"].as_f64().unwrap() as f32],
    );
    let grads = loss.backward().unwrap();
    for (name, var) in &vars {
        let g = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_close(
            &format!("{which}: grad {name}"),
            &g,
            &floats(&f["grads"][name]),
        );
    }
    let gx = grads
        .get(x.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_close(&format!("{which}: grad x"), &gx, &floats(&f["grad_x"]));
}
