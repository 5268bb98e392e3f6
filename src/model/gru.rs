//! A GRU layer with PyTorch's equations, parameter names and layouts.
//!
//! ```text
//! r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//! `weight_ih` is `[3H, in]` and `weight_hh` `[3H, H]`, gate blocks in the order r, z, n;
//! the biases are `[3H]`.
//!
//! On the CPU the layer runs as one fused op (`fused.rs`: forward and hand-written backward
//! through time). On other devices (candle's `cuda` build) it runs step by step on candle
//! tensor ops; both read the same parameters, so checkpoints work everywhere.

use candle_core::{DType, Result, Tensor, D};
use candle_nn::ops::sigmoid;

use super::fused;

#[derive(Debug, Clone)]
pub struct Gru {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    hidden: usize,
    /// Use the fused op where it can run (CPU, f32); off only to compare the two paths.
    fused: bool,
}

impl Gru {
    /// Builds a layer from `weight_ih [3H, in]`, `weight_hh [3H, H]`, `bias_ih [3H]`, `bias_hh [3H]`.
    pub fn new(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Result<Gru> {
        let hidden = w_hh.dim(1)?;
        Ok(Gru {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            hidden,
            fused: true,
        })
    }

    /// The same layer, always run step by step (for comparisons and benchmarks).
    pub fn step_by_step(mut self) -> Gru {
        self.fused = false;
        self
    }

    /// Runs the layer over a whole sequence from a zero initial state.
    ///
    /// `xs`: `[batch, seq, in]`. Returns `[batch, seq, H]` (every step) when `all_steps`,
    /// else `[batch, H]` (the last step).
    pub fn forward(&self, xs: &Tensor, all_steps: bool) -> Result<Tensor> {
        if self.fused && xs.device().is_cpu() && xs.dtype() == DType::F32 {
            self.forward_fused(xs, all_steps)
        } else {
            self.forward_steps(xs, all_steps)
        }
    }

    /// [`Gru::forward`] with the fused CPU op.
    pub fn forward_fused(&self, xs: &Tensor, all_steps: bool) -> Result<Tensor> {
        let batch = xs.dim(0)?;
        let params = fused::pack(&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh)?;
        let h0 = Tensor::zeros((batch, self.hidden), xs.dtype(), xs.device())?;
        fused::gru_sequence(xs, &params, &h0, all_steps)
    }

    /// [`Gru::forward`] step by step on candle tensor ops (any device): the input
    /// projections of all steps as one product, then per step one recurrent product and
    /// the gate arithmetic.
    pub fn forward_steps(&self, xs: &Tensor, all_steps: bool) -> Result<Tensor> {
        let (batch, seq, input) = xs.dims3()?;
        let h_size = self.hidden;
        let gi = xs
            .reshape((batch * seq, input))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(&self.b_ih)?
            .reshape((batch, seq, 3 * h_size))?;
        let w_hh_t = self.w_hh.t()?;
        let mut h = Tensor::zeros((batch, h_size), xs.dtype(), xs.device())?;
        let mut outputs = Vec::with_capacity(if all_steps { seq } else { 0 });
        for t in 0..seq {
            let gi_t = gi.narrow(1, t, 1)?.squeeze(1)?;
            let gh = h.matmul(&w_hh_t)?.broadcast_add(&self.b_hh)?;
            let gate = |g: &Tensor, k: usize| g.narrow(D::Minus1, k * h_size, h_size);
            let r = sigmoid(&(gate(&gi_t, 0)? + gate(&gh, 0)?)?)?;
            let z = sigmoid(&(gate(&gi_t, 1)? + gate(&gh, 1)?)?)?;
            let n = (gate(&gi_t, 2)? + (r * gate(&gh, 2)?)?)?.tanh()?;
            // (1 − z) ⊙ n + z ⊙ h, written with one product fewer.
            h = (&n + (z * (h - &n)?)?)?;
            if all_steps {
                outputs.push(h.clone());
            }
        }
        if all_steps {
            Tensor::stack(&outputs, 1)
        } else {
            Ok(h)
        }
    }
}
