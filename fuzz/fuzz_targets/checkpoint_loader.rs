//! The checkpoint loader on arbitrary bytes: it must return a usable model or an error,
//! never panic. A model it accepts must also hold what its consumers rely on without
//! checking again: each network's kept epoch is in its history, and a calibrated model
//! gives its intervals or a user's error, never an internal one.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run checkpoint_loader` (see CONTRIBUTING.md).
#![no_main]

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use gruf::intervals::Level;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Checkpoint::from_bytes(data, Path::new("fuzz.safetensors"), &Device::Cpu) else {
        return;
    };
    assert!(c.models().is_ok());
    for n in c.meta.trainings() {
        assert!(n.best_epoch >= 1 && n.history.get(n.best_epoch - 1).is_some());
    }
    let Some(calibration) = &c.meta.calibration else {
        return;
    };
    if c.meta.series.iter().any(|m| !m.inputs.is_empty()) || !c.meta.model().framing.calendar.is_empty() {
        return;
    }
    let mut levels = calibration.levels();
    if levels.is_empty() {
        levels.push(Level::new(0.8).unwrap());
    }
    let history: Vec<f64> = (0..400).map(|i| 100.0 + (i as f64 / 7.0).sin()).collect();
    let forecaster = c.forecaster(&Device::Cpu).unwrap();
    if let Err(e) = forecaster.banded(&history[..], &[history.len()], 1, &levels) {
        assert!(!e.to_string().starts_with("internal"), "{e}");
    }
});
