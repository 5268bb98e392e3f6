//! The featurizer in the graph: the fitted price transform ([`crate::features::scaler`])
//! as `to_units` and `from_units` on graph values, the seasonal baseline of a window, and
//! the per-series numbers a global model looks up by the `series` input. Everything here
//! is f64, as gruf computes it; only the network runs in f32.

use super::graph::{Graph, V};
use crate::features::scaler::{Scaler, TransformKind};
use crate::features::{Featurizer, InputTransform};

/// The fitted numbers of every series, as graph values: constants for a model of one
/// series, the `series` input's rows of a constant table for a global model.
pub enum Fitted {
    One(Vec<f64>),
    /// `[batch, columns]`: the table's row of each window's series.
    Rows(V),
}

/// Where each fitted number sits in a row of the per-series table ([`columns`]).
pub const SCALER_COLUMNS: usize = 2;

/// A featurizer's fitted numbers as one row: the scaler's two (min and max − min for
/// `minmax`, the scale and 0 for the others), then each covariate's mean and standard
/// deviation (0 and 1 for a price-like one, which uses the price's).
pub fn columns(f: &Featurizer) -> Vec<f64> {
    let mut row = match f.scaler {
        Scaler::Minmax { min, max } => vec![min, max - min],
        Scaler::Window { scale }
        | Scaler::Logret { scale }
        | Scaler::Diff { scale }
        | Scaler::Seasonal { scale, .. } => vec![scale, 0.0],
    };
    for input in &f.inputs {
        match input.transform {
            InputTransform::Standard { mean, std, .. } => row.extend([mean, std]),
            InputTransform::Price => row.extend([0.0, 1.0]),
        }
    }
    row
}

impl Fitted {
    /// Column `c` of each window's row: a scalar constant, or `[batch, 1]`.
    pub fn get(&self, g: &mut Graph, c: usize) -> V {
        match self {
            Fitted::One(row) => g.scalar(row[c]),
            Fitted::Rows(rows) => g.slice(rows, 1, c as i64, c as i64 + 1),
        }
    }
}

/// The price transform of one model in the graph, for values of one rank: its fitted
/// numbers are scalars, or for a global model `[batch, 1]` rows that
/// [`Transform::lifted`] makes `[batch, 1, 1]` for rank-3 values.
pub struct Transform {
    pub kind: TransformKind,
    rows: bool,
    /// `minmax`: min; the others: scale.
    a: V,
    /// `minmax`: max − min.
    b: V,
}

impl Transform {
    pub fn new(g: &mut Graph, kind: TransformKind, fitted: &Fitted) -> Transform {
        let a = fitted.get(g, 0);
        Transform {
            kind,
            rows: matches!(fitted, Fitted::Rows(_)),
            // Only `minmax` has a second number: no unused constant in the graph.
            b: match kind {
                TransformKind::Minmax => fitted.get(g, 1),
                _ => a.clone(),
            },
            a,
        }
    }

    /// This transform for values of one rank more (`[batch, K, Q]` rather than
    /// `[batch, K]`): per-series numbers get a trailing axis, so that they broadcast
    /// along the batch, not along the steps.
    pub fn lifted(&self, g: &mut Graph) -> Transform {
        if !self.rows {
            return Transform {
                kind: self.kind,
                rows: false,
                a: self.a.clone(),
                b: self.b.clone(),
            };
        }
        Transform {
            kind: self.kind,
            rows: true,
            a: g.unsqueeze(&self.a, &[2]),
            b: g.unsqueeze(&self.b, &[2]),
        }
    }

    /// `value` in the network's units relative to `anchor` ([`Scaler::to_units`]).
    pub fn to_units(&self, g: &mut Graph, anchor: &V, value: &V) -> V {
        match self.kind {
            TransformKind::Minmax => {
                let d = g.sub(value, &self.a);
                g.div(&d, &self.b)
            }
            TransformKind::Window => {
                let r = g.div(value, anchor);
                let one = g.scalar(1.0);
                let d = g.sub(&r, &one);
                g.div(&d, &self.a)
            }
            TransformKind::Logret | TransformKind::Seasonal => {
                let r = g.div(value, anchor);
                let l = g.unary("Log", &r);
                g.div(&l, &self.a)
            }
            TransformKind::Diff => {
                let d = g.sub(value, anchor);
                g.div(&d, &self.a)
            }
        }
    }

    /// The value `z` units stand for relative to `anchor` ([`Scaler::from_units`]).
    pub fn value_at(&self, g: &mut Graph, anchor: &V, z: &V) -> V {
        match self.kind {
            TransformKind::Minmax => {
                let s = g.mul(z, &self.b);
                g.add(&s, &self.a)
            }
            TransformKind::Window => {
                let s = g.mul(z, &self.a);
                let one = g.scalar(1.0);
                let f = g.add(&one, &s);
                g.mul(anchor, &f)
            }
            TransformKind::Logret | TransformKind::Seasonal => {
                let s = g.mul(z, &self.a);
                let e = g.unary("Exp", &s);
                g.mul(anchor, &e)
            }
            TransformKind::Diff => {
                let s = g.mul(z, &self.a);
                g.add(anchor, &s)
            }
        }
    }

    /// The scale (not `minmax`'s).
    pub fn scale(&self) -> &V {
        &self.a
    }
}

/// The phase of step `i` of a window of `n` steps in a period of `m`
/// (`features::scaler::phase`).
fn phase(i: usize, n: usize, m: usize) -> usize {
    (i + m - n % m) % m
}

/// `[rows, cols]` f64 constant with `f(r, c)` at each place.
fn matrix(g: &mut Graph, rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> V {
    let data: Vec<f64> = (0..rows * cols).map(|i| f(i / cols, i % cols)).collect();
    g.f64s(&[rows, cols], &data)
}

/// The one-hot map from a profile of period `m` to the `n` steps of a window, by phase:
/// `profile @ map` is each step's factor.
fn by_phase(g: &mut Graph, m: usize, n: usize) -> V {
    matrix(g, m, n, |p, i| f64::from(u8::from(phase(i, n, m) == p)))
}

/// `profile_sums` of `features::scaler` on `x` (`[batch, n]`): each value over its
/// season's mean, summed by phase over the whole seasons counted back from the end
/// (`[batch, m]`), and how many seasons that is.
fn profile_sums(g: &mut Graph, x: &V, n: usize, m: usize) -> (V, usize) {
    let seasons = (n / m).max(1);
    let start = n - seasons * m; // steps before it are in no whole season
    let season_of = |i: usize| (i >= start).then(|| seasons - 1 - (i - start) / m);
    // Sums of each season, then each step's season mean (1 outside every season).
    let sums = matrix(g, n, seasons, |i, s| {
        f64::from(u8::from(season_of(i) == Some(s)))
    });
    let totals = g.matmul(x, &sums);
    let m_ = g.scalar(m as f64);
    let means = g.div(&totals, &m_);
    let spread = matrix(g, seasons, n, |s, i| {
        f64::from(u8::from(season_of(i) == Some(s)))
    });
    let at_step = g.matmul(&means, &spread);
    let outside: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i < start))).collect();
    let outside = g.f64s(&[n], &outside);
    let at_step = g.add(&at_step, &outside);
    let ratio = g.div(x, &at_step);
    let by = matrix(g, n, m, |i, p| {
        f64::from(u8::from(i >= start && (i - start) % m == p))
    });
    (g.matmul(&ratio, &by), seasons)
}

/// The seasonal baseline of a window `w` (`[batch, n]`) as factors per period
/// (`features::scaler::seasonal_factors`): `[batch, m_i]` each, the first carrying the
/// level.
pub fn seasonal_factors(g: &mut Graph, w: &V, n: usize, periods: &[usize]) -> Vec<V> {
    let m = periods[0];
    let (sums, seasons) = profile_sums(g, w, n, m);
    let mut longer: Vec<(V, usize)> = Vec::new();
    if periods.len() > 1 {
        let count = g.scalar(seasons as f64);
        let first = g.div(&sums, &count);
        let map = by_phase(g, m, n);
        let at = g.matmul(&first, &map);
        let mut rest = g.div(w, &at);
        for &p in &periods[1..] {
            let (sums, cycles) = profile_sums(g, &rest, n, p);
            let count = g.scalar(cycles as f64);
            let profile = g.div(&sums, &count);
            let map = by_phase(g, p, n);
            let at = g.matmul(&profile, &map);
            rest = g.div(&rest, &at);
            longer.push((profile, p));
        }
    }
    // The level: the mean of the last season, each value over its longer factors.
    let mut last = g.slice(w, 1, (n - m) as i64, n as i64);
    for (profile, p) in &longer {
        let map = by_phase(g, *p, n);
        let map = g.slice(&map, 1, (n - m) as i64, n as i64);
        let at = g.matmul(profile, &map);
        last = g.div(&last, &at);
    }
    let total = g.sum(&last, &[1]);
    let m_ = g.scalar(m as f64);
    let level = g.div(&total, &m_);
    let scaled = g.mul(&level, &sums);
    let count = g.scalar(seasons as f64);
    let mut factors = vec![g.div(&scaled, &count)];
    factors.extend(longer.into_iter().map(|(p, _)| p));
    factors
}

/// The baseline at each of `steps` positions (`[batch, steps]`): the product over periods
/// of each factor at the position's phase, `phase_of(position, m)`.
pub fn baseline(
    g: &mut Graph,
    factors: &[V],
    periods: &[usize],
    steps: usize,
    phase_of: impl Fn(usize, usize) -> usize,
) -> V {
    let mut out: Option<V> = None;
    for (f, &m) in factors.iter().zip(periods) {
        let map = matrix(g, m, steps, |p, k| f64::from(u8::from(phase_of(k, m) == p)));
        let at = g.matmul(f, &map);
        out = Some(match out {
            None => at,
            Some(b) => g.mul(&b, &at),
        });
    }
    out.expect("a seasonal baseline has at least one period")
}

/// Each window step's seasonal baseline (`[batch, n]`), for encoding the window.
pub fn window_baseline(g: &mut Graph, factors: &[V], periods: &[usize], n: usize) -> V {
    baseline(g, factors, periods, n, |i, m| phase(i, n, m))
}

/// Each forecast step's anchor (`[batch, k]`), `k` steps after the origin (from 0).
pub fn step_baseline(g: &mut Graph, factors: &[V], periods: &[usize], k: usize) -> V {
    baseline(g, factors, periods, k, |step, m| step % m)
}
