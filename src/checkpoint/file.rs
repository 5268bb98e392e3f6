//! The model file on disk: bytes ↔ [`Checkpoint`].
//!
//! Saving serialises every tensor (the networks' weights, the calibration's errors) with
//! the metadata JSON under [`META_KEY`] and replaces the file atomically, so the previous
//! file survives any failure. Loading reads the file whole (never memory-mapped), refuses
//! some other framework's format by name, reads the metadata through `records/`, then
//! checks each tensor the configuration implies (present, F32, its shape, finite), the
//! calibration against its model before any error is read, and that no tensor is left
//! over. Every failure is one message naming what is wrong.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::error::{read_input, GrufError};
use crate::intervals::conformal::{self, Calibration, ErrorSet};
use crate::io::output::write_atomic;
use crate::model::{param_shapes, Weights};

use super::meta::Meta;
use super::names::{calibration_tensor, network_prefix};
use super::records::parse_meta;
use super::{Checkpoint, META_KEY};

impl Checkpoint {
    /// Serialises and writes atomically: the previous file survives any failure.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let meta = self.meta.to_json()?;
        let mut data: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::with_capacity(self.weights.len());
        for (name, t) in &self.weights {
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            data.push((name.clone(), bytes, t.dims().to_vec()));
        }
        for set in self.meta.calibration.iter().flat_map(|c| &c.sets) {
            for (k, scores) in set.steps.iter().enumerate() {
                let bytes = scores.iter().flat_map(|v| v.to_le_bytes()).collect();
                data.push((
                    calibration_tensor(set.level, k + 1),
                    bytes,
                    vec![scores.len()],
                ));
            }
        }
        let views = data
            .iter()
            .map(|(name, bytes, shape)| {
                Ok((
                    name.as_str(),
                    TensorView::new(Dtype::F32, shape.clone(), bytes)?,
                ))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
        let bytes =
            safetensors::serialize(views, Some(HashMap::from([(META_KEY.to_string(), meta)])))?;
        write_atomic(path, &bytes)?;
        Ok(())
    }

    /// Reads and checks a checkpoint; every failure is a [`GrufError`] naming the file.
    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint, GrufError> {
        let bytes = read_input(path, "; run `gruf train --csv FILE` first, or pass --model")?;
        Checkpoint::from_bytes(&bytes, path, device)
    }

    /// [`Checkpoint::load`] on bytes already read; `path` only names the file in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Checkpoint, GrufError> {
        parse(bytes, device).map_err(|msg| GrufError::model(path, msg))
    }
}

/// Recognises files that are some other framework's format, to refuse them by name.
fn foreign_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("a zip archive (a PyTorch .pt/.pth or a Keras .keras file?)")
    } else if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        Some("an HDF5 file (a Keras .h5 model?)")
    } else if bytes.first() == Some(&0x80) && bytes.get(1).is_some_and(|&p| (2..=5).contains(&p)) {
        Some("a Python pickle (never loaded: unpickling runs code)")
    } else {
        None
    }
}

/// The calibration errors in tensor `name`: F32, one non-empty dimension, finite; sorted.
fn calibration_errors(st: &SafeTensors, name: &str) -> Result<Vec<f32>, String> {
    let view = st
        .tensor(name)
        .map_err(|_| format!("tensor '{name}' is missing"))?;
    if view.dtype() != Dtype::F32 {
        return Err(format!(
            "tensor '{name}' is {:?}, expected F32",
            view.dtype()
        ));
    }
    if view.shape().len() != 1 || view.shape()[0] == 0 {
        return Err(format!(
            "tensor '{name}' has shape {:?}, expected one non-empty dimension",
            view.shape()
        ));
    }
    let mut values: Vec<f32> = (view.data().chunks_exact(4))
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "tensor '{name}' holds a non-finite value ({}) at index {i}",
            values[i]
        ));
    }
    values.sort_by(f32::total_cmp);
    Ok(values)
}

/// The calibration against the model it was made for and the tensors holding it, before
/// any error is read: no more steps ahead than `train` calibrates such a model for
/// ([`conformal::steps_for`]), residuals divided by the spread over the model's window,
/// and no step with more errors than its series have validation targets (every error is
/// one validation forecast's).
fn check_calibration(meta: &Meta, st: &SafeTensors) -> Result<(), String> {
    let Some(calibration) = &meta.calibration else {
        return Ok(());
    };
    let model = meta.model();
    let covariates = meta.series.iter().any(|m| !m.inputs.is_empty());
    let most = conformal::steps_for(model.framing.horizon, covariates);
    let steps = calibration.steps();
    if steps > most {
        return Err(format!(
            "the calibration claims {steps} steps ahead; a model of horizon {}{} is calibrated \
             for at most {most}",
            model.framing.horizon,
            if covariates { " with inputs" } else { "" }
        ));
    }
    if calibration.method == conformal::Method::Residuals
        && calibration.spread != model.framing.window
    {
        return Err(format!(
            "the calibration divides its errors by the spread over {} steps, but the model's \
             window is {}",
            calibration.spread, model.framing.window
        ));
    }
    let targets: usize = meta.series.iter().map(|m| m.split.val.len()).sum();
    for set in &calibration.sets {
        for k in 1..=set.steps.len() {
            let name = calibration_tensor(set.level, k);
            let Ok(view) = st.tensor(&name) else {
                return Err(format!("tensor '{name}' is missing"));
            };
            let errors: usize = view.shape().iter().product();
            if errors > targets {
                return Err(format!(
                    "tensor '{name}' holds {errors} calibration errors, but the model's series \
                     have {targets} validation target{}",
                    if targets == 1 { "" } else { "s" }
                ));
            }
        }
    }
    Ok(())
}

fn parse(bytes: &[u8], device: &Device) -> Result<Checkpoint, String> {
    if let Some(kind) = foreign_format(bytes) {
        return Err(format!(
            "this is {kind}, not a gruf model; train one with `gruf train`"
        ));
    }
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file ({e}); it may be truncated or corrupt: retrain or restore it"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or("a safetensors file, but not a gruf model (no gruf metadata)")?;
    let mut meta = parse_meta(json)?;
    let shapes = param_shapes(&meta.model().network, &meta.model().io());
    let expected = (0..meta.networks()).flat_map(|i| {
        let prefix = network_prefix(i);
        (shapes.iter()).map(move |(name, shape)| (format!("{prefix}{name}"), shape))
    });
    let mut weights = Weights::new();
    for (name, shape) in expected {
        let view = st
            .tensor(&name)
            .map_err(|_| format!("tensor '{name}' is missing"))?;
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "tensor '{name}' is {:?}, expected F32",
                view.dtype()
            ));
        }
        if view.shape() != shape.as_slice() {
            return Err(format!(
                "tensor '{name}' has shape {:?}, expected {shape:?}",
                view.shape()
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "tensor '{name}' holds a non-finite value ({}) at index {i}",
                values[i]
            ));
        }
        let tensor =
            Tensor::from_vec(values, shape.as_slice(), device).map_err(|e| e.to_string())?;
        weights.insert(name.clone(), tensor);
    }
    check_calibration(&meta, &st)?;
    let mut calibrated = Vec::new();
    if let Some(calibration) = &meta.calibration {
        let mut sets = Vec::with_capacity(calibration.sets.len());
        for set in &calibration.sets {
            let mut steps = Vec::with_capacity(set.steps.len());
            for k in 1..=set.steps.len() {
                let name = calibration_tensor(set.level, k);
                steps.push(calibration_errors(&st, &name)?);
                calibrated.push(name);
            }
            sets.push(ErrorSet {
                level: set.level,
                steps,
            });
        }
        meta.calibration = Some(Arc::new(Calibration {
            method: calibration.method,
            space: calibration.space,
            spread: calibration.spread,
            sets,
        }));
    }
    if let Some(extra) = (st.names().into_iter())
        .find(|n| !weights.contains_key(*n) && !calibrated.iter().any(|c| c == *n))
    {
        let networks = match meta.networks() {
            1 => String::new(),
            n => format!(" ensemble of {n}"),
        };
        return Err(format!(
            "unexpected tensor '{extra}' for a {:?} model{networks}",
            meta.model().network.layers
        ));
    }
    Ok(Checkpoint { meta, weights })
}
