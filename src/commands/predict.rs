//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use std::io::Write;

use crate::cli::{Format, PredictArgs};
use crate::data::{format_iso, format_time};
use crate::evaluate::money;
use crate::output::print;

use super::{device, open, Opened};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let Opened {
        checkpoint,
        series,
        predictor,
        ..
    } = open(&args.source, &device)?;
    let steps = args.days as usize;
    let values = predictor.recursive(&series.values, steps)?;
    let last = *series.dates.last().unwrap_or(&0);
    let dates = series.calendar.future(last, steps);
    let daily = series.is_daily() && !series.calendar.intraday();
    let column = &checkpoint.meta.data.column;

    let mut out = Vec::new();
    match args.format {
        Format::Table => {
            let (width, head) = if daily {
                (10, "date")
            } else {
                (19, "time (UTC)")
            };
            writeln!(out, "{head:<width$}  {:>14}", format!("{column} forecast"))?;
            for (d, v) in dates.iter().zip(&values) {
                writeln!(out, "{:<width$}  {:>14}", format_time(*d, daily), money(*v))?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["date", "forecast"])?;
            for (d, v) in dates.iter().zip(&values) {
                w.write_record([format_iso(*d, daily), format!("{v:.6}")])?;
            }
            w.flush()?;
        }
        Format::Json => {
            let rows: Vec<_> = dates
                .iter()
                .zip(&values)
                .map(|(d, v)| serde_json::json!({ "date": format_iso(*d, daily), "forecast": v }))
                .collect();
            let doc = serde_json::json!({
                "column": column,
                "step": series.calendar.unit(),
                "last_date": format_iso(last, daily),
                "last_value": series.values.last(),
                "forecast": rows,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    print(&out)
}
