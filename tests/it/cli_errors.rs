//! The error cases as a user meets them: missing inputs, bad CSVs, usage errors, outputs
//! that cannot be written, a full disk, and broken or torn model files. Each is checked for
//! its exit code, its message and an untouched model file.

use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{assert_no_temporaries, gruf, hash, trained, workspace, write, FAST};

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
        ("Date,Close\n2020-03-01,5\n2020-03-02,5\n2020-03-03,5\n2020-03-04,5\n2020-03-05,5\n2020-03-06,5\n2020-03-07,5\n2020-03-08,5\n2020-03-09,5\n2020-03-10,5\n2020-03-11,5\n2020-03-12,5\n2020-03-13,5\n2020-03-14,5\n2020-03-15,5\n2020-03-16,5\n2020-03-17,5\n2020-03-18,5\n2020-03-19,5\n2020-03-20,5\n2020-03-21,5\n2020-03-22,5\n2020-03-23,5\n2020-03-24,5\n2020-03-25,5\n2020-03-26,5\n2020-03-27,5\n2020-03-28,5\n2020-03-29,5\n2020-03-30,5\n2020-03-31,5\n2020-04-01,5\n2020-04-02,5\n2020-04-03,5\n2020-04-04,5\n2020-04-05,5\n2020-04-06,5\n2020-04-07,5\n2020-04-08,5\n2020-04-09,5\n2020-04-10,5\n2020-04-11,5\n2020-04-12,5\n2020-04-13,5\n2020-04-14,5\n2020-04-15,5\n", "constant", &["constant", "values that move"]),
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
    // A negative value loads (series cross zero), but a transform that divides by values
    // refuses it by its line, before any other check (tests/it/signed.rs has the rest).
    write(
        dir.path(),
        "neg.csv",
        "Date,Close\n2020-01-01,1\n2020-01-02,-5\n",
    );
    gruf(dir.path())
        .args(["train", "--csv", "neg.csv", "--transform", "window"])
        .args(FAST)
        .assert()
        .code(65)
        .stderr(
            contains("neg.csv: line 3: value -5 (2020-01-02) is not positive")
                .and(contains("use --transform diff (or minmax)")),
        );
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
fn usage_errors_exit_2() {
    let dir = workspace();
    for command in ["predict", "plot"] {
        for days in ["0", "-5", "100000000"] {
            gruf(dir.path())
                .args([command, "--days", days])
                .assert()
                .code(2)
                .stderr(contains(format!(
                    "invalid value '{days}' for '--steps <N>': {days} is not in 1..=3650"
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
        &["sample", "--out", "-"],
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
            (vec!["sample", "--out", "old.csv", "--force"], "old.csv"),
            (vec!["sample", "--out", "new.csv"], "new.csv"),
        ] {
            let model_flags: &[&str] = if args[0] == "train" { FAST } else { &[] };
            let assert = gruf(dir.path())
                .env(gruf::io::output::FAIL_WRITES_AFTER_ENV, after)
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

// ---- Dates and loading as a new user meets them (issue 20) ----

#[test]
fn date_columns_and_files_that_are_not_what_they_seem_are_named() {
    let dir = workspace();
    let mut quarters = String::from("year,quarter,value\n");
    let mut long = String::from("Date,Symbol,Close\n");
    for i in 0..40 {
        quarters.push_str(&format!("{},{},{}\n", 1700 + i / 4, 1 + i % 4, 100 + i));
        for (k, id) in ["AAA", "BBB"].iter().enumerate() {
            long.push_str(&format!("2024-01-{:02},{id},{}\n", 1 + i % 28, 100 + k));
        }
    }
    let cases: &[(&str, &str, &[&str])] = &[
        (
            &quarters,
            "q.csv",
            &[
                "date column quarter holds small numbers such as '1', not dates",
                "could make a date: year ('1700'); pass --date-column",
            ],
        ),
        (
            &long,
            "long.csv",
            &[
                "have the same Date",
                "this looks like several series: pass --id-column Symbol",
            ],
        ),
        (
            "[{\"date\": \"2024-01-01\", \"close\": 1}]\n",
            "x.csv",
            &[
                "x.csv: this looks like JSON, not CSV",
                "a date column and a value column",
            ],
        ),
        (
            "Date,Close\n01/02/2021 10:00,1\n",
            "dm.csv",
            &["ambiguous", "e.g. '%d/%m/%Y %H:%M' or '%m/%d/%Y %H:%M'"],
        ),
    ];
    for (text, name, says) in cases {
        write(dir.path(), name, text);
        let out = gruf(dir.path())
            .args(["train", "--csv", name])
            .args(FAST)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        for s in *says {
            assert!(stderr.contains(s), "{name}: {stderr}");
        }
    }
}

/// Year first with slashes and a time is not ambiguous.
#[test]
fn year_first_dates_with_slashes_load() {
    let dir = workspace();
    let mut text = String::from("Date,Close\n");
    for i in 0..80 {
        text.push_str(&format!(
            "2010/{:02}/{:02} 00:00,{}\n",
            1 + i / 28,
            1 + i % 28,
            100 + i % 7
        ));
    }
    write(dir.path(), "yf.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "yf.csv"])
        .args(FAST)
        .assert()
        .success();
}

/// A series of a long CSV without a single value refused the whole file; it is left out
/// and named, as the README says, and the others train.
#[test]
fn a_series_without_values_is_left_out_of_a_long_csv() {
    let dir = workspace();
    let mut text = common::long_csv(&["AAA", "BBB"], 80);
    for day in 1..=20 {
        text.push_str(&format!("2021-02-{day:02},CCC,\n"));
    }
    write(dir.path(), "long.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(common::loud(FAST))
        .assert()
        .success()
        .stderr(contains("left out 1 series with no usable row").and(contains("'CCC'")));
    // None left: refused.
    write(
        dir.path(),
        "none.csv",
        "Date,Symbol,Close\n2021-01-01,AAA,\n2021-01-01,BBB,\n",
    );
    gruf(dir.path())
        .args(["train", "--csv", "none.csv", "--id-column", "Symbol"])
        .args(FAST)
        .assert()
        .code(65)
        .stderr(contains("no rows with a Close value"));
}

// ---- What a new user hits (issue 20): clap's and TOML's errors in one line, --quiet,
// "wrote" lines, `sample --force`.

/// The stderr of a run that must exit with `code`, checked to be one `gruf: error:` line.
fn one_error_line(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{cmd:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{cmd:?}: {stderr}");
    assert!(stderr.starts_with("gruf: error: "), "{cmd:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{cmd:?}");
    stderr
}

#[test]
fn clap_errors_are_one_line_with_exit_2() {
    let dir = workspace();
    let line = one_error_line(gruf(dir.path()).args(["predict", "--days", "abc"]), 2);
    assert_eq!(
        line.trim_end(),
        "gruf: error: invalid value 'abc' for '--steps <N>': invalid digit found in string (see gruf predict --help)"
    );
    // clap's tip stays, on the same line.
    let line = one_error_line(gruf(dir.path()).args(["predict", "--dys", "3"]), 2);
    assert!(
        line.contains("'--dys'") && line.contains("tip:") && line.contains("'--days'"),
        "{line}"
    );
    let line = one_error_line(
        gruf(dir.path()).args(["predict", "--format", "csv", "--format", "json"]),
        2,
    );
    assert!(
        line.contains("--format") && line.contains("gruf predict --help"),
        "{line}"
    );
    let line = one_error_line(gruf(dir.path()).args(["prdict"]), 2);
    assert!(
        line.contains("'prdict'") && line.contains("predict"),
        "{line}"
    );
    let line = one_error_line(
        gruf(dir.path()).args(["train", "--csv", "prices.csv", "--cell", "grux"]),
        2,
    );
    assert!(
        line.contains("gru, lstm, rnn") || line.contains("gru"),
        "{line}"
    );
    // Help and version print as always, with exit 0.
    gruf(dir.path())
        .args(["predict", "--help"])
        .assert()
        .success()
        .stdout(contains("Usage: gruf predict"));
    gruf(dir.path())
        .args(["--version"])
        .assert()
        .success()
        .stdout(contains("gruf "));
}

#[test]
fn toml_errors_name_the_line_and_the_key_plainly() {
    let dir = workspace();
    write(
        dir.path(),
        "bad.toml",
        "[model]\nlayers = [8]\n\n[train]\nepochs = \"ten\"\n",
    );
    let line = one_error_line(
        gruf(dir.path()).args(["train", "--csv", "prices.csv", "--config", "bad.toml"]),
        2,
    );
    assert!(
        line.contains("bad.toml")
            && line.contains("line 5")
            && line.contains("train.epochs")
            && line.contains("epochs = \"ten\"")
            && !line.contains('^')
            && !line.contains(" | "),
        "{line}"
    );
}

#[test]
fn the_config_key_test_size_is_test_days_and_not_both() {
    let dir = workspace();
    write(dir.path(), "size.toml", "[train]\ntest_size = 40\n");
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv", "--config", "size.toml"])
        .args([
            "--layers", "8", "--window", "10", "--epochs", "1", "--seed", "1",
        ])
        .assert()
        .success();
    let json = common::stdout(gruf(dir.path()).args(["evaluate", "--format", "json"]));
    let e: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(e["one_step"]["n"], 40, "{json}");

    write(
        dir.path(),
        "both.toml",
        "[train]\ntest_days = 30\ntest_size = 40\n",
    );
    let line = one_error_line(
        gruf(dir.path()).args(["train", "--csv", "prices.csv", "--config", "both.toml"]),
        2,
    );
    assert!(
        line.contains("both.toml") && line.contains("test_days") && line.contains("test_size"),
        "{line}"
    );
}

#[test]
fn wrote_lines_go_to_stderr_and_quiet_hides_them_on_every_command() {
    let dir = trained();
    for (args, file) in [
        (vec!["plot", "--out", "p.png"], "p.png"),
        (vec!["inspect", "--out", "g.png"], "g.png"),
        (vec!["sample", "--out", "s.csv"], "s.csv"),
    ] {
        let out = gruf(dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: results only on stdout");
        assert!(
            stderr.contains("gruf: wrote ") && stderr.contains(file),
            "{args:?}: {stderr}"
        );
        std::fs::remove_file(dir.path().join(file)).unwrap();
        let out = gruf(dir.path()).args(&args).arg("-q").output().unwrap();
        assert!(out.status.success(), "{args:?} -q");
        // Warnings stay (this model extrapolates); notes and "wrote" go.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.stdout.is_empty() && !stderr.contains("wrote") && !stderr.contains("note:"),
            "{args:?} -q: {stderr}"
        );
    }
    // Every command takes -q/--quiet.
    for args in [
        vec!["predict", "-q"],
        vec!["evaluate", "--quiet"],
        vec!["completions", "bash", "-q"],
    ] {
        gruf(dir.path()).args(&args).assert().success();
    }
}

#[test]
fn sample_keeps_an_existing_file_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mine.csv", "Date,Close\n2024-01-01,1\n");
    let before = hash(&dir.path().join("mine.csv"));
    let line = one_error_line(gruf(dir.path()).args(["sample", "--out", "mine.csv"]), 2);
    assert!(
        line.contains("mine.csv") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(hash(&dir.path().join("mine.csv")), before);
    gruf(dir.path())
        .args(["sample", "--out", "mine.csv", "--force", "--rows", "5"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.csv"))
            .unwrap()
            .lines()
            .count(),
        6
    );
}
