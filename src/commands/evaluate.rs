//! `gruf evaluate`: one-step and per-horizon errors on held-out data, beside the baselines.

use crate::checkpoint::{Checkpoint, Meta};
use crate::cli::EvaluateArgs;
use crate::config::check_season;
use crate::conformal::CalibrationError;
use crate::coverage::Coverage;
use crate::data::Series;
use crate::error::GrufError;
use crate::evaluate::{season_left_out, Scoring, FEW};
use crate::forecast::Forecaster;
use crate::output::{plural, print};

use super::{
    default_levels, device, held_out_start, interval_levels, mase_scale, note, note_ensemble,
    open_with, renderer, sampling, season_for, warn, warn_if_few, Opened,
};

pub(super) fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(season) = args.season {
        check_season(season)?;
    }
    let device = device();
    let stored = Checkpoint::load(&args.source.model, &device)?;
    if stored.meta.is_global() {
        return super::global::evaluate(&args, stored);
    }
    let Opened {
        checkpoint,
        series,
        path,
        forecaster,
    } = open_with(&args.source, stored, &device)?;
    let meta = &checkpoint.meta;
    note_ensemble(&args.source.model, meta);
    let cal = series.calendar;
    let held_out = held_out_start(meta, &series).ok_or_else(|| {
        GrufError::data(
            &path,
            format!(
                "no held-out data: the model trained on everything up to {}; pass --csv with newer rows",
                meta.data.last_date
            ),
        )
    })?;
    let history = forecaster.lookback();
    let start = held_out.max(history);
    if start >= series.len() {
        return Err(GrufError::data(
            &path,
            format!(
                "nothing to score: {} held-out row{}, but each scored row needs the {} before it as input; \
                 pass a --csv that also holds the rows before the new ones",
                series.len() - held_out,
                plural(series.len() - held_out),
                cal.count(history),
            ),
        )
        .into());
    }
    let (scoring, left_out) = Scoring {
        mase_scale: mase_scale(meta, &series.values[..start]),
        season: season_for(args.season, meta.config.data.season, &series),
        held_out: true,
    }
    .from_target(start);
    if let Some(m) = left_out {
        note(&season_left_out(m, start, cal));
    }
    let e = crate::evaluate::evaluate(&forecaster, &series, start..series.len(), scoring)?;
    let k = forecaster.featurizer.horizon;
    let mut wanted = args
        .horizon
        .map_or(if k > 1 { k } else { 7 }, |n| n as usize);
    if forecaster.featurizer.has_covariates() && wanted > k {
        if args.horizon.is_some() {
            warn(&format!(
                "this model reads --inputs, whose future is unknown: it forecasts at most its horizon, so the horizon table stops at {k} (train with a larger --horizon to score further)"
            ));
        }
        wanted = k;
    }
    let horizons = if wanted > 0 {
        crate::evaluate::horizon_errors(
            &forecaster,
            &series,
            start..series.len(),
            wanted,
            scoring.season,
        )?
    } else {
        Vec::new()
    };
    warn_if_few(e.n, &cal.count(e.n), "the one-step table");
    if horizons.len() < wanted {
        warn(&format!(
            "horizons {}..{wanted} cannot be scored: only {} held out; the horizon table stops at {}",
            horizons.len() + 1,
            cal.count(e.n),
            horizons.len()
        ));
    }
    if let Some(last) = horizons.last().filter(|h| h.origins < FEW && h.horizon > 1) {
        warn_if_few(
            last.origins,
            &format!("{} origin{}", last.origins, plural(last.origins)),
            &format!("horizon {}", last.horizon),
        );
    }
    let coverage = intervals(&args, meta, &forecaster, &series, start, scoring.mase_scale)?;
    let out = renderer(args.format).evaluation(&e, &horizons, coverage.as_ref())?;
    print(out.as_bytes())
}

/// The steps ahead scored by default, as far as the calibration reaches.
const STEPS: [usize; 2] = [1, 7];

/// The intervals' scores over the held-out part from `start`, when the model has a
/// calibration or the user asked for levels (an error then if it has none), with the MC
/// dropout intervals of `--samples` beside them (which a model without a calibration can
/// score alone).
fn intervals(
    args: &EvaluateArgs,
    meta: &Meta,
    forecaster: &Forecaster,
    series: &Series,
    start: usize,
    scale: f64,
) -> anyhow::Result<Option<Coverage>> {
    let sampling = sampling(args.samples, args.seed, meta, &args.source.model)?;
    let calibration = forecaster.calibration.as_ref();
    let levels = match (calibration, sampling) {
        (None, Some(_)) if args.interval.is_empty() => default_levels(),
        (None, Some(_)) => super::predict::levels(&args.interval),
        _ => interval_levels(&args.interval, meta, &args.source.model)?,
    };
    if levels.is_empty() || (calibration.is_none() && sampling.is_none()) {
        if !args.interval_steps.is_empty() {
            return Err(GrufError::model(
                &args.source.model,
                CalibrationError::Missing.to_string(),
            )
            .into());
        }
        return Ok(None);
    }
    let mut steps: Vec<usize> = match (args.interval_steps.is_empty(), calibration) {
        (true, Some(calibration)) => {
            // As far as every level is supported.
            let reach = calibration.reach(STEPS[STEPS.len() - 1], &levels);
            if reach < STEPS[STEPS.len() - 1] {
                note(&format!(
                    "intervals are scored up to {} ahead: further out, the validation part \
                     holds too few forecasts for every level (retrain with a larger \
                     --val-fraction)",
                    series.calendar.count(reach)
                ));
            }
            STEPS.iter().copied().filter(|&h| h <= reach).collect()
        }
        (true, None) => STEPS.to_vec(),
        (false, _) => args.interval_steps.iter().map(|&h| h as usize).collect(),
    };
    steps.sort_unstable();
    steps.dedup();
    let furthest = steps.last().copied().unwrap_or(1);
    if let Some(calibration) = calibration {
        calibration
            .check(furthest, &levels)
            .map_err(|e| GrufError::usage(format!("--interval: {e}")))?;
    }
    let coverage = crate::coverage::score_with(
        forecaster,
        series.into(),
        start..series.len(),
        &steps,
        &levels,
        scale,
        sampling,
    )?;
    Ok(Some(coverage))
}
