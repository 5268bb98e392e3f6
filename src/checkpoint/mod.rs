//! The one model file every subcommand shares: safetensors tensors plus gruf's JSON
//! metadata under the header key `gruf`.
//!
//! The metadata carries everything needed to rebuild the model and use it honestly:
//! format version, model config (with the window), the fitted scaler, data provenance,
//! training config and seed, the split, the loss history and the test metrics. Its JSON is
//! spelled by the versioned records in `records/`, never by the domain types, so the
//! program can change without changing the files. Files are written atomically and read
//! whole into memory (never memory-mapped), and every way a file can be wrong — not
//! safetensors, not ours, a newer format, missing, extra, misshapen or non-finite tensors,
//! an invalid stored configuration, scaler, calendar, split or kept epoch, a calibration
//! that does not fit its model or its tensors — is refused with a clear error. Every count
//! and cross-reference in the metadata is checked before anything is allocated from it:
//! a file is untrusted input, and a number in it must not decide how much memory gruf asks
//! for.
//!
//! Where things are:
//! - here: the format's constants and [`Checkpoint`], the file in memory: made by
//!   training ([`Checkpoint::trained`]), giving back its networks and forecasters.
//! - `meta.rs`: [`Meta`], [`FittedSeries`], [`Network`], what the metadata says in domain types.
//! - `names.rs`: the names of the tensors beside the first network's own.
//! - `file.rs`: bytes ↔ [`Checkpoint`]: [`Checkpoint::save`] (atomic),
//!   [`Checkpoint::load`] and every check of the tensors.
//! - `records/`: the metadata JSON: one file of serde records per format version
//!   (`v2.rs` … `v5.rs`; formats 5 to 8 share `v5.rs`), the conversions to and from
//!   [`Meta`], and the dispatch on the file's version (its module doc has the rules).
//!
//! # Adding format 9
//!
//! Any change to the metadata JSON or to the tensors' names or shapes is a new format, so
//! that an older gruf refuses the file with its upgrade message instead of misreading it.
//! 1. The records. A new key that is absent unless its feature is used goes into the
//!    shared records (`records/v3.rs` for the configuration, `records/v5.rs` for the top
//!    level) with `#[serde(default, skip_serializing_if = ..)]`, so that a model without
//!    the feature writes what format 8 wrote but for the version; if older files must not
//!    read the key even when one holds it, say so in `records/mod.rs` as `before_fill`
//!    does. A change to an existing key needs `records/v9.rs`: the records that changed
//!    (reusing the rest), `From<v5::Meta> for v9::Meta`, an arm in `read_str` upgrading
//!    formats 5 to 8 through it, and `from_domain.rs` / `into_domain.rs` moved onto
//!    `v9::Meta`.
//! 2. Here: [`FORMAT_VERSION`] to 9, and a sentence in its doc on what format 9 added.
//! 3. The fixture: in `tests/it/checkpoint.rs`, a `golden_metas_v9` (format 8's models
//!    and some using the new feature) and an ignored `write_format_9_fixture`, run once
//!    (`cargo test --release --test it -- --ignored write_format_9_fixture`) to write
//!    `tests/fixtures/v9/meta.jsonl`, with a `README.md` saying what each line is, as
//!    `v8/` has. The byte-for-byte test then reads `fixture(9)`, and format 8's becomes
//!    `format_8_is_format_9_of_a_model_without_..`: written as its fixture but for the
//!    version, read back as version 8. An old fixture is never rewritten: if its test
//!    fails, the format changed by accident.
//! 4. If the tensors change, a whole format 8 file with what it predicted goes under
//!    `tests/fixtures/v8/` (made by a script beside it, as `v2/make.sh`), read by
//!    `tests/it/compat.rs`, which must predict the same numbers.
//! 5. A while of the `checkpoint_loader` fuzz target (CONTRIBUTING.md says how): the
//!    loader must refuse a broken file, never panic.

use std::sync::Arc;

use candle_core::Device;

use crate::config::RunConfig;
use crate::features::{Columns, Featurizer};
use crate::forecast::calibrate::Validation;
use crate::forecast::Forecaster;
use crate::model::{Model, Weights};
use crate::series::Provenance;

mod file;
mod meta;
mod names;
mod records;

pub use meta::{FittedSeries, Meta, Network};
pub use names::{calibration_tensor, network_prefix};

/// The metadata key holding gruf's JSON.
pub const META_KEY: &str = "gruf";
pub const FORMAT: &str = "gruf-checkpoint";
/// Bumped whenever the metadata JSON changes, so that no gruf misreads a file written by
/// another; each version's JSON is spelled by its records in `records/`, and the bytes
/// of versions 3 to 8 are pinned by `tests/fixtures/v{3,4,5,6,7,8}/meta.jsonl`. Version 8
/// added the fill of missing calendar steps (`config.data.fill`; a model that fills
/// nothing writes what version 7 wrote, and files before it load as filling nothing), the
/// calibration's error space (`"space":"log"`; absent: units, as in every version 7 file)
/// and dates on each series' own clock ([`SERIES_CLOCK_FORMAT`]). Version 7
/// added the quantile head (`config.model.quantiles`, a dense head of K·Q outputs) and the
/// conformal calibration (`calibration` in the metadata, its errors in tensors
/// `calibration.step{k}`); a point model without a calibration writes what version 6
/// wrote. Version 6 added
/// the recurrent cell (LSTM and RNN; a GRU model writes what version 5 wrote). Version 5
/// added the further networks of an ensemble (a model of one network writes what version 4
/// wrote); version 4 added the series of a global model (a model of
/// one series writes what version 3 wrote); version 3 added the calendar and the MASE
/// scale; version 2 files (gruf 1.0) still load: the calendar is then detected from the CSV
/// in use, the scale recovered from the stored test metrics.
pub const FORMAT_VERSION: u32 = 8;
/// The first format whose dates are on each series' own clock (a series at +05:00 keeps
/// its local times); earlier files kept every date in UTC ([`Meta::dates_in_utc`]).
pub const SERIES_CLOCK_FORMAT: u32 = 8;
/// The oldest format this gruf reads.
pub const OLDEST_FORMAT_VERSION: u32 = 2;
/// Where `train` writes and the other subcommands read when `--model` is not given.
pub const DEFAULT_PATH: &str = "gruf-model.safetensors";

/// A model file in memory: its metadata and every tensor it holds.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub meta: Meta,
    /// Every tensor of the file by name: the first network's under PyTorch's names, an
    /// ensemble's further networks' under [`network_prefix`].
    pub weights: Weights,
}

impl Checkpoint {
    /// The checkpoint of a training run that just finished: the current format, this
    /// gruf's version, now as the creation time, and no test metrics yet. `seed` is the
    /// run's, which the first network was trained from; `trained` holds one network or an
    /// ensemble's.
    pub fn trained(
        config: RunConfig,
        seed: u64,
        series: Vec<FittedSeries>,
        data: Provenance,
        trained: crate::train::Ensemble,
    ) -> Checkpoint {
        let mut networks = trained.networks.into_iter().enumerate();
        let (_, first) = networks
            .next()
            .expect("an ensemble has at least one network");
        let mut weights = first.weights;
        let mut ensemble = Vec::new();
        for (i, outcome) in networks {
            let prefix = network_prefix(i);
            weights.extend(
                (outcome.weights.into_iter()).map(|(name, t)| (format!("{prefix}{name}"), t)),
            );
            ensemble.push(Network {
                seed: crate::train::network_seed(seed, i),
                history: outcome.history,
                best_epoch: outcome.best_epoch,
                stopped_early: outcome.stopped_early,
            });
        }
        Checkpoint {
            meta: Meta {
                format: FORMAT.into(),
                format_version: FORMAT_VERSION,
                gruf_version: env!("CARGO_PKG_VERSION").into(),
                created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                config,
                seed,
                series,
                data,
                history: first.history,
                best_epoch: first.best_epoch,
                stopped_early: first.stopped_early,
                interrupted: first.interrupted,
                test: None,
                ensemble,
                calibration: None,
            },
            weights,
        }
    }

    /// The first (for a single model, the only) network, rebuilt from the stored config
    /// and weights.
    pub fn model(&self) -> anyhow::Result<Model> {
        let model = self.meta.model();
        Ok(Model::new(&model.network, &model.io(), &self.weights)?)
    }

    /// Every network, in order: one, or an ensemble's N.
    pub fn models(&self) -> anyhow::Result<Vec<Model>> {
        let mut models = vec![self.model()?];
        let model = self.meta.model();
        for i in 1..self.meta.networks() {
            let prefix = network_prefix(i);
            let weights: Weights = (self.weights.iter())
                .filter_map(|(name, t)| Some((name.strip_prefix(&prefix)?.to_string(), t.clone())))
                .collect();
            models.push(Model::new(&model.network, &model.io(), &weights)?);
        }
        Ok(models)
    }

    /// The network (or an ensemble's networks) with the first (for a model of one series,
    /// the only) series' stored transforms, ready to predict on `device`.
    pub fn forecaster(&self, device: &Device) -> anyhow::Result<Forecaster> {
        self.forecaster_for(self.meta.first(), device)
    }

    /// The network (or an ensemble's networks) with `member`'s stored transforms, ready to
    /// predict its series on `device`.
    pub fn forecaster_for(
        &self,
        member: &FittedSeries,
        device: &Device,
    ) -> anyhow::Result<Forecaster> {
        Forecaster::ensemble(self.models()?, self.featurizer(member), device.clone())?
            .calibrated(self.meta.calibration.clone())
    }

    /// Calibrates the intervals ([`crate::intervals::conformal`]) on each member's validation part:
    /// `columns[i]` are the values of `meta.series[i]`'s series, as trained on. Leaves the
    /// model uncalibrated when no series has a validation target.
    pub fn calibrate(&mut self, columns: &[Columns<'_>], device: &Device) -> anyhow::Result<()> {
        anyhow::ensure!(
            columns.len() == self.meta.series.len(),
            "internal: {} series to calibrate a model of {} on",
            columns.len(),
            self.meta.series.len()
        );
        self.meta.calibration = None;
        let forecasters = (self.meta.series.iter())
            .map(|m| self.forecaster_for(m, device))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let parts: Vec<Validation> = (columns.iter().zip(&forecasters).zip(&self.meta.series))
            .map(|((&columns, forecaster), member)| Validation {
                columns,
                forecaster,
                val: member.split.val.clone(),
            })
            .collect();
        let calibration =
            crate::forecast::calibrate::calibrate(&parts, &self.meta.model().framing)?;
        self.meta.calibration = calibration.map(Arc::new);
        Ok(())
    }

    /// The input contract of `member`'s series: its fitted transforms and the model's shape.
    pub fn featurizer(&self, member: &FittedSeries) -> Featurizer {
        let model = self.meta.model();
        Featurizer {
            scaler: member.scaler,
            window: model.framing.window,
            horizon: model.framing.horizon,
            inputs: member.inputs.clone(),
            calendar: model.framing.calendar.clone(),
        }
    }
}
