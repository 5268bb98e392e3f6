//! A global model over many series (issue 11, `--id-column`): a long CSV of series on very
//! different scales trains one network, each series scaled on its own training part; the
//! model file lists every series; `predict` forecasts each (or `--series`), the id first;
//! series the model never saw are fitted on their own past (or refused by a min-max
//! model), and every malformed long CSV is refused in one line that names the series or
//! the lines.

use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{gruf, stdout, write, FAST};

fn train(dir: &std::path::Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec!["train", "--csv", "long.csv", "--id-column", "Symbol"];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    gruf(dir).args(&args).assert()
}

fn metadata(dir: &std::path::Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("gruf-model.safetensors")).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    serde_json::from_str(&header.metadata().as_ref().unwrap()[gruf::checkpoint::META_KEY]).unwrap()
}

/// Three series on scales 10, 100 and 1,000: one model, three scalers each fitted on its
/// own series' training part, a pooled held-out table, and forecasts on each series' own
/// scale with the id first.
#[test]
fn one_model_learns_every_series_and_forecasts_each() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 150),
    );
    let table = stdout(
        gruf(dir.path())
            .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
            .args(FAST),
    );
    assert!(table.contains("over 3 series"), "{table}");
    assert!(table.contains("mean MASE"), "{table}");
    assert!(table.contains("seasonal naive 7"), "{table}");

    let meta = metadata(dir.path());
    assert_eq!(meta["format_version"], gruf::checkpoint::FORMAT_VERSION);
    assert_eq!(meta["config"]["data"]["id_column"], "Symbol");
    assert!(meta.get("scaler").is_none(), "{meta}");
    let series = meta["series"].as_array().unwrap();
    let ids: Vec<&str> = series.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["AAA", "BBB", "CCC"]);
    // Min-max scalers: each series' own range, about ten times the one before.
    let maxima: Vec<f64> = series
        .iter()
        .map(|s| s["scaler"]["max"].as_f64().unwrap())
        .collect();
    assert!(
        maxima[0] < 30.0 && maxima[1] > 150.0 && maxima[1] < 300.0 && maxima[2] > 1500.0,
        "{maxima:?}"
    );
    for s in series {
        assert_eq!(s["split"]["test"]["end"], 150, "{s}");
    }

    let csv = stdout(gruf(dir.path()).args(["predict", "--days", "2", "--format", "csv"]));
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["series", "date", "forecast", "seen"]);
    assert_eq!(rows.len(), 1 + 3 * 2, "{csv}");
    for (row, (id, scale)) in
        rows[1..]
            .iter()
            .zip([("AAA", 10.0), ("AAA", 10.0), ("BBB", 100.0), ("BBB", 100.0)])
    {
        assert_eq!(row[0], id);
        let v: f64 = row[2].parse().unwrap();
        assert!(v > scale && v < 4.0 * scale, "{id}: {v}");
    }
    assert_eq!(rows[1][1], "2021-05-31");

    let one = stdout(gruf(dir.path()).args(["predict", "--days", "3", "--series", "BBB"]));
    assert_eq!(one.lines().count(), 1 + 3, "{one}");
    assert!(one.lines().skip(1).all(|l| l.starts_with("BBB ")), "{one}");
    gruf(dir.path())
        .args(["predict", "--series", "ZZZ"])
        .assert()
        .code(2)
        .stderr(contains(
            "--series ZZZ: the model has no such series; it has 'AAA', 'BBB', 'CCC'",
        ));
}

/// A series too short for one window plus the held-out part is left out by name; a file
/// given to `predict` with a series the model never saw is refused.
#[test]
fn short_and_unseen_series_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = common::long_csv(&["AAA", "BBB"], 120);
    text.push_str("2021-01-01,TINY,5\n2021-01-02,TINY,6\n");
    write(dir.path(), "long.csv", &text);
    train(dir.path(), &[])
        .success()
        .stderr(contains("left out 1 series of 3: 'TINY'"));
    let ids: Vec<String> = metadata(dir.path())["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["AAA", "BBB"]);

    write(
        dir.path(),
        "other.csv",
        &common::long_csv(&["AAA", "BBB", "NEW"], 120),
    );
    gruf(dir.path())
        .args(["predict", "--csv", "other.csv"])
        .assert()
        .code(65)
        .stderr(contains("1 series the model was not trained on: 'NEW'"));
    // The same data without the new series forecasts.
    write(
        dir.path(),
        "same.csv",
        &common::long_csv(&["AAA", "BBB"], 130),
    );
    gruf(dir.path())
        .args(["predict", "--csv", "same.csv", "--days", "1"])
        .assert()
        .success();
}

/// Malformed long CSVs: one line each, exit 65, nothing written.
#[test]
fn malformed_long_files_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::long_csv(&["AAA", "BBB"], 100);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "id column missing",
            good.replace("Symbol", "Ticker"),
            "id column 'Symbol' not found; columns are: Date, Ticker, Close; pass --id-column",
        ),
        (
            "empty id",
            good.replacen(",BBB,", ",,", 1),
            "line 3: Symbol is empty; every row needs a series id",
        ),
        (
            "same (id, date) twice with different values",
            format!("{good}2021-01-01,BBB,1.5\n"),
            "series 'BBB': lines 3 and 202 have the same Date (2021-01-01) but different Close",
        ),
        (
            "a bad value",
            good.replacen(",AAA,", ",AAA,x", 1),
            "line 2 (series 'AAA'): Close value 'x",
        ),
    ];
    for (what, text, message) in cases {
        write(dir.path(), "long.csv", &text);
        train(dir.path(), &[])
            .code(65)
            .stderr(contains(message).name(what))
            .stderr(predicate::function(|s: &str| s.trim().lines().count() == 1));
    }
    assert!(!dir.path().join("gruf-model.safetensors").exists());

    // Ids that differ only by case or spaces are kept apart, with a warning.
    write(
        dir.path(),
        "long.csv",
        &format!(
            "{good}{}",
            common::long_csv(&["aaa"], 100).replace("Date,Symbol,Close\n", "")
        ),
    );
    train(dir.path(), &[]).success().stderr(contains(
        "series ids 'AAA' and 'aaa' differ only by case or spaces",
    ));
}

/// `--recent-windows N` trains on each series' N latest training windows: with batches of
/// one window, an epoch of two series has 2·N batches (all their windows without it), and
/// the same seed gives another model.
#[test]
fn recent_windows_keep_each_series_latest_windows() {
    use gruf::config::RunConfig;
    use gruf::features::split::Split;
    use gruf::features::Featurizer;
    use gruf::train::{train, Event, Flow, TrainData};

    let series: Vec<Vec<f64>> = (0..2)
        .map(|k| {
            (0..80)
                .map(|i| 50.0 + k as f64 + (i as f64 * 0.4).sin())
                .collect()
        })
        .collect();
    let mut config = RunConfig::default();
    config.model.network.layers = vec![3];
    config.model.framing.window = 5;
    config.train.epochs = 1;
    config.train.batch_size = 1;
    let splits: Vec<Split> = series
        .iter()
        .map(|v| Split::new(v.len(), 5, 10, 0.1).unwrap())
        .collect();
    let featurizers: Vec<Featurizer> = series
        .iter()
        .zip(&splits)
        .map(|(v, s)| Featurizer::fit(&config.model.framing, &v[..s.fit_end()], None).unwrap())
        .collect();
    let data: Vec<TrainData<'_>> = (0..2)
        .map(|k| TrainData {
            values: series[k].as_slice().into(),
            featurizer: &featurizers[k],
            split: &splits[k],
        })
        .collect();
    let run = |recent: usize| {
        let mut config = config.clone();
        config.train.recent_windows = recent;
        let mut batches = 0;
        let outcome = train(
            &config.model,
            &config.train,
            7,
            &gruf::model::loss::Loss::Mse,
            &data,
            &candle_core::Device::Cpu,
            &mut |e| {
                if let Event::EpochStart { batches: b, .. } = e {
                    batches = b;
                }
                Flow::Continue
            },
        )
        .unwrap();
        (
            batches,
            outcome.weights["dense.bias"].to_vec1::<f32>().unwrap(),
        )
    };
    let all = splits[0].train.len() + splits[1].train.len();
    let (every, w_all) = run(0);
    let (seven, w_seven) = run(7);
    assert_eq!((every, seven), (all, 14));
    assert_ne!(w_all, w_seven);
}

/// Several `--csv` files of one series each make the same global model as one long CSV
/// of those series: each file's series is named by its stem, and the forecasts match the
/// long CSV's to the last digit (same series, same order, same seed). The model reads its
/// files again when no `--csv` is given; a file given to `predict` forecasts its own
/// series; stems that collide, a stem the model never saw and `--id-column` with several
/// files are refused in one line.
#[test]
fn several_files_train_the_same_model_as_one_long_csv() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["AAA", "BBB", "CCC"];
    let long = common::long_csv(&ids, 150);
    write(dir.path(), "long.csv", &long);
    for id in ids {
        let mut text = String::from("Date,Close\n");
        for line in long.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f[1] == id {
                text.push_str(&format!("{},{}\n", f[0], f[2]));
            }
        }
        write(dir.path(), &format!("{id}.csv"), &text);
    }
    train(dir.path(), &["--model", "long.gruf"]).success();
    let mut args = vec!["train", "--model", "files.gruf"];
    for file in ["AAA.csv", "BBB.csv", "CCC.csv"] {
        args.extend(["--csv", file]);
    }
    args.extend_from_slice(FAST);
    let table = stdout(gruf(dir.path()).args(&args));
    assert!(table.contains("over 3 series"), "{table}");

    let predict = |model: &str| {
        stdout(gruf(dir.path()).args([
            "predict", "--model", model, "--days", "3", "--format", "csv",
        ]))
    };
    let (from_long, from_files) = (predict("long.gruf"), predict("files.gruf"));
    assert_eq!(from_long.lines().count(), 1 + 3 * 3, "{from_long}");
    assert_eq!(from_long, from_files);

    let one = stdout(gruf(dir.path()).args([
        "predict",
        "--model",
        "files.gruf",
        "--csv",
        "BBB.csv",
        "--days",
        "2",
    ]));
    assert_eq!(one.lines().count(), 1 + 2, "{one}");
    assert!(one.lines().skip(1).all(|l| l.starts_with("BBB ")), "{one}");

    std::fs::copy(dir.path().join("BBB.csv"), dir.path().join("bbb-new.csv")).unwrap();
    gruf(dir.path())
        .args(["predict", "--model", "files.gruf", "--csv", "bbb-new.csv"])
        .assert()
        .code(65)
        .stderr(contains("1 series the model was not trained on: 'bbb-new' (a series is named by its file's stem"));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::copy(dir.path().join("BBB.csv"), dir.path().join("sub/BBB.csv")).unwrap();
    gruf(dir.path())
        .args(["train", "--csv", "BBB.csv", "--csv", "sub/BBB.csv"])
        .args(FAST)
        .assert()
        .code(2)
        .stderr(contains(
            "--csv BBB.csv and --csv sub/BBB.csv would both be series 'BBB'",
        ));
    gruf(dir.path())
        .args([
            "train",
            "--csv",
            "AAA.csv",
            "--csv",
            "BBB.csv",
            "--id-column",
            "Symbol",
        ])
        .args(FAST)
        .assert()
        .code(2)
        .stderr(contains(
            "--id-column Symbol reads one long CSV, but --csv was given 2 times",
        ));
    // The model reads its own files again: gone, it says which.
    std::fs::remove_file(dir.path().join("CCC.csv")).unwrap();
    gruf(dir.path())
        .args(["predict", "--model", "files.gruf"])
        .assert()
        .failure()
        .stderr(contains("CCC.csv"));
}

/// `evaluate` on a global model scores each series' held-out part and pools them as
/// forecasting competitions do: the pooled MASE of each forecaster is the mean of the
/// per-series ones (checked here from the CSV, not trusted from gruf's own table);
/// `--series` narrows it to one series.
#[test]
fn evaluate_scores_each_series_and_pools_them() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 150),
    );
    train(dir.path(), &[]).success();
    let table = stdout(gruf(dir.path()).args(["evaluate"]));
    for id in ["AAA ", "BBB ", "CCC "] {
        assert!(table.lines().any(|l| l.starts_with(id)), "{table}");
    }
    assert!(
        table.contains("held out: 90 one-step targets over 3 series"),
        "{table}"
    );

    let csv = stdout(gruf(dir.path()).args(["evaluate", "--format", "csv"]));
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mase = |series: &str, table: &str, forecaster: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r[0] == series && r[1] == table && r[2] == forecaster)
            .map(|r| r[8].parse().unwrap())
            .collect()
    };
    for table in ["one_step", "in_one_go"] {
        for forecaster in ["model", "naive", "seasonal naive 7"] {
            let each: Vec<f64> = ["AAA", "BBB", "CCC"]
                .iter()
                .flat_map(|id| mase(id, table, forecaster))
                .collect();
            assert_eq!(each.len(), 3, "{table} {forecaster}: {csv}");
            let pooled = mase("", table, forecaster);
            let mean = each.iter().sum::<f64>() / 3.0;
            assert!(
                (pooled[0] - mean).abs() < 1e-9 * mean.abs().max(1.0),
                "{table} {forecaster}: {pooled:?} vs {mean}"
            );
        }
    }
    // One-step targets per series: the 30 held out.
    assert!(
        rows.iter()
            .filter(|r| r[1] == "one_step" && !r[0].is_empty())
            .all(|r| r[3] == "30"),
        "{csv}"
    );

    let one = stdout(gruf(dir.path()).args(["evaluate", "--series", "BBB", "--format", "csv"]));
    assert!(
        one.lines()
            .skip(1)
            .all(|l| l.starts_with("BBB,") || l.starts_with(',')),
        "{one}"
    );
    assert!(one.contains("\nBBB,one_step,model,30,"), "{one}");
    let json: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path()).args(["evaluate", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(json["series"].as_array().unwrap().len(), 3);
    assert_eq!(json["one_step"]["series"], 3);
}

/// `backtest --id-column` retrains one global model per fold on every series' history
/// before the fold and scores each series' fold: the pooled rows of all folds are the mean
/// of the per-series, per-fold rows (checked from the CSV); a series too short for the
/// span is left out by name.
#[test]
fn backtest_walks_every_series_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = common::long_csv(&["AAA", "BBB"], 150);
    text.push_str("2021-01-01,TINY,5\n2021-01-02,TINY,6\n");
    write(dir.path(), "long.csv", &text);
    let out = gruf(dir.path())
        .args([
            "backtest",
            "--csv",
            "long.csv",
            "--id-column",
            "Symbol",
            "--folds",
            "2",
            "--format",
            "csv",
        ])
        .args(FAST)
        .assert()
        .success()
        .stderr(contains(
            "left out 1 series of 3, shorter than the 30 values to backtest on: 'TINY'",
        ));
    let csv = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // fold, series, table, forecaster, n, mae, rmse, mape, smape, mase, ...
    for forecaster in ["model", "naive"] {
        let each: Vec<f64> = rows
            .iter()
            .filter(|r| {
                !r[0].is_empty() && !r[1].is_empty() && r[2] == "one_step" && r[3] == forecaster
            })
            .map(|r| r[9].parse().unwrap())
            .collect();
        assert_eq!(each.len(), 2 * 2, "{csv}");
        let all: Vec<f64> = rows
            .iter()
            .filter(|r| r[0].is_empty() && r[2] == "one_step" && r[3] == forecaster)
            .map(|r| r[9].parse().unwrap())
            .collect();
        let mean = each.iter().sum::<f64>() / 4.0;
        assert!(
            (all[0] - mean).abs() < 1e-9 * mean.max(1.0),
            "{forecaster}: {all:?} vs {mean}"
        );
    }
    // Fold 1 scores the first 15 of the 30 held-out days of each series, fold 2 the rest.
    let n: Vec<&str> = rows
        .iter()
        .filter(|r| r[1] == "AAA" && r[2] == "one_step" && r[3] == "model")
        .map(|r| r[4])
        .collect();
    assert_eq!(n, ["15", "15"], "{csv}");
}

/// `backtest --id-column --interval 0.8` scores each fold's calibrated intervals (one
/// network calibrated on every series' validation part) pooled over the series, and over
/// all folds; the table says so too.
#[test]
fn backtest_of_a_panel_scores_intervals_per_fold_and_pooled() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 200),
    );
    let args = [
        "backtest",
        "--csv",
        "long.csv",
        "--id-column",
        "Symbol",
        "--folds",
        "2",
        "--interval",
        "0.8",
    ];
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path())
            .args(args)
            .args(["--format", "json"])
            .args(FAST),
    ))
    .unwrap();
    let folds = doc["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 2, "{doc}");
    let model_row = |c: &serde_json::Value, steps: u64| -> serde_json::Value {
        (c["rows"].as_array().unwrap().iter())
            .find(|r| r["forecaster"] == "model" && r["steps"] == steps)
            .unwrap_or_else(|| panic!("no model row {steps} steps ahead: {c}"))
            .clone()
    };
    let mut targets = 0;
    for f in folds {
        let c = &f["intervals"];
        assert_eq!(c["levels"], serde_json::json!([0.8]), "{f}");
        let row = model_row(c, 1);
        let coverage = row["scores"][0]["coverage"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&coverage), "{row}");
        // Every series' 15 one-step targets of the fold.
        assert_eq!(row["scores"][0]["n"], 3 * 15, "{row}");
        targets += row["scores"][0]["n"].as_u64().unwrap();
    }
    let all = &doc["all"]["intervals"];
    assert_eq!(model_row(all, 1)["scores"][0]["n"], targets, "{all}");

    let table = stdout(gruf(dir.path()).args(args).args(FAST));
    assert_eq!(table.matches("\nintervals: ").count(), 3, "{table}");
    assert!(table.contains("80 %"), "{table}");
}

/// A panel backtest of a model that predicts K > 1 steps pools each series' errors by
/// horizon as MASE (its MAE over its own naive error), so series on scales 10 to 1,000
/// count alike: per fold and over all folds.
#[test]
fn backtest_of_a_panel_pools_errors_by_horizon_over_each_series_scale() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 200),
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(
        gruf(dir.path())
            .args(["backtest", "--csv", "long.csv", "--id-column", "Symbol"])
            .args(["--folds", "2", "--horizon", "3", "--format", "json"])
            .args(FAST),
    ))
    .unwrap();
    for f in doc["folds"].as_array().unwrap() {
        let h = f["horizons"].as_array().unwrap();
        assert_eq!(h.len(), 3, "{f}");
        // Every series' 15 origins of the fold.
        assert_eq!(h[0]["origins"], 3 * 15, "{f}");
    }
    let all = doc["all"]["horizons"].as_array().unwrap();
    assert_eq!(all.len(), 3, "{doc}");
    assert_eq!(all[0]["origins"], 2 * 3 * 15, "{doc}");
    for h in all {
        // The naive forecast's error over its own one-step error: about 1 at horizon 1,
        // not the hundreds of the largest series' MAE.
        let naive = h["naive_mae"].as_f64().unwrap();
        assert!(naive > 0.2 && naive < 10.0, "{h}");
    }
}

/// Many series' warnings: one that every series shares (the price column chosen) is
/// printed once for all of them, and at most 20 series' own warnings are shown, the rest
/// counted; `predict` still forecasts every series.
#[test]
fn warnings_of_many_series_are_grouped_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..30).map(|k| format!("S{k:02}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    // `value` rather than Close: a note for every series. From day 10 on, every 31st
    // row is dropped: each series misses dates of its own, gaps with their own dates.
    let text = common::long_csv(&ids, 80).replace("Date,Symbol,Close", "Date,Symbol,value");
    let dropped = |row: usize| row >= 10 * ids.len() && row.is_multiple_of(ids.len() + 1);
    let text: String = (text.lines().enumerate())
        .filter(|&(i, _)| i == 0 || !dropped(i - 1))
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    write(dir.path(), "long.csv", &text);
    let out = train(dir.path(), &[]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let shared: Vec<&str> = (stderr.lines())
        .filter(|l| l.contains("using 'value' as the price column"))
        .collect();
    assert_eq!(shared.len(), 1, "{stderr}");
    assert!(
        shared[0].contains("all 30 series: no Close column"),
        "{stderr}"
    );
    let gaps = stderr
        .lines()
        .filter(|l| l.contains(" in the dates ("))
        .count();
    // 20 warnings shown: the shared one and 19 series' gaps; 11 counted.
    assert_eq!(gaps, 19, "{stderr}");
    assert!(
        stderr.contains("11 more warnings on 11 series ('S19', 'S20',"),
        "{stderr}"
    );
    let csv = stdout(gruf(dir.path()).args(["predict", "--days", "2", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 1 + 2 * ids.len(), "{csv}");
}

/// The held-out part is found by date in whatever CSV `evaluate` reads: a file that starts
/// later than the training data (its first 20 days cut) scores the same 30 held-out days of
/// each series, with the same one-step errors, rather than 20 rows too late.
#[test]
fn evaluate_finds_the_held_out_part_by_date() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::long_csv(&["AAA", "BBB"], 150);
    write(dir.path(), "long.csv", &text);
    train(dir.path(), &[]).success();
    let cut: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || *i > 20 * 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    write(dir.path(), "later.csv", &cut);
    let one_step = |csv: &str| -> Vec<(String, String)> {
        let out = stdout(gruf(dir.path()).args(["evaluate", "--csv", csv, "--format", "csv"]));
        out.lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|r| !r[0].is_empty() && r[1] == "one_step" && r[2] == "model")
            .map(|r| (r[3].clone(), r[8].clone()))
            .collect()
    };
    let (full, later) = (one_step("long.csv"), one_step("later.csv"));
    assert_eq!(full.len(), 2);
    assert!(full.iter().all(|(n, _)| n == "30"), "{full:?}");
    assert_eq!(full, later);
}

/// Issue 20: min-max scaling warns for each series of a global model as it does for a
/// model of one series: at train for the series whose validation/test values leave their
/// training range (named; the series that stays inside is not), and at predict for the
/// series whose last window lies outside it.
#[test]
fn min_max_warns_for_each_series_that_leaves_its_training_range() {
    let dir = tempfile::tempdir().unwrap();
    // FLAT swings around 100; RISE climbs steadily, so its last 30 % lie above its
    // training part's maximum.
    let mut text = String::from("Date,Symbol,Close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    for i in 0..150 {
        let date = start + chrono::Duration::days(i);
        let t = i as f64;
        text.push_str(&format!(
            "{date},FLAT,{:.3}\n",
            100.0 + (t * 0.4).sin() * 5.0
        ));
        text.push_str(&format!("{date},RISE,{:.3}\n", 50.0 + t + (t * 0.4).sin()));
    }
    write(dir.path(), "long.csv", &text);
    let out = gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(FAST)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("series 'RISE': ") && stderr.contains("outside the training range"),
        "{stderr}"
    );
    assert!(!stderr.contains("series 'FLAT': "), "{stderr}");
    gruf(dir.path())
        .args(["predict", "--days", "3"])
        .assert()
        .success()
        .stderr(
            contains("series 'RISE': 10 of the last 10 values lie outside the range")
                .and(contains("series 'FLAT'").not()),
        );
}

/// A series the model never saw is forecast when its transform is fitted per series: a
/// copy of a training series under a new id is fitted on its own training part exactly as
/// training fitted the original, so its forecasts and scores are the original's, marked
/// unseen; a model with `minmax` refuses it in one line naming the transforms that can.
#[test]
fn a_series_the_model_never_saw_is_fitted_on_its_own_past() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::long_csv(&["AAA", "BBB"], 150);
    write(dir.path(), "long.csv", &text);
    train(dir.path(), &["--transform", "window"]).success();
    let copy: String = (text.lines())
        .flat_map(|l| match l.contains(",AAA,") {
            true => vec![l.to_string(), l.replace(",AAA,", ",ZZZ,")],
            false => vec![l.to_string()],
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), "new.csv", &copy);

    let assert = gruf(dir.path())
        .args([
            "predict", "--csv", "new.csv", "--days", "3", "--format", "csv",
        ])
        .assert()
        .success()
        .stderr(contains("1 series the model was not trained on: 'ZZZ'"));
    let csv = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["series", "date", "forecast", "seen"]);
    let of = |id: &str| -> Vec<(String, String, String)> {
        (rows.iter())
            .filter(|r| r[0] == id)
            .map(|r| (r[1].to_string(), r[2].to_string(), r[3].to_string()))
            .collect()
    };
    let (aaa, zzz) = (of("AAA"), of("ZZZ"));
    assert_eq!(aaa.len(), 3, "{csv}");
    for (a, z) in aaa.iter().zip(&zzz) {
        assert_eq!((&a.0, &a.1, a.2.as_str()), (&z.0, &z.1, "true"), "{csv}");
        assert_eq!(z.2, "false", "{csv}");
    }
    let table = stdout(gruf(dir.path()).args(["predict", "--csv", "new.csv", "--days", "1"]));
    assert!(table.contains("not trained on: 'ZZZ'"), "{table}");

    // Scored against its own baselines, the same as the original.
    let csv = stdout(gruf(dir.path()).args(["evaluate", "--csv", "new.csv", "--format", "csv"]));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let one_step = |id: &str| -> Vec<String> {
        (csv.lines().skip(1))
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|r| r[0] == id && r[1] == "one_step")
            .map(|r| format!("{} {} {}", r[2], r[col("mase")], r[col("seen")]))
            .collect()
    };
    let (aaa, zzz) = (one_step("AAA"), one_step("ZZZ"));
    assert!(!aaa.is_empty(), "{csv}");
    assert_eq!(
        aaa.iter()
            .map(|r| r.replace(" true", ""))
            .collect::<Vec<_>>(),
        zzz.iter()
            .map(|r| r.replace(" false", ""))
            .collect::<Vec<_>>(),
        "{csv}"
    );
    assert!(zzz.iter().all(|r| r.ends_with(" false")), "{csv}");

    // A new series too short to be cut as training cuts one is refused, naming it.
    let short: String = copy
        .lines()
        .chain(
            (text.lines().skip(1).filter(|l| l.contains(",AAA,")))
                .take(8)
                .map(|l| l.split(",AAA,").collect::<Vec<_>>().join(",SHORT,"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), "short.csv", &short);
    let assert = gruf(dir.path())
        .args(["predict", "--csv", "short.csv"])
        .assert()
        .code(65)
        .stderr(contains(
            "series 'SHORT', which the model was not trained on, cannot be scaled on its own past",
        ));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(!stderr.contains("--window"), "{stderr}");
    // Choosing the others forecasts them.
    gruf(dir.path())
        .args(["predict", "--csv", "short.csv", "--series", "ZZZ"])
        .assert()
        .success();

    // A min-max model scales each series by its training range: it refuses new series.
    let minmax = tempfile::tempdir().unwrap();
    write(minmax.path(), "long.csv", &text);
    write(minmax.path(), "new.csv", &copy);
    train(minmax.path(), &[]).success();
    let assert = gruf(minmax.path())
        .args(["predict", "--csv", "new.csv"])
        .assert()
        .code(65)
        .stderr(contains("'ZZZ'"))
        .stderr(contains("window, diff, logret or seasonal"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `evaluate --horizon H --samples N` of a global model scores every series by horizon
/// and with MC dropout intervals, and pools them: each pooled horizon is the mean over
/// series of their MAE over their MASE scale (gruf 1.6 warned and dropped both flags).
#[test]
fn evaluate_of_a_global_model_pools_horizons_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB", "CCC"], 150),
    );
    train(dir.path(), &["--dropout", "0.2"]).success();
    let assert = gruf(dir.path())
        .args([
            "evaluate",
            "--horizon",
            "4",
            "--samples",
            "8",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // Neither flag is dropped with a warning.
    assert!(
        !stderr.contains("--horizon") && !stderr.contains("--samples"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let series = doc["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    let pooled = doc["horizons"].as_array().unwrap();
    assert_eq!(pooled.len(), 4, "{doc}");
    for (h, p) in pooled.iter().enumerate() {
        let mean = series
            .iter()
            .map(|s| {
                s["horizons"][h]["model_mae"].as_f64().unwrap() / s["mase_scale"].as_f64().unwrap()
            })
            .sum::<f64>()
            / 3.0;
        let got = p["model_mase"].as_f64().unwrap();
        assert!(
            (got - mean).abs() < 1e-12 * mean.max(1.0),
            "horizon {}: {got} vs {mean}",
            h + 1
        );
        assert_eq!(p["series"], 3);
    }
    let rows = doc["intervals"]["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["forecaster"] == "model, MC dropout (8 samples)"),
        "{doc}"
    );
    assert_eq!(doc["intervals"]["pooled_series"], 3);
    assert!(
        series.iter().all(|s| s["intervals"]["rows"].is_array()),
        "{doc}"
    );
}
