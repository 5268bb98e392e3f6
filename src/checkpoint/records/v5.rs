//! Formats 5 to 8, the current one, share these records. Format 5 is format 4 plus
//! the further networks of an ensemble
//! (`--ensemble N`). A model of one network writes what format 4 wrote (only the version
//! differs); an ensemble's top-level `seed`, `history`, `best_epoch` and `stopped_early`
//! are its first network's, and `ensemble` lists the others in order, network `i` (from
//! 1) with its tensors named `ensemble.{i}.` + the first network's names.
//!
//! Format 6 adds `config.model.cell` (`lstm`, `rnn`; absent for a GRU), and the tensors of
//! an LSTM or RNN are named `lstm.` or `rnn.` where a GRU's are `gru.`. A GRU model writes
//! what format 5 wrote but for the version number; the version is new so that gruf 1.3,
//! which reads format 5, refuses an LSTM file with its upgrade message rather than failing
//! on a missing tensor.
//!
//! Format 7 adds `config.model.quantiles` (the levels of a quantile head, after
//! `horizon`; absent for a point model), whose `dense.weight` and `dense.bias` then have
//! K·Q rows, step-major. A point model writes what format 6 wrote but for the version
//! number; the version is new so that gruf 1.4, which reads format 6, refuses a quantile
//! model with its upgrade message rather than reading its head as K point forecasts.
//!
//! Format 8 adds `config.data.fill` (`ffill`, `linear`, `seasonal`, after `id_column`;
//! absent for none): the series were filled at their missing calendar steps, and every
//! consumer fills the CSV it reads the same way. A model that fills nothing writes what
//! format 7 wrote but for the version number; the version is new so that gruf 1.5, which
//! reads format 7, refuses a filled model with its upgrade message rather than reading
//! its CSV unfilled.

use serde::{Deserialize, Serialize};

use super::v3::{Epoch, Evaluation, Input, Provenance, RunConfig, Scaler, Split};
use super::v4::{self, FittedSeries};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    pub format_version: u32,
    pub gruf_version: String,
    pub created: String,
    pub config: RunConfig,
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaler: Option<Scaler>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    pub data: Provenance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    pub history: Vec<Epoch>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    #[serde(default)]
    pub interrupted: Option<(usize, usize)>,
    pub test: Option<Evaluation>,
    #[serde(default)]
    pub mase_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<FittedSeries>,
    /// The networks of an ensemble after the first, in order; absent for one network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ensemble: Vec<Network>,
    /// How the intervals are calibrated (format 7); absent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// The conformal calibration: its method and how many steps ahead it holds errors for,
/// in tensors `calibration.step1` … `calibration.step{steps}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub method: String,
    /// Steps of history whose mean absolute change divides each error (0: none).
    pub spread: usize,
    pub steps: usize,
    /// The levels of a quantile model's sets, lowest first (tensors
    /// `calibration.{label}.step{k}`); absent for residuals (one set, tensors
    /// `calibration.step{k}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<f64>,
    /// Where the errors are measured: "log" for logs of ratios (gruf 1.6, transforms
    /// that need positive values); absent for the network's units (gruf 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
}

/// A further network of an ensemble: its seed and its training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub seed: u64,
    pub history: Vec<Epoch>,
    pub best_epoch: usize,
    pub stopped_early: bool,
}

/// A format 4 file is a model of one network.
impl From<v4::Meta> for Meta {
    fn from(m: v4::Meta) -> Meta {
        Meta {
            format: m.format,
            format_version: m.format_version,
            gruf_version: m.gruf_version,
            created: m.created,
            config: m.config,
            seed: m.seed,
            scaler: m.scaler,
            inputs: m.inputs,
            data: m.data,
            split: m.split,
            history: m.history,
            best_epoch: m.best_epoch,
            stopped_early: m.stopped_early,
            interrupted: m.interrupted,
            test: m.test,
            mase_scale: m.mase_scale,
            series: m.series,
            ensemble: Vec::new(),
            calibration: None,
        }
    }
}
