//! data/btc-sample.csv is exactly what the generator in src/series/synth.rs makes, so the
//! remake command in docs/configuration.md is true, and it loads cleanly.

use gruf::series::csv::{load_csv, DataConfig};
use gruf::series::synth::{generate, to_csv, SampleConfig};

#[test]
fn sample_file_is_the_generators_output() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("data/btc-sample.csv");
    let on_disk = std::fs::read_to_string(&path).unwrap();
    let made = to_csv(&generate(&SampleConfig::default()));
    assert!(
        on_disk == made,
        "data/btc-sample.csv differs from `gruf sample`; remake it (see docs/configuration.md)"
    );

    let loaded = load_csv(&path, &DataConfig::default()).unwrap();
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    assert!(loaded.series.len() >= 1500);
    assert_eq!(loaded.provenance.step_seconds, 86_400);
    assert_eq!(loaded.provenance.first_date, "2019-01-01");
}
