//! The words intervals are spoken in: a [`Level`] (the coverage asked for), an
//! [`Interval`] (two finite ends in price units), a [`Band`] (one interval per forecast
//! step at one level), the [`IntervalError`] a user reads when one cannot be built or
//! scored, and [`ranks`], the order-statistic rule that turns a level and n sorted past
//! errors or changes into an interval's ends (shared by the naive baselines and the
//! conformal calibration).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
    /// `levels` lowest first, each once (as asked for on a command line).
    pub fn sorted(levels: &[Level]) -> Vec<Level> {
        let mut levels = levels.to_vec();
        levels.sort_by(|a, b| a.get().total_cmp(&b.get()));
        levels.dedup();
        levels
    }

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
    use crate::intervals::testing::{close, iv, level};

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
}
