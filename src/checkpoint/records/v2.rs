//! Format 2 (gruf 1.0): read only. What it shares with format 3 is format 3's records.

use std::path::PathBuf;

use serde::Deserialize;

use super::v3::{self, Epoch, Metrics, ModelConfig, Resample, Scaler, Split, TrainConfig};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Meta {
    pub format: String,
    pub format_version: u32,
    pub gruf_version: String,
    pub created: String,
    pub config: RunConfig,
    pub seed: u64,
    pub scaler: Scaler,
    pub data: Provenance,
    pub split: Split,
    pub history: Vec<Epoch>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    #[serde(default)]
    pub interrupted: Option<(usize, usize)>,
    pub test: Option<Evaluation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataConfig {
    pub column: Option<String>,
    pub date_column: Option<String>,
    pub date_format: Option<String>,
    #[serde(default)]
    pub resample: Option<Resample>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Provenance {
    pub path: PathBuf,
    pub sha256: String,
    pub rows: usize,
    pub first_date: String,
    pub last_date: String,
    pub step_seconds: i64,
    pub column: String,
    pub date_column: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Evaluation {
    pub n: usize,
    pub first_date: String,
    pub last_date: String,
    pub held_out: bool,
    pub rows: Vec<(String, Metrics)>,
}

/// What format 2 lacks stays unknown: no calendar (detected from the CSV in use), no
/// MASE scale (recovered from the test metrics), no season, a comma delimiter.
impl From<Meta> for v3::Meta {
    fn from(m: Meta) -> v3::Meta {
        let d = m.config.data;
        let p = m.data;
        v3::Meta {
            format: m.format,
            format_version: m.format_version,
            gruf_version: m.gruf_version,
            created: m.created,
            config: v3::RunConfig {
                data: v3::DataConfig {
                    column: d.column,
                    date_column: d.date_column,
                    date_format: d.date_format,
                    resample: d.resample,
                    season: None,
                    delimiter: ",".into(),
                    inputs: Vec::new(),
                    id_column: None,
                    fill: None,
                },
                model: m.config.model,
                train: m.config.train,
            },
            seed: m.seed,
            scaler: m.scaler,
            inputs: Vec::new(),
            data: v3::Provenance {
                path: p.path,
                sha256: p.sha256,
                rows: p.rows,
                first_date: p.first_date,
                last_date: p.last_date,
                step_seconds: p.step_seconds,
                calendar: None,
                column: p.column,
                date_column: p.date_column,
            },
            split: m.split,
            history: m.history,
            best_epoch: m.best_epoch,
            stopped_early: m.stopped_early,
            interrupted: m.interrupted,
            test: m.test.map(|e| v3::Evaluation {
                n: e.n,
                first_date: e.first_date,
                last_date: e.last_date,
                held_out: e.held_out,
                rows: e.rows,
                calendar: None,
                season: None,
            }),
            mase_scale: None,
        }
    }
}
