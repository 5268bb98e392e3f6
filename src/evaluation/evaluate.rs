//! A model's forecasts over a span of a series, scored beside the baselines every model
//! must beat (naive, seasonal naive, drift, a moving average): one step ahead
//! ([`evaluate`]), every step of its horizon ([`horizon_errors`]), and each series of a
//! panel with its pooled scores ([`PanelScores`]). This module runs the forecaster; the
//! metrics, scales and score types are [`crate::scores`]'s, whose contract holds here:
//! nothing is scored that cannot be scored.

use std::ops::Range;

use serde::Serialize;

use crate::evaluation::coverage::Coverage;
use crate::features::Columns;
use crate::forecast::Forecaster;
use crate::series::Series;

use crate::scores::{
    metrics, pool, pool_ahead, pool_horizons, Ahead, Contender, Evaluation, HorizonError, Pooled,
    PooledAhead, PooledHorizon, Scoring, MOVING_AVERAGE_STEPS,
};

/// Scores the model's one-step predictions and the baselines on `targets` of `series`.
/// `Err` when the span is empty (the caller words it for the user).
pub fn evaluate(
    forecaster: &Forecaster,
    series: &Series,
    targets: Range<usize>,
    scoring: Scoring,
) -> anyhow::Result<Evaluation> {
    let model_pred = forecaster.one_step(series, targets.clone())?;
    Ok(score(series, targets, model_pred, scoring))
}

/// [`evaluate`] for model predictions already made (`model_pred[i]` for `targets.start + i`).
/// `targets` must be non-empty and start after one season of history (see
/// [`Scoring::from_target`]).
pub fn score(
    series: &Series,
    targets: Range<usize>,
    model_pred: Vec<f64>,
    scoring: Scoring,
) -> Evaluation {
    let values = &series.values;
    let truth = &values[targets.clone()];
    let prev = &values[targets.start - 1..targets.end - 1];
    let average = scoring.season.unwrap_or(MOVING_AVERAGE_STEPS);
    let mut forecasters: Vec<(Contender, Vec<f64>)> = vec![
        (Contender::Model, model_pred),
        (Contender::Naive, prev.to_vec()),
    ];
    if let Some(m) = scoring.season {
        forecasters.push((
            Contender::SeasonalNaive(m),
            targets.clone().map(|t| values[t - m]).collect(),
        ));
    }
    forecasters.push((
        Contender::Drift,
        targets
            .clone()
            .map(|t| values[t - 1] + (values[t - 1] - values[0]) / (t - 1).max(1) as f64)
            .collect(),
    ));
    forecasters.push((
        Contender::MovingAverage(average),
        targets
            .clone()
            .map(|t| {
                let past = &values[t.saturating_sub(average)..t];
                past.iter().sum::<f64>() / past.len() as f64
            })
            .collect(),
    ));
    let daily = series.is_daily();
    Evaluation {
        n: truth.len(),
        first_date: series.zone.iso(series.dates[targets.start], daily),
        last_date: series.zone.iso(series.dates[targets.end - 1], daily),
        held_out: scoring.held_out,
        rows: forecasters
            .into_iter()
            .map(|(n, p)| (n, metrics(&p, truth, prev, scoring.mase_scale)))
            .collect(),
        calendar: Some(series.calendar),
        season: scoring.season,
    }
}

/// One series scored on its held-out part: one prediction per step from the true past,
/// the errors at each horizon, the part forecast in one go from its start, and the
/// intervals' scores. What `evaluate` reports for a series, alone or among many.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesScores {
    /// Empty for the one series of a plain CSV.
    pub id: String,
    /// Whether the model was trained on the series (false: its transforms were fitted on
    /// its own past).
    pub seen: bool,
    pub one_step: Evaluation,
    /// The held-out part forecast in one go from its start; `None` when the model's input
    /// does not fit before it.
    pub ahead: Option<Ahead>,
    /// Errors at each horizon from every origin of the part (empty when not scored).
    pub horizons: Vec<HorizonError>,
    /// The MASE denominator: the naive forecast's error on the training part.
    pub mase_scale: f64,
    /// The intervals' scores over the part, when scored.
    #[serde(skip)]
    pub intervals: Option<Coverage>,
}

/// Held-out parts, series by series, and pooled as forecasting competitions pool them
/// (each series counts the same): one set of results for one series and for a panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelScores {
    pub series: Vec<SeriesScores>,
    pub one_step: Pooled,
    pub ahead: Vec<PooledAhead>,
    /// Errors at each horizon over the training part's naive error, averaged over series.
    pub horizons: Vec<PooledHorizon>,
    /// Every series' intervals' scores pooled over their targets.
    #[serde(skip)]
    pub intervals: Option<Coverage>,
}

impl PanelScores {
    /// Pools `series` (none empty); `None` when there is none.
    pub fn new(series: Vec<SeriesScores>) -> Option<PanelScores> {
        if series.is_empty() {
            return None;
        }
        let one: Vec<&Evaluation> = series.iter().map(|s| &s.one_step).collect();
        let ahead: Vec<Ahead> = series.iter().filter_map(|s| s.ahead.clone()).collect();
        let horizons: Vec<(&[HorizonError], f64)> = (series.iter())
            .map(|s| (s.horizons.as_slice(), s.mase_scale))
            .collect();
        let spans: Vec<Coverage> = series.iter().filter_map(|s| s.intervals.clone()).collect();
        let intervals = Coverage::pool(&spans).map(|c| Coverage {
            pooled_series: Some(spans.len()),
            ..c
        });
        Some(PanelScores {
            one_step: pool(&one),
            ahead: pool_ahead(&ahead),
            horizons: pool_horizons(&horizons),
            intervals,
            series,
        })
    }

    /// Steps of the longest held-out part forecast in one go, and the season its MASE is
    /// scaled by.
    pub fn ahead_steps(&self) -> (usize, usize) {
        let ahead = || self.series.iter().filter_map(|s| s.ahead.as_ref());
        let steps = ahead().map(|a| a.steps).max().unwrap_or(0);
        (steps, ahead().next().map_or(1, |a| a.m))
    }

    /// The one series of a plain CSV, alone: reported as a series, not as a panel.
    pub fn alone(&self) -> Option<&SeriesScores> {
        match self.series.as_slice() {
            [one] if one.id.is_empty() => Some(one),
            _ => None,
        }
    }
}

/// Recursive forecasts from every origin `o` in `origins` (the forecast starts after
/// `values[..o]`), scored at each horizon 1..=`steps` over the origins whose target at that
/// horizon lies inside the data. Horizons no origin reaches are left out, so the result
/// may be shorter than `steps` (empty when `origins` is). A model with covariates stops at
/// its horizon: it cannot recurse past it.
pub fn horizon_errors<'a>(
    forecaster: &Forecaster,
    columns: impl Into<Columns<'a>>,
    origins: Range<usize>,
    steps: usize,
    season: Option<usize>,
) -> anyhow::Result<Vec<HorizonError>> {
    let columns = columns.into();
    let values = columns.values;
    let mut steps = steps.min(values.len().saturating_sub(origins.start));
    if forecaster.featurizer().has_covariates() {
        steps = steps.min(forecaster.featurizer().horizon);
    }
    let origins: Vec<usize> = origins.collect();
    let paths = forecaster.paths(columns, &origins, steps)?;
    let mut rows = Vec::with_capacity(steps);
    for h in 1..=steps {
        let (mut model, mut naive, mut seasonal, mut n) = (0.0, 0.0, 0.0, 0usize);
        for (&o, path) in origins.iter().zip(&paths) {
            let Some(&truth) = values.get(o + h - 1) else {
                continue;
            };
            model += (path[h - 1] - truth).abs();
            naive += (values[o - 1] - truth).abs();
            if let Some(m) = season {
                // The same point of the season, in the last season before the origin.
                seasonal += (values[o + h - 1 - m * h.div_ceil(m)] - truth).abs();
            }
            n += 1;
        }
        let n = n as f64;
        rows.push(HorizonError {
            horizon: h,
            model_mae: model / n,
            naive_mae: naive / n,
            seasonal_naive_mae: season.map(|_| seasonal / n),
            origins: n as usize,
            direct: h <= forecaster.featurizer().horizon,
        });
    }
    Ok(rows)
}
