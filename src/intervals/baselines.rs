//! The naive-quantile baselines, what any user could build by hand: the naive forecast
//! (the last value) with an interval from the empirical quantiles of the series' own past
//! h-step changes ([`PastChanges`]), over the whole history or a rolling window
//! ([`History`]), as differences or ratios ([`Changes`]). A model's intervals are worth
//! showing only when they are calibrated and sharper than these.

use serde::Serialize;

use super::level::{ranks, Interval, IntervalError, Level};
use crate::series::calendar::Calendar;

/// Days of history in the rolling-window baseline.
pub const ROLLING_DAYS: usize = 90;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::testing::{iv, level};
    use rand::{Rng, SeedableRng};

    use crate::intervals::scores::score_intervals;
    use crate::rng::Rng64;

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
