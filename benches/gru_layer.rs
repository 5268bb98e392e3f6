//! Forward + backward of the seed model (GRU 50 → GRU 100 → dense, dropout 0.2) on one
//! batch of 64 windows of 60 steps: the fused CPU op against the step-by-step candle-op
//! path, interleaved in one run. Prints the median milliseconds per batch and the ratio.
//!
//!     cargo bench --bench gru_layer [-- REPS] [fused] [gru|lstm|rnn]
//!
//! With `fused`, only the fused path runs (for a profiler, or to compare two builds of the
//! fused op). A cell name swaps the seed model's GRU for that cell. Built with
//! `--features kernel-timers`, it also prints the CPU time of each phase of the recurrence
//! per batch (`src/model/fused/timers.rs`).

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use gruf::config::ModelConfig;
use gruf::model::{init_weights, Model, Weights};
use gruf::rng::Rng64;
use rand::{Rng, SeedableRng};

fn main() -> anyhow::Result<()> {
    gruf::model::configure_threads();
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let fused_only = std::env::args().any(|a| a == "fused");
    let dev = Device::Cpu;
    let mut config = ModelConfig::default();
    for arg in std::env::args().skip(1) {
        if arg == "fused" || arg == "--bench" || arg.parse::<usize>().is_ok() {
            continue;
        }
        config.network.cell = arg.parse().unwrap_or_else(|_| {
            eprintln!("gru_layer: {arg:?} is not REPS, `fused` or a cell (gru, lstm, rnn)");
            std::process::exit(2)
        });
    }
    let (network, io) = (&config.network, &config.io());
    let init = init_weights(network, io, &mut Rng64::seed_from_u64(0), &dev)?;
    let vars: Vec<Var> = init
        .values()
        .map(Var::from_tensor)
        .collect::<candle_core::Result<_>>()?;
    let weights: Weights = init
        .keys()
        .cloned()
        .zip(vars.iter().map(|v| v.as_tensor().clone()))
        .collect();
    let fused = Model::new(network, io, &weights)?;
    let steps = fused.clone().step_by_step();

    let mut rng = Rng64::seed_from_u64(1);
    let (batch, window) = (64, config.framing.window);
    let xs: Vec<f32> = (0..batch * window).map(|_| rng.random::<f32>()).collect();
    let xs = Tensor::from_vec(xs, (batch, window, 1), &dev)?;
    let ys = Tensor::from_vec(
        (0..batch).map(|_| rng.random::<f32>()).collect::<Vec<_>>(),
        (batch, 1),
        &dev,
    )?;

    let step = |m: &Model, rng: &mut Rng64| -> anyhow::Result<f64> {
        let t = Instant::now();
        let loss = (m.forward(&xs, Some(rng))? - &ys)?.sqr()?.mean_all()?;
        let grads = loss.backward()?;
        for v in &vars {
            grads.get(v.as_tensor()).map(|g| g.sum_all()).transpose()?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    step(&fused, &mut rng)?; // warm-up
    step(&steps, &mut rng)?;
    let timers_before = gruf::model::fused::timers::totals();
    for _ in 0..reps {
        a.push(step(&fused, &mut rng)?);
        if !fused_only {
            b.push(step(&steps, &mut rng)?);
        }
    }
    let timers_after = gruf::model::fused::timers::totals();
    let mut fwd = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        fused
            .forward(&xs, Some(&mut rng))?
            .sum_all()?
            .to_scalar::<f32>()?;
        fwd.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let fa = median(&mut a);
    println!(
        "seed model ({}), batch {batch} x {window} steps, forward + backward, median of {reps}:",
        config.network.cell.name()
    );
    println!(
        "  fused CPU op        {fa:8.2} ms/batch ({:.2} ms of it forward)",
        median(&mut fwd)
    );
    if fused_only {
        println!("  step-by-step ops    not run (`fused`)");
    } else {
        let fb = median(&mut b);
        println!("  step-by-step ops    {fb:8.2} ms/batch");
        println!("  fused is {:.2}x faster", fb / fa);
    }
    if let (Some(before), Some(after)) = (timers_before, timers_after) {
        println!(
            "  inside the fused op (--features kernel-timers), per batch, both threads' CPU time:"
        );
        for ((phase, s0, f0), (_, s1, f1)) in before.iter().zip(&after) {
            let (ms, flops) = ((s1 - s0) * 1e3 / reps as f64, (f1 - f0) as f64);
            let rate = if flops > 0.0 {
                format!(" ({:.0} GFLOP/s)", flops / (s1 - s0) / 1e9)
            } else {
                String::new()
            };
            println!("    {:<15} {ms:6.2} ms{rate}", phase.name());
        }
    }
    Ok(())
}
