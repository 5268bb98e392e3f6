//! The calendar a series lives on: how long one step is, what it is called, which season
//! repeats, where the next dates fall, and which dates are missing.
//!
//! Contract: [`Calendar::detect`] looks at the dates only (never at the values) and picks
//! the common calendars: a fixed step (minutes, hours, days, weeks), business days (Monday
//! to Friday, weekends are not gaps), and every 1, 3 or 12 calendar months dated on the
//! first or the last day of the month. Everything that speaks of time in units — messages,
//! forecast dates, the seasonal baselines — asks the calendar instead of assuming days.

use chrono::{DateTime, Datelike, Months, NaiveDate, Weekday};
use serde::Serialize;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const WEEK: i64 = 7 * DAY;

/// Serialised only for JSON on stdout (`evaluate --format json`); the model file spells
/// it with its own record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calendar {
    /// One step is a fixed number of seconds: hourly (3,600), daily (86,400), weekly, …
    Fixed { seconds: i64 },
    /// One row per weekday, Monday to Friday (stock markets).
    BusinessDays,
    /// Every `every` calendar months (1 monthly, 3 quarterly, 12 yearly), dated on the
    /// first day of the month, or on the last when `end`.
    Months { every: u32, end: bool },
}

/// What [`Calendar::check`] found about how well the dates follow the calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spacing {
    /// Consecutive dates with calendar steps missing between them.
    pub gaps: usize,
    /// Calendar steps missing in all.
    pub missing: usize,
    /// The most steps missing in one gap.
    pub largest: usize,
    /// The index of the date before the first gap.
    pub first_gap: Option<usize>,
    /// Consecutive dates that are not a whole number of steps apart, and the first.
    pub off_calendar: usize,
    pub first_off: Option<usize>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::Fixed { seconds: DAY }
    }
}

impl Calendar {
    /// The calendar `dates` (strictly increasing Unix seconds) follow; daily for fewer than
    /// two dates.
    pub fn detect(dates: &[i64]) -> Calendar {
        if dates.len() < 2 {
            return Calendar::default();
        }
        let days: Option<Vec<NaiveDate>> = dates
            .iter()
            .map(|&t| (t.rem_euclid(DAY) == 0).then(|| date(t)).flatten())
            .collect();
        if let Some(days) = &days {
            for end in [false, true] {
                let anchored = days
                    .iter()
                    .all(|d| if end { is_month_end(*d) } else { d.day() == 1 });
                if !anchored {
                    continue;
                }
                let months: Vec<i64> = days
                    .windows(2)
                    .map(|w| month_index(w[1]) - month_index(w[0]))
                    .collect();
                let every = base_step(&months);
                if [1, 3, 12].contains(&every) {
                    return Calendar::Months {
                        every: every as u32,
                        end,
                    };
                }
            }
        }
        let diffs: Vec<i64> = dates.windows(2).map(|w| w[1] - w[0]).collect();
        let seconds = base_step(&diffs);
        let weekdays_only = dates.iter().all(|&t| date(t).is_some_and(is_weekday));
        let spans_weekends = dates[dates.len() - 1] - dates[0] >= WEEK;
        if seconds == DAY && weekdays_only && spans_weekends {
            return Calendar::BusinessDays;
        }
        Calendar::Fixed { seconds }
    }

    /// The date `n` steps after `t`.
    pub fn advance(&self, t: i64, n: usize) -> i64 {
        match *self {
            Calendar::Fixed { seconds } => t + seconds * n as i64,
            Calendar::BusinessDays => {
                let mut t = t;
                let mut left = n;
                while left > 0 {
                    t += DAY;
                    if date(t).is_some_and(is_weekday) {
                        left -= 1;
                    }
                }
                t
            }
            Calendar::Months { every, end } => {
                let Some(d) = date(t) else { return t };
                let time = t.rem_euclid(DAY);
                let months = Months::new(every * n as u32);
                let next = if end {
                    d.with_day(1)
                        .and_then(|first| first.checked_add_months(months))
                        .map(month_end)
                } else {
                    d.checked_add_months(months)
                };
                next.map_or(t, |d| midnight(d) + time)
            }
        }
    }

    /// The `n` dates after `last`.
    pub fn future(&self, last: i64, n: usize) -> Vec<i64> {
        let mut dates = Vec::with_capacity(n);
        let mut t = last;
        for _ in 0..n {
            t = self.advance(t, 1);
            dates.push(t);
        }
        dates
    }

    /// Whole calendar steps from `a` to `b` (`a < b`), or `None` when `b` is not on the
    /// calendar as seen from `a` (1.5 days apart on a daily calendar, a Saturday on a
    /// business-day one).
    pub fn steps_between(&self, a: i64, b: i64) -> Option<usize> {
        let diff = b - a;
        match *self {
            Calendar::Fixed { seconds } => {
                (diff > 0 && diff % seconds == 0).then(|| (diff / seconds) as usize)
            }
            Calendar::BusinessDays => {
                if diff <= 0 || diff % DAY != 0 || !date(b).is_some_and(is_weekday) {
                    return None;
                }
                let (weeks, rest) = (diff / WEEK, (diff % WEEK) / DAY);
                let mut steps = weeks as usize * 5;
                let mut t = a + weeks * WEEK;
                for _ in 0..rest {
                    t += DAY;
                    steps += usize::from(date(t).is_some_and(is_weekday));
                }
                Some(steps)
            }
            Calendar::Months { every, end } => {
                let (da, db) = (date(a)?, date(b)?);
                let aligned = a.rem_euclid(DAY) == b.rem_euclid(DAY)
                    && if end {
                        is_month_end(db)
                    } else {
                        db.day() == da.day()
                    };
                let months = month_index(db) - month_index(da);
                (aligned && months > 0 && months % i64::from(every) == 0)
                    .then(|| (months / i64::from(every)) as usize)
            }
        }
    }

    /// How far `dates` stray from the calendar: missing steps and off-calendar spacing.
    pub fn check(&self, dates: &[i64]) -> Spacing {
        let mut s = Spacing::default();
        for (i, w) in dates.windows(2).enumerate() {
            match self.steps_between(w[0], w[1]) {
                Some(1) => {}
                Some(steps) => {
                    s.gaps += 1;
                    s.missing = s.missing.saturating_add(steps - 1);
                    s.largest = s.largest.max(steps - 1);
                    s.first_gap.get_or_insert(i);
                }
                None => {
                    s.off_calendar += 1;
                    s.first_off.get_or_insert(i);
                }
            }
        }
        s
    }

    /// The name of one step: "hour", "day", "business day", "week", "month", "quarter",
    /// "15-minute step".
    pub fn unit(&self) -> String {
        match *self {
            Calendar::Fixed { seconds } => match seconds {
                60 => "minute".into(),
                HOUR => "hour".into(),
                DAY => "day".into(),
                WEEK => "week".into(),
                s if s % WEEK == 0 => format!("{}-week step", s / WEEK),
                s if s % DAY == 0 => format!("{}-day step", s / DAY),
                s if s % HOUR == 0 => format!("{}-hour step", s / HOUR),
                s if s % 60 == 0 => format!("{}-minute step", s / 60),
                s => format!("{s}-second step"),
            },
            Calendar::BusinessDays => "business day".into(),
            Calendar::Months { every: 1, .. } => "month".into(),
            Calendar::Months { every: 3, .. } => "quarter".into(),
            Calendar::Months { every: 12, .. } => "year".into(),
            Calendar::Months { every, .. } => format!("{every}-month step"),
        }
    }

    /// `n` steps in words: "1 day", "365 days", "48 hours".
    pub fn count(&self, n: usize) -> String {
        format!("{n} {}{}", self.unit(), if n == 1 { "" } else { "s" })
    }

    /// A short description of the calendar for messages: "hourly", "daily", "business days".
    pub fn describe(&self) -> String {
        match *self {
            Calendar::Fixed { seconds: HOUR } => "hourly".into(),
            Calendar::Fixed { seconds: DAY } => "daily".into(),
            Calendar::Fixed { seconds: WEEK } => "weekly".into(),
            Calendar::BusinessDays => "business days, Monday to Friday".into(),
            Calendar::Months { every, end } => {
                let what = match every {
                    1 => "monthly".to_string(),
                    3 => "quarterly".to_string(),
                    12 => "yearly".to_string(),
                    k => format!("every {k} months"),
                };
                format!(
                    "{what}, dated on the {} day",
                    if end { "last" } else { "first" }
                )
            }
            Calendar::Fixed { .. } => format!("one {} apart", self.unit()),
        }
    }

    /// The period of the seasonal naive baseline: 24 for hourly data (a day of hours),
    /// 7 for daily, 5 for business days, 52 for weekly, 12 for monthly, 4 for quarterly;
    /// `None` where no season is usual.
    pub fn season(&self) -> Option<usize> {
        match *self {
            Calendar::Fixed { seconds: DAY } => Some(7),
            Calendar::Fixed { seconds: WEEK } => Some(52),
            Calendar::Fixed { seconds } if seconds < DAY && DAY % seconds == 0 => {
                Some((DAY / seconds) as usize)
            }
            Calendar::BusinessDays => Some(5),
            Calendar::Months { every: 1, .. } => Some(12),
            Calendar::Months { every: 3, .. } => Some(4),
            _ => None,
        }
    }

    /// What the naive forecast assumes, in this calendar's words: "tomorrow = today".
    pub fn naive_words(&self) -> String {
        match *self {
            Calendar::Fixed { seconds: DAY } => "tomorrow = today".into(),
            Calendar::BusinessDays => "next business day = today".into(),
            _ => format!("next {0} = this {0}", self.unit()),
        }
    }

    /// What the seasonal naive forecast with period `m` repeats: "same hour yesterday".
    pub fn seasonal_words(&self, m: usize) -> String {
        if Some(m) == self.season() {
            match *self {
                Calendar::Fixed { seconds: HOUR } => return "same hour yesterday".into(),
                Calendar::Fixed { seconds: DAY } => return "same weekday last week".into(),
                Calendar::Fixed { seconds: WEEK } => return "same week last year".into(),
                Calendar::Fixed { seconds } if seconds < DAY => {
                    return "same time yesterday".into()
                }
                Calendar::BusinessDays => return "same weekday last week".into(),
                Calendar::Months { every: 1, .. } => return "same month last year".into(),
                Calendar::Months { every: 3, .. } => return "same quarter last year".into(),
                _ => {}
            }
        }
        format!("the value {} before", self.count(m))
    }

    /// Whether dates on this calendar carry a time of day.
    pub fn intraday(&self) -> bool {
        matches!(*self, Calendar::Fixed { seconds } if seconds % DAY != 0)
    }

    /// The usual length of one step in seconds (a month counts 30.44 days), for drawing.
    pub fn approx_seconds(&self) -> f64 {
        match *self {
            Calendar::Fixed { seconds } => seconds as f64,
            Calendar::BusinessDays => DAY as f64,
            Calendar::Months { every, .. } => f64::from(every) * 30.44 * DAY as f64,
        }
    }
}

/// A position in a cycle of the calendar, derived from each step's date (on the series'
/// clock: UTC, or the file's own zone) and known in advance for every future date:
/// `--calendar hour,weekday,month`. Each goes into the
/// network as the pair `sin 2πφ, cos 2πφ` of its phase φ ∈ [0, 1), so the end of a cycle
/// sits next to its start (23:00 beside 00:00, December beside January).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarInput {
    /// The time of day: φ = seconds since midnight / 86,400.
    Hour,
    /// The day of the week: φ = (0 for Monday … 6 for Sunday) / 7.
    Weekday,
    /// The time of year by months: φ = (month − 1 + (day − 1) / days in the month) / 12.
    Month,
}

impl CalendarInput {
    /// Every calendar input, in the order help texts list them.
    pub const ALL: [CalendarInput; 3] = [
        CalendarInput::Hour,
        CalendarInput::Weekday,
        CalendarInput::Month,
    ];

    /// The name on the command line, in config files and in the model file.
    pub fn name(self) -> &'static str {
        match self {
            CalendarInput::Hour => "hour",
            CalendarInput::Weekday => "weekday",
            CalendarInput::Month => "month",
        }
    }

    /// The phase φ ∈ [0, 1) of the date `t` (seconds on the series' clock) in this cycle.
    pub fn phase(self, t: i64) -> f64 {
        match self {
            CalendarInput::Hour => t.rem_euclid(DAY) as f64 / DAY as f64,
            // 1970-01-01 was a Thursday (3 with Monday as 0).
            CalendarInput::Weekday => (t.div_euclid(DAY) + 3).rem_euclid(7) as f64 / 7.0,
            CalendarInput::Month => date(t).map_or(0.0, |d| {
                let days = f64::from(month_end(d).day());
                (f64::from(d.month0()) + f64::from(d.day0()) / days) / 12.0
            }),
        }
    }

    /// The two features of date `t`: `sin 2πφ` and `cos 2πφ`.
    pub fn encode(self, t: i64) -> [f32; 2] {
        let angle = std::f64::consts::TAU * self.phase(t);
        [angle.sin() as f32, angle.cos() as f32]
    }
}

impl std::str::FromStr for CalendarInput {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = CalendarInput::ALL.map(CalendarInput::name);
        CalendarInput::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "calendar input '{s}': use one or more of {}",
                    names.join(", ")
                )
            })
    }
}

impl std::fmt::Display for CalendarInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for CalendarInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The step most of the data follow: the smallest spacing that accounts for at least a
/// fifth of all spacings (so a series with every third day missing is daily with gaps, not
/// a two-day series), else the median.
fn base_step(diffs: &[i64]) -> i64 {
    let mut sorted = diffs.to_vec();
    sorted.sort_unstable();
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].partition_point(|&d| d == sorted[i]) + i;
        if (j - i) * 5 >= sorted.len() && sorted[i] > 0 {
            return sorted[i];
        }
        i = j;
    }
    sorted.get(sorted.len() / 2).copied().unwrap_or(DAY).max(1)
}

fn date(t: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(t, 0).map(|d| d.date_naive())
}

fn midnight(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default()
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn is_month_end(d: NaiveDate) -> bool {
    d.succ_opt().is_some_and(|n| n.day() == 1)
}

/// The last day of `d`'s month.
fn month_end(d: NaiveDate) -> NaiveDate {
    d.with_day(1)
        .and_then(|first| first.checked_add_months(Months::new(1)))
        .and_then(|next| next.pred_opt())
        .unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Phases against dates worked out by hand: the cycle's start is 0, its middle ½.
    #[test]
    fn calendar_inputs_place_dates_in_their_cycle() {
        let t = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                .unwrap()
                .and_utc()
                .timestamp()
        };
        assert_eq!(CalendarInput::Hour.phase(t("2024-03-05 00:00")), 0.0);
        assert_eq!(CalendarInput::Hour.phase(t("2024-03-05 18:00")), 0.75);
        assert_eq!(CalendarInput::Weekday.phase(t("2024-03-04 13:00")), 0.0); // a Monday
        assert_eq!(
            CalendarInput::Weekday.phase(t("2024-03-10 00:00")),
            6.0 / 7.0
        ); // Sunday
        assert_eq!(CalendarInput::Weekday.phase(-1), 2.0 / 7.0); // Wednesday 1969-12-31
        assert_eq!(CalendarInput::Month.phase(t("2024-01-01 00:00")), 0.0);
        assert_eq!(CalendarInput::Month.phase(t("2024-07-01 09:00")), 0.5);
        assert_eq!(
            CalendarInput::Month.phase(t("2024-02-15 00:00")),
            (1.0 + 14.0 / 29.0) / 12.0
        );
        let [s, c] = CalendarInput::Hour.encode(t("2024-03-05 06:00"));
        assert!((s - 1.0).abs() < 1e-6 && c.abs() < 1e-6, "{s} {c}");
        assert_eq!(
            "Weekday".parse::<CalendarInput>(),
            Ok(CalendarInput::Weekday)
        );
        let err = "day".parse::<CalendarInput>().unwrap_err();
        assert!(err.contains("hour, weekday, month"), "{err}");
    }

    fn day(s: &str) -> i64 {
        midnight(s.parse().unwrap())
    }

    fn days(list: &[&str]) -> Vec<i64> {
        list.iter().map(|s| day(s)).collect()
    }

    fn show(ts: &[i64]) -> Vec<String> {
        ts.iter().map(|&t| date(t).unwrap().to_string()).collect()
    }

    #[test]
    fn detects_the_common_calendars() {
        let hourly: Vec<i64> = (0..100).map(|i| i * HOUR).collect();
        assert_eq!(Calendar::detect(&hourly), Calendar::Fixed { seconds: HOUR });
        let daily: Vec<i64> = (0..30).map(|i| i * DAY).collect();
        assert_eq!(Calendar::detect(&daily), Calendar::Fixed { seconds: DAY });
        let weekly: Vec<i64> = (0..30).map(|i| i * WEEK).collect();
        assert_eq!(Calendar::detect(&weekly), Calendar::Fixed { seconds: WEEK });
        // Weekdays of three weeks from Monday 2024-01-01.
        let business: Vec<i64> = (0..21)
            .map(|i| day("2024-01-01") + i * DAY)
            .filter(|&t| is_weekday(date(t).unwrap()))
            .collect();
        assert_eq!(Calendar::detect(&business), Calendar::BusinessDays);
        let monthly = days(&["1960-01-01", "1960-02-01", "1960-03-01", "1960-04-01"]);
        assert_eq!(
            Calendar::detect(&monthly),
            Calendar::Months {
                every: 1,
                end: false
            }
        );
        let month_ends = days(&["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"]);
        assert_eq!(
            Calendar::detect(&month_ends),
            Calendar::Months {
                every: 1,
                end: true
            }
        );
        let quarterly = days(&["2020-01-01", "2020-04-01", "2020-07-01", "2020-10-01"]);
        assert_eq!(
            Calendar::detect(&quarterly),
            Calendar::Months {
                every: 3,
                end: false
            }
        );
        // Every third day missing: daily with gaps, not a two-day step.
        let holey: Vec<i64> = (0..90).filter(|i| i % 3 != 2).map(|i| i * DAY).collect();
        assert_eq!(Calendar::detect(&holey), Calendar::Fixed { seconds: DAY });
        let s = Calendar::detect(&holey).check(&holey);
        assert_eq!((s.gaps, s.missing, s.off_calendar), (29, 29, 0));
    }

    #[test]
    fn forecasts_continue_on_the_calendar() {
        let months = Calendar::Months {
            every: 1,
            end: false,
        };
        assert_eq!(
            show(&months.future(day("1967-12-01"), 4)),
            ["1968-01-01", "1968-02-01", "1968-03-01", "1968-04-01"]
        );
        let ends = Calendar::Months {
            every: 1,
            end: true,
        };
        assert_eq!(
            show(&ends.future(day("2024-01-31"), 3)),
            ["2024-02-29", "2024-03-31", "2024-04-30"]
        );
        let quarters = Calendar::Months {
            every: 3,
            end: false,
        };
        assert_eq!(
            show(&quarters.future(day("2023-10-01"), 2)),
            ["2024-01-01", "2024-04-01"]
        );
        // Friday 2024-03-29 → Monday to Friday, then Monday again.
        assert_eq!(
            show(&Calendar::BusinessDays.future(day("2024-03-29"), 6)),
            [
                "2024-04-01",
                "2024-04-02",
                "2024-04-03",
                "2024-04-04",
                "2024-04-05",
                "2024-04-08"
            ]
        );
        let hourly = Calendar::Fixed { seconds: HOUR };
        assert_eq!(hourly.future(0, 2), [HOUR, 2 * HOUR]);
    }

    #[test]
    fn weekends_are_not_gaps_on_business_days_but_holidays_are() {
        // Mon 2024-03-25 .. Fri 03-29 (Good Friday closed), Mon 04-01, Tue 04-02.
        let d = days(&[
            "2024-03-25",
            "2024-03-26",
            "2024-03-27",
            "2024-03-28",
            "2024-04-01",
            "2024-04-02",
        ]);
        let s = Calendar::BusinessDays.check(&d);
        assert_eq!(
            (s.gaps, s.missing, s.largest, s.first_gap),
            (1, 1, 1, Some(3))
        );
        assert_eq!(
            Calendar::BusinessDays.steps_between(day("2024-03-29"), day("2024-04-01")),
            Some(1)
        );
        assert_eq!(
            Calendar::BusinessDays.steps_between(day("2024-03-29"), day("2024-03-30")),
            None
        );
    }

    #[test]
    fn off_calendar_spacing_is_counted() {
        let c = Calendar::Fixed { seconds: DAY };
        let d = vec![0, DAY, DAY + DAY / 2, 3 * DAY];
        let s = c.check(&d);
        assert_eq!((s.off_calendar, s.first_off), (2, Some(1)));
    }

    #[test]
    fn words_follow_the_step() {
        let hourly = Calendar::Fixed { seconds: HOUR };
        assert_eq!(hourly.count(48), "48 hours");
        assert_eq!(hourly.count(1), "1 hour");
        assert_eq!(hourly.season(), Some(24));
        assert_eq!(hourly.naive_words(), "next hour = this hour");
        assert_eq!(hourly.seasonal_words(24), "same hour yesterday");
        assert_eq!(hourly.seasonal_words(168), "the value 168 hours before");
        assert_eq!(Calendar::default().naive_words(), "tomorrow = today");
        assert_eq!(Calendar::BusinessDays.season(), Some(5));
        assert_eq!(Calendar::Fixed { seconds: 900 }.unit(), "15-minute step");
        assert_eq!(Calendar::Fixed { seconds: 900 }.season(), Some(96));
    }
}
