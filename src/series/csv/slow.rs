//! The slow path: the needed columns read as text (polars would infer types from the first
//! rows only) and every cell parsed here, one row at a time, so that a refusal names the
//! line, the series and the value. It reads whatever the fast path declines; the fast path
//! words no refusal itself, so every refusal of a file is worded here (or in `layout`,
//! which both share).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::error::GrufError;
use crate::series::csv::layout::{
    compression, looks_like_json, not_dates, read_header, series_column, Layout,
};
use crate::series::csv::rows::{date_cell, set_aside_empty, Price, Refusal, Rows};
use crate::series::csv::{sha256_hex, DataConfig, FilePanel, Hash};
use crate::series::dates::DateForm;

/// The slow path: reads the needed columns and parses every row into its series (by id,
/// sorted; one series with an empty id when there is no id column), each then cleaned on
/// its own.
pub(super) fn parse_groups(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
    hash: Hash,
) -> Result<FilePanel, GrufError> {
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
    Ok(FilePanel { series, notes })
}

type Column = Vec<Option<String>>;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
