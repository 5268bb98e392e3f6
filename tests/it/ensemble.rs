//! `--ensemble N` (issue 11): N networks trained from the seeds seed, seed + 1, …, kept in
//! one model file, forecasting the elementwise median of their forecasts in price units
//! (fed back as history when forecasting recursively). Checked against single models
//! trained alone with those seeds, so a wrong median or a wrong seed fails; an ensemble
//! survives save and load bit for bit; `--ensemble 0` is refused; a global model can be an
//! ensemble; an interrupted ensemble keeps the networks it finished.

use std::path::Path;

use candle_core::{Device, Tensor};
use gruf::checkpoint::{network_prefix, Checkpoint};
use gruf::forecast::Forecaster;
use gruf::series::csv::{load_csv, DataConfig};
use gruf::series::panel::load_panel;

use crate::common;
use crate::common::{gruf, stdout, workspace, write};

/// A tiny model holding out the last 30 values, without a seed (each test gives its own).
const TINY_UNSEEDED: &[&str] = &[
    "--layers",
    "8",
    "--window",
    "10",
    "--epochs",
    "2",
    "--test-days",
    "30",
    "--quiet",
];

/// Trains on `prices.csv` in `dir` with [`TINY_UNSEEDED`] and `extra`, saving to `model`.
fn train(dir: &Path, model: &str, extra: &[&str]) {
    gruf(dir)
        .args(["train", "--csv", "prices.csv", "--model", model])
        .args(TINY_UNSEEDED)
        .args(extra)
        .assert()
        .success();
}

fn load(dir: &Path, model: &str) -> Checkpoint {
    Checkpoint::load(&dir.join(model), &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// The median of each position over `each` (one vector per network), computed here on
/// its own: the middle value, or the mean of the two middle ones.
fn median_of(each: &[Vec<f64>]) -> Vec<f64> {
    (0..each[0].len())
        .map(|i| {
            let mut column: Vec<f64> = each.iter().map(|v| v[i]).collect();
            column.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let n = column.len();
            if n % 2 == 1 {
                column[n / 2]
            } else {
                (column[n / 2 - 1] + column[n / 2]) / 2.0
            }
        })
        .collect()
}

/// The forecast of `steps` values after `history` by networks forecasting as one: in
/// blocks of the horizon K, each block every network's direct forecast from the history
/// so far, their median appended to the history.
fn median_path(singles: &[Forecaster], history: &[f64], steps: usize) -> Vec<f64> {
    let k = singles[0].featurizer().horizon;
    let mut hist = history.to_vec();
    while hist.len() < history.len() + steps {
        let block = k.min(history.len() + steps - hist.len());
        let each: Vec<Vec<f64>> = singles
            .iter()
            .map(|f| f.recursive(&hist, block).unwrap())
            .collect();
        hist.extend(median_of(&each));
    }
    hist.split_off(history.len())
}

/// The forecast `gruf predict --format json` prints, as numbers.
fn predicted(dir: &Path, model: &str, days: usize) -> Vec<f64> {
    let out = stdout(gruf(dir).args([
        "predict",
        "--model",
        model,
        "--days",
        &days.to_string(),
        "--format",
        "json",
    ]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["forecast"].as_f64().unwrap())
        .collect()
}

/// An ensemble of three: three networks' tensors and trainings in one file, said so in
/// the progress, the report and by `evaluate`; saved again and loaded, every weight and
/// every stored value is what it was, and it forecasts the same numbers.
#[test]
fn an_ensemble_of_three_keeps_every_network_through_save_and_load() {
    let dir = workspace();
    let out = gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--model", "e.safetensors"])
        .args(common::loud(TINY_UNSEEDED))
        .args(["--seed", "5", "--ensemble", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (report, progress) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    for line in ["model 1 of 3 (seed 5)", "model 3 of 3 (seed 7)"] {
        assert!(progress.contains(line), "{line}: {progress}");
    }
    assert!(
        report.contains("trained an ensemble of 3 networks (seeds 5, 6, 7), 6 epochs in"),
        "{report}"
    );
    assert!(
        report.contains("network 2 (seed 6): 2 epochs, kept epoch"),
        "{report}"
    );
    let evaluate = gruf(dir.path())
        .args(["evaluate", "--model", "e.safetensors"])
        .output()
        .unwrap();
    assert!(evaluate.status.success());
    let said = String::from_utf8(evaluate.stderr).unwrap();
    assert!(
        said.contains(
            "e.safetensors is an ensemble of 3 networks (seeds 5, 6, 7): every forecast is their median"
        ),
        "{said}"
    );

    let a = load(dir.path(), "e.safetensors");
    assert_eq!(a.meta.networks(), 3);
    assert_eq!(a.meta.seeds(), [5, 6, 7]);
    assert_eq!(a.meta.config.train.ensemble, 3);
    assert!(a.meta.trainings().iter().all(|n| n.history.len() == 2));
    let single = gruf::model::param_shapes(&a.meta.model().network, &a.meta.model().io());
    assert_eq!(a.weights.len(), 3 * single.len());
    for i in 0..3 {
        for (name, _) in &single {
            assert!(a
                .weights
                .contains_key(&format!("{}{name}", network_prefix(i))));
        }
    }
    // Different seeds, different networks.
    assert_ne!(
        values(&a.weights["dense.weight"]),
        values(&a.weights["ensemble.2.dense.weight"])
    );

    a.save(&dir.path().join("again.safetensors")).unwrap();
    let b = load(dir.path(), "again.safetensors");
    assert_eq!(b.meta, a.meta);
    assert_eq!(
        b.weights.keys().collect::<Vec<_>>(),
        a.weights.keys().collect::<Vec<_>>()
    );
    for (name, t) in &a.weights {
        assert_eq!(values(&b.weights[name]), values(t), "{name}");
        assert_eq!(b.weights[name].dims(), t.dims(), "{name}");
    }
    let series = load_csv(&dir.path().join("prices.csv"), &DataConfig::default())
        .unwrap()
        .series;
    let forecast = |c: &Checkpoint| {
        c.forecaster(&Device::Cpu)
            .unwrap()
            .recursive(&series, 5)
            .unwrap()
    };
    assert_eq!(forecast(&b), forecast(&a));
    assert_eq!(predicted(dir.path(), "again.safetensors", 5), forecast(&a));
}

/// The ensemble trained with `--seed 4 --ensemble 3` is the three single models trained
/// alone with the seeds 4, 5 and 6, weight for weight; its one-step predictions and direct
/// K-step forecasts are the elementwise median of theirs, and its recursive forecast (what
/// `predict` prints) feeds that median back. Once with one step and min-max, once with a
/// direct three-step head and per-window normalisation.
#[test]
fn the_ensemble_forecasts_the_median_of_its_networks_trained_alone() {
    let cases: [&[&str]; 2] = [&[], &["--horizon", "3", "--transform", "window"]];
    for extra in cases {
        let dir = workspace();
        let d = dir.path();
        train(
            d,
            "e.safetensors",
            &[extra, &["--seed", "4", "--ensemble", "3"]].concat(),
        );
        let seeds = ["4", "5", "6"];
        for seed in seeds {
            train(
                d,
                &format!("s{seed}.safetensors"),
                &[extra, &["--seed", seed]].concat(),
            );
        }
        let ensemble = load(d, "e.safetensors");
        let singles: Vec<Checkpoint> = seeds
            .iter()
            .map(|s| load(d, &format!("s{s}.safetensors")))
            .collect();
        for (i, single) in singles.iter().enumerate() {
            for (name, t) in &single.weights {
                let mine = &ensemble.weights[&format!("{}{name}", network_prefix(i))];
                assert_eq!(values(mine), values(t), "{extra:?}: network {i}, {name}");
            }
        }

        let series = load_csv(&d.join("prices.csv"), &DataConfig::default())
            .unwrap()
            .series;
        let forecaster = ensemble.forecaster(&Device::Cpu).unwrap();
        let alone: Vec<Forecaster> = singles
            .iter()
            .map(|c| c.forecaster(&Device::Cpu).unwrap())
            .collect();
        assert_eq!(forecaster.models().len(), 3);

        // One step ahead over the held-out part.
        let test = ensemble.meta.first().split.test.clone();
        let each: Vec<Vec<f64>> = alone
            .iter()
            .map(|f| f.one_step(&series, test.clone()).unwrap())
            .collect();
        let got = forecaster.one_step(&series, test.clone()).unwrap();
        assert_eq!(got, median_of(&each), "{extra:?}: one step");
        // The networks disagree, so which one (or which mean) is taken matters.
        assert!(
            each[0] != each[1] && each[1] != each[2] && each[0] != each[2],
            "{extra:?}"
        );

        // Every step of the horizon at once, from several origins.
        let k = forecaster.featurizer().horizon;
        let origins: Vec<usize> = test.clone().step_by(7).collect();
        let paths = forecaster.paths(&series, &origins, k).unwrap();
        for (o, path) in origins.iter().zip(&paths) {
            let each: Vec<Vec<f64>> = alone
                .iter()
                .map(|f| f.paths(&series, &[*o], k).unwrap().remove(0))
                .collect();
            assert_eq!(path, &median_of(&each), "{extra:?}: origin {o}");
        }

        // Past the end of the data, block by block, the median fed back.
        let want = median_path(&alone, &series.values, 7);
        assert_eq!(forecaster.recursive(&series, 7).unwrap(), want, "{extra:?}");
        assert_eq!(predicted(d, "e.safetensors", 7), want, "{extra:?}");
    }
}

/// `--ensemble 0` (or 101, or `ensemble = 0` in a config file) is refused in one line
/// before any work, with exit 2 and no model written; a flag overrides the config file.
#[test]
fn an_ensemble_of_no_networks_is_refused() {
    let dir = workspace();
    let d = dir.path();
    write(d, "zero.toml", "[train]\nensemble = 0\n");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--ensemble", "0"],
            "ensemble 0: give between 1 and 100 networks",
        ),
        (
            &["--ensemble", "101"],
            "ensemble 101: give between 1 and 100 networks",
        ),
        (
            &["--config", "zero.toml"],
            "ensemble 0: give between 1 and 100 networks",
        ),
    ];
    for (flags, message) in cases {
        let out = gruf(d)
            .args(["train", "--csv", "prices.csv"])
            .args(TINY_UNSEEDED)
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{flags:?}: {err}");
        assert!(err.starts_with("gruf: error: "), "{err}");
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(!d.join("gruf-model.safetensors").exists());
    }
    let out = gruf(d)
        .args(["backtest", "--csv", "prices.csv", "--ensemble", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    train(
        d,
        "two.safetensors",
        &["--config", "zero.toml", "--ensemble", "2"],
    );
    assert_eq!(load(d, "two.safetensors").meta.networks(), 2);
    // Without the flag, a model of one network stores no trace of ensembles.
    train(d, "one.safetensors", &["--seed", "2"]);
    let bytes = std::fs::read(d.join("one.safetensors")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("ensemble"), "{text}");
}

/// A global model (`--id-column`) trained as an ensemble of two forecasts each series as
/// the mean (the median of two) of the two global models trained alone with its seeds.
#[test]
fn a_global_model_can_be_an_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from("Date,Symbol,Close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    for i in 0..120 {
        let date = start + chrono::Duration::days(i);
        for (k, id) in ["AAA", "BBB"].iter().enumerate() {
            let t = i as f64 + k as f64 * 3.0;
            let v = 10f64.powi(k as i32 + 1) * (2.0 + (t * 0.3).sin() * 0.3);
            text.push_str(&format!("{date},{id},{v:.4}\n"));
        }
    }
    write(d, "long.csv", &text);
    let global = |model: &str, extra: &[&str]| {
        stdout(
            gruf(d)
                .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
                .args(["--model", model])
                .args(TINY_UNSEEDED)
                .args(extra),
        )
    };
    let report = global("e.safetensors", &["--seed", "3", "--ensemble", "2"]);
    assert!(
        report.contains("trained an ensemble of 2 networks (seeds 3, 4), 4 epochs in"),
        "{report}"
    );
    assert!(report.contains("on 2 series"), "{report}");
    assert!(report.contains("network 2 (seed 4)"), "{report}");
    global("s3.safetensors", &["--seed", "3"]);
    global("s4.safetensors", &["--seed", "4"]);

    let ensemble = load(d, "e.safetensors");
    let singles = [load(d, "s3.safetensors"), load(d, "s4.safetensors")];
    let panel = load_panel(&d.join("long.csv"), &ensemble.meta.config.data).unwrap();
    let out = stdout(gruf(d).args([
        "predict",
        "--model",
        "e.safetensors",
        "--days",
        "4",
        "--format",
        "csv",
    ]));
    for member in &ensemble.meta.series {
        let series = &panel.get(&member.id).unwrap().loaded.series;
        let alone: Vec<Forecaster> = singles
            .iter()
            .map(|c| c.forecaster_for(c.meta.member(&member.id).unwrap(), &Device::Cpu))
            .collect::<anyhow::Result<_>>()
            .unwrap();
        let want = median_path(&alone, &series.values, 4);
        let got = ensemble
            .forecaster_for(member, &Device::Cpu)
            .unwrap()
            .recursive(series, 4)
            .unwrap();
        assert_eq!(got, want, "{}", member.id);
        let printed: Vec<f64> = out
            .lines()
            .filter(|l| l.starts_with(&format!("{},", member.id)))
            // series,date,forecast,seen
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .collect();
        assert_eq!(printed.len(), 4, "{out}");
        // CSV prints to 8 significant digits.
        common::assert_close(&member.id, &printed, &want, 1e-7, 0.0);
    }
}

/// Stopped in its second network, an ensemble of three keeps the first, finished; stopped
/// in its first, the first's best weights so far, as a single network would; stopped in
/// its third, the two before it.
#[test]
fn an_interrupted_ensemble_keeps_the_networks_it_finished() {
    use gruf::train::{train_ensemble, Event, Flow};
    let dir = workspace();
    let loaded = load_csv(&dir.path().join("prices.csv"), &DataConfig::default()).unwrap();
    let mut config = gruf::config::RunConfig::default();
    config.model.network.layers = vec![4];
    config.model.framing.window = 8;
    config.train.epochs = 2;
    config.train.test_days = 20;
    config.train.ensemble = 3;
    let values = &loaded.series.values;
    let prepared = gruf::train::prepare::prepare(&config, &loaded.series, 20).unwrap();
    let data = gruf::train::TrainData {
        values: values.into(),
        featurizer: &prepared.featurizer,
        split: &prepared.split,
    };
    for (stop_in, kept) in [(1, 1), (2, 1), (3, 2)] {
        let mut network = 0;
        let ensemble = train_ensemble(
            &config.model,
            &config.train,
            9,
            &gruf::model::loss::Loss::Mse,
            &[data],
            &Device::Cpu,
            &mut |e| {
                if let Event::Network { network: n, .. } = e {
                    network = n;
                }
                match e {
                    Event::Batch { .. } if network == stop_in => Flow::Stop,
                    _ => Flow::Continue,
                }
            },
        )
        .unwrap();
        assert_eq!(ensemble.networks.len(), kept, "stopped in {stop_in}");
        assert_eq!(ensemble.interrupted, Some((stop_in, 1, 1)));
        assert_eq!(
            ensemble.networks[0].interrupted.is_some(),
            stop_in == 1,
            "stopped in {stop_in}"
        );
        assert!(ensemble.networks[1..]
            .iter()
            .all(|n| n.interrupted.is_none() && n.history.len() == 2));
    }
}
