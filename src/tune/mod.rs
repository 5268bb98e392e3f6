//! `gruf tune`'s search, apart from running it: the [`space`] of settings and the trials
//! drawn from it, the successive-[`halving`] schedule that decides which trials train
//! longer, the [`objective`] a trial is judged by (its validation part only), and the
//! [`log`] a search appends to and resumes from. `commands::tune` trains and scores.

pub mod halving;
pub mod log;
pub mod objective;
pub mod space;
