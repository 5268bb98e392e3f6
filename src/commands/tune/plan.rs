//! Past one machine: `--plan DIR` writes one `gruf train` job per trial (its config file
//! and a line of `DIR/commands.txt`) for a scheduler that already exists (GNU parallel, a
//! Slurm job array, Kubernetes Jobs); `--collect DIR` judges the models those jobs saved on
//! validation, as the search does, and keeps the best. Every trial trains to the space's
//! last epoch: without a shared state there is no halving.

use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::cli::TuneArgs;
use crate::error::GrufError;
use crate::io::output::write_atomic;
use crate::text::plural;
use crate::tune::halving::Job;
use crate::tune::log::{self, Record};

use super::super::training::{Training, Warnings};
use super::super::{device, note, warn};
use super::report::{judged_words, print_table};
use super::trainer::validation_score;
use super::{finish, no_settings, Setup};

/// The plan's header in DIR: the search's, with one rung.
const PLAN: &str = "plan.jsonl";

/// Trial `i`'s config file and model file in `dir`.
fn trial_file(dir: &Path, i: usize, ext: &str) -> PathBuf {
    dir.join(format!("trial-{i:03}.{ext}"))
}

pub(super) fn plan(dir: &Path, args: &TuneArgs) -> anyhow::Result<()> {
    let header_path = dir.join(PLAN);
    if header_path.exists() {
        return Err(GrufError::usage(format!(
            "{} holds a plan already: collect it with gruf tune --collect {}, or plan into another folder",
            dir.display(),
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| GrufError::write(dir, e, true))?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut setup = Setup::draw(args, 1, dir.join(PLAN))?;
    // The jobs run on whatever threads the scheduler gives them: not known here.
    setup.header.threads = 0;
    let header = &setup.header;
    let csv: Vec<String> = header.csv.iter().map(|c| format!("--csv {c}")).collect();
    let mut commands = String::new();
    for i in 0..header.trials.len() {
        let config = setup.config_of(Job { trial: i, rung: 0 });
        let preset = trial_file(&dir, i, "toml");
        let text = format!(
            "# Trial {i} of a gruf tune plan ({}): {}\n\n{}",
            dir.display(),
            header.trials[i].describe(),
            config.to_toml()
        );
        write_atomic(&preset, text.as_bytes())?;
        commands.push_str(&format!(
            "gruf train {} --config {} --model {} --quiet\n",
            csv.join(" "),
            preset.display(),
            trial_file(&dir, i, "safetensors").display()
        ));
    }
    write_atomic(&dir.join("commands.txt"), commands.as_bytes())?;
    write_atomic(&header_path, log::line(header).as_bytes())?;
    let n = header.trials.len();
    let list = dir.join("commands.txt");
    crate::io::output::print(
        format!(
            "wrote {n} trial{} to {}, each a gruf train job of {} epoch{}, one per line of {}; run them with any scheduler, for example\n  bash {}                  (here, one after another)\n  parallel -j 2 < {}       (GNU parallel)\n  sbatch --array=1-{n} --wrap 'sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" {} | bash'\nthen rank them on validation: gruf tune --collect {}\n",
            plural(n),
            dir.display(),
            header.rungs[0],
            plural(header.rungs[0]),
            list.display(),
            list.display(),
            list.display(),
            list.display(),
            dir.display()
        )
        .as_bytes(),
    )?;
    Ok(())
}

pub(super) fn collect(dir: &Path, args: &TuneArgs) -> anyhow::Result<()> {
    no_settings(args, "--collect ranks the plan in its folder")?;
    crate::io::output::check_writable(&args.model)?;
    crate::io::output::check_writable(&args.out_config)?;
    let mut setup = Setup::read(&dir.join(PLAN), args.options.quiet)?;
    let device = device();
    let steps = setup.header.steps;
    let mut missing = Vec::new();
    let mut best: Option<(Job, f64, Checkpoint)> = None;
    for i in 0..setup.header.trials.len() {
        let path = trial_file(dir, i, "safetensors");
        if !path.exists() {
            missing.push(i);
            continue;
        }
        let job = Job { trial: i, rung: 0 };
        let config = setup.config_of(job);
        let checkpoint = Checkpoint::load(&path, &device)?;
        let trained = &checkpoint.meta.config;
        if trained.model.network != config.model.network
            || trained.model.framing != config.model.framing
            || trained.train.seed != config.train.seed
            || trained.train.val_size != config.train.val_size
        {
            return Err(GrufError::model(
                &path,
                format!(
                    "was not trained from {}: its settings differ from the trial's",
                    trial_file(dir, i, "toml").display()
                ),
            )
            .into());
        }
        let training = Training::new(setup.checked.clone(), config, Warnings::Hidden)?;
        let scored = validation_score(&checkpoint, &training, steps, &device)?;
        let meta = &checkpoint.meta;
        let record = Record {
            trial: i,
            rung: 0,
            epochs: setup.header.rungs[0],
            seed: meta.seed,
            settings: setup.header.trials[i].clone(),
            score: scored.as_ref().ok().map(|s| s.model),
            beats: scored.as_ref().ok().map(|s| s.beats),
            failed: scored.as_ref().err().cloned(),
            best_epoch: Some(meta.best_epoch),
            seconds: meta.history.iter().map(|e| e.seconds).sum(),
        };
        if let Ok(s) = &scored {
            if best.as_ref().is_none_or(|(_, b, _)| s.model.mase < *b) {
                best = Some((job, s.model.mase, checkpoint));
            }
        }
        setup.records.push(record);
    }
    let Some((job, score, checkpoint)) = best else {
        return Err(GrufError::usage(format!(
            "no trial of {} could be scored: run the jobs of {} first",
            dir.display(),
            dir.join("commands.txt").display()
        ))
        .into());
    };
    if let Some(first) = missing.first() {
        warn(&format!(
            "{} of {} trials have no model yet (the first: {}); ranking those that do",
            missing.len(),
            setup.header.trials.len(),
            trial_file(dir, *first, "safetensors").display()
        ));
    }
    if !args.options.quiet {
        note(&format!("judged on {}", judged_words(&setup.header)));
    }
    print_table(&setup.records, &setup.header, setup.baseline(), &setup.log)?;
    finish(&setup, args, job, score, checkpoint, &device)
}
