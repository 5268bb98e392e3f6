//! One series from one CSV, made ready to train on and scored after: what `train` and
//! `compare` share. Loading (with its notes), the value check, the chronological split and
//! the transform fitted on the training part only happen once in [`Single::load`]; each
//! training run on it is then packaged with [`Single::checkpoint`], which scores the
//! held-out part exactly as `train` reports it.

use std::path::Path;

use candle_core::Device;

use crate::checkpoint::{Checkpoint, Member};
use crate::config::RunConfig;
use crate::data::{load_csv, Loaded, Provenance, Series};
use crate::error::GrufError;
use crate::evaluate::{naive_scale, season_left_out, Scoring};
use crate::features::Featurizer;
use crate::fill::GapCounts;
use crate::output::plural;
use crate::pipeline::{self, Chosen, Prepared};
use crate::train::{Ensemble, TrainData};
use crate::window::Split;

use super::{note, report_loaded, season_for, warn, warn_outside_training};

/// A series with its split and fitted featurizer, and the run configuration whose model
/// takes the featurizer's inputs.
pub(super) struct Single {
    /// The resolved configuration, `model.features` set to the featurizer's width.
    pub config: RunConfig,
    pub series: Series,
    pub provenance: Provenance,
    pub split: Split,
    pub featurizer: Featurizer,
}

impl Single {
    /// Loads `csv` as `config` says (reporting what loading found unless `quiet`), checks
    /// its values suit the transform, splits it and fits the transform on the training
    /// part; warns when min-max scaling will meet values outside the range it was fitted on.
    pub fn load(csv: &Path, mut config: RunConfig, quiet: bool) -> anyhow::Result<Single> {
        let loaded = load_csv(csv, &config.data)?;
        report_loaded(csv, &loaded, quiet);
        let Loaded {
            series,
            provenance,
            lines,
            filled,
            ..
        } = loaded;
        pipeline::check_values(config.model.transform, Chosen::ThisRun, &series, &lines)
            .map_err(|m| GrufError::data(csv, m))?;
        let Prepared { split, featurizer } =
            pipeline::prepare(&config, &series, config.train.test_days)
                .map_err(|m| GrufError::data(csv, m))?;
        for n in GapCounts::of(&series, &filled, &split).notes(config.data.fill) {
            warn(&format!("{}: {n}", csv.display()));
        }
        // The network's input width is the featurizer's: the price, then each covariate.
        config.model.features = featurizer.features();
        warn_outside_training(
            "",
            &featurizer.scaler,
            &series.values[split.fit_end()..],
            &series.values,
        );
        Ok(Single {
            config,
            series,
            provenance,
            split,
            featurizer,
        })
    }

    /// `3,483 rows 2014-09-17 to 2024-03-31 (daily): 2,746 training windows, 305
    /// validation, 365 days held out for testing`.
    pub fn describe(&self) -> String {
        let (series, split) = (&self.series, &self.split);
        format!(
            "{} rows {} to {} ({}): {} training window{}, {} validation, {} held out for testing",
            series.len(),
            self.provenance.first_date,
            self.provenance.last_date,
            series.calendar.describe(),
            split.train.len(),
            plural(split.train.len()),
            split.val.len(),
            series.calendar.count(split.test.len()),
        )
    }

    /// What the training loop reads.
    pub fn data(&self) -> TrainData<'_> {
        TrainData {
            values: (&self.series).into(),
            featurizer: &self.featurizer,
            split: &self.split,
        }
    }

    /// How the held-out part is scored: MASE on the training part's naive error, the
    /// configured or the calendar's season.
    fn scoring(&self) -> Scoring {
        Scoring {
            mase_scale: naive_scale(&self.series.values[..self.split.fit_end()]),
            season: season_for(None, self.config.data.season, &self.series),
            held_out: true,
        }
    }

    /// The model file of a training run on this series with `config` (this series'
    /// configuration, or one that differs in the cell or the seed) from `seed`, its test
    /// part scored when it has targets past the baselines' history.
    pub fn checkpoint(
        &self,
        config: RunConfig,
        seed: u64,
        trained: Ensemble,
        device: &Device,
    ) -> anyhow::Result<Checkpoint> {
        let first = self.split.test.start;
        let (scoring, left_out) = self.scoring().from_target(first);
        let member = Member {
            id: String::new(),
            scaler: self.featurizer.scaler,
            inputs: self.featurizer.inputs.clone(),
            split: self.split.clone(),
            mase_scale: Some(scoring.mase_scale),
            file: None,
            held_out_from: None,
            held_out_in_utc: false,
        };
        let mut checkpoint =
            Checkpoint::trained(config, seed, vec![member], self.provenance.clone(), trained);
        checkpoint.calibrate(&[(&self.series).into()], device)?;
        if first < self.split.test.end {
            if let Some(m) = left_out {
                note(&season_left_out(m, first, self.series.calendar));
            }
            let forecaster = checkpoint.forecaster(device)?;
            let evaluation = crate::evaluate::evaluate(
                &forecaster,
                &self.series,
                first..self.split.test.end,
                scoring,
            )?;
            checkpoint.meta.test = Some(evaluation);
        }
        Ok(checkpoint)
    }
}
