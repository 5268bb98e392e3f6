//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use crate::cli::PredictArgs;
use crate::forecast::Forecast;
use crate::output::print;

use super::{device, open, renderer, Opened};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let Opened {
        checkpoint,
        series,
        predictor,
        ..
    } = open(&args.source, &device)?;
    let steps = args.days as usize;
    let point = predictor.recursive(&series.values, steps)?;
    let last_date = *series.dates.last().unwrap_or(&0);
    let forecast = Forecast {
        column: checkpoint.meta.data.column.clone(),
        calendar: series.calendar,
        daily: series.is_daily() && !series.calendar.intraday(),
        last_date,
        last_value: *series.values.last().unwrap_or(&f64::NAN),
        dates: series.calendar.future(last_date, steps),
        point,
    };
    print(renderer(args.format).forecast(&forecast)?.as_bytes())
}
