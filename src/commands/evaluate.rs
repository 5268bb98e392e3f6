//! `gruf evaluate`: one-step and per-horizon errors on held-out data, beside the baselines.

use crate::cli::{EvaluateArgs, Format};
use crate::config::check_season;
use crate::error::GrufError;
use crate::evaluate::{money, Evaluation, HorizonError, Scoring, FEW};
use crate::output::{plural, print};

use super::{
    device, held_out_start, mae_cells, mase_scale, metric_cells, open, season_for, warn,
    warn_if_few, Opened,
};

pub(super) fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(season) = args.season {
        check_season(season)?;
    }
    let device = device();
    let Opened {
        checkpoint,
        series,
        path,
        predictor,
    } = open(&args.source, &device)?;
    let meta = &checkpoint.meta;
    let cal = series.calendar;
    let held_out = held_out_start(meta, &series).ok_or_else(|| {
        GrufError::data(
            &path,
            format!(
                "no held-out data: the model trained on everything up to {}; pass --csv with newer rows",
                meta.data.last_date
            ),
        )
    })?;
    let season = season_for(args.season, meta.config.data.season, &series);
    let history = predictor.lookback().max(season.unwrap_or(1));
    let start = held_out.max(history);
    if start >= series.len() {
        return Err(GrufError::data(
            &path,
            format!(
                "nothing to score: {} held-out row{}, but each scored row needs the {} before it as input{}; \
                 pass a --csv that also holds the rows before the new ones",
                series.len() - held_out,
                plural(series.len() - held_out),
                cal.count(history),
                if season.is_some_and(|m| m > predictor.lookback()) {
                    " (a season of history, for the seasonal naive baseline)"
                } else {
                    ""
                }
            ),
        )
        .into());
    }
    let scoring = Scoring {
        mase_scale: mase_scale(meta, &series.values[..start]),
        season,
        held_out: true,
    };
    let e = crate::evaluate::evaluate(&predictor, &series, start..series.len(), scoring)?;
    let wanted = args.horizon as usize;
    let horizons = if wanted > 0 {
        crate::evaluate::horizon_errors(
            &predictor,
            &series.values,
            start..series.len(),
            wanted,
            scoring.season,
        )?
    } else {
        Vec::new()
    };
    warn_if_few(e.n, &cal.count(e.n), "the one-step table");
    if horizons.len() < wanted {
        warn(&format!(
            "horizons {}..{wanted} cannot be scored: only {} held out; the horizon table stops at {}",
            horizons.len() + 1,
            cal.count(e.n),
            horizons.len()
        ));
    }
    if let Some(last) = horizons.last().filter(|h| h.origins < FEW && h.horizon > 1) {
        warn_if_few(
            last.origins,
            &format!("{} origin{}", last.origins, plural(last.origins)),
            &format!("horizon {}", last.horizon),
        );
    }
    let out = match args.format {
        Format::Table => evaluation_table(&e, &horizons, cal),
        Format::Json => {
            let doc = serde_json::json!({ "one_step": e, "horizons": horizons });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Csv => evaluation_csv(&e, &horizons)?,
    };
    print(out.as_bytes())
}

/// The one-step table and, with horizons, the horizon table, for people.
fn evaluation_table(
    e: &Evaluation,
    horizons: &[HorizonError],
    cal: crate::calendar::Calendar,
) -> String {
    let mut out = format!("{}\n{}", e.verdict(), e.table());
    let Some(first) = horizons.first() else {
        return out;
    };
    let seasonal = first.seasonal_naive_mae.is_some();
    out.push_str(&format!("\n{}\n", horizon_verdict(horizons, e, cal)));
    out.push_str(&format!(
        "recursive forecast by horizon ({}s ahead; origins = forecasts scored at that horizon)\n",
        cal.unit()
    ));
    out.push_str(&format!(
        "{:>7} {:>7} {:>12} {:>12} {:>13}",
        "horizon", "origins", "model MAE", "naive MAE", "model / naive"
    ));
    if seasonal {
        out.push_str(&format!(
            " {:>19} {:>16}",
            "seasonal naive MAE", "model / seasonal"
        ));
    }
    out.push('\n');
    for r in horizons {
        out.push_str(&format!(
            "{:>7} {:>7} {:>12} {:>12} {:>13.3}",
            r.horizon,
            r.origins,
            money(r.model_mae),
            money(r.naive_mae),
            r.model_mae / r.naive_mae
        ));
        if let Some(s) = r.seasonal_naive_mae {
            out.push_str(&format!(" {:>19} {:>16.3}", money(s), r.model_mae / s));
        }
        out.push('\n');
    }
    out
}

/// One sentence over all horizons: the mean MAE of each forecaster (horizons weighted
/// alike) and whether the recursive forecast beats the baselines.
fn horizon_verdict(
    horizons: &[HorizonError],
    e: &Evaluation,
    cal: crate::calendar::Calendar,
) -> String {
    let mean = |f: &dyn Fn(&HorizonError) -> f64| {
        horizons.iter().map(f).sum::<f64>() / horizons.len() as f64
    };
    let (model, naive) = (mean(&|h| h.model_mae), mean(&|h| h.naive_mae));
    let last = horizons.len();
    let mut s = format!(
        "over horizons 1 to {last}, the recursive forecast's mean MAE is {}; naive {}",
        money(model),
        money(naive)
    );
    let seasonal = e
        .season
        .filter(|_| horizons.iter().all(|h| h.seasonal_naive_mae.is_some()))
        .map(|m| (m, mean(&|h| h.seasonal_naive_mae.unwrap_or(f64::NAN))));
    if let Some((m, mae)) = seasonal {
        s.push_str(&format!(
            ", seasonal naive ({}) {}",
            cal.seasonal_words(m),
            money(mae)
        ));
    }
    let best = seasonal.map_or(naive, |(_, mae)| mae.min(naive));
    s.push_str(if model <= best {
        ": better than every baseline here"
    } else if model <= naive {
        ": better than naive, worse than the seasonal naive forecast"
    } else {
        ": worse than doing nothing"
    });
    s
}

/// One CSV for both tables: the one-step rows (`table` = `one_step`, every metric) and the
/// horizon rows (`table` = `horizon`, MAE per forecaster and horizon).
fn evaluation_csv(e: &Evaluation, horizons: &[HorizonError]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "table",
        "forecaster",
        "horizon",
        "n",
        "mae",
        "rmse",
        "mape",
        "smape",
        "mase",
        "directional",
    ])?;
    for (name, m) in &e.rows {
        let mut row = vec![
            "one_step".to_string(),
            name.clone(),
            "1".into(),
            e.n.to_string(),
        ];
        row.extend(metric_cells(m));
        w.write_record(&row)?;
    }
    for r in horizons {
        let mut maes = vec![
            ("model".to_string(), r.model_mae),
            ("naive".into(), r.naive_mae),
        ];
        if let (Some(s), Some(m)) = (r.seasonal_naive_mae, e.season) {
            maes.push((crate::evaluate::seasonal_name(m), s));
        }
        for (name, mae) in maes {
            let mut row = vec![
                "horizon".to_string(),
                name,
                r.horizon.to_string(),
                r.origins.to_string(),
            ];
            row.extend(mae_cells(mae));
            w.write_record(&row)?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
