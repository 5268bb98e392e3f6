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
//! ([`crate::intervals::level::ranks`]): split-conformal prediction, which covers at least the
//! level whenever the coming error and the validation ones are exchangeable. Ends are
//! mapped back to prices through the transform, which is increasing, so the interval
//! holds the point forecast only if the errors straddle zero, and no end can cross.
//!
//! A level that the errors cannot support (a 95 % interval needs 39 of them, a 99 % one
//! 199) is refused with the count, never widened by guesswork.
//!
//! This module holds the calibration a model file keeps and reads intervals off it; the
//! forecasts that fill it are run by [`crate::forecast::calibrate`], a stage above.

use crate::features::Featurizer;
use crate::intervals::level::ranks;
use crate::intervals::{Interval, Level};

/// Steps ahead calibrated for a model that forecasts recursively past its horizon (no
/// covariates): a month of daily data, at most what the validation part holds.
pub const RECURSIVE_STEPS: usize = 30;

/// The most steps ahead any model is calibrated for: [`steps_for`] of the longest horizon.
pub const MAX_STEPS: usize = if crate::config::MAX_HORIZON > RECURSIVE_STEPS {
    crate::config::MAX_HORIZON
} else {
    RECURSIVE_STEPS
};

/// The levels a consumer gives when none is asked for, as far as a calibration gives them.
pub const DEFAULT_LEVELS: [f64; 2] = [0.8, 0.95];

/// [`DEFAULT_LEVELS`] as levels.
pub fn default_levels() -> Vec<Level> {
    (DEFAULT_LEVELS.iter())
        .map(|&l| Level::new(l).expect("a level"))
        .collect()
}

/// How a model's intervals are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Split-conformal on the errors of the point forecasts (the median of an ensemble),
    /// each over the spread before its origin: one set of errors serves every level.
    Residuals,
    /// Conformalised quantile regression (Romano, Patterson and Candès, 2019): a quantile
    /// model's interval at a level is the band between its α/2 and 1 − α/2 quantiles,
    /// widened (or narrowed) by the order statistic of how far the validation targets fell
    /// outside it. One set of errors per level the head's quantiles give.
    Quantiles,
}

impl Method {
    /// The name in the model file.
    pub fn name(self) -> &'static str {
        match self {
            Method::Residuals => "residuals",
            Method::Quantiles => "quantiles",
        }
    }

    /// What a user reads in `evaluate`'s output.
    pub fn describe(self) -> &'static str {
        match self {
            Method::Residuals => {
                "split-conformal intervals from the point forecasts' errors on the validation part, \
                 each over the spread of the series before it"
            }
            Method::Quantiles => {
                "the quantile head's bands, conformalised on the validation part (CQR)"
            }
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        match name {
            "residuals" => Some(Method::Residuals),
            "quantiles" => Some(Method::Quantiles),
            _ => None,
        }
    }
}

/// Where errors are measured: an interval is its forecast plus two errors in this space,
/// mapped back to prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// The network's units ([`crate::features::Units`]): additive, so a `window` model's
    /// band is a share of the last value either side and can reach below zero. Every
    /// calibration written by gruf 1.5 (their files keep it).
    Units,
    /// Logs of ratios to the anchor, for the transforms that need positive values
    /// (`window`, `logret`, `seasonal`): multiplicative, so no band goes below zero. The
    /// units of `logret` and `seasonal` are such logs already (the same numbers as
    /// [`Space::Units`]); a `window` model's are turned into them.
    Log,
}

impl Space {
    /// The space a new calibration of a model with `transform` measures in.
    pub fn for_transform(transform: crate::features::scaler::TransformKind) -> Space {
        if transform.needs_positive() {
            Space::Log
        } else {
            Space::Units
        }
    }
}

/// A value's measure in a [`Space`] `k` steps after one origin: its units, or for a
/// `window` model in [`Space::Log`] ln(value / anchor) over the transform's scale.
pub struct Measure {
    units: crate::features::Units,
    /// The `window` transform's scale, when its units are turned into logs.
    window_log: Option<f64>,
}

impl Measure {
    pub fn new(featurizer: &Featurizer, history: &[f64], space: Space) -> Measure {
        let window_log = match (space, featurizer.scaler) {
            (Space::Log, crate::features::scaler::Scaler::Window { scale }) => Some(scale),
            _ => None,
        };
        Measure {
            units: featurizer.units(history),
            window_log,
        }
    }

    /// `value`, `k` steps after the origin (from 0), measured: increasing where defined
    /// (NaN or −∞ for a non-positive value in log space).
    pub fn of(&self, k: usize, value: f64) -> f64 {
        let u = self.units.of(k, value);
        match self.window_log {
            // Window units are (value / anchor − 1) / scale.
            Some(scale) => (scale * u).ln_1p() / scale,
            None => u,
        }
    }

    /// The value a measure `z` stands for `k` steps after the origin (increasing in `z`).
    fn value(&self, k: usize, z: f64) -> f64 {
        let u = match self.window_log {
            Some(scale) => (scale * z).exp_m1() / scale,
            None => z,
        };
        self.units.price(k, u)
    }
}

/// What calibrating found: validation errors in units, per step ahead, for one level or
/// for all.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub method: Method,
    /// Where the errors were measured.
    pub space: Space,
    /// Steps of history that measure the spread at an origin ([`spread`]); 0: errors are
    /// not divided by a spread.
    pub spread: usize,
    /// [`Method::Residuals`]: one set, for every level. [`Method::Quantiles`]: one per level
    /// the head's quantile pairs give, lowest level first.
    pub sets: Vec<ErrorSet>,
}

/// The validation errors behind the intervals of one level (or of every level).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSet {
    /// The level they serve; `None`: every level.
    pub level: Option<Level>,
    /// `steps[k]`: the errors `k + 1` steps ahead, sorted ascending; never empty. Stored
    /// as f32 tensors, so f32 here. Residuals: truth − forecast, in units, over the
    /// spread. Quantiles: how far the truth fell outside the band, in units (negative
    /// inside).
    pub steps: Vec<Vec<f32>>,
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

/// Validation errors that lean to one side ([`Calibration::bias`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bias {
    /// True when the forecasts were mostly below the outcome.
    pub too_low: bool,
    /// The share of the validation forecasts on that side, in (0.75, 1].
    pub share: f64,
    /// Validation forecasts one step ahead.
    pub forecasts: usize,
}

impl std::fmt::Display for Bias {
    /// `83 % of its 305 validation forecasts one step ahead were too low`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} % of its {} validation forecasts one step ahead were too {}",
            100.0 * self.share,
            self.forecasts,
            if self.too_low { "low" } else { "high" }
        )
    }
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
        "{a} {percent} % interval {step} step{s} ahead needs at least {need} validation \
         forecasts and this model has {have}; {reach}",
        percent = level.label(),
        a = article(&level.label()),
        s = if *step == 1 { "" } else { "s" },
        reach = match reach {
            0 => format!(
                "this model gives no {} % interval; ask for a lower level, or retrain with a \
                 larger --val-fraction or a longer series",
                level.label()
            ),
            1 => format!(
                "its {} % intervals reach 1 step ahead: ask for 1 step, or a lower level",
                level.label()
            ),
            r => format!(
                "its {} % intervals reach {r} steps ahead: ask for {r} steps or fewer, or a \
                 lower level",
                level.label()
            ),
        }
    )]
    TooFew {
        level: Level,
        step: usize,
        have: usize,
        need: usize,
        /// The most steps ahead this level reaches.
        reach: usize,
    },

    #[error(
        "this quantile model gives {} intervals (from its quantiles {quantiles}); a {percent} % \
         interval needs the quantiles {lo} and {hi}: ask for one of those levels, or retrain \
         with them in --quantiles",
        list_levels(.levels),
        percent = level.label(),
        lo = round9(level.quantiles()[0]),
        hi = round9(level.quantiles()[1])
    )]
    NoQuantiles {
        level: Level,
        levels: Vec<Level>,
        quantiles: String,
    },
}

/// "an" before a percentage said with a vowel sound (80, 8, 11, 18), else "a".
fn article(percent: &str) -> &'static str {
    let eleven = ["11", "18"]
        .iter()
        .any(|p| percent.starts_with(p) && !percent[2..].starts_with(|c: char| c.is_ascii_digit()));
    if percent.starts_with('8') || eleven {
        "an"
    } else {
        "a"
    }
}

/// A quantile level without float noise: 0.05, not 0.04999999999999999.
fn round9(q: f64) -> f64 {
    (q * 1e9).round() / 1e9
}

/// `80 % and 95 %`.
fn list_levels(levels: &[Level]) -> String {
    let words: Vec<String> = levels.iter().map(|l| format!("{} %", l.label())).collect();
    match words.as_slice() {
        [] => "no".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Calibration {
    /// Steps ahead it holds errors for.
    pub fn steps(&self) -> usize {
        self.sets.iter().map(|s| s.steps.len()).min().unwrap_or(0)
    }

    /// Validation forecasts one step ahead (the most of any step).
    pub fn windows(&self) -> usize {
        self.sets
            .first()
            .and_then(|s| s.steps.first())
            .map_or(0, Vec::len)
    }

    /// How one-sided the validation errors one step ahead were, for a model calibrated
    /// on its point forecasts' errors: `Some` when more than three quarters of them fell on
    /// one side (then the forecast lies outside its own 50 % band before
    /// [`Calibration::band`] stretches the band to hold it). `None` for a quantile model
    /// (its errors are distances outside a band, with no side) and for fewer than 10 errors.
    pub fn bias(&self) -> Option<Bias> {
        if self.method != Method::Residuals {
            return None;
        }
        let errors = self.sets.first()?.steps.first()?;
        if errors.len() < 10 {
            return None;
        }
        let n = errors.len() as f64;
        let above = errors.iter().filter(|&&e| e > 0.0).count() as f64 / n;
        let below = errors.iter().filter(|&&e| e < 0.0).count() as f64 / n;
        (above > 0.75 || below > 0.75).then_some(Bias {
            too_low: above > below,
            share: above.max(below),
            forecasts: errors.len(),
        })
    }

    /// The most steps ahead `level` reaches (0: not even one).
    pub fn reach_of(&self, level: Level) -> usize {
        self.reach(self.steps(), &[level])
    }

    /// `Err` unless this calibration was made for a head forecasting `quantiles` (empty:
    /// a point head): residuals, one set for every level, for a point head; for a
    /// quantile head, one set per level its quantile pairs give, lowest first.
    pub fn fits(&self, quantiles: &[f64]) -> Result<(), String> {
        let fits = match self.method {
            Method::Residuals => {
                quantiles.is_empty() && self.sets.len() == 1 && self.sets[0].level.is_none()
            }
            Method::Quantiles => {
                let given = quantile_levels(quantiles);
                self.sets.len() == given.len()
                    && (self.sets.iter().zip(&given))
                        .all(|(s, (l, _, _))| s.level.is_some_and(|m| same_level(m, *l)))
            }
        };
        if fits {
            return Ok(());
        }
        let words: Vec<String> = quantiles.iter().map(f64::to_string).collect();
        Err(format!(
            "a calibration by {} for levels {:?} does not fit a head forecasting the quantiles [{}]",
            self.method.name(),
            self.levels().iter().map(|l| l.get()).collect::<Vec<_>>(),
            words.join(", ")
        ))
    }

    /// The levels a quantile model's calibration serves (empty: every level).
    pub fn levels(&self) -> Vec<Level> {
        self.sets.iter().filter_map(|s| s.level).collect()
    }

    /// The levels it gives unasked: a quantile model's own, else [`DEFAULT_LEVELS`].
    pub fn offered(&self) -> Vec<Level> {
        match self.levels() {
            levels if levels.is_empty() => default_levels(),
            levels => levels,
        }
    }

    /// The levels to give for the first `steps` steps ahead: those `asked` for (lowest
    /// first, each once; `Err` for one it cannot give), else those it
    /// [offers](Calibration::offered) that its validation forecasts support that far, each
    /// one left out passed to `left_out` with the reason.
    pub fn choose(
        &self,
        asked: &[Level],
        steps: usize,
        mut left_out: impl FnMut(Level, CalibrationError),
    ) -> Result<Vec<Level>, CalibrationError> {
        if !asked.is_empty() {
            let levels = Level::sorted(asked);
            self.check(steps, &levels)?;
            return Ok(levels);
        }
        let mut kept = Vec::new();
        for level in self.offered() {
            match self.check(steps, &[level]) {
                Ok(()) => kept.push(level),
                Err(e) => left_out(level, e),
            }
        }
        Ok(kept)
    }

    /// The errors behind `level`.
    fn set(&self, level: Level) -> Result<&ErrorSet, CalibrationError> {
        match self.method {
            Method::Residuals => self
                .sets
                .first()
                .ok_or(CalibrationError::Steps { steps: 0 }),
            Method::Quantiles => (self.sets.iter())
                .find(|s| s.level.is_some_and(|l| same_level(l, level)))
                .ok_or_else(|| CalibrationError::NoQuantiles {
                    level,
                    levels: self.levels(),
                    quantiles: {
                        let mut qs: Vec<f64> = (self.levels().iter())
                            .flat_map(|l| l.quantiles())
                            .map(round9)
                            .collect();
                        qs.sort_by(f64::total_cmp);
                        let words: Vec<String> = qs.iter().map(f64::to_string).collect();
                        words.join(", ")
                    },
                }),
        }
    }

    /// What to add to the ends of an interval `k` steps after its origin (from 0) at
    /// `level`, in units over the spread: for residuals, the lower and upper conformal
    /// order statistics of the errors (added to the point forecast); for quantiles, minus
    /// and plus the ⌈(n + 1)(1 − α)⌉-th smallest error (added to the band's ends).
    pub fn offsets(&self, k: usize, level: Level) -> Result<(f64, f64), CalibrationError> {
        let set = self.set(level)?;
        let scores = set.steps.get(k).ok_or(CalibrationError::Steps {
            steps: self.steps(),
        })?;
        let n = scores.len();
        let too_few = |need| CalibrationError::TooFew {
            level,
            step: k + 1,
            have: n,
            need,
            // Later steps have fewer errors: the level reaches as far as they are enough.
            reach: set.steps.iter().take_while(|s| s.len() >= need).count(),
        };
        match self.method {
            Method::Residuals => {
                let (lo, hi) = ranks(n, level).ok_or_else(|| too_few(level.min_changes()))?;
                Ok((f64::from(scores[lo - 1]), f64::from(scores[hi - 1])))
            }
            Method::Quantiles => {
                let r = one_sided_rank(n, level).ok_or_else(|| too_few(min_one_sided(level)))?;
                let q = f64::from(scores[r - 1]);
                Ok((-q, q))
            }
        }
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

    /// The intervals at `level` of a path forecast `point` from the origin after
    /// `history`, by a forecaster with `featurizer`: `ends[k]` is what the errors are added
    /// to at step k (the point forecast twice for residuals; the band's two quantiles for
    /// CQR).
    ///
    /// A forecast and its interval agree: when the validation errors lean to one side
    /// (the forecasts were mostly too high, or too low: [`Calibration::bias`]), the
    /// conformal band can leave its own forecast out, and then it is stretched to reach it.
    /// That only widens it, so its coverage holds.
    pub fn band(
        &self,
        featurizer: &Featurizer,
        history: &[f64],
        point: &[f64],
        ends: &[(f64, f64)],
        level: Level,
    ) -> Result<Vec<Interval>, CalibrationError> {
        let measure = Measure::new(featurizer, history, self.space);
        let spread = spread(featurizer, history, self.spread);
        (ends.iter().zip(point).enumerate())
            .map(|(k, (&(lo_end, hi_end), &p))| {
                let (lo, hi) = self.offsets(k, level)?;
                let (lo, hi) = (lo * spread, hi * spread);
                let lower = measure.value(k, measure.of(k, lo_end) + lo);
                let upper = measure.value(k, measure.of(k, hi_end) + hi);
                // The transform is increasing; CQR may narrow a band past its middle
                // (errors all negative), then the ends meet at their midpoint. An end that
                // overflows (errors of absurd size) is its forecast instead.
                let lower = if lower.is_finite() { lower } else { lo_end };
                let upper = if upper.is_finite() { upper } else { hi_end };
                let (lower, upper) = if lower <= upper {
                    (lower, upper)
                } else {
                    let mid = (lower + upper) / 2.0;
                    (mid, mid)
                };
                Ok(Interval::new(lower, upper)
                    .expect("finite ends in order")
                    .holding(p))
            })
            .collect()
    }
}

/// Two levels are the same when they agree to 1e-9 (0.95 typed, 1 − 2·0.025 computed).
fn same_level(a: Level, b: Level) -> bool {
    (a.get() - b.get()).abs() < 1e-9
}

/// CQR's rank: the ⌈(n + 1)(1 − α)⌉-th smallest of n errors, `None` when it passes n.
fn one_sided_rank(n: usize, level: Level) -> Option<usize> {
    let r = ((n + 1) as f64 * level.get() - 1e-9).ceil() as usize;
    (r >= 1 && r <= n).then_some(r)
}

/// The fewest errors [`one_sided_rank`] can use at `level`: 4 for 80 %, 19 for 95 %.
fn min_one_sided(level: Level) -> usize {
    (level.get() / level.alpha() - 1e-9).ceil().max(1.0) as usize
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

/// The levels a quantile head's quantiles give, lowest first, each with the indices of
/// its two quantiles: every pair q, 1 − q with q below the median.
pub fn quantile_levels(quantiles: &[f64]) -> Vec<(Level, usize, usize)> {
    let mut levels: Vec<(Level, usize, usize)> = (quantiles.iter().enumerate())
        .filter(|(_, &q)| q < 0.5)
        .filter_map(|(i, &q)| {
            let j = quantiles
                .iter()
                .position(|&p| (p - (1.0 - q)).abs() < 1e-9)?;
            Some((Level::new(1.0 - 2.0 * q).ok()?, i, j))
        })
        .collect();
    levels.sort_by(|a, b| a.0.get().total_cmp(&b.0.get()));
    levels
}

/// Where the two quantiles of `level`'s band are in `quantiles` (its α/2 and 1 − α/2);
/// `None` when they are not both there.
pub fn quantile_pair(quantiles: &[f64], level: Level) -> Option<(usize, usize)> {
    (quantile_levels(quantiles).into_iter())
        .find(|&(l, _, _)| same_level(l, level))
        .map(|(_, i, j)| (i, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(n: usize) -> Calibration {
        // Errors −n/2 … n/2 at step 1, twice that at step 2.
        let step = |f: f32| (0..n).map(|i| f * (i as f32 - (n / 2) as f32)).collect();
        Calibration {
            method: Method::Residuals,
            space: Space::Units,
            spread: 0,
            sets: vec![ErrorSet {
                level: None,
                steps: vec![step(1.0), step(2.0)],
            }],
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
                need: 39,
                reach: 0
            }
        );
        assert!(err.to_string().contains("needs at least 39"), "{err}");
        assert!(small.check(2, &[eighty]).is_ok());
    }

    /// A featurizer of `transform` over a window of 4, fitted on a gently moving series
    /// around 100.
    fn featurizer(transform: crate::features::scaler::TransformKind) -> Featurizer {
        let framing = crate::features::Framing {
            window: 4,
            transform,
            horizon: 1,
            ..Default::default()
        };
        let values: Vec<f64> = (0..40).map(|i| 100.0 + (i as f64 * 0.7).sin()).collect();
        Featurizer::fit(&framing, &values, None).unwrap()
    }

    /// Residual errors (over a spread of 0: bare units) `errors` at one step, in `space`.
    fn one_step(errors: Vec<f32>, space: Space) -> Calibration {
        Calibration {
            method: Method::Residuals,
            space,
            spread: 0,
            sets: vec![ErrorSet {
                level: None,
                steps: vec![errors],
            }],
        }
    }

    /// Validation forecasts that were all too low (every error above zero) give a band
    /// above its forecast; stretched, it holds the forecast, and only its lower end moved.
    /// The bias is reported, with its side and share.
    #[test]
    fn a_band_holds_its_forecast_when_the_errors_lean_one_way() {
        let f = featurizer(crate::features::scaler::TransformKind::Diff);
        let history: Vec<f64> = (0..10).map(|i| 100.0 + i as f64).collect();
        // 19 errors from 1 to 19 units: the 80 % band is forecast + [2, 18] units.
        let c = one_step((1..=19).map(|e| e as f32).collect(), Space::Units);
        let point = 110.0;
        let band = c
            .band(
                &f,
                &history,
                &[point],
                &[(point, point)],
                Level::new(0.8).unwrap(),
            )
            .unwrap();
        let (lower, upper) = (band[0].lower(), band[0].upper());
        assert!(
            lower <= point && point <= upper,
            "{point} outside [{lower}, {upper}]"
        );
        assert_eq!(lower, point, "stretched only as far as the forecast");
        let scale = match f.scaler {
            crate::features::scaler::Scaler::Diff { scale } => scale,
            other => panic!("{other:?}"),
        };
        assert!((upper - (point + 18.0 * scale)).abs() < 1e-9, "{upper}");
        let bias = c.bias().unwrap();
        assert!(
            bias.too_low && bias.share == 1.0 && bias.forecasts == 19,
            "{bias:?}"
        );
        assert_eq!(
            bias.to_string(),
            "100 % of its 19 validation forecasts one step ahead were too low"
        );
        // Errors on both sides: no bias.
        let even = one_step((-9..=9).map(|e| e as f32).collect(), Space::Units);
        assert_eq!(even.bias(), None);
    }

    /// A `window` model's band lives in the space of ratios: errors of −150 % of the last
    /// value cannot take the lower end below zero in log space, where in units (gruf 1.5's
    /// files, kept as they were) they did.
    #[test]
    fn a_window_models_band_stays_positive_in_log_space() {
        let f = featurizer(crate::features::scaler::TransformKind::Window);
        let scale = match f.scaler {
            crate::features::scaler::Scaler::Window { scale } => scale,
            other => panic!("{other:?}"),
        };
        let history = vec![100.0; 10];
        // Errors of −1.5 and +0.1 in ratio terms, over the transform's scale.
        let errors: Vec<f32> = (0..19)
            .map(|i| if i < 10 { -1.5 / scale } else { 0.1 / scale } as f32)
            .collect();
        let eighty = Level::new(0.8).unwrap();
        let band = |space| {
            one_step(errors.clone(), space)
                .band(&f, &history, &[100.0], &[(100.0, 100.0)], eighty)
                .unwrap()[0]
        };
        let units = band(Space::Units);
        assert!(units.lower() < 0.0, "{units:?}");
        let log = band(Space::Log);
        assert!(log.lower() > 0.0 && log.upper() > 100.0, "{log:?}");
        // Measured values map back to themselves.
        let m = Measure::new(&f, &history, Space::Log);
        for v in [0.5, 60.0, 100.0, 250.0] {
            assert!((m.value(0, m.of(0, v)) - v).abs() < 1e-9 * v, "{v}");
        }
    }

    /// A level that reaches fewer steps than asked says how far it reaches.
    #[test]
    fn a_refused_step_names_how_far_the_level_reaches() {
        // 12, 10 and 8 errors at steps 1 to 3: an 80 % interval needs 9.
        let c = Calibration {
            method: Method::Residuals,
            space: Space::Units,
            spread: 0,
            sets: vec![ErrorSet {
                level: None,
                steps: [12, 10, 8]
                    .iter()
                    .map(|&n| (0..n).map(|e| e as f32).collect())
                    .collect(),
            }],
        };
        let eighty = Level::new(0.8).unwrap();
        assert_eq!(c.reach_of(eighty), 2);
        let err = c.check(3, &[eighty]).unwrap_err();
        assert!(
            err.to_string()
                .contains("its 80 % intervals reach 2 steps ahead: ask for 2 steps or fewer"),
            "{err}"
        );
        assert_eq!(c.reach_of(Level::new(0.95).unwrap()), 0);
        let err = c.check(1, &[Level::new(0.95).unwrap()]).unwrap_err();
        assert!(err.to_string().contains("gives no 95 % interval"), "{err}");
    }

    /// CQR: one error set per level the quantile pairs give; the interval's ends move by
    /// the ⌈(n + 1)(1 − α)⌉-th smallest error, and a level without its pair is refused
    /// naming the quantiles it needs.
    #[test]
    fn quantile_calibration_takes_one_order_statistic_per_level() {
        let levels = quantile_levels(&[0.025, 0.1, 0.5, 0.9, 0.975]);
        let got: Vec<(f64, usize, usize)> =
            levels.iter().map(|&(l, i, j)| (l.get(), i, j)).collect();
        assert_eq!(got.len(), 2);
        assert!((got[0].0 - 0.8).abs() < 1e-12 && (got[0].1, got[0].2) == (1, 3));
        assert!((got[1].0 - 0.95).abs() < 1e-12 && (got[1].1, got[1].2) == (0, 4));
        assert!(quantile_levels(&[0.1, 0.5, 0.8]).is_empty());
        let eighty = Level::new(0.8).unwrap();
        let c = Calibration {
            method: Method::Quantiles,
            space: Space::Units,
            spread: 0,
            sets: vec![ErrorSet {
                level: Some(eighty),
                // n = 9: rank ⌈10 · 0.8⌉ = 8.
                steps: vec![(1..=9).map(|i| i as f32 - 5.0).collect()],
            }],
        };
        assert_eq!(c.offsets(0, eighty).unwrap(), (-3.0, 3.0));
        let ninety = Level::new(0.9).unwrap();
        let err = c.offsets(0, ninety).unwrap_err();
        assert!(
            err.to_string().contains("gives 80 % intervals (from its quantiles 0.1, 0.9); a 90 % interval needs the quantiles 0.05 and 0.95"),
            "{err}"
        );
        assert_eq!(min_one_sided(eighty), 4);
        assert_eq!(min_one_sided(Level::new(0.95).unwrap()), 19);
        assert_eq!(one_sided_rank(3, eighty), None);
        assert_eq!(one_sided_rank(4, eighty), Some(4));
    }
}
