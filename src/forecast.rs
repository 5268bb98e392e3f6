//! A trained network with its input contract ([`Forecaster`]): one-step predictions from
//! the true past, and recursive N-step forecasts (predict the next value, append it, slide,
//! repeat), from one origin or from many at once, as a dated [`Forecast`]. A model with
//! covariates cannot recurse (their future is unknown): it forecasts at most its horizon;
//! calendar inputs do not stop it (future dates are known).
//!
//! An ensemble (`--ensemble N`) is one forecaster: every prediction is the elementwise
//! median, in price units (after each network's output is decoded), of its networks'
//! predictions, and a recursive forecast feeds that median back as history.

use std::ops::Range;
use std::sync::Arc;

use candle_core::Device;

use crate::calendar::Calendar;
use crate::conformal::{Calibration, CalibrationError};
use crate::data::Series;
use crate::features::{Columns, Featurizer};
use crate::interval::{Interval, Level};
use crate::model::Model;

/// A forecast past the end of a series: the dates on its calendar and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The series' id, for a series of a global model.
    pub id: Option<String>,
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
    /// Intervals around `point` at each level asked for, in the order asked.
    pub bands: Vec<Band>,
}

/// The intervals of a forecast at one level, one per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub level: Level,
    pub intervals: Vec<Interval>,
}

impl Band {
    /// The names of its ends in CSV and JSON: `lower_80`, `upper_80`.
    pub fn names(&self) -> [String; 2] {
        let l = self.level.label();
        [format!("lower_{l}"), format!("upper_{l}")]
    }
}

impl Forecast {
    /// Step `i`'s interval ends, band after band (lower, upper): what a row shows beside
    /// the point forecast.
    pub fn ends(&self, i: usize) -> Vec<f64> {
        (self.bands.iter())
            .flat_map(|b| [b.intervals[i].lower(), b.intervals[i].upper()])
            .collect()
    }

    /// Every band's end names, in the order of [`Forecast::ends`].
    pub fn end_names(&self) -> Vec<String> {
        self.bands.iter().flat_map(Band::names).collect()
    }
}

/// A trained network (or an ensemble's networks) with its input contract and its device:
/// everything needed to turn past prices into predicted prices. Built from a checkpoint, or
/// from a training run.
#[derive(Debug)]
pub struct Forecaster {
    /// One network, or an ensemble's N (never none): predictions are their median.
    pub models: Vec<Model>,
    pub featurizer: Featurizer,
    pub device: Device,
    /// The conformal calibration its intervals come from; `None` for a model written
    /// before gruf 1.5, or while training (before calibrating).
    pub calibration: Option<Arc<Calibration>>,
}

impl Forecaster {
    /// Past values one prediction needs.
    pub fn lookback(&self) -> usize {
        self.featurizer.lookback()
    }

    /// One network's forecaster.
    pub fn new(model: Model, featurizer: Featurizer, device: Device) -> Forecaster {
        Forecaster {
            models: vec![model],
            featurizer,
            device,
            calibration: None,
        }
    }

    /// Runs the networks on inputs made by the featurizer (`n` windows back to back) and
    /// decodes each window's outputs with `decode(window index, outputs)` into prices; with
    /// several networks, each window's prices are the elementwise median over them.
    fn run(
        &self,
        inputs: &[f32],
        decode: impl Fn(usize, &[f32]) -> Vec<f64>,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let k = self.featurizer.horizon;
        let mut each = Vec::with_capacity(self.models.len());
        for model in &self.models {
            let preds = model.predict(inputs, self.featurizer.window, &self.device)?;
            let decoded: Vec<Vec<f64>> = (preds.chunks(k).enumerate())
                .map(|(i, y)| decode(i, y))
                .collect();
            each.push(decoded);
        }
        match each.len() {
            0 => anyhow::bail!("internal: a forecaster without a network"),
            1 => Ok(each.pop().unwrap_or_default()),
            _ => Ok(elementwise_median(&each)),
        }
    }

    /// One-step predictions (price units) for `targets`, each from the true values before
    /// it; every target must have [`Forecaster::lookback`] values before it.
    pub fn one_step<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        targets: Range<usize>,
    ) -> anyhow::Result<Vec<f64>> {
        let columns = columns.into();
        let values = columns.values;
        let targets: Vec<usize> = targets.collect();
        let xs = self.featurizer.inputs(columns, &targets);
        let preds = self.run(&xs, |i, y| self.featurizer.decode(&values[..targets[i]], y))?;
        Ok(preds.into_iter().map(|p| p[0]).collect())
    }

    /// The forecast of `steps` values after the end of `series`, on its calendar.
    pub fn forecast(
        &self,
        series: &Series,
        column: &str,
        steps: usize,
    ) -> anyhow::Result<Forecast> {
        let point = self.recursive(series, steps)?;
        let last_date = *series.dates.last().unwrap_or(&0);
        Ok(Forecast {
            id: None,
            column: column.to_string(),
            calendar: series.calendar,
            daily: series.is_daily() && !series.calendar.intraday(),
            last_date,
            last_value: *series.values.last().unwrap_or(&f64::NAN),
            dates: series.calendar.future(last_date, steps),
            point,
            bands: Vec::new(),
        })
    }

    /// The calibrated intervals at each of `levels` around `point`, a path forecast from
    /// the origin after `history`.
    pub fn bands(
        &self,
        history: &[f64],
        point: &[f64],
        levels: &[Level],
    ) -> Result<Vec<Band>, CalibrationError> {
        let calibration = self.calibration.as_ref().ok_or(CalibrationError::Missing)?;
        levels
            .iter()
            .map(|&level| {
                Ok(Band {
                    level,
                    intervals: calibration.band(&self.featurizer, history, point, level)?,
                })
            })
            .collect()
    }

    /// Forecasts `steps` values after the end of `values`.
    pub fn recursive<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        steps: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let columns = columns.into();
        let mut paths = self.paths(columns, &[columns.values.len()], steps)?;
        Ok(paths.pop().unwrap_or_default())
    }

    /// Forecasts of `steps` values from each origin `o` (the forecast starts after
    /// `values[..o]`), all origins advancing together: one batched prediction per block of
    /// K steps (the model's horizon), each block's values appended to the history the next
    /// block is predicted from. With K = 1 this is the recursive forecast; with `steps` ≤ K
    /// the direct one, the only one a model with covariates makes (`steps` above K is then
    /// an error: callers refuse it first, in the user's terms).
    pub fn paths<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let columns = columns.into();
        let values = columns.values;
        let k = self.featurizer.horizon;
        if self.featurizer.has_covariates() {
            anyhow::ensure!(
                steps <= k,
                "a model with --inputs forecasts at most its horizon ({k} steps), not {steps}"
            );
            let mut input = Vec::with_capacity(origins.len() * self.lookback());
            for &o in origins {
                self.featurizer.encode_at(columns, o, &mut input);
            }
            return self.run(&input, |i, y| {
                self.featurizer.decode(&values[..origins[i]], &y[..steps])
            });
        }
        // Each origin's history, and with calendar inputs its dates, continued on the
        // series' calendar through the whole forecast.
        let lookback = self.lookback();
        let dated = !self.featurizer.calendar.is_empty();
        let mut histories: Vec<(Vec<f64>, Vec<i64>)> = origins
            .iter()
            .map(|&o| {
                let mut dates = Vec::new();
                if dated {
                    dates.extend_from_slice(&columns.dates[o - lookback..o]);
                    dates.extend(columns.calendar.future(columns.dates[o - 1], steps));
                }
                (values[o - lookback..o].to_vec(), dates)
            })
            .collect();
        let mut input = Vec::with_capacity(origins.len() * lookback * self.featurizer.features());
        let mut done = 0;
        while done < steps {
            let block = self.featurizer.horizon.min(steps - done);
            input.clear();
            for (hist, dates) in &histories {
                let history = Columns {
                    values: hist,
                    covariates: &[],
                    dates,
                    calendar: columns.calendar,
                };
                self.featurizer.encode_at(history, hist.len(), &mut input);
            }
            let next = self.run(&input, |i, y| {
                self.featurizer.decode(&histories[i].0, &y[..block])
            })?;
            for ((hist, _), next) in histories.iter_mut().zip(next) {
                hist.extend(next);
            }
            done += block;
        }
        Ok(histories
            .into_iter()
            .map(|(mut h, _)| h.split_off(lookback))
            .collect())
    }
}

/// The elementwise median of equally shaped predictions (one per network): for each window
/// and step, the middle value over the networks, or the mean of the two middle ones when
/// their number is even.
fn elementwise_median(each: &[Vec<Vec<f64>>]) -> Vec<Vec<f64>> {
    let mut column = Vec::with_capacity(each.len());
    (0..each[0].len())
        .map(|w| {
            (0..each[0][w].len())
                .map(|s| {
                    column.clear();
                    column.extend(each.iter().map(|net| net[w][s]));
                    median(&mut column)
                })
                .collect()
        })
        .collect()
}

/// The median of `values` (not empty), which it sorts.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&mut [3.0]), 3.0);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 10.0]), 3.0);
        let each = vec![
            vec![vec![1.0, 9.0], vec![5.0, 0.0]],
            vec![vec![2.0, 7.0], vec![4.0, 1.0]],
            vec![vec![3.0, 8.0], vec![6.0, -1.0]],
        ];
        assert_eq!(
            elementwise_median(&each),
            vec![vec![2.0, 8.0], vec![5.0, 0.0]]
        );
    }
}
