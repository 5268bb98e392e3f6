//! The CSV loader on arbitrary bytes: it must load a clean series or return an error,
//! never panic. Every input is parsed with each of [`configs`]: the price alone, and
//! several input columns beside it (`--inputs`: Volume; Open, High, Low, Volume; Close,
//! Volume and the derived range, also `;`-separated; Low and range with High as the
//! price; Volume with `--resample`, which must be refused). Whatever loads holds aligned,
//! finite covariates named as requested, volumes not negative.
//! Long CSVs (`--id-column Symbol` or `series`, also with `--inputs Volume`) are read by
//! both paths, which must agree: the fast path (`read_panel`, falling back to the slow
//! one) gives exactly the slow path's series, notes and lines (`parse_panel`), or the
//! same error.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run csv_loader` (see CONTRIBUTING.md).
#![no_main]

use std::path::Path;

use gruf::series::csv::{parse_csv, DataConfig, Delimiter};
use gruf::series::is_volume;
use gruf::series::panel::{parse_panel, read_panel};
use gruf::series::resample::Resample;
use libfuzzer_sys::fuzz_target;

/// The configurations every input is loaded with. All of them, rather than one picked by
/// a byte of the input, so the seeds stay plain CSV files and each input meets each one.
fn configs() -> Vec<DataConfig> {
    let inputs = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let semicolon: Delimiter = ";".parse().unwrap();
    vec![
        DataConfig::default(),
        DataConfig {
            inputs: inputs(&["Volume"]),
            ..DataConfig::default()
        },
        DataConfig {
            inputs: inputs(&["Open", "High", "Low", "Volume"]),
            ..DataConfig::default()
        },
        DataConfig {
            inputs: inputs(&["Close", "Volume", "range"]),
            ..DataConfig::default()
        },
        DataConfig {
            inputs: inputs(&["Close", "Volume", "range"]),
            delimiter: semicolon,
            ..DataConfig::default()
        },
        DataConfig {
            column: Some("High".into()),
            inputs: inputs(&["Low", "range"]),
            ..DataConfig::default()
        },
        DataConfig {
            inputs: inputs(&["Volume"]),
            resample: Some(Resample::Day),
            ..DataConfig::default()
        },
    ]
}

fuzz_target!(|data: &[u8]| {
    // The long format: every series by id, each as clean as a file of its own, the same
    // by both paths.
    for (id_column, inputs) in [("Symbol", false), ("series", false), ("series", true)] {
        let config = DataConfig {
            id_column: Some(id_column.into()),
            inputs: if inputs { vec!["Volume".into()] } else { vec![] },
            ..DataConfig::default()
        };
        let path = Path::new("fuzz.csv");
        let (panel, fast) = match (
            parse_panel(data, path, &config),
            read_panel(data, path, &config),
        ) {
            (Ok(slow), Ok(fast)) => (slow, fast),
            (Err(slow), Err(fast)) => {
                assert_eq!(slow.to_string(), fast.to_string());
                continue;
            }
            (slow, fast) => panic!("the paths disagree: slow {slow:?}, fast {fast:?}"),
        };
        assert_eq!(panel.series.len(), fast.series.len());
        for (s, f) in panel.series.iter().zip(&fast.series) {
            assert_eq!(s.id, f.id);
            assert_eq!(s.loaded.series, f.loaded.series);
            assert_eq!(s.loaded.lines, f.loaded.lines);
            assert_eq!(s.loaded.notes, f.loaded.notes);
            assert_eq!(s.loaded.info, f.loaded.info);
            assert_eq!(s.loaded.provenance, f.loaded.provenance);
        }
        assert_eq!(panel.notes, fast.notes);
        assert_eq!(panel.provenance, fast.provenance);
        assert!(!panel.series.is_empty());
        assert!(panel.series.windows(2).all(|w| w[0].id < w[1].id));
        let mut rows = 0;
        for named in &panel.series {
            assert!(!named.id.is_empty() && named.id.trim() == named.id);
            let s = &named.loaded.series;
            assert!(!s.is_empty());
            assert!(s.dates.windows(2).all(|w| w[0] < w[1]));
            assert!(s.values.iter().all(|v| v.is_finite()));
            assert_eq!(named.loaded.lines.len(), s.len());
            rows += s.len();
        }
        assert_eq!(panel.provenance.rows, rows);
    }
    for config in configs() {
        let Ok(loaded) = parse_csv(data, Path::new("fuzz.csv"), &config) else {
            continue;
        };
        let s = &loaded.series;
        assert!(!s.is_empty());
        assert!(s.dates.windows(2).all(|w| w[0] < w[1]));
        // Any finite value of either sign; positivity is the transform's check.
        assert!(s.values.iter().all(|v| v.is_finite()));
        assert_eq!(loaded.lines.len(), s.len());
        assert_eq!(loaded.provenance.rows, s.len());

        // The covariates are the requested inputs other than the price, in the order
        // asked (the header's spelling, matched ignoring case), each aligned and finite.
        let price = &loaded.provenance.column;
        let wanted: Vec<String> = config
            .inputs
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case(price))
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let got: Vec<String> = s
            .covariates
            .iter()
            .map(|c| c.name.to_ascii_lowercase())
            .collect();
        assert_eq!(got, wanted, "price column {price}");
        for c in &s.covariates {
            assert_eq!(c.values.len(), s.len(), "{}", c.name);
            assert!(c.values.iter().all(|v| v.is_finite()), "{}", c.name);
            if is_volume(&c.name) {
                assert!(c.values.iter().all(|&v| v >= 0.0), "{}", c.name);
            }
        }
    }
});
