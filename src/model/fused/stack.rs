//! A model's whole stack of recurrent layers as one candle op, each layer run by the fused
//! kernel of `mod.rs` in turn, forward and then backward in reverse.
//!
//! Why: as separate ops, every layer's `[B, T, H]` states left for candle and came back as a
//! gradient, which candle's autograd sums into a zero-filled tensor of the same size on
//! the main thread while the kernel's threads wait (a plain RNN's epoch spent about a
//! quarter of its main thread's time there). Inside one op the states between layers stay
//! in the kernel's reusable buffers, the gradient reaching a layer's states is the one the
//! layer above computed, and the first layer computes no gradient for its input when that
//! input is data. Dropout between layers is applied here too (`Dropped`).

use super::*;
use candle_core::CustomOp2;

/// Runs the layers of `cell`, `widths` wide, input side first, over `xs [B, T, in]` from
/// zero initial states: the last layer's last state `[B, H_last]`. `params` is every
/// layer's [`pack`] concatenated in order; `dropouts[l]` is the dropout on layer `l`'s input
/// (the first layer's must be `None`). CPU and f32 only.
///
/// `backprop` says which steps backward reaches, in every layer.
///
/// The same bits as running each layer by [`sequence`] with a zero initial state,
/// `dropouts[l]` and `backprop`, forward and backward.
pub fn stack(
    cell: Cell,
    xs: &Tensor,
    params: &Tensor,
    widths: &[usize],
    dropouts: Vec<Option<MaskDraws>>,
    backprop: Backprop,
) -> Result<Tensor> {
    keep_freed_memory();
    let (batch, seq, input) = xs.dims3()?;
    let layers = Layers::new(cell, batch, seq, input, widths);
    if widths.is_empty() || dropouts.len() != widths.len() || dropouts[0].is_some() {
        candle_core::bail!(
            "fused stack: {} layers, {} dropouts",
            widths.len(),
            dropouts.len()
        );
    }
    if params.elem_count() != layers.params() {
        candle_core::bail!(
            "fused stack: {} parameters for layers {widths:?}, not {}",
            params.elem_count(),
            layers.params()
        );
    }
    for (l, d) in dropouts.iter().enumerate() {
        if let Some(d) = d {
            if d.len() != batch * seq * widths[l - 1] {
                candle_core::bail!(
                    "fused stack: layer {l}'s dropout mask has {} elements",
                    d.len()
                );
            }
        }
    }
    let saves = if xs.track_op() || params.track_op() {
        Saves::Every
    } else {
        Saves::Latest
    };
    let op = Stack {
        layers,
        dropouts,
        saves,
        backprop,
        saved: Mutex::new(None),
    };
    xs.contiguous()?.apply_op2(&params.contiguous()?, op)
}

/// The shapes of the stack.
#[derive(Debug, Clone)]
struct Layers {
    cell: Cell,
    batch: usize,
    seq: usize,
    input: usize,
    widths: Vec<usize>,
}

impl Layers {
    fn new(cell: Cell, batch: usize, seq: usize, input: usize, widths: &[usize]) -> Layers {
        Layers {
            cell,
            batch,
            seq,
            input,
            widths: widths.to_vec(),
        }
    }

    /// Layer `l`'s dimensions.
    fn dims(&self, l: usize) -> Dims {
        Dims {
            batch: self.batch,
            seq: self.seq,
            input: if l == 0 {
                self.input
            } else {
                self.widths[l - 1]
            },
            hidden: self.widths[l],
            gates: self.cell.gates(),
        }
    }

    /// Where layer `l`'s parameters lie in the packed buffer.
    fn span(&self, l: usize) -> std::ops::Range<usize> {
        let start = (0..l).map(|k| self.dims(k).params()).sum();
        start..start + self.dims(l).params()
    }

    fn params(&self) -> usize {
        self.span(self.widths.len() - 1).end
    }
}

struct Stack {
    layers: Layers,
    dropouts: Vec<Option<MaskDraws>>,
    saves: Saves,
    /// The steps backward reaches, in every layer.
    backprop: Backprop,
    saved: Mutex<Option<Vec<LayerSaved>>>,
}

/// What forward keeps of one layer for backward.
struct LayerSaved {
    /// Every step's state `[B, T, H]`.
    out: Vec<f32>,
    /// What the cell saved per step.
    gates: Vec<f32>,
    /// The layer's input after dropout, and the mask.
    dropped: Option<Dropped>,
}

impl LayerSaved {
    fn recycle(self) {
        recycle(self.out);
        recycle(self.gates);
        if let Some(dropped) = self.dropped {
            dropped.recycle();
        }
    }
}

fn poisoned<T>(_: T) -> candle_core::Error {
    candle_core::Error::Msg("fused stack: poisoned lock".into())
}

impl CustomOp2 for Stack {
    fn name(&self) -> &'static str {
        match self.layers.cell {
            Cell::Gru => "gruf-fused-gru-stack",
            Cell::Lstm => "gruf-fused-lstm-stack",
            Cell::Rnn => "gruf-fused-rnn-stack",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x0 = contiguous_f32(s1, l1, "input")?;
        let all = contiguous_f32(s2, l2, "parameters")?;
        let ls = &self.layers;
        let mut saved: Vec<LayerSaved> = Vec::with_capacity(ls.widths.len());
        for l in 0..ls.widths.len() {
            let d = ls.dims(l);
            let p = Params::split(&all[ls.span(l)], d);
            let h0 = vec![0.0f32; d.batch * d.hidden];
            let x = if l == 0 { x0 } else { &saved[l - 1].out };
            let dropped = (self.dropouts[l].as_ref()).map(|m| Dropped::new(x, m, d.seq * d.input));
            let x = dropped.as_ref().map_or(x, |dr| &dr.x);
            let (out, gates) = run_forward(ls.cell, d, x, &p, &h0, self.saves, false);
            saved.push(LayerSaved {
                out,
                gates,
                dropped,
            });
        }
        let h = *ls.widths.last().unwrap_or(&0);
        let last = last_steps(saved.last().map_or(&[][..], |s| &s.out[..]), ls.seq, h);
        let shape = Shape::from((ls.batch, h));
        if self.saves == Saves::Latest {
            saved.into_iter().for_each(LayerSaved::recycle);
        } else {
            *self.saved.lock().map_err(poisoned)? = Some(saved);
        }
        Ok((CpuStorage::F32(last), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        params: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let saved = (self.saved.lock().map_err(poisoned)?.take()).ok_or_else(|| {
            candle_core::Error::Msg("fused stack: backward ran twice or without forward".into())
        })?;
        let (x, params, grad_res) = (
            x.contiguous()?,
            params.contiguous()?,
            grad_res.contiguous()?,
        );
        let (xs, xl) = x.storage_and_layout();
        let (ps, pl) = params.storage_and_layout();
        let (gs, gl) = grad_res.storage_and_layout();
        let x0 = cpu_f32(&xs, xl, "input")?;
        let all = cpu_f32(&ps, pl, "parameters")?;
        let grad = cpu_f32(&gs, gl, "gradient")?;
        let ls = &self.layers;
        let mut dparams = vec![0.0f32; ls.params()];
        // The gradient reaching the states of the layer being run, from the layer above.
        let mut above: Option<Vec<f32>> = None;
        for l in (0..ls.widths.len()).rev() {
            let d = ls.dims(l);
            let s = &saved[l];
            let input = if l == 0 { x0 } else { &saved[l - 1].out };
            let h0 = vec![0.0f32; d.batch * d.hidden];
            let v = Inputs {
                x: s.dropped.as_ref().map_or(input, |dr| &dr.x),
                h0: &h0,
                out: &s.out,
                gates: &s.gates,
                dout: match &above {
                    Some(g) => Dout::Every(g),
                    None => Dout::Last(grad),
                },
            };
            let wanted = Wanted::new(l > 0 || x.track_op(), self.backprop, ls.seq);
            let mut g = run_backward(ls.cell, d, &Params::split(&all[ls.span(l)], d), v, wanted);
            if let Some(dropped) = &s.dropped {
                dropped.mask_gradient(&mut g.dx);
            }
            dparams[ls.span(l)].copy_from_slice(&g.dparams);
            if let Some(done) = above.replace(g.dx) {
                recycle(done);
            }
        }
        saved.into_iter().for_each(LayerSaved::recycle);
        let dev = x.device();
        let dx = match above {
            Some(dx) if x.track_op() => Some(Tensor::from_vec(dx, x.shape(), dev)?),
            _ => None,
        };
        Ok((dx, Some(Tensor::from_vec(dparams, params.shape(), dev)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{bits, on_one_to_three_threads, wave};
    use super::*;
    use crate::rng::Rng64;
    use candle_core::{DType, Device, Var};
    use rand::SeedableRng;

    /// The stack's shapes for `cell`, and an input `[batch, seq, input]` to run it on.
    fn layers_and_input(
        cell: Cell,
        batch: usize,
        seq: usize,
        input: usize,
        widths: &[usize],
    ) -> (Layers, Var) {
        let layers = Layers::new(cell, batch, seq, input, widths);
        let x = wave(batch * seq * input, 0.3);
        (
            layers,
            Var::from_vec(x, (batch, seq, input), &Device::Cpu).unwrap(),
        )
    }

    /// The stack gives the bits of its layers run one by one by [`sequence`] (zero initial
    /// states, dropout between them or not, the gradient through every step or the last
    /// few): the last state, and the gradients of the input and of every layer's
    /// parameters, for every cell, on one, two and three threads.
    #[test]
    fn the_stack_equals_its_layers_one_by_one() {
        let dev = Device::Cpu;
        let (batch, seq, input, widths) = (7, 5, 2, [5usize, 7, 3]);
        let runs = [
            (false, Backprop::Whole),
            (true, Backprop::Whole),
            (false, Backprop::Last(2)),
            (true, Backprop::Last(4)),
        ];
        on_one_to_three_threads(|threads| {
            for cell in [Cell::Gru, Cell::Lstm, Cell::Rnn] {
                for (dropout, backprop) in runs {
                    let (layers, x) = layers_and_input(cell, batch, seq, input, &widths);
                    let params: Vec<Var> = (0..widths.len())
                        .map(|l| {
                            let n = layers.dims(l).params();
                            Var::from_vec(wave(n, 0.7 + l as f32), n, &dev).unwrap()
                        })
                        .collect();
                    let mut rng = Rng64::seed_from_u64(4);
                    let drops: Vec<Option<MaskDraws>> = (0..widths.len())
                        .map(|l| {
                            (dropout && l > 0).then(|| {
                                MaskDraws::take(&mut rng, batch * seq * widths[l - 1], 0.3)
                            })
                        })
                        .collect();
                    let all = Tensor::cat(
                        &params
                            .iter()
                            .map(|p| p.as_tensor().clone())
                            .collect::<Vec<_>>(),
                        0,
                    )
                    .unwrap();
                    let stacked = stack(cell, &x, &all, &widths, drops.clone(), backprop).unwrap();
                    let mut h = x.as_tensor().clone();
                    for (l, (p, drop)) in params.iter().zip(drops).enumerate() {
                        let h0 = Tensor::zeros((batch, widths[l]), DType::F32, &dev).unwrap();
                        h = sequence(
                            cell,
                            &h,
                            p.as_tensor(),
                            &h0,
                            l + 1 < widths.len(),
                            drop,
                            backprop,
                        )
                        .unwrap();
                    }
                    let what =
                        format!("{cell:?}, dropout {dropout}, {backprop:?}, {threads} threads");
                    assert_eq!(bits(&stacked), bits(&h), "{what}: last states");
                    let c = Tensor::from_vec(wave(h.elem_count(), 0.9), h.shape(), &dev).unwrap();
                    let gs = (&stacked * &c)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .backward()
                        .unwrap();
                    let gl = (&h * &c).unwrap().sum_all().unwrap().backward().unwrap();
                    let grad = |g: &candle_core::backprop::GradStore, v: &Var| {
                        bits(g.get(v.as_tensor()).unwrap())
                    };
                    assert_eq!(grad(&gs, &x), grad(&gl, &x), "{what}: input gradient");
                    for (l, p) in params.iter().enumerate() {
                        assert_eq!(grad(&gs, p), grad(&gl, p), "{what}: layer {l}'s gradient");
                    }
                }
            }
        });
    }

    /// A gradient through at least as many steps as the window has is the whole window's,
    /// bit for bit; through fewer, the input's gradient is zero before them and the
    /// parameters' differs.
    #[test]
    fn backprop_through_the_window_or_more_is_the_whole() {
        let dev = Device::Cpu;
        let (batch, seq, input, widths) = (4, 6, 2, [5usize, 3]);
        for cell in [Cell::Gru, Cell::Lstm, Cell::Rnn] {
            let (layers, x) = layers_and_input(cell, batch, seq, input, &widths);
            let n = layers.params();
            let all = Var::from_vec(wave(n, 0.7), n, &dev).unwrap();
            let grads = |backprop: Backprop| {
                let out = stack(cell, &x, &all, &widths, vec![None, None], backprop).unwrap();
                let g = out.sum_all().unwrap().backward().unwrap();
                let get = |v: &Var| {
                    let t = g.get(v.as_tensor()).unwrap();
                    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                };
                (get(&x), get(&all))
            };
            let whole = grads(Backprop::Whole);
            for n in [seq, seq + 3] {
                let (gx, gp) = grads(Backprop::Last(n));
                let same = |a: &[f32], b: &[f32]| {
                    a.iter()
                        .map(|v| v.to_bits())
                        .eq(b.iter().map(|v| v.to_bits()))
                };
                assert!(
                    same(&gx, &whole.0) && same(&gp, &whole.1),
                    "{cell:?}, last {n}"
                );
            }
            let (gx, gp) = grads(Backprop::Last(2));
            let before = (seq - 2) * input;
            for (b, row) in gx.chunks_exact(seq * input).enumerate() {
                assert!(row[..before].iter().all(|&v| v == 0.0), "{cell:?}: row {b}");
                assert!(row[before..].iter().any(|&v| v != 0.0), "{cell:?}: row {b}");
            }
            assert_ne!(gp, whole.1, "{cell:?}: parameter gradients");
        }
    }
}
