//! Format 4: format 3 plus the series of a global model. A model of one
//! series writes what format 3 wrote (only the version differs); a global model writes no
//! top-level scaler, inputs or split, and lists each series with what was fitted on it
//! under `series`.

use serde::{Deserialize, Serialize};

use super::v3::{self, Epoch, Evaluation, Input, Provenance, RunConfig, Scaler, Split};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    pub format_version: u32,
    pub gruf_version: String,
    pub created: String,
    pub config: RunConfig,
    pub seed: u64,
    /// The series' scaler (one series); absent for a global model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaler: Option<Scaler>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    pub data: Provenance,
    /// The series' split (one series); absent for a global model.
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
    /// Every series of a global model, in the order trained; absent for one series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<FittedSeries>,
}

/// One series of a global model and what was fitted on its training part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSeries {
    pub id: String,
    pub scaler: Scaler,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    pub split: Split,
    pub mase_scale: Option<f64>,
    /// The series' own file, for a model trained on several `--csv` files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Unix seconds where the series' held-out part begins (see the domain `FittedSeries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_from: Option<i64>,
}

/// A format 3 file is a model of one series.
impl From<v3::Meta> for Meta {
    fn from(m: v3::Meta) -> Meta {
        Meta {
            format: m.format,
            format_version: m.format_version,
            gruf_version: m.gruf_version,
            created: m.created,
            config: m.config,
            seed: m.seed,
            scaler: Some(m.scaler),
            inputs: m.inputs,
            data: m.data,
            split: Some(m.split),
            history: m.history,
            best_epoch: m.best_epoch,
            stopped_early: m.stopped_early,
            interrupted: m.interrupted,
            test: m.test,
            mase_scale: m.mase_scale,
            series: Vec::new(),
        }
    }
}
