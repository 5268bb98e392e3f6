//! gruf: a GRU forecaster for price series.
//!
//! Data flows one way:
//!
//! ```text
//! CSV ─► data (polars, validate, sort) ─► Series on its calendar (price + covariates)
//! Series ─► window::Split ─► features::Featurizer (fit on the training part only)
//!   ─► batches x [n, window, features] / y [n, horizon] ─► model + train (optim, loss)
//!   ─► checkpoint (records, one file, atomic)
//! checkpoint ─► forecast::Forecaster ─► Forecast / evaluate / backtest / plot
//!   ─► render (table, CSV, JSON) on stdout
//! ```
//!
//! The `gruf` binary is a thin shell over [`commands::run`], one module per subcommand.

pub mod backtest;
pub mod calendar;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod conformal;
pub mod coverage;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod fill;
pub mod forecast;
pub mod interrupt;
pub mod interval;
pub mod loss;
pub mod mc_dropout;
pub mod model;
pub mod optim;
pub mod output;
pub mod panel;
pub mod pipeline;
pub mod plot;
pub mod progress;
pub mod render;
pub mod rng;
pub mod scaler;
pub mod season;
pub mod synth;
pub mod train;
pub mod window;
