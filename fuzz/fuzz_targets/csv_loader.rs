//! The CSV loader on arbitrary bytes: it must load a clean series or return an error,
//! never panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run csv_loader` (see README).
#![no_main]

use std::path::Path;

use gruf::data::{parse_csv, DataConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(loaded) = parse_csv(data, Path::new("fuzz.csv"), &DataConfig::default()) {
        let s = &loaded.series;
        assert!(!s.is_empty());
        assert!(s.dates.windows(2).all(|w| w[0] < w[1]));
        // Any finite value of either sign; positivity is the transform's check.
        assert!(s.values.iter().all(|v| v.is_finite()));
        assert_eq!(loaded.lines.len(), s.len());
    }
});
