//! Scores of point forecasts, in price units, and the naive scales they are measured
//! against: the metrics (MAE, RMSE, MAPE, sMAPE, MASE, direction), the baselines every
//! model must beat (naive, seasonal naive, drift, moving average), scores per step ahead,
//! and what pools them over the series of a panel. Nothing here runs a model: the
//! evaluation stage forecasts and hands the numbers to these; the model file keeps an
//! [`Evaluation`].
//!
//! Contract: nothing is scored that cannot be scored. A span with no targets is an error,
//! never a table of zeros; a horizon that no origin reaches is left out, and every figure
//! says how many targets or origins it rests on.

use serde::{Deserialize, Serialize};

use crate::series::calendar::Calendar;

/// Steps in the moving-average baseline of a series without a usual season.
pub const MOVING_AVERAGE_STEPS: usize = 7;

/// Below this many targets (or origins), a table of errors is mostly noise: say so.
pub const FEW: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    /// Mean absolute percentage error, in percent; `None` when a true value is zero (the
    /// error relative to it is undefined), printed `-` and written `null`.
    pub mape: Option<f64>,
    /// Symmetric MAPE, in percent: mean of 2|p − t| / (|p| + |t|), a step where both are
    /// zero counting as no error. Bounded by 200 but, like MAPE, dominated by values near
    /// zero on a series that crosses it.
    pub smape: f64,
    /// Mean absolute scaled error: MAE over the naive forecast's MAE on the training part.
    pub mase: f64,
    /// Share of steps, in percent, whose predicted move (up or down from the last known
    /// value) has the sign of the true move; `None` for a forecast that never moves.
    pub directional: Option<f64>,
}

/// Errors of `pred` against `truth`, where `prev` is the last known value before each
/// step and `mase_scale` the naive forecast's MAE on the training part.
pub fn metrics(pred: &[f64], truth: &[f64], prev: &[f64], mase_scale: f64) -> Metrics {
    let n = truth.len() as f64;
    let (mut abs, mut sq, mut pct, mut sym) = (0.0, 0.0, 0.0, 0.0);
    let (mut moved, mut right) = (0usize, 0usize);
    for ((p, t), q) in pred.iter().zip(truth).zip(prev) {
        let e = p - t;
        abs += e.abs();
        sq += e * e;
        pct += (e / t).abs();
        if e != 0.0 {
            sym += 2.0 * e.abs() / (p.abs() + t.abs());
        }
        if p != q {
            moved += 1;
            right += usize::from((p - q).signum() == (t - q).signum());
        }
    }
    Metrics {
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        mape: truth.iter().all(|&t| t != 0.0).then(|| 100.0 * pct / n),
        smape: 100.0 * sym / n,
        mase: abs / n / mase_scale,
        directional: (moved > 0).then(|| 100.0 * right as f64 / moved as f64),
    }
}

/// The naive forecast's MAE over `values` (the MASE denominator).
pub fn naive_scale(values: &[f64]) -> f64 {
    let steps: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    steps.iter().sum::<f64>() / steps.len().max(1) as f64
}

/// What scores depend on besides the predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scoring {
    /// The MASE denominator: the naive forecast's MAE on the training part.
    pub mase_scale: f64,
    /// Period of the seasonal naive baseline and of the moving average (`None`: no
    /// seasonal baseline, a 7-step moving average).
    pub season: Option<usize>,
    /// True when the span was held out from training (the test part or newer data).
    pub held_out: bool,
}

impl Scoring {
    /// This scoring for targets from `first` on, and the seasonal period it had to leave
    /// out: the seasonal naive baseline needs one season of history before every target,
    /// so a season longer than the history before `first` (1,440 steps of minute data, a
    /// `--season` longer than the series) drops that one baseline, never the targets: the
    /// model and the other baselines are scored all the same.
    pub fn from_target(self, first: usize) -> (Scoring, Option<usize>) {
        let season = season_before(self.season, first);
        let left_out = self.season.filter(|_| season.is_none());
        (Scoring { season, ..self }, left_out)
    }
}

/// `season` when one season of history comes before the first target `first`, else none:
/// the one rule for when the seasonal naive baseline can be scored ([`Scoring::from_target`]).
pub fn season_before(season: Option<usize>, first: usize) -> Option<usize> {
    season.filter(|&m| m <= first)
}

/// Why the seasonal naive baseline of period `m` is missing from a table whose first
/// target is `first` (a note for the user).
pub fn season_left_out(m: usize, first: usize, calendar: Calendar) -> String {
    format!(
        "no seasonal naive baseline: its period ({}) needs a season of history before the first \
         scored target, and only {} come before it; the model and the other baselines are \
         scored without it",
        calendar.count(m),
        calendar.count(first)
    )
}

/// Who made a scored point forecast: the model, or one of the baselines every model must
/// beat. Rows of scores are keyed by it; its [`Display`](std::fmt::Display) form ("model",
/// "naive", "seasonal naive 24", "drift", "moving average 7") is what tables, CSV, JSON and
/// model files show, and [`FromStr`](std::str::FromStr) reads that form back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// The trained network (or an ensemble's median).
    Model,
    /// The last known value, held flat.
    Naive,
    /// The value one season (this many steps) before.
    SeasonalNaive(usize),
    /// The last value plus the mean change since the first value.
    Drift,
    /// The mean of the last this many values.
    MovingAverage(usize),
}

impl std::fmt::Display for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that tables' widths (`{:<19}`) apply.
        match self {
            Contender::Model => f.pad("model"),
            Contender::Naive => f.pad("naive"),
            Contender::SeasonalNaive(m) => f.pad(&format!("seasonal naive {m}")),
            Contender::Drift => f.pad("drift"),
            Contender::MovingAverage(n) => f.pad(&format!("moving average {n}")),
        }
    }
}

impl std::str::FromStr for Contender {
    type Err = String;

    /// Reads the [`Display`](std::fmt::Display) form back (a row name in a model file).
    fn from_str(s: &str) -> Result<Contender, String> {
        let steps = |rest: &str| rest.parse::<usize>().ok();
        let found = match s {
            "model" => Some(Contender::Model),
            "naive" => Some(Contender::Naive),
            "drift" => Some(Contender::Drift),
            _ => None,
        };
        found
            .or_else(|| steps(s.strip_prefix("seasonal naive ")?).map(Contender::SeasonalNaive))
            .or_else(|| steps(s.strip_prefix("moving average ")?).map(Contender::MovingAverage))
            .ok_or_else(|| {
                format!(
                    "unknown forecaster '{s}' (known: model, naive, seasonal naive N, drift, \
                     moving average N)"
                )
            })
    }
}

/// Serialised as its display string, as gruf has always written row names.
impl Serialize for Contender {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Every forecaster's errors over one span, model first, then the baselines. Serialised
/// for JSON on stdout (`evaluate`, `backtest`); the model file spells it with its own
/// record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Number of one-step targets.
    pub n: usize,
    /// First and last target: `2024-03-31`, or RFC 3339 in UTC for intraday data.
    pub first_date: String,
    pub last_date: String,
    /// True when the span was held out from training (the test part or newer data).
    pub held_out: bool,
    /// The model first, then the baselines: naive, seasonal naive (with a season), drift,
    /// moving average.
    pub rows: Vec<(Contender, Metrics)>,
    /// The series' calendar, for wording (`None` in files written by gruf 1.0: daily).
    pub calendar: Option<Calendar>,
    /// The seasonal naive baseline's period, if it has one.
    pub season: Option<usize>,
}

impl Evaluation {
    /// The row of `who`, if it was scored.
    pub fn get(&self, who: Contender) -> Option<&Metrics> {
        self.rows.iter().find(|(c, _)| *c == who).map(|(_, m)| m)
    }

    /// The seasonal naive baseline's row, if there is one.
    pub fn seasonal(&self) -> Option<&Metrics> {
        self.season
            .and_then(|m| self.get(Contender::SeasonalNaive(m)))
    }
}

/// One forecast of a whole held-out part from its origin, scored as forecasting
/// competitions score it: sMAPE, and MASE scaled by the seasonal naive forecast's in-sample
/// error (period m; m = 1 is the naive one). One row per forecaster: the model, naive (the
/// last value held flat) and, with a season, seasonal naive (the last season repeated).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ahead {
    /// Steps forecast from the origin.
    pub steps: usize,
    /// The season the MASE is scaled by (1: the naive forecast's error).
    pub m: usize,
    pub rows: Vec<(Contender, AheadError)>,
}

impl Ahead {
    /// The errors of `who`, if it was scored.
    pub fn get(&self, who: Contender) -> Option<AheadError> {
        self.rows.iter().find(|(c, _)| *c == who).map(|&(_, e)| e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AheadError {
    pub smape: f64,
    pub mase: f64,
}

/// The seasonal naive forecast's mean absolute error over `values` (period `m`): the
/// MASE denominator of forecasting competitions. NaN when `values` are not longer than `m`.
pub fn seasonal_scale(values: &[f64], m: usize) -> f64 {
    let m = m.max(1);
    if values.len() <= m {
        return f64::NAN;
    }
    let total: f64 = (m..values.len())
        .map(|t| (values[t] - values[t - m]).abs())
        .sum();
    total / (values.len() - m) as f64
}

/// Scores `path`, a forecast of `values[origin..origin + path.len()]` made at `origin`,
/// beside the naive and seasonal naive forecasts made there; MASE is scaled by the seasonal
/// naive's error on all the values before `origin` (M4's in-sample scale).
pub fn score_ahead(values: &[f64], origin: usize, path: &[f64], season: Option<usize>) -> Ahead {
    let steps = path.len();
    let truth = &values[origin..origin + steps];
    let m = season.unwrap_or(1);
    let scale = seasonal_scale(&values[..origin], m);
    let score = |pred: &[f64]| {
        let mae = pred
            .iter()
            .zip(truth)
            .map(|(p, t)| (p - t).abs())
            .sum::<f64>()
            / steps as f64;
        let smape = 100.0
            * pred
                .iter()
                .zip(truth)
                .map(|(p, t)| {
                    if p == t {
                        0.0
                    } else {
                        2.0 * (p - t).abs() / (p.abs() + t.abs())
                    }
                })
                .sum::<f64>()
            / steps as f64;
        AheadError {
            smape,
            mase: mae / scale,
        }
    };
    let mut rows = vec![
        (Contender::Model, score(path)),
        (Contender::Naive, score(&vec![values[origin - 1]; steps])),
    ];
    if let Some(m) = season {
        if let Some(repeated) = seasonal_naive(values, origin, m, steps) {
            rows.push((Contender::SeasonalNaive(m), score(&repeated)));
        }
    }
    Ahead { steps, m, rows }
}

/// The seasonal naive forecast of `steps` values made at `origin`: the last season of
/// `values[..origin]` (period `m`) repeated. `None` when there is no whole season before it.
pub fn seasonal_naive(values: &[f64], origin: usize, m: usize, steps: usize) -> Option<Vec<f64>> {
    let last_season = values.get(origin.checked_sub(m.max(1))?..origin)?;
    Some(
        (0..steps)
            .map(|h| last_season[h % last_season.len()])
            .collect(),
    )
}

/// One forecaster's scores of the held-out parts forecast in one go, averaged over series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledAhead {
    pub forecaster: Contender,
    pub smape: f64,
    pub mase: f64,
    /// Series where the model's MASE is lower than this forecaster's (`None` for the model).
    pub model_better: Option<usize>,
    /// Series this row averages over (a seasonal baseline may miss on short series).
    pub series: usize,
}

/// Means over series of each forecaster's sMAPE and MASE (a forecaster missing from some
/// series is averaged over those that have it), in the order of the first, with how many
/// series the model beats it on.
pub fn pool_ahead(scores: &[Ahead]) -> Vec<PooledAhead> {
    let Some(first) = scores.first() else {
        return Vec::new();
    };
    first
        .rows
        .iter()
        .map(|&(who, _)| {
            let found: Vec<AheadError> = scores.iter().filter_map(|a| a.get(who)).collect();
            let n = found.len().max(1) as f64;
            let better = scores
                .iter()
                .filter(|a| matches!((a.get(Contender::Model), a.get(who)), (Some(m), Some(b)) if m.mase < b.mase))
                .count();
            PooledAhead {
                forecaster: who,
                smape: found.iter().map(|e| e.smape).sum::<f64>() / n,
                mase: found.iter().map(|e| e.mase).sum::<f64>() / n,
                model_better: (who != Contender::Model).then_some(better),
                series: found.len(),
            }
        })
        .collect()
}

/// One horizon's errors pooled over series: each forecaster's MAE at that horizon over
/// the series' own MASE denominator (the naive forecast's error on its training part),
/// averaged over the series that reach it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledHorizon {
    pub horizon: usize,
    pub model_mase: f64,
    pub naive_mase: f64,
    /// `None` without a season.
    pub seasonal_naive_mase: Option<f64>,
    /// Series that reach this horizon, and their origins together.
    pub series: usize,
    pub origins: usize,
    pub direct: bool,
}

/// Pools each series' horizon errors (`(errors, MASE denominator)`), horizon by horizon.
pub fn pool_horizons(series: &[(&[HorizonError], f64)]) -> Vec<PooledHorizon> {
    let steps = series.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
    (0..steps)
        .filter_map(|i| {
            let at: Vec<(&HorizonError, f64)> = (series.iter())
                .filter_map(|(h, scale)| Some((h.get(i)?, *scale)))
                .filter(|(_, scale)| scale.is_finite() && *scale > 0.0)
                .collect();
            let first = at.first()?.0;
            let n = at.len() as f64;
            let mean = |f: &dyn Fn(&HorizonError) -> f64| {
                at.iter().map(|(h, scale)| f(h) / scale).sum::<f64>() / n
            };
            Some(PooledHorizon {
                horizon: first.horizon,
                model_mase: mean(&|h| h.model_mae),
                naive_mase: mean(&|h| h.naive_mae),
                seasonal_naive_mase: (first.seasonal_naive_mae.is_some())
                    .then(|| mean(&|h| h.seasonal_naive_mae.unwrap_or(f64::NAN))),
                series: at.len(),
                origins: at.iter().map(|(h, _)| h.origins).sum(),
                direct: first.direct,
            })
        })
        .collect()
}

/// Per-series evaluations pooled as forecasting competitions pool them: each forecaster's
/// MASE and sMAPE averaged over the series (every series counts the same, whatever its
/// scale), and how many series the model beats it on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    /// Series scored, and one-step targets over all of them.
    pub series: usize,
    pub targets: usize,
    /// The model first, then the baselines, in the order of the first series' rows.
    pub rows: Vec<PooledRow>,
}

impl Pooled {
    /// The row of `who`, if any series scored it.
    pub fn get(&self, who: Contender) -> Option<&PooledRow> {
        self.rows.iter().find(|r| r.forecaster == who)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledRow {
    pub forecaster: Contender,
    pub mase: f64,
    pub smape: f64,
    /// Series where the model's MASE is lower than this forecaster's (`None` for the model).
    pub model_better: Option<usize>,
    /// Series this row averages over (a seasonal baseline may miss on short series).
    pub series: usize,
}

/// Pools `evaluations` (one per series; none empty). A forecaster is averaged over the
/// series that have a row for it.
pub fn pool(evaluations: &[&Evaluation]) -> Pooled {
    let contenders: Vec<Contender> = evaluations
        .first()
        .map_or(Vec::new(), |e| e.rows.iter().map(|&(c, _)| c).collect());
    let rows = contenders
        .into_iter()
        .map(|who| {
            let (mut mase, mut smape, mut better, mut n) = (0.0, 0.0, 0usize, 0usize);
            for e in evaluations {
                let (Some(m), Some(model)) = (e.get(who), e.get(Contender::Model)) else {
                    continue;
                };
                mase += m.mase;
                smape += m.smape;
                better += usize::from(model.mase < m.mase);
                n += 1;
            }
            let n_f = n.max(1) as f64;
            PooledRow {
                forecaster: who,
                mase: mase / n_f,
                smape: smape / n_f,
                model_better: (who != Contender::Model).then_some(better),
                series: n,
            }
        })
        .collect();
    Pooled {
        series: evaluations.len(),
        targets: evaluations.iter().map(|e| e.n).sum(),
        rows,
    }
}

/// Mean absolute error of the recursive forecast at one horizon, beside the naive forecast
/// (the last known value, held flat) and the seasonal naive one at the same horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonError {
    /// Steps ahead, from 1.
    pub horizon: usize,
    pub model_mae: f64,
    pub naive_mae: f64,
    /// `None` without a season.
    pub seasonal_naive_mae: Option<f64>,
    /// Forecast origins averaged over: every origin whose target at this horizon is in
    /// the data, so horizon 1 is the one-step evaluation.
    pub origins: usize,
    /// True when this horizon is read straight off one prediction (a model that predicts
    /// K steps at once, horizon ≤ K); false when earlier predictions were fed back.
    pub direct: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seasonal_naive_forecast_repeats_the_last_season() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            seasonal_naive(&values, 5, 2, 5),
            Some(vec![4.0, 5.0, 4.0, 5.0, 4.0])
        );
        assert_eq!(seasonal_naive(&values, 3, 3, 2), Some(vec![1.0, 2.0]));
        assert_eq!(seasonal_naive(&values, 2, 3, 2), None);
    }

    #[test]
    fn contenders_read_back_what_they_display() {
        let all = [
            Contender::Model,
            Contender::Naive,
            Contender::SeasonalNaive(24),
            Contender::Drift,
            Contender::MovingAverage(7),
        ];
        let names: Vec<String> = all.iter().map(Contender::to_string).collect();
        assert_eq!(
            names,
            [
                "model",
                "naive",
                "seasonal naive 24",
                "drift",
                "moving average 7"
            ]
        );
        assert_eq!(format!("[{:<8}]", Contender::Drift), "[drift   ]");
        assert_eq!(
            format!("[{:>9}]", Contender::MovingAverage(7)),
            "[moving average 7]"
        );
        for (c, name) in all.iter().zip(&names) {
            assert_eq!(name.parse::<Contender>(), Ok(*c));
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{name}\""));
        }
        for bad in ["Model", "seasonal naive", "moving average x", "naive 7", ""] {
            let err = bad.parse::<Contender>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn metrics_by_hand() {
        // Truth 100 → 110 → 100; prediction 105 then 104, from last values 100 and 110.
        let m = metrics(&[105.0, 104.0], &[110.0, 100.0], &[100.0, 110.0], 5.0);
        assert_eq!((m.mae, m.rmse), (4.5, (20.5f64).sqrt()));
        assert!((m.mape.unwrap() - 100.0 * (5.0 / 110.0 + 4.0 / 100.0) / 2.0).abs() < 1e-12);
        assert!((m.smape - 100.0 * (10.0 / 215.0 + 8.0 / 204.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.mase, 0.9);
        assert_eq!(m.directional, Some(100.0)); // up then down, both right
        let naive = metrics(&[100.0, 110.0], &[110.0, 100.0], &[100.0, 110.0], 5.0);
        assert_eq!(naive.directional, None);
        assert_eq!(naive.mase, 2.0);
        assert_eq!(naive_scale(&[1.0, 3.0, 2.0]), 1.5);
        // A series that crosses zero: MAPE is undefined at the zero, sMAPE counts an exact
        // zero forecast of a zero as no error.
        let m = metrics(&[-1.0, 0.0, 2.0], &[-2.0, 0.0, 1.0], &[1.0, -2.0, 0.0], 1.0);
        assert_eq!(m.mape, None);
        assert!(m.smape.is_finite());
        assert!((m.smape - 100.0 * (2.0 / 3.0 + 0.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.mae, 2.0 / 3.0);
    }
}
