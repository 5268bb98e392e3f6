//! `gruf backtest`: walk-forward folds over the last `--test-size` values of every series of
//! a panel, on an expanding window. A plain CSV is a panel of one unnamed series;
//! `--id-column` or several `--csv` files a panel of many. Each fold retrains one network on
//! every series' history before the fold (each series' transform refitted on its own history
//! only), calibrates it on every series' validation part, and scores each series' fold as
//! `evaluate` scores a held-out part (one-step errors, errors by horizon, calibrated
//! intervals), pooled over the series of a panel.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::cli::BacktestArgs;
use crate::config::RunConfig;
use crate::error::GrufError;
use crate::evaluation::backtest::{fold_bounds, Fold, SeriesFold, Summary};
use crate::evaluation::coverage::Coverage;
use crate::evaluation::evaluate::SeriesScores;
use crate::features::Columns;
use crate::forecast::Forecaster;
use crate::intervals::Level;
use crate::io::output::print;
use crate::scores::{naive_scale, season_before, season_left_out, Scoring};
use crate::series::dates::format_time;
use crate::series::panel::{Panel, PanelSeries};
use crate::series::Series;
use crate::text::{name_some, plural};
use crate::train::prepare::{self, Prepared};
use crate::train::progress::Reporter;
use crate::train::TrainData;

use super::held_out::Span;
use super::training::Checked;
use super::NAMED;
use super::{device, note, renderer, resolve, run_training, season_for, warn, whose};

/// A series of the panel long enough to backtest: its folds and its seasonal baseline.
struct BacktestSeries<'a> {
    named: &'a PanelSeries,
    /// The file messages name: as given for a plain CSV, else the series' own.
    file: &'a Path,
    /// Its folds, in time order.
    bounds: Vec<Range<usize>>,
    /// One seasonal baseline for every fold, or none when a season of history does not
    /// come before the first fold.
    season: Option<usize>,
}

impl BacktestSeries<'_> {
    fn series(&self) -> &Series {
        &self.named.loaded.series
    }

    /// The series' history before fold `i`: an expanding window. Covariates run on past
    /// the fold's end; nothing reads them there.
    fn history(&self, i: usize) -> Columns<'_> {
        Columns::from(self.series()).before(self.bounds[i].end)
    }
}

/// A kept series' forecaster for the folds of the last model trained (its networks, the
/// transforms fitted on the series' history, the calibration shared by every series) and
/// the series' training end; `None` when the series could not be fitted before that fold.
type Fitted = Vec<Option<(Forecaster, usize)>>;

pub(super) fn run(args: BacktestArgs) -> anyhow::Result<()> {
    let (config, seed) = resolve(&args.options)?;
    let quiet = args.options.quiet;
    let panel = Checked::load(&args.csv, &config, quiet)?.into_panel();
    let named = panel.series.iter().any(|n| !n.id.is_empty());
    let span = config.train.test_days;
    let folds = args.folds as usize;
    if span < folds {
        return Err(GrufError::usage(format!(
            "--test-size {span} cannot be cut into {folds} folds; pass a larger --test-size or fewer --folds"
        ))
        .into());
    }
    let kept = keep(&panel, &config, span, folds)?;
    if !quiet {
        let every = if args.refit_every == 1 {
            "fold".to_string()
        } else {
            format!("{} folds", args.refit_every)
        };
        if named {
            crate::eprintln_lossy!(
                "gruf: backtest of one global model over {} series: the last {span} values of each in {folds} fold{}, retraining every {every}; seed {seed}",
                kept.len(),
                plural(folds),
            );
        } else {
            let series = kept[0].series();
            let daily = series.is_daily();
            crate::eprintln_lossy!(
                "gruf: backtest over {} to {} ({}), {folds} fold{}, retraining every {every}; seed {seed}",
                format_time(series.dates[kept[0].bounds[0].start], daily),
                format_time(series.dates[series.len() - 1], daily),
                series.calendar.count(span),
                plural(folds),
            );
        }
    }

    let mut trainer = Trainer {
        config,
        seed,
        panel: &panel,
        kept: &kept,
        folds,
        device: device(),
        quiet,
    };
    // Levels asked for are refused in a fold that cannot give them; the default ones are
    // left out there (said once).
    let mut levels_note = false;
    let mut results = Vec::with_capacity(folds);
    let mut current: Option<Fitted> = None;
    crate::io::interrupt::watch(BACKTEST_WORDS);
    for i in 0..folds {
        if crate::io::interrupt::requested().is_some() {
            break;
        }
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            match trainer.train(i)? {
                Some(fitted) => current = Some(fitted),
                None => break,
            }
        }
        let Some(fitted) = &current else {
            unreachable!("a model was trained above")
        };
        let mut scored = Vec::with_capacity(kept.len());
        for (s, fit) in kept.iter().zip(fitted) {
            let Some((forecaster, fit_end)) = fit else {
                continue;
            };
            let series = s.series();
            let history = forecaster.lookback();
            let (start, end) = (s.bounds[i].start.max(history), s.bounds[i].end);
            if start >= end {
                if named {
                    continue;
                }
                return Err(GrufError::data(
                    s.file,
                    format!(
                        "fold {} has nothing to score: each fold needs more than the model's {} of history; pass fewer --folds or a larger --test-size",
                        i + 1,
                        series.calendar.count(history)
                    ),
                )
                .into());
            }
            let fold = score_fold(
                s,
                forecaster,
                *fit_end,
                start..end,
                &args.interval,
                &mut levels_note,
            )?;
            scored.push(fold);
        }
        let Some(fold) = Fold::new(i + 1, refit, scored) else {
            return Err(GrufError::data(
                &panel.provenance.path,
                format!(
                    "fold {} has nothing to score: each fold needs more history than the model's input; pass fewer --folds or a larger --test-size",
                    i + 1
                ),
            )
            .into());
        };
        results.push(fold);
    }
    let finished = results.len();
    if finished == 0 {
        return Err(no_fold_finished(folds).into());
    }
    let report = Summary::new(results);
    let out = renderer(args.format).backtest(&report)?;
    finish_folds(args.format, out, finished, folds)
}

/// The series long enough for the span, each with its folds and seasonal baseline. A value
/// its transform cannot take is an error naming the series; a series of a panel shorter
/// than the span is left out by name (the one series of a plain CSV is refused).
fn keep<'a>(
    panel: &'a Panel,
    config: &RunConfig,
    span: usize,
    folds: usize,
) -> anyhow::Result<Vec<BacktestSeries<'a>>> {
    let mut kept = Vec::with_capacity(panel.series.len());
    let mut short: Vec<&str> = Vec::new();
    let mut left_out = Vec::new();
    for named in &panel.series {
        let series = &named.loaded.series;
        let file = match named.id.as_str() {
            "" => panel.provenance.path.as_path(),
            _ => named.path(),
        };
        let Ok(bounds) = fold_bounds(series.len(), span, folds) else {
            if named.id.is_empty() {
                return Err(GrufError::data(
                    file,
                    format!(
                        "{} rows, fewer than the {} to backtest on",
                        series.len(),
                        series.calendar.count(span)
                    ),
                )
                .into());
            }
            short.push(&named.id);
            continue;
        };
        let configured = season_for(None, config.data.season, series);
        let first = bounds[0].start;
        let season = season_before(configured, first);
        if let (Some(m), None) = (configured, season) {
            left_out.push((
                named.id.as_str(),
                season_left_out(m, first, series.calendar),
            ));
        }
        kept.push(BacktestSeries {
            named,
            file,
            bounds,
            season,
        });
    }
    if !short.is_empty() {
        let longest = (panel.series.iter()).map(|n| n.loaded.series.len()).max();
        if kept.is_empty() {
            return Err(GrufError::data(
                &panel.provenance.path,
                format!(
                    "every series is shorter than the {span} values to backtest on (the longest has {} rows); pass a smaller --test-size",
                    longest.unwrap_or(0)
                ),
            )
            .into());
        }
        warn(&format!(
            "left out {} series of {}, shorter than the {span} values to backtest on: {}",
            short.len(),
            panel.series.len(),
            name_some(&short, NAMED)
        ));
    }
    if let Some((id, why)) = left_out.first() {
        note(&match left_out.len() {
            1 => format!("{}{why}", whose(id)),
            n => format!("{n} series (first '{id}'): {why}"),
        });
    }
    Ok(kept)
}

/// What every fold's training shares: the run's settings, the panel and its kept series.
struct Trainer<'a> {
    /// The resolved configuration; `model.input_width` is set by each fold's transforms.
    config: RunConfig,
    seed: u64,
    panel: &'a Panel,
    kept: &'a [BacktestSeries<'a>],
    folds: usize,
    device: candle_core::Device,
    quiet: bool,
}

impl Trainer<'_> {
    /// Trains fold `i`'s network on every kept series' history before the fold and
    /// calibrates it on their validation parts; `None` when a signal stopped the training.
    /// A series too short to train on before the fold is left out of it by name (the one
    /// series of a plain CSV is refused, as is a fold no series can be trained for).
    fn train(&mut self, i: usize) -> anyhow::Result<Option<Fitted>> {
        let Trainer {
            config,
            seed,
            panel,
            kept,
            folds,
            device,
            quiet,
        } = self;
        let (seed, kept, folds, device, quiet) = (*seed, *kept, *folds, &*device, *quiet);
        let mut prepared: Vec<Option<Prepared>> = Vec::with_capacity(kept.len());
        let mut unfit: Vec<(&str, String)> = Vec::new();
        for s in kept {
            let fold = &s.bounds[i];
            match prepare::prepare(config, s.history(i), fold.end - fold.start) {
                Ok(p) => prepared.push(Some(p)),
                Err(why) => {
                    unfit.push((&s.named.id, why.to_string()));
                    prepared.push(None);
                }
            }
        }
        let Some(first) = prepared.iter().flatten().next() else {
            let (id, why) = &unfit[0];
            let msg = if id.is_empty() {
                format!("fold {}: {why}", i + 1)
            } else {
                format!(
                    "fold {}: no series is long enough to train on before it (series '{id}': {why})",
                    i + 1
                )
            };
            return Err(GrufError::data(&panel.provenance.path, msg).into());
        };
        if !unfit.is_empty() {
            let ids: Vec<&str> = unfit.iter().map(|(id, _)| *id).collect();
            warn(&format!(
                "fold {}: left out {} series too short to train on before the fold: {}",
                i + 1,
                unfit.len(),
                name_some(&ids, NAMED)
            ));
        }
        // The network's input width is the featurizer's: the price, then each covariate.
        config.model.input_width = first.featurizer.features();
        let data: Vec<TrainData<'_>> = (kept.iter().zip(&prepared))
            .filter_map(|(s, p)| {
                let p = p.as_ref()?;
                Some(TrainData {
                    values: s.history(i),
                    featurizer: &p.featurizer,
                    split: &p.split,
                })
            })
            .collect();
        if !quiet {
            match data.as_slice() {
                [one] if kept[0].named.id.is_empty() => crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} values",
                    i + 1,
                    one.split.fit_end()
                ),
                _ => crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} series",
                    i + 1,
                    data.len()
                ),
            }
        }
        let trained = run_training(config, seed, &data, device, Reporter::new(quiet))?;
        if trained.interrupted.is_some() {
            return Ok(None);
        }
        let models = fold_networks(config, &trained)?;
        // Each series' forecaster, then one calibration on every series' validation part.
        let forecasters: Vec<Option<(Forecaster, usize, Range<usize>)>> = prepared
            .into_iter()
            .map(|p| {
                p.map(|Prepared { split, featurizer }| {
                    let forecaster =
                        Forecaster::ensemble(models.clone(), featurizer, device.clone())?;
                    Ok((forecaster, split.fit_end(), split.val))
                })
                .transpose()
            })
            .collect::<anyhow::Result<_>>()?;
        let parts: Vec<crate::forecast::calibrate::Validation<'_>> =
            (kept.iter().zip(&forecasters))
                .filter_map(|(s, f)| {
                    let (forecaster, _, val) = f.as_ref()?;
                    Some(crate::forecast::calibrate::Validation {
                        columns: s.history(i),
                        forecaster,
                        val: val.clone(),
                    })
                })
                .collect();
        let calibration =
            crate::forecast::calibrate::calibrate(&parts, &config.model.framing)?.map(Arc::new);
        drop(parts);
        Ok(Some(
            (forecasters.into_iter())
                .map(|f| {
                    f.map(|(forecaster, fit_end, _)| {
                        Ok((forecaster.calibrated(calibration.clone())?, fit_end))
                    })
                    .transpose()
                })
                .collect::<anyhow::Result<_>>()?,
        ))
    }
}

/// Scores series `s`' fold `span` (from its first target with enough history) with
/// `forecaster`, trained on the series' values before `fit_end`: one-step errors, the fold
/// forecast in one go from its start, errors by horizon for a model that predicts K > 1
/// steps, and the calibrated intervals.
fn score_fold(
    s: &BacktestSeries<'_>,
    forecaster: &Forecaster,
    fit_end: usize,
    span: Range<usize>,
    asked: &[Level],
    noted: &mut bool,
) -> anyhow::Result<SeriesFold> {
    let series = s.series();
    let mase_scale = naive_scale(&series.values[..fit_end]);
    let scoring = Scoring {
        mase_scale,
        season: s.season,
        held_out: true,
    };
    let one_step =
        crate::evaluation::evaluate::evaluate(forecaster, series, span.clone(), scoring)?;
    let part = Span {
        id: &s.named.id,
        origin: span.start,
        end: span.end,
        mase_scale,
        season: s.season,
    };
    let ahead = Some(part.in_one_go(forecaster, series)?.ahead);
    // A model that predicts K > 1 steps at once is scored at every one of them, from
    // each origin of the fold (targets past the fold's end are still in the data).
    let k = forecaster.featurizer().horizon;
    let horizons = if k > 1 {
        crate::evaluation::evaluate::horizon_errors(forecaster, series, span.clone(), k, s.season)?
    } else {
        Vec::new()
    };
    let intervals = fold_intervals(forecaster, series, span, asked, noted, mase_scale)?;
    Ok(SeriesFold {
        trained_to: series
            .zone
            .iso(series.dates[fit_end - 1], series.is_daily()),
        scores: SeriesScores {
            id: s.named.id.clone(),
            seen: true,
            one_step,
            ahead,
            horizons,
            mase_scale,
            intervals,
        },
    })
}

/// What `backtest` says on a first and a later stopping signal.
const BACKTEST_WORDS: crate::io::interrupt::Words = crate::io::interrupt::Words {
    stopping: "finishing this batch, then printing the folds finished so far",
    exiting: "nothing was printed",
};

/// The error that ends a backtest a signal stopped before its first fold finished.
fn no_fold_finished(folds: usize) -> GrufError {
    super::stopped(format!(
        "backtest interrupted in fold 1 of {folds}, before any fold finished; nothing to show"
    ))
}

/// Prints a backtest's report of its `finished` folds of `folds`; when a signal stopped it
/// before the last, marked partial, and then the error that sets the exit code.
fn finish_folds(
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

/// The fold's calibrated intervals over `span` at the levels `asked` (none: 80 and 95 %,
/// those the fold's calibration supports one step ahead, with a note once if one is left
/// out), 1 and 7 steps ahead as far as the calibration reaches.
fn fold_intervals(
    forecaster: &Forecaster,
    series: &crate::series::Series,
    span: std::ops::Range<usize>,
    asked: &[Level],
    noted: &mut bool,
    scale: f64,
) -> anyhow::Result<Option<Coverage>> {
    let Some(calibration) = forecaster.calibration() else {
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
    let (steps, _) = super::interval_steps(calibration, &levels);
    let coverage = crate::evaluation::coverage::score(
        forecaster,
        series.into(),
        span,
        &steps,
        &levels,
        scale,
    )?;
    Ok(Some(coverage))
}

/// The networks a backtest fold trained.
fn fold_networks(
    config: &crate::config::RunConfig,
    trained: &crate::train::Ensemble,
) -> anyhow::Result<Vec<crate::model::Model>> {
    Ok((trained.networks.iter())
        .map(|n| crate::model::Model::new(&config.model.network, &config.model.io(), &n.weights))
        .collect::<candle_core::Result<_>>()?)
}
