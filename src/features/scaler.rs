//! Input transforms: how prices become the network's inputs and targets, and back.
//!
//! A [`Scaler`] exists only once fitted, on the training part only, and is stored in the
//! checkpoint; every subcommand applies the stored one and never refits it on later data.
//!
//! - `minmax` (the seed model's): global min-max to [0, 1]. Prices above the training
//!   maximum scale above 1, which the network has never seen; [`Scaler::outside`] says so.
//! - `window`: each window relative to its own last value, `(v_i / v_last − 1) / scale`,
//!   and the target `(v_next / v_last − 1) / scale`: scale-free, so new highs are no
//!   different from old ones.
//! - `logret`: log returns `ln(v_i / v_{i−1}) / scale`, the target the next log return.
//! - `diff`: the additive form of `window`, for series that cross zero (temperatures,
//!   loads, spreads, P&L): each window minus its last value, `(v_i − v_last) / scale`, and
//!   the target `(v_next − v_last) / scale`.
//!
//! - `seasonal`: for series with a strong cycle of `m` steps (24 for hourly data): each
//!   window divided by a seasonal baseline estimated inside it, then logged. The baseline
//!   of phase `j` (steps after the origin, modulo `m`) is the level (the mean of the last
//!   `m` values) times the profile (the mean over the window's whole seasons of each value
//!   over its season's mean), so inputs are `ln(v_i / base_phase(i)) / scale` and the target
//!   `k` steps ahead `ln(v / base_{k mod m}) / scale`: the network learns a correction to
//!   "the last level, shaped like the recent seasons", and forecasts the seasonal shape
//!   with no effort. Needs a window of at least one season.
//!
//!   With several periods (`--season 24,168`, a day and a week of hours) the profiles
//!   compose: the first period's profile as above, then each longer period's profile
//!   estimated the same way on what the shorter ones leave (the window divided by their
//!   profiles), over that period's whole cycles in the window. The baseline of a step is
//!   the level times the product of its phase's factor in every profile, the level being
//!   the mean of the last first-period season divided by the longer profiles there (so a
//!   series that repeats its longest cycle exactly is its own baseline). A profile of a
//!   longer period needs two of its cycles in the window ([`Seasons::min_window`]).
//!
//! `scale` is the standard deviation of one-step log returns on the training part (of
//! one-step differences for `diff`, of `m`-step log ratios for `seasonal`, `m` its longest
//! period), so inputs and targets are of order one.
//!
//! `window`, `logret` and `seasonal` divide by values and take logs of ratios, so they need
//! positive values ([`TransformKind::needs_positive`]); `minmax` and `diff` take any
//! finite ones.

use serde::{Deserialize, Serialize};

use crate::series::season::Seasons;

/// Which transform to fit (configuration). Spelled the same in config files (serde) and by
/// [`FromStr`](std::str::FromStr) and [`Display`](std::fmt::Display): `minmax`, `window`,
/// `logret`, `diff`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformKind {
    /// Global min-max scaling (the seed model's).
    #[default]
    Minmax,
    /// Each window relative to its last value.
    Window,
    /// Log returns.
    Logret,
    /// Each window minus its last value (any sign).
    Diff,
    /// Each window over a seasonal baseline estimated inside it, logged.
    Seasonal,
}

impl TransformKind {
    /// Every transform, in the order help texts list them.
    pub const ALL: [TransformKind; 5] = [
        TransformKind::Minmax,
        TransformKind::Window,
        TransformKind::Logret,
        TransformKind::Diff,
        TransformKind::Seasonal,
    ];

    /// The name in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TransformKind::Minmax => "minmax",
            TransformKind::Window => "window",
            TransformKind::Logret => "logret",
            TransformKind::Diff => "diff",
            TransformKind::Seasonal => "seasonal",
        }
    }

    /// True when the transform divides by values or takes logs of their ratios, so every
    /// value it sees must be positive (`window`, `logret`).
    pub fn needs_positive(self) -> bool {
        matches!(
            self,
            TransformKind::Window | TransformKind::Logret | TransformKind::Seasonal
        )
    }

    /// How many past values one input window of `window` steps needs.
    pub fn lookback(self, window: usize) -> usize {
        match self {
            TransformKind::Logret => window + 1,
            _ => window,
        }
    }
}

impl std::str::FromStr for TransformKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = TransformKind::ALL.map(TransformKind::name);
        TransformKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("transform '{s}': use one of {}", names.join(", ")))
    }
}

impl std::fmt::Display for TransformKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A fitted transform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scaler {
    Minmax {
        min: f64,
        max: f64,
    },
    Window {
        scale: f64,
    },
    Logret {
        scale: f64,
    },
    Diff {
        scale: f64,
    },
    /// `seasons`: the periods whose profiles make the baseline, shortest first.
    Seasonal {
        seasons: Seasons,
        scale: f64,
    },
}

impl Scaler {
    /// Fits `kind` on `values` (the training part); `None` when they are too few, not
    /// finite or constant, and for `seasonal`, which needs its season
    /// ([`Scaler::fit_seasonal`]).
    pub fn fit(kind: TransformKind, values: &[f64]) -> Option<Scaler> {
        let scaler = match kind {
            TransformKind::Minmax => {
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                Scaler::Minmax { min, max }
            }
            TransformKind::Window => Scaler::Window {
                scale: return_std(values)?,
            },
            TransformKind::Logret => Scaler::Logret {
                scale: return_std(values)?,
            },
            TransformKind::Diff => Scaler::Diff {
                scale: std(values.windows(2).map(|w| w[1] - w[0]))?,
            },
            TransformKind::Seasonal => return None,
        };
        scaler.is_valid().then_some(scaler)
    }

    /// Fits `seasonal` with `seasons` on `values` (the training part); `None` when they
    /// are too few or their log ratios over the longest period do not vary.
    pub fn fit_seasonal(values: &[f64], seasons: Seasons) -> Option<Scaler> {
        let m = seasons.longest();
        if values.len() <= m {
            return None;
        }
        let scale = std((m..values.len()).map(|t| (values[t] / values[t - m]).ln()))?;
        let scaler = Scaler::Seasonal { seasons, scale };
        scaler.is_valid().then_some(scaler)
    }

    /// Finite parameters, min below max, a positive scale.
    pub fn is_valid(&self) -> bool {
        match *self {
            Scaler::Minmax { min, max } => min.is_finite() && max.is_finite() && max > min,
            Scaler::Window { scale } | Scaler::Logret { scale } | Scaler::Diff { scale } => {
                scale.is_finite() && scale > 0.0
            }
            Scaler::Seasonal { scale, .. } => scale.is_finite() && scale > 0.0,
        }
    }

    pub fn kind(&self) -> TransformKind {
        match self {
            Scaler::Minmax { .. } => TransformKind::Minmax,
            Scaler::Window { .. } => TransformKind::Window,
            Scaler::Logret { .. } => TransformKind::Logret,
            Scaler::Diff { .. } => TransformKind::Diff,
            Scaler::Seasonal { .. } => TransformKind::Seasonal,
        }
    }

    /// How many past values one input window of `window` steps needs.
    pub fn lookback(&self, window: usize) -> usize {
        self.kind().lookback(window)
    }

    /// Appends to `out` the network input for predicting the value after `history`
    /// (its last [`Scaler::lookback`] values are used).
    pub fn encode(&self, history: &[f64], window: usize, out: &mut Vec<f32>) {
        let past = &history[history.len() - self.lookback(window)..];
        let last = past[past.len() - 1];
        match *self {
            Scaler::Minmax { min, max } => {
                out.extend(past.iter().map(|&v| ((v - min) / (max - min)) as f32))
            }
            Scaler::Window { scale } => {
                out.extend(past.iter().map(|&v| ((v / last - 1.0) / scale) as f32))
            }
            Scaler::Logret { scale } => {
                out.extend(past.windows(2).map(|w| ((w[1] / w[0]).ln() / scale) as f32))
            }
            Scaler::Diff { scale } => out.extend(past.iter().map(|&v| ((v - last) / scale) as f32)),
            Scaler::Seasonal { seasons, scale } => {
                let factors = seasonal_factors(past, seasons.periods());
                let n = past.len();
                out.extend(past.iter().enumerate().map(|(i, &v)| {
                    let base = baseline(&factors, |m| phase(i, n, m));
                    ((v / base).ln() / scale) as f32
                }))
            }
        }
    }

    /// The value each target of an origin is relative to, by steps ahead (`k` from 0):
    /// `history` holds the values before the origin (at least the window). For `seasonal`,
    /// the baseline of each phase; for the others, the last value (chained transforms
    /// re-anchor step by step themselves).
    pub fn anchors(&self, history: &[f64], window: usize) -> Anchors {
        match *self {
            Scaler::Seasonal { seasons, .. } => Anchors::Seasonal(seasonal_factors(
                &history[history.len() - window..],
                seasons.periods(),
            )),
            _ => Anchors::Last(history[history.len() - 1]),
        }
    }

    /// True when each target is relative to the value just before it (log returns), so a
    /// path of several steps decodes cumulatively; false when targets are relative to the
    /// last known value (or to nothing, min-max).
    pub fn chained(&self) -> bool {
        matches!(self, Scaler::Logret { .. })
    }

    /// The training target for `next`, the value after `last`.
    pub fn target(&self, last: f64, next: f64) -> f32 {
        self.to_units(last, next) as f32
    }

    /// The price a network output `y` stands for, given the last known value.
    pub fn decode(&self, last: f64, y: f32) -> f64 {
        self.from_units(last, f64::from(y))
    }

    /// `value` in the units the network predicts in, relative to `anchor` (the last known
    /// value, or a seasonal baseline): [`Scaler::target`] in f64. Increasing in `value`
    /// wherever the transform is defined (positive values for the relative transforms).
    pub fn to_units(&self, anchor: f64, value: f64) -> f64 {
        match *self {
            Scaler::Minmax { min, max } => (value - min) / (max - min),
            Scaler::Window { scale } => (value / anchor - 1.0) / scale,
            Scaler::Logret { scale } => (value / anchor).ln() / scale,
            Scaler::Diff { scale } => (value - anchor) / scale,
            Scaler::Seasonal { scale, .. } => (value / anchor).ln() / scale,
        }
    }

    /// The inverse of [`Scaler::to_units`]: the price `z` units stand for relative to
    /// `anchor` ([`Scaler::decode`] in f64). Increasing in `z`, so an interval in units
    /// maps to an interval of prices.
    pub fn from_units(&self, anchor: f64, z: f64) -> f64 {
        match *self {
            Scaler::Minmax { min, max } => z * (max - min) + min,
            Scaler::Window { scale } => anchor * (1.0 + z * scale),
            Scaler::Logret { scale } => anchor * (z * scale).exp(),
            Scaler::Diff { scale } => anchor + z * scale,
            Scaler::Seasonal { scale, .. } => anchor * (z * scale).exp(),
        }
    }

    /// Inputs (`[n · window]`) and targets (`[n]`) for predicting `values[t]` at each target `t`:
    /// the one-step batches of gruf 1.0, kept as the reference `Featurizer::batch` is tested
    /// against (training goes through the featurizer).
    #[cfg(test)]
    pub fn gather(&self, values: &[f64], targets: &[usize], window: usize) -> (Vec<f32>, Vec<f32>) {
        let mut xs = Vec::with_capacity(targets.len() * window);
        let ys = targets
            .iter()
            .map(|&t| {
                self.encode(&values[..t], window, &mut xs);
                self.target(values[t - 1], values[t])
            })
            .collect();
        (xs, ys)
    }

    /// For min-max scaling: how many of `values` lie outside the fitted range, and the one
    /// furthest outside it (below the minimum or above the maximum: values of any sign).
    /// Scale-free transforms have no range to leave.
    pub fn outside(&self, values: &[f64]) -> Option<(usize, f64)> {
        let Scaler::Minmax { min, max } = *self else {
            return None;
        };
        let beyond = |v: f64| (min - v).max(v - max);
        let out: Vec<f64> = values
            .iter()
            .copied()
            .filter(|&v| v < min || v > max)
            .collect();
        let furthest = out
            .iter()
            .copied()
            .reduce(|a, b| if beyond(b) > beyond(a) { b } else { a })?;
        Some((out.len(), furthest))
    }
}

/// What the targets of one origin are relative to ([`Scaler::anchors`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Anchors {
    /// The last known value, for every step.
    Last(f64),
    /// The seasonal baseline as one factor per phase of each period, shortest period
    /// first (whose factors carry the level): step `k` (from 0) is relative to the product
    /// of `factors[i][k mod m_i]`.
    Seasonal(Vec<Vec<f64>>),
}

impl Anchors {
    /// The anchor of the target `k` steps after the origin (from 0).
    pub fn at(&self, k: usize) -> f64 {
        match self {
            Anchors::Last(v) => *v,
            Anchors::Seasonal(factors) => baseline(factors, |m| k % m),
        }
    }
}

/// The phase, in a period of `m` steps, of step `i` of a window of `n` steps: its distance
/// from the window's end (the origin, phase 0), modulo `m`.
fn phase(i: usize, n: usize, m: usize) -> usize {
    (i + m - n % m) % m
}

/// The baseline of one step from the factors of [`seasonal_factors`]: the first period's
/// factor at its phase times each longer period's (`phase_in(m)` is the step's phase in a
/// period of `m`). One period is its factor alone, bit for bit.
fn baseline(factors: &[Vec<f64>], phase_in: impl Fn(usize) -> usize) -> f64 {
    let (first, longer) = factors
        .split_first()
        .expect("internal: a seasonal baseline has at least one period");
    longer.iter().fold(first[phase_in(first.len())], |b, f| {
        b * f[phase_in(f.len())]
    })
}

/// The seasonal baseline of a window, one factor per phase of each of `periods` (shortest
/// first; the window holds at least one season of the first and two cycles of each longer
/// one). The first period's factor of phase `j` (steps after the window's end, modulo
/// `m`) is the level times the mean, over the window's whole seasons counted back from its
/// end, of the value at that phase over its season's mean. Each longer period's factors
/// are that same profile of what the shorter ones leave: the window divided by their
/// profiles. The level is the mean of the last first-period season, each value divided by
/// its longer factors (one period: the plain mean of the last season).
fn seasonal_factors(window: &[f64], periods: &[usize]) -> Vec<Vec<f64>> {
    let n = window.len();
    let m = periods[0];
    let (sums, seasons) = profile_sums(window, m);
    let mut longer = Vec::with_capacity(periods.len() - 1);
    if periods.len() > 1 {
        let mut rest: Vec<f64> = window
            .iter()
            .enumerate()
            .map(|(i, &v)| v / (sums[phase(i, n, m)] / seasons as f64))
            .collect();
        for &p in &periods[1..] {
            let (sums, cycles) = profile_sums(&rest, p);
            let profile: Vec<f64> = sums.iter().map(|s| s / cycles as f64).collect();
            for (i, r) in rest.iter_mut().enumerate() {
                *r /= profile[phase(i, n, p)];
            }
            longer.push(profile);
        }
    }
    let level = (n - m..n)
        .map(|i| {
            if longer.is_empty() {
                window[i]
            } else {
                let f: f64 = longer.iter().map(|f| f[phase(i, n, f.len())]).product();
                window[i] / f
            }
        })
        .sum::<f64>()
        / m as f64;
    let mut factors = Vec::with_capacity(periods.len());
    factors.push(sums.iter().map(|p| level * p / seasons as f64).collect());
    factors.extend(longer);
    factors
}

/// For a profile of period `m`: the sum, over the window's whole seasons counted back from
/// its end (at least one), of each value over its season's mean, by phase; and how many
/// seasons were summed.
fn profile_sums(window: &[f64], m: usize) -> (Vec<f64>, usize) {
    let n = window.len();
    let seasons = (n / m).max(1);
    let mut sums = vec![0.0; m];
    for s in 0..seasons {
        let season = &window[n - (s + 1) * m..n - s * m];
        let mean = season.iter().sum::<f64>() / m as f64;
        for (p, &v) in sums.iter_mut().zip(season) {
            *p += v / mean;
        }
    }
    (sums, seasons)
}

/// Standard deviation of the one-step log returns of `values`.
fn return_std(values: &[f64]) -> Option<f64> {
    std(values.windows(2).map(|w| (w[1] / w[0]).ln()))
}

/// Sample standard deviation; `None` for fewer than two numbers.
fn std(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let r: Vec<f64> = xs.collect();
    if r.len() < 2 {
        return None;
    }
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    Some((r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICES: [f64; 6] = [100.0, 110.0, 99.0, 120.0, 130.0, 125.0];

    #[test]
    fn round_trips_for_every_transform() {
        for kind in TransformKind::ALL {
            let s = match kind {
                TransformKind::Seasonal => {
                    Scaler::fit_seasonal(&PRICES, Seasons::single(2).unwrap()).unwrap()
                }
                _ => Scaler::fit(kind, &PRICES).unwrap(),
            };
            assert_eq!(s.kind(), kind);
            for (last, next) in [(100.0, 104.5), (130.0, 90.0), (125.0, 500.0)] {
                let back = s.decode(last, s.target(last, next));
                assert!(
                    (back - next).abs() <= 1e-4 * next,
                    "{kind:?}: {next} -> {back}"
                );
            }
        }
    }

    #[test]
    fn inputs_are_what_each_transform_promises() {
        let mm = Scaler::fit(TransformKind::Minmax, &PRICES).unwrap();
        assert_eq!(
            mm,
            Scaler::Minmax {
                min: 99.0,
                max: 130.0
            }
        );
        let mut x = Vec::new();
        mm.encode(&PRICES, 2, &mut x);
        assert_eq!(x, vec![1.0, ((125.0 - 99.0) / 31.0) as f32]);

        let Scaler::Window { scale } = Scaler::fit(TransformKind::Window, &PRICES).unwrap() else {
            panic!()
        };
        let w = Scaler::Window { scale };
        let mut x = Vec::new();
        w.encode(&PRICES, 3, &mut x);
        assert_eq!(x.len(), 3);
        assert_eq!(x[2], 0.0); // the last value relative to itself
        assert!((f64::from(x[0]) - (120.0 / 125.0 - 1.0) / scale).abs() < 1e-6);

        let lr = Scaler::Logret { scale };
        assert_eq!(lr.lookback(3), 4);
        let (xs, ys) = lr.gather(&PRICES, &[4, 5], 3);
        assert_eq!((xs.len(), ys.len()), (6, 2));
        assert!((f64::from(ys[1]) - (125.0f64 / 130.0).ln() / scale).abs() < 1e-6);
    }

    /// A series that crosses zero: `diff` and `minmax` encode, target and decode it back;
    /// `diff` is each window minus its last value, scaled by the std of one-step changes.
    #[test]
    fn diff_and_minmax_take_values_of_any_sign() {
        const SIGNED: [f64; 7] = [-2.0, 1.5, 0.0, -0.5, 3.0, -4.0, 2.5];
        let Scaler::Diff { scale } = Scaler::fit(TransformKind::Diff, &SIGNED).unwrap() else {
            panic!()
        };
        let d: Vec<f64> = SIGNED.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = d.iter().sum::<f64>() / 6.0;
        let want = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert!((scale - want).abs() < 1e-12);
        let s = Scaler::Diff { scale };
        assert!(s.is_valid() && !s.chained());
        assert_eq!(s.lookback(3), 3);
        let mut x = Vec::new();
        s.encode(&SIGNED, 3, &mut x);
        let want: Vec<f32> = [3.0 - 2.5, -4.0 - 2.5, 0.0]
            .iter()
            .map(|v| (v / scale) as f32)
            .collect();
        assert_eq!(x, want);
        assert_eq!(s.target(-1.0, 2.0), (3.0 / scale) as f32);
        for kind in [TransformKind::Diff, TransformKind::Minmax] {
            assert!(!kind.needs_positive());
            let s = Scaler::fit(kind, &SIGNED).unwrap();
            for (last, next) in [(-2.0, 1.5), (0.0, -0.5), (3.0, 0.0), (-4.0, -10.0)] {
                let back = s.decode(last, s.target(last, next));
                assert!((back - next).abs() <= 1e-5, "{kind:?}: {next} -> {back}");
            }
        }
        assert!(TransformKind::Window.needs_positive() && TransformKind::Logret.needs_positive());
        assert_eq!("diff".parse::<TransformKind>(), Ok(TransformKind::Diff));
        assert_eq!(TransformKind::Diff.to_string(), "diff");
        // A constant series, or a broken stored scale, is refused.
        assert!(Scaler::fit(TransformKind::Diff, &[-1.0, -1.0, -1.0]).is_none());
        assert!(!Scaler::Diff { scale: 0.0 }.is_valid());
        assert!(!Scaler::Diff { scale: f64::NAN }.is_valid());
        // Min-max ranges of either sign: the value furthest outside, below or above.
        let mm = Scaler::fit(TransformKind::Minmax, &SIGNED).unwrap();
        assert_eq!(mm.outside(&[-9.0, 0.0, 5.0]), Some((2, -9.0)));
        assert_eq!(mm.outside(&[-4.5, 9.0]), Some((2, 9.0)));
    }

    /// gruf's baseline of one period before seasons became a list, kept as the reference
    /// the one-period factors must equal bit for bit (stored models forecast the same).
    fn one_period_base(window: &[f64], m: usize) -> Vec<f64> {
        let n = window.len();
        let seasons = (n / m).max(1);
        let mut profile = vec![0.0; m];
        for s in 0..seasons {
            let season = &window[n - (s + 1) * m..n - s * m];
            let mean = season.iter().sum::<f64>() / m as f64;
            for (p, &v) in profile.iter_mut().zip(season) {
                *p += v / mean;
            }
        }
        let level = window[n - m..].iter().sum::<f64>() / m as f64;
        profile.iter().map(|p| level * p / seasons as f64).collect()
    }

    #[test]
    fn one_period_is_the_baseline_it_was() {
        let window: Vec<f64> = (0..53)
            .map(|i| 50.0 + (i as f64 * 0.37).sin() * 9.0 + (i % 7) as f64 * 3.1)
            .collect();
        for m in [2, 7, 24, 53] {
            let factors = seasonal_factors(&window, &[m]);
            assert_eq!(factors, vec![one_period_base(&window, m)], "m={m}");
            let anchors = Anchors::Seasonal(factors.clone());
            for k in 0..2 * m {
                assert_eq!(anchors.at(k), factors[0][k % m]);
            }
        }
    }

    /// Periods 2 and 4 on two cycles of `1, 3, 2, 6`, by hand: the first profile is
    /// `0.5, 1.5` (every pair is half and one and a half times its mean); what it
    /// leaves is `2, 2, 4, 4` each cycle, whose profile is `2/3, 2/3, 4/3, 4/3`; the level
    /// is the last pair over its longer factors, `(2 / (4/3) + 6 / (4/3)) / 2 = 3`. The
    /// baseline is the series itself, continued.
    #[test]
    fn two_periods_by_hand() {
        let window = [1.0, 3.0, 2.0, 6.0, 1.0, 3.0, 2.0, 6.0];
        let factors = seasonal_factors(&window, &[2, 4]);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert_eq!(factors.len(), 2);
        assert!(close(&factors[0], &[1.5, 4.5]), "{factors:?}");
        assert!(
            close(&factors[1], &[2.0 / 3.0, 2.0 / 3.0, 4.0 / 3.0, 4.0 / 3.0]),
            "{factors:?}"
        );
        let anchors = Anchors::Seasonal(factors);
        let path: Vec<f64> = (0..9).map(|k| anchors.at(k)).collect();
        assert!(
            close(&path, &[1.0, 3.0, 2.0, 6.0, 1.0, 3.0, 2.0, 6.0, 1.0]),
            "{path:?}"
        );
        // The window's own inputs are all zero: nothing is left for the network.
        let s = Scaler::Seasonal {
            seasons: Seasons::new(&[2, 4]).unwrap(),
            scale: 0.1,
        };
        let mut x = Vec::new();
        s.encode(&window, 8, &mut x);
        assert!(x.iter().all(|v| v.abs() < 1e-6), "{x:?}");
    }

    /// A level times a daily shape times a weekly one that changes the daily shape from
    /// day to day (a series that repeats its week, with an offset so the window does not
    /// start a week): two periods reproduce the next week and a half from the last two
    /// weeks; the daily period alone misses, for it repeats the last day's level and the
    /// mean day's shape.
    #[test]
    fn two_periods_reproduce_a_weekly_cycle_that_one_misses() {
        let (m1, m2) = (6, 18);
        let day = [0.6, 0.8, 1.3, 1.5, 1.1, 0.7];
        let week = [
            1.0, 1.2, 0.9, 1.1, 1.3, 1.0, 0.7, 0.8, 0.6, 1.4, 1.0, 1.2, 1.1, 0.9, 1.0, 0.8, 1.2,
            1.0,
        ];
        let value = |t: usize| 40.0 * day[t % m1] * week[t % m2];
        let start = 5;
        let window: Vec<f64> = (start..start + 2 * m2).map(value).collect();
        let two = Anchors::Seasonal(seasonal_factors(&window, &[m1, m2]));
        let one = Anchors::Seasonal(seasonal_factors(&window, &[m1]));
        let mut miss = 0.0f64;
        for k in 0..m2 + m1 + 1 {
            let truth = value(start + 2 * m2 + k);
            assert!(
                (two.at(k) - truth).abs() < 1e-9 * truth,
                "k={k}: {} vs {truth}",
                two.at(k)
            );
            miss = miss.max((one.at(k) - truth).abs() / truth);
        }
        assert!(miss > 0.1, "one period missed by at most {miss}");
        // A window longer than two cycles, not a whole number of them, still reads them.
        let long: Vec<f64> = (start..start + 2 * m2 + 5).map(value).collect();
        let anchors = Anchors::Seasonal(seasonal_factors(&long, &[m1, m2]));
        for k in 0..m2 {
            let truth = value(start + long.len() + k);
            assert!((anchors.at(k) - truth).abs() < 1e-9 * truth, "k={k}");
        }
    }

    /// Periods that do not divide each other (3 and 4) compose too: the phases of each
    /// count from the origin separately, so step `k` reads `[k mod 3]` and `[k mod 4]`.
    /// Targets decode back to the values they were made from.
    #[test]
    fn periods_need_not_divide_each_other() {
        let values: Vec<f64> = (0..40)
            .map(|i| 20.0 + (i % 3) as f64 * 2.0 + (i % 4) as f64 + (i as f64 * 0.9).sin())
            .collect();
        let seasons = Seasons::new(&[3, 4]).unwrap();
        let s = Scaler::fit_seasonal(&values, seasons).unwrap();
        let Scaler::Seasonal { scale, .. } = s else {
            panic!("{s:?}")
        };
        let want = std((4..40).map(|t| (values[t] / values[t - 4]).ln())).unwrap();
        assert_eq!(scale, want); // the longest period's log ratios
        let anchors = s.anchors(&values[..30], 8);
        let Anchors::Seasonal(factors) = &anchors else {
            panic!("{anchors:?}")
        };
        assert_eq!((factors[0].len(), factors[1].len()), (3, 4));
        for k in 0..7 {
            assert_eq!(anchors.at(k), factors[0][k % 3] * factors[1][k % 4]);
            let back = s.decode(anchors.at(k), s.target(anchors.at(k), values[30 + k]));
            assert!((back - values[30 + k]).abs() < 1e-4 * values[30 + k]);
        }
        let mut x = Vec::new();
        s.encode(&values[..30], 8, &mut x);
        assert!(x.len() == 8 && x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn range_checks_and_refusals() {
        let s = Scaler::fit(TransformKind::Minmax, &[10.0, 30.0]).unwrap();
        assert_eq!(s.outside(&[5.0, 15.0, 40.0]), Some((2, 40.0)));
        assert_eq!(s.outside(&[15.0]), None);
        assert!(Scaler::fit(TransformKind::Minmax, &[3.0, 3.0]).is_none());
        assert!(Scaler::fit(TransformKind::Logret, &[3.0, 3.0, 3.0]).is_none());
        assert!(Scaler::fit(TransformKind::Window, &[3.0]).is_none());
        assert!(!Scaler::Minmax { min: 2.0, max: 1.0 }.is_valid());
        assert_eq!(
            Scaler::fit(TransformKind::Window, &PRICES)
                .unwrap()
                .outside(&[1e9]),
            None
        );
    }
}
