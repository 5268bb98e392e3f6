//! What a model file's metadata says, in domain types: [`Meta`] and, for each series and
//! each further network of an ensemble, [`FittedSeries`] and [`Network`], with the questions
//! consumers ask of them (is the model global, which member is a series', where does its
//! held-out part begin). Nothing here knows how the JSON is spelled: that is `records/`,
//! which also holds [`Meta::to_json`] and [`Meta::from_json`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{ModelConfig, RunConfig};
use crate::features::scaler::Scaler;
use crate::features::split::Split;
use crate::features::Input;
use crate::intervals::conformal::Calibration;
use crate::scores::{Contender, Evaluation};
use crate::series::{Provenance, Series};
use crate::train::EpochRecord;

use super::SERIES_CLOCK_FORMAT;

/// A checkpoint's metadata, in domain types; the file holds it as `records::v5::Meta`.
///
/// `seed`, `history`, `best_epoch`, `stopped_early` and `interrupted` describe the first
/// (for a single model, the only) network; an ensemble's further networks are in
/// `ensemble`.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// [`FORMAT`](super::FORMAT). As read; [`Checkpoint::save`](super::Checkpoint::save)
    /// always writes [`FORMAT`](super::FORMAT).
    pub format: String,
    /// The format version the file was written in. As read;
    /// [`Checkpoint::save`](super::Checkpoint::save) always writes
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION).
    pub format_version: u32,
    pub gruf_version: String,
    /// When training finished (UTC, RFC 3339).
    pub created: String,
    /// The resolved run configuration (data columns, model, training).
    pub config: RunConfig,
    /// The seed actually used (drawn when none was given).
    pub seed: u64,
    /// What was fitted on each series the model was trained on: one for a model of one
    /// series, one per id (in the order trained) for a global model. Never empty.
    pub series: Vec<FittedSeries>,
    pub data: Provenance,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    /// `(epoch, batch)` where the user interrupted training (Ctrl-C), if they did.
    pub interrupted: Option<(usize, usize)>,
    /// `None` when trained with `--test-size 0`.
    pub test: Option<Evaluation>,
    /// An ensemble's networks after the first, in order; empty for a single network.
    /// Network `i` (from 1) has its tensors under
    /// [`network_prefix`](super::network_prefix)`(i)`.
    pub ensemble: Vec<Network>,
    /// What the intervals are calibrated from; `None` in files before format 7. Its errors
    /// are tensors ([`calibration_tensor`](super::calibration_tensor)): metadata read
    /// alone ([`Meta::from_json`]) has the right number of steps, each empty.
    pub calibration: Option<Arc<Calibration>>,
}

/// A further network of an ensemble: its seed and how its training went.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub seed: u64,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub stopped_early: bool,
}

/// One series of a model and what was fitted on its training part alone.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSeries {
    /// The series' id (a value of `--id-column`); empty for a model of one series.
    pub id: String,
    pub scaler: Scaler,
    /// The covariates after the price, each with its fitted transform (empty: the price
    /// alone).
    pub inputs: Vec<Input>,
    pub split: Split,
    /// The naive forecast's MAE on the training part: the MASE denominator for every
    /// later evaluation, whatever CSV it reads. `None` in format 2 files.
    pub mase_scale: Option<f64>,
    /// The file the series was alone in, for a model trained on several `--csv` files;
    /// `None` for a series of a long CSV or a model of one series.
    pub file: Option<PathBuf>,
    /// The date (Unix seconds) where the series' held-out part begins: its first test
    /// row's, or just after its last row's when nothing was held out. Consumers find the
    /// part by date in whatever CSV they read ([`FittedSeries::held_out_origin`]). A model of one
    /// series keeps it in `Meta::test` and `Meta::data`, read into here on load
    /// ([`Meta::date_held_out`]); `None` only for the series of a global model written
    /// before gruf 1.3, found by row index.
    pub held_out_from: Option<i64>,
    /// True when `held_out_from` is on the UTC clock ([`Meta::dates_in_utc`]: a member
    /// knows it without its model's metadata), not on the series' own.
    pub held_out_in_utc: bool,
}

impl FittedSeries {
    /// Where the series' held-out part begins in `series` (the CSV in use): its first row
    /// on or after the stored date (moved onto the series' clock for a file that kept
    /// dates in UTC); in a global model's file from before gruf 1.3, the stored row index
    /// (its first test row, or for a model trained on every row, the first row after
    /// them), exact for the training CSV. `series.len()` when no row is held out.
    pub fn held_out_origin(&self, series: &Series) -> usize {
        match (self.held_out_from, &self.split.test) {
            (Some(from), _) => {
                let from = match self.held_out_in_utc {
                    true => series.zone.from_utc(from),
                    false => from,
                };
                series.dates.partition_point(|&d| d < from)
            }
            (None, test) if test.is_empty() => test.end,
            (None, test) => test.start,
        }
    }
}

impl Meta {
    /// Gives the series of a model of one series the date its held-out part begins, which
    /// its file keeps as the first test date (`test.first_date`), or for a model trained on
    /// every row as the last training date (`data.last_date`, the part then beginning just
    /// after it): one rule then finds every series' part ([`FittedSeries::held_out_origin`]).
    pub fn date_held_out(&mut self) {
        if self.is_global() || self.series[0].held_out_from.is_some() {
            return;
        }
        let parse = |date: &str| crate::series::dates::parse_date(date, None).ok();
        // A date gruf wrote always reads; were one not to, the stored split's row index
        // stands in, as for the oldest global files.
        self.series[0].held_out_from = match &self.test {
            Some(test) => parse(&test.first_date),
            None => parse(&self.data.last_date).map(|t| t + 1),
        };
    }

    /// True for a file that kept every date in UTC (before [`SERIES_CLOCK_FORMAT`]):
    /// consumers move its dates onto the series' clock ([`crate::series::dates::Zone::from_utc`]).
    pub fn dates_in_utc(&self) -> bool {
        self.format_version < SERIES_CLOCK_FORMAT
    }

    pub fn model(&self) -> &ModelConfig {
        &self.config.model
    }

    /// True for a global model: one network over several series, each with its own id.
    pub fn is_global(&self) -> bool {
        self.series.len() > 1 || self.series.iter().any(|m| !m.id.is_empty())
    }

    /// How many networks the model holds: 1, or an ensemble's N.
    pub fn networks(&self) -> usize {
        1 + self.ensemble.len()
    }

    /// Each network's seed, in order.
    pub fn seeds(&self) -> Vec<u64> {
        std::iter::once(self.seed)
            .chain(self.ensemble.iter().map(|n| n.seed))
            .collect()
    }

    /// Each network's training: its seed, history, kept epoch and early stop, in order.
    pub fn trainings(&self) -> Vec<Network> {
        let first = Network {
            seed: self.seed,
            history: self.history.clone(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        };
        std::iter::once(first)
            .chain(self.ensemble.iter().cloned())
            .collect()
    }

    /// "an ensemble of 3 networks (seeds 0, 1, 2)", or `None` for a single network.
    pub fn ensemble_words(&self) -> Option<String> {
        (self.networks() > 1).then(|| {
            let seeds: Vec<String> = self.seeds().iter().map(u64::to_string).collect();
            format!(
                "an ensemble of {} networks (seeds {})",
                self.networks(),
                seeds.join(", ")
            )
        })
    }

    /// The first series' member: the only one of a model of one series.
    pub fn first(&self) -> &FittedSeries {
        &self.series[0]
    }

    /// The member of the series `id`, if the model was trained on it.
    pub fn member(&self, id: &str) -> Option<&FittedSeries> {
        self.series.iter().find(|m| m.id == id)
    }

    /// The MASE denominator of `member`: stored, or for format 2 files (one series)
    /// recovered from the stored test metrics (the naive forecast's MAE over its MASE).
    /// `None` if neither is there.
    pub fn mase_scale(&self, member: &FittedSeries) -> Option<f64> {
        member.mase_scale.or_else(|| {
            let naive = self.test.as_ref()?.get(Contender::Naive)?;
            let scale = naive.mae / naive.mase;
            (scale.is_finite() && scale > 0.0 && !self.is_global()).then_some(scale)
        })
    }
}
