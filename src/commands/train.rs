//! `gruf train`: load, split, fit the transform, train, score the test part, save.

use std::io::Write;

use crate::checkpoint::{Checkpoint, Member};
use crate::cli::TrainArgs;
use crate::data::{first_non_positive, load_csv, Loaded};
use crate::error::GrufError;
use crate::evaluate::{money, naive_scale, Scoring};
use crate::output::{check_writable, plural};
use crate::pipeline::{self, Chosen, Prepared};
use crate::render::{Renderer, Table};
use crate::scaler::Scaler;
use crate::train::TrainData;

use super::{
    device, network_lines, report_loaded, report_saved, resolve, run_training, season_for,
    trained_words, warn, warn_if_few, NO_TEST,
};

pub(super) fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (mut config, seed) = resolve(&args.options)?;
    let csv = match args.csv.as_slice() {
        [csv] if config.data.id_column.is_none() => csv,
        _ => return super::global::train(&args, config, seed),
    };
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let loaded = load_csv(csv, &config.data)?;
    report_loaded(csv, &loaded, quiet);
    let Loaded {
        series,
        provenance,
        lines,
        ..
    } = loaded;
    let cal = series.calendar;
    pipeline::check_values(config.model.transform, Chosen::ThisRun, &series, &lines)
        .map_err(|m| GrufError::data(csv, m))?;

    let Prepared { split, featurizer } =
        pipeline::prepare(&config, &series, config.train.test_days)
            .map_err(|m| GrufError::data(csv, m))?;
    // The network's input width is the featurizer's: the price, then each covariate.
    config.model.features = featurizer.features();
    let scaler = featurizer.scaler;
    if let (Some((outside, furthest)), Scaler::Minmax { min, max }) =
        (scaler.outside(&series.values[split.fit_end()..]), scaler)
    {
        // The scale-free alternative that suits the values: `window` needs positive ones.
        let instead = if first_non_positive(&series.values).is_some() {
            "diff"
        } else {
            "window"
        };
        warn(&format!(
            "{outside} validation/test values lie outside the training range {} to {} (furthest {}); \
             min-max scaling extrapolates there and forecasts degrade (try --transform {instead})",
            money(min),
            money(max),
            money(furthest)
        ));
    }
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: {} rows {} to {} ({}): {} training window{}, {} validation, {} held out for testing; {}, seed {seed}",
            series.len(),
            provenance.first_date,
            provenance.last_date,
            cal.describe(),
            split.train.len(),
            plural(split.train.len()),
            split.val.len(),
            cal.count(split.test.len()),
            config.model.describe(),
        );
    }

    let device = device();
    let data = TrainData {
        values: (&series).into(),
        featurizer: &featurizer,
        split: &split,
    };
    let trained = run_training(&config, seed, &[data], &device, quiet)?;
    let interrupted = trained.interrupted;
    let scoring = Scoring {
        mase_scale: naive_scale(&series.values[..split.fit_end()]),
        season: season_for(None, config.data.season, &series),
        held_out: true,
    };

    let member = Member {
        id: String::new(),
        scaler,
        inputs: featurizer.inputs.clone(),
        split: split.clone(),
        mase_scale: Some(scoring.mase_scale),
        file: None,
        held_out_from: None,
    };
    let mut checkpoint = Checkpoint::trained(config, seed, vec![member], provenance, trained);
    let forecaster = checkpoint.forecaster(&device)?;
    let first = split.test.start.max(scoring.first_target());
    if first < split.test.end {
        let evaluation =
            crate::evaluate::evaluate(&forecaster, &series, first..split.test.end, scoring)?;
        checkpoint.meta.test = Some(evaluation);
    }
    checkpoint.save(&args.model)?;

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
            "{}; kept epoch {} (validation RMSE {}; naive forecast {})",
            trained_words(meta),
            meta.best_epoch,
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
            out.extend(Table.evaluation(test, &[])?.into_bytes());
            warn_if_few(test.n, &cal.count(test.n), "the test table");
        }
        None => writeln!(out, "{NO_TEST}")?,
    }
    report_saved(out, &args.model, meta, interrupted)
}
