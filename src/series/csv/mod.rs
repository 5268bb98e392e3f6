//! CSV → [`Series`]: load with polars, validate, sort by date.
//!
//! Contract: the returned series has strictly increasing timestamps and finite values of
//! any sign (a transform that needs positive values checks for them once it is chosen:
//! [`first_non_positive`]). Two readers, one result: the fast path (module `fast`) parses the
//! needed columns with polars' typed parser and gives up on anything unusual; the slow path
//! ([`parse_csv`]) reads them as text and parses each cell here (polars would infer types
//! from the first rows only), so that every refusal can name the line and the value. Both
//! hand their rows to the same `Rows`, which sorts, removes duplicates, resamples and
//! words the notes. Rows whose
//! price is missing (`null`, empty, `NaN`) are dropped and reported in [`Loaded::notes`],
//! never turned into zeros; anything else unusable is an error. Input columns beside the
//! price (`--inputs`) are read and parsed the same way and travel with their rows
//! ([`Series::covariates`]): a missing cell drops the row, a non-number or a negative volume
//! is refused.
//!
//! How a date column is read is decided once, from its first value ([`DateForm`]), so that
//! `20190101` or `1871` never means one thing on one row and another on the next. The dates
//! keep the zone they were written in ([`Zone`]) and are held on its clock, so calendars,
//! seasons and printed dates follow the file rather than UTC. A long CSV's series without a
//! single value is left out and named ([`Panel::notes`]); `--csv -` reads standard input.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{read_input, GrufError};
use crate::series::calendar::Calendar;
use crate::series::panel::{Named, Panel};
use crate::text::plural;

mod fast;

/// Header names tried, in order, when no date column is given (`ds` is NeuralForecast's).
const DATE_COLUMNS: [&str; 11] = [
    "date",
    "datetime",
    "timestamp",
    "time",
    "open time",
    "month",
    "week",
    "period",
    "quarter",
    "ds",
    "year",
];

/// Header names tried, in order, when no price column is given: Yahoo's `Close`, then
/// NeuralForecast's `y`, then `value`.
const PRICE_COLUMNS: [&str; 3] = ["Close", "y", "value"];

/// Which columns to read and how to parse dates; the default reads Yahoo's layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataConfig {
    /// Price column, matched case-insensitively; `None` takes the first of Close, y, value.
    pub column: Option<String>,
    /// Date column; `None` auto-detects Date, Datetime, Timestamp, Time, Month, … (see
    /// `DATE_COLUMNS`).
    pub date_column: Option<String>,
    /// chrono format for the dates (`%Y` alone: years); `None` accepts ISO dates,
    /// datetimes, year-months, quarters, ISO weeks, YYYYMMDD, years and Unix times (see
    /// [`DateForm`]).
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

/// The zone a file's dates were written in, kept so that what gruf prints follows the file
/// (a time without a zone prints without one, a time at +05:00 prints at +05:00). Dates are
/// held on that zone's wall clock ([`Series::dates`]), so a daily series at +05:00 steps
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
    /// Empty when the load was told to skip it ([`Hash::Skip`]).
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
pub struct Loaded {
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

/// Whether a load computes the file's SHA-256 ([`Provenance::sha256`]).
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
pub fn load_csv(path: &Path, config: &DataConfig) -> Result<Loaded, GrufError> {
    load_csv_with(path, config, Hash::Sha256)
}

/// [`load_csv`], hashing the file or not.
pub fn load_csv_with(path: &Path, config: &DataConfig, hash: Hash) -> Result<Loaded, GrufError> {
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
    loaded.provenance.path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
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
pub fn parse_csv(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<Loaded, GrufError> {
    parse(bytes, path, config, Hash::Sha256)
}

/// The slow path, for a file of one series.
fn parse(bytes: &[u8], path: &Path, config: &DataConfig, hash: Hash) -> Result<Loaded, GrufError> {
    let config = DataConfig {
        id_column: None,
        ..config.clone()
    };
    let mut file = parse_groups(bytes, path, &config, hash)?;
    Ok(file
        .series
        .pop()
        .expect("one series without an id column")
        .1)
}

/// The series of one file, by id (sorted; one with an empty id without an id column), and
/// the notes on the file as a whole.
#[derive(Debug)]
struct FileSeries {
    series: Vec<(String, Loaded)>,
    /// The series of a long CSV left out for having no usable row, named.
    notes: Vec<String>,
}

/// Takes out of `groups` the series of a long CSV with no row kept (every price or input
/// missing) and returns the note that names them, so that the others go on as the README
/// promises. A file of one series, or a long CSV with no usable series at all, keeps them:
/// its error is then the series' own.
fn set_aside_empty(groups: &mut Vec<(String, Rows)>) -> Vec<String> {
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
        crate::series::panel::name_some(&ids, 20)
    )]
}

/// Reads a long CSV (`config.id_column` names the series) and returns each series,
/// cleaned and checked on its own, sorted by id: by the fast path when it can vouch for the
/// file, else by [`parse_panel`], which names the line, the series and the value of
/// anything it refuses.
pub fn load_panel(path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    if is_stdin(path) {
        let mut panel = read_panel(stdin_bytes()?, Path::new(STDIN), config)?;
        panel.provenance.path = PathBuf::from(STDIN);
        return Ok(panel);
    }
    let file = match fast::load_groups(path, config, Hash::Sha256) {
        Some(file) => file,
        None => parse_groups(&read_input(path, "")?, path, config, Hash::Sha256)?,
    };
    let mut panel = panel_of(file);
    panel.provenance.path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(panel)
}

/// [`load_panel`] on bytes already read: by the fast path when it can vouch for them, else
/// by [`parse_panel`]; `path` only names the file in messages (and is not canonicalised).
pub fn read_panel(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    let file = match fast::read_groups(bytes, path, config, Hash::Sha256) {
        Some(file) => file,
        None => parse_groups(bytes, path, config, Hash::Sha256)?,
    };
    Ok(panel_of(file))
}

/// [`load_panel`] on bytes already read, by the slow path; `path` only names the file in
/// messages.
pub fn parse_panel(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    Ok(panel_of(parse_groups(bytes, path, config, Hash::Sha256)?))
}

/// The panel of the series of one file (at least one, sorted by id), with the notes on
/// the file as a whole.
fn panel_of(file: FileSeries) -> Panel {
    let series: Vec<Named> = file
        .series
        .into_iter()
        .map(|(id, loaded)| Named {
            id,
            loaded,
            file: None,
        })
        .collect();
    let provenance = crate::series::panel::joined(&series);
    let mut panel = Panel {
        series,
        provenance,
        notes: Vec::new(),
    };
    panel.notes = file.notes;
    panel.notes.extend(panel.confusable_notes());
    panel
}

/// The slow path: reads the needed columns and parses every row into its series (by id,
/// sorted; one series with an empty id when there is no id column), each then cleaned on
/// its own.
fn parse_groups(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
    hash: Hash,
) -> Result<FileSeries, GrufError> {
    if let Some((format, command)) = compression(bytes) {
        return Err(GrufError::data(
            path,
            format!(
                "this looks compressed ({format}): decompress it first, e.g. {command} {}",
                path.display()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        GrufError::data(
            path,
            format!("not valid UTF-8 at byte {at} (line {line}); re-save the file as UTF-8"),
        )
    })?;
    if text.trim().is_empty() {
        return Err(GrufError::data(
            path,
            "the file is empty; expected a CSV with a header row",
        ));
    }
    if looks_like_json(bytes) {
        return Err(GrufError::data(
            path,
            "this looks like JSON, not CSV; gruf reads CSV with a date column and a value \
             column (a header such as Date,Close, then one row per date)",
        ));
    }

    let delimiter = config.delimiter.byte();
    let header = read_header(path, text, delimiter)?;
    let layout = Layout::choose(path, &header, config)?;
    let wanted = layout.wanted();
    let mut columns = read_columns(path, bytes, delimiter, &wanted)?;
    let mut take =
        |idx: usize| std::mem::take(&mut columns[wanted.binary_search(&idx).unwrap_or(0)]);
    let raw_dates = take(layout.date);
    let raw_prices = take(layout.price);
    let raw_ids = layout.id.map(&mut take);
    let extra: Vec<Column> = layout.extra.iter().map(|&i| take(i)).collect();

    // One reading for the whole column, decided by its first date.
    let first_date = raw_dates
        .iter()
        .flatten()
        .map(|d| d.trim())
        .find(|d| !d.is_empty())
        .unwrap_or("");
    let form = DateForm::for_column(
        &header[layout.date],
        first_date,
        config.date_format.as_deref(),
    )
    .ok_or_else(|| not_dates(path, text, delimiter, &header, &layout, first_date))?;

    // Parse row by row into the rows of its series; line numbers count the header as
    // line 1.
    let mut groups: BTreeMap<String, Rows> = BTreeMap::new();
    let mut cells = Vec::with_capacity(extra.len());
    for (i, (d, p)) in raw_dates.iter().zip(&raw_prices).enumerate() {
        let line = i + 2;
        let id = match (&raw_ids, layout.id) {
            (Some(ids), Some(col)) => {
                let id = ids[i].as_deref().unwrap_or("").trim();
                if id.is_empty() {
                    return Err(GrufError::data(
                        path,
                        format!(
                            "line {line}: {} is empty; every row needs a series id",
                            header[col]
                        ),
                    ));
                }
                id
            }
            _ => "",
        };
        if !groups.contains_key(id) {
            groups.insert(id.to_string(), Rows::new(&header, &layout));
        }
        let rows = groups.get_mut(id).expect("inserted above");
        cells.clear();
        cells.extend(extra.iter().map(|c| parse_price(c[i].as_deref())));
        let date = || date_cell(&form, d.as_deref());
        rows.push(line, parse_price(p.as_deref()), &cells, date)
            .map_err(|refusal| {
                let raw = |cell: &Option<String>| cell.as_deref().unwrap_or("").trim().to_string();
                let price_name = &header[layout.price];
                let date_name = &header[layout.date];
                let input = |j: usize| (&header[layout.extra[j]], raw(&extra[j][i]));
                let msg = match refusal {
                    Refusal::Price(reason) => format!("{price_name} value '{}' {reason}", raw(p)),
                    Refusal::Input(j, reason) => {
                        let (name, value) = input(j);
                        format!("{name} value '{value}' {reason}")
                    }
                    Refusal::NegativeVolume(j) => {
                        let (name, value) = input(j);
                        format!(
                            "{name} value '{value}' is negative; a volume cannot be \
                             (fix the row, or leave {name} out of --inputs)"
                        )
                    }
                    Refusal::Range { high, low, price } => format!(
                        "the range input ({} − {}) / {price_name} is not finite \
                         ({price_name} is {price}); leave range out of --inputs",
                        header[high], header[low]
                    ),
                    Refusal::EmptyDate => format!("{date_name} is empty; every row needs a date"),
                    Refusal::Date(reason) => format!("{date_name} '{}' {reason}", raw(d)),
                };
                let series = if id.is_empty() {
                    String::new()
                } else {
                    format!(" (series '{id}')")
                };
                GrufError::data(path, format!("line {line}{series}: {msg}"))
            })?;
    }
    if groups.is_empty() {
        // No data rows: the one series' own message says so.
        groups.insert(String::new(), Rows::new(&header, &layout));
    }
    let sha256 = match hash {
        Hash::Sha256 => sha256_hex(bytes),
        Hash::Skip => String::new(),
    };
    let mut groups: Vec<(String, Rows)> = groups.into_iter().collect();
    let notes = set_aside_empty(&mut groups);
    let series = groups
        .into_iter()
        .map(|(id, rows)| {
            let loaded = rows
                .finish(path, config, &form, sha256.clone(), || match layout.id {
                    None => series_column(text, delimiter, &header, &layout),
                    Some(_) => None,
                })
                .map_err(|e| match e {
                    GrufError::Data { path, msg } if !id.is_empty() => GrufError::Data {
                        path,
                        msg: format!("series '{id}': {msg}"),
                    },
                    other => other,
                })?;
            Ok((id, loaded))
        })
        .collect::<Result<_, GrufError>>()?;
    Ok(FileSeries { series, notes })
}

/// The column that looks like it names several series in a file read as one (a text
/// column, not the date, the price or an input, whose values repeat: fewer distinct values
/// than half the rows), preferring the one whose values come in the fewest blocks.
fn series_column(text: &str, delimiter: u8, header: &[String], layout: &Layout) -> Option<String> {
    let mut reader = csv_reader(text.as_bytes(), delimiter);
    let records: Vec<csv::StringRecord> = reader.records().skip(1).flatten().collect();
    let read = layout.wanted();
    (0..header.len())
        .filter(|i| !read.contains(i))
        .filter_map(|i| {
            let cells: Vec<&str> = records
                .iter()
                .map(|r| r.get(i).unwrap_or("").trim())
                .collect();
            let text = cells.iter().any(|c| c.parse::<f64>().is_err());
            let mut distinct = cells.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let repeats = distinct.len() >= 2 && distinct.len() * 2 <= cells.len();
            let blocks = 1 + cells.windows(2).filter(|w| w[0] != w[1]).count();
            (text && repeats && !cells.contains(&"")).then_some((blocks, i))
        })
        .min()
        .map(|(_, i)| header[i].clone())
}

/// The refusal of a date column of small numbers (`first`, e.g. a quarter's `1`), naming
/// the columns whose first value would make a date.
fn not_dates(
    path: &Path,
    text: &str,
    delimiter: u8,
    header: &[String],
    layout: &Layout,
    first: &str,
) -> GrufError {
    let mut reader = csv_reader(text.as_bytes(), delimiter);
    let mut row = csv::StringRecord::new();
    let _ = reader.read_record(&mut row); // the header
    let _ = reader.read_record(&mut row);
    let could = |(i, name): (usize, &String)| {
        let value = row.get(i)?.trim();
        let named_year = name.to_ascii_lowercase().contains("year");
        let date = parse_calendar(value).is_some()
            || yyyymmdd(value).is_some()
            || (named_year && year(value).is_some())
            || (is_number(value) && (9..=13).contains(&value.len()));
        (date && i != layout.date && i != layout.price).then(|| format!("{name} ('{value}')"))
    };
    let candidates: Vec<String> = header.iter().enumerate().filter_map(could).collect();
    let date_name = &header[layout.date];
    // A year beside a quarter or a month makes a date together.
    let year_value = (header.iter())
        .position(|h| h.eq_ignore_ascii_case("year"))
        .and_then(|i| Some((&header[i], row.get(i)?.trim())));
    let join = match (year_value, date_name.to_ascii_lowercase().as_str()) {
        (Some((name, y)), "quarter") => {
            format!("; or write {name} and {date_name} as one date column such as '{y}-Q{first}'")
        }
        (Some((name, y)), "month") => format!(
            "; or write {name} and {date_name} as one date column such as '{y}-{first:0>2}'"
        ),
        _ => String::new(),
    };
    let what_to_do = if candidates.is_empty() {
        "no column holds dates; add one (2024-03-31, 2024-Q1, 1871) and pass --date-column, \
         or pass --date-format %s if these are Unix seconds"
            .to_string()
    } else {
        format!(
            "columns that could make a date: {}; pass --date-column NAME",
            candidates.join(", ")
        )
    };
    GrufError::data(
        path,
        format!(
            "date column {date_name} holds small numbers such as '{first}', not dates (as Unix \
             seconds they would all fall on 1970-01-01); {what_to_do}{join}"
        ),
    )
}

/// The columns a load reads and what each is for, chosen from the header and the config.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    price: usize,
    date: usize,
    /// The series id of a long CSV (`--id-column`).
    id: Option<usize>,
    /// The columns read beside the date and the price (the inputs' sources), in file order.
    extra: Vec<usize>,
    /// The inputs beside the price, in the order listed.
    sources: Vec<Source>,
    /// What the choice needs to tell (a price column other than Close).
    notes: Vec<String>,
}

impl Layout {
    /// The price, date and input columns of `header` that `config` asks for, or the error
    /// that names what is missing.
    fn choose(path: &Path, header: &[String], config: &DataConfig) -> Result<Layout, GrufError> {
        let mut notes = Vec::new();
        let price = match &config.column {
            Some(name) => find_column(header, name).ok_or_else(|| {
                GrufError::data(
                    path,
                    format!(
                        "column '{name}' not found; columns are: {}; pass --column",
                        header.join(", ")
                    ),
                )
            })?,
            None => {
                let idx = PRICE_COLUMNS
                    .iter()
                    .find_map(|c| find_column(header, c))
                    .ok_or_else(|| {
                        GrufError::data(
                            path,
                            format!(
                                "column '{}' not found (nor y or value); columns are: {}; pass --column",
                                PRICE_COLUMNS[0],
                                header.join(", ")
                            ),
                        )
                    })?;
                if !header[idx].eq_ignore_ascii_case(PRICE_COLUMNS[0]) {
                    notes.push(format!(
                        "no {} column: using '{}' as the price column (pass --column to choose another)",
                        PRICE_COLUMNS[0], header[idx]
                    ));
                }
                idx
            }
        };
        let date = match &config.date_column {
            Some(name) => find_column(header, name).ok_or_else(|| {
                GrufError::data(
                    path,
                    format!(
                        "date column '{name}' not found; columns are: {}; pass --date-column",
                        header.join(", ")
                    ),
                )
            })?,
            None => DATE_COLUMNS
                .iter()
                .find_map(|c| find_column(header, c))
                .ok_or_else(|| {
                    GrufError::data(
                        path,
                        format!(
                            "no date column found (looked for Date, Datetime, Timestamp, Time, \
                             Open time, Month, Week, Period, Quarter, ds, Year); columns are: {}; \
                             pass --date-column",
                            header.join(", ")
                        ),
                    )
                })?,
        };
        if date == price {
            return Err(GrufError::data(
                path,
                "the price and date columns are the same column",
            ));
        }
        for &idx in &[price, date] {
            let same = header
                .iter()
                .filter(|h| h.eq_ignore_ascii_case(&header[idx]))
                .count();
            if same > 1 {
                return Err(GrufError::data(
                    path,
                    format!(
                        "column '{}' appears {same} times in the header; rename one",
                        header[idx]
                    ),
                ));
            }
        }

        let id = match &config.id_column {
            None => None,
            Some(name) => {
                let idx = find_column(header, name).ok_or_else(|| {
                    GrufError::data(
                        path,
                        format!(
                            "id column '{name}' not found; columns are: {}; pass --id-column",
                            header.join(", ")
                        ),
                    )
                })?;
                if idx == price || idx == date {
                    return Err(GrufError::data(
                        path,
                        format!(
                            "--id-column {name} is the {} column; the ids need a column of their own",
                            if idx == price { "price" } else { "date" }
                        ),
                    ));
                }
                Some(idx)
            }
        };
        let sources = input_sources(path, header, &config.inputs, price, date)?;
        if let Some(id) = id.filter(|id| {
            sources.iter().any(|s| match *s {
                Source::Column { idx } => idx == *id,
                Source::Range { high, low } => high == *id || low == *id,
            })
        }) {
            return Err(GrufError::data(
                path,
                format!(
                    "'{}' is the --id-column and cannot also be an input; leave it out of --inputs",
                    header[id]
                ),
            ));
        }
        if !sources.is_empty() {
            if let Some(period) = config.resample {
                return Err(GrufError::data(
                    path,
                    format!(
                        "--resample {} cannot aggregate the --inputs columns yet; resample the \
                         file first, or train on the price alone",
                        period.flag()
                    ),
                ));
            }
        }
        let mut extra: Vec<usize> = sources
            .iter()
            .flat_map(|source| match *source {
                Source::Column { idx } => vec![idx],
                Source::Range { high, low } => vec![high, low],
            })
            .filter(|&i| i != date && i != price)
            .collect();
        extra.sort_unstable();
        extra.dedup();
        Ok(Layout {
            price,
            date,
            id,
            extra,
            sources,
            notes,
        })
    }

    /// Every column read, sorted: the date, the price and the extra columns.
    fn wanted(&self) -> Vec<usize> {
        let mut wanted = self.extra.clone();
        wanted.extend([self.date, self.price]);
        wanted.extend(self.id);
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }
}

/// Why a row cannot be read; the reader that holds the cells' text turns it into the
/// message.
#[derive(Debug, Clone, PartialEq)]
enum Refusal {
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
fn date_cell(form: &DateForm, raw: Option<&str>) -> Result<(i64, Zone), Refusal> {
    let s = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Refusal::EmptyDate)?;
    form.read(s).map_err(Refusal::Date)
}

/// The rows a reader kept, in file order, column by column, and the tallies of the rows
/// it dropped for a missing value: what both readers produce, one row at a time
/// ([`Rows::push`]), and [`Rows::finish`] cleans.
struct Rows<'a> {
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
    fn new(header: &'a [String], layout: &'a Layout) -> Rows<'a> {
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
    fn reserve(&mut self, n: usize) {
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
    fn push(
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
                Source::Column { idx } => cell(idx),
                Source::Range { high, low } => {
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
    fn finish(
        self,
        path: &Path,
        config: &DataConfig,
        form: &DateForm,
        sha256: String,
        several: impl FnOnce() -> Option<String>,
    ) -> Result<Loaded, GrufError> {
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
        let filled = crate::series::fill::fill_series(&mut series, &mut lines, config)
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
        Ok(Loaded {
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

/// Each `period` that the sorted `dates` touch: its start, and the index of its last date.
fn period_ends(dates: &[i64], period: Resample) -> Vec<(i64, usize)> {
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

/// Whether `bytes` start (after a BOM and blanks) as a JSON object or array would: no CSV
/// header starts with `{` or `[`.
fn looks_like_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'['))
}

/// The compression format `bytes` start with (by signature), and the command that undoes it.
fn compression(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    match bytes {
        [0x1f, 0x8b, ..] => Some(("gzip", "gunzip")),
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(("zip", "unzip")),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(("zstd", "unzstd")),
        [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ..] => {
            Some(("bzip2", "bunzip2"))
        }
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some(("xz", "unxz")),
        _ => None,
    }
}

/// The header row (BOM and surrounding spaces removed), after one pass over the rows that
/// refuses any with more or fewer fields than the header, naming the first such line
/// (polars would fail without a line number, or fill missing fields with nulls). A header
/// of one field that another delimiter would split is refused with that delimiter named.
fn read_header(path: &Path, text: &str, delimiter: u8) -> Result<Vec<String>, GrufError> {
    let mut reader = csv_reader(text.as_bytes(), delimiter);
    let mut record = csv::StringRecord::new();
    let header: Vec<String> = match reader.read_record(&mut record) {
        Ok(true) => header_names(&record),
        Ok(false) => return Err(GrufError::data(path, "the file has no header row")),
        Err(e) => {
            return Err(GrufError::data(
                path,
                format!("cannot read the header row: {e}"),
            ))
        }
    };
    if let [only] = header.as_slice() {
        let likely = [b',', b';', b'\t', b'|']
            .into_iter()
            .filter(|&b| b != delimiter)
            .map(|b| (only.bytes().filter(|&c| c == b).count(), b))
            .max();
        if let Some((_, b)) = likely.filter(|&(n, _)| n > 0) {
            let d = Delimiter(b);
            let (name, arg) = if b == b'\t' {
                ("tab".to_string(), d.to_string())
            } else {
                (format!("'{d}'"), format!("'{d}'"))
            };
            return Err(GrufError::data(
                path,
                format!(
                    "the header is one field, '{}'; the file looks {name}-separated: \
                     pass --delimiter {arg}",
                    only.replace('\t', "\\t")
                ),
            ));
        }
    }
    let mut row = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) if rows == 0 => {
                return Err(GrufError::data(
                    path,
                    "the file has a header row but no data rows; expected one row per date",
                ))
            }
            Ok(false) => return Ok(header),
            Ok(true) => rows += 1,
            Err(e) => {
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths { pos, len, .. } => format!(
                        "line {} has {len} field{} but the header has {}; fix or remove that row",
                        pos.as_ref().map_or(0, |p| p.line()),
                        plural(*len as usize),
                        header.len()
                    ),
                    _ => format!("cannot parse as CSV: {e}"),
                };
                return Err(GrufError::data(path, msg));
            }
        }
    }
}

/// The reader of both paths' header row.
fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(bytes)
}

/// The header's names, BOM and surrounding spaces removed.
fn header_names(record: &csv::StringRecord) -> Vec<String> {
    record
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect()
}

/// Index of the header matching `name`: exactly, else ignoring ASCII case.
fn find_column(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|h| h == name)
        .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

type Column = Vec<Option<String>>;

/// Where an input beside the price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A column of the file, by index.
    Column { idx: usize },
    /// `range`: (High − Low) / price, from these two columns.
    Range { high: usize, low: usize },
}

impl Source {
    fn name(&self, header: &[String]) -> String {
        match *self {
            Source::Column { idx } => header[idx].clone(),
            Source::Range { .. } => "range".to_string(),
        }
    }
}

/// The inputs listed beside the price, resolved against the header (the price column and
/// repeats skipped); `range` is derived when the file has no such column.
fn input_sources(
    path: &Path,
    header: &[String],
    inputs: &[String],
    price_idx: usize,
    date_idx: usize,
) -> Result<Vec<Source>, GrufError> {
    let mut sources = Vec::new();
    for name in inputs.iter().map(|n| n.trim()) {
        let source = match find_column(header, name) {
            Some(idx) if idx == price_idx => continue,
            Some(idx) if idx == date_idx => {
                return Err(GrufError::data(
                    path,
                    format!("input '{name}' is the date column; list value columns in --inputs"),
                ))
            }
            Some(idx) => Source::Column { idx },
            None if name.eq_ignore_ascii_case("range") => {
                match (find_column(header, "high"), find_column(header, "low")) {
                    (Some(high), Some(low)) => Source::Range { high, low },
                    _ => {
                        return Err(GrufError::data(
                            path,
                            format!(
                                "input 'range' needs High and Low columns; columns are: {}",
                                header.join(", ")
                            ),
                        ))
                    }
                }
            }
            None => {
                return Err(GrufError::data(
                    path,
                    format!(
                        "input column '{name}' not found; columns are: {}; fix --inputs",
                        header.join(", ")
                    ),
                ))
            }
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    Ok(sources)
}

/// Reads the columns `indices` (sorted, distinct) as text with polars (only those are
/// parsed), in that order.
fn read_columns(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    indices: &[usize],
) -> Result<Vec<Column>, GrufError> {
    let polars_err = |e: PolarsError| GrufError::data(path, format!("cannot parse as CSV: {e}"));
    let df = CsvReadOptions::default()
        .with_has_header(false)
        .with_skip_rows(1)
        .with_infer_schema_length(Some(0))
        .map_parse_options(|o| o.with_separator(delimiter))
        .with_projection(Some(Arc::new(indices.to_vec())))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(polars_err)?;
    let text_column = |idx: usize| -> Result<Column, GrufError> {
        let col = df
            .column(&format!("column_{}", idx + 1))
            .map_err(polars_err)?;
        let strings = col.str().map_err(polars_err)?;
        Ok(strings.iter().map(|s| s.map(str::to_owned)).collect())
    };
    indices.iter().map(|&i| text_column(i)).collect()
}

/// One numeric cell (a price or an input), read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Price {
    /// Empty, `null`, `NaN`, …: the row is dropped.
    Missing,
    /// Refused, for this reason.
    Bad(&'static str),
    Value(f64),
}

impl Price {
    /// A number that parsed: refused unless finite and within `f32`'s range.
    fn of(v: f64) -> Price {
        if !v.is_finite() || v.abs() > f32::MAX as f64 {
            Price::Bad("is not finite (or too large); values must be finite numbers")
        } else {
            Price::Value(v)
        }
    }
}

fn parse_price(raw: Option<&str>) -> Price {
    let s = raw.unwrap_or("").trim();
    if s.is_empty()
        || ["null", "nan", "na", "n/a", "none"]
            .iter()
            .any(|m| s.eq_ignore_ascii_case(m))
    {
        return Price::Missing;
    }
    // "105,043.5" as exported by investing.com: drop thousands separators.
    let cleaned;
    let s = if s.contains(',') && s.split('.').next().is_some_and(thousands_grouped) {
        cleaned = s.replace(',', "");
        cleaned.as_str()
    } else {
        s
    };
    match s.parse::<f64>() {
        Err(_) => Price::Bad("is not a number"),
        Ok(v) => Price::of(v),
    }
}

/// "105,043" or "1,234,567": digit groups of three after the first.
fn thousands_grouped(int_part: &str) -> bool {
    let mut groups = int_part.trim_start_matches(['-', '+']).split(',');
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    first_ok && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// How a date column is read, decided once for the whole column from its first value
/// (or `--date-format`): `20190101` could be a YYYYMMDD date or Unix seconds, and which it
/// is must not change from row to row, nor be guessed silently (a YYYYMMDD reading is
/// reported in [`Loaded::notes`]).
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
    fn for_column(name: &str, first: &str, format: Option<&str>) -> Option<DateForm> {
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
    fn read(&self, s: &str) -> Result<(i64, Zone), String> {
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
fn unix_seconds(n: i64) -> i64 {
    if n >= 100_000_000_000 {
        n / 1000
    } else {
        n
    }
}

/// Parses one date or time to seconds on its own clock, as [`Series::dates`] holds the
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

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn midnight(d: NaiveDate) -> i64 {
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn compressed_files_are_recognised_by_signature() {
        let name = |b: &[u8]| compression(b).map(|c| c.0);
        assert_eq!(name(b"\x1f\x8b\x08\x00"), Some("gzip"));
        assert_eq!(name(b"PK\x03\x04rest"), Some("zip"));
        assert_eq!(name(b"\x28\xb5\x2f\xfd"), Some("zstd"));
        assert_eq!(name(b"BZh91AY&SY"), Some("bzip2"));
        assert_eq!(name(b"\xfd7zXZ\x00\x00"), Some("xz"));
        assert_eq!(name(b"Date,Close\n"), None);
        assert_eq!(name(b"BZh,Close\n"), None);
    }

    #[test]
    fn prices_are_parsed_or_refused_with_a_reason() {
        assert!(matches!(parse_price(Some("105,043.5")), Price::Value(v) if v == 105_043.5));
        assert!(matches!(parse_price(Some(" 42 ")), Price::Value(v) if v == 42.0));
        for missing in [None, Some(""), Some("null"), Some("NaN")] {
            assert!(matches!(parse_price(missing), Price::Missing));
        }
        for bad in ["inf", "-inf", "abc", "1e39", "-1e39", "1,2"] {
            assert!(matches!(parse_price(Some(bad)), Price::Bad(_)), "{bad}");
        }
        // Temperatures, spreads and P&L cross zero: any finite value loads.
        for (raw, want) in [
            ("-3", -3.0),
            ("0", 0.0),
            ("-0.25", -0.25),
            ("-1,234.5", -1234.5),
        ] {
            assert!(
                matches!(parse_price(Some(raw)), Price::Value(v) if v == want),
                "{raw}"
            );
        }
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

    #[test]
    fn a_few_gaps_do_not_change_the_step() {
        let s = Series::new(vec![0, 86_400, 172_800, 432_000, 518_400], vec![1.0; 5]);
        assert_eq!(s.calendar, Calendar::Fixed { seconds: 86_400 });
        assert!(s.is_daily());
        assert_eq!(format_time(1_711_843_200, true), "2024-03-31");
    }
}
