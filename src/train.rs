//! The training loop: shuffled mini-batches, MSE loss, RMSprop or Adam, gradient-norm
//! clipping, validation after every epoch, best-weights keeping and early stopping.
//!
//! No terminal code here: progress goes out through the `on_event` callback. Everything
//! random (initialisation, shuffling, dropout) comes from one generator seeded by the
//! caller, so a run is reproducible bit for bit on the same machine.

use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::config::{ModelConfig, OptimizerKind, TrainConfig};
use crate::error::GrufError;
use crate::model::{init_weights, param_shapes, Model, Rng64, Weights};
use crate::scaler::Scaler;
use crate::window::Split;

/// One epoch's figures, as stored in the checkpoint's history. Losses are MSE in the
/// transform's units (what the network is fitted on); `val_rmse` is in price units.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// RMSE of the one-step validation predictions, in price units.
    pub val_rmse: f64,
    pub seconds: f64,
}

/// What the caller's callback tells the loop after each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop after this batch (e.g. on Ctrl-C): validate the weights reached, keep the best.
    Stop,
}

/// What the loop reports as it goes.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    EpochStart {
        epoch: usize,
        epochs: usize,
        batches: usize,
    },
    Batch {
        batch: usize,
        loss: f64,
    },
    EpochEnd {
        record: &'a EpochRecord,
        best: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The weights of the epoch with the lowest validation loss.
    pub weights: Weights,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    /// True when `patience` ran out before the last epoch.
    pub stopped_early: bool,
    /// `(epoch, batch)` where the caller stopped the run, if it did.
    pub interrupted: Option<(usize, usize)>,
}

/// Trains a fresh model on the price series `values`, through the fitted `scaler`, with
/// the targets of `split`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &ModelConfig,
    config: &TrainConfig,
    seed: u64,
    values: &[f64],
    scaler: &Scaler,
    split: &Split,
    device: &Device,
    on_event: &mut dyn FnMut(Event) -> Flow,
) -> anyhow::Result<Outcome> {
    let mut rng = Rng64::seed_from_u64(seed);
    let init = init_weights(model, &mut rng, device)?;
    let names: Vec<String> = param_shapes(model).into_iter().map(|(n, _)| n).collect();
    let vars: Vec<Var> = names
        .iter()
        .map(|n| Var::from_tensor(&init[n]))
        .collect::<candle_core::Result<_>>()?;
    let tracked: Weights = names
        .iter()
        .cloned()
        .zip(vars.iter().map(|v| v.as_tensor().clone()))
        .collect();
    let net = Model::new(model, &tracked)?;
    let mut optimizer = Optimizer::new(config.optimizer, config.lr, &vars)?;

    let window = model.window;
    let mut order: Vec<usize> = split.train.clone().collect();
    let val_targets: Vec<usize> = split.val.clone().collect();
    let batches = order.len().div_ceil(config.batch_size);
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut stopped_early = false;
    let mut interrupted = None;

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        on_event(Event::EpochStart {
            epoch,
            epochs: config.epochs,
            batches,
        });
        order.shuffle(&mut rng);
        let (mut total, mut seen) = (0.0, 0);
        for (b, targets) in order.chunks(config.batch_size).enumerate() {
            let (xs, ys) = scaler.gather(values, targets, window);
            let xs = Tensor::from_vec(xs, (targets.len(), window, 1), device)?;
            let ys = Tensor::from_vec(ys, (targets.len(), 1), device)?;
            let loss = (net.forward(&xs, Some(&mut rng))? - ys)?
                .sqr()?
                .mean_all()?;
            let loss_value = f64::from(loss.to_scalar::<f32>()?);
            if !loss_value.is_finite() {
                return Err(diverged(epoch, b + 1, "loss", loss_value));
            }
            let grads = loss.backward()?;
            let grads: Vec<Tensor> = vars
                .iter()
                .map(|v| match grads.get(v.as_tensor()) {
                    Some(g) => Ok(g.detach()),
                    None => v.as_tensor().zeros_like(),
                })
                .collect::<candle_core::Result<_>>()?;
            let norm = grads
                .iter()
                .map(|g| g.sqr()?.sum_all()?.to_scalar::<f32>())
                .sum::<candle_core::Result<f32>>()?
                .sqrt();
            if !norm.is_finite() {
                return Err(diverged(epoch, b + 1, "gradient norm", f64::from(norm)));
            }
            let clip = if config.clip_norm > 0.0 && f64::from(norm) > config.clip_norm {
                config.clip_norm / (f64::from(norm) + 1e-6)
            } else {
                1.0
            };
            optimizer.step(&vars, &grads, clip)?;
            total += loss_value * targets.len() as f64;
            seen += targets.len();
            if on_event(Event::Batch {
                batch: b + 1,
                loss: loss_value,
            }) == Flow::Stop
            {
                interrupted = Some((epoch, b + 1));
                break;
            }
        }
        // After an interruption this is the partial epoch: its loss is over the batches run.
        let train_loss = total / seen as f64;
        let (val_loss, val_rmse) = validate(&net, scaler, values, &val_targets, window, device)?;
        if !val_loss.is_finite() {
            return Err(diverged(epoch, batches, "validation loss", val_loss));
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            val_rmse,
            seconds: started.elapsed().as_secs_f64(),
        };
        let improved = best.as_ref().is_none_or(|(loss, _, _)| val_loss < *loss);
        if improved {
            let snapshot = vars
                .iter()
                .map(|v| v.as_tensor().copy())
                .collect::<candle_core::Result<_>>()?;
            best = Some((val_loss, epoch, snapshot));
        }
        on_event(Event::EpochEnd {
            record: &record,
            best: improved,
        });
        history.push(record);
        let best_epoch = best.as_ref().map_or(epoch, |b| b.1);
        if interrupted.is_some() {
            break;
        }
        if config.patience > 0 && epoch - best_epoch >= config.patience && epoch < config.epochs {
            stopped_early = true;
            break;
        }
    }

    let (_, best_epoch, snapshot) = best.context("training ran no epoch")?;
    let weights = names.into_iter().zip(snapshot).collect();
    Ok(Outcome {
        weights,
        history,
        best_epoch,
        stopped_early,
        interrupted,
    })
}

/// One-step predictions for `targets` without dropout: the MSE in the transform's units
/// (what training minimises) and the RMSE in price units.
pub fn validate(
    net: &Model,
    scaler: &Scaler,
    values: &[f64],
    targets: &[usize],
    window: usize,
    device: &Device,
) -> anyhow::Result<(f64, f64)> {
    if targets.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let (xs, ys) = scaler.gather(values, targets, window);
    let preds = net.predict(&xs, window, device)?;
    let n = ys.len() as f64;
    let mse = preds
        .iter()
        .zip(&ys)
        .map(|(p, y)| f64::from(p - y).powi(2))
        .sum::<f64>()
        / n;
    let price_se: f64 = preds
        .iter()
        .zip(targets)
        .map(|(&p, &t)| (scaler.decode(values[t - 1], p) - values[t]).powi(2))
        .sum();
    Ok((mse, (price_se / n).sqrt()))
}

fn diverged(epoch: usize, batch: usize, what: &str, value: f64) -> anyhow::Error {
    GrufError::Diverged(format!(
        "training diverged at epoch {epoch}, batch {batch}: the {what} is {value}; \
         no model was written (an existing one is untouched); try a lower --lr or --clip-norm"
    ))
    .into()
}

/// RMSprop and Adam with PyTorch's update rules and defaults, on candle `Var`s.
struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    /// Per parameter: RMSprop's square average, or Adam's first and second moments.
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: i32,
}

impl Optimizer {
    const ALPHA: f64 = 0.99;
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(kind: OptimizerKind, lr: f64, vars: &[Var]) -> candle_core::Result<Optimizer> {
        let zeros = || {
            vars.iter()
                .map(|v| v.as_tensor().zeros_like())
                .collect::<candle_core::Result<Vec<_>>>()
        };
        Ok(Optimizer {
            kind,
            lr,
            first: zeros()?,
            second: zeros()?,
            steps: 0,
        })
    }

    /// Applies one update with the gradients scaled by `scale` (the clipping factor).
    fn step(&mut self, vars: &[Var], grads: &[Tensor], scale: f64) -> candle_core::Result<()> {
        self.steps += 1;
        for (i, (var, grad)) in vars.iter().zip(grads).enumerate() {
            let g = if scale == 1.0 {
                grad.clone()
            } else {
                (grad * scale)?
            };
            let update = match self.kind {
                OptimizerKind::Rmsprop => {
                    // v = αv + (1 − α)g²;  θ −= lr · g / (√v + ε)
                    let v = ((&self.second[i] * Self::ALPHA)? + (g.sqr()? * (1.0 - Self::ALPHA))?)?;
                    let u = (g / (v.sqrt()? + Self::EPS)?)?;
                    self.second[i] = v;
                    u
                }
                OptimizerKind::Adam => {
                    let m = ((&self.first[i] * Self::BETA1)? + (&g * (1.0 - Self::BETA1))?)?;
                    let v = ((&self.second[i] * Self::BETA2)? + (g.sqr()? * (1.0 - Self::BETA2))?)?;
                    let m_hat = (&m / (1.0 - Self::BETA1.powi(self.steps)))?;
                    let v_hat = (&v / (1.0 - Self::BETA2.powi(self.steps)))?;
                    self.first[i] = m;
                    self.second[i] = v;
                    (m_hat / (v_hat.sqrt()? + Self::EPS)?)?
                }
            };
            var.set(&(var.as_tensor().detach() - (update * self.lr)?)?)?;
        }
        Ok(())
    }
}
