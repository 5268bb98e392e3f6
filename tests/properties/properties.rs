//! Property tests over generated inputs: whatever a CSV or a model file holds, gruf either
//! loads it to something valid or refuses it with an error; it never panics. OHLCV files
//! loaded with several `--inputs` give exactly the covariates of the rows kept, long CSVs
//! (`--id-column`) load by the fast path exactly as by the slow one (or fail with the same
//! message), and batches with covariates keep the price-only features.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use gruf::features::scaler::{Scaler, TransformKind};
use gruf::features::{Columns, Featurizer, Framing};
use gruf::series::csv::{load_csv, parse_csv, DataConfig};
use gruf::series::season::Seasons;
use gruf::series::{is_volume, Covariate};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::close::first_mismatch;

/// One generated price cell: numbers (zero and negative ones included: they load), the
/// missing markers, quoted thousands and, unless `clean`, garbage.
fn price_cell(clean: bool) -> BoxedStrategy<String> {
    let good = prop_oneof![
        12 => (0.01f64..1e6).prop_map(|v| format!("{v:.4}")),
        1 => (-1e6f64..=0.0).prop_map(|v| format!("{v:.4}")),
        1 => Just("0".to_string()),
        1 => Just("null".to_string()),
        1 => Just(String::new()),
        1 => Just("NaN".to_string()),
        1 => (1u32..999, 0u32..1000).prop_map(|(a, b)| format!("\"{a},{b:03}.5\"")),
    ];
    if clean {
        return good.boxed();
    }
    let bad = prop_oneof![
        Just("inf"),
        Just("-inf"),
        Just("abc"),
        Just("-1e40"),
        Just("1e40"),
        Just("\"\"")
    ];
    prop_oneof![8 => good, 1 => bad.prop_map(str::to_string)].boxed()
}

/// One generated date cell (any order, duplicates likely): ISO days or Unix seconds and,
/// unless `clean`, junk.
fn date_cell(clean: bool) -> BoxedStrategy<String> {
    let good = prop_oneof![
        8 => (0i64..400).prop_map(|d| {
            let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(d);
            day.format("%Y-%m-%d").to_string()
        }),
        1 => (0i64..400).prop_map(|d| (1_577_836_800 + d * 86_400).to_string()),
    ];
    if clean {
        return good.boxed();
    }
    let bad = prop_oneof![Just("01/02/2021"), Just(""), Just("yesterday")];
    prop_oneof![9 => good, 1 => bad.prop_map(str::to_string)].boxed()
}

fn csv_text() -> impl Strategy<Value = (String, bool)> {
    any::<bool>().prop_flat_map(|clean| {
        (
            prop::collection::vec((date_cell(clean), price_cell(clean)), 0..60),
            any::<bool>(), // BOM
            any::<bool>(), // CRLF
            any::<bool>(), // an extra column
        )
            .prop_map(|(rows, bom, crlf, extra)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = String::from(if bom { "\u{feff}" } else { "" });
                text.push_str(if extra {
                    "Date,Open,Close"
                } else {
                    "Date,Close"
                });
                text.push_str(eol);
                for (d, p) in &rows {
                    let line = if extra {
                        format!("{d},1,{p}")
                    } else {
                        format!("{d},{p}")
                    };
                    text.push_str(&line);
                    text.push_str(eol);
                }
                (text, rows.is_empty())
            })
    })
}

thread_local! {
    static LOADED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static OK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_csv_loads_to_a_clean_series_or_is_refused((text, _) in csv_text()) {
        LOADED.with(|c| c.set(c.get() + 1));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gen.csv");
        std::fs::write(&path, &text).unwrap();
        match load_csv(&path, &DataConfig::default()) {
            Ok(loaded) => {
                OK.with(|c| c.set(c.get() + 1));
                let s = &loaded.series;
                prop_assert!(!s.is_empty());
                prop_assert!(s.dates.windows(2).all(|w| w[0] < w[1]), "dates not increasing");
                // Any finite value of either sign; positivity is the transform's check.
                prop_assert!(s.values.iter().all(|v| v.is_finite()));
                prop_assert_eq!(loaded.lines.len(), s.len());
                prop_assert_eq!(loaded.provenance.rows, s.len());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("gen.csv"), "error does not name the file: {}", msg);
                prop_assert!(!msg.contains('\n'), "error is more than one line: {}", msg);
                prop_assert_eq!(e.exit_code(), 65);
            }
        }
    }

    #[test]
    fn transforms_round_trip(values in prop::collection::vec(1.0f64..1e5, 3..40), next in 1.0f64..1e5) {
        for kind in TransformKind::ALL {
            if let Some(s) = Scaler::fit(kind, &values) {
                let last = *values.last().unwrap();
                let back = s.decode(last, s.target(last, next));
                // f32 targets: about 7 significant digits of the transformed value.
                let atol = 1e-4 * next.max(last);
                prop_assert!(first_mismatch(&[back], &[next], 0.0, atol).is_none(), "{:?}: {} -> {}", kind, next, back);
            }
        }
    }

    /// Values of any sign: the transforms that take them (`diff`, `minmax`) round-trip.
    #[test]
    fn signed_transforms_round_trip(values in prop::collection::vec(-1e5f64..1e5, 3..40), next in -1e5f64..1e5) {
        for kind in TransformKind::ALL.into_iter().filter(|k| !k.needs_positive()) {
            if let Some(s) = Scaler::fit(kind, &values) {
                let last = *values.last().unwrap();
                let back = s.decode(last, s.target(last, next));
                let spread = values.iter().fold(next.abs(), |a, v| a.max(v.abs()));
                prop_assert!(first_mismatch(&[back], &[next], 0.0, 1e-4 * spread).is_none(), "{:?}: {} -> {}", kind, next, back);
            }
        }
    }
}

/// What the test knows a generated cell to be, independently of the loader.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    /// A number: what `str::parse` reads from the written text (without its thousands
    /// separators).
    Value(f64),
    /// Empty, `null`, `NaN`, `n/a`: the row is dropped when this column is read.
    Missing,
    /// Not a finite number, or a negative volume: refused when this column is read.
    Bad,
}

/// A generated cell: the text written and what it is.
type Written = (String, Cell);

/// A number in `lo..hi` (4 decimals), a quoted thousands-grouped number, the missing
/// markers and, unless `clean`, text and numbers too large to be finite in the model.
fn number_cell(lo: f64, hi: f64, clean: bool) -> BoxedStrategy<Written> {
    let good = prop_oneof![
        12 => (lo..hi).prop_map(|v| {
            let text = format!("{v:.4}");
            let value = text.parse().unwrap();
            (text, Cell::Value(value))
        }),
        1 => (1u32..999, 0u32..1000).prop_map(|(a, b)| {
            let value = f64::from(a) * 1000.0 + f64::from(b) + 0.5;
            (format!("\"{a},{b:03}.5\""), Cell::Value(value))
        }),
        1 => prop::sample::select(vec!["", "null", "NaN", "n/a"])
            .prop_map(|t| (t.to_string(), Cell::Missing)),
    ];
    if clean {
        return good.boxed();
    }
    let bad = prop::sample::select(vec!["abc", "inf", "-inf", "1e40", "-"])
        .prop_map(|t| (t.to_string(), Cell::Bad));
    prop_oneof![30 => good, 1 => bad].boxed()
}

/// A price-like cell (Open, High, Low, Close): positive when `clean`, else also zero or
/// negative (which load, but make the derived range infinite at zero).
fn price_like_cell(clean: bool) -> BoxedStrategy<Written> {
    if clean {
        return number_cell(1.0, 1e5, true);
    }
    prop_oneof![
        8 => number_cell(1.0, 1e5, false),
        1 => (-1e3f64..1.0).prop_map(|v| {
            let text = format!("{v:.4}");
            let value = text.parse().unwrap();
            (text, Cell::Value(value))
        }),
        1 => Just(("0".to_string(), Cell::Value(0.0))),
    ]
    .boxed()
}

/// A volume cell: non-negative (zero included) and, unless `clean`, negative ones, which a
/// volume column refuses.
fn volume_cell(clean: bool) -> BoxedStrategy<Written> {
    let good = prop_oneof![
        8 => number_cell(0.0, 1e11, clean),
        1 => Just(("0".to_string(), Cell::Value(0.0))),
    ];
    if clean {
        return good.boxed();
    }
    prop_oneof![
        30 => good,
        1 => (-1e6f64..-0.01).prop_map(|v| (format!("{v:.4}"), Cell::Bad)),
    ]
    .boxed()
}

/// How a row writes its date: an ISO day, the same day in Unix seconds, or junk.
#[derive(Debug, Clone, Copy)]
enum DateText {
    Iso,
    Unix,
    Bad(&'static str),
}

fn date_text(clean: bool) -> BoxedStrategy<DateText> {
    let good = prop_oneof![4 => Just(DateText::Iso), 1 => Just(DateText::Unix)];
    if clean {
        return good.boxed();
    }
    let bad = prop::sample::select(vec!["01/02/2021", "", "yesterday"]).prop_map(DateText::Bad);
    prop_oneof![40 => good, 1 => bad].boxed()
}

/// The header of the generated OHLCV files; `Row::cells` follow the columns after Date.
const OHLCV_HEADER: [&str; 6] = ["Date", "Open", "High", "Low", "Close", "Volume"];
const CLOSE: usize = 3;

/// A generated data row: its day (distinct per row unless duplicated on purpose), how the
/// date is written, and Open, High, Low, Close, Volume.
#[derive(Debug, Clone)]
struct Row {
    day: i64,
    date: DateText,
    cells: [Written; 5],
}

impl Row {
    fn date(&self) -> (String, Option<i64>) {
        let secs = 1_577_836_800 + self.day * 86_400; // 2020-01-01 + day
        match self.date {
            DateText::Iso => {
                let day = chrono::DateTime::from_timestamp(secs, 0).unwrap();
                (day.format("%Y-%m-%d").to_string(), Some(secs))
            }
            DateText::Unix => (secs.to_string(), Some(secs)),
            DateText::Bad(t) => (t.to_string(), None),
        }
    }
}

fn ohlcv_row(clean: bool) -> impl Strategy<Value = Row> {
    (
        date_text(clean),
        price_like_cell(clean),
        price_like_cell(clean),
        price_like_cell(clean),
        price_like_cell(clean),
        volume_cell(clean),
    )
        .prop_map(|(date, o, h, l, c, v)| Row {
            day: 0,
            date,
            cells: [o, h, l, c, v],
        })
}

/// The `--inputs` lists tried, as a user might spell them.
const INPUT_LISTS: [&[&str]; 5] = [
    &[],
    &["Volume"],
    &["Open", "High", "Low", "Volume"],
    &["Close", "Volume", "range"],
    &["high", "RANGE"],
];

/// A generated OHLCV file: its rows in file order (line `i + 2` is `rows[i]`), the file's
/// text, the price column (index into `Row::cells`: Close, or High as `--column High`)
/// and the inputs to load it with.
#[derive(Debug, Clone)]
struct OhlcvCase {
    rows: Vec<Row>,
    text: String,
    price: usize,
    inputs: Vec<String>,
}

impl OhlcvCase {
    fn config(&self) -> DataConfig {
        DataConfig {
            column: (self.price != CLOSE).then(|| OHLCV_HEADER[self.price + 1].to_string()),
            inputs: self.inputs.clone(),
            ..DataConfig::default()
        }
    }
}

/// Rows on distinct days in any order, then exact copies of a few rows and perhaps a row
/// that repeats a date with another cell in one column (the price, an input, or a column
/// not read), which may or may not differ.
fn ohlcv_case() -> impl Strategy<Value = OhlcvCase> {
    any::<bool>().prop_flat_map(|clean| {
        (
            prop::collection::vec(ohlcv_row(clean), 0..40),
            Just((0..120i64).collect::<Vec<_>>()).prop_shuffle(),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            prop::option::weighted(
                0.2,
                (
                    any::<prop::sample::Index>(),
                    0..5usize,
                    price_like_cell(clean),
                    volume_cell(clean),
                ),
            ),
            prop::sample::select(INPUT_LISTS.to_vec()),
            prop_oneof![3 => Just(CLOSE), 1 => Just(1)],
            any::<bool>(), // CRLF
        )
            .prop_map(
                move |(mut rows, days, copies, conflict, inputs, price, crlf)| {
                    for (row, day) in rows.iter_mut().zip(days) {
                        row.day = day;
                    }
                    if !rows.is_empty() {
                        for i in &copies {
                            rows.push(rows[i.index(rows.len())].clone());
                        }
                        if let Some((i, column, price_like, volume)) = conflict {
                            let mut row = rows[i.index(rows.len())].clone();
                            row.cells[column] = if column == 4 { volume } else { price_like };
                            rows.push(row);
                        }
                    }
                    let eol = if crlf { "\r\n" } else { "\n" };
                    let mut text = OHLCV_HEADER.join(",") + eol;
                    for row in &rows {
                        text.push_str(&row.date().0);
                        for (cell, _) in &row.cells {
                            text.push(',');
                            text.push_str(cell);
                        }
                        text.push_str(eol);
                    }
                    let inputs = inputs.iter().map(|s| s.to_string()).collect();
                    OhlcvCase {
                        rows,
                        text,
                        price,
                        inputs,
                    }
                },
            )
    })
}

/// A series as the test expects the loader to return it: dates, prices, lines and each
/// covariate's name and values.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    dates: Vec<i64>,
    values: Vec<f64>,
    lines: Vec<usize>,
    covariates: Vec<(String, Vec<f64>)>,
}

/// What the loader must do with a case, worked out from the generated cells alone.
#[derive(Debug)]
struct Verdict {
    /// The file must be refused (an unusable cell in a row that is read in full, an
    /// unusable price, no row left, or one date with two different rows).
    refused: bool,
    /// A row holds an unusable cell and a missing one: it may be dropped or refused
    /// (which one the loader reads first is its business).
    either: bool,
    /// What a load must return: the rows with a price and every input read, in date
    /// order, duplicates collapsed.
    expected: Expected,
    /// Each line with an unusable cell, and the names an error about it may give.
    offending: std::collections::HashMap<usize, Vec<&'static str>>,
}

/// An input of the generated files: a column (index into `Row::cells`) or the derived
/// range (High − Low) / Close.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pick {
    Column(usize),
    Range,
}

fn verdict(case: &OhlcvCase) -> Verdict {
    let price_name = OHLCV_HEADER[case.price + 1];
    let mut sources: Vec<Pick> = Vec::new();
    for name in &case.inputs {
        if name.eq_ignore_ascii_case(price_name) {
            continue;
        }
        let source = match name.to_ascii_lowercase().as_str() {
            "open" => Pick::Column(0),
            "high" => Pick::Column(1),
            "low" => Pick::Column(2),
            "close" => Pick::Column(3),
            "volume" => Pick::Column(4),
            "range" => Pick::Range,
            other => panic!("no column {other}"),
        };
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    let names: Vec<String> = sources
        .iter()
        .map(|s| match s {
            Pick::Column(c) => OHLCV_HEADER[c + 1].to_string(),
            Pick::Range => "range".to_string(),
        })
        .collect();
    let mut read: Vec<usize> = sources
        .iter()
        .flat_map(|s| match *s {
            Pick::Column(c) => vec![c],
            Pick::Range => vec![1, 2],
        })
        .collect();
    read.retain(|&c| c != case.price);
    read.sort_unstable();
    read.dedup();

    let (mut refused, mut either) = (false, false);
    let mut offending = std::collections::HashMap::new();
    let mut kept: Vec<(i64, f64, usize, Vec<f64>)> = Vec::new();
    for (i, row) in case.rows.iter().enumerate() {
        let line = i + 2;
        let price = match row.cells[case.price].1 {
            Cell::Missing => continue,
            Cell::Bad => {
                refused = true;
                offending.insert(line, vec![price_name]);
                continue;
            }
            Cell::Value(v) => v,
        };
        let bad: Vec<&'static str> = read
            .iter()
            .filter(|&&c| row.cells[c].1 == Cell::Bad)
            .map(|&c| OHLCV_HEADER[c + 1])
            .collect();
        if read.iter().any(|&c| row.cells[c].1 == Cell::Missing) {
            if !bad.is_empty() {
                either = true;
                offending.insert(line, bad);
            }
            continue;
        }
        if !bad.is_empty() {
            refused = true;
            offending.insert(line, bad);
            continue;
        }
        let value = |c: usize| match row.cells[c].1 {
            _ if c == case.price => price,
            Cell::Value(v) => v,
            _ => unreachable!(),
        };
        let covariates: Vec<f64> = sources
            .iter()
            .map(|s| match *s {
                Pick::Column(c) => value(c),
                Pick::Range => (value(1) - value(2)) / price,
            })
            .collect();
        if covariates.iter().any(|v| !v.is_finite()) {
            refused = true;
            offending.insert(line, vec!["range"]);
            continue;
        }
        let Some(date) = row.date().1 else {
            refused = true;
            offending.insert(line, vec!["Date"]);
            continue;
        };
        kept.push((date, price, line, covariates));
    }
    kept.sort_by_key(|r| (r.0, r.2));
    let mut rows: Vec<(i64, f64, usize, Vec<f64>)> = Vec::new();
    for row in kept {
        match rows.last() {
            Some(prev) if prev.0 == row.0 => {
                if (prev.1, &prev.3) != (row.1, &row.3) {
                    refused = true;
                }
            }
            _ => rows.push(row),
        }
    }
    refused |= rows.is_empty();
    let expected = Expected {
        dates: rows.iter().map(|r| r.0).collect(),
        values: rows.iter().map(|r| r.1).collect(),
        lines: rows.iter().map(|r| r.2).collect(),
        covariates: names
            .into_iter()
            .enumerate()
            .map(|(j, name)| (name, rows.iter().map(|r| r.3[j]).collect()))
            .collect(),
    };
    Verdict {
        refused,
        either,
        expected,
        offending,
    }
}

/// The line an error names as `line N: …`, if it names one.
fn named_line(msg: &str) -> Option<usize> {
    let at = msg.find("line ")? + "line ".len();
    let digits: String = msg[at..].chars().take_while(char::is_ascii_digit).collect();
    msg[at + digits.len()..]
        .starts_with(':')
        .then(|| digits.parse().ok())
        .flatten()
}

thread_local! {
    /// Generated OHLCV files: loaded, refused, and loaded though one row could have been
    /// refused (counted by `any_ohlcv_csv_loads_aligned_inputs_or_is_refused`).
    static OHLCV: std::cell::Cell<[usize; 3]> = const { std::cell::Cell::new([0; 3]) };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// OHLCV files with clean and dirty cells (blanks, missing markers, text, infinities,
    /// negative volumes, zero prices under a derived range, bad dates, repeated dates),
    /// loaded with several `--inputs`, the price in Close or in High (which `range` then
    /// reads): the loader refuses exactly the files that must be refused (in one line
    /// naming the file, and the line and column at fault when it names a line), and
    /// otherwise returns the rows with a price and every input read,
    /// in date order, with each covariate aligned, finite, named as the header spells it,
    /// and equal to the cells the test wrote.
    #[test]
    fn any_ohlcv_csv_loads_aligned_inputs_or_is_refused(case in ohlcv_case()) {
        let config = case.config();
        let verdict = verdict(&case);
        match parse_csv(case.text.as_bytes(), Path::new("gen.csv"), &config) {
            Ok(loaded) => {
                OHLCV.with(|c| { let mut n = c.get(); n[if verdict.either { 2 } else { 0 }] += 1; c.set(n) });
                prop_assert!(!verdict.refused, "loaded a file that must be refused: {:?}", verdict);
                let s = &loaded.series;
                prop_assert!(!s.is_empty());
                prop_assert!(s.dates.windows(2).all(|w| w[0] < w[1]), "dates not increasing");
                prop_assert!(s.values.iter().all(|v| v.is_finite()));
                prop_assert_eq!(loaded.lines.len(), s.len());
                for c in &s.covariates {
                    prop_assert_eq!(c.values.len(), s.len(), "{} is not aligned", &c.name);
                    prop_assert!(c.values.iter().all(|v| v.is_finite()), "{}", &c.name);
                    if is_volume(&c.name) {
                        prop_assert!(c.values.iter().all(|&v| v >= 0.0), "{}", &c.name);
                    }
                }
                let got = Expected {
                    dates: s.dates.clone(),
                    values: s.values.clone(),
                    lines: loaded.lines.clone(),
                    covariates: s.covariates.iter().map(|c| (c.name.clone(), c.values.clone())).collect(),
                };
                prop_assert_eq!(got, verdict.expected);
            }
            Err(e) => {
                OHLCV.with(|c| { let mut n = c.get(); n[1] += 1; c.set(n) });
                let msg = e.to_string();
                prop_assert!(verdict.refused || verdict.either, "refused a clean file: {}\n{}", msg, case.text);
                prop_assert!(msg.starts_with("gen.csv: "), "error does not name the file: {}", msg);
                prop_assert!(!msg.contains('\n'), "error is more than one line: {}", msg);
                prop_assert_eq!(e.exit_code(), 65);
                if let Some(line) = named_line(&msg) {
                    let names = verdict.offending.get(&line);
                    prop_assert!(
                        names.is_some_and(|n| n.iter().any(|name| msg.contains(name))),
                        "names line {} ({:?}), not a line at fault: {}", line, names, msg
                    );
                }
            }
        }
    }
}

/// The OHLCV generator is useful only if files load, files are refused, and some loads
/// are compared value by value against rows with missing and unusable cells nearby.
#[test]
fn generated_ohlcv_files_both_load_and_fail() {
    any_ohlcv_csv_loads_aligned_inputs_or_is_refused();
    let [ok, refused, either] = OHLCV.with(|c| c.get());
    let total = ok + refused + either;
    assert!(
        ok * 10 >= total && refused * 10 >= total,
        "{ok} loaded, {refused} refused of {total}"
    );
}

/// A random series (positive values) with random covariates named like the columns
/// gruf encodes differently: a price-like one near the price, a volume (zero included)
/// and a range of either sign.
fn series_with_covariates() -> impl Strategy<Value = (Vec<f64>, Vec<Covariate>)> {
    prop::collection::vec(1.0f64..1e4, 30..80).prop_flat_map(|values| {
        let n = values.len();
        (
            Just(values),
            prop::sample::subsequence(vec!["High", "Volume", "range", "Open"], 0..=4),
            prop::collection::vec(prop::collection::vec(0.0f64..2.0, n), 4),
        )
            .prop_map(|(values, names, draws)| {
                let covariates = names
                    .iter()
                    .zip(draws)
                    .map(|(&name, draw)| Covariate {
                        name: name.to_string(),
                        values: values
                            .iter()
                            .zip(draw)
                            .map(|(&v, d)| match name {
                                "Volume" => d * 1e6,
                                "range" => d - 0.5,
                                _ => v * (0.9 + d * 0.1),
                            })
                            .collect(),
                    })
                    .collect();
                (values, covariates)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// `Featurizer::batch` with covariates, for every transform, window and horizon: `x`
    /// holds `n · window · features` finite values and `y` `n · horizon`, the price
    /// feature of every step is what the price-only featurizer gives, and so are the
    /// targets (covariates are inputs, never targets).
    #[test]
    fn covariate_batches_hold_the_price_only_features(
        (values, covariates) in series_with_covariates(),
        window in 1usize..8,
        horizon in 1usize..5,
        transform in prop::sample::select(TransformKind::ALL.to_vec()),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..10),
    ) {
        let framing = Framing { window, horizon, transform, ..Framing::default() };
        let fit_end = values.len() * 2 / 3;
        // `seasonal`: one season of 2 steps, or two (2 and 3) where the window holds two
        // cycles of 3.
        let seasons = match window {
            6.. => Seasons::new(&[2, 3]).ok(),
            2.. => Seasons::single(2).ok(),
            _ => None,
        };
        let plain = Featurizer::fit(&framing, &values[..fit_end], seasons);
        prop_assume!(plain.is_some());
        let plain = plain.unwrap();
        let f = plain.clone().with_inputs(&covariates, fit_end);
        prop_assume!(f.is_ok());
        let f = f.unwrap();
        prop_assert_eq!(f.features(), 1 + covariates.len());
        let lookback = f.lookback();
        let span = values.len() - horizon - lookback + 1;
        let targets: Vec<usize> = picks.iter().map(|i| lookback + i.index(span)).collect();
        let columns = Columns { covariates: &covariates, ..Columns::from(&values) };
        let (x, y) = f.batch(columns, &targets);
        let n = targets.len();
        prop_assert_eq!(x.len(), n * window * f.features());
        prop_assert_eq!(y.len(), n * horizon);
        prop_assert!(x.iter().chain(&y).all(|v| v.is_finite()), "{:?}", f);
        let (px, py) = plain.batch(&values, &targets);
        prop_assert_eq!(px.len(), n * window);
        for (step, &p) in px.iter().enumerate() {
            prop_assert_eq!(x[step * f.features()].to_bits(), p.to_bits(), "step {}", step);
        }
        prop_assert_eq!(y, py);
    }
}

/// A valid checkpoint's bytes, made once through the CLI's library path.
fn valid_checkpoint(dir: &Path) -> Vec<u8> {
    let csv = dir.join("s.csv");
    let bars = gruf::series::synth::generate(&gruf::series::synth::SampleConfig {
        rows: 120,
        ..Default::default()
    });
    std::fs::write(&csv, gruf::series::synth::to_csv(&bars)).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
        .current_dir(dir)
        .args([
            "train",
            "--csv",
            "s.csv",
            "--layers",
            "3",
            "--window",
            "5",
            "--epochs",
            "1",
            "--test-days",
            "10",
        ])
        .args(["--seed", "1", "--quiet", "--model", "m.safetensors"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("m.safetensors")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random corruption of a valid model file: flipped bytes, truncation, appended junk.
    #[test]
    fn corrupted_checkpoints_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        junk in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        thread_local! {
            static GOOD: (tempfile::TempDir, Vec<u8>) = {
                let dir = tempfile::tempdir().unwrap();
                let bytes = valid_checkpoint(dir.path());
                (dir, bytes)
            };
        }
        let mut bytes = GOOD.with(|g| g.1.clone());
        for (i, b) in &flips {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        bytes.extend_from_slice(&junk);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, &bytes).unwrap();
        match Checkpoint::load(&path, &Device::Cpu) {
            Ok(c) => {
                // Whatever loads must be usable: finite weights of the right shapes.
                prop_assert!(c.model().is_ok());
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 65);
                prop_assert!(e.to_string().contains("bad.safetensors"));
            }
        }
    }
}

/// The generator is useful only if both outcomes occur often: checked after the run above.
#[test]
fn generated_csvs_both_load_and_fail() {
    // Run the property in this thread so the counters see it.
    any_csv_loads_to_a_clean_series_or_is_refused();
    let (total, ok) = (LOADED.with(|c| c.get()), OK.with(|c| c.get()));
    assert!(
        ok * 10 >= total && ok * 10 <= total * 9,
        "{ok} of {total} generated CSVs loaded"
    );
}

/// A long CSV: `(id, day, cell)` rows in the given order, under `Date,Symbol,Close`.
fn long_text(rows: &[(usize, u32, String)]) -> String {
    let mut text = String::from("Date,Symbol,Close\n");
    for (id, day, cell) in rows {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(*day));
        text.push_str(&format!("{date},{},{cell}\n", ["AA", "BB", "CC"][*id]));
    }
    text
}

fn long_rows() -> impl Strategy<Value = Vec<(usize, u32, String)>> {
    let cell = prop_oneof![
        60 => (1u32..100_000).prop_map(|v| format!("{}.{:02}", v / 100, v % 100)),
        3 => Just(String::new()),
        1 => Just("x".to_string()),
    ];
    prop::collection::vec((0usize..3, 0u32..40, cell), 1..90)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The long format (`--id-column`): each series of a long CSV loads exactly as a file
    /// holding only its rows would (dates, values, notes), whatever the row order, but for
    /// a series without a single value, which is left out and named; and the long CSV is
    /// refused exactly when one of those files is for another reason, or none is left.
    #[test]
    fn each_series_of_a_long_csv_loads_as_its_own_file(rows in long_rows()) {
        let path = Path::new("long.csv");
        let config = DataConfig { id_column: Some("Symbol".into()), ..DataConfig::default() };
        let panel = gruf::series::panel::parse_panel(long_text(&rows).as_bytes(), path, &config);
        let mut alone = Vec::new();
        for id in 0..3 {
            let own: Vec<_> = rows.iter().filter(|r| r.0 == id).cloned().collect();
            if !own.is_empty() {
                alone.push((["AA", "BB", "CC"][id], parse_csv(long_text(&own).as_bytes(), path, &DataConfig::default())));
            }
        }
        match panel {
            Ok(panel) => {
                // A series without a single value is left out of the panel and named.
                let no_value = |own: &Result<gruf::series::LoadedSeries, _>| {
                    own.as_ref().err().is_some_and(|e: &gruf::error::GrufError| {
                        e.to_string().contains("no rows with a Close value")
                    })
                };
                let (left, kept): (Vec<_>, Vec<_>) = alone.iter().partition(|(_, own)| no_value(own));
                for (id, _) in &left {
                    let named = panel.notes.iter().any(|n| n.starts_with("left out") && n.contains(&format!("'{id}'")));
                    prop_assert!(named, "{:?}", panel.notes);
                }
                prop_assert_eq!(panel.series.len(), kept.len());
                for (named, (id, own)) in panel.series.iter().zip(kept) {
                    prop_assert_eq!(named.id.as_str(), *id);
                    let own = own.as_ref().expect("the long file loaded, so each series does");
                    prop_assert_eq!(&named.loaded.series.dates, &own.series.dates);
                    prop_assert_eq!(&named.loaded.series.values, &own.series.values);
                    prop_assert_eq!(&named.loaded.info, &own.info);
                    prop_assert_eq!(named.loaded.notes.len(), own.notes.len());
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("long.csv: ") && !msg.contains('\n'), "{}", msg);
                prop_assert!(alone.iter().any(|(_, own)| own.is_err()), "refused, yet every series loads alone: {}", msg);
            }
        }
    }
}

/// The long-format property above sees both outcomes: files that load and files refused.
#[test]
fn generated_long_csvs_both_load_and_fail() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let config = DataConfig {
        id_column: Some("Symbol".into()),
        ..DataConfig::default()
    };
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..200 {
        let rows = long_rows().new_tree(&mut runner).unwrap().current();
        match gruf::series::panel::parse_panel(
            long_text(&rows).as_bytes(),
            Path::new("l.csv"),
            &config,
        ) {
            Ok(_) => ok += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(ok >= 20 && refused >= 20, "{ok} loaded, {refused} refused");
}

/// Ids of generated long CSVs: `BB` and ` BB ` are one series once trimmed, `bb` another.
const LONG_IDS: [&str; 5] = ["AA", "BB", " BB ", "bb", "C-1"];

/// A dirty long CSV under `series,Date,value,Volume`: ids that differ by case or only by
/// spaces; rows in any order, with gaps, equal duplicates and missing cells, perhaps CRLF,
/// `--inputs Volume` or not; and in most files one kind of trouble at one row: `NaN`, a
/// quoted number (both to the slow path), a bad cell, a conflicting duplicate, an empty id
/// or a negative volume (refused). Many load by the fast path, some only by the slow one,
/// some are refused.
fn dirty_long_case() -> impl Strategy<Value = (String, DataConfig)> {
    let row = (0usize..LONG_IDS.len(), 0u32..40, prop::bool::weighted(0.05));
    (
        prop::collection::vec(row, 1..120),
        0usize..12,     // the trouble (0..6), or none
        any::<usize>(), // where
        any::<bool>(),  // CRLF
        any::<bool>(),  // --inputs Volume
        any::<bool>(),  // Unix seconds rather than ISO dates
    )
        .prop_map(|(rows, trouble, at, crlf, inputs, unix)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("series,Date,value,Volume{eol}");
            let at = at % rows.len();
            for (k, &(id, day, missing)) in rows.iter().enumerate() {
                let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                    + chrono::Duration::days(i64::from(day));
                let date = if unix {
                    let t = date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
                    t.to_string()
                } else {
                    date.to_string()
                };
                // The same (series, day) always has the same value, unless in trouble.
                let key = LONG_IDS[id].trim();
                let mut value = format!(
                    "{}.5",
                    key.len() * 100 + key.as_bytes()[0] as usize + day as usize
                );
                let mut volume = (day * 3).to_string();
                let mut id = LONG_IDS[id];
                if missing {
                    value.clear();
                }
                if k == at {
                    match trouble {
                        0 => value = "NaN".into(),
                        1 => value = "\"1,234.5\"".into(),
                        2 => value = "x".into(),
                        3 => {
                            // The same series and date again, another value.
                            text.push_str(&format!("{id},{date},7.25,{volume}{eol}"));
                        }
                        4 => id = "",
                        5 => volume = "-1".into(),
                        _ => {}
                    }
                }
                text.push_str(&format!("{id},{date},{value},{volume}{eol}"));
            }
            let config = DataConfig {
                id_column: Some("series".into()),
                inputs: if inputs {
                    vec!["Volume".into()]
                } else {
                    vec![]
                },
                ..DataConfig::default()
            };
            (text, config)
        })
}

/// Loads `text` from a file by `load_panel` (the fast path, falling back to the slow one)
/// and from bytes by `parse_panel` (the slow path); both must give the same panel, series
/// by series (dates, values, covariates, lines, notes, provenance but the file's path), or
/// the same error. Returns whether it loaded.
fn long_loads_the_same_both_ways(text: &str, config: &DataConfig) -> Result<bool, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.csv");
    std::fs::write(&path, text).unwrap();
    let fast = gruf::series::panel::load_panel(&path, config);
    let slow = gruf::series::panel::parse_panel(text.as_bytes(), &path, config);
    match (fast, slow) {
        (Ok(f), Ok(s)) => {
            prop_assert_eq!(f.series.len(), s.series.len());
            for (f, s) in f.series.iter().zip(&s.series) {
                prop_assert_eq!(&f.id, &s.id);
                prop_assert_eq!(&f.loaded.series, &s.loaded.series);
                prop_assert_eq!(&f.loaded.lines, &s.loaded.lines);
                prop_assert_eq!(&f.loaded.notes, &s.loaded.notes);
                prop_assert_eq!(&f.loaded.info, &s.loaded.info);
                prop_assert_eq!(&f.loaded.provenance, &s.loaded.provenance);
            }
            prop_assert_eq!(&f.notes, &s.notes);
            let whole = |p: &gruf::series::Provenance| gruf::series::Provenance {
                path: Default::default(),
                ..p.clone()
            };
            prop_assert_eq!(whole(&f.provenance), whole(&s.provenance));
            Ok(true)
        }
        (Err(f), Err(s)) => {
            prop_assert_eq!(f.to_string(), s.to_string());
            let msg = f.to_string();
            prop_assert!(msg.contains("long.csv: ") && !msg.contains('\n'), "{}", msg);
            prop_assert_eq!(f.exit_code(), 65);
            Ok(false)
        }
        (f, s) => {
            let said = |r: Result<gruf::series::panel::Panel, gruf::error::GrufError>| {
                r.map(|p| format!("{} series", p.series.len()))
                    .unwrap_or_else(|e| e.to_string())
            };
            Err(TestCaseError::fail(format!(
                "the paths disagree: fast {}, slow {}\n{text}",
                said(f),
                said(s)
            )))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The long format's fast path (`load_panel` on a file) gives exactly what the slow
    /// path gives, whatever the file holds: the same series, notes and lines, or the same
    /// one-line error naming the line, the series and the value.
    #[test]
    fn dirty_long_csvs_load_the_same_by_both_paths((text, config) in dirty_long_case()) {
        long_loads_the_same_both_ways(&text, &config)?;
    }
}

/// The property above sees both outcomes often: long files that load and files refused.
#[test]
fn dirty_long_csvs_both_load_and_fail() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..200 {
        let (text, config) = dirty_long_case().new_tree(&mut runner).unwrap().current();
        match long_loads_the_same_both_ways(&text, &config) {
            Ok(true) => ok += 1,
            Ok(false) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ok >= 40 && refused >= 40, "{ok} loaded, {refused} refused");
}
