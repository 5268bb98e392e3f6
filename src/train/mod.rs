//! The training loop: shuffled mini-batches, the loss it is given (MSE for the seed
//! model, the pinball loss for a quantile model: [`Loss::for_head`]), RMSprop or Adam with gradient-norm clipping (`optim`), validation after every
//! epoch, best-weights keeping and early stopping; and an ensemble's networks, trained
//! one after another from consecutive seeds ([`train_ensemble`]).
//!
//! No terminal code here: progress goes out through the `on_event` callback. Everything
//! random (initialisation, shuffling, dropout) comes from one generator seeded by the
//! caller, so a run is reproducible bit for bit on the same machine.

pub mod optim;
pub mod prepare;
pub mod progress;

use std::ops::Range;
use std::time::Instant;

use anyhow::Context;
use candle_core::{Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::config::{ModelConfig, OptimizerKind, TrainConfig};
use crate::error::GrufError;
use crate::features::split::Split;
use crate::features::{Columns, Featurizer};
use crate::model::loss::Loss;
use crate::model::{init_weights, param_shapes, Backprop, Model, Weights};
use crate::rng::Rng64;
use crate::train::optim::{
    AnyOptimizer, ClipGradNorm, Optimizer, ParamsAdam, ParamsAny, ParamsClip, ParamsRmsProp,
};

/// One epoch's figures, as stored in the checkpoint's history. Losses are the training
/// loss (MSE for the seed model, pinball for a quantile model) in the transform's units
/// (what the network is fitted on); `val_rmse` is in price units, of the point forecast
/// (a quantile model's median).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// RMSE of the validation predictions (every step of the horizon; a quantile model's
    /// median), in price units.
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
    /// An ensemble's network `network` (from 1) of `networks` starts training, from `seed`;
    /// sent by [`train_ensemble`] before each network, only when there are several.
    Network {
        network: usize,
        networks: usize,
        seed: u64,
    },
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
    /// `(epoch, batch)` where the caller stopped the run, if it did: after batch `batch` of
    /// epoch `epoch`, which is then the last of `history` and partial (trained on those
    /// batches only); or, for batch 0, before epoch `epoch` began, every epoch of `history`
    /// whole. A stop after the last batch of the last epoch is no interruption.
    pub interrupted: Option<(usize, usize)>,
}

/// One series the loop trains on: its columns, the featurizer fitted on its training part,
/// and the split whose training and validation targets it uses. A global model trains on
/// several, each with its own featurizer (all of the same shape).
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// The price and the covariates (see [`Columns`]).
    pub values: Columns<'a>,
    pub featurizer: &'a Featurizer,
    pub split: &'a Split,
}

/// A target: the series (its index in the training data) and the index of its first
/// predicted value.
type Target = (usize, usize);

/// Trains a fresh model on `data` (one or more series), minimising `loss`, which must
/// suit the model's head (one output per step for the MSE, its Q quantiles for the pinball
/// loss; [`Loss::for_head`] picks it). Batches draw from every series' training targets
/// alike.
pub fn train(
    model: &ModelConfig,
    config: &TrainConfig,
    seed: u64,
    loss: &Loss,
    data: &[TrainData<'_>],
    device: &Device,
    on_event: &mut dyn FnMut(Event) -> Flow,
) -> anyhow::Result<Outcome> {
    for part in data {
        let f = part.featurizer;
        anyhow::ensure!(
            model.input_width == f.features()
                && model.framing.horizon == f.horizon
                && model.framing.window == f.window,
            "internal: the model takes {} values per step, {} steps in, and predicts {} steps; a featurizer makes {}, {} and {}",
            model.input_width,
            model.framing.window,
            model.framing.horizon,
            f.features(),
            f.window,
            f.horizon
        );
    }
    let suits = match loss {
        Loss::Mse => model.framing.quantiles.is_empty(),
        Loss::Pinball { quantiles } => *quantiles == model.framing.quantiles,
    };
    anyhow::ensure!(
        suits,
        "internal: the loss {loss:?} does not suit a head of the quantiles {:?}",
        model.framing.quantiles
    );
    let horizon = model.framing.horizon;
    let mut rng = Rng64::seed_from_u64(seed);
    let io = model.io();
    let init = init_weights(&model.network, &io, &mut rng, device)?;
    let names: Vec<String> = (param_shapes(&model.network, &io).into_iter())
        .map(|(n, _)| n)
        .collect();
    let vars: Vec<Var> = names
        .iter()
        .map(|n| Var::from_tensor(&init[n]))
        .collect::<candle_core::Result<_>>()?;
    let tracked: Weights = names
        .iter()
        .cloned()
        .zip(vars.iter().map(|v| v.as_tensor().clone()))
        .collect();
    let net = Model::new(&model.network, &io, &tracked)?
        .with_backprop(Backprop::from_steps(config.backprop_steps));
    let mut optimizer = ClipGradNorm::<AnyOptimizer>::new(vars.clone(), optimizer_params(config))?;

    let window = model.framing.window;
    // Targets whose whole horizon lies in their part: training never sees validation values.
    let targets = |part: &Range<usize>, i: usize, d: &TrainData<'_>| {
        d.featurizer.within(part).map(move |t| (i, t))
    };
    // With `recent_windows`, each series' latest training targets only.
    let recent = |i: usize, d: &TrainData<'_>| {
        let train = d.featurizer.within(&d.split.train);
        let keep = match config.recent_windows {
            0 => train.len(),
            n => n.min(train.len()),
        };
        (train.end - keep..train.end).map(move |t| (i, t))
    };
    let mut order: Vec<Target> = (data.iter().enumerate())
        .flat_map(|(i, d)| recent(i, d))
        .collect();
    let val_targets: Vec<Target> = (data.iter().enumerate())
        .flat_map(|(i, d)| targets(&d.split.val, i, d))
        .collect();
    let batches = order.len().div_ceil(config.batch_size);
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut stopped_early = false;
    let mut interrupted = None;
    // A stop asked for after an epoch's last batch: the epoch is whole.
    let mut stop_after_epoch = false;

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
            let (xs, ys) = batch(data, targets);
            let xs = Tensor::from_vec(xs, (targets.len(), window, model.input_width), device)?;
            let ys = Tensor::from_vec(ys, (targets.len(), horizon), device)?;
            let batch_loss = loss.forward(&net.forward(&xs, Some(&mut rng))?, &ys)?;
            let loss_value = f64::from(batch_loss.to_scalar::<f32>()?);
            if !loss_value.is_finite() {
                return Err(diverged(epoch, b + 1, "loss", loss_value));
            }
            // A non-finite gradient norm fails the step (the weights stay as they were);
            // report it in the user's terms.
            let stepped = optimizer.step(&batch_loss.backward()?);
            if let Some(norm) = optimizer.last_norm().filter(|n| !n.is_finite()) {
                return Err(diverged(epoch, b + 1, "gradient norm", f64::from(norm)));
            }
            stepped?;
            total += loss_value * targets.len() as f64;
            seen += targets.len();
            if on_event(Event::Batch {
                batch: b + 1,
                loss: loss_value,
            }) == Flow::Stop
            {
                if b + 1 < batches {
                    interrupted = Some((epoch, b + 1));
                    break;
                }
                stop_after_epoch = true;
            }
        }
        // After an interruption this is the partial epoch: its loss is over the batches run.
        let train_loss = total / seen as f64;
        let (val_loss, val_rmse) = validate(&net, loss, data, &val_targets, device)?;
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
        let flow = on_event(Event::EpochEnd {
            record: &record,
            best: improved,
        });
        history.push(record);
        let best_epoch = best.as_ref().map_or(epoch, |b| b.1);
        if interrupted.is_some() {
            break;
        }
        if (stop_after_epoch || flow == Flow::Stop) && epoch < config.epochs {
            interrupted = Some((epoch + 1, 0));
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

/// The seed of network `i` (from 0) of an ensemble trained with the run seed `seed`:
/// `seed + i` (wrapping), so the first network is the single model of that seed and network
/// `i` the single model of seed `seed + i`.
pub fn network_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add(i as u64)
}

/// The networks of an ensemble training run.
#[derive(Debug, Clone)]
pub struct Ensemble {
    /// Each kept network's outcome, in order, network `i` trained from
    /// [`network_seed`]`(seed, i)`. Never empty. Only the first can have been interrupted
    /// (then it is the only one, with its best weights so far).
    pub networks: Vec<Outcome>,
    /// `(network, epoch, batch)` where the caller stopped the run, if it did (network from
    /// 1; epoch and batch as in [`Outcome::interrupted`], `(n, 1, 0)` before network `n`
    /// began). A network stopped after the first is left out: `networks` holds those before
    /// it.
    pub interrupted: Option<(usize, usize, usize)>,
}

/// Trains `config.ensemble` networks on `data` one after another, each as [`train`] does,
/// network `i` from [`network_seed`]`(seed, i)`. Before each network, when there are
/// several, `on_event` hears [`Event::Network`]. When it stops the run, the networks
/// finished so far are kept and the one in training is dropped — unless it is the first,
/// which is kept with its best weights so far, as a single network would be.
pub fn train_ensemble(
    model: &ModelConfig,
    config: &TrainConfig,
    seed: u64,
    loss: &Loss,
    data: &[TrainData<'_>],
    device: &Device,
    on_event: &mut dyn FnMut(Event) -> Flow,
) -> anyhow::Result<Ensemble> {
    let count = config.ensemble.max(1);
    let mut networks = Vec::with_capacity(count);
    for i in 0..count {
        let seed = network_seed(seed, i);
        if count > 1 {
            let flow = on_event(Event::Network {
                network: i + 1,
                networks: count,
                seed,
            });
            if flow == Flow::Stop && i > 0 {
                return Ok(Ensemble {
                    networks,
                    interrupted: Some((i + 1, 1, 0)),
                });
            }
        }
        let outcome = train(model, config, seed, loss, data, device, on_event)?;
        if let Some((epoch, batch)) = outcome.interrupted {
            if i == 0 {
                networks.push(outcome);
            }
            return Ok(Ensemble {
                networks,
                interrupted: Some((i + 1, epoch, batch)),
            });
        }
        networks.push(outcome);
    }
    Ok(Ensemble {
        networks,
        interrupted: None,
    })
}

/// Inputs (`[n, window, features]`, flat) and targets (`[n, horizon]`, flat) of `targets`,
/// each through its own series' featurizer.
fn batch(data: &[TrainData<'_>], targets: &[Target]) -> (Vec<f32>, Vec<f32>) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for &(i, t) in targets {
        let d = &data[i];
        d.featurizer.encode_at(d.values, t, &mut xs);
        d.featurizer.target_at(d.values.values, t, &mut ys);
    }
    (xs, ys)
}

/// Predictions for `targets` without dropout: the `loss` in the transform's units (what
/// training minimises) and the RMSE in price units over every step of the horizon (pooled
/// over the series) of the point forecast: a quantile model's median, after its quantiles
/// are sorted as the forecaster sorts them.
fn validate(
    net: &Model,
    loss: &Loss,
    data: &[TrainData<'_>],
    targets: &[Target],
    device: &Device,
) -> anyhow::Result<(f64, f64)> {
    if targets.is_empty() {
        return Ok((f64::NAN, f64::NAN));
    }
    let (xs, ys) = batch(data, targets);
    let window = data[targets[0].0].featurizer.window;
    let horizon = data[targets[0].0].featurizer.horizon;
    let preds = net.predict(&xs, window, device)?;
    let n = ys.len() as f64;
    let loss = loss.mean(&preds, &ys);
    let q = net.outputs_per_step();
    let median = crate::config::median_index(net.quantiles());
    let price_se: f64 = preds
        .chunks(horizon * q)
        .zip(targets)
        .flat_map(|(y, &(i, t))| {
            let values = data[i].values.values;
            let featurizer = data[i].featurizer;
            let path = match median {
                None => featurizer.decode(&values[..t], y),
                Some(m) => featurizer
                    .decode_quantiles(&values[..t], y, q, horizon)
                    .chunks(q)
                    .map(|step| step[m])
                    .collect(),
            };
            (0..path.len()).map(move |k| (path[k] - values[t + k]).powi(2))
        })
        .sum();
    Ok((loss, (price_se / n).sqrt()))
}

fn diverged(epoch: usize, batch: usize, what: &str, value: f64) -> anyhow::Error {
    GrufError::Diverged(format!(
        "training diverged at epoch {epoch}, batch {batch}: the {what} is {value}; \
         no model was written (an existing one is untouched); try a lower --lr or --clip-norm"
    ))
    .into()
}

/// The optimizer `config` asks for (PyTorch's other hyperparameters), clipped to its
/// `clip_norm`.
fn optimizer_params(config: &TrainConfig) -> ParamsClip<ParamsAny> {
    let lr = config.lr;
    let inner = match config.optimizer {
        OptimizerKind::Rmsprop => ParamsAny::RmsProp(ParamsRmsProp {
            lr,
            ..Default::default()
        }),
        OptimizerKind::Adam => ParamsAny::Adam(ParamsAdam {
            lr,
            ..Default::default()
        }),
    };
    ParamsClip {
        inner,
        max_norm: config.clip_norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    /// Trains a tiny model on 300 synthetic days, stopping when `stop(event)` says so.
    fn stopped(
        epochs: usize,
        ensemble: usize,
        mut stop: impl FnMut(&Event, usize, usize) -> bool,
    ) -> Ensemble {
        let bars = crate::series::synth::generate(&crate::series::synth::SampleConfig {
            rows: 300,
            ..Default::default()
        });
        let values: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let mut config = RunConfig::default();
        config.model.network.layers = vec![4];
        config.model.framing.window = 8;
        config.train.epochs = epochs;
        config.train.ensemble = ensemble;
        config.train.batch_size = 64;
        let prepared = crate::train::prepare::prepare(&config, &values, 20).unwrap();
        config.model.input_width = prepared.featurizer.features();
        let data = TrainData {
            values: (&values).into(),
            featurizer: &prepared.featurizer,
            split: &prepared.split,
        };
        let (mut epoch, mut batches) = (0, 0);
        train_ensemble(
            &config.model,
            &config.train,
            3,
            &Loss::Mse,
            &[data],
            &Device::Cpu,
            &mut |e| {
                if let Event::EpochStart {
                    epoch: n,
                    batches: b,
                    ..
                } = e
                {
                    (epoch, batches) = (n, b);
                }
                match stop(&e, epoch, batches) {
                    true => Flow::Stop,
                    false => Flow::Continue,
                }
            },
        )
        .unwrap()
    }

    /// Where a stop lands says which epochs are whole: one after an epoch's last batch
    /// leaves that epoch whole (and, after the last epoch, the run complete); one inside an
    /// epoch leaves it the partial last; one before an ensemble's next network keeps those
    /// before it.
    #[test]
    fn a_stopped_run_says_which_epochs_are_whole() {
        let last_batch_of = |at: usize| move |e: &Event, epoch: usize, batches: usize| matches!(e, Event::Batch { batch, .. } if epoch == at && *batch == batches);
        let run = stopped(3, 1, last_batch_of(1));
        let net = &run.networks[0];
        assert!(net.history.len() == 1 && net.interrupted == Some((2, 0)));
        assert_eq!(run.interrupted, Some((1, 2, 0)));

        let run = stopped(
            3,
            1,
            |e, epoch, _| matches!(e, Event::Batch { batch: 1, .. } if epoch == 2),
        );
        let net = &run.networks[0];
        assert!(net.history.len() == 2 && net.interrupted == Some((2, 1)));

        let run = stopped(2, 1, last_batch_of(2));
        let net = &run.networks[0];
        assert!(net.history.len() == 2 && net.interrupted.is_none() && run.interrupted.is_none());

        let run = stopped(2, 3, |e, _, _| {
            matches!(e, Event::Network { network: 2, .. })
        });
        assert_eq!(run.networks.len(), 1);
        assert_eq!(run.interrupted, Some((2, 1, 0)));
        assert!(run.networks[0].interrupted.is_none());
    }
}
