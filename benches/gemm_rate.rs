//! This machine's f32 matrix-product rates with the `gemm` crate, the library the fused
//! GRU kernel (`src/model/fused/`) calls: a large product on all threads and on one,
//! and the seed model's products on one thread (as each of the kernel's threads runs them,
//! on its block of 32 of the batch's 64 rows), each with the operands as the kernel lays
//! them out and with the product's columns padded to a multiple of 16 (one AVX-512
//! register of f32: gemm then need not repack the weights at every call). Variants run
//! interleaved in one run; each figure is the median over REPS samples.
//!
//!     cargo bench --bench gemm_rate [-- REPS] [large]
//!
//! With `large`, only the large product on all threads, as one line (`benches/epoch.sh`
//! reads it). Rates count only the useful FLOPs (2·m·n·k of the unpadded product).

use std::hint::black_box;
use std::time::Instant;

use gemm::Parallelism;

/// A row-major `[rows, cols]` matrix whose rows lie `stride` apart (`stride ≥ cols`), or
/// the transpose of one (`t`: element (i, j) at `j * stride + i`).
#[derive(Clone, Copy)]
struct Layout {
    rows: usize,
    cols: usize,
    stride: usize,
    t: bool,
}

impl Layout {
    fn row_major(rows: usize, cols: usize, stride: usize) -> Layout {
        Layout {
            rows,
            cols,
            stride,
            t: false,
        }
    }

    /// The transpose of a row-major `[cols, rows]` matrix (a weight used as `Wᵀ`).
    fn transposed(rows: usize, cols: usize) -> Layout {
        Layout {
            rows,
            cols,
            stride: rows,
            t: true,
        }
    }

    /// (row stride, column stride).
    fn strides(&self) -> (isize, isize) {
        if self.t {
            (1, self.stride as isize)
        } else {
            (self.stride as isize, 1)
        }
    }

    fn len(&self) -> usize {
        if self.t {
            self.cols * self.stride
        } else {
            self.rows * self.stride
        }
    }
}

/// One product `dst [m, n] (+)= a [m, k] · b [k, n]`, with its buffers.
struct Case {
    name: &'static str,
    shape: String,
    flops: f64,
    a: Layout,
    b: Layout,
    /// Row stride of `dst` (`n`).
    dst_stride: usize,
    accumulate: bool,
    parallelism: Parallelism,
    bufs: (Vec<f32>, Vec<f32>, Vec<f32>),
}

impl Case {
    /// `dst [m, n] (+)= a [m, k] · b [k, n]` where the first `useful` of the `n` columns
    /// are the product wanted (the rest is padding, computed but not counted).
    fn new(
        name: &'static str,
        a: Layout,
        b: Layout,
        useful: usize,
        accumulate: bool,
        parallelism: Parallelism,
    ) -> Case {
        assert!(a.cols == b.rows && useful <= b.cols);
        let fill = |n: usize, s: f32| (0..n).map(|i| ((i % 97) as f32 - 48.0) * s).collect();
        let (m, k, n) = (a.rows, a.cols, b.cols);
        Case {
            name,
            shape: format!("[{m},{k}]x[{k},{useful}]"),
            flops: 2.0 * (m * useful * k) as f64,
            a,
            b,
            dst_stride: n,
            accumulate,
            parallelism,
            bufs: (fill(a.len(), 1e-3), fill(b.len(), 1e-3), vec![0.0; m * n]),
        }
    }

    /// Runs the product once.
    fn run(&mut self) {
        let (a, b) = (&self.bufs.0, &self.bufs.1);
        let dst = &mut self.bufs.2;
        let (m, k, n) = (self.a.rows, self.a.cols, self.b.cols);
        let ((ars, acs), (brs, bcs)) = (self.a.strides(), self.b.strides());
        assert!(a.len() >= self.a.len() && b.len() >= self.b.len());
        assert!(dst.len() >= m * self.dst_stride && self.dst_stride >= n);
        // SAFETY: the largest offset each operand's strides address, (rows − 1)·rs +
        // (cols − 1)·cs, lies inside its buffer (checked above through `Layout::len`), and
        // `dst` is a unique borrow distinct from `a` and `b`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                self.dst_stride as isize,
                self.accumulate,
                a.as_ptr(),
                acs,
                ars,
                b.as_ptr(),
                bcs,
                brs,
                1.0,
                1.0,
                false,
                false,
                false,
                self.parallelism,
            );
        }
        black_box(&self.bufs.2);
    }
}

/// `n` rounded up to a multiple of 16.
fn pad(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// The seed model's per-thread products (32 rows, 60 steps), as laid out in the kernel
/// (`as is`) and with the product's columns padded to a multiple of 16.
fn seed_cases() -> Vec<(Case, Case)> {
    let (nb, t) = (32, 60);
    let one = Parallelism::None;
    let mut cases = Vec::new();
    for h in [100, 50] {
        let g = 3 * h;
        // gh = h_{t−1} · W_hhᵀ, W_hhᵀ stored contiguously [H, 3H].
        let a = Layout::row_major(nb, h, h);
        cases.push((
            Case::new(
                "recurrent h·W_hhᵀ",
                a,
                Layout::row_major(h, g, g),
                g,
                false,
                one,
            ),
            Case::new(
                "recurrent h·W_hhᵀ",
                a,
                Layout::row_major(h, pad(g), pad(g)),
                g,
                false,
                one,
            ),
        ));
    }
    let (i, h) = (50, 100);
    let g = 3 * h;
    let x = Layout::row_major(nb * t, i, i);
    // gi = x · W_ihᵀ, a transposed view of W_ih [3H, in] (padded: W_ihᵀ stored [in, 3H]).
    cases.push((
        Case::new("input x·W_ihᵀ", x, Layout::transposed(i, g), g, false, one),
        Case::new(
            "input x·W_ihᵀ",
            x,
            Layout::row_major(i, pad(g), pad(g)),
            g,
            false,
            one,
        ),
    ));
    // dW_hh = dghᵀ · h_prev, dgh [nb·T, 3H], h_prev [nb·T, H] (padded: h_prev [nb·T, 112]).
    let dgh_t = Layout::transposed(g, nb * t);
    cases.push((
        Case::new(
            "weight grad dghᵀ·h",
            dgh_t,
            Layout::row_major(nb * t, h, h),
            h,
            false,
            one,
        ),
        Case::new(
            "weight grad dghᵀ·h",
            dgh_t,
            Layout::row_major(nb * t, pad(h), pad(h)),
            h,
            false,
            one,
        ),
    ));
    // carry += dgh_t · W_hh, W_hh [3H, H] (padded: [3H, 112]).
    let dgh = Layout::row_major(nb, g, g);
    cases.push((
        Case::new(
            "carry dgh·W_hh",
            dgh,
            Layout::row_major(g, h, h),
            h,
            true,
            one,
        ),
        Case::new(
            "carry dgh·W_hh",
            dgh,
            Layout::row_major(g, pad(h), pad(h)),
            h,
            true,
            one,
        ),
    ));
    cases
}

/// The large product `[n, n] × [n, n]`.
fn large(n: usize, parallelism: Parallelism) -> Case {
    let l = Layout::row_major(n, n, n);
    Case::new("large", l, l, n, false, parallelism)
}

/// Median GFLOP/s of each case, sampled round-robin `reps` times after a warm-up; each
/// sample repeats the product until it has run ≥ 2 ms.
fn measure(cases: &mut [&mut Case], reps: usize) -> Vec<f64> {
    let mut inner = Vec::new();
    for c in cases.iter_mut() {
        c.run();
        let t = Instant::now();
        c.run();
        let once = t.elapsed().as_secs_f64().max(1e-7);
        inner.push(((2e-3 / once).ceil() as usize).max(1));
    }
    let mut rates = vec![Vec::with_capacity(reps); cases.len()];
    for _ in 0..reps {
        for ((c, &n), r) in cases.iter_mut().zip(&inner).zip(&mut rates) {
            let t = Instant::now();
            for _ in 0..n {
                c.run();
            }
            r.push(c.flops * n as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    rates
        .into_iter()
        .map(|mut r| {
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        })
        .collect()
}

fn main() {
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(31);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = 1024;
    if std::env::args().any(|a| a == "large") {
        let rate = measure(&mut [&mut large(n, Parallelism::Rayon(threads))], reps)[0];
        println!(
            "large-product rate {rate:.1} GFLOP/s ({n}x{n}x{n} f32, {threads} threads, median of {reps})"
        );
        return;
    }
    #[cfg(target_arch = "x86_64")]
    let cpu = format!(
        "CPU avx2 {}, fma {}, avx512f {}",
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma"),
        std::arch::is_x86_feature_detected!("avx512f")
    );
    #[cfg(not(target_arch = "x86_64"))]
    let cpu = String::from("CPU not x86_64");
    println!(
        "gemm f32 rates, GFLOP/s, median of {reps}; {cpu}; gemm's x86-v4 (AVX-512) kernels built in: {}",
        cfg!(feature = "gemm-avx512")
    );
    let mut big = [
        large(n, Parallelism::Rayon(threads)),
        large(n, Parallelism::None),
    ];
    let [b0, b1] = &mut big;
    let rates = measure(&mut [b0, b1], reps.div_ceil(4).max(3));
    println!("{:<22} {:<20} {:>8}", "product", "shape", "GFLOP/s");
    println!(
        "{:<22} {:<20} {:>8.1}",
        format!("large, {threads} threads"),
        big[0].shape,
        rates[0]
    );
    println!(
        "{:<22} {:<20} {:>8.1}",
        "large, 1 thread", big[1].shape, rates[1]
    );
    let mut seed = seed_cases();
    let mut all: Vec<&mut Case> = Vec::new();
    for (a, b) in &mut seed {
        all.push(a);
        all.push(b);
    }
    let rates = measure(&mut all, reps);
    println!();
    println!(
        "seed model, 1 thread    {:<20} {:>8} {:>8} {:>6}",
        "shape", "as is", "padded", "ratio"
    );
    for ((a, _), r) in seed.iter().zip(rates.chunks_exact(2)) {
        println!(
            "  {:<21} {:<20} {:>8.1} {:>8.1} {:>6.2}",
            a.name,
            a.shape,
            r[0],
            r[1],
            r[1] / r[0]
        );
    }
}
