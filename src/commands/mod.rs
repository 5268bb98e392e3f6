//! The subcommands, one module each: resolve the parsed flags, run the library pipeline,
//! render the results. This module holds what several commands share: opening a model with
//! its data, reporting what loading found, and training with progress, stopped by Ctrl-C or
//! SIGTERM ([`crate::io::interrupt`]).
//!
//! Results go to stdout, progress and warnings to stderr. Nothing is written unless the
//! command succeeds: models, plots and samples are written atomically at the very end (the
//! folder checked writable before any work). A run stopped by a signal keeps what it
//! finished: `train` its best model so far, `backtest` and `compare` their finished folds
//! and runs, printed marked partial.

mod backtest;
mod compare;
mod completions;
mod evaluate;
mod export;
mod held_out;
mod inspect;
mod open;
mod plot;
mod predict;
mod sample;
mod train;
mod tune;
mod training;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use candle_core::Device;

use crate::checkpoint::Meta as CheckpointMeta;
use crate::cli::{Command, Format, OpenArgs, TrainOptions};
use crate::config::{PartialConfig, RunConfig};
use crate::error::GrufError;
use crate::features::scaler::Scaler;
use crate::intervals::conformal::CalibrationError;
use crate::intervals::Level;
use crate::io::interrupt::Words;
use crate::model::loss::Loss;
use crate::render::{self, Renderer};
use crate::scores::{naive_scale, FEW};
use crate::series::csv::DataConfig;
use crate::series::panel::Panel;
use crate::series::{LoadedSeries, Series};
use crate::text::money;
use crate::text::{name_some, plural};
use crate::train::progress::Reporter;
use crate::train::Flow;

pub fn run(command: Command) -> anyhow::Result<()> {
    QUIET.store(command.quiet(), Ordering::Relaxed);
    match command {
        Command::Train(args) => train::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Completions(args) => completions::run(args),
    }
}

/// The renderer for `--format`.
fn renderer(format: Format) -> Box<dyn Renderer> {
    match format {
        Format::Table => Box::new(render::Table),
        Format::Csv => Box::new(render::Csv),
        Format::Json => Box::new(render::Json),
    }
}

/// The device models run on: the first CUDA GPU in a `cuda` build when one is present.
pub fn device() -> Device {
    Device::cuda_if_available(0).unwrap_or(Device::Cpu)
}

fn warn(msg: &str) {
    crate::eprintln_lossy!("gruf: warning: {msg}");
}

/// Whether notes and "wrote" lines are hidden: `-q`/`--quiet`, which every command takes,
/// set once per run (as ripgrep sets its message switches), so that no function needs a
/// `quiet` argument to stay quiet. Warnings and errors always show.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Information, not a problem: hidden by `--quiet`.
fn note(msg: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        crate::eprintln_lossy!("gruf: note: {msg}");
    }
}

/// Says on stderr what file a command wrote (`what`: the file, or `500 rows to s.csv`):
/// stdout carries results only. Hidden by `--quiet`.
fn wrote(what: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        crate::eprintln_lossy!("gruf: wrote {what}");
    }
}

/// What loading found: warnings always, information unless `quiet`.
fn report_loaded(csv: &std::path::Path, loaded: &LoadedSeries, quiet: bool) {
    for n in &loaded.notes {
        warn(&format!("{}: {n}", csv.display()));
    }
    if !quiet {
        for n in &loaded.info {
            note(&format!("{}: {n}", csv.display()));
        }
    }
}

/// `series 'AAPL': ` to begin a message on a named series; nothing for the one series of
/// a plain CSV.
fn whose(id: &str) -> String {
    match id {
        "" => String::new(),
        id => format!("series '{id}': "),
    }
}

/// Series named in one message at most; the rest are counted.
const NAMED: usize = 5;

/// Where a panel came from, to begin a message: the long CSV, or how many files.
fn panel_words(panel: &Panel) -> String {
    match panel.series.iter().filter(|n| n.file.is_some()).count() {
        0 => panel.provenance.path.display().to_string(),
        1 => "the file given".to_string(),
        n => format!("{n} files"),
    }
}

/// Series' warnings shown one by one at most; the rest are counted.
const WARNED: usize = 20;

/// The file's warnings, then each series' notes: a note several series share (the price
/// column chosen, say) once with the series named, and at most [`WARNED`] of them, so that
/// 100,000 series do not print 100,000 lines.
fn report_panel(panel: &Panel, quiet: bool) {
    let path = panel_words(panel);
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

/// The seasonal period to score with: the flag, else the stored or configured one (the
/// first of several), else the calendar's usual one.
fn season_for(
    flag: Option<usize>,
    configured: Option<crate::series::season::Seasons>,
    series: &Series,
) -> Option<usize> {
    flag.or(configured.map(|s| s.first()))
        .or_else(|| series.calendar.season())
}

/// The run configuration (defaults < `--config` file < flags), validated, and its seed:
/// the one given, or one drawn now and recorded in the configuration, so the run can be
/// repeated.
fn resolve(args: &TrainOptions) -> Result<(RunConfig, u64), GrufError> {
    let mut config = RunConfig::default();
    if let Some(path) = &args.config {
        PartialConfig::from_file(path)?.apply(&mut config);
    }
    args.overrides().apply(&mut config);
    config.validate()?;
    let seed = *config.train.seed.get_or_insert_with(random_seed);
    Ok((config, seed))
}

/// Says when a table of errors rests on too few targets or origins to mean much.
fn warn_if_few(n: usize, what: &str, table: &str) {
    if n < FEW {
        warn(&format!(
            "{table} rests on only {what}; errors over so few are mostly noise (hold out more with --test-size, or pass a longer --csv)"
        ));
    }
}

/// What `train` says on a first and a later stopping signal ([`crate::io::interrupt::watch`]).
const TRAIN_WORDS: Words = Words {
    stopping: "finishing this batch and saving the best model so far",
    exiting:
        "the model file is whole (the previous one, or this run's if its save had just finished)",
};

/// The training loop (one network, or `--ensemble N` one after another) with progress on
/// stderr through `reporter`, stopped after the current batch once a signal asks
/// ([`crate::io::interrupt`]; the outcome says where, and an ensemble keeps the networks
/// finished before it). The command says beforehand, with [`crate::io::interrupt::watch`],
/// what a stop keeps; writes are atomic, so an exit at any moment leaves the previous
/// model file whole.
fn run_training(
    config: &RunConfig,
    seed: u64,
    data: &[crate::train::TrainData<'_>],
    device: &Device,
    mut reporter: Reporter,
) -> anyhow::Result<crate::train::Ensemble> {
    let outcome = crate::train::train_ensemble(
        &config.model,
        &config.train,
        seed,
        &Loss::for_head(&config.model.io()),
        data,
        device,
        &mut |e| {
            reporter.event(e);
            match crate::io::interrupt::requested() {
                Some(_) => Flow::Stop,
                None => Flow::Continue,
            }
        },
    );
    reporter.finish();
    outcome
}

/// The error that ends a run stopped by a signal, `msg` saying what was kept; its exit
/// code is the signal's (130 for Ctrl-C, 143 for SIGTERM).
fn stopped(msg: String) -> GrufError {
    let signal = crate::io::interrupt::requested().unwrap_or(crate::error::Signal::Interrupt);
    GrufError::Interrupted(signal, msg)
}

/// The report of the finished part of a run a signal stopped (`backtest`'s folds,
/// `compare`'s runs), marked as such in its format: a first line `partial: {what}` in a
/// table, `# partial: {what}` in CSV, a first field `"partial": "{what}"` in JSON.
fn mark_partial(format: Format, out: String, what: &str) -> String {
    match format {
        Format::Table => format!("partial: {what}\n{out}"),
        Format::Csv => format!("# partial: {what}\n{out}"),
        Format::Json => match out.strip_prefix("{\n") {
            Some(rest) => format!(
                "{{\n  \"partial\": {},\n{rest}",
                serde_json::Value::from(what)
            ),
            // Not an object: wrap it.
            None => format!(
                "{{\n  \"partial\": {},\n  \"report\": {}\n}}\n",
                serde_json::Value::from(what),
                out.trim_end()
            ),
        },
    }
}

/// "1st", "2nd", "3rd", "11th", "22nd".
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The epochs of a network's history, true of one stopped part-way: `10 epochs`,
/// `9 epochs and 3 batches of the 10th`, `3 batches of the 1st epoch`.
fn epochs_words(epochs: usize, interrupted: Option<(usize, usize)>) -> String {
    match interrupted {
        Some((epoch, batches)) if batches > 0 && epoch == epochs => {
            let whole = epochs - 1;
            let part = format!("{batches} batch{}", if batches == 1 { "" } else { "es" });
            match whole {
                0 => format!("{part} of the 1st epoch"),
                n => format!(
                    "{n} epoch{} and {part} of the {}",
                    plural(n),
                    ordinal(epochs)
                ),
            }
        }
        _ => format!("{epochs} epoch{}", plural(epochs)),
    }
}

/// The kept epoch, saying when it is the partial one: `epoch 10`, `epoch 10 after its
/// first 3 batches`.
fn kept_epoch_words(meta: &CheckpointMeta) -> String {
    match meta.interrupted {
        Some((epoch, batches)) if batches > 0 && epoch == meta.best_epoch => format!(
            "epoch {epoch} after its first {batches} batch{}",
            if batches == 1 { "" } else { "es" }
        ),
        _ => format!("epoch {}", meta.best_epoch),
    }
}

/// How long training ran: `trained 8 epochs (stopped early) in 307.8 s`, or for an
/// ensemble `trained an ensemble of 3 networks (seeds 0, 1, 2), 150 epochs in 92.4 s`.
fn trained_words(meta: &CheckpointMeta) -> String {
    let trainings = meta.trainings();
    let epochs: usize = trainings.iter().map(|n| n.history.len()).sum();
    let seconds: f64 = (trainings.iter())
        .flat_map(|n| n.history.iter().map(|r| r.seconds))
        .sum();
    match meta.ensemble_words() {
        None => format!(
            "trained {}{} in {seconds:.1} s",
            epochs_words(epochs, meta.interrupted),
            if meta.stopped_early {
                " (stopped early)"
            } else {
                ""
            },
        ),
        Some(ensemble) => format!("trained {ensemble}, {epochs} epochs in {seconds:.1} s"),
    }
}

/// One line per network of an ensemble (none for a single network): its seed, epochs, the
/// kept epoch and its validation figure, `validation(record)` worded by the caller.
fn network_lines(
    out: &mut Vec<u8>,
    meta: &CheckpointMeta,
    validation: impl Fn(&crate::train::EpochRecord) -> String,
) -> std::io::Result<()> {
    use std::io::Write;
    if meta.networks() == 1 {
        return Ok(());
    }
    for (i, n) in meta.trainings().iter().enumerate() {
        let epochs = n.history.len();
        let kept = &n.history[n.best_epoch - 1];
        writeln!(
            out,
            "  network {} (seed {}): {epochs} epoch{}{}, kept epoch {} ({})",
            i + 1,
            n.seed,
            plural(epochs),
            if n.stopped_early {
                " (stopped early)"
            } else {
                ""
            },
            n.best_epoch,
            validation(kept)
        )?;
    }
    Ok(())
}

/// What `train` says when nothing was held out.
const NO_TEST: &str = "no test part (--test-size 0): nothing was held out to measure accuracy on";

/// Ends `train`'s report: where the model went, printed with `out`; an interrupted run
/// then ends in the error that sets its exit code (the best model so far, or an ensemble's
/// networks finished before the interruption, was saved).
fn report_saved(
    mut out: Vec<u8>,
    model: &std::path::Path,
    meta: &CheckpointMeta,
    interrupted: Option<(usize, usize, usize)>,
) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(c) = &meta.calibration {
        writeln!(out, "{}", intervals_words(c, meta, model))?;
    }
    writeln!(out, "saved model to {}", model.display())?;
    crate::io::output::print(&out)?;
    let Some((network, epoch, batch)) = interrupted else {
        return Ok(());
    };
    let asked = meta.config.train.ensemble;
    let kept = kept_epoch_words(meta);
    let msg = if asked == 1 {
        format!(
            "interrupted {}; saved the best model so far ({kept}) to {}",
            stop_words(epoch, batch),
            model.display()
        )
    } else if network == 1 {
        format!(
            "interrupted in network 1 of {asked}, {}; saved the best model so far ({kept}) as a single network to {}",
            stop_words(epoch, batch),
            model.display()
        )
    } else {
        let kept = meta.networks();
        let place = match (epoch, batch) {
            (1, 0) => format!("before network {network} of {asked} began"),
            _ => format!(
                "in network {network} of {asked}, {}",
                stop_words(epoch, batch)
            ),
        };
        format!(
            "interrupted {place}; saved the {kept} finished network{} ({}) to {}",
            plural(kept),
            match meta.ensemble_words() {
                Some(words) => words,
                None => format!("a single network, seed {}", meta.seed),
            },
            model.display()
        )
    };
    Err(stopped(msg).into())
}

/// Where training stopped ([`crate::train::Outcome::interrupted`]): `at epoch 10, batch
/// 3`, or `after epoch 9` when it stopped between epochs.
fn stop_words(epoch: usize, batch: usize) -> String {
    match batch {
        0 => format!("after epoch {}", epoch - 1),
        _ => format!("at epoch {epoch}, batch {batch}"),
    }
}

/// What `train` says of its calibration: the method, how far ahead each offered level
/// reaches, and a `predict` command that runs (the model's path given when it is not the
/// default). Warns when the validation errors lean to one side.
fn intervals_words(
    c: &crate::intervals::conformal::Calibration,
    meta: &CheckpointMeta,
    model: &std::path::Path,
) -> String {
    let method = match c.method {
        crate::intervals::conformal::Method::Residuals => "split-conformal",
        crate::intervals::conformal::Method::Quantiles => "CQR",
    };
    warn_bias(c);
    let cal = meta.data.calendar.unwrap_or_default();
    let offered = c.offered();
    let reaches: Vec<(Level, usize)> = offered.iter().map(|&l| (l, c.reach_of(l))).collect();
    let words: Vec<String> = match reaches.as_slice() {
        [(_, r), rest @ ..] if *r > 0 && rest.iter().all(|(_, s)| s == r) => {
            let labels: Vec<String> = reaches.iter().map(|(l, _)| l.label()).collect();
            vec![format!(
                "{} % up to {} ahead",
                labels.join(" and "),
                cal.count(*r)
            )]
        }
        _ => (reaches.iter())
            .map(|&(l, r)| match r {
                0 => format!("no {} % (too few)", l.label()),
                r => format!("{} % up to {} ahead", l.label(), cal.count(r)),
            })
            .collect(),
    };
    let head = format!(
        "intervals ({method}) calibrated on {} validation forecasts: {}",
        c.windows(),
        words.join(", ")
    );
    let Some(&(level, reach)) = reaches.iter().find(|(_, r)| *r > 0) else {
        return format!(
            "{head}; retrain with a larger --val-fraction or a longer series for intervals"
        );
    };
    if crate::series::csv::is_stdin_record(&meta.data.path) {
        // No command can name data that came on standard input.
        return format!(
            "{head}; this model was trained from standard input, so give `gruf predict` the \
             data again: --csv FILE --interval {} --steps {reach}",
            level.get()
        );
    }
    let model_flag = model_flag(model);
    format!(
        "{head}: `gruf predict{model_flag} --interval {} --steps {reach}`; coverage in `gruf evaluate{model_flag}`",
        level.get()
    )
}

/// ` --model PATH` for a command gruf suggests about the model at `path` (quoted for the
/// shell where needed), nothing for the default path.
fn model_flag(path: &Path) -> String {
    if path == Path::new(crate::checkpoint::DEFAULT_PATH) {
        String::new()
    } else {
        format!(
            " --model {}",
            crate::io::output::shell_word(&path.display().to_string())
        )
    }
}

/// Warns when a calibration's validation errors lean to one side ([`Calibration::bias`]):
/// the intervals then reach further on that side, and each is stretched to hold its
/// forecast.
///
/// [`Calibration::bias`]: crate::intervals::conformal::Calibration::bias
fn warn_bias(c: &crate::intervals::conformal::Calibration) {
    if let Some(bias) = c.bias() {
        warn(&format!(
            "the model's validation forecasts lean to one side: {bias}; its intervals reach \
             further {} than its forecast, each stretched to hold it (a forecast can sit at \
             the edge of its band)",
            if bias.too_low { "up" } else { "down" }
        ));
    }
}

/// A seed for runs that did not give one; recorded in the checkpoint so they can be repeated.
fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)) % 1_000_000_000
}

/// Warns when the input window of a forecast from the end of `values` (the last `window`)
/// leaves the range a min-max `scaler` was fitted on: the forecast extrapolates there.
/// `whose` starts the message (`series 'AAPL': ` for a series of a global model).
fn warn_extrapolation(whose: &str, scaler: &Scaler, values: &[f64], window: usize) {
    let tail = &values[values.len().saturating_sub(window)..];
    if let (Some((outside, furthest)), Scaler::Minmax { min, max }) = (scaler.outside(tail), scaler)
    {
        warn(&format!(
            "{whose}{outside} of the last {window} values lie outside the range the model was trained on \
             ({} to {}, furthest now {}); the forecast extrapolates",
            money(*min),
            money(*max),
            money(furthest)
        ));
    }
}

/// Warns when min-max scaling fitted on the training part meets values outside its range
/// in `after` (the validation and test parts): forecasts degrade there. `whose` as in
/// [`warn_extrapolation`]; `all` (the whole series) decides the scale-free transform to
/// suggest: `window` needs positive values.
fn warn_outside_training(whose: &str, scaler: &Scaler, after: &[f64], all: &[f64]) {
    if let (Some((outside, furthest)), Scaler::Minmax { min, max }) =
        (scaler.outside(after), scaler)
    {
        let instead = if crate::series::first_non_positive(all).is_some() {
            "diff"
        } else {
            "window"
        };
        warn(&format!(
            "{whose}{outside} validation/test values lie outside the training range {} to {} (furthest {}); \
             min-max scaling extrapolates there and forecasts degrade (try --transform {instead})",
            money(*min),
            money(*max),
            money(furthest)
        ));
    }
}

/// How a consumer of `meta` reads its data: the layout the model stored (price and date
/// columns, date format, id column), with `--column`, `--date-column`, `--date-format` and
/// `--id-column` over it for a `--csv` laid out otherwise. Those flags describe `--csv`,
/// so they are refused without it, as `--id-column` is for a model of one series.
fn data_config(source: &OpenArgs, meta: &CheckpointMeta) -> Result<DataConfig, GrufError> {
    let layout = &source.layout;
    let given = layout.given();
    if !given.is_empty() && source.csv.is_empty() {
        return Err(GrufError::usage(format!(
            "{} describes the layout of --csv, which was not given; the training CSV is read as it was in training",
            given.join(" ")
        )));
    }
    if let (Some(id), false) = (&layout.id_column, meta.is_global()) {
        return Err(GrufError::usage(format!(
            "--id-column {id}: {} was trained on one series, so it reads a CSV of one series; pass a file with that series alone",
            source.model.display()
        )));
    }
    let stored = &meta.config.data;
    Ok(DataConfig {
        column: Some(
            layout
                .column
                .clone()
                .unwrap_or_else(|| meta.data.column.clone()),
        ),
        date_column: Some(
            (layout.date_column.clone()).unwrap_or_else(|| meta.data.date_column.clone()),
        ),
        date_format: layout
            .date_format
            .clone()
            .or_else(|| stored.date_format.clone()),
        id_column: layout
            .id_column
            .clone()
            .or_else(|| stored.id_column.clone()),
        ..stored.clone()
    })
}

/// Says that the model in `path` is an ensemble (nothing for a single network trained as
/// one), and how many networks of those asked for an interrupted training kept.
fn note_ensemble(path: &std::path::Path, meta: &CheckpointMeta) {
    let asked = meta.config.train.ensemble;
    let short = if meta.networks() < asked {
        format!(" ({asked} were asked for; training was interrupted)")
    } else {
        String::new()
    };
    let words = match meta.ensemble_words() {
        Some(words) => format!("{words}{short}: every forecast is their median"),
        None if !short.is_empty() => format!("a single network, seed {}{short}", meta.seed),
        None => return,
    };
    note(&format!("{} is {words}", path.display()));
}

/// The interval levels `evaluate` and `plot` show: [`calibrated_levels`] of the model's
/// calibration (each default level left out said in a note), and none for a model without
/// one; asking such a model for levels is an error naming its file.
fn interval_levels(
    asked: &[Level],
    meta: &CheckpointMeta,
    path: &Path,
) -> Result<Vec<Level>, GrufError> {
    match (&meta.calibration, asked.is_empty()) {
        (None, true) => Ok(Vec::new()),
        (None, false) => Err(GrufError::model(
            path,
            CalibrationError::Missing.to_string(),
        )),
        (Some(calibration), _) => calibrated_levels(calibration, asked, |level, e| {
            note(&format!("no {} % intervals: {e}", level.label()))
        }),
    }
}

/// The levels `calibration` gives one step ahead ([`Calibration::choose`]): one asked for
/// that it cannot give is a usage error.
///
/// [`Calibration::choose`]: crate::intervals::conformal::Calibration::choose
fn calibrated_levels(
    calibration: &crate::intervals::conformal::Calibration,
    asked: &[Level],
    left_out: impl FnMut(Level, CalibrationError),
) -> Result<Vec<Level>, GrufError> {
    calibration
        .choose(asked, 1, left_out)
        .map_err(|e| GrufError::usage(format!("--interval: {e}")))
}

/// The steps ahead at which `evaluate` and `backtest` score intervals by default.
const INTERVAL_STEPS: [usize; 2] = [1, 7];

/// [`INTERVAL_STEPS`] as far as `calibration` supports every one of `levels`, and that
/// reach.
fn interval_steps(
    calibration: &crate::intervals::conformal::Calibration,
    levels: &[Level],
) -> (Vec<usize>, usize) {
    let furthest = INTERVAL_STEPS[INTERVAL_STEPS.len() - 1];
    let reach = calibration.reach(furthest, levels);
    let steps = INTERVAL_STEPS
        .iter()
        .copied()
        .filter(|&h| h <= reach)
        .collect();
    (steps, reach)
}

/// MC dropout's settings from `--samples N` and `--seed S`: `None` without `--samples`;
/// refused for a model trained without dropout, naming its file.
fn sampling(
    samples: Option<u32>,
    seed: u64,
    meta: &CheckpointMeta,
    path: &Path,
) -> Result<Option<crate::intervals::mc_dropout::Sampling>, GrufError> {
    let Some(samples) = samples else {
        return Ok(None);
    };
    if meta.model().network.dropout <= 0.0 {
        return Err(GrufError::model(
            path,
            crate::intervals::mc_dropout::SampleError::NoDropout.to_string(),
        ));
    }
    Ok(Some(crate::intervals::mc_dropout::Sampling {
        samples: samples as usize,
        seed,
    }))
}

/// The MASE denominator for a consumer of `meta`: stored (or recovered from a gruf 1.0
/// file's test metrics); failing both, the naive error on the `before` values of the CSV
/// in use, said in a note.
fn mase_scale(
    meta: &CheckpointMeta,
    member: &crate::checkpoint::FittedSeries,
    before: &[f64],
) -> f64 {
    meta.mase_scale(member).unwrap_or_else(|| {
        note(&format!(
            "this model file (format {}) does not record its training error scale; MASE is scaled by the naive forecast's error on the {} values before the scored span",
            meta.format_version,
            before.len()
        ));
        naive_scale(before)
    })
}
