//! A global model over many series (`--id-column`): `train` fits one network on the
//! windows of every series, each series scaled on its own training part only; `predict`
//! forecasts every series, or those named by `--series`; `evaluate` and `plot` score and
//! draw each series' held-out part.

use std::collections::HashMap;
use std::io::Write;

use candle_core::Device;

use crate::checkpoint::{Checkpoint, Member};
use crate::cli::TrainArgs;
use crate::config::RunConfig;
use crate::data::Series;
use crate::error::GrufError;
use crate::evaluate::{
    naive_scale, score_ahead, season_before, season_left_out, Ahead, PanelScores, Scoring,
    SeriesScores,
};
use crate::forecast::Forecaster;
use crate::output::check_writable;
use crate::panel::{self, name_some, Named, Panel};
use crate::pipeline::{self, Chosen, Prepared};
use crate::progress::Reporter;
use crate::train::TrainData;

use super::{
    device, kept_epoch_words, network_lines, note, report_saved, run_training, season_for,
    trained_words, warn, NO_TEST, TRAIN_WORDS,
};

/// Series named in one message at most; the rest are counted.
pub(super) const NAMED: usize = 5;

pub(super) fn train(args: &TrainArgs, mut config: RunConfig, seed: u64) -> anyhow::Result<()> {
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let panel = panel::load(&args.csv, &config.data)?;
    report_panel(&panel, quiet);

    // Each series on its own: a value its transform cannot take is an error naming it; a
    // series that cannot be cut or fitted is left out, with the reason.
    let mut kept: Vec<(&Named, Prepared)> = Vec::new();
    let mut skipped: Vec<(&str, String)> = Vec::new();
    for named in &panel.series {
        check_values(&config, named)?;
        match pipeline::prepare(&config, &named.loaded.series, config.train.test_days) {
            Ok(prepared) => {
                let values = &named.loaded.series.values;
                super::warn_outside_training(
                    &format!("series '{}': ", named.id),
                    &prepared.featurizer.scaler,
                    &values[prepared.split.fit_end()..],
                    values,
                );
                kept.push((named, prepared))
            }
            Err(why) => skipped.push((&named.id, why)),
        }
    }
    if let Some((id, why)) = skipped.first() {
        let ids: Vec<&str> = skipped.iter().map(|(id, _)| *id).collect();
        if kept.is_empty() {
            return Err(GrufError::data(
                &panel.provenance.path,
                format!(
                    "no series can be trained on: all {} were left out (series '{id}': {why})",
                    skipped.len()
                ),
            )
            .into());
        }
        warn(&format!(
            "{}: left out {} series of {}: {} (series '{id}': {why})",
            panel_words(&panel),
            skipped.len(),
            panel.series.len(),
            name_some(&ids, NAMED)
        ));
    }
    let mut gaps = crate::fill::GapCounts::default();
    for (named, p) in &kept {
        let loaded = &named.loaded;
        gaps.add(crate::fill::GapCounts::of(
            &loaded.series,
            &loaded.filled,
            &p.split,
        ));
    }
    for n in gaps.notes(config.data.fill) {
        warn(&format!(
            "{}: {} series: {n}",
            panel_words(&panel),
            kept.len()
        ));
    }
    let features = kept[0].1.featurizer.features();
    config.model.features = features;
    if !quiet {
        let recent = config.train.recent_windows;
        let windows: usize = (kept.iter())
            .map(|(_, p)| p.featurizer.within(&p.split.train).len())
            .map(|n| if recent == 0 { n } else { n.min(recent) })
            .sum();
        let val: usize = kept.iter().map(|(_, p)| p.split.val.len()).sum();
        let cal = kept[0].0.loaded.series.calendar;
        crate::eprintln_lossy!(
            "gruf: {} series, {} rows: {windows} training windows, {val} validation, the last {} of each held out for testing; {}, seed {seed}",
            kept.len(),
            kept.iter().map(|(n, _)| n.loaded.series.len()).sum::<usize>(),
            cal.count(config.train.test_days),
            config.model.describe(),
        );
    }

    let device = device();
    let data: Vec<TrainData<'_>> = kept
        .iter()
        .map(|(named, p)| TrainData {
            values: (&named.loaded.series).into(),
            featurizer: &p.featurizer,
            split: &p.split,
        })
        .collect();
    crate::interrupt::watch(TRAIN_WORDS);
    let trained = run_training(&config, seed, &data, &device, Reporter::new(quiet))?;
    let interrupted = trained.interrupted;
    let members: Vec<Member> = kept
        .iter()
        .map(|(named, p)| Member {
            id: named.id.clone(),
            scaler: p.featurizer.scaler,
            inputs: p.featurizer.inputs.clone(),
            split: p.split.clone(),
            mase_scale: Some(naive_scale(
                &named.loaded.series.values[..p.split.fit_end()],
            )),
            file: named.file.clone(),
            held_out_from: Some(match &p.split.test {
                test if test.is_empty() => named.loaded.series.dates[test.end - 1] + 1,
                test => named.loaded.series.dates[test.start],
            }),
            held_out_in_utc: false,
        })
        .collect();
    let mut checkpoint =
        Checkpoint::trained(config, seed, members, panel.provenance.clone(), trained);
    let columns: Vec<_> = data.iter().map(|d| d.values).collect();
    checkpoint.calibrate(&columns, &device)?;
    let mut chosen: Vec<(&Member, &Named)> = (checkpoint.meta.members.iter())
        .zip(kept.iter().map(|(named, _)| *named))
        .collect();
    chosen.sort_by(|a, b| crate::panel::natural_cmp(&a.0.id, &b.0.id));
    let scored = held_out(&checkpoint, &chosen, None, &device)?;
    checkpoint.save(&args.model)?;

    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let mut out = Vec::new();
    if meta.networks() == 1 {
        writeln!(
            out,
            "{} on {} series; kept {} (validation loss {:.6})",
            trained_words(meta),
            meta.members.len(),
            kept_epoch_words(meta),
            best.val_loss,
        )?;
    } else {
        writeln!(
            out,
            "{} on {} series; forecasts are their median",
            trained_words(meta),
            meta.members.len(),
        )?;
        network_lines(&mut out, meta, |r| {
            format!("validation loss {:.6}", r.val_loss)
        })?;
    }
    match scored {
        Some(scores) => out.extend(crate::render::table::pooled(&scores, "series").into_bytes()),
        None => writeln!(out, "{NO_TEST}")?,
    }
    report_saved(out, &args.model, meta, interrupted)
}

/// Scores the held-out part of each chosen series: one-step errors, and the part forecast
/// in one go from its start, as forecasting competitions score it. The held-out part runs
/// from the series' first test row (for a model trained on every row, the first row after
/// them) to the end of the series in use; `None` when no series has one.
fn held_out(
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

/// Refuses a series with a value the configured transform cannot take, naming the series
/// and the line.
pub(super) fn check_values(config: &RunConfig, named: &Named) -> Result<(), GrufError> {
    pipeline::check_values(
        config.model.transform,
        Chosen::ThisRun,
        &named.loaded.series,
        &named.loaded.lines,
    )
    .map_err(|m| GrufError::data(named.path(), format!("series '{}': {m}", named.id)))
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
