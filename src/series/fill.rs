//! Gaps in a series' dates, filled on request (`--fill`).
//!
//! Why: a weekly series with missing weeks, or an hourly one with daylight-saving holes,
//! would otherwise be read as if its rows were consecutive, so a window of 60 "steps"
//! spans more time than it says and the seasonal position of every value after a gap is
//! off. With a fill method, loading inserts each calendar step missing between two rows
//! (the calendar knows the step: hours, days, business days, weeks, months) and gives it
//! a value, and the same for every input column: the previous row's (`ffill`), a straight
//! line between the rows either side (`linear`), or the value one season earlier
//! (`seasonal`, falling back to the straight line where the series does not reach back a
//! season). Dates that are not a whole number of steps apart are left as they are.
//!
//! The method is part of the model's data configuration, stored in the model file like
//! `--resample`, so that `predict`, `evaluate` and `plot` fill the CSV they read the way
//! training did. [`Fill::None`], the default, changes nothing.

use crate::series::calendar::Calendar;
use crate::series::season::Seasons;
use crate::series::Series;

/// How the missing steps of a series are filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    /// Not filled: the rows either side of a gap are read as consecutive.
    #[default]
    None,
    /// The last value before the gap, carried forward.
    Ffill,
    /// A straight line between the values either side of the gap.
    Linear,
    /// The value one season earlier (`--season`, else the calendar's), or the straight
    /// line where the series does not reach back that far.
    Seasonal,
}

impl Fill {
    /// Every method, in the order help texts list them.
    pub const ALL: [Fill; 4] = [Fill::None, Fill::Ffill, Fill::Linear, Fill::Seasonal];

    /// As written on the command line, in config files and in the model file.
    pub fn name(self) -> &'static str {
        match self {
            Fill::None => "none",
            Fill::Ffill => "ffill",
            Fill::Linear => "linear",
            Fill::Seasonal => "seasonal",
        }
    }

    pub fn from_name(name: &str) -> Option<Fill> {
        Fill::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::str::FromStr for Fill {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = Fill::ALL.map(Fill::name);
        Fill::from_name(s).ok_or_else(|| format!("fill '{s}': use one of {}", names.join(", ")))
    }
}

impl std::fmt::Display for Fill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The most rows filling may insert, as a multiple of the rows read: more means the
/// dates are not on one calendar (a stray date decades away), not that rows are missing.
const MOST_FILLED_PER_ROW: usize = 1;

/// One series' columns as loading holds them, to be filled in place: the dates, the
/// price, each input column, and each row's file line (an inserted row takes the line of
/// the row before the gap).
pub struct Unfilled<'a> {
    pub dates: &'a mut Vec<i64>,
    pub values: &'a mut Vec<f64>,
    pub covariates: Vec<&'a mut Vec<f64>>,
    pub lines: &'a mut Vec<usize>,
}

/// What filling did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    /// The indices (after filling) of the inserted rows, ascending.
    pub rows: Vec<usize>,
    /// Gaps filled.
    pub gaps: usize,
}

/// Inserts the steps of `calendar` missing between the rows of `columns` (dates strictly
/// increasing) and fills them by `method`; `season` is the period `seasonal` reaches back
/// (`None`: it fills as `linear`). `Err` when filling would insert more rows than were read.
pub fn fill(
    columns: Unfilled<'_>,
    calendar: &Calendar,
    method: Fill,
    season: Option<usize>,
) -> Result<Filled, String> {
    let Unfilled {
        dates,
        values,
        covariates,
        lines,
    } = columns;
    if method == Fill::None || dates.len() < 2 {
        return Ok(Filled::default());
    }
    let spacing = calendar.check(dates);
    if spacing.missing == 0 {
        return Ok(Filled::default());
    }
    if spacing.missing > MOST_FILLED_PER_ROW * dates.len() {
        return Err(format!(
            "--fill {method}: the dates miss {} but only {} rows were read (at most {} in a \
             row); filling would invent most of the series: check the dates, or pass --fill none",
            calendar.count(spacing.missing),
            dates.len(),
            calendar.count(spacing.largest)
        ));
    }
    let n = dates.len() + spacing.missing;
    let mut out_dates = Vec::with_capacity(n);
    let mut out_lines = Vec::with_capacity(n);
    // For each output row: the source row it is, or the rows either side and how far
    // between them it lies.
    let mut at: Vec<Take> = Vec::with_capacity(n);
    let mut filled = Filled::default();
    for i in 0..dates.len() {
        if i > 0 {
            if let Some(steps) = calendar.steps_between(dates[i - 1], dates[i]) {
                if steps > 1 {
                    filled.gaps += 1;
                }
                for j in 1..steps {
                    filled.rows.push(out_dates.len());
                    out_dates.push(calendar.advance(dates[i - 1], j));
                    out_lines.push(lines[i - 1]);
                    at.push(Take::Between {
                        before: i - 1,
                        after: i,
                        share: j as f64 / steps as f64,
                    });
                }
            }
        }
        out_dates.push(dates[i]);
        out_lines.push(lines[i]);
        at.push(Take::Row(i));
    }
    let season = season.filter(|&m| m > 0);
    let fill_column = |column: &[f64]| -> Vec<f64> {
        let mut out: Vec<f64> = Vec::with_capacity(at.len());
        for (k, source) in at.iter().enumerate() {
            let v = match *source {
                Take::Row(i) => column[i],
                Take::Between {
                    before,
                    after,
                    share,
                } => {
                    let line = column[before] + (column[after] - column[before]) * share;
                    match method {
                        Fill::Ffill => column[before],
                        Fill::Seasonal => season
                            .and_then(|m| k.checked_sub(m))
                            .map_or(line, |back| out[back]),
                        Fill::Linear | Fill::None => line,
                    }
                }
            };
            out.push(v);
        }
        out
    };
    *values = fill_column(values);
    for c in covariates {
        *c = fill_column(c);
    }
    *dates = out_dates;
    *lines = out_lines;
    Ok(filled)
}

/// Fills `series` and its file `lines` by `method` (`seasonal` reaching back the first
/// period of `seasons`, else the calendar's season).
pub fn fill_series(
    series: &mut Series,
    lines: &mut Vec<usize>,
    method: Fill,
    seasons: Option<Seasons>,
) -> Result<Filled, String> {
    let calendar = series.calendar;
    let season = (seasons.map(|s| s.first())).or_else(|| calendar.season());
    let Series {
        dates,
        values,
        covariates,
        ..
    } = series;
    fill(
        Unfilled {
            dates,
            values,
            covariates: covariates.iter_mut().map(|c| &mut c.values).collect(),
            lines,
        },
        &calendar,
        method,
        season,
    )
}

impl Filled {
    /// The warning loading gives when rows were inserted: "filled 59 missing weeks in 23
    /// gaps (--fill linear)".
    pub fn note(&self, calendar: &Calendar, method: Fill) -> Option<String> {
        (!self.rows.is_empty()).then(|| {
            format!(
                "filled {} missing in {} gap{} (--fill {method}); forecasts and scores read them \
                 as data",
                calendar.count(self.rows.len()),
                self.gaps,
                if self.gaps == 1 { "" } else { "s" }
            )
        })
    }
}

/// Where an output row's value comes from.
enum Take {
    /// Row `i` as it is.
    Row(usize),
    /// Inserted between source rows `before` and `after`, `share` of the way.
    Between {
        before: usize,
        after: usize,
        share: f64,
    },
}

/// How many of the targets `targets` (indices of a series on `calendar` with `dates`)
/// read a window of `lookback` values that runs across a gap in the dates: windows that
/// take rows either side of a gap as consecutive.
pub fn windows_across_gaps(
    dates: &[i64],
    calendar: &Calendar,
    lookback: usize,
    targets: std::ops::Range<usize>,
) -> usize {
    // gaps_before[t]: gaps between consecutive rows up to row t.
    let mut gaps_before = Vec::with_capacity(dates.len());
    let mut count = 0usize;
    for i in 0..dates.len() {
        if i > 0
            && calendar
                .steps_between(dates[i - 1], dates[i])
                .is_some_and(|s| s > 1)
        {
            count += 1;
        }
        gaps_before.push(count);
    }
    targets
        .filter(|&t| t < dates.len() && t >= lookback)
        .filter(|&t| gaps_before[t] > gaps_before[t - lookback])
        .count()
}

/// What training says about the gaps of the series it is cut into windows of: how many
/// windows (with their targets) run across a gap, and how many held-out targets are
/// filled rows. Summed over the series of a global model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GapCounts {
    pub windows: usize,
    pub across: usize,
    pub held_out: usize,
    pub filled_held_out: usize,
}

impl GapCounts {
    pub fn add(&mut self, other: GapCounts) {
        self.windows += other.windows;
        self.across += other.across;
        self.held_out += other.held_out;
        self.filled_held_out += other.filled_held_out;
    }

    /// The warnings to give, if any.
    pub fn notes(&self, method: Fill) -> Vec<String> {
        let mut notes = Vec::new();
        if self.across > 0 {
            notes.push(format!(
                "{} of {} windows run across a gap in the dates, reading the rows either side \
                 as consecutive (--fill ffill, linear or seasonal inserts the missing steps)",
                self.across, self.windows
            ));
        }
        if self.filled_held_out > 0 {
            notes.push(format!(
                "{} of the {} held-out values are rows --fill {method} inserted; the test \
                 scores count them as data",
                self.filled_held_out, self.held_out
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    /// Days 0, 1, 4, 5 (2 and 3 missing) with a price and one input column.
    fn filled(method: Fill, season: Option<usize>) -> (Vec<i64>, Vec<f64>, Vec<f64>, Filled) {
        let mut dates = vec![0, DAY, 4 * DAY, 5 * DAY];
        let mut values = vec![10.0, 11.0, 20.0, 21.0];
        let mut input = vec![1.0, 2.0, 5.0, 6.0];
        let mut lines = vec![2, 3, 4, 5];
        let done = fill(
            Unfilled {
                dates: &mut dates,
                values: &mut values,
                covariates: vec![&mut input],
                lines: &mut lines,
            },
            &Calendar::default(),
            method,
            season,
        )
        .unwrap();
        if done.gaps > 0 {
            assert_eq!(lines, [2, 3, 3, 3, 4, 5]);
        }
        (dates, values, input, done)
    }

    #[test]
    fn each_method_inserts_the_missing_days_and_fills_every_column() {
        let days: Vec<i64> = (0..6).map(|d| d * DAY).collect();
        let (dates, values, input, done) = filled(Fill::Linear, None);
        assert_eq!(dates, days);
        assert_eq!(values, [10.0, 11.0, 14.0, 17.0, 20.0, 21.0]);
        assert_eq!(input, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(
            done,
            Filled {
                rows: vec![2, 3],
                gaps: 1
            }
        );
        let (_, values, input, _) = filled(Fill::Ffill, None);
        assert_eq!(values, [10.0, 11.0, 11.0, 11.0, 20.0, 21.0]);
        assert_eq!(input, [1.0, 2.0, 2.0, 2.0, 5.0, 6.0]);
        // Season 2: day 2 takes day 0's value, day 3 day 1's.
        let (_, values, input, _) = filled(Fill::Seasonal, Some(2));
        assert_eq!(values, [10.0, 11.0, 10.0, 11.0, 20.0, 21.0]);
        assert_eq!(input, [1.0, 2.0, 1.0, 2.0, 5.0, 6.0]);
        // Season 3: day 2 reaches back before the series (linear), day 3 takes day 0's.
        let (_, values, _, _) = filled(Fill::Seasonal, Some(3));
        assert_eq!(values, [10.0, 11.0, 14.0, 10.0, 20.0, 21.0]);
        // No fill: nothing changes.
        let (dates, values, _, done) = filled(Fill::None, None);
        assert_eq!(dates, [0, DAY, 4 * DAY, 5 * DAY]);
        assert_eq!(values, [10.0, 11.0, 20.0, 21.0]);
        assert_eq!(done, Filled::default());
    }

    #[test]
    fn filling_more_than_was_read_is_refused() {
        let mut dates = vec![0, DAY, 100 * DAY];
        let (mut values, mut lines) = (vec![1.0, 2.0, 3.0], vec![2, 3, 4]);
        let err = fill(
            Unfilled {
                dates: &mut dates,
                values: &mut values,
                covariates: Vec::new(),
                lines: &mut lines,
            },
            &Calendar::default(),
            Fill::Linear,
            None,
        )
        .unwrap_err();
        assert!(
            err.starts_with("--fill linear: the dates miss 98 days but only 3 rows were read"),
            "{err}"
        );
        assert_eq!(dates.len(), 3);
    }

    #[test]
    fn windows_across_a_gap_are_counted() {
        let dates = [0, DAY, 2 * DAY, 5 * DAY, 6 * DAY, 7 * DAY, 8 * DAY];
        let cal = Calendar::default();
        // Window 2: targets 3 (rows 1, 2 → 3 across the gap) and 4 (rows 2..4) span it.
        assert_eq!(windows_across_gaps(&dates, &cal, 2, 2..7), 2);
        assert_eq!(windows_across_gaps(&dates, &cal, 1, 0..7), 1);
        assert_eq!(windows_across_gaps(&dates, &cal, 3, 5..7), 1);
    }
}
