//! The binary as a user runs it: train → predict → plot on a small series, and the
//! error cases, each checked for its exit code, its message and an untouched model file.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

mod common;
use common::{gruf, loud, write, FAST};

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

/// Fails if a save left a temporary file (`*.tmp`) in `dir`.
fn assert_no_temporaries(dir: &Path) {
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
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
    // model, naive, seasonal naive 7, drift, moving average 7
    assert_eq!(e["one_step"]["rows"].as_array().unwrap().len(), 5);
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
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let before = hash(&model);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "Date,Open\n2020-01-01,1\n",
            "empty-ish",
            &["column 'Close' not found", "Date, Open", "--column"],
        ),
        (
            "Date,Price\n2020-01-01,1\n",
            "price column renamed",
            &["column 'Close' not found", "Date, Price", "pass --column"],
        ),
        ("Date,Close\n", "header only", &["header row but no data rows"]),
        (
            "Date,Close\r\n\r\n\r\n",
            "header and blank lines only",
            &["header row but no data rows"],
        ),
        (
            "Date,Close\n2020-01-01,null\n2020-01-02,NaN\n2020-01-03,\n",
            "no data rows after cleaning",
            &["no rows with a Close value", "all 3 are null, empty or NaN", "--column"],
        ),
        (
            "Date,Close\n2020-01-01,1\n\n2020-01-03,x\n",
            "bad value after a blank line",
            &["line 4", "'x'", "not a number"],
        ),
        (
            "Date,Close\n2020-01-01,1\n,2\n",
            "empty date cell",
            &["line 3", "Date is empty"],
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
            &["at least 42", "--test-size"],
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
        assert_eq!(hash(&model), before, "{what}: the model file changed");
    }
    // A column whose type changes far down: 2000 clean rows, then text (polars would infer
    // a float column from the first rows; the value is still refused by its line).
    let mut text = String::from("Date,Close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    for i in 0..2000 {
        let day = start + chrono::Duration::days(i);
        text.push_str(&format!("{day},{}.5\n", 100 + i % 7));
    }
    text.push_str("2005-06-23,n/a-ish\n");
    write(dir.path(), "far.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "far.csv"])
        .args(FAST)
        .assert()
        .code(65)
        .stderr(contains(
            "far.csv: line 2002: Close value 'n/a-ish' is not a number",
        ));
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
    assert_eq!(hash(&model), before, "a failed run changed the model");
    assert_no_temporaries(dir.path());
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
            "datetimes with a zone",
            "Date,Close",
            |d, v| format!("{d}T02:00:00+02:00,{v}"),
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
fn usage_errors_exit_2() {
    let dir = workspace();
    for command in ["predict", "plot"] {
        for days in ["0", "-5", "100000000"] {
            gruf(dir.path())
                .args([command, "--days", days])
                .assert()
                .code(2)
                .stderr(contains(format!(
                    "invalid value '{days}' for '--days <N>': {days} is not in 1..=3650"
                )));
        }
    }
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

/// Outputs that cannot be written: a missing folder, a folder in place of the file, a
/// file in place of the folder, and a full disk behind stdout. Each exits 73 or 74 naming
/// the path, before any training, with the model untouched and no temporary file left.
#[test]
fn unwritable_outputs_exit_73_or_74_and_keep_the_model() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let before = hash(&model);
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    write(dir.path(), "file", "not a folder");
    let targets = [
        (
            "missing/out",
            "folder missing does not exist; create it first",
        ),
        ("folder", "it is a directory; give a file name"),
        (
            "file/out",
            "file is a file, not a folder; choose another path",
        ),
    ];
    for (target, fragment) in targets {
        for args in [
            vec!["train", "--csv", "prices.csv", "--model", target],
            vec!["plot", "--out", target],
            vec!["sample", "--out", target],
        ] {
            let model_flags: &[&str] = if args[0] == "train" { FAST } else { &[] };
            let assert = gruf(dir.path())
                .args(&args)
                .args(model_flags)
                .assert()
                .code(73);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            assert!(
                stderr.contains(&format!("gruf: error: cannot write {target}: {fragment}")),
                "{args:?}: {stderr}"
            );
            assert!(
                !stderr.contains("training windows"),
                "{args:?}: trained before finding that the model cannot be saved: {stderr}"
            );
            assert_eq!(hash(&model), before, "{args:?}");
            assert_no_temporaries(dir.path());
            assert_no_temporaries(&dir.path().join("folder"));
        }
    }

    // A full disk behind a redirect: `gruf predict --format csv > /dev/full`.
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here: skipping the full-stdout cases");
        return;
    };
    for args in [
        &["predict", "--days", "3", "--format", "csv"][..],
        &["evaluate", "--format", "csv"],
        &["plot", "--out", "p.png"],
        &["sample", "--out", "s.csv"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
            .current_dir(dir.path())
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {stderr}");
        assert!(
            stderr.contains("gruf: error: cannot write standard output: No space left on device")
                && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(hash(&model), before);
    assert_no_temporaries(dir.path());
}

/// The disk filling up while gruf writes the model, the plot or a CSV: injected through
/// `GRUF_TEST_FAIL_WRITES_AFTER` (every file write fails after N bytes), since tests run as
/// root and a real full disk cannot be arranged portably. The previous files stay whole.
#[test]
fn a_full_disk_while_writing_model_plot_or_csv_exits_74_and_keeps_the_old_files() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    write(dir.path(), "old.png", "the previous plot");
    write(dir.path(), "old.csv", "the previous sample");
    let files = ["gruf-model.safetensors", "old.png", "old.csv"].map(|f| dir.path().join(f));
    let before: Vec<_> = files.iter().map(|f| hash(f)).collect();
    for after in ["0", "100"] {
        for (args, target) in [
            (
                vec!["train", "--csv", "prices.csv"],
                "gruf-model.safetensors",
            ),
            (vec!["plot", "--out", "old.png"], "old.png"),
            (vec!["sample", "--out", "old.csv"], "old.csv"),
            (vec!["sample", "--out", "new.csv"], "new.csv"),
        ] {
            let model_flags: &[&str] = if args[0] == "train" { FAST } else { &[] };
            let assert = gruf(dir.path())
                .env(gruf::output::FAIL_WRITES_AFTER_ENV, after)
                .args(&args)
                .args(model_flags)
                .assert()
                .code(74);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            let error: Vec<_> = stderr
                .lines()
                .filter(|l| l.starts_with("gruf: error"))
                .collect();
            assert_eq!(error.len(), 1, "{args:?}: {stderr}");
            assert!(
                error[0].contains(&format!("cannot write {target}: no space left on device"))
                    && error[0].contains("free some space")
                    && error[0].contains("previous file is unchanged"),
                "{args:?}: {stderr}"
            );
            let now: Vec<_> = files.iter().map(|f| hash(f)).collect();
            assert_eq!(now, before, "{args:?} after {after} bytes");
            assert!(!dir.path().join("new.csv").exists(), "{args:?}");
            assert_no_temporaries(dir.path());
        }
    }
    // The hook is off by default: the same commands succeed without it.
    gruf(dir.path())
        .args(["sample", "--out", "new.csv"])
        .assert()
        .success();
    assert!(gruf::checkpoint::Checkpoint::load(&model, &candle_core::Device::Cpu).is_ok());
}

/// Another process rewriting the model file in place (truncate, then write in two parts,
/// as `cp` does) while gruf reads it. gruf reads the file into memory once, so each run sees
/// one snapshot of the bytes and either uses a whole model or refuses a torn one in one
/// line; it never crashes (a memory-mapped file cut short under its reader raises SIGBUS).
#[test]
fn a_model_file_rewritten_while_gruf_reads_it_never_crashes_gruf() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, model) = (Arc::clone(&stop), model.clone());
        std::thread::spawn(move || {
            let mut rewrites = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut f = std::fs::File::create(&model).unwrap();
                let cut = bytes.len() / 2;
                f.write_all(&bytes[..cut]).unwrap();
                std::thread::sleep(std::time::Duration::from_micros(200));
                f.write_all(&bytes[cut..]).unwrap();
                rewrites += 1;
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
            rewrites
        })
    };
    let (mut whole, mut torn) = (0, 0);
    // Until both kinds of read were seen (a few dozen runs; 200 at most).
    for _ in 0..200 {
        if whole >= 5 && torn >= 5 {
            break;
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
            .current_dir(dir.path())
            .args(["predict", "--days", "2"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => whole += 1,
            Some(65)
                if stderr.lines().count() == 1 && stderr.contains("gruf-model.safetensors") =>
            {
                torn += 1
            }
            code => panic!("gruf ended with {code:?} (a signal if None): {stderr}"),
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    stop.store(true, Ordering::Relaxed);
    let rewrites = writer.join().unwrap();
    assert!(rewrites > 0, "the file was never rewritten during the runs");
    assert!(torn > 0, "no run met a torn file: the test proved nothing");
    assert!(whole > 0, "no run read a whole model");
    eprintln!("{whole} runs read a whole model, {torn} a torn one, over {rewrites} rewrites");
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
fn broken_model_files_are_refused() {
    let dir = trained();
    let model = dir.path().join("gruf-model.safetensors");
    let good = hash(&model);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    let current = format!("format_version\\\":{}", gruf::checkpoint::FORMAT_VERSION);
    let newer = replace_bytes(&good, current.as_bytes(), b"format_version\\\":9");
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"trailing garbage");
    let header_len = |len: u64| [&len.to_le_bytes()[..], &good[8..]].concat();
    let edit = |tensors: &dyn Fn(&mut Tensors), meta: &dyn Fn(&mut serde_json::Value)| {
        rebuild(&good, tensors, meta)
    };
    let keep_tensors = |_: &mut Tensors| {};
    let keep_meta = |_: &mut serde_json::Value| {};
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", truncated, "truncated or corrupt"),
        (
            "garbage",
            b"hello world, not a model".to_vec(),
            "not a valid safetensors",
        ),
        ("trailing", trailing, "truncated or corrupt"),
        (
            "header length beyond the file",
            header_len(good.len() as u64),
            "not a valid safetensors",
        ),
        (
            "absurd header length",
            header_len(u64::MAX / 2),
            "not a valid safetensors",
        ),
        ("pickle", vec![0x80, 0x04, 0x95, 0, 0, 0], "pickle"),
        ("zip", b"PK\x03\x04rest".to_vec(), "PyTorch"),
        (
            "keras h5",
            [&b"\x89HDF\r\n\x1a\n"[..], &[0; 64]].concat(),
            "an HDF5 file (a Keras .h5 model?), not a gruf model",
        ),
        (
            "keras zip",
            [&b"PK\x03\x04"[..], &[0; 64]].concat(),
            "a Keras .keras file?), not a gruf model",
        ),
        ("newer", newer, "format version 9"),
        (
            "wrong dtype",
            replace_bytes(&good, b"\"dtype\":\"F32\"", b"\"dtype\":\"I32\""),
            "is I32, expected F32",
        ),
        (
            "not ours",
            foreign_safetensors(),
            "a safetensors file, but not a gruf model",
        ),
        (
            "tensor missing",
            edit(&|t| t.retain(|(n, _, _)| n != "gru.bias_hh_l0"), &keep_meta),
            "tensor 'gru.bias_hh_l0' is missing",
        ),
        (
            "extra tensor",
            edit(
                &|t| t.push(("gru.weight_ih_l1".into(), vec![0.0; 3], vec![3])),
                &keep_meta,
            ),
            "unexpected tensor 'gru.weight_ih_l1'",
        ),
        (
            "wrong shape",
            edit(&|t| find(t, "dense.weight").2 = vec![8, 1], &keep_meta),
            "tensor 'dense.weight' has shape [8, 1], expected [1, 8]",
        ),
        (
            "NaN weights",
            edit(&|t| find(t, "gru.weight_hh_l0").1[1] = f32::NAN, &keep_meta),
            "tensor 'gru.weight_hh_l0' holds a non-finite value (NaN) at index 1",
        ),
        (
            "scaler min = max",
            edit(&keep_tensors, &|m| {
                m["scaler"]["min"] = m["scaler"]["max"].clone()
            }),
            "scaler is invalid",
        ),
        (
            "scaler min > max",
            edit(&keep_tensors, &|m| m["scaler"]["min"] = 1e9.into()),
            "min below max",
        ),
        (
            "window 0",
            edit(&keep_tensors, &|m| {
                m["config"]["model"]["window"] = 0.into()
            }),
            "window 0",
        ),
        (
            "calendar step 0",
            edit(&keep_tensors, &|m| {
                m["data"]["calendar"] = serde_json::json!({"kind": "fixed", "seconds": 0})
            }),
            "stored calendar is invalid (Fixed { seconds: 0 })",
        ),
        (
            "calendar every 0 months",
            edit(
                &keep_tensors,
                &|m| {
                    m["test"]["calendar"] =
                        serde_json::json!({"kind": "months", "every": 0, "end": true})
                },
            ),
            "stored calendar is invalid (Months { every: 0, end: true })",
        ),
    ];
    for (what, bytes, fragment) in cases {
        let name = format!("{}.safetensors", what.replace(' ', "-"));
        let path = dir.path().join(&name);
        std::fs::write(&path, &bytes).unwrap();
        for command in ["predict", "evaluate"] {
            let assert = gruf(dir.path())
                .args([command, "--model", &name])
                .assert()
                .code(65);
            let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
            assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
            assert!(
                stderr.contains(fragment) && stderr.contains(&format!("model {name}: ")),
                "{what}, {command}: '{fragment}' not in {stderr}"
            );
        }
        assert_eq!(hash(&path), bytes, "{what}: the refused file changed");
    }
    assert_eq!(hash(&model), good, "the trained model changed");
    assert_no_temporaries(dir.path());
}

/// A checkpoint's tensors as (name, values, shape).
type Tensors = Vec<(String, Vec<f32>, Vec<usize>)>;

fn find<'t>(tensors: &'t mut Tensors, name: &str) -> &'t mut (String, Vec<f32>, Vec<usize>) {
    tensors.iter_mut().find(|(n, _, _)| n == name).unwrap()
}

/// The safetensors file `good` with its tensors and its gruf metadata edited.
fn rebuild(
    good: &[u8],
    edit_tensors: &dyn Fn(&mut Tensors),
    edit_meta: &dyn Fn(&mut serde_json::Value),
) -> Vec<u8> {
    use safetensors::SafeTensors;
    let st = SafeTensors::deserialize(good).unwrap();
    let mut tensors: Tensors = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (name, values, view.shape().to_vec())
        })
        .collect();
    edit_tensors(&mut tensors);
    let (_, header) = SafeTensors::read_metadata(good).unwrap();
    let key = gruf::checkpoint::META_KEY;
    let mut meta: serde_json::Value =
        serde_json::from_str(&header.metadata().as_ref().unwrap()[key]).unwrap();
    edit_meta(&mut meta);
    serialize(
        &tensors,
        Some(std::collections::HashMap::from([(
            key.to_string(),
            meta.to_string(),
        )])),
    )
}

/// A well-formed safetensors file from some other program: one tensor named "foo".
fn foreign_safetensors() -> Vec<u8> {
    serialize(&vec![("foo".into(), vec![1.0, 2.0], vec![2])], None)
}

fn serialize(
    tensors: &Tensors,
    meta: Option<std::collections::HashMap<String, String>>,
) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, v, _)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, _, s), b)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, meta).unwrap()
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
    assert_eq!((days, doc["n"].as_u64().unwrap()), (30, 30));
    for f in folds {
        assert!(
            f["trained_to"].as_str().unwrap() < f["evaluation"]["first_date"].as_str().unwrap()
        );
    }
    assert_eq!(doc["totals"].as_array().unwrap().len(), 5);
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
