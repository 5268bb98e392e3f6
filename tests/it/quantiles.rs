//! Quantile models (`--quantiles`) through the library: trained on the pinball loss, their
//! 0.1 and 0.9 forecasts cover about 80 % of held-out targets of a series with Gaussian
//! noise of known standard deviation, as wide as that noise makes them; no forecast
//! crosses, at any step, in a direct or a recursive forecast, for one network or an
//! ensemble; and the point forecasts are the median. (Saved and loaded through the CLI:
//! `tests/it/cli_quantiles.rs`.)

use std::time::Instant;

use candle_core::Device;
use gruf::config::RunConfig;
use gruf::features::scaler::TransformKind;
use gruf::features::split::Split;
use gruf::features::Featurizer;
use gruf::forecast::Forecaster;
use gruf::model::loss::Loss;
use gruf::model::Model;
use gruf::train::{Flow, TrainData};
use rand::{Rng, SeedableRng};

/// Standard normal draws (Box–Muller) from a seeded generator.
fn gaussian(rng: &mut gruf::rng::Rng64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random::<f64>(), rng.random());
            (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

/// A sine of period 25 and amplitude 5 around 100, plus Gaussian noise of standard
/// deviation `sd`: given its past, the next value is the sine's next value ± that noise, so
/// its 0.1 and 0.9 quantiles are 1.2816 · `sd` either side.
fn noisy_sine(n: usize, sd: f64, seed: u64) -> Vec<f64> {
    let mut rng = gruf::rng::Rng64::seed_from_u64(seed);
    let noise = gaussian(&mut rng, n);
    (0..n)
        .map(|i| 100.0 + 5.0 * (i as f64 * std::f64::consts::TAU / 25.0).sin() + sd * noise[i])
        .collect()
}

/// The 0.1 / 0.9 quantile 1.2816 standard deviations either side of the median.
const Z90: f64 = 1.281_551_565_545;

struct Trained {
    split: Split,
    forecaster: Forecaster,
    seconds: f64,
}

/// Trains `networks` networks of a quantile model on `values` (the last `test` held out).
fn train(
    values: &[f64],
    quantiles: &[f64],
    horizon: usize,
    networks: usize,
    epochs: usize,
) -> Trained {
    let mut config = RunConfig::default();
    config.model.network.layers = vec![16];
    config.model.framing.window = 25;
    config.model.network.dropout = 0.0;
    config.model.framing.transform = TransformKind::Minmax;
    config.model.framing.horizon = horizon;
    config.model.framing.quantiles = quantiles.to_vec();
    config.train.epochs = epochs;
    config.train.optimizer = gruf::config::OptimizerKind::Adam;
    config.train.lr = 5e-3;
    config.train.batch_size = 32;
    config.validate().unwrap();
    let split = Split::new(values.len(), 25, 400, 0.1).unwrap();
    let featurizer =
        Featurizer::fit(&config.model.framing, &values[..split.fit_end()], None).unwrap();
    let data = TrainData {
        values: values.into(),
        featurizer: &featurizer,
        split: &split,
    };
    let started = Instant::now();
    let models = (0..networks)
        .map(|i| {
            let outcome = gruf::train::train(
                &config.model,
                &config.train,
                11 + i as u64,
                &Loss::for_head(&config.model.io()),
                &[data],
                &Device::Cpu,
                &mut |_| Flow::Continue,
            )
            .unwrap();
            Model::new(&config.model.network, &config.model.io(), &outcome.weights).unwrap()
        })
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let forecaster = Forecaster::ensemble(models, featurizer, Device::Cpu).unwrap();
    Trained {
        split,
        forecaster,
        seconds,
    }
}

/// Every step's quantiles in order, none crossing.
#[track_caller]
fn assert_sorted(paths: &[Vec<Vec<f64>>]) {
    for (o, path) in paths.iter().enumerate() {
        for (k, step) in path.iter().enumerate() {
            assert!(
                step.windows(2).all(|w| w[0] <= w[1]) && step.iter().all(|v| v.is_finite()),
                "origin {o}, step {k}: {step:?}"
            );
        }
    }
}

#[test]
fn quantile_forecasts_cover_held_out_noise_at_their_level_and_never_cross() {
    let sd = 1.0;
    let values = noisy_sine(2000, sd, 5);
    let quantiles = [0.1, 0.5, 0.9];
    let t = train(&values, &quantiles, 2, 1, 30);
    let f = &t.forecaster;
    assert_eq!(f.quantiles(), &quantiles);
    let origins: Vec<usize> = t.split.test.clone().take(t.split.test.len() - 1).collect();
    let paths = f.quantile_paths(&values, &origins, 2).unwrap();
    assert_sorted(&paths);
    for k in 0..2 {
        let (mut inside, mut width) = (0, 0.0);
        for (&o, path) in origins.iter().zip(&paths) {
            let (lo, hi) = (path[k][0], path[k][2]);
            inside += usize::from(lo <= values[o + k] && values[o + k] <= hi);
            width += hi - lo;
        }
        let coverage = 100.0 * inside as f64 / origins.len() as f64;
        let width = width / origins.len() as f64;
        eprintln!(
            "step {}: 0.1-0.9 coverage {coverage:.1} % over {} held-out targets, mean width {width:.3} (noise alone: {:.3}); trained in {:.1} s",
            k + 1,
            origins.len(),
            2.0 * Z90 * sd,
            t.seconds
        );
        assert!(
            (60.0..=95.0).contains(&coverage),
            "step {}: {coverage} %",
            k + 1
        );
        assert!(
            (1.0..=2.0 * 2.0 * Z90 * sd).contains(&width),
            "step {}: mean width {width}",
            k + 1
        );
    }
    // The point forecasts are the median quantile, one step and K steps ahead (from the
    // same origins: a batch of another size may round the last bit differently).
    let one = f
        .one_step(&values, origins[0]..origins[origins.len() - 1] + 1)
        .unwrap();
    let medians: Vec<f64> = paths.iter().map(|p| p[0][1]).collect();
    assert_eq!(one, medians);
    let point = f.paths(&values, &origins, 2).unwrap();
    for (p, q) in point.iter().zip(&paths) {
        assert_eq!(p, &vec![q[0][1], q[1][1]]);
    }
}

/// A network trained for one epoch puts its quantiles in any order; sorted, no forecast
/// crosses, one network or an ensemble, within the horizon or past it. An ensemble's
/// quantiles are the elementwise median of its networks' (each sorted first), and a
/// forecast past the horizon continues from the median: its second block is the first
/// block forecast from the history continued by the first block's median.
#[test]
fn no_forecast_crosses_and_an_ensemble_takes_the_median_of_each_quantile() {
    let values = noisy_sine(900, 1.0, 8);
    let quantiles = [0.025, 0.1, 0.5, 0.9, 0.975];
    let t = train(&values, &quantiles, 2, 3, 1);
    let f = &t.forecaster;
    let origins: Vec<usize> = (t.split.test.start..values.len()).step_by(3).collect();

    // The head's raw outputs do cross somewhere: the sort has work to do.
    let inputs = f.featurizer().inputs(&values, &origins);
    let raw = f.models()[0].predict(&inputs, 25, &Device::Cpu).unwrap();
    let crossed = raw
        .chunks(quantiles.len())
        .filter(|step| step.windows(2).any(|w| w[1] < w[0]))
        .count();
    assert!(crossed > 0, "no raw output crossed: the test shows nothing");

    let paths = f.quantile_paths(&values, &origins, 7).unwrap();
    assert_eq!(
        (paths.len(), paths[0].len(), paths[0][0].len()),
        (origins.len(), 7, 5)
    );
    assert_sorted(&paths);

    // Each network alone, then the median over them of each quantile.
    let each: Vec<Vec<Vec<Vec<f64>>>> = f
        .models()
        .iter()
        .map(|m| {
            let one = Forecaster::new(m.clone(), f.featurizer().clone(), Device::Cpu).unwrap();
            let p = one.quantile_paths(&values, &origins, 2).unwrap();
            assert_sorted(&p);
            p
        })
        .collect();
    let direct = f.quantile_paths(&values, &origins, 2).unwrap();
    for (o, path) in direct.iter().enumerate() {
        for (k, step) in path.iter().enumerate() {
            for (j, &v) in step.iter().enumerate() {
                let mut nets: Vec<f64> = each.iter().map(|p| p[o][k][j]).collect();
                nets.sort_by(f64::total_cmp);
                assert_eq!(v, nets[1], "origin {o}, step {k}, quantile {j}");
            }
        }
        assert_eq!(&paths[o][..2], &path[..], "origin {o}");
    }

    // Past the horizon: from the history continued by the median. (One origin at a time
    // on both sides: a batch of another size may round the last bit differently.)
    let o = origins[4];
    let alone = f.quantile_paths(&values, &[o], 7).unwrap().remove(0);
    let mut continued = values[..o].to_vec();
    continued.extend([alone[0][2], alone[1][2]]);
    let next = f.quantile_paths(&continued, &[o + 2], 2).unwrap();
    assert_eq!(&alone[2..4], &next[0][..]);
    // And the point forecast is that median path.
    let point = f.recursive(&values[..o], 7).unwrap();
    let medians: Vec<f64> = alone.iter().map(|s| s[2]).collect();
    assert_eq!(point, medians);
}
