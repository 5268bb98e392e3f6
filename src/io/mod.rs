//! The process's edges: files written atomically, stdout and stderr that never panic, and
//! what Ctrl-C and SIGTERM do to a run.

pub mod interrupt;
pub mod output;
