//! Dates as files write them and as gruf prints them.
//!
//! How a date column is read is decided once, from its first value ([`DateForm`]), so that
//! `20190101` or `1871` never means one thing on one row and another on the next. A date
//! keeps the zone it was written in ([`Zone`]) and is held on that zone's wall clock, so
//! calendars, seasons and printed dates follow the file rather than UTC. Printed for people
//! by [`format_time`] and [`human_date`], for machines by [`Zone::iso`] and [`format_iso`].
//!
//! Apart from the CSV reader because later stages read and print dates too (a date on the
//! command line, a model file's dates, forecasts and tables), with no CSV in sight.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// The zone a file's dates were written in, kept so that what gruf prints follows the file
/// (a time without a zone prints without one, a time at +05:00 prints at +05:00). Dates are
/// held on that zone's wall clock ([`Series::dates`](crate::series::Series::dates)), so a daily series at +05:00 steps
/// from its own midnight to the next, not from 19:00 UTC the day before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// UTC: `Z`, `+00:00`, Unix times; also a series that no file dated, and model files.
    #[default]
    Utc,
    /// No zone written (`2024-03-31 09:00`, or dates alone).
    Naive,
    /// A fixed offset east of UTC, in seconds (`+05:00` is 18,000).
    Offset(i32),
}

impl Zone {
    /// A time on the UTC clock (Unix seconds) on this zone's clock: moved by its offset.
    /// Model files before format 8 stored their dates in UTC; a series now keeps its own.
    pub fn from_utc(self, t: i64) -> i64 {
        match self {
            Zone::Offset(s) => t + i64::from(s),
            Zone::Utc | Zone::Naive => t,
        }
    }

    fn of_offset(seconds: i32) -> Zone {
        match seconds {
            0 => Zone::Utc,
            s => Zone::Offset(s),
        }
    }

    /// As a heading or a note says it: `UTC`, `+05:00`, `no zone`.
    pub fn name(self) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Naive => "no zone".into(),
            Zone::Offset(s) => {
                let sign = if s < 0 { '-' } else { '+' };
                let m = s.unsigned_abs() / 60;
                format!("{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }

    /// Formats `secs` (on this zone's clock) for machines: `2024-03-31` (daily data), else
    /// RFC 3339 with this zone's offset (`2024-03-31T12:00:00Z`, `…T12:00:00+05:00`), or
    /// without one for times that had none.
    pub fn iso(self, secs: i64, daily: bool) -> String {
        let suffix = match self {
            Zone::Utc => "Z".to_string(),
            Zone::Naive => String::new(),
            Zone::Offset(_) => self.name(),
        };
        match DateTime::from_timestamp(secs, 0) {
            Some(t) if daily => t.format("%Y-%m-%d").to_string(),
            Some(t) => format!("{}{suffix}", t.format("%Y-%m-%dT%H:%M:%S")),
            None => secs.to_string(),
        }
    }
}

/// How a date column is read, decided once for the whole column from its first value
/// (or `--date-format`): `20190101` could be a YYYYMMDD date or Unix seconds, and which it
/// is must not change from row to row, nor be guessed silently (a YYYYMMDD reading is
/// reported in [`LoadedSeries::notes`](crate::series::LoadedSeries::notes)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateForm {
    /// Exactly this chrono format (a date or a datetime; `%s` for Unix seconds).
    Format(String),
    /// 8-digit YYYYMMDD, because the first value (`first`) is one: every value must be.
    Yyyymmdd { first: String },
    /// Plain years (`1700`, `1871`), each read as its 1 January, because the first value
    /// (`first`) has 3 or 4 digits, or the column is named `year`: every value must be one.
    Year { first: String },
    /// ISO dates (`2024-03-31`), ISO datetimes with or without `T`, fractional seconds and
    /// a zone (`Z`, `+02:00`), year-months (`1960-01`), quarters (`2020-Q1`, `2020Q1`),
    /// ISO weeks (`2020-W01`, the Monday) and Unix timestamps in seconds or milliseconds.
    /// When the first value (`first`) is not a number, an 8-digit number that is also a
    /// valid YYYYMMDD date is refused as ambiguous.
    Auto { first: String, numeric: bool },
}

impl DateForm {
    /// The reading for a column whose first non-empty date is `first`.
    pub fn detect(first: &str, format: Option<&str>) -> DateForm {
        let first = first.to_string();
        match format {
            Some(fmt) => DateForm::Format(fmt.to_string()),
            None if yyyymmdd(&first).is_some() => DateForm::Yyyymmdd { first },
            None if year(&first).is_some() && first.len() >= 3 => DateForm::Year { first },
            None => DateForm::Auto {
                numeric: is_number(&first),
                first,
            },
        }
    }

    /// The reading for the date column `name` whose first non-empty date is `first`, or
    /// `None` when the column holds small numbers (`1`, `4`: a quarter, a day of the month,
    /// a row number) rather than dates: read as Unix seconds they would all fall within the
    /// first minutes of 1970. A column named `year` holds years however short.
    pub(super) fn for_column(name: &str, first: &str, format: Option<&str>) -> Option<DateForm> {
        if format.is_none() && name.eq_ignore_ascii_case("year") && year(first).is_some() {
            return Some(DateForm::Year {
                first: first.to_string(),
            });
        }
        if format.is_none() && is_number(first) && first.len() <= 2 {
            return None;
        }
        Some(DateForm::detect(first, format))
    }

    /// Parses one value of the column to Unix seconds (UTC; a time without a zone as if
    /// it were UTC).
    pub fn parse(&self, s: &str) -> Result<i64, String> {
        self.read(s).map(|(t, _)| t)
    }

    /// [`DateForm::parse`], with the zone the value was written in.
    pub(super) fn read(&self, s: &str) -> Result<(i64, Zone), String> {
        let naive = |t: i64| (t, Zone::Naive);
        match self {
            DateForm::Format(fmt) => parse_with_format(s, fmt),
            DateForm::Year { first } => year(s).map(midnight).map(naive).ok_or_else(|| {
                format!(
                    "is not a year like the column's first date '{first}'; write every date \
                     the same way"
                )
            }),
            DateForm::Yyyymmdd { first } => match yyyymmdd(s) {
                Some(d) => Ok(naive(midnight(d))),
                None if s.len() == 8 && is_number(s) => {
                    Err("is not a valid YYYYMMDD date (no such month or day)".into())
                }
                None => Err(format!(
                    "is not an 8-digit YYYYMMDD date like the column's first date '{first}'; \
                     write every date the same way"
                )),
            },
            DateForm::Auto { first, numeric } => {
                if let Some(read) = parse_calendar(s) {
                    return Ok(read);
                }
                if is_number(s) {
                    if !numeric && yyyymmdd(s).is_some() {
                        return Err(format!(
                            "could be a YYYYMMDD date or Unix seconds, and the column's first \
                             date '{first}' is neither; write every date the same way"
                        ));
                    }
                    let n: i64 = s.parse().map_err(|_| "is not a date".to_string())?;
                    return Ok((unix_seconds(n), Zone::Utc));
                }
                if s.contains('/') || s.contains('.') {
                    let (day_first, month_first) = day_month_formats(s);
                    return Err(format!(
                        "is ambiguous (day/month order); pass --date-format, \
                         e.g. '{day_first}' or '{month_first}'"
                    ));
                }
                Err(
                    "is not a date; expected ISO dates (2024-03-31), datetimes, year-months \
                     (2024-03), quarters (2024-Q1), weeks (2024-W13), YYYYMMDD or Unix seconds, \
                     or pass --date-format"
                        .into(),
                )
            }
        }
    }
}

/// A Unix time in seconds or milliseconds, in seconds: 1e11 seconds is the year 5138, so
/// larger values are milliseconds.
pub(super) fn unix_seconds(n: i64) -> i64 {
    if n >= 100_000_000_000 {
        n / 1000
    } else {
        n
    }
}

/// Parses one date or time to seconds on its own clock, as [`Series::dates`](crate::series::Series::dates) holds the
/// dates of a file at its offset (`2024-03-31T02:00:00+02:00` is 02:00; a time without a
/// zone or in UTC, its Unix seconds), reading it as [`DateForm::detect`] would read a
/// column that starts with it.
pub fn parse_date(s: &str, format: Option<&str>) -> Result<i64, String> {
    let (t, zone) = DateForm::detect(s, format).read(s)?;
    Ok(match zone {
        Zone::Offset(offset) => t + i64::from(offset),
        _ => t,
    })
}

fn parse_with_format(s: &str, fmt: &str) -> Result<(i64, Zone), String> {
    // Unix seconds (`%s`) are UTC; anything else without an offset has no zone.
    let naive = if fmt.contains("%s") {
        Zone::Utc
    } else {
        Zone::Naive
    };
    NaiveDateTime::parse_from_str(s, fmt)
        .map(|t| (t.and_utc().timestamp(), naive))
        .or_else(|_| DateTime::parse_from_str(s, fmt).map(zoned))
        .or_else(|_| NaiveDate::parse_from_str(s, fmt).map(|d| (midnight(d), naive)))
        .or_else(|e| partial_date(s, fmt).map(|d| (midnight(d), naive)).ok_or(e))
        .map_err(|e| format!("does not match --date-format '{fmt}' ({e})"))
}

/// A time with an offset, as Unix seconds and its zone.
fn zoned(t: DateTime<chrono::FixedOffset>) -> (i64, Zone) {
    (t.timestamp(), Zone::of_offset(t.offset().local_minus_utc()))
}

/// A date whose format leaves out the day, or the month and the day (`%Y`, `%Y-%m`): the
/// period's first day, as the automatic reading takes `1960-01`.
fn partial_date(s: &str, fmt: &str) -> Option<NaiveDate> {
    let mut parsed = chrono::format::Parsed::new();
    chrono::format::parse(&mut parsed, s, chrono::format::StrftimeItems::new(fmt)).ok()?;
    let by_week = parsed.isoweek().is_some()
        || parsed.week_from_mon().is_some()
        || parsed.week_from_sun().is_some()
        || parsed.ordinal().is_some();
    if parsed.year().is_none() || by_week {
        return None;
    }
    if parsed.month().is_none() {
        parsed.set_month(1).ok()?;
    }
    if parsed.day().is_none() {
        parsed.set_day(1).ok()?;
    }
    parsed.to_naive_date().ok()
}

/// ISO dates and datetimes, year-months, quarters and ISO weeks (not bare numbers), with
/// the zone they were written in.
fn parse_calendar(s: &str) -> Option<(i64, Zone)> {
    let naive = |t: i64| (t, Zone::Naive);
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(naive(midnight(d)));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(zoned(t));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(zoned(t));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(naive(t.and_utc().timestamp()));
        }
    }
    year_first(s)
        .or_else(|| period_start(s).map(midnight))
        .map(naive)
}

/// A date or naive datetime written year first with slashes or dots (`2010/01/31`,
/// `2010.01.31 09:30`): not ambiguous, as no one writes the day between year and month.
fn year_first(s: &str) -> Option<i64> {
    let sep = *s.as_bytes().get(4)?;
    if !matches!(sep, b'/' | b'.') || !is_number(&s[..4]) {
        return None;
    }
    let sep = sep as char;
    let date = format!("%Y{sep}%m{sep}%d");
    if let Ok(d) = NaiveDate::parse_from_str(s, &date) {
        return Some(midnight(d));
    }
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .flat_map(|time| [format!("{date} {time}"), format!("{date}T{time}")])
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, &fmt).ok())
        .map(|t| t.and_utc().timestamp())
}

/// The two readings of a date written day and month first (`01/02/2021 10:00`), as
/// `--date-format` values that fit it, time included: `('%d/%m/%Y %H:%M', '%m/%d/%Y %H:%M')`.
fn day_month_formats(s: &str) -> (String, String) {
    let sep = if s.contains('/') { '/' } else { '.' };
    let (date, time) = match s.find([' ', 'T']) {
        Some(at) => (&s[..at], &s[at..]),
        None => (s, ""),
    };
    let year = match date.rsplit(sep).next() {
        Some(y) if y.len() == 2 => "%y",
        _ => "%Y",
    };
    let time = match time.chars().next() {
        None => String::new(),
        Some(gap) => {
            let fields = ["%H", "%M", "%S"];
            let n = (time.matches(':').count() + 1).min(3);
            let fraction = if time.contains('.') { "%.f" } else { "" };
            format!("{gap}{}{fraction}", fields[..n].join(":"))
        }
    };
    (
        format!("%d{sep}%m{sep}{year}{time}"),
        format!("%m{sep}%d{sep}{year}{time}"),
    )
}

/// The first day of a period written as a year-month (`1960-01`), a quarter (`2020-Q1`,
/// `2020Q1`) or an ISO week (`2020-W01`, `2020W01`: its Monday).
fn period_start(s: &str) -> Option<NaiveDate> {
    let (year, rest) = (s.get(..4)?, s.get(4..)?);
    if !is_number(year) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let two_digits = |t: &str| {
        if t.len() == 2 && is_number(t) {
            t.parse::<u32>().ok()
        } else {
            None
        }
    };
    if let Some(month) = rest.strip_prefix('-').and_then(two_digits) {
        return NaiveDate::from_ymd_opt(year, month, 1);
    }
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if let Some(q) = rest.strip_prefix(['Q', 'q']) {
        let month = match q {
            "1" => 1,
            "2" => 4,
            "3" => 7,
            "4" => 10,
            _ => return None,
        };
        return NaiveDate::from_ymd_opt(year, month, 1);
    }
    let week = rest.strip_prefix(['W', 'w']).and_then(two_digits)?;
    NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
}

/// `20190101` as a date: 8 digits, no leading zero, a real month and day.
fn yyyymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !is_number(s) || s.starts_with('0') {
        return None;
    }
    let part = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(part(0..4)? as i32, part(4..6)?, part(6..8)?)
}

/// `1871` as 1 January 1871: 1 to 4 digits, no leading zero.
fn year(s: &str) -> Option<NaiveDate> {
    if s.len() > 4 || !is_number(s) || s.starts_with('0') {
        return None;
    }
    NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1)
}

/// A first value that would make a date column (for the refusal of one that holds small
/// numbers): an ISO date or period, a YYYYMMDD date, a year in a column named for years
/// (`named_year`), or Unix seconds or milliseconds.
pub(super) fn could_be_date(value: &str, named_year: bool) -> bool {
    parse_calendar(value).is_some()
        || yyyymmdd(value).is_some()
        || (named_year && year(value).is_some())
        || (is_number(value) && (9..=13).contains(&value.len()))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Midnight (UTC) of `d`, in Unix seconds.
pub(super) fn midnight(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default()
}

/// Formats Unix seconds for machines: `2024-03-31` (daily data) or RFC 3339 in UTC,
/// `2024-03-31T12:00:00Z` ([`Zone::iso`] for a series' own zone).
pub fn format_iso(secs: i64, daily: bool) -> String {
    Zone::Utc.iso(secs, daily)
}

/// A date from [`Zone::iso`] as people read it: `2024-03-31 12:00:00 UTC`,
/// `2024-03-31 12:00:00 +05:00`, `2024-03-31 12:00:00`.
pub fn human_date(iso: &str) -> String {
    let (Some(time), Some(zone)) = (iso.get(..19), iso.get(19..)) else {
        return iso.to_string();
    };
    let time = time.replacen('T', " ", 1);
    match zone {
        "" => time,
        "Z" => format!("{time} UTC"),
        offset => format!("{time} {offset}"),
    }
}

/// Formats Unix seconds as `2024-03-31` (daily data) or `2024-03-31 12:00:00` (UTC).
pub fn format_time(secs: i64, daily: bool) -> String {
    match DateTime::from_timestamp(secs, 0) {
        Some(t) if daily => t.format("%Y-%m-%d").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> i64 {
        midnight(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn parses_the_date_forms_we_promise() {
        let day = 1_711_843_200; // 2024-03-31
        assert_eq!(parse_date("2024-03-31", None), Ok(day));
        assert_eq!(parse_date("2024-03-31 00:00:00", None), Ok(day));
        assert_eq!(
            parse_date("2024-03-30T22:00:00-02:00", None),
            Ok(day - 7_200)
        );
        assert_eq!(parse_date("2024-03-31T00:00:00Z", None), Ok(day));
        assert_eq!(parse_date("2024-03-31 00:00:00.000", None), Ok(day));
        assert_eq!(parse_date("1711843200", None), Ok(day));
        assert_eq!(parse_date("1711843200000", None), Ok(day));
        assert_eq!(parse_date("31/03/2024", Some("%d/%m/%Y")), Ok(day));
        assert!(parse_date("01/02/2021", None)
            .unwrap_err()
            .contains("--date-format"));
        assert!(parse_date("yesterday", None).is_err());
    }

    #[test]
    fn eight_digit_dates_are_yyyymmdd_for_the_whole_column() {
        let day = 1_546_300_800; // 2019-01-01
        assert_eq!(parse_date("20190101", None), Ok(day));
        let form = DateForm::detect("20190101", None);
        assert_eq!(form.parse("20191027"), Ok(1_572_134_400));
        // A later value in another form is refused, not read another way.
        for other in ["2019-01-02", "1546387200", "2019010", "20190230"] {
            assert!(form.parse(other).is_err(), "{other}");
        }
        assert!(form.parse("2019-01-02").unwrap_err().contains("'20190101'"));
        // Not a valid date: Unix seconds, as before; 8 digits read as seconds in a column
        // of Unix times; refused as ambiguous in a column of ISO dates.
        assert_eq!(parse_date("12345678", None), Ok(12_345_678));
        let unix = DateForm::detect("1546300800", None);
        assert_eq!(unix.parse("20190101"), Ok(20_190_101));
        let iso = DateForm::detect("2019-01-01", None);
        assert!(iso.parse("20190102").unwrap_err().contains("YYYYMMDD"));
        assert_eq!(iso.parse("1546387200"), Ok(day + 86_400));
        // The way out for Unix seconds that look like dates: chrono's %s.
        assert_eq!(parse_date("20190101", Some("%s")), Ok(20_190_101));
        assert_eq!(parse_date("1546300800", Some("%s")), Ok(day));
    }

    #[test]
    fn months_quarters_and_weeks_start_on_their_first_day() {
        let ymd = |y, m, d| midnight(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(parse_date("1960-01", None), Ok(ymd(1960, 1, 1)));
        assert_eq!(parse_date("2024-12", None), Ok(ymd(2024, 12, 1)));
        assert_eq!(parse_date("2020-Q1", None), Ok(ymd(2020, 1, 1)));
        assert_eq!(parse_date("2020Q3", None), Ok(ymd(2020, 7, 1)));
        assert_eq!(parse_date("2020-q4", None), Ok(ymd(2020, 10, 1)));
        // ISO week 1 of 2020 starts on Monday 2019-12-30.
        assert_eq!(parse_date("2020-W01", None), Ok(ymd(2019, 12, 30)));
        assert_eq!(parse_date("2020W53", None), Ok(ymd(2020, 12, 28)));
        for bad in [
            "2020-13", "2020-Q5", "2020-W54", "2021-W53", "2020-1", "20-01",
        ] {
            assert!(parse_date(bad, None).is_err(), "{bad}");
        }
    }

    /// `2010/01/01 00:00` was refused as ambiguous; year first is not. Day-and-month-first
    /// values are, with formats that fit them, time included.
    #[test]
    fn year_first_dates_with_slashes_are_not_ambiguous() {
        let at = |h: i64, m: i64| ymd(2010, 1, 31) + h * 3_600 + m * 60;
        assert_eq!(parse_date("2010/01/01 00:00", None), Ok(ymd(2010, 1, 1)));
        assert_eq!(parse_date("2010/01/31", None), Ok(at(0, 0)));
        assert_eq!(parse_date("2010/01/31T09:30", None), Ok(at(9, 30)));
        assert_eq!(parse_date("2010.01.31 09:30:15", None), Ok(at(9, 30) + 15));
        assert!(parse_date("2010/31/01", None).is_err());
        for (value, day_first, month_first) in [
            ("01/02/2021", "'%d/%m/%Y'", "'%m/%d/%Y'"),
            ("01/02/2021 10:00", "'%d/%m/%Y %H:%M'", "'%m/%d/%Y %H:%M'"),
            (
                "01.02.21 10:00:00",
                "'%d.%m.%y %H:%M:%S'",
                "'%m.%d.%y %H:%M:%S'",
            ),
        ] {
            let err = parse_date(value, None).unwrap_err();
            assert!(err.contains("ambiguous"), "{err}");
            assert!(
                err.contains(&format!("e.g. {day_first} or {month_first}")),
                "{err}"
            );
            let fmt = day_first.trim_matches('\'');
            assert!(parse_date(value, Some(fmt)).is_ok(), "{value} {fmt}");
        }
    }
}
