//! The network: stacked recurrent layers → dropout → dense, in candle.
//!
//! GRU(50, every step) → Dropout(0.2) → GRU(100, last step) → Dropout(0.2) → Dense(K) by
//! default, K = 1; the cell (GRU, LSTM or plain RNN), widths and depth come from a
//! [`NetworkConfig`], the input width and K (the horizon) from its [`Io`]. Parameters are named as PyTorch names a multi-layer `nn.GRU`
//! (`nn.LSTM`, `nn.RNN`) plus a `nn.Linear` (`gru.weight_ih_l0`, …, `dense.weight`; an
//! LSTM's are `lstm.…`, an RNN's `rnn.…`), and initialised as PyTorch does, from our own
//! seeded generator.
//!
//! A quantile model (`--quantiles`, Q levels) has the same network with a wider head,
//! Dense(K·Q), step-major: output `k·Q + j` is step `k`'s quantile `quantiles[j]` (a
//! PyTorch `out.view(batch, K, Q)`). The head is plain: nothing in it keeps the quantiles
//! in order; the forecaster sorts each step's Q values (`Featurizer::decode_quantiles`).

pub mod fused;
pub mod loss;
mod network;
pub mod recurrent;

pub use network::{Cell, Io, NetworkConfig};

use std::collections::BTreeMap;

use candle_core::{Device, Result, Tensor};

use crate::rng::{self, MaskDraws, Rng64};
use recurrent::Recurrent;

/// Leaves the CPU's cores to the fused GRU kernel: unless the user set
/// `CANDLE_NUM_THREADS`, candle's element-wise ops run on the calling thread instead of
/// candle's own worker pool. Call first thing in `main`, before any thread or candle op.
///
/// Why: candle ≥ 0.10 runs element-wise ops on a pool of spinning workers separate from
/// rayon's. On two cores those workers and the rayon threads that run the fused kernel
/// take turns spinning while the other side waits; measured on the seed model, an epoch
/// took ≈ 1.05 s with candle's pool and ≈ 0.78 s without (the element-wise work, dropout
/// and gradient sums, is small next to the GRU).
///
/// Also, unless the user set `RAYON_NUM_THREADS`, sets it to the number of threads rayon
/// uses anyway ([`std::thread::available_parallelism`]): without it candle counts the
/// physical cores by reading `/proc/cpuinfo` at every matrix product, which was 59 % of a
/// global run's time over 10,000 short series (six products per series to score them).
pub fn configure_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        if let Ok(n) = std::thread::available_parallelism() {
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        }
    }
}

/// Named parameters, as stored in the checkpoint.
pub type Weights = BTreeMap<String, Tensor>;

/// The dense head's weight, `[outputs, last width]`.
pub const DENSE_WEIGHT: &str = "dense.weight";
/// The dense head's bias, `[outputs]`.
pub const DENSE_BIAS: &str = "dense.bias";

/// The names of recurrent layer `l`'s four parameters, as PyTorch names them
/// (`gru.weight_ih_l0`): weight_ih, weight_hh, bias_ih, bias_hh.
pub fn layer_names(cell: Cell, l: usize) -> [String; 4] {
    let c = cell.name();
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|p| format!("{c}.{p}_l{l}"))
}

/// Name and shape of every parameter, in a fixed order: the one place both are written.
pub fn param_shapes(network: &NetworkConfig, io: &Io) -> Vec<(String, Vec<usize>)> {
    let mut shapes = Vec::new();
    let mut input = io.input_width;
    let g = network.cell.gates();
    for (l, &h) in network.layers.iter().enumerate() {
        let [w_ih, w_hh, b_ih, b_hh] = layer_names(network.cell, l);
        shapes.push((w_ih, vec![g * h, input]));
        shapes.push((w_hh, vec![g * h, h]));
        shapes.push((b_ih, vec![g * h]));
        shapes.push((b_hh, vec![g * h]));
        input = h;
    }
    shapes.push((DENSE_WEIGHT.into(), vec![io.outputs(), input]));
    shapes.push((DENSE_BIAS.into(), vec![io.outputs()]));
    shapes
}

/// Fresh parameters with PyTorch's initialisation: every recurrent parameter (GRU, LSTM
/// or RNN alike) ~ U(−1/√H, 1/√H);
/// the dense weight and bias ~ U(−1/√in, 1/√in) (`kaiming_uniform_(a=√5)` reduces to that).
pub fn init_weights(
    network: &NetworkConfig,
    io: &Io,
    rng: &mut Rng64,
    device: &Device,
) -> Result<Weights> {
    let last = *network.layers.last().unwrap_or(&1);
    let mut weights = Weights::new();
    for (name, shape) in param_shapes(network, io) {
        let fan = if name == DENSE_WEIGHT || name == DENSE_BIAS {
            last
        } else {
            shape[0] / network.cell.gates() // H
        };
        let bound = 1.0 / (fan as f32).sqrt();
        let n: usize = shape.iter().product();
        let data = rng::uniform(rng, n, bound);
        weights.insert(name, Tensor::from_vec(data, shape, device)?);
    }
    Ok(weights)
}

/// Which steps of a window training's gradient reaches, in every recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backprop {
    /// Every step: backpropagation through the whole window.
    #[default]
    Whole,
    /// The last `n` steps only (truncated backpropagation through time, `n` ≥ 1): the
    /// steps before run forward as under PyTorch's `no_grad()`, so neither their states
    /// nor what they hand on to the last `n` steps carry a gradient (as after
    /// `h.detach()` there). Backward, the larger part of a batch's work, runs over `n`
    /// steps instead of the window's.
    Last(usize),
}

impl Backprop {
    /// `--backprop-steps N`: 0 for the whole window.
    pub fn from_steps(n: usize) -> Backprop {
        match n {
            0 => Backprop::Whole,
            n => Backprop::Last(n),
        }
    }

    /// The first step the gradient reaches in a window of `seq` steps (0: every step; the
    /// whole window when `n` is at least `seq`).
    pub fn first_step(self, seq: usize) -> usize {
        match self {
            Backprop::Whole => 0,
            Backprop::Last(n) => seq.saturating_sub(n.max(1)),
        }
    }
}

/// The stacked recurrent forecaster.
#[derive(Debug, Clone)]
pub struct Model {
    layers: Vec<Recurrent>,
    dense_w: Tensor,
    dense_b: Tensor,
    dropout: f32,
    /// Values per input step, steps predicted at once (K) and the quantile levels of the
    /// head's outputs.
    io: Io,
    /// The steps a backward through [`Model::forward`] reaches.
    backprop: Backprop,
}

impl Model {
    /// Builds the network from `weights`, which must hold every parameter of
    /// [`param_shapes`] with that shape (the checkpoint loader checks this first).
    pub fn new(network: &NetworkConfig, io: &Io, weights: &Weights) -> Result<Model> {
        let get = |name: &str| {
            weights
                .get(name)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor {name}")))
        };
        let cell = network.cell;
        let layers = (0..network.layers.len())
            .map(|l| {
                let [w_ih, w_hh, b_ih, b_hh] = layer_names(cell, l);
                Recurrent::new(cell, get(&w_ih)?, get(&w_hh)?, get(&b_ih)?, get(&b_hh)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Model {
            layers,
            dense_w: get(DENSE_WEIGHT)?,
            dense_b: get(DENSE_BIAS)?,
            dropout: network.dropout as f32,
            io: io.clone(),
            backprop: Backprop::Whole,
        })
    }

    /// The same network, its backward reaching the steps `backprop` says (training).
    pub fn with_backprop(self, backprop: Backprop) -> Model {
        Model { backprop, ..self }
    }

    /// The quantile levels the head forecasts at each step, increasing; empty for a point
    /// model.
    pub fn quantiles(&self) -> &[f64] {
        &self.io.quantiles
    }

    /// Values per input step the network reads.
    pub fn input_width(&self) -> usize {
        self.io.input_width
    }

    /// Steps predicted at once (K).
    pub fn horizon(&self) -> usize {
        self.io.horizon
    }

    /// Outputs per step: Q for a quantile model, 1 for a point model.
    pub fn outputs_per_step(&self) -> usize {
        self.io.outputs_per_step()
    }

    /// The same network on the same weights, detached from autograd: nothing it computes
    /// records a backward.
    fn detached(&self) -> Model {
        Model {
            layers: self.layers.iter().map(Recurrent::detached).collect(),
            dense_w: self.dense_w.detach(),
            dense_b: self.dense_b.detach(),
            dropout: self.dropout,
            io: self.io.clone(),
            backprop: self.backprop,
        }
    }

    /// The same network with every recurrent layer run step by step on candle ops.
    pub fn step_by_step(mut self) -> Model {
        self.layers = self
            .layers
            .into_iter()
            .map(Recurrent::step_by_step)
            .collect();
        self
    }

    /// The recurrent layers, input side first.
    pub fn layers(&self) -> &[Recurrent] {
        &self.layers
    }

    /// `xs`: `[batch, window, input_width]` scaled inputs → `[batch, K]` scaled next K values,
    /// or for a quantile model `[batch, K·Q]`, step-major (output `k·Q + j`: step `k`,
    /// quantile `j`). With `dropout_rng` (training), dropout follows each recurrent layer.
    pub fn forward(&self, xs: &Tensor, mut dropout_rng: Option<&mut Rng64>) -> Result<Tensor> {
        // Dropout between two layers is applied by the layer above, from draws taken here in
        // the order `dropout` would take them; after the last layer it is a tensor op.
        let (batch, seq, _) = xs.dims3()?;
        let below = &self.layers[..self.layers.len() - 1];
        let mut drops = vec![None];
        for layer in below {
            drops.push(match dropout_rng.as_deref_mut() {
                Some(rng) if self.dropout > 0.0 => Some(MaskDraws::take(
                    rng,
                    batch * seq * layer.hidden(),
                    self.dropout,
                )),
                _ => None,
            });
        }
        let mut h = if self.layers.iter().all(|l| l.runs_fused(xs)) {
            let packed = (self.layers.iter().map(Recurrent::packed)).collect::<Result<Vec<_>>>()?;
            let widths: Vec<usize> = self.layers.iter().map(Recurrent::hidden).collect();
            fused::stack(
                self.layers[0].cell(),
                xs,
                &Tensor::cat(&packed, 0)?,
                &widths,
                drops,
                self.backprop,
            )?
        } else {
            let mut h = xs.clone();
            for ((l, layer), drop) in self.layers.iter().enumerate().zip(drops) {
                h = layer.forward(&h, l < below.len(), drop, self.backprop)?;
            }
            h
        };
        if let Some(rng) = dropout_rng {
            h = dropout(&h, self.dropout, rng)?;
        }
        h.matmul(&self.dense_w.t()?)?.broadcast_add(&self.dense_b)
    }

    /// Each layer's states and saved gates over one window (`[window, input_width]`, a zero
    /// initial state), computed by the kernels that train the model: what `gruf inspect`
    /// shows.
    pub fn trace(&self, window: &[f32]) -> Result<Vec<fused::Trace>> {
        let mut input = window.to_vec();
        let mut width = self.io.input_width;
        let mut traces = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let params = layer
                .packed()?
                .to_device(&Device::Cpu)?
                .to_dtype(candle_core::DType::F32)?
                .to_vec1::<f32>()?;
            let trace = fused::trace(layer.cell(), &input, width, &params, layer.hidden());
            input.clone_from(&trace.states);
            width = layer.hidden();
            traces.push(trace);
        }
        Ok(traces)
    }

    /// The dropout rate after each recurrent layer, as trained (0: none).
    pub fn dropout(&self) -> f32 {
        self.dropout
    }

    /// Predicts in batches without dropout: `inputs` holds `n` windows (`[window,
    /// input_width]` each) back to back; the result, each window's outputs (K, or K·Q) back
    /// to back.
    pub fn predict(&self, inputs: &[f32], window: usize, device: &Device) -> Result<Vec<f32>> {
        self.in_chunks(inputs, window, device, None)
    }

    /// As [`Model::predict`], with dropout on as in training (Monte Carlo dropout): a fresh
    /// mask from `rng` after each recurrent layer, in each chunk of windows. The masks
    /// drawn depend only on `rng` and the number of windows, so the same generator state
    /// gives the same outputs.
    pub fn sample(
        &self,
        inputs: &[f32],
        window: usize,
        device: &Device,
        rng: &mut Rng64,
    ) -> Result<Vec<f32>> {
        self.in_chunks(inputs, window, device, Some(rng))
    }

    /// Runs [`Model::forward`] over `inputs` in chunks of 512 windows, on weights detached
    /// from autograd: a model being trained (validation each epoch, the calibration after)
    /// would otherwise record a backward that never runs, and the fused ops would save
    /// every step's gate values for it (`[512, T, S·H]` per layer and chunk).
    fn in_chunks(
        &self,
        inputs: &[f32],
        window: usize,
        device: &Device,
        mut rng: Option<&mut Rng64>,
    ) -> Result<Vec<f32>> {
        const CHUNK: usize = 512;
        let model = self.detached();
        let width = self.io.input_width;
        let step = (window * width).max(1);
        let mut out = Vec::with_capacity(inputs.len() / step);
        for chunk in inputs.chunks(CHUNK * step) {
            let n = chunk.len() / step;
            let xs = Tensor::from_slice(chunk, (n, window, width), device)?;
            let ys = model.forward(&xs, rng.as_deref_mut())?;
            out.extend(ys.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }
}

/// Inverted dropout with a mask from our generator ([`rng::dropout_mask`]): each element
/// is zeroed with probability `p`, the rest scaled by 1/(1 − p), as `torch.nn.Dropout` does
/// in training.
pub fn dropout(xs: &Tensor, p: f32, rng: &mut Rng64) -> Result<Tensor> {
    if p <= 0.0 {
        return Ok(xs.clone());
    }
    let mask = rng::dropout_mask(rng, xs.elem_count(), p);
    xs * Tensor::from_vec(mask, xs.shape(), xs.device())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use rand::SeedableRng;

    #[test]
    fn init_follows_pytorch_bounds_and_is_seeded() {
        let network = NetworkConfig {
            layers: vec![4, 9],
            dropout: 0.2,
            ..Default::default()
        };
        let io = Io::point(1, 1);
        let dev = Device::Cpu;
        let a = init_weights(&network, &io, &mut Rng64::seed_from_u64(7), &dev).unwrap();
        let b = init_weights(&network, &io, &mut Rng64::seed_from_u64(7), &dev).unwrap();
        for (name, shape) in param_shapes(&network, &io) {
            let t = &a[&name];
            assert_eq!(t.dims(), shape.as_slice(), "{name}");
            let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let bound = if name.contains("_l0") { 0.5 } else { 1.0 / 3.0 };
            assert!(v.iter().all(|x| x.abs() <= bound + 1e-7), "{name}");
            assert_eq!(v, b[&name].flatten_all().unwrap().to_vec1::<f32>().unwrap());
        }
    }

    /// A quantile head has K·Q outputs; the recurrent layers are drawn as a point model's
    /// of the same seed (the dense head is drawn last).
    #[test]
    fn a_quantile_head_has_k_times_q_outputs() {
        let network = NetworkConfig {
            layers: vec![4, 6],
            ..Default::default()
        };
        let point = Io::point(1, 3);
        let io = Io {
            quantiles: vec![0.1, 0.5, 0.9],
            ..point.clone()
        };
        assert_eq!(io.outputs(), 9);
        let shapes = param_shapes(&network, &io);
        assert_eq!(shapes[shapes.len() - 2].1, vec![9, 6]);
        assert_eq!(shapes[shapes.len() - 1].1, vec![9]);
        let dev = Device::Cpu;
        let w = init_weights(&network, &io, &mut Rng64::seed_from_u64(7), &dev).unwrap();
        let p = init_weights(&network, &point, &mut Rng64::seed_from_u64(7), &dev).unwrap();
        for (name, _) in param_shapes(&network, &point)
            .iter()
            .filter(|(n, _)| n.starts_with("gru"))
        {
            let v = |m: &Weights| m[name].flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(v(&w), v(&p), "{name}");
        }
        let model = Model::new(&network, &io, &w).unwrap();
        assert_eq!(model.quantiles(), &[0.1, 0.5, 0.9]);
        assert_eq!(model.outputs_per_step(), 3);
        let xs = Tensor::zeros((2, 5, 1), DType::F32, &dev).unwrap();
        assert_eq!(model.forward(&xs, None).unwrap().dims(), &[2, 9]);
        assert_eq!(model.predict(&[0.0; 10], 5, &dev).unwrap().len(), 18);
    }

    #[test]
    fn dropout_zeroes_about_p_and_keeps_the_mean() {
        let xs = Tensor::ones((100, 100), DType::F32, &Device::Cpu).unwrap();
        let out = dropout(&xs, 0.2, &mut Rng64::seed_from_u64(1)).unwrap();
        let v = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let zeros = v.iter().filter(|&&x| x == 0.0).count() as f64 / v.len() as f64;
        assert!((zeros - 0.2).abs() < 0.02, "{zeros}");
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
    }
}
