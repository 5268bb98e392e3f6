//! Calendar inputs in the graph: each window step's `sin, cos` of its phase in the day,
//! the week or the year ([`CalendarInput::phase`]), from its date as int64 seconds. The
//! date of a month phase is found with Howard Hinnant's `civil_from_days` in integer
//! arithmetic, so the graph needs no date library.

use super::graph::{Elem, Graph, V};
use crate::series::calendar::CalendarInput;

const DAY: i64 = 86_400;

/// `⌊a / d⌋` and `a mod d` (non-negative) for int64 `a` and a positive constant `d`:
/// ONNX's integer `Mod` takes the divisor's sign, and `(a − a mod d) / d` divides exactly.
fn div_mod(g: &mut Graph, a: &V, d: i64) -> (V, V) {
    let dv = g.int(d);
    let r = g.op("Mod", &[a, &dv], vec![super::graph::attr_int("fmod", 0)]);
    let whole = g.sub(a, &r);
    (g.div(&whole, &dv), r)
}

fn int_affine(g: &mut Graph, x: &V, a: i64, b: i64) -> V {
    let av = g.int(a);
    let bv = g.int(b);
    let ax = g.mul(x, &av);
    g.add(&ax, &bv)
}

/// The phase of each date of `t` (`[batch, T]` int64 seconds) in `input`'s cycle, f64.
pub fn phase(g: &mut Graph, t: &V, input: CalendarInput) -> V {
    let (days, seconds) = div_mod(g, t, DAY);
    match input {
        CalendarInput::Hour => {
            let s = g.cast(&seconds, Elem::F64);
            let d = g.scalar(DAY as f64);
            g.div(&s, &d)
        }
        CalendarInput::Weekday => {
            // 1970-01-01 was a Thursday (3 with Monday as 0).
            let shifted = int_affine(g, &days, 1, 3);
            let (_, w) = div_mod(g, &shifted, 7);
            let w = g.cast(&w, Elem::F64);
            let seven = g.scalar(7.0);
            g.div(&w, &seven)
        }
        CalendarInput::Month => month_phase(g, &days),
    }
}

/// `(month0 + day0 / days in the month) / 12` of each day number (days since 1970-01-01).
fn month_phase(g: &mut Graph, days: &V) -> V {
    let z = int_affine(g, days, 1, 719_468);
    let (era, doe) = div_mod(g, &z, 146_097);
    // yoe = (doe − doe/1460 + doe/36524 − doe/146096) / 365, all non-negative.
    let quot = |g: &mut Graph, x: &V, d: i64| {
        let dv = g.int(d);
        g.div(x, &dv)
    };
    let a = quot(g, &doe, 1460);
    let b = quot(g, &doe, 36_524);
    let c = quot(g, &doe, 146_096);
    let t1 = g.sub(&doe, &a);
    let t2 = g.add(&t1, &b);
    let t3 = g.sub(&t2, &c);
    let yoe = quot(g, &t3, 365);
    let y400 = int_affine(g, &era, 400, 0);
    let y = g.add(&yoe, &y400);
    // doy = doe − (365·yoe + yoe/4 − yoe/100)
    let y365 = int_affine(g, &yoe, 365, 0);
    let q4 = quot(g, &yoe, 4);
    let q100 = quot(g, &yoe, 100);
    let s1 = g.add(&y365, &q4);
    let s2 = g.sub(&s1, &q100);
    let doy = g.sub(&doe, &s2);
    // mp = (5·doy + 2) / 153; day0 = doy − (153·mp + 2) / 5; month = mp < 10 ? mp + 3 : mp − 9
    let d5 = int_affine(g, &doy, 5, 2);
    let mp = quot(g, &d5, 153);
    let m153 = int_affine(g, &mp, 153, 2);
    let back = quot(g, &m153, 5);
    let day0 = g.sub(&doy, &back);
    let ten = g.int(10);
    let early = g.op("Less", &[&mp, &ten], vec![]);
    let plus3 = int_affine(g, &mp, 1, 3);
    let minus9 = int_affine(g, &mp, 1, -9);
    let month = g.select(&early, &plus3, &minus9); // 1..=12
    let two = g.int(2);
    let jan_feb = g.op("LessOrEqual", &[&month, &two], vec![]);
    let jan_feb_i = g.cast(&jan_feb, Elem::I64);
    let year = g.add(&y, &jan_feb_i);
    // Days in the month: the table, plus one for February of a leap year.
    let month0 = int_affine(g, &month, 1, -1);
    let table = g.f64s(
        &[12],
        &[31., 28., 31., 30., 31., 30., 31., 31., 30., 31., 30., 31.],
    );
    let length = g.op(
        "Gather",
        &[&table, &month0],
        vec![super::graph::attr_int("axis", 0)],
    );
    let divisible = |g: &mut Graph, by: i64| {
        let (_, r) = div_mod(g, &year, by);
        let zero = g.int(0);
        g.op("Equal", &[&r, &zero], vec![])
    };
    let by4 = divisible(g, 4);
    let by100 = divisible(g, 100);
    let by400 = divisible(g, 400);
    let not100 = g.bool_not(&by100);
    let common = g.op("And", &[&by4, &not100], vec![]);
    let leap = g.op("Or", &[&common, &by400], vec![]);
    let february = g.op("Equal", &[&month, &two], vec![]);
    let extra = g.op("And", &[&leap, &february], vec![]);
    let extra = g.cast(&extra, Elem::F64);
    let length = g.add(&length, &extra);
    let day0 = g.cast(&day0, Elem::F64);
    let month0 = g.cast(&month0, Elem::F64);
    let frac = g.div(&day0, &length);
    let sum = g.add(&month0, &frac);
    let twelve = g.scalar(12.0);
    g.div(&sum, &twelve)
}

/// The two features of each date: `sin 2πφ`, `cos 2πφ`, each `[batch, T, 1]` f64.
pub fn features(g: &mut Graph, t: &V, input: CalendarInput) -> [V; 2] {
    let p = phase(g, t, input);
    let tau = g.scalar(std::f64::consts::TAU);
    let angle = g.mul(&tau, &p);
    let s = g.unary("Sin", &angle);
    // cos θ as sin(θ + π/2): onnxruntime before 1.16 has no f64 `Cos` on the CPU. The two
    // differ by about 1e-16, far below the f32 the network reads.
    let quarter = g.scalar(std::f64::consts::FRAC_PI_2);
    let shifted = g.add(&angle, &quarter);
    let c = g.unary("Sin", &shifted);
    [g.unsqueeze(&s, &[2]), g.unsqueeze(&c, &[2])]
}
