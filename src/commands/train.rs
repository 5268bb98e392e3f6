//! `gruf train`: load, split, fit the transform, train, score the test part, save.

use std::io::Write;

use crate::cli::TrainArgs;
use crate::evaluate::money;
use crate::output::check_writable;
use crate::progress::Reporter;
use crate::render::Table;

use super::single::Single;
use super::{
    device, kept_epoch_words, network_lines, report_saved, resolve, run_training, trained_words,
    warn_if_few, NO_TEST, TRAIN_WORDS,
};

pub(super) fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (config, seed) = resolve(&args.options)?;
    let csv = match args.csv.as_slice() {
        [csv] if config.data.id_column.is_none() => csv,
        _ => return super::global::train(&args, config, seed),
    };
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let single = Single::load(csv, config, quiet)?;
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: {}; {}, seed {seed}",
            single.describe(),
            single.config.model.describe()
        );
    }

    let device = device();
    crate::interrupt::watch(TRAIN_WORDS);
    let trained = run_training(
        &single.config,
        seed,
        &[single.data()],
        &device,
        Reporter::new(quiet),
    )?;
    let interrupted = trained.interrupted;
    let checkpoint = single.checkpoint(single.config.clone(), seed, trained, &device)?;
    checkpoint.save(&args.model)?;
    let forecaster = checkpoint.forecaster(&device)?;
    let Single {
        series,
        split,
        featurizer,
        ..
    } = single;
    let cal = series.calendar;

    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let v = &series.values;
    // The naive forecast over the same targets as the validation RMSE: every step of the
    // horizon from each validation origin.
    let k = meta.model().horizon;
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
        let origins: Vec<usize> = origins.collect();
        let paths = forecaster.paths(&series, &origins, k)?;
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
    report_saved(out, &args.model, meta, interrupted)
}
