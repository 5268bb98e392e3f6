//! gruf's integration tests: the CLI as a user runs it, and the library through its public
//! API (`use gruf::...`), one module per feature.
//!
//! They are one test crate, not one per file, because every crate under tests/ links
//! candle and polars again: one link step instead of 27. A module keeps the name its file
//! had when each was a crate of its own, so `cargo test --release --locked --test it
//! cli_train::` runs what `--test cli_train` used to. The numerics against PyTorch and
//! Python are the `reference` target (tests/reference/), the slow property tests the
//! `properties` target (tests/properties/).
//!
//! A new test goes in the module of the feature it checks; a new feature gets a module here.
//! Helpers shared by the modules (run the binary in a folder, a tiny model's flags, the
//! sample series, the float comparison) are in tests/common/.

#[path = "../common/mod.rs"]
mod common;

mod accuracy;
mod calendar;
mod cells;
mod checkpoint;
mod cli_backtest;
mod cli_compare;
mod cli_errors;
mod cli_inspect;
mod cli_predict;
mod cli_quantiles;
mod cli_train;
mod compat;
mod docs;
mod ensemble;
mod export;
mod global;
mod golden;
mod horizon;
mod inputs;
mod inputs_many;
mod intervals;
mod layout;
mod mc_dropout;
mod new_user;
mod plot;
mod quantiles;
mod sample_data;
mod seasons;
mod signed;
mod tune;
