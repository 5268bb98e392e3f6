//! Training and scoring trials, several at once, while the search's state decides which.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::checkpoint::Checkpoint;
use crate::error::GrufError;
use crate::model::loss::Loss;
use crate::text::plural;
use crate::train::{network_seed, Flow};
use crate::tune::halving::{Job, Search};
use crate::tune::log::{self, Record};
use crate::tune::objective::{self, SeriesScore};

use super::super::season_for;
use super::super::training::{Training, Warnings};
use super::Setup;

/// How one trial run ended.
pub(super) enum Trained {
    Done {
        checkpoint: Box<Checkpoint>,
        score: SeriesScore,
    },
    Failed(String),
    /// Stopped by the budget or a signal before it ended: it runs again on --resume.
    Stopped,
}

/// The search's state while trials run.
pub(super) struct State {
    pub search: Search,
    pub records: Vec<Record>,
    /// The best job of this run and its model (the winner's, unless an earlier run's was
    /// better).
    pub best: Option<(Job, Checkpoint)>,
    /// Trials trained at once.
    pub workers: usize,
    /// Seconds and epochs trained in this run, for the time left.
    pub trained: (f64, usize),
}

impl State {
    /// Seconds per epoch so far in this run (`None` before the first trial ends).
    fn rate(&self) -> Option<f64> {
        let (seconds, epochs) = self.trained;
        (epochs > 0).then(|| seconds / epochs as f64)
    }
}

/// Trains and scores trials.
#[derive(Clone, Copy)]
pub(super) struct Trainer<'a> {
    pub setup: &'a Setup,
    pub device: &'a Device,
    pub deadline: Option<Instant>,
}

impl Trainer<'_> {
    /// True once the budget has ended or a signal asked to stop.
    fn stopping(&self) -> bool {
        crate::io::interrupt::requested().is_some()
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Trains `job` and scores it on each series' validation part.
    pub fn train(&self, job: Job) -> anyhow::Result<Trained> {
        let config = self.setup.config_of(job);
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
        Ok(
            match validation_score(&checkpoint, &training, self.setup.header.steps, self.device)? {
                Ok(score) => Trained::Done {
                    checkpoint: Box::new(checkpoint),
                    score,
                },
                Err(why) => Trained::Failed(why),
            },
        )
    }

    /// Runs the search's jobs on `jobs` workers, each with its share of the cores, until
    /// it ends, the budget ends or a signal stops it; appends each ended job to the log.
    pub fn search(
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
            workers: workers.max(1),
            trained: (0.0, 0),
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
                                (self.record(job, Err(why), None, seconds), None)
                            }
                            Ok(Trained::Done { checkpoint, score }) => {
                                let best_epoch = Some(checkpoint.meta.best_epoch);
                                (
                                    self.record(job, Ok(score), best_epoch, seconds),
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
                        s.trained.0 += record.seconds;
                        s.trained.1 += record.epochs;
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
        scored: Result<SeriesScore, String>,
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
            score: scored.as_ref().ok().map(|s| s.model),
            beats: scored.as_ref().ok().map(|s| s.beats),
            failed: scored.err(),
            best_epoch,
            seconds,
        }
    }
}

/// `checkpoint`, trained on `training`'s series, judged on each one's validation part by
/// forecasts of `steps` and pooled; the inner `Err` says why it cannot be scored.
pub(super) fn validation_score(
    checkpoint: &Checkpoint,
    training: &Training,
    steps: usize,
    device: &Device,
) -> anyhow::Result<Result<SeriesScore, String>> {
    let mut scores = Vec::with_capacity(training.series.len());
    for (fitted, one) in checkpoint.meta.series.iter().zip(&training.series) {
        let forecaster = checkpoint.forecaster_for(fitted, device)?;
        let series = &one.named.loaded.series;
        let season = season_for(None, training.config.data.season, series);
        let part = one.split.val.clone();
        scores.push(objective::score(&forecaster, series, part, steps, season)?);
    }
    Ok(match objective::pool(&scores) {
        Some(score) if score.model.mase.is_finite() => Ok(score),
        Some(_) => Err("its validation forecasts are not finite".into()),
        None => Err("no series has a validation part".into()),
    })
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
        None => match s.rate() {
            Some(per_epoch) => format!(
                ", at most about {} left",
                clock(Duration::from_secs_f64(
                    per_epoch * s.search.epochs_left() as f64 / s.workers as f64
                ))
            ),
            None => String::new(),
        },
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
