//! Timers inside the fused kernel, for finding where a training batch's time goes in
//! place (an isolated benchmark of one part sees its data in cache, which training does
//! not). Built only with `--features kernel-timers`; otherwise [`Clock`] holds nothing and
//! its methods compile to nothing.
//!
//! Each phase's time is summed over calls and threads (CPU time, not wall time), as are
//! the floating-point operations of the per-step products (2 per multiply-add, counting
//! the padding columns the tiles compute).

/// A part of the recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Forward's per-step products `h · W_hhᵀ`.
    ForwardTiles,
    /// Forward's gate arithmetic, all rows of a step.
    ForwardGates,
    /// Backward's gate arithmetic (and bias sums), all rows of a step.
    BackwardGates,
    /// Backward's per-step products `dgh · W_hh`.
    BackwardTiles,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::ForwardTiles,
        Phase::ForwardGates,
        Phase::BackwardGates,
        Phase::BackwardTiles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::ForwardTiles => "forward tiles",
            Phase::ForwardGates => "forward gates",
            Phase::BackwardGates => "backward gates",
            Phase::BackwardTiles => "backward tiles",
        }
    }
}

#[cfg(feature = "kernel-timers")]
mod on {
    use std::sync::atomic::{AtomicU64, Ordering};

    pub static NANOS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
    pub static FLOPS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

    pub fn add(slot: &[AtomicU64; 4], i: usize, v: u64) {
        slot[i].fetch_add(v, Ordering::Relaxed);
    }

    pub fn read(slot: &[AtomicU64; 4], i: usize) -> u64 {
        slot[i].load(Ordering::Relaxed)
    }
}

/// Measures consecutive phases of one thread's work: each [`Clock::lap`] charges the time
/// since the last lap (or the start) to a phase.
pub struct Clock {
    #[cfg(feature = "kernel-timers")]
    last: std::time::Instant,
}

impl Clock {
    #[inline(always)]
    pub fn start() -> Clock {
        Clock {
            #[cfg(feature = "kernel-timers")]
            last: std::time::Instant::now(),
        }
    }

    /// Charges the time since the last lap to `phase`, with `flops` operations (the
    /// useful ones: padding columns, which only some tiles compute, do not count).
    #[inline(always)]
    pub fn lap(&mut self, phase: Phase, flops: usize) {
        #[cfg(feature = "kernel-timers")]
        {
            let now = std::time::Instant::now();
            on::add(
                &on::NANOS,
                phase as usize,
                (now - self.last).as_nanos() as u64,
            );
            on::add(&on::FLOPS, phase as usize, flops as u64);
            self.last = now;
        }
        #[cfg(not(feature = "kernel-timers"))]
        let _ = (phase, flops);
    }
}

/// Each phase's seconds and operations summed so far, or `None` in a build without the
/// timers.
pub fn totals() -> Option<Vec<(Phase, f64, u64)>> {
    #[cfg(feature = "kernel-timers")]
    {
        Some(
            Phase::ALL
                .iter()
                .map(|&p| {
                    let i = p as usize;
                    (
                        p,
                        on::read(&on::NANOS, i) as f64 * 1e-9,
                        on::read(&on::FLOPS, i),
                    )
                })
                .collect(),
        )
    }
    #[cfg(not(feature = "kernel-timers"))]
    None
}
