//! A CSV file's layout, found from its header and the options: the delimiter (a header of
//! one field that another delimiter would split is refused with that one named), the
//! header row (and every row with as many fields), which columns hold the date, the price,
//! the inputs and the series id ([`Layout`]), and what a file that is not a CSV at all
//! looks like (compressed, JSON). Both readers start here, so they read the same columns
//! and refuse a file in the same words.

use std::path::Path;

use crate::error::GrufError;
use crate::series::csv::{DataConfig, Delimiter};
use crate::series::dates::could_be_date;
use crate::text::plural;

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

/// The columns a load reads and what each is for, chosen from the header and the config.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    pub(super) price: usize,
    pub(super) date: usize,
    /// The series id of a long CSV (`--id-column`).
    pub(super) id: Option<usize>,
    /// The columns read beside the date and the price (the inputs' sources), in file order.
    pub(super) extra: Vec<usize>,
    /// The inputs beside the price, in the order listed.
    pub(super) sources: Vec<Pick>,
    /// What the choice needs to tell (a price column other than Close).
    pub(super) notes: Vec<String>,
}

impl Layout {
    /// The price, date and input columns of `header` that `config` asks for, or the error
    /// that names what is missing.
    pub(super) fn choose(
        path: &Path,
        header: &[String],
        config: &DataConfig,
    ) -> Result<Layout, GrufError> {
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
                Pick::Column { idx } => idx == *id,
                Pick::Range { high, low } => high == *id || low == *id,
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
                Pick::Column { idx } => vec![idx],
                Pick::Range { high, low } => vec![high, low],
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
    pub(super) fn wanted(&self) -> Vec<usize> {
        let mut wanted = self.extra.clone();
        wanted.extend([self.date, self.price]);
        wanted.extend(self.id);
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }
}

/// Where an input beside the price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// A column of the file, by index.
    Column { idx: usize },
    /// `range`: (High − Low) / price, from these two columns.
    Range { high: usize, low: usize },
}

impl Pick {
    pub(super) fn name(&self, header: &[String]) -> String {
        match *self {
            Pick::Column { idx } => header[idx].clone(),
            Pick::Range { .. } => "range".to_string(),
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
) -> Result<Vec<Pick>, GrufError> {
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
            Some(idx) => Pick::Column { idx },
            None if name.eq_ignore_ascii_case("range") => {
                match (find_column(header, "high"), find_column(header, "low")) {
                    (Some(high), Some(low)) => Pick::Range { high, low },
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

/// Index of the header matching `name`: exactly, else ignoring ASCII case.
fn find_column(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|h| h == name)
        .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

/// The header row (BOM and surrounding spaces removed), after one pass over the rows that
/// refuses any with more or fewer fields than the header, naming the first such line
/// (polars would fail without a line number, or fill missing fields with nulls). A header
/// of one field that another delimiter would split is refused with that delimiter named.
pub(super) fn read_header(
    path: &Path,
    text: &str,
    delimiter: u8,
) -> Result<Vec<String>, GrufError> {
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
pub(super) fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(bytes)
}

/// The header's names, BOM and surrounding spaces removed.
pub(super) fn header_names(record: &csv::StringRecord) -> Vec<String> {
    record
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect()
}

/// Whether `bytes` start (after a BOM and blanks) as a JSON object or array would: no CSV
/// header starts with `{` or `[`.
pub(super) fn looks_like_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'['))
}

/// The compression format `bytes` start with (by signature), and the command that undoes it.
pub(super) fn compression(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
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

/// The refusal of a date column of small numbers (`first`, e.g. a quarter's `1`), naming
/// the columns whose first value would make a date.
pub(super) fn not_dates(
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
        let date = could_be_date(value, named_year);
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

/// The column that looks like it names several series in a file read as one (a text
/// column, not the date, the price or an input, whose values repeat: fewer distinct values
/// than half the rows), preferring the one whose values come in the fewest blocks.
pub(super) fn series_column(
    text: &str,
    delimiter: u8,
    header: &[String],
    layout: &Layout,
) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
