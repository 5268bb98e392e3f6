//! A global model over many series (`--id-column`): `train` fits one network on the
//! windows of every series, each series scaled on its own training part only; `predict`
//! forecasts every series, or those named by `--series`.

use std::collections::HashMap;
use std::io::Write;

use candle_core::Device;

use crate::checkpoint::{Checkpoint, Member};
use crate::cli::{PredictArgs, TrainArgs};
use crate::config::RunConfig;
use crate::data::load_panel;
use crate::data::DataConfig;
use crate::error::GrufError;
use crate::evaluate::{naive_scale, pool, pool_ahead, score_ahead, Ahead, Pooled, Scoring};
use crate::output::{check_writable, print};
use crate::panel::{name_some, Named, Panel};
use crate::pipeline::{self, Chosen, Prepared};
use crate::train::TrainData;

use super::{
    device, note, renderer, report_saved, run_training, season_for, trained_words, warn, NO_TEST,
};

/// Series named in one message at most; the rest are counted.
const NAMED: usize = 5;

pub(super) fn train(args: &TrainArgs, mut config: RunConfig, seed: u64) -> anyhow::Result<()> {
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let csv = &args.csv;
    let panel = load_panel(csv, &config.data)?;
    report_panel(&panel, quiet);

    // Each series on its own: a value its transform cannot take is an error naming it; a
    // series that cannot be cut or fitted is left out, with the reason.
    let mut kept: Vec<(&Named, Prepared)> = Vec::new();
    let mut skipped: Vec<(&str, String)> = Vec::new();
    for named in &panel.series {
        let series = &named.loaded.series;
        pipeline::check_values(
            config.model.transform,
            Chosen::ThisRun,
            series,
            &named.loaded.lines,
        )
        .map_err(|m| GrufError::data(csv, format!("series '{}': {m}", named.id)))?;
        match pipeline::prepare(&config, series, config.train.test_days) {
            Ok(prepared) => kept.push((named, prepared)),
            Err(why) => skipped.push((&named.id, why)),
        }
    }
    if let Some((id, why)) = skipped.first() {
        let ids: Vec<&str> = skipped.iter().map(|(id, _)| *id).collect();
        if kept.is_empty() {
            return Err(GrufError::data(
                csv,
                format!(
                    "no series can be trained on: all {} were left out (series '{id}': {why})",
                    skipped.len()
                ),
            )
            .into());
        }
        warn(&format!(
            "{}: left out {} series of {}: {} (series '{id}': {why})",
            csv.display(),
            skipped.len(),
            panel.series.len(),
            name_some(&ids, NAMED)
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
            "gruf: {} series, {} rows: {windows} training windows, {val} validation, the last {} of each held out for testing; seed {seed}",
            kept.len(),
            kept.iter().map(|(n, _)| n.loaded.series.len()).sum::<usize>(),
            cal.count(config.train.test_days),
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
    let outcome = run_training(&config, seed, &data, &device, quiet)?;
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
        })
        .collect();
    let checkpoint = Checkpoint::trained(config, seed, members, panel.provenance.clone(), outcome);
    let scored = held_out(&checkpoint, &panel, &device)?;
    checkpoint.save(&args.model)?;

    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let mut out = Vec::new();
    writeln!(
        out,
        "{} on {} series; kept epoch {} (validation loss {:.6})",
        trained_words(meta),
        meta.members.len(),
        meta.best_epoch,
        best.val_loss,
    )?;
    match scored {
        Some(h) => {
            out.extend(pooled_table(&h.one_step).into_bytes());
            out.extend(ahead_table(&h.ahead).into_bytes());
        }
        None => writeln!(out, "{NO_TEST}")?,
    }
    report_saved(out, &args.model, meta)
}

/// What the held-out parts say: each series' one-step errors, pooled, and each series'
/// held-out part forecast in one go from its start, as forecasting competitions score it.
struct HeldOut {
    one_step: Pooled,
    ahead: Vec<Ahead>,
}

/// Scores every series' held-out part; `None` without one.
fn held_out(
    checkpoint: &Checkpoint,
    panel: &Panel,
    device: &Device,
) -> anyhow::Result<Option<HeldOut>> {
    let mut evaluations = Vec::new();
    let mut ahead = Vec::new();
    let k = checkpoint.meta.model().horizon;
    for member in &checkpoint.meta.members {
        let Some(named) = panel.get(&member.id) else {
            continue;
        };
        let series = &named.loaded.series;
        let scoring = Scoring {
            mase_scale: member.mase_scale.unwrap_or(f64::NAN),
            season: season_for(None, checkpoint.meta.config.data.season, series),
            held_out: true,
        };
        let first = member.split.test.start.max(scoring.first_target());
        if first >= member.split.test.end {
            continue;
        }
        let forecaster = checkpoint.forecaster_for(member, device)?;
        evaluations.push(crate::evaluate::evaluate(
            &forecaster,
            series,
            first..member.split.test.end,
            scoring,
        )?);
        let origin = member.split.test.start;
        let mut steps = member.split.test.len();
        if forecaster.featurizer.has_covariates() {
            steps = steps.min(k);
        }
        let path = forecaster.paths(series, &[origin], steps)?.remove(0);
        ahead.push(score_ahead(
            &series.values,
            origin,
            &path,
            scoring.season,
            member.split.fit_end(),
        ));
    }
    Ok((!evaluations.is_empty()).then(|| HeldOut {
        one_step: pool(&evaluations),
        ahead,
    }))
}

/// The held-out parts forecast in one go: each forecaster's mean sMAPE and MASE, and on
/// how many series the model's MASE is lower.
fn ahead_table(scores: &[Ahead]) -> String {
    let Some(first) = scores.first() else {
        return String::new();
    };
    let mut out = format!(
        "each series' held-out part forecast in one go from its start ({} steps), as forecasting competitions score it (MASE scaled by the seasonal naive error, m = {}):\n",
        first.steps, first.m
    );
    out.push_str(&format!(
        "{:<22} {:>12} {:>10} {:>22}\n",
        "forecaster", "mean sMAPE %", "mean MASE", "series the model beats"
    ));
    for (name, e, n) in pool_ahead(scores) {
        let beats = if name == "model" {
            "-".to_string()
        } else {
            let better = scores
                .iter()
                .filter(|a| {
                    let get = |x: &str| a.rows.iter().find(|(r, _)| r == x).map(|(_, e)| e.mase);
                    matches!((get("model"), get(&name)), (Some(m), Some(b)) if m < b)
                })
                .count();
            format!("{better} of {n}")
        };
        out.push_str(&format!(
            "{name:<22} {:>12.3} {:>10.3} {beats:>22}\n",
            e.smape, e.mase
        ));
    }
    out
}

/// The pooled table: each forecaster's mean MASE and sMAPE over the series, and on how
/// many series the model beats it.
fn pooled_table(p: &Pooled) -> String {
    let mut out = format!(
        "held out: {} one-step targets over {} series; each series counts the same\n",
        p.targets, p.series
    );
    out.push_str(&format!(
        "{:<22} {:>10} {:>12} {:>22}\n",
        "forecaster", "mean MASE", "mean sMAPE %", "series the model beats"
    ));
    for r in &p.rows {
        let beats = r
            .model_better
            .map_or("-".to_string(), |b| format!("{b} of {}", r.series));
        out.push_str(&format!(
            "{:<22} {:>10.3} {:>12.3} {:>22}\n",
            r.forecaster, r.mase, r.smape, beats
        ));
    }
    out
}

/// Series' warnings shown one by one at most; the rest are counted.
const WARNED: usize = 20;

/// The file's warnings, then each series' notes: a note several series share (the price
/// column chosen, say) once with the series named, and at most [`WARNED`] of them, so that
/// 100,000 series do not print 100,000 lines.
fn report_panel(panel: &Panel, quiet: bool) {
    let path = panel.provenance.path.display();
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

/// `gruf predict` for a global model: the forecast of every series (or of `--series`),
/// each from its own history through its own fitted transforms.
pub(super) fn predict(args: &PredictArgs, checkpoint: Checkpoint) -> anyhow::Result<()> {
    let device = device();
    let meta = &checkpoint.meta;
    let path = args
        .source
        .csv
        .clone()
        .unwrap_or_else(|| meta.data.path.clone());
    let data_config = DataConfig {
        column: Some(meta.data.column.clone()),
        date_column: Some(meta.data.date_column.clone()),
        ..meta.config.data.clone()
    };
    let panel = load_panel(&path, &data_config)?;
    report_panel(&panel, true);
    // Looked up once per series: a model may hold 100,000 of them.
    let members: HashMap<&str, &Member> =
        (meta.members.iter()).map(|m| (m.id.as_str(), m)).collect();
    let unknown: Vec<&str> = panel
        .series
        .iter()
        .map(|n| n.id.as_str())
        .filter(|id| !members.contains_key(id))
        .collect();
    if args.source.csv.is_some() && !unknown.is_empty() {
        return Err(GrufError::data(
            &path,
            format!(
                "{} series the model was not trained on: {}; a global model forecasts only its own series (train one that includes them)",
                unknown.len(),
                name_some(&unknown, NAMED)
            ),
        )
        .into());
    }
    let chosen: Vec<&Member> = if args.series.is_empty() {
        meta.members.iter().collect()
    } else {
        args.series
            .iter()
            .map(|id| {
                members.get(id.as_str()).copied().ok_or_else(|| {
                    let ids: Vec<&str> = meta.members.iter().map(|m| m.id.as_str()).collect();
                    GrufError::usage(format!(
                        "--series {id}: the model has no such series; it has {}",
                        name_some(&ids, NAMED)
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut forecasts = Vec::with_capacity(chosen.len());
    for member in chosen {
        let named = panel.get(&member.id).ok_or_else(|| {
            GrufError::data(
                &path,
                format!("series '{}' of the model is not in this file", member.id),
            )
        })?;
        let series = &named.loaded.series;
        let forecaster = checkpoint.forecaster_for(member, &device)?;
        let lookback = forecaster.lookback();
        if series.len() < lookback {
            return Err(GrufError::data(
                &path,
                format!(
                    "series '{}': {} usable rows, but the model needs the last {lookback} values as input",
                    member.id,
                    series.len()
                ),
            )
            .into());
        }
        let mut forecast = forecaster.forecast(series, &meta.data.column, args.days as usize)?;
        forecast.id = Some(member.id.clone());
        forecasts.push(forecast);
    }
    print(renderer(args.format).forecasts(&forecasts)?.as_bytes())
}
