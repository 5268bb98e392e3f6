//! Model files written by an earlier gruf keep loading and predicting the same numbers.
//!
//! `fixtures/v2/*.safetensors` were written by gruf 1.0 (checkpoint format 2) and
//! `fixtures/v2/*-predict.csv` hold what 1.0 predicted from them; `fixtures/v2/make.sh` made
//! both. `fixtures/v4/seasonal.safetensors` is a seasonal model of one period written
//! before `--season` took several (`fixtures/v4/make-seasonal.sh`). The CSV they were
//! trained on is `gruf sample --rows 400`, which is byte-stable.

use std::path::Path;

use crate::common::{assert_close, gruf};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v2")
        .join(name)
}

#[test]
fn gruf_1_0_model_files_predict_what_1_0_predicted() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "400", "--out", "prices.csv"])
        .assert()
        .success();
    for model in ["window", "minmax"] {
        let path = fixture(&format!("{model}.safetensors"));
        let before = std::fs::read(&path).unwrap();
        let out = gruf(dir.path())
            .args([
                "predict",
                "--csv",
                "prices.csv",
                "--days",
                "5",
                "--format",
                "csv",
            ])
            .arg("--model")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = std::fs::read_to_string(fixture(&format!("{model}-predict.csv"))).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected, "{model}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "reading changed {model}"
        );
    }
}

#[test]
fn gruf_1_0_model_files_evaluate_with_their_stored_scale() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "400", "--out", "prices.csv"])
        .assert()
        .success();
    // The window model held out 30 days; 1.0 scored its one-step model MAE as 152.38, with
    // MASE 1.183 against the naive forecast's error on the training part.
    let out = gruf(dir.path())
        .args(["evaluate", "--csv", "prices.csv", "--format", "json"])
        .arg("--model")
        .arg(fixture("window.safetensors"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["one_step"]["rows"].as_array().unwrap();
    let model = &rows.iter().find(|r| r[0] == "model").unwrap()[1];
    assert_eq!(doc["one_step"]["n"], 30);
    let (mae, mase) = (
        model["mae"].as_f64().unwrap(),
        model["mase"].as_f64().unwrap(),
    );
    assert_close(&format!("MAE of {model}"), &[mae], &[152.38], 0.0, 0.005);
    assert_close(&format!("MASE of {model}"), &[mase], &[1.183], 0.0, 0.0005);
}

#[test]
fn gruf_1_0_model_files_load_with_what_format_2_lacks_left_unknown() {
    let ckpt = gruf::checkpoint::Checkpoint::load(
        &fixture("window.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let meta = &ckpt.meta;
    assert_eq!(
        (meta.format_version, meta.gruf_version.as_str()),
        (2, "1.0.0")
    );
    assert_eq!(meta.data.calendar, None);
    assert_eq!(
        (meta.config.data.season, meta.first().mase_scale),
        (None, None)
    );
    assert_eq!(meta.config.data.delimiter, Default::default());
    let test = meta.test.as_ref().unwrap();
    assert_eq!((test.n, test.calendar, test.season), (30, None, None));
    // The MASE scale comes back from the stored naive metrics: MAE over MASE.
    let scale = meta.mase_scale(meta.first()).unwrap();
    let want = 152.73336786666667 / 1.1853980225756595;
    assert_close("MASE scale", &[scale], &[want], 0.0, 1e-9);
    assert_eq!(meta.first().split.test, 370..400);
}

/// A `--transform seasonal` model of one period (7), written by gruf 1.2.0 before seasons
/// became a list, loads with that one period and forecasts what it forecast then, bit for
/// bit, past its horizon too (10 days from a horizon of 7).
#[test]
fn a_seasonal_model_of_one_period_predicts_what_it_predicted() {
    let dir = tempfile::tempdir().unwrap();
    gruf(dir.path())
        .args(["sample", "--rows", "400", "--out", "prices.csv"])
        .assert()
        .success();
    let v4 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v4");
    let model = v4.join("seasonal.safetensors");
    let ckpt = gruf::checkpoint::Checkpoint::load(&model, &candle_core::Device::Cpu).unwrap();
    let seven = gruf::series::season::Seasons::single(7).unwrap();
    assert_eq!(ckpt.meta.config.data.season, Some(seven));
    assert!(matches!(
        ckpt.meta.first().scaler,
        gruf::features::scaler::Scaler::Seasonal { seasons, .. } if seasons == seven
    ));
    let out = gruf(dir.path())
        .args(["predict", "--csv", "prices.csv", "--days", "10"])
        .args(["--format", "csv", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read_to_string(v4.join("seasonal-predict.csv")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}
