//! `gruf backtest`: walk-forward folds on an expanding window, each scored like `evaluate`.

use std::sync::Arc;

use crate::backtest::{fold_bounds, Cut, Fold, Summary};
use crate::cli::BacktestArgs;
use crate::conformal;
use crate::coverage::Coverage;
use crate::data::{format_time, load_csv};
use crate::error::GrufError;
use crate::evaluate::{naive_scale, season_before, season_left_out, Scoring};
use crate::forecast::Forecaster;
use crate::interval::Level;
use crate::output::{plural, print};
use crate::pipeline::{self, Chosen, Prepared};
use crate::progress::Reporter;

use crate::train::TrainData;

use super::{device, note, renderer, report_loaded, resolve, run_training, season_for};

pub(super) fn run(args: BacktestArgs) -> anyhow::Result<()> {
    let (mut config, seed) = resolve(&args.options)?;
    if config.data.id_column.is_some() {
        return super::global::backtest(&args, config, seed);
    }
    let quiet = args.options.quiet;
    let csv = &args.csv;
    let loaded = load_csv(csv, &config.data)?;
    report_loaded(csv, &loaded, quiet);
    pipeline::check_values(
        config.model.transform,
        Chosen::ThisRun,
        &loaded.series,
        &loaded.lines,
    )
    .map_err(|m| GrufError::data(csv, m))?;
    let series = loaded.series;
    let cal = series.calendar;
    let span = config.train.test_days;
    let folds = args.folds as usize;
    let bounds = fold_bounds(series.len(), span, folds).map_err(|cut| -> anyhow::Error {
        match cut {
            Cut::TooManyFolds => GrufError::usage(format!(
                "--test-size {span} cannot be cut into {folds} folds; pass a larger --test-size or fewer --folds"
            ))
            .into(),
            Cut::SpanTooLong => GrufError::data(
                csv,
                format!(
                    "{} rows, fewer than the {} to backtest on",
                    series.len(),
                    cal.count(span)
                ),
            )
            .into(),
        }
    })?;
    let eval_start = bounds[0].start;
    let device = device();
    let daily = series.is_daily();
    // One seasonal baseline for every fold, or none when a season of history does not
    // come before the first fold.
    let configured = season_for(None, config.data.season, &series);
    let season = season_before(configured, eval_start);
    if let (Some(m), None) = (configured, season) {
        note(&season_left_out(m, eval_start, cal));
    }
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: backtest over {} to {} ({}), {folds} fold{}, retraining every {}; seed {seed}",
            format_time(series.dates[eval_start], daily),
            format_time(series.dates[series.len() - 1], daily),
            cal.count(span),
            plural(folds),
            if args.refit_every == 1 {
                "fold".to_string()
            } else {
                format!("{} folds", args.refit_every)
            }
        );
    }

    // Levels asked for are refused in a fold that cannot give them; the default ones are
    // left out there (said once).
    let levels = Some(args.interval.clone());
    let mut levels_note = false;
    let mut results = Vec::with_capacity(folds);
    let mut current: Option<(Forecaster, usize)> = None;
    crate::interrupt::watch(BACKTEST_WORDS);
    for (i, fold) in bounds.iter().enumerate() {
        if crate::interrupt::requested().is_some() {
            break;
        }
        let (start, end) = (fold.start, fold.end);
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            // Everything before the fold is history: an expanding window.
            // Covariates run on past `end`; nothing reads them there.
            let history = crate::features::Columns::from(&series).before(end);
            let Prepared { split, featurizer } =
                pipeline::prepare(&config, history, end - start)
                    .map_err(|m| GrufError::data(csv, format!("fold {}: {m}", i + 1)))?;
            // The network's input width is the featurizer's: the price, then each covariate.
            config.model.features = featurizer.features();
            if !quiet {
                crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} values",
                    i + 1,
                    split.fit_end()
                );
            }
            let trained = run_training(
                &config,
                seed,
                &[TrainData {
                    values: history,
                    featurizer: &featurizer,
                    split: &split,
                }],
                &device,
                Reporter::new(quiet),
            )?;
            if trained.interrupted.is_some() {
                break;
            }
            let mut forecaster = Forecaster {
                models: fold_networks(&config, &trained)?,
                featurizer,
                device: device.clone(),
                calibration: None,
            };
            let part = conformal::Part {
                columns: history,
                forecaster: &forecaster,
                val: split.val.clone(),
            };
            let calibration = conformal::calibrate(&[part], &config.model)?;
            forecaster.calibration = calibration.map(Arc::new);
            current = Some((forecaster, split.fit_end()));
        }
        let Some((forecaster, fit_end)) = &current else {
            unreachable!("a model was trained above")
        };
        let scoring = Scoring {
            mase_scale: naive_scale(&series.values[..*fit_end]),
            season,
            held_out: true,
        };
        let history = forecaster.lookback();
        let start = start.max(history);
        if start >= end {
            return Err(GrufError::data(
                csv,
                format!(
                    "fold {} has nothing to score: each fold needs more than the model's {} of history; pass fewer --folds or a larger --test-size",
                    i + 1,
                    cal.count(history)
                ),
            )
            .into());
        }
        let evaluation = crate::evaluate::evaluate(forecaster, &series, start..end, scoring)?;
        // A model that predicts K > 1 steps at once is scored at every one of them, from
        // each origin of the fold (targets past the fold's end are still in the data).
        let k = forecaster.featurizer.horizon;
        let horizons = if k > 1 {
            crate::evaluate::horizon_errors(forecaster, &series, start..end, k, season)?
        } else {
            Vec::new()
        };
        let intervals = match &levels {
            None => None,
            Some(asked) => fold_intervals(
                forecaster,
                &series,
                start..end,
                asked,
                &mut levels_note,
                scoring.mase_scale,
            )?,
        };
        results.push(Fold {
            fold: i + 1,
            trained_to: series.zone.iso(series.dates[*fit_end - 1], daily),
            refit,
            evaluation,
            horizons,
            intervals,
        });
    }
    let finished = results.len();
    if finished == 0 {
        return Err(no_fold_finished(folds).into());
    }
    let report = Summary::new(results);
    let out = renderer(args.format).backtest(&report)?;
    finish_folds(args.format, out, finished, folds)
}

/// What `backtest` says on a first and a later stopping signal.
pub(super) const BACKTEST_WORDS: crate::interrupt::Words = crate::interrupt::Words {
    stopping: "finishing this batch, then printing the folds finished so far",
    exiting: "nothing was printed",
};

/// The error that ends a backtest a signal stopped before its first fold finished.
pub(super) fn no_fold_finished(folds: usize) -> GrufError {
    super::stopped(format!(
        "backtest interrupted in fold 1 of {folds}, before any fold finished; nothing to show"
    ))
}

/// Prints a backtest's report of its `finished` folds of `folds`; when a signal stopped it
/// before the last, marked partial, and then the error that sets the exit code.
pub(super) fn finish_folds(
    format: crate::cli::Format,
    out: String,
    finished: usize,
    folds: usize,
) -> anyhow::Result<()> {
    if finished == folds {
        return print(out.as_bytes());
    }
    let what = format!("interrupted after fold {finished} of {folds}");
    print(super::mark_partial(format, out, &what).as_bytes())?;
    Err(super::stopped(format!(
        "backtest {what}; printed the {finished} finished fold{} (marked partial)",
        plural(finished)
    ))
    .into())
}

/// Steps ahead at which a fold's intervals are scored (those its calibration reaches).
const STEPS: [usize; 2] = [1, 7];

/// The fold's calibrated intervals over `span` at the levels `asked` (none: 80 and 95 %,
/// those the fold's calibration supports one step ahead, with a note once if one is left
/// out), 1 and 7 steps ahead as far as the calibration reaches.
fn fold_intervals(
    forecaster: &Forecaster,
    series: &crate::data::Series,
    span: std::ops::Range<usize>,
    asked: &[Level],
    noted: &mut bool,
    scale: f64,
) -> anyhow::Result<Option<Coverage>> {
    let Some(calibration) = &forecaster.calibration else {
        return Ok(None);
    };
    let levels = super::calibrated_levels(calibration, asked, |level, _| {
        if !*noted {
            *noted = true;
            super::note(&format!(
                "no {} % intervals in some folds: their validation parts hold too few forecasts (retrain with a larger --val-fraction)",
                level.label()
            ));
        }
    })?;
    if levels.is_empty() {
        return Ok(None);
    }
    let reach = calibration.reach(STEPS[STEPS.len() - 1], &levels);
    let steps: Vec<usize> = STEPS.iter().copied().filter(|&h| h <= reach).collect();
    let coverage = crate::coverage::score(forecaster, series.into(), span, &steps, &levels, scale)?;
    Ok(Some(coverage))
}

/// The networks a backtest fold trained.
pub(super) fn fold_networks(
    config: &crate::config::RunConfig,
    trained: &crate::train::Ensemble,
) -> anyhow::Result<Vec<crate::model::Model>> {
    Ok((trained.networks.iter())
        .map(|n| crate::model::Model::new(&config.model, &n.weights))
        .collect::<candle_core::Result<_>>()?)
}
