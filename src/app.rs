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
use crate::config::{PartialConfig, RunConfig};
use crate::data::{format_time, load_csv, parse_date, DataConfig, Loaded, Series};
use crate::error::GrufError;
use crate::evaluate::{self, money};
use crate::forecast;
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
    }
}

/// The device models run on: the first CUDA GPU in a `cuda` build when one is present.
pub fn device() -> Device {
    Device::cuda_if_available(0).unwrap_or(Device::Cpu)
}

fn warn(msg: &str) {
    eprintln!("gruf: warning: {msg}");
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
    check_writable(&args.model)?;
    let seed = config.train.seed.unwrap_or_else(random_seed);
    config.train.seed = Some(seed);
    let loaded = load_csv(&args.csv, &config.data)?;
    loaded
        .notes
        .iter()
        .for_each(|n| warn(&format!("{}: {n}", args.csv.display())));
    let Loaded {
        series, provenance, ..
    } = loaded;
    let csv = &args.csv;

    let window = config.model.window;
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
    eprintln!(
        "gruf: {} rows {} to {}: {} training windows, {} validation, {} test values; seed {seed}",
        series.len(),
        provenance.first_date,
        provenance.last_date,
        split.train.len(),
        split.val.len(),
        split.test.len()
    );

    let device = device();
    let outcome = run_training(
        &config,
        seed,
        &series.values,
        &scaler,
        &split,
        &device,
        args.options.quiet,
    )?;
    let interrupted = outcome.interrupted;

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
        },
        weights: outcome.weights,
    };
    if !split.test.is_empty() {
        let model = checkpoint.model()?;
        let test = split.test.clone();
        let evaluation = evaluate::evaluate(
            &model,
            &scaler,
            &series,
            test,
            window,
            split.fit_end(),
            true,
            &device,
        )?;
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
        "trained {} epochs{} in {:.1} s; kept epoch {} (validation RMSE {}; naive forecast {})",
        meta.history.len(),
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
        Some(test) => write!(out, "{}\n{}", test.verdict(), test.table())?,
        None => writeln!(
            out,
            "no test part (--test-days 0): nothing was held out to measure accuracy on"
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
                eprintln!(
                    "\ngruf: interrupted again: exiting now; the model file is whole \
                     (the previous one, or this run's if its save had just finished)"
                );
                crate::output::remove_pending_temporary();
                std::process::exit(i32::from(crate::error::exit::INTERRUPTED));
            }
            eprintln!("\ngruf: interrupted: finishing this batch and saving the best model so far (Ctrl-C again to quit now)");
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            warn(&format!("Ctrl-C will stop gruf at once, without saving: {e}"));
        }
    });
    let mut reporter = Reporter::new(quiet);
    let outcome = train::train(
        &config.model,
        &config.train,
        seed,
        values,
        scaler,
        split,
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

/// The checkpoint and the series a consumer works on: `--csv`, else the training CSV.
fn open(source: &Source, device: &Device) -> anyhow::Result<(Checkpoint, Series, PathBuf)> {
    let checkpoint = Checkpoint::load(&source.model, device)?;
    let meta = &checkpoint.meta;
    let data_config = DataConfig {
        column: meta.data.column.clone(),
        date_column: Some(meta.data.date_column.clone()),
        date_format: meta.config.data.date_format.clone(),
        resample: meta.config.data.resample,
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
    let window = meta.model().window;
    if loaded.series.len() < meta.scaler.lookback(window) {
        return Err(GrufError::data(
            &path,
            format!(
                "{} usable row(s), but the model needs the last {window} values as input; pass a longer CSV",
                loaded.series.len()
            ),
        )
        .into());
    }
    let tail = &loaded.series.values[loaded.series.len() - window..];
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
    Ok((checkpoint, loaded.series, path))
}

fn predict_cmd(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let (checkpoint, series, _) = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let model = checkpoint.model()?;
    let days = args.days as usize;
    let values = forecast::recursive(
        &model,
        &meta.scaler,
        &series.values,
        meta.model().window,
        days,
        &device,
    )?;
    let last = *series.dates.last().unwrap_or(&0);
    let dates = forecast::future_dates(last, meta.data.step_seconds, days);
    let daily = series.is_daily() && meta.data.step_seconds % 86_400 == 0;
    let column = &meta.data.column;

    let mut out = Vec::new();
    match args.format {
        Format::Table => {
            let width = if daily { 10 } else { 19 };
            writeln!(
                out,
                "{:<width$}  {:>14}",
                "date",
                format!("{column} forecast")
            )?;
            for (d, v) in dates.iter().zip(&values) {
                writeln!(out, "{:<width$}  {:>14}", format_time(*d, daily), money(*v))?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["date", "forecast"])?;
            for (d, v) in dates.iter().zip(&values) {
                w.write_record([format_time(*d, daily), format!("{v:.6}")])?;
            }
            w.flush()?;
        }
        Format::Json => {
            let rows: Vec<_> = dates
                .iter()
                .zip(&values)
                .map(|(d, v)| serde_json::json!({ "date": format_time(*d, daily), "forecast": v }))
                .collect();
            let doc = serde_json::json!({
                "column": column,
                "last_date": format_time(last, daily),
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
    let seed = config.train.seed.unwrap_or_else(random_seed);
    config.train.seed = Some(seed);
    let csv = &args.csv;
    let loaded = load_csv(csv, &config.data)?;
    loaded
        .notes
        .iter()
        .for_each(|n| warn(&format!("{}: {n}", csv.display())));
    let series = loaded.series;
    let window = config.model.window;
    let span = config.train.test_days;
    let folds = args.folds as usize;
    if span < folds {
        return Err(GrufError::usage(format!(
            "--test-days {span} cannot be cut into {folds} folds; pass a larger --test-days or fewer --folds"
        ))
        .into());
    }
    let eval_start = series.len().checked_sub(span).ok_or_else(|| {
        GrufError::data(
            csv,
            format!(
                "{} rows, fewer than the {span} values to backtest on",
                series.len()
            ),
        )
    })?;
    let bounds: Vec<usize> = (0..=folds).map(|i| eval_start + span * i / folds).collect();
    let device = device();
    let daily = series.is_daily();
    eprintln!(
        "gruf: backtest over {} to {}, {folds} folds, retraining every {} fold(s); seed {seed}",
        format_time(series.dates[eval_start], daily),
        format_time(series.dates[series.len() - 1], daily),
        args.refit_every
    );

    let mut results = Vec::with_capacity(folds);
    let mut current: Option<(crate::model::Model, Scaler, usize)> = None;
    for (i, fold) in bounds.windows(2).enumerate() {
        let (start, end) = (fold[0], fold[1]);
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            // Everything before the fold is history: an expanding window.
            let history = &series.values[..end];
            let Prepared { split, scaler } = pipeline::prepare(&config, history, end - start)
                .map_err(|m| GrufError::data(csv, format!("fold {}: {m}", i + 1)))?;
            eprintln!(
                "gruf: fold {}/{folds}: training on {} values",
                i + 1,
                split.fit_end()
            );
            let outcome = run_training(
                &config,
                seed,
                history,
                &scaler,
                &split,
                &device,
                args.options.quiet,
            )?;
            if let Some((epoch, batch)) = outcome.interrupted {
                return Err(GrufError::Interrupted(format!(
                    "backtest interrupted in fold {}, epoch {epoch}, batch {batch}; nothing was written",
                    i + 1
                ))
                .into());
            }
            let model = crate::model::Model::new(&config.model, &outcome.weights)?;
            current = Some((model, scaler, split.fit_end()));
        }
        let Some((model, scaler, fit_end)) = &current else {
            unreachable!("a model was trained above")
        };
        let start = start.max(scaler.lookback(window));
        let evaluation = evaluate::evaluate(
            model,
            scaler,
            &series,
            start..end,
            window,
            *fit_end,
            true,
            &device,
        )?;
        let trained_to = format_time(series.dates[*fit_end - 1], daily);
        results.push(Fold {
            fold: i + 1,
            trained_to,
            refit,
            evaluation,
        });
    }

    // Totals over all folds, weighted by their days.
    let names: Vec<String> = results[0]
        .evaluation
        .rows
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    let days: usize = results.iter().map(|f| f.evaluation.n).sum();
    let mean = |name: &str| {
        results
            .iter()
            .map(|f| f.evaluation.get(name).map_or(0.0, |m| m.mae) * f.evaluation.n as f64)
            .sum::<f64>()
            / days as f64
    };
    let mut out = Vec::new();
    match args.format {
        Format::Json => {
            let totals: Vec<_> = names
                .iter()
                .map(|n| serde_json::json!({ "forecaster": n, "mae": mean(n) }))
                .collect();
            let doc = serde_json::json!({ "days": days, "totals": totals, "folds": results });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        _ => {
            let (model, naive) = (mean("model"), mean("naive"));
            writeln!(
                out,
                "walk-forward MAE over {days} days in {folds} folds: model {}, naive {} ({:.3} of naive){}",
                money(model),
                money(naive),
                model / naive,
                if model > naive { ": the model is worse than doing nothing" } else { "" }
            )?;
            writeln!(
                out,
                "{:<18} {:>12} {:>14}",
                "forecaster", "MAE", "MAE / naive"
            )?;
            for n in &names {
                writeln!(
                    out,
                    "{:<18} {:>12} {:>14.3}",
                    n,
                    money(mean(n)),
                    mean(n) / naive
                )?;
            }
            writeln!(
                out,
                "\n{:>4}  {:<23}  {:<12} {:>5} {:>12} {:>12} {:>8}",
                "fold", "days", "trained to", "n", "model MAE", "naive MAE", "ratio"
            )?;
            for f in &results {
                let e = &f.evaluation;
                let (m, n) = (
                    e.get("model").map_or(f64::NAN, |m| m.mae),
                    e.get("naive").map_or(f64::NAN, |m| m.mae),
                );
                writeln!(
                    out,
                    "{:>4}  {:<23}  {:<12} {:>5} {:>12} {:>12} {:>8.3}",
                    f.fold,
                    format!("{} to {}", e.first_date, e.last_date),
                    format!("{}{}", f.trained_to, if f.refit { "" } else { "*" }),
                    e.n,
                    money(m),
                    money(n),
                    m / n
                )?;
            }
            if results.iter().any(|f| !f.refit) {
                writeln!(out, "* reused the previous fold's model (--refit-every)")?;
            }
        }
    }
    print(&out)
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

fn evaluate_cmd(args: EvaluateArgs) -> anyhow::Result<()> {
    let device = device();
    let (checkpoint, series, path) = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let window = meta.model().window;
    let start = held_out_start(meta, &series).ok_or_else(|| {
        GrufError::data(
            &path,
            format!(
                "no held-out data: the model trained on everything up to {}; pass --csv with newer rows",
                meta.data.last_date
            ),
        )
    })?;
    let start = start.max(meta.scaler.lookback(window));
    let model = checkpoint.model()?;
    let e = evaluate::evaluate(
        &model,
        &meta.scaler,
        &series,
        start..series.len(),
        window,
        meta.split.fit_end(),
        true,
        &device,
    )?;
    let days = args.horizon as usize;
    let horizons = if days > 0 {
        evaluate::horizon_errors(
            &model,
            &meta.scaler,
            &series.values,
            start..series.len(),
            window,
            days,
            &device,
        )?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    match args.format {
        Format::Table => {
            write!(out, "{}\n{}", e.verdict(), e.table())?;
            if let Some(first) = horizons.first() {
                writeln!(
                    out,
                    "\nrecursive forecast by horizon ({} origins)",
                    first.origins
                )?;
                writeln!(
                    out,
                    "{:>7} {:>12} {:>12} {:>13}",
                    "horizon", "model MAE", "naive MAE", "model / naive"
                )?;
                for r in &horizons {
                    let ratio = r.model_mae / r.naive_mae;
                    writeln!(
                        out,
                        "{:>7} {:>12} {:>12} {:>13.3}",
                        r.horizon,
                        money(r.model_mae),
                        money(r.naive_mae),
                        ratio
                    )?;
                }
            }
        }
        Format::Json => {
            let doc = serde_json::json!({ "one_step": e, "horizons": horizons });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "forecaster",
                "mae",
                "rmse",
                "mape",
                "smape",
                "mase",
                "directional",
            ])?;
            for (name, m) in &e.rows {
                let dir = m.directional.map_or(String::new(), |d| d.to_string());
                let row = [m.mae, m.rmse, m.mape, m.smape, m.mase].map(|v| v.to_string());
                w.write_record([
                    name.as_str(),
                    &row[0],
                    &row[1],
                    &row[2],
                    &row[3],
                    &row[4],
                    &dir,
                ])?;
            }
            w.flush()?;
        }
    }
    print(&out)
}

fn plot_cmd(args: PlotArgs) -> anyhow::Result<()> {
    check_writable(&args.out)?;
    let format = plot::ImageFormat::from_path(&args.out)?;
    let device = device();
    let (checkpoint, series, csv_path) = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let model = checkpoint.model()?;
    let window = meta.model().window;
    let daily = series.is_daily();
    let column = &meta.data.column;
    let unit = plot::step_name(meta.data.step_seconds);
    let naive_name = if unit == "day" {
        "naive (tomorrow = today)"
    } else {
        "naive (next = last)"
    };

    // The held-out part if there is one; else the last year, labelled as in-sample.
    let lookback = meta.scaler.lookback(window);
    let (start, held_out) = match held_out_start(meta, &series) {
        Some(s) => (s.max(lookback), true),
        None => (series.len().saturating_sub(365).max(lookback), false),
    };
    let targets = start..series.len();
    let (mut predicted, mut naive) = (Vec::new(), Vec::new());
    let name = csv_path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into());
    let mut title = format!("gruf: {column}, {name}");
    let (mut model_label, mut naive_label) =
        ("one-step prediction".to_string(), naive_name.to_string());
    if !targets.is_empty() {
        let pred = evaluate::one_step(
            &model,
            &meta.scaler,
            &series.values,
            targets.clone(),
            window,
            &device,
        )?;
        let e = evaluate::score(
            &series,
            targets.clone(),
            pred.clone(),
            meta.split.fit_end(),
            held_out,
        );
        let span = match (held_out, unit) {
            (true, _) => format!("held-out {unit}s"),
            (false, "day") => "last year, in-sample (not held out)".to_string(),
            (false, _) => format!("last 365 {unit}s, in-sample (not held out)"),
        };
        title = format!("{title}: one-step forecasts over the {span}");
        let mae = |n: &str| e.get(n).map_or(f64::NAN, |m| m.mae);
        model_label = format!("model, MAE {}", money(mae("model")));
        naive_label = format!("{naive_name}, MAE {}", money(mae("naive")));
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
    let days = args.days as usize;
    let future = forecast::recursive(&model, &meta.scaler, &series.values, window, days, &device)?;
    let last = *series.dates.last().unwrap_or(&0);
    let mut forecast_points = vec![(last, *series.values.last().unwrap_or(&0.0))];
    forecast_points.extend(
        forecast::future_dates(last, meta.data.step_seconds, days)
            .into_iter()
            .zip(future),
    );

    let data = PlotData {
        title,
        daily,
        step_seconds: checkpoint.meta.data.step_seconds as f64,
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
            label: format!("{days}-{unit} recursive forecast"),
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
    if config.rows < 2 {
        return Err(GrufError::usage("--rows must be at least 2").into());
    }
    let csv = synth::to_csv(&synth::generate(&config));
    write_atomic(&args.out, csv.as_bytes())?;
    print(format!("wrote {} rows to {}\n", config.rows, args.out.display()).as_bytes())
}
