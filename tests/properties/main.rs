//! Property tests (proptest) over generated inputs: CSVs and model files that load or are
//! refused without a panic, and the fused recurrent layers against step-by-step references
//! over random shapes. They are the slow tests; run them alone with `cargo test --release
//! --locked --test properties`.
//!
//! proptest keeps the cases it once failed on beside this folder, in
//! tests/proptest-regressions/ (`fused_cells.txt` for `fused_cells`), and runs them first.

#[path = "../common/close.rs"]
mod close;

mod fused_cells;
mod properties;
