//! A fused recurrent layer for the CPU: the whole sequence forward in one candle op, and
//! the whole backward-through-time written by hand, joined to autograd as a `CustomOp3`.
//! One engine serves the GRU, the LSTM and the plain RNN; what differs between them, the
//! gate arithmetic of one row and step, is in `cells.rs`.
//!
//! Why: a recurrent layer built from candle tensor ops runs ~15 small ops per time step and
//! as many again backwards; at our sizes the per-op overhead, not the arithmetic, sets the
//! speed. Here each step is one matrix product plus a loop of fused gate arithmetic.
//!
//! Forward, for `x [B, T, I]`, `h0 [B, H]` (the LSTM's cell state starts at zero), with
//! `G` gate blocks (GRU 3, LSTM 4, RNN 1):
//! 1. `gi = x · W_ihᵀ` for all steps at once (one `[B·T, I] × [I, G·H]` product);
//! 2. per step, `gh = h · W_hhᵀ` (one `[B, H] × [H, G·H]` product, `step.rs`), then the
//!    cell's gate arithmetic, which also saves what backward needs.
//!
//! Backward, from `dL/dout [B, T, H]`: per step from the last, the gate gradients
//! (`dgi`, and for the GRU a separate `dgh`, `[B, G·H]`) and one `dgh · W_hh` product
//! carrying the gradient to the previous state; the bias gradients are summed row by row
//! as the gate gradients are written. The weight gradients then come from two large
//! products over all steps (`dgiᵀ · x`, `dghᵀ · h_prev`), the input gradient from
//! `dgi · W_ih`.
//!
//! Both passes split the batch across rayon's threads (the rows of a batch are
//! independent): each thread runs its block of rows through everything, its share of the
//! weight gradients included, and the shares are summed at the end. Every product runs
//! single-threaded inside a thread: the per-step ones in `step.rs`'s register tiles (gemm
//! on a CPU without FMA), the large ones in `gemm`. `timers.rs` can time the phases.
//!
//! Parameters travel packed in one tensor (`W_ih`, `W_hh`, `b_ih`, `b_hh`, flattened and
//! concatenated) because a candle custom op takes at most three inputs; candle's `cat`
//! backward splits the gradient again.
//!
//! Two ops use this engine: [`sequence`], one layer from any initial state (every step's
//! states or the last), and [`stack`] (`stack.rs`), a model's whole stack of layers from
//! zero states, which is what [`crate::model::Model`] runs: the states between layers never
//! become candle tensors. Either applies dropout to a layer's input itself ([`Dropped`],
//! the mask from [`MaskDraws`]).
//!
//! `unsafe` code is denied in the whole crate (`lib.rs`) and allowed in two places only:
//! this module, for the bounds-checked [`matmul`] wrapper around `gemm` and the calls to
//! the AVX2 and AVX-512 builds of [`add_row`] and, in `cells.rs`, of the gate loops,
//! made only after run-time detection of those CPU features, and in `step.rs` for the
//! per-step products' register tiles (intrinsics, loads and stores inside bounds checked
//! per tile); and the SSE2 loads of the CSV fast path (`series::csv::fast`).

#![allow(unsafe_code)]

/// Defines `fn name(args) => body`: a function that calls `body(args)` (an
/// `#[inline(always)]` function of plain loops) compiled for AVX-512F + FMA or AVX2 + FMA
/// when the CPU has them (detected at run time; `is_x86_feature_detected!` caches its
/// answer), else for the baseline target. The loops vectorise at the build's width; what
/// they compute does not depend on it as long as they do no reductions across lanes.
///
/// `=> body, without FMA plain` calls `plain` in the baseline build instead: where `body`
/// uses `f32::mul_add`, which without FMA is a call to libm's software `fmaf`, far slower.
/// `=> body, AVX2 narrow, without FMA plain` also calls `narrow` in the AVX2 build: where
/// the body's own chunk width should follow the build's (the gate loops').
macro_rules! widest_build {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) => $body:path
    ) => {
        widest_build! {
            $(#[$doc])*
            $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) => $body, without FMA $body
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) => $body:path,
        without FMA $plain:path
    ) => {
        widest_build! {
            $(#[$doc])*
            $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) => $body, AVX2 $body, without FMA $plain
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?) => $body:path,
        AVX2 $avx2:path, without FMA $plain:path
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name $(<$g: $bound>)? ($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) {
                    $avx2($($arg),*)
                }
                let has_avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
                if has_avx2 && is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F, AVX2 and FMA (detected just above).
                    return unsafe { avx512 $(::<$g>)? ($($arg),*) };
                }
                if has_avx2 {
                    // SAFETY: the CPU has AVX2 and FMA (detected just above).
                    return unsafe { avx2 $(::<$g>)? ($($arg),*) };
                }
            }
            $plain($($arg),*)
        }
    };
}

mod cells;
mod stack;
mod step;
pub mod timers;

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::{Backprop, Cell};
use crate::rng::MaskDraws;
use cells::Kernel;
pub use stack::stack;

/// Sizes of one layer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims {
    batch: usize,
    seq: usize,
    input: usize,
    hidden: usize,
    /// Gate blocks `G` of the cell.
    gates: usize,
}

impl Dims {
    /// Rows of the stacked gate blocks, `G·H`.
    fn rows(&self) -> usize {
        self.gates * self.hidden
    }

    fn params(&self) -> usize {
        self.rows() * (self.input + self.hidden + 2)
    }
}

/// The parameters of one layer, borrowed from the packed buffer.
struct Params<'a> {
    w_ih: &'a [f32],
    w_hh: &'a [f32],
    b_ih: &'a [f32],
    b_hh: &'a [f32],
}

impl<'a> Params<'a> {
    fn split(packed: &'a [f32], d: Dims) -> Params<'a> {
        let g = d.rows();
        let (w_ih, rest) = packed.split_at(g * d.input);
        let (w_hh, rest) = rest.split_at(g * d.hidden);
        let (b_ih, b_hh) = rest.split_at(g);
        Params {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
        }
    }
}

/// Packs `weight_ih [G·H, in]`, `weight_hh [G·H, H]`, `bias_ih [G·H]`, `bias_hh [G·H]` into
/// the op's parameter tensor (differentiably: gradients flow back to each).
pub fn pack(w_ih: &Tensor, w_hh: &Tensor, b_ih: &Tensor, b_hh: &Tensor) -> Result<Tensor> {
    Tensor::cat(
        &[
            w_ih.flatten_all()?,
            w_hh.flatten_all()?,
            b_ih.clone(),
            b_hh.clone(),
        ],
        0,
    )
}

/// Runs the fused layer of `cell`: `xs [B, T, in]`, `params` from [`pack`], `h0 [B, H]`
/// → every step's state `[B, T, H]` when `all_steps`, else the last step's `[B, H]`
/// (returning only what is used keeps candle from building and adding `[B, T, H]`
/// zero gradients in backward). CPU and f32 only.
///
/// With `dropout`, the layer reads `xs ⊙ mask` (inverted dropout on its input, the mask
/// drawn for `xs`'s elements in order) and its input gradient is masked alike: the same
/// bits as multiplying by [`crate::rng::dropout_mask`]'s mask first, without the separate
/// tensor op, its gradient and candle's zero-filled sum of it on the main thread (an
/// epoch of the seed LSTM took ≈ 12 % longer with dropout than without, before).
///
/// `backprop` says which steps backward reaches: the steps before them get no gradient
/// (whatever arrives at their outputs), and nor does `h0` when there are any.
#[allow(clippy::too_many_arguments)]
pub fn sequence(
    cell: Cell,
    xs: &Tensor,
    params: &Tensor,
    h0: &Tensor,
    all_steps: bool,
    dropout: Option<MaskDraws>,
    backprop: Backprop,
) -> Result<Tensor> {
    keep_freed_memory();
    let hidden = h0.dim(1)?;
    // Without a variable among the inputs (prediction, validation, calibration) candle
    // records no backward, so nothing is saved for one.
    let saves = if xs.track_op() || params.track_op() || h0.track_op() {
        Saves::Every
    } else {
        Saves::Latest
    };
    if let Some(d) = &dropout {
        if d.len() != xs.elem_count() {
            candle_core::bail!(
                "fused layer: a dropout mask of {} for an input of {}",
                d.len(),
                xs.elem_count()
            );
        }
    }
    let op = Fused {
        cell,
        hidden,
        all_steps,
        saves,
        dropout,
        backprop,
        saved: Mutex::new(None),
    };
    xs.contiguous()?
        .apply_op3(&params.contiguous()?, &h0.contiguous()?, op)
}

/// What the forward pass of one layer computed for one window, for `gruf inspect`: the
/// same numbers training uses, from the same loops.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub cell: Cell,
    pub steps: usize,
    pub hidden: usize,
    /// Every step's state, `[T, H]`.
    pub states: Vec<f32>,
    /// What the cell saved per step, `[T, S·H]` with the blocks named by
    /// [`saved_names`].
    pub saved: Vec<f32>,
}

/// The blocks a cell saves per step, in order (`Trace::saved`).
pub fn saved_names(cell: Cell) -> &'static [&'static str] {
    match cell {
        Cell::Gru => &["r", "z", "n", "hn"],
        Cell::Lstm => &["i", "f", "g", "o", "c", "tanh c"],
        Cell::Rnn => &[],
    }
}

/// Runs the layer forward over one window `x [T, in]` (a zero initial state) and returns
/// its states and saved gates. `params` as [`pack`] makes them.
pub fn trace(cell: Cell, x: &[f32], input: usize, params: &[f32], hidden: usize) -> Trace {
    let d = Dims {
        batch: 1,
        seq: x.len() / input.max(1),
        input,
        hidden,
        gates: cell.gates(),
    };
    assert!(
        params.len() == d.params() && x.len() == d.seq * input,
        "fused: trace shapes"
    );
    let h0 = vec![0.0; hidden];
    let (states, saved) = run_forward(
        cell,
        d,
        x,
        &Params::split(params, d),
        &h0,
        Saves::Every,
        true,
    );
    Trace {
        cell,
        steps: d.seq,
        hidden,
        states,
        saved,
    }
}

/// The op, holding from forward for backward what the result tensor does not carry.
struct Fused {
    cell: Cell,
    hidden: usize,
    all_steps: bool,
    saves: Saves,
    /// Dropout on the input, applied here.
    dropout: Option<MaskDraws>,
    /// The steps backward reaches.
    backprop: Backprop,
    saved: Mutex<Option<Saved>>,
}

/// What forward keeps of the values each cell saves per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Saves {
    /// Every step's: what backward reads. Each thread's block of rows is `[T, rows, S·H]`
    /// (step-major, see [`Saves::slot`]); the blocks follow one another in row order.
    Every,
    /// The last two steps' per row, `[B, 2, S·H]` (a step reads the one before it): a
    /// forward that no backward follows. An LSTM's saved values are six times its states,
    /// so this spares most of the memory traffic of prediction.
    Latest,
}

impl Saves {
    /// Slots per row for a sequence of `t_len` steps.
    fn steps(self, t_len: usize) -> usize {
        match self {
            Saves::Every => t_len,
            Saves::Latest => 2,
        }
    }

    /// The slot of row `b`'s step `t` in a block of `rows` rows.
    ///
    /// Every step's values are stored step-major, `[T, rows]`: a step writes (forward) and
    /// reads (backward) one contiguous stretch of all its rows, which the hardware
    /// prefetchers follow, rather than `rows` short runs a whole sequence apart. One row
    /// (`gruf inspect`'s trace) is the same either way.
    fn slot(self, b: usize, t: usize, rows: usize) -> usize {
        match self {
            Saves::Every => t * rows + b,
            Saves::Latest => b * 2 + t % 2,
        }
    }
}

struct Saved {
    /// What the cell saved per step, each thread's block of rows step-major (see
    /// [`Saves::slot`]).
    gates: Vec<f32>,
    /// Every step's state `[B, T, H]`, when the result holds only the last one.
    out: Option<Vec<f32>>,
    /// The input as the layer read it, with dropout.
    dropped: Option<Dropped>,
}

/// An input after dropout, `[B, T, I]`, and its mask.
struct Dropped {
    x: Vec<f32>,
    mask: Vec<f32>,
}

impl Dropped {
    /// `x ⊙ mask`, the mask built from `draws` a block of rows per thread (`row` floats
    /// each).
    fn new(x: &[f32], draws: &MaskDraws, row: usize) -> Dropped {
        let (mut dropped, mut mask) = (scratch(x.len()), scratch(x.len()));
        let per = rows_per_thread(x.len() / row.max(1)) * row.max(1);
        dropped
            .par_chunks_mut(per)
            .zip(mask.par_chunks_mut(per))
            .zip(x.par_chunks(per))
            .enumerate()
            .for_each(|(c, ((dropped, mask), x))| {
                draws.fill(c * per, mask);
                for ((d, m), x) in dropped.iter_mut().zip(mask.iter()).zip(x) {
                    *d = x * m;
                }
            });
        Dropped { x: dropped, mask }
    }

    /// The gradient reaching the input before dropout: `dx ⊙ mask`, in place.
    fn mask_gradient(&self, dx: &mut [f32]) {
        let per = 1 << 14;
        dx.par_chunks_mut(per)
            .zip(self.mask.par_chunks(per))
            .for_each(|(dx, mask)| dx.iter_mut().zip(mask).for_each(|(g, m)| *g *= m));
    }

    fn recycle(self) {
        recycle(self.x);
        recycle(self.mask);
    }
}

/// A tensor's storage as an f32 slice, when it is on the CPU.
fn cpu_f32<'a>(s: &'a Storage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => contiguous_f32(c, l, what),
        _ => candle_core::bail!("fused layer: {what} must be on the CPU"),
    }
}

fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = s
        .as_slice::<f32>()
        .map_err(|_| candle_core::Error::Msg(format!("fused layer: {what} must be f32")))?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("fused layer: {what} must be contiguous"),
    }
}

impl Fused {
    fn dims(&self, x: &Layout, params: &Layout, h0: &Layout) -> Result<Dims> {
        let (batch, seq, input) = x.shape().dims3()?;
        let (hb, hidden) = h0.shape().dims2()?;
        let d = Dims {
            batch,
            seq,
            input,
            hidden,
            gates: self.cell.gates(),
        };
        if hb != batch || hidden != self.hidden || params.shape().elem_count() != d.params() {
            candle_core::bail!(
                "fused {}: shapes do not agree (x {:?}, params {:?}, h0 {:?})",
                self.cell.label(),
                x.shape(),
                params.shape(),
                h0.shape()
            );
        }
        Ok(d)
    }
}

impl CustomOp3 for Fused {
    fn name(&self) -> &'static str {
        match self.cell {
            Cell::Gru => "gruf-fused-gru",
            Cell::Lstm => "gruf-fused-lstm",
            Cell::Rnn => "gruf-fused-rnn",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = self.dims(l1, l2, l3)?;
        let x = contiguous_f32(s1, l1, "input")?;
        let p = Params::split(contiguous_f32(s2, l2, "parameters")?, d);
        let h0 = contiguous_f32(s3, l3, "initial state")?;
        let dropped = (self.dropout.as_ref()).map(|m| Dropped::new(x, m, d.seq * d.input));
        let x = dropped.as_ref().map_or(x, |dr| &dr.x);
        let (out, gates) = run_forward(self.cell, d, x, &p, h0, self.saves, self.all_steps);
        let (result, shape, out) = if self.all_steps {
            (out, Shape::from((d.batch, d.seq, d.hidden)), None)
        } else {
            let last = last_steps(&out, d.seq, d.hidden);
            (last, Shape::from((d.batch, d.hidden)), Some(out))
        };
        if self.saves == Saves::Latest {
            recycle(gates);
            if let Some(out) = out {
                recycle(out);
            }
            if let Some(dropped) = dropped {
                dropped.recycle();
            }
            return Ok((CpuStorage::F32(result), shape));
        }
        *self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("fused layer: poisoned lock".into()))? =
            Some(Saved {
                gates,
                out,
                dropped,
            });
        Ok((CpuStorage::F32(result), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        params: &Tensor,
        h0: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("fused layer: poisoned lock".into()))?
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg("fused layer: backward ran twice or without forward".into())
            })?;
        let (batch, seq, input) = x.dims3()?;
        let d = Dims {
            batch,
            seq,
            input,
            hidden: self.hidden,
            gates: self.cell.gates(),
        };
        // Read the tensors in place (no copies): all are f32 on the CPU, as forward required.
        let (x, params, h0) = (x.contiguous()?, params.contiguous()?, h0.contiguous()?);
        let (res, grad_res) = (res.contiguous()?, grad_res.contiguous()?);
        let (xs, xl) = x.storage_and_layout();
        let (ps, pl) = params.storage_and_layout();
        let (hs, hl) = h0.storage_and_layout();
        let (gs, gl) = grad_res.storage_and_layout();
        let xv = cpu_f32(&xs, xl, "input")?;
        let pv = cpu_f32(&ps, pl, "parameters")?;
        let h0v = cpu_f32(&hs, hl, "initial state")?;
        let grad = cpu_f32(&gs, gl, "gradient")?;
        let (rs, rl) = res.storage_and_layout();
        let out = match &saved.out {
            Some(out) => out.as_slice(),
            None => cpu_f32(&rs, rl, "result")?,
        };
        // Only the last step returned: the other steps get no gradient from outside, and no
        // zero-filled [B, T, H] buffer stands for that.
        let dout = if self.all_steps {
            Dout::Every(grad)
        } else {
            Dout::Last(grad)
        };
        let v = Inputs {
            x: saved.dropped.as_ref().map_or(xv, |dr| &dr.x),
            h0: h0v,
            out,
            gates: &saved.gates,
            dout,
        };
        let p = Params::split(pv, d);
        let wanted = Wanted::new(true, self.backprop, d.seq);
        let mut g = run_backward(self.cell, d, &p, v, wanted);
        // The big buffers go back to the pool for the next batch.
        recycle(saved.gates);
        if let Some(out) = saved.out {
            recycle(out);
        }
        if let Some(dropped) = saved.dropped {
            dropped.mask_gradient(&mut g.dx);
            dropped.recycle();
        }
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(g.dx, x.shape(), dev)?),
            Some(Tensor::from_vec(g.dparams, params.shape(), dev)?),
            Some(Tensor::from_vec(g.dh0, h0.shape(), dev)?),
        ))
    }
}

/// Asks glibc's allocator, once per process, to keep freed memory for reuse: blocks up to
/// 64 MiB come from the heap (not a fresh `mmap` each), and up to 128 MiB of freed heap
/// stays mapped instead of going back to the system at every `free`. Both ops call it
/// before their first run, so reading the data before it keeps glibc's defaults.
///
/// Why: the tensors that leave the ops for candle and candle's own gradients are allocated
/// afresh at every call and freed soon after. With glibc's defaults each such block was
/// mapped again and every page of it faulted in and zeroed by the kernel: a 4-epoch seed
/// LSTM run took 460,000 page faults, 71 % of them in the recursive forecasts that
/// calibrate its intervals; with these settings, 50,000. The kernel's own scratch buffers
/// are pooled per thread ([`scratch`]) and were not the cause. Set at start-up instead,
/// the settings raised the peak memory of loading 100,000 series from 234 to 275 MiB
/// (`benches/manyids.sh`), with nothing to gain there. Elsewhere (musl, other systems)
/// nothing changes.
fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            const MMAP_THRESHOLD: libc::c_int = 64 << 20;
            const TRIM_THRESHOLD: libc::c_int = 128 << 20;
            // SAFETY: mallopt only sets two of glibc's tuning parameters, under glibc's own
            // lock, so it may run while other threads allocate. A value glibc refuses leaves
            // its default (mallopt returns 0), which is only slower.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        }
    });
}

thread_local! {
    /// Buffers from earlier calls on this thread, reused so that the large per-call buffers
    /// are neither zeroed nor faulted in afresh each time.
    static SCRATCH: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer of `len` floats whose contents are unspecified (stale data from an earlier
/// call, or zeros): every caller overwrites all of it.
///
/// The pool's shortest buffer at least `len` long is cut to length, which writes nothing;
/// only when none is that long does a buffer grow, its new tail zeroed. Calls ask for the
/// same lengths batch after batch, so once the pool holds one buffer per length nothing
/// is zeroed or faulted in again. A buffer more than twice as large is left for the
/// request it was made for (cutting it would make that one grow it again, zeroing it).
fn scratch(len: usize) -> Vec<f32> {
    let mut v = SCRATCH
        .with(|pool| {
            let mut pool = pool.borrow_mut();
            let fits = |n: usize| n >= len && n / 2 <= len;
            let long_enough = (pool.iter().enumerate())
                .filter(|(_, v)| fits(v.len()))
                .min_by_key(|(_, v)| v.len());
            let roomy = || {
                (pool.iter().enumerate())
                    .filter(|(_, v)| fits(v.capacity()))
                    .min_by_key(|(_, v)| v.capacity())
            };
            let index = long_enough.or_else(roomy).map(|(i, _)| i);
            index.map(|i| pool.swap_remove(i))
        })
        .unwrap_or_default();
    v.resize(len, 0.0);
    v
}

/// Returns a buffer to this thread's pool (a few are kept; the rest are freed).
fn recycle(v: Vec<f32>) {
    SCRATCH.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < 16 {
            pool.push(v);
        }
    });
}

/// How many rows of the batch each thread takes.
fn rows_per_thread(batch: usize) -> usize {
    batch
        .div_ceil(rayon::current_num_threads().clamp(1, batch.max(1)))
        .max(1)
}

/// `buf` cut into `parts` consecutive pieces of `size` (the last may be shorter); all empty
/// when `size` is 0 (an RNN saves nothing).
fn pieces(buf: &mut [f32], size: usize, parts: usize) -> Vec<&mut [f32]> {
    if size == 0 {
        return (0..parts).map(|_| <&mut [f32]>::default()).collect();
    }
    buf.chunks_mut(size).collect()
}

/// Each row's last state `[B, H]` of every step's states `[B, T, H]`.
fn last_steps(out: &[f32], t_len: usize, h: usize) -> Vec<f32> {
    let row = (t_len * h).max(1);
    out.chunks_exact(row)
        .flat_map(|b| &b[row - h..])
        .copied()
        .collect()
}

/// What a backward pass computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    /// The gradient of the layer's input (not for a first layer whose input is data).
    input: bool,
    /// The first step the gradient reaches: 0 for every step, else the steps before it
    /// get none and the state before it is taken as given ([`Backprop`]).
    from: usize,
}

impl Wanted {
    fn new(input: bool, backprop: Backprop, seq: usize) -> Wanted {
        Wanted {
            input,
            from: backprop.first_step(seq),
        }
    }
}

/// [`backward`] for `cell`.
fn run_backward(cell: Cell, d: Dims, p: &Params, v: Inputs, wanted: Wanted) -> Grads {
    match cell {
        Cell::Gru => backward::<cells::Gru>(d, p, v, wanted),
        Cell::Lstm => backward::<cells::Lstm>(d, p, v, wanted),
        Cell::Rnn => backward::<cells::Rnn>(d, p, v, wanted),
    }
}

/// The forward pass of `cell`: every step's state `[B, T, H]` and the saved gates, laid
/// out as [`Saves::slot`] says.
/// `returned`: whether the states leave as the op's result (else they are scratch).
fn run_forward(
    cell: Cell,
    d: Dims,
    x: &[f32],
    p: &Params,
    h0: &[f32],
    saves: Saves,
    returned: bool,
) -> (Vec<f32>, Vec<f32>) {
    match cell {
        Cell::Gru => forward::<cells::Gru>(d, x, p, h0, saves, returned),
        Cell::Lstm => forward::<cells::Lstm>(d, x, p, h0, saves, returned),
        Cell::Rnn => forward::<cells::Rnn>(d, x, p, h0, saves, returned),
    }
}

/// Every step's state `[B, T, H]` and the cell's saved values, as `saves` keeps them.
fn forward<K: Kernel>(
    d: Dims,
    x: &[f32],
    p: &Params,
    h0: &[f32],
    saves: Saves,
    returned: bool,
) -> (Vec<f32>, Vec<f32>) {
    let (t_len, h) = (d.seq, d.hidden);
    let s = K::SAVED * h;
    let kept = saves.steps(t_len);
    assert_eq!(d.gates, K::GATES, "fused layer: gate blocks");
    // States the op returns leave for candle and never come back: made afresh, so the
    // pool keeps its buffers for the requests they fit.
    let mut out = if returned {
        vec![0.0; d.batch * t_len * h]
    } else {
        scratch(d.batch * t_len * h)
    };
    let mut gates = scratch(d.batch * kept * s);
    let per = rows_per_thread(d.batch);
    let w_hh_t = transpose_padded(p.w_hh, d.rows(), h);
    let parts = d.batch.div_ceil(per);
    out.par_chunks_mut(per * t_len * h)
        .zip(pieces(&mut gates, per * kept * s, parts))
        .enumerate()
        .for_each(|(c, (out, gates))| {
            let (b0, nb) = (c * per, out.len() / (t_len * h));
            let part = Dims { batch: nb, ..d };
            let x = &x[b0 * t_len * d.input..(b0 + nb) * t_len * d.input];
            let h0 = &h0[b0 * h..(b0 + nb) * h];
            let saved = SavedRows {
                buf: gates,
                saves,
                rows: nb,
            };
            forward_rows::<K>(part, x, p, &w_hh_t, h0, out, saved);
        });
    (out, gates)
}

/// `n` rounded up to a whole number of AVX-512 registers of f32 (16).
///
/// A product whose output rows are this wide, read from a weight matrix stored this wide,
/// lets gemm use the weights in place; at 300 or 150 columns it repacks them at every
/// call (`benches/gemm_rate.rs`: the per-step products ran 17–24 % faster padded).
fn padded(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// A row-major `[rows, cols]` matrix as row-major `[rows, padded(cols)]`, zeros in the
/// padding columns.
fn pad_columns(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let width = padded(cols);
    let mut p = vec![0.0f32; rows * width];
    for (dst, src) in p.chunks_exact_mut(width).zip(m.chunks_exact(cols)) {
        dst[..cols].copy_from_slice(src);
    }
    p
}

/// The transpose of a row-major `[rows, cols]` matrix, row-major `[cols, padded(rows)]`
/// with zeros in the padding columns.
fn transpose_padded(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let width = padded(rows);
    let mut t = vec![0.0f32; width * cols];
    for (i, row) in m.chunks_exact(cols).enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j * width + i] = *v;
        }
    }
    t
}

/// The forward recurrence for a block of batch rows.
///
/// `w_hh_t` is `W_hhᵀ` stored contiguously with its rows padded (`[H, padded(G·H)]`): in an
/// isolated benchmark of this per-step product gemm ran at ~80 GFLOP/s from it unpadded,
/// ~58 from a transposed view of `W_hh` (AVX2 kernel, an Intel Xeon).
fn forward_rows<K: Kernel>(
    d: Dims,
    x: &[f32],
    p: &Params,
    w_hh_t: &[f32],
    h0: &[f32],
    out: &mut [f32],
    mut saved: SavedRows,
) {
    let (nb, t_len, h) = (d.batch, d.seq, d.hidden);
    let (g, s) = (d.rows(), K::SAVED * h);
    // Input projections of every step at once: gi = x · W_ihᵀ  [T·nb, G·H] (biases come
    // later), step-major like the saved values (see `Saves::slot`), from x's rows in that
    // order.
    let width = d.input;
    let mut x_steps = scratch(nb * t_len * width);
    for t in 0..t_len {
        for b in 0..nb {
            let (from, to) = ((b * t_len + t) * width, Saves::Every.slot(b, t, nb) * width);
            x_steps[to..to + width].copy_from_slice(&x[from..from + width]);
        }
    }
    let mut gi = scratch(nb * t_len * g);
    matmul(
        ViewMut::new(&mut gi, nb * t_len, g),
        View::new(&x_steps, nb * t_len, d.input),
        View::new(p.w_ih, g, d.input).t(),
        false,
        Parallelism::None,
    );
    recycle(x_steps);
    // gh's rows are padded like W_hhᵀ's; the padding columns come out zero and are not read.
    let gp = padded(g);
    let mut gh = scratch(nb * gp);
    // What the cells see as the step before the first: nothing saved (the LSTM's c = 0).
    let zeros = vec![0.0f32; s];
    let mut clock = timers::Clock::start();
    for t in 0..t_len {
        // gh = h_{t−1} · W_hhᵀ  [nb, G·H]; row b of h_{t−1} is out[b, t−1] (h0 at t = 0).
        let h_prev = if t == 0 {
            View::new(h0, nb, h)
        } else {
            View::strided(&out[(t - 1) * h..], nb, h, t_len * h)
        };
        step::product(
            ViewMut::new(&mut gh, nb, gp),
            h_prev,
            View::new(w_hh_t, h, gp),
            g,
            false,
        );
        clock.lap(timers::Phase::ForwardTiles, 2 * nb * h * g);
        for b in 0..nb {
            let row = b * t_len + t;
            let (before, now) = out.split_at_mut(row * h);
            let (saved_now, prev) = saved.now_and_prev(b, t, &zeros);
            let hp = if t == 0 {
                &h0[b * h..(b + 1) * h]
            } else {
                &before[(row - 1) * h..row * h]
            };
            // gi's rows are laid out as every step's saved values are.
            let at = Saves::Every.slot(b, t, nb);
            cells::forward::<K>(
                &gi[at * g..(at + 1) * g],
                &gh[b * gp..b * gp + g],
                p.b_ih,
                p.b_hh,
                hp,
                prev,
                saved_now,
                &mut now[..h],
            );
        }
        clock.lap(timers::Phase::ForwardGates, 0);
    }
    recycle(gi);
    recycle(gh);
}

/// The saved values of a block of `rows` rows, slots of `S·H` floats kept as `saves`
/// says.
struct SavedRows<'a> {
    buf: &'a mut [f32],
    saves: Saves,
    rows: usize,
}

impl SavedRows<'_> {
    /// Row `b`'s slot for step `t` to write, and its step `t − 1`'s to read (`zeros`, of
    /// one slot's length, before the first step).
    fn now_and_prev<'s>(
        &'s mut self,
        b: usize,
        t: usize,
        zeros: &'s [f32],
    ) -> (&'s mut [f32], &'s [f32]) {
        let size = zeros.len();
        let now = self.saves.slot(b, t, self.rows);
        if t == 0 {
            return (&mut self.buf[now * size..(now + 1) * size], zeros);
        }
        let prev = self.saves.slot(b, t - 1, self.rows);
        if prev < now {
            let (before, from_now) = self.buf.split_at_mut(now * size);
            (
                &mut from_now[..size],
                &before[prev * size..(prev + 1) * size],
            )
        } else {
            let (to_prev, from_prev) = self.buf.split_at_mut(prev * size);
            (
                &mut to_prev[now * size..(now + 1) * size],
                &from_prev[..size],
            )
        }
    }
}

struct Grads {
    dx: Vec<f32>,
    dparams: Vec<f32>,
    dh0: Vec<f32>,
}

/// Backward through time for the whole batch.
///
/// Each block of batch rows runs on its own thread from start to finish: the recurrence,
/// then its share of the weight and bias gradients (large products over its `rows · T`
/// steps) and its rows of the input gradient. The blocks' weight gradients are summed at
/// the end, in block order, so a run is deterministic for a given thread count.
///
/// Without `wanted.input` (the first layer, whose input is data), `Grads::dx` is empty
/// and its product is not computed. From `wanted.from` on only, the steps before get no
/// gradient (zero in `dx`) and neither does the initial state.
fn backward<K: Kernel>(d: Dims, p: &Params, v: Inputs, wanted: Wanted) -> Grads {
    let (t_len, h, s) = (d.seq, d.hidden, K::SAVED * d.hidden);
    let per = rows_per_thread(d.batch);
    // Every element is written by the product that computes it (or zeroed, before
    // `wanted.from`).
    let (mut dx, dx_size) = if wanted.input {
        (scratch(d.batch * t_len * d.input), per * t_len * d.input)
    } else {
        (Vec::new(), 0)
    };
    let mut dh0 = vec![0.0f32; d.batch * h];
    let w_hh_p = pad_columns(p.w_hh, d.rows(), h);
    let parts = d.batch.div_ceil(per);
    let partials: Vec<Vec<f32>> = pieces(&mut dx, dx_size, parts)
        .into_par_iter()
        .zip(dh0.par_chunks_mut(per * h))
        .enumerate()
        .map(|(c, (dx, dh0))| {
            let (b0, nb) = (c * per, dh0.len() / h);
            let rows = |width: usize| b0 * t_len * width..(b0 + nb) * t_len * width;
            backward_rows::<K>(
                Dims { batch: nb, ..d },
                p,
                &w_hh_p,
                Inputs {
                    x: &v.x[rows(d.input)],
                    h0: &v.h0[b0 * h..(b0 + nb) * h],
                    out: &v.out[rows(h)],
                    gates: &v.gates[rows(s)],
                    dout: v.dout.rows(b0, nb, t_len, h),
                },
                dx,
                dh0,
                wanted.from,
            )
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut dparams = partials.next().unwrap_or_else(|| vec![0.0; d.params()]);
    for part in partials {
        for (sum, v) in dparams.iter_mut().zip(&part) {
            *sum += v;
        }
    }
    Grads { dx, dparams, dh0 }
}

/// What backward reads for a block of batch rows (`[nb, T, ·]` slices, `gates` step-major
/// as [`Saves::slot`] says, `h0` `[nb, H]`).
struct Inputs<'a> {
    x: &'a [f32],
    h0: &'a [f32],
    out: &'a [f32],
    gates: &'a [f32],
    dout: Dout<'a>,
}

/// The gradient arriving at the layer's output from outside.
#[derive(Clone, Copy)]
enum Dout<'a> {
    /// For every step, `[nb, T, H]`.
    Every(&'a [f32]),
    /// For the last step only, `[nb, H]`: the others get none.
    Last(&'a [f32]),
}

impl<'a> Dout<'a> {
    /// Rows `b0 .. b0 + nb` of the batch.
    fn rows(self, b0: usize, nb: usize, t_len: usize, h: usize) -> Dout<'a> {
        match self {
            Dout::Every(g) => Dout::Every(&g[b0 * t_len * h..(b0 + nb) * t_len * h]),
            Dout::Last(g) => Dout::Last(&g[b0 * h..(b0 + nb) * h]),
        }
    }

    /// Row `b`'s gradient at step `t` (`zeros`, `[H]`, where none arrives).
    fn at(self, b: usize, t: usize, t_len: usize, zeros: &'a [f32]) -> &'a [f32] {
        let h = zeros.len();
        match self {
            Dout::Every(g) => &g[(b * t_len + t) * h..(b * t_len + t + 1) * h],
            Dout::Last(g) if t + 1 == t_len => &g[b * h..(b + 1) * h],
            Dout::Last(_) => zeros,
        }
    }
}

/// Backward for a block of batch rows: fills its rows of `dx` and `dh0` and returns its
/// share of the parameter gradients (packed like the parameters).
///
/// Only steps `first ..` get a gradient: the others' rows of `dx` are zero, and so is
/// `dh0` unless `first` is 0 (`dh0` must come zeroed).
///
/// `w_hh_p` is `W_hh` with its rows padded (`[G·H, padded(H)]`, see [`pad_columns`]).
#[inline(never)]
fn backward_rows<K: Kernel>(
    d: Dims,
    p: &Params,
    w_hh_p: &[f32],
    v: Inputs,
    dx: &mut [f32],
    dh0: &mut [f32],
    first: usize,
) -> Vec<f32> {
    let (nb, t_len, h, g) = (d.batch, d.seq, d.hidden, d.rows());
    let s = K::SAVED * h;
    // The steps with a gradient, `first .. T`: `kept` per row. Their gate gradients are
    // laid out `[nb, kept]`; row b's step t at `b · kept + t − first`.
    let kept = t_len - first;
    let grow = |b: usize, t: usize| b * kept + t - first;
    let rows = nb * kept;
    // Gradients of the gate pre-activations: dgi for the input side, dgh for the recurrent
    // side where it differs (the GRU's).
    let mut dgi = scratch(rows * g);
    let mut dgh_buf = scratch(if K::SEPARATE_DGH { rows * g } else { 0 });
    // dL/dh_t arriving from step t + 1 (zero after the last step), and the LSTM's dL/dc_t.
    // carry's rows are padded like `w_hh_p`'s; the padding columns stay zero and are not read.
    let hw = padded(h);
    let mut carry = vec![0.0f32; nb * hw];
    let mut carry_c = vec![0.0f32; nb * h];
    let zeros = vec![0.0f32; s];
    let no_dout = vec![0.0f32; h];
    // The bias gradients: Σ dgi, and Σ dgh over the gate blocks where it differs (else
    // db_hh = db_ih there).
    let own = K::DGH_LIKE_DGI * h;
    let mut db_sums = ColumnSums::new(g);
    let mut dbh_sums = K::SEPARATE_DGH.then(|| ColumnSums::new(g - own));
    let mut clock = timers::Clock::start();
    for t in (first..t_len).rev() {
        for b in 0..nb {
            // `row` indexes the states `[nb, T]`, `gr` the gate gradients `[nb, kept]`.
            let (row, gr) = (b * t_len + t, grow(b, t));
            let saved = |t: usize| {
                let at = Saves::Every.slot(b, t, nb) * s;
                &v.gates[at..at + s]
            };
            let (hp, prev) = if t == 0 {
                (&v.h0[b * h..(b + 1) * h], &zeros[..])
            } else {
                (&v.out[(row - 1) * h..row * h], saved(t - 1))
            };
            let dgh_row = if K::SEPARATE_DGH {
                &mut dgh_buf[gr * g..(gr + 1) * g]
            } else {
                &mut [][..]
            };
            cells::backward::<K>(
                saved(t),
                prev,
                hp,
                &v.out[row * h..(row + 1) * h],
                v.dout.at(b, t, t_len, &no_dout),
                &mut carry[b * hw..b * hw + h],
                &mut carry_c[b * h..(b + 1) * h],
                &mut dgi[gr * g..(gr + 1) * g],
                dgh_row,
            );
            db_sums.add(&dgi[gr * g..(gr + 1) * g]);
            if let Some(sums) = &mut dbh_sums {
                sums.add(&dgh_buf[gr * g + own..(gr + 1) * g]);
            }
        }
        clock.lap(timers::Phase::BackwardGates, 0);
        // carry (+)= dgh_t · W_hh   [nb, G·H] × [G·H, H]
        let dgh_all = if K::SEPARATE_DGH { &dgh_buf } else { &dgi };
        step::product(
            ViewMut::new(&mut carry, nb, hw),
            View::strided(&dgh_all[grow(0, t) * g..], nb, g, kept * g),
            View::new(w_hh_p, g, hw),
            h,
            K::DIRECT_CARRY,
        );
        clock.lap(timers::Phase::BackwardTiles, 2 * nb * g * h);
    }
    // The initial state gets a gradient only when every step does (else it stays zero).
    if first == 0 {
        for (dh0, carry) in dh0.chunks_exact_mut(h).zip(carry.chunks_exact(hw)) {
            dh0.copy_from_slice(&carry[..h]);
        }
    }
    let dgh = if K::SEPARATE_DGH { &dgh_buf } else { &dgi };

    // This block's weight gradients over all its steps at once.
    let mut dparams = vec![0.0f32; d.params()];
    let (dw_ih, rest) = dparams.split_at_mut(g * d.input);
    let (dw_hh, rest) = rest.split_at_mut(g * h);
    let (db_ih, db_hh) = rest.split_at_mut(g);
    // dW_ih = dgiᵀ · x   [G·H, nb·kept] × [nb·kept, in]; x's rows at the kept steps are
    // x itself when those are every step, else a copy.
    let width = d.input;
    let x_kept = (first > 0).then(|| {
        let mut part = scratch(rows * width);
        for (dst, src) in (part.chunks_exact_mut(kept * width)).zip(v.x.chunks_exact(t_len * width))
        {
            dst.copy_from_slice(&src[first * width..]);
        }
        part
    });
    matmul(
        ViewMut::new(dw_ih, g, d.input),
        View::new(&dgi, rows, g).t(),
        View::new(x_kept.as_deref().unwrap_or(v.x), rows, width),
        false,
        Parallelism::None,
    );
    if let Some(x_kept) = x_kept {
        recycle(x_kept);
    }
    // dW_hh = dghᵀ · h_prev, where h_prev[b, t] = out[b, t − 1] and h0[b] at t = 0.
    let mut h_prev = scratch(rows * h);
    for (b, dst) in h_prev.chunks_exact_mut(kept * h).enumerate() {
        let states = &v.out[b * t_len * h..(b + 1) * t_len * h];
        if first == 0 {
            dst[..h].copy_from_slice(&v.h0[b * h..(b + 1) * h]);
            dst[h..].copy_from_slice(&states[..(t_len - 1) * h]);
        } else {
            dst.copy_from_slice(&states[(first - 1) * h..(t_len - 1) * h]);
        }
    }
    matmul(
        ViewMut::new(dw_hh, g, h),
        View::new(dgh, rows, g).t(),
        View::new(&h_prev, rows, h),
        false,
        Parallelism::None,
    );
    recycle(h_prev);
    db_sums.write_to(db_ih);
    db_hh[..own].copy_from_slice(&db_ih[..own]);
    if let Some(sums) = &dbh_sums {
        sums.write_to(&mut db_hh[own..]);
    }
    // dx = dgi · W_ih   [nb·kept, G·H] × [G·H, in], unless no input gradient is asked for;
    // zero at the steps before `first`.
    if !dx.is_empty() {
        let mut part = (first > 0).then(|| scratch(rows * width));
        matmul(
            ViewMut::new(part.as_deref_mut().unwrap_or(&mut *dx), rows, width),
            View::new(&dgi, rows, g),
            View::new(p.w_ih, g, width),
            false,
            Parallelism::None,
        );
        if let Some(part) = part {
            for (dst, src) in dx
                .chunks_exact_mut(t_len * width)
                .zip(part.chunks_exact(kept * width))
            {
                dst[..first * width].fill(0.0);
                dst[first * width..].copy_from_slice(src);
            }
            recycle(part);
        }
    }
    recycle(dgi);
    recycle(dgh_buf);
    dparams
}

/// Column sums in f64 of rows added one at a time: the bias gradients, summed while
/// backward writes each row of `dgi` (and the GRU's `dgh`) rather than in a pass over the
/// whole `[rows · T, G·H]` buffer afterwards, which read it back from memory (3.6 % of an
/// hourly global-model epoch, perf, AVX-512 Xeon).
struct ColumnSums(Vec<f64>);

impl ColumnSums {
    fn new(cols: usize) -> ColumnSums {
        ColumnSums(vec![0.0; cols])
    }

    fn add(&mut self, row: &[f32]) {
        add_row(&mut self.0, row);
    }

    /// The sums, rounded to f32.
    fn write_to(&self, sums: &mut [f32]) {
        for (s, a) in sums.iter_mut().zip(&self.0) {
            *s = *a as f32;
        }
    }
}

widest_build! {
    /// `sums[j] += row[j]` in f64, in the widest build this CPU runs (the baseline x86-64
    /// build adds two f64 at a time). Each column's sum takes its rows in the order they
    /// come whatever the vector width, so every build gives the same bits.
    fn add_row(sums: &mut [f64], row: &[f32]) => add_row_body
}

#[inline(always)]
fn add_row_body(sums: &mut [f64], row: &[f32]) {
    assert_eq!(sums.len(), row.len(), "fused layer: bias sums");
    for (a, v) in sums.iter_mut().zip(row) {
        *a += f64::from(*v);
    }
}

/// A read-only matrix in a slice: element (i, j) at `i * rs + j * cs`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// Row-major and contiguous.
    fn new(data: &'a [f32], rows: usize, cols: usize) -> View<'a> {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// Row-major rows `rs` apart.
    fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> View<'a> {
        View {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    fn t(self) -> View<'a> {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// One past the largest offset addressed.
    fn span(&self) -> usize {
        span(self.rows, self.cols, self.rs, self.cs)
    }
}

struct ViewMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> ViewMut<'a> {
    /// Row-major and contiguous.
    fn new(data: &'a mut [f32], rows: usize, cols: usize) -> ViewMut<'a> {
        ViewMut { data, rows, cols }
    }
}

fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

/// `dst = a · b`, or `dst += a · b` when `accumulate`, with `gemm`.
///
/// Panics if the shapes disagree or a view reaches past its slice: both are bugs in this
/// module, never user input, and the checks are what make the `unsafe` call sound.
fn matmul(dst: ViewMut, a: View, b: View, accumulate: bool, parallelism: Parallelism) {
    assert!(
        a.rows == dst.rows && b.cols == dst.cols && a.cols == b.rows,
        "fused layer: matmul shapes"
    );
    assert!(
        a.span() <= a.data.len() && b.span() <= b.data.len(),
        "fused layer: matmul view out of range"
    );
    assert!(
        span(dst.rows, dst.cols, dst.cols, 1) <= dst.data.len(),
        "fused layer: matmul destination out of range"
    );
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    if a.cols == 0 {
        if !accumulate {
            dst.data[..dst.rows * dst.cols].fill(0.0);
        }
        return;
    }
    // SAFETY: every element gemm reads or writes lies inside the slices: for each view the
    // largest offset it addresses, (rows − 1)·rs + (cols − 1)·cs, was checked above to be
    // within its slice, and strides are non-negative. `dst` is a unique borrow, so it cannot
    // alias `a` or `b`. With `read_dst` false gemm never reads `dst`, so its prior contents
    // do not matter: a buffer from [`scratch`] may hold stale values from an earlier call,
    // and they are overwritten. (It is initialised memory all the same: a `&mut [f32]`
    // cannot be anything else.) The one product that accumulates, into backward's
    // `carry`, writes into a buffer that starts zeroed.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            a.cols,
            dst.data.as_mut_ptr(),
            1,
            dst.cols as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// What the kernel's bit-for-bit tests share.
#[cfg(test)]
pub(super) mod test_util {
    use candle_core::Tensor;

    /// A tensor's values as bits, for comparisons that must be exact.
    pub fn bits(t: &Tensor) -> Vec<u32> {
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// `n` smooth, varied values in (−0.7, 0.7).
    pub fn wave(n: usize, k: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * k).sin() * 0.7).collect()
    }

    /// Runs `f` in rayon pools of one, two and three threads, so that a batch's rows are
    /// split in every way the kernels split them, and passes it the count.
    pub fn on_one_to_three_threads(f: impl Fn(usize) + Sync) {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| f(threads));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cells::{exp, sigmoid, tanh, Fused, MulAdd, Unfused};
    use super::{Backprop, Cell, Dims, Tensor, SCRATCH};

    /// The branch-free functions against f64 libm over the range the gates see (and beyond),
    /// with and without fused multiply-adds.
    #[test]
    fn fast_exp_sigmoid_tanh_are_accurate() {
        accurate::<Fused>();
        accurate::<Unfused>();
    }

    fn accurate<M: MulAdd>() {
        let xs: Vec<f32> = (-40_000..=40_000).map(|i| i as f32 * 0.0005).collect(); // −20 … 20
        for &x in &xs {
            let e = f64::from(exp::<M>(x));
            let want = f64::from(x).exp();
            assert!(
                (e - want).abs() <= 4e-7 * want,
                "exp({x}) = {e}, want {want}"
            );
        }
        let s: Vec<f32> = xs.iter().map(|&x| sigmoid::<M>(x)).collect();
        let t: Vec<f32> = xs.iter().map(|&x| tanh::<M>(x)).collect();
        for ((&x, &sg), &th) in xs.iter().zip(&s).zip(&t) {
            let want_s = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!(
                (f64::from(sg) - want_s).abs() <= 4e-7 * want_s + 1e-9,
                "sigmoid({x}) = {sg}, want {want_s}"
            );
            let want_t = f64::from(x).tanh();
            assert!(
                (f64::from(th) - want_t).abs() <= 4e-7 * want_t.abs() + 1e-9,
                "tanh({x}) = {th}, want {want_t}"
            );
        }
        assert_eq!(exp::<M>(-1000.0), exp::<M>(-87.0));
        assert!(exp::<M>(1000.0).is_finite());
    }

    /// Each cell's forward step at widths around its chunks of 8 or 16 units (narrower than one,
    /// whole, and with a remainder that the last chunk overlaps) against its equations in
    /// f64: a unit the chunks skipped or mixed up would be far off.
    #[test]
    fn forward_steps_at_every_width_follow_the_equations() {
        use super::cells::{self, Kernel};
        fn check<K: Kernel>(
            name: &str,
            h: usize,
            want: impl Fn(&[f64], &[f64], f64, f64) -> (Vec<f64>, f64),
        ) {
            let wave = |n: usize, f: f32| -> Vec<f32> {
                (0..n).map(|i| (i as f32 * f).sin() * 1.7).collect()
            };
            let g = K::GATES * h;
            let (gi, gh, b_ih, b_hh) = (wave(g, 0.37), wave(g, 0.91), wave(g, 0.53), wave(g, 0.29));
            let (hp, prev) = (wave(h, 0.71), wave(K::SAVED * h, 0.43));
            let (mut saved, mut now) = (vec![f32::NAN; K::SAVED * h], vec![f32::NAN; h]);
            cells::forward::<K>(&gi, &gh, &b_ih, &b_hh, &hp, &prev, &mut saved, &mut now);
            for j in 0..h {
                let pre = |k: usize| -> (f64, f64) {
                    let at = k * h + j;
                    (
                        f64::from(gi[at]) + f64::from(b_ih[at]),
                        f64::from(gh[at]) + f64::from(b_hh[at]),
                    )
                };
                let pres: Vec<(f64, f64)> = (0..K::GATES).map(pre).collect();
                let (i_side, h_side): (Vec<f64>, Vec<f64>) = pres.into_iter().unzip();
                let c_prev = if K::SAVED == 6 {
                    f64::from(prev[4 * h + j])
                } else {
                    0.0
                };
                let (saved_want, now_want) = want(&i_side, &h_side, f64::from(hp[j]), c_prev);
                let close = |got: f32, want: f64| {
                    (f64::from(got) - want).abs() <= 2e-6 * (1.0 + want.abs())
                };
                assert!(
                    close(now[j], now_want),
                    "{name} width {h}, unit {j}: state {} against {now_want}",
                    now[j]
                );
                for (k, w) in saved_want.iter().enumerate() {
                    let got = saved[k * h + j];
                    assert!(
                        close(got, *w),
                        "{name} width {h}, unit {j}: saved value {k} {got} against {w}"
                    );
                }
            }
        }
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        for h in [1, 5, 16, 17, 33, 50, 100] {
            check::<cells::Gru>("GRU", h, |i, hh, hp, _| {
                let (r, z) = (sig(i[0] + hh[0]), sig(i[1] + hh[1]));
                let n = (i[2] + r * hh[2]).tanh();
                (vec![r, z, n, hh[2]], n + z * (hp - n))
            });
            check::<cells::Lstm>("LSTM", h, |i, hh, _, c_prev| {
                let (ig, f, g, o) = (
                    sig(i[0] + hh[0]),
                    sig(i[1] + hh[1]),
                    (i[2] + hh[2]).tanh(),
                    sig(i[3] + hh[3]),
                );
                let c = f * c_prev + ig * g;
                (vec![ig, f, g, o, c, c.tanh()], o * c.tanh())
            });
            check::<cells::Rnn>("RNN", h, |i, hh, _, _| (vec![], (i[0] + hh[0]).tanh()));
        }
    }

    /// The chunk width `L` (16 in the AVX-512 build, 8 or 16 in the AVX2 one) changes no bit of
    /// a forward step, nor does the build: each width's plain-Rust step (software `fmaf`
    /// here) against the others and against the build this CPU runs.
    #[test]
    fn forward_steps_give_the_same_bits_at_every_chunk_width() {
        use super::cells::{self, Kernel};
        use super::test_util::wave;
        fn check<K: Kernel>(name: &str, h: usize) {
            let g = K::GATES * h;
            let (gi, gh, b_ih, b_hh) = (wave(g, 0.37), wave(g, 0.91), wave(g, 0.53), wave(g, 0.29));
            let (hp, prev) = (wave(h, 0.71), wave(K::SAVED * h, 0.43));
            type Step = fn(&[f32], &[f32], &[f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
            let run = |step: Step| {
                let (mut saved, mut now) = (vec![f32::NAN; K::SAVED * h], vec![f32::NAN; h]);
                step(&gi, &gh, &b_ih, &b_hh, &hp, &prev, &mut saved, &mut now);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                (bits(&saved), bits(&now))
            };
            let widest = run(cells::forward::<K>);
            for (l, step) in [
                (4, K::forward::<Fused, 4> as Step),
                (8, K::forward::<Fused, 8>),
                (16, K::forward::<Fused, 16>),
            ] {
                assert!(
                    run(step) == widest,
                    "{name} width {h}: chunks of {l} differ"
                );
            }
        }
        for h in [1, 5, 8, 9, 16, 17, 33, 50, 100] {
            check::<cells::Gru>("GRU", h);
            check::<cells::Lstm>("LSTM", h);
            check::<cells::Rnn>("RNN", h);
        }
    }

    /// Not a check but a timing, run by hand: one forward step of each cell alone, at the
    /// seed model's widths, in the build this CPU runs and, on an AVX2 CPU, in the AVX2
    /// build at chunks of 8 and 16 (how `Kernel::AVX2_CHUNK` was chosen):
    ///
    ///     cargo test --release --lib -- --ignored gate_step_timings --nocapture
    #[test]
    #[ignore = "a timing, run by hand"]
    fn gate_step_timings() {
        use super::cells::{self, Kernel};
        use super::test_util::wave;
        type Step =
            unsafe fn(&[f32], &[f32], &[f32], &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
        /// Only for a `step` this CPU can run.
        /// ns per unit of `h` over 200,000 calls of `call`.
        fn per_unit(h: usize, mut call: impl FnMut()) -> f64 {
            let calls = 200_000;
            let start = std::time::Instant::now();
            for _ in 0..calls {
                call();
            }
            start.elapsed().as_nanos() as f64 / (calls * h) as f64
        }
        fn ns_per_unit<K: Kernel>(h: usize, step: Step) -> f64 {
            let g = K::GATES * h;
            let (gi, gh, b_ih, b_hh) = (wave(g, 0.37), wave(g, 0.91), wave(g, 0.53), wave(g, 0.29));
            let (hp, prev) = (wave(h, 0.71), wave(K::SAVED * h, 0.43));
            let (mut saved, mut now) = (vec![0.0; K::SAVED * h], vec![0.0; h]);
            per_unit(h, || {
                // SAFETY: the callers pass only steps built for features this CPU has.
                unsafe { step(&gi, &gh, &b_ih, &b_hh, &hp, &prev, &mut saved, &mut now) };
                std::hint::black_box(&mut now);
            })
        }
        #[cfg(target_arch = "x86_64")]
        fn avx2<K: Kernel, const L: usize>(h: usize) -> Option<f64> {
            // `Kernel::forward`'s arguments again: the slices stay separate arguments so
            // the compiler knows they do not alias (see cells.rs), and a `target_feature`
            // wrapper has to name them.
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn step<K: Kernel, const L: usize>(
                gi: &[f32],
                gh: &[f32],
                b_ih: &[f32],
                b_hh: &[f32],
                hp: &[f32],
                prev: &[f32],
                saved: &mut [f32],
                now: &mut [f32],
            ) {
                K::forward::<Fused, L>(gi, gh, b_ih, b_hh, hp, prev, saved, now)
            }
            let has_avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            has_avx2.then(|| ns_per_unit::<K>(h, step::<K, L>))
        }
        #[cfg(not(target_arch = "x86_64"))]
        fn avx2<K: Kernel, const L: usize>(_h: usize) -> Option<f64> {
            None
        }
        /// One step back (this CPU's build), the slices as backward passes them.
        fn back_ns_per_unit<K: Kernel>(h: usize) -> f64 {
            let g = K::GATES * h;
            let (saved, prev) = (wave(K::SAVED * h, 0.43), wave(K::SAVED * h, 0.61));
            let (hp, now, dout) = (wave(h, 0.71), wave(h, 0.23), wave(h, 0.17));
            let (mut carry, mut carry_c) = (wave(h, 0.31), wave(h, 0.47));
            let mut dgi = vec![0.0; g];
            let mut dgh = vec![0.0; if K::SEPARATE_DGH { g } else { 0 }];
            per_unit(h, || {
                cells::backward::<K>(
                    &saved,
                    &prev,
                    &hp,
                    &now,
                    &dout,
                    &mut carry,
                    &mut carry_c,
                    &mut dgi,
                    &mut dgh,
                );
                std::hint::black_box(&mut dgi);
            })
        }
        fn row<K: Kernel>(name: &str, h: usize) {
            let shown = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{t:.2}"));
            eprintln!(
                "{name:5} {h:6} {:>12.2} {:>14} {:>15} {:>10.2}",
                ns_per_unit::<K>(h, cells::forward::<K>),
                shown(avx2::<K, 8>(h)),
                shown(avx2::<K, 16>(h)),
                back_ns_per_unit::<K>(h)
            );
        }
        eprintln!(
            "ns per unit and step: cell, width, this CPU's build, AVX2 in chunks of 8, of 16; \
             backward (this CPU's build)"
        );
        for h in [50, 100] {
            row::<cells::Lstm>("LSTM", h);
            row::<cells::Gru>("GRU", h);
            row::<cells::Rnn>("RNN", h);
        }
    }

    /// What a run of the layer gives: its output, then the gradients of Σ c ⊙ out with
    /// respect to the input, the packed parameters and the initial state, as plain numbers.
    fn outputs_and_gradients(cell: Cell, all_steps: bool) -> Vec<Vec<f32>> {
        use candle_core::{Device, Var};
        let (batch, seq, input, hidden) = (3, 5, 2, 4);
        let d = Dims {
            batch,
            seq,
            input,
            hidden,
            gates: cell.gates(),
        };
        let wave =
            |n: usize, k: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * k).sin() * 0.5).collect() };
        let dev = Device::Cpu;
        let var = |v: Vec<f32>, shape: &[usize]| Var::from_vec(v, shape, &dev).unwrap();
        let x = var(wave(batch * seq * input, 0.7), &[batch, seq, input]);
        let params = var(wave(d.params(), 1.3), &[d.params()]);
        let h0 = var(wave(batch * hidden, 2.1), &[batch, hidden]);
        let out =
            super::sequence(cell, &x, &params, &h0, all_steps, None, Backprop::Whole).unwrap();
        let c = Tensor::from_vec(wave(out.elem_count(), 0.9), out.shape(), &dev).unwrap();
        let grads = (&out * &c).unwrap().sum_all().unwrap().backward().unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mut all = vec![flat(&out)];
        for v in [&x, &params, &h0] {
            all.push(flat(grads.get(v.as_tensor()).unwrap()));
        }
        all
    }

    /// Dropout applied inside the op gives the bits of the same mask multiplied in first by
    /// candle (what the model did before): the states and the gradients of the input, the
    /// parameters and the initial state, for every cell, with and without a backward to
    /// follow, with the rows split over one, two and three threads.
    #[test]
    fn dropout_inside_the_op_equals_the_mask_multiplied_first() {
        use super::test_util::{bits, on_one_to_three_threads, wave};
        use crate::rng::{dropout_mask, MaskDraws, Rng64};
        use candle_core::{Device, Var};
        use rand::SeedableRng;
        let dev = Device::Cpu;
        let (batch, seq, input, hidden) = (7, 5, 3, 4);
        let n = batch * seq * input;
        on_one_to_three_threads(|threads| {
            for cell in [Cell::Gru, Cell::Lstm, Cell::Rnn] {
                for all_steps in [true, false] {
                    let d = Dims {
                        batch,
                        seq,
                        input,
                        hidden,
                        gates: cell.gates(),
                    };
                    let var = |v: Vec<f32>, shape: &[usize]| Var::from_vec(v, shape, &dev).unwrap();
                    let x = var(wave(n, 0.3), &[batch, seq, input]);
                    let params = var(wave(d.params(), 1.1), &[d.params()]);
                    let h0 = var(wave(batch * hidden, 0.5), &[batch, hidden]);
                    let draws = MaskDraws::take(&mut Rng64::seed_from_u64(3), n, 0.4);
                    let mask = dropout_mask(&mut Rng64::seed_from_u64(3), n, 0.4);
                    assert!(mask.contains(&0.0));
                    let mask = Tensor::from_vec(mask, (batch, seq, input), &dev).unwrap();
                    let inside = super::sequence(
                        cell,
                        &x,
                        &params,
                        &h0,
                        all_steps,
                        Some(draws.clone()),
                        Backprop::Whole,
                    )
                    .unwrap();
                    let masked = x.as_tensor().mul(&mask).unwrap();
                    let first = super::sequence(
                        cell,
                        &masked,
                        &params,
                        &h0,
                        all_steps,
                        None,
                        Backprop::Whole,
                    )
                    .unwrap();
                    let what = format!("{cell:?}, all steps {all_steps}, {threads} threads");
                    assert_eq!(bits(&inside), bits(&first), "{what}: states");
                    let c = Tensor::from_vec(wave(inside.elem_count(), 0.9), inside.shape(), &dev)
                        .unwrap();
                    let gi = (&inside * &c)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .backward()
                        .unwrap();
                    let gf = (&first * &c)
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .backward()
                        .unwrap();
                    for (name, v) in [
                        ("input", &x),
                        ("parameters", &params),
                        ("initial state", &h0),
                    ] {
                        let (a, b) = (
                            gi.get(v.as_tensor()).unwrap(),
                            gf.get(v.as_tensor()).unwrap(),
                        );
                        assert_eq!(bits(a), bits(b), "{what}: gradient of the {name}");
                    }
                    // Without a backward to follow (Monte Carlo dropout).
                    let (xp, pp, hp) = (
                        x.as_tensor().detach(),
                        params.as_tensor().detach(),
                        h0.as_tensor().detach(),
                    );
                    let plain = super::sequence(
                        cell,
                        &xp,
                        &pp,
                        &hp,
                        all_steps,
                        Some(draws),
                        Backprop::Whole,
                    )
                    .unwrap();
                    assert_eq!(
                        bits(&plain),
                        bits(&first),
                        "{what}: states without gradients"
                    );
                }
            }
        });
    }

    /// A forward that no backward follows keeps only the latest saved values: it must give
    /// the same bits as one that keeps them all, for every cell and window length.
    #[test]
    fn a_forward_without_gradients_gives_the_same_states() {
        use super::test_util::{bits, wave};
        use candle_core::{Device, Var};
        let dev = Device::Cpu;
        for cell in [Cell::Gru, Cell::Lstm, Cell::Rnn] {
            for (seq, all_steps) in [(1, true), (2, false), (7, true), (7, false)] {
                let (batch, input, hidden) = (5, 3, 6);
                let d = Dims {
                    batch,
                    seq,
                    input,
                    hidden,
                    gates: cell.gates(),
                };
                let x = Tensor::from_vec(wave(batch * seq * input, 0.3), (batch, seq, input), &dev)
                    .unwrap();
                let params = Tensor::from_vec(wave(d.params(), 1.1), d.params(), &dev).unwrap();
                let h0 =
                    Tensor::from_vec(wave(batch * hidden, 0.5), (batch, hidden), &dev).unwrap();
                let plain =
                    super::sequence(cell, &x, &params, &h0, all_steps, None, Backprop::Whole)
                        .unwrap();
                let tracked = Var::from_tensor(&params).unwrap();
                let kept = super::sequence(
                    cell,
                    &x,
                    tracked.as_tensor(),
                    &h0,
                    all_steps,
                    None,
                    Backprop::Whole,
                )
                .unwrap();
                assert_eq!(bits(&plain), bits(&kept), "{cell:?}, {seq} steps");
            }
        }
    }

    /// [`scratch`] hands out buffers that hold whatever an earlier call left in them, so
    /// every user must overwrite all of one before reading it. With this thread's pool
    /// filled with NaN, forward and backward must give the same bits as from an empty pool.
    #[test]
    fn stale_scratch_buffers_never_reach_a_result() {
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        // On one thread, every scratch buffer comes from the pool poisoned here.
        one_thread.install(|| {
            for cell in [Cell::Gru, Cell::Lstm, Cell::Rnn] {
                for all_steps in [true, false] {
                    SCRATCH.with(|pool| pool.borrow_mut().clear());
                    let clean = outputs_and_gradients(cell, all_steps);
                    SCRATCH.with(|pool| {
                        let mut pool = pool.borrow_mut();
                        pool.clear();
                        pool.extend((0..16).map(|_| vec![f32::NAN; 4096]));
                    });
                    let stale = outputs_and_gradients(cell, all_steps);
                    assert!(
                        clean.iter().flatten().all(|f| f.is_finite()),
                        "{cell:?}: not finite from an empty pool"
                    );
                    let names = [
                        "output",
                        "input gradient",
                        "parameter gradient",
                        "h0 gradient",
                    ];
                    for (name, (a, b)) in names.iter().zip(clean.iter().zip(&stale)) {
                        let first = (a.iter().zip(b)).position(|(x, y)| x.to_bits() != y.to_bits());
                        if let Some(i) = first {
                            panic!(
                                "{cell:?}, all_steps {all_steps}: the {name} read a stale \
                                 buffer: at {i}, {} from an empty pool, {} from a poisoned one",
                                a[i], b[i]
                            );
                        }
                    }
                }
            }
        });
    }
}
