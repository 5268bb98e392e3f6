//! `gruf plot` as a user runs it: the output format follows the file's extension, a name
//! gruf cannot honour is refused before any work, and the picture's text stays whole.

use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

use crate::common;
use crate::common::{gruf, trained};

/// The title `gruf plot` gives the sample series' picture.
const TITLE: &str = "gruf: Close, prices.csv: one-step forecasts over the held-out days";

/// A temporary folder holding `hourly.csv` (300 hours with a daily cycle, from
/// 2016-01-01T00:00Z) and a model trained on it with the last 48 hours held out.
fn trained_hourly() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("time,value\n");
    for h in 0..300 {
        let day = (h as f64 * std::f64::consts::TAU / 24.0).sin();
        csv.push_str(&format!(
            "2016-01-{:02}T{:02}:00:00Z,{:.1}\n",
            h / 24 + 1,
            h % 24,
            600.0 + 200.0 * day + (h % 7) as f64
        ));
    }
    std::fs::write(dir.path().join("hourly.csv"), csv).unwrap();
    gruf(dir.path())
        .args(["train", "--csv", "hourly.csv", "--column", "value"])
        .args([
            "--date-column",
            "time",
            "--test-days",
            "48",
            "--window",
            "24",
        ])
        .args(["--layers", "8", "--epochs", "2", "--seed", "1", "--quiet"])
        .assert()
        .success();
    dir
}

/// Draws the plot of the model in `dir` as SVG and reads it back.
fn svg(dir: &Path, args: &[&str]) -> String {
    gruf(dir)
        .args(["plot", "--out", "p.svg"])
        .args(args)
        .assert()
        .success();
    std::fs::read_to_string(dir.join("p.svg")).unwrap()
}

const IMAGE: (f64, f64) = (1400.0, 1000.0);

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

fn number(tag: &str, name: &str) -> f64 {
    attr(tag, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {name} in {tag}"))
}

/// A piece of text in the SVG and the box it covers, estimated generously: DejaVu Sans
/// digits are 0.64 em wide, most letters narrower.
#[derive(Debug)]
struct Text {
    content: String,
    x: (f64, f64),
    y: (f64, f64),
    rotated: bool,
}

fn texts(svg: &str) -> Vec<Text> {
    svg.split("<text ")
        .skip(1)
        .map(|part| {
            let (tag, rest) = part.split_once('>').unwrap();
            let tag = &format!(" {tag}");
            let content = rest.split("</text>").next().unwrap().trim();
            let content = content
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&apos;", "'")
                .replace("&amp;", "&");
            let (x, y, size) = (number(tag, "x"), number(tag, "y"), number(tag, "font-size"));
            let width = content.chars().count() as f64 * 0.64 * size;
            let x = match attr(tag, "text-anchor") {
                Some("middle") => (x - width / 2.0, x + width / 2.0),
                Some("end") => (x - width, x),
                _ => (x, x + width),
            };
            let y = match attr(tag, "dy") {
                Some("0.76em") => (y, y + size),
                Some("-0.5ex") => (y - size, y),
                _ => (y - size / 2.0, y + size / 2.0),
            };
            Text {
                content,
                x,
                y,
                rotated: attr(tag, "transform").is_some(),
            }
        })
        .collect()
}

/// A polyline of the SVG: its stroke colour, opacity, width and points.
#[derive(Debug)]
struct Polyline {
    stroke: String,
    opacity: String,
    width: String,
    points: Vec<(f64, f64)>,
}

fn polylines(svg: &str) -> Vec<Polyline> {
    svg.split("<polyline ")
        .skip(1)
        .map(|part| {
            let tag = &format!(" {}", part.split("/>").next().unwrap());
            let points = attr(tag, "points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            Polyline {
                stroke: attr(tag, "stroke").unwrap().to_string(),
                opacity: attr(tag, "opacity").unwrap().to_string(),
                width: attr(tag, "stroke-width").unwrap().to_string(),
                points,
            }
        })
        .collect()
}

/// The curves of data: price lines and loss curves. Axes and ticks are thin black lines,
/// the end-of-data line is half transparent, legend swatches are 28-pixel dashes.
fn data_lines(svg: &str) -> Vec<Polyline> {
    let swatch = |l: &Polyline| {
        l.points.len() == 2
            && l.points[0].1 == l.points[1].1
            && l.points[1].0 - l.points[0].0 == 28.0
    };
    polylines(svg)
        .into_iter()
        .filter(|l| !(l.stroke == "#000000" && l.width == "1") && l.opacity == "1" && !swatch(l))
        .collect()
}

/// Whether a polyline passes through a box, sampled every half pixel along each segment.
fn crosses(line: &Polyline, x: (f64, f64), y: (f64, f64)) -> bool {
    line.points.windows(2).any(|w| {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) * 2.0).ceil().max(1.0) as usize;
        (0..=steps).any(|i| {
            let f = i as f64 / steps as f64;
            let (px, py) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
            x.0 <= px && px <= x.1 && y.0 <= py && py <= y.1
        })
    })
}

fn is_legend_label(text: &str) -> bool {
    [
        "true ",
        "naive (",
        "model, MAE",
        "train loss",
        "validation loss",
        "best epoch",
        "end of data",
    ]
    .iter()
    .any(|start| text.starts_with(start))
        || text.contains("forecast, ")
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn svg_and_png_outputs_hold_what_their_names_say() {
    let dir = trained();
    for (name, upper) in [("p.svg", "P.SVG"), ("p.png", "P.PNG")] {
        for out in [name, upper] {
            gruf(dir.path())
                .args(["plot", "--out", out])
                .assert()
                .success()
                .stderr(contains(format!("wrote {out}")));
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("p.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "not an SVG: {}",
        &svg[..svg.len().min(200)]
    );
    assert!(svg.contains(TITLE), "the title is not in the SVG");
    assert!(svg.trim_end().ends_with("</svg>"));
    let png = std::fs::read(dir.path().join("p.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(std::fs::read(dir.path().join("P.SVG"))
        .unwrap()
        .starts_with(b"<svg"));
}

/// gruf 1.0 wrote PNG bytes under any name. Now a name that is not .png or .svg is a usage
/// error naming the extension, found before the model is read, and no file appears.
#[test]
fn other_extensions_are_refused_with_exit_2_before_any_work() {
    let dir = trained();
    let before = files(dir.path());
    for (out, named) in [
        ("p.jpg", ".jpg"),
        ("p.jpeg", ".jpeg"),
        ("p.pdf", ".pdf"),
        ("p", "no extension"),
        ("p.svg.bak", ".bak"),
    ] {
        let assert = gruf(dir.path())
            .args(["plot", "--out", out])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty());
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        let lines: Vec<_> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{out}: {stderr}");
        assert!(
            lines[0].starts_with(&format!("gruf: error: --out {out}: "))
                && lines[0].contains(named)
                && lines[0].contains(".png or .svg"),
            "{out}: {stderr}"
        );
        assert_eq!(files(dir.path()), before, "{out}: a file was written");
    }
    // Refused before the model is read: a missing model does not change the answer.
    gruf(dir.path())
        .args(["plot", "--model", "missing.safetensors", "--out", "p.jpg"])
        .assert()
        .code(2)
        .stderr(contains(".jpg"));
}

/// Every label lies whole inside the image (gruf 1.0 cut the last date label off at the
/// right edge), and no data line passes through a legend label (gruf 1.0 drew its legends
/// inside the plotting areas, over the lines).
#[test]
fn labels_are_whole_and_legends_leave_the_data_uncovered() {
    // The hourly forecast ends at midnight (2016-01-13T11:00 + 37 hours), so a date label
    // sits at the right edge of the plotting area.
    for (dir, args) in [(trained(), &[][..]), (trained_hourly(), &["--days", "37"])] {
        let svg = svg(dir.path(), args);
        let texts = texts(&svg);
        assert!(texts.len() > 20, "{texts:?}");
        for t in texts.iter().filter(|t| !t.rotated) {
            assert!(
                t.x.0 >= 0.0 && t.x.1 <= IMAGE.0 && t.y.0 >= 0.0 && t.y.1 <= IMAGE.1,
                "cut off: {t:?}"
            );
        }
        let legend: Vec<_> = texts
            .iter()
            .filter(|t| is_legend_label(&t.content))
            .collect();
        assert!(legend.len() >= 7, "{legend:?}");
        let lines = data_lines(&svg);
        assert!(lines.len() >= 6, "{lines:?}");
        for label in legend {
            for line in &lines {
                assert!(
                    !crosses(line, label.x, label.y),
                    "{:?} is drawn over a data line",
                    label.content
                );
            }
        }
    }
}

/// The loss panel's y axis carries three labels or more (gruf 1.0's log axis showed one
/// or none when the losses spanned less than a decade or two).
#[test]
fn the_loss_axis_has_at_least_three_labels() {
    let dir = trained();
    let svg = svg(dir.path(), &[]);
    let texts = texts(&svg);
    let caption = texts
        .iter()
        .find(|t| t.content.starts_with("training and validation loss"))
        .expect("no loss caption");
    let epoch = texts.iter().find(|t| t.content == "epoch").unwrap();
    // Tick labels of a y axis end just left of the plotting area.
    let y_labels: Vec<_> = texts
        .iter()
        .filter(|t| t.y.0 > caption.y.1 && t.y.1 < epoch.y.0 && t.x.1 < 120.0 && !t.rotated)
        .map(|t| t.content.as_str())
        .collect();
    assert!(y_labels.len() >= 3, "{y_labels:?}");
    assert!(
        y_labels.iter().all(|l| l.parse::<f64>().is_ok()),
        "{y_labels:?}"
    );
}

/// On hourly data the x axis shows times of day, and the dashed end-of-data line falls
/// between the last value and the first forecast (gruf 1.0 put it half a day back, inside
/// the held-out hours, and labelled the axis with seconds).
#[test]
fn hourly_plots_show_hours_and_end_the_data_in_the_right_place() {
    let dir = trained_hourly();
    let svg = svg(dir.path(), &[]);
    let texts = texts(&svg);
    let hours = texts
        .iter()
        .filter(|t| {
            let b = t.content.as_bytes();
            b.len() == 5 && b[2] == b':' && t.content.ends_with(":00")
        })
        .count();
    assert!(hours >= 2, "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.content.ends_with(":00:00")),
        "{texts:?}"
    );
    // gruf 1.0 called 30 hours a "30-day recursive forecast" and "tomorrow = today". The
    // forecast is as long as the 48 hours held out.
    for label in [
        "one-step forecasts over the held-out hours",
        "naive (next hour = this hour), MAE",
        "seasonal naive (same hour yesterday) MAE",
        "recursive forecast, 48 hours",
    ] {
        assert!(texts.iter().any(|t| t.content.contains(label)), "{label}");
    }
    // The value axis is named after the column, not "price" (this series is not one).
    assert!(texts.iter().any(|t| t.content == "value"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.content == "price"), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t
            .content
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "day" || w == "days")),
        "{texts:?}"
    );

    let lines = polylines(&svg);
    let curve = |stroke: &str, width: &str| {
        lines
            .iter()
            .find(|l| {
                l.stroke == stroke && l.width == width && l.opacity == "1" && l.points.len() > 2
            })
            .unwrap_or_else(|| panic!("no {stroke} line of width {width}"))
    };
    let truth = curve("#000000", "2");
    let forecast = curve("#E66E00", "3");
    let last = truth.points.last().unwrap().0;
    let first_forecast = forecast.points[1].0;
    let dashes: Vec<_> = lines
        .iter()
        .filter(|l| l.opacity == "0.5" && l.points.len() == 2 && l.points[0].0 == l.points[1].0)
        .collect();
    assert!(dashes.len() > 10, "{dashes:?}");
    for dash in dashes {
        let x = dash.points[0].0;
        assert!(
            last < x && x < first_forecast,
            "{last} {x} {first_forecast}"
        );
        let mid = (last + first_forecast) / 2.0;
        common::assert_close("dash x", &[x], &[mid], 0.0, 1.0);
    }
}

/// A long CSV (`Date,Symbol,Close`) of `ids.len()` daily series of `days` rows on
/// different scales, each with a weekly cycle.
fn long_csv(ids: &[&str], days: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut text = String::from("Date,Symbol,Close\n");
    for i in 0..days {
        let date = start + chrono::Duration::days(i as i64);
        for (k, id) in ids.iter().enumerate() {
            let scale = 10.0 * (k + 1) as f64;
            let t = i as f64 + k as f64;
            let v = scale * (2.0 + (t * std::f64::consts::TAU / 7.0).sin() * 0.3 + t * 0.004);
            text.push_str(&format!("{date},{id},{v:.4}\n"));
        }
    }
    text
}

/// The width and height of an SVG, from its root element.
fn svg_size(svg: &str) -> (f64, f64) {
    let root = svg.split("<svg").nth(1).unwrap().split('>').next().unwrap();
    (number(root, "width"), number(root, "height"))
}

/// Whether two pieces of text cover the same pixels.
fn overlap(a: &Text, b: &Text) -> bool {
    a.x.0 < b.x.1 && b.x.0 < a.x.1 && a.y.0 < b.y.1 && b.y.0 < a.y.1
}

/// The grid's legend labels: laid out by their measured widths, closer together than the
/// generous estimate of [`texts`] allows.
fn is_grid_legend(text: &Text) -> bool {
    [
        "true ",
        "held-out part",
        "model, forecast",
        "seasonal naive:",
    ]
    .iter()
    .any(|start| text.content.starts_with(start))
        || text.content.ends_with("past the end")
}

/// Every label whole inside the picture and none over another (but for neighbours in the
/// legend, whose spacing the legend's unit test checks).
fn assert_text_fits(svg: &str) {
    let (width, height) = svg_size(svg);
    let texts = texts(svg);
    for t in &texts {
        assert!(
            t.x.0 >= 0.0 && t.x.1 <= width && t.y.0 >= 0.0 && t.y.1 <= height,
            "cut off: {t:?}"
        );
    }
    for (i, a) in texts.iter().enumerate() {
        for b in &texts[i + 1..] {
            if !(is_grid_legend(a) && is_grid_legend(b)) {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }
}

/// Issue 11: `plot` on a global model draws a grid of its series (the first 12 by id, the
/// rest counted in a note that says how to choose them), each panel titled with its id and
/// the MASE of its held-out part forecast in one go; `--series ID` draws that series as a
/// model of one series is drawn; several `--series` draw a grid of those; an unknown id is
/// refused with exit 2, naming the ids there are.
#[test]
fn a_global_model_draws_a_grid_of_its_series_or_one_series_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (1..=14).map(|k| format!("S{k:02}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    common::write(dir.path(), "long.csv", &long_csv(&ids, 90));
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(common::FAST)
        .assert()
        .success();

    let assert = gruf(dir.path())
        .args(["plot", "--out", "grid.svg"])
        .assert()
        .success()
        .stderr(contains("wrote grid.svg"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("drew 12 of 14 series") && stderr.contains("--series"),
        "{stderr}"
    );
    let grid = std::fs::read_to_string(dir.path().join("grid.svg")).unwrap();
    for id in &ids[..12] {
        assert!(grid.contains(&format!("{id}: MASE model ")), "{id}");
    }
    for id in &ids[12..] {
        assert!(!grid.contains(&format!("{id}: MASE")), "{id}");
    }
    assert!(
        grid.contains("Close of 12 of 14 series, long.csv"),
        "{grid}"
    );
    assert!(grid.contains("last 30 days held out"), "{grid}");
    assert!(grid.contains(", seasonal naive "), "{grid}");
    assert!(grid.contains("30 days past the end"), "{grid}");
    assert_text_fits(&grid);

    gruf(dir.path())
        .args(["plot", "--out", "grid.png", "--days", "10"])
        .assert()
        .success();
    let png = std::fs::read(dir.path().join("grid.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");

    // Two series: a grid of two, and nothing to say about the others.
    gruf(dir.path())
        .args([
            "plot", "--out", "two.svg", "--series", "S07", "--series", "S02",
        ])
        .assert()
        .success()
        // The range warnings of the two series drawn (min-max models warn for each
        // series whose last window leaves its range), and nothing about the others.
        .stderr(
            predicates::str::ends_with("gruf: wrote two.svg\n")
                .and(contains("'S01'").not())
                .and(contains("'S03'").not()),
        );
    let two = std::fs::read_to_string(dir.path().join("two.svg")).unwrap();
    assert!(two.contains("S02: MASE model ") && two.contains("S07: MASE model "));
    assert!(!two.contains("S01: MASE"));
    assert_text_fits(&two);

    // One series: the picture of a model of one series, titled with the series.
    let one = svg(dir.path(), &["--series", "S03"]);
    let texts = texts(&one);
    let title = "gruf: Close of series 'S03', long.csv: one-step forecasts over the held-out days";
    assert!(texts.iter().any(|t| t.content == title), "{texts:?}");
    for label in [
        "model, MAE",
        "naive (tomorrow = today), MAE",
        "recursive forecast, 30 days",
        "best epoch",
    ] {
        assert!(texts.iter().any(|t| t.content.contains(label)), "{label}");
    }
    assert!(!texts.iter().any(|t| t.content.contains("S01")));

    let before = files(dir.path());
    let assert = gruf(dir.path())
        .args(["plot", "--out", "zzz.png", "--series", "ZZZ"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with(
            "gruf: error: --series ZZZ: the model has no such series; it has 'S01', 'S02'"
        ) && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(files(dir.path()), before);
}

/// A global model trained with `--test-size 0` has no held-out part: its panels show the
/// recent past and the forecast, and the picture says so.
#[test]
fn a_global_model_without_a_held_out_part_draws_the_past_and_the_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let text = long_csv(&["AAA", "BBB", "CCC"], 80);
    common::write(dir.path(), "long.csv", &text);
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(common::TINY_NO_HOLDOUT)
        .args(["--test-days", "0"])
        .assert()
        .success();
    let svg = svg(dir.path(), &["--days", "14"]);
    assert!(svg.contains("No held-out part"), "{svg}");
    assert!(
        svg.contains("Close of 3 series, long.csv: the forecast of 14 days past the end"),
        "{svg}"
    );
    assert!(!svg.contains("MASE"), "{svg}");
    let texts = texts(&svg);
    for id in ["AAA", "BBB", "CCC"] {
        assert!(texts.iter().any(|t| t.content == id), "{id}");
    }
    assert_text_fits(&svg);
}

/// Without --days the forecast drawn is as long as the model's horizon, or, for a model
/// of one step, as its held-out part; --days still sets it.
#[test]
fn the_forecast_drawn_defaults_to_the_models_horizon_or_held_out_length() {
    let dir = common::workspace();
    let tiny = [
        "--layers", "8", "--window", "10", "--epochs", "2", "--seed", "1", "-q",
    ];
    for (model, extra) in [
        ("k5.safetensors", ["--horizon", "5", "--test-days", "30"]),
        ("k1.safetensors", ["--horizon", "1", "--test-days", "40"]),
    ] {
        gruf(dir.path())
            .args(["train", "--csv", "prices.csv", "--model", model])
            .args(tiny)
            .args(extra)
            .assert()
            .success();
    }
    let legend = |args: &[&str]| -> Vec<String> {
        texts(&svg(dir.path(), args))
            .into_iter()
            .map(|t| t.content)
            .filter(|c| c.contains("forecast, ") && c.ends_with("days"))
            .collect()
    };
    assert_eq!(
        legend(&["--model", "k5.safetensors"]),
        ["direct forecast, 5 days"]
    );
    assert_eq!(
        legend(&["--model", "k1.safetensors"]),
        ["recursive forecast, 40 days"]
    );
    assert_eq!(
        legend(&["--model", "k1.safetensors", "--days", "7"]),
        ["recursive forecast, 7 days"]
    );
}

/// --history N draws the last N values of the data (more or fewer than the held-out part
/// shown by default), for one series and for each panel of a global model's grid.
#[test]
fn history_draws_the_last_n_values() {
    let dir = trained();
    let longest = |svg: &str| {
        data_lines(svg)
            .iter()
            .map(|l| l.points.len())
            .max()
            .unwrap()
    };
    let default = svg(dir.path(), &[]);
    assert!(longest(&default) < 100, "{}", longest(&default));
    let long = svg(dir.path(), &["--history", "100"]);
    assert!(
        data_lines(&long).iter().any(|l| l.points.len() == 100),
        "{:?}",
        data_lines(&long)
            .iter()
            .map(|l| l.points.len())
            .collect::<Vec<_>>()
    );
    let short = svg(dir.path(), &["--history", "5", "--days", "3"]);
    assert!(longest(&short) <= 5 + 1, "{}", longest(&short));

    let ids = ["A", "B"];
    common::write(dir.path(), "long.csv", &long_csv(&ids, 120));
    gruf(dir.path())
        .args(["train", "--csv", "long.csv", "--id-column", "Symbol"])
        .args(["--model", "global.safetensors"])
        .args(common::FAST)
        .assert()
        .success();
    // Each panel's held-out forecast in one go (the model's blue) over 30 values, joined to
    // the value before: 31 points a panel, of which the last 20 values keep 20.
    let model_points = |args: &[&str]| -> usize {
        let grid = svg(
            dir.path(),
            &[&["--model", "global.safetensors"][..], args].concat(),
        );
        (data_lines(&grid).iter())
            .filter(|l| l.stroke == "#1F77B4")
            .map(|l| l.points.len())
            .sum()
    };
    assert_eq!(model_points(&[]), 2 * 31);
    assert_eq!(model_points(&["--history", "20"]), 2 * 20);
}

/// The value axis of a series around a millionth is labelled with its values (gruf 1.5
/// labelled every tick "0").
#[test]
fn a_tiny_valued_series_gets_readable_value_ticks() {
    let dir = common::workspace();
    let text = std::fs::read_to_string(dir.path().join("prices.csv")).unwrap();
    let mut tiny = String::from("Date,Close\n");
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let close: f64 = cells[4].parse().unwrap();
        tiny.push_str(&format!("{},{:.15}\n", cells[0], close / 1e9));
    }
    common::write(dir.path(), "tiny.csv", &tiny);
    gruf(dir.path())
        .args(["train", "--csv", "tiny.csv"])
        .args(common::FAST)
        .assert()
        .success();
    let svg = svg(dir.path(), &[]);
    let texts = texts(&svg);
    let caption = texts
        .iter()
        .find(|t| t.content.starts_with("training and validation loss"))
        .unwrap();
    // Tick labels of the value axis end just left of the plotting area, above the losses.
    let ticks: Vec<f64> = (texts.iter())
        .filter(|t| t.y.1 < caption.y.0 && t.x.1 < 120.0 && !t.rotated)
        .filter_map(|t| t.content.parse().ok())
        .collect();
    let mut distinct = ticks.clone();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{ticks:?}");
    assert!(ticks.iter().all(|&t| t > 1e-7 && t < 1e-4), "{ticks:?}");
}
