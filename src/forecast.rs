//! A trained network with its transform: one-step predictions from the true past, and
//! recursive N-step forecasts (predict the next value, append it, slide, repeat), from one
//! origin or from many at once.

use std::ops::Range;

use candle_core::Device;

use crate::calendar::Calendar;
use crate::model::Model;
use crate::scaler::Scaler;

/// A forecast past the end of a series: the dates on its calendar and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The forecast column's name, as in the CSV.
    pub column: String,
    pub calendar: Calendar,
    /// Dates print without a time of day.
    pub daily: bool,
    /// The last date and value of the data the forecast continues.
    pub last_date: i64,
    pub last_value: f64,
    /// Unix seconds (UTC) of each forecast step, and its value.
    pub dates: Vec<i64>,
    pub point: Vec<f64>,
}

/// The model, the fitted transform and the window it was trained with: everything needed
/// to turn past prices into predicted prices.
#[derive(Debug)]
pub struct Predictor {
    pub model: Model,
    pub scaler: Scaler,
    pub window: usize,
    pub device: Device,
}

impl Predictor {
    /// Past values one prediction needs (the window, one more for log returns).
    pub fn lookback(&self) -> usize {
        self.scaler.lookback(self.window)
    }

    /// One-step predictions (price units) for `targets`, each from the true values before
    /// it; every target must have [`Predictor::lookback`] values before it.
    pub fn one_step(&self, values: &[f64], targets: Range<usize>) -> anyhow::Result<Vec<f64>> {
        let targets: Vec<usize> = targets.collect();
        let (xs, _) = self.scaler.gather(values, &targets, self.window);
        let preds = self.model.predict(&xs, self.window, &self.device)?;
        Ok(preds
            .into_iter()
            .zip(&targets)
            .map(|(p, &t)| self.scaler.decode(values[t - 1], p))
            .collect())
    }

    /// Forecasts `steps` values after the end of `values`.
    pub fn recursive(&self, values: &[f64], steps: usize) -> anyhow::Result<Vec<f64>> {
        let mut paths = self.paths(values, &[values.len()], steps)?;
        Ok(paths.pop().unwrap_or_default())
    }

    /// Recursive forecasts of `steps` values from each origin `o` (the forecast starts
    /// after `values[..o]`), all origins advancing together: one batched prediction per step.
    pub fn paths(
        &self,
        values: &[f64],
        origins: &[usize],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let lookback = self.lookback();
        let mut histories: Vec<Vec<f64>> = origins
            .iter()
            .map(|&o| values[o - lookback..o].to_vec())
            .collect();
        let mut input = Vec::with_capacity(origins.len() * self.window);
        for _ in 0..steps {
            input.clear();
            for hist in &histories {
                self.scaler.encode(hist, self.window, &mut input);
            }
            let preds = self.model.predict(&input, self.window, &self.device)?;
            for (hist, y) in histories.iter_mut().zip(preds) {
                let next = self.scaler.decode(hist[hist.len() - 1], y);
                hist.push(next);
            }
        }
        Ok(histories
            .into_iter()
            .map(|mut h| h.split_off(lookback))
            .collect())
    }
}
