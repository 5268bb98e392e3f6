//! `gruf export`: the ONNX file, run in onnxruntime (an independent runtime, through
//! tests/onnx/run.py), gives `gruf predict`'s forecast and intervals to 1e-5 relative, for
//! every cell and transform, one and two layers, K = 1 and 48, a quantile head, ensembles,
//! covariates with calendar inputs, and a global model.
//!
//! The runtime is Python's onnxruntime: `bash scripts/onnx-env.sh` installs it (CI runs it
//! first) and the tests find it there or at `$GRUF_ONNX_PYTHON`. Without it they fail,
//! saying so: they never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use serde_json::{json, Value};

use crate::common::{gruf, long_csv, stdout, write};

/// The largest relative difference allowed between onnxruntime and `gruf predict`.
const RTOL: f64 = 1e-5;

/// The Python with onnxruntime: `$GRUF_ONNX_PYTHON`, else where scripts/onnx-env.sh puts it.
fn python() -> PathBuf {
    let path = std::env::var_os("GRUF_ONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/gruf-onnx/bin/python")
        });
    let ok = Process::new(&path)
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the export tests run each ONNX file in onnxruntime, and {} has none: run \
         `bash scripts/onnx-env.sh` (it installs onnxruntime into ~/.cache/gruf-onnx), or set \
         GRUF_ONNX_PYTHON to a python with onnxruntime and numpy",
        path.display()
    );
    path
}

/// One series as the runner batches it: its values, and where the model reads them, its
/// covariates (rows of columns), dates (Unix seconds) and index in `gruf.series`.
#[derive(Default)]
struct Window {
    values: Vec<f64>,
    covariates: Option<Vec<Vec<f64>>>,
    dates: Option<Vec<i64>>,
    /// The series' id, which the runner looks up in `gruf.series` for the `series` input.
    id: Option<String>,
}

/// Runs each model on its windows (one batch per model) in onnxruntime: per model, its
/// outputs by name (`shape`, flat `data`) and its metadata (`meta`).
fn onnxruntime(cases: &[(PathBuf, Vec<Window>)]) -> Vec<Value> {
    let request = json!({
        "cases": cases.iter().map(|(model, windows)| json!({
            "model": model,
            "windows": windows.iter().map(|w| json!({
                "values": w.values,
                "covariates": w.covariates,
                "dates": w.dates,
                "id": w.id,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    });
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/run.py");
    let mut child = Process::new(python())
        .arg(runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "onnxruntime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    reply["outputs"].as_array().unwrap().clone()
}

/// Columns of a CSV with a header, by name (numbers), and its first column's dates as Unix
/// seconds (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, read as UTC).
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap().split(',').map(String::from).collect();
        let rows = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        Csv { header, rows }
    }

    fn column(&self, name: &str) -> Vec<f64> {
        let i = self.header.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[i].parse().unwrap()).collect()
    }

    fn dates(&self) -> Vec<i64> {
        self.rows
            .iter()
            .map(|r| {
                let d = &r[0];
                let t = if d.len() == 10 {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                } else {
                    chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").unwrap()
                };
                t.and_utc().timestamp()
            })
            .collect()
    }
}

/// `gruf predict`'s forecast of `steps` with intervals at `levels`: per step, the point
/// and each level's (lower, upper).
fn predicted(
    dir: &Path,
    model: &str,
    steps: usize,
    levels: &[f64],
    series: Option<&str>,
) -> Vec<(f64, Vec<(f64, f64)>)> {
    let mut cmd = gruf(dir);
    cmd.args(["predict", "--model", model, "--format", "json", "-q"])
        .args(["--steps", &steps.to_string()]);
    for l in levels {
        cmd.args(["--interval", &l.to_string()]);
    }
    if let Some(id) = series {
        cmd.args(["--series", id]);
    }
    let out: Value = serde_json::from_str(&stdout(&mut cmd)).unwrap();
    let rows = match out.get("forecast") {
        Some(rows) => rows.clone(),
        None => out["series"][0]["forecast"].clone(),
    };
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let bands = levels
                .iter()
                .map(|l| {
                    let label = format!("{}", (l * 100.0).round());
                    (
                        row[format!("lower_{label}")].as_f64().unwrap(),
                        row[format!("upper_{label}")].as_f64().unwrap(),
                    )
                })
                .collect();
            (row["forecast"].as_f64().unwrap(), bands)
        })
        .collect()
}

/// The relative difference of `got` from `want`.
fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-12)
}

/// A model trained in `dir` on `csv` with `flags`, exported: its name and the path of its
/// ONNX file.
fn train_and_export(dir: &Path, name: &str, csv: &str, flags: &[&str]) -> PathBuf {
    let model = format!("{name}.safetensors");
    gruf(dir)
        .args([
            "train", "--csv", csv, "--model", &model, "--seed", "1", "-q",
        ])
        .args(flags)
        .assert()
        .success();
    let onnx = format!("{name}.onnx");
    gruf(dir)
        .args(["export", "--model", &model, "--out", &onnx, "-q"])
        .assert()
        .success();
    dir.join(onnx)
}

/// Compares one model's onnxruntime outputs for its windows against `gruf predict` for
/// each of `series` (None: the model's one series): the largest relative difference, or
/// where it passes [`RTOL`].
fn compare(dir: &Path, name: &str, out: &Value, series: &[Option<&str>]) -> Result<f64, String> {
    let meta = &out["meta"];
    let k: usize = meta["gruf.horizon"].as_str().unwrap().parse().unwrap();
    let levels: Vec<f64> = serde_json::from_str(meta["gruf.levels"].as_str().unwrap()).unwrap();
    let quantiles: Vec<f64> =
        serde_json::from_str(meta["gruf.quantiles"].as_str().unwrap()).unwrap();
    let q = quantiles.len();
    let median = quantiles.iter().position(|&x| x == 0.5);
    let forecast = out["forecast"]["data"].as_array().unwrap();
    let mut worst = 0.0f64;
    for (b, id) in series.iter().enumerate() {
        let want = predicted(dir, &format!("{name}.safetensors"), k, &levels, *id);
        assert_eq!(want.len(), k, "{name}");
        for (step, (point, bands)) in want.iter().enumerate() {
            let got = match median {
                Some(m) => forecast[(b * k + step) * q + m].as_f64().unwrap(),
                None => forecast[b * k + step].as_f64().unwrap(),
            };
            let d = rel(got, *point);
            if d > RTOL {
                return Err(format!(
                    "{name} series {b} step {step}: onnx {got}, gruf {point} ({d:e})"
                ));
            }
            worst = worst.max(d);
            for (j, (lo, hi)) in bands.iter().enumerate() {
                let at = ((b * k + step) * levels.len() + j) * 2;
                let data = out["intervals"]["data"].as_array().unwrap();
                let (glo, ghi) = (data[at].as_f64().unwrap(), data[at + 1].as_f64().unwrap());
                let d = rel(glo, *lo).max(rel(ghi, *hi));
                if d > RTOL {
                    return Err(format!(
                        "{name} series {b} step {step} level {}: onnx ({glo}, {ghi}), gruf ({lo}, {hi})",
                        levels[j]
                    ));
                }
                worst = worst.max(d);
            }
        }
    }
    eprintln!("{name}: largest relative difference {worst:.2e}, levels {levels:?}");
    Ok(worst)
}

/// Trains and exports each of `cases` (name, CSV, flags) in `dir`, runs them all in one
/// onnxruntime call with `windows(case)` and fails naming every model that differs from
/// `gruf predict` (for each of its `series`).
fn check_all(
    dir: &Path,
    cases: &[(String, &str, Vec<&str>)],
    windows: impl Fn(&str) -> (Vec<Window>, Vec<Option<String>>),
) {
    let mut runs = Vec::new();
    let mut ids = Vec::new();
    for (name, csv, flags) in cases {
        let onnx = train_and_export(dir, name, csv, flags);
        let (w, series) = windows(name);
        runs.push((onnx, w));
        ids.push(series);
    }
    let outs = onnxruntime(&runs);
    let failures: Vec<String> = (cases.iter().zip(&outs).zip(&ids))
        .filter_map(|(((name, _, _), out), series)| {
            let series: Vec<Option<&str>> = series.iter().map(|s| s.as_deref()).collect();
            compare(dir, name, out, &series).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The windows of one series of a Yahoo-layout CSV, with the covariates `inputs`.
fn window_of(csv: &Csv, inputs: &[&str], dates: bool) -> Window {
    Window {
        values: csv.column("Close"),
        covariates: (!inputs.is_empty()).then(|| {
            let columns: Vec<Vec<f64>> = inputs.iter().map(|c| csv.column(c)).collect();
            (0..csv.rows.len())
                .map(|r| columns.iter().map(|c| c[r]).collect())
                .collect()
        }),
        dates: dates.then(|| csv.dates()),
        id: None,
    }
}

const TINY: &[&str] = &[
    "--layers",
    "8",
    "--window",
    "14",
    "--epochs",
    "2",
    "--test-size",
    "30",
];

fn sample(dir: &Path, rows: usize) -> Csv {
    gruf(dir)
        .args([
            "sample",
            "--rows",
            &rows.to_string(),
            "--out",
            "p.csv",
            "-q",
        ])
        .assert()
        .success();
    Csv::read(&dir.join("p.csv"))
}

/// `TINY` with `more` flags (a flag of `more` replaces `TINY`'s).
fn tiny<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut flags: Vec<&str> = Vec::new();
    for pair in TINY.chunks(2) {
        if !more.contains(&pair[0]) {
            flags.extend(pair);
        }
    }
    flags.extend(more);
    flags
}

/// Every cell with every transform (one layer, K = 1), and each cell with two layers: the
/// gate orders, `linear_before_reset`, and each transform's encode and decode.
#[test]
fn every_cell_and_transform_gives_predicts_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sample(dir.path(), 400);
    let mut cases = Vec::new();
    for cell in ["gru", "lstm", "rnn"] {
        for transform in ["minmax", "window", "logret", "diff", "seasonal"] {
            let mut flags = tiny(&["--cell", cell, "--transform", transform]);
            if transform == "seasonal" {
                flags.extend(["--season", "7"]);
            }
            cases.push((format!("{cell}-{transform}"), "p.csv", flags));
        }
        let flags = tiny(&["--cell", cell, "--layers", "8,6", "--transform", "window"]);
        cases.push((format!("{cell}-two-layers"), "p.csv", flags));
    }
    check_all(dir.path(), &cases, |_| {
        (vec![window_of(&csv, &[], false)], vec![None])
    });
}

/// K = 48 for each transform: the steps' anchors (seasonal phases past one season, log
/// returns accumulated), and every step's interval.
#[test]
fn a_horizon_of_48_gives_predicts_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sample(dir.path(), 700);
    let cases: Vec<(String, &str, Vec<&str>)> = ["minmax", "window", "logret", "diff", "seasonal"]
        .into_iter()
        .map(|transform| {
            let long = [
                "--horizon",
                "48",
                "--test-size",
                "60",
                "--val-fraction",
                "0.3",
            ];
            let mut flags = tiny(&[&long[..], &["--transform", transform]].concat());
            if transform == "seasonal" {
                flags = tiny(
                    &[
                        &long[..],
                        &[
                            "--transform",
                            transform,
                            "--season",
                            "7,14",
                            "--window",
                            "28",
                        ],
                    ]
                    .concat(),
                );
            }
            (format!("k48-{transform}"), "p.csv", flags)
        })
        .collect();
    check_all(dir.path(), &cases, |_| {
        (vec![window_of(&csv, &[], false)], vec![None])
    });
}

/// A quantile head (its median and its CQR bands) and ensembles of three (the middle
/// network) and two (the mean of the two middle ones), point and quantile.
#[test]
fn quantile_heads_and_ensembles_give_predicts_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sample(dir.path(), 500);
    let q = "0.05,0.1,0.5,0.9,0.95";
    let cases = vec![
        (
            "lstm-quantiles".to_string(),
            "p.csv",
            tiny(&["--cell", "lstm", "--quantiles", q, "--transform", "window"]),
        ),
        (
            "gru-quantiles-k7".to_string(),
            "p.csv",
            tiny(&["--quantiles", q, "--horizon", "7", "--transform", "diff"]),
        ),
        (
            "ensemble-3".to_string(),
            "p.csv",
            tiny(&["--ensemble", "3", "--transform", "window"]),
        ),
        (
            "ensemble-2".to_string(),
            "p.csv",
            tiny(&["--ensemble", "2", "--horizon", "3"]),
        ),
        (
            "ensemble-2-quantiles".to_string(),
            "p.csv",
            tiny(&[
                "--ensemble",
                "2",
                "--quantiles",
                "0.1,0.5,0.9",
                "--transform",
                "logret",
            ]),
        ),
    ];
    check_all(dir.path(), &cases, |_| {
        (vec![window_of(&csv, &[], false)], vec![None])
    });
}

/// Covariates (price-like and volume) with calendar inputs, daily and hourly (every
/// calendar input, the month's from the date arithmetic in the graph).
#[test]
fn covariates_and_calendar_give_predicts_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let daily = sample(dir.path(), 500);
    // Hourly closes over 40 days that cross a month end and a leap day.
    let start = chrono::NaiveDate::from_ymd_opt(2024, 2, 10)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let mut text = String::from("Date,Close,Volume\n");
    for h in 0..960i64 {
        let t = start + chrono::Duration::hours(h);
        let x = h as f64;
        let close =
            100.0 + 5.0 * (x * std::f64::consts::TAU / 24.0).sin() + 0.02 * x + (x * 0.37).sin();
        let volume = 1000.0 + 300.0 * (x * 0.11).cos() + (h % 7) as f64 * 40.0;
        text.push_str(&format!(
            "{},{close:.4},{volume:.1}\n",
            t.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    write(dir.path(), "hourly.csv", &text);
    let hourly = Csv::read(&dir.path().join("hourly.csv"));
    let cases = vec![
        (
            "daily-inputs-calendar".to_string(),
            "p.csv",
            tiny(&[
                "--inputs",
                "High,Low,Volume",
                "--calendar",
                "weekday,month",
                "--transform",
                "logret",
            ]),
        ),
        (
            "daily-inputs-minmax".to_string(),
            "p.csv",
            tiny(&[
                "--inputs",
                "Open,Volume",
                "--calendar",
                "month",
                "--horizon",
                "5",
            ]),
        ),
        (
            "hourly-calendar".to_string(),
            "hourly.csv",
            tiny(&[
                "--inputs",
                "Volume",
                "--calendar",
                "hour,weekday,month",
                "--transform",
                "seasonal",
                "--window",
                "48",
                "--horizon",
                "24",
            ]),
        ),
    ];
    check_all(dir.path(), &cases, |name| match name {
        "daily-inputs-calendar" => (
            vec![window_of(&daily, &["High", "Low", "Volume"], true)],
            vec![None],
        ),
        "daily-inputs-minmax" => (
            vec![window_of(&daily, &["Open", "Volume"], true)],
            vec![None],
        ),
        _ => (vec![window_of(&hourly, &["Volume"], true)], vec![None]),
    });
}

/// A global model over three series of a long CSV: each series' fitted numbers looked up by
/// its index, all three in one batch, for a scale-free and a min-max transform.
#[test]
fn a_global_model_gives_predicts_numbers_for_each_series() {
    let dir = tempfile::tempdir().unwrap();
    let ids = ["AAA", "BBB", "CCC"];
    write(dir.path(), "long.csv", &long_csv(&ids, 300));
    let csv = Csv::read(&dir.path().join("long.csv"));
    let global = |more: &[&'static str]| {
        let mut flags = tiny(&["--id-column", "Symbol"]);
        flags.extend(more);
        flags
    };
    let cases = vec![
        (
            "global-window".to_string(),
            "long.csv",
            global(&["--transform", "window", "--horizon", "3"]),
        ),
        (
            "global-minmax".to_string(),
            "long.csv",
            global(&["--cell", "lstm"]),
        ),
    ];
    check_all(dir.path(), &cases, |_| {
        // The batch takes the series in reverse, each looked up by its id in the model's
        // list (`gruf.series`), as a user would.
        let windows = ids
            .iter()
            .rev()
            .map(|id| Window {
                values: (csv.rows.iter())
                    .filter(|r| r[1] == *id)
                    .map(|r| r[2].parse().unwrap())
                    .collect(),
                id: Some(id.to_string()),
                ..Window::default()
            })
            .collect();
        let series = ids.iter().rev().map(|id| Some(id.to_string())).collect();
        (windows, series)
    });
}

/// A model file of gruf 1.0 (format 2, no calibration) exports without intervals, saying
/// why, and its ONNX file forecasts what 1.0 recorded for the first step.
#[test]
fn a_gruf_1_0_model_exports_without_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sample(dir.path(), 400);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2");
    std::fs::copy(
        fixtures.join("minmax.safetensors"),
        dir.path().join("old.safetensors"),
    )
    .unwrap();
    let out = gruf(dir.path())
        .args(["export", "--model", "old.safetensors"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no intervals output") && stderr.contains("before 1.5"),
        "{stderr}"
    );
    let outs = onnxruntime(&[(
        dir.path().join("old.onnx"),
        vec![window_of(&csv, &[], false)],
    )]);
    assert!(outs[0].get("intervals").is_none());
    let recorded = std::fs::read_to_string(fixtures.join("minmax-predict.csv")).unwrap();
    let first: f64 = recorded
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let got = outs[0]["forecast"]["data"][0].as_f64().unwrap();
    assert!(rel(got, first) < RTOL, "onnx {got}, gruf 1.0 {first}");
}

/// What cannot be exported is refused in one line that says what to do, with exit code 2,
/// and the model file is never touched: an --out that is the model itself, a level the
/// calibration cannot give.
#[test]
fn refusals_say_why_and_keep_the_model() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path(), 300);
    gruf(dir.path())
        .args(["train", "--csv", "p.csv", "-q"])
        .args(TINY)
        .assert()
        .success();
    let model = dir.path().join("gruf-model.safetensors");
    let before = std::fs::read(&model).unwrap();
    let refused = |args: &[&str], says: &str| {
        let out = gruf(dir.path()).arg("export").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    refused(
        &["--out", "gruf-model.safetensors"],
        "is the model file itself",
    );
    refused(
        &["--out", "./gruf-model.safetensors"],
        "is the model file itself",
    );
    refused(
        &["--interval", "0.99"],
        "99 % interval 1 step ahead needs at least 199",
    );
    // A file that is not an ONNX file is never replaced.
    let prices = std::fs::read(dir.path().join("p.csv")).unwrap();
    refused(
        &["--out", "p.csv"],
        "an ONNX file's name ends in .onnx; choose e.g. --out p.onnx",
    );
    assert_eq!(std::fs::read(dir.path().join("p.csv")).unwrap(), prices);
    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert!(!dir.path().join("gruf-model.onnx").exists());
    // The default: the model's path with .onnx, and the contract on stdout.
    let text = stdout(gruf(dir.path()).args(["export", "-q"]));
    // 15 values: the window of 14, and one more for the spread the intervals scale with.
    assert!(text.contains("history [batch, 15]"), "{text}");
    assert!(dir.path().join("gruf-model.onnx").exists());
}
