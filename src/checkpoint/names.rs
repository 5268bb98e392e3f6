//! The names of the tensors a model file holds beside the first network's own (which are
//! PyTorch's, from [`crate::model::param_shapes`]): an ensemble's further networks and the
//! conformal calibration's errors. Written by [`Checkpoint::save`](super::Checkpoint::save)
//! and [`Checkpoint::trained`](super::Checkpoint::trained), expected by the loader.

use crate::intervals::Level;

/// The tensor holding the calibration errors `k` steps ahead (from 1) of the set for
/// `level` (`None`: every level): `calibration.step1`, `calibration.80.step1`.
pub fn calibration_tensor(level: Option<Level>, k: usize) -> String {
    match level {
        None => format!("calibration.step{k}"),
        Some(l) => format!("calibration.{}.step{k}", l.label()),
    }
}

/// What names network `i` (from 0) of an ensemble's tensors in the file: the first's are
/// PyTorch's names as they are (so a file of one network is what it always was); network
/// `i` ≥ 1 prefixes them with `ensemble.{i}.`.
pub fn network_prefix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("ensemble.{i}.")
    }
}
