//! `gruf train` as a user runs it: train → predict → evaluate → plot end to end, the same
//! model bit for bit from the same seed, the CSVs it cleans and other tools' layouts, the
//! shipped configs, resampling, a diverging run, and runs cut short (Ctrl-C, a second
//! Ctrl-C, SIGKILL, a full stderr), each leaving a whole model file.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{
    assert_no_temporaries, gruf, hash, loud, stderr, trained, workspace, write, Running, FAST,
};

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

/// `--backprop-steps N` (truncated backpropagation through time): the start line says how
/// far the gradient reaches and the model file records N; N at least the window trains
/// the very model of training without the flag, a shorter N another one (the same seed).
/// A panel of series trains with it alike.
#[test]
fn backprop_steps_truncates_the_gradient_and_is_recorded() {
    let dir = workspace();
    let train = |name: &str, extra: &[&str]| {
        stderr(
            gruf(dir.path())
                .args(["train", "--csv", "prices.csv", "--model", name])
                .args(loud(FAST))
                .args(extra),
        )
    };
    let load = |n: &str| {
        gruf::checkpoint::Checkpoint::load(&dir.path().join(n), &candle_core::Device::Cpu).unwrap()
    };
    let bits = |c: &gruf::checkpoint::Checkpoint| -> Vec<Vec<u32>> {
        (c.weights.values())
            .map(|t| {
                let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                v.iter().map(|x| x.to_bits()).collect()
            })
            .collect()
    };
    let err = train("whole.safetensors", &[]);
    assert!(!err.contains("gradient through"), "{err}");
    // FAST's window is 10 steps.
    let err = train("ten.safetensors", &["--backprop-steps", "10"]);
    assert!(!err.contains("gradient through"), "{err}");
    let err = train("four.safetensors", &["--backprop-steps", "4"]);
    assert!(
        err.contains("gradient through the last 4 of 10 steps"),
        "{err}"
    );
    let (whole, ten, four) = (
        load("whole.safetensors"),
        load("ten.safetensors"),
        load("four.safetensors"),
    );
    assert_eq!(bits(&whole), bits(&ten));
    assert_ne!(bits(&whole), bits(&four));
    assert_eq!(
        (
            whole.meta.config.train.backprop_steps,
            four.meta.config.train.backprop_steps
        ),
        (0, 4)
    );

    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB"], 120),
    );
    let err = stderr(
        gruf(dir.path())
            .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
            .args(["--model", "panel.safetensors"])
            .args(loud(FAST))
            .args(["--backprop-steps", "4"]),
    );
    assert!(
        err.contains("2 series") && err.contains("gradient through the last 4 of 10 steps"),
        "{err}"
    );
    assert_eq!(
        load("panel.safetensors").meta.config.train.backprop_steps,
        4
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
        .stdout(Stdio::piped())
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
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains("gruf: interrupted (Ctrl-C): finishing this batch")
            && rest.contains("saved the best model so far"),
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
    assert_trained_words_are_true(&ckpt.meta, &out, &rest);
}

/// What an interrupted run says it trained is true: a run stopped in an epoch says it
/// trained part of it (gruf 1.5 counted it whole: "trained 10 epochs"), and says so of
/// its kept epoch if that is the partial one; a run stopped between epochs counts the
/// whole ones.
fn assert_trained_words_are_true(meta: &gruf::checkpoint::Meta, out: &str, err: &str) {
    let (epoch, batch) = meta.interrupted.expect("an interrupted run");
    let ordinal = |n: usize| {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{suffix}")
    };
    let batches = |n: usize| format!("{n} batch{}", if n == 1 { "" } else { "es" });
    if batch == 0 {
        assert_eq!(meta.history.len(), epoch - 1);
        assert!(
            out.contains(&format!("trained {} epoch", epoch - 1)),
            "{out}"
        );
        assert!(
            err.contains(&format!("interrupted after epoch {}", epoch - 1)),
            "{err}"
        );
    } else {
        assert_eq!(meta.history.len(), epoch);
        let words = match epoch {
            1 => format!("trained {} of the 1st epoch", batches(batch)),
            _ => format!(
                "trained {} epoch{} and {} of the {}",
                epoch - 1,
                if epoch == 2 { "" } else { "s" },
                batches(batch),
                ordinal(epoch)
            ),
        };
        assert!(out.contains(&words), "expected '{words}' in {out}");
        assert!(!out.contains(&format!("trained {epoch} epochs")), "{out}");
        assert!(
            err.contains(&format!("interrupted at epoch {epoch}, batch {batch}")),
            "{err}"
        );
        if meta.best_epoch == epoch {
            let kept = format!("kept epoch {epoch} after its first {}", batches(batch));
            assert!(out.contains(&kept), "expected '{kept}' in {out}");
        }
    }
}

/// A second Ctrl-C exits at once, before the save ends: the previous model stays byte for
/// byte, and no temporary file is left.
///
/// The second SIGINT comes more than a second after the first (closer ones are the same
/// request), while the stopped run finishes its batch, validates, scores the test part and
/// saves, the save slowed to seconds (`GRUF_TEST_SLOW_WRITES_MS`). Should the save ever win
/// the race anyway, the file must be a complete new model, and the round is tried again.
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
            .env(gruf::io::output::SLOW_WRITES_ENV, "20")
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
        wait_for(
            "gruf: interrupted (Ctrl-C): finishing this batch",
            &mut seen,
        );
        std::thread::sleep(
            gruf::io::interrupt::SAME_REQUEST + std::time::Duration::from_millis(300),
        );
        // Not `interrupt`: if the save wins the race, gruf may be gone before this signal.
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let mut rest = String::new();
        std::io::Read::read_to_string(stderr.get_mut(), &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{seen}{rest}");
        assert_no_temporaries(dir.path());
        if rest.contains("interrupted again (Ctrl-C): exiting now") && hash(&model) == before {
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
            .env(gruf::io::output::SLOW_WRITES_ENV, "20")
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

// Work that is not lost: an output folder that cannot be written fails before any work;
// SIGTERM is handled as Ctrl-C; signals closer than a second are one; a stopped backtest
// or comparison prints what it finished.

/// A small model that trains until stopped, one line per epoch on stderr.
const UNTIL_STOPPED: &[&str] = &[
    "train",
    "--csv",
    "prices.csv",
    "--layers",
    "8",
    "--window",
    "10",
    "--test-days",
    "30",
    "--seed",
    "1",
    "--epochs",
    "100000",
];

/// A folder no one can create files in, for tests of outputs that cannot be written:
/// a read-only one, or, where that does not stop writes (tests may run as root), /proc.
/// `None` (said on stderr) where neither exists.
fn unwritable_folder(dir: &Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let folder = dir.join("read-only");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = folder.join("probe");
    if std::fs::write(&probe, b"").is_err() {
        return Some(folder);
    }
    std::fs::remove_file(&probe).unwrap();
    let proc = Path::new("/proc");
    if proc.is_dir() && std::fs::write(proc.join("gruf-probe"), b"").is_err() {
        return Some(proc.to_path_buf());
    }
    eprintln!("skipped: this user can write in a read-only folder and there is no /proc");
    None
}

/// `train` into a folder it cannot write (a read-only mount of a cluster's shared volume)
/// fails at once, naming the file and the folder, before any training: gruf 1.5 trained
/// for the whole run and then failed with exit 73. So do the other commands that write a
/// file (`compare --out/--save-best`, `plot --out`), and an existing file is untouched.
#[test]
fn an_output_folder_that_cannot_be_written_fails_before_any_work() {
    let dir = trained();
    let Some(folder) = unwritable_folder(dir.path()) else {
        return;
    };
    let model = folder.join("model.safetensors");
    let model = model.to_str().unwrap();
    let image = folder.join("picture.png");
    let image = image.to_str().unwrap();
    let before = hash(&dir.path().join("gruf-model.safetensors"));
    let runs: [Vec<&str>; 5] = [
        [
            &["train", "--csv", "prices.csv", "--model", model][..],
            &loud(FAST),
        ]
        .concat(),
        [
            &[
                "train",
                "--csv",
                "prices.csv",
                "--csv",
                "prices.csv",
                "--model",
                model,
            ][..],
            &loud(FAST),
        ]
        .concat(),
        [
            &[
                "compare",
                "--csv",
                "prices.csv",
                "--cells",
                "gru",
                "--save-best",
                model,
            ][..],
            &loud(FAST),
        ]
        .concat(),
        [
            &[
                "compare",
                "--csv",
                "prices.csv",
                "--cells",
                "gru",
                "--out",
                image,
            ][..],
            &loud(FAST),
        ]
        .concat(),
        vec!["plot", "--out", image],
    ];
    for args in runs {
        let out = gruf(dir.path()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(73), "{args:?}: {err}");
        let path = if args.contains(&image) { image } else { model };
        assert!(
            err.contains(&format!("gruf: error: cannot write {path}"))
                && err.contains("cannot create files in folder"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("epoch"), "{args:?} trained first: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    assert_eq!(hash(&dir.path().join("gruf-model.safetensors")), before);
    assert_no_temporaries(dir.path());
}

/// SIGTERM (a Slurm time limit, Kubernetes, `docker stop`) is handled as Ctrl-C: the run
/// keeps the best model so far and exits 143, as a shell reports SIGTERM. gruf 1.5 died
/// at once, saving nothing.
#[test]
fn sigterm_saves_the_best_model_so_far_and_exits_143() {
    let dir = workspace();
    // Small batches: the signal lands inside an epoch, whose partial training is reported.
    let args = [UNTIL_STOPPED, &["--batch-size", "4"]].concat();
    let mut run = Running::start(dir.path(), &args);
    run.wait_for("epoch   2");
    run.signal("TERM");
    let (code, out, err) = run.finish();
    assert_eq!(code, Some(143), "{err}");
    assert!(
        err.contains(
            "gruf: interrupted (SIGTERM): finishing this batch and saving the best model so far"
        ) && err.contains("saved the best model so far"),
        "{err}"
    );
    let ckpt = gruf::checkpoint::Checkpoint::load(
        &dir.path().join("gruf-model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("the stopped run saved a loadable model");
    assert_trained_words_are_true(&ckpt.meta, &out, &err);
}

/// `timeout -s INT` signals gruf, then its process group: two SIGINTs microseconds apart,
/// which gruf 1.5 read as "interrupted again: exiting now", losing the model. Signals
/// closer than a second are one request.
#[test]
fn timeout_s_int_is_one_interruption() {
    let dir = workspace();
    let mut timeout = std::process::Command::new("timeout");
    timeout.args([
        "--preserve-status",
        "-s",
        "INT",
        "4",
        env!("CARGO_BIN_EXE_gruf"),
    ]);
    let run = Running::start_with(timeout, dir.path(), UNTIL_STOPPED);
    let (code, out, err) = run.finish();
    assert!(
        err.contains("epoch   1"),
        "gruf had not started training: {err}"
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("interrupted again"), "{err}");
    let ckpt = gruf::checkpoint::Checkpoint::load(
        &dir.path().join("gruf-model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("the interrupted run saved a loadable model");
    assert_trained_words_are_true(&ckpt.meta, &out, &err);
}

/// Two SIGINTs in quick succession during an ensemble's second network keep the network
/// finished before it (gruf 1.5 exited at once and lost it).
#[test]
fn two_quick_signals_keep_an_ensembles_finished_network() {
    let dir = workspace();
    let args = [
        &UNTIL_STOPPED[..UNTIL_STOPPED.len() - 1],
        &["40", "--patience", "0", "--ensemble", "3"],
    ]
    .concat();
    let mut run = Running::start(dir.path(), &args);
    run.wait_for("model 2 of 3 (seed 2)");
    run.signal("INT");
    run.signal("INT");
    let (code, _, err) = run.finish();
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("interrupted again"), "{err}");
    assert!(err.contains("saved the 1 finished network"), "{err}");
    let ckpt = gruf::checkpoint::Checkpoint::load(
        &dir.path().join("gruf-model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("the interrupted run saved a loadable model");
    assert_eq!(ckpt.meta.networks(), 1);
}

/// Flags of a backtest or comparison of a small model, each training long enough (40
/// epochs) to be stopped in.
const LONG_ENOUGH: &[&str] = &[
    "--csv",
    "prices.csv",
    "--layers",
    "8",
    "--window",
    "10",
    "--epochs",
    "40",
    "--patience",
    "0",
    "--seed",
    "1",
];

/// Ctrl-C in `backtest` stops it (not only the fold in training) and prints the folds it
/// finished in the chosen format, marked partial, then exits 130. gruf 1.5 said "saving the
/// best model so far", and dropped the finished folds.
#[test]
fn ctrl_c_in_backtest_prints_the_finished_folds_marked_partial() {
    let dir = workspace();
    let args = [
        &[
            "backtest",
            "--folds",
            "3",
            "--test-size",
            "60",
            "--format",
            "json",
        ][..],
        LONG_ENOUGH,
    ]
    .concat();
    let mut run = Running::start(dir.path(), &args);
    run.wait_for("gruf: fold 2/3: training");
    run.signal("INT");
    let (code, out, err) = run.finish();
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("gruf: interrupted (Ctrl-C): finishing this batch, then printing the folds finished so far"),
        "{err}"
    );
    assert!(!err.contains("saving the best model"), "{err}");
    assert!(!err.contains("fold 3/3"), "the next fold started: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect(&out);
    let folds = doc["folds"].as_array().expect(&out).len();
    assert!((1..3).contains(&folds), "{out}");
    let what = format!("interrupted after fold {folds} of 3");
    assert_eq!(doc["partial"], what.as_str(), "{out}");
    assert!(
        err.contains(&format!(
            "gruf: error: backtest {what}; printed the {folds} finished fold"
        )),
        "{err}"
    );
}

/// Ctrl-C in `compare` stops every run and prints the runs that finished, marked partial;
/// `--save-best` is not chosen from a partial comparison, and says so.
#[test]
fn ctrl_c_in_compare_prints_the_finished_runs_marked_partial() {
    let dir = workspace();
    let args = [
        &[
            "compare",
            "--cells",
            "gru,lstm",
            "--seeds",
            "2",
            "--test-size",
            "30",
        ][..],
        &["--format", "csv", "--save-best", "best.safetensors"],
        LONG_ENOUGH,
    ]
    .concat();
    let mut program = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"));
    // One run at a time: GRU seed 1, LSTM seed 1, GRU seed 2, LSTM seed 2.
    program.env("RAYON_NUM_THREADS", "1");
    let mut run = Running::start_with(program, dir.path(), &args);
    run.wait_for("LSTM seed 1 epoch");
    run.signal("INT");
    let (code, out, err) = run.finish();
    assert_eq!(code, Some(130), "{err}");
    let first = out.lines().next().unwrap_or_default();
    let finished: usize = first
        .strip_prefix("# partial: interrupted after ")
        .and_then(|rest| rest.strip_suffix(" of 4 runs"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no partial marker: {out}"));
    assert!((1..4).contains(&finished), "{out}");
    assert!(
        out.contains("\nrun,gru,1,"),
        "the finished run is shown: {out}"
    );
    assert!(
        err.contains("best.safetensors not written: a partial comparison does not choose"),
        "{err}"
    );
    assert!(!dir.path().join("best.safetensors").exists());
}

/// The same for a global model's backtest (`--id-column`), stopped by SIGTERM this time:
/// its finished folds in a table whose first line says it is partial, exit 143.
#[test]
fn sigterm_in_a_global_backtest_prints_the_finished_folds_marked_partial() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "long.csv",
        &common::long_csv(&["AAA", "BBB"], 150),
    );
    let args = [
        &["backtest", "--csv", "long.csv", "--id-column", "Symbol"][..],
        &["--folds", "3", "--test-size", "30"],
        &LONG_ENOUGH[2..],
    ]
    .concat();
    let mut run = Running::start(dir.path(), &args);
    run.wait_for("gruf: fold 2/3: training on 2 series");
    run.signal("TERM");
    let (code, out, err) = run.finish();
    assert_eq!(code, Some(143), "{err}");
    let first = out.lines().next().unwrap_or_default();
    let folds: usize = first
        .strip_prefix("partial: interrupted after fold ")
        .and_then(|rest| rest.strip_suffix(" of 3"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no partial marker: {out}"));
    assert!((1..3).contains(&folds), "{out}");
    assert!(out.contains("over 2 series"), "{out}");
    assert!(
        err.contains(&format!(
            "gruf: error: backtest interrupted after fold {folds} of 3"
        )),
        "{err}"
    );
}
