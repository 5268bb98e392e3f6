//! The axes' ticks, chosen by pure functions so that they can be tested: time ticks
//! ([`TimeTicks`]) are round hours, days, weeks, months or years that fit the width; the
//! loss axis ([`LossAxis`]) is log or linear so that it always carries several labels; and
//! [`Ticked`] is a linear plotters axis that carries exactly the ticks chosen.

use chrono::Datelike;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

const MINUTE: i64 = 60;
pub(super) const HOUR: i64 = 3_600;
pub(super) const DAY: i64 = 86_400;
/// 1970-01-01 was a Thursday; weekly ticks fall on Mondays.
const FIRST_MONDAY: i64 = 4 * DAY;

/// How far apart the ticks of a time axis are: a fixed number of seconds, or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spacing {
    Seconds(i64),
    Months(i64),
}

/// The round spacings, finest first.
const SPACINGS: [Spacing; 24] = [
    Spacing::Seconds(MINUTE),
    Spacing::Seconds(5 * MINUTE),
    Spacing::Seconds(15 * MINUTE),
    Spacing::Seconds(30 * MINUTE),
    Spacing::Seconds(HOUR),
    Spacing::Seconds(2 * HOUR),
    Spacing::Seconds(3 * HOUR),
    Spacing::Seconds(6 * HOUR),
    Spacing::Seconds(12 * HOUR),
    Spacing::Seconds(DAY),
    Spacing::Seconds(2 * DAY),
    Spacing::Seconds(7 * DAY),
    Spacing::Seconds(14 * DAY),
    Spacing::Months(1),
    Spacing::Months(2),
    Spacing::Months(3),
    Spacing::Months(6),
    Spacing::Months(12),
    Spacing::Months(24),
    Spacing::Months(60),
    Spacing::Months(120),
    Spacing::Months(240),
    Spacing::Months(600),
    Spacing::Months(1200),
];

impl Spacing {
    /// The ticks from `t0` to `t1` (inclusive), or `None` when there are more than `max`.
    /// Sub-day ticks are aligned on UTC midnight, two-day ticks on the Unix epoch, weekly
    /// ones on Mondays, monthly ones on the 1st of months whose number (counted from
    /// year 0) is a multiple of the spacing, so yearly ticks fall on 1 January.
    fn ticks(self, t0: i64, t1: i64, max: usize) -> Option<Vec<i64>> {
        match self {
            Spacing::Seconds(step) => {
                let origin = if step % (7 * DAY) == 0 {
                    FIRST_MONDAY
                } else {
                    0
                };
                let first = origin + (t0 - origin).div_euclid(step) * step;
                let first = if first < t0 { first + step } else { first };
                let count = if first > t1 {
                    0
                } else {
                    (t1 - first) / step + 1
                };
                (count <= max as i64).then(|| (0..count).map(|i| first + i * step).collect())
            }
            Spacing::Months(step) => {
                let month_of = |t: i64| {
                    let d = chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive());
                    d.map(|d| i64::from(d.year()) * 12 + i64::from(d.month0()))
                };
                let (m0, m1) = (month_of(t0)?, month_of(t1)?);
                let mut ticks = Vec::new();
                let mut m = m0.div_euclid(step) * step;
                while m <= m1 {
                    let start = chrono::NaiveDate::from_ymd_opt(
                        i32::try_from(m.div_euclid(12)).ok()?,
                        m.rem_euclid(12) as u32 + 1,
                        1,
                    )?;
                    let t = start.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
                    if (t0..=t1).contains(&t) {
                        if ticks.len() == max {
                            return None;
                        }
                        ticks.push(t);
                    }
                    m += step;
                }
                Some(ticks)
            }
        }
    }

    fn under_a_day(self) -> bool {
        matches!(self, Spacing::Seconds(s) if s < DAY)
    }
}

/// The ticks of a time axis and how to label them.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTicks {
    /// Unix seconds, ascending, all within the axis.
    pub ticks: Vec<i64>,
    /// The ticks are less than a day apart, so labels show the time of day.
    pub with_time: bool,
}

impl TimeTicks {
    /// At most `max` ticks from `t0` to `t1` at the finest round spacing: minutes and hours
    /// (only when `daily` is false), days, weeks, months, years.
    pub fn choose(t0: i64, t1: i64, daily: bool, max: usize) -> TimeTicks {
        let max = max.max(2);
        let fitting = SPACINGS
            .iter()
            .filter(|s| !(daily && s.under_a_day()))
            .find_map(|s| Some((*s, s.ticks(t0, t1, max)?)));
        match fitting {
            Some((spacing, ticks)) if !ticks.is_empty() => TimeTicks {
                ticks,
                with_time: spacing.under_a_day(),
            },
            _ => TimeTicks {
                ticks: vec![t0],
                with_time: !daily,
            },
        }
    }

    /// A tick's label: the date; when ticks are hours apart, the time of day alone except
    /// at midnight (the date) and on the first tick when no midnight is shown (both).
    pub fn label(&self, t: i64) -> String {
        let Some(time) = chrono::DateTime::from_timestamp(t, 0) else {
            return t.to_string();
        };
        let midnight = |t: &i64| t.rem_euclid(DAY) == 0;
        let format = if !self.with_time || midnight(&t) {
            "%Y-%m-%d"
        } else if self.ticks.first() == Some(&t) && !self.ticks.iter().any(midnight) {
            "%Y-%m-%d %H:%M"
        } else {
            "%H:%M"
        };
        time.format(format).to_string()
    }
}

/// A linear axis with the ticks we chose. (plotters' `with_key_points` does the same, but
/// over `f64` it loses the label formatter.)
pub(super) struct Ticked {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    pub(super) fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Ticked {
            range: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    /// The chosen ticks carry the labels and the grid lines; there are no light lines.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// How the loss panel's y axis maps losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// Drawn at log10 of the loss.
    Log,
}

/// The loss panel's y axis: its scale, the drawn range and the labelled ticks, in loss units.
#[derive(Debug, Clone, PartialEq)]
pub struct LossAxis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    /// Labels in scientific notation (`2e-3`) rather than decimals (`0.002`).
    scientific: bool,
    /// Digits after the point (of the mantissa when scientific) on a linear axis.
    digits: usize,
}

impl LossAxis {
    /// The axis for losses from `lo` to `hi` (0 < lo <= hi). Losses spanning a decade or
    /// more get a log scale with a tick at every decade, or at 1, 2 and 5 times each decade
    /// when fewer than three decades show; a narrower span gets a linear scale with round
    /// ticks. Either way there are at least three labelled ticks. (gruf 1.0 always used a
    /// log scale labelled at decades only, so a narrow span showed one label or none.)
    pub fn choose(lo: f64, hi: f64) -> LossAxis {
        if hi / lo >= 10.0 {
            let (lo, hi) = (lo / 1.25, hi * 1.25);
            let decades = || (lo.log10().ceil() as i32)..=(hi.log10().floor() as i32);
            let mut ticks: Vec<f64> = if decades().count() >= 3 {
                let every = decades().count().div_ceil(9);
                decades().step_by(every).map(|k| 10f64.powi(k)).collect()
            } else {
                (decades().start() - 1..=*decades().end())
                    .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
                    .filter(|t| (lo..=hi).contains(t))
                    .collect()
            };
            ticks.dedup();
            let scientific = ticks.iter().any(|&t| !(1e-3..1e5).contains(&t));
            LossAxis {
                scale: Scale::Log,
                lo,
                hi,
                ticks,
                scientific,
                digits: 0,
            }
        } else {
            let pad = if hi > lo { (hi - lo) * 0.08 } else { hi * 0.1 };
            let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
            // The widest round step (1, 2 or 5 times a power of ten) that gives four ticks.
            let exp = ((hi - lo) / 4.0).log10().floor() as i32;
            let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
            let (m, exp) = (exp - 2..=exp)
                .rev()
                .flat_map(|e| [5, 2, 1].map(|m| (m, e)))
                .find(|&(m, e)| count(f64::from(m) * 10f64.powi(e)) >= 4.0)
                .unwrap_or((1, exp - 2));
            let step = f64::from(m) * 10f64.powi(exp);
            let ticks: Vec<f64> = ((lo / step).ceil() as i64..=(hi / step).floor() as i64)
                .map(|k| k as f64 * step)
                .collect();
            let top = ticks.iter().fold(0f64, |a, t| a.max(t.abs()));
            let scientific = !(1e-2..1e5).contains(&top);
            let digits = if scientific {
                (top.log10().floor() as i32 - exp).max(0) as usize
            } else {
                (-exp).max(0) as usize
            };
            LossAxis {
                scale: Scale::Linear,
                lo,
                hi,
                ticks,
                scientific,
                digits,
            }
        }
    }

    /// Where a loss goes on the chart's y coordinate.
    pub(super) fn coord(&self, loss: f64) -> f64 {
        match self.scale {
            Scale::Linear => loss,
            Scale::Log => loss.log10(),
        }
    }

    /// The label of one of the ticks.
    pub fn label(&self, tick: f64) -> String {
        match (self.scale, self.scientific) {
            _ if tick == 0.0 => "0".to_string(),
            (Scale::Log, true) => format!("{tick:.0e}"),
            (Scale::Log, false) => {
                let digits = (-(tick.log10() + 1e-9).floor()).max(0.0) as usize;
                format!("{tick:.digits$}")
            }
            (Scale::Linear, true) => format!("{tick:.*e}", self.digits),
            (Scale::Linear, false) => format!("{tick:.*}", self.digits),
        }
    }

    /// Plain words for the caption.
    pub(super) fn scale_name(&self) -> &'static str {
        match self.scale {
            Scale::Linear => "linear scale",
            Scale::Log => "log scale",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::canvas::register_font;
    use crate::plot::style::{LABEL_SIZE, RIGHT_MARGIN, TIME_LABEL_SLOT};
    use plotters::style::IntoFont;

    fn at(date: &str) -> i64 {
        crate::series::dates::parse_date(date, None).unwrap()
    }

    #[test]
    fn a_few_days_of_hourly_data_get_hour_ticks_labelled_with_times_and_dates_at_midnight() {
        // 48 held-out hours and a 30-hour forecast, as `gruf plot` draws hourly-414 series.
        let (t0, t1) = (at("2016-01-28T04:00:00Z"), at("2016-01-31T09:00:00Z"));
        let ticks = TimeTicks::choose(t0, t1, false, 10);
        assert!(ticks.with_time);
        assert!(
            ticks.ticks.len() >= 4 && ticks.ticks.len() <= 10,
            "{ticks:?}"
        );
        assert!(ticks.ticks.windows(2).all(|w| w[1] - w[0] < DAY));
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert!(labels.contains(&"2016-01-29".to_string()), "{labels:?}");
        assert!(labels.contains(&"12:00".to_string()), "{labels:?}");
        // Every label is a whole date or a whole time of day; none carries seconds.
        assert!(
            labels.iter().all(|l| l.len() == 10 || l.len() == 5),
            "{labels:?}"
        );
    }

    #[test]
    fn hours_without_a_midnight_name_the_date_once() {
        let (t0, t1) = (at("2016-01-28T01:00:00Z"), at("2016-01-28T20:00:00Z"));
        let ticks = TimeTicks::choose(t0, t1, false, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(labels[0], "2016-01-28 02:00", "{labels:?}");
        assert!(labels[1..].iter().all(|l| l.len() == 5), "{labels:?}");
    }

    #[test]
    fn long_spans_get_date_ticks_on_round_days() {
        // About 120 days of daily data: two-weekly ticks on Mondays.
        let ticks = TimeTicks::choose(at("2024-01-02"), at("2024-04-30"), true, 10);
        assert!(!ticks.with_time);
        assert_eq!(ticks.ticks.len(), 9, "{ticks:?}");
        assert!(ticks.ticks.windows(2).all(|w| w[1] - w[0] == 14 * DAY));
        assert!(ticks
            .ticks
            .iter()
            .all(|t| (t - FIRST_MONDAY) % (7 * DAY) == 0));
        assert_eq!(ticks.label(ticks.ticks[0]), "2024-01-08");
        // Five months: monthly ticks on the 1st.
        let ticks = TimeTicks::choose(at("2023-12-03"), at("2024-04-30"), true, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(
            labels,
            ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
        );
        // Ten years: one tick a year, on 1 January.
        let ticks = TimeTicks::choose(at("2014-09-17"), at("2024-04-30"), true, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(labels.first().unwrap(), "2015-01-01");
        assert_eq!(labels.last().unwrap(), "2024-01-01");
        // Hourly data over a month: dates, no times.
        let ticks = TimeTicks::choose(at("2016-01-01"), at("2016-01-30T03:00:00Z"), false, 10);
        assert!(!ticks.with_time && ticks.ticks.len() >= 4, "{ticks:?}");
    }

    #[test]
    fn daily_data_never_gets_ticks_between_days() {
        let ticks = TimeTicks::choose(at("2024-03-28"), at("2024-03-31"), true, 10);
        assert!(!ticks.with_time);
        assert_eq!(ticks.ticks.len(), 4);
        let one_day = TimeTicks::choose(at("2024-03-28"), at("2024-03-28"), true, 10);
        assert_eq!(one_day.ticks, vec![at("2024-03-28")]);
    }

    #[test]
    fn the_last_time_label_fits_in_the_right_margin() {
        // gruf 1.0 left 16 pixels, and its last date label ran off the image.
        register_font();
        let font = ("sans-serif", LABEL_SIZE).into_font();
        let width = |label: &str| font.box_size(label).unwrap().0;
        for label in ["2024-04-27", "23:00"] {
            assert!(width(label) / 2 + 4 <= RIGHT_MARGIN, "{label}");
        }
        // The one long label, the first of hourly ticks, leaves room for its neighbour.
        assert!((width("2016-01-28 02:00") + width("04:00")) / 2 + 8 <= TIME_LABEL_SLOT);
    }

    fn labels(axis: &LossAxis) -> Vec<String> {
        axis.ticks.iter().map(|&t| axis.label(t)).collect()
    }

    #[test]
    fn losses_over_less_than_a_decade_get_a_linear_axis_with_round_ticks() {
        // gruf 1.0 drew these on a log axis labelled at decades: not one label showed.
        let axis = LossAxis::choose(0.0041, 0.0058);
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(axis.ticks.len(), 4, "{axis:?}");
        assert_eq!(labels(&axis), ["4.0e-3", "4.5e-3", "5.0e-3", "5.5e-3"]);
        let axis = LossAxis::choose(0.02, 0.13);
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(
            labels(&axis),
            ["0.02", "0.04", "0.06", "0.08", "0.10", "0.12"]
        );
        let axis = LossAxis::choose(0.05, 0.05);
        assert_eq!(axis.scale, Scale::Linear);
        assert!(
            axis.lo < 0.05 && 0.05 < axis.hi && axis.ticks.len() >= 3,
            "{axis:?}"
        );
    }

    #[test]
    fn losses_over_one_or_two_decades_get_ticks_at_1_2_and_5() {
        // The quick preset on btc-usd.csv: gruf 1.0 labelled 1.0e-3 and 1.0e-2 only.
        let axis = LossAxis::choose(3.1e-4, 2.5e-2);
        assert_eq!(axis.scale, Scale::Log);
        assert_eq!(
            labels(&axis),
            ["5e-4", "1e-3", "2e-3", "5e-3", "1e-2", "2e-2"]
        );
        let axis = LossAxis::choose(0.011, 0.21);
        assert_eq!(labels(&axis), ["0.01", "0.02", "0.05", "0.1", "0.2"]);
    }

    #[test]
    fn losses_over_several_decades_get_a_tick_at_every_decade() {
        let axis = LossAxis::choose(2e-6, 0.3);
        assert_eq!(axis.scale, Scale::Log);
        assert_eq!(labels(&axis), ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1"]);
        let axis = LossAxis::choose(0.002, 40.0);
        assert_eq!(labels(&axis), ["0.01", "0.1", "1", "10"]);
    }

    #[test]
    fn every_loss_range_gets_three_or_more_distinct_labels_inside_the_axis() {
        for lo_exp in -8..=2 {
            for ratio in [
                1.0, 1.01, 1.3, 2.0, 4.9, 9.99, 10.0, 30.0, 99.0, 1e3, 1e5, 1e9,
            ] {
                for mantissa in [1.0, 1.7, 3.3, 7.9] {
                    let lo = mantissa * 10f64.powi(lo_exp);
                    let axis = LossAxis::choose(lo, lo * ratio);
                    let labels = labels(&axis);
                    let mut distinct = labels.clone();
                    distinct.dedup();
                    assert!(
                        labels.len() >= 3 && labels.len() <= 10 && distinct == labels,
                        "{lo} x{ratio}: {labels:?}"
                    );
                    assert!(axis.lo <= lo && lo * ratio <= axis.hi, "{axis:?}");
                    assert!(axis.ticks.iter().all(|t| (axis.lo..=axis.hi).contains(t)));
                    assert!(labels.iter().all(|l| l.len() <= 8), "{labels:?}");
                }
            }
        }
    }

    #[test]
    fn ticks_stay_within_the_axis_and_under_the_limit() {
        let start = at("2016-01-01T05:00:00Z");
        for span in [
            HOUR,
            7 * HOUR,
            DAY,
            3 * DAY + 5 * HOUR,
            40 * DAY,
            400 * DAY,
            9000 * DAY,
        ] {
            for max in [2, 5, 10] {
                for daily in [false, true] {
                    let ticks = TimeTicks::choose(start, start + span, daily, max);
                    assert!(ticks.ticks.len() <= max, "{span} {max}: {ticks:?}");
                    assert!(
                        ticks
                            .ticks
                            .iter()
                            .all(|t| (start..=start + span).contains(t))
                            || ticks.ticks == [start],
                        "{span} {max}: {ticks:?}"
                    );
                }
            }
        }
    }
}
