//! The gate arithmetic of each cell for one batch row and one step, forward and backward:
//! the only part of the fused kernel that differs between GRU, LSTM and plain RNN. The
//! loops around it (`mod.rs`) do the matrix products, the time steps and the threads.
//!
//! Each cell reads the step's products without biases, `gi = W_ih x` and `gh = W_hh h`
//! (`[G·H]`, gate blocks in PyTorch's order), and saves per unit what its backward step
//! needs (`SAVED` floats per unit, block by block) — also what `gruf inspect` shows.
//!
//! ```text
//! GRU   r = σ(gi_r + b_ir + gh_r + b_hr)      saved [r | z | n | hn]
//!       z = σ(gi_z + b_iz + gh_z + b_hz)
//!       hn = gh_n + b_hn
//!       n = tanh(gi_n + b_in + r ⊙ hn)
//!       h' = (1 − z) ⊙ n + z ⊙ h
//! LSTM  i, f, o = σ(gi + b_i + gh + b_h) of their blocks, g = tanh(…)   saved [i | f | g | o | c | tanh c]
//!       c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')        (c starts at 0)
//! RNN   h' = tanh(gi + b_ih + gh + b_hh)               saved nothing (h' is the output)
//! ```
//!
//! Backward, per step from the last: `dh = dout + carry` (the gradient reaching h_t), the
//! gate pre-activations' gradients `dgi` (and for the GRU, whose reset gate multiplies
//! `hn`, a separate recurrent-side `dgh`), and what goes back to step t − 1 besides
//! `dgh · W_hh`: the GRU's `z ⊙ dh` (`DIRECT_CARRY`) and the LSTM's cell gradient.
//!
//! Every function is written as plain loops over slices that arrive as separate arguments
//! (so the compiler knows they do not alias) and calls only branch-free `exp`, so the
//! loops vectorise; [`forward`] and [`backward`] run them in AVX2 + FMA or AVX-512 builds
//! after run-time detection. Element-wise arithmetic without reductions gives the same
//! bits at every vector width. Forward runs on chunks of `L` units (see `chunks!`) and
//! `exp`'s polynomial on fused multiply-adds ([`MulAdd`]); a CPU without FMA rounds it
//! twice per step instead, so its gate values may differ from other CPUs' in the last bit.

/// One cell's gate arithmetic.
pub(super) trait Kernel: Sync {
    /// Gate blocks `G`: `weight_ih` is `[G·H, in]`.
    const GATES: usize;
    /// Floats saved per unit and step for backward.
    const SAVED: usize;
    /// Whether the recurrent side's pre-activation gradient is a separate buffer (the
    /// GRU's); when not, it equals `dgi`, and `db_hh = db_ih`.
    const SEPARATE_DGH: bool;
    /// The leading gate blocks in which a separate `dgh` equals `dgi` (the GRU's r and z):
    /// their part of `db_hh` is `db_ih`'s, and only the rest is summed. All `G` without a
    /// separate `dgh`.
    const DGH_LIKE_DGI: usize;
    /// Whether backward passes a direct part of `dh` to the previous step (the GRU's
    /// `z ⊙ dh`), to which `dgh · W_hh` is added; otherwise that product is the carry.
    const DIRECT_CARRY: bool;
    /// The chunk width `L` of [`Kernel::forward`] in the AVX2 build (see `chunks!`).
    const AVX2_CHUNK: usize;

    /// One row, one step: the new state `now` and `saved`, from `gi`, `gh`, the biases,
    /// the previous state `hp` and the previous step's `prev` saved values (zeros at t = 0).
    #[allow(clippy::too_many_arguments)]
    fn forward<M: MulAdd, const L: usize>(
        gi: &[f32],
        gh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        hp: &[f32],
        prev: &[f32],
        saved: &mut [f32],
        now: &mut [f32],
    );

    /// One row, one step back: from the saved values (this step's and `prev`), the
    /// previous and current states `hp`, `h`, and `dh = dout + carry`, the gradients
    /// `dgi` (and `dgh` when [`Kernel::SEPARATE_DGH`]; empty otherwise), the direct part
    /// of the carry (when [`Kernel::DIRECT_CARRY`]), and the LSTM's cell carry `carry_c`.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        saved: &[f32],
        prev: &[f32],
        hp: &[f32],
        h: &[f32],
        dout: &[f32],
        carry: &mut [f32],
        carry_c: &mut [f32],
        dgi: &mut [f32],
        dgh: &mut [f32],
    );
}

pub(super) struct Gru;
pub(super) struct Lstm;
pub(super) struct Rnn;

// Units per chunk, `L` in [`Kernel::forward`]: forward's gate arithmetic runs on arrays
// of `L` units, and a width that is not a multiple of `L` ends with a whole chunk that
// overlaps the one before, instead of the unit-by-unit loop a compiler leaves after its
// vector loop (the 2 and 4 units left over from 50 and 100 cost about a whole chunk each).
// Measured in isolation (Xeon, AVX-512): the LSTM's forward step at 100 units took 596 ns
// before, 446 ns in chunks of 16.
//
// `L` is 16 in the AVX-512 build and the baseline one; in the AVX2 build it is the cell's
// `AVX2_CHUNK`, whichever the compiler vectorises better there. Measured in isolation (AMD
// EPYC Zen 3, AVX2), ns per unit at widths 50 / 100, chunks of 8 against 16: LSTM 7.6 / 8.4
// against 10.8 / 10.2 (at 16 it spilled its arrays, two registers each, to the stack);
// RNN 8.5 / 5.3 against 2.1 / 1.9 (at 8 the step was left in scalar code); GRU 5.6 / 4.9
// against 5.4 / 4.6 (the ignored test `gate_step_timings` prints these). The values do
// not depend on `L` (tested).

/// Runs `$body` for each chunk of `$h` units, with `$at` its first unit and `$n` its
/// length: `$l` (the constant `L`, so the copies compile to plain vector loads and
/// stores), or less for a layer narrower than that. A macro rather than a closure: a
/// closure called from two places was not inlined into the AVX-512 build.
///
/// Only for a `$body` whose outputs are not among its inputs: the overlapping last chunk
/// computes some units twice, which must give the same values both times. (Backward's
/// carries are both, so backward keeps plain loops.)
macro_rules! chunks {
    ($h:expr, $l:expr, |$at:ident, $n:ident| $body:block) => {{
        let (h, lanes): (usize, usize) = ($h, $l);
        let whole = h / lanes * lanes;
        for $at in (0..whole).step_by(lanes) {
            let $n = lanes;
            $body
        }
        if whole < h && h >= lanes {
            // The last `$l` units again, overlapping the chunk before: the lanes they share
            // are computed twice from the same inputs, to the same values.
            let ($at, $n) = (h - lanes, lanes);
            $body
        } else if whole < h {
            let ($at, $n) = (whole, h - whole);
            $body
        }
    }};
}

/// Units `at..at + n` of `s` (n ≤ L), zeros after.
#[inline(always)]
fn get<const L: usize>(s: &[f32], at: usize, n: usize) -> [f32; L] {
    let mut a = [0.0; L];
    a[..n].copy_from_slice(&s[at..at + n]);
    a
}

/// Writes the first `n` lanes of `a` to units `at..at + n` of `s`.
#[inline(always)]
fn put<const L: usize>(s: &mut [f32], at: usize, n: usize, a: &[f32; L]) {
    s[at..at + n].copy_from_slice(&a[..n]);
}

/// A step's four inputs to the gate pre-activations, `gi + b_ih + gh + b_hh` (`[G·H]`
/// each), for a layer `h` units wide.
struct Pre<'a> {
    gi: &'a [f32],
    b_ih: &'a [f32],
    gh: &'a [f32],
    b_hh: &'a [f32],
    h: usize,
}

impl<'a> Pre<'a> {
    fn new(gi: &'a [f32], b_ih: &'a [f32], gh: &'a [f32], b_hh: &'a [f32], h: usize) -> Self {
        Pre {
            gi,
            b_ih,
            gh,
            b_hh,
            h,
        }
    }

    /// Gate block `k`'s pre-activation for units `at..at + n`, summed in the order above.
    #[inline(always)]
    fn block<const L: usize>(&self, k: usize, at: usize, n: usize) -> [f32; L] {
        let at = k * self.h + at;
        let (a, b) = (get::<L>(self.gi, at, n), get::<L>(self.b_ih, at, n));
        let (c, d) = (get::<L>(self.gh, at, n), get::<L>(self.b_hh, at, n));
        let mut p = [0.0; L];
        for l in 0..L {
            p[l] = a[l] + b[l] + c[l] + d[l];
        }
        p
    }
}

impl Kernel for Gru {
    const GATES: usize = 3;
    const SAVED: usize = 4;
    const SEPARATE_DGH: bool = true;
    const DGH_LIKE_DGI: usize = 2;
    const DIRECT_CARRY: bool = true;
    const AVX2_CHUNK: usize = 16;

    #[inline(always)]
    fn forward<M: MulAdd, const L: usize>(
        gi: &[f32],
        gh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        hp: &[f32],
        _prev: &[f32],
        saved: &mut [f32],
        now: &mut [f32],
    ) {
        let h = hp.len();
        assert!(gi.len() == 3 * h && gh.len() == 3 * h);
        assert!(b_ih.len() == 3 * h && b_hh.len() == 3 * h);
        assert!(saved.len() == 4 * h && now.len() == h);
        let pre = Pre::new(gi, b_ih, gh, b_hh, h);
        chunks!(h, L, |at, n| {
            let (pr, pz) = (pre.block::<L>(0, at, n), pre.block::<L>(1, at, n));
            let (ghn, bhn) = (get::<L>(gh, 2 * h + at, n), get::<L>(b_hh, 2 * h + at, n));
            let (gin, bin) = (get::<L>(gi, 2 * h + at, n), get::<L>(b_ih, 2 * h + at, n));
            let hp = get::<L>(hp, at, n);
            let mut out = [[0.0; L]; 5];
            for l in 0..L {
                let r = sigmoid::<M>(pr[l]);
                let z = sigmoid::<M>(pz[l]);
                let hn = ghn[l] + bhn[l];
                let nv = tanh::<M>(gin[l] + bin[l] + r * hn);
                out[0][l] = r;
                out[1][l] = z;
                out[2][l] = nv;
                out[3][l] = hn;
                out[4][l] = nv + z * (hp[l] - nv);
            }
            for (k, v) in out[..4].iter().enumerate() {
                put(saved, k * h + at, n, v);
            }
            put(now, at, n, &out[4]);
        });
    }

    #[inline(always)]
    fn backward(
        saved: &[f32],
        _prev: &[f32],
        hp: &[f32],
        _h: &[f32],
        dout: &[f32],
        carry: &mut [f32],
        _carry_c: &mut [f32],
        dgi: &mut [f32],
        dgh: &mut [f32],
    ) {
        let h = hp.len();
        assert!(saved.len() == 4 * h && dout.len() == h && carry.len() == h);
        assert!(dgi.len() == 3 * h && dgh.len() == 3 * h);
        for j in 0..h {
            let (r, z, n, hn) = (saved[j], saved[h + j], saved[2 * h + j], saved[3 * h + j]);
            let dh = dout[j] + carry[j];
            // h' = n + z ⊙ (h − n)
            let dn = dh * (1.0 - z) * (1.0 - n * n);
            let dz = dh * (hp[j] - n) * z * (1.0 - z);
            // n = tanh(gi_n + r ⊙ hn), hn = W_hn h + b_hn
            let dr = dn * hn * r * (1.0 - r);
            dgi[j] = dr;
            dgi[h + j] = dz;
            dgi[2 * h + j] = dn;
            dgh[j] = dr;
            dgh[h + j] = dz;
            dgh[2 * h + j] = dn * r;
            carry[j] = dh * z;
        }
    }
}

impl Kernel for Lstm {
    const GATES: usize = 4;
    const SAVED: usize = 6;
    const SEPARATE_DGH: bool = false;
    const DGH_LIKE_DGI: usize = 4;
    const DIRECT_CARRY: bool = false;
    const AVX2_CHUNK: usize = 8;

    #[inline(always)]
    fn forward<M: MulAdd, const L: usize>(
        gi: &[f32],
        gh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        hp: &[f32],
        prev: &[f32],
        saved: &mut [f32],
        now: &mut [f32],
    ) {
        let h = hp.len();
        assert!(gi.len() == 4 * h && gh.len() == 4 * h);
        assert!(b_ih.len() == 4 * h && b_hh.len() == 4 * h);
        assert!(prev.len() == 6 * h && saved.len() == 6 * h && now.len() == h);
        let pre = Pre::new(gi, b_ih, gh, b_hh, h);
        chunks!(h, L, |at, n| {
            let p = [
                pre.block::<L>(0, at, n),
                pre.block::<L>(1, at, n),
                pre.block::<L>(2, at, n),
                pre.block::<L>(3, at, n),
            ];
            let cp = get::<L>(prev, 4 * h + at, n);
            let mut out = [[0.0; L]; 7];
            for l in 0..L {
                let i = sigmoid::<M>(p[0][l]);
                let f = sigmoid::<M>(p[1][l]);
                let g = tanh::<M>(p[2][l]);
                let o = sigmoid::<M>(p[3][l]);
                let c = f * cp[l] + i * g;
                let tc = tanh::<M>(c);
                out[0][l] = i;
                out[1][l] = f;
                out[2][l] = g;
                out[3][l] = o;
                out[4][l] = c;
                out[5][l] = tc;
                out[6][l] = o * tc;
            }
            for (k, v) in out[..6].iter().enumerate() {
                put(saved, k * h + at, n, v);
            }
            put(now, at, n, &out[6]);
        });
    }

    #[inline(always)]
    fn backward(
        saved: &[f32],
        prev: &[f32],
        hp: &[f32],
        _h: &[f32],
        dout: &[f32],
        carry: &mut [f32],
        carry_c: &mut [f32],
        dgi: &mut [f32],
        _dgh: &mut [f32],
    ) {
        let h = hp.len();
        assert!(saved.len() == 6 * h && prev.len() == 6 * h && dout.len() == h);
        assert!(carry.len() == h && carry_c.len() == h && dgi.len() == 4 * h);
        for j in 0..h {
            let (i, f, g, o) = (saved[j], saved[h + j], saved[2 * h + j], saved[3 * h + j]);
            let tc = saved[5 * h + j];
            let dh = dout[j] + carry[j];
            // h' = o ⊙ tanh(c'), c' = f ⊙ c + i ⊙ g
            let dc = carry_c[j] + dh * o * (1.0 - tc * tc);
            dgi[j] = dc * g * i * (1.0 - i);
            dgi[h + j] = dc * prev[4 * h + j] * f * (1.0 - f);
            dgi[2 * h + j] = dc * i * (1.0 - g * g);
            dgi[3 * h + j] = dh * tc * o * (1.0 - o);
            carry_c[j] = dc * f;
        }
    }
}

impl Kernel for Rnn {
    const GATES: usize = 1;
    const SAVED: usize = 0;
    const SEPARATE_DGH: bool = false;
    const DGH_LIKE_DGI: usize = 1;
    const DIRECT_CARRY: bool = false;
    const AVX2_CHUNK: usize = 16;

    #[inline(always)]
    fn forward<M: MulAdd, const L: usize>(
        gi: &[f32],
        gh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        hp: &[f32],
        _prev: &[f32],
        _saved: &mut [f32],
        now: &mut [f32],
    ) {
        let h = hp.len();
        assert!(gi.len() == h && gh.len() == h && b_ih.len() == h && b_hh.len() == h);
        assert!(now.len() == h);
        let pre = Pre::new(gi, b_ih, gh, b_hh, h);
        chunks!(h, L, |at, n| {
            let p = pre.block::<L>(0, at, n);
            let mut state = [0.0; L];
            for l in 0..L {
                state[l] = tanh::<M>(p[l]);
            }
            put(now, at, n, &state);
        });
    }

    #[inline(always)]
    fn backward(
        _saved: &[f32],
        _prev: &[f32],
        _hp: &[f32],
        h: &[f32],
        dout: &[f32],
        carry: &mut [f32],
        _carry_c: &mut [f32],
        dgi: &mut [f32],
        _dgh: &mut [f32],
    ) {
        let n = h.len();
        assert!(dout.len() == n && carry.len() == n && dgi.len() == n);
        for j in 0..n {
            // h' = tanh(pre)
            dgi[j] = (dout[j] + carry[j]) * (1.0 - h[j] * h[j]);
        }
    }
}

widest_build! {
    /// [`Kernel::forward`] in the widest build this CPU runs.
    pub(super) fn forward<K: Kernel>(
        gi: &[f32],
        gh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        hp: &[f32],
        prev: &[f32],
        saved: &mut [f32],
        now: &mut [f32],
    ) => K::forward::<Fused, 16>, AVX2 forward_avx2::<K>, without FMA K::forward::<Unfused, 16>
}

/// [`Kernel::forward`] in chunks of the cell's [`Kernel::AVX2_CHUNK`] units.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_avx2<K: Kernel>(
    gi: &[f32],
    gh: &[f32],
    b_ih: &[f32],
    b_hh: &[f32],
    hp: &[f32],
    prev: &[f32],
    saved: &mut [f32],
    now: &mut [f32],
) {
    if K::AVX2_CHUNK == 8 {
        K::forward::<Fused, 8>(gi, gh, b_ih, b_hh, hp, prev, saved, now);
    } else {
        K::forward::<Fused, 16>(gi, gh, b_ih, b_hh, hp, prev, saved, now);
    }
}

widest_build! {
    /// [`Kernel::backward`] in the widest build this CPU runs.
    pub(super) fn backward<K: Kernel>(
        saved: &[f32],
        prev: &[f32],
        hp: &[f32],
        h: &[f32],
        dout: &[f32],
        carry: &mut [f32],
        carry_c: &mut [f32],
        dgi: &mut [f32],
        dgh: &mut [f32],
    ) => K::backward
}

/// How `exp` multiplies and adds in its polynomial: in one rounding where the CPU has FMA
/// (fewer instructions: the LSTM's forward gate step at 100 units ran 17 % faster than
/// with two, in isolation), in two where it has not, since `f32::mul_add` would then call
/// libm's software `fmaf`. [`Unfused`] rounds exactly as gruf's `exp` did before it used
/// FMA, so on such a CPU the gate values are unchanged.
pub(super) trait MulAdd {
    /// `a · b + c`.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

/// One rounding: the AVX2 + FMA and AVX-512 builds.
pub(super) struct Fused;
/// Two roundings: the build for CPUs without FMA.
pub(super) struct Unfused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// `1 / (1 + e^−x)`, branch-free so loops calling it vectorise.
#[inline(always)]
pub(super) fn sigmoid<M: MulAdd>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<M>(-x))
}

/// `tanh`, branch-free: an odd Taylor polynomial below |x| = 0.25 (where `(1 − e)/(1 + e)`
/// would cancel), `sign(x) · (1 − e)/(1 + e)` with `e = exp(−2|x|)` above.
#[inline(always)]
pub(super) fn tanh<M: MulAdd>(x: f32) -> f32 {
    let a = x.abs();
    let e = exp::<M>(-2.0 * a);
    let big = (1.0 - e) / (1.0 + e);
    let x2 = x * x;
    // x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835; the next term is < 6e-9 at |x| = 0.25.
    let small = x
        * (1.0
            + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
    if a < 0.25 {
        small
    } else {
        big.copysign(x)
    }
}

/// `e^x` in f32 without branches (Cephes' `expf` polynomial; ≤ 2 ulp on the clamped range),
/// so that loops calling it vectorise, unlike the libm call.
#[inline(always)]
pub(super) fn exp<M: MulAdd>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Below −87.3 the result is subnormal or 0 and above 88.7 it overflows; the gates
    // saturate long before either.
    let x = x.clamp(-87.0, 88.0);
    // k = round(x / ln 2) by the 1.5 · 2²³ trick (vectorises without SSE4.1's round).
    const MAGIC: f32 = 12_582_912.0;
    let k = (x * LOG2E + MAGIC) - MAGIC;
    let r = M::mul_add(-k, LN2_LO, M::mul_add(-k, LN2_HI, x));
    let mut p = 1.987_569_1e-4;
    p = M::mul_add(p, r, 1.398_199_9e-3);
    p = M::mul_add(p, r, 8.333_452e-3);
    p = M::mul_add(p, r, 4.166_579_6e-2);
    p = M::mul_add(p, r, 1.666_666_5e-1);
    p = M::mul_add(p, r, 0.5); // Cephes' 5.0000001201e-1 rounds to 0.5 in f32
    let er = M::mul_add(p * r, r, r) + 1.0;
    // Multiply by 2^k through the exponent bits: the low mantissa bits of 2²³ + (k + 127)
    // are k + 127 (in 1..=254 here), shifted into the exponent field. (`k as i32` would
    // cost a saturating, per-lane scalar conversion.)
    er * f32::from_bits((k + (127.0 + 8_388_608.0)).to_bits() << 23)
}
