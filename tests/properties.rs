//! Property tests over generated inputs: whatever a CSV or a model file holds, gruf either
//! loads it to something valid or refuses it with an error; it never panics.

use std::path::Path;

use candle_core::Device;
use gruf::checkpoint::Checkpoint;
use gruf::data::{load_csv, DataConfig};
use gruf::scaler::{Scaler, TransformKind};
use proptest::prelude::*;

mod common;

/// One generated price cell: numbers (zero and negative ones included: they load), the
/// missing markers, quoted thousands and, unless `clean`, garbage.
fn price_cell(clean: bool) -> BoxedStrategy<String> {
    let good = prop_oneof![
        12 => (0.01f64..1e6).prop_map(|v| format!("{v:.4}")),
        1 => (-1e6f64..=0.0).prop_map(|v| format!("{v:.4}")),
        1 => Just("0".to_string()),
        1 => Just("null".to_string()),
        1 => Just(String::new()),
        1 => Just("NaN".to_string()),
        1 => (1u32..999, 0u32..1000).prop_map(|(a, b)| format!("\"{a},{b:03}.5\"")),
    ];
    if clean {
        return good.boxed();
    }
    let bad = prop_oneof![
        Just("inf"),
        Just("-inf"),
        Just("abc"),
        Just("-1e40"),
        Just("1e40"),
        Just("\"\"")
    ];
    prop_oneof![8 => good, 1 => bad.prop_map(str::to_string)].boxed()
}

/// One generated date cell (any order, duplicates likely): ISO days or Unix seconds and,
/// unless `clean`, junk.
fn date_cell(clean: bool) -> BoxedStrategy<String> {
    let good = prop_oneof![
        8 => (0i64..400).prop_map(|d| {
            let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(d);
            day.format("%Y-%m-%d").to_string()
        }),
        1 => (0i64..400).prop_map(|d| (1_577_836_800 + d * 86_400).to_string()),
    ];
    if clean {
        return good.boxed();
    }
    let bad = prop_oneof![Just("01/02/2021"), Just(""), Just("yesterday")];
    prop_oneof![9 => good, 1 => bad.prop_map(str::to_string)].boxed()
}

fn csv_text() -> impl Strategy<Value = (String, bool)> {
    any::<bool>().prop_flat_map(|clean| {
        (
            prop::collection::vec((date_cell(clean), price_cell(clean)), 0..60),
            any::<bool>(), // BOM
            any::<bool>(), // CRLF
            any::<bool>(), // an extra column
        )
            .prop_map(|(rows, bom, crlf, extra)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = String::from(if bom { "\u{feff}" } else { "" });
                text.push_str(if extra {
                    "Date,Open,Close"
                } else {
                    "Date,Close"
                });
                text.push_str(eol);
                for (d, p) in &rows {
                    let line = if extra {
                        format!("{d},1,{p}")
                    } else {
                        format!("{d},{p}")
                    };
                    text.push_str(&line);
                    text.push_str(eol);
                }
                (text, rows.is_empty())
            })
    })
}

thread_local! {
    static LOADED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static OK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_csv_loads_to_a_clean_series_or_is_refused((text, _) in csv_text()) {
        LOADED.with(|c| c.set(c.get() + 1));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gen.csv");
        std::fs::write(&path, &text).unwrap();
        match load_csv(&path, &DataConfig::default()) {
            Ok(loaded) => {
                OK.with(|c| c.set(c.get() + 1));
                let s = &loaded.series;
                prop_assert!(!s.is_empty());
                prop_assert!(s.dates.windows(2).all(|w| w[0] < w[1]), "dates not increasing");
                // Any finite value of either sign; positivity is the transform's check.
                prop_assert!(s.values.iter().all(|v| v.is_finite()));
                prop_assert_eq!(loaded.lines.len(), s.len());
                prop_assert_eq!(loaded.provenance.rows, s.len());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("gen.csv"), "error does not name the file: {}", msg);
                prop_assert!(!msg.contains('\n'), "error is more than one line: {}", msg);
                prop_assert_eq!(e.exit_code(), 65);
            }
        }
    }

    #[test]
    fn transforms_round_trip(values in prop::collection::vec(1.0f64..1e5, 3..40), next in 1.0f64..1e5) {
        for kind in TransformKind::ALL {
            if let Some(s) = Scaler::fit(kind, &values) {
                let last = *values.last().unwrap();
                let back = s.decode(last, s.target(last, next));
                // f32 targets: about 7 significant digits of the transformed value.
                let atol = 1e-4 * next.max(last);
                prop_assert!(common::first_mismatch(&[back], &[next], 0.0, atol).is_none(), "{:?}: {} -> {}", kind, next, back);
            }
        }
    }

    /// Values of any sign: the transforms that take them (`diff`, `minmax`) round-trip.
    #[test]
    fn signed_transforms_round_trip(values in prop::collection::vec(-1e5f64..1e5, 3..40), next in -1e5f64..1e5) {
        for kind in TransformKind::ALL.into_iter().filter(|k| !k.needs_positive()) {
            if let Some(s) = Scaler::fit(kind, &values) {
                let last = *values.last().unwrap();
                let back = s.decode(last, s.target(last, next));
                let spread = values.iter().fold(next.abs(), |a, v| a.max(v.abs()));
                prop_assert!(common::first_mismatch(&[back], &[next], 0.0, 1e-4 * spread).is_none(), "{:?}: {} -> {}", kind, next, back);
            }
        }
    }
}

/// A valid checkpoint's bytes, made once through the CLI's library path.
fn valid_checkpoint(dir: &Path) -> Vec<u8> {
    let csv = dir.join("s.csv");
    let bars = gruf::synth::generate(&gruf::synth::SampleConfig {
        rows: 120,
        ..Default::default()
    });
    std::fs::write(&csv, gruf::synth::to_csv(&bars)).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gruf"))
        .current_dir(dir)
        .args([
            "train",
            "--csv",
            "s.csv",
            "--layers",
            "3",
            "--window",
            "5",
            "--epochs",
            "1",
            "--test-days",
            "10",
        ])
        .args(["--seed", "1", "--quiet", "--model", "m.safetensors"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("m.safetensors")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random corruption of a valid model file: flipped bytes, truncation, appended junk.
    #[test]
    fn corrupted_checkpoints_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
        junk in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        thread_local! {
            static GOOD: (tempfile::TempDir, Vec<u8>) = {
                let dir = tempfile::tempdir().unwrap();
                let bytes = valid_checkpoint(dir.path());
                (dir, bytes)
            };
        }
        let mut bytes = GOOD.with(|g| g.1.clone());
        for (i, b) in &flips {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        bytes.extend_from_slice(&junk);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, &bytes).unwrap();
        match Checkpoint::load(&path, &Device::Cpu) {
            Ok(c) => {
                // Whatever loads must be usable: finite weights of the right shapes.
                prop_assert!(c.model().is_ok());
            }
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 65);
                prop_assert!(e.to_string().contains("bad.safetensors"));
            }
        }
    }
}

/// The generator is useful only if both outcomes occur often: checked after the run above.
#[test]
fn generated_csvs_both_load_and_fail() {
    // Run the property in this thread so the counters see it.
    any_csv_loads_to_a_clean_series_or_is_refused();
    let (total, ok) = (LOADED.with(|c| c.get()), OK.with(|c| c.get()));
    assert!(
        ok * 10 >= total && ok * 10 <= total * 9,
        "{ok} of {total} generated CSVs loaded"
    );
}
