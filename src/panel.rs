//! Many series for one global model: a long CSV with one row per (series, date), named by
//! `--id-column`. Each series is cleaned and checked on its own (sorted, duplicates, gaps,
//! missing values) exactly as a file of one series is, and every note names its series.

use crate::data::{Loaded, Provenance};

/// One series of a long CSV: its id and the series as a file of its own would load.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub loaded: Loaded,
}

/// Every series of a long CSV, sorted by id, and the file they came from.
#[derive(Debug, Clone)]
pub struct Panel {
    pub series: Vec<Named>,
    /// The whole file (rows: every data row of every series).
    pub provenance: Provenance,
    /// Things the user should know about the file as a whole (ids that differ only by
    /// case or spaces): warnings.
    pub notes: Vec<String>,
}

impl Panel {
    /// The series named `id`, if the file has it.
    pub fn get(&self, id: &str) -> Option<&Named> {
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

/// `ids` in a sentence: all of them up to `most`, then how many more.
pub fn name_some(ids: &[&str], most: usize) -> String {
    let shown: Vec<String> = ids.iter().take(most).map(|id| format!("'{id}'")).collect();
    let more = ids.len().saturating_sub(most);
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{} and {more} more", shown.join(", "))
    }
}
