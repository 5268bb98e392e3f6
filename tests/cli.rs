//! The binary as a user runs it: train → predict → plot on a small series, and the
//! error cases, each checked for its exit code, its message and an untouched model file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

/// A tiny, fast model on a 300-day synthetic series.
const FAST: &[&str] = &[
    "--layers",
    "8",
    "--window",
    "10",
    "--epochs",
    "2",
    "--test-days",
    "30",
    "--seed",
    "1",
    "--quiet",
];

fn gruf(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gruf"));
    cmd.current_dir(dir);
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A temporary folder holding `prices.csv` (300 synthetic days).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    dir
}

fn trained() -> tempfile::TempDir {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .assert()
        .success();
    dir
}

fn hash(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn train_predict_plot_end_to_end() {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .assert()
        .success()
        .stdout(contains("naive forecast").and(contains("saved model to gruf-model.safetensors")));
    assert!(dir.path().join("gruf-model.safetensors").exists());

    // The sample ends on 2019-10-27 (300 days from 2019-01-01): dates continue daily.
    gruf(dir.path())
        .args(["predict", "--days", "3"])
        .assert()
        .success()
        .stdout(
            contains("2019-10-28")
                .and(contains("2019-10-30"))
                .and(contains("2019-10-31").not()),
        );

    let out = gruf(dir.path())
        .args(["predict", "--days", "4", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "date,forecast");
    for line in &lines[1..] {
        let value: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert!(value.is_finite() && value > 0.0, "{line}");
    }

    let out = gruf(dir.path())
        .args(["predict", "--days", "2", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["forecast"].as_array().unwrap().len(), 2);
    assert_eq!(doc["last_date"], "2019-10-27");

    let out = gruf(dir.path()).args(["evaluate"]).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    for row in [
        "held-out MAE",
        "model",
        "naive",
        "drift",
        "moving average 7",
        "MASE",
    ] {
        assert!(table.contains(row), "{row} missing from:\n{table}");
    }
    let out = gruf(dir.path())
        .args(["evaluate", "--format", "json"])
        .output()
        .unwrap();
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["one_step"]["n"], 30);
    assert_eq!(e["one_step"]["rows"].as_array().unwrap().len(), 4);
    let horizons = e["horizons"].as_array().unwrap();
    assert_eq!(horizons.len(), 7);
    assert_eq!(horizons[6]["origins"], 30 - 6);

    gruf(dir.path())
        .args(["plot", "--out", "p.png"])
        .assert()
        .success()
        .stdout(contains("wrote p.png"));
    assert!(hash(&dir.path().join("p.png")).starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn same_seed_same_model_bit_for_bit() {
    let dir = workspace();
    for name in ["a.safetensors", "b.safetensors"] {
        gruf(dir.path())
            .args(["train", "--csv", "prices.csv", "--model", name])
            .args(FAST)
            .assert()
            .success();
    }
    let load = |n: &str| {
        gruf::checkpoint::Checkpoint::load(&dir.path().join(n), &candle_core::Device::Cpu).unwrap()
    };
    let (a, b) = (load("a.safetensors"), load("b.safetensors"));
    for (name, t) in &a.weights {
        let x = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let y = b.weights[name]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{name} differs"
        );
    }
    let losses = |c: &gruf::checkpoint::Checkpoint| {
        c.meta
            .history
            .iter()
            .map(|r| r.val_loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.meta.seed, 1);
}

#[test]
fn predict_from_newer_csv_uses_its_last_window() {
    let dir = trained();
    gruf(dir.path())
        .args(["sample", "--rows", "320", "--out", "newer.csv"])
        .assert()
        .success();
    gruf(dir.path())
        .args(["predict", "--csv", "newer.csv", "--days", "1"])
        .assert()
        .success()
        .stdout(contains("2019-11-17"));
}

#[test]
fn missing_inputs_exit_66() {
    let dir = workspace();
    gruf(dir.path())
        .args(["train", "--csv", "nope.csv"])
        .assert()
        .code(66)
        .stderr(contains("nope.csv").and(contains("no such file")));
    gruf(dir.path())
        .args(["predict"])
        .assert()
        .code(66)
        .stderr(contains("gruf-model.safetensors").and(contains("gruf train")));
    gruf(dir.path())
        .args(["train", "--csv", "."])
        .assert()
        .code(66)
        .stderr(contains("directory"));
}

#[test]
fn bad_csv_content_exits_65_with_line_and_value() {
    let dir = workspace();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "Date,Open\n2020-01-01,1\n",
            "empty-ish",
            &["column 'Close' not found", "Date, Open", "--column"],
        ),
        (
            "Date,Close\n2020-01-01,1\n2020-01-02,abc\n",
            "bad",
            &["line 3", "'abc'", "not a number"],
        ),
        (
            "Date,Close\n2020-01-01,1\n2020-01-02,-5\n",
            "neg",
            &["line 3", "not positive"],
        ),
        (
            "Date,Close\n2020-01-01,1\n2020-01-02,inf\n",
            "inf",
            &["line 3", "finite"],
        ),
        (
            "Date,Close\n2020-01-01,1\n2020-01-01,2\n",
            "dup",
            &["lines 2 and 3", "2020-01-01"],
        ),
        (
            "Date,Close\n01/02/2021,1\n",
            "ambiguous",
            &["line 2", "--date-format"],
        ),
        ("", "empty", &["empty"]),
        (
            "Date,Close\n2020-01-01,1\n2020-01-02,2\n",
            "short",
            &["at least 42", "--test-days"],
        ),
        ("Date,Close\n2020-01-01,1\n2020-01-02,2,3\n", "ragged, more", &["line 3 has 3 fields", "header has 2"]),
        ("Date,Open,Close\n2020-01-01,1,2\n2020-01-02,2\n", "ragged, fewer", &["line 3 has 2 fields", "header has 3"]),
        ("Date,Close,close\n2020-01-01,1,2\n", "duplicate header", &["appears 2 times", "rename one"]),
        ("Day,Close\n2020-01-01,1\n", "no date column", &["no date column", "Day, Close", "--date-column"]),
        ("Date,Close\n2020-01-01,1e39\n", "f32 overflow", &["line 2", "too large"]),
        ("Date,Close\n2020-03-01,5\n2020-03-02,5\n2020-03-03,5\n2020-03-04,5\n2020-03-05,5\n2020-03-06,5\n2020-03-07,5\n2020-03-08,5\n2020-03-09,5\n2020-03-10,5\n2020-03-11,5\n2020-03-12,5\n2020-03-13,5\n2020-03-14,5\n2020-03-15,5\n2020-03-16,5\n2020-03-17,5\n2020-03-18,5\n2020-03-19,5\n2020-03-20,5\n2020-03-21,5\n2020-03-22,5\n2020-03-23,5\n2020-03-24,5\n2020-03-25,5\n2020-03-26,5\n2020-03-27,5\n2020-03-28,5\n2020-03-29,5\n2020-03-30,5\n2020-03-31,5\n2020-04-01,5\n2020-04-02,5\n2020-04-03,5\n2020-04-04,5\n2020-04-05,5\n2020-04-06,5\n2020-04-07,5\n2020-04-08,5\n2020-04-09,5\n2020-04-10,5\n2020-04-11,5\n2020-04-12,5\n2020-04-13,5\n2020-04-14,5\n2020-04-15,5\n", "constant", &["constant", "prices that move"]),
    ];
    for (i, (text, what, fragments)) in cases.iter().enumerate() {
        let name = format!("case{i}.csv");
        write(dir.path(), &name, text);
        let assert = gruf(dir.path())
            .args(["train", "--csv", &name])
            .args(FAST)
            .assert()
            .code(65);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert_eq!(
            stderr.lines().count(),
            1,
            "{what}: one line expected, got {stderr}"
        );
        assert!(stderr.contains(&name), "{what}: {stderr}");
        for f in *fragments {
            assert!(stderr.contains(f), "{what}: '{f}' not in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
    // Latin-1 bytes (é as 0xE9) far down a valid file: refused with the byte position.
    let mut bytes = b"Date,Close\n2020-01-01,1\n".to_vec();
    bytes.extend_from_slice(b"2020-01-02,caf\xe9\n");
    std::fs::write(dir.path().join("latin1.csv"), bytes).unwrap();
    gruf(dir.path())
        .args(["train", "--csv", "latin1.csv"])
        .args(FAST)
        .assert()
        .code(65)
        .stderr(contains("not valid UTF-8 at byte 38 (line 3)").and(contains("re-save")));
    assert!(
        !dir.path().join("gruf-model.safetensors").exists(),
        "a failed run wrote a model"
    );
}

#[test]
fn messy_but_valid_csv_is_cleaned_and_reported() {
    let dir = workspace();
    // Newest first, a Yahoo `null` row, a duplicate with the same value, a BOM and CRLF.
    let src = std::fs::read_to_string(dir.path().join("prices.csv")).unwrap();
    let mut lines: Vec<&str> = src.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let dup = lines[5];
    let mut text = format!("\u{feff}{header}\r\n");
    for (i, l) in lines.iter().enumerate() {
        if i == 10 {
            let date = l.split(',').next().unwrap();
            text.push_str(&format!("{date},null,null,null,null,null,null\r\n"));
        } else {
            text.push_str(&format!("{l}\r\n"));
        }
        if i == 5 {
            text.push_str(&format!("{dup}\r\n"));
        }
    }
    write(dir.path(), "messy.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "messy.csv"])
        .args(FAST)
        .assert()
        .success()
        .stderr(
            contains("newest-first")
                .and(contains("1 row with a missing Close"))
                .and(contains("1 duplicate row")),
        );
}

#[test]
fn usage_errors_exit_2() {
    let dir = workspace();
    gruf(dir.path())
        .args(["predict", "--days", "0"])
        .assert()
        .code(2)
        .stderr(contains("--days"));
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--bogus"])
        .assert()
        .code(2);
    write(dir.path(), "bad.toml", "[train]\nepoch = 3\n");
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--config", "bad.toml"])
        .assert()
        .code(2)
        .stderr(contains("bad.toml").and(contains("epoch")));
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--dropout", "1.5"])
        .assert()
        .code(2)
        .stderr(contains("dropout 1.5"));
}

#[test]
fn shipped_configs_parse_and_quick_trains() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = workspace();
    for name in ["default.toml", "quick.toml", "btc.toml"] {
        let path = root.join("configs").join(name);
        let partial = gruf::config::PartialConfig::from_file(&path).unwrap();
        let mut config = gruf::config::RunConfig::default();
        partial.apply(&mut config);
        config.validate().unwrap();
        if name == "default.toml" {
            assert_eq!(
                config,
                gruf::config::RunConfig::default(),
                "default.toml must be the built-in defaults"
            );
        }
    }
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--quiet", "--config"])
        .arg(root.join("configs/quick.toml"))
        .assert()
        .success();
}

#[test]
fn diverged_training_leaves_the_existing_model_untouched() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let before = hash(&model);
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .args(["--lr", "1e38", "--clip-norm", "0"])
        .assert()
        .code(65)
        .stderr(contains("diverged").and(contains("--lr")));
    assert_eq!(hash(&model), before);
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

#[test]
fn broken_model_files_are_refused() {
    let dir = trained();
    let good = hash(&dir.path().join("gruf-model.safetensors"));
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    let current = format!("format_version\\\":{}", gruf::checkpoint::FORMAT_VERSION);
    let newer = replace_bytes(&good, current.as_bytes(), b"format_version\\\":9");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", truncated, "truncated or corrupt"),
        (
            "garbage",
            b"hello world, not a model".to_vec(),
            "not a valid safetensors",
        ),
        ("pickle", vec![0x80, 0x04, 0x95, 0, 0, 0], "pickle"),
        ("zip", b"PK\x03\x04rest".to_vec(), "PyTorch"),
        ("newer", newer, "format version 9"),
    ];
    for (name, bytes, fragment) in cases {
        let path = dir.path().join(format!("{name}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        gruf(dir.path())
            .args(["predict", "--model"])
            .arg(&path)
            .assert()
            .code(65)
            .stderr(contains(fragment).and(contains(format!("{name}.safetensors"))));
    }
}

/// `haystack` with the first `from` replaced by `to` (same length: offsets stay valid).
fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = haystack.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn backtest_walks_forward_fold_by_fold() {
    let dir = workspace();
    let out = gruf(dir.path())
        .args([
            "backtest",
            "--csv",
            "prices.csv",
            "--folds",
            "3",
            "--refit-every",
            "2",
            "--format",
            "json",
        ])
        .args(FAST)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let folds = doc["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let refits: Vec<bool> = folds
        .iter()
        .map(|f| f["refit"].as_bool().unwrap())
        .collect();
    assert_eq!(refits, [true, false, true]);
    // The folds tile the last 30 days in order; each model was fitted only on data before them.
    let days: u64 = folds
        .iter()
        .map(|f| f["evaluation"]["n"].as_u64().unwrap())
        .sum();
    assert_eq!((days, doc["days"].as_u64().unwrap()), (30, 30));
    for f in folds {
        assert!(
            f["trained_to"].as_str().unwrap() < f["evaluation"]["first_date"].as_str().unwrap()
        );
    }
    assert_eq!(doc["totals"].as_array().unwrap().len(), 4);
    assert!(
        !dir.path().join("gruf-model.safetensors").exists(),
        "backtest must not write a model"
    );

    gruf(dir.path())
        .args(["backtest", "--csv", "prices.csv", "--folds", "40"])
        .args(FAST)
        .assert()
        .code(2)
        .stderr(contains("--folds"));
}

#[test]
fn ctrl_c_saves_the_best_model_so_far_and_exits_130() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = workspace();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
        .current_dir(dir.path())
        .args([
            "train",
            "--csv",
            "prices.csv",
            "--layers",
            "8",
            "--window",
            "10",
            "--test-days",
            "30",
        ])
        .args(["--seed", "1", "--epochs", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // Wait until two epochs are done (stderr is not a terminal: one line per epoch).
    while !seen.contains("epoch   2") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "gruf ended early: {seen}"
        );
        seen.push_str(&line);
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains("interrupted at epoch") && rest.contains("saved the best model so far"),
        "{rest}"
    );
    let ckpt = gruf::checkpoint::Checkpoint::load(
        &dir.path().join("gruf-model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("the interrupted run saved a loadable model");
    let (epoch, _) = ckpt
        .meta
        .interrupted
        .expect("the model records the interruption");
    assert!(epoch >= 2 && ckpt.meta.best_epoch <= epoch);
    assert!(ckpt.meta.test.is_some(), "test metrics are still computed");
}

/// SIGKILL at random moments of a run, many times: the model file on disk is always a
/// complete model (the old one or a new one), never a torn mix, because saves are a rename.
#[test]
fn sigkill_at_any_moment_never_leaves_a_torn_model() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let mut rng = 12345u64;
    for round in 0..25 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
            .current_dir(dir.path())
            .args(["train", "--csv", "prices.csv"])
            .args(FAST)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_micros(rng >> 48)); // 0–65 ms: before, during and after the save
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let loaded = gruf::checkpoint::Checkpoint::load(&model, &candle_core::Device::Cpu);
        assert!(loaded.is_ok(), "round {round}: {:?}", loaded.err());
    }
}

#[test]
fn hourly_bars_resample_to_daily_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("timestamp,close\n");
    for hour in 0..60 * 24 {
        let price = 100.0 + (hour as f64 / 10.0).sin() * 5.0 + hour as f64 * 0.01;
        text.push_str(&format!("{},{price:.4}\n", 1_577_836_800 + hour * 3_600));
    }
    write(dir.path(), "hourly.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "hourly.csv", "--resample", "1d"])
        .args(FAST)
        .assert()
        .success()
        .stderr(contains("resampled 1440 rows to 60 daily closes"));
    // The model remembers the resampling: the forecast continues daily after 2020-02-29.
    gruf(dir.path())
        .args(["predict", "--days", "2"])
        .assert()
        .success()
        .stdout(contains("2020-03-01").and(contains("2020-03-02")));
}
