//! `gruf train` as a user runs it: train → predict → evaluate → plot end to end, the same
//! model bit for bit from the same seed, the CSVs it cleans and other tools' layouts, the
//! shipped configs, resampling, a diverging run, and runs cut short (Ctrl-C, a second
//! Ctrl-C, SIGKILL, a full stderr), each leaving a whole model file.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

mod common;
use common::{assert_no_temporaries, gruf, hash, loud, trained, workspace, write, FAST};

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
    // model, naive, seasonal naive 7, drift, moving average 7
    assert_eq!(e["one_step"]["rows"].as_array().unwrap().len(), 5);
    let horizons = e["horizons"].as_array().unwrap();
    assert_eq!(horizons.len(), 7);
    assert_eq!(horizons[6]["origins"], 30 - 6);

    gruf(dir.path())
        .args(["plot", "--out", "p.png"])
        .assert()
        .success()
        .stderr(contains("wrote p.png"));
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
        .args(loud(FAST))
        .assert()
        .success()
        .stderr(
            contains("newest-first")
                .and(contains("1 row with a missing Close"))
                .and(contains("1 duplicate row")),
        );
}

/// Other tools' ways of writing the same series: each trains, says what it cleaned, and
/// `predict` continues the dates where the data ends (the sample ends on 2019-10-27).
#[test]
fn csv_variants_from_other_tools_are_accepted() {
    let dir = workspace();
    let src = std::fs::read_to_string(dir.path().join("prices.csv")).unwrap();
    // (date, close) from the sample's Date and Close columns.
    let rows: Vec<(chrono::NaiveDate, &str)> = src
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[4])
        })
        .collect();
    /// Writes one row from a date and a close.
    type Cell = fn(chrono::NaiveDate, &str) -> String;
    /// What, header, row writer, an extra line after a row, the note expected on stderr.
    type Case = (
        &'static str,
        &'static str,
        Cell,
        Option<(usize, &'static str)>,
        &'static str,
    );
    fn unix(d: chrono::NaiveDate) -> i64 {
        d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()
    }
    let iso: Cell = |d, v| format!("{d},{v}");
    let cases: Vec<Case> = vec![
        (
            "NaN value",
            "Date,Close",
            iso,
            Some((50, "2019-12-31,NaN")),
            "dropped 1 row with a missing Close",
        ),
        (
            "empty cell",
            "Date,Close",
            iso,
            Some((50, "2019-12-31,")),
            "dropped 1 row with a missing Close",
        ),
        (
            "blank line",
            "Date,Close",
            iso,
            Some((50, "")),
            "dropped 1 row with a missing Close",
        ),
        ("lowercase close", "Date,close", iso, None, ""),
        (
            "quoted thousands",
            "Date,Close",
            |d, v| {
                let v: f64 = v.parse::<f64>().unwrap() * 100.0;
                let whole = v.trunc() as u64;
                format!("{d},\"{},{:03}.5\"", whole / 1000, whole % 1000)
            },
            None,
            "",
        ),
        (
            "Unix seconds",
            "timestamp,Close",
            |d, v| format!("{},{v}", unix(d)),
            None,
            "",
        ),
        (
            "Unix milliseconds",
            "timestamp,Close",
            |d, v| format!("{}000,{v}", unix(d)),
            None,
            "",
        ),
        (
            // Midnight at +05:00 (19:00 UTC the day before): forecast on the next days.
            "datetimes with a zone",
            "Date,Close",
            |d, v| format!("{d}T00:00:00+05:00,{v}"),
            None,
            "",
        ),
        (
            "a gap",
            "Date,Close",
            |d, v| {
                let gap = chrono::NaiveDate::from_ymd_opt(2019, 4, 11).unwrap();
                let shown = if d < gap {
                    d
                } else {
                    d + chrono::Duration::days(5)
                };
                format!("{shown},{v}")
            },
            None,
            "1 gap in the dates (5 days missing, 2 % of the span, at most 5 days in a row, first after 2019-04-10)",
        ),
    ];
    for (i, (what, header, cell, extra, note)) in cases.into_iter().enumerate() {
        let mut text = format!("{header}\n");
        for (j, (d, v)) in rows.iter().enumerate() {
            text.push_str(&cell(*d, v));
            text.push('\n');
            if let Some((_, line)) = extra.filter(|e| e.0 == j) {
                text.push_str(&format!("{line}\n"));
            }
        }
        let name = format!("variant{i}.csv");
        write(dir.path(), &name, &text);
        let out = gruf(dir.path())
            .args(["train", "--csv", &name])
            .args(FAST)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{what}: {stderr}");
        assert!(stderr.contains(note), "{what}: '{note}' not in {stderr}");
        // Gapped dates end five days later.
        let (first, last) = if what == "a gap" {
            ("2019-11-02", "2019-11-03")
        } else {
            ("2019-10-28", "2019-10-29")
        };
        gruf(dir.path())
            .args(["predict", "--days", "2"])
            .assert()
            .success()
            .stdout(contains(first).and(contains(last)).and(contains(":").not()));
    }
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
    assert_no_temporaries(dir.path());
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

/// A second Ctrl-C exits at once, before the save: the previous model stays byte for byte,
/// and no temporary file is left.
///
/// The second SIGINT is sent as soon as gruf reports the first, while the stopped run still
/// has to finish its batch, validate, score the test part and save. On a model large enough
/// for that to take tens of milliseconds it always wins; should the save ever win the race
/// anyway, the file must be a complete new model, and the round is tried again.
#[test]
fn second_ctrl_c_exits_at_once_leaving_the_previous_model() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let interrupt = |pid: u32| {
        assert!(std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success());
    };
    for _round in 0..3 {
        let before = hash(&model);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
            .current_dir(dir.path())
            .args([
                "train",
                "--csv",
                "prices.csv",
                "--layers",
                "64,64",
                "--window",
                "30",
            ])
            .args(["--batch-size", "256", "--test-days", "100", "--seed", "1"])
            .args(["--epochs", "100000"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let mut wait_for = |text: &str, seen: &mut String| {
            while !seen.contains(text) {
                let mut line = String::new();
                assert!(
                    stderr.read_line(&mut line).unwrap() > 0,
                    "gruf ended before '{text}': {seen}"
                );
                seen.push_str(&line);
            }
        };
        wait_for("epoch   1", &mut seen);
        interrupt(child.id());
        wait_for("gruf: interrupted: finishing this batch", &mut seen);
        // Not `interrupt`: if the save wins the race, gruf may be gone before this signal.
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let mut rest = String::new();
        std::io::Read::read_to_string(stderr.get_mut(), &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{seen}{rest}");
        assert_no_temporaries(dir.path());
        if rest.contains("interrupted again: exiting now") && hash(&model) == before {
            assert!(!rest.contains("saved"), "{rest}");
            return;
        }
        // The save won the race: the new file must be whole.
        gruf::checkpoint::Checkpoint::load(&model, &candle_core::Device::Cpu)
            .expect("a complete model");
    }
    panic!("the second Ctrl-C never arrived before the save in 3 rounds");
}

/// SIGKILL at random moments of a run, many times: the model file on disk is always a
/// complete model (the old one or a new one), never a torn mix, because saves are a rename.
#[test]
fn sigkill_at_any_moment_never_leaves_a_torn_model() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let mut rng = 12345u64;
    // Saves are slowed to 1 KiB chunks 20 ms apart (GRUF_TEST_SLOW_WRITES_MS), so kills
    // spread over 0–250 ms land in training, in the save and after it (the counts below
    // show where they landed).
    let (mut during, mut after) = (0, 0);
    for round in 0..40 {
        let before = std::fs::read(&model).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
            .current_dir(dir.path())
            .args(["train", "--csv", "prices.csv"])
            .args(FAST)
            .env(gruf::output::SLOW_WRITES_ENV, "20")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_micros((rng >> 33) % 250_000));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let loaded = gruf::checkpoint::Checkpoint::load(&model, &candle_core::Device::Cpu);
        assert!(loaded.is_ok(), "round {round}: {:?}", loaded.err());
        // A kill mid-save leaves its temporary file (swept an hour later by the next save).
        let stray: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        during += usize::from(!stray.is_empty());
        for e in stray {
            std::fs::remove_file(e.path()).unwrap();
        }
        after += usize::from(std::fs::read(&model).unwrap() != before);
    }
    eprintln!("{during} of 40 kills landed during a save, {after} after one");
    assert!(
        during > 0,
        "no kill landed during a save: the test proved nothing"
    );
    assert!(
        after > 0,
        "no run finished its save: kills all came too early"
    );
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
        .args(loud(FAST))
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

/// A closed or full stderr (`gruf train 2>&1 | head`) loses messages, never the run: gruf
/// 1.0 panicked on the first progress line and aborted in its panic hook, saving nothing.
#[test]
fn a_full_stderr_does_not_stop_training() {
    let dir = workspace();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
        .current_dir(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(loud(FAST))
        .stderr(full)
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(dir.path().join("gruf-model.safetensors").exists());
}
