//! Optimizers behind candle-nn's [`Optimizer`] trait: RMSprop and Adam with PyTorch's
//! update rules and defaults, and gradient-norm clipping as a wrapper around any optimizer.
//!
//! Why not candle-nn's own: it has SGD and AdamW only, and its AdamW orders the float
//! operations differently, which would change every model trained with a given seed. Runs
//! repeat bit for bit, so the exact sequence of candle ops in each `step` is part of the
//! contract: the tests pin a few steps of each against values recorded from gruf 1.0 and
//! check them against PyTorch's formulas computed in f64.
//!
//! As in PyTorch, a variable without a gradient in the [`GradStore`] is left alone, its
//! optimizer state included.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
pub use candle_nn::Optimizer;

/// Hyperparameters of [`RmsProp`]; the defaults are `torch.optim.RMSprop`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamsRmsProp {
    pub lr: f64,
    /// Smoothing constant of the square average.
    pub alpha: f64,
    pub eps: f64,
}

impl Default for ParamsRmsProp {
    fn default() -> Self {
        ParamsRmsProp {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        }
    }
}

/// PyTorch's RMSprop without momentum, centring or weight decay:
/// `v ← αv + (1 − α)g²;  θ ← θ − lr · g / (√v + ε)`.
#[derive(Debug)]
pub struct RmsProp {
    vars: Vec<Var>,
    /// Per variable: the square average `v`.
    square_avg: Vec<Tensor>,
    params: ParamsRmsProp,
}

impl Optimizer for RmsProp {
    type Config = ParamsRmsProp;

    fn new(vars: Vec<Var>, params: ParamsRmsProp) -> Result<Self> {
        let vars = float_vars(vars);
        let square_avg = zeros_like(&vars)?;
        Ok(RmsProp {
            vars,
            square_avg,
            params,
        })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let ParamsRmsProp { lr, alpha, eps } = self.params;
        for (var, square_avg) in self.vars.iter().zip(&mut self.square_avg) {
            let Some(g) = grads.get(var) else { continue };
            let g = g.detach();
            let v = ((&*square_avg * alpha)? + (g.sqr()? * (1.0 - alpha))?)?;
            let update = (g / (v.sqrt()? + eps)?)?;
            *square_avg = v;
            var.set(&(var.as_tensor().detach() - (update * lr)?)?)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }
}

/// Hyperparameters of [`Adam`]; the defaults are `torch.optim.Adam`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamsAdam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for ParamsAdam {
    fn default() -> Self {
        ParamsAdam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// PyTorch's Adam without weight decay or AMSGrad, with a step count per variable:
/// `m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
///  θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`.
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    /// One per variable.
    moments: Vec<Moments>,
    params: ParamsAdam,
}

/// Adam's state for one variable.
#[derive(Debug)]
struct Moments {
    first: Tensor,
    second: Tensor,
    /// Steps this variable has taken (it takes none without a gradient).
    steps: i32,
}

impl Optimizer for Adam {
    type Config = ParamsAdam;

    fn new(vars: Vec<Var>, params: ParamsAdam) -> Result<Self> {
        let vars = float_vars(vars);
        let moments = vars
            .iter()
            .map(|v| {
                Ok(Moments {
                    first: v.as_tensor().zeros_like()?,
                    second: v.as_tensor().zeros_like()?,
                    steps: 0,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Adam {
            vars,
            moments,
            params,
        })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let ParamsAdam {
            lr,
            beta1,
            beta2,
            eps,
        } = self.params;
        for (var, state) in self.vars.iter().zip(&mut self.moments) {
            let Some(g) = grads.get(var) else { continue };
            let g = g.detach();
            state.steps += 1;
            let t = state.steps;
            let m = ((&state.first * beta1)? + (&g * (1.0 - beta1))?)?;
            let v = ((&state.second * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            let m_hat = (&m / (1.0 - beta1.powi(t)))?;
            let v_hat = (&v / (1.0 - beta2.powi(t)))?;
            state.first = m;
            state.second = v;
            let update = (m_hat / (v_hat.sqrt()? + eps)?)?;
            var.set(&(var.as_tensor().detach() - (update * lr)?)?)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }
}

/// Which optimizer, chosen at run time (`--optimizer`), with its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamsAny {
    RmsProp(ParamsRmsProp),
    Adam(ParamsAdam),
}

/// The optimizer [`ParamsAny`] picks.
#[derive(Debug)]
pub enum AnyOptimizer {
    RmsProp(RmsProp),
    Adam(Adam),
}

impl Optimizer for AnyOptimizer {
    type Config = ParamsAny;

    fn new(vars: Vec<Var>, params: ParamsAny) -> Result<Self> {
        Ok(match params {
            ParamsAny::RmsProp(p) => AnyOptimizer::RmsProp(RmsProp::new(vars, p)?),
            ParamsAny::Adam(p) => AnyOptimizer::Adam(Adam::new(vars, p)?),
        })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        match self {
            AnyOptimizer::RmsProp(o) => o.step(grads),
            AnyOptimizer::Adam(o) => o.step(grads),
        }
    }

    fn learning_rate(&self) -> f64 {
        match self {
            AnyOptimizer::RmsProp(o) => o.learning_rate(),
            AnyOptimizer::Adam(o) => o.learning_rate(),
        }
    }

    fn set_learning_rate(&mut self, lr: f64) {
        match self {
            AnyOptimizer::RmsProp(o) => o.set_learning_rate(lr),
            AnyOptimizer::Adam(o) => o.set_learning_rate(lr),
        }
    }
}

/// Configuration of [`ClipGradNorm`]: the wrapped optimizer's and the largest norm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamsClip<C> {
    pub inner: C,
    /// Largest global gradient norm; 0 = never clip (the norm is still measured).
    pub max_norm: f64,
}

/// Gradient-norm clipping around any optimizer, as `torch.nn.utils.clip_grad_norm_`: the
/// L2 norm of all the variables' gradients together ([`grad_norm`]); when it exceeds
/// `max_norm`, every gradient is multiplied by `max_norm / (norm + 1e-6)` before the
/// wrapped optimizer steps.
///
/// A non-finite norm is an error, and the step is skipped: the weights stay as they were.
/// [`ClipGradNorm::last_norm`] gives the norm of the last step (before clipping), so a
/// caller can report or check it.
#[derive(Debug)]
pub struct ClipGradNorm<O> {
    inner: O,
    vars: Vec<Var>,
    max_norm: f64,
    last_norm: Option<f32>,
}

impl<O: Optimizer> Optimizer for ClipGradNorm<O> {
    type Config = ParamsClip<O::Config>;

    fn new(vars: Vec<Var>, params: ParamsClip<O::Config>) -> Result<Self> {
        let vars = float_vars(vars);
        Ok(ClipGradNorm {
            inner: O::new(vars.clone(), params.inner)?,
            vars,
            max_norm: params.max_norm,
            last_norm: None,
        })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let norm = grad_norm(&self.vars, grads)?;
        self.last_norm = Some(norm);
        if !norm.is_finite() {
            candle_core::bail!("the gradient norm is {norm}; the step was skipped")
        }
        if self.max_norm > 0.0 && f64::from(norm) > self.max_norm {
            let scale = self.max_norm / (f64::from(norm) + 1e-6);
            let mut scaled = GradStore::default();
            for var in &self.vars {
                if let Some(g) = grads.get(var) {
                    scaled.insert(var, (g.detach() * scale)?);
                }
            }
            self.inner.step(&scaled)
        } else {
            self.inner.step(grads)
        }
    }

    fn learning_rate(&self) -> f64 {
        self.inner.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.inner.set_learning_rate(lr);
    }
}

impl<O> ClipGradNorm<O> {
    /// The global gradient norm of the last step, before clipping; `None` before the first.
    pub fn last_norm(&self) -> Option<f32> {
        self.last_norm
    }

    pub fn inner(&self) -> &O {
        &self.inner
    }
}

/// The L2 norm of the gradients of `vars` taken together (variables without a gradient
/// count as zero): each variable's sum of squares in f32, added in the order of `vars`.
pub fn grad_norm(vars: &[Var], grads: &GradStore) -> Result<f32> {
    Ok(vars
        .iter()
        .filter_map(|v| grads.get(v))
        .map(|g| g.sqr()?.sum_all()?.to_scalar::<f32>())
        .sum::<Result<f32>>()?
        .sqrt())
}

/// Only floating-point variables are optimized (as in candle-nn's optimizers).
fn float_vars(vars: Vec<Var>) -> Vec<Var> {
    vars.into_iter().filter(|v| v.dtype().is_float()).collect()
}

fn zeros_like(vars: &[Var]) -> Result<Vec<Tensor>> {
    vars.iter().map(|v| v.as_tensor().zeros_like()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Two variables (a vector and a 1×2 matrix) and three steps of their gradients.
    const A0: [f32; 4] = [0.5, -1.0, 2.0, 0.0];
    const B0: [f32; 2] = [0.3, -0.7];
    const GRADS: [([f32; 4], [f32; 2]); 3] = [
        ([0.1, -0.2, 3.0, 0.0], [0.5, -0.25]),
        ([-0.05, 0.4, 2.5, 1e-3], [0.0, 1.5]),
        ([0.2, 0.0, -1.0, 0.5], [-2.0, 0.125]),
    ];
    const LR: f64 = 0.01;

    fn vars() -> (Var, Var) {
        let dev = Device::Cpu;
        (
            Var::from_slice(&A0, 4, &dev).unwrap(),
            Var::from_slice(&B0, (1, 2), &dev).unwrap(),
        )
    }

    fn grad_store(vars: &[(&Var, &[f32])]) -> GradStore {
        let mut grads = GradStore::default();
        for (var, g) in vars {
            let g = Tensor::from_slice(g, var.shape(), var.device()).unwrap();
            grads.insert(var, g);
        }
        grads
    }

    fn values(v: &Var) -> Vec<f32> {
        v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()
    }

    /// Runs the three steps through `ClipGradNorm<AnyOptimizer>`; per step: the norm and
    /// both variables' values after it.
    fn run(params: ParamsAny, max_norm: f64) -> Vec<(f32, Vec<f32>, Vec<f32>)> {
        let (a, b) = vars();
        let clip = ParamsClip {
            inner: params,
            max_norm,
        };
        let mut opt = ClipGradNorm::<AnyOptimizer>::new(vec![a.clone(), b.clone()], clip).unwrap();
        GRADS
            .iter()
            .map(|(ga, gb)| {
                opt.step(&grad_store(&[(&a, ga), (&b, gb)])).unwrap();
                (opt.last_norm().unwrap(), values(&a), values(&b))
            })
            .collect()
    }

    fn rmsprop() -> ParamsAny {
        ParamsAny::RmsProp(ParamsRmsProp {
            lr: LR,
            ..Default::default()
        })
    }

    fn adam() -> ParamsAny {
        ParamsAny::Adam(ParamsAdam {
            lr: LR,
            ..Default::default()
        })
    }

    const NORMS: [f32; 3] = [3.0598202, 2.9432125, 2.3033943];

    /// Exact values recorded from gruf 1.0's optimizer on the same steps: any change in
    /// the float operations (their order included) shows here first.
    #[test]
    fn rmsprop_steps_are_pinned() {
        let want: [([f32; 4], [f32; 2]); 3] = [
            ([0.4000001, -0.90000004, 1.9, 0.0], [0.20000003, -0.6]),
            (
                [0.44490138, -0.9895323, 1.8357918, -0.09999],
                [0.20000003, -0.69865274],
            ),
            (
                [0.35742745, -0.9895323, 1.8607852, -0.19998977],
                [0.2970711, -0.7068872],
            ),
        ];
        check_pinned(&run(rmsprop(), 0.0), &want);
        let clipped: [([f32; 4], [f32; 2]); 3] = [
            ([0.4000003, -0.90000015, 1.9, 0.0], [0.20000006, -0.6000001]),
            (
                [0.4463048, -0.9902039, 1.8343328, -0.099970564],
                [0.20000006, -0.6987516],
            ),
            (
                [0.3541204, -0.9902039, 1.8662955, -0.1999704],
                [0.2983083, -0.70926124],
            ),
        ];
        check_pinned(&run(rmsprop(), 1.0), &clipped);
    }

    #[test]
    fn adam_steps_are_pinned() {
        let want: [([f32; 4], [f32; 2]); 3] = [
            ([0.49, -0.99, 1.99, 0.0], [0.29000002, -0.69]),
            (
                [0.48733664, -0.99366105, 1.9800882, -0.0074412622],
                [0.28329945, -0.6962392],
            ),
            (
                [0.4807555, -0.996491, 1.9742522, -0.013840884],
                [0.28824216, -0.70156944],
            ),
        ];
        check_pinned(&run(adam(), 0.0), &want);
        let clipped: [([f32; 4], [f32; 2]); 3] = [
            ([0.49, -0.99, 1.99, 0.0], [0.29000002, -0.69]),
            (
                [0.48748878, -0.99380374, 1.9800628, -0.0074410588],
                [0.28329945, -0.6962875],
            ),
            (
                [0.4808496, -0.99674404, 1.9748079, -0.013838185],
                [0.28862056, -0.7017894],
            ),
        ];
        check_pinned(&run(adam(), 1.0), &clipped);
    }

    fn check_pinned(got: &[(f32, Vec<f32>, Vec<f32>)], want: &[([f32; 4], [f32; 2])]) {
        for (step, ((norm, a, b), (wa, wb))) in got.iter().zip(want).enumerate() {
            assert_eq!(*norm, NORMS[step], "norm, step {}", step + 1);
            assert_eq!(
                (a.as_slice(), b.as_slice()),
                (&wa[..], &wb[..]),
                "step {}",
                step + 1
            );
        }
    }

    /// PyTorch's update rules written out in f64 (torch.optim docs, no weight decay,
    /// momentum, centring or AMSGrad) for every element of both variables; f32 agrees to
    /// a few ulps.
    #[test]
    fn steps_follow_pytorch_formulas() {
        let p = ParamsRmsProp::default();
        let q = ParamsAdam::default();
        let start: Vec<f64> = A0.iter().chain(&B0).map(|&x| f64::from(x)).collect();
        let got_rms = run(rmsprop(), 0.0);
        let got_adam = run(adam(), 0.0);
        let (mut rms, mut adam) = (start.clone(), start);
        let n = rms.len();
        let (mut sq, mut m, mut v) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for (t, (ga, gb)) in GRADS.iter().enumerate() {
            let g: Vec<f64> = ga.iter().chain(gb).map(|&x| f64::from(x)).collect();
            let step = t as i32 + 1;
            for i in 0..n {
                sq[i] = p.alpha * sq[i] + (1.0 - p.alpha) * g[i] * g[i];
                rms[i] -= LR * g[i] / (sq[i].sqrt() + p.eps);
                m[i] = q.beta1 * m[i] + (1.0 - q.beta1) * g[i];
                v[i] = q.beta2 * v[i] + (1.0 - q.beta2) * g[i] * g[i];
                let m_hat = m[i] / (1.0 - q.beta1.powi(step));
                let v_hat = v[i] / (1.0 - q.beta2.powi(step));
                adam[i] -= LR * m_hat / (v_hat.sqrt() + q.eps);
            }
            for (got, want) in [(&got_rms[t], &rms), (&got_adam[t], &adam)] {
                let got = got.1.iter().chain(&got.2).map(|&x| f64::from(x));
                for (i, (x, y)) in got.zip(want.iter()).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-6 * y.abs() + 1e-7,
                        "step {step}, [{i}]: {x} vs {y}"
                    );
                }
            }
        }
    }

    /// Plain gradient descent with lr 1 moves each variable by minus its gradient, so the
    /// moves show the gradients the wrapper passed on.
    fn clipped_moves(ga: [f32; 2], gb: [f32; 1], max_norm: f64) -> (Vec<f32>, Vec<f32>, f32) {
        let dev = Device::Cpu;
        let a = Var::zeros(2, candle_core::DType::F32, &dev).unwrap();
        let b = Var::zeros(1, candle_core::DType::F32, &dev).unwrap();
        let params = ParamsClip {
            inner: 1.0,
            max_norm,
        };
        let mut opt =
            ClipGradNorm::<candle_nn::SGD>::new(vec![a.clone(), b.clone()], params).unwrap();
        opt.step(&grad_store(&[(&a, &ga), (&b, &gb)])).unwrap();
        let neg = |v: &Var| values(v).into_iter().map(|x| -x).collect();
        (neg(&a), neg(&b), opt.last_norm().unwrap())
    }

    #[test]
    fn clipping_scales_the_global_norm_to_the_limit() {
        // Norm over both variables together: √(3² + 0² + 4²) = 5.
        let (a, b, norm) = clipped_moves([3.0, 0.0], [4.0], 1.0);
        assert_eq!(norm, 5.0);
        let scale = (1.0 / (5.0 + 1e-6)) as f32;
        assert_eq!((a, b), (vec![3.0 * scale, 0.0], vec![4.0 * scale]));
        let moved = (9.0 + 16.0) as f32 * scale * scale;
        assert!(moved.sqrt() <= 1.0 && moved.sqrt() > 1.0 - 1e-6, "{moved}");
        // At or under the limit, and with clipping off, the gradients pass unchanged.
        for max_norm in [5.0, 10.0, 0.0] {
            let (a, b, norm) = clipped_moves([3.0, 0.0], [4.0], max_norm);
            assert_eq!((a, b, norm), (vec![3.0, 0.0], vec![4.0], 5.0), "{max_norm}");
        }
    }

    #[test]
    fn a_non_finite_norm_is_an_error_and_skips_the_step() {
        for bad in [f32::NAN, f32::INFINITY] {
            let (a, b) = vars();
            let clip = ParamsClip {
                inner: adam(),
                max_norm: 0.0,
            };
            let mut opt =
                ClipGradNorm::<AnyOptimizer>::new(vec![a.clone(), b.clone()], clip).unwrap();
            let err = opt
                .step(&grad_store(&[
                    (&a, &[0.1, bad, 0.0, 0.0]),
                    (&b, &[1.0, 1.0]),
                ]))
                .unwrap_err();
            assert!(err.to_string().contains("gradient norm"), "{err}");
            assert!(!opt.last_norm().unwrap().is_finite());
            assert_eq!((values(&a), values(&b)), (A0.to_vec(), B0.to_vec()));
        }
    }

    /// A variable without a gradient keeps its value and its state: its first update,
    /// whenever it comes, is Adam's first step (of size lr per element).
    #[test]
    fn variables_without_gradients_are_left_alone() {
        let (a, b) = vars();
        let mut opt = Adam::new(vec![a.clone(), b.clone()], ParamsAdam::default()).unwrap();
        opt.step(&grad_store(&[(&a, &GRADS[0].0)])).unwrap();
        assert_eq!(values(&b), B0.to_vec());
        opt.step(&grad_store(&[(&a, &GRADS[1].0), (&b, &[0.5, -3.0])]))
            .unwrap();
        let moved: Vec<f32> = values(&b).iter().zip(&B0).map(|(x, y)| y - x).collect();
        for (got, want) in moved.iter().zip([1e-3, -1e-3]) {
            assert!((got - want).abs() < 1e-7, "{moved:?}");
        }
    }

    #[test]
    fn the_wrapper_passes_the_learning_rate_through() {
        let (a, b) = vars();
        let clip = ParamsClip {
            inner: rmsprop(),
            max_norm: 1.0,
        };
        let mut opt = ClipGradNorm::<AnyOptimizer>::new(vec![a, b], clip).unwrap();
        assert_eq!(opt.learning_rate(), LR);
        opt.set_learning_rate(0.5);
        assert_eq!(
            (opt.learning_rate(), opt.inner().learning_rate()),
            (0.5, 0.5)
        );
    }
}
