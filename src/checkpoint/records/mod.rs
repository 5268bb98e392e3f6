//! The metadata JSON: which format version a file is in, the serde records that spell
//! each version, and the conversions between them and the domain types.
//!
//! Why: the domain types change as the program grows (a field of `Metrics` renamed, an
//! enum spelled differently); the files people keep must not change with them. Only these
//! records decide what the JSON says, and nothing outside the checkpoint module sees them.
//!
//! Where things are:
//! - `v2.rs` … `v5.rs`: the records a format version introduced, each file with the
//!   upgrade from the version before (`From<v4::Meta> for v5::Meta`). `v3.rs` holds the
//!   records every later format shares (configuration, scaler, provenance, split, history,
//!   scores); `v5.rs` holds the top record of formats 5 to 8, the current one, since
//!   formats 6 to 8 only added keys that are absent unless their feature is used.
//! - `from_domain.rs`: domain types → the current record (writing, infallible).
//! - `into_domain.rs`: the current record → domain types, checking what serde cannot
//!   (reading).
//! - here: the version dispatch (the format and version read first, then the file's own
//!   records, upgraded version by version to the current one), [`Meta::to_json`] and
//!   [`Meta::from_json`].
//!
//! The conversions to and from domain types are not beside each version because only the
//! current record is ever converted (older ones are upgraded into it first): the version
//! files stay frozen definitions that never change with the program, and the two files
//! that do change when a domain type does say how, in one place each.
//!
//! Rules:
//! - A version's records are frozen once files of that version exist. Field order is the
//!   key order in the file. `tests/it/checkpoint.rs` holds formats 8 to 3 to their bytes
//!   (`tests/fixtures/v8/meta.jsonl`, …, `tests/fixtures/v3/meta.jsonl`); format 2 is held
//!   by gruf 1.0's own files (`tests/it/compat.rs`).
//! - A change to the JSON is a new format version: new records for what changed (reusing
//!   the unchanged ones), [`v5::Meta`]'s place as the written version, and an upgrade from
//!   the previous version's records, as [`v4::Meta`] has into [`v5::Meta`], [`v3::Meta`]
//!   into [`v4::Meta`] and [`v2::Meta`] into [`v3::Meta`]. Optional keys that are absent
//!   unless a feature is used (`calendar`, `id_column`, `ensemble`, `cell`,
//!   `quantiles`, `fill`) sit in the shared records.
//! - Writing always writes the current version. Reading parses the file's version, upgrades
//!   it record by record to the current one, and only then converts to domain types,
//!   checking what serde cannot: the configuration's ranges, the delimiter, the scaler
//!   against the transform, the calendar's step, each split's order, each kept epoch
//!   against its history, and the calibration's size, method and levels against the head
//!   (before its steps are allocated).
//! - Each record accepts what the serde derives on the domain types accepted when they were
//!   the format, defaults included; format 2 records read only what gruf 1.0 wrote.

use std::path::Path;

use crate::checkpoint::meta::Meta;
use crate::error::GrufError;

use super::{FORMAT, FORMAT_VERSION, OLDEST_FORMAT_VERSION};

pub mod v2;
pub mod v3;
pub mod v4;
pub mod v5;
mod from_domain;
mod into_domain;

impl Meta {
    /// The metadata JSON as a file of the current format holds it under
    /// [`META_KEY`](super::META_KEY).
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&v5::Meta::from(self))?)
    }

    /// Metadata JSON of any format version this gruf reads, checked as
    /// [`Checkpoint::load`](super::Checkpoint::load) checks it; `path` only names the file
    /// in messages.
    pub fn from_json(json: &str, path: &Path) -> Result<Meta, GrufError> {
        parse_meta(json).map_err(|msg| GrufError::model(path, msg))
    }
}

/// Reads and checks the metadata JSON: ours, a known version, complete, a valid config
/// and a scaler that fits it. Every version is read through its own records.
pub fn parse_meta(json: &str) -> Result<Meta, String> {
    // The two fields that say how to read the rest, the rest skipped: a JSON tree of a
    // global model's metadata would take about 19 times the text (380 MB for 100,000
    // series).
    #[derive(serde::Deserialize)]
    struct Head {
        format: Option<serde_json::Value>,
        format_version: Option<serde_json::Value>,
    }
    let head = serde_json::from_str::<Head>(json).map_err(|e| {
        match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            // JSON, but not an object with one `format` and one `format_version`.
            Ok(_) => "a safetensors file, but not a gruf model (unknown metadata format)".into(),
            Err(_) => format!("the gruf metadata is not valid JSON ({e})"),
        }
    })?;
    if head.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err("a safetensors file, but not a gruf model (unknown metadata format)".into());
    }
    let known = u64::from(OLDEST_FORMAT_VERSION)..=u64::from(FORMAT_VERSION);
    let version = match head.format_version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if known.contains(&v) => v,
        found => {
            let advice = if found.is_some_and(|v| v > u64::from(FORMAT_VERSION)) {
                "a newer gruf wrote it: upgrade gruf, or retrain with this one"
            } else {
                "retrain it with this gruf"
            };
            let found = found.map_or("missing".to_string(), |v| v.to_string());
            return Err(format!(
                "format version {found}; this gruf ({}) reads versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}: {advice}",
                env!("CARGO_PKG_VERSION")
            ));
        }
    };
    read_str(json, version)
        .map_err(|e| format!("the gruf metadata is incomplete or malformed ({e})"))?
        .into_domain()
}

/// Parses metadata of format `version` (already checked to be one this gruf reads) from
/// its JSON text into the current format's record, without a [`serde_json::Value`] tree in
/// between; `Err` is serde's message.
fn read_str(json: &str, version: u64) -> Result<v5::Meta, serde_json::Error> {
    match version {
        2 => serde_json::from_str::<v2::Meta>(json)
            .map(v3::Meta::from)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        3 => serde_json::from_str::<v3::Meta>(json)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        4 => serde_json::from_str::<v4::Meta>(json).map(v5::Meta::from),
        _ => serde_json::from_str::<v5::Meta>(json).map(|m| before_fill(m, version)),
    }
}

/// Files before format 8 fill nothing, whatever keys they hold.
fn before_fill(mut m: v5::Meta, version: u64) -> v5::Meta {
    if version < 8 {
        m.config.data.fill = None;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data config of a gruf 1.0 file, and the metadata around it.
    fn format_2(data: &str) -> String {
        format!(
            r#"{{"format":"gruf-checkpoint","format_version":2,"gruf_version":"1.0.0",
            "created":"2026-11-25T21:53:28Z","config":{{"data":{data},
            "model":{{"layers":[8],"dropout":0.2,"window":12,"transform":"minmax"}},
            "train":{{"epochs":2,"batch_size":64,"optimizer":"rmsprop","lr":0.001,"patience":0,
            "clip_norm":1.0,"test_days":0,"val_fraction":0.1,"seed":2}}}},"seed":2,
            "scaler":{{"kind":"minmax","min":3098.227816,"max":8190.432045}},
            "data":{{"path":"/tmp/fx/prices.csv","sha256":"0f3d","rows":400,
            "first_date":"2019-01-01","last_date":"2020-02-04","step_seconds":86400,
            "column":"Close","date_column":"Date"}},"split":{{"lookback":12,
            "train":{{"start":12,"end":361}},"val":{{"start":361,"end":400}},
            "test":{{"start":400,"end":400}}}},"history":[{{"epoch":1,"train_loss":0.34,
            "val_loss":1.66,"val_rmse":6560.9,"seconds":0.0027}}],"best_epoch":1,
            "stopped_early":false,"interrupted":null,"test":null}}"#
        )
    }

    #[test]
    fn format_2_reads_with_what_it_lacks_left_unknown() {
        let json = r#"{"column":"Close","date_column":null,"date_format":null,"resample":null}"#;
        let meta = read_str(&format_2(json), 2).unwrap().into_domain().unwrap();
        assert_eq!(meta.format_version, 2);
        assert_eq!(meta.config.data.column.as_deref(), Some("Close"));
        assert_eq!(meta.config.data.delimiter, Default::default());
        assert_eq!(meta.config.data.season, None);
        assert_eq!(meta.data.calendar, None);
        assert_eq!(meta.first().mase_scale, None);
        assert_eq!(meta.first().split.train, 12..361);
        // Fields format 2 never had are not read from a format 2 file.
        let json = r#"{"column":"Close","date_column":null,"date_format":null,"resample":null,
            "season":7,"delimiter":";"}"#;
        let meta = read_str(&format_2(json), 2).unwrap().into_domain().unwrap();
        assert_eq!(meta.config.data.season, None);
        assert_eq!(meta.config.data.delimiter, Default::default());
    }

    #[test]
    fn a_stored_delimiter_is_checked_as_the_flag_is() {
        let json = format_2(r#"{"column":null,"date_column":null,"date_format":null}"#);
        let mut record = read_str(&json, 2).unwrap();
        record.config.data.delimiter = "tab".into();
        let meta = record.clone().into_domain().unwrap();
        assert_eq!(meta.config.data.delimiter.byte(), b'\t');
        assert_eq!(v5::Meta::from(&meta).config.data.delimiter, "tab");
        record.config.data.delimiter = "ab".into();
        let err = record.into_domain().unwrap_err();
        assert!(
            err.starts_with("stored configuration is invalid: delimiter 'ab'"),
            "{err}"
        );
    }
}
