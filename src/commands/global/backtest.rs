//! `gruf backtest` for a global model (`--id-column`): walk-forward folds over the last
//! `--test-size` values of every series, on an expanding window. Each fold retrains one
//! network on every series' history before its fold (each series' transform refitted on
//! its own history only), then scores each series' fold as `evaluate` scores a held-out
//! part, pooled over the series.

use crate::backtest::{fold_bounds, PanelFold, PanelSummary};
use crate::cli::BacktestArgs;
use crate::config::RunConfig;
use crate::error::GrufError;
use crate::evaluate::{naive_scale, season_before};
use crate::features::{Columns, Featurizer};
use crate::forecast::Forecaster;
use crate::output::plural;
use crate::panel::{self, name_some, Named};
use crate::pipeline::{self, Prepared};
use crate::progress::Reporter;
use crate::train::TrainData;

use super::super::backtest::{finish_folds, fold_networks, no_fold_finished, BACKTEST_WORDS};
use super::super::{device, renderer, run_training, season_for, warn};
use super::{check_values, report_panel, Part, NAMED};

/// The last model trained and, per kept series, its transforms and training end (`None`:
/// the series could not be fitted on the history before that fold).
struct Fitted {
    models: Vec<crate::model::Model>,
    series: Vec<Option<(Featurizer, usize)>>,
}

pub(in crate::commands) fn run(
    args: &BacktestArgs,
    mut config: RunConfig,
    seed: u64,
) -> anyhow::Result<()> {
    let quiet = args.options.quiet;
    let panel = panel::load(std::slice::from_ref(&args.csv), &config.data)?;
    report_panel(&panel, quiet);
    let span = config.train.test_days;
    let folds = args.folds as usize;
    if span < folds {
        return Err(GrufError::usage(format!(
            "--test-size {span} cannot be cut into {folds} folds; pass a larger --test-size or fewer --folds"
        ))
        .into());
    }
    // Each series' folds; a series shorter than the span (or with a value its transform
    // cannot take) is left out by name.
    let mut kept: Vec<(&Named, Vec<std::ops::Range<usize>>)> = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();
    for named in &panel.series {
        check_values(&config, named)?;
        match fold_bounds(named.loaded.series.len(), span, folds) {
            Ok(bounds) => kept.push((named, bounds)),
            Err(_) => skipped.push(&named.id),
        }
    }
    if !skipped.is_empty() {
        warn(&format!(
            "left out {} series of {}, shorter than the {span} values to backtest on: {}",
            skipped.len(),
            panel.series.len(),
            name_some(&skipped, NAMED)
        ));
    }
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: backtest of one global model over {} series: the last {span} values of each in {folds} fold{}, retraining every {}; seed {seed}",
            kept.len(),
            plural(folds),
            if args.refit_every == 1 {
                "fold".to_string()
            } else {
                format!("{} folds", args.refit_every)
            }
        );
    }
    let device = device();
    let mut results = Vec::with_capacity(folds);
    let mut current: Option<Fitted> = None;
    crate::interrupt::watch(BACKTEST_WORDS);
    for i in 0..folds {
        if crate::interrupt::requested().is_some() {
            break;
        }
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            let mut prepared: Vec<Option<Prepared>> = Vec::with_capacity(kept.len());
            let mut unfit: Vec<&str> = Vec::new();
            for (named, bounds) in &kept {
                let fold = &bounds[i];
                let history = Columns::from(&named.loaded.series).before(fold.end);
                match pipeline::prepare(&config, history, fold.end - fold.start) {
                    Ok(p) => prepared.push(Some(p)),
                    Err(_) => {
                        unfit.push(&named.id);
                        prepared.push(None);
                    }
                }
            }
            if !unfit.is_empty() {
                warn(&format!(
                    "fold {}: left out {} series too short to train on before the fold: {}",
                    i + 1,
                    unfit.len(),
                    name_some(&unfit, NAMED)
                ));
            }
            let data: Vec<TrainData<'_>> = (kept.iter().zip(&prepared))
                .filter_map(|((named, bounds), p)| {
                    let p = p.as_ref()?;
                    Some(TrainData {
                        values: Columns::from(&named.loaded.series).before(bounds[i].end),
                        featurizer: &p.featurizer,
                        split: &p.split,
                    })
                })
                .collect();
            let Some(first) = data.first() else {
                return Err(GrufError::data(
                    &panel.provenance.path,
                    format!(
                        "fold {}: no series is long enough to train on before it",
                        i + 1
                    ),
                )
                .into());
            };
            config.model.features = first.featurizer.features();
            if !quiet {
                crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} series",
                    i + 1,
                    data.len()
                );
            }
            let trained = run_training(&config, seed, &data, &device, Reporter::new(quiet))?;
            if trained.interrupted.is_some() {
                break;
            }
            let models = fold_networks(&config, &trained)?;
            let fitted = prepared
                .into_iter()
                .map(|p| p.map(|p| (p.featurizer, p.split.fit_end())))
                .collect();
            current = Some(Fitted {
                models,
                series: fitted,
            });
        }
        let Some(Fitted {
            models,
            series: fitted,
        }) = &current
        else {
            unreachable!("a model was trained above")
        };
        let mut scores = Vec::with_capacity(kept.len());
        for ((named, bounds), fit) in kept.iter().zip(fitted) {
            let Some((featurizer, fit_end)) = fit else {
                continue;
            };
            let series = &named.loaded.series;
            let part = Part {
                id: &named.id,
                origin: bounds[i].start,
                end: bounds[i].end,
                mase_scale: naive_scale(&series.values[..*fit_end]),
                // As in every fold: none when a season does not fit before the first.
                season: season_before(
                    season_for(None, config.data.season, series),
                    bounds[0].start,
                ),
            };
            let forecaster = Forecaster {
                models: models.clone(),
                featurizer: featurizer.clone(),
                device: device.clone(),
                calibration: None,
            };
            if part.first_target().max(forecaster.lookback()) < part.end {
                scores.push(part.score(&forecaster, series)?);
            }
        }
        let Some(scores) = crate::evaluate::PanelScores::new(scores) else {
            return Err(GrufError::data(
                &panel.provenance.path,
                format!(
                    "fold {} has nothing to score: each fold needs more history than the model's input; pass fewer --folds or a larger --test-size",
                    i + 1
                ),
            )
            .into());
        };
        results.push(PanelFold {
            fold: i + 1,
            refit,
            scores,
        });
    }
    let finished = results.len();
    let Some(summary) = PanelSummary::new(results) else {
        return Err(no_fold_finished(folds).into());
    };
    let out = renderer(args.format).panel_backtest(&summary)?;
    finish_folds(args.format, out, finished, folds)
}
