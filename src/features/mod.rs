//! The input contract of a model: which values go in, through which fitted transform, how
//! many steps a window holds and how many steps come out.
//!
//! A [`Featurizer`] exists only once fitted (on the training part only) and is rebuilt from
//! the checkpoint; training, evaluation and forecasting all go through it, so the shapes
//! the network sees are decided in one place: inputs `x: [n, window, features]`, targets
//! `y: [n, horizon]`. The price goes in first at every step, then each covariate
//! (`--inputs`) in its listed order, each through its own fitted [`InputTransform`]:
//! price-like columns (Open, High, Low) with the price's transform relative to the price's
//! anchor, others standardised (volumes after `ln(1 + v)`). With a horizon of K the targets
//! of input `t` are the K values from `t` on, each relative to the last input value
//! (`window`), each minus it (`diff`), scaled alike (`minmax`), or the K next log returns
//! (`logret`), decoded cumulatively.
//!
//! After the covariates come the calendar inputs (`--calendar hour,weekday,month`), each a
//! `sin, cos` pair of the step's phase in its cycle ([`CalendarInput`]), taken from the
//! step's date: known for every future date, so they do not stop a forecast at the horizon.
//!
//! The featurizer reads its inputs from [`Columns`] at an origin index
//! ([`Featurizer::encode_at`]): the covariates' values are only known up to the last real
//! row, so a model with covariates forecasts at most its horizon from real data, while a
//! model without them can also recurse on its own predictions, its dates continued on the
//! series' calendar.

pub mod scaler;
pub mod split;

use std::ops::Range;

use crate::features::scaler::{Anchors, Scaler, TransformKind};
use crate::series::calendar::{Calendar, CalendarInput};
use crate::series::season::Seasons;
use crate::series::{is_price_like, is_volume, Covariate, Series};

/// The aligned columns a featurizer reads: the price, the covariates and the dates (which
/// may run longer than `values`; only indices below an origin are read), and the calendar
/// that continues the dates past the data.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub values: &'a [f64],
    pub covariates: &'a [Covariate],
    /// Unix seconds of each value; read only by a featurizer with calendar inputs (empty
    /// for the price alone).
    pub dates: &'a [i64],
    pub calendar: Calendar,
}

impl<'a> Columns<'a> {
    /// These columns cut at `end`: the history before it. Covariates run on (nothing reads
    /// them past an origin).
    pub fn before(self, end: usize) -> Columns<'a> {
        Columns {
            values: &self.values[..end],
            dates: &self.dates[..end.min(self.dates.len())],
            ..self
        }
    }
}

impl<'a> From<&'a [f64]> for Columns<'a> {
    /// The price alone, without dates.
    fn from(values: &'a [f64]) -> Self {
        Columns {
            values,
            covariates: &[],
            dates: &[],
            calendar: Calendar::default(),
        }
    }
}

impl<'a> From<&'a Vec<f64>> for Columns<'a> {
    fn from(values: &'a Vec<f64>) -> Self {
        Columns::from(values.as_slice())
    }
}

impl<'a> From<&'a Series> for Columns<'a> {
    fn from(series: &'a Series) -> Self {
        Columns {
            values: &series.values,
            covariates: &series.covariates,
            dates: &series.dates,
            calendar: series.calendar,
        }
    }
}

/// How one covariate becomes a feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputTransform {
    /// A price-like column: the price's transform, relative to the price's anchor.
    Price,
    /// `(f(v) − mean) / std`, with `f(v) = ln(1 + v)` when `log` (volumes), else `v`;
    /// `mean` and `std` fitted on the training part.
    Standard { log: bool, mean: f64, std: f64 },
}

/// A covariate as the model takes it: its column name and fitted transform.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: String,
    pub transform: InputTransform,
}

impl Input {
    /// Fits the transform `name` calls for on `train` (the training part's values);
    /// `Err` is a message for the user (a constant column).
    pub fn fit(name: &str, train: &[f64]) -> Result<Input, String> {
        let first = train.first().copied().unwrap_or(0.0);
        if train.iter().all(|&v| v == first) {
            return Err(format!(
                "input '{name}' is constant on the training part (every value is {first}); \
                 it tells the model nothing: leave it out of --inputs"
            ));
        }
        let transform = if is_price_like(name) {
            InputTransform::Price
        } else {
            let log = is_volume(name);
            let f = |v: f64| if log { v.ln_1p() } else { v };
            let n = train.len() as f64;
            let mean = train.iter().map(|&v| f(v)).sum::<f64>() / n;
            let var = train.iter().map(|&v| (f(v) - mean).powi(2)).sum::<f64>() / n;
            let std = var.sqrt();
            if !(std.is_finite() && std > 0.0 && mean.is_finite()) {
                return Err(format!(
                    "input '{name}' cannot be standardised on the training part (mean {mean}, \
                     standard deviation {std}); leave it out of --inputs"
                ));
            }
            InputTransform::Standard { log, mean, std }
        };
        Ok(Input {
            name: name.to_string(),
            transform,
        })
    }

    /// The feature for value `v` at step `at`, in a window whose last price is `last`
    /// (`prices` are the price values, read at `at − 1` for log returns).
    fn encode(&self, scaler: &Scaler, v: f64, last: f64, prices: &[f64], at: usize) -> f32 {
        (match (self.transform, *scaler) {
            (InputTransform::Standard { log, mean, std }, _) => {
                (if log { v.ln_1p() } else { v } - mean) / std
            }
            (InputTransform::Price, Scaler::Minmax { min, max }) => (v - min) / (max - min),
            (InputTransform::Price, Scaler::Window { scale }) => (v / last - 1.0) / scale,
            (InputTransform::Price, Scaler::Diff { scale }) => (v - last) / scale,
            (InputTransform::Price, Scaler::Logret { scale }) => (v / prices[at - 1]).ln() / scale,
            (InputTransform::Price, Scaler::Seasonal { scale, .. }) => (v / last).ln() / scale,
        }) as f32
    }
}

/// What a featurizer makes of a series: windows of `window` inputs, values through
/// `transform`, each step with the `calendar` inputs of its date; `horizon` targets after
/// each window, forecast as one value each or at each of the `quantiles`. Part of a model's
/// configuration ([`crate::config::ModelConfig::framing`]), apart from the network's.
#[derive(Debug, Clone, PartialEq)]
pub struct Framing {
    /// How prices become inputs and targets (see [`scaler`]).
    pub transform: TransformKind,
    /// Input length: how many past values predict the next ones.
    pub window: usize,
    /// Steps predicted at once by the dense head (a direct multi-step forecast); 1 is the
    /// seed model's one step ahead.
    pub horizon: usize,
    /// Calendar inputs derived from each step's date (`--calendar hour,weekday,month`).
    pub calendar: Vec<CalendarInput>,
    /// Quantile levels forecast at every step (`--quantiles 0.1,0.5,0.9`), increasing,
    /// with 0.5 among them (the median is the point forecast); empty for a point model
    /// (the seed model), which forecasts one value per step.
    pub quantiles: Vec<f64>,
}

impl Default for Framing {
    /// The seed model's: 60 min-max scaled prices predict the next one.
    fn default() -> Self {
        Framing {
            transform: TransformKind::Minmax,
            window: 60,
            horizon: 1,
            calendar: Vec::new(),
            quantiles: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Featurizer {
    /// The price transform, fitted on the training part.
    pub scaler: Scaler,
    /// Steps per input window.
    pub window: usize,
    /// Steps predicted at once.
    pub horizon: usize,
    /// The covariates after the price, in order, each with its fitted transform (empty:
    /// the price alone).
    pub inputs: Vec<Input>,
    /// The calendar inputs after the covariates, in order: two features each.
    pub calendar: Vec<CalendarInput>,
}

impl Featurizer {
    /// Fits the configured transform on `train` (the values the training windows span),
    /// `seasonal` with `seasons`; `None` when they are constant (or `seasonal` has no
    /// season).
    pub fn fit(framing: &Framing, train: &[f64], seasons: Option<Seasons>) -> Option<Featurizer> {
        let scaler = match framing.transform {
            TransformKind::Seasonal => Scaler::fit_seasonal(train, seasons?)?,
            kind => Scaler::fit(kind, train)?,
        };
        Some(Featurizer {
            scaler,
            window: framing.window,
            horizon: framing.horizon,
            inputs: Vec::new(),
            calendar: Vec::new(),
        })
    }

    /// Adds the covariates, each fitted on its first `fit_end` values (the training part);
    /// `Err` is a message for the user.
    pub fn with_inputs(
        mut self,
        covariates: &[Covariate],
        fit_end: usize,
    ) -> Result<Featurizer, String> {
        self.inputs = covariates
            .iter()
            .map(|c| Input::fit(&c.name, &c.values[..fit_end.min(c.values.len())]))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Adds the calendar inputs, each checked on `train_dates` (the training part's dates):
    /// one that is the same at every date tells the model nothing (the hour of daily data).
    /// `Err` is a message for the user.
    pub fn with_calendar(
        mut self,
        calendar: &[CalendarInput],
        train_dates: &[i64],
    ) -> Result<Featurizer, String> {
        for &input in calendar {
            let first = train_dates.first().map_or(0.0, |&t| input.phase(t));
            if train_dates.iter().all(|&t| input.phase(t) == first) {
                let what = match input {
                    CalendarInput::Hour => "time of day",
                    CalendarInput::Weekday => "day of the week",
                    CalendarInput::Month => "point of the year",
                };
                return Err(format!(
                    "--calendar {input}: every date of the training part is at the same {what}, \
                     so it tells the model nothing; leave '{input}' out of --calendar"
                ));
            }
            self.calendar.push(input);
        }
        Ok(self)
    }

    /// Past values one input needs (the window; one more for log returns).
    pub fn lookback(&self) -> usize {
        self.scaler.lookback(self.window)
    }

    /// Values per step of an input window: the price, each covariate, then a pair per
    /// calendar input.
    pub fn features(&self) -> usize {
        1 + self.inputs.len() + 2 * self.calendar.len()
    }

    /// True when the model reads covariates, whose future is unknown: it forecasts at
    /// most its horizon, from real data only.
    pub fn has_covariates(&self) -> bool {
        !self.inputs.is_empty()
    }

    /// The targets `t` of `span` whose whole horizon `t..t + horizon` lies inside it, so
    /// training targets never reach into validation, nor validation into test.
    pub fn within(&self, span: &Range<usize>) -> Range<usize> {
        span.start..(span.end + 1).saturating_sub(self.horizon).max(span.start)
    }

    /// Appends to `out` the price-only input (`[window, 1]`) for predicting what follows
    /// `history`, of which the last [`Featurizer::lookback`] values are used: the
    /// recursion path, for models without covariates.
    pub fn encode(&self, history: &[f64], out: &mut Vec<f32>) {
        self.scaler.encode(history, self.window, out);
    }

    /// Appends to `out` the input (`[window, features]`, step by step: the price, each
    /// covariate, then the calendar pairs) for predicting what follows `columns` before
    /// `origin`. With calendar inputs, `columns.dates` must reach `origin`.
    pub fn encode_at(&self, columns: Columns<'_>, origin: usize, out: &mut Vec<f32>) {
        if self.inputs.is_empty() && self.calendar.is_empty() {
            self.encode(&columns.values[..origin], out);
            return;
        }
        assert!(
            self.calendar.is_empty() || columns.dates.len() >= origin,
            "internal: calendar inputs need the dates of the window ({} dates, origin {origin})",
            columns.dates.len()
        );
        let mut price = Vec::with_capacity(self.window);
        self.encode(&columns.values[..origin], &mut price);
        let last = columns.values[origin - 1];
        for (j, &p) in price.iter().enumerate() {
            let at = origin - self.window + j;
            out.push(p);
            for (input, covariate) in self.inputs.iter().zip(columns.covariates) {
                out.push(input.encode(
                    &self.scaler,
                    covariate.values[at],
                    last,
                    columns.values,
                    at,
                ));
            }
            for input in &self.calendar {
                out.extend(input.encode(columns.dates[at]));
            }
        }
    }

    /// Inputs (`[n, window, features]`, flat) for predicting what follows `columns[..t]`,
    /// for each target `t`.
    pub fn inputs<'a>(&self, columns: impl Into<Columns<'a>>, targets: &[usize]) -> Vec<f32> {
        let columns = columns.into();
        let mut xs = Vec::with_capacity(targets.len() * self.window * self.features());
        for &t in targets {
            self.encode_at(columns, t, &mut xs);
        }
        xs
    }

    /// Inputs (as [`Featurizer::inputs`]) and targets (`[n, horizon]`, flat) for
    /// predicting `values[t..t + horizon]` from the values before `t`, for each target `t`
    /// (which must have its horizon inside `values`).
    pub fn batch<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        targets: &[usize],
    ) -> (Vec<f32>, Vec<f32>) {
        let columns = columns.into();
        let xs = self.inputs(columns, targets);
        let mut ys = Vec::with_capacity(targets.len() * self.horizon);
        for &t in targets {
            self.target_at(columns.values, t, &mut ys);
        }
        (xs, ys)
    }

    /// Appends to `out` the targets (`[horizon]`) of predicting `values[t..t + horizon]`
    /// from the values before `t`: each relative to its anchor, or, for log returns, to
    /// the value before it.
    pub fn target_at(&self, values: &[f64], t: usize, out: &mut Vec<f32>) {
        let anchors = self.scaler.anchors(&values[..t], self.window);
        for k in 0..self.horizon {
            let anchor = if self.scaler.chained() {
                values[t + k - 1]
            } else {
                anchors.at(k)
            };
            out.push(self.scaler.target(anchor, values[t + k]));
        }
    }
    /// How forecasts from the origin after `history` (at least the window) are measured
    /// for calibration: each step's value in the network's units relative to that step's
    /// anchor at the origin. For a chained transform (log returns) every step is relative
    /// to the last known value (the log return over the whole k steps), so a score means
    /// the same at every origin whatever the path between.
    pub fn units(&self, history: &[f64]) -> Units {
        Units {
            scaler: self.scaler,
            anchors: self.scaler.anchors(history, self.window),
        }
    }

    /// The prices a network output `y` (`[horizon]`, or its first steps) stands for, after
    /// `history` (at least the window): each relative to its anchor (the last value, or
    /// the seasonal baseline of its phase), or, for log returns, to the one decoded before
    /// it.
    pub fn decode(&self, history: &[f64], y: &[f32]) -> Vec<f64> {
        let anchors = self.scaler.anchors(history, self.window);
        let mut path = Vec::with_capacity(y.len());
        let mut previous = history[history.len() - 1];
        for (k, &v) in y.iter().enumerate() {
            let anchor = if self.scaler.chained() {
                previous
            } else {
                anchors.at(k)
            };
            previous = self.scaler.decode(anchor, v);
            path.push(previous);
        }
        path
    }

    /// The prices the outputs `y` of a quantile head (`[horizon · q]`, step-major: output
    /// `k·q + j` is step `k`'s quantile `j`) stand for after `history`, for the first
    /// `steps` steps: flat, `[steps · q]`, in the same layout. Each quantile's outputs are
    /// decoded as a path ([`Featurizer::decode`]), then each step's q values are sorted.
    ///
    /// The sort is the monotone rearrangement of Chernozhukov, Fernández-Val and Galichon
    /// (2010): a head trained on the pinball loss can put a lower quantile above a higher
    /// one, and sorting the values never makes the forecast worse by that loss, so no
    /// forecast this returns crosses. Decoding before sorting is the same as sorting before
    /// it for every transform a quantile model may use: each step's decode is increasing in
    /// its output (the anchors are past values, positive where the transform divides) and,
    /// but for log returns (refused with quantiles beyond one step), depends on no other
    /// step.
    pub fn decode_quantiles(&self, history: &[f64], y: &[f32], q: usize, steps: usize) -> Vec<f64> {
        let mut out = vec![0.0; steps * q];
        let mut column = Vec::with_capacity(steps);
        for j in 0..q {
            column.clear();
            column.extend((0..steps).map(|k| y[k * q + j]));
            for (k, p) in self.decode(history, &column).into_iter().enumerate() {
                out[k * q + j] = p;
            }
        }
        for step in out.chunks_mut(q) {
            step.sort_by(f64::total_cmp);
        }
        out
    }
}

/// The units of one origin's forecasts ([`Featurizer::units`]): scale-free for the relative
/// transforms, so scores from different origins and series can be pooled.
#[derive(Debug, Clone, PartialEq)]
pub struct Units {
    scaler: Scaler,
    anchors: Anchors,
}

impl Units {
    /// `price`, the value `k` steps after the origin (from 0), in units.
    pub fn of(&self, k: usize, price: f64) -> f64 {
        self.scaler.to_units(self.anchors.at(k), price)
    }

    /// The price `z` units stand for `k` steps after the origin (increasing in `z`).
    pub fn price(&self, k: usize, z: f64) -> f64 {
        self.scaler.from_units(self.anchors.at(k), z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::scaler::TransformKind;

    fn fitted(transform: TransformKind, horizon: usize, values: &[f64]) -> Featurizer {
        let framing = Framing {
            transform,
            window: 4,
            horizon,
            ..Default::default()
        };
        // `seasonal` with a season of 2 steps: two seasons per window of 4.
        Featurizer::fit(&framing, values, Seasons::single(2).ok()).unwrap()
    }

    /// A price-only featurizer's `encode_at` is `encode` (bit for bit); with covariates,
    /// each step holds the price then each covariate: a price-like one relative to the
    /// price's anchor, a volume log1p-standardised.
    #[test]
    fn covariates_are_interleaved_per_step() {
        let values: Vec<f64> = (0..30)
            .map(|i| 100.0 + (i as f64 * 0.9).sin() * 5.0)
            .collect();
        let high: Vec<f64> = values.iter().map(|v| v * 1.01).collect();
        let volume: Vec<f64> = (0..30)
            .map(|i| 1000.0 + (i * 37 % 11) as f64 * 50.0)
            .collect();
        let covariates = vec![
            Covariate {
                name: "High".into(),
                values: high.clone(),
            },
            Covariate {
                name: "Volume".into(),
                values: volume.clone(),
            },
        ];
        let plain = fitted(TransformKind::Window, 2, &values[..20]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        plain.encode(&values[..25], &mut a);
        plain.encode_at(Columns::from(&values), 25, &mut b);
        assert_eq!(a, b);

        let f = plain.clone().with_inputs(&covariates, 20).unwrap();
        assert_eq!(f.features(), 3);
        assert_eq!(f.inputs[0].transform, InputTransform::Price);
        let InputTransform::Standard {
            log: true,
            mean,
            std,
        } = f.inputs[1].transform
        else {
            panic!("{:?}", f.inputs[1])
        };
        let Scaler::Window { scale } = f.scaler else {
            panic!()
        };
        let columns = Columns {
            covariates: &covariates,
            ..Columns::from(&values)
        };
        let mut x = Vec::new();
        f.encode_at(columns, 25, &mut x);
        assert_eq!(x.len(), 4 * 3);
        let last = values[24];
        for j in 0..4 {
            let at = 21 + j;
            assert_eq!(x[3 * j], a[j]);
            assert_eq!(x[3 * j + 1], ((high[at] / last - 1.0) / scale) as f32);
            assert_eq!(x[3 * j + 2], ((volume[at].ln_1p() - mean) / std) as f32);
        }
        let (xs, ys) = f.batch(columns, &[10, 25]);
        assert_eq!((xs.len(), ys.len()), (2 * 4 * 3, 2 * 2));
        assert_eq!(&xs[12..], &x[..]);
    }

    /// Calendar inputs come after the covariates at every step, as the sin/cos pair of that
    /// step's own date; one that never changes on the training part is refused.
    #[test]
    fn calendar_pairs_follow_each_steps_date() {
        let values: Vec<f64> = (0..40).map(|i| 10.0 + (i % 5) as f64).collect();
        let dates: Vec<i64> = (0..40).map(|i| 1_700_000_000 + i * 3_600).collect();
        let volume = vec![Covariate {
            name: "Volume".into(),
            values: (0..40).map(|i| (i * 13 % 7) as f64).collect(),
        }];
        let columns = Columns {
            covariates: &volume,
            dates: &dates,
            ..Columns::from(&values)
        };
        let calendar = [CalendarInput::Hour, CalendarInput::Weekday];
        let f = fitted(TransformKind::Minmax, 1, &values[..30])
            .with_inputs(&volume, 30)
            .unwrap()
            .with_calendar(&calendar, &dates[..30])
            .unwrap();
        assert_eq!(f.features(), 1 + 1 + 2 * 2);
        let mut x = Vec::new();
        f.encode_at(columns, 33, &mut x);
        assert_eq!(x.len(), 4 * 6);
        for j in 0..4 {
            let step = &x[6 * j..6 * (j + 1)];
            let at = 29 + j;
            assert_eq!(step[0], ((values[at] - 10.0) / 4.0) as f32);
            assert_eq!(&step[2..4], &CalendarInput::Hour.encode(dates[at]));
            assert_eq!(&step[4..6], &CalendarInput::Weekday.encode(dates[at]));
        }

        let days: Vec<i64> = (0..30).map(|i| 1_700_006_400 + i * 86_400).collect();
        let plain = fitted(TransformKind::Minmax, 1, &values[..30]);
        let err = plain
            .clone()
            .with_calendar(&[CalendarInput::Hour], &days)
            .unwrap_err();
        assert!(err.contains("same time of day"), "{err}");
        assert!(plain
            .with_calendar(&[CalendarInput::Weekday], &days)
            .is_ok());
    }

    #[test]
    fn a_constant_covariate_is_refused() {
        let values: Vec<f64> = (0..30).map(|i| 100.0 + i as f64).collect();
        let flat = vec![Covariate {
            name: "Volume".into(),
            values: vec![5.0; 30],
        }];
        let f = fitted(TransformKind::Minmax, 1, &values[..20]);
        let err = f.with_inputs(&flat, 20).unwrap_err();
        assert!(err.contains("'Volume' is constant"), "{err}");
    }

    /// The targets of input `t` are exactly `values[t..t + K]`: decoding them from the last
    /// input value gives those values back, for every transform (no off-by-one, and log
    /// returns accumulate).
    #[test]
    fn targets_are_the_next_k_values_and_decode_back() {
        let values: Vec<f64> = (0..40)
            .map(|i| 100.0 + (i as f64 * 0.7).sin() * 9.0 + i as f64)
            .collect();
        for transform in TransformKind::ALL {
            let f = fitted(transform, 5, &values[..30]);
            let targets = [10, 20, 35];
            let (xs, ys) = f.batch(&values, &targets);
            assert_eq!(xs.len(), targets.len() * 4);
            assert_eq!(ys.len(), targets.len() * 5);
            for (i, &t) in targets.iter().enumerate() {
                let path = f.decode(&values[..t], &ys[i * 5..(i + 1) * 5]);
                for (k, p) in path.iter().enumerate() {
                    assert!(
                        (p - values[t + k]).abs() < 1e-3 * values[t + k],
                        "{transform:?} t={t} k={k}: {p} vs {}",
                        values[t + k]
                    );
                }
            }
        }
    }

    /// One step ahead, the targets are today's (the seed model's) targets.
    #[test]
    fn a_horizon_of_one_is_the_one_step_target() {
        // Not a straight line: its one-step changes must vary for `diff` to have a scale.
        let values: Vec<f64> = (0..30)
            .map(|i| 50.0 + i as f64 * 1.5 + (i as f64).sin())
            .collect();
        // `seasonal` is new: it has no seed-model targets to match.
        for transform in TransformKind::ALL
            .into_iter()
            .filter(|&k| k != TransformKind::Seasonal)
        {
            let f = fitted(transform, 1, &values);
            let (xs, ys) = f.batch(&values, &[10, 11]);
            let (xs0, ys0) = f.scaler.gather(&values, &[10, 11], 4);
            assert_eq!((xs, ys), (xs0, ys0), "{transform:?}");
        }
    }

    /// `seasonal` on a series that is its seasonal shape times a level: every input and
    /// every target is zero (the baseline is the series itself), and a forecast of zeros
    /// decodes to the next season exactly, at every step of a horizon longer than a season
    /// (the phase of each step is its distance from the origin).
    #[test]
    fn seasonal_baselines_carry_the_shape_of_the_recent_seasons() {
        let shape = [1.0, 3.0, 2.0, 0.5, 1.5];
        let values: Vec<f64> = (0..60).map(|i| 100.0 * shape[i % 5]).collect();
        let mut noisy = values.clone();
        noisy[7] *= 1.1; // fitting needs m-step ratios that vary
        let framing = Framing {
            transform: TransformKind::Seasonal,
            window: 10,
            horizon: 7,
            ..Default::default()
        };
        let five = Seasons::single(5).unwrap();
        let f = Featurizer::fit(&framing, &noisy[..40], Some(five)).unwrap();
        assert!(matches!(f.scaler, Scaler::Seasonal { seasons, .. } if seasons == five));
        for t in [10, 23, 41] {
            let (xs, ys) = f.batch(&values, &[t]);
            assert!(
                xs.iter().chain(&ys).all(|v| v.abs() < 1e-6),
                "t={t}: {xs:?} {ys:?}"
            );
            let path = f.decode(&values[..t], &[0.0; 7]);
            for (k, p) in path.iter().enumerate() {
                assert!((p - values[t + k]).abs() < 1e-9, "t={t} k={k}: {p}");
            }
        }
        // Without a season it cannot be fitted.
        assert!(Featurizer::fit(&framing, &noisy[..40], None).is_none());
    }

    /// The same with two periods (3 and 6) on a series whose 6-step cycle is not one
    /// 3-step shape: inputs and targets are zero, and zeros decode to the next 8 values.
    #[test]
    fn two_seasons_carry_the_shape_of_the_recent_cycles() {
        let (day, week) = ([1.0, 2.0, 1.5], [1.0, 1.3, 0.8, 1.2, 0.6, 1.1]);
        let values: Vec<f64> = (0..60).map(|i| 50.0 * day[i % 3] * week[i % 6]).collect();
        let mut noisy = values.clone();
        noisy[7] *= 1.1;
        let framing = Framing {
            transform: TransformKind::Seasonal,
            window: 12,
            horizon: 8,
            ..Default::default()
        };
        let seasons = Seasons::new(&[3, 6]).unwrap();
        let f = Featurizer::fit(&framing, &noisy[..40], Some(seasons)).unwrap();
        for t in [12, 29, 47] {
            let (xs, ys) = f.batch(&values, &[t]);
            assert!(xs.iter().chain(&ys).all(|v| v.abs() < 1e-6), "t={t}");
            let path = f.decode(&values[..t], &[0.0; 8]);
            for (k, p) in path.iter().enumerate() {
                assert!((p - values[t + k]).abs() < 1e-9, "t={t} k={k}: {p}");
            }
        }
    }

    /// `diff` with K > 1 on a series that crosses zero: every target of a window is
    /// anchored at its last value (not chained), and decodes back to the next K values.
    #[test]
    fn diff_targets_are_anchored_and_decode_back_across_zero() {
        let values: Vec<f64> = (0..50)
            .map(|i| (i as f64 * 0.4).sin() * 3.0 + (i as f64 * 1.7).cos() * 0.3)
            .collect();
        assert!(values.iter().any(|&v| v < 0.0) && values.iter().any(|&v| v > 0.0));
        let f = fitted(TransformKind::Diff, 6, &values[..30]);
        let Scaler::Diff { scale } = f.scaler else {
            panic!("{:?}", f.scaler)
        };
        let targets = [4, 17, 33, 44];
        let (xs, ys) = f.batch(&values, &targets);
        assert_eq!((xs.len(), ys.len()), (4 * 4, 4 * 6));
        for (i, &t) in targets.iter().enumerate() {
            let last = values[t - 1];
            assert_eq!(xs[i * 4 + 3], 0.0); // the last input value minus itself
            for k in 0..6 {
                assert_eq!(ys[i * 6 + k], ((values[t + k] - last) / scale) as f32);
            }
            let path = f.decode(&values[..t], &ys[i * 6..(i + 1) * 6]);
            for (k, p) in path.iter().enumerate() {
                assert!((p - values[t + k]).abs() < 1e-5, "t={t} k={k}: {p}");
            }
        }
    }

    /// Each quantile's outputs decode as a path of their own; each step's values come out
    /// sorted, whatever order the head put them in.
    #[test]
    fn quantile_outputs_decode_per_quantile_and_sort_per_step() {
        let values: Vec<f64> = (0..30)
            .map(|i| 100.0 + (i as f64 * 0.8).sin() * 4.0)
            .collect();
        for transform in [
            TransformKind::Window,
            TransformKind::Minmax,
            TransformKind::Diff,
        ] {
            let f = fitted(transform, 2, &values);
            // Step 0 in order, step 1 crossed (its quantile 0 above its quantile 2).
            let y = [-0.5f32, 0.0, 0.5, 0.75, 0.1, -0.25];
            let history = &values[..20];
            let got = f.decode_quantiles(history, &y, 3, 2);
            let column = |j: usize| f.decode(history, &[y[j], y[3 + j]]);
            let (q0, q1, q2) = (column(0), column(1), column(2));
            assert_eq!(&got[..3], &[q0[0], q1[0], q2[0]], "{transform:?}");
            assert_eq!(&got[3..], &[q2[1], q1[1], q0[1]], "{transform:?}");
            assert_eq!(f.decode_quantiles(history, &y, 3, 1), &got[..3]);
        }
    }

    #[test]
    fn targets_keep_their_horizon_inside_their_part() {
        let f = fitted(TransformKind::Window, 7, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(f.within(&(10..30)), 10..24); // 23 + 6 = 29, the last value of the part
        assert_eq!(f.within(&(10..15)), 10..10);
        let one = fitted(TransformKind::Window, 1, &[1.0, 2.0, 3.0]);
        assert_eq!(one.within(&(10..30)), 10..30);
    }
}
