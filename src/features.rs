//! The input contract of a model: which values go in, through which fitted transform, how
//! many steps a window holds and how many steps come out.
//!
//! A [`Featurizer`] exists only once fitted (on the training part only) and is rebuilt from
//! the checkpoint; training, evaluation and forecasting all go through it, so the shapes
//! the network sees are decided in one place: inputs `x: [n, window, features]`, targets
//! `y: [n, horizon]`. Today one column goes in (the price) and one step comes out; wider
//! inputs and longer horizons extend this type, not its callers.

use crate::config::ModelConfig;
use crate::scaler::Scaler;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Featurizer {
    /// The price transform, fitted on the training part.
    pub scaler: Scaler,
    /// Steps per input window.
    pub window: usize,
}

impl Featurizer {
    /// Fits the configured transform on `train` (the values the training windows span);
    /// `None` when they are constant.
    pub fn fit(config: &ModelConfig, train: &[f64]) -> Option<Featurizer> {
        Some(Featurizer {
            scaler: Scaler::fit(config.transform, train)?,
            window: config.window,
        })
    }

    /// Past values one input needs (the window; one more for log returns).
    pub fn lookback(&self) -> usize {
        self.scaler.lookback(self.window)
    }

    /// Values per step of an input window.
    pub fn features(&self) -> usize {
        1
    }

    /// Steps predicted at once.
    pub fn horizon(&self) -> usize {
        1
    }

    /// Appends to `out` the input (`[window, features]`) for predicting what follows
    /// `history`, of which the last [`Featurizer::lookback`] values are used.
    pub fn encode(&self, history: &[f64], out: &mut Vec<f32>) {
        self.scaler.encode(history, self.window, out);
    }

    /// Inputs (`[n, window, features]`, flat) and targets (`[n, horizon]`, flat) for
    /// predicting `values[t]` from the values before it, for each target `t`.
    pub fn batch(&self, values: &[f64], targets: &[usize]) -> (Vec<f32>, Vec<f32>) {
        self.scaler.gather(values, targets, self.window)
    }

    /// The prices a network output `y` (`[horizon]`) stands for, after the last known value.
    pub fn decode(&self, last: f64, y: &[f32]) -> Vec<f64> {
        y.iter().map(|&v| self.scaler.decode(last, v)).collect()
    }
}
