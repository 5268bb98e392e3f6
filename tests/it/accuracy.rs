//! The model learns real structure: on a synthetic series with a weekly cycle, a trend and
//! noise (made here), its held-out one-step MAE is at most half the naive forecast's.
//! A model that merely repeats yesterday's price cannot pass this.

use candle_core::Device;
use gruf::config::RunConfig;
use gruf::evaluation::evaluate::{evaluate, horizon_errors};
use gruf::features::scaler::TransformKind;
use gruf::features::split::Split;
use gruf::features::Featurizer;
use gruf::forecast::Forecaster;
use gruf::model::loss::Loss;
use gruf::model::Cell;
use gruf::scores::{naive_scale, Contender, Scoring};
use gruf::train::TrainData;

use crate::common;

/// The structured series as a CSV (`Date,Close`, daily from 1970-01-01), for running the
/// CLI on it (`gruf compare` in the README and the closing notes): set
/// `GRUF_STRUCTURED_CSV=path` and run `cargo test --release --locked --test it
/// accuracy::write_structured_csv -- --ignored`.
#[test]
#[ignore]
fn write_structured_csv() {
    let path = std::env::var("GRUF_STRUCTURED_CSV").expect("set GRUF_STRUCTURED_CSV=path");
    let series = common::structured_series(900);
    let mut text = String::from("Date,Close\n");
    for (d, v) in series.dates.iter().zip(&series.values) {
        text += &format!("{},{v}\n", gruf::series::dates::format_iso(*d, true));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn model_beats_naive_by_half_on_structured_data() {
    let series = common::structured_series(900);
    let runs = [
        (Cell::Gru, TransformKind::Minmax),
        (Cell::Gru, TransformKind::Window),
        (Cell::Lstm, TransformKind::Window),
        (Cell::Rnn, TransformKind::Window),
    ];
    for (cell, transform) in runs {
        let mut config = RunConfig::default();
        config.model.network.cell = cell;
        config.model.network.layers = vec![24];
        config.model.framing.window = 21;
        config.model.network.dropout = 0.0;
        config.model.framing.transform = transform;
        config.train.epochs = 40;
        config.train.lr = 3e-3;
        let split = Split::new(series.len(), transform.lookback(21), 120, 0.1).unwrap();
        let featurizer = Featurizer::fit(
            &config.model.framing,
            &series.values[..split.fit_end()],
            None,
        )
        .unwrap();
        let dev = Device::Cpu;
        let data = TrainData {
            values: (&series.values).into(),
            featurizer: &featurizer,
            split: &split,
        };
        let outcome = gruf::train::train(
            &config.model,
            &config.train,
            7,
            &Loss::Mse,
            &[data],
            &dev,
            &mut |_| gruf::train::Flow::Continue,
        )
        .unwrap();
        let forecaster = Forecaster::new(
            gruf::model::Model::new(&config.model.network, &config.model.io(), &outcome.weights)
                .unwrap(),
            featurizer,
            Device::Cpu,
        )
        .unwrap();
        let scoring = Scoring {
            mase_scale: naive_scale(&series.values[..split.fit_end()]),
            season: series.calendar.season(),
            held_out: true,
        };
        let e = evaluate(&forecaster, &series, split.test.clone(), scoring).unwrap();
        let (m, n) = (
            e.get(Contender::Model).unwrap().mae,
            e.get(Contender::Naive).unwrap().mae,
        );
        eprintln!("{cell} {transform:?}: model MAE {m:.3}, naive {n:.3}");
        // One step ahead, the recursive forecast is the one-step forecast, whatever the
        // number of horizons asked for.
        let values = &series.values;
        let h = horizon_errors(&forecaster, values, split.test.clone(), 3, Some(7)).unwrap();
        let one = horizon_errors(&forecaster, values, split.test.clone(), 1, Some(7)).unwrap();
        for first in [&one[0], &h[0]] {
            let got = [first.model_mae, first.naive_mae];
            common::assert_close("horizon 1 MAE (model, naive)", &got, &[m, n], 0.0, 1e-9);
            assert_eq!(first.origins, split.test.len());
        }
        assert_eq!((h.len(), h[2].origins), (3, split.test.len() - 2));
        // The weekly cycle stays predictable a few days out, unlike a flat naive forecast.
        assert!(h[2].model_mae < 0.5 * h[2].naive_mae, "{h:?}");
        assert!(
            m <= 0.5 * n,
            "{cell} {transform:?}: model MAE {m:.3} vs naive {n:.3}\n{}",
            gruf::render::table::metrics(&e)
        );
    }
}
