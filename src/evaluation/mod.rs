//! A trained forecaster against the baselines on data it was not fitted on: one span
//! ([`evaluate`]), its intervals ([`coverage`]), refits over rolling origins
//! ([`backtest`]), and cells and seeds side by side ([`compare`]).

pub mod backtest;
pub mod compare;
pub mod coverage;
pub mod evaluate;
