//! Row cleaning, the same for both readers: the rows a reader kept ([`Rows`], one row at a
//! time) sorted by date, duplicates removed (conflicting ones refused), resampled and
//! filled as asked, with the notes that say what was done; a long CSV's series without a
//! usable row set aside. Also what a reader hands over for each row: its numeric cells
//! ([`Price`]) and, when the row cannot be read, why ([`Refusal`]), which the reader words
//! with the cell's own text.

use std::path::Path;

use crate::error::GrufError;
use crate::series::calendar::Calendar;
use crate::series::csv::layout::{Layout, Pick};
use crate::series::csv::DataConfig;
use crate::series::dates::{format_time, DateForm, Zone};
use crate::series::resample::{period_ends, Resample};
use crate::series::{is_volume, Covariate, LoadedSeries, Provenance, Series};
use crate::text::plural;

/// One numeric cell (a price or an input), read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Price {
    /// Empty, `null`, `NaN`, …: the row is dropped.
    Missing,
    /// Refused, for this reason.
    Bad(&'static str),
    Value(f64),
}

impl Price {
    /// A number that parsed: refused unless finite and within `f32`'s range.
    pub(super) fn of(v: f64) -> Price {
        if !v.is_finite() || v.abs() > f32::MAX as f64 {
            Price::Bad("is not finite (or too large); values must be finite numbers")
        } else {
            Price::Value(v)
        }
    }
}

/// Why a row cannot be read; the reader that holds the cells' text turns it into the
/// message.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Refusal {
    /// The price is not a number, or not finite.
    Price(&'static str),
    /// The input in column `layout.extra[j]` is not a number, or not finite.
    Input(usize, &'static str),
    /// A negative value in the volume column `layout.extra[j]`.
    NegativeVolume(usize),
    /// (High − Low) / price is not finite.
    Range {
        high: usize,
        low: usize,
        price: f64,
    },
    EmptyDate,
    /// The date does not read as the column's form, for this reason.
    Date(String),
}

/// One date cell read the way `form` says, with its zone; an empty cell is refused.
pub(super) fn date_cell(form: &DateForm, raw: Option<&str>) -> Result<(i64, Zone), Refusal> {
    let s = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Refusal::EmptyDate)?;
    form.read(s).map_err(Refusal::Date)
}

/// The rows a reader kept, in file order, column by column, and the tallies of the rows
/// it dropped for a missing value: what both readers produce, one row at a time
/// ([`Rows::push`]), and [`Rows::finish`] cleans.
pub(super) struct Rows<'a> {
    header: &'a [String],
    layout: &'a Layout,
    dates: Vec<i64>,
    values: Vec<f64>,
    /// The file line of each row (header = line 1).
    lines: Vec<usize>,
    /// One column per source of the layout.
    covariates: Vec<Vec<f64>>,
    /// Rows dropped for a missing price: how many, and the first one's line.
    missing: (usize, usize),
    /// Rows dropped for a missing input: how many, and the first one's line and column.
    missing_input: (usize, Option<(usize, usize)>),
    /// One row's covariates, before the row is known to be whole.
    scratch: Vec<f64>,
    /// The zone of the first row kept and its line, and the first row kept in another.
    zones: [Option<(Zone, usize)>; 2],
}

impl<'a> Rows<'a> {
    pub(super) fn new(header: &'a [String], layout: &'a Layout) -> Rows<'a> {
        Rows {
            header,
            layout,
            dates: Vec::new(),
            values: Vec::new(),
            lines: Vec::new(),
            covariates: vec![Vec::new(); layout.sources.len()],
            missing: (0, 0),
            missing_input: (0, None),
            scratch: Vec::with_capacity(layout.sources.len()),
            zones: [None; 2],
        }
    }

    /// Room for `n` more rows.
    pub(super) fn reserve(&mut self, n: usize) {
        self.dates.reserve(n);
        self.values.reserve(n);
        self.lines.reserve(n);
        for c in &mut self.covariates {
            c.reserve(n);
        }
    }

    /// Takes the row at file line `line`: its price, its extra cells (in the order of
    /// `layout.extra`) and its date, read only when the row is kept. A missing price or
    /// input drops the row (counted); anything unusable is refused.
    pub(super) fn push(
        &mut self,
        line: usize,
        price: Price,
        cells: &[Price],
        date: impl FnOnce() -> Result<(i64, Zone), Refusal>,
    ) -> Result<(), Refusal> {
        let price = match price {
            Price::Missing => {
                if self.missing.0 == 0 {
                    self.missing.1 = line;
                }
                self.missing.0 += 1;
                return Ok(());
            }
            Price::Bad(reason) => return Err(Refusal::Price(reason)),
            Price::Value(v) => v,
        };
        for (j, cell) in cells.iter().enumerate() {
            match *cell {
                Price::Missing => {
                    self.missing_input.0 += 1;
                    self.missing_input
                        .1
                        .get_or_insert((line, self.layout.extra[j]));
                    return Ok(());
                }
                Price::Bad(reason) => return Err(Refusal::Input(j, reason)),
                Price::Value(v) if v < 0.0 && is_volume(&self.header[self.layout.extra[j]]) => {
                    return Err(Refusal::NegativeVolume(j))
                }
                Price::Value(_) => {}
            }
        }
        let extra = &self.layout.extra;
        // The price column is not among `cells`, yet `range` reads it when it is High or
        // Low (`--column High --inputs range`).
        let price_idx = self.layout.price;
        let cell = |idx: usize| {
            if idx == price_idx {
                return price;
            }
            match extra.binary_search(&idx).map(|j| cells[j]) {
                Ok(Price::Value(v)) => v,
                _ => f64::NAN,
            }
        };
        self.scratch.clear();
        for source in &self.layout.sources {
            self.scratch.push(match *source {
                Pick::Column { idx } => cell(idx),
                Pick::Range { high, low } => {
                    let range = (cell(high) - cell(low)) / price;
                    if !range.is_finite() {
                        return Err(Refusal::Range { high, low, price });
                    }
                    range
                }
            });
        }
        let (ts, zone) = date()?;
        match self.zones {
            [None, _] => self.zones[0] = Some((zone, line)),
            [Some((first, _)), None] if first != zone => self.zones[1] = Some((zone, line)),
            _ => {}
        }
        self.dates.push(ts);
        self.values.push(price);
        self.lines.push(line);
        for (column, &v) in self.covariates.iter_mut().zip(&self.scratch) {
            column.push(v);
        }
        Ok(())
    }

    /// The rows in date order with duplicates removed, resampled if asked, with what was
    /// found on the way; `form` read the dates, `sha256` is the file's. Conflicting rows of
    /// one date are refused, with `--id-column` and the column that `several` names when the
    /// file looks like several series in one.
    pub(super) fn finish(
        self,
        path: &Path,
        config: &DataConfig,
        form: &DateForm,
        sha256: String,
        several: impl FnOnce() -> Option<String>,
    ) -> Result<LoadedSeries, GrufError> {
        let Rows {
            header,
            layout,
            mut dates,
            mut values,
            mut lines,
            mut covariates,
            missing: (missing, first_missing),
            missing_input,
            zones,
            ..
        } = self;
        let price_name = header[layout.price].clone();
        let date_name = header[layout.date].clone();
        let mut notes = layout.notes.clone();
        let mut info = Vec::new();
        // One zone: the dates go on its wall clock. Several: instants, printed in UTC.
        let zone = match zones {
            [Some((zone, _)), None] => zone,
            [Some((a, first)), Some((b, other))] => {
                notes.push(format!(
                    "{date_name} values are not all in one zone ({} at line {first}, {} at \
                     line {other}); they are read as instants (a time without a zone as UTC) \
                     and printed in UTC",
                    a.name(),
                    b.name()
                ));
                Zone::Utc
            }
            _ => Zone::default(),
        };
        if let Zone::Offset(offset) = zone {
            for d in &mut dates {
                *d += i64::from(offset);
            }
            info.push(format!(
                "{date_name} values are at {0}: they are read, and forecasts dated, on that \
                 clock (printed with {0})",
                zone.name()
            ));
        }
        let read_as = match form {
            DateForm::Yyyymmdd { first } => Some((first, "YYYYMMDD dates")),
            DateForm::Year { first } => Some((first, "years")),
            _ => None,
        };
        if let Some((first, what)) = read_as {
            notes.push(format!(
                "read {date_name} values such as '{first}' as {what} ({}); \
                 if they are Unix seconds, pass --date-format %s",
                format_time(form.parse(first).unwrap_or_default(), true)
            ));
        }
        if let (count, Some((first, idx))) = missing_input {
            notes.push(format!(
                "dropped {count} row{} with a missing input value (null, empty or NaN), first at line {first} ({})",
                plural(count),
                header[idx]
            ));
        }
        if missing > 0 {
            notes.push(format!(
                "dropped {missing} row{} with a missing {price_name} (null, empty, NaN or a blank line), first at line {first_missing}",
                plural(missing)
            ));
        }
        if dates.is_empty() {
            return Err(GrufError::data(
                path,
                format!(
                    "no rows with a {price_name} value: all {missing} are null, empty or NaN; \
                     check the export, or pass --column to use another column"
                ),
            ));
        }

        if !dates.windows(2).all(|w| w[0] <= w[1]) {
            let reversed = dates.windows(2).all(|w| w[0] >= w[1]);
            let mut order: Vec<usize> = (0..dates.len()).collect();
            order.sort_by_key(|&k| (dates[k], lines[k]));
            dates = gather(&dates, &order);
            values = gather(&values, &order);
            lines = gather(&lines, &order);
            for c in &mut covariates {
                *c = gather(c, &order);
            }
            info.push(if reversed {
                "rows were newest-first; sorted by date".to_string()
            } else {
                "rows were not in date order; sorted by date".to_string()
            });
        }

        // Duplicate dates: equal prices collapse, conflicting ones are refused.
        let mut several = Some(several);
        let mut fix = || match several.take().and_then(|f| f()) {
            Some(id) => format!("this looks like several series: pass --id-column {id}"),
            None => "remove one".to_string(),
        };
        let daily = dates.iter().all(|d| d.rem_euclid(86_400) == 0);
        let mut duplicates = 0usize;
        let mut kept = 0usize;
        for k in 0..dates.len() {
            if kept > 0 && dates[kept - 1] == dates[k] {
                let prev = kept - 1;
                if values[prev] == values[k] && covariates.iter().any(|c| c[prev] != c[k]) {
                    return Err(GrufError::data(
                        path,
                        format!(
                            "lines {} and {} have the same {date_name} ({}) but different --inputs values; {}",
                            lines[prev],
                            lines[k],
                            format_time(dates[k], daily),
                            fix(),
                        ),
                    ));
                }
                if values[prev] != values[k] {
                    return Err(GrufError::data(
                        path,
                        format!(
                            "lines {} and {} have the same {date_name} ({}) but different {price_name} ({} and {}); {}",
                            lines[prev],
                            lines[k],
                            format_time(dates[k], daily),
                            values[prev],
                            values[k],
                            fix(),
                        ),
                    ));
                }
                duplicates += 1;
            } else {
                dates[kept] = dates[k];
                values[kept] = values[k];
                lines[kept] = lines[k];
                for c in &mut covariates {
                    c[kept] = c[k];
                }
                kept += 1;
            }
        }
        dates.truncate(kept);
        values.truncate(kept);
        lines.truncate(kept);
        for c in &mut covariates {
            c.truncate(kept);
        }
        if duplicates > 0 {
            notes.push(format!(
                "dropped {duplicates} duplicate row{} (same date, same {price_name})",
                plural(duplicates)
            ));
        }

        let mut resampled = None;
        if let Some(period) = config.resample {
            // Each period's start, with the value, line and inputs of its last row.
            let ends = period_ends(&dates, period);
            let last: Vec<usize> = ends.iter().map(|&(_, k)| k).collect();
            resampled = Some((period, dates.len()));
            dates = ends.iter().map(|&(start, _)| start).collect();
            values = gather(&values, &last);
            lines = gather(&lines, &last);
            for c in &mut covariates {
                *c = gather(c, &last);
            }
        }
        let mut series = Series::new(dates, values);
        series.zone = zone;
        series.covariates = layout
            .sources
            .iter()
            .zip(covariates)
            .map(|(source, values)| Covariate {
                name: source.name(header),
                values,
            })
            .collect();
        if let Some((period, before)) = resampled {
            let name = if period == Resample::Day {
                "daily"
            } else {
                "hourly"
            };
            info.push(if series.len() == before {
                format!(
                    "--resample {}: the rows are already {name} or coarser; nothing to aggregate",
                    period.flag()
                )
            } else {
                format!("resampled {before} rows to {} {name} closes", series.len())
            });
        }
        let filled =
            crate::series::fill::fill_series(&mut series, &mut lines, config.fill, config.season)
                .map_err(|m| GrufError::data(path, m))?;
        notes.extend(filled.note(&series.calendar, config.fill));
        let (warnings, about) = calendar_notes(&series);
        notes.extend(warnings);
        info.extend(about);
        let daily = series.is_daily();

        let provenance = Provenance {
            path: path.to_path_buf(),
            sha256,
            rows: series.len(),
            first_date: format_time(series.dates[0], daily),
            last_date: format_time(*series.dates.last().unwrap_or(&0), daily),
            step_seconds: series.calendar.approx_seconds().round() as i64,
            calendar: Some(series.calendar),
            column: price_name,
            date_column: date_name,
        };
        Ok(LoadedSeries {
            series,
            provenance,
            notes,
            info,
            lines,
            filled: filled.rows,
        })
    }
}

/// `values` in the order of the indices `order`.
fn gather<T: Copy>(values: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&k| values[k]).collect()
}

/// What the user should know about the dates: warnings for missing steps and for spacing
/// that is off the calendar, and, as information, a calendar that is not a fixed step.
fn calendar_notes(series: &Series) -> (Vec<String>, Vec<String>) {
    let cal = series.calendar;
    let daily = series.is_daily();
    let at = |i: usize| format_time(series.dates[i], daily);
    let (mut notes, mut info) = (Vec::new(), Vec::new());
    if matches!(cal, Calendar::BusinessDays | Calendar::Months { .. }) {
        info.push(format!(
            "the dates are {}; forecasts continue on that calendar",
            cal.describe()
        ));
    }
    let spacing = cal.check(&series.dates);
    if let Some(first) = spacing.first_gap {
        let steps = (series.len() - 1).saturating_add(spacing.missing);
        let share = 100.0 * spacing.missing as f64 / steps as f64;
        let share = if share >= 1.0 {
            format!(", {share:.0} % of the span")
        } else {
            String::new()
        };
        notes.push(format!(
            "{} gap{} in the dates ({} missing{share}, at most {} in a row, first after {}); \
             not filled (train with --fill ffill, linear or seasonal to insert the missing \
             steps)",
            spacing.gaps,
            plural(spacing.gaps),
            cal.count(spacing.missing),
            cal.count(spacing.largest),
            at(first)
        ));
    }
    if let Some(first) = spacing.first_off {
        notes.push(format!(
            "irregular spacing: {} of {} steps are not a whole number of {}s apart (first after {}); \
             the series is read as {} and forecasts step one {} at a time",
            spacing.off_calendar,
            series.len() - 1,
            cal.unit(),
            at(first),
            cal.describe(),
            cal.unit()
        ));
    }
    (notes, info)
}

/// Takes out of `groups` the series of a long CSV with no row kept (every price or input
/// missing) and returns the note that names them, so that the others go on as the README
/// promises. A file of one series, or a long CSV with no usable series at all, keeps them:
/// its error is then the series' own.
pub(super) fn set_aside_empty(groups: &mut Vec<(String, Rows)>) -> Vec<String> {
    let empty = |rows: &Rows| rows.dates.is_empty();
    if groups.iter().all(|(id, rows)| id.is_empty() || empty(rows)) {
        return Vec::new();
    }
    let mut left: Vec<String> = Vec::new();
    let mut price = String::new();
    groups.retain(|(id, rows)| {
        if empty(rows) {
            price.clone_from(&rows.header[rows.layout.price]);
            left.push(id.clone());
        }
        !empty(rows)
    });
    if left.is_empty() {
        return Vec::new();
    }
    left.sort_unstable();
    let ids: Vec<&str> = left.iter().map(String::as_str).collect();
    vec![format!(
        "left out {} series with no usable row (every {price} or input value null, empty or \
         NaN): {}",
        left.len(),
        crate::text::name_some(&ids, 20)
    )]
}
