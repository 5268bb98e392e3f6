//! `gruf inspect`: what the gates of a trained model do over one input window, as a
//! heatmap per layer and gate (or the numbers as CSV). The values come from the kernels
//! that train the model ([`crate::model::Model::trace`]), not from a second implementation.

use std::path::Path;

use crate::checkpoint::Checkpoint;
use crate::cli::{InspectArgs, InspectFormat};
use crate::error::GrufError;
use crate::features::Columns;
use crate::io::output::{check_writable, print};
use crate::model::fused::{saved_names, Trace};
use crate::model::Cell;
use crate::plot::gates::{draw_gates, gates_csv, GatePicture, Heatmap, LayerGates};
use crate::series::dates::parse_date;
use crate::series::Series;

use super::open::Opened;
use super::{device, note};

pub(super) fn run(args: InspectArgs) -> anyhow::Result<()> {
    let device = device();
    let checkpoint = Checkpoint::load(&args.source.model, &device)?;
    if args.format == InspectFormat::Png {
        check_writable(&args.out)?;
        // Refuse an image type gruf cannot write before any work.
        crate::plot::ImageFormat::from_path(&args.out)?;
    }
    let opened = Opened::open(&args.source, checkpoint)?;
    let subjects = opened.subjects(&args.source.series, &device)?;
    let Some(subject) = subjects.first() else {
        anyhow::bail!("no series of the model to inspect");
    };
    if subjects.len() > 1 && args.source.series.is_empty() {
        note(&format!(
            "showing series '{}' of {}; --series ID shows another",
            subject.id(),
            subjects.len()
        ));
    }
    let (series, forecaster) = (subject.series(), &subject.forecaster);
    let file = subject.named.path();
    let id = subject.named_id();
    let meta = opened.meta();
    let networks = meta.networks();
    if networks > 1 {
        note(&format!(
            "the model is an ensemble of {networks} networks; showing the first (seed {})",
            meta.seed
        ));
    }
    // `--at` is written as the dates of the CSV read.
    let date_format =
        (args.source.layout.date_format.as_deref()).or(meta.config.data.date_format.as_deref());
    let at = args.at.as_deref();
    let end = window_end(series, forecaster.lookback(), at, date_format, file)?;
    let mut xs = Vec::new();
    forecaster
        .featurizer()
        .encode_at(Columns::from(series), end, &mut xs);
    let traces = forecaster.models()[0].trace(&xs)?;
    let window = forecaster.featurizer().window;
    let what = id.map_or_else(
        || {
            file.file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        },
        |id| format!("series {id}"),
    );
    let picture = GatePicture {
        title: format!(
            "{what} · {} · window ending {}",
            meta.model().describe(),
            series.zone.iso(series.dates[end - 1], series.is_daily())
        ),
        times: series.dates[end - window..end].to_vec(),
        input: series.values[end - window..end].to_vec(),
        input_label: meta.data.column.clone(),
        layers: traces
            .iter()
            .enumerate()
            .map(|(l, t)| layer_gates(l, t))
            .collect(),
    };
    match args.format {
        InspectFormat::Csv => print(gates_csv(&picture)?.as_bytes()),
        InspectFormat::Png => {
            draw_gates(&args.out, &picture)?;
            super::wrote(&args.out.display().to_string());
            Ok(())
        }
    }
}

/// Where the inspected window ends (exclusive): after the row dated `at`, else at the end
/// of the data (the window `predict` starts from).
/// `lookback` is how many values the model reads; `date_format` is the model's.
fn window_end(
    series: &Series,
    lookback: usize,
    at: Option<&str>,
    date_format: Option<&str>,
    file: &Path,
) -> anyhow::Result<usize> {
    let Some(at) = at else {
        return Ok(series.len());
    };
    let when = parse_date(at, date_format)
        .map_err(|e| GrufError::usage(format!("--at {at}: {e}; write a date as in the CSV")))?;
    let daily = series.is_daily();
    let span = || {
        format!(
            "{} to {}",
            series.zone.iso(series.dates[0], daily),
            series.zone.iso(*series.dates.last().unwrap_or(&0), daily)
        )
    };
    let Ok(row) = series.dates.binary_search(&when) else {
        return Err(GrufError::data(
            file,
            format!(
                "--at {at}: no row has this date (the dates run {}); pass one of them",
                span()
            ),
        )
        .into());
    };
    if row + 1 < lookback {
        return Err(GrufError::data(
            file,
            format!(
                "--at {at}: the window ending there would start before the data; the model reads {lookback} values, so the earliest --at is {}",
                series.zone.iso(series.dates[lookback - 1], daily)
            ),
        )
        .into());
    }
    Ok(row + 1)
}

/// One layer's heatmaps: GRU update and reset gates, LSTM input, forget and output gates,
/// RNN hidden state; `[unit][step]` from the trace's `[step][block · H + unit]`.
pub fn layer_gates(index: usize, trace: &Trace) -> LayerGates {
    let (h, steps) = (trace.hidden, trace.steps);
    let names = saved_names(trace.cell);
    let block = |name: &str| {
        let k = names.iter().position(|n| *n == name).unwrap_or(0);
        let width = names.len() * h;
        let mut values = vec![0.0f32; h * steps];
        for t in 0..steps {
            for u in 0..h {
                values[u * steps + t] = trace.saved[t * width + k * h + u];
            }
        }
        values
    };
    let map = |name: &str, values: Vec<f32>, range: (f32, f32)| Heatmap {
        name: name.to_string(),
        units: h,
        steps,
        values,
        range,
    };
    let maps = match trace.cell {
        Cell::Gru => vec![
            map("update gate z", block("z"), (0.0, 1.0)),
            map("reset gate r", block("r"), (0.0, 1.0)),
        ],
        Cell::Lstm => vec![
            map("input gate i", block("i"), (0.0, 1.0)),
            map("forget gate f", block("f"), (0.0, 1.0)),
            map("output gate o", block("o"), (0.0, 1.0)),
        ],
        Cell::Rnn => {
            let mut values = vec![0.0f32; h * steps];
            for t in 0..steps {
                for u in 0..h {
                    values[u * steps + t] = trace.states[t * h + u];
                }
            }
            vec![map("hidden state h", values, (-1.0, 1.0))]
        }
    };
    LayerGates {
        title: format!("layer {} · {}({h})", index + 1, trace.cell.label()),
        maps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gate blocks land in the right maps, transposed to `[unit][step]`.
    #[test]
    fn layer_gates_pick_and_transpose_the_blocks() {
        // GRU, 2 units, 3 steps: saved [t][r0 r1 z0 z1 n0 n1 hn0 hn1], value = 100t + 10·block + unit.
        let saved: Vec<f32> = (0..3)
            .flat_map(|t| {
                (0..4).flat_map(move |k| (0..2).map(move |u| (100 * t + 10 * k + u) as f32))
            })
            .collect();
        let trace = Trace {
            cell: Cell::Gru,
            steps: 3,
            hidden: 2,
            states: vec![0.0; 6],
            saved,
        };
        let layer = layer_gates(1, &trace);
        assert_eq!(layer.title, "layer 2 · GRU(2)");
        let z = &layer.maps[0];
        assert_eq!(z.name, "update gate z");
        assert_eq!(z.values, vec![10.0, 110.0, 210.0, 11.0, 111.0, 211.0]);
        assert_eq!(
            layer.maps[1].values,
            vec![0.0, 100.0, 200.0, 1.0, 101.0, 201.0]
        );

        let lstm = Trace {
            cell: Cell::Lstm,
            steps: 1,
            hidden: 1,
            states: vec![0.5],
            saved: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        let names: Vec<(String, f32)> = layer_gates(0, &lstm)
            .maps
            .into_iter()
            .map(|m| (m.name, m.values[0]))
            .collect();
        assert_eq!(
            names,
            vec![
                ("input gate i".into(), 1.0),
                ("forget gate f".into(), 2.0),
                ("output gate o".into(), 4.0)
            ]
        );

        let rnn = Trace {
            cell: Cell::Rnn,
            steps: 2,
            hidden: 2,
            states: vec![0.1, 0.2, 0.3, 0.4],
            saved: Vec::new(),
        };
        let h = &layer_gates(0, &rnn).maps[0];
        assert_eq!((h.name.as_str(), h.range), ("hidden state h", (-1.0, 1.0)));
        assert_eq!(h.values, vec![0.1, 0.3, 0.2, 0.4]);
    }
}
