//! `gruf predict` as a user runs it on newer data than the model was trained on. (Its table,
//! CSV and JSON output are checked end to end in tests/it/cli_train.rs, a model file rewritten
//! under it in tests/it/cli_errors.rs.)

use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{gruf, trained};

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

/// `prices.csv`'s closes divided by 1e9 (an altcoin, an FX cross, a rate), as `Date,Close`.
fn tiny_prices(dir: &std::path::Path) {
    let text = std::fs::read_to_string(dir.join("prices.csv")).unwrap();
    let mut tiny = String::from("Date,Close\n");
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let close: f64 = cells[4].parse().unwrap();
        tiny.push_str(&format!("{},{:.15}\n", cells[0], close / 1e9));
    }
    common::write(dir, "tiny.csv", &tiny);
}

/// The significant digits of a number as a table prints it (`0.000003512` has 4).
fn significant(cell: &str) -> usize {
    cell.chars()
        .filter(char::is_ascii_digit)
        .skip_while(|&c| c == '0')
        .count()
}

#[test]
fn numbers_around_a_millionth_keep_their_digits_in_every_table() {
    let dir = common::workspace();
    tiny_prices(dir.path());
    gruf(dir.path())
        .args(["train", "--csv", "tiny.csv", "--model", "tiny.safetensors"])
        .args(common::FAST)
        .assert()
        .success();
    let model = ["--model", "tiny.safetensors"];

    // The forecast and its interval ends: every cell keeps at least 3 significant digits.
    let table = common::stdout(
        gruf(dir.path())
            .args(["predict", "--days", "3", "--interval", "0.8"])
            .args(model),
    );
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for row in &rows {
        let cells: Vec<&str> = row.split_whitespace().skip(1).collect();
        assert_eq!(cells.len(), 3, "{table}");
        for cell in cells {
            assert!(cell.starts_with("0.00000"), "{table}");
            assert!(significant(cell) >= 3, "{cell} in\n{table}");
        }
    }

    // The CSV at full precision: the number as computed, not rounded to 6 decimals.
    let csv = common::stdout(
        gruf(dir.path())
            .args(["predict", "--days", "3", "--format", "csv"])
            .args(model),
    );
    for row in csv.lines().skip(1) {
        let cell = row.split(',').nth(1).unwrap();
        let value: f64 = cell.parse().unwrap();
        assert!(value > 1e-7 && value < 1e-4, "{csv}");
        assert!(significant(cell) >= 5, "{cell} in\n{csv}");
    }

    // evaluate: the MAE and RMSE of every forecaster, in the sentence and the tables.
    let table = common::stdout(gruf(dir.path()).arg("evaluate").args(model));
    assert!(
        !table.contains(" 0.00 ") && !table.contains(" 0.00\n"),
        "{table}"
    );
    let naive = table
        .lines()
        .find(|l| l.starts_with("naive "))
        .unwrap_or_else(|| panic!("{table}"));
    for cell in naive.split_whitespace().skip(1).take(2) {
        assert!(significant(cell) >= 3, "{cell} in\n{table}");
    }
}

#[test]
fn prices_in_the_thousands_still_print_in_cents() {
    let dir = common::trained();
    let table = common::stdout(gruf(dir.path()).args(["predict", "--days", "2"]));
    for row in table.lines().skip(1) {
        let cell = row.split_whitespace().nth(1).unwrap();
        let (int, frac) = cell.split_once('.').unwrap();
        assert!(int.contains(',') && frac.len() == 2, "{table}");
    }
}

/// A long CSV of series `H1`, `H2`, `H10`, `H100`, as `Date,Symbol,Close`.
fn hourly_like_ids(dir: &std::path::Path) {
    let mut text = String::from("Date,Symbol,Close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    for i in 0..80 {
        let date = start + chrono::Duration::days(i);
        for (k, id) in ["H100", "H10", "H2", "H1"].iter().enumerate() {
            let v = 100.0 + k as f64 + (i as f64 * 0.3).sin();
            text.push_str(&format!("{date},{id},{v:.3}\n"));
        }
    }
    common::write(dir, "long.csv", &text);
}

#[test]
fn series_are_listed_in_natural_order() {
    let dir = tempfile::tempdir().unwrap();
    hourly_like_ids(dir.path());
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(common::FAST)
        .assert()
        .success();
    let table = common::stdout(gruf(dir.path()).args(["predict", "--days", "1"]));
    let ids: Vec<&str> = (table.lines().skip(1))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["H1", "H2", "H10", "H100"], "{table}");
    let table = common::stdout(gruf(dir.path()).args(["evaluate"]));
    let listed: Vec<&str> = (table.lines())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with('H') && w[1..].chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(listed, ["H1", "H2", "H10", "H100"], "{table}");
}

/// `prices.csv` laid out otherwise: `Day;Price` columns named unlike the training CSV's,
/// dates as 31/12/2019, comma-separated still.
fn relaid(dir: &std::path::Path) {
    let text = std::fs::read_to_string(dir.join("prices.csv")).unwrap();
    let mut out = String::from("Day,Price\n");
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let d = chrono::NaiveDate::parse_from_str(cells[0], "%Y-%m-%d").unwrap();
        out.push_str(&format!("{},{}\n", d.format("%d/%m/%Y"), cells[4]));
    }
    common::write(dir, "relaid.csv", &out);
}

#[test]
fn consumers_read_a_csv_laid_out_otherwise_with_layout_flags() {
    let dir = common::trained();
    relaid(dir.path());
    let layout = [
        "--csv",
        "relaid.csv",
        "--column",
        "Price",
        "--date-column",
        "Day",
        "--date-format",
        "%d/%m/%Y",
    ];
    // The same data as the training CSV, so the same forecast.
    let want = common::stdout(gruf(dir.path()).args(["predict", "--days", "3"]));
    let got = common::stdout(
        gruf(dir.path())
            .args(["predict", "--days", "3"])
            .args(layout),
    );
    assert_eq!(got, want);
    let want = common::stdout(gruf(dir.path()).args(["evaluate", "--csv", "prices.csv"]));
    let got = common::stdout(gruf(dir.path()).args(["evaluate"]).args(layout));
    assert_eq!(got, want);
    gruf(dir.path())
        .args(["plot", "--out", "relaid.png"])
        .args(layout)
        .assert()
        .success();
    gruf(dir.path())
        .args(["inspect", "--out", "gates.png", "--at", "01/10/2019"])
        .args(layout)
        .assert()
        .success();
    // Without them, the error's advice is a flag predict has.
    gruf(dir.path())
        .args(["predict", "--csv", "relaid.csv"])
        .assert()
        .code(65)
        .stderr(contains("pass --column"));
    // They describe --csv: without one they are refused, not ignored.
    gruf(dir.path())
        .args(["predict", "--column", "Price"])
        .assert()
        .code(2)
        .stderr(contains("--column Price").and(contains("--csv")));
    // A model of one series reads no long CSV.
    gruf(dir.path())
        .args(["predict", "--csv", "prices.csv", "--id-column", "Symbol"])
        .assert()
        .code(2)
        .stderr(contains("--id-column Symbol").and(contains("one series")));
}

#[test]
fn a_global_model_reads_a_long_csv_with_another_id_column() {
    let dir = tempfile::tempdir().unwrap();
    hourly_like_ids(dir.path());
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(common::FAST)
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("long.csv")).unwrap();
    common::write(
        dir.path(),
        "other.csv",
        &text.replacen("Date,Symbol,Close", "when,ticker,last", 1),
    );
    let want = common::stdout(gruf(dir.path()).args(["predict", "--days", "2"]));
    let got = common::stdout(gruf(dir.path()).args([
        "predict",
        "--days",
        "2",
        "--csv",
        "other.csv",
        "--id-column",
        "ticker",
        "--column",
        "last",
        "--date-column",
        "when",
    ]));
    assert_eq!(got, want);
}

/// `--steps` and `--test-size` are the names help shows (they count steps of the series,
/// which need not be days); the old `--days` and `--test-days` keep old scripts running and
/// give the same output.
#[test]
fn steps_and_test_size_are_the_names_and_days_still_works() {
    let dir = common::workspace();
    for (model, flag) in [
        ("new.safetensors", "--test-size"),
        ("old.safetensors", "--test-days"),
    ] {
        gruf(dir.path())
            .args(["train", "--csv", "prices.csv", "--model", model, flag, "30"])
            .args(common::TINY_NO_HOLDOUT)
            .assert()
            .success();
    }
    let run = |args: &[&str]| common::stdout(gruf(dir.path()).args(args));
    let new = ["--model", "new.safetensors"];
    let evaluated = run(&[&["evaluate"][..], &new].concat());
    assert!(evaluated.contains("over 30 days"), "{evaluated}");
    assert_eq!(evaluated, run(&["evaluate", "--model", "old.safetensors"]));
    assert_eq!(
        run(&[&["predict", "--steps", "3"][..], &new].concat()),
        run(&[&["predict", "--days", "3"][..], &new].concat())
    );
    let drawn = |flag: &str| {
        run(&[&["plot", "--out", "p.svg", flag, "2"][..], &new].concat());
        std::fs::read_to_string(dir.path().join("p.svg")).unwrap()
    };
    assert_eq!(drawn("--steps"), drawn("--days"));

    let predict = run(&["predict", "--help"]);
    assert!(predict.contains("--steps <N>"), "{predict}");
    assert!(predict.contains("[alias: --days]"), "{predict}");
    let plot = run(&["plot", "--help"]);
    assert!(
        plot.contains("--steps <N>") && !plot.contains("--days <N>"),
        "{plot}"
    );
    let train = run(&["train", "--help"]);
    assert!(train.contains("--test-size <N>"), "{train}");
    assert!(train.contains("[alias: --test-days]"), "{train}");
    let top = run(&["--help"]);
    assert!(
        top.contains("gruf predict --steps 7") && !top.contains("--days"),
        "{top}"
    );
}
