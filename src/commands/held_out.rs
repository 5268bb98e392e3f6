//! A panel's held-out parts scored as `train` and `compare` report them: each series'
//! one-step errors, and its held-out part forecast in one go from its start, as
//! forecasting competitions score it; then pooled over the series. (`evaluate` scores more
//! of each part: [`super::evaluate`].)

use candle_core::Device;

use crate::checkpoint::{Checkpoint, FittedSeries};
use crate::evaluation::evaluate::{PanelScores, SeriesScores};
use crate::forecast::Forecaster;
use crate::scores::{score_ahead, season_before, season_left_out, Ahead, Scoring};
use crate::series::panel::PanelSeries;
use crate::series::Series;

use super::{note, season_for};

/// Scores the held-out part of each chosen series: one-step errors, and the part forecast
/// in one go from its start, as forecasting competitions score it. The held-out part runs
/// from the series' first test row (for a model trained on every row, the first row after
/// them) to the end of the series in use; `None` when no series has one.
pub(super) fn held_out(
    checkpoint: &Checkpoint,
    chosen: &[(&FittedSeries, &PanelSeries)],
    season: Option<usize>,
    device: &Device,
) -> anyhow::Result<Option<PanelScores>> {
    let mut scores = Vec::new();
    let mut left_out = Vec::new();
    for (member, named) in chosen {
        let series = &named.loaded.series;
        let season = season_for(season, checkpoint.meta.config.data.season, series);
        let part = Span::held_out(member, series, season);
        if let (Some(m), None) = (season, part.season) {
            left_out.push((m, part.origin, series.calendar, &member.id));
        }
        if part.first_target() < part.end {
            let forecaster = checkpoint.forecaster_for(member, device)?;
            scores.push(part.score(&forecaster, series)?);
        }
    }
    if let Some(&(m, origin, calendar, id)) = left_out.first() {
        let series = match left_out.len() {
            1 => format!("series '{id}'"),
            n => format!("{n} series (first '{id}')"),
        };
        note(&format!(
            "{series}: {}",
            season_left_out(m, origin, calendar)
        ));
    }
    Ok(PanelScores::new(scores))
}

/// A part of one series to score: `origin..end`, everything before it being history.
pub(super) struct Span<'a> {
    pub id: &'a str,
    pub origin: usize,
    pub end: usize,
    /// The naive forecast's error on the training part: the one-step MASE denominator.
    pub mase_scale: f64,
    pub season: Option<usize>,
}

impl<'a> Span<'a> {
    /// The held-out part of `member`'s series in use, `series`: from its first test row
    /// (for a model trained on every row, the first row after them) to the end.
    /// The seasonal baseline is left out (`season` `None`) when a season of history does
    /// not come before the origin.
    pub fn held_out(member: &'a FittedSeries, series: &Series, season: Option<usize>) -> Span<'a> {
        let origin = member.held_out_origin(series);
        Span {
            id: &member.id,
            origin,
            end: series.len(),
            mase_scale: member.mase_scale.unwrap_or(f64::NAN),
            season: season_before(season, origin),
        }
    }

    fn scoring(&self) -> Scoring {
        Scoring {
            mase_scale: self.mase_scale,
            season: self.season,
            held_out: true,
        }
    }

    /// The first target with enough history for the baselines: the origin, after one
    /// season when a season is scored.
    pub fn first_target(&self) -> usize {
        self.origin.max(self.season.unwrap_or(1))
    }

    /// One-step errors over the part (from its first target with enough history), and the
    /// part forecast in one go from its origin (at most the horizon for a model with
    /// covariates, whose future is unknown).
    pub fn score(&self, forecaster: &Forecaster, series: &Series) -> anyhow::Result<SeriesScores> {
        let scoring = self.scoring();
        let first = self.first_target().max(forecaster.lookback());
        let one_step =
            crate::evaluation::evaluate::evaluate(forecaster, series, first..self.end, scoring)?;
        Ok(SeriesScores {
            id: self.id.to_string(),
            seen: true,
            one_step,
            ahead: Some(self.in_one_go(forecaster, series)?.ahead),
            horizons: Vec::new(),
            mase_scale: self.mase_scale,
            intervals: None,
        })
    }

    /// The part forecast in one go from its origin, up to its end (a model with
    /// covariates: up to its horizon, their future being unknown), and that forecast
    /// scored beside naive and seasonal naive, MASE scaled by the seasonal naive error on
    /// all the history before the origin (M4's in-sample scale: training and validation
    /// part alike).
    pub fn in_one_go(&self, forecaster: &Forecaster, series: &Series) -> anyhow::Result<InOneGo> {
        let mut steps = self.end - self.origin;
        if forecaster.featurizer().has_covariates() {
            steps = steps.min(forecaster.featurizer().horizon);
        }
        let path = forecaster.paths(series, &[self.origin], steps)?.remove(0);
        let ahead = score_ahead(&series.values, self.origin, &path, self.season);
        Ok(InOneGo {
            origin: self.origin,
            path,
            ahead,
        })
    }
}

/// A part of a series forecast in one go from its start, and that forecast scored.
pub(super) struct InOneGo {
    /// The part's first row.
    pub origin: usize,
    /// The forecast of `values[origin..origin + path.len()]`.
    pub path: Vec<f64>,
    pub ahead: Ahead,
}
