//! gruf's interval baselines and scores against an independent computation.
//!
//! `fixtures/interval_reference.json` was made by `fixtures/interval_reference.py` (plain
//! Python, exact rationals for the ranks): the naive baselines' intervals from every origin
//! of a small series at three horizons and three levels, over the whole history and a
//! 20-step window, in absolute and relative changes; their coverage, mean width and MSIS,
//! and the pinball loss over their quantiles. The arithmetic is the same float operations
//! in both, so the tolerance, 1e-12 relative, only leaves room for summation order; a wrong
//! rank, window edge or penalty misses it by far.

use gruf::intervals::baselines::{baseline_interval, Baseline, Changes, History};
use gruf::intervals::scores::{pinball, score_intervals};
use gruf::intervals::{Interval, IntervalError, Level};
use gruf::scores::naive_scale;
use serde_json::Value;

const REFERENCE: &str = include_str!("../fixtures/interval_reference.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: gruf {got}, reference {want}"
    );
}

#[test]
fn baselines_and_scores_match_the_python_reference() {
    let r: Value = serde_json::from_str(REFERENCE).unwrap();
    let values = floats(&r["values"]);
    let train_end = r["train_end"].as_u64().unwrap() as usize;
    let scale = naive_scale(&values[..train_end]);
    assert_close("scale", scale, r["scale"].as_f64().unwrap());
    let levels: Vec<Level> = floats(&r["levels"])
        .into_iter()
        .map(|p| Level::new(p).unwrap())
        .collect();
    for (l, need) in levels.iter().zip(r["min_changes"].as_array().unwrap()) {
        assert_eq!(l.min_changes() as u64, need.as_u64().unwrap(), "{l}");
    }
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let history = match case["window"].as_u64() {
            Some(steps) => History::Rolling {
                steps: steps as usize,
            },
            None => History::Whole,
        };
        let changes = match case["changes"].as_str().unwrap() {
            "absolute" => Changes::Absolute,
            _ => Changes::Relative,
        };
        let baseline = Baseline { changes, history };
        let h = case["h"].as_u64().unwrap() as usize;
        let name = format!("{changes:?}, {history:?}, h = {h}");
        let origins: Vec<usize> = case["origins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_u64().unwrap() as usize)
            .collect();
        let truth: Vec<f64> = origins.iter().map(|&o| values[o + h - 1]).collect();
        assert_eq!(truth, floats(&case["truth"]), "{name}");
        let mut rows = vec![Vec::new(); origins.len()];
        for (li, &level) in levels.iter().enumerate() {
            let want = &case["intervals"][li];
            let band: Vec<Result<Interval, IntervalError>> = origins
                .iter()
                .map(|&o| baseline_interval(&values, o, h, level, baseline))
                .collect();
            for (i, (got, want)) in band.iter().zip(want.as_array().unwrap()).enumerate() {
                let what = format!("{name}, level {level}, origin {}", origins[i]);
                match (got, want.as_array()) {
                    (Ok(got), Some(ends)) => {
                        assert_close(&what, got.lower(), ends[0].as_f64().unwrap());
                        assert_close(&what, got.upper(), ends[1].as_f64().unwrap());
                    }
                    (Err(IntervalError::TooFew { .. }), None) => {}
                    (got, want) => panic!("{what}: gruf {got:?}, reference {want:?}"),
                }
            }
            let want = &case["scores"][li];
            let Ok(band) = band.into_iter().collect::<Result<Vec<_>, _>>() else {
                assert!(want.is_null(), "{name}, level {level}: refused, but scored");
                continue;
            };
            let s = score_intervals(&truth, &band, level, scale).unwrap();
            let what = format!("{name}, level {level}");
            assert_eq!(s.n, origins.len());
            assert_close(&what, s.coverage, want["coverage"].as_f64().unwrap());
            assert_close(&what, s.width, want["width"].as_f64().unwrap());
            assert_close(&what, s.msis, want["msis"].as_f64().unwrap());
            for (row, i) in rows.iter_mut().zip(&band) {
                row.extend([i.lower(), i.upper()]);
            }
        }
        let quantiles: Vec<f64> = levels
            .iter()
            .enumerate()
            .filter(|(li, _)| !case["scores"][li].is_null())
            .flat_map(|(_, l)| l.quantiles())
            .collect();
        let want = &case["pinball"];
        for (q, w) in quantiles.iter().zip(floats(&want["quantiles"])) {
            assert_close(&format!("{name}, quantile"), *q, w);
        }
        let raw = pinball(&truth, &quantiles, &rows, None).unwrap();
        let scaled = pinball(&truth, &quantiles, &rows, Some(scale)).unwrap();
        assert_close(&name, raw, want["loss"].as_f64().unwrap());
        assert_close(&name, scaled, want["scaled"].as_f64().unwrap());
    }
}
