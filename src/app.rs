//! The subcommands: resolve the parsed flags, run the library pipeline, print results.
//!
//! Results go to stdout, progress and warnings to stderr. Nothing is written unless the
//! command succeeds: models, plots and samples are written atomically at the very end.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use candle_core::Device;

use crate::checkpoint::Meta as CheckpointMeta;
use crate::checkpoint::{Checkpoint, Meta, FORMAT, FORMAT_VERSION};
use crate::cli::{
    BacktestArgs, Command, EvaluateArgs, Format, PlotArgs, PredictArgs, SampleArgs, Source,
    TrainArgs, TrainOptions,
};
use crate::config::{check_season, PartialConfig, RunConfig};
use crate::data::{
    format_iso, format_time, human_date, load_csv, parse_date, DataConfig, Loaded, Series,
};
use crate::error::GrufError;
use crate::evaluate::{self, money, naive_scale, Evaluation, HorizonError, Scoring, FEW};
use crate::forecast::Predictor;
use crate::loss::Loss;
use crate::output::{check_writable, print, write_atomic};
use crate::pipeline::{self, Prepared};
use crate::plot::{self, Line, PlotData};
use crate::progress::Reporter;
use crate::scaler::Scaler;
use crate::synth::{self, SampleConfig};
use crate::train::{self, Flow};

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train(args) => train_cmd(args),
        Command::Predict(args) => predict_cmd(args),
        Command::Plot(args) => plot_cmd(args),
        Command::Evaluate(args) => evaluate_cmd(args),
        Command::Backtest(args) => backtest_cmd(args),
        Command::Sample(args) => sample_cmd(args),
        Command::Completions(args) => completions_cmd(args),
    }
}

/// The device models run on: the first CUDA GPU in a `cuda` build when one is present.
pub fn device() -> Device {
    Device::cuda_if_available(0).unwrap_or(Device::Cpu)
}

fn warn(msg: &str) {
    crate::eprintln_lossy!("gruf: warning: {msg}");
}

/// Information, not a problem: hidden by `--quiet`.
fn note(msg: &str) {
    crate::eprintln_lossy!("gruf: note: {msg}");
}

/// "s" unless `n` is 1.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What loading found: warnings always, information unless `quiet`.
fn report_loaded(csv: &std::path::Path, loaded: &Loaded, quiet: bool) {
    for n in &loaded.notes {
        warn(&format!("{}: {n}", csv.display()));
    }
    if !quiet {
        for n in &loaded.info {
            note(&format!("{}: {n}", csv.display()));
        }
    }
}

/// The seasonal period to score with: the flag, else the stored or configured one, else the
/// calendar's usual one.
fn season_for(flag: Option<usize>, configured: Option<usize>, series: &Series) -> Option<usize> {
    flag.or(configured).or_else(|| series.calendar.season())
}

fn resolve(args: &TrainOptions) -> Result<RunConfig, GrufError> {
    let mut config = RunConfig::default();
    if let Some(path) = &args.config {
        PartialConfig::from_file(path)?.apply(&mut config);
    }
    args.overrides().apply(&mut config);
    config.validate()?;
    Ok(config)
}

fn train_cmd(args: TrainArgs) -> anyhow::Result<()> {
    let mut config = resolve(&args.options)?;
    let quiet = args.options.quiet;
    check_writable(&args.model)?;
    let seed = config.train.seed.unwrap_or_else(random_seed);
    config.train.seed = Some(seed);
    let loaded = load_csv(&args.csv, &config.data)?;
    report_loaded(&args.csv, &loaded, quiet);
    let Loaded {
        series, provenance, ..
    } = loaded;
    let csv = &args.csv;
    let cal = series.calendar;

    let Prepared { split, scaler } =
        pipeline::prepare(&config, &series.values, config.train.test_days)
            .map_err(|m| GrufError::data(csv, m))?;
    if let (Some((outside, highest)), Scaler::Minmax { min, max }) =
        (scaler.outside(&series.values[split.fit_end()..]), scaler)
    {
        warn(&format!(
            "{outside} validation/test values lie outside the training range {}..{} (highest {}); \
             min-max scaling extrapolates there and forecasts degrade (try --transform window)",
            money(min),
            money(max),
            money(highest)
        ));
    }
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: {} rows {} to {} ({}): {} training window{}, {} validation, {} held out for testing; seed {seed}",
            series.len(),
            provenance.first_date,
            provenance.last_date,
            cal.describe(),
            split.train.len(),
            plural(split.train.len()),
            split.val.len(),
            cal.count(split.test.len()),
        );
    }

    let device = device();
    let outcome = run_training(
        &config,
        seed,
        &series.values,
        &scaler,
        &split,
        &device,
        quiet,
    )?;
    let interrupted = outcome.interrupted;
    let scoring = Scoring {
        mase_scale: naive_scale(&series.values[..split.fit_end()]),
        season: season_for(None, config.data.season, &series),
        held_out: true,
    };

    let mut checkpoint = Checkpoint {
        meta: Meta {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            gruf_version: env!("CARGO_PKG_VERSION").into(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            config,
            seed,
            scaler,
            data: provenance,
            split: split.clone(),
            history: outcome.history,
            best_epoch: outcome.best_epoch,
            stopped_early: outcome.stopped_early,
            interrupted,
            test: None,
            mase_scale: Some(scoring.mase_scale),
        },
        weights: outcome.weights,
    };
    let first = split.test.start.max(scoring.first_target());
    if first < split.test.end {
        let predictor = checkpoint.predictor(&device)?;
        let evaluation = evaluate::evaluate(&predictor, &series, first..split.test.end, scoring)?;
        checkpoint.meta.test = Some(evaluation);
    }
    checkpoint.save(&args.model)?;

    let meta = &checkpoint.meta;
    let best = &meta.history[meta.best_epoch - 1];
    let v = &series.values;
    let naive_val_se: f64 = split.val.clone().map(|t| (v[t] - v[t - 1]).powi(2)).sum();
    let naive_val_rmse = (naive_val_se / split.val.len() as f64).sqrt();
    let mut out = Vec::new();
    writeln!(
        out,
        "trained {} epoch{}{} in {:.1} s; kept epoch {} (validation RMSE {}; naive forecast {})",
        meta.history.len(),
        plural(meta.history.len()),
        if meta.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        meta.history.iter().map(|r| r.seconds).sum::<f64>(),
        meta.best_epoch,
        money(best.val_rmse),
        money(naive_val_rmse)
    )?;
    match &meta.test {
        Some(test) => {
            write!(out, "{}\n{}", test.verdict(), test.table())?;
            warn_if_few(test.n, &cal.count(test.n), "the test table");
        }
        None => writeln!(
            out,
            "no test part (--test-size 0): nothing was held out to measure accuracy on"
        )?,
    }
    writeln!(out, "saved model to {}", args.model.display())?;
    print(&out)?;
    if let Some((epoch, batch)) = interrupted {
        return Err(GrufError::Interrupted(format!(
            "interrupted at epoch {epoch}, batch {batch}; saved the best model so far (epoch {}) to {}",
            meta.best_epoch,
            args.model.display()
        ))
        .into());
    }
    Ok(())
}

/// Says when a table of errors rests on too few targets or origins to mean much.
fn warn_if_few(n: usize, what: &str, table: &str) {
    if n < FEW {
        warn(&format!(
            "{table} rests on only {what}; errors over so few are mostly noise (hold out more with --test-size, or pass a longer --csv)"
        ));
    }
}

/// The training loop with progress on stderr and Ctrl-C handling: the first Ctrl-C stops
/// after the current batch (the outcome says where), the second exits at once. Writes are
/// atomic, so an exit at any moment leaves the previous model file whole.
fn run_training(
    config: &RunConfig,
    seed: u64,
    values: &[f64],
    scaler: &Scaler,
    split: &crate::window::Split,
    device: &Device,
    quiet: bool,
) -> anyhow::Result<train::Outcome> {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let handler = || {
            if STOP.swap(true, Ordering::SeqCst) {
                crate::eprintln_lossy!(
                    "\ngruf: interrupted again: exiting now; the model file is whole \
                     (the previous one, or this run's if its save had just finished)"
                );
                crate::output::remove_pending_temporary();
                std::process::exit(i32::from(crate::error::exit::INTERRUPTED));
            }
            crate::eprintln_lossy!("\ngruf: interrupted: finishing this batch and saving the best model so far (Ctrl-C again to quit now)");
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            warn(&format!("Ctrl-C will stop gruf at once, without saving: {e}"));
        }
    });
    let mut reporter = Reporter::new(quiet);
    let data = train::TrainData {
        values,
        scaler,
        split,
    };
    let outcome = train::train(
        &config.model,
        &config.train,
        seed,
        &Loss::Mse,
        data,
        device,
        &mut |e| {
            reporter.event(e);
            if STOP.load(Ordering::SeqCst) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        },
    );
    reporter.finish();
    outcome
}

/// A seed for runs that did not give one; recorded in the checkpoint so they can be repeated.
fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)) % 1_000_000_000
}

/// What a consumer of a checkpoint works on: the model file, the series (on the model's
/// calendar), where the series came from, and the model ready to predict.
struct Opened {
    checkpoint: Checkpoint,
    series: Series,
    path: PathBuf,
    predictor: Predictor,
}

/// Opens the checkpoint and the series a consumer works on: `--csv`, else the training CSV.
fn open(source: &Source, device: &Device) -> anyhow::Result<Opened> {
    let checkpoint = Checkpoint::load(&source.model, device)?;
    let meta = &checkpoint.meta;
    let data_config = DataConfig {
        column: Some(meta.data.column.clone()),
        date_column: Some(meta.data.date_column.clone()),
        ..meta.config.data.clone()
    };
    let path = match &source.csv {
        Some(p) => p.clone(),
        None => {
            if !meta.data.path.exists() {
                return Err(GrufError::NoInput {
                    path: meta.data.path.clone(),
                    msg: "the training CSV is gone; pass --csv with the data to forecast from"
                        .into(),
                }
                .into());
            }
            meta.data.path.clone()
        }
    };
    let loaded = load_csv(&path, &data_config)?;
    if source.csv.is_none() && loaded.provenance.sha256 != meta.data.sha256 {
        warn(&format!(
            "{} changed since training; using it as it is now",
            path.display()
        ));
    }
    let mut series = loaded.series;
    // Dates continue on the calendar the model was trained on (files from gruf 1.0 do not
    // record one: theirs is the CSV's).
    if let Some(trained) = meta.data.calendar {
        if trained != series.calendar && series.len() > 2 {
            warn(&format!(
                "{} looks {}, but the model was trained on {} data; dates continue as {}",
                path.display(),
                series.calendar.describe(),
                trained.describe(),
                trained.describe()
            ));
        }
        series.calendar = trained;
    }
    let predictor = checkpoint.predictor(device)?;
    let (window, lookback) = (predictor.window, predictor.lookback());
    if series.len() < lookback {
        return Err(GrufError::data(
            &path,
            format!(
                "{} usable row{}, but the model needs the last {lookback} values as input; pass a longer CSV",
                series.len(),
                plural(series.len())
            ),
        )
        .into());
    }
    let tail = &series.values[series.len() - window..];
    if let (Some((outside, highest)), Scaler::Minmax { min, max }) =
        (meta.scaler.outside(tail), meta.scaler)
    {
        warn(&format!(
            "{outside} of the last {window} values lie outside the range the model was trained on \
             ({}..{}, highest now {}); the forecast extrapolates",
            money(min),
            money(max),
            money(highest)
        ));
    }
    Ok(Opened {
        checkpoint,
        series,
        path,
        predictor,
    })
}

fn predict_cmd(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let Opened {
        checkpoint,
        series,
        predictor,
        ..
    } = open(&args.source, &device)?;
    let steps = args.days as usize;
    let values = predictor.recursive(&series.values, steps)?;
    let last = *series.dates.last().unwrap_or(&0);
    let dates = series.calendar.future(last, steps);
    let daily = series.is_daily() && !series.calendar.intraday();
    let column = &checkpoint.meta.data.column;

    let mut out = Vec::new();
    match args.format {
        Format::Table => {
            let (width, head) = if daily {
                (10, "date")
            } else {
                (19, "time (UTC)")
            };
            writeln!(out, "{head:<width$}  {:>14}", format!("{column} forecast"))?;
            for (d, v) in dates.iter().zip(&values) {
                writeln!(out, "{:<width$}  {:>14}", format_time(*d, daily), money(*v))?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["date", "forecast"])?;
            for (d, v) in dates.iter().zip(&values) {
                w.write_record([format_iso(*d, daily), format!("{v:.6}")])?;
            }
            w.flush()?;
        }
        Format::Json => {
            let rows: Vec<_> = dates
                .iter()
                .zip(&values)
                .map(|(d, v)| serde_json::json!({ "date": format_iso(*d, daily), "forecast": v }))
                .collect();
            let doc = serde_json::json!({
                "column": column,
                "step": series.calendar.unit(),
                "last_date": format_iso(last, daily),
                "last_value": series.values.last(),
                "forecast": rows,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    print(&out)
}

/// One fold of a backtest: where it lies and how every forecaster did on it.
#[derive(Debug, serde::Serialize)]
struct Fold {
    fold: usize,
    /// The last date the fold's model was trained on.
    trained_to: String,
    refit: bool,
    evaluation: evaluate::Evaluation,
}

fn backtest_cmd(args: BacktestArgs) -> anyhow::Result<()> {
    let mut config = resolve(&args.options)?;
    let quiet = args.options.quiet;
    let seed = config.train.seed.unwrap_or_else(random_seed);
    config.train.seed = Some(seed);
    let csv = &args.csv;
    let loaded = load_csv(csv, &config.data)?;
    report_loaded(csv, &loaded, quiet);
    let series = loaded.series;
    let cal = series.calendar;
    let span = config.train.test_days;
    let folds = args.folds as usize;
    if span < folds {
        return Err(GrufError::usage(format!(
            "--test-size {span} cannot be cut into {folds} folds; pass a larger --test-size or fewer --folds"
        ))
        .into());
    }
    let eval_start = series.len().checked_sub(span).ok_or_else(|| {
        GrufError::data(
            csv,
            format!(
                "{} rows, fewer than the {} to backtest on",
                series.len(),
                cal.count(span)
            ),
        )
    })?;
    let bounds: Vec<usize> = (0..=folds).map(|i| eval_start + span * i / folds).collect();
    let device = device();
    let daily = series.is_daily();
    let season = season_for(None, config.data.season, &series);
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

    let mut results = Vec::with_capacity(folds);
    let mut current: Option<(Predictor, usize)> = None;
    for (i, fold) in bounds.windows(2).enumerate() {
        let (start, end) = (fold[0], fold[1]);
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            // Everything before the fold is history: an expanding window.
            let history = &series.values[..end];
            let Prepared { split, scaler } = pipeline::prepare(&config, history, end - start)
                .map_err(|m| GrufError::data(csv, format!("fold {}: {m}", i + 1)))?;
            if !quiet {
                crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} values",
                    i + 1,
                    split.fit_end()
                );
            }
            let outcome = run_training(&config, seed, history, &scaler, &split, &device, quiet)?;
            if let Some((epoch, batch)) = outcome.interrupted {
                return Err(GrufError::Interrupted(format!(
                    "backtest interrupted in fold {}, epoch {epoch}, batch {batch}; nothing was written",
                    i + 1
                ))
                .into());
            }
            let predictor = Predictor {
                model: crate::model::Model::new(&config.model, &outcome.weights)?,
                scaler,
                window: config.model.window,
                device: device.clone(),
            };
            current = Some((predictor, split.fit_end()));
        }
        let Some((predictor, fit_end)) = &current else {
            unreachable!("a model was trained above")
        };
        let scoring = Scoring {
            mase_scale: naive_scale(&series.values[..*fit_end]),
            season,
            held_out: true,
        };
        let start = start.max(predictor.lookback()).max(scoring.first_target());
        if start >= end {
            return Err(GrufError::data(
                csv,
                format!(
                    "fold {} has nothing to score: each fold needs more than the model's {} of history; pass fewer --folds or a larger --test-size",
                    i + 1,
                    cal.count(predictor.lookback().max(scoring.first_target()))
                ),
            )
            .into());
        }
        let evaluation = evaluate::evaluate(predictor, &series, start..end, scoring)?;
        results.push(Fold {
            fold: i + 1,
            trained_to: format_iso(series.dates[*fit_end - 1], daily),
            refit,
            evaluation,
        });
    }
    let report = Backtest::new(results);
    let out = match args.format {
        Format::Table => report.table(cal),
        Format::Csv => report.csv()?,
        Format::Json => report.json()?,
    };
    print(out.as_bytes())
}

/// The walk-forward results: every fold, and each forecaster's MAE over all of them.
struct Backtest {
    folds: Vec<Fold>,
    /// Targets scored over all folds.
    n: usize,
    /// `(forecaster, MAE over all folds, weighted by their targets)`, model first.
    totals: Vec<(String, f64)>,
}

impl Backtest {
    fn new(folds: Vec<Fold>) -> Backtest {
        let n: usize = folds.iter().map(|f| f.evaluation.n).sum();
        let totals = folds[0]
            .evaluation
            .rows
            .iter()
            .map(|(name, _)| {
                let sum: f64 = folds
                    .iter()
                    .map(|f| f.evaluation.get(name).map_or(0.0, |m| m.mae) * f.evaluation.n as f64)
                    .sum();
                (name.clone(), sum / n as f64)
            })
            .collect();
        Backtest { folds, n, totals }
    }

    fn total(&self, name: &str) -> f64 {
        self.totals
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f64::NAN, |t| t.1)
    }

    fn table(&self, cal: crate::calendar::Calendar) -> String {
        let (model, naive) = (self.total("model"), self.total("naive"));
        let folds = self.folds.len();
        let seasonal = self.folds[0]
            .evaluation
            .season
            .map(|m| (m, self.total(&evaluate::seasonal_name(m))));
        let mut out = format!(
            "walk-forward MAE over {} in {folds} fold{}: model {}, naive {} ({:.3} of naive)",
            cal.count(self.n),
            plural(folds),
            money(model),
            money(naive),
            model / naive,
        );
        if let Some((m, mae)) = seasonal {
            out.push_str(&format!(
                ", seasonal naive ({}) {}",
                cal.seasonal_words(m),
                money(mae)
            ));
        }
        if model > naive {
            out.push_str(": the model is worse than doing nothing");
        } else if seasonal.is_some_and(|(_, mae)| model > mae) {
            out.push_str(": the model is worse than the seasonal naive forecast");
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<19} {:>12} {:>14}\n",
            "forecaster", "MAE", "MAE / naive"
        ));
        for (name, mae) in &self.totals {
            out.push_str(&format!(
                "{:<19} {:>12} {:>14.3}\n",
                name,
                money(*mae),
                mae / naive
            ));
        }
        let width = human_date(&self.folds[0].evaluation.first_date).len() * 2 + 4;
        let trained = human_date(&self.folds[0].trained_to).len().max(10) + 1;
        out.push_str(&format!(
            "\n{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8}\n",
            "fold", "span", "trained to", "n", "model MAE", "naive MAE", "ratio"
        ));
        for f in &self.folds {
            let e = &f.evaluation;
            let (m, n) = (
                e.get("model").map_or(f64::NAN, |m| m.mae),
                e.get("naive").map_or(f64::NAN, |m| m.mae),
            );
            out.push_str(&format!(
                "{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8.3}\n",
                f.fold,
                format!(
                    "{} to {}",
                    human_date(&e.first_date),
                    human_date(&e.last_date)
                ),
                format!(
                    "{}{}",
                    human_date(&f.trained_to),
                    if f.refit { "" } else { "*" }
                ),
                e.n,
                money(m),
                money(n),
                m / n
            ));
        }
        if self.folds.iter().any(|f| !f.refit) {
            out.push_str("* reused the previous fold's model (--refit-every)\n");
        }
        out
    }

    /// One row per fold and forecaster, then one per forecaster over all folds (`fold` =
    /// `all`), with every metric.
    fn csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "fold",
            "first_date",
            "last_date",
            "trained_to",
            "refit",
            "n",
            "forecaster",
            "mae",
            "rmse",
            "mape",
            "smape",
            "mase",
            "directional",
        ])?;
        for f in &self.folds {
            let e = &f.evaluation;
            for (name, m) in &e.rows {
                let mut row = vec![
                    f.fold.to_string(),
                    e.first_date.clone(),
                    e.last_date.clone(),
                    f.trained_to.clone(),
                    f.refit.to_string(),
                    e.n.to_string(),
                    name.clone(),
                ];
                row.extend(metric_cells(m));
                w.write_record(&row)?;
            }
        }
        let (first, last) = (
            self.folds[0].evaluation.first_date.clone(),
            self.folds[self.folds.len() - 1]
                .evaluation
                .last_date
                .clone(),
        );
        for (name, mae) in &self.totals {
            let mut row = vec![
                "all".to_string(),
                first.clone(),
                last.clone(),
                String::new(),
                String::new(),
                self.n.to_string(),
                name.clone(),
            ];
            row.extend(mae_cells(*mae));
            w.write_record(&row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    fn json(&self) -> anyhow::Result<String> {
        let totals: Vec<_> = self
            .totals
            .iter()
            .map(|(n, mae)| serde_json::json!({ "forecaster": n, "mae": mae }))
            .collect();
        let doc = serde_json::json!({ "n": self.n, "totals": totals, "folds": self.folds });
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}

/// The cells of [`metric_cells`] where only the MAE is known: the others empty.
fn mae_cells(mae: f64) -> Vec<String> {
    let mut cells = vec![String::new(); 6];
    cells[0] = mae.to_string();
    cells
}

/// MAE, RMSE, MAPE, sMAPE, MASE and directional accuracy as CSV cells (empty when a
/// forecast never moves).
fn metric_cells(m: &evaluate::Metrics) -> Vec<String> {
    let mut cells: Vec<String> = [m.mae, m.rmse, m.mape, m.smape, m.mase]
        .iter()
        .map(|v| v.to_string())
        .collect();
    cells.push(m.directional.map_or(String::new(), |d| d.to_string()));
    cells
}

/// Where the data the model never trained on begins: the first test date, or, for a model
/// trained on everything, the first date after its training data. `None` if no such row.
fn held_out_start(meta: &CheckpointMeta, series: &Series) -> Option<usize> {
    let start = match &meta.test {
        Some(test) => {
            let first = parse_date(&test.first_date, None).ok()?;
            series.dates.partition_point(|&d| d < first)
        }
        None => {
            let last = parse_date(&meta.data.last_date, None).ok()?;
            series.dates.partition_point(|&d| d <= last)
        }
    };
    (start < series.len()).then_some(start)
}

/// The MASE denominator for a consumer of `meta`: stored (or recovered from a gruf 1.0
/// file's test metrics); failing both, the naive error on the `before` values of the CSV
/// in use, said in a note.
fn mase_scale(meta: &CheckpointMeta, before: &[f64]) -> f64 {
    meta.mase_scale().unwrap_or_else(|| {
        note(&format!(
            "this model file (format {}) does not record its training error scale; MASE is scaled by the naive forecast's error on the {} values before the scored span",
            meta.format_version,
            before.len()
        ));
        naive_scale(before)
    })
}

fn evaluate_cmd(args: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(season) = args.season {
        check_season(season)?;
    }
    let device = device();
    let Opened {
        checkpoint,
        series,
        path,
        predictor,
    } = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
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
    let season = season_for(args.season, meta.config.data.season, &series);
    let history = predictor.lookback().max(season.unwrap_or(1));
    let start = held_out.max(history);
    if start >= series.len() {
        return Err(GrufError::data(
            &path,
            format!(
                "nothing to score: {} held-out row{}, but each scored row needs the {} before it as input{}; \
                 pass a --csv that also holds the rows before the new ones",
                series.len() - held_out,
                plural(series.len() - held_out),
                cal.count(history),
                if season.is_some_and(|m| m > predictor.lookback()) {
                    " (a season of history, for the seasonal naive baseline)"
                } else {
                    ""
                }
            ),
        )
        .into());
    }
    let scoring = Scoring {
        mase_scale: mase_scale(meta, &series.values[..start]),
        season,
        held_out: true,
    };
    let e = evaluate::evaluate(&predictor, &series, start..series.len(), scoring)?;
    let wanted = args.horizon as usize;
    let horizons = if wanted > 0 {
        evaluate::horizon_errors(
            &predictor,
            &series.values,
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
    let out = match args.format {
        Format::Table => evaluation_table(&e, &horizons, cal),
        Format::Json => {
            let doc = serde_json::json!({ "one_step": e, "horizons": horizons });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Csv => evaluation_csv(&e, &horizons)?,
    };
    print(out.as_bytes())
}

/// The one-step table and, with horizons, the horizon table, for people.
fn evaluation_table(
    e: &Evaluation,
    horizons: &[HorizonError],
    cal: crate::calendar::Calendar,
) -> String {
    let mut out = format!("{}\n{}", e.verdict(), e.table());
    let Some(first) = horizons.first() else {
        return out;
    };
    let seasonal = first.seasonal_naive_mae.is_some();
    out.push_str(&format!("\n{}\n", horizon_verdict(horizons, e, cal)));
    out.push_str(&format!(
        "recursive forecast by horizon ({}s ahead; origins = forecasts scored at that horizon)\n",
        cal.unit()
    ));
    out.push_str(&format!(
        "{:>7} {:>7} {:>12} {:>12} {:>13}",
        "horizon", "origins", "model MAE", "naive MAE", "model / naive"
    ));
    if seasonal {
        out.push_str(&format!(
            " {:>19} {:>16}",
            "seasonal naive MAE", "model / seasonal"
        ));
    }
    out.push('\n');
    for r in horizons {
        out.push_str(&format!(
            "{:>7} {:>7} {:>12} {:>12} {:>13.3}",
            r.horizon,
            r.origins,
            money(r.model_mae),
            money(r.naive_mae),
            r.model_mae / r.naive_mae
        ));
        if let Some(s) = r.seasonal_naive_mae {
            out.push_str(&format!(" {:>19} {:>16.3}", money(s), r.model_mae / s));
        }
        out.push('\n');
    }
    out
}

/// One sentence over all horizons: the mean MAE of each forecaster (horizons weighted
/// alike) and whether the recursive forecast beats the baselines.
fn horizon_verdict(
    horizons: &[HorizonError],
    e: &Evaluation,
    cal: crate::calendar::Calendar,
) -> String {
    let mean = |f: &dyn Fn(&HorizonError) -> f64| {
        horizons.iter().map(f).sum::<f64>() / horizons.len() as f64
    };
    let (model, naive) = (mean(&|h| h.model_mae), mean(&|h| h.naive_mae));
    let last = horizons.len();
    let mut s = format!(
        "over horizons 1 to {last}, the recursive forecast's mean MAE is {}; naive {}",
        money(model),
        money(naive)
    );
    let seasonal = e
        .season
        .filter(|_| horizons.iter().all(|h| h.seasonal_naive_mae.is_some()))
        .map(|m| (m, mean(&|h| h.seasonal_naive_mae.unwrap_or(f64::NAN))));
    if let Some((m, mae)) = seasonal {
        s.push_str(&format!(
            ", seasonal naive ({}) {}",
            cal.seasonal_words(m),
            money(mae)
        ));
    }
    let best = seasonal.map_or(naive, |(_, mae)| mae.min(naive));
    s.push_str(if model <= best {
        ": better than every baseline here"
    } else if model <= naive {
        ": better than naive, worse than the seasonal naive forecast"
    } else {
        ": worse than doing nothing"
    });
    s
}

/// One CSV for both tables: the one-step rows (`table` = `one_step`, every metric) and the
/// horizon rows (`table` = `horizon`, MAE per forecaster and horizon).
fn evaluation_csv(e: &Evaluation, horizons: &[HorizonError]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "table",
        "forecaster",
        "horizon",
        "n",
        "mae",
        "rmse",
        "mape",
        "smape",
        "mase",
        "directional",
    ])?;
    for (name, m) in &e.rows {
        let mut row = vec![
            "one_step".to_string(),
            name.clone(),
            "1".into(),
            e.n.to_string(),
        ];
        row.extend(metric_cells(m));
        w.write_record(&row)?;
    }
    for r in horizons {
        let mut maes = vec![
            ("model".to_string(), r.model_mae),
            ("naive".into(), r.naive_mae),
        ];
        if let (Some(s), Some(m)) = (r.seasonal_naive_mae, e.season) {
            maes.push((evaluate::seasonal_name(m), s));
        }
        for (name, mae) in maes {
            let mut row = vec![
                "horizon".to_string(),
                name,
                r.horizon.to_string(),
                r.origins.to_string(),
            ];
            row.extend(mae_cells(mae));
            w.write_record(&row)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn plot_cmd(args: PlotArgs) -> anyhow::Result<()> {
    check_writable(&args.out)?;
    let format = plot::ImageFormat::from_path(&args.out)?;
    let device = device();
    let Opened {
        checkpoint,
        series,
        path: csv_path,
        predictor,
    } = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let cal = series.calendar;
    let daily = series.is_daily();
    let column = &meta.data.column;

    // The held-out part if there is one; else the last 365 steps, labelled as in-sample.
    const IN_SAMPLE: usize = 365;
    let season = season_for(None, meta.config.data.season, &series);
    let history = predictor.lookback().max(season.unwrap_or(1));
    let (start, held_out) = match held_out_start(meta, &series) {
        Some(s) => (s.max(history), true),
        None => (series.len().saturating_sub(IN_SAMPLE).max(history), false),
    };
    let targets = start..series.len();
    let (mut predicted, mut naive) = (Vec::new(), Vec::new());
    let name = csv_path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into());
    let mut title = format!("gruf: {column}, {name}");
    let (mut model_label, mut naive_label) = (
        "one-step prediction".to_string(),
        format!("naive ({})", cal.naive_words()),
    );
    if !targets.is_empty() {
        let pred = predictor.one_step(&series.values, targets.clone())?;
        let scoring = Scoring {
            mase_scale: mase_scale(meta, &series.values[..start]),
            season,
            held_out,
        };
        let e = evaluate::score(&series, targets.clone(), pred.clone(), scoring);
        let span = if held_out {
            format!("held-out {}s", cal.unit())
        } else {
            format!("last {}, in-sample (not held out)", cal.count(IN_SAMPLE))
        };
        title = format!("{title}: one-step forecasts over the {span}");
        let mae = |n: &str| e.get(n).map_or(f64::NAN, |m| m.mae);
        model_label = format!("model, MAE {}", money(mae("model")));
        naive_label = format!("naive ({}), MAE {}", cal.naive_words(), money(mae("naive")));
        if let (Some(m), Some(s)) = (season, e.seasonal()) {
            naive_label.push_str(&format!(
                "; seasonal naive ({}) MAE {}",
                cal.seasonal_words(m),
                money(s.mae)
            ));
        }
        predicted = targets
            .clone()
            .zip(pred)
            .map(|(t, p)| (series.dates[t], p))
            .collect();
        naive = targets
            .clone()
            .map(|t| (series.dates[t], series.values[t - 1]))
            .collect();
    }
    let steps = args.days as usize;
    let future = predictor.recursive(&series.values, steps)?;
    let last = *series.dates.last().unwrap_or(&0);
    let mut forecast_points = vec![(last, *series.values.last().unwrap_or(&0.0))];
    forecast_points.extend(cal.future(last, steps).into_iter().zip(future));

    let data = PlotData {
        title,
        daily,
        step_seconds: cal.approx_seconds(),
        truth: Line {
            label: format!("true {column}"),
            points: (start.saturating_sub(1)..series.len())
                .map(|t| (series.dates[t], series.values[t]))
                .collect(),
        },
        predicted: Line {
            label: model_label,
            points: predicted,
        },
        naive: Line {
            label: naive_label,
            points: naive,
        },
        forecast: Line {
            label: format!("recursive forecast, {}", cal.count(steps)),
            points: forecast_points,
        },
        history: meta.history.clone(),
        best_epoch: meta.best_epoch,
    };
    let image = plot::render(&data, format)?;
    write_atomic(&args.out, &image)?;
    print(format!("wrote {}\n", args.out.display()).as_bytes())
}

fn sample_cmd(args: SampleArgs) -> anyhow::Result<()> {
    let config = SampleConfig {
        rows: args.rows,
        seed: args.seed,
        ..SampleConfig::default()
    };
    let csv = synth::to_csv(&synth::generate(&config));
    if args.out.as_os_str() == "-" {
        return print(csv.as_bytes());
    }
    write_atomic(&args.out, csv.as_bytes())?;
    print(format!("wrote {} rows to {}\n", config.rows, args.out.display()).as_bytes())
}

fn completions_cmd(args: crate::cli::CompletionsArgs) -> anyhow::Result<()> {
    let mut script = Vec::new();
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "gruf", &mut script);
    print(&script)
}
