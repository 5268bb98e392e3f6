//! Many series for one global model: a long CSV with one row per (series, date), named by
//! `--id-column`. Each series is cleaned and checked on its own (sorted, duplicates, gaps,
//! missing values) exactly as a file of one series is, and every note names its series.
//! Several files of one series each (`--csv` given more than once) make a panel too, each
//! series named by its file's stem.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::GrufError;
use crate::series::csv::{self, load_csv, DataConfig, FilePanel};
use crate::series::{LoadedSeries, Provenance};

/// One series of a panel: its id and the series as a file of its own would load.
#[derive(Debug, Clone)]
pub struct PanelSeries {
    pub id: String,
    pub loaded: LoadedSeries,
    /// The file the series is alone in, when the panel was read from one file per series.
    pub file: Option<PathBuf>,
}

impl PanelSeries {
    /// The file the series was read from, for messages.
    pub fn path(&self) -> &Path {
        &self.loaded.provenance.path
    }
}

/// Every series of a long CSV (or of several files), sorted by id, and where they came
/// from.
#[derive(Debug, Clone)]
pub struct Panel {
    pub series: Vec<PanelSeries>,
    /// The whole file, or the files together (path: the first; sha256: of the files'
    /// hashes in id order; rows: every data row of every series).
    pub provenance: Provenance,
    /// Things the user should know about the file as a whole (ids that differ only by
    /// case or spaces): warnings.
    pub notes: Vec<String>,
}

/// The series of `paths`: one long CSV whose `config.id_column` names the series, several
/// CSV files of one series each, named by their file stems ([`load_files`]), or one plain
/// CSV: a panel of one series, unnamed (its id is empty, as a model of one series stores
/// it).
pub fn load(paths: &[PathBuf], config: &DataConfig) -> Result<Panel, GrufError> {
    match (paths, &config.id_column) {
        ([path], Some(_)) => load_panel(path, config),
        ([path], None) => Ok(one(load_csv(path, config)?)),
        (_, Some(id)) => Err(GrufError::usage(format!(
            "--id-column {id} reads one long CSV, but --csv was given {} times; pass one file with every series, or one file per series without --id-column",
            paths.len()
        ))),
        _ => load_files(paths, config),
    }
}

/// Reads a long CSV (`config.id_column` names the series) and returns each series,
/// cleaned and checked on its own, sorted by id: by the fast path when it can vouch for the
/// file, else by [`parse_panel`], which names the line, the series and the value of
/// anything it refuses.
pub fn load_panel(path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    let mut panel = panel_of(csv::load_groups(path, config)?);
    panel.provenance.path = csv::recorded_path(path);
    Ok(panel)
}

/// [`load_panel`] on bytes already read: by the fast path when it can vouch for them, else
/// by [`parse_panel`]; `path` only names the file in messages (and is not canonicalised).
pub fn read_panel(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    Ok(panel_of(csv::read_groups(bytes, path, config)?))
}

/// [`load_panel`] on bytes already read, by the slow path; `path` only names the file in
/// messages.
pub fn parse_panel(bytes: &[u8], path: &Path, config: &DataConfig) -> Result<Panel, GrufError> {
    Ok(panel_of(csv::parse_groups(bytes, path, config)?))
}

/// The panel of the series of one file (at least one, sorted by id), with the notes on
/// the file as a whole.
fn panel_of(file: FilePanel) -> Panel {
    let series: Vec<PanelSeries> = file
        .series
        .into_iter()
        .map(|(id, loaded)| PanelSeries {
            id,
            loaded,
            file: None,
        })
        .collect();
    let provenance = joined(&series);
    let mut panel = Panel {
        series,
        provenance,
        notes: file.notes,
    };
    let confusable = panel.confusable_notes();
    panel.notes.extend(confusable);
    panel
}

/// A panel of the one series `loaded`, unnamed.
pub fn one(loaded: LoadedSeries) -> Panel {
    Panel {
        provenance: loaded.provenance.clone(),
        series: vec![PanelSeries {
            id: String::new(),
            loaded,
            file: None,
        }],
        notes: Vec::new(),
    }
}

/// Several files of one series each; a series' id is its file's stem (`eth.csv` is
/// `eth`), so two files with one stem are refused.
pub fn load_files(paths: &[PathBuf], config: &DataConfig) -> Result<Panel, GrufError> {
    let mut series: Vec<PanelSeries> = Vec::with_capacity(paths.len());
    for path in paths {
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(other) = (paths.iter().zip(&series)).find(|(_, n)| n.id == id) {
            return Err(GrufError::usage(format!(
                "--csv {} and --csv {} would both be series '{id}' (a series is named by its file's stem); rename one",
                other.0.display(),
                path.display()
            )));
        }
        let loaded = load_csv(path, config)?;
        series.push(PanelSeries {
            id,
            loaded,
            file: Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())),
        });
    }
    series.sort_by(|a, b| a.id.cmp(&b.id));
    let mut hash = Sha256::new();
    for n in &series {
        hash.update(n.loaded.provenance.sha256.as_bytes());
        hash.update(b"\n");
    }
    let mut provenance = joined(&series);
    provenance.sha256 = format!("{:x}", hash.finalize());
    let mut panel = Panel {
        series,
        provenance,
        notes: Vec::new(),
    };
    panel.notes = panel.confusable_notes();
    Ok(panel)
}

/// What the series of a panel share: the first one's provenance with every series' rows
/// and the earliest first and latest last date.
pub fn joined(series: &[PanelSeries]) -> Provenance {
    let first = &series[0].loaded.provenance;
    Provenance {
        rows: series.iter().map(|n| n.loaded.series.len()).sum(),
        first_date: (series.iter())
            .map(|n| &n.loaded.provenance.first_date)
            .min()
            .unwrap_or(&first.first_date)
            .clone(),
        last_date: (series.iter())
            .map(|n| &n.loaded.provenance.last_date)
            .max()
            .unwrap_or(&first.last_date)
            .clone(),
        ..first.clone()
    }
}

impl Panel {
    /// A warning for each group of ids a user would take for one.
    pub fn confusable_notes(&self) -> Vec<String> {
        self.confusable_ids()
            .iter()
            .map(|group| {
                let names: Vec<String> = group.iter().map(|id| format!("'{id}'")).collect();
                format!(
                    "series ids {} differ only by case or spaces: they are kept apart; fix the ids if they are one series",
                    names.join(" and ")
                )
            })
            .collect()
    }

    /// The series named `id`, if the file has it.
    pub fn get(&self, id: &str) -> Option<&PanelSeries> {
        self.series
            .binary_search_by(|n| n.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.series[i])
    }

    /// Ids a user would take for one (`BTC` and `btc `): each group of two or more, in
    /// order.
    pub fn confusable_ids(&self) -> Vec<Vec<&str>> {
        let mut keyed: Vec<(String, &str)> = self
            .series
            .iter()
            .map(|n| (n.id.trim().to_lowercase(), n.id.as_str()))
            .collect();
        keyed.sort();
        keyed
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|group| group.len() > 1)
            .map(|group| group.iter().map(|(_, id)| *id).collect())
            .collect()
    }
}

/// Series ids in the order a person lists them: runs of digits by their value, so `H2`
/// comes before `H10` and `H10` before `H100`; the rest by character. Ids that differ only
/// in leading zeros (`H01`, `H1`) fall back on plain order, so the order is total.
///
/// This is how series are shown (tables, pictures). A panel itself stays in plain byte
/// order: its lookups, its training order and the hash of several files depend on it, and
/// models saved before keep that order.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a, b);
    loop {
        let (Some(cx), Some(cy)) = (x.chars().next(), y.chars().next()) else {
            return x.len().cmp(&y.len()).then_with(|| a.cmp(b));
        };
        let order = if cx.is_ascii_digit() && cy.is_ascii_digit() {
            let split = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (nx, ny) = (split(x), split(y));
            let (dx, dy) = (
                x[..nx].trim_start_matches('0'),
                y[..ny].trim_start_matches('0'),
            );
            let order = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
            (x, y) = (&x[nx..], &y[ny..]);
            order
        } else {
            (x, y) = (&x[cx.len_utf8()..], &y[cy.len_utf8()..]);
            cx.cmp(&cy)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn ids_are_listed_in_natural_order() {
        let mut ids = vec![
            "H100", "H10", "H2", "H1", "btc", "H01", "eth", "H1a", "", "H9", "7", "10",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            ["", "7", "10", "H01", "H1", "H1a", "H2", "H9", "H10", "H100", "btc", "eth"]
        );
        assert_eq!(natural_cmp("H1", "H1"), std::cmp::Ordering::Equal);
        assert_ne!(natural_cmp("H01", "H1"), std::cmp::Ordering::Equal);
    }
}
