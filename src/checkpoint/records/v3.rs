//! Format 3: format 2 plus the series' calendar, the MASE scale, the seasonal
//! period and the field delimiter.
//!
//! The records below the top one (configuration, scaler, provenance, split, history,
//! scores) are shared by every later format: the keys those formats added sit here as
//! optional ones, absent unless their feature is used (most marked with their format).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    /// The version the file was written in (2 for upgraded format 2 records).
    pub format_version: u32,
    pub gruf_version: String,
    pub created: String,
    pub config: RunConfig,
    pub seed: u64,
    pub scaler: Scaler,
    /// The covariates after the price (`--inputs`), each with its fitted transform;
    /// absent (and written absent) for the price alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    pub data: Provenance,
    pub split: Split,
    pub history: Vec<Epoch>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    #[serde(default)]
    pub interrupted: Option<(usize, usize)>,
    pub test: Option<Evaluation>,
    #[serde(default)]
    pub mase_scale: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    pub column: Option<String>,
    pub date_column: Option<String>,
    pub date_format: Option<String>,
    #[serde(default)]
    pub resample: Option<Resample>,
    #[serde(default)]
    pub season: Option<Season>,
    /// One character, or `tab`; checked when converted.
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Input columns beside the price as configured; absent for the price alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// The column naming the series of a long CSV (format 4); absent for one series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// How missing calendar steps were filled (format 8); absent for none, so models
    /// that fill nothing keep the JSON they had before `--fill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<Fill>,
}

/// `--fill`'s methods but `none` (format 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    Ffill,
    Linear,
    Seasonal,
}

/// The configured seasonal periods: a number as before, a list only for several
/// (which a gruf of one period refuses: it reads a number). Checked when converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Season {
    One(usize),
    Several(Vec<usize>),
}

/// A covariate and its fitted transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub transform: InputTransform,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InputTransform {
    /// The price's transform, relative to the price's anchor.
    Price,
    /// `(f(v) − mean) / std`, `f = ln(1 + v)` when `log`.
    Standard { log: bool, mean: f64, std: f64 },
}

fn comma() -> String {
    ",".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resample {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The recurrent cell (format 6); absent (and written absent) for a GRU, so GRU
    /// models keep the JSON they had before other cells.
    #[serde(default, skip_serializing_if = "Cell::is_gru")]
    pub cell: Cell,
    pub layers: Vec<usize>,
    pub dropout: f64,
    pub window: usize,
    #[serde(default)]
    pub transform: Transform,
    /// Steps predicted at once; absent (and written absent) for one step, so models of
    /// one step keep the JSON they had before direct multi-step forecasts.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub horizon: usize,
    /// The quantile levels of the head (format 7), increasing; absent (and written
    /// absent) for a point model, so point models keep the JSON they had before
    /// quantile heads. Checked when converted, as the flag is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<f64>,
    /// Values per input step; absent (and written absent) for the price alone.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub features: usize,
    /// Calendar inputs by name (`hour`, `weekday`, `month`), in order; absent (and
    /// written absent) without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar: Vec<String>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    #[default]
    Gru,
    /// Format 6.
    Lstm,
    /// Format 6.
    Rnn,
}

impl Cell {
    fn is_gru(&self) -> bool {
        *self == Cell::Gru
    }
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    #[default]
    Minmax,
    Window,
    Logret,
    Diff,
    /// Format 4.
    Seasonal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub patience: usize,
    pub clip_norm: f64,
    pub test_days: usize,
    pub val_fraction: f64,
    /// Validation targets per series in place of the fraction (gruf 1.7); absent for the
    /// fraction.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub val_size: usize,
    pub seed: Option<u64>,
    /// Each series' most recent training windows only (format 4); absent for all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recent_windows: usize,
    /// Networks of an ensemble (format 5); absent for one.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub ensemble: usize,
    /// Backpropagation through each window's last steps only (gruf 1.7); absent for the
    /// whole window. A training setting only: a gruf that does not know the key predicts
    /// from the model as this one does, so it needs no new format version.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub backprop_steps: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Rmsprop,
    Adam,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scaler {
    Minmax {
        min: f64,
        max: f64,
    },
    Window {
        scale: f64,
    },
    Logret {
        scale: f64,
    },
    Diff {
        scale: f64,
    },
    /// Format 4.
    Seasonal {
        m: usize,
        scale: f64,
    },
    /// `seasonal` with several periods, shortest first: a kind of its own, so a gruf
    /// that knows one period refuses the file instead of forecasting with the first.
    Seasons {
        periods: Vec<usize>,
        scale: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub path: PathBuf,
    pub sha256: String,
    pub rows: usize,
    pub first_date: String,
    pub last_date: String,
    pub step_seconds: i64,
    #[serde(default)]
    pub calendar: Option<Calendar>,
    pub column: String,
    pub date_column: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calendar {
    Fixed { seconds: i64 },
    BusinessDays,
    Months { every: u32, end: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub lookback: usize,
    pub train: Range,
    pub val: Range,
    pub test: Range,
}

/// A span of target indices, spelled as serde spells `std::ops::Range` (which refuses
/// other fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_rmse: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub n: usize,
    pub first_date: String,
    pub last_date: String,
    pub held_out: bool,
    pub rows: Vec<(String, Metrics)>,
    #[serde(default)]
    pub calendar: Option<Calendar>,
    #[serde(default)]
    pub season: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    /// `null` when undefined (a true value of zero); a number as before otherwise.
    pub mape: Option<f64>,
    pub smape: f64,
    pub mase: f64,
    pub directional: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_other_fields_as_serde_did() {
        let range = |json: &str| serde_json::from_str::<Range>(json);
        assert_eq!(
            range(r#"{"start":1,"end":4}"#).unwrap(),
            Range { start: 1, end: 4 }
        );
        assert!(range(r#"{"start":1,"end":4,"step":2}"#).is_err());
        assert!(range(r#"{"start":1}"#).is_err());
    }
}
