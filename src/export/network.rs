//! The network in ONNX's own recurrent operators (`GRU`, `LSTM`, `RNN`), so a runtime can
//! use its fused kernels, and the dense head as a `MatMul` and an `Add`.
//!
//! gruf keeps PyTorch's layout (its tensors load into `nn.GRU` by name); ONNX's differs in
//! three ways, each of which a test catches (`tests/it/export.rs` runs the file in
//! onnxruntime against `gruf predict`):
//! - gate order: PyTorch stacks a GRU's blocks as (reset, update, new), ONNX as (update,
//!   reset, hidden); an LSTM's as (input, forget, cell, output) against ONNX's (input,
//!   output, forget, cell). [`onnx_blocks`] reorders them.
//! - PyTorch's GRU applies the reset gate after the recurrent product
//!   (`n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`): ONNX's `linear_before_reset = 1`.
//! - the layout is time-major (`[T, batch, F]`): onnxruntime refuses `layout = 1`.

use anyhow::Context;
use candle_core::Tensor;

use super::graph::{attr_int, attr_string, Graph, V};
use crate::model::{layer_names, Cell, Io, NetworkConfig, Weights, DENSE_BIAS, DENSE_WEIGHT};

/// The blocks of PyTorch's gate order, in ONNX's order: ONNX block `j` is PyTorch block
/// `onnx_blocks(cell)[j]`.
pub fn onnx_blocks(cell: Cell) -> &'static [usize] {
    match cell {
        // PyTorch r, z, n; ONNX z, r, h.
        Cell::Gru => &[1, 0, 2],
        // PyTorch i, f, g, o; ONNX i, o, f, c.
        Cell::Lstm => &[0, 3, 1, 2],
        Cell::Rnn => &[0],
    }
}

/// The tensor `name` of the network under `prefix`.
fn tensor<'w>(weights: &'w Weights, prefix: &str, name: &str) -> anyhow::Result<&'w Tensor> {
    weights
        .get(&format!("{prefix}{name}"))
        .with_context(|| format!("internal: the model file has no tensor {prefix}{name}"))
}

/// Its values, row-major.
fn values(weights: &Weights, prefix: &str, name: &str) -> anyhow::Result<Vec<f32>> {
    Ok(tensor(weights, prefix, name)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// `rows` (`[G·H, width]` flat, PyTorch's gate blocks of `h` rows each) reordered into
/// ONNX's blocks.
fn reorder(rows: &[f32], cell: Cell, h: usize, width: usize) -> Vec<f32> {
    let block = h * width;
    onnx_blocks(cell)
        .iter()
        .flat_map(|&b| rows[b * block..(b + 1) * block].iter().copied())
        .collect()
}

/// The network whose tensors are under `prefix` (`""`, or an ensemble's `ensemble.1.`) run
/// on `x` (`[batch, T, F]` f32): its head's outputs, `[batch, K·Q]` f32.
pub fn network(
    g: &mut Graph,
    x: &V,
    config: &NetworkConfig,
    io: &Io,
    weights: &Weights,
    prefix: &str,
) -> anyhow::Result<V> {
    let cell = config.cell;
    let gates = cell.gates();
    let mut seq = g.transpose(x, &[1, 0, 2]); // [T, batch, F]
    let mut input = io.input_width;
    let mut last = None;
    for (l, &h) in config.layers.iter().enumerate() {
        let [w_ih, w_hh, b_ih, b_hh] = layer_names(cell, l);
        let w_ih = reorder(&values(weights, prefix, &w_ih)?, cell, h, input);
        let w_hh = reorder(&values(weights, prefix, &w_hh)?, cell, h, h);
        let mut bias = reorder(&values(weights, prefix, &b_ih)?, cell, h, 1);
        bias.extend(reorder(&values(weights, prefix, &b_hh)?, cell, h, 1));
        let w = g.f32s(&[1, gates * h, input], &w_ih);
        let r = g.f32s(&[1, gates * h, h], &w_hh);
        let b = g.f32s(&[1, 2 * gates * h], &bias);
        let (op, mut attributes) = match cell {
            Cell::Gru => ("GRU", vec![attr_int("linear_before_reset", 1)]),
            Cell::Lstm => ("LSTM", vec![]),
            Cell::Rnn => ("RNN", vec![]),
        };
        attributes.push(attr_int("hidden_size", h as i64));
        attributes.push(attr_string("direction", "forward"));
        let outs = g.op_n(op, &[&seq, &w, &r, &b], attributes, 2);
        // Y: [T, 1 direction, batch, H]; Y_h: [1, batch, H].
        seq = g.squeeze(&outs[0], &[1]);
        last = Some(g.squeeze(&outs[1], &[0]));
        input = h;
    }
    let last = last.context("internal: a network without a recurrent layer")?;
    // The head's weight is `[outputs, H]`; MatMul takes it transposed.
    let dense_w = tensor(weights, prefix, DENSE_WEIGHT)?.t()?.contiguous()?;
    let w = g.f32s(dense_w.dims(), &dense_w.flatten_all()?.to_vec1::<f32>()?);
    let b = g.f32s(&[io.outputs()], &values(weights, prefix, DENSE_BIAS)?);
    let y = g.matmul(&last, &w);
    Ok(g.add(&y, &b))
}
