//! `gruf tune`: the same seed gives the same search; Ctrl-C and a crash lose no trial and
//! repeat none; the test part is never read while searching; the budget is honoured; a
//! panel is searched as one global model; the preset trains the same model again.

use std::path::Path;

use predicates::str::contains;

use crate::common::{gruf, long_csv, sample, stdout, write, Running};

/// A small space: 2 × 2 × 2 × 2 = 16 settings of tiny networks.
const SPACE: &str = r#"
cell = ["gru", "rnn"]
layers = [[6], [10]]
dropout = [0.0]
window = [10, 20]
transform = ["window", "minmax"]
horizon = [1]
lr = [0.003]
batch_size = [32]
epochs = 9
"#;

/// `tune` over `csv` with the small space, 6 trials from seed 3, one at a time, the last
/// `test_size` values held out, logging to `name.jsonl` and writing `name.toml` and
/// `name.gruf`.
fn tune_args(csv: &str, name: &str, test_size: &str) -> Vec<String> {
    [
        "tune",
        "--csv",
        csv,
        "--space",
        "space.toml",
        "--trials",
        "6",
        "--seed",
        "3",
        "--test-size",
        test_size,
        "--jobs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--log".into(),
        format!("{name}.jsonl"),
        "--out-config".into(),
        format!("{name}.toml"),
        "--model".into(),
        format!("{name}.gruf"),
    ])
    .collect()
}

/// The log's trial records, without their timings, in (trial, rung) order.
fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut records: Vec<serde_json::Value> = (text.lines().skip(1))
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r.as_object_mut().unwrap().remove("seconds");
            r
        })
        .collect();
    records.sort_by_key(|r| (r["trial"].as_u64(), r["rung"].as_u64()));
    records
}

fn forecast(dir: &Path, model: &str) -> String {
    stdout(gruf(dir).args(["predict", "--model", model, "--steps", "3", "--quiet"]))
}

/// A folder with the sample series (`rows` days) and the small space.
fn folder(rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path(), rows, "prices.csv");
    write(dir.path(), "space.toml", SPACE);
    dir
}

#[test]
fn the_same_seed_gives_the_same_search_and_the_preset_trains_the_same_model() {
    let dir = folder(400);
    let d = dir.path();
    for name in ["a", "b"] {
        gruf(d)
            .args(tune_args("prices.csv", name, "30"))
            .arg("--quiet")
            .assert()
            .success();
    }
    let a = records(&d.join("a.jsonl"));
    // 6 trials at 1 epoch, the best 2 at 3, the best 1 at 9.
    assert_eq!(a.len(), 6 + 2 + 1, "{a:#?}");
    assert_eq!(a, records(&d.join("b.jsonl")));
    assert_eq!(forecast(d, "a.gruf"), forecast(d, "b.gruf"));
    // The preset, trained as its comment says, is the winner's model bit for bit.
    let preset = std::fs::read_to_string(d.join("a.toml")).unwrap();
    assert!(preset.contains("RAYON_NUM_THREADS="), "{preset}");
    let log = std::fs::read_to_string(d.join("a.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    gruf(d)
        .env("RAYON_NUM_THREADS", header["threads"].to_string())
        .args([
            "train",
            "--csv",
            "prices.csv",
            "--config",
            "a.toml",
            "--model",
            "c.gruf",
            "-q",
        ])
        .assert()
        .success();
    assert_eq!(forecast(d, "a.gruf"), forecast(d, "c.gruf"));
}

/// Ctrl-C after the first trial run: exit 130, no model, the log holds what ended; then
/// `--resume` runs only what had not ended and ends as the search run in one go did.
#[test]
fn resume_after_ctrl_c_repeats_no_trial_and_ends_as_an_unbroken_search() {
    let dir = folder(1000);
    let d = dir.path();
    let space = SPACE.replace("epochs = 9", "epochs = 27");
    write(d, "space.toml", &space);
    gruf(d)
        .args(tune_args("prices.csv", "whole", "30"))
        .arg("--quiet")
        .assert()
        .success();
    let args = tune_args("prices.csv", "cut", "30");
    let mut run = Running::start(d, &args.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    run.wait_for("tune: trial");
    run.signal("INT");
    let (code, _, stderr) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("gruf tune --resume cut.jsonl"), "{stderr}");
    assert!(!d.join("cut.gruf").exists());
    let before = std::fs::read_to_string(d.join("cut.jsonl")).unwrap();
    let ended = before.lines().count() - 1;
    let whole = records(&d.join("whole.jsonl"));
    assert!(
        ended >= 1 && ended < whole.len(),
        "{ended} of {} ended",
        whole.len()
    );

    gruf(d)
        .args([
            "tune",
            "--resume",
            "cut.jsonl",
            "--out-config",
            "cut.toml",
            "--model",
            "cut.gruf",
        ])
        .assert()
        .success()
        .stderr(contains(format!("{ended} trial run")));
    let after = std::fs::read_to_string(d.join("cut.jsonl")).unwrap();
    assert!(
        after.starts_with(&before),
        "the lines logged before are kept as they were"
    );
    let resumed = records(&d.join("cut.jsonl"));
    let mut jobs: Vec<_> = resumed
        .iter()
        .map(|r| (r["trial"].clone(), r["rung"].clone()))
        .collect();
    jobs.dedup();
    assert_eq!(jobs.len(), resumed.len(), "a trial run was repeated");
    assert_eq!(resumed, whole);
    assert_eq!(forecast(d, "cut.gruf"), forecast(d, "whole.gruf"));
}

/// A crash while writing a record leaves a torn last line: it is dropped with a warning
/// and that trial runs again.
#[test]
fn a_torn_last_line_is_dropped_and_its_trial_runs_again() {
    let dir = folder(400);
    let d = dir.path();
    gruf(d)
        .args(tune_args("prices.csv", "whole", "30"))
        .arg("--quiet")
        .assert()
        .success();
    let text = std::fs::read_to_string(d.join("whole.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let torn = format!(
        "{}\n{}\n{}",
        lines[0],
        lines[1],
        &lines[2][..lines[2].len() / 2]
    );
    write(d, "torn.jsonl", &torn);
    gruf(d)
        .args([
            "tune",
            "--resume",
            "torn.jsonl",
            "--out-config",
            "t.toml",
            "--model",
            "t.gruf",
        ])
        .assert()
        .success()
        .stderr(contains("cut short"));
    assert_eq!(
        records(&d.join("torn.jsonl")),
        records(&d.join("whole.jsonl"))
    );
}

/// The search is the same whatever the test part holds: here its values are a thousand
/// times too large. Only the winner's test scores, read after the choice, differ.
#[test]
fn the_test_part_is_never_read_during_the_search() {
    let dir = folder(400);
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("prices.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let mut absurd = vec![lines[0].to_string()];
    for (i, line) in lines[1..].iter().enumerate() {
        if i + 1 + 30 < n {
            absurd.push(line.to_string());
        } else {
            let fields: Vec<String> = (line.split(','))
                .enumerate()
                .map(|(k, f)| match k {
                    0 => f.to_string(),
                    _ => format!("{:.4}", f.parse::<f64>().unwrap() * 1000.0),
                })
                .collect();
            absurd.push(fields.join(","));
        }
    }
    write(d, "absurd.csv", &(absurd.join("\n") + "\n"));
    let plain = stdout(
        gruf(d)
            .args(tune_args("prices.csv", "plain", "30"))
            .arg("--quiet"),
    );
    let odd = stdout(
        gruf(d)
            .args(tune_args("absurd.csv", "odd", "30"))
            .arg("--quiet"),
    );
    assert_eq!(
        records(&d.join("plain.jsonl")),
        records(&d.join("odd.jsonl"))
    );
    // The table before the winner, less its seconds column (wall time, which load moves).
    let table = |out: &str| -> Vec<String> {
        let before = out.split("winner:").next().unwrap();
        (before.lines())
            .map(|line| {
                let mut fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() > 7 && fields[0].parse::<usize>().is_ok() {
                    fields.remove(6); // rank trial epochs MASE sMAPE beats seconds settings…
                }
                fields.join(" ")
            })
            .collect()
    };
    assert!(table(&plain).iter().any(|l| l.starts_with("1 ")), "{plain}");
    assert_eq!(table(&plain), table(&odd));
    assert_ne!(
        plain, odd,
        "the winner's test scores read the test part, after the choice"
    );
}

#[test]
fn the_budget_ends_the_search_and_the_best_so_far_wins() {
    let dir = folder(1000);
    let d = dir.path();
    let started = std::time::Instant::now();
    gruf(d)
        .args(tune_args("prices.csv", "b", "30"))
        .args([
            "--budget", "20s", "--epochs", "7000", "--layers", "6", "--window", "10",
        ])
        .assert()
        .success()
        .stderr(contains("the budget ended the search"));
    // Rungs of 778, 2,334 and 7,000 epochs: the first about 2.5 s on 2 idle cores, the
    // whole search about 50 s, so that the budget ends it even on a fast machine and the
    // first trial ends before it even on a loaded one. Generous: the point is that they
    // did not all run, and that the budget's end still gave a model.
    assert!(started.elapsed().as_secs() < 45, "{:?}", started.elapsed());
    assert!(d.join("b.gruf").exists() && d.join("b.toml").exists());
    gruf(d)
        .args([
            "tune",
            "--resume",
            "b.jsonl",
            "--budget",
            "2s",
            "--model",
            "b.gruf",
            "--out-config",
            "b.toml",
            "-q",
        ])
        .assert()
        .success();
}

#[test]
fn a_panel_is_searched_as_one_global_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "long.csv", &long_csv(&["A", "B", "C"], 200));
    write(d, "space.toml", SPACE);
    let out = stdout(gruf(d).args(tune_args("long.csv", "p", "20")).args([
        "--id-column",
        "Symbol",
        "--steps",
        "5",
        "--quiet",
    ]));
    assert!(out.contains("5 steps each"), "{out}");
    assert!(out.contains("3 series"), "{out}");
    let preset = std::fs::read_to_string(d.join("p.toml")).unwrap();
    assert!(preset.contains("id_column = \"Symbol\""), "{preset}");
    gruf(d)
        .args([
            "train", "--csv", "long.csv", "--config", "p.toml", "--model", "q.gruf", "-q",
        ])
        .assert()
        .success();
}

#[test]
fn what_cannot_work_is_refused_in_one_line() {
    let dir = folder(300);
    let d = dir.path();
    write(d, "taken.jsonl", "{}\n");
    let refused = |args: &[&str], says: &str| {
        let out = gruf(d).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    refused(
        &["tune", "--csv", "prices.csv", "--log", "taken.jsonl"],
        "--resume taken.jsonl",
    );
    refused(
        &["tune", "--resume", "taken.jsonl", "--cell", "lstm"],
        "leave out --config",
    );
    refused(
        &["tune", "--csv", "prices.csv", "--budget", "soon"],
        "budget 'soon'",
    );
    write(d, "bad.toml", "cells = [\"gru\"]\n");
    refused(
        &["tune", "--csv", "prices.csv", "--space", "bad.toml"],
        "bad.toml",
    );
    write(d, "empty.toml", "window = []\n");
    refused(
        &["tune", "--csv", "prices.csv", "--space", "empty.toml"],
        "window has no choice",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("taken.jsonl")).unwrap(),
        "{}\n"
    );
}

/// `--plan` writes one `gruf train` job per trial; run by any scheduler (here a loop),
/// `--collect` ranks their models on validation and keeps the best, as a search would.
#[test]
fn a_plan_runs_as_plain_train_jobs_and_collect_ranks_them() {
    let dir = folder(400);
    let d = dir.path();
    let plan = |extra: &[&str]| {
        let mut cmd = gruf(d);
        cmd.args([
            "tune",
            "--csv",
            "prices.csv",
            "--space",
            "space.toml",
            "--trials",
            "3",
        ])
        .args(["--seed", "3", "--test-size", "30", "--plan", "jobs"])
        .args(extra);
        cmd
    };
    let out = stdout(&mut plan(&[]));
    assert!(out.contains("gruf tune --collect"), "{out}");
    // Collecting before any job ran says what to do.
    gruf(d)
        .args(["tune", "--collect", "jobs"])
        .assert()
        .code(2)
        .stderr(contains("run the jobs of"));
    let commands = std::fs::read_to_string(d.join("jobs/commands.txt")).unwrap();
    assert_eq!(commands.lines().count(), 3);
    for line in commands.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words[0], "gruf");
        gruf(d).args(&words[1..]).assert().success();
    }
    let out = stdout(gruf(d).args(["tune", "--collect", "jobs", "--model", "best.gruf", "-q"]));
    assert!(out.contains("winner: trial"), "{out}");
    assert!(d.join("best.gruf").exists() && d.join("gruf-tuned.toml").exists());
    // The winner is the trial whose model scores best on validation, and its preset is
    // that trial's configuration.
    let winner: usize = (out.split("winner: trial ").nth(1).unwrap())
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let trial = std::fs::read_to_string(d.join(format!("jobs/trial-{winner:03}.toml"))).unwrap();
    let preset = std::fs::read_to_string(d.join("gruf-tuned.toml")).unwrap();
    let settings = |t: &str| t.split("[model]").nth(1).unwrap().to_string();
    assert_eq!(settings(&trial), settings(&preset));
    assert_eq!(
        forecast(d, "best.gruf"),
        forecast(d, &format!("jobs/trial-{winner:03}.safetensors"))
    );
    // A plan is not written over, and a model that is not its trial's is refused.
    plan(&[])
        .assert()
        .code(2)
        .stderr(contains("holds a plan already"));
    std::fs::copy(
        d.join("jobs/trial-000.safetensors"),
        d.join("jobs/trial-001.safetensors"),
    )
    .unwrap();
    gruf(d)
        .args(["tune", "--collect", "jobs"])
        .assert()
        .failure()
        .stderr(contains("trial-001.safetensors"));
}
