//! Two seasons (`--season 24,168`): on hourly data with a daily and a weekly multiplicative
//! cycle the seasonal transform with both forecasts the held-out part better than with the
//! daily one alone; a model of two seasons goes through the checkpoint and back, in a form
//! a gruf of one period refuses; lists and windows that cannot work are refused.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::{Checkpoint, Member};
use gruf::config::RunConfig;
use gruf::data::{load_csv, DataConfig, Series};
use gruf::forecast::Forecaster;
use gruf::loss::Loss;
use gruf::pipeline::{prepare, Prepared};
use gruf::rng::Rng64;
use gruf::scaler::{Scaler, TransformKind};
use gruf::season::Seasons;
use gruf::train::{Flow, Outcome, TrainData};
use predicates::str::contains;
use rand::{Rng, SeedableRng};

mod common;
use common::gruf;

/// Monday 2024-01-01 00:00 UTC.
const MONDAY: i64 = 1_704_067_200;

/// `weeks` weeks of hours from a Monday midnight, then two days more (a Monday and a
/// Tuesday: the held-out part starts on the Monday after a weekend): a level times a
/// working-day shape (a morning and an evening peak) on weekdays, a lower and flatter
/// shape at weekends, times a little noise. The daily period alone sees one mean day.
fn daily_and_weekly(weeks: usize) -> Series {
    let mut rng = Rng64::seed_from_u64(11);
    let n = weeks * 168 + 48;
    let values = (0..n)
        .map(|t| {
            let (day, hour) = ((t / 24) % 7, (t % 24) as f64);
            let tau = std::f64::consts::TAU;
            let shape = if day < 5 {
                1.0 + 0.45 * (tau * (hour - 9.0) / 24.0).cos() + 0.2 * (tau * hour / 12.0).sin()
            } else {
                0.55 + 0.1 * (tau * (hour - 14.0) / 24.0).cos()
            };
            let noise: f64 = rng.random_range(-0.03..0.03);
            100.0 * shape * (1.0 + 0.02 * (day as f64)) * noise.exp()
        })
        .collect();
    Series::new((0..n as i64).map(|t| MONDAY + t * 3600).collect(), values)
}

/// A small seasonal model of `series` with `seasons`: window 336 (two weeks), horizon 48.
fn config(seasons: &str) -> RunConfig {
    let mut config = RunConfig::default();
    config.data.season = Some(seasons.parse().unwrap());
    config.model.layers = vec![8];
    config.model.dropout = 0.0;
    config.model.window = 336;
    config.model.horizon = 48;
    config.model.transform = TransformKind::Seasonal;
    config.train.epochs = 3;
    config.train.lr = 3e-3;
    config.train.test_days = 48;
    config.train.seed = Some(5);
    config
}

fn fit(config: &mut RunConfig, series: &Series) -> (Prepared, Outcome) {
    let prepared = prepare(config, series, config.train.test_days).unwrap();
    config.model.features = prepared.featurizer.features();
    let data = TrainData {
        values: series.into(),
        featurizer: &prepared.featurizer,
        split: &prepared.split,
    };
    let outcome = gruf::train::train(
        &config.model,
        &config.train,
        5,
        &Loss::Mse,
        &[data],
        &Device::Cpu,
        &mut |_| Flow::Continue,
    )
    .unwrap();
    (prepared, outcome)
}

/// Mean absolute percentage error of the 48-hour forecast made in one go from the start
/// of the held-out part.
fn held_out_error(config: &RunConfig, series: &Series, prepared: Prepared, o: Outcome) -> f64 {
    let forecaster = Forecaster::new(
        gruf::model::Model::new(&config.model, &o.weights).unwrap(),
        prepared.featurizer,
        Device::Cpu,
    );
    let start = prepared.split.test.start;
    let path = forecaster
        .paths(series, &[start], 48)
        .unwrap()
        .pop()
        .unwrap();
    let truth = &series.values[start..start + 48];
    100.0
        * path
            .iter()
            .zip(truth)
            .map(|(p, t)| (p / t - 1.0).abs())
            .sum::<f64>()
        / 48.0
}

/// The held-out part is the Monday and Tuesday after a weekend. With the daily period
/// alone the baseline is Sunday's level in the mean day's shape, and three epochs of a
/// small network do not learn the week back; with the weekly period too the baseline is
/// the last two weeks' Monday and Tuesday. Same seed, window and network: only the list of
/// periods differs. (A profile of the wrong phase, or a level not taken off the weekly
/// factor, makes the two-season error the larger.)
#[test]
fn a_weekly_cycle_is_forecast_better_with_both_periods() {
    let series = daily_and_weekly(9);
    assert_eq!(series.calendar.season(), Some(24));
    let mut errors = Vec::new();
    for seasons in ["24", "24,168"] {
        let mut config = config(seasons);
        let (prepared, outcome) = fit(&mut config, &series);
        assert_eq!(prepared.split.test.start % 168, 0, "starts on a Monday");
        errors.push(held_out_error(&config, &series, prepared, outcome));
    }
    eprintln!(
        "held-out MAPE: season 24 {:.2} %, 24,168 {:.2} %",
        errors[0], errors[1]
    );
    assert!(
        errors[1] < 0.5 * errors[0],
        "24,168: {:.2} % is not half of 24 alone: {:.2} %",
        errors[1],
        errors[0]
    );
}

/// Periods 3 and 12 on a tiny series, trained through the library and saved: the file
/// stores the list as a scaler kind of its own (`seasons`) and the configured list as a
/// list, loads back to the same metadata and forecasts the same numbers. What a gruf of one
/// period reads (its records, copied here as they were) refuses both.
#[test]
fn two_seasons_go_through_the_checkpoint_and_old_readers_refuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let series = daily_and_weekly(2);
    let csv = common::write(dir.path(), "hourly.csv", &hourly_csv(&series));
    let loaded = load_csv(&csv, &DataConfig::default()).unwrap();
    let mut config = config("3,12");
    config.model.window = 24;
    config.model.horizon = 5;
    config.model.layers = vec![3];
    config.train.epochs = 1;
    let (prepared, outcome) = fit(&mut config, &loaded.series);
    let seasons = Seasons::new(&[3, 12]).unwrap();
    assert!(matches!(
        prepared.featurizer.scaler,
        Scaler::Seasonal { seasons: s, .. } if s == seasons
    ));
    let member = Member {
        id: String::new(),
        scaler: prepared.featurizer.scaler,
        inputs: Vec::new(),
        split: prepared.split.clone(),
        mase_scale: Some(2.0),
        file: None,
        held_out_from: None,
    };
    let trained = gruf::train::Ensemble {
        networks: vec![outcome],
        interrupted: None,
    };
    let ckpt = Checkpoint::trained(config, 5, vec![member], loaded.provenance, trained);
    let path = dir.path().join("two.gruf");
    ckpt.save(&path).unwrap();
    let back = Checkpoint::load(&path, &Device::Cpu).unwrap();
    assert_eq!(back.meta, ckpt.meta);
    assert_eq!(back.meta.config.data.season, Some(seasons));
    let forecast = |c: &Checkpoint| {
        c.forecaster(&Device::Cpu)
            .unwrap()
            .recursive(&loaded.series, 12)
            .unwrap()
    };
    let (a, b) = (forecast(&ckpt), forecast(&back));
    assert_eq!(a, b);
    assert!(a.iter().all(|v| v.is_finite() && *v > 0.0), "{a:?}");

    let json: serde_json::Value = serde_json::from_str(&ckpt.meta.to_json().unwrap()).unwrap();
    assert_eq!(json["config"]["data"]["season"], serde_json::json!([3, 12]));
    assert_eq!(json["scaler"]["kind"], "seasons");
    assert_eq!(json["scaler"]["periods"], serde_json::json!([3, 12]));
    let old_scaler = serde_json::from_value::<old::Scaler>(json["scaler"].clone()).unwrap_err();
    assert!(
        old_scaler.to_string().contains("unknown variant `seasons`"),
        "{old_scaler}"
    );
    let old_data = serde_json::from_value::<old::Data>(json["config"]["data"].clone()).unwrap_err();
    assert!(
        old_data.to_string().contains("invalid type: sequence"),
        "{old_data}"
    );
    // One period is still written as before, and old readers take it.
    let one = serde_json::json!({"kind": "seasonal", "m": 24, "scale": 0.1});
    assert!(serde_json::from_value::<old::Scaler>(one).is_ok());
}

/// The metadata records of gruf 1.2.0 (commit f1a5efa) that read a scaler and the
/// configured season, as a gruf of one period has them.
mod old {
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    pub enum Scaler {
        Minmax { min: f64, max: f64 },
        Window { scale: f64 },
        Logret { scale: f64 },
        Diff { scale: f64 },
        Seasonal { m: usize, scale: f64 },
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    pub struct Data {
        #[serde(default)]
        pub season: Option<usize>,
    }
}

/// A stored model whose list of periods is out of order, or whose window is too short for
/// its seasons, is refused with the reason.
#[test]
fn stored_seasons_are_checked_as_the_flag_is() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::write(dir.path(), "h.csv", &hourly_csv(&daily_and_weekly(3)));
    let mut train = gruf(dir.path());
    train.args([
        "train",
        "--csv",
        "h.csv",
        "--transform",
        "seasonal",
        "--season",
        "3,12",
    ]);
    train.args([
        "--window",
        "24",
        "--horizon",
        "4",
        "--layers",
        "3",
        "--epochs",
        "1",
    ]);
    train.args([
        "--test-size",
        "24",
        "--seed",
        "1",
        "--model",
        "m.gruf",
        "--quiet",
    ]);
    train.assert().success();
    assert!(csv.exists());
    let model = std::fs::read(dir.path().join("m.gruf")).unwrap();
    for (from, to, says) in [
        (
            r#"periods\":[3,12]"#,
            r#"periods\":[12,3]"#,
            "season 12,3: list the periods from the shortest up",
        ),
        (
            r#"window\":24"#,
            r#"window\":20"#,
            "needs --window 24 or more",
        ),
    ] {
        let at = model
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap_or_else(|| panic!("{from}"));
        // The metadata is a JSON string inside the header (its quotes escaped); the same
        // length keeps the header's size.
        let mut bad = model.clone();
        bad[at..at + to.len()].copy_from_slice(to.as_bytes());
        std::fs::write(dir.path().join("bad.gruf"), bad).unwrap();
        gruf(dir.path())
            .args(["predict", "--model", "bad.gruf", "--csv", "h.csv"])
            .assert()
            .code(65)
            .stderr(contains(says));
    }
}

fn hourly_csv(series: &Series) -> String {
    let mut text = String::from("time,value\n");
    for (t, v) in series.dates.iter().zip(&series.values) {
        let date = chrono::DateTime::from_timestamp(*t, 0).unwrap();
        text.push_str(&format!("{},{v}\n", date.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    text
}

/// Lists the flag and a config file refuse, and a window too short for them, each with
/// what to do; a config file takes a number or a list.
#[test]
fn bad_lists_and_short_windows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "h.csv", &hourly_csv(&daily_and_weekly(3)));
    let train = |extra: &[&str]| {
        let mut cmd = gruf(dir.path());
        cmd.args(["train", "--csv", "h.csv", "--epochs", "1", "--layers", "3"]);
        cmd.args(["--test-size", "24", "--model", "m.gruf", "--quiet"]);
        cmd.args(extra);
        cmd.assert()
    };
    for (season, says) in [
        ("24,x", "'x' is not a whole number of steps"),
        (
            "168,24",
            "season 168,24: list the periods from the shortest up, each once",
        ),
        (
            "24,24",
            "season 24,24: list the periods from the shortest up, each once",
        ),
        ("24,1", "season 1: must be between 2 and 10000 steps"),
        ("2,3,4,5", "give at most 3 periods"),
    ] {
        train(&["--season", season]).code(2).stderr(contains(says));
    }
    train(&["--transform", "seasonal", "--season", "24,168", "--window", "168"])
        .code(2)
        .stderr(contains(
            "--transform seasonal with seasons 24,168 needs --window 336 or more (two cycles of 168 steps",
        ))
        .stderr(contains("not 168; pass --window 336, or --season 24"));
    let config = |name: &str, text: &str| {
        common::write(dir.path(), name, text);
        name.to_string()
    };
    let bad = config("bad.toml", "[data]\nseason = [168, 24]\n");
    train(&["--config", &bad])
        .code(2)
        .stderr(contains("list the periods from the shortest up"));
    let short = config(
        "short.toml",
        "[data]\nseason = [24, 168]\n[model]\ntransform = \"seasonal\"\nwindow = 300\n",
    );
    train(&["--config", &short])
        .code(2)
        .stderr(contains("needs --window 336 or more"));
    // The first period is the baselines' whatever follows it.
    let one = config("one.toml", "[data]\nseason = 24\n");
    train(&["--config", &one, "--window", "24"]).success();
    assert!(Path::new(&dir.path().join("m.gruf")).exists());
}
