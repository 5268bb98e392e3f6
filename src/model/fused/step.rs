//! The per-step products of the recurrence, `dst (+)= a · w`, where `a` is a thread's
//! batch rows at one step (`[rows, k]`, rows strided) and `w` the recurrent weights,
//! stored `[k, n]` contiguously with `n` a multiple of 16: forward's `gh = h_{t−1} ·
//! W_hhᵀ` and backward's `carry (+)= dgh_t · W_hh`.
//!
//! Why not gemm: at these sizes (32 rows, `k` 50 to 400, `n` 64 to 400) and 60 to 168
//! calls per layer and batch, gemm sets up and packs at every call and leaves ragged edges
//! of its 64 × 6 tiles; here `w` is read in place, in tiles of `R` rows × `C` columns
//! whose sums stay in registers over the whole of `k` (8 × 32 for AVX-512, 6 × 16 for
//! AVX2 + FMA and 12 × 8 for its last register of columns, written with the CPU's
//! intrinsics and chosen at run time). Without FMA,
//! gemm does the product. Measured (Xeon, AVX-512, `benches/epoch.sh --runs 3`): GRU and
//! RNN epochs 6–7 % shorter than with gemm, the LSTM's the same; the tiles run at roughly
//! 45 % of the cores' peak (an estimate from their share of a profiled LSTM epoch and its
//! arithmetic), and they are where the gate arithmetic can later be fused in.
//!
//! Bits: as in gemm's microkernels, each output is one chain of fused multiply-adds over
//! `k` in order, from zero, and an accumulating product adds the chain's sum to the old
//! value in one rounding. The results are gemm's bit for bit when gemm does not split `k`
//! into blocks, as it does not at the seed model's sizes (checked by a test), nor take
//! its matrix-vector path for a single row (a last batch of one window), which sums in
//! another order. The AVX2 and AVX-512 tiles give the same bits.

use super::{matmul, View, ViewMut};

/// One product: `dst [rows, n] (+)= a [rows, k] · w [k, n]`.
struct Problem<'a> {
    dst: &'a mut [f32],
    a: &'a [f32],
    /// The distance between `a`'s rows.
    a_rs: usize,
    w: &'a [f32],
    rows: usize,
    k: usize,
    n: usize,
    /// The columns the caller reads (`≤ n`); past them, `w` is zero padding.
    wanted: usize,
    accumulate: bool,
}

/// `dst = a · w`, or `dst += a · w` when `accumulate`. `a`'s rows are contiguous (column
/// stride 1), `w` is contiguous with a multiple of 16 columns, `dst` contiguous.
///
/// Only `dst`'s first `wanted` columns are the product's: the rest are `w`'s zero padding
/// (to a whole AVX-512 register), which the AVX2 tiles skip past the next multiple of 8
/// (one AVX2 register) and may leave as they were; other paths compute them (as zeros
/// added). The seed model's narrow layer wastes a fifth of its backward product on
/// padding otherwise (50 columns padded to 64; 56 on AVX2 now).
///
/// Panics if the shapes or layouts disagree: bugs in this module, never user input.
pub(super) fn product(dst: ViewMut, a: View, w: View, wanted: usize, accumulate: bool) {
    assert!(
        a.rows == dst.rows && w.cols == dst.cols && a.cols == w.rows,
        "fused layer: step product shapes"
    );
    assert!(
        a.cs == 1 && w.cs == 1 && w.rs == w.cols && w.cols.is_multiple_of(16),
        "fused layer: step product layout"
    );
    assert!(wanted <= w.cols, "fused layer: step product columns");
    assert!(
        a.span() <= a.data.len()
            && w.rows * w.cols <= w.data.len()
            && dst.rows * dst.cols <= dst.data.len(),
        "fused layer: step product out of range"
    );
    #[cfg(target_arch = "x86_64")]
    {
        let has_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if has_fma && a.rows > 0 && a.cols > 0 && w.cols > 0 {
            let mut p = Problem {
                dst: &mut dst.data[..dst.rows * dst.cols],
                a: a.data,
                a_rs: a.rs,
                w: &w.data[..w.rows * w.cols],
                rows: a.rows,
                k: a.cols,
                n: w.cols,
                wanted,
                accumulate,
            };
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA (detected just above).
                unsafe { avx512(&mut p) };
            } else {
                // SAFETY: the CPU has AVX2 and FMA (detected just above).
                unsafe { avx2(&mut p) };
            }
            return;
        }
    }
    matmul(dst, a, w, accumulate, gemm::Parallelism::None);
}

/// Calls `$tile::<R, $v>($p, $b0, $c0)` with `R` the run-time row count `$rows` as a
/// constant, one of the listed counts.
#[cfg(target_arch = "x86_64")]
macro_rules! tile_of_rows {
    ($tile:ident, $v:literal, $rows:expr, [$($r:literal)*], $p:expr, $b0:expr, $c0:expr) => {
        match $rows {
            $($r => $tile::<$r, $v>($p, $b0, $c0),)*
            rows => unreachable!("fused layer: step tile of {rows} rows"),
        }
    };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn avx512(p: &mut Problem) {
    use x86::*;
    // Columns 32 at a time, then the 16 left over (n is a multiple of 16).
    let whole = p.n / 32 * 32;
    for c0 in (0..whole).step_by(32) {
        for (b0, rows) in row_tiles(p.rows, 8) {
            tile_of_rows!(tile512, 2, rows, [8 7 6 5 4 3 2 1], p, b0, c0);
        }
    }
    if whole < p.n {
        for (b0, rows) in row_tiles(p.rows, 8) {
            tile_of_rows!(tile512, 1, rows, [8 7 6 5 4 3 2 1], p, b0, whole);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(p: &mut Problem) {
    use x86::*;
    // Columns 16 at a time up to the wanted ones, then 8 if they reach no further (the
    // padding past them is zeros: skipped, not computed).
    let width = p.wanted.div_ceil(8) * 8;
    let whole = width / 16 * 16;
    for c0 in (0..whole).step_by(16) {
        for (b0, rows) in row_tiles(p.rows, 6) {
            tile_of_rows!(tile256, 2, rows, [6 5 4 3 2 1], p, b0, c0);
        }
    }
    if whole < width {
        // One register of columns: twice the rows, to keep as many sums in flight.
        for (b0, rows) in row_tiles(p.rows, 12) {
            tile_of_rows!(tile256, 1, rows, [12 11 10 9 8 7 6 5 4 3 2 1], p, b0, whole);
        }
    }
}

/// `rows` in tiles of at most `most` rows (first row, rows): whole tiles, and a remainder
/// under half a tile shared with the last whole tile as two tiles of nearly equal size
/// (32 rows in tiles of 6: 6, 6, 6, 6, 4, 4), since a tile of one or two rows holds too
/// few sums to keep the FMA units busy (each waits on its own chain of multiply-adds):
/// the seed model's 32 rows a thread ended in two one-row tiles on AVX2. Each output is
/// its own chain whatever tile it lies in, so the tiling does not change the results.
fn row_tiles(rows: usize, most: usize) -> impl Iterator<Item = (usize, usize)> {
    let (whole, rest) = (rows / most, rows % most);
    let (whole, tail) = if rest > 0 && rest < most / 2 && whole > 0 {
        let shared = most + rest;
        (whole - 1, [shared.div_ceil(2), shared / 2])
    } else {
        (whole, [rest, 0])
    };
    let sizes = std::iter::repeat_n(most, whole).chain(tail.into_iter().filter(|&r| r > 0));
    sizes.scan(0, |b0, rows| {
        let at = *b0;
        *b0 += rows;
        Some((at, rows))
    })
}

/// The register tiles: `R` rows × `V` vectors of columns, the sums held in registers over
/// the whole of `k`.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Problem;

    /// Checks that rows `b0 .. b0 + rows` and columns `c0 .. c0 + cols` lie inside every
    /// operand: what makes the unchecked loads and stores below sound.
    #[inline(always)]
    fn check(p: &Problem, b0: usize, rows: usize, c0: usize, cols: usize) {
        assert!(
            b0 + rows <= p.rows && c0 + cols <= p.n,
            "fused layer: step tile"
        );
        assert!(
            (b0 + rows - 1) * p.a_rs + p.k <= p.a.len(),
            "fused layer: step tile rows"
        );
        assert!(p.k * p.n <= p.w.len() && (b0 + rows) * p.n <= p.dst.len());
    }

    /// Defines `fn name<R, V>(p, b0, c0)`: the tile of rows `b0 .. b0 + R` and `V` vectors
    /// of columns from `c0`, for one vector width; the two widths differ only in their
    /// intrinsics, named here, so the loop is written once.
    macro_rules! tile {
        ($name:ident, $features:literal, $lanes:literal, $zero:ident, $load:ident,
         $splat:ident, $fmadd:ident, $add:ident, $store:ident) => {
            #[inline]
            #[target_feature(enable = $features)]
            pub(super) fn $name<const R: usize, const V: usize>(
                p: &mut Problem,
                b0: usize,
                c0: usize,
            ) {
                check(p, b0, R, c0, $lanes * V);
                let (a, w, n) = (p.a.as_ptr(), p.w.as_ptr(), p.n);
                let mut acc = [[$zero(); V]; R];
                for kk in 0..p.k {
                    let mut wv = [$zero(); V];
                    for (v, wv) in wv.iter_mut().enumerate() {
                        // SAFETY: row kk < k of w, columns c0 + lanes·v .. + lanes < n
                        // (checked).
                        *wv = unsafe { $load(w.add(kk * n + c0 + $lanes * v)) };
                    }
                    for (r, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: row b0 + r < rows of a, column kk < k (checked).
                        let x = $splat(unsafe { *a.add((b0 + r) * p.a_rs + kk) });
                        for (acc, wv) in acc.iter_mut().zip(&wv) {
                            *acc = $fmadd(x, *wv, *acc);
                        }
                    }
                }
                let d = p.dst.as_mut_ptr();
                for (r, acc) in acc.iter().enumerate() {
                    for (v, acc) in acc.iter().enumerate() {
                        // SAFETY: row b0 + r, columns c0 + lanes·v .. + lanes of dst
                        // (checked).
                        unsafe {
                            let at = d.add((b0 + r) * n + c0 + $lanes * v);
                            let sum = if p.accumulate {
                                $add(*acc, $load(at))
                            } else {
                                *acc
                            };
                            $store(at, sum);
                        }
                    }
                }
            }
        };
    }

    tile!(
        tile512,
        "avx512f,avx2,fma",
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        _mm512_storeu_ps
    );
    tile!(
        tile256,
        "avx2,fma",
        8,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        _mm256_storeu_ps
    );
}

#[cfg(test)]
mod tests {
    use super::super::{matmul, View, ViewMut};
    use super::product;

    /// `w` (rows of `n`) with its columns from `wanted` on zero: padding, as the kernel
    /// stores its weights.
    fn zero_past(mut w: Vec<f32>, n: usize, wanted: usize) -> Vec<f32> {
        for row in w.chunks_exact_mut(n) {
            row[wanted..].fill(0.0);
        }
        w
    }

    /// Against gemm, bit for bit, at the sizes the seed model and wider ones use, with rows
    /// strided as the recurrence reads them, writing and accumulating.
    #[test]
    fn matches_gemm_bit_for_bit() {
        let wave =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin() * 0.9).collect() };
        // (gemm takes other paths for one row or k ≤ 2, which round differently.)
        for (rows, k, n) in [
            (32, 50, 160),
            (32, 100, 304),
            (32, 100, 400),
            (31, 150, 64),
            (32, 150, 64),
            (32, 300, 112),
            (32, 400, 112),
            (7, 400, 112),
            (9, 60, 96),
            (11, 60, 96),
            (13, 70, 96),
            (16, 60, 96),
        ] {
            let stride = k + 5;
            let a = wave(rows * stride, 0.37);
            // Every column wanted, and `w` padded with zero columns past 1, 8 or 9 fewer (the
            // AVX2 tiles then skip 0 or 8 of them).
            for wanted in [n, n - 1, n - 8, n - 9] {
                let w = zero_past(wave(k * n, 0.11), n, wanted);
                for accumulate in [false, true] {
                    let start = wave(rows * n, 0.53);
                    let (mut ours, mut theirs) = (start.clone(), start.clone());
                    product(
                        ViewMut::new(&mut ours, rows, n),
                        View::strided(&a, rows, k, stride),
                        View::new(&w, k, n),
                        wanted,
                        accumulate,
                    );
                    matmul(
                        ViewMut::new(&mut theirs, rows, n),
                        View::strided(&a, rows, k, stride),
                        View::new(&w, k, n),
                        accumulate,
                        gemm::Parallelism::None,
                    );
                    // The wanted columns are gemm's bits; the padding columns are either
                    // computed (gemm's) or left as they were.
                    let wrong = (0..rows * n).find(|&i| {
                        let (x, y) = (ours[i].to_bits(), theirs[i].to_bits());
                        x != y && (i % n < wanted || x != start[i].to_bits())
                    });
                    assert!(
                        wrong.is_none(),
                        "{rows}×{k}×{n}, {wanted} wanted, accumulate {accumulate}: at {wrong:?}, \
                         ours {} gemm {}",
                        ours[wrong.unwrap_or(0)],
                        theirs[wrong.unwrap_or(0)]
                    );
                }
            }
        }
    }

    /// The AVX2 tiles too, which `product` never picks on an AVX-512 machine.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_tiles_match_the_avx512_ones() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let wave =
            |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin() * 0.9).collect() };
        for (rows, k, n) in [
            (32, 100, 400_usize),
            (31, 150, 64),
            (7, 300, 112),
            (1, 3, 16),
            (13, 40, 48),
            (9, 50, 32),
        ] {
            let stride = k + 3;
            let a = wave(rows * stride, 0.29);
            // All columns wanted, or `w` zero past fewer (the AVX2 tiles end in 8 columns
            // or skip 8 of padding).
            for wanted in [n, n.saturating_sub(3).max(1), n.saturating_sub(8).max(1)] {
                let w = zero_past(wave(k * n, 0.13), n, wanted);
                for accumulate in [false, true] {
                    let start = wave(rows * n, 0.41);
                    let run = |avx512: bool| {
                        let mut dst = start.clone();
                        let mut p = super::Problem {
                            dst: &mut dst,
                            a: &a,
                            a_rs: stride,
                            w: &w,
                            rows,
                            k,
                            n,
                            wanted,
                            accumulate,
                        };
                        if avx512 {
                            product(
                                ViewMut::new(p.dst, rows, n),
                                View::strided(&a, rows, k, stride),
                                View::new(&w, k, n),
                                wanted,
                                accumulate,
                            );
                        } else {
                            // SAFETY: the CPU has AVX2 and FMA (checked above).
                            unsafe { super::avx2(&mut p) };
                        }
                        dst
                    };
                    let (wide, narrow) = (run(true), run(false));
                    let bits = |v: &[f32]| {
                        (v.chunks_exact(n).flat_map(|row| &row[..wanted]))
                            .map(|f| f.to_bits())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        bits(&wide),
                        bits(&narrow),
                        "{rows}×{k}×{n}, {wanted} wanted, accumulate {accumulate}"
                    );
                }
            }
        }
    }

    /// The tiles cover every row once, in order, none larger than asked, and a remainder
    /// of a row or two shares the last whole tile's rows.
    #[test]
    fn row_tiles_cover_the_rows() {
        for most in [6, 8, 12] {
            for rows in 0..100 {
                let tiles: Vec<(usize, usize)> = super::row_tiles(rows, most).collect();
                let mut next = 0;
                for &(b0, size) in &tiles {
                    assert!(
                        b0 == next && (1..=most).contains(&size),
                        "{rows}/{most}: {tiles:?}"
                    );
                    next += size;
                }
                assert_eq!(next, rows, "{rows}/{most}: {tiles:?}");
                if rows >= most {
                    let smallest = tiles.iter().map(|t| t.1).min().unwrap();
                    assert!(smallest >= most / 2, "{rows}/{most}: {tiles:?}");
                }
            }
        }
        let tiles: Vec<usize> = super::row_tiles(32, 6).map(|t| t.1).collect();
        assert_eq!(tiles, [6, 6, 6, 6, 4, 4]);
    }

    /// Small and lopsided shapes against sums in f64.
    #[test]
    fn small_shapes_are_right() {
        for (rows, k, n) in [(1, 1, 16), (1, 3, 16), (2, 2, 48), (9, 5, 32), (13, 17, 80)] {
            let a: Vec<f32> = (0..rows * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
            for accumulate in [false, true] {
                let mut dst = vec![1.5f32; rows * n];
                product(
                    ViewMut::new(&mut dst, rows, n),
                    View::new(&a, rows, k),
                    View::new(&w, k, n),
                    n,
                    accumulate,
                );
                for b in 0..rows {
                    for c in 0..n {
                        let sum: f64 = (0..k)
                            .map(|j| f64::from(a[b * k + j]) * f64::from(w[j * n + c]))
                            .sum();
                        let want = sum + if accumulate { 1.5 } else { 0.0 };
                        assert_eq!(f64::from(dst[b * n + c]), want, "{rows}×{k}×{n} at {b},{c}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod timing {
    use super::super::{View, ViewMut};
    use super::product;

    /// `len` floats of `buf` starting `offset` floats past a 64-byte boundary.
    fn at_offset(buf: &mut Vec<f32>, len: usize, offset: usize) -> std::ops::Range<usize> {
        buf.resize(len + 32, 0.5);
        let past = (buf.as_ptr() as usize / 4) % 16;
        let start = (16 - past) % 16 + offset;
        start..start + len
    }

    /// Prints GFLOP/s of the per-step product at the seed model's and the hourly preset's
    /// shapes (a thread's 32 rows, strided as the recurrence reads them): with `w` and
    /// `dst` on a cache line and 16 bytes past one (where a `Vec<f32>` may start), and,
    /// unaligned, after 2 MiB of other data were written between two calls (as a step's
    /// gate loop and the other thread's work would push `w` out of L1 and L2). The best
    /// of 25 runs each, alternating. On Zen 3 (AVX2), in cache, aligned weights ran the
    /// backward shapes 12–15 % faster, but in training the aligned build ran at 0.94–1.13
    /// times the unaligned one's speed, so the kernel keeps plain `Vec`s; the 2 MiB cost
    /// 5–23 % over three runs (docs/performance.md). A fourth case computes the padding
    /// columns too, as every tile did before the AVX2 ones stopped at the next multiple of
    /// 8 past the wanted columns; all rates count the wanted columns' FLOPs only (on Zen 3
    /// the backward shapes ran 7–18 % faster skipping). Run it with
    ///
    ///     cargo test --release --lib -- --ignored step_product_timings --nocapture
    #[test]
    #[ignore = "prints timings; run by hand"]
    fn step_product_timings() {
        use super::super::test_util::wave;
        /// 2 MiB of floats, written between two calls in the third case.
        const AWAY: usize = 512 << 10;
        // (floats past a cache line, whether 2 MiB are written between calls, whether the
        // padding columns are computed too, as before the AVX2 tiles skipped them)
        const CASES: [(usize, bool, bool); 4] = [
            (0, false, false),
            (4, false, false),
            (4, true, false),
            (4, false, true),
        ];
        println!(
            "rows × k × wanted (padded): GFLOP/s of the wanted columns on a line / 16 bytes \
             past one / after 2 MiB elsewhere / 16 bytes past one, padding computed"
        );
        let mut elsewhere = vec![1.0f32; 8 * AWAY];
        // (rows, k, wanted, a's row stride): forward `h · W_hhᵀ` and backward `dgh · W_hh`
        // of 100 and 50 wide GRU and LSTM layers, T = 168 or 60.
        for (rows, k, wanted, a_rs) in [
            (32, 100, 300, 168 * 100),
            (32, 300, 100, 168 * 300),
            (32, 50, 150, 168 * 50),
            (32, 150, 50, 168 * 150),
            (32, 100, 400, 60 * 100),
            (32, 400, 100, 60 * 400),
        ] {
            let n = super::super::padded(wanted);
            let a = wave(rows * a_rs + k, 0.37);
            let reps = 20_000_000 / (rows * k * n / 16);
            let mut best = [f64::MAX; CASES.len()];
            let mut bufs = CASES.map(|_| (Vec::new(), Vec::new()));
            for _ in 0..25 {
                for ((&(offset, away, all), best), (wb, db)) in
                    CASES.iter().zip(&mut best).zip(&mut bufs)
                {
                    let (wr, dr) = (
                        at_offset(wb, k * n, offset),
                        at_offset(db, rows * n, offset),
                    );
                    let mut spent = 0.0;
                    for rep in 0..reps {
                        if away {
                            let block = elsewhere.chunks_exact_mut(AWAY).nth(rep % 8);
                            block.into_iter().flatten().for_each(|v| *v += 1.0);
                        }
                        let t = std::time::Instant::now();
                        product(
                            ViewMut::new(&mut db[dr.clone()], rows, n),
                            View::strided(&a, rows, k, a_rs),
                            View::new(&wb[wr.clone()], k, n),
                            if all { n } else { wanted },
                            false,
                        );
                        spent += t.elapsed().as_secs_f64();
                    }
                    *best = best.min(spent / reps as f64);
                }
            }
            let rate = |s: f64| 2.0 * (rows * k * wanted) as f64 / s / 1e9;
            let [on, off, away, all] = best.map(rate);
            println!("{rows} × {k} × {wanted} ({n}): {on:.1} / {off:.1} / {away:.1} / {all:.1}");
        }
    }
}
