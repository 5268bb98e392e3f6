//! `gruf tune`: an honest search for a series' (or a panel's) best settings. Trials are
//! drawn from a space ([`crate::tune::space`]), trained on each series' training part and
//! judged on its validation part only ([`crate::tune::objective`]); successive halving
//! ([`crate::tune::halving`]) trains the best third of each rung longer. Every ended trial
//! is appended to a log ([`crate::tune::log`]) that `--resume` continues. Once the search
//! has ended (or its budget has), the winner's model is calibrated, its test part scored
//! for the first time, and the model and its preset saved.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::checkpoint::Checkpoint;
use crate::cli::TuneArgs;
use crate::config::{PartialConfig, RunConfig};
use crate::error::GrufError;
use crate::io::interrupt::Words;
use crate::io::output::check_writable;
use crate::series::season::Seasons;
use crate::text::plural;
use crate::train::network_seed;
use crate::tune::halving::{Job, Schedule, Search};
use crate::tune::log::{self, Header, Record, LOG_NAME, LOG_VERSION};
use crate::tune::objective::{self, SeriesScore};
use crate::tune::space::{PartialSpace, Shape, Space, Trial};

use super::training::{Checked, Scored, Training, Warnings};
use super::{device, note, report_saved, resolve, season_for, stopped, warn};

mod plan;
mod report;
mod trainer;

use report::{judged_words, list, print_table, train_command, write_preset};
use trainer::{Trained, Trainer};

/// Successive halving keeps the best third of each rung.
const ETA: usize = 3;

/// What `tune` says on a first and a later stopping signal.
const TUNE_WORDS: Words = Words {
    stopping: "stopping the trials now running; every ended trial is in the log",
    exiting: "the log holds every trial that ended; --resume continues from it",
};

pub(super) fn run(args: TuneArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.plan {
        return plan::plan(dir, &args);
    }
    if let Some(dir) = &args.collect {
        return plan::collect(dir, &args);
    }
    let started = Instant::now();
    let quiet = args.options.quiet;
    // Before the log is begun: a search whose results cannot be saved never starts.
    check_writable(&args.model)?;
    check_writable(&args.out_config)?;
    let setup = match &args.resume {
        Some(log) => Setup::resume(log, &args)?,
        None => Setup::start(&args)?,
    };
    let header = &setup.header;
    if !quiet {
        crate::eprintln_lossy!(
            "gruf tune: {} trials, rungs of {} epochs (the best third of each goes on), judged on {}; log {}",
            header.trials.len(),
            list(&header.rungs),
            judged_words(header),
            setup.log.display()
        );
    }
    let mut search = Search::new(
        Schedule {
            rungs: header.rungs.clone(),
            eta: header.eta,
        },
        header.trials.len(),
    );
    for r in &setup.records {
        search.record(r.job(), r.ended());
    }
    let records = setup.records.clone();
    let device = device();
    let deadline = args.budget.map(|b| started + reserve(b.0));
    crate::io::interrupt::watch(TUNE_WORDS);
    let trainer = Trainer {
        setup: &setup,
        device: &device,
        deadline,
    };
    // Each trial on the search's threads; as many at once as the cores hold, or --jobs.
    let cores = rayon::current_num_threads().max(1);
    let workers = (args.jobs).map_or((cores / header.threads).max(1), |j| j as usize);
    let state = trainer.search(search, records, workers, quiet)?;

    if crate::io::interrupt::requested().is_some() {
        print_table(&state.records, header, setup.baseline(), &setup.log)?;
        return Err(stopped(format!(
            "search stopped with {} trial run{} logged to {}; continue it with: gruf tune --resume {}",
            state.records.len(),
            plural(state.records.len()),
            setup.log.display(),
            setup.log.display()
        ))
        .into());
    }
    let Some((best, score)) = state.search.best() else {
        let why = (state.records.iter())
            .find_map(|r| r.failed.clone())
            .unwrap_or_else(|| "the budget ended before the first trial did".into());
        return Err(GrufError::usage(format!("no trial could be scored: {why}")).into());
    };
    if !state.search.finished() {
        warn(&format!(
            "the budget ended the search after {} of at most {} trial runs; the best so far wins, and gruf tune --resume {} continues it",
            state.search.progress().0,
            state.search.progress().1,
            setup.log.display()
        ));
    }
    print_table(&state.records, header, setup.baseline(), &setup.log)?;

    // The winner: its model from this run, or trained again from its seed.
    let checkpoint = match state.best {
        Some((job, checkpoint)) if job == best => checkpoint,
        _ => {
            if !quiet {
                note(&format!(
                    "training the winner (trial {}) again from its seed: it ended in an earlier run",
                    best.trial
                ));
            }
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(header.threads)
                .build()?;
            // Past the budget's end if need be: the winner is what the search is for.
            let unbounded = Trainer {
                deadline: None,
                ..trainer
            };
            match pool.install(|| unbounded.train(best))? {
                Trained::Done { checkpoint, .. } => *checkpoint,
                Trained::Failed(why) => anyhow::bail!("the winner failed to train again: {why}"),
                Trained::Stopped => {
                    return Err(stopped("stopped while training the winner".into()).into())
                }
            }
        }
    };
    finish(&setup, &args, best, score, checkpoint, &device)
}

/// The winner's model calibrated and its test part scored, for the first time; its preset
/// and model written; the report printed.
fn finish(
    setup: &Setup,
    args: &TuneArgs,
    best: Job,
    score: f64,
    checkpoint: Checkpoint,
    device: &Device,
) -> anyhow::Result<()> {
    let header = &setup.header;
    let config = setup.config_of(best);
    let training = Training::new(setup.checked.clone(), config.clone(), Warnings::Shown)?;
    let Scored { checkpoint, pooled } = training.calibrated_and_scored(checkpoint, device)?;
    write_preset(&args.out_config, &config, header, best, score)?;
    checkpoint.save(&args.model)?;

    let mut out = Vec::new();
    writeln!(
        out,
        "winner: trial {} at {} epochs ({}), validation MASE {:.3}",
        best.trial,
        header.rungs[best.rung],
        header.trials[best.trial].describe(),
        score
    )?;
    writeln!(
        out,
        "the test part, read now for the first time (the search never saw it):"
    )?;
    out.extend(match training.unnamed() {
        Some(one) => super::train::one_series(one, &checkpoint, device)?,
        None => super::train::panel(&checkpoint, pooled.as_ref())?,
    });
    writeln!(
        out,
        "wrote the winner's settings to {}; to train it again: {}",
        args.out_config.display(),
        train_command(header, &args.out_config)
    )?;
    report_saved(out, &args.model, &checkpoint.meta, None)
}

/// The search's deadline inside `budget`: a little is kept for scoring and saving the
/// winner (3 %, at least 2 s, at most a minute).
fn reserve(budget: Duration) -> Duration {
    let kept = (budget.as_secs_f64() * 0.03).clamp(2.0, 60.0);
    Duration::from_secs_f64((budget.as_secs_f64() - kept).max(budget.as_secs_f64() * 0.5))
}

/// The search to run: its header, the data, the log and what it already holds.
struct Setup {
    header: Header,
    base: RunConfig,
    checked: Checked,
    log: PathBuf,
    records: Vec<Record>,
}

impl Setup {
    /// A new search: [`Setup::draw`], its header written to a log that did not exist.
    fn start(args: &TuneArgs) -> anyhow::Result<Setup> {
        if args.log.exists() {
            return Err(GrufError::usage(format!(
                "{} exists: continue that search with gruf tune --resume {}, or name a new log with --log",
                args.log.display(),
                args.log.display()
            ))
            .into());
        }
        check_writable(&args.log)?;
        let setup = Setup::draw(args, ETA, args.log.clone())?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&args.log)
            .map_err(|e| GrufError::write(&args.log, e, true))?;
        file.write_all(log::line(&setup.header).as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| GrufError::write(&args.log, e, false))?;
        Ok(setup)
    }

    /// The search the arguments describe: the base configuration from --config and the
    /// flags, the data, the space, the validation part and the trials drawn by the seed;
    /// rungs by successive halving with `eta` (a plan, whose trials all train to the end,
    /// has one rung).
    fn draw(args: &TuneArgs, eta: usize, log: PathBuf) -> anyhow::Result<Setup> {
        let (base, seed) = resolve(&args.options)?;
        let cores = rayon::current_num_threads().max(1);
        let quiet = args.options.quiet;
        if args.csv.iter().any(|p| p.as_os_str() == "-") {
            return Err(GrufError::usage(
                "gruf tune reads its data again to resume or retrain: give --csv a file, not standard input",
            )
            .into());
        }
        let checked = Checked::unchecked(&args.csv, &base, quiet)?;
        let steps = args
            .steps
            .map_or(base.model.framing.horizon, |s| s as usize);
        let series = &checked.panel.series;
        let shortest = series
            .iter()
            .map(|s| s.loaded.series.len())
            .min()
            .unwrap_or(0);
        let test = base.train.test_days;
        let mut space = Space::default_for(Shape {
            season: season_for(None, base.data.season, &series[0].loaded.series),
            pre_test: shortest.saturating_sub(test),
            steps,
            epochs: base.train.epochs,
            // Only the values before the test part: it must not shape the search.
            positive: series.iter().all(|s| {
                let values = &s.loaded.series.values;
                values[..values.len().saturating_sub(test)]
                    .iter()
                    .all(|&v| v > 0.0)
            }),
            covariates: !base.data.inputs.is_empty(),
            ensemble: base.train.ensemble,
            recent_windows: base.train.recent_windows,
        });
        if let Some(path) = &args.space {
            space = space.with(read_space(path)?);
        }
        fix_flags(&mut space, &args.options);
        space.check(&base).map_err(|msg| match &args.space {
            Some(path) => GrufError::Config {
                path: path.clone(),
                msg,
            },
            None => GrufError::usage(msg),
        })?;
        let val_size = match base.train.val_size {
            0 => validation_size(&checked, &base, &space, steps),
            n => n,
        };
        let seasons = Seasons::or_calendar(base.data.season, &series[0].loaded.series.calendar);
        let allowed = |t: &Trial| {
            let lookback = t.transform.lookback(t.window);
            let long_enough = shortest >= lookback + test + val_size + 2;
            let seasonal = match (t.transform, seasons) {
                (crate::features::scaler::TransformKind::Seasonal, None) => false,
                (crate::features::scaler::TransformKind::Seasonal, Some(s)) => {
                    s.check_window(t.window).is_ok()
                }
                _ => true,
            };
            let covariates = base.data.inputs.is_empty() || t.horizon >= steps;
            long_enough && seasonal && covariates
        };
        let first = Trial::of(&base);
        let first = allowed(&first).then_some(first);
        let trials = space.draw(args.trials as usize, seed, first, allowed);
        if trials.is_empty() {
            return Err(GrufError::usage(format!(
                "no setting of the space fits the data: the shortest series has {shortest} values, {test} held out and {val_size} for validation; lower --test-size or give smaller windows in --space"
            ))
            .into());
        }
        let header = Header {
            log: LOG_NAME.into(),
            version: LOG_VERSION,
            gruf_version: env!("CARGO_PKG_VERSION").into(),
            // Absolute, so that --resume and the preset's command work from any folder.
            csv: (args.csv.iter())
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                .map(|p| p.display().to_string())
                .collect(),
            sha256: checked.panel.provenance.sha256.clone(),
            base: base.to_toml(),
            rungs: match eta {
                1 => vec![space.epochs],
                eta => Schedule::new(space.epochs, eta).rungs,
            },
            space,
            seed,
            trials,
            eta,
            steps,
            val_size,
            // The cores shared among --jobs trials at once (all of them for one).
            threads: (cores / args.jobs.map_or(cores, |j| j as usize)).max(1),
        };
        Ok(Setup {
            header,
            base,
            checked,
            log,
            records: Vec::new(),
        })
    }

    /// The search `log` records, its data read again and checked to be the same.
    fn resume(log: &Path, args: &TuneArgs) -> anyhow::Result<Setup> {
        no_settings(args, "--resume continues the search its log describes")?;
        let setup = Setup::read(log, args.options.quiet)?;
        if !args.options.quiet {
            note(&format!(
                "resuming {}: {} trial run{} ended before",
                log.display(),
                setup.records.len(),
                plural(setup.records.len())
            ));
        }
        Ok(setup)
    }

    /// The search `log` (or a plan's header) describes and the records it holds, its data
    /// read again and refused if it changed.
    fn read(log: &Path, quiet: bool) -> anyhow::Result<Setup> {
        let bytes = crate::error::read_input(log, "")?;
        let text = String::from_utf8_lossy(&bytes);
        let read = log::parse(&text).map_err(|m| GrufError::data(log, m))?;
        if read.torn {
            warn(&format!(
                "{}: its last line was cut short (a crash while writing it); that trial runs again",
                log.display()
            ));
            // The torn line is dropped so the next record starts on a line of its own.
            let whole: String = text
                .split_inclusive('\n')
                .filter(|l| l.ends_with('\n'))
                .collect();
            crate::io::output::write_atomic(log, whole.as_bytes())?;
        }
        let header = read.header;
        let mut base = RunConfig::default();
        let partial: PartialConfig = toml::from_str(&header.base).map_err(|e| {
            GrufError::data(
                log,
                format!("line 1: its base configuration does not read: {e}"),
            )
        })?;
        partial.apply(&mut base);
        let csv: Vec<PathBuf> = header.csv.iter().map(PathBuf::from).collect();
        let checked = Checked::unchecked(&csv, &base, quiet)?;
        if checked.panel.provenance.sha256 != header.sha256 {
            return Err(GrufError::data(
                &csv[0],
                format!(
                    "the data changed since the search in {} began (its SHA-256 differs), so its trials would not compare; start a new search with another --log",
                    log.display()
                ),
            )
            .into());
        }
        Ok(Setup {
            header,
            base,
            checked,
            log: log.to_path_buf(),
            records: read.records,
        })
    }
}

impl Setup {
    /// The configuration of `job`: the base with the trial's settings, its rung's epochs,
    /// the trial's seed and the search's validation part.
    fn config_of(&self, job: Job) -> RunConfig {
        let header = &self.header;
        let mut config = self.base.clone();
        header.trials[job.trial].apply(&mut config);
        config.train.epochs = header.rungs[job.rung];
        config.train.seed = Some(network_seed(header.seed, job.trial));
        config.train.val_size = header.val_size;
        config
    }

    /// The naive and seasonal naive forecasts scored as every trial is: the bar a trial
    /// must clear. Each series' validation part is the `val_size` values before its test
    /// part (as every trial's is, unless a short series clamps it).
    fn baseline(&self) -> Option<SeriesScore> {
        let (test, val) = (self.base.train.test_days, self.header.val_size);
        let scores: Vec<SeriesScore> = (self.checked.panel.series.iter())
            .filter_map(|s| {
                let series = &s.loaded.series;
                let end = series.len().checked_sub(test)?;
                let start = end.checked_sub(val).filter(|&s| s > 0)?;
                let season = season_for(None, self.base.data.season, series);
                Some(objective::baselines(
                    &series.values,
                    start..end,
                    self.header.steps,
                    season,
                ))
            })
            .collect();
        objective::pool(&scores)
    }
}

/// `Err` when the data, model or training settings are given to a run that takes them from
/// a log or a plan (`what` says which).
fn no_settings(args: &TuneArgs, what: &str) -> Result<(), GrufError> {
    let given = args.options.overrides();
    if args.options.config.is_some() || given != PartialConfig::default() {
        return Err(GrufError::usage(format!(
            "{what}, with its data and settings: leave out --config and the data, model and training flags (only --budget, --jobs, --model, --out-config and --quiet go with it)"
        )));
    }
    Ok(())
}

fn read_space(path: &Path) -> Result<PartialSpace, GrufError> {
    crate::config::read_toml(path, "; docs/tune.md lists the keys of a space file")
}

/// A model or training flag given on the command line fixes that setting: its choices
/// become the one value.
fn fix_flags(space: &mut Space, flags: &crate::cli::TrainOptions) {
    fn fix<T: Clone>(choices: &mut Vec<T>, flag: &Option<T>) {
        if let Some(v) = flag {
            *choices = vec![v.clone()];
        }
    }
    fix(&mut space.cell, &flags.cell);
    fix(&mut space.layers, &flags.layers);
    fix(&mut space.dropout, &flags.dropout);
    fix(&mut space.window, &flags.window);
    fix(&mut space.transform, &flags.transform);
    fix(&mut space.horizon, &flags.horizon);
    fix(&mut space.lr, &flags.lr);
    fix(&mut space.batch_size, &flags.batch_size);
    fix(&mut space.ensemble, &flags.ensemble);
    fix(&mut space.recent_windows, &flags.recent_windows);
    if let Some(epochs) = flags.epochs {
        space.epochs = epochs;
    }
}

/// Validation targets per series, the same for every trial: a tenth of the targets the
/// longest window leaves before the test part (the median series'), in whole forecasts of
/// `steps`, at least one.
fn validation_size(checked: &Checked, base: &RunConfig, space: &Space, steps: usize) -> usize {
    let longest = (space.window.iter())
        .flat_map(|&w| space.transform.iter().map(move |t| t.lookback(w)))
        .max()
        .unwrap_or(1);
    let mut lengths: Vec<usize> = (checked.panel.series.iter())
        .map(|s| {
            s.loaded
                .series
                .len()
                .saturating_sub(base.train.test_days + longest)
        })
        .collect();
    lengths.sort_unstable();
    let median = lengths[lengths.len() / 2];
    let tenth = (median as f64 * base.train.val_fraction).round() as usize;
    steps * (tenth as f64 / steps as f64).round().max(1.0) as usize
}
