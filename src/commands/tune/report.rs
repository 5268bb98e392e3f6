//! What `tune` prints and writes: the table of trials, the rule, the winner's preset.

use std::io::Write;
use std::path::Path;

use crate::config::RunConfig;
use crate::text::plural;
use crate::tune::halving::Job;
use crate::tune::log::{Header, Record};
use crate::tune::objective::{self, SeriesScore};

/// `the last 48 values before each series' test part: one forecast of 48 per series`.
pub(super) fn judged_words(header: &Header) -> String {
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

pub(super) fn list(values: &[usize]) -> String {
    let v: Vec<String> = values.iter().map(|x| x.to_string()).collect();
    v.join(", ")
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
pub(super) fn print_table(
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
        "{:>4}  {:>5}  {:>6}  {:>8}  {:>8}  {:>9}  {:>8}  settings",
        "rank", "trial", "epochs", "val MASE", "val sMAPE", "beats", "seconds"
    )?;
    const SHOWN: usize = 10;
    for (i, r) in best.iter().take(SHOWN).enumerate() {
        let s = r.score.unwrap_or_default();
        writeln!(
            out,
            "{:>4}  {:>5}  {:>6}  {:>8.3}  {:>9.2}  {:>9}  {:>8.1}  {}",
            i + 1,
            r.trial,
            r.epochs,
            s.mase,
            s.smape,
            r.beats.map_or("-".into(), |b| b.to_string()),
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
    writeln!(
        out,
        "beats: the series on which the trial's validation MASE is below both the naive's and the seasonal naive's"
    )?;
    crate::io::output::print(&out)?;
    Ok(())
}

/// The command that trains the winner again from its preset, bit for bit: on the threads
/// it trained on, which decide the order gradients are summed in.
pub(super) fn train_command(header: &Header, preset: &Path) -> String {
    let threads = match header.threads {
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
pub(super) fn write_preset(
    path: &Path,
    config: &RunConfig,
    header: &Header,
    best: Job,
    score: f64,
) -> anyhow::Result<()> {
    let text = format!(
        "# Chosen by gruf {} tune (seed {}, {} trials, rungs of {} epochs) on validation only:\n\
         # trial {} at {} epochs, validation MASE {:.4} on {}.\n\
         # The test part was not read during the search. {}:\n\
         #   {}\n\n{}",
        env!("CARGO_PKG_VERSION"),
        header.seed,
        header.trials.len(),
        list(&header.rungs),
        best.trial,
        header.rungs[best.rung],
        score,
        judged_words(header),
        match header.threads {
            0 => "Trained again (bit for bit on as many threads as its job had)",
            _ => "The same model, bit for bit",
        },
        train_command(header, path),
        config.to_toml()
    );
    crate::io::output::write_atomic(path, text.as_bytes())?;
    Ok(())
}
