//! Seasonal periods: the cycles of a series, in steps (`--season 24,168`: a day and a week
//! of hours).
//!
//! [`Seasons`] is a checked list of one to [`MAX_PERIODS`] periods, each of 2 to 10000
//! steps, from the shortest up, each listed once. The first period is the series' main
//! cycle: the seasonal naive baseline, the moving average and the MASE scale use it, so
//! adding a longer cycle changes what the seasonal transform removes (see `features::scaler`),
//! never what a model is scored against. Where no period is given, the calendar's usual
//! one is the first and only period (24 for hourly data).
//!
//! The seasonal transform estimates a profile of each period inside every input window.
//! A profile of a longer period estimated from a single cycle is that cycle itself: the
//! baseline would then reproduce the window and leave the network nothing to read. So a
//! list of several periods needs a window of two cycles of the longest
//! ([`Seasons::min_window`]); one period alone keeps gruf's rule of one cycle.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;

/// Most periods one list holds (a day, a week and a year of a finer step is already more
/// than a window of a GRU can hold).
pub const MAX_PERIODS: usize = 3;

/// Steps one period may span: one step is the naive forecast, not a season.
pub const PERIOD_STEPS: RangeInclusive<usize> = 2..=10_000;

/// One to [`MAX_PERIODS`] seasonal periods, strictly increasing, each in [`PERIOD_STEPS`].
/// Spelled `24` or `24,168` on the command line and `24` or `[24, 168]` in config files.
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SeasonsSetting")]
pub struct Seasons {
    periods: [usize; MAX_PERIODS],
    len: usize,
}

impl Seasons {
    /// The configured seasons, else the calendar's usual one (none for a calendar without
    /// one): what the seasonal transform and the tuner's window checks use.
    pub fn or_calendar(
        configured: Option<Seasons>,
        calendar: &crate::series::calendar::Calendar,
    ) -> Option<Seasons> {
        configured.or_else(|| Seasons::single(calendar.season()?).ok())
    }

    /// The checked list; `Err` names the list and says what to give instead.
    pub fn new(periods: &[usize]) -> Result<Seasons, String> {
        let shown = join(periods);
        if periods.is_empty() {
            return Err("season: give one period or more, e.g. 24 or 24,168".into());
        }
        if periods.len() > MAX_PERIODS {
            return Err(format!(
                "season {shown}: give at most {MAX_PERIODS} periods (e.g. 24,168 for the hours of a day and of a week)"
            ));
        }
        for &m in periods {
            check_period(m)?;
        }
        if periods.windows(2).any(|w| w[1] <= w[0]) {
            return Err(format!(
                "season {shown}: list the periods from the shortest up, each once (e.g. 24,168)"
            ));
        }
        let mut list = [0; MAX_PERIODS];
        list[..periods.len()].copy_from_slice(periods);
        Ok(Seasons {
            periods: list,
            len: periods.len(),
        })
    }

    /// One period (`Err` outside [`PERIOD_STEPS`]).
    pub fn single(m: usize) -> Result<Seasons, String> {
        Seasons::new(&[m])
    }

    /// The periods, shortest first.
    pub fn periods(&self) -> &[usize] {
        &self.periods[..self.len]
    }

    /// The main cycle: the period of the seasonal naive baseline and of the MASE scale.
    pub fn first(&self) -> usize {
        self.periods[0]
    }

    /// The longest period.
    pub fn longest(&self) -> usize {
        self.periods[self.len - 1]
    }

    /// True for more than one period.
    pub fn is_several(&self) -> bool {
        self.len > 1
    }

    /// The shortest input window the seasonal transform estimates these seasons in: one
    /// cycle of a single period, two cycles of the longest of several (a profile from one
    /// cycle is that cycle itself).
    pub fn min_window(&self) -> usize {
        if self.is_several() {
            2 * self.longest()
        } else {
            self.first()
        }
    }

    /// Refuses an input window of `window` steps too short for `--transform seasonal` to
    /// estimate these seasons in ([`Seasons::min_window`]); `Err` says how long a window
    /// is needed.
    pub fn check_window(&self, window: usize) -> Result<(), String> {
        let need = self.min_window();
        if window >= need {
            return Ok(());
        }
        if !self.is_several() {
            let m = self.first();
            return Err(format!(
                "--transform seasonal with a season of {m} steps needs --window {m} or more (a multiple of {m} works best), not {window}"
            ));
        }
        Err(format!(
            "--transform seasonal with seasons {self} needs --window {need} or more (two cycles \
             of {} steps: a profile estimated from one cycle is that cycle itself and leaves the \
             network nothing to read), not {window}; pass --window {need}, or --season {}",
            self.longest(),
            self.first()
        ))
    }
}

/// A period must span 2 to 10000 steps; `Err` names it and gives usual ones.
pub fn check_period(m: usize) -> Result<(), String> {
    if PERIOD_STEPS.contains(&m) {
        Ok(())
    } else {
        Err(format!(
            "season {m}: must be between 2 and 10000 steps (24 for hours of a day, 7 for days of a week)"
        ))
    }
}

fn join(periods: &[usize]) -> String {
    periods
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Debug for Seasons {
    /// `Seasons([24, 168])`: the periods, not the unused slots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Seasons").field(&self.periods()).finish()
    }
}

impl fmt::Display for Seasons {
    /// `24` or `24,168`, as the flag takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join(self.periods()))
    }
}

impl std::str::FromStr for Seasons {
    type Err = String;

    /// `24` or `24,168` (spaces around a period are allowed).
    fn from_str(s: &str) -> Result<Seasons, String> {
        let periods = s
            .split(',')
            .map(|p| {
                p.trim().parse::<usize>().map_err(|_| {
                    format!(
                        "season '{s}': '{}' is not a whole number of steps; give periods such as 24 or 24,168",
                        p.trim()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Seasons::new(&periods)
    }
}

/// How a config file spells the seasons: `season = 24` or `season = [24, 168]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum SeasonsSetting {
    One(usize),
    Several(Vec<usize>),
}

impl TryFrom<SeasonsSetting> for Seasons {
    type Error = String;

    fn try_from(s: SeasonsSetting) -> Result<Seasons, String> {
        match s {
            SeasonsSetting::One(m) => Seasons::single(m),
            SeasonsSetting::Several(periods) => Seasons::new(&periods),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_check_and_print() {
        let s: Seasons = "24, 168".parse().unwrap();
        assert_eq!(s.periods(), &[24, 168]);
        assert_eq!((s.first(), s.longest(), s.is_several()), (24, 168, true));
        assert_eq!(s.min_window(), 336);
        assert_eq!(s.to_string(), "24,168");
        assert_eq!(format!("{s:?}"), "Seasons([24, 168])");
        let one: Seasons = "24".parse().unwrap();
        assert_eq!((one.periods(), one.min_window()), (&[24][..], 24));
        assert_eq!(one, Seasons::single(24).unwrap());

        for (bad, says) in [
            ("24,abc", "'abc' is not a whole number"),
            ("", "'' is not a whole number"),
            ("24,", "'' is not a whole number"),
            ("1", "season 1: must be between 2 and 10000"),
            ("24,20000", "season 20000: must be between 2 and 10000"),
            (
                "168,24",
                "season 168,24: list the periods from the shortest up",
            ),
            (
                "24,24",
                "season 24,24: list the periods from the shortest up",
            ),
            ("12,288,2016,8064", "give at most 3 periods"),
        ] {
            let err = bad.parse::<Seasons>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(Seasons::new(&[]).is_err());
    }

    #[test]
    fn config_files_take_a_number_or_a_list() {
        #[derive(Deserialize)]
        struct Data {
            season: Seasons,
        }
        let read = |toml: &str| toml::from_str::<Data>(toml).map(|d| d.season);
        assert_eq!(read("season = 24").unwrap(), Seasons::single(24).unwrap());
        assert_eq!(read("season = [24, 168]").unwrap().periods(), &[24, 168]);
        let err = read("season = [168, 24]").unwrap_err().to_string();
        assert!(err.contains("from the shortest up"), "{err}");
        assert!(read("season = 1").is_err());
        assert!(read("season = \"24\"").is_err());
    }
}
