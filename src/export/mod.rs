//! `gruf export`: a trained forecaster as one ONNX file that any runtime can serve.
//!
//! The graph is the whole forecaster for one origin, as `gruf predict` runs it: the last
//! values of the series in its own units go in, the featurizer's encode runs in the graph
//! (every transform, covariates, calendar inputs), then the network in ONNX's own
//! recurrent operators ([`network`]), then the decode back to the series' units, the
//! median of an ensemble, and the calibrated intervals. Inputs, outputs and their shapes
//! are described by [`Contract`], which the command prints and the file's metadata keeps.
//!
//! Featurizer arithmetic is f64 as in gruf; the network is f32 as in gruf. What differs is
//! only the order of the network's sums inside the runtime's kernels.
//!
//! Written with prost from the subset of the ONNX schema in [`proto`] (no build step, no
//! `protoc`), at IR version [`IR_VERSION`] and opset [`OPSET`]: tests/it/export.rs passes on
//! onnxruntime 1.15.0 (the oldest with a wheel for Python 3.11) and 1.32.0.

mod calendar;
mod graph;
mod network;
mod proto;
mod transform;

use prost::Message;

use crate::checkpoint::{network_prefix, Checkpoint};
use crate::config::median_index;
use crate::error::GrufError;
use crate::features::scaler::Scaler;
use crate::features::scaler::TransformKind;
use crate::features::{Featurizer, InputTransform};
use crate::intervals::conformal::{quantile_pair, Method, Space};
use crate::intervals::Level;
use crate::series::season::Seasons;
use graph::{Dim, Elem, Graph, V};
use transform::{Fitted, Transform};

/// The ONNX IR version written.
pub const IR_VERSION: i64 = 8;
/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 17;

/// What to export besides the forecast.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Interval levels asked for (none: those the model's calibration offers, as far as it
    /// gives them for the whole horizon; a level asked for that it cannot give is an
    /// error).
    pub levels: Vec<Level>,
}

/// What an exported graph takes and gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// Values of `history` per window: the last values of the series, oldest first.
    pub history: usize,
    /// Steps of `covariates` and `dates` per window (the model's input window).
    pub window: usize,
    /// The covariate columns of `covariates`, in order (empty: no such input).
    pub covariates: Vec<String>,
    /// True when the graph takes `dates`.
    pub dates: bool,
    /// For a global model, the series ids in the order `series` indexes them (empty: a
    /// model of one series, no such input).
    pub series: Vec<String>,
    /// Steps forecast (K).
    pub horizon: usize,
    /// The quantiles of each step of `forecast` (empty: a point forecast).
    pub quantiles: Vec<f64>,
    /// The interval levels of `intervals`, in its order (empty: no such output).
    pub levels: Vec<Level>,
    /// Networks whose median the forecast is.
    pub networks: usize,
}

/// An exported forecaster: the ONNX file's bytes and its contract.
#[derive(Debug)]
pub struct Export {
    pub bytes: Vec<u8>,
    pub contract: Contract,
    /// Why the file has no `intervals` output, when it has none.
    pub no_intervals: Option<String>,
}

/// The ONNX graph of `checkpoint`'s forecaster. `Err` is a [`GrufError`] for what cannot
/// be exported, saying why and what to do.
pub fn onnx(checkpoint: &Checkpoint, options: &Options) -> anyhow::Result<Export> {
    let meta = &checkpoint.meta;
    let model = meta.model();
    let io = model.io();
    let first = checkpoint.featurizer(meta.first());
    let (window, horizon, q) = (first.window, first.horizon, io.quantiles.len());
    let kind = first.scaler.kind();
    let (levels, no_intervals) = levels(checkpoint, options, horizon)?;
    let calibration = meta.calibration.as_deref().filter(|_| !levels.is_empty());
    let spread = calibration.map_or(0, |c| c.spread);
    let history_len = first
        .lookback()
        .max(if spread > 0 { spread + 1 } else { 0 });

    let mut g = Graph::default();
    let batch = Dim::Named("batch");
    let inputs = Inputs::declare(&mut g, checkpoint, history_len);
    let tr = Transform::new(&mut g, kind, &inputs.fitted);
    let origin = Origin::read(&mut g, &inputs.history, history_len, &first);
    let x = encode(&mut g, &first, &tr, &inputs, &origin);

    // The networks, each decoded; their median.
    let step_anchor = origin.step_anchors(&mut g, horizon);
    let networks = meta.networks();
    let mut decoded = Vec::with_capacity(networks);
    for i in 0..networks {
        let y = network::network(
            &mut g,
            &x,
            &model.network,
            &io,
            &checkpoint.weights,
            &network_prefix(i),
        )?;
        let y = g.cast(&y, Elem::F64);
        decoded.push(decode(&mut g, &tr, &y, &step_anchor, horizon, q));
    }
    let forecast = if decoded.len() == 1 {
        decoded.remove(0)
    } else {
        let stacked = g.stack_last(&decoded);
        g.median(&stacked, -1, networks)
    };
    let forecast_dims: Vec<Dim> = if q == 0 {
        vec![batch.clone(), Dim::Fixed(horizon)]
    } else {
        vec![batch.clone(), Dim::Fixed(horizon), Dim::Fixed(q)]
    };
    g.output(
        &forecast,
        "forecast",
        Elem::F64,
        &forecast_dims,
        "the forecast of the next steps in the series' units ([batch, K], or [batch, K, Q] for the quantiles of a quantile model)",
    );

    if let Some(calibration) = calibration {
        // The intervals measure each step against the decode's anchors: the last value
        // (log returns too: their units are over the whole k steps), or the seasonal
        // baseline of the step.
        let lifted = tr.lifted(&mut g);
        let bands = Bands {
            tr: &lifted,
            history_tr: &tr,
            anchor: g.unsqueeze(&step_anchor, &[2]),
            window_log: calibration.space == Space::Log && kind == TransformKind::Window,
        };
        let intervals = bands.build(
            &mut g,
            calibration,
            &levels,
            &forecast,
            &inputs.history,
            history_len,
            horizon,
            &io.quantiles,
        )?;
        g.output(
            &intervals,
            "intervals",
            Elem::F64,
            &[
                batch,
                Dim::Fixed(horizon),
                Dim::Fixed(levels.len()),
                Dim::Fixed(2),
            ],
            "the calibrated interval of each step at each level of gruf.levels: lower, upper",
        );
    }

    let contract = Contract {
        history: history_len,
        window,
        covariates: first.inputs.iter().map(|i| i.name.clone()).collect(),
        dates: inputs.dates.is_some(),
        series: if meta.is_global() {
            meta.series.iter().map(|m| m.id.clone()).collect()
        } else {
            Vec::new()
        },
        horizon,
        quantiles: io.quantiles.clone(),
        levels,
        networks,
    };
    let doc = contract.describe();
    let model_proto = proto::ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![proto::OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "gruf".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: doc.clone(),
        graph: Some(g.finish("gruf_forecaster", &doc)),
        metadata_props: contract
            .metadata(kind, &meta.data.column)
            .into_iter()
            .map(|(key, value)| proto::StringStringEntryProto { key, value })
            .collect(),
    };
    Ok(Export {
        bytes: model_proto.encode_to_vec(),
        contract,
        no_intervals,
    })
}

/// The graph's inputs, as the model's featurizer reads them, and each window's fitted
/// numbers: constants for a model of one series, looked up by the `series` input in a
/// table of every series' for a global model.
struct Inputs {
    history: V,
    covariates: Option<V>,
    dates: Option<V>,
    fitted: Fitted,
}

impl Inputs {
    fn declare(g: &mut Graph, checkpoint: &Checkpoint, history_len: usize) -> Inputs {
        let meta = &checkpoint.meta;
        let first = checkpoint.featurizer(meta.first());
        let batch = Dim::Named("batch");
        let window = first.window;
        let history = g.input(
            "history",
            Elem::F64,
            &[batch.clone(), Dim::Fixed(history_len)],
            "the last values of the series, oldest first, in its own units",
        );
        let covariates = (!first.inputs.is_empty()).then(|| {
            g.input(
                "covariates",
                Elem::F64,
                &[batch.clone(), Dim::Fixed(window), Dim::Fixed(first.inputs.len())],
                "each covariate's values at the window's steps (the last `window` rows), in the model's order",
            )
        });
        let dates = (!first.calendar.is_empty()).then(|| {
            g.input(
                "dates",
                Elem::I64,
                &[batch.clone(), Dim::Fixed(window)],
                "each window step's date as Unix seconds of its clock time (a date written 2024-01-05 09:00+05:00 is 2024-01-05 09:00 as if UTC)",
            )
        });
        let fitted = if meta.is_global() {
            let series = g.input(
                "series",
                Elem::I64,
                std::slice::from_ref(&batch),
                "each window's series, as its index in the model's series list (metadata gruf.series)",
            );
            let rows: Vec<Vec<f64>> = (meta.series.iter())
                .map(|m| transform::columns(&checkpoint.featurizer(m)))
                .collect();
            let table = g.f64s(&[rows.len(), rows[0].len()], &rows.concat());
            Fitted::Rows(g.op(
                "Gather",
                &[&table, &series],
                vec![graph::attr_int("axis", 0)],
            ))
        } else {
            Fitted::One(transform::columns(&first))
        };
        Inputs {
            history,
            covariates,
            dates,
            fitted,
        }
    }
}

/// What the transform reads off `history` at the origin: the last value, the window's
/// values, for log returns the value before each of them, for `seasonal` the window's
/// baseline factors and its periods.
struct Origin {
    last: V,
    values: V,
    previous: Option<V>,
    seasonal: Option<(Vec<V>, Seasons)>,
}

impl Origin {
    fn read(g: &mut Graph, history: &V, history_len: usize, f: &Featurizer) -> Origin {
        let (l, n) = (history_len as i64, f.window as i64);
        let values = g.slice(history, 1, l - n, l);
        let previous = f
            .scaler
            .chained()
            .then(|| g.slice(history, 1, l - n - 1, l - 1));
        let seasonal = match f.scaler {
            Scaler::Seasonal { seasons, .. } => Some((
                transform::seasonal_factors(g, &values, f.window, seasons.periods()),
                seasons,
            )),
            _ => None,
        };
        Origin {
            last: g.slice(history, 1, l - 1, l),
            values,
            previous,
            seasonal,
        }
    }

    /// What each window value is relative to (`[batch, T]` or `[batch, 1]`).
    fn window_anchors(&self, g: &mut Graph, window: usize) -> V {
        match (&self.previous, &self.seasonal) {
            (Some(p), _) => p.clone(),
            (_, Some((factors, s))) => transform::window_baseline(g, factors, s.periods(), window),
            _ => self.last.clone(),
        }
    }

    /// What each forecast step is relative to (`[batch, K]` or `[batch, 1]`): the seasonal
    /// baseline of its phase, else the last value (log returns then accumulate).
    fn step_anchors(&self, g: &mut Graph, horizon: usize) -> V {
        match &self.seasonal {
            Some((factors, s)) => transform::step_baseline(g, factors, s.periods(), horizon),
            None => self.last.clone(),
        }
    }
}

/// The network's input (`[batch, T, F]` f32), step by step as the featurizer makes it: the
/// price, each covariate, each calendar pair.
fn encode(g: &mut Graph, f: &Featurizer, tr: &Transform, inputs: &Inputs, origin: &Origin) -> V {
    let anchors = origin.window_anchors(g, f.window);
    let price = tr.to_units(g, &anchors, &origin.values);
    let mut features = vec![g.unsqueeze(&price, &[2])];
    for (c, input) in f.inputs.iter().enumerate() {
        let all = inputs.covariates.as_ref().expect("covariates are an input");
        let v = g.pick(all, 2, c as i64);
        let feature = match input.transform {
            InputTransform::Standard { log, .. } => {
                let f = if log {
                    let one = g.scalar(1.0);
                    let p1 = g.add(&v, &one);
                    g.unary("Log", &p1)
                } else {
                    v
                };
                let mean = inputs.fitted.get(g, transform::SCALER_COLUMNS + 2 * c);
                let std = inputs.fitted.get(g, transform::SCALER_COLUMNS + 2 * c + 1);
                let d = g.sub(&f, &mean);
                g.div(&d, &std)
            }
            // A price-like column is relative to the price's anchor: the last value, or
            // for log returns the price before its step.
            InputTransform::Price => {
                let anchor = origin.previous.as_ref().unwrap_or(&origin.last);
                tr.to_units(g, anchor, &v)
            }
        };
        features.push(g.unsqueeze(&feature, &[2]));
    }
    for &input in &f.calendar {
        let d = inputs.dates.as_ref().expect("dates are an input");
        features.extend(calendar::features(g, d, input));
    }
    let refs: Vec<&V> = features.iter().collect();
    let x = g.concat(&refs, 2);
    g.cast(&x, Elem::F32)
}

/// Network outputs `y` (`[batch, K·Q]` f64) in the series' units: each step relative to its
/// anchor (`[batch, K]` or `[batch, 1]`), log returns accumulated along the steps; a
/// quantile model's `[batch, K, Q]`, each step's quantiles sorted.
fn decode(g: &mut Graph, tr: &Transform, y: &V, anchor: &V, k: usize, q: usize) -> V {
    let (y, anchor, lifted) = if q == 0 {
        (y.clone(), anchor.clone(), None)
    } else {
        (
            g.reshape(y, &[0, k as i64, q as i64]),
            g.unsqueeze(anchor, &[2]),
            Some(tr.lifted(g)),
        )
    };
    let tr = lifted.as_ref().unwrap_or(tr);
    let z = if tr.kind == TransformKind::Logret {
        let axis = g.int(1);
        g.op("CumSum", &[&y, &axis], vec![])
    } else {
        y
    };
    let prices = tr.value_at(g, &anchor, &z);
    if q == 0 {
        prices
    } else {
        g.sort(&prices, 2, q)
    }
}

/// The levels to export ([`Calibration::choose`] for the whole horizon) and, when there
/// are none, why.
///
/// [`Calibration::choose`]: crate::intervals::conformal::Calibration::choose
fn levels(
    checkpoint: &Checkpoint,
    options: &Options,
    horizon: usize,
) -> anyhow::Result<(Vec<Level>, Option<String>)> {
    let Some(calibration) = checkpoint.meta.calibration.as_deref() else {
        let why = "the model has no calibrated intervals (it was written by a gruf before 1.5; retrain it to export them)";
        if options.levels.is_empty() {
            return Ok((Vec::new(), Some(why.into())));
        }
        return Err(GrufError::usage(format!("--interval: {why}")).into());
    };
    let mut why = None;
    let levels = calibration
        .choose(&options.levels, horizon, |level, e| {
            why.get_or_insert_with(|| format!("no {} % interval: {e}", level.label()));
        })
        .map_err(|e| GrufError::usage(format!("--interval: {e}")))?;
    let why = why.filter(|_| levels.is_empty());
    Ok((levels, why))
}

/// The calibrated intervals in the graph ([`crate::intervals::conformal::Calibration::band`]).
struct Bands<'a> {
    /// The transform for `[batch, K, levels]` values.
    tr: &'a Transform,
    /// The transform for `[batch, steps]` values (the history the spread is measured on).
    history_tr: &'a Transform,
    /// Each step's anchor in units, `[batch, K, 1]` or `[batch, 1, 1]`.
    anchor: V,
    /// A `window` model measured in logs (`Space::Log`).
    window_log: bool,
}

impl Bands<'_> {
    /// `value` measured (`Measure::of`).
    fn of(&self, g: &mut Graph, value: &V) -> V {
        let u = self.tr.to_units(g, &self.anchor, value);
        if !self.window_log {
            return u;
        }
        let s = g.mul(self.tr.scale(), &u);
        let one = g.scalar(1.0);
        let p1 = g.add(&one, &s);
        let l = g.unary("Log", &p1);
        g.div(&l, self.tr.scale())
    }

    /// The value of measure `z` (`Measure::value`).
    fn value(&self, g: &mut Graph, z: &V) -> V {
        let u = if self.window_log {
            let s = g.mul(self.tr.scale(), z);
            let e = g.unary("Exp", &s);
            let one = g.scalar(1.0);
            let m1 = g.sub(&e, &one);
            g.div(&m1, self.tr.scale())
        } else {
            z.clone()
        };
        self.tr.value_at(g, &self.anchor, &u)
    }

    /// `[batch, K, levels, 2]`.
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        g: &mut Graph,
        calibration: &crate::intervals::conformal::Calibration,
        levels: &[Level],
        forecast: &V,
        history: &V,
        history_len: usize,
        horizon: usize,
        quantiles: &[f64],
    ) -> anyhow::Result<V> {
        let nl = levels.len();
        let mut lo = vec![0.0; horizon * nl];
        let mut hi = vec![0.0; horizon * nl];
        for k in 0..horizon {
            for (j, &level) in levels.iter().enumerate() {
                let (a, b) = calibration.offsets(k, level)?;
                lo[k * nl + j] = a;
                hi[k * nl + j] = b;
            }
        }
        let lo = g.f64s(&[horizon, nl], &lo);
        let hi = g.f64s(&[horizon, nl], &hi);
        let (point, lo_end, hi_end) = match calibration.method {
            Method::Residuals => {
                let p = g.unsqueeze(forecast, &[2]); // [batch, K, 1]
                (p.clone(), p.clone(), p)
            }
            Method::Quantiles => {
                let m = median_index(quantiles).ok_or_else(|| {
                    anyhow::anyhow!("internal: a quantile model without its median")
                })?;
                let (mut is, mut js) = (Vec::new(), Vec::new());
                for &level in levels {
                    let (i, j) = quantile_pair(quantiles, level)
                        .ok_or_else(|| anyhow::anyhow!("internal: no quantiles for {level}"))?;
                    is.push(i as i64);
                    js.push(j as i64);
                }
                let p = g.gather(forecast, 2, &[m as i64]);
                (p, g.gather(forecast, 2, &is), g.gather(forecast, 2, &js))
            }
        };
        // The spread before the origin: the mean absolute one-step change in units.
        let spread = if calibration.spread > 0 {
            let s = calibration.spread as i64;
            let l = history_len as i64;
            let w0 = g.slice(history, 1, l - s - 1, l - 1);
            let w1 = g.slice(history, 1, l - s, l);
            let a = self.history_tr.to_units(g, &w0, &w1);
            let b = self.history_tr.to_units(g, &w0, &w0);
            let d = g.sub(&a, &b);
            let d = g.unary("Abs", &d);
            let total = g.sum(&d, &[1]);
            let count = g.scalar(s as f64);
            let mean = g.div(&total, &count);
            let floor = g.scalar(1e-9);
            let spread = g.op("Max", &[&mean, &floor], vec![]);
            g.unsqueeze(&spread, &[2]) // [batch, 1, 1]
        } else {
            g.scalar(1.0)
        };
        let lo = g.mul(&lo, &spread);
        let hi = g.mul(&hi, &spread);
        let lo_m = self.of(g, &lo_end);
        let hi_m = self.of(g, &hi_end);
        let lo_m = g.add(&lo_m, &lo);
        let hi_m = g.add(&hi_m, &hi);
        let lower = self.value(g, &lo_m);
        let upper = self.value(g, &hi_m);
        // An end that overflows is its forecast instead; crossed ends meet at their midpoint.
        let finite_or = |g: &mut Graph, x: &V, fallback: &V| {
            let inf = g.unary("IsInf", x);
            let nan = g.unary("IsNaN", x);
            let bad = g.op("Or", &[&inf, &nan], vec![]);
            g.select(&bad, fallback, x)
        };
        let lower = finite_or(g, &lower, &lo_end);
        let upper = finite_or(g, &upper, &hi_end);
        let crossed = g.op("Greater", &[&lower, &upper], vec![]);
        let sum = g.add(&lower, &upper);
        let two = g.scalar(2.0);
        let mid = g.div(&sum, &two);
        let lower = g.select(&crossed, &mid, &lower);
        let upper = g.select(&crossed, &mid, &upper);
        // The band holds its own forecast.
        let lower = g.op("Min", &[&lower, &point], vec![]);
        let upper = g.op("Max", &[&upper, &point], vec![]);
        let lower = g.unsqueeze(&lower, &[3]);
        let upper = g.unsqueeze(&upper, &[3]);
        Ok(g.concat(&[&lower, &upper], 3))
    }
}

impl Contract {
    /// What the graph takes and gives, in words: the file's `doc_string`.
    pub fn describe(&self) -> String {
        let mut lines = vec![format!(
            "A gruf forecaster. Inputs: history [batch, {}] f64, the last {} values of the series, oldest first",
            self.history, self.history
        )];
        if !self.covariates.is_empty() {
            lines.push(format!(
                "covariates [batch, {}, {}] f64, the columns {} at the last {} rows",
                self.window,
                self.covariates.len(),
                self.covariates.join(", "),
                self.window
            ));
        }
        if self.dates {
            lines.push(format!(
                "dates [batch, {}] int64, the last {} rows' dates as Unix seconds of their clock time",
                self.window, self.window
            ));
        }
        if !self.series.is_empty() {
            lines.push(format!(
                "series [batch] int64, each window's series as its index in: {}",
                self.series.join(", ")
            ));
        }
        let mut out = format!(
            "Outputs: forecast [batch, {}{}] f64, {}{}",
            self.horizon,
            if self.quantiles.is_empty() {
                String::new()
            } else {
                format!(", {}", self.quantiles.len())
            },
            match self.horizon {
                1 => "the next step".to_string(),
                k => format!("the next {k} steps"),
            },
            if self.quantiles.is_empty() {
                String::new()
            } else {
                format!(" at the quantiles {}", list(&self.quantiles))
            }
        );
        if self.networks > 1 {
            out.push_str(&format!(" (the median of {} networks)", self.networks));
        }
        if !self.levels.is_empty() {
            let labels: Vec<String> = self
                .levels
                .iter()
                .map(|l| format!("{} %", l.label()))
                .collect();
            out.push_str(&format!(
                "; intervals [batch, {}, {}, 2] f64, lower and upper at {}",
                self.horizon,
                self.levels.len(),
                labels.join(", ")
            ));
        }
        format!("{}. {}.", lines.join("; "), out)
    }

    /// `gruf.*` metadata properties, for programs that read the file.
    fn metadata(&self, kind: TransformKind, column: &str) -> Vec<(String, String)> {
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
        let levels: Vec<f64> = self.levels.iter().map(|l| l.get()).collect();
        vec![
            ("gruf.format".into(), "gruf-onnx 1".into()),
            ("gruf.column".into(), column.into()),
            ("gruf.transform".into(), kind.name().into()),
            ("gruf.history".into(), self.history.to_string()),
            ("gruf.window".into(), self.window.to_string()),
            ("gruf.horizon".into(), self.horizon.to_string()),
            (
                "gruf.quantiles".into(),
                serde_json::to_string(&self.quantiles).unwrap_or_default(),
            ),
            (
                "gruf.levels".into(),
                serde_json::to_string(&levels).unwrap_or_default(),
            ),
            ("gruf.covariates".into(), json(&self.covariates)),
            ("gruf.series".into(), json(&self.series)),
            ("gruf.networks".into(), self.networks.to_string()),
        ]
    }
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(f64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
