//! Two seasons (`--season 24,168`): on hourly data with a daily and a weekly multiplicative
//! cycle the seasonal transform with both forecasts the held-out part better than with the
//! daily one alone; a model of two seasons goes through the checkpoint and back, in a form
//! a gruf of one period refuses; lists and windows that cannot work are refused.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::{Checkpoint, FittedSeries};
use gruf::config::RunConfig;
use gruf::features::scaler::{Scaler, TransformKind};
use gruf::forecast::Forecaster;
use gruf::model::loss::Loss;
use gruf::rng::Rng64;
use gruf::series::csv::{load_csv, DataConfig};
use gruf::series::season::Seasons;
use gruf::series::Series;
use gruf::train::prepare::{prepare, Prepared};
use gruf::train::{Flow, Outcome, TrainData};
use predicates::str::contains;
use rand::{Rng, SeedableRng};

use crate::common;
use crate::common::gruf;

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
    config.model.network.layers = vec![8];
    config.model.network.dropout = 0.0;
    config.model.framing.window = 336;
    config.model.framing.horizon = 48;
    config.model.framing.transform = TransformKind::Seasonal;
    config.train.epochs = 3;
    config.train.lr = 3e-3;
    config.train.test_days = 48;
    config.train.seed = Some(5);
    config
}

fn fit(config: &mut RunConfig, series: &Series) -> (Prepared, Outcome) {
    let prepared = prepare(config, series, config.train.test_days).unwrap();
    config.model.input_width = prepared.featurizer.features();
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
        gruf::model::Model::new(&config.model.network, &config.model.io(), &o.weights).unwrap(),
        prepared.featurizer,
        Device::Cpu,
    )
    .unwrap();
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
    config.model.framing.window = 24;
    config.model.framing.horizon = 5;
    config.model.network.layers = vec![3];
    config.train.epochs = 1;
    let (prepared, outcome) = fit(&mut config, &loaded.series);
    let seasons = Seasons::new(&[3, 12]).unwrap();
    assert!(matches!(
        prepared.featurizer.scaler,
        Scaler::Seasonal { seasons: s, .. } if s == seasons
    ));
    let member = FittedSeries {
        id: String::new(),
        scaler: prepared.featurizer.scaler,
        inputs: Vec::new(),
        split: prepared.split.clone(),
        mase_scale: Some(2.0),
        file: None,
        held_out_from: None,
        held_out_in_utc: false,
    };
    let trained = gruf::train::Ensemble {
        networks: vec![outcome],
        interrupted: None,
    };
    let ckpt = Checkpoint::trained(config, 5, vec![member], loaded.provenance, trained);
    let path = dir.path().join("two.gruf");
    ckpt.save(&path).unwrap();
    let back = Checkpoint::load(&path, &Device::Cpu).unwrap();
    // A model of one series reads where its held-out part begins from its stored dates.
    let mut read = ckpt.meta.clone();
    read.date_held_out();
    assert_eq!(back.meta, read);
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

/// `--fill` (issue 20): the calendar steps missing between rows are inserted and filled,
/// for one series and per series of a global model, the method is stored in the model and
/// applied again to whatever CSV a consumer reads, and without it training says how many
/// windows run across a gap.
mod fill {
    use super::*;
    use gruf::series::fill::Fill;
    use predicates::boolean::PredicateBooleanExt;

    /// The sample's lines (header first) of `rows` days.
    fn sample_lines(dir: &Path, rows: usize) -> Vec<String> {
        common::sample(dir, rows, "full.csv");
        let text = std::fs::read_to_string(dir.join("full.csv")).unwrap();
        text.lines().map(str::to_string).collect()
    }

    /// Data rows 100 to 104 and 200 (0-based, after the header) are missing.
    const MISSING: [usize; 6] = [100, 101, 102, 103, 104, 200];

    /// Writes `gappy.csv` (the sample without [`MISSING`]) and `by_hand.csv` (the same
    /// rows with each missing close put back as the straight line between its neighbours,
    /// computed here as `--fill linear` is documented to).
    fn gappy_and_by_hand(dir: &Path) {
        let lines = sample_lines(dir, 300);
        let close = |l: &str| l.split(',').nth(4).unwrap().parse::<f64>().unwrap();
        let gappy: Vec<&str> = (lines.iter().enumerate())
            .filter(|(i, _)| *i == 0 || !MISSING.contains(&(i - 1)))
            .map(|(_, l)| l.as_str())
            .collect();
        common::write(dir, "gappy.csv", &(gappy.join("\n") + "\n"));
        let mut by_hand = lines.clone();
        for (before, after) in [(99, 105), (199, 201)] {
            let (a, b) = (close(&lines[before + 1]), close(&lines[after + 1]));
            let steps = (after - before) as f64;
            for row in before + 1..after {
                let share = (row - before) as f64 / steps;
                let v = a + (b - a) * share;
                let mut fields: Vec<String> =
                    lines[row + 1].split(',').map(str::to_string).collect();
                fields[4] = v.to_string();
                by_hand[row + 1] = fields.join(",");
            }
        }
        common::write(dir, "by_hand.csv", &(by_hand.join("\n") + "\n"));
    }

    fn predict(dir: &Path, csv: &str) -> (String, String) {
        let out = gruf(dir)
            .args(["predict", "--days", "3", "--format", "json", "--csv", csv])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    }

    #[test]
    fn linear_fill_inserts_the_missing_days_and_the_model_fills_new_csvs_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        gappy_and_by_hand(dir);
        gruf(dir)
            .args(["train", "--csv", "gappy.csv", "--fill", "linear"])
            .args(common::loud(common::FAST))
            .assert()
            .success()
            .stderr(contains(
                "gappy.csv: filled 6 days missing in 2 gaps (--fill linear)",
            ))
            .stderr(contains("run across a gap").not())
            .stderr(contains("not filled").not());
        let ckpt = Checkpoint::load(&dir.join("gruf-model.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(ckpt.meta.config.data.fill, Fill::Linear);
        assert_eq!(ckpt.meta.data.rows, 300);
        assert_eq!(ckpt.meta.first().split.test, 270..300);

        // The stored method fills the CSV predict reads: the gappy file forecasts exactly
        // what the file filled by hand does, and says what it filled.
        let (gappy, note) = predict(dir, "gappy.csv");
        assert!(
            note.contains(
                "gappy.csv: filled 6 days missing (--fill linear, as the model was trained)"
            ),
            "{note}"
        );
        let (by_hand, note) = predict(dir, "by_hand.csv");
        assert!(!note.contains("filled"), "{note}");
        assert_eq!(gappy, by_hand);
        gruf(dir)
            .args(["evaluate", "--csv", "gappy.csv"])
            .assert()
            .success();

        // Without --fill, the same rows are read as consecutive, and training says so.
        let out = gruf(dir)
            .args([
                "train",
                "--csv",
                "gappy.csv",
                "--model",
                "plain.safetensors",
            ])
            .args(common::FAST)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("windows run across a gap in the dates, reading the rows either side as consecutive (--fill ffill, linear or seasonal inserts the missing steps)"),
            "{stderr}"
        );
        assert!(
            stderr.contains("2 gaps in the dates (6 days missing, 2 % of the span, at most 5 days in a row, first after 2019-04-10); not filled (train with --fill ffill, linear or seasonal to insert the missing steps)"),
            "{stderr}"
        );
        let plain = Checkpoint::load(&dir.join("plain.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(plain.meta.config.data.fill, Fill::None);
        assert_eq!(plain.meta.data.rows, 294);
    }

    /// Filled rows among the held-out values are counted in a warning; a fill that would
    /// invent more rows than were read is refused in one line.
    #[test]
    fn filled_held_out_values_are_counted_and_runaway_fills_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let lines = sample_lines(dir, 300);
        let kept: Vec<&str> = (lines.iter().enumerate())
            .filter(|(i, _)| !(290..=292).contains(i))
            .map(|(_, l)| l.as_str())
            .collect();
        common::write(dir, "late.csv", &(kept.join("\n") + "\n"));
        gruf(dir)
            .args(["train", "--csv", "late.csv", "--fill", "ffill"])
            .args(common::FAST)
            .assert()
            .success()
            .stderr(contains(
                "3 of the 30 held-out values are rows --fill ffill inserted; the test scores count them as data",
            ));

        let mut stray = lines[..50].join("\n");
        stray.push_str("\n2030-01-01,1,1,1,100,100,0\n");
        common::write(dir, "stray.csv", &stray);
        let out = gruf(dir)
            .args(["train", "--csv", "stray.csv", "--fill", "linear"])
            .args(common::TINY_NO_HOLDOUT)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(65), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("gruf: error: ")
                && stderr.contains("stray.csv")
                && stderr.contains("--fill linear: the dates miss")
                && stderr.contains("pass --fill none"),
            "{stderr}"
        );
    }

    /// A global model fills each series on its own (`seasonal`: the value a week earlier
    /// on daily data), remembers it, and fills again when it forecasts.
    #[test]
    fn a_global_model_fills_each_series() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let text = common::long_csv(&["AAA", "BBB"], 200);
        // BBB misses days 50 to 52; AAA misses none.
        let gappy: Vec<&str> = (text.lines())
            .filter(|l| {
                !(l.contains(",BBB,")
                    && ["2021-02-20", "2021-02-21", "2021-02-22"]
                        .iter()
                        .any(|d| l.starts_with(d)))
            })
            .collect();
        assert_eq!(gappy.len(), text.lines().count() - 3);
        common::write(dir, "long.csv", &(gappy.join("\n") + "\n"));
        gruf(dir)
            .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
            .args(["--fill", "seasonal", "--test-days", "20"])
            .args([
                "--layers", "8", "--window", "10", "--epochs", "2", "--seed", "1",
            ])
            .assert()
            .success()
            .stderr(contains(
                "series 'BBB': filled 3 days missing in 1 gap (--fill seasonal)",
            ));
        let ckpt = Checkpoint::load(&dir.join("gruf-model.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(ckpt.meta.config.data.fill, Fill::Seasonal);
        let splits: Vec<_> = ckpt
            .meta
            .series
            .iter()
            .map(|m| m.split.test.clone())
            .collect();
        assert_eq!(splits, [180..200, 180..200]);
        let out = gruf(dir).args(["predict", "--days", "2"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("filled 3 days missing"), "{stderr}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("AAA") && stdout.contains("BBB"), "{stdout}");

        // The fill as the library loads it: each missing day is the value 7 days before.
        let config = DataConfig {
            id_column: Some("Symbol".into()),
            fill: Fill::Seasonal,
            ..DataConfig::default()
        };
        let panel = gruf::series::panel::load_panel(&dir.join("long.csv"), &config).unwrap();
        let bbb = &panel.get("BBB").unwrap().loaded;
        assert_eq!(bbb.filled, [50, 51, 52]);
        for i in [50, 51, 52] {
            assert_eq!(bbb.series.values[i], bbb.series.values[i - 7]);
        }
        assert!(panel.get("AAA").unwrap().loaded.filled.is_empty());
    }
}
