//! A series as the user wrote it, on its calendar: CSV files read (with a fast path for
//! plain files), validated and sorted; a long file or several files as a panel of named
//! series; missing calendar steps filled; seasons; and the synthetic series `gruf sample`
//! writes.

pub mod calendar;
pub mod csv;
pub mod fill;
pub mod panel;
pub mod season;
pub mod synth;
