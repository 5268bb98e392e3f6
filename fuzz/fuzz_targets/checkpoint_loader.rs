//! The checkpoint loader on arbitrary bytes: it must return a usable model or an error,
//! never panic. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run checkpoint_loader` (see README).
#![no_main]

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Checkpoint::from_bytes(data, Path::new("fuzz.safetensors"), &Device::Cpu) {
        assert!(c.models().is_ok());
    }
});
