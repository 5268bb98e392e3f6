//! `gruf train`: load the panel (a plain CSV is a panel of one series), split each series
//! and fit its transform ([`Training`]), train one model on them all, score the held-out
//! parts, save. One path for one series and for many: only the report differs, a panel's
//! naming its series and pooling their scores.

use std::io::Write;

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::config::RunConfig;
use crate::evaluation::evaluate::PanelScores;
use crate::io::output::check_writable;
use crate::model::Backprop;
use crate::render::Table;
use crate::text::money;
use crate::train::progress::Reporter;

use super::training::{Scored, Training, TrainingSeries};
use super::{
    device, kept_epoch_words, network_lines, report_saved, resolve, run_training, trained_words,
    warn_if_few, NO_TEST, TRAIN_WORDS,
};

pub(super) fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (config, seed) = resolve(&args.options)?;
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let training = Training::load(&args.csv, config, quiet)?;
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: {}; {}{}, seed {seed}",
            training.describe(),
            training.config.model.describe(),
            backprop_words(&training.config)
        );
    }

    let device = device();
    crate::io::interrupt::watch(TRAIN_WORDS);
    let trained = run_training(
        &training.config,
        seed,
        &training.data(),
        &device,
        Reporter::new(quiet),
    )?;
    let interrupted = trained.interrupted;
    let Scored { checkpoint, pooled } =
        training.checkpoint(training.config.clone(), seed, trained, &device)?;
    checkpoint.save(&args.model)?;
    let out = match training.unnamed() {
        Some(one) => one_series(one, &checkpoint, &device)?,
        None => panel(&checkpoint, pooled.as_ref())?,
    };
    report_saved(out, &args.model, &checkpoint.meta, interrupted)
}

/// `, gradient through the last 48 of 168 steps` with `--backprop-steps` shorter than the
/// window; empty otherwise.
fn backprop_words(config: &RunConfig) -> String {
    let window = config.model.framing.window;
    match Backprop::from_steps(config.train.backprop_steps).first_step(window) {
        0 => String::new(),
        first => format!(
            ", gradient through the last {} of {window} steps",
            window - first
        ),
    }
}

/// The report on a model of one series: the validation RMSE beside the naive forecast's,
/// then the test part's evaluation.
pub(super) fn one_series(
    one: &TrainingSeries,
    checkpoint: &Checkpoint,
    device: &candle_core::Device,
) -> anyhow::Result<Vec<u8>> {
    let (series, split, featurizer) = (&one.named.loaded.series, &one.split, &one.featurizer);
    let cal = series.calendar;
    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let v = &series.values;
    // The naive forecast over the same targets as the validation RMSE: every step of the
    // horizon from each validation origin.
    let k = meta.model().framing.horizon;
    let origins = featurizer.within(&split.val);
    let naive_val_se: f64 = origins
        .clone()
        .flat_map(|t| (0..k).map(move |j| (v[t + j] - v[t - 1]).powi(2)))
        .sum();
    let naive_val_rmse = (naive_val_se / (origins.len() * k) as f64).sqrt();
    let mut out = Vec::new();
    if meta.networks() == 1 {
        writeln!(
            out,
            "{}; kept {} (validation RMSE {}; naive forecast {})",
            trained_words(meta),
            kept_epoch_words(meta),
            money(best.val_rmse),
            money(naive_val_rmse)
        )?;
    } else {
        // The ensemble's validation error: its median forecast of every step of the
        // horizon from each validation origin, as each network's RMSE is measured.
        let forecaster = checkpoint.forecaster(device)?;
        let origins: Vec<usize> = origins.collect();
        let paths = forecaster.paths(series, &origins, k)?;
        let se: f64 = (origins.iter().zip(&paths))
            .flat_map(|(&t, path)| {
                path.iter()
                    .enumerate()
                    .map(move |(j, p)| (p - v[t + j]).powi(2))
            })
            .sum();
        let rmse = (se / (origins.len() * k) as f64).sqrt();
        writeln!(
            out,
            "{}; validation RMSE of their median {} (naive forecast {})",
            trained_words(meta),
            money(rmse),
            money(naive_val_rmse)
        )?;
        network_lines(&mut out, meta, |r| {
            format!("validation RMSE {}", money(r.val_rmse))
        })?;
    }
    match &meta.test {
        Some(test) => {
            out.extend(Table.one_evaluation(test, &[], None).into_bytes());
            warn_if_few(test.n, &cal.count(test.n), "the test table");
        }
        None => writeln!(out, "{NO_TEST}")?,
    }
    Ok(out)
}

/// The report on a model of a named panel: the validation loss, then the held-out parts
/// pooled over the series.
pub(super) fn panel(
    checkpoint: &Checkpoint,
    pooled: Option<&PanelScores>,
) -> anyhow::Result<Vec<u8>> {
    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let mut out = Vec::new();
    if meta.networks() == 1 {
        writeln!(
            out,
            "{} on {} series; kept {} (validation loss {:.6})",
            trained_words(meta),
            meta.series.len(),
            kept_epoch_words(meta),
            best.val_loss,
        )?;
    } else {
        writeln!(
            out,
            "{} on {} series; forecasts are their median",
            trained_words(meta),
            meta.series.len(),
        )?;
        network_lines(&mut out, meta, |r| {
            format!("validation loss {:.6}", r.val_loss)
        })?;
    }
    match pooled {
        Some(scores) => out.extend(crate::render::table::pooled(scores, "series").into_bytes()),
        None => writeln!(out, "{NO_TEST}")?,
    }
    Ok(out)
}
