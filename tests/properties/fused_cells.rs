//! The fused CPU recurrent layers (src/model/fused/) — GRU, LSTM and plain RNN — against
//! independent step-by-step references over random shapes, including batch 1, hidden size
//! 1 and sequence length 1: outputs and the gradients of the input sequence, the initial
//! state, both weights and both biases. The references are candle-nn's `rnn::GRU` and
//! `rnn::LSTM`, a tanh RNN written here in candle ops, and gruf's own candle-op path
//! (`Recurrent::step_by_step`). (The comparisons with PyTorch are in
//! tests/reference/pytorch_reference.rs, on fixtures made by tests/fixtures/cell_reference.py.)
//!
//! Tolerance: |fused − reference| ≤ 1e-5 · |reference| + 1e-6. The relative part is the
//! bound asked for; the 1e-6 absolute floor is for entries near zero, where a float32 sum
//! of O(1) terms in a different order has an absolute, not relative, error of a few ulps
//! of 1 (weight gradients are sums over batch × steps computed as one product in the fused
//! op and step by step in the references).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::rnn::{GRUConfig, GRUState, LSTMConfig, LSTMState, RNN};
use candle_nn::VarBuilder;
use gruf::model::recurrent::Recurrent;
use gruf::model::{fused, init_weights, Backprop, Cell, Io, Model, NetworkConfig};
use gruf::rng::{self, Rng64};
use proptest::prelude::*;
use rand::SeedableRng;

use crate::close::first_mismatch;

/// The tolerance above: relative, and the absolute floor.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

fn close(what: &str, got: &Tensor, want: &Tensor) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.dims(), want.dims(), "{}: shape", what);
    let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let w = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    match first_mismatch(&g, &w, RTOL, ATOL) {
        None => Ok(()),
        Some((i, a, b)) => Err(TestCaseError::fail(format!(
            "{what}[{i}]: fused {a} vs reference {b}"
        ))),
    }
}

fn random(rng: &mut Rng64, shape: &[usize], scale: f32) -> Tensor {
    let v = rng::uniform(rng, shape.iter().product(), scale);
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

struct Case {
    cell: Cell,
    x: Var,
    h0: Var,
    w_ih: Var,
    w_hh: Var,
    b_ih: Var,
    b_hh: Var,
    /// Weights of the loss Σ c ⊙ out, so every output element gets its own gradient.
    c: Tensor,
}

fn case(cell: Cell, batch: usize, seq: usize, input: usize, hidden: usize, seed: u64) -> Case {
    let mut rng = Rng64::seed_from_u64(seed);
    let k = 1.0 / (hidden as f32).sqrt();
    let g = cell.gates() * hidden;
    let var = |t: Tensor| Var::from_tensor(&t).unwrap();
    Case {
        cell,
        x: var(random(&mut rng, &[batch, seq, input], 1.0)),
        h0: var(random(&mut rng, &[batch, hidden], 0.5)),
        w_ih: var(random(&mut rng, &[g, input], k)),
        w_hh: var(random(&mut rng, &[g, hidden], k)),
        b_ih: var(random(&mut rng, &[g], k)),
        b_hh: var(random(&mut rng, &[g], k)),
        c: random(&mut rng, &[batch, seq, hidden], 1.0),
    }
}

impl Case {
    fn vars(&self) -> [(&'static str, &Var); 6] {
        [
            ("x", &self.x),
            ("h0", &self.h0),
            ("w_ih", &self.w_ih),
            ("w_hh", &self.w_hh),
            ("b_ih", &self.b_ih),
            ("b_hh", &self.b_hh),
        ]
    }

    /// Output and gradients of Σ c ⊙ out, by name.
    fn run(&self, out: Tensor) -> (Tensor, HashMap<&'static str, Tensor>) {
        let grads = (&out * &self.c)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g = self
            .vars()
            .into_iter()
            .map(|(n, v)| (n, grads.get(v.as_tensor()).unwrap().clone()))
            .collect();
        (out, g)
    }

    fn fused(&self) -> (Tensor, HashMap<&'static str, Tensor>) {
        let params = fused::pack(&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh).unwrap();
        self.run(
            fused::sequence(
                self.cell,
                &self.x,
                &params,
                &self.h0,
                true,
                None,
                gruf::model::Backprop::Whole,
            )
            .unwrap(),
        )
    }

    /// The independent reference for this case's cell, from the same initial state (the
    /// LSTM's cell state zero).
    fn reference(&self) -> (Tensor, HashMap<&'static str, Tensor>) {
        match self.cell {
            Cell::Gru | Cell::Lstm => self.candle_nn(),
            Cell::Rnn => self.tanh_rnn(),
        }
    }

    /// h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), step by step in candle ops.
    fn tanh_rnn(&self) -> (Tensor, HashMap<&'static str, Tensor>) {
        let seq = self.x.dim(1).unwrap();
        let mut h = self.h0.as_tensor().clone();
        let mut hs = Vec::new();
        for t in 0..seq {
            let x_t = self.x.narrow(1, t, 1).unwrap().squeeze(1).unwrap();
            let pre = (x_t
                .matmul(&self.w_ih.t().unwrap())
                .unwrap()
                .broadcast_add(self.b_ih.as_tensor())
                .unwrap()
                + h.matmul(&self.w_hh.t().unwrap())
                    .unwrap()
                    .broadcast_add(self.b_hh.as_tensor())
                    .unwrap())
            .unwrap();
            h = pre.tanh().unwrap();
            hs.push(h.clone());
        }
        self.run(Tensor::stack(&hs, 1).unwrap())
    }

    fn candle_nn(&self) -> (Tensor, HashMap<&'static str, Tensor>) {
        let (_, _, input) = self.x.dims3().unwrap();
        let hidden = self.h0.dim(1).unwrap();
        let tensors = HashMap::from([
            ("weight_ih_l0".to_string(), self.w_ih.as_tensor().clone()),
            ("weight_hh_l0".to_string(), self.w_hh.as_tensor().clone()),
            ("bias_ih_l0".to_string(), self.b_ih.as_tensor().clone()),
            ("bias_hh_l0".to_string(), self.b_hh.as_tensor().clone()),
        ]);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let h0 = self.h0.as_tensor().clone();
        let hs: Vec<Tensor> = if self.cell == Cell::Lstm {
            let lstm = candle_nn::rnn::lstm(input, hidden, LSTMConfig::default(), vb).unwrap();
            let c0 = h0.zeros_like().unwrap();
            let states = lstm.seq_init(&self.x, &LSTMState::new(h0, c0)).unwrap();
            states.into_iter().map(|s| s.h).collect()
        } else {
            let gru = candle_nn::rnn::gru(input, hidden, GRUConfig::default(), vb).unwrap();
            let states = gru.seq_init(&self.x, &GRUState { h: h0 }).unwrap();
            states.into_iter().map(|s| s.h).collect()
        };
        self.run(Tensor::stack(&hs, 1).unwrap())
    }
}

fn cells() -> impl Strategy<Value = Cell> {
    prop::sample::select(Cell::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn fused_equals_an_independent_reference(cell in cells(), batch in 1usize..6, seq in 1usize..9, input in 1usize..5, hidden in 1usize..11, seed in any::<u64>()) {
        let c = case(cell, batch, seq, input, hidden, seed);
        let (out, grads) = c.fused();
        let (want_out, want) = c.reference();
        close("output", &out, &want_out)?;
        for (name, _) in c.vars() {
            close(&format!("grad {name}"), &grads[name], &want[name])?;
        }
    }

    /// Also with the gradient through the last `backprop` steps only (0: all of them;
    /// more than `seq`: all of them too), which the step-by-step path does by detaching
    /// the state there.
    #[test]
    fn fused_equals_our_step_by_step_path(cell in cells(), batch in 1usize..6, seq in 1usize..9, input in 1usize..5, hidden in 1usize..11, last_only in any::<bool>(), backprop in 0usize..10, seed in any::<u64>()) {
        // Zero initial state, as the model uses it, through the layer's two paths.
        let c = case(cell, batch, seq, input, hidden, seed);
        let backprop = Backprop::from_steps(backprop);
        let gru = Recurrent::new(cell, c.w_ih.as_tensor().clone(), c.w_hh.as_tensor().clone(), c.b_ih.as_tensor().clone(), c.b_hh.as_tensor().clone()).unwrap();
        let weight = if last_only { c.c.narrow(1, seq - 1, 1).unwrap().squeeze(1).unwrap() } else { c.c.clone() };
        let run = |g: &Recurrent| {
            let out = g.forward(c.x.as_tensor(), !last_only, None, backprop).unwrap();
            let grads = (&out * &weight).unwrap().sum_all().unwrap().backward().unwrap();
            let g: Vec<Tensor> = [&c.x, &c.w_ih, &c.w_hh, &c.b_ih, &c.b_hh].iter().map(|v| grads.get(v.as_tensor()).unwrap().clone()).collect();
            (out, g)
        };
        let (out, grads) = run(&gru);
        let (want_out, want) = run(&gru.clone().step_by_step());
        close("output", &out, &want_out)?;
        for (i, (g, w)) in grads.iter().zip(&want).enumerate() {
            close(&format!("grad {i}"), g, w)?;
        }
    }
}

/// The whole seed-shaped network of each cell with dropout between layers: fused and
/// step-by-step see the same dropout masks (same seed) and must agree on the loss and every
/// gradient.
///
/// Also with the gradient through each window's last 5 of its 12 steps only (`Backprop`),
/// which the step-by-step path does by detaching every layer's state there.
#[test]
fn whole_model_with_dropout_matches() {
    for cell in Cell::ALL {
        whole_model_matches(cell, Backprop::Whole);
        whole_model_matches(cell, Backprop::Last(5));
    }
}

fn whole_model_matches(cell: Cell, backprop: Backprop) {
    let network = NetworkConfig {
        cell,
        layers: vec![5, 7, 3],
        dropout: 0.3,
    };
    let io = Io::point(1, 1);
    let dev = Device::Cpu;
    let init = init_weights(&network, &io, &mut Rng64::seed_from_u64(11), &dev).unwrap();
    let vars: Vec<(String, Var)> = init
        .iter()
        .map(|(n, t)| (n.clone(), Var::from_tensor(t).unwrap()))
        .collect();
    let weights = vars
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let model = Model::new(&network, &io, &weights)
        .unwrap()
        .with_backprop(backprop);
    let mut rng = Rng64::seed_from_u64(5);
    let xs = random(&mut rng, &[9, 12, 1], 1.0);
    let ys = random(&mut rng, &[9, 1], 1.0);
    let run = |m: &Model| {
        let out = m.forward(&xs, Some(&mut Rng64::seed_from_u64(99))).unwrap();
        let loss = (out - &ys).unwrap().sqr().unwrap().mean_all().unwrap();
        let grads = loss.backward().unwrap();
        let g: Vec<Tensor> = vars
            .iter()
            .map(|(_, v)| grads.get(v.as_tensor()).unwrap().clone())
            .collect();
        (loss, g)
    };
    let (loss, grads) = run(&model);
    let (want_loss, want) = run(&model.clone().step_by_step());
    close(&format!("{cell} loss"), &loss, &want_loss).unwrap();
    for ((name, _), (g, w)) in vars.iter().zip(grads.iter().zip(&want)) {
        assert!(
            name.starts_with(cell.name()) || name.starts_with("dense"),
            "{name}"
        );
        close(name, g, w).unwrap();
    }
}

/// `Model::trace` (what `gruf inspect` draws) runs the training kernels: its last layer's
/// last state through the dense head is the model's own forecast, for every cell, and a
/// sigmoid gate stays in (0, 1).
#[test]
fn trace_agrees_with_the_forward_pass() {
    for cell in Cell::ALL {
        let network = NetworkConfig {
            cell,
            layers: vec![6, 4],
            ..Default::default()
        };
        let io = Io::point(1, 1);
        let dev = Device::Cpu;
        let weights = init_weights(&network, &io, &mut Rng64::seed_from_u64(3), &dev).unwrap();
        let model = Model::new(&network, &io, &weights).unwrap();
        let window = rng::uniform(&mut Rng64::seed_from_u64(4), 9, 1.0);
        let traces = model.trace(&window).unwrap();
        assert_eq!(traces.len(), 2);
        let last = &traces[1];
        assert_eq!((last.steps, last.hidden, last.cell), (9, 4, cell));
        let h = &last.states[8 * 4..];
        let w = weights["dense.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let b = weights["dense.bias"].to_vec1::<f32>().unwrap()[0];
        let by_hand: f32 = h.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
        let xs = Tensor::from_vec(window.clone(), (1, 9, 1), &dev).unwrap();
        let out = model
            .forward(&xs, None)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            (out[0] - by_hand).abs() <= 1e-6,
            "{cell}: {} vs {by_hand}",
            out[0]
        );
        let saved = fused::saved_names(cell).len();
        assert_eq!(last.saved.len(), 9 * saved * 4, "{cell}");
        if cell == Cell::Gru {
            // r and z blocks of every step.
            for t in 0..9 {
                let z = &last.saved[t * 16..t * 16 + 8];
                assert!(z.iter().all(|v| *v > 0.0 && *v < 1.0), "{z:?}");
            }
        }
    }
}
