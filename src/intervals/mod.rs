//! Prediction intervals: how they are scored, and the baselines they must beat.
//!
//! A central interval at level 1 − α forecasts two quantiles of the target, α/2 and
//! 1 − α/2. It is scored as forecasting competitions (M4) score one: how often it holds the
//! truth (coverage, to compare with the level), how wide it is (sharpness), and the mean
//! scaled interval score (MSIS), which rewards a narrow interval and charges 2/α per unit
//! of each miss, so neither "always wide" nor "always narrow" wins. The pinball loss scores
//! any set of quantile forecasts the same way a quantile head is trained.
//!
//! The baselines are what any user could build by hand: the naive forecast (the last
//! value) with an interval from the empirical quantiles of the series' own past h-step
//! changes, over the whole history or a rolling window. A model's intervals are worth
//! showing only when they are calibrated and sharper than these.
//!
//! Contract, as in [`crate::scores`]: nothing is scored that cannot be scored. Empty
//! input, a non-finite value, an interval whose ends cross, a scale that is not a positive
//! number and a quantile that too few past changes support are errors ([`IntervalError`],
//! worded for the user), never a figure made up to fill a table.

pub mod conformal;
pub mod mc_dropout;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::series::calendar::Calendar;

/// Coverage within this many percentage points of the nominal level counts as calibrated.
pub const CALIBRATED_POINTS: f64 = 3.0;

/// Days of history in the rolling-window baseline.
pub const ROLLING_DAYS: usize = 90;

/// Slack when rounding (n + 1)·p up to an order statistic. A level typed as a decimal is
/// not exact in binary, and (39 + 1) · 0.975 must give rank 39, not 40. The product's
/// rounding error stays below 1e-9 for n up to about a million, and for a level with up to
/// eight decimals the exact product is never that close above a whole number.
const RANK_SLACK: f64 = 1e-9;

/// Why an interval cannot be scored or built. Messages are lowercase, name the value and,
/// where the user can act, say how.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntervalError {
    #[error("nothing to score: no targets")]
    Empty,

    #[error("{truth} true values but {forecasts} forecasts: they must pair one to one")]
    Lengths { truth: usize, forecasts: usize },

    #[error("{what} {index} is {value}, not a finite number")]
    NotFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },

    #[error("an interval end is {0}, not a finite number")]
    End(f64),

    #[error("an interval from {lower} to {upper}: its lower end is above its upper end")]
    Crossed { lower: f64, upper: f64 },

    #[error(
        "scale {0}: scores are scaled by a positive error, the naive forecast's mean \
         absolute error on the training part; a training part that never moves has none"
    )]
    Scale(f64),

    #[error("quantile {0}: a quantile level is a probability between 0 and 1, e.g. 0.9")]
    Quantile(f64),

    #[error(
        "origin {origin}: a forecast needs at least one known value before it, and at most \
         the {len} values of the series"
    )]
    Origin { origin: usize, len: usize },

    #[error("horizon 0: forecasts start one step ahead")]
    Horizon,

    #[error(
        "value {index} is {value}: relative changes need every value above zero; use \
         absolute changes for a series that reaches zero or below"
    )]
    NotPositive { index: usize, value: f64 },

    #[error(
        "too few past {steps}-step changes for a {percent} % interval: {have}, and at least \
         {need} are needed; give a longer history (or window) or ask for a lower level",
        percent = percent_label(.level)
    )]
    TooFew {
        have: usize,
        need: usize,
        steps: usize,
        level: Level,
    },
}

/// A level in percent for messages: `95`, `99.5` (no float noise).
fn percent_label(level: &Level) -> String {
    format!("{}", (level.percent() * 1e6).round() / 1e6)
}

/// The nominal coverage of a central interval: a probability strictly between 0 and 1
/// (0.8 is an 80 % interval, α = 0.2). A value of this type is a level that can be asked
/// for; parse user input with [`Level::from_str`] or [`Level::new`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Level(f64);

impl Level {
    /// `Err` (the message names the value) unless 0 < `p` < 1.
    pub fn new(p: f64) -> Result<Level, String> {
        if p > 0.0 && p < 1.0 {
            return Ok(Level(p));
        }
        // Someone who writes 80 means 80 %: say how to write it.
        let hint = if (50.0..100.0).contains(&p) {
            format!("; for {p} % write {}", p / 100.0)
        } else {
            String::new()
        };
        Err(format!(
            "level {p}: a level is a probability between 0 and 1, e.g. 0.8{hint}"
        ))
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// The level in percent without float noise, for names and messages: `80`, `97.5`.
    pub fn label(self) -> String {
        percent_label(&self)
    }

    /// The level in percent, the unit coverage is given in.
    pub fn percent(self) -> f64 {
        100.0 * self.0
    }

    /// α = 1 − level: the share of targets the interval may miss.
    pub fn alpha(self) -> f64 {
        1.0 - self.0
    }

    /// The quantile levels the interval's lower and upper ends forecast: α/2 and 1 − α/2.
    pub fn quantiles(self) -> [f64; 2] {
        let half = self.alpha() / 2.0;
        [half, 1.0 - half]
    }

    /// The fewest past changes from which [`ranks`] can give this level's interval: the
    /// smallest n with ⌈(n + 1)(1 − α/2)⌉ ≤ n, that is n ≥ (1 − α/2)/(α/2). 3 for 50 %,
    /// 9 for 80 %, 19 for 90 %, 39 for 95 %, 199 for 99 %.
    pub fn min_changes(self) -> usize {
        let half = self.alpha() / 2.0;
        ((1.0 - half) / half - RANK_SLACK).ceil().max(1.0) as usize
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.trim().parse::<f64>() {
            Ok(p) => Level::new(p),
            Err(_) => Err(format!(
                "level '{s}': a level is a probability between 0 and 1, e.g. 0.8"
            )),
        }
    }
}

impl fmt::Display for Level {
    /// As written on the command line: `0.8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<f64> for Level {
    type Error = String;
    fn try_from(p: f64) -> Result<Level, String> {
        Level::new(p)
    }
}

impl From<Level> for f64 {
    fn from(level: Level) -> f64 {
        level.0
    }
}

/// A forecast interval for one target, in price units: finite ends, lower ≤ upper (a
/// point forecast is an interval of width 0). Its level is the caller's to keep beside it:
/// a band of intervals shares one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    lower: f64,
    upper: f64,
}

impl Interval {
    /// `Err` when an end is not finite or the ends cross.
    pub fn new(lower: f64, upper: f64) -> Result<Interval, IntervalError> {
        if let Some(end) = [lower, upper].into_iter().find(|e| !e.is_finite()) {
            return Err(IntervalError::End(end));
        }
        if lower > upper {
            return Err(IntervalError::Crossed { lower, upper });
        }
        Ok(Interval { lower, upper })
    }

    pub fn lower(self) -> f64 {
        self.lower
    }

    pub fn upper(self) -> f64 {
        self.upper
    }

    pub fn width(self) -> f64 {
        self.upper - self.lower
    }

    /// Whether `y` lies in the interval, both ends included.
    pub fn contains(self, y: f64) -> bool {
        self.lower <= y && y <= self.upper
    }

    /// The interval stretched to hold its forecast `point` (a forecast and its interval
    /// agree); only ever wider, so its coverage cannot fall. A point that is not a finite
    /// number leaves it as it is.
    pub fn holding(self, point: f64) -> Interval {
        if !point.is_finite() {
            return self;
        }
        Interval {
            lower: self.lower.min(point),
            upper: self.upper.max(point),
        }
    }

    /// The interval score of `y` at `level`, in price units: the width, plus 2/α times
    /// the distance by which `y` falls outside (Gneiting & Raftery 2007). Its expectation
    /// is smallest for the true α/2 and 1 − α/2 quantiles.
    pub fn score(self, y: f64, level: Level) -> f64 {
        let penalty = 2.0 / level.alpha();
        let below = if y < self.lower { self.lower - y } else { 0.0 };
        let above = if y > self.upper { y - self.upper } else { 0.0 };
        self.width() + penalty * below + penalty * above
    }
}

/// One band of intervals at one level, scored against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntervalScores {
    pub level: Level,
    /// Targets scored.
    pub n: usize,
    /// Share of targets inside their interval, in percent (like evaluate's MAPE and
    /// directional accuracy), to compare with [`Level::percent`].
    pub coverage: f64,
    /// Mean width, in price units.
    pub width: f64,
    /// Mean scaled interval score: the mean [`Interval::score`] over the scale passed in
    /// (like MASE, 1 is the scale's own error; lower is better).
    pub msis: f64,
}

impl IntervalScores {
    /// Coverage within [`CALIBRATED_POINTS`] of the level.
    pub fn calibrated(&self) -> bool {
        (self.coverage - self.level.percent()).abs() <= CALIBRATED_POINTS
    }
}

/// Scores `intervals` at `level` against `truth` (one interval per true value).
///
/// `scale` divides the mean interval score into the MSIS, as MASE's denominator divides
/// the MAE; pass the same one as the point scores use, so that MSIS and MASE read alike:
/// [`crate::scores::naive_scale`] on the training part for one-step scores, or
/// [`crate::scores::seasonal_scale`] on the values before the origin for M4-style
/// scores of a forecast made in one go. `Err` for empty or unpaired input, a non-finite
/// true value, or a scale that is not a positive finite number (a flat training part).
pub fn score_intervals(
    truth: &[f64],
    intervals: &[Interval],
    level: Level,
    scale: f64,
) -> Result<IntervalScores, IntervalError> {
    check_pairs(truth, intervals.len())?;
    check_scale(scale)?;
    let n = truth.len() as f64;
    let (mut inside, mut width, mut score) = (0usize, 0.0, 0.0);
    for (&y, &i) in truth.iter().zip(intervals) {
        inside += usize::from(i.contains(y));
        width += i.width();
        score += i.score(y, level);
    }
    Ok(IntervalScores {
        level,
        n: truth.len(),
        coverage: 100.0 * inside as f64 / n,
        width: width / n,
        msis: score / n / scale,
    })
}

/// The pinball loss of quantile forecasts: for quantile level q and forecast f of truth y,
/// ρ_q(y − f) = max(q (y − f), (q − 1)(y − f)), averaged over every target and quantile.
/// `forecasts[t][j]` forecasts quantile `quantiles[j]` of `truth[t]`. Price units with
/// `scale` `None`; divided by the scale (as [`score_intervals`] takes it) with `Some`.
///
/// The ends of an interval at level 1 − α are forecasts of its [`Level::quantiles`], and
/// their two losses sum to α/2 times its interval score: the pinball loss over the
/// quantiles of several levels ranks bands as their interval scores do, in one figure.
/// `Err` for empty or unpaired input, a row with another number of forecasts than
/// quantiles, a quantile level outside (0, 1), a non-finite value, or a bad scale.
pub fn pinball(
    truth: &[f64],
    quantiles: &[f64],
    forecasts: &[Vec<f64>],
    scale: Option<f64>,
) -> Result<f64, IntervalError> {
    check_pairs(truth, forecasts.len())?;
    if quantiles.is_empty() {
        return Err(IntervalError::Empty);
    }
    if let Some(&q) = quantiles.iter().find(|&&q| !(q > 0.0 && q < 1.0)) {
        return Err(IntervalError::Quantile(q));
    }
    if let Some(s) = scale {
        check_scale(s)?;
    }
    let mut total = 0.0;
    for (t, (&y, row)) in truth.iter().zip(forecasts).enumerate() {
        if row.len() != quantiles.len() {
            return Err(IntervalError::Lengths {
                truth: quantiles.len(),
                forecasts: row.len(),
            });
        }
        for (&q, &f) in quantiles.iter().zip(row) {
            if !f.is_finite() {
                return Err(IntervalError::NotFinite {
                    what: "quantile forecast for target",
                    index: t,
                    value: f,
                });
            }
            let e = y - f;
            total += (q * e).max((q - 1.0) * e);
        }
    }
    let mean = total / (truth.len() * quantiles.len()) as f64;
    Ok(mean / scale.unwrap_or(1.0))
}

/// Non-empty, one forecast per true value, every true value finite.
fn check_pairs(truth: &[f64], forecasts: usize) -> Result<(), IntervalError> {
    if truth.is_empty() {
        return Err(IntervalError::Empty);
    }
    if truth.len() != forecasts {
        return Err(IntervalError::Lengths {
            truth: truth.len(),
            forecasts,
        });
    }
    match truth.iter().position(|y| !y.is_finite()) {
        Some(index) => Err(IntervalError::NotFinite {
            what: "true value",
            index,
            value: truth[index],
        }),
        None => Ok(()),
    }
}

fn check_scale(scale: f64) -> Result<(), IntervalError> {
    if scale > 0.0 && scale.is_finite() {
        Ok(())
    } else {
        Err(IntervalError::Scale(scale))
    }
}

/// How a past change is measured, and so how it carries over to the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Changes {
    /// Differences values[t] − values[t − h], added to the last value. For series that
    /// reach zero or go below (spreads, returns, temperatures), or whose level hardly moves
    /// over the history.
    Absolute,
    /// Ratios values[t] / values[t − h], multiplying the last value. For prices: a move
    /// scales with the price (BTC went from 300 to 70,000, and a 100-dollar day meant
    /// something else at each end), so past ratios carry over where past differences do
    /// not. Needs every value used to be above zero.
    Relative,
}

impl Changes {
    /// Relative when every value is above zero (a price), absolute otherwise.
    pub fn for_values(values: &[f64]) -> Changes {
        if values.iter().all(|&v| v > 0.0) {
            Changes::Relative
        } else {
            Changes::Absolute
        }
    }
}

/// Which past changes an interval is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// Every h-step change before the origin.
    Whole,
    /// The h-step changes that end in the last `steps` values before the origin: `steps`
    /// changes at every horizon (each reaching h values further back), so a change of
    /// volatility shows within `steps` steps.
    Rolling { steps: usize },
}

impl History {
    /// A rolling window of [`ROLLING_DAYS`] days on `calendar`: for intraday data as many
    /// steps as that many days hold (2,160 hours), so "90 days" means 90 days of market;
    /// for daily data and coarser calendars (business days, weeks, months), 90 steps, so
    /// the window still holds enough changes for a 95 % interval (which needs 39) where
    /// 90 days would hold 13 weeks or 3 months.
    pub fn rolling_for(calendar: &Calendar) -> History {
        const DAY: i64 = 86_400;
        let per_day = match *calendar {
            Calendar::Fixed { seconds } if seconds > 0 && seconds < DAY && DAY % seconds == 0 => {
                (DAY / seconds) as usize
            }
            _ => 1,
        };
        History::Rolling {
            steps: ROLLING_DAYS * per_day,
        }
    }
}

/// A naive-with-empirical-changes baseline: the last value as the point, and an interval
/// from the quantiles of past changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Baseline {
    pub changes: Changes,
    pub history: History,
}

/// The 1-based ranks, among `n` sorted past changes, of the lower and upper ends of the
/// interval at `level`: ⌊(n + 1) α/2⌋ and ⌈(n + 1)(1 − α/2)⌉ (they add up to n + 1, so
/// the interval is symmetric in rank). `None` when n is below [`Level::min_changes`].
///
/// Why this rule rather than an interpolated quantile (numpy's default, type 7): when the
/// past changes and the coming one are exchangeable, the next change falls above the
/// ⌈(n + 1)p⌉-th smallest of n with probability at most 1 − p, whatever their
/// distribution and however small n (the split-conformal argument), so the interval covers
/// at least its level. It only ever returns changes that happened, and when n is too small
/// for the level the rank passes n and the answer is "cannot", where an interpolated
/// quantile would quietly return the largest change and under-cover.
pub fn ranks(n: usize, level: Level) -> Option<(usize, usize)> {
    let upper_q = level.quantiles()[1];
    let hi = ((n + 1) as f64 * upper_q - RANK_SLACK).ceil() as usize;
    let lo = (n + 1).checked_sub(hi)?;
    (lo >= 1 && hi <= n).then_some((lo, hi))
}

/// The past h-step changes at one origin, sorted, with the last value they apply to: one
/// sort serves every level.
#[derive(Debug, Clone, PartialEq)]
pub struct PastChanges {
    /// values[origin − 1]: the naive forecast.
    last: f64,
    changes: Changes,
    /// Steps ahead.
    steps: usize,
    sorted: Vec<f64>,
}

impl PastChanges {
    /// The changes over `steps` steps known at `origin` (the forecast starts after
    /// `values[..origin]` and targets `values[origin + steps − 1]`): c_t for every t <
    /// origin with t − steps ≥ 0, within `baseline.history`. `Err` for an origin with
    /// nothing before it or past the end, horizon 0, a non-finite value among those used,
    /// or (relative changes) one that is not above zero.
    pub fn new(
        values: &[f64],
        origin: usize,
        steps: usize,
        baseline: Baseline,
    ) -> Result<PastChanges, IntervalError> {
        if origin == 0 || origin > values.len() {
            return Err(IntervalError::Origin {
                origin,
                len: values.len(),
            });
        }
        if steps == 0 {
            return Err(IntervalError::Horizon);
        }
        let first_end = match baseline.history {
            History::Whole => steps,
            History::Rolling { steps: window } => origin.saturating_sub(window).max(steps),
        };
        // Every value a change reads, and the last one.
        let first_read = if first_end < origin {
            first_end - steps
        } else {
            origin - 1
        };
        for (index, &value) in values.iter().enumerate().take(origin).skip(first_read) {
            if !value.is_finite() {
                return Err(IntervalError::NotFinite {
                    what: "value",
                    index,
                    value,
                });
            }
            if baseline.changes == Changes::Relative && value <= 0.0 {
                return Err(IntervalError::NotPositive { index, value });
            }
        }
        let mut sorted: Vec<f64> = (first_end..origin)
            .map(|t| match baseline.changes {
                Changes::Absolute => values[t] - values[t - steps],
                Changes::Relative => values[t] / values[t - steps],
            })
            .collect();
        sorted.sort_unstable_by(f64::total_cmp);
        Ok(PastChanges {
            last: values[origin - 1],
            changes: baseline.changes,
            steps,
            sorted,
        })
    }

    /// How many changes the interval rests on.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The naive point forecast: the last value before the origin.
    pub fn point(&self) -> f64 {
        self.last
    }

    /// The interval at `level`: the last value moved by the changes of [`ranks`].
    /// `Err(TooFew)` when there are fewer changes than [`Level::min_changes`].
    pub fn interval(&self, level: Level) -> Result<Interval, IntervalError> {
        let (lo, hi) = ranks(self.len(), level).ok_or(IntervalError::TooFew {
            have: self.len(),
            need: level.min_changes(),
            steps: self.steps,
            level,
        })?;
        let apply = |c: f64| match self.changes {
            Changes::Absolute => self.last + c,
            Changes::Relative => self.last * c,
        };
        Interval::new(apply(self.sorted[lo - 1]), apply(self.sorted[hi - 1]))
    }
}

/// The baseline's interval at `level` for `values[origin + steps − 1]`, forecast from
/// `values[..origin]`: [`PastChanges::new`] then [`PastChanges::interval`].
pub fn baseline_interval(
    values: &[f64],
    origin: usize,
    steps: usize,
    level: Level,
    baseline: Baseline,
) -> Result<Interval, IntervalError> {
    PastChanges::new(values, origin, steps, baseline)?.interval(level)
}

/// The intervals of a forecast at one level, one per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub level: Level,
    pub intervals: Vec<Interval>,
}

impl Band {
    /// Stretches each interval to hold its forecast `point[k]` (a forecast and its
    /// interval agree: see [`Calibration::band`](crate::intervals::conformal::Calibration::band)).
    /// Only ever widens, so coverage cannot fall.
    pub fn hold(&mut self, point: &[f64]) {
        for (interval, &p) in self.intervals.iter_mut().zip(point) {
            *interval = interval.holding(p);
        }
    }

    /// The names of its ends in CSV and JSON: `lower_80`, `upper_80`.
    pub fn names(&self) -> [String; 2] {
        let l = self.level.label();
        [format!("lower_{l}"), format!("upper_{l}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    use crate::rng::Rng64;

    fn level(p: f64) -> Level {
        Level::new(p).unwrap()
    }

    fn iv(lower: f64, upper: f64) -> Interval {
        Interval::new(lower, upper).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    const WHOLE_ABS: Baseline = Baseline {
        changes: Changes::Absolute,
        history: History::Whole,
    };

    /// A random walk with i.i.d. N(0, σ²) steps, σ given per step.
    fn random_walk(seed: u64, sigmas: impl Iterator<Item = f64>) -> Vec<f64> {
        let mut rng = Rng64::seed_from_u64(seed);
        let mut x = 0.0;
        let mut out = vec![x];
        for sigma in sigmas {
            // Box–Muller from two uniforms in (0, 1], as the synthetic sample draws.
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            x += sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            out.push(x);
        }
        out
    }

    #[test]
    fn levels_parse_and_refuse_with_the_value() {
        let l: Level = "0.8".parse().unwrap();
        assert_eq!(l.get(), 0.8);
        assert!(close(l.alpha(), 0.2));
        assert!(close(l.quantiles()[0], 0.1) && close(l.quantiles()[1], 0.9));
        assert_eq!(l.to_string(), "0.8");
        for bad in ["1.5", "0", "1", "-0.2", "NaN", "inf"] {
            let err = bad.parse::<Level>().unwrap_err();
            assert!(err.contains("between 0 and 1, e.g. 0.8"), "{err}");
        }
        assert_eq!(
            "1.5".parse::<Level>().unwrap_err(),
            "level 1.5: a level is a probability between 0 and 1, e.g. 0.8"
        );
        assert!("80"
            .parse::<Level>()
            .unwrap_err()
            .ends_with("for 80 % write 0.8"));
        assert!("eighty"
            .parse::<Level>()
            .unwrap_err()
            .starts_with("level 'eighty'"));
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, "0.8");
        assert_eq!(serde_json::from_str::<Level>(&json).unwrap(), l);
        assert!(serde_json::from_str::<Level>("2").is_err());
    }

    #[test]
    fn intervals_refuse_crossed_or_infinite_ends() {
        assert_eq!(
            Interval::new(2.0, 1.0),
            Err(IntervalError::Crossed {
                lower: 2.0,
                upper: 1.0
            })
        );
        assert!(Interval::new(f64::NAN, 1.0).is_err());
        assert!(Interval::new(0.0, f64::INFINITY).is_err());
        assert_eq!(iv(3.0, 3.0).width(), 0.0);
    }

    #[test]
    fn scores_by_hand() {
        // 80 %: α = 0.2, so each unit of a miss costs 2/α = 10.
        // y = 5 in [4, 6]: 2. y = 1 below [2, 4] by 1: 2 + 10. y = 9 above [5, 8] by 1: 3 + 10.
        // y = 7 on the upper end of [6, 7]: inside, 1.
        let truth = [5.0, 1.0, 9.0, 7.0];
        let bands = [iv(4.0, 6.0), iv(2.0, 4.0), iv(5.0, 8.0), iv(6.0, 7.0)];
        let s = score_intervals(&truth, &bands, level(0.8), 2.0).unwrap();
        assert_eq!(s.n, 4);
        assert_eq!(s.coverage, 50.0);
        assert_eq!(s.width, 2.0);
        // Scores 2, 12, 13, 1: mean 7, over the scale 2.
        assert!(close(s.msis, 3.5), "{}", s.msis);
        assert!(!s.calibrated());
        let all_in = score_intervals(&[5.0], &[iv(4.0, 6.0)], level(0.98), 1.0).unwrap();
        assert!(all_in.calibrated() && all_in.coverage == 100.0);

        // Pinball at q = 0.1, 0.5, 0.9 of y = 10: forecasts 8, 10, 13 lose
        // 0.1·2, 0, 0.1·3; forecasts of y = 0 at 1, 2, 3 lose 0.9·1, 0.5·2, 0.1·3.
        let q = [0.1, 0.5, 0.9];
        let f = vec![vec![8.0, 10.0, 13.0], vec![1.0, 2.0, 3.0]];
        let want = (0.2 + 0.0 + 0.3 + 0.9 + 1.0 + 0.3) / 6.0;
        assert!(close(pinball(&[10.0, 0.0], &q, &f, None).unwrap(), want));
        assert!(close(
            pinball(&[10.0, 0.0], &q, &f, Some(4.0)).unwrap(),
            want / 4.0
        ));
    }

    #[test]
    fn an_intervals_two_pinball_losses_are_its_interval_score_times_alpha_over_two() {
        let l = level(0.9);
        let truth = [0.0, 3.0, -2.0, 10.0];
        let bands = [iv(-1.0, 1.0), iv(-1.0, 1.0), iv(-1.5, 4.0), iv(2.0, 2.5)];
        let rows: Vec<Vec<f64>> = bands.iter().map(|b| vec![b.lower(), b.upper()]).collect();
        let loss = pinball(&truth, &l.quantiles(), &rows, None).unwrap();
        let s = score_intervals(&truth, &bands, l, 1.0).unwrap();
        // Mean over 2 quantiles: (α/2)·IS / 2.
        assert!(close(loss, l.alpha() / 4.0 * s.msis), "{loss} {}", s.msis);
    }

    #[test]
    fn nothing_is_scored_that_cannot_be() {
        let l = level(0.8);
        assert_eq!(score_intervals(&[], &[], l, 1.0), Err(IntervalError::Empty));
        assert_eq!(
            score_intervals(&[1.0], &[], l, 1.0),
            Err(IntervalError::Lengths {
                truth: 1,
                forecasts: 0
            })
        );
        assert!(matches!(
            score_intervals(&[1.0, f64::NAN], &[iv(0.0, 1.0); 2], l, 1.0),
            Err(IntervalError::NotFinite { index: 1, .. })
        ));
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                score_intervals(&[1.0], &[iv(0.0, 1.0)], l, scale),
                Err(IntervalError::Scale(_))
            ));
        }
        let f = vec![vec![1.0]];
        assert_eq!(
            pinball(&[1.0], &[], &[vec![]], None),
            Err(IntervalError::Empty)
        );
        assert_eq!(
            pinball(&[1.0], &[1.0], &f, None),
            Err(IntervalError::Quantile(1.0))
        );
        assert!(pinball(&[1.0], &[0.5, 0.9], &f, None).is_err());
        assert!(pinball(&[1.0], &[0.5], &[vec![f64::NAN]], None).is_err());
        assert!(pinball(&[1.0], &[0.5], &f, Some(0.0)).is_err());
    }

    #[test]
    fn ranks_need_enough_changes_for_the_level() {
        for (p, need) in [(0.5, 3), (0.8, 9), (0.9, 19), (0.95, 39), (0.99, 199)] {
            let l = level(p);
            assert_eq!(l.min_changes(), need, "{p}");
            assert_eq!(ranks(need - 1, l), None, "{p}");
            assert!(ranks(need, l).is_some(), "{p}");
        }
        // With the fewest changes, the interval runs from the smallest to the largest.
        assert_eq!(ranks(39, level(0.95)), Some((1, 39)));
        assert_eq!(ranks(9, level(0.8)), Some((1, 9)));
        // (100 + 1)·0.1 = 10.1 → 10th; (100 + 1)·0.9 = 90.9 → 91st.
        assert_eq!(ranks(100, level(0.8)), Some((10, 91)));
        assert_eq!(ranks(0, level(0.5)), None);
    }

    #[test]
    fn the_baseline_applies_ranked_past_changes_to_the_last_value() {
        // Steps +1, −2, +3, −4, +5, … : 1-step changes ±k.
        let mut values = vec![100.0];
        for k in 1..=12 {
            let step = if k % 2 == 1 { k as f64 } else { -(k as f64) };
            values.push(values[k - 1] + step);
        }
        // Origin 10: changes 1..=9 (t = 1..9): +1 −2 +3 −4 +5 −6 +7 −8 +9; 80 % needs 9,
        // ranks (1, 9): the smallest (−8) and the largest (+9), around values[9].
        let past = PastChanges::new(&values, 10, 1, WHOLE_ABS).unwrap();
        assert_eq!((past.len(), past.point()), (9, values[9]));
        assert_eq!(
            past.interval(level(0.8)).unwrap(),
            iv(values[9] - 8.0, values[9] + 9.0)
        );
        assert_eq!(
            past.interval(level(0.95)),
            Err(IntervalError::TooFew {
                have: 9,
                need: 39,
                steps: 1,
                level: level(0.95)
            })
        );
        // 2-step changes at origin 10 end at t = 2..9: 8 of them, too few for 80 %.
        assert!(baseline_interval(&values, 10, 2, level(0.8), WHOLE_ABS).is_err());
        assert_eq!(
            PastChanges::new(&values, 10, 2, WHOLE_ABS).unwrap().len(),
            8
        );
        // Relative: ratios, multiplying the last value.
        let prices = [10.0, 20.0, 10.0, 15.0];
        let rel = Baseline {
            changes: Changes::Relative,
            history: History::Whole,
        };
        let past = PastChanges::new(&prices, 4, 1, rel).unwrap();
        // Ratios 2, 0.5, 1.5; 50 % needs 3, ranks (1, 3).
        assert_eq!(
            past.interval(level(0.5)).unwrap(),
            iv(15.0 * 0.5, 15.0 * 2.0)
        );
        assert_eq!(
            PastChanges::new(&[1.0, 0.0, 2.0], 3, 1, rel),
            Err(IntervalError::NotPositive {
                index: 1,
                value: 0.0
            })
        );
        assert_eq!(Changes::for_values(&prices), Changes::Relative);
        assert_eq!(Changes::for_values(&[1.0, -1.0]), Changes::Absolute);
        // Origins and horizons that cannot be.
        assert!(matches!(
            PastChanges::new(&prices, 0, 1, rel),
            Err(IntervalError::Origin { .. })
        ));
        assert!(matches!(
            PastChanges::new(&prices, 5, 1, rel),
            Err(IntervalError::Origin { .. })
        ));
        assert_eq!(
            PastChanges::new(&prices, 4, 0, rel),
            Err(IntervalError::Horizon)
        );
        assert_eq!(PastChanges::new(&prices, 1, 1, rel).unwrap().len(), 0);
        assert!(matches!(
            PastChanges::new(&[1.0, f64::NAN, 2.0], 3, 1, WHOLE_ABS),
            Err(IntervalError::NotFinite { index: 1, .. })
        ));
    }

    #[test]
    fn the_rolling_window_reads_only_its_last_values() {
        let values = random_walk(5, std::iter::repeat_n(1.0, 300));
        let rolling = Baseline {
            changes: Changes::Absolute,
            history: History::Rolling { steps: 90 },
        };
        let (origin, h) = (250, 5);
        // The window's changes end at t = 160..249 and start at 155: anything before that
        // is invisible to it, and not to the whole history.
        let mut changed = values.clone();
        for v in &mut changed[..155] {
            *v *= 3.0;
        }
        let past = PastChanges::new(&values, origin, h, rolling).unwrap();
        assert_eq!(past.len(), 90);
        assert_eq!(
            past,
            PastChanges::new(&changed, origin, h, rolling).unwrap()
        );
        changed[155] += 1.0;
        assert_ne!(
            past,
            PastChanges::new(&changed, origin, h, rolling).unwrap()
        );
        assert_ne!(
            PastChanges::new(&values, origin, h, WHOLE_ABS).unwrap(),
            PastChanges::new(&changed, origin, h, WHOLE_ABS).unwrap()
        );
        // A bad value outside the window does not stop it.
        let mut broken = values.clone();
        broken[10] = f64::NAN;
        assert!(PastChanges::new(&broken, origin, h, rolling).is_ok());
        assert!(PastChanges::new(&broken, origin, h, WHOLE_ABS).is_err());
        // Early on the window holds what there is.
        assert_eq!(PastChanges::new(&values, 50, h, rolling).unwrap().len(), 45);
    }

    #[test]
    fn the_rolling_window_follows_a_change_of_volatility_that_the_whole_history_lags() {
        // 2,000 steps of σ = 1, then 2,000 of σ = 2.
        let sigmas = (0..4_000).map(|i| if i < 2_000 { 1.0 } else { 2.0 });
        let values = random_walk(11, sigmas);
        let rolling = Baseline {
            changes: Changes::Absolute,
            history: History::Rolling { steps: 90 },
        };
        let l = level(0.8);
        let width = |o: usize, b: Baseline| baseline_interval(&values, o, 1, l, b).unwrap().width();
        // values[2001] is the first value after a σ = 2 step; 90 steps later the window
        // holds only those.
        let (before, after) = (2_001, 2_001 + 90);
        let rolling_ratio = width(after, rolling) / width(before, rolling);
        let whole_ratio = width(after, WHOLE_ABS) / width(before, WHOLE_ABS);
        assert!(rolling_ratio > 1.6, "rolling widened only {rolling_ratio}×");
        assert!(whole_ratio < 1.15, "whole history widened {whole_ratio}×");
        // The whole history catches up only slowly: at the end (half its changes at σ = 2)
        // it is still narrower than the window.
        assert!(width(4_000, WHOLE_ABS) < width(4_000, rolling));
    }

    /// On a random walk with i.i.d. Gaussian steps the past h-step changes and the coming
    /// one are exchangeable, so the whole-history intervals must cover at their level.
    /// Origins every 4 steps from 1,000 to 20,000: about 4,750 targets per horizon, so the
    /// standard error of coverage is 0.6 points at 80 % and 0.3 at 95 %.
    #[test]
    fn whole_history_intervals_cover_a_gaussian_random_walk_at_their_level() {
        let values = random_walk(2024, std::iter::repeat_n(1.0, 20_000));
        let levels = [level(0.8), level(0.95)];
        for h in [1, 5] {
            let origins: Vec<usize> = (1_000..=values.len() - h).step_by(4).collect();
            let truth: Vec<f64> = origins.iter().map(|&o| values[o + h - 1]).collect();
            let mut bands = vec![Vec::new(); levels.len()];
            for &o in &origins {
                let past = PastChanges::new(&values, o, h, WHOLE_ABS).unwrap();
                for (band, &l) in bands.iter_mut().zip(&levels) {
                    band.push(past.interval(l).unwrap());
                }
            }
            for (band, &l) in bands.iter().zip(&levels) {
                let s = score_intervals(&truth, band, l, 1.0).unwrap();
                assert!(
                    (s.coverage - l.percent()).abs() <= 2.0,
                    "h = {h}, {l}: coverage {}",
                    s.coverage
                );
                // Width near the true 2·z·σ·√h (z = 1.2816 at 80 %, 1.9600 at 95 %).
                let z = if l.get() == 0.8 { 1.2816 } else { 1.9600 };
                let exact = 2.0 * z * (h as f64).sqrt();
                assert!(
                    (s.width / exact - 1.0).abs() < 0.05,
                    "{} vs {exact}",
                    s.width
                );
            }
        }
    }

    #[test]
    fn the_rolling_window_spans_ninety_days_of_the_calendar() {
        let steps = |c: Calendar| match History::rolling_for(&c) {
            History::Rolling { steps } => steps,
            History::Whole => 0,
        };
        assert_eq!(steps(Calendar::Fixed { seconds: 3_600 }), 2_160);
        assert_eq!(steps(Calendar::Fixed { seconds: 86_400 }), 90);
        assert_eq!(steps(Calendar::BusinessDays), 90);
        assert_eq!(
            steps(Calendar::Months {
                every: 1,
                end: false
            }),
            90
        );
    }
}
