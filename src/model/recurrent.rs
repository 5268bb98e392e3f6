//! A recurrent layer (GRU, LSTM or plain tanh RNN) with PyTorch's equations, parameter
//! names and layouts.
//!
//! ```text
//! GRU   r  = σ(W_ir x + b_ir + W_hr h + b_hr)        weight_ih [3H, in], blocks r, z, n
//!       z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//!       n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//!       h' = (1 − z) ⊙ n + z ⊙ h
//! LSTM  i = σ(W_ii x + b_ii + W_hi h + b_hi)          weight_ih [4H, in], blocks i, f, g, o
//!       f = σ(…), g = tanh(…), o = σ(…)
//!       c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
//! RNN   h' = tanh(W_ih x + b_ih + W_hh h + b_hh)      weight_ih [H, in]
//! ```
//! `weight_hh` is `[G·H, H]` and the biases `[G·H]`, with the same gate blocks. The
//! initial state is zero (for the LSTM, both h and c).
//!
//! On the CPU the layer runs as one fused op (`fused/`: forward and hand-written backward
//! through time). On other devices (candle's `cuda` build) it runs step by step on candle
//! tensor ops; both read the same parameters, so checkpoints work everywhere.

use candle_core::{DType, Result, Tensor, D};
use candle_nn::ops::sigmoid;

use super::fused;
use super::{Backprop, Cell};
use crate::rng::MaskDraws;

#[derive(Debug, Clone)]
pub struct Recurrent {
    cell: Cell,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    hidden: usize,
    /// Use the fused op where it can run (CPU, f32); off only to compare the two paths.
    fused: bool,
}

impl Recurrent {
    /// Builds a layer of `cell` from `weight_ih [G·H, in]`, `weight_hh [G·H, H]`,
    /// `bias_ih [G·H]`, `bias_hh [G·H]`.
    pub fn new(
        cell: Cell,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor,
        b_hh: Tensor,
    ) -> Result<Recurrent> {
        let hidden = w_hh.dim(1)?;
        if w_hh.dim(0)? != cell.gates() * hidden {
            candle_core::bail!(
                "{} weight_hh is {:?}, not [{} × H, H]",
                cell.label(),
                w_hh.dims(),
                cell.gates()
            );
        }
        Ok(Recurrent {
            cell,
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            hidden,
            fused: true,
        })
    }

    pub fn cell(&self) -> Cell {
        self.cell
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The same layer on the same weights, detached from autograd.
    pub fn detached(&self) -> Recurrent {
        Recurrent {
            w_ih: self.w_ih.detach(),
            w_hh: self.w_hh.detach(),
            b_ih: self.b_ih.detach(),
            b_hh: self.b_hh.detach(),
            ..self.clone()
        }
    }

    /// The same layer, always run step by step (for comparisons and benchmarks).
    pub fn step_by_step(mut self) -> Recurrent {
        self.fused = false;
        self
    }

    /// Runs the layer over a whole sequence from a zero initial state.
    ///
    /// `xs`: `[batch, seq, in]`. Returns `[batch, seq, H]` (every step) when `all_steps`,
    /// else `[batch, H]` (the last step). With `dropout` (training, Monte Carlo dropout),
    /// the layer reads `xs` after inverted dropout with that mask. A backward reaches the
    /// steps `backprop` says.
    pub fn forward(
        &self,
        xs: &Tensor,
        all_steps: bool,
        dropout: Option<MaskDraws>,
        backprop: Backprop,
    ) -> Result<Tensor> {
        if self.runs_fused(xs) {
            let batch = xs.dim(0)?;
            let h0 = Tensor::zeros((batch, self.hidden), xs.dtype(), xs.device())?;
            let p = self.packed()?;
            fused::sequence(self.cell, xs, &p, &h0, all_steps, dropout, backprop)
        } else {
            match dropout {
                Some(draws) => {
                    let mask = Tensor::from_vec(draws.mask(), xs.shape(), xs.device())?;
                    let xs = (xs * mask.to_dtype(xs.dtype())?)?;
                    self.forward_steps(&xs, all_steps, backprop)
                }
                None => self.forward_steps(xs, all_steps, backprop),
            }
        }
    }

    /// Whether [`Recurrent::forward`] runs `xs` through the fused CPU op (else step by step
    /// on candle ops).
    pub fn runs_fused(&self, xs: &Tensor) -> bool {
        self.fused && xs.device().is_cpu() && xs.dtype() == DType::F32
    }

    /// The parameters packed as the fused op takes them.
    pub fn packed(&self) -> Result<Tensor> {
        fused::pack(&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh)
    }

    /// [`Recurrent::forward`] step by step on candle tensor ops (any device): the input
    /// projections of all steps as one product, then per step one recurrent product and
    /// the gate arithmetic. With [`Backprop::Last`], the states of the steps before the
    /// first with a gradient are detached (those steps run as without gradient).
    pub fn forward_steps(
        &self,
        xs: &Tensor,
        all_steps: bool,
        backprop: Backprop,
    ) -> Result<Tensor> {
        let (batch, seq, input) = xs.dims3()?;
        let first = backprop.first_step(seq);
        let h_size = self.hidden;
        let g = self.cell.gates() * h_size;
        let gi = xs
            .reshape((batch * seq, input))?
            .matmul(&self.w_ih.t()?)?
            .broadcast_add(&self.b_ih)?
            .reshape((batch, seq, g))?;
        let w_hh_t = self.w_hh.t()?;
        let mut h = Tensor::zeros((batch, h_size), xs.dtype(), xs.device())?;
        let mut c = h.clone();
        let mut outputs = Vec::with_capacity(if all_steps { seq } else { 0 });
        for t in 0..seq {
            let gi_t = gi.narrow(1, t, 1)?.squeeze(1)?;
            let gh = h.matmul(&w_hh_t)?.broadcast_add(&self.b_hh)?;
            let gate = |g: &Tensor, k: usize| g.narrow(D::Minus1, k * h_size, h_size);
            h = match self.cell {
                Cell::Gru => {
                    let r = sigmoid(&(gate(&gi_t, 0)? + gate(&gh, 0)?)?)?;
                    let z = sigmoid(&(gate(&gi_t, 1)? + gate(&gh, 1)?)?)?;
                    let n = (gate(&gi_t, 2)? + (r * gate(&gh, 2)?)?)?.tanh()?;
                    // (1 − z) ⊙ n + z ⊙ h, written with one product fewer.
                    (&n + (z * (h - &n)?)?)?
                }
                Cell::Lstm => {
                    let pre = (gi_t + gh)?;
                    let i = sigmoid(&gate(&pre, 0)?)?;
                    let f = sigmoid(&gate(&pre, 1)?)?;
                    let g = gate(&pre, 2)?.tanh()?;
                    let o = sigmoid(&gate(&pre, 3)?)?;
                    c = ((f * &c)? + (i * g)?)?;
                    (o * c.tanh()?)?
                }
                Cell::Rnn => (gi_t + gh)?.tanh()?,
            };
            if t < first {
                (h, c) = (h.detach(), c.detach());
            }
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
