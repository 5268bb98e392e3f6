//! `gruf plot` as a user runs it: the output format follows the file's extension, a name
//! gruf cannot honour is refused before any work, and the picture's text stays whole.

use std::path::Path;

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

/// The title `gruf plot` gives the sample series' picture.
const TITLE: &str = "gruf: Close, prices.csv: one-step forecasts over the held-out days";

fn gruf(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gruf"));
    cmd.current_dir(dir);
    cmd
}

/// A temporary folder holding `prices.csv` (300 synthetic days) and a model trained on it.
fn trained() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "300", "--out", "prices.csv"])
        .assert()
        .success();
    gruf(dir.path())
        .args(["train", "--csv", "prices.csv"])
        .args(FAST)
        .assert()
        .success();
    dir
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
                .stdout(contains(format!("wrote {out}")));
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
