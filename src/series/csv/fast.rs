//! The fast path of [`load_csv`](super::load_csv): polars' typed, multi-threaded parsing of
//! the needed columns, for the files it can vouch for.
//!
//! The slow path ([`parse_csv`](super::parse_csv)) reads every needed cell as text and
//! parses it one at a time, so that a refusal can name the line and the value. A clean file
//! should not pay for that: this path reads the file once, in blocks of whole lines, checks
//! each block in one pass over its bytes, and hands it to polars with an explicit schema
//! for the needed columns only (dates as integers when the column holds Unix times, else
//! as text read by [`DateForm`]; prices and inputs as floats). The typed cells then go
//! through the same [`Rows`] as the slow path's, so cleaning, sorting, resampling, notes and
//! provenance are shared. Memory follows the needed columns, not the file: one block of text
//! at a time.
//!
//! It gives up (`None`: the slow path then reads the file from scratch) on anything it
//! cannot be sure to read exactly as the slow path would: compressed or non-UTF-8 bytes, a
//! quote, a `\r` that does not end a line, a blank line or a row with another number of
//! fields than the header (so that a row's line is its index + 2), a `+` when the dates are
//! read as integers (polars takes `+5` as 5, the slow path refuses it), an empty, zero or
//! negative Unix time, a cell polars cannot parse as a number (`null`, `1,234.5`, …), a value
//! that is not finite (`NaN` is missing to the slow path but a number to polars), and any
//! refusal or error at all. So it never words an error itself: every message is the slow
//! path's, naming the line and the value.
//!
//! A long CSV (`--id-column`, [`load_panel`](crate::series::panel::load_panel)) is read the same way with
//! one more column, the series id, as text: each row goes to its series' own [`Rows`]
//! (found by a hash of the id, or as the previous row's when the id repeats), so each series
//! is then cleaned on its own, in parallel, exactly as the slow path cleans it. Memory
//! follows the needed columns: the rows kept and one id per series.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use polars::prelude::_csv_read_internal::read_chunk;
use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::layout::{compression, csv_reader, header_names, looks_like_json, Layout};
use super::rows::{date_cell, set_aside_empty, Price, Refusal, Rows};
use super::{hex, DataConfig, FilePanel, Hash};
use crate::series::dates::{unix_seconds, DateForm, Zone};
use crate::series::LoadedSeries;

/// Bytes read at a time; a block holds whole lines (it grows for a longer one), and is cut
/// into 32 parts of whole lines, parsed in parallel.
const BLOCK: usize = 8 << 20;

/// Loads `path` by the fast path, or `None` where the slow path must. Regular files only:
/// the slow path reads the file again, which a pipe would not allow.
pub(super) fn load(path: &Path, config: &DataConfig, hash: Hash) -> Option<LoadedSeries> {
    debug_assert!(config.id_column.is_none());
    load_groups(path, config, hash)?
        .series
        .pop()
        .map(|(_, loaded)| loaded)
}

/// Loads every series of `path` (one per id of `config.id_column`, sorted by id; one with
/// an empty id without an id column) by the fast path, or `None` where the slow path must.
pub(super) fn load_groups(path: &Path, config: &DataConfig, hash: Hash) -> Option<FilePanel> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    read(file, path, config, BLOCK, hash)
}

/// [`load_groups`] on bytes already read.
pub(super) fn read_groups(
    bytes: &[u8],
    path: &Path,
    config: &DataConfig,
    hash: Hash,
) -> Option<FilePanel> {
    read(bytes, path, config, BLOCK, hash)
}

/// The fast path on any reader, `block` bytes at a time; `path` only names the file. One
/// thread reads (and hashes) the blocks while the others parse them.
fn read(
    input: impl Read + Send,
    path: &Path,
    config: &DataConfig,
    block: usize,
    hash: Hash,
) -> Option<FilePanel> {
    std::thread::scope(|s| {
        let (full, full_rx) = sync_channel(1);
        let (spare, spare_rx) = sync_channel(2);
        let reader = s.spawn(move || blocks(input, block, hash, full, spare_rx));
        let part = (block / 32).max(1);
        let blocks = full_rx.into_iter().map(|b| Block(b, spare.clone()));
        parse(blocks, part, path, config, || reader.join().ok()?)
    })
}

/// A block of whole lines, given back to the reader for reuse once parsed.
struct Block(Vec<u8>, SyncSender<Vec<u8>>);

impl Drop for Block {
    fn drop(&mut self) {
        let _ = self.1.try_send(std::mem::take(&mut self.0));
    }
}

/// Sends `input` in blocks of whole lines (the last one perhaps without its newline; the
/// first one with the header and the first row), reusing the buffers given back on
/// `spare`, and returns the SHA-256 of all of it (empty with [`Hash::Skip`]); `None` on a
/// read error, or when nobody listens.
fn blocks(
    mut input: impl Read,
    block: usize,
    hash: Hash,
    full: SyncSender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut buf = Vec::new();
    let mut sent = false;
    loop {
        let start = buf.len();
        let n = (&mut input).take(block as u64).read_to_end(&mut buf).ok()?;
        if hash == Hash::Sha256 {
            hasher.update(&buf[start..]);
        }
        if n < block {
            if !buf.is_empty() {
                full.send(buf).ok()?;
            }
            return Some(match hash {
                Hash::Sha256 => hex(&hasher.finalize()),
                Hash::Skip => String::new(),
            });
        }
        let last = buf.iter().rposition(|&b| b == b'\n');
        let first = !sent;
        if let Some(last) = last.filter(|&last| !first || buf[..last].contains(&b'\n')) {
            sent = true;
            let mut next = spare.try_recv().unwrap_or_default();
            next.clear();
            next.extend_from_slice(&buf[last + 1..]);
            buf.truncate(last + 1);
            full.send(std::mem::replace(&mut buf, next)).ok()?;
        }
    }
}

/// Reads the blocks of one file (the first holds the header) into the cleaned series, by
/// id; `sha256` gives the file's hash once every block is read.
fn parse(
    mut blocks: impl Iterator<Item = Block>,
    part: usize,
    path: &Path,
    config: &DataConfig,
    sha256: impl FnOnce() -> Option<String>,
) -> Option<FilePanel> {
    let delimiter = config.delimiter.byte();
    let first = blocks.next()?;
    if compression(&first.0).is_some() || looks_like_json(&first.0) {
        return None;
    }
    let header_end = first.0.iter().position(|&b| b == b'\n')?;
    let header_line = &first.0[..header_end];
    let mut record = csv::StringRecord::new();
    if !csv_reader(header_line, delimiter)
        .read_record(&mut record)
        .ok()?
    {
        return None;
    }
    let header = header_names(&record);
    // As plain as the rows: one line of fields (a quote or a `\r` could make it more).
    if header.len() < 2 || check(&first.0[..=header_end], delimiter, header.len(), true) != Some(1)
    {
        return None;
    }
    let layout = Layout::choose(path, &header, config).ok()?;

    // The first date decides the column's form, as in the slow path.
    let body = &first.0[header_end + 1..];
    let first_line = body.split(|&b| b == b'\n').next()?;
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let first_date = first_line.split(|&b| b == delimiter).nth(layout.date)?;
    let first_date = std::str::from_utf8(first_date).ok()?.trim();
    if first_date.is_empty() {
        return None;
    }
    let form = DateForm::for_column(
        &header[layout.date],
        first_date,
        config.date_format.as_deref(),
    )?;

    let columns = Needed::new(&header, &layout, &form, delimiter, part);
    let mut groups = Groups::new(&header, &layout);
    columns.read(body, &mut groups)?;
    drop(first);
    for block in blocks {
        columns.read(&block.0, &mut groups)?;
    }
    if groups.taken == 0 {
        return None;
    }
    let sha256 = sha256()?;
    // Each series is cleaned on its own: in parallel, then in the slow path's order (by
    // id). Any refusal is the slow path's to word.
    let notes = set_aside_empty(&mut groups.series);
    let mut loaded = (groups.series.into_par_iter())
        .map(|(id, rows)| {
            Some((
                id,
                rows.finish(path, config, &form, sha256.clone(), || None)
                    .ok()?,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    loaded.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Some(FilePanel {
        series: loaded,
        notes,
    })
}

/// The rows read so far, by series: one [`Rows`] per id (one with an empty id when the
/// file is one series), in the order the ids first appear.
struct Groups<'a> {
    header: &'a [String],
    layout: &'a Layout,
    series: Vec<(String, Rows<'a>)>,
    /// Where each id's rows are in `series`.
    index: HashMap<String, usize>,
    /// The series of the last row, checked first: rows of one series often come together.
    last: usize,
    /// Rows taken, of every series.
    taken: usize,
}

impl<'a> Groups<'a> {
    fn new(header: &'a [String], layout: &'a Layout) -> Self {
        let mut series = Vec::new();
        if layout.id.is_none() {
            series.push((String::new(), Rows::new(header, layout)));
        }
        Groups {
            header,
            layout,
            series,
            index: HashMap::new(),
            last: 0,
            taken: 0,
        }
    }

    /// The position of the series `id` (as polars read the cell; trimmed) in `series`,
    /// added if new; `None` for an empty id, which the slow path refuses.
    fn of(&mut self, id: Option<&str>) -> Option<usize> {
        let id = id?.trim();
        if id.is_empty() {
            return None;
        }
        if self
            .series
            .get(self.last)
            .is_some_and(|(last, _)| last == id)
        {
            return Some(self.last);
        }
        self.last = match self.index.get(id) {
            Some(&at) => at,
            None => {
                let at = self.series.len();
                self.index.insert(id.to_string(), at);
                (self.series).push((id.to_string(), Rows::new(self.header, self.layout)));
                at
            }
        };
        Some(self.last)
    }
}

/// The needed columns and how polars parses each, for every block of one file.
struct Needed<'a> {
    layout: &'a Layout,
    form: &'a DateForm,
    delimiter: u8,
    /// Fields per row.
    fields: usize,
    /// Dates are Unix times, parsed by polars as integers.
    unix: bool,
    schema: Schema,
    options: CsvParseOptions,
    /// The columns read, sorted.
    wanted: Vec<usize>,
    /// Bytes parsed by one thread at a time.
    part: usize,
}

impl<'a> Needed<'a> {
    fn new(
        header: &[String],
        layout: &'a Layout,
        form: &'a DateForm,
        delimiter: u8,
        part: usize,
    ) -> Self {
        let unix = matches!(form, DateForm::Auto { numeric: true, .. });
        let schema = (0..header.len())
            .map(|i| {
                let dtype = if i == layout.date && unix {
                    DataType::Int64
                } else if i == layout.price || layout.extra.contains(&i) {
                    DataType::Float64
                } else {
                    DataType::String
                };
                Field::new(name(i), dtype)
            })
            .collect::<Schema>();
        Needed {
            layout,
            form,
            delimiter,
            fields: header.len(),
            unix,
            schema,
            options: CsvParseOptions::default().with_separator(delimiter),
            wanted: layout.wanted(),
            part,
        }
    }

    /// Reads one block of whole lines into the rows of their series, its parts in
    /// parallel; `None` where the slow path must.
    fn read(&self, block: &[u8], groups: &mut Groups) -> Option<()> {
        let parsed = parts(block, self.part)
            .par_iter()
            .map(|part| self.parse(part))
            .collect::<Option<Vec<Piece>>>()?;
        for part in parsed {
            part.feed(groups)?;
        }
        Some(())
    }

    /// The needed columns of `part` (whole lines), by polars' parser for one chunk (the
    /// part was checked and its lines counted, so polars has no lines to find), with the
    /// dates read.
    fn parse(&self, part: &[u8]) -> Option<Piece> {
        let n = check(part, self.delimiter, self.fields, !self.unix)?;
        let df = read_chunk(
            part,
            &self.options,
            &self.schema,
            false,
            &self.wanted,
            0,
            n,
            None,
            usize::MAX,
            part.len(),
            Some(0),
        )
        .ok()?;
        if df.height() != n {
            return None;
        }
        let column = |i: usize| df.column(&name(i)).ok();
        let dates = column(self.layout.date)?;
        // A date is needed only where the row is kept: `None` marks one the slow path
        // refuses or reads otherwise.
        let dates: Vec<Option<(i64, Zone)>> = if self.unix {
            // `-0` and signed values are not dates to the slow path.
            let unix = |d: Option<i64>| d.filter(|&n| n > 0).map(|n| (unix_seconds(n), Zone::Utc));
            dates.i64().ok()?.iter().map(unix).collect()
        } else {
            let text = |d| date_cell(self.form, d).ok();
            dates.str().ok()?.iter().map(text).collect()
        };
        let numbers = |i: usize| Some(column(i)?.f64().ok()?.clone());
        let ids = match self.layout.id {
            Some(i) => Some(column(i)?.str().ok()?.clone()),
            None => None,
        };
        Some(Piece {
            ids,
            dates,
            prices: numbers(self.layout.price)?,
            extra: self
                .layout
                .extra
                .iter()
                .map(|&i| numbers(i))
                .collect::<Option<_>>()?,
        })
    }
}

/// One part's needed columns, parsed: what [`Piece::feed`] hands to [`Rows`] row by row.
struct Piece {
    /// The series ids of a long CSV, as text.
    ids: Option<StringChunked>,
    dates: Vec<Option<(i64, Zone)>>,
    prices: Float64Chunked,
    /// The layout's extra columns, in its order.
    extra: Vec<Float64Chunked>,
}

impl Piece {
    /// Hands the rows to their series' `groups`, in order; `None` at the first one refused.
    fn feed(&self, groups: &mut Groups) -> Option<()> {
        let number = |v: Option<f64>| v.map_or(Price::Missing, Price::of);
        let first = groups.taken + 2;
        if self.ids.is_none() {
            groups.series[0].1.reserve(self.dates.len());
        }
        let mut ids = self.ids.as_ref().map(|c| c.iter());
        let mut extra: Vec<_> = self.extra.iter().map(|c| c.iter()).collect();
        let mut cells = Vec::with_capacity(extra.len());
        for (line, (&d, p)) in (first..).zip(self.dates.iter().zip(self.prices.iter())) {
            let at = match &mut ids {
                Some(ids) => groups.of(ids.next()?)?,
                None => 0,
            };
            cells.clear();
            for column in &mut extra {
                cells.push(number(column.next()?));
            }
            let date = || d.ok_or(Refusal::Date(String::new()));
            groups.series[at]
                .1
                .push(line, number(p), &cells, date)
                .ok()?;
            groups.taken += 1;
        }
        Some(())
    }
}

/// `block` cut into parts of whole lines, of `size` bytes or a little more.
fn parts(block: &[u8], size: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(block.len() / size + 1);
    let mut rest = block;
    while rest.len() > size {
        match rest[size..].iter().position(|&b| b == b'\n') {
            Some(k) if size + k + 1 < rest.len() => {
                let (part, tail) = rest.split_at(size + k + 1);
                parts.push(part);
                rest = tail;
            }
            _ => break,
        }
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts
}

/// The polars name of column `i` (the file's header is read by the csv crate).
fn name(i: usize) -> PlSmallStr {
    format!("column_{}", i + 1).into()
}

/// The number of lines in `block` (whole lines, the last one perhaps without its newline),
/// if it is plain: valid UTF-8, every line with `fields` fields, no quote, no `\r` but
/// before a newline, and no `+` unless `plus` allows it. 64 bytes at a time, as bit masks.
fn check(block: &[u8], delimiter: u8, fields: usize, plus: bool) -> Option<usize> {
    let separators = fields - 1;
    let plus = if plus || delimiter == b'+' {
        delimiter
    } else {
        b'+'
    };
    let (mut lines, mut seps, mut high) = (0usize, 0usize, 0u64);
    let mut step = |chunk: &[u8; 64], next: Option<&u8>| -> Option<()> {
        let ([mut delims, mut newlines, quotes, cr, plus], non_ascii) =
            masks(chunk, [delimiter, b'\n', b'"', b'\r', plus]);
        high |= non_ascii;
        // A `\r` must end a line: the next byte, perhaps the next chunk's first, is `\n`.
        let followed = (newlines >> 1) | (u64::from(next == Some(&b'\n')) << 63);
        if quotes | (cr & !followed) | (plus & !delims) != 0 {
            return None;
        }
        while newlines != 0 {
            let below = (newlines & newlines.wrapping_neg()) - 1;
            seps += (delims & below).count_ones() as usize;
            if seps != separators {
                return None;
            }
            lines += 1;
            seps = 0;
            delims &= !below;
            newlines &= newlines - 1;
        }
        seps += delims.count_ones() as usize;
        Some(())
    };
    let chunks = block.chunks_exact(64);
    let tail = chunks.remainder();
    for (i, chunk) in chunks.enumerate() {
        step(chunk.try_into().ok()?, block.get(64 * (i + 1)))?;
    }
    // The tail, padded with NULs (never a delimiter).
    let mut last = [0u8; 64];
    last[..tail.len()].copy_from_slice(tail);
    step(&last, None)?;
    if block.last().is_some_and(|&b| b != b'\n') {
        if seps != separators {
            return None;
        }
        lines += 1;
    }
    (high == 0 || std::str::from_utf8(block).is_ok()).then_some(lines)
}

/// For each byte asked for, the mask of the positions in `chunk` that hold it (bit k for
/// byte k), and the mask of the bytes that are not ASCII.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // the crate's one `unsafe` outside the fused kernels (`model::fused`)
fn masks<const N: usize>(chunk: &[u8; 64], bytes: [u8; N]) -> ([u64; N], u64) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of x86_64; the loads read 4 × 16 bytes inside `chunk`, unaligned.
    unsafe {
        let v: [__m128i; 4] =
            std::array::from_fn(|i| _mm_loadu_si128(chunk.as_ptr().add(16 * i).cast()));
        let bits = |x: [__m128i; 4]| {
            (0..4).fold(0u64, |m, i| {
                m | (u64::from(_mm_movemask_epi8(x[i]) as u16) << (16 * i))
            })
        };
        let found = bytes.map(|b| {
            let needle = _mm_set1_epi8(b as i8);
            bits(v.map(|x| _mm_cmpeq_epi8(x, needle)))
        });
        (found, bits(v))
    }
}

#[cfg(not(target_arch = "x86_64"))]
use masks_swar as masks;

/// [`masks`] eight bytes at a time, in plain integers (for other targets than x86_64).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn masks_swar<const N: usize>(chunk: &[u8; 64], bytes: [u8; N]) -> ([u64; N], u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bits of a word's bytes, packed into 8 bits.
    let pack = |h: u64| (h >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let words: [u64; 8] = std::array::from_fn(|i| {
        u64::from_le_bytes(chunk[8 * i..8 * i + 8].try_into().unwrap_or_default())
    });
    let bits = |x: [u64; 8]| (0..8).fold(0u64, |m, i| m | (pack(x[i] & HIGH) << (8 * i)));
    let found = bytes.map(|b| {
        bits(words.map(|w| {
            let x = w ^ (ONES * u64::from(b));
            !(((x & !HIGH) + !HIGH) | x)
        }))
    });
    (found, bits(words))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GrufError;
    use crate::series::csv::parse_csv;
    use crate::series::csv::slow::parse_groups;
    use crate::series::resample::Resample;

    /// Both paths on `text`: the fast one in blocks of 7 bytes (carries and many parts) and
    /// of the default size; whatever the fast path accepts, the slow path loads the same.
    fn both(
        text: &str,
        config: &DataConfig,
    ) -> (Option<LoadedSeries>, Result<LoadedSeries, GrufError>) {
        let path = Path::new("t.csv");
        let read = |bytes: &[u8], path, config, block, hash| {
            let mut file = read(bytes, path, config, block, hash)?;
            assert_eq!(file.series.len(), 1);
            assert!(file.notes.is_empty());
            file.series.pop().map(|(_, loaded)| loaded)
        };
        let small = read(text.as_bytes(), path, config, 7, Hash::Sha256);
        let fast = read(text.as_bytes(), path, config, BLOCK, Hash::Sha256);
        let slow = parse_csv(text.as_bytes(), path, config);
        assert_eq!(small.is_some(), fast.is_some(), "{text}");
        let unhashed = read(text.as_bytes(), path, config, BLOCK, Hash::Skip);
        let sha = |l: LoadedSeries| (l.series, l.provenance.sha256.is_empty());
        assert_eq!(unhashed.map(sha), fast.clone().map(|l| (l.series, true)));
        for f in small.iter().chain(&fast) {
            let s = slow
                .as_ref()
                .expect("the fast path loaded what the slow one refuses");
            assert_eq!(f.series, s.series, "{text}");
            assert_eq!(f.lines, s.lines, "{text}");
            assert_eq!(f.notes, s.notes, "{text}");
            assert_eq!(f.info, s.info, "{text}");
            assert_eq!(f.provenance, s.provenance, "{text}");
        }
        (fast, slow)
    }

    /// Loaded by the fast path, as the slow path loads it.
    fn fast(text: &str, config: &DataConfig) -> LoadedSeries {
        both(text, config).0.expect("the fast path declined")
    }

    /// Declined by the fast path: the slow path's result stands.
    fn declined(text: &str, config: &DataConfig) -> Result<LoadedSeries, GrufError> {
        let (fast, slow) = both(text, config);
        assert!(fast.is_none(), "{text}");
        slow
    }

    /// A small generator (xorshift), so the cases repeat.
    struct Draw(u64);

    impl Draw {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, one_in: u64) -> bool {
            self.below(one_in) == 0
        }
    }

    /// A CSV the fast path must take: `Date` in one of the forms it reads, OHLCV with
    /// values of either sign, in any order, with duplicates, gaps and empty cells, any
    /// delimiter, LF or CRLF, perhaps a BOM and no final newline.
    fn generated(seed: u64) -> (String, DataConfig) {
        let mut d = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let delimiter = [',', ';', '\t', '|'][d.below(4) as usize];
        let eol = if d.chance(3) { "\r\n" } else { "\n" };
        let (step, form) = match d.below(6) {
            0 => (60, 0),     // Unix seconds, minutes
            1 => (3_600, 1),  // Unix milliseconds, hours
            2 => (86_400, 2), // ISO dates
            3 => (3_600, 3),  // ISO datetimes
            4 => (86_400, 4), // YYYYMMDD
            _ => (900, 5),    // RFC 3339
        };
        let start = 1_700_000_000 / 86_400 * 86_400;
        let n = 1 + d.below(300) as usize;
        let mut rows: Vec<(i64, String)> = Vec::new();
        let mut price = if d.chance(4) { 0.5 } else { 100.0 };
        let cell = |d: &mut Draw, v: f64, decimals: usize| {
            if d.chance(40) {
                String::new()
            } else if d.chance(10) {
                format!(" {v:.decimals$}")
            } else {
                format!("{v:.decimals$}")
            }
        };
        for i in 0..n {
            if d.chance(20) {
                continue; // a gap
            }
            let t = start + step * i as i64;
            let date = {
                let at = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
                match form {
                    0 => t.to_string(),
                    1 => (t * 1000).to_string(),
                    2 => at.format("%Y-%m-%d").to_string(),
                    3 => at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    4 => at.format("%Y%m%d").to_string(),
                    _ => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                }
            };
            let open = price;
            price += (d.below(2001) as f64 - 1000.0) / 1000.0;
            let (high, low) = (open.max(price) + 0.25, open.min(price) - 0.25);
            let volume = d.below(100_000) as f64 / 10.0;
            let fields = [
                date,
                cell(&mut d, open, 2),
                cell(&mut d, high, 2),
                cell(&mut d, low, 2),
                cell(&mut d, price, 2),
                cell(&mut d, volume, 4),
            ];
            let row = fields.join(&delimiter.to_string());
            if d.chance(15) {
                rows.push((t, row.clone())); // an exact duplicate
            }
            rows.push((t, row));
        }
        match d.below(4) {
            0 => rows.reverse(),
            1 => {
                for i in (1..rows.len()).rev() {
                    let j = d.below(i as u64 + 1) as usize;
                    rows.swap(i, j);
                }
            }
            _ => {}
        }
        let bom = if d.chance(4) { "\u{feff}" } else { "" };
        let header =
            ["Date", "Open", "High", "Low", "Close", "Volume"].join(&delimiter.to_string());
        let mut text = format!("{bom}{header}{eol}");
        for (_, row) in &rows {
            text.push_str(row);
            text.push_str(eol);
        }
        if d.chance(4) {
            text.truncate(text.len() - eol.len());
        }
        let mut config = DataConfig {
            delimiter: delimiter.to_string().parse().unwrap_or_default(),
            ..DataConfig::default()
        };
        match d.below(4) {
            0 => config.inputs = vec!["Close".into(), "Volume".into(), "range".into()],
            1 => config.inputs = vec!["Open".into()],
            2 => config.resample = Some([Resample::Hour, Resample::Day][d.below(2) as usize]),
            _ => {}
        }
        (text, config)
    }

    #[test]
    fn generated_files_load_the_same_by_both_paths() {
        let (mut taken, mut refused) = (0, 0);
        for seed in 0..300 {
            let (text, config) = generated(seed);
            match both(&text, &config) {
                (Some(_), _) => taken += 1,
                // Only what the slow path refuses too (no row left, a conflict).
                (None, slow) => {
                    assert!(
                        slow.is_err(),
                        "declined a file the slow path loads:\n{text}"
                    );
                    refused += 1;
                }
            }
        }
        assert!(taken > 250, "taken {taken}, refused {refused}");
    }

    /// Generated files with a few bytes changed: whatever the fast path still takes, the
    /// slow path loads the same (the check is in [`both`]). It checks only what the fast
    /// path takes, so enough must be taken: 46 of the 300 when measured (against 294 of the
    /// files unchanged: a few changed bytes send most files to the slow path); the floor is
    /// half that.
    #[test]
    fn mutated_files_load_the_same_or_go_to_the_slow_path() {
        let pieces = [
            "\"", "\r", "\n", ",", ";", "+", "-", " ", "NaN", "null", "", "1e3", "0", "\t", "|",
            "\u{feff}", "1,234.5", "inf", "2024-01", "\r\n",
        ];
        let mut d = Draw(11);
        let (mut tried, mut taken) = (0, 0);
        for seed in 0..300 {
            let (text, config) = generated(seed);
            if let Some(text) = mutated(&mut d, text, &pieces) {
                tried += 1;
                taken += usize::from(both(&text, &config).0.is_some());
            }
        }
        assert!(
            taken >= 23,
            "the fast path took {taken} of {tried} mutated files"
        );
    }

    /// `text` with one to three short runs replaced by `pieces`, if still UTF-8.
    fn mutated(d: &mut Draw, text: String, pieces: &[&str]) -> Option<String> {
        let mut bytes = text.into_bytes();
        for _ in 0..1 + d.below(3) {
            let at = d.below(bytes.len() as u64 + 1) as usize;
            let cut = (at + d.below(3) as usize).min(bytes.len());
            let piece = pieces[d.below(pieces.len() as u64) as usize];
            bytes.splice(at..cut, piece.bytes());
        }
        String::from_utf8(bytes).ok()
    }

    #[test]
    fn clean_and_unusual_layouts_take_the_fast_path() {
        let day = DataConfig::default();
        // Unix seconds, shuffled, with a duplicate, a gap, and a missing price.
        let text = "Timestamp,Close\n172800,3\n0086400,2\n259200,\n432000,5\n86400,2\n";
        let loaded = fast(text, &day);
        assert_eq!(loaded.series.values, vec![2.0, 3.0, 5.0]);
        assert_eq!(loaded.lines, vec![3, 2, 5]);
        assert!(
            loaded.info[0].contains("not in date order"),
            "{:?}",
            loaded.info
        );
        // Minute bars to daily closes.
        let minutes: String = (0..3000)
            .map(|i| format!("{},{}.5\n", 1_600_000_000 + 60 * i, i))
            .collect();
        let config = DataConfig {
            resample: Some(Resample::Day),
            ..DataConfig::default()
        };
        let loaded = fast(&format!("Timestamp,Close\n{minutes}"), &config);
        assert_eq!(loaded.series.len(), 3);
        assert_eq!(*loaded.lines.last().unwrap_or(&0), 3001);
        // Semicolons, CRLF, a BOM, ISO dates, an input with a missing cell.
        let config = DataConfig {
            delimiter: ";".parse().unwrap_or_default(),
            inputs: vec!["Volume".into()],
            ..DataConfig::default()
        };
        let text =
            "\u{feff}Date;Close;Volume\r\n2024-01-01;1;10\r\n2024-01-02;2;\r\n2024-01-03;3;30";
        let loaded = fast(text, &config);
        assert_eq!(loaded.series.covariates[0].values, vec![10.0, 30.0]);
        assert_eq!(loaded.lines, vec![2, 4]);
        // Numbers in every spelling both parsers take; Unix milliseconds with leading zeros.
        let text = "Timestamp,Close\n01700000000000,1e2\n1700000060000, 42\n\
                    1700000120000,\t-0.0\n1700000180000,.5\n1700000240000,5.\n\
                    1700000300000,7\n1700000360000,-1.25E-3\n";
        let loaded = fast(text, &day);
        assert_eq!(
            loaded.series.values,
            vec![100.0, 42.0, -0.0, 0.5, 5.0, 7.0, -0.00125]
        );
        assert_eq!(loaded.series.dates[1], 1_700_000_060);
        // `+` is refused only where dates are read as integers.
        let loaded = fast("Date,Close\n2024-01-01,+7\n2024-01-02,1e+2\n", &day);
        assert_eq!(loaded.series.values, vec![7.0, 100.0]);
        // Newest first, columns in another order, a date column not first, YYYYMMDD.
        let text = "Close,Open,Date\n3,1,20240103\n2,1,20240102\n1,1,20240101\n";
        assert_eq!(fast(text, &day).notes.len(), 1);
    }

    #[test]
    fn anything_unusual_goes_to_the_slow_path_with_its_message() {
        let day = DataConfig::default();
        let refused = |text: &str| declined(text, &day).err().map(|e| e.to_string());
        let message = |text: &str| refused(text).unwrap_or_default();
        // Quotes, `NaN`, a blank line, a lone `\r`: the slow path reads them.
        declined("Date,Close\n\"2024-01-01\",\"1\"\n2024-01-02,2\n", &day).unwrap();
        let nan = declined("Date,Close\n2024-01-01,1\n2024-01-02,NaN\n", &day).unwrap();
        assert!(nan.notes[0].contains("dropped 1 row"), "{:?}", nan.notes);
        declined("Date,Close\n2024-01-01,1\n\n2024-01-02,2\n", &day).unwrap();
        assert!(refused("Date,Close\r2024-01-01,1\r2024-01-02,2\r").is_some());
        // Errors name the line and the value, as always.
        assert!(message("Date,Close\n2024-01-01,1\n2024-01-02,abc\n")
            .contains("line 3: Close value 'abc'"));
        assert!(message("Timestamp,Close\n1700000000,1\n+1700086400,2\n")
            .contains("line 3: Timestamp '+1700086400'"));
        assert!(message("Timestamp,Close\n1700000000,1\n-0,2\n").contains("line 3"));
        assert!(message("Date,Close\n2024-01-01,1\n,2\n").contains("line 3: Date is empty"));
        assert!(
            message("Date,Close\n2024-01-01,1\n2024-01-02,2,3\n").contains("line 3 has 3 fields")
        );
        assert!(message("Date,Close\n2024-01-01,1\n2024-01-02\n").contains("line 3 has 1 field"));
        assert!(message("Date,Close\n2024-01-01,1\n2024-01-01,2\n").contains("lines 2 and 3"));
        assert!(message("Date,Close\n2024-01-01,inf\n").contains("not finite"));
        assert!(message("Date,Close\n2024-01-01,1e39\n").contains("not finite"));
        assert!(message("Date,Close\n2024-01-01,1\n2024-01-02,\u{e9}\n").contains("line 3"));
        assert!(message("Date,Close\n2024-01-01,\n").contains("no rows with a Close value"));
        assert!(message("Date,Close\n").contains("no data rows"));
        assert!(message("Date;Close\n2024-01-01;1\n").contains("--delimiter ';'"));
        let volume = DataConfig {
            inputs: vec!["Volume".into()],
            ..DataConfig::default()
        };
        let text = "Date,Close,Volume\n2024-01-01,1,5\n2024-01-02,2,-5\n";
        let err = declined(text, &volume)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("line 3: Volume value '-5' is negative"),
            "{err}"
        );
        let text = "Date,Close,Volume\n2024-01-01,1,5\n2024-01-02,2,x\n";
        let err = declined(text, &volume)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 3: Volume value 'x'"), "{err}");
        // Not UTF-8, or compressed.
        for (bytes, says) in [
            (&b"Date,Close\n2024-01-01,1\xff\n"[..], "UTF-8"),
            (b"\x1f\x8b\x08\x00\n,\n", "compressed"),
        ] {
            let path = Path::new("t.csv");
            assert!(read(bytes, path, &day, BLOCK, Hash::Sha256).is_none());
            let err = parse_csv(bytes, path, &day).err().map(|e| e.to_string());
            assert!(err.unwrap_or_default().contains(says));
        }
    }

    #[test]
    fn the_check_counts_plain_lines_and_refuses_the_rest() {
        let count = |s: &str, plus: bool| check(s.as_bytes(), b',', 2, plus);
        assert_eq!(count("a,b\nc,d\n", false), Some(2));
        assert_eq!(count("a,b\r\nc,d", false), Some(2));
        assert_eq!(count(&"1,2\n".repeat(100), false), Some(100));
        assert_eq!(count("é,b\n", false), Some(1));
        for bad in [
            "a,b\n\nc,d\n",
            "a,b,c\n",
            "a\n",
            "\"a\",b\n",
            "a,b\rc,d\n",
            "a,b\r",
        ] {
            assert_eq!(count(bad, true), None, "{bad:?}");
        }
        assert_eq!(count("1,+2\n", false), None);
        assert_eq!(count("1,+2\n", true), Some(1));
        assert_eq!(check(b"1+2\n", b'+', 2, false), Some(1));
        // A `\r` at the end of one 64-byte chunk, its `\n` at the start of the next.
        let line = format!("{},1\r\n", "9".repeat(61));
        assert_eq!(line.len(), 65);
        assert_eq!(count(&line[..64], false), None);
        assert_eq!(count(&line, false), Some(1));
        assert_eq!(check(&[0xff, b',', b'\n'], b',', 2, false), None);
    }

    #[test]
    fn the_portable_masks_agree_with_the_vector_ones() {
        let mut d = Draw(7);
        for _ in 0..1000 {
            let chunk: [u8; 64] = std::array::from_fn(|_| match d.below(4) {
                0 => b",\n\r\"+"[d.below(5) as usize],
                1 => 0x80 | d.below(128) as u8,
                _ => d.below(256) as u8,
            });
            let bytes = [b',', b'\n', b'"', b'\r', b'+', 0xe9];
            assert_eq!(masks(&chunk, bytes), masks_swar(&chunk, bytes));
        }
    }

    #[test]
    fn parts_are_whole_lines() {
        let block = b"aa\nbbbb\nc\ndd\n";
        assert_eq!(parts(block, 2), vec![&b"aa\n"[..], b"bbbb\n", b"c\ndd\n"]);
        assert_eq!(parts(block, 100), vec![&block[..]]);
        assert_eq!(parts(b"abc", 1), vec![&b"abc"[..]]);
    }

    /// Both paths on a long CSV: whatever the fast path accepts (in blocks of 7 bytes and
    /// of the default size), the slow path loads the same, series by series; `Some` when
    /// the fast path took it, with the slow path's result.
    fn both_long(
        text: &str,
        config: &DataConfig,
    ) -> (bool, Result<Vec<(String, LoadedSeries)>, GrufError>) {
        let path = Path::new("t.csv");
        let small = read(text.as_bytes(), path, config, 7, Hash::Sha256);
        let fast = read(text.as_bytes(), path, config, BLOCK, Hash::Sha256);
        let slow = parse_groups(text.as_bytes(), path, config, Hash::Sha256);
        for f in small.iter().chain(&fast) {
            let s = slow.as_ref().map(|s| &s.notes);
            assert_eq!(Ok(&f.notes), s.map_err(|_| ()), "{text}");
        }
        let small = small.map(|f| f.series);
        let fast = fast.map(|f| f.series);
        let slow = slow.map(|s| s.series);
        assert_eq!(small.is_some(), fast.is_some(), "{text}");
        for f in small.iter().chain(&fast) {
            let s = slow
                .as_ref()
                .expect("the fast path loaded what the slow one refuses");
            assert_eq!(f.len(), s.len(), "{text}");
            for ((fid, f), (sid, s)) in f.iter().zip(s) {
                assert_eq!(fid, sid, "{text}");
                assert_eq!(f.series, s.series, "{text}");
                assert_eq!(f.lines, s.lines, "{text}");
                assert_eq!(f.notes, s.notes, "{text}");
                assert_eq!(f.info, s.info, "{text}");
                assert_eq!(f.provenance, s.provenance, "{text}");
            }
        }
        (fast.is_some(), slow)
    }

    /// A long CSV (`series`, a date, `value`, `Volume`): a few series (ids with spaces
    /// around them, some only sometimes, and differing by case), rows in any order, with exact and conflicting
    /// duplicates, gaps, missing, `NaN` and bad cells and now and then an empty id.
    fn generated_long(seed: u64) -> (String, DataConfig) {
        let mut d = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let delimiter = [',', ';'][d.below(2) as usize];
        let eol = if d.chance(4) { "\r\n" } else { "\n" };
        let unix = d.chance(3);
        let ids = ["AA", "BB", "bb", "CC ", " dd", "D-1"];
        let n_ids = 1 + d.below(ids.len() as u64) as usize;
        // At most one kind of trouble per file, most files none: `NaN` (to the slow path),
        // a bad cell, a conflicting duplicate, an empty id (refused).
        let trouble = d.below(8);
        let strike = |d: &mut Draw, kind: u64| trouble == kind && d.chance(30);
        let start = 1_700_000_000 / 86_400 * 86_400;
        let mut rows: Vec<String> = Vec::new();
        for (k, id) in ids.iter().enumerate().take(n_ids) {
            let mut price = 10.0 * (k + 1) as f64;
            for day in 0..1 + d.below(40) as i64 {
                if d.chance(15) {
                    continue; // a gap
                }
                let t = start + 86_400 * day;
                let date = if unix {
                    t.to_string()
                } else {
                    let at = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
                    at.format("%Y-%m-%d").to_string()
                };
                price += (d.below(201) as f64 - 100.0) / 100.0;
                let value = if d.chance(30) {
                    String::new()
                } else if strike(&mut d, 0) {
                    "NaN".to_string()
                } else if strike(&mut d, 1) {
                    "x".to_string()
                } else {
                    format!("{price:.2}")
                };
                let volume = if d.chance(50) {
                    String::new()
                } else {
                    d.below(1000).to_string()
                };
                let id = if strike(&mut d, 3) {
                    ""
                } else if *id == "BB" && d.chance(5) {
                    " BB " // the same series, spelled with spaces
                } else {
                    id
                };
                let row = [id, &date, &value, &volume].join(&delimiter.to_string());
                if d.chance(12) {
                    rows.push(row.clone()); // an exact duplicate
                }
                if strike(&mut d, 2) {
                    let other = format!("{:.2}", price + 1.0);
                    rows.push([id, &date, &other, &volume].join(&delimiter.to_string()));
                }
                rows.push(row);
            }
        }
        if d.chance(2) {
            for i in (1..rows.len()).rev() {
                let j = d.below(i as u64 + 1) as usize;
                rows.swap(i, j);
            }
        }
        let date = if unix { "Timestamp" } else { "Date" };
        let header = ["series", date, "value", "Volume"].join(&delimiter.to_string());
        let mut text = format!("{header}{eol}");
        for row in &rows {
            text.push_str(row);
            text.push_str(eol);
        }
        let mut config = DataConfig {
            delimiter: delimiter.to_string().parse().unwrap_or_default(),
            id_column: Some("series".into()),
            ..DataConfig::default()
        };
        if d.chance(3) {
            config.inputs = vec!["Volume".into()];
        }
        (text, config)
    }

    #[test]
    fn generated_long_files_load_the_same_by_both_paths() {
        let (mut taken, mut declined, mut refused) = (0, 0, 0);
        for seed in 0..300 {
            let (text, config) = generated_long(seed);
            match both_long(&text, &config) {
                (true, _) => taken += 1,
                (false, Ok(_)) => declined += 1,
                (false, Err(_)) => refused += 1,
            }
        }
        // `NaN` sends a file to the slow path; a bad cell, a conflict or an empty id is
        // refused by it.
        assert!(
            taken > 120 && declined > 20 && refused > 20,
            "taken {taken}, declined {declined}, refused {refused}"
        );
    }

    /// Generated long files with a few bytes changed: whatever the fast path still takes,
    /// the slow path loads the same. It checks only what the fast path takes, so some must
    /// be taken: 12 of the 300 when measured (against 189 of the files unchanged); the floor
    /// is half that.
    #[test]
    fn mutated_long_files_load_the_same_or_go_to_the_slow_path() {
        let pieces = [
            "\"", "\r", "\n", ",", ";", "+", "-", " ", "NaN", "", "0", "AA", "bb", "\r\n",
        ];
        let mut d = Draw(13);
        let (mut tried, mut taken) = (0, 0);
        for seed in 0..300 {
            let (text, config) = generated_long(seed);
            if let Some(text) = mutated(&mut d, text, &pieces) {
                tried += 1;
                taken += usize::from(both_long(&text, &config).0);
            }
        }
        assert!(
            taken >= 6,
            "the fast path took {taken} of {tried} mutated long files"
        );
    }

    /// Years, dates at an offset (one, or several), times without a zone and year-first
    /// dates: the fast path reads them as the slow path does, zone included.
    #[test]
    fn years_zones_and_year_first_dates_load_the_same_by_both_paths() {
        let day = DataConfig::default();
        for (text, zone) in [
            ("Year,Close\n1700,1\n1701,2\n1702,3\n", Zone::Naive),
            (
                "Date,Close\n2024-01-01T00:00:00+05:00,1\n2024-01-02T00:00:00+05:00,2\n",
                Zone::Offset(18_000),
            ),
            (
                "Date,Close\n2024-03-31T00:00:00+01:00,1\n2024-03-31T03:00:00+02:00,2\n",
                Zone::Utc,
            ),
            (
                "Date,Close\n2010/01/01 00:00,1\n2010/01/02 00:30,2\n",
                Zone::Naive,
            ),
            ("Timestamp,Close\n1700000000,1\n1700086400,2\n", Zone::Utc),
        ] {
            assert_eq!(fast(text, &day).series.zone, zone, "{text}");
        }
        let err = declined("Quarter,Close\n1,1\n2,2\n", &day).err();
        let err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("holds small numbers"), "{err}");
    }

    /// A series of a long CSV with no value at all refused the whole file; it is left out
    /// and named (by both paths alike), and the file is refused only when none is left.
    #[test]
    fn a_series_without_values_is_left_out_and_named() {
        let config = DataConfig {
            id_column: Some("Symbol".into()),
            ..DataConfig::default()
        };
        let text = "Date,Symbol,Close\n2024-01-01,A,1\n2024-01-01,B,\n2024-01-02,A,2\n\
                    2024-01-02,B,\n2024-01-01,C,\n";
        let (fast, slow) = both_long(text, &config);
        assert!(fast);
        let ids: Vec<String> = slow.unwrap().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["A"]);
        let file = crate::series::csv::parse_groups(text.as_bytes(), Path::new("t.csv"), &config);
        assert_eq!(
            file.map(|f| f.notes).unwrap_or_default(),
            [
                "left out 2 series with no usable row (every Close or input value null, empty \
              or NaN): 'B', 'C'"
            ]
        );
        let none = "Date,Symbol,Close\n2024-01-01,A,\n2024-01-01,B,\n";
        let (fast, slow) = both_long(none, &config);
        assert!(!fast);
        let err = slow.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("series 'A': no rows with a Close value"),
            "{err}"
        );
    }

    #[test]
    fn a_clean_long_file_takes_the_fast_path() {
        let config = DataConfig {
            id_column: Some("Symbol".into()),
            ..DataConfig::default()
        };
        // Interleaved ids, one newest-first, a duplicate, a gap, a missing price.
        let text = "Date,Symbol,Close\n2024-01-02,B,2\n2024-01-01,A,1\n2024-01-01,B,1\n\
                    2024-01-02,A,2\n2024-01-02,A,2\n2024-01-04,A,\n2024-01-05,A,5\n";
        let (fast, slow) = both_long(text, &config);
        assert!(fast);
        let groups = slow.unwrap();
        let ids: Vec<&str> = groups.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["A", "B"]);
        assert_eq!(groups[0].1.series.values, vec![1.0, 2.0, 5.0]);
        assert_eq!(groups[0].1.lines, vec![3, 5, 8]);
        assert_eq!(groups[1].1.lines, vec![4, 2]);
        assert_eq!(groups[1].1.info, ["rows were newest-first; sorted by date"]);
        // An empty id, a bad value or a conflict: the slow path names the line.
        for (bad, says) in [
            ("2024-01-09, ,3\n", "line 9: Symbol is empty"),
            ("2024-01-09,B,x\n", "line 9 (series 'B'): Close value 'x'"),
            (
                "2024-01-02,A,7\n",
                "series 'A': lines 5 and 9 have the same Date",
            ),
        ] {
            let (fast, slow) = both_long(&format!("{text}{bad}"), &config);
            assert!(!fast);
            let err = slow.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(says), "{err}");
        }
    }
}
