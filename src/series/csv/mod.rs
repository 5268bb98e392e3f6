//! CSV → the series of a file: read with polars, validated, sorted by date.
//!
//! Contract: each series has strictly increasing timestamps and finite values of any sign
//! (a transform that needs positive values checks for them once it is chosen:
//! [`first_non_positive`](crate::series::first_non_positive)). Two readers, one result: the
//! fast path (module `fast`) parses the needed columns with polars' typed parser and gives
//! up on anything unusual; the slow path (module `slow`, [`parse_csv`]) reads them as text
//! and parses each cell, so that every refusal can name the line and the value. Both find
//! their columns the same way (module `layout`) and hand their rows to the same `Rows`
//! (module `rows`), which sorts, removes duplicates, resamples, fills and words the notes.
//! Rows whose price is missing (`null`, empty, `NaN`) are dropped and reported in
//! [`LoadedSeries::notes`], never turned into zeros; anything else unusable is an error. Input
//! columns beside the price (`--inputs`) are read and parsed the same way and travel with
//! their rows ([`Series::covariates`](crate::series::Series::covariates)): a missing cell
//! drops the row, a non-number or a negative volume is refused.
//!
//! A date column is read one way, decided from its first value
//! ([`DateForm`](crate::series::dates::DateForm)). A long CSV's series without a single
//! value is left out and named ([`FilePanel::notes`]); [`panel`](crate::series::panel)
//! makes a panel of a file's series. `--csv -` reads standard input.
//!
//! This module holds the options ([`DataConfig`]) and the entry points; its modules use
//! each other in one direction: `layout` ← `rows` ← `slow`, `fast`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{read_input, GrufError};
use crate::series::resample::Resample;
use crate::series::LoadedSeries;

mod fast;
mod layout;
mod rows;
mod slow;

/// Which columns to read and how to parse dates; the default reads Yahoo's layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataConfig {
    /// Price column, matched case-insensitively; `None` takes the first of Close, y, value.
    pub column: Option<String>,
    /// Date column; `None` auto-detects Date, Datetime, Timestamp, Time, Month, … (see
    /// `layout::DATE_COLUMNS`).
    pub date_column: Option<String>,
    /// chrono format for the dates (`%Y` alone: years); `None` accepts ISO dates,
    /// datetimes, year-months, quarters, ISO weeks, YYYYMMDD, years and Unix times (see
    /// [`DateForm`](crate::series::dates::DateForm)).
    pub date_format: Option<String>,
    /// Aggregate rows to one per period (the period's last price), e.g. minute bars to
    /// daily closes.
    pub resample: Option<Resample>,
    /// Seasonal periods, in steps: the first is the seasonal naive baseline's, all are the
    /// seasonal transform's; `None` takes one from the calendar (24 for hourly data, 7
    /// daily, 5 business days, 52 weekly, 12 monthly).
    pub season: Option<crate::series::season::Seasons>,
    /// Field separator (model files written by gruf 1.0 have none: a comma).
    pub delimiter: Delimiter,
    /// Input columns beside the price (`--inputs`), matched case-insensitively; the price
    /// column is always the first input, listed or not. `range` is derived as
    /// (High − Low) / price when the file has no column of that name. Empty: the price alone.
    pub inputs: Vec<String>,
    /// The column naming the series of a long CSV (one row per series and date), for a
    /// global model over many series; `None`: the file is one series.
    pub id_column: Option<String>,
    /// How the calendar steps missing between rows are filled, each series on its own
    /// (after resampling); [`Fill::None`](crate::series::fill::Fill::None) leaves them missing.
    pub fill: crate::series::fill::Fill,
}

/// The character between fields: one ASCII character, a comma unless told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Delimiter(u8);

impl Delimiter {
    pub fn byte(self) -> u8 {
        self.0
    }
}

impl Default for Delimiter {
    fn default() -> Self {
        Delimiter(b',')
    }
}

impl std::str::FromStr for Delimiter {
    type Err = String;

    /// One character; `tab` or `\t` for a tab.
    fn from_str(s: &str) -> Result<Self, String> {
        let byte = match s {
            "tab" | "\\t" | "\t" => b'\t',
            _ if s.len() == 1 => s.as_bytes()[0],
            _ => 0,
        };
        let usable = byte == b'\t'
            || byte == b' '
            || (byte.is_ascii_punctuation() && !matches!(byte, b'"' | b'.' | b'-'));
        if usable {
            Ok(Delimiter(byte))
        } else {
            Err(format!(
                "delimiter '{s}': give one character such as ';' or '|', or tab \
                 (not a letter, digit, quote, '.' or '-')"
            ))
        }
    }
}

impl std::fmt::Display for Delimiter {
    /// `tab`, or the character itself: what `--delimiter` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            b'\t' => f.write_str("tab"),
            b => write!(f, "{}", b as char),
        }
    }
}

impl TryFrom<String> for Delimiter {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Delimiter> for String {
    fn from(d: Delimiter) -> String {
        d.to_string()
    }
}

/// Whether a load computes the file's SHA-256 ([`Provenance::sha256`](crate::series::Provenance::sha256)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// Compute it: training records it, and a consumer that reads the training CSV again
    /// compares it.
    Sha256,
    /// Leave it empty: a consumer given another file has no use for it, and on a big file
    /// hashing is about a quarter of the reading.
    Skip,
}

/// Reads `path` and returns the cleaned, date-sorted series: by the fast path (module `fast`)
/// when it can vouch for the file, else by [`parse_csv`], which names the line and the value
/// of anything it refuses.
pub fn load_csv(path: &Path, config: &DataConfig) -> Result<LoadedSeries, GrufError> {
    load_csv_with(path, config, Hash::Sha256)
}

/// [`load_csv`], hashing the file or not.
pub fn load_csv_with(
    path: &Path,
    config: &DataConfig,
    hash: Hash,
) -> Result<LoadedSeries, GrufError> {
    // One series: the id column is a long CSV's (see `load_panel`).
    let config = &DataConfig {
        id_column: None,
        ..config.clone()
    };
    if is_stdin(path) {
        let (bytes, name) = (stdin_bytes()?, Path::new(STDIN));
        return match fast::read_groups(bytes, name, config, hash) {
            Some(mut file) => Ok(file.series.pop().expect("one series").1),
            None => parse(bytes, name, config, hash),
        };
    }
    let mut loaded = match fast::load(path, config, hash) {
        Some(loaded) => loaded,
        None => parse(&read_input(path, "")?, path, config, hash)?,
    };
    loaded.provenance.path = recorded_path(path);
    Ok(loaded)
}

/// How messages and the model file name standard input (`--csv -`).
const STDIN: &str = "<stdin>";

/// True for the path a model records for data read from standard input: no file to read
/// again, so consumers need `--csv`.
pub fn is_stdin_record(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// `--csv -` reads standard input, as `gruf sample --out -` writes standard output.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Standard input, read once and kept: a command that reads its CSV twice reads the same
/// bytes. A terminal is refused rather than waited on.
fn stdin_bytes() -> Result<&'static [u8], GrufError> {
    use std::io::{IsTerminal, Read};
    static STDIN_BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(bytes) = STDIN_BYTES.get() {
        return Ok(bytes);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(GrufError::usage(
            "--csv - reads a CSV from standard input, which is a terminal here; pipe one in, \
             e.g. gruf sample --out - | gruf train --csv -",
        ));
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| GrufError::no_input(Path::new(STDIN), &e, ""))?;
    Ok(STDIN_BYTES.get_or_init(|| bytes))
}

/// [`load_csv`] on bytes already read, by the slow path; `path` only names the file in
/// messages. The file is one series: `config.id_column` is not read.
pub fn parse_csv(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
) -> Result<LoadedSeries, GrufError> {
    parse(bytes, path, config, Hash::Sha256)
}

/// The slow path, for a file of one series.
fn parse(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
    hash: Hash,
) -> Result<LoadedSeries, GrufError> {
    let config = DataConfig {
        id_column: None,
        ..config.clone()
    };
    let mut file = slow::parse_groups(bytes, path, &config, hash)?;
    Ok(file
        .series
        .pop()
        .expect("one series without an id column")
        .1)
}

/// The series of one file, by id (sorted; one with an empty id without an id column), and
/// the notes on the file as a whole.
#[derive(Debug)]
pub struct FilePanel {
    pub series: Vec<(String, LoadedSeries)>,
    /// The series of a long CSV left out for having no usable row, named.
    pub notes: Vec<String>,
}

/// The series of the CSV at `path` (`config.id_column` names them; without one, the
/// file's one series with an empty id), each cleaned and checked on its own, sorted by id:
/// by the fast path when it can vouch for the file, else by the slow path, which names the
/// line, the series and the value of anything it refuses. `-` reads standard input.
pub fn load_groups(path: &Path, config: &DataConfig) -> Result<FilePanel, GrufError> {
    if is_stdin(path) {
        return read_groups(stdin_bytes()?, Path::new(STDIN), config);
    }
    match fast::load_groups(path, config, Hash::Sha256) {
        Some(file) => Ok(file),
        None => slow::parse_groups(&read_input(path, "")?, path, config, Hash::Sha256),
    }
}

/// [`load_groups`] on bytes already read; `path` only names the file in messages.
pub fn read_groups(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<FilePanel, GrufError> {
    match fast::read_groups(bytes, path, config, Hash::Sha256) {
        Some(file) => Ok(file),
        None => slow::parse_groups(bytes, path, config, Hash::Sha256),
    }
}

/// [`load_groups`] on bytes already read, by the slow path; `path` only names the file in
/// messages.
pub fn parse_groups(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
) -> Result<FilePanel, GrufError> {
    slow::parse_groups(bytes, path, config, Hash::Sha256)
}

/// The path a model records for the CSV given as `path`: the file's canonical path (as
/// given when it has none), or `<stdin>` for standard input.
pub fn recorded_path(path: &Path) -> PathBuf {
    if is_stdin(path) {
        PathBuf::from(STDIN)
    } else {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::dates::{human_date, midnight, parse_date, Zone};
    use crate::series::first_non_positive;
    use chrono::NaiveDate;

    #[test]
    fn delimiters_parse_and_print_as_the_flag_takes_them() {
        for (arg, byte) in [
            (";", b';'),
            ("tab", b'\t'),
            ("\\t", b'\t'),
            ("\t", b'\t'),
            ("|", b'|'),
        ] {
            let d: Delimiter = arg.parse().unwrap();
            assert_eq!(d.byte(), byte, "{arg}");
            assert_eq!(d.to_string().parse::<Delimiter>(), Ok(d));
        }
        for bad in ["", ";;", "a", "1", "\"", ".", "-", "é"] {
            assert!(bad.parse::<Delimiter>().is_err(), "{bad:?}");
        }
        assert_eq!(Delimiter::default().byte(), b',');
    }

    #[test]
    fn non_positive_values_load_with_their_lines() {
        let csv = "Date,Close\n2024-01-03,-2\n2024-01-01,1.5\n2024-01-02,0\n2024-01-04,3\n";
        let loaded = parse_csv(csv.as_bytes(), Path::new("t.csv"), &DataConfig::default()).unwrap();
        assert_eq!(loaded.series.values, vec![1.5, 0.0, -2.0, 3.0]);
        assert_eq!(loaded.lines, vec![3, 4, 2, 5]);
        assert_eq!(first_non_positive(&loaded.series.values), Some((1, 2)));
        assert_eq!(first_non_positive(&[1.0, 2.0]), None);
        // Resampled: each day's line is its last row's.
        let hourly =
            "Date,Close\n2024-01-01T00:00:00Z,1\n2024-01-01T05:00:00Z,-1\n2024-01-02T00:00:00Z,2\n";
        let config = DataConfig {
            resample: Some(Resample::Day),
            ..DataConfig::default()
        };
        let loaded = parse_csv(hourly.as_bytes(), Path::new("t.csv"), &config).unwrap();
        assert_eq!(loaded.series.values, vec![-1.0, 2.0]);
        assert_eq!(loaded.lines, vec![3, 4]);
    }

    /// Inputs travel with their rows through sorting and duplicate removal; `range` is
    /// derived from High and Low; the price listed among the inputs is not a covariate.
    #[test]
    fn inputs_are_sorted_and_deduplicated_with_their_rows() {
        let text = "Date,High,Low,Close,Volume\n\
                    2024-01-03,12,8,10,300\n\
                    2024-01-01,6,2,4,100\n\
                    2024-01-02,9,6,8,200\n\
                    2024-01-01,6,2,4,100\n";
        let config = DataConfig {
            inputs: vec!["close".into(), "volume".into(), "range".into()],
            ..DataConfig::default()
        };
        let loaded = parse_csv(text.as_bytes(), Path::new("t.csv"), &config).unwrap();
        let s = &loaded.series;
        assert_eq!(s.values, vec![4.0, 8.0, 10.0]);
        let names: Vec<&str> = s.covariates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Volume", "range"]);
        assert_eq!(s.covariates[0].values, vec![100.0, 200.0, 300.0]);
        assert_eq!(s.covariates[1].values, vec![1.0, 3.0 / 8.0, 0.4]);
        assert_eq!(loaded.lines, vec![3, 4, 2]);

        // The same date and price, another volume.
        let conflict = format!("{text}2024-01-02,9,6,8,250\n");
        let err = parse_csv(conflict.as_bytes(), Path::new("t.csv"), &config).unwrap_err();
        assert!(
            err.to_string().contains("different --inputs values"),
            "{err}"
        );
    }

    /// `range` reads High and Low even when one of them is the price column: it was read
    /// as the price only, so every row was refused as a non-finite range.
    #[test]
    fn range_reads_a_high_or_low_that_is_the_price() {
        let text = "Date,High,Low,Close\n2024-01-01,6,2,4\n2024-01-02,10,8,9\n";
        for (column, want) in [("High", [4.0 / 6.0, 0.2]), ("Low", [2.0, 0.25])] {
            let config = DataConfig {
                column: Some(column.into()),
                inputs: vec!["range".into()],
                ..DataConfig::default()
            };
            let loaded = parse_csv(text.as_bytes(), Path::new("t.csv"), &config).unwrap();
            let range = &loaded.series.covariates[0];
            assert_eq!(range.name, "range");
            assert_eq!(range.values, want, "--column {column}");
        }
    }

    fn ymd(y: i32, m: u32, d: u32) -> i64 {
        midnight(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn refusal(text: &str, config: &DataConfig) -> String {
        match parse_csv(text.as_bytes(), Path::new("t.csv"), config) {
            Ok(loaded) => panic!("loaded {:?}", loaded.series.dates),
            Err(e) => e.to_string(),
        }
    }

    /// Plain years were Unix seconds (1700 → 1970-01-01 00:28:20); they are years, with a
    /// note, in a column named `year` or when they have 3 or 4 digits, and with `%Y`; a
    /// yearly series is forecast on 1 January of the next years.
    #[test]
    fn plain_years_are_read_as_years() {
        let config = DataConfig::default();
        for text in [
            "Year,value
1700,5
1701,6
1702,7
",
            "Date,Close
1700,5
1701,6
1702,7
",
        ] {
            let loaded = parse_csv(text.as_bytes(), Path::new("t.csv"), &config).unwrap();
            let s = &loaded.series;
            assert_eq!(s.dates, [ymd(1700, 1, 1), ymd(1701, 1, 1), ymd(1702, 1, 1)]);
            assert_eq!(s.calendar.describe(), "yearly, dated on the first day");
            assert_eq!(
                s.calendar.future(s.dates[2], 2),
                [ymd(1703, 1, 1), ymd(1704, 1, 1)]
            );
            assert!(
                loaded.notes.iter().any(|n| n.contains("'1700' as years")),
                "{:?}",
                loaded.notes
            );
        }
        // A short year in a column named year; a later value that is no year is refused.
        let loaded = parse_csv(
            b"year,y
99,1
100,2
",
            Path::new("t.csv"),
            &config,
        )
        .unwrap();
        assert_eq!(loaded.series.dates, [ymd(99, 1, 1), ymd(100, 1, 1)]);
        let err = refusal(
            "Year,value
1700,5
1700000000,6
",
            &config,
        );
        assert!(
            err.contains("line 3: Year '1700000000' is not a year"),
            "{err}"
        );
        // --date-format %Y (and %Y-%m) read the period's first day.
        assert_eq!(parse_date("1871", Some("%Y")), Ok(ymd(1871, 1, 1)));
        assert_eq!(parse_date("1871-03", Some("%Y-%m")), Ok(ymd(1871, 3, 1)));
        assert!(parse_date("18x1", Some("%Y")).is_err());
        let with_format = DataConfig {
            date_format: Some("%Y".into()),
            ..DataConfig::default()
        };
        let loaded = parse_csv(
            b"t,Close
1871,1
1872,2
",
            Path::new("t.csv"),
            &DataConfig {
                date_column: Some("t".into()),
                ..with_format
            },
        )
        .unwrap();
        assert_eq!(loaded.series.dates, [ymd(1871, 1, 1), ymd(1872, 1, 1)]);
    }

    /// A column of small numbers (a quarter's 1 to 4) was read as Unix seconds and refused
    /// for a duplicate 1970-01-01; it is refused as no date column, naming the columns that
    /// could make one.
    #[test]
    fn small_numbers_are_not_dates() {
        let config = DataConfig::default();
        let text = "Year,Quarter,value
1700,1,5
1700,2,6
1700,3,7
1700,4,8
1701,1,9
";
        let err = refusal(text, &config);
        assert!(
            err.contains("date column Quarter holds small numbers such as '1', not dates"),
            "{err}"
        );
        assert!(err.contains("could make a date: Year ('1700')"), "{err}");
        assert!(
            err.ends_with("or write Year and Quarter as one date column such as '1700-Q1'"),
            "{err}"
        );
        assert!(!err.contains("same"), "{err}");
        let err = refusal(
            "ds,y
1,5
2,6
",
            &config,
        );
        assert!(err.contains("no column holds dates"), "{err}");
        // Told to, they are Unix seconds.
        let unix = DataConfig {
            date_format: Some("%s".into()),
            ..DataConfig::default()
        };
        let loaded = parse_csv(
            b"ds,y
1,5
2,6
",
            Path::new("t.csv"),
            &unix,
        )
        .unwrap();
        assert_eq!(loaded.series.dates, [1, 2]);
    }

    /// A long file read without `--id-column` was told to "remove one" of its repeated
    /// dates; a text column that repeats is named as the way out.
    #[test]
    fn repeated_dates_of_several_series_suggest_the_id_column() {
        let config = DataConfig::default();
        let text = "Date,Symbol,Close
2024-01-01,AAA,1
2024-01-02,AAA,2
\
                    2024-01-01,BBB,5
2024-01-02,BBB,6
";
        let err = refusal(text, &config);
        assert!(
            err.contains("lines 2 and 4 have the same Date (2024-01-01) but different Close"),
            "{err}"
        );
        assert!(
            err.contains("this looks like several series: pass --id-column Symbol"),
            "{err}"
        );
        // Hourly, as the long files of forecasting competitions: the time is shown whole.
        let text = "series,time,value\nH1,2016-01-01T00:00:00Z,1\nH1,2016-01-01T01:00:00Z,2\n\
                    H2,2016-01-01T00:00:00Z,5\nH2,2016-01-01T01:00:00Z,6\n";
        let err = refusal(text, &config);
        assert!(
            err.contains(
                "the same time (2016-01-01 00:00:00) but different value (1 and 5); \
                          this looks like several series: pass --id-column series"
            ),
            "{err}"
        );
        // A genuine conflict in one series: remove one.
        let err = refusal(
            "Date,Note,Close
2024-01-01,a,1
2024-01-01,b,2
2024-01-02,c,3
",
            &config,
        );
        assert!(err.ends_with("remove one"), "{err}");
    }

    /// Times with an offset were turned to UTC and printed as UTC, so a daily series at
    /// +05:00 was forecast at 19:00 the day before; times without a zone were labelled UTC.
    /// Each keeps its clock and prints as written; mixed zones are instants, with a note.
    #[test]
    fn dates_keep_the_zone_they_were_written_in() {
        let load = |text: &str| {
            parse_csv(text.as_bytes(), Path::new("t.csv"), &DataConfig::default()).unwrap()
        };
        let daily = load(
            "Date,Close\n2024-01-01T00:00:00+05:00,1\n2024-01-02T00:00:00+05:00,2\n\
             2024-01-03T00:00:00+05:00,3\n",
        );
        let s = &daily.series;
        assert_eq!(s.zone, Zone::Offset(18_000));
        assert_eq!(s.dates, [ymd(2024, 1, 1), ymd(2024, 1, 2), ymd(2024, 1, 3)]);
        assert!(s.is_daily());
        assert_eq!(s.calendar.future(s.dates[2], 1), [ymd(2024, 1, 4)]);
        assert_eq!(daily.provenance.last_date, "2024-01-03");
        assert!(
            daily.info.iter().any(|i| i.contains("at +05:00")),
            "{:?}",
            daily.info
        );

        let hourly = load("time,value\n2024-01-01T09:00:00-03:30,1\n2024-01-01T10:00:00-03:30,2\n");
        let s = &hourly.series;
        assert_eq!(s.zone.name(), "-03:30");
        assert_eq!(s.dates[0], ymd(2024, 1, 1) + 9 * 3_600);
        let next = s.calendar.future(s.dates[1], 1)[0];
        assert_eq!(s.zone.iso(next, false), "2024-01-01T11:00:00-03:30");
        assert_eq!(
            human_date(&s.zone.iso(next, false)),
            "2024-01-01 11:00:00 -03:30"
        );
        assert_eq!(parse_date("2024-01-01T11:00:00-03:30", None), Ok(next));

        let naive = load("time,value\n2024-01-01 09:00,1\n2024-01-01 10:00,2\n");
        assert_eq!(naive.series.zone, Zone::Naive);
        assert_eq!(
            naive.series.zone.iso(naive.series.dates[0], false),
            "2024-01-01T09:00:00"
        );
        assert_eq!(human_date("2024-01-01T09:00:00"), "2024-01-01 09:00:00");
        let utc = load("time,value\n2024-01-01T09:00:00Z,1\n2024-01-01T10:00:00+00:00,2\n");
        assert_eq!(
            utc.series.zone.iso(utc.series.dates[0], false),
            "2024-01-01T09:00:00Z"
        );
        assert_eq!(
            human_date("2024-01-01T09:00:00Z"),
            "2024-01-01 09:00:00 UTC"
        );

        // Summer time: two offsets, read as instants and printed in UTC, said once.
        let mixed = load(
            "time,Close\n2024-03-31T00:00:00+01:00,1\n2024-03-31T01:00:00+01:00,2\n\
             2024-03-31T03:00:00+02:00,3\n2024-03-31T04:00:00+02:00,4\n",
        );
        let s = &mixed.series;
        assert_eq!(s.zone, Zone::Utc);
        assert_eq!(s.dates[3] - s.dates[0], 3 * 3_600);
        assert_eq!(
            mixed.notes,
            [
                "time values are not all in one zone (+01:00 at line 2, +02:00 at line 4); \
              they are read as instants (a time without a zone as UTC) and printed in UTC"
            ]
        );
    }

    #[test]
    fn json_is_named_as_json() {
        let text = "[{\"date\": \"2024-01-01\", \"close\": 1}]\n";
        let err = refusal(text, &DataConfig::default());
        assert!(
            err.contains("t.csv: this looks like JSON, not CSV"),
            "{err}"
        );
        assert!(err.contains("date column and a value column"), "{err}");
    }
}
