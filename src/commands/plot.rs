//! `gruf plot`: held-out predictions, the forecast and the loss curves as PNG or SVG.

use crate::cli::PlotArgs;
use crate::evaluate::{money, Scoring};
use crate::output::{check_writable, print, write_atomic};
use crate::plot::{Line, PlotData};

use super::{device, held_out_start, history_needed, mase_scale, note, open, season_for, Opened};

pub(super) fn run(args: PlotArgs) -> anyhow::Result<()> {
    check_writable(&args.out)?;
    let format = crate::plot::ImageFormat::from_path(&args.out)?;
    let device = device();
    let Opened {
        checkpoint,
        series,
        path: csv_path,
        forecaster,
    } = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let cal = series.calendar;
    let daily = series.is_daily();
    let column = &meta.data.column;

    // The held-out part if there is one; else the last 365 steps, labelled as in-sample.
    const IN_SAMPLE: usize = 365;
    let season = season_for(None, meta.config.data.season, &series);
    let history = history_needed(&forecaster, season);
    let (start, held_out) = match held_out_start(meta, &series) {
        Some(s) => (s.max(history), true),
        None => (series.len().saturating_sub(IN_SAMPLE).max(history), false),
    };
    let targets = start..series.len();
    let (mut predicted, mut naive) = (Vec::new(), Vec::new());
    let name = csv_path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into());
    let mut title = format!("gruf: {column}, {name}");
    let (mut model_label, mut naive_label) = (
        "one-step prediction".to_string(),
        format!("naive ({})", cal.naive_words()),
    );
    if !targets.is_empty() {
        let pred = forecaster.one_step(&series, targets.clone())?;
        let scoring = Scoring {
            mase_scale: mase_scale(meta, &series.values[..start]),
            season,
            held_out,
        };
        let e = crate::evaluate::score(&series, targets.clone(), pred.clone(), scoring);
        let span = if held_out {
            format!("held-out {}s", cal.unit())
        } else {
            format!("last {}, in-sample (not held out)", cal.count(IN_SAMPLE))
        };
        title = format!("{title}: one-step forecasts over the {span}");
        let mae = |n: &str| e.get(n).map_or(f64::NAN, |m| m.mae);
        let model = match meta.networks() {
            1 => "model".to_string(),
            n => format!("median of {n} networks"),
        };
        model_label = format!("{model}, MAE {}", money(mae("model")));
        naive_label = format!("naive ({}), MAE {}", cal.naive_words(), money(mae("naive")));
        if let (Some(m), Some(s)) = (season, e.seasonal()) {
            naive_label.push_str(&format!(
                "; seasonal naive ({}) MAE {}",
                cal.seasonal_words(m),
                money(s.mae)
            ));
        }
        predicted = targets
            .clone()
            .zip(pred)
            .map(|(t, p)| (series.dates[t], p))
            .collect();
        naive = targets
            .clone()
            .map(|t| (series.dates[t], series.values[t - 1]))
            .collect();
    }
    let mut steps = args.days as usize;
    let k = forecaster.featurizer.horizon;
    if forecaster.featurizer.has_covariates() && steps > k {
        // The covariates' future is unknown: no recursion past the horizon.
        note(&format!(
            "this model reads --inputs: the forecast drawn stops at its horizon, {}",
            cal.count(k)
        ));
        steps = k;
    }
    let forecast = forecaster.forecast(&series, column, steps)?;
    let mut forecast_points = vec![(forecast.last_date, forecast.last_value)];
    forecast_points.extend(forecast.dates.into_iter().zip(forecast.point));

    let data = PlotData {
        title,
        value_name: column.to_string(),
        daily,
        step_seconds: cal.approx_seconds(),
        truth: Line {
            label: format!("true {column}"),
            points: (start.saturating_sub(1)..series.len())
                .map(|t| (series.dates[t], series.values[t]))
                .collect(),
        },
        predicted: Line {
            label: model_label,
            points: predicted,
        },
        naive: Line {
            label: naive_label,
            points: naive,
        },
        forecast: Line {
            label: match forecaster.featurizer.horizon {
                1 => format!("recursive forecast, {}", cal.count(steps)),
                k if steps <= k => format!("direct forecast, {}", cal.count(steps)),
                k => format!("forecast in blocks of {k}, {}", cal.count(steps)),
            },
            points: forecast_points,
        },
        // An ensemble's first network's losses.
        history: meta.history.clone(),
        best_epoch: meta.best_epoch,
    };
    let image = crate::plot::render(&data, format)?;
    write_atomic(&args.out, &image)?;
    print(format!("wrote {}\n", args.out.display()).as_bytes())
}
