//! `gruf compare`: train each recurrent cell from the same seeds on one series or on a
//! panel (each cell a global model), with the split, transform, inputs and horizon of
//! `train` (the same [`Training`]), and compare them on the held-out part (a panel: pooled
//! over its series); optionally draw each cell's best run and keep the best model.
//!
//! Runs go as many at a time as there are cores, each on an equal share of them (see
//! [`train_all`]), from a queue ordered seed by seed. A run's numbers are those `train`
//! gives for its cell and seed with as many threads (`RAYON_NUM_THREADS`): the training
//! kernel's split of a batch depends only on that.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use candle_core::Device;

use crate::cli::{CompareArgs, Format};
use crate::error::GrufError;
use crate::evaluation::compare::{Comparison, HeldOut, Measure, Run};
use crate::io::output::{check_writable, print, write_atomic};
use crate::model::Cell;
use crate::plot::{CompareData, ImageFormat, Line};
use crate::scores::{Contender, Evaluation};
use crate::series::panel::natural_cmp;
use crate::train::progress::Runs;

use super::training::{Scored, Training};
use super::{device, renderer, resolve, run_training};

/// What a comparison trains: each cell from each seed.
struct Plan {
    cells: Vec<Cell>,
    seeds: Vec<u64>,
}

impl Plan {
    /// Every (cell, seed), seed by seed, in the order the runs start.
    fn runs(&self) -> Vec<(Cell, u64)> {
        let cells = &self.cells;
        (self.seeds.iter())
            .flat_map(|&seed| cells.iter().map(move |&cell| (cell, seed)))
            .collect()
    }

    /// "GRU, LSTM, RNN 50,100 × seeds 0, 1, 2", for layers of 50 and 100.
    fn describe(&self, layers: &[usize]) -> String {
        let names: Vec<&str> = self.cells.iter().map(|c| c.label()).collect();
        let widths: Vec<String> = layers.iter().map(usize::to_string).collect();
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        format!(
            "{} {} × seeds {}",
            names.join(", "),
            widths.join(","),
            seeds.join(", ")
        )
    }
}

pub(super) fn run(args: CompareArgs) -> anyhow::Result<()> {
    let (config, seed) = resolve(&args.options)?;
    let plan = plan(&args, seed)?;
    if config.train.ensemble > 1 {
        return Err(GrufError::usage(format!(
            "compare trains single networks, {} seeds per cell (--seeds); --ensemble {} is not supported here",
            plan.seeds.len(),
            config.train.ensemble
        ))
        .into());
    }
    if config.train.test_days == 0 {
        return Err(GrufError::usage(
            "compare scores every cell on the held-out part, and --test-size 0 holds nothing out; pass --test-size N",
        )
        .into());
    }
    let image = match &args.out {
        Some(path) => {
            check_writable(path)?;
            Some((path, ImageFormat::from_path(path)?))
        }
        None => None,
    };
    if let Some(path) = &args.save_best {
        check_writable(path)?;
    }
    let quiet = args.options.quiet;
    let training = Training::load(&args.csv, config, quiet)?;
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: {}; {}",
            training.describe(),
            plan.describe(&training.config.model.network.layers)
        );
    }

    let device = device();
    crate::io::interrupt::watch(COMPARE_WORDS);
    let trained = train_all(&training, &plan, &device, quiet)?;
    let planned = plan.runs().len();
    if trained.is_empty() {
        return Err(super::stopped(format!(
            "compare interrupted before any of its {planned} runs finished; nothing to show"
        ))
        .into());
    }
    let runs = trained
        .iter()
        .map(|c| {
            Run::of(&c.checkpoint.meta, c.pooled.as_ref()).ok_or_else(|| {
                GrufError::data(
                    training.file(),
                    format!(
                        "the held-out part ({}) has no target after the baselines' history; hold out more with --test-size",
                        (training.series[0].named.loaded.series.calendar)
                            .count(training.series[0].split.test.len())
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let comparison = Comparison::new(runs, held_out(&training, &trained[0])?);

    if trained.len() < planned {
        // A partial comparison: its table, but no picture or best model chosen from it.
        let what = format!("interrupted after {} of {planned} runs", trained.len());
        let out = renderer(args.format).comparison(&comparison)?;
        print(super::mark_partial(args.format, out, &what).as_bytes())?;
        let unwritten: Vec<String> = (args.out.iter().chain(&args.save_best))
            .map(|p| p.display().to_string())
            .collect();
        return Err(super::stopped(format!(
            "compare {what}; printed the finished runs (marked partial){}",
            match unwritten.is_empty() {
                true => String::new(),
                false => format!(
                    "; {} not written: a partial comparison does not choose",
                    unwritten.join(" and ")
                ),
            }
        ))
        .into());
    }
    let mut done = Vec::new();
    if let Some((path, format)) = image {
        let picture = picture(&training, &comparison, &trained, &device)?;
        write_atomic(path, &crate::plot::render_compare(&picture, format)?)?;
        // As plot, inspect and sample say it: on stderr, hidden by --quiet.
        super::wrote(&path.display().to_string());
    }
    if let Some(path) = &args.save_best {
        let best = comparison.best_by_validation();
        (scored_of(&trained, best.cell, best.best_seed)?.checkpoint).save(path)?;
        done.push(format!(
            "saved {} seed {} to {} (the cell with the lowest mean validation loss, its seed with the lowest)",
            best.cell.label(),
            best.best_seed,
            path.display()
        ));
    }
    let mut out = renderer(args.format).comparison(&comparison)?;
    // Standard output stays one document in CSV and JSON: what was written goes to stderr.
    for line in done {
        match args.format {
            Format::Table => out.push_str(&format!("{line}\n")),
            Format::Csv | Format::Json => crate::eprintln_lossy!("gruf: {line}"),
        }
    }
    print(out.as_bytes())
}

/// What `compare` says on a first and a later stopping signal.
const COMPARE_WORDS: crate::io::interrupt::Words = crate::io::interrupt::Words {
    stopping: "finishing each run's batch, then printing the runs finished so far",
    exiting: "nothing was printed or written",
};

/// The cells (each once; all by default) and the seeds `seed`, `seed + 1`, … of `args`.
fn plan(args: &CompareArgs, seed: u64) -> Result<Plan, GrufError> {
    if let Some(cell) = args.options.cell {
        return Err(GrufError::usage(format!(
            "--cell {cell} picks the cell of one model; compare trains each of --cells (e.g. --cells {cell},gru)"
        )));
    }
    let cells = args.cells.clone().unwrap_or(Cell::ALL.to_vec());
    for (i, cell) in cells.iter().enumerate() {
        if cells[..i].contains(cell) {
            return Err(GrufError::usage(format!(
                "--cells names {cell} twice; name each cell once (e.g. --cells gru,lstm,rnn)"
            )));
        }
    }
    let seeds = (0..u64::from(args.seeds))
        .map(|i| crate::train::network_seed(seed, i as usize))
        .collect();
    Ok(Plan { cells, seeds })
}

/// Trains every run of `plan` on `training` behind one progress bar and returns their model
/// files, cell by cell, each cell's seeds in order. The runs share the threads of the
/// global pool (`RAYON_NUM_THREADS`, else one per core): as many go at a time as there are
/// threads, each with an equal share of them (two cores: two runs of one thread each; a
/// single run: both), so every run's seconds per epoch are measured alike. The first
/// failure (in that order) stops the runs not yet started and is returned, naming its cell
/// and seed. A stopping signal ([`crate::io::interrupt`]) stops every run: those finished
/// before it are returned, fewer than planned.
fn train_all(
    training: &Training,
    plan: &Plan,
    device: &Device,
    quiet: bool,
) -> anyhow::Result<Vec<Scored>> {
    let runs = plan.runs();
    let bar = Runs::new(quiet, runs.len());
    // Per run: `None` until it ends, then its model file (`None` if a signal stopped it).
    let results: Vec<Mutex<Option<anyhow::Result<Option<Scored>>>>> =
        runs.iter().map(|_| Mutex::new(None)).collect();
    let (next, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
    let threads = rayon::current_num_threads().max(1);
    let workers = threads.min(runs.len());
    let pools = (0..workers)
        .map(|_| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads / workers)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::scope(|scope| {
        for pool in &pools {
            scope.spawn(|| {
                pool.install(|| {
                    while !failed.load(Ordering::SeqCst)
                        && crate::io::interrupt::requested().is_none()
                    {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(cell, seed)) = runs.get(i) else {
                            break;
                        };
                        let label = format!("{} seed {seed}", cell.label());
                        let result = train_one(training, cell, seed, device, &bar, &label);
                        failed.fetch_or(result.is_err(), Ordering::SeqCst);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(result);
                        }
                    }
                })
            });
        }
    });
    bar.finish();
    let mut by_run = Vec::with_capacity(runs.len());
    for (slot, &(cell, seed)) in results.into_iter().zip(&runs) {
        match slot.into_inner().ok().flatten() {
            Some(result) => {
                if let Some(checkpoint) = result? {
                    by_run.push(((cell, seed), checkpoint));
                }
            }
            // Never started: a signal stopped the comparison.
            None if crate::io::interrupt::requested().is_some() => {}
            // Never started: an earlier run failed, and its error was returned above.
            None => anyhow::bail!("internal: {} seed {seed} did not run", cell.label()),
        }
    }
    // Cell by cell, each cell's seeds in order.
    let order = |&((cell, seed), _): &((Cell, u64), _)| {
        let c = plan.cells.iter().position(|&c| c == cell);
        (c, plan.seeds.iter().position(|&s| s == seed))
    };
    by_run.sort_by_key(order);
    Ok(by_run.into_iter().map(|(_, c)| c).collect())
}

/// One run: `cell` from `seed` on `training`, its held-out part scored, as `train` would;
/// `None` if a signal stopped it.
fn train_one(
    training: &Training,
    cell: Cell,
    seed: u64,
    device: &Device,
    bar: &Runs,
    label: &str,
) -> anyhow::Result<Option<Scored>> {
    let mut config = training.config.clone();
    config.model.network.cell = cell;
    config.train.seed = Some(seed);
    let trained = run_training(&config, seed, &training.data(), device, bar.reporter(label))
        .map_err(|e| e.context(label.to_string()))?;
    if trained.interrupted.is_some() {
        return Ok(None);
    }
    training.checkpoint(config, seed, trained, device).map(Some)
}

/// The held-out part every run was scored on, as the first run `scored` it: one series'
/// test part, or a panel's held-out parts pooled.
fn held_out(training: &Training, scored: &Scored) -> anyhow::Result<HeldOut> {
    let meta = &scored.checkpoint.meta;
    let calendar = training.series[0].named.loaded.series.calendar;
    let held_out = match (&scored.pooled, &meta.test) {
        (Some(pooled), _) => HeldOut::pooled(calendar, pooled),
        (None, Some(test)) => test.get(Contender::Naive).map(|naive| HeldOut {
            calendar,
            measure: Measure::Mae,
            series: 1,
            n: test.n,
            first_date: test.first_date.clone(),
            last_date: test.last_date.clone(),
            naive: naive.mae,
        }),
        (None, None) => None,
    };
    held_out.ok_or_else(|| anyhow::anyhow!("internal: a scored run has no naive forecast's score"))
}

/// `cell`'s run from `seed`, scored.
fn scored_of(trained: &[Scored], cell: Cell, seed: u64) -> anyhow::Result<&Scored> {
    trained
        .iter()
        .find(|s| s.checkpoint.meta.model().network.cell == cell && s.checkpoint.meta.seed == seed)
        .ok_or_else(|| anyhow::anyhow!("internal: no run of {} from seed {seed}", cell.label()))
}

/// The held-out part of one series (of a panel: the first, as series are listed): the true
/// values, the naive forecast, and each cell's one-step predictions from its run with the
/// lowest validation loss, each labelled with its MAE on that series.
fn picture(
    training: &Training,
    comparison: &Comparison,
    trained: &[Scored],
    device: &Device,
) -> anyhow::Result<CompareData> {
    let (k, one) = (training.series.iter().enumerate())
        .min_by(|a, b| natural_cmp(&a.1.named.id, &b.1.named.id))
        .ok_or_else(|| anyhow::anyhow!("internal: no series to draw"))?;
    let id = &one.named.id;
    // A run's one-step scores on this series: its test part's, or its part of the panel's.
    let scores = |scored: &Scored| -> anyhow::Result<Evaluation> {
        let found = match &scored.pooled {
            Some(p) => p.series.iter().find(|s| &s.id == id).map(|s| &s.one_step),
            None => scored.checkpoint.meta.test.as_ref(),
        };
        found
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("internal: series '{id}' was not scored"))
    };
    let mae = |e: &Evaluation, who: Contender| e.get(who).map_or(f64::NAN, |m| m.mae);
    let first = scores(&trained[0])?;
    let series = &one.named.loaded.series;
    let cal = series.calendar;
    let column = &trained[0].checkpoint.meta.data.column;
    let end = one.split.test.end;
    let start = end - first.n;
    let targets = start..end;
    let points = |values: Vec<f64>| -> Vec<(i64, f64)> {
        targets
            .clone()
            .map(|t| series.dates[t])
            .zip(values)
            .collect()
    };
    let mut cells = Vec::with_capacity(comparison.cells.len());
    for summary in &comparison.cells {
        let scored = scored_of(trained, summary.cell, summary.best_seed)?;
        let checkpoint = &scored.checkpoint;
        let predicted = checkpoint
            .forecaster_for(&checkpoint.meta.series[k], device)?
            .one_step(series, targets.clone())?;
        let label = format!(
            "{}, seed {} (lowest validation loss), MAE {}",
            summary.cell.label(),
            summary.best_seed,
            crate::text::money(mae(&scores(scored)?, Contender::Model))
        );
        cells.push((
            summary.cell,
            Line {
                label,
                points: points(predicted),
            },
        ));
    }
    let mut file = (Path::new(training.source()).file_name())
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    if training.unnamed().is_none() {
        let n = training.series.len();
        file = format!("series '{id}' of {file} (the first of {n})");
        super::note(&format!(
            "--out draws series '{id}', the first of the {n} compared"
        ));
    }
    Ok(CompareData {
        title: format!(
            "gruf compare: {column}, {file}: one-step forecasts over the held-out {}s",
            cal.unit()
        ),
        value_name: column.clone(),
        daily: series.is_daily(),
        truth: Line {
            label: format!("true {column}"),
            points: (start - 1..end)
                .map(|t| (series.dates[t], series.values[t]))
                .collect(),
        },
        naive: Line {
            label: format!(
                "naive ({}), MAE {}",
                cal.naive_words(),
                crate::text::money(mae(&first, Contender::Naive))
            ),
            points: points(series.values[start - 1..end - 1].to_vec()),
        },
        cells,
    })
}
