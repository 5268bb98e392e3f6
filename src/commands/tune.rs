//! `gruf tune`: an honest search for a series' (or a panel's) best settings. Trials are
//! drawn from a space ([`crate::tune::space`]), trained on each series' training part and
//! judged on its validation part only ([`crate::tune::objective`]); successive halving
//! ([`crate::tune::halving`]) trains the best third of each rung longer. Every ended trial
//! is appended to a log ([`crate::tune::log`]) that `--resume` continues. Once the search
//! has ended (or its budget has), the winner's model is calibrated, its test part scored
//! for the first time, and the model and its preset saved.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::checkpoint::Checkpoint;
use crate::cli::TuneArgs;
use crate::config::{PartialConfig, RunConfig};
use crate::error::GrufError;
use crate::io::interrupt::Words;
use crate::io::output::check_writable;
use crate::model::loss::Loss;
use crate::series::season::Seasons;
use crate::text::plural;
use crate::train::{network_seed, Flow};
use crate::tune::halving::{Job, Schedule, Search};
use crate::tune::log::{self, Header, Record, LOG_NAME, LOG_VERSION};
use crate::tune::objective::{self, SeriesScore};
use crate::tune::space::{PartialSpace, Shape, Space, Trial};

use super::training::{Checked, Scored, Training, Warnings};
use super::{device, note, report_saved, resolve, season_for, stopped, warn};

/// Successive halving keeps the best third of each rung.
const ETA: usize = 3;

/// What `tune` says on a first and a later stopping signal.
const TUNE_WORDS: Words = Words {
    stopping: "stopping the trials now running; every ended trial is in the log",
    exiting: "the log holds every trial that ended; --resume continues from it",
};

pub(super) fn run(args: TuneArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let quiet = args.options.quiet;
    let setup = match &args.resume {
        Some(log) => Setup::resume(log, &args)?,
        None => Setup::start(&args)?,
    };
    check_writable(&args.model)?;
    check_writable(&args.out_config)?;
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
    let config = trainer.config_of(best);
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
    let training = Training::new(setup.checked.clone(), config.clone(), Warnings::Shown)?;
    let Scored { checkpoint, pooled } = training.calibrated_and_scored(checkpoint, &device)?;
    write_preset(
        &args.out_config,
        &config,
        header,
        best,
        score,
        header.threads,
    )?;
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
        Some(one) => super::train::one_series(one, &checkpoint, &device)?,
        None => super::train::panel(&checkpoint, pooled.as_ref())?,
    });
    writeln!(
        out,
        "wrote the winner's settings to {}; to train it again: {}",
        args.out_config.display(),
        train_command(header, &args.out_config, header.threads)
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
    /// A new search: the base configuration from --config and the flags, the space, the
    /// trials drawn, the header written to a log that did not exist.
    fn start(args: &TuneArgs) -> anyhow::Result<Setup> {
        let (base, seed) = resolve(&args.options)?;
        let cores = rayon::current_num_threads().max(1);
        let quiet = args.options.quiet;
        if args.log.exists() {
            return Err(GrufError::usage(format!(
                "{} exists: continue that search with gruf tune --resume {}, or name a new log with --log",
                args.log.display(),
                args.log.display()
            ))
            .into());
        }
        check_writable(&args.log)?;
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
        let seasons = base.data.season.or_else(|| {
            let m = series[0].loaded.series.calendar.season()?;
            Seasons::single(m).ok()
        });
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
            rungs: Schedule::new(space.epochs, ETA).rungs,
            space,
            seed,
            trials,
            eta: ETA,
            steps,
            val_size,
            // The cores shared among --jobs trials at once (all of them for one).
            threads: (cores / args.jobs.map_or(cores, |j| j as usize)).max(1),
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&args.log)
            .map_err(|e| GrufError::write(&args.log, e, true))?;
        file.write_all(log::line(&header).as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| GrufError::write(&args.log, e, false))?;
        Ok(Setup {
            header,
            base,
            checked,
            log: args.log.clone(),
            records: Vec::new(),
        })
    }

    /// The search `log` records, its data read again and checked to be the same.
    fn resume(log: &Path, args: &TuneArgs) -> anyhow::Result<Setup> {
        let given = args.options.overrides();
        if args.options.config.is_some() || given != PartialConfig::default() {
            return Err(GrufError::usage(
                "--resume continues the search its log describes, with that log's data and settings: leave out --config and the data, model and training flags (only --budget, --jobs, --model, --out-config and --quiet go with it)",
            )
            .into());
        }
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
        let checked = Checked::unchecked(&csv, &base, args.options.quiet)?;
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
        if !args.options.quiet {
            note(&format!(
                "resuming {}: {} trial run{} ended before",
                log.display(),
                read.records.len(),
                plural(read.records.len())
            ));
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

fn read_space(path: &Path) -> Result<PartialSpace, GrufError> {
    let bytes = crate::error::read_input(path, "")?;
    let text = String::from_utf8(bytes).map_err(|_| GrufError::Config {
        path: path.into(),
        msg: "not valid UTF-8".into(),
    })?;
    toml::from_str(&text).map_err(|e| GrufError::Config {
        path: path.into(),
        msg: e.message().trim().replace('\n', " "),
    })
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

/// `the last 48 values before each series' test part: one forecast of 48 per series`.
fn judged_words(header: &Header) -> String {
    let origins = objective::origins(&(0..header.val_size), header.steps).len();
    format!(
        "the {} value{} before each series' test part ({} forecast{} of {} step{} each, MASE against the seasonal naive where there is a season, else the naive)",
        header.val_size,
        plural(header.val_size),
        origins,
        plural(origins),
        header.steps,
        plural(header.steps)
    )
}

fn list(values: &[usize]) -> String {
    let v: Vec<String> = values.iter().map(|x| x.to_string()).collect();
    v.join(", ")
}

/// How one trial run ended.
enum Trained {
    Done {
        checkpoint: Box<Checkpoint>,
        score: SeriesScore,
    },
    Failed(String),
    /// Stopped by the budget or a signal before it ended: it runs again on --resume.
    Stopped,
}

/// The search's state while trials run.
struct State {
    search: Search,
    records: Vec<Record>,
    /// The best job of this run and its model (the winner's, unless an earlier run's was
    /// better).
    best: Option<(Job, Checkpoint)>,
}

/// Trains and scores trials.
#[derive(Clone, Copy)]
struct Trainer<'a> {
    setup: &'a Setup,
    device: &'a Device,
    deadline: Option<Instant>,
}

impl Trainer<'_> {
    /// True once the budget has ended or a signal asked to stop.
    fn stopping(&self) -> bool {
        crate::io::interrupt::requested().is_some()
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The configuration of `job`: the base with the trial's settings, its rung's epochs,
    /// the trial's seed and the search's validation part.
    fn config_of(&self, job: Job) -> RunConfig {
        let header = &self.setup.header;
        let mut config = self.setup.base.clone();
        header.trials[job.trial].apply(&mut config);
        config.train.epochs = header.rungs[job.rung];
        config.train.seed = Some(network_seed(header.seed, job.trial));
        config.train.val_size = header.val_size;
        config
    }

    /// Trains `job` and scores it on each series' validation part.
    fn train(&self, job: Job) -> anyhow::Result<Trained> {
        let config = self.config_of(job);
        let seed = config.train.seed.unwrap_or(self.setup.header.seed);
        if let Err(e) = config
            .validate()
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                self.setup.checked.check(&config)?;
                Ok(())
            })
        {
            return Ok(Trained::Failed(e.to_string()));
        }
        let training = match Training::new(self.setup.checked.clone(), config, Warnings::Hidden) {
            Ok(t) => t,
            Err(e) => return Ok(Trained::Failed(e.to_string())),
        };
        let c = &training.config;
        let trained = crate::train::train_ensemble(
            &c.model,
            &c.train,
            seed,
            &Loss::for_head(&c.model.io()),
            &training.data(),
            self.device,
            &mut |_| match self.stopping() {
                true => Flow::Stop,
                false => Flow::Continue,
            },
        );
        let trained = match trained {
            Ok(t) if t.interrupted.is_some() => return Ok(Trained::Stopped),
            Ok(t) => t,
            Err(e) => return Ok(Trained::Failed(e.to_string())),
        };
        let checkpoint = training.uncalibrated(training.config.clone(), seed, trained);
        let mut scores = Vec::with_capacity(training.series.len());
        for (fitted, one) in checkpoint.meta.series.iter().zip(&training.series) {
            let forecaster = checkpoint.forecaster_for(fitted, self.device)?;
            let series = &one.named.loaded.series;
            let season = season_for(None, c.data.season, series);
            scores.push(objective::score(
                &forecaster,
                series,
                one.split.val.clone(),
                self.setup.header.steps,
                season,
            )?);
        }
        Ok(match objective::pool(&scores) {
            Some(score) if score.model.mase.is_finite() => Trained::Done {
                checkpoint: Box::new(checkpoint),
                score,
            },
            Some(_) => Trained::Failed("its validation forecasts are not finite".into()),
            None => Trained::Failed("no series has a validation part".into()),
        })
    }

    /// Runs the search's jobs on `jobs` workers, each with its share of the cores, until
    /// it ends, the budget ends or a signal stops it; appends each ended job to the log.
    fn search(
        &self,
        search: Search,
        records: Vec<Record>,
        workers: usize,
        quiet: bool,
    ) -> anyhow::Result<State> {
        let pools = (0..workers.max(1))
            .map(|_| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(self.setup.header.threads)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut file = OpenOptions::new()
            .append(true)
            .open(&self.setup.log)
            .map_err(|e| GrufError::write(&self.setup.log, e, false))?;
        let state = Mutex::new(State {
            search,
            records,
            best: None,
        });
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let log_file: Mutex<&mut File> = Mutex::new(&mut file);
        std::thread::scope(|scope| {
            for pool in &pools {
                scope.spawn(|| {
                    pool.install(|| loop {
                        if self.stopping() || failure.lock().is_ok_and(|f| f.is_some()) {
                            break;
                        }
                        let next = {
                            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                            match s.search.start_next() {
                                Some(job) => Some(job),
                                None if s.search.finished() || s.search.running() == 0 => break,
                                None => None,
                            }
                        };
                        let Some(job) = next else {
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        };
                        let t0 = Instant::now();
                        let result = self.train(job);
                        let seconds = t0.elapsed().as_secs_f64();
                        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                        let (record, checkpoint) = match result {
                            Err(e) => {
                                s.search.abandon(job);
                                if let Ok(mut f) = failure.lock() {
                                    f.get_or_insert(e);
                                }
                                break;
                            }
                            Ok(Trained::Stopped) => {
                                s.search.abandon(job);
                                continue;
                            }
                            Ok(Trained::Failed(why)) => {
                                (self.record(job, None, Some(why), None, seconds), None)
                            }
                            Ok(Trained::Done { checkpoint, score }) => {
                                let best_epoch = Some(checkpoint.meta.best_epoch);
                                (
                                    self.record(job, Some(score.model), None, best_epoch, seconds),
                                    Some(checkpoint),
                                )
                            }
                        };
                        let line = log::line(&record);
                        let written = log_file
                            .lock()
                            .map(|mut f| f.write_all(line.as_bytes()).and_then(|_| f.sync_data()));
                        if let Ok(Err(e)) = written {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(GrufError::write(&self.setup.log, e, false).into());
                            }
                            s.search.abandon(job);
                            break;
                        }
                        s.search.record(job, record.ended());
                        if let Some(checkpoint) = checkpoint {
                            if s.search.best().is_some_and(|(b, _)| b == job) {
                                s.best = Some((job, *checkpoint));
                            }
                        }
                        if !quiet {
                            progress(&s, &record, self.deadline);
                        }
                        s.records.push(record);
                    })
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        Ok(state.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    fn record(
        &self,
        job: Job,
        score: Option<crate::tune::log::Score>,
        failed: Option<String>,
        best_epoch: Option<usize>,
        seconds: f64,
    ) -> Record {
        let header = &self.setup.header;
        Record {
            trial: job.trial,
            rung: job.rung,
            epochs: header.rungs[job.rung],
            seed: network_seed(header.seed, job.trial),
            settings: header.trials[job.trial].clone(),
            score,
            failed,
            best_epoch,
            seconds,
        }
    }
}

/// One line on stderr per ended trial run: its score, the search's progress, the best so
/// far and the time left.
fn progress(s: &State, record: &Record, deadline: Option<Instant>) {
    let (ended, total) = s.search.progress();
    let what = match (&record.score, &record.failed) {
        (Some(score), _) => format!("MASE {:.3} sMAPE {:.2}", score.mase, score.smape),
        (None, why) => format!("failed: {}", why.as_deref().unwrap_or("")),
    };
    let best = match s.search.best() {
        Some((job, score)) => format!("best {score:.3} (trial {})", job.trial),
        None => "no best yet".into(),
    };
    let left = match deadline {
        Some(d) => format!(
            ", {} of the budget left",
            clock(d.saturating_duration_since(Instant::now()))
        ),
        None => String::new(),
    };
    crate::eprintln_lossy!(
        "tune: trial {} at {} epoch{}: {what}, {:.1} s · {ended}/{total} ended, {} running, {} pruned · {best}{left}",
        record.trial,
        record.epochs,
        plural(record.epochs),
        record.seconds,
        s.search.running(),
        s.search.pruned()
    );
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// True when `r` ranks above `b` as the search ranks jobs: a lower validation MASE, then
/// the longer training.
fn better(r: &Record, b: &Record) -> bool {
    let (x, y) = (
        r.score.map_or(f64::NAN, |s| s.mase),
        b.score.map_or(f64::NAN, |s| s.mase),
    );
    x.total_cmp(&y).then(b.rung.cmp(&r.rung)).is_lt()
}

/// The trials, best first (each at its best rung), then those that failed.
fn print_table(
    records: &[Record],
    header: &Header,
    baseline: Option<SeriesScore>,
    log: &Path,
) -> anyhow::Result<()> {
    let mut best: Vec<&Record> = Vec::new();
    for r in records.iter().filter(|r| r.score.is_some()) {
        match best.iter_mut().find(|b| b.trial == r.trial) {
            // As the search ranks jobs: the lower score, then the longer training.
            Some(b) if better(r, b) => *b = r,
            Some(_) => {}
            None => best.push(r),
        }
    }
    best.sort_by(|a, b| {
        let (x, y) = (
            a.score.map_or(f64::NAN, |s| s.mase),
            b.score.map_or(f64::NAN, |s| s.mase),
        );
        x.total_cmp(&y).then(a.trial.cmp(&b.trial))
    });
    let failed: Vec<&Record> = records.iter().filter(|r| r.failed.is_some()).collect();
    let mut out = Vec::new();
    writeln!(
        out,
        "{:>4}  {:>5}  {:>6}  {:>8}  {:>8}  {:>8}  settings",
        "rank", "trial", "epochs", "val MASE", "val sMAPE", "seconds"
    )?;
    const SHOWN: usize = 10;
    for (i, r) in best.iter().take(SHOWN).enumerate() {
        let s = r.score.unwrap_or_default();
        writeln!(
            out,
            "{:>4}  {:>5}  {:>6}  {:>8.3}  {:>9.2}  {:>8.1}  {}",
            i + 1,
            r.trial,
            r.epochs,
            s.mase,
            s.smape,
            r.seconds,
            r.settings.describe()
        )?;
    }
    if best.len() > SHOWN {
        writeln!(
            out,
            "… {} more scored trials in {}",
            best.len() - SHOWN,
            log.display()
        )?;
    }
    if let Some(f) = failed.first() {
        writeln!(
            out,
            "{} trial run{} could not be scored (trial {}: {})",
            failed.len(),
            plural(failed.len()),
            f.trial,
            f.failed.as_deref().unwrap_or("")
        )?;
    }
    writeln!(
        out,
        "chosen on validation only: each trial trained on each series' training part and was judged on {}; nothing after it was read until the winner was chosen",
        judged_words(header)
    )?;
    if let Some(b) = baseline {
        let seasonal = match b.seasonal {
            Some(s) => format!(
                ", the seasonal naive MASE {:.3} (sMAPE {:.2})",
                s.mase, s.smape
            ),
            None => String::new(),
        };
        writeln!(
            out,
            "on the same forecasts the naive scores MASE {:.3} (sMAPE {:.2}){seasonal}",
            b.naive.mase, b.naive.smape
        )?;
    }
    crate::io::output::print(&out)?;
    Ok(())
}

/// The command that trains the winner again from its preset, bit for bit: on the threads
/// it trained on, which decide the order gradients are summed in.
fn train_command(header: &Header, preset: &Path, threads: usize) -> String {
    let threads = match threads {
        0 => String::new(),
        n => format!("RAYON_NUM_THREADS={n} "),
    };
    let csv: Vec<String> = header.csv.iter().map(|c| format!("--csv {c}")).collect();
    format!(
        "{threads}gruf train {} --config {}",
        csv.join(" "),
        preset.display()
    )
}

/// The winner's configuration as a config file, with a comment saying how it was chosen.
fn write_preset(
    path: &Path,
    config: &RunConfig,
    header: &Header,
    best: Job,
    score: f64,
    threads: usize,
) -> anyhow::Result<()> {
    let text = format!(
        "# Chosen by gruf {} tune (seed {}, {} trials, rungs of {} epochs) on validation only:\n\
         # trial {} at {} epochs, validation MASE {:.4} on {}.\n\
         # The test part was not read during the search. The same model, bit for bit:\n\
         #   {}\n\n{}",
        env!("CARGO_PKG_VERSION"),
        header.seed,
        header.trials.len(),
        list(&header.rungs),
        best.trial,
        header.rungs[best.rung],
        score,
        judged_words(header),
        train_command(header, path, threads),
        config.to_toml()
    );
    crate::io::output::write_atomic(path, text.as_bytes())?;
    Ok(())
}
