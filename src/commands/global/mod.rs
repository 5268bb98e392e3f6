//! What is left of the global path until it goes (issue 21): scoring a panel's held-out
//! parts (`train` and `compare` through `training.rs`), and reporting what loading a panel
//! found.

use std::collections::HashMap;

use candle_core::Device;

use crate::checkpoint::{Checkpoint, Member};
use crate::data::Series;
use crate::evaluate::{
    score_ahead, season_before, season_left_out, Ahead, PanelScores, Scoring, SeriesScores,
};
use crate::forecast::Forecaster;
use crate::panel::{name_some, Named, Panel};

use super::{note, season_for, warn};

/// Series named in one message at most; the rest are counted.
pub(super) const NAMED: usize = 5;

/// Scores the held-out part of each chosen series: one-step errors, and the part forecast
/// in one go from its start, as forecasting competitions score it. The held-out part runs
/// from the series' first test row (for a model trained on every row, the first row after
/// them) to the end of the series in use; `None` when no series has one.
pub(super) fn held_out(
    checkpoint: &Checkpoint,
    chosen: &[(&Member, &Named)],
    season: Option<usize>,
    device: &Device,
) -> anyhow::Result<Option<PanelScores>> {
    let mut scores = Vec::new();
    let mut left_out = Vec::new();
    for (member, named) in chosen {
        let series = &named.loaded.series;
        let season = season_for(season, checkpoint.meta.config.data.season, series);
        let part = Part::held_out(member, series, season);
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
pub(super) struct Part<'a> {
    pub id: &'a str,
    pub origin: usize,
    pub end: usize,
    /// The naive forecast's error on the training part: the one-step MASE denominator.
    pub mase_scale: f64,
    pub season: Option<usize>,
}

impl<'a> Part<'a> {
    /// The held-out part of `member`'s series in use, `series`: from its first test row
    /// (for a model trained on every row, the first row after them) to the end.
    /// The seasonal baseline is left out (`season` `None`) when a season of history does
    /// not come before the origin.
    pub fn held_out(member: &'a Member, series: &Series, season: Option<usize>) -> Part<'a> {
        let origin = member.held_out_origin(series);
        Part {
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
        let one_step = crate::evaluate::evaluate(forecaster, series, first..self.end, scoring)?;
        Ok(SeriesScores {
            id: self.id.to_string(),
            seen: true,
            one_step,
            ahead: Some(self.in_one_go(forecaster, series)?),
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
    pub fn in_one_go(&self, forecaster: &Forecaster, series: &Series) -> anyhow::Result<Ahead> {
        let mut steps = self.end - self.origin;
        if forecaster.featurizer.has_covariates() {
            steps = steps.min(forecaster.featurizer.horizon);
        }
        let path = forecaster.paths(series, &[self.origin], steps)?.remove(0);
        Ok(score_ahead(&series.values, self.origin, &path, self.season))
    }
}

/// Where a panel came from, to begin a message: the long CSV, or how many files.
pub(super) fn panel_words(panel: &Panel) -> String {
    match panel.series.iter().filter(|n| n.file.is_some()).count() {
        0 => panel.provenance.path.display().to_string(),
        1 => "the file given".to_string(),
        n => format!("{n} files"),
    }
}

/// Series' warnings shown one by one at most; the rest are counted.
const WARNED: usize = 20;

/// The file's warnings, then each series' notes: a note several series share (the price
/// column chosen, say) once with the series named, and at most [`WARNED`] of them, so that
/// 100,000 series do not print 100,000 lines.
pub(super) fn report_panel(panel: &Panel, quiet: bool) {
    let path = panel_words(panel);
    for n in &panel.notes {
        warn(&format!("{path}: {n}"));
    }
    let mut shared: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for named in &panel.series {
        for n in &named.loaded.notes {
            let k = *at.entry(n.as_str()).or_insert_with(|| {
                shared.push((n, Vec::new()));
                shared.len() - 1
            });
            shared[k].1.push(&named.id);
        }
    }
    for (n, ids) in shared.iter().take(WARNED) {
        let which = match ids.as_slice() {
            [id] => format!("series '{id}'"),
            _ if ids.len() == panel.series.len() => format!("all {} series", ids.len()),
            _ => format!("{} series ({})", ids.len(), name_some(ids, NAMED)),
        };
        warn(&format!("{path}: {which}: {n}"));
    }
    if shared.len() > WARNED {
        let rest = &shared[WARNED..];
        let mut series: Vec<&str> = rest
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        series.sort_unstable();
        series.dedup();
        warn(&format!(
            "{path}: {} more warnings on {} series ({}) not shown",
            rest.len(),
            series.len(),
            name_some(&series, NAMED)
        ));
    }
    if !quiet {
        note(&format!(
            "{path}: {} series, {} rows",
            panel.series.len(),
            panel.provenance.rows
        ));
    }
}
