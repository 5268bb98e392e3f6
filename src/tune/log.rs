//! The search's log: JSON lines, a [`Header`] saying what is searched, then one [`Record`]
//! per job as it ends. A search stopped by Ctrl-C, the budget or a crash continues from it
//! (`--resume`), and its records are the table a finished search prints.

use serde::{Deserialize, Serialize};

use super::halving::{Ended, Job};
use super::space::{Space, Trial};

/// The log's first line: everything that decides which jobs the search runs, so that a
/// resumed search is the same search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always "gruf tune"; the log's format is `version`.
    pub log: String,
    pub version: u32,
    pub gruf_version: String,
    /// The CSV files, as given, and the SHA-256 of their contents (the panel's).
    pub csv: Vec<String>,
    pub sha256: String,
    /// The base configuration every trial starts from, as a config file.
    pub base: String,
    pub space: Space,
    pub seed: u64,
    pub trials: Vec<Trial>,
    pub rungs: Vec<usize>,
    pub eta: usize,
    /// The forecast length scored, and the validation targets per series.
    pub steps: usize,
    pub val_size: usize,
    /// The threads each trial trains on, on every run of the search (0 in a plan, whose
    /// jobs run where a scheduler puts them): the order gradients
    /// are summed in, and so the last bits of every score, depend on them.
    pub threads: usize,
}

pub const LOG_NAME: &str = "gruf tune";
pub const LOG_VERSION: u32 = 1;

/// One ended job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub trial: usize,
    pub rung: usize,
    pub epochs: usize,
    /// The seed the trial trains from (the same at every rung).
    pub seed: u64,
    pub settings: Trial,
    /// Validation scores pooled over the series (absent when it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// On how many series it beat both the naive and the seasonal naive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beats: Option<Beats>,
    /// The epoch whose weights were kept (lowest validation loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
    pub seconds: f64,
}

/// A trial's validation scores, pooled over the series (each counting the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub mase: f64,
    pub smape: f64,
}

/// On how many of the series (`of`) a model's validation MASE is below both baselines':
/// the naive's and, where the series has a season, the seasonal naive's. A pooled MASE
/// under 1 can hide a majority of series where the model loses; this says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beats {
    pub series: usize,
    pub of: usize,
}

impl std::ops::Add for Beats {
    type Output = Beats;
    fn add(self, other: Beats) -> Beats {
        Beats {
            series: self.series + other.series,
            of: self.of + other.of,
        }
    }
}

impl std::fmt::Display for Beats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.series, self.of)
    }
}

impl Record {
    pub fn job(&self) -> Job {
        Job {
            trial: self.trial,
            rung: self.rung,
        }
    }

    pub fn ended(&self) -> Ended {
        match (&self.score, &self.failed) {
            (Some(s), _) => Ended::Scored(s.mase),
            (None, why) => Ended::Failed(why.clone().unwrap_or_default()),
        }
    }
}

/// A log read back: its header, its records, and whether a last line was cut short (a
/// crash while writing it), which is then left out.
#[derive(Debug)]
pub struct Read {
    pub header: Header,
    pub records: Vec<Record>,
    pub torn: bool,
}

/// Parses a log. `Err` names the line that is not what a log holds.
pub fn parse(text: &str) -> Result<Read, String> {
    let mut lines = text.split_inclusive('\n').enumerate();
    let Some((_, first)) = lines.next() else {
        return Err("the log is empty".into());
    };
    let header: Header = serde_json::from_str(first.trim_end())
        .map_err(|e| format!("line 1 is not a gruf tune log header ({e})"))?;
    if header.log != LOG_NAME || header.version != LOG_VERSION {
        return Err(format!(
            "line 1 is a log of '{}' version {}; this gruf reads '{LOG_NAME}' version {LOG_VERSION}",
            header.log, header.version
        ));
    }
    let mut records = Vec::new();
    let mut torn = false;
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line.trim_end()) {
            Ok(r) if r.trial < header.trials.len() && r.rung < header.rungs.len() => {
                records.push(r)
            }
            Ok(r) => {
                return Err(format!(
                    "line {}: trial {} rung {} is outside the search its header describes",
                    i + 1,
                    r.trial,
                    r.rung
                ))
            }
            // Only the last line can be cut short by a crash: it has no newline.
            Err(_) if !line.ends_with('\n') => torn = true,
            Err(e) => return Err(format!("line {}: not a trial record ({e})", i + 1)),
        }
    }
    Ok(Read {
        header,
        records,
        torn,
    })
}

/// One line of the log: `value` as JSON and a newline.
pub fn line(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string(value).expect("log records always serialise");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;
    use crate::tune::space::Shape;

    fn header() -> Header {
        let space = Space::default_for(Shape {
            season: Some(7),
            pre_test: 1000,
            steps: 1,
            epochs: 9,
            positive: true,
            covariates: false,
            ensemble: 1,
            recent_windows: 0,
        });
        Header {
            log: LOG_NAME.into(),
            version: LOG_VERSION,
            gruf_version: "test".into(),
            csv: vec!["a.csv".into()],
            sha256: "00".into(),
            base: RunConfig::default().to_toml(),
            trials: space.draw(3, 1, None, |_| true),
            space,
            seed: 1,
            rungs: vec![1, 3, 9],
            eta: 3,
            steps: 1,
            val_size: 100,
            threads: 1,
        }
    }

    fn record(trial: usize, score: Option<f64>) -> Record {
        Record {
            trial,
            rung: 0,
            epochs: 1,
            seed: 1 + trial as u64,
            settings: header().trials[trial].clone(),
            score: score.map(|m| Score {
                mase: m,
                smape: 2.0 * m,
            }),
            beats: score.map(|m| Beats {
                series: usize::from(m < 1.0),
                of: 1,
            }),
            failed: score
                .is_none()
                .then(|| "window 120 needs 240 values".into()),
            best_epoch: score.map(|_| 1),
            seconds: 0.5,
        }
    }

    #[test]
    fn a_log_reads_back_and_a_torn_last_line_is_left_out() {
        let text = [
            line(&header()),
            line(&record(0, Some(0.9))),
            line(&record(1, None)),
        ]
        .concat();
        let read = parse(&text).unwrap();
        assert_eq!(read.header, header());
        assert_eq!(read.records, vec![record(0, Some(0.9)), record(1, None)]);
        assert_eq!(
            read.records[1].ended(),
            Ended::Failed("window 120 needs 240 values".into())
        );
        assert!(!read.torn);
        let cut = line(&record(2, Some(0.8)));
        let torn = format!("{text}{}", &cut[..cut.len() / 2]);
        let read = parse(&torn).unwrap();
        assert_eq!(read.records.len(), 2);
        assert!(read.torn);
        // A bad line before the end is an error, named.
        let bad = format!(
            "{}{{oops}}\n{}",
            line(&header()),
            line(&record(0, Some(1.0)))
        );
        assert!(parse(&bad).unwrap_err().starts_with("line 2"));
        assert!(parse("").is_err());
        assert!(parse("{\"a\":1}\n").unwrap_err().starts_with("line 1"));
        let outside = format!(
            "{}{}",
            line(&header()),
            line(&record(0, Some(1.0))).replace("\"trial\":0", "\"trial\":7")
        );
        assert!(parse(&outside).unwrap_err().contains("outside"));
    }
}
