//! Conformal calibration: prediction intervals whose coverage is measured, not assumed.
//!
//! After training, the model forecasts every origin of the validation part (data it was
//! never fitted on; the test part is never read) as many steps ahead as it will be asked
//! for, and each forecast's error is kept, per step ahead, in the network's own units
//! ([`crate::features::Units`]): relative to the last known value for the relative
//! transforms, so that an error made at a price of 20,000 carries over to a price of
//! 60,000 as a share, and scale-free across the series of a global model, whose errors are
//! pooled. An interval at level 1 − α around a later forecast is the forecast plus the
//! ⌊(n + 1)α/2⌋-th and ⌈(n + 1)(1 − α/2)⌉-th smallest of the n errors of its step
//! ([`crate::interval::ranks`]): split-conformal prediction, which covers at least the
//! level whenever the coming error and the validation ones are exchangeable. Ends are
//! mapped back to prices through the transform, which is increasing, so the interval
//! holds the point forecast only if the errors straddle zero, and no end can cross.
//!
//! A level that the errors cannot support (a 95 % interval needs 39 of them, a 99 % one
//! 199) is refused with the count, never widened by guesswork.

use crate::features::{Columns, Featurizer};
use crate::forecast::Forecaster;
use crate::interval::{ranks, Interval, Level};

/// Steps ahead calibrated for a model that forecasts recursively past its horizon (no
/// covariates): a month of daily data, at most what the validation part holds.
pub const RECURSIVE_STEPS: usize = 30;

/// How a model's intervals are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Split-conformal on the errors of the point forecasts (the median of an ensemble).
    Residuals,
}

impl Method {
    /// The name in the model file.
    pub fn name(self) -> &'static str {
        match self {
            Method::Residuals => "residuals",
        }
    }

    /// What a user reads in `evaluate`'s output.
    pub fn describe(self) -> &'static str {
        match self {
            Method::Residuals => {
                "split-conformal intervals from the point forecasts' errors on the validation part"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        match name {
            "residuals" => Some(Method::Residuals),
            _ => None,
        }
    }
}

/// What calibrating found: for each step ahead, the validation errors in units, each over
/// the spread of the series just before its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub method: Method,
    /// Steps of history that measure the spread at an origin ([`spread`]); 0: errors are
    /// not divided by a spread.
    pub spread: usize,
    /// `scores[k]`: the errors (truth − forecast, in units, over the spread) `k + 1` steps
    /// ahead, sorted ascending; never empty. Stored as f32 tensors, so f32 here.
    pub scores: Vec<Vec<f32>>,
}

/// The smallest spread an error is divided by, in units (a window of identical values
/// has none): far below any real series' one-step change once scaled.
const MIN_SPREAD: f64 = 1e-9;

/// How much the series moved just before an origin: the mean absolute one-step change,
/// in units, over the last `steps` changes of `history` (as many as it holds). Calm and
/// wild stretches cluster, so an error measured in this unit carries over from a calm
/// validation part to a wild test part (and back) where a bare error would not.
pub fn spread(featurizer: &Featurizer, history: &[f64], steps: usize) -> f64 {
    if steps == 0 {
        return 1.0;
    }
    let from = history.len().saturating_sub(steps + 1);
    let scaler = &featurizer.scaler;
    let (sum, n) = history[from..]
        .windows(2)
        .map(|w| (scaler.to_units(w[0], w[1]) - scaler.to_units(w[0], w[0])).abs())
        .filter(|d| d.is_finite())
        .fold((0.0, 0usize), |(s, n), d| (s + d, n + 1));
    if n == 0 {
        return MIN_SPREAD;
    }
    (sum / n as f64).max(MIN_SPREAD)
}

/// Why a model cannot give an interval. Messages say what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error(
        "this model has no calibrated intervals: it was written by a gruf before 1.5; \
         retrain it with this gruf (`gruf train` calibrates every model on its validation part)"
    )]
    Missing,

    #[error(
        "intervals are calibrated for the first {steps} steps ahead (gruf calibrates {RECURSIVE_STEPS} \
         steps, or the model's horizon if longer, as far as the validation part reaches); ask \
         for {steps} steps or fewer"
    )]
    Steps { steps: usize },

    #[error(
        "a {percent} % interval {step} step{s} ahead needs at least {need} validation \
         forecasts and this model has {have}; ask for a lower level, or retrain with a \
         larger --val-fraction or a longer series",
        percent = level.label(),
        s = if *step == 1 { "" } else { "s" }
    )]
    TooFew {
        level: Level,
        step: usize,
        have: usize,
        need: usize,
    },
}

impl Calibration {
    /// Steps ahead it holds errors for.
    pub fn steps(&self) -> usize {
        self.scores.len()
    }

    /// Validation forecasts one step ahead (the most of any step).
    pub fn windows(&self) -> usize {
        self.scores.first().map_or(0, Vec::len)
    }

    /// The errors to add to a forecast `k` steps after its origin (from 0) for an
    /// interval at `level`: the lower and upper order statistics, in units.
    pub fn offsets(&self, k: usize, level: Level) -> Result<(f64, f64), CalibrationError> {
        let scores = self.scores.get(k).ok_or(CalibrationError::Steps {
            steps: self.steps(),
        })?;
        let (lo, hi) = ranks(scores.len(), level).ok_or(CalibrationError::TooFew {
            level,
            step: k + 1,
            have: scores.len(),
            need: level.min_changes(),
        })?;
        Ok((f64::from(scores[lo - 1]), f64::from(scores[hi - 1])))
    }

    /// The most steps ahead (at most `steps`) for which every one of `levels` can be
    /// given: later steps have fewer validation forecasts.
    pub fn reach(&self, steps: usize, levels: &[Level]) -> usize {
        (0..steps.min(self.steps()))
            .take_while(|&k| levels.iter().all(|&l| self.offsets(k, l).is_ok()))
            .count()
    }

    /// Checks that every level can be given for `steps` steps ahead, before any work.
    pub fn check(&self, steps: usize, levels: &[Level]) -> Result<(), CalibrationError> {
        for &level in levels {
            // Later steps have fewer errors: the last one asked for decides.
            self.offsets(steps.saturating_sub(1), level)?;
        }
        Ok(())
    }

    /// The intervals at `level` around `point`, a path forecast from the origin after
    /// `history` by a forecaster with `featurizer`.
    pub fn band(
        &self,
        featurizer: &Featurizer,
        history: &[f64],
        point: &[f64],
        level: Level,
    ) -> Result<Vec<Interval>, CalibrationError> {
        let units = featurizer.units(history);
        let spread = spread(featurizer, history, self.spread);
        point
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let (lo, hi) = self.offsets(k, level)?;
                let (lo, hi) = (lo * spread, hi * spread);
                let z = units.of(k, p);
                let (lower, upper) = (units.price(k, z + lo), units.price(k, z + hi));
                // The transform is increasing, so the ends are in order; an end that
                // overflows (errors of absurd size) is the point instead.
                let lower = if lower.is_finite() { lower } else { p };
                let upper = if upper.is_finite() { upper } else { p };
                Ok(
                    Interval::new(lower.min(upper), upper.max(lower))
                        .expect("finite ends in order"),
                )
            })
            .collect()
    }
}

/// One series to calibrate on: its columns, its forecaster (the trained networks with the
/// series' own featurizer) and its validation targets.
pub struct Part<'a> {
    pub columns: Columns<'a>,
    pub forecaster: &'a Forecaster,
    pub val: std::ops::Range<usize>,
}

/// The steps ahead to calibrate a model with horizon `k` for: its horizon for a model with
/// covariates (it forecasts no further), else at least [`RECURSIVE_STEPS`].
pub fn steps_for(horizon: usize, covariates: bool) -> usize {
    if covariates {
        horizon
    } else {
        horizon.max(RECURSIVE_STEPS)
    }
}

/// Split-conformal calibration on point forecasts: every origin of every part's validation
/// targets forecast up to `steps` ahead (as far as its validation part reaches), each
/// error divided by the spread over the `spread` steps before its origin, the errors
/// pooled over the parts per step. `None` when no part has a validation target.
pub fn residuals(
    parts: &[Part<'_>],
    steps: usize,
    spread: usize,
) -> anyhow::Result<Option<Calibration>> {
    let mut scores: Vec<Vec<f32>> = vec![Vec::new(); steps];
    for part in parts {
        let values = part.columns.values;
        let origins: Vec<usize> = part.val.clone().collect();
        let reach = steps.min(part.val.len());
        if origins.is_empty() || reach == 0 {
            continue;
        }
        let paths = part.forecaster.paths(part.columns, &origins, reach)?;
        let featurizer = &part.forecaster.featurizer;
        for (&o, path) in origins.iter().zip(&paths) {
            let units = featurizer.units(&values[..o]);
            let spread = self::spread(featurizer, &values[..o], spread);
            for (k, &p) in path.iter().enumerate().take(part.val.end - o) {
                let error = (units.of(k, values[o + k]) - units.of(k, p)) / spread;
                if error.is_finite() {
                    scores[k].push(error as f32);
                }
            }
        }
    }
    // Steps no validation forecast reached are not calibrated.
    while scores.last().is_some_and(Vec::is_empty) {
        scores.pop();
    }
    if scores.is_empty() {
        return Ok(None);
    }
    for s in &mut scores {
        s.sort_by(f32::total_cmp);
    }
    Ok(Some(Calibration {
        method: Method::Residuals,
        spread,
        scores,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(n: usize) -> Calibration {
        // Errors −n/2 … n/2 at step 1, twice that at step 2.
        let step = |f: f32| (0..n).map(|i| f * (i as f32 - (n / 2) as f32)).collect();
        Calibration {
            method: Method::Residuals,
            spread: 0,
            scores: vec![step(1.0), step(2.0)],
        }
    }

    #[test]
    fn offsets_are_the_conformal_order_statistics() {
        let c = calibration(99);
        let eighty = Level::new(0.8).unwrap();
        // n = 99: ranks 10 and 90 of −49 … 49.
        assert_eq!(c.offsets(0, eighty).unwrap(), (-40.0, 40.0));
        assert_eq!(c.offsets(1, eighty).unwrap(), (-80.0, 80.0));
        assert_eq!(
            c.offsets(2, eighty),
            Err(CalibrationError::Steps { steps: 2 })
        );
        let small = calibration(20);
        let ninety_five = Level::new(0.95).unwrap();
        let err = small.offsets(0, ninety_five).unwrap_err();
        assert_eq!(
            err,
            CalibrationError::TooFew {
                level: ninety_five,
                step: 1,
                have: 20,
                need: 39
            }
        );
        assert!(err.to_string().contains("needs at least 39"), "{err}");
        assert!(small.check(2, &[eighty]).is_ok());
    }
}
