//! gruf: a recurrent-network forecaster for price series.
//!
//! The modules below are the pipeline's stages, declared in the order data flows through
//! them. A stage uses only the stages declared before it, never one after it, so every
//! arrow points down this list (`tests/it/layout.rs` checks it and fails on a back edge or
//! an import circle):
//!
//! ```text
//! error, text, rng, io   shared by every stage: errors and exit codes, number and word
//!                        formatting, the seeded generator, atomic files, stdout, Ctrl-C
//! series      CSV ─► Series on its calendar (polars, fast path, validation, panels,
//!             gaps filled, seasons, synthetic samples)
//! features    Series ─► split into train/validation/test ─► scaled windows (the
//!             featurizer, fitted on the training part only)
//! model       the network: its own config (cell, layers, dropout), cells, fused CPU
//!             kernels, loss
//! config      settings: built-in defaults < a TOML file < flags; a model's config is
//!             the network's and the featurizer's (the framing)
//! scores      point-forecast metrics, naive scales, the score types a model file keeps
//! intervals   levels, intervals and their scores, naive-quantile baselines, the stored
//!             conformal calibration, Monte Carlo dropout bands
//! train       per-series preparation, the training loop, optimizers, progress
//! forecast    the Forecaster (network + featurizer) and its dated Forecast; fitting the
//!             conformal calibration on validation
//! checkpoint  the model file: records per format version, one file, written atomically
//! evaluation  evaluate, interval coverage, backtest, compare: a Forecaster against the
//!             baselines on held-out data
//! export      a model file's forecaster as one ONNX graph (featurizer, networks, intervals)
//! tune        the search space, successive halving, the validation objective, the log
//! render      results as a table, CSV or JSON on stdout
//! plot        pictures
//! cli         the command line (clap)
//! commands    one module per subcommand
//! ```
//!
//! The `gruf` binary is a thin shell over [`commands::run`].
//!
//! `unsafe` code is denied here and allowed in two places only: the fused kernels
//! (`model::fused`) and the CSV fast path's SSE2 loads (`series::csv::fast`).

#![deny(unsafe_code)]

pub mod error;
pub mod text;
pub mod rng;
pub mod io;
pub mod series;
pub mod features;
pub mod model;
pub mod config;
pub mod scores;
pub mod intervals;
pub mod train;
pub mod forecast;
pub mod checkpoint;
pub mod evaluation;
pub mod export;
pub mod tune;
pub mod render;
pub mod plot;
pub mod cli;
pub mod commands;
