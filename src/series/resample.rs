//! Rows aggregated to one per period (`--resample 1h`, `1d`): minute bars to hourly or
//! daily closes, each period's price its last row's.

use serde::Deserialize;

/// A resampling period; the price of a period is its last row's (a close). Spelled the same
/// in config files (serde) and by `FromStr`/`Display`: `1h`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Resample {
    /// Hourly closes.
    #[serde(rename = "1h")]
    Hour,
    /// Daily closes (days on the series' clock: UTC, or the file's own offset).
    #[serde(rename = "1d")]
    Day,
}

impl Resample {
    /// Every period, in the order help texts list them.
    pub const ALL: [Resample; 2] = [Resample::Hour, Resample::Day];

    /// As written on the command line: `1h`, `1d`.
    pub fn flag(self) -> &'static str {
        match self {
            Resample::Hour => "1h",
            Resample::Day => "1d",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Resample::Hour => 3_600,
            Resample::Day => 86_400,
        }
    }
}

impl std::str::FromStr for Resample {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = Resample::ALL.map(Resample::flag);
        Resample::ALL
            .into_iter()
            .find(|r| r.flag() == s)
            .ok_or_else(|| format!("resample '{s}': use one of {}", names.join(", ")))
    }
}

impl std::fmt::Display for Resample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.flag())
    }
}

/// Each `period` that the sorted `dates` touch: its start, and the index of its last date.
pub(super) fn period_ends(dates: &[i64], period: Resample) -> Vec<(i64, usize)> {
    let step = period.seconds();
    let mut ends: Vec<(i64, usize)> = Vec::new();
    for (k, &d) in dates.iter().enumerate() {
        let start = d.div_euclid(step) * step;
        match ends.last_mut() {
            Some(last) if last.0 == start => last.1 = k,
            _ => ends.push((start, k)),
        }
    }
    ends
}
