//! A series as the user wrote it, on its calendar: CSV files read (with a fast path for
//! plain files), validated and sorted; a long file or several files as a panel of named
//! series; missing calendar steps filled; seasons; and the synthetic series `gruf sample`
//! writes.
//!
//! This module holds what every later stage takes from this one: a [`Series`] (dates,
//! values, calendar, zone and the input columns beside the price) and, as loading hands it
//! on, [`LoadedSeries`] with its [`Provenance`]. These types use only `calendar`, `dates` and
//! `resample`, so that every submodule can use them. The submodules, in the order they use
//! each other (each only those listed before it):
//!
//! ```text
//! calendar   how dates step (hours, days, business days, months, ...) and count gaps
//! season     seasonal periods (`--season`)
//! dates      reading and printing dates: a date column's form, zones
//! resample   rows aggregated to one per hour or day (`--resample`)
//! fill       missing calendar steps filled (`--fill`)
//! csv        a CSV file's series: its layout, a slow and a fast reader, row cleaning
//! panel      many series for one global model: a long CSV, or one file per series
//! synth      synthetic series (`gruf sample`)
//! ```

use std::path::PathBuf;

use crate::series::calendar::Calendar;
use crate::series::dates::Zone;
use crate::series::resample::{period_ends, Resample};

pub mod calendar;
pub mod season;
pub mod dates;
pub mod resample;
pub mod fill;
pub mod csv;
pub mod panel;
pub mod synth;

/// A price series in date order: `dates[i]` carries `values[i]`, on the calendar the dates
/// follow (hourly, daily, business days, monthly, …). Dates are seconds since 1970 on the
/// wall clock of `zone`: Unix seconds for UTC, the file's own times for a file without a
/// zone or at a fixed offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub dates: Vec<i64>,
    pub values: Vec<f64>,
    pub calendar: Calendar,
    /// Past covariates beside the price, each aligned with `values` (empty: the price alone).
    pub covariates: Vec<Covariate>,
    /// The zone the file wrote its dates in, which printed dates keep.
    pub zone: Zone,
}

/// One input column beside the price, aligned with the series' values.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariate {
    /// As the header spells it (`range` for the derived (High − Low) / price).
    pub name: String,
    pub values: Vec<f64>,
}

/// True for the price-like columns (Open, High, Low, Close, Adj Close), which are encoded
/// like the price, relative to it.
pub fn is_price_like(name: &str) -> bool {
    ["open", "high", "low", "close", "adj close"]
        .iter()
        .any(|c| name.trim().eq_ignore_ascii_case(c))
}

/// True for volume columns (`Volume`, `Vol`, …): non-negative counts, taken as log1p.
pub fn is_volume(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    lower == "vol" || lower.contains("volume")
}

impl Series {
    /// A series on the calendar its dates follow ([`Calendar::detect`]).
    pub fn new(dates: Vec<i64>, values: Vec<f64>) -> Series {
        let calendar = Calendar::detect(&dates);
        Series {
            dates,
            values,
            calendar,
            covariates: Vec::new(),
            zone: Zone::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One row per `period` (on the series' clock), dated at the period's start, holding
    /// its last price.
    pub fn resample(&self, period: Resample) -> Series {
        let ends = period_ends(&self.dates, period);
        let mut series = Series::new(
            ends.iter().map(|&(start, _)| start).collect(),
            ends.iter().map(|&(_, k)| self.values[k]).collect(),
        );
        series.zone = self.zone;
        series
    }

    /// True when every timestamp falls on midnight, so dates print without a time.
    pub fn is_daily(&self) -> bool {
        self.dates.iter().all(|d| d.rem_euclid(86_400) == 0)
    }
}

/// Where a series came from, stored in the checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// Absolute path of the CSV when it was read.
    pub path: PathBuf,
    /// Empty when the load was told to skip it ([`Hash::Skip`](crate::series::csv::Hash::Skip)).
    pub sha256: String,
    /// Rows kept after cleaning.
    pub rows: usize,
    pub first_date: String,
    pub last_date: String,
    /// Usual spacing between rows, in seconds (a month counts 30.44 days); the calendar
    /// below says how dates continue.
    pub step_seconds: i64,
    /// The calendar the dates follow. `None` in files written before gruf knew calendars
    /// (format 2): it is then detected from the CSV in use.
    pub calendar: Option<Calendar>,
    /// The header names actually used.
    pub column: String,
    pub date_column: String,
}

/// A loaded series with what was found on the way.
#[derive(Debug, Clone)]
pub struct LoadedSeries {
    pub series: Series,
    pub provenance: Provenance,
    /// Things the user should know because the data were changed or are not what they
    /// seem (dropped rows, gaps, irregular spacing), one sentence each: warnings.
    pub notes: Vec<String>,
    /// What was done that changes nothing doubtful (re-ordering, the calendar found, a
    /// resampling): shown unless the user asked for quiet.
    pub info: Vec<String>,
    /// The file line each value of the series came from (header = line 1; for a resampled
    /// series, the line of each period's last row), so later checks can name it.
    pub lines: Vec<usize>,
    /// The indices of the rows `--fill` inserted, ascending (empty: none).
    pub filled: Vec<usize>,
}

/// The first value of `values` that is zero or negative, as `(index, how many are)`.
pub fn first_non_positive(values: &[f64]) -> Option<(usize, usize)> {
    let first = values.iter().position(|&v| v <= 0.0)?;
    Some((first, values[first..].iter().filter(|&&v| v <= 0.0).count()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::dates::format_time;

    #[test]
    fn resampling_keeps_each_periods_last_price() {
        // Three hourly bars on day 0, two on day 1 (timestamps in seconds).
        let s = Series::new(
            vec![0, 3_600, 7_200, 86_400, 90_000],
            vec![1.0, 2.0, 3.0, 4.0, 5.0],
        );
        assert_eq!(
            s.resample(Resample::Day),
            Series::new(vec![0, 86_400], vec![3.0, 5.0])
        );
        assert_eq!(s.resample(Resample::Day).calendar, Calendar::default());
        assert_eq!(s.resample(Resample::Hour), s);
    }

    #[test]
    fn a_few_gaps_do_not_change_the_step() {
        let s = Series::new(vec![0, 86_400, 172_800, 432_000, 518_400], vec![1.0; 5]);
        assert_eq!(s.calendar, Calendar::Fixed { seconds: 86_400 });
        assert!(s.is_daily());
        assert_eq!(format_time(1_711_843_200, true), "2024-03-31");
    }
}
