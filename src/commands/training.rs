//! Training data made ready, for `train` and `compare` alike: one path for a series and
//! for many. The input is always a panel (a plain CSV is a panel of one unnamed series, id
//! ""; `--id-column` or several `--csv` files a panel of named ones). [`Training::load`]
//! loads it and says what loading found, checks every series' values, splits each one and
//! fits its transform on its own training part only (a series that cannot be cut is left
//! out with a warning, unless it is the only one); each training run on it is packaged with
//! [`Training::checkpoint`], which scores the held-out part as `train` reports it.
//!
//! Where one series and a panel differ it is in words, never in the path: a panel names
//! its series in messages and is scored per series and pooled ([`PanelScores`]), one
//! unnamed series keeps the messages and the `meta.test` evaluation of a model of one
//! series (see design-21: ids show only for a named panel).

use std::path::PathBuf;

use candle_core::Device;

use crate::checkpoint::{Checkpoint, FittedSeries};
use crate::config::RunConfig;
use crate::error::GrufError;
use crate::evaluation::evaluate::PanelScores;
use crate::features::split::Split;
use crate::features::Featurizer;
use crate::scores::{naive_scale, season_left_out, Scoring};
use crate::series::fill::GapCounts;
use crate::series::panel::{self, Panel, PanelSeries};
use crate::series::Provenance;
use crate::text::{name_some, plural};
use crate::train::prepare::{self, Chosen, Prepared};
use crate::train::{Ensemble, TrainData};

use super::{note, report_loaded, season_for, warn, warn_outside_training};
use super::{panel_words, report_panel, whose, NAMED};

/// Whether [`Training::new`] shows what splitting the series finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Warnings {
    Shown,
    Hidden,
}

/// One series with its split and the featurizer fitted on its training part.
pub(super) struct TrainingSeries {
    pub named: PanelSeries,
    pub split: Split,
    pub featurizer: Featurizer,
}

/// The series to train on, each ready, and the run configuration whose model takes their
/// featurizers' inputs.
pub(super) struct Training {
    /// The resolved configuration, `model.input_width` set to the featurizers' width.
    pub config: RunConfig,
    /// The series kept, in the panel's order (ids in byte order).
    pub series: Vec<TrainingSeries>,
    /// The file, or the files together.
    pub provenance: Provenance,
    /// Where the data came from, to begin a message: the CSV, or the panel's words.
    source: String,
    /// The file an error names: the CSV as given, or the panel's (its first file).
    file: PathBuf,
    /// True for a panel of named series (`--id-column`, several `--csv`).
    named: bool,
}

/// A trained model file, and for a named panel its held-out parts scored per series and
/// pooled (a model of one series keeps its evaluation in `meta.test`).
pub(super) struct Scored {
    pub checkpoint: Checkpoint,
    pub pooled: Option<PanelScores>,
}

/// The panel in `paths` as `config` reads it (one CSV without an id column: a panel of
/// one unnamed series), what loading found reported (information unless `quiet`) as it is
/// for a file of one series or for a panel.
fn load_panel(paths: &[PathBuf], config: &RunConfig, quiet: bool) -> anyhow::Result<Panel> {
    let panel = panel::load(paths, &config.data)?;
    match panel.series.as_slice() {
        [one] if one.id.is_empty() => report_loaded(&paths[0], &one.loaded, quiet),
        _ => report_panel(&panel, quiet),
    }
    Ok(panel)
}

/// A panel to train on, as `train`, `compare` and `backtest` load it: what loading found
/// reported, and every series' values checked against the transform (a value it cannot
/// take is an error naming the series, and the file: a plain CSV's as the user gave it).
#[derive(Clone)]
pub(super) struct Checked {
    pub panel: Panel,
    /// The first CSV as given, which a plain CSV's messages name.
    given: PathBuf,
    /// True for a panel of named series (`--id-column`, several `--csv`).
    named: bool,
}

impl Checked {
    pub fn load(paths: &[PathBuf], config: &RunConfig, quiet: bool) -> anyhow::Result<Checked> {
        let checked = Checked::unchecked(paths, config, quiet)?;
        checked.check(config)?;
        Ok(checked)
    }

    /// The panel loaded and reported, its values not yet checked against a transform
    /// (`tune` checks each trial's).
    pub fn unchecked(
        paths: &[PathBuf],
        config: &RunConfig,
        quiet: bool,
    ) -> anyhow::Result<Checked> {
        let panel = load_panel(paths, config, quiet)?;
        Ok(Checked {
            named: panel.series.iter().any(|n| !n.id.is_empty()),
            panel,
            given: paths[0].clone(),
        })
    }

    /// `Err` names the first series with a value `config`'s transform cannot take.
    pub fn check(&self, config: &RunConfig) -> Result<(), GrufError> {
        for one in &self.panel.series {
            prepare::check_values(
                config.model.framing.transform,
                Chosen::ThisRun,
                &one.loaded.series,
                &one.loaded.lines,
            )
            .map_err(|m| GrufError::data(self.path_of(one), format!("{}{m}", whose(&one.id))))?;
        }
        Ok(())
    }

    /// The file a message on the series `one` names: a plain CSV as given, else the
    /// series' own file.
    pub fn path_of<'a>(&'a self, one: &'a PanelSeries) -> &'a std::path::Path {
        match self.named {
            true => one.path(),
            false => &self.given,
        }
    }

    /// The file a message on the whole names: a plain CSV as given, else the panel's (its
    /// first file).
    pub fn file(&self) -> &std::path::Path {
        match self.named {
            true => &self.panel.provenance.path,
            false => &self.given,
        }
    }

    /// The panel, a plain CSV's provenance naming the file as it was given (for messages).
    pub fn into_panel(self) -> Panel {
        let file = self.file().to_path_buf();
        Panel {
            provenance: Provenance {
                path: file,
                ..self.panel.provenance
            },
            ..self.panel
        }
    }
}

impl Training {
    /// Loads `paths` as `config` says (reporting what loading found unless `quiet`),
    /// checks each series' values suit the transform, splits it and fits the transform on
    /// its training part; leaves out, with a warning, a series of a panel that cannot be
    /// cut; warns of gaps filled and of min-max scaling that will meet values outside the
    /// range it was fitted on.
    pub fn load(paths: &[PathBuf], config: RunConfig, quiet: bool) -> anyhow::Result<Training> {
        Training::new(
            Checked::load(paths, &config, quiet)?,
            config,
            Warnings::Shown,
        )
    }

    /// [`Training::load`] on a panel already loaded and checked against `config`'s
    /// transform; `warnings` says whether what splitting finds is shown (`tune` shows it
    /// for its first trial only).
    pub fn new(
        mut checked: Checked,
        mut config: RunConfig,
        warnings: Warnings,
    ) -> anyhow::Result<Training> {
        let named = checked.named;
        let source = match named {
            true => panel_words(&checked.panel),
            false => checked.given.display().to_string(),
        };
        let warn = |msg: &str| {
            if warnings == Warnings::Shown {
                warn(msg)
            }
        };
        let file = checked.file().to_path_buf();
        let provenance = checked.panel.provenance.clone();
        let series = std::mem::take(&mut checked.panel.series);
        let total = series.len();
        let mut kept: Vec<TrainingSeries> = Vec::with_capacity(total);
        let mut skipped: Vec<(String, String)> = Vec::new();
        for one in series {
            let s = &one.loaded.series;
            match prepare::prepare(&config, s, config.train.test_days) {
                Ok(Prepared { split, featurizer }) => kept.push(TrainingSeries {
                    named: one,
                    split,
                    featurizer,
                }),
                Err(why) if total == 1 => {
                    let path = checked.path_of(&one);
                    return Err(GrufError::data(path, format!("{}{why}", whose(&one.id))).into());
                }
                Err(why) => skipped.push((one.id, why.to_string())),
            }
        }
        if let Some((id, why)) = skipped.first() {
            if kept.is_empty() {
                return Err(GrufError::data(
                    &provenance.path,
                    format!(
                        "no series can be trained on: all {} were left out (series '{id}': {why})",
                        skipped.len()
                    ),
                )
                .into());
            }
            let ids: Vec<&str> = skipped.iter().map(|(id, _)| id.as_str()).collect();
            warn(&format!(
                "{source}: left out {} series of {total}: {} (series '{id}': {why})",
                skipped.len(),
                name_some(&ids, NAMED)
            ));
        }
        let mut gaps = GapCounts::default();
        for r in &kept {
            gaps.add((r.split).gaps(&r.named.loaded.series, &r.named.loaded.filled));
        }
        let gap_words = match named {
            true => format!("{source}: {} series", kept.len()),
            false => source.clone(),
        };
        for n in gaps.notes(config.data.fill) {
            warn(&format!("{gap_words}: {n}"));
        }
        for r in kept.iter().filter(|_| warnings == Warnings::Shown) {
            let values = &r.named.loaded.series.values;
            warn_outside_training(
                &whose(&r.named.id),
                &r.featurizer.scaler,
                &values[r.split.fit_end()..],
                values,
            );
        }
        // The network's input width is the featurizer's: the price, then each covariate.
        config.model.input_width = kept[0].featurizer.features();
        Ok(Training {
            config,
            series: kept,
            provenance,
            source,
            file,
            named,
        })
    }

    /// The one series, when this is a panel of one unnamed series (a plain CSV): what a
    /// model of one series reports on.
    pub fn unnamed(&self) -> Option<&TrainingSeries> {
        match self.series.as_slice() {
            [one] if !self.named => Some(one),
            _ => None,
        }
    }

    /// Where the data came from, to begin a message.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file an error about the data names.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// One series: `3,483 rows 2014-09-17 to 2024-03-31 (daily): 2,746 training windows,
    /// 305 validation, 365 days held out for testing`; a panel: `3 series, 2100 rows: 1695
    /// training windows, 189 validation, the last 48 hours of each held out for testing`.
    pub fn describe(&self) -> String {
        if let Some(one) = self.unnamed() {
            let (series, split) = (&one.named.loaded.series, &one.split);
            return format!(
                "{} rows {} to {} ({}): {} training window{}, {} validation, {} held out for testing",
                series.len(),
                self.provenance.first_date,
                self.provenance.last_date,
                series.calendar.describe(),
                split.train.len(),
                plural(split.train.len()),
                split.val.len(),
                series.calendar.count(split.test.len()),
            );
        }
        let recent = self.config.train.recent_windows;
        let windows: usize = (self.series.iter())
            .map(|r| r.featurizer.within(&r.split.train).len())
            .map(|n| if recent == 0 { n } else { n.min(recent) })
            .sum();
        let val: usize = self.series.iter().map(|r| r.split.val.len()).sum();
        let rows: usize = (self.series.iter())
            .map(|r| r.named.loaded.series.len())
            .sum();
        let cal = self.series[0].named.loaded.series.calendar;
        format!(
            "{} series, {rows} rows: {windows} training windows, {val} validation, the last {} of each held out for testing",
            self.series.len(),
            cal.count(self.config.train.test_days),
        )
    }

    /// What the training loop reads: every series kept.
    pub fn data(&self) -> Vec<TrainData<'_>> {
        (self.series.iter())
            .map(|r| TrainData {
                values: (&r.named.loaded.series).into(),
                featurizer: &r.featurizer,
                split: &r.split,
            })
            .collect()
    }

    /// The model file of a training run on these series with `config` (this training's
    /// configuration, or one that differs in the cell or the seed) from `seed`: each
    /// series a member that records where its held-out part begins, by date; calibrated on
    /// the validation parts; its held-out parts scored where they have targets.
    pub fn checkpoint(
        &self,
        config: RunConfig,
        seed: u64,
        trained: Ensemble,
        device: &Device,
    ) -> anyhow::Result<Scored> {
        let checkpoint = self.uncalibrated(config, seed, trained);
        self.calibrated_and_scored(checkpoint, device)
    }

    /// The model file of a training run before calibration and scoring: what it learned
    /// and what was fitted on each series' training part, nothing read from the parts
    /// after it.
    pub fn uncalibrated(&self, config: RunConfig, seed: u64, trained: Ensemble) -> Checkpoint {
        let series: Vec<FittedSeries> = (self.series.iter())
            .map(|r| {
                let series = &r.named.loaded.series;
                FittedSeries {
                    id: r.named.id.clone(),
                    scaler: r.featurizer.scaler,
                    inputs: r.featurizer.inputs.clone(),
                    split: r.split.clone(),
                    mase_scale: Some(naive_scale(&series.values[..r.split.fit_end()])),
                    file: r.named.file.clone(),
                    held_out_from: Some(match &r.split.test {
                        test if test.is_empty() => series.dates[test.end - 1] + 1,
                        test => series.dates[test.start],
                    }),
                    held_out_in_utc: false,
                }
            })
            .collect();
        Checkpoint::trained(config, seed, series, self.provenance.clone(), trained)
    }

    /// [`Training::uncalibrated`]'s model calibrated on the validation parts, then its
    /// held-out parts scored: the only place training reads them.
    pub fn calibrated_and_scored(
        &self,
        mut checkpoint: Checkpoint,
        device: &Device,
    ) -> anyhow::Result<Scored> {
        let columns: Vec<_> = self.data().iter().map(|d| d.values).collect();
        checkpoint.calibrate(&columns, device)?;
        if let Some(one) = self.unnamed() {
            checkpoint.meta.test = self.evaluation(&checkpoint, one, device)?;
            return Ok(Scored {
                checkpoint,
                pooled: None,
            });
        }
        let mut chosen: Vec<(&FittedSeries, &PanelSeries)> = (checkpoint.meta.series.iter())
            .zip(self.series.iter().map(|r| &r.named))
            .collect();
        chosen.sort_by(|a, b| panel::natural_cmp(&a.0.id, &b.0.id));
        let pooled = super::held_out::held_out(&checkpoint, &chosen, None, device)?;
        Ok(Scored { checkpoint, pooled })
    }

    /// The test part of one unnamed series scored one step at a time, as a model of one
    /// series stores it (`meta.test`): MASE on the training part's naive error, the
    /// configured or the calendar's season; `None` without a target past the baselines'
    /// history.
    fn evaluation(
        &self,
        checkpoint: &Checkpoint,
        one: &TrainingSeries,
        device: &Device,
    ) -> anyhow::Result<Option<crate::scores::Evaluation>> {
        let (series, split) = (&one.named.loaded.series, &one.split);
        let first = split.test.start;
        let scoring = Scoring {
            mase_scale: naive_scale(&series.values[..split.fit_end()]),
            season: season_for(None, self.config.data.season, series),
            held_out: true,
        };
        let (scoring, left_out) = scoring.from_target(first);
        if first >= split.test.end {
            return Ok(None);
        }
        if let Some(m) = left_out {
            note(&season_left_out(m, first, series.calendar));
        }
        let forecaster = checkpoint.forecaster(device)?;
        let evaluation = crate::evaluation::evaluate::evaluate(
            &forecaster,
            series,
            first..split.test.end,
            scoring,
        )?;
        Ok(Some(evaluation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::synth::{generate, to_csv, SampleConfig};
    use crate::train::progress::Reporter;

    /// A plain CSV is a panel of one unnamed series, and its member records where its
    /// held-out part begins by date, as every member of a panel does.
    #[test]
    fn every_member_records_where_its_held_out_part_begins() {
        let dir = tempfile::tempdir().unwrap();
        let bars = generate(&SampleConfig {
            rows: 200,
            ..SampleConfig::default()
        });
        let csv = dir.path().join("s.csv");
        std::fs::write(&csv, to_csv(&bars)).unwrap();
        let mut config = RunConfig::default();
        config.model.network.layers = vec![4];
        config.model.framing.window = 10;
        config.train.epochs = 1;
        config.train.test_days = 30;
        let training = Training::load(&[csv], config, true).unwrap();
        assert!(training.unnamed().is_some());
        let device = Device::Cpu;
        let trained = super::super::run_training(
            &training.config,
            1,
            &training.data(),
            &device,
            Reporter::new(true),
        )
        .unwrap();
        let scored = (training.checkpoint(training.config.clone(), 1, trained, &device)).unwrap();
        let member = &scored.checkpoint.meta.series[0];
        let one = &training.series[0];
        assert_eq!(member.id, "");
        assert_eq!(one.split.test.len(), 30);
        let first = one.named.loaded.series.dates[one.split.test.start];
        assert_eq!(member.held_out_from, Some(first));
        assert!(scored.pooled.is_none());
        assert_eq!(scored.checkpoint.meta.test.as_ref().unwrap().n, 30);
    }
}
