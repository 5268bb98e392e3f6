//! A trained network with its input contract ([`Forecaster`]): one-step predictions from
//! the true past, and recursive N-step forecasts (predict the next value, append it, slide,
//! repeat), from one origin or from many at once, as a dated [`Forecast`]. A model with
//! covariates cannot recurse (their future is unknown): it forecasts at most its horizon;
//! calendar inputs do not stop it (future dates are known).
//!
//! An ensemble (`--ensemble N`) is one forecaster: every prediction is the elementwise
//! median, in price units (after each network's output is decoded), of its networks'
//! predictions, and a recursive forecast feeds that median back as history.
//!
//! A quantile model (`--quantiles`) forecasts Q quantiles at each step
//! ([`Forecaster::quantile_paths`]); each step's quantiles are sorted once decoded
//! ([`Featurizer::decode_quantiles`]), so they never cross. Everything that asks for a
//! point forecast (`one_step`, `paths`, `recursive`, `forecast`) gets the median (0.5,
//! which every quantile model has), and a recursive forecast feeds the median back. An
//! ensemble of quantile models takes the elementwise median over its networks of each
//! quantile, which keeps them in order.
//!
//! [`Forecaster::sample_paths`] forecasts with dropout on (Monte Carlo dropout): many
//! sampled paths per origin, each network forward with a fresh dropout mask, whose spread
//! [`crate::intervals::mc_dropout`] turns into intervals. An ensemble's sample `i` comes from network
//! `i mod N`; every other forecast here runs without dropout.

pub mod calibrate;

use std::ops::Range;
use std::sync::Arc;

use candle_core::Device;

use crate::features::{Columns, Featurizer};
use crate::intervals::conformal::{quantile_pair, Calibration, CalibrationError, Method};
use crate::intervals::mc_dropout::SampleError;
use crate::intervals::{Band, Level};
use crate::model::Model;
use crate::rng::Rng64;
use crate::series::calendar::Calendar;
use crate::series::dates::Zone;
use crate::series::Series;

/// A forecast past the end of a series: the dates on its calendar and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The series' id, for a series of a panel (`None`: the one series of a plain CSV).
    pub id: Option<String>,
    /// Whether the model was trained on the series (false: it never saw it, and its
    /// transforms were fitted on its own past).
    pub seen: bool,
    /// The forecast column's name, as in the CSV.
    pub column: String,
    pub calendar: Calendar,
    /// Dates print without a time of day.
    pub daily: bool,
    /// The zone the series' dates were written in, which the forecast's dates keep.
    pub zone: Zone,
    /// The last date and value of the data the forecast continues.
    pub last_date: i64,
    pub last_value: f64,
    /// The date of each forecast step (seconds on the clock of `zone`), and its value.
    pub dates: Vec<i64>,
    pub point: Vec<f64>,
    /// Intervals around `point` at each level asked for, in the order asked.
    pub bands: Vec<Band>,
}

/// A path forecast from one origin with its calibrated intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Banded {
    pub point: Vec<f64>,
    /// One per level asked for, in that order.
    pub bands: Vec<Band>,
}

impl Forecast {
    /// Step `i`'s interval ends, band after band (lower, upper): what a row shows beside
    /// the point forecast.
    pub fn ends(&self, i: usize) -> Vec<f64> {
        (self.bands.iter())
            .flat_map(|b| [b.intervals[i].lower(), b.intervals[i].upper()])
            .collect()
    }

    /// Every band's end names, in the order of [`Forecast::ends`].
    pub fn end_names(&self) -> Vec<String> {
        self.bands.iter().flat_map(Band::names).collect()
    }
}

/// A trained network (or an ensemble's networks) with its input contract and its device:
/// everything needed to turn past prices into predicted prices. Built from a checkpoint, or
/// from a training run.
///
/// Its fields are private so that what its constructors check keeps holding: there is at
/// least one network; every network reads the featurizer's inputs (its width) and predicts
/// its horizon, with the same quantiles; and a calibration fits that head (residuals for a
/// point head, one set of errors per level of its quantile pairs for a quantile head).
#[derive(Debug)]
pub struct Forecaster {
    /// One network, or an ensemble's N (never none): predictions are their median.
    models: Vec<Model>,
    featurizer: Featurizer,
    device: Device,
    /// The conformal calibration its intervals come from; `None` for a model written
    /// before gruf 1.5, or while training (before calibrating).
    calibration: Option<Arc<Calibration>>,
}

impl Forecaster {
    /// One network's forecaster, uncalibrated; `Err` when the network does not read what
    /// `featurizer` makes.
    pub fn new(model: Model, featurizer: Featurizer, device: Device) -> anyhow::Result<Forecaster> {
        Forecaster::ensemble(vec![model], featurizer, device)
    }

    /// An ensemble's forecaster (one network or more), uncalibrated; `Err` when there is
    /// no network, or one that does not read what `featurizer` makes or that predicts
    /// other steps or quantiles than the first.
    pub fn ensemble(
        models: Vec<Model>,
        featurizer: Featurizer,
        device: Device,
    ) -> anyhow::Result<Forecaster> {
        let Some(first) = models.first() else {
            anyhow::bail!("internal: a forecaster needs at least one network");
        };
        for (i, m) in models.iter().enumerate() {
            anyhow::ensure!(
                m.input_width() == featurizer.features() && m.horizon() == featurizer.horizon,
                "internal: network {} reads {} values per step and predicts {} steps, but its \
                 featurizer makes {} and decodes {}",
                i + 1,
                m.input_width(),
                m.horizon(),
                featurizer.features(),
                featurizer.horizon
            );
            anyhow::ensure!(
                m.quantiles() == first.quantiles(),
                "internal: network {} forecasts the quantiles {:?}, network 1 {:?}",
                i + 1,
                m.quantiles(),
                first.quantiles()
            );
        }
        Ok(Forecaster {
            models,
            featurizer,
            device,
            calibration: None,
        })
    }

    /// This forecaster with `calibration` (`None`: uncalibrated); `Err` when the
    /// calibration was made for another head.
    pub fn calibrated(
        mut self,
        calibration: Option<Arc<Calibration>>,
    ) -> anyhow::Result<Forecaster> {
        if let Some(c) = &calibration {
            c.fits(self.quantiles())
                .map_err(|e| anyhow::anyhow!("internal: {e}"))?;
        }
        self.calibration = calibration;
        Ok(self)
    }

    /// The networks: one, or an ensemble's N.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// The input contract: the fitted transforms, window, horizon and inputs.
    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The conformal calibration its intervals come from, if it has one.
    pub fn calibration(&self) -> Option<&Arc<Calibration>> {
        self.calibration.as_ref()
    }

    /// Past values one prediction needs.
    pub fn lookback(&self) -> usize {
        self.featurizer.lookback()
    }

    /// The quantile levels the forecaster's networks forecast at each step, increasing;
    /// empty for a point model.
    pub fn quantiles(&self) -> &[f64] {
        self.models.first().map_or(&[], |m| m.quantiles())
    }

    /// Runs the networks on inputs made by the featurizer (`n` windows back to back) and
    /// decodes the first `steps` steps of each window's outputs after `history(window
    /// index)` into prices: the point forecast (a quantile model's median); with several
    /// networks, each window's prices are the elementwise median over them.
    fn run<'h>(
        &self,
        inputs: &[f32],
        history: impl Fn(usize) -> &'h [f64],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let Some(m) = crate::config::median_index(self.quantiles()) else {
            let k = self.featurizer.horizon;
            return self.each_network(inputs, k, |i, y| {
                self.featurizer.decode(history(i), &y[..steps])
            });
        };
        let q = self.quantiles().len();
        let quantiles = self.run_quantiles(inputs, history, steps)?;
        Ok(quantiles
            .into_iter()
            .map(|w| w.chunks(q).map(|step| step[m]).collect())
            .collect())
    }

    /// As [`Forecaster::run`], each window's Q quantiles per step, sorted, flat and
    /// step-major (`[steps · Q]`); with several networks, the elementwise median over them
    /// of each quantile.
    fn run_quantiles<'h>(
        &self,
        inputs: &[f32],
        history: impl Fn(usize) -> &'h [f64],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let q = self.quantiles().len();
        anyhow::ensure!(
            q > 0,
            "this model forecasts a point, not quantiles; retrain it with --quantiles (e.g. 0.1,0.5,0.9)"
        );
        anyhow::ensure!(
            self.models
                .iter()
                .all(|m| m.quantiles() == self.quantiles()),
            "internal: an ensemble's networks forecast different quantiles"
        );
        let width = self.featurizer.horizon * q;
        self.each_network(inputs, width, |i, y| {
            self.featurizer.decode_quantiles(history(i), y, q, steps)
        })
    }

    /// Runs each network on `inputs`, decodes each window's `width` outputs with
    /// `decode(window index, outputs)`, and with several networks takes the elementwise
    /// median of the decoded values.
    fn each_network(
        &self,
        inputs: &[f32],
        width: usize,
        decode: impl Fn(usize, &[f32]) -> Vec<f64>,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let mut each = Vec::with_capacity(self.models.len());
        for model in &self.models {
            let preds = model.predict(inputs, self.featurizer.window, &self.device)?;
            let decoded: Vec<Vec<f64>> = (preds.chunks(width).enumerate())
                .map(|(i, y)| decode(i, y))
                .collect();
            each.push(decoded);
        }
        match each.len() {
            0 => anyhow::bail!("internal: a forecaster without a network"),
            1 => Ok(each.pop().unwrap_or_default()),
            _ => Ok(elementwise_median(&each)),
        }
    }

    /// One-step predictions (price units) for `targets`, each from the true values before
    /// it; every target must have [`Forecaster::lookback`] values before it.
    pub fn one_step<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        targets: Range<usize>,
    ) -> anyhow::Result<Vec<f64>> {
        let columns = columns.into();
        let values = columns.values;
        let targets: Vec<usize> = targets.collect();
        let xs = self.featurizer.inputs(columns, &targets);
        let preds = self.run(&xs, |i| &values[..targets[i]], 1)?;
        Ok(preds.into_iter().map(|p| p[0]).collect())
    }

    /// The forecast of `steps` values after the end of `series`, on its calendar.
    pub fn forecast(
        &self,
        series: &Series,
        column: &str,
        steps: usize,
    ) -> anyhow::Result<Forecast> {
        let point = self.recursive(series, steps)?;
        Ok(self.dated(series, column, point, Vec::new()))
    }

    /// [`Forecaster::forecast`] with its calibrated intervals at each of `levels` (none:
    /// the plain forecast).
    pub fn forecast_with_intervals(
        &self,
        series: &Series,
        column: &str,
        steps: usize,
        levels: &[Level],
    ) -> anyhow::Result<Forecast> {
        if levels.is_empty() {
            return self.forecast(series, column, steps);
        }
        let Banded { point, bands } = (self.banded(series, &[series.len()], steps, levels)?)
            .pop()
            .expect("one origin, one forecast");
        Ok(self.dated(series, column, point, bands))
    }

    /// A forecast past the end of `series`: its dates on the series' calendar.
    fn dated(&self, series: &Series, column: &str, point: Vec<f64>, bands: Vec<Band>) -> Forecast {
        let last_date = *series.dates.last().unwrap_or(&0);
        Forecast {
            id: None,
            seen: true,
            column: column.to_string(),
            calendar: series.calendar,
            daily: series.is_daily() && !series.calendar.intraday(),
            zone: series.zone,
            last_date,
            last_value: *series.values.last().unwrap_or(&f64::NAN),
            dates: series.calendar.future(last_date, point.len()),
            point,
            bands,
        }
    }

    /// Path forecasts of `steps` from each origin (as [`Forecaster::paths`]) with their
    /// calibrated intervals at each of `levels`: around the point forecast for a point
    /// model, from the quantile head's bands for a quantile model (its median the point).
    pub fn banded<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
        levels: &[Level],
    ) -> anyhow::Result<Vec<Banded>> {
        let columns = columns.into();
        let values = columns.values;
        let calibration = self.calibration.as_ref().ok_or(CalibrationError::Missing)?;
        calibration.check(steps, levels)?;
        let band =
            |o: usize, point: &[f64], ends: &[(f64, f64)], level: Level| -> anyhow::Result<Band> {
                let intervals =
                    calibration.band(&self.featurizer, &values[..o], point, ends, level)?;
                Ok(Band { level, intervals })
            };
        match calibration.method {
            Method::Residuals => {
                let paths = self.paths(columns, origins, steps)?;
                (origins.iter().zip(paths))
                    .map(|(&o, point)| {
                        let ends: Vec<(f64, f64)> = point.iter().map(|&p| (p, p)).collect();
                        let bands = (levels.iter())
                            .map(|&l| band(o, &point, &ends, l))
                            .collect::<anyhow::Result<_>>()?;
                        Ok(Banded { point, bands })
                    })
                    .collect()
            }
            Method::Quantiles => {
                // Each level's two quantiles, found once for every origin.
                let pairs: Vec<(usize, usize)> = (levels.iter())
                    .map(|&l| {
                        quantile_pair(self.quantiles(), l)
                            .ok_or_else(|| anyhow::anyhow!("internal: no quantiles for {l}"))
                    })
                    .collect::<anyhow::Result<_>>()?;
                let m = crate::config::median_index(self.quantiles()).ok_or_else(|| {
                    anyhow::anyhow!("internal: a quantile model without its median")
                })?;
                let paths = self.quantile_paths(columns, origins, steps)?;
                (origins.iter().zip(paths))
                    .map(|(&o, qs)| {
                        let point: Vec<f64> = qs.iter().map(|q| q[m]).collect();
                        let bands = (levels.iter().zip(&pairs))
                            .map(|(&l, &(i, j))| {
                                let ends: Vec<(f64, f64)> =
                                    qs.iter().map(|q| (q[i], q[j])).collect();
                                band(o, &point, &ends, l)
                            })
                            .collect::<anyhow::Result<_>>()?;
                        Ok(Banded { point, bands })
                    })
                    .collect()
            }
        }
    }

    /// Forecasts `steps` values after the end of `values`.
    pub fn recursive<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        steps: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let columns = columns.into();
        let mut paths = self.paths(columns, &[columns.values.len()], steps)?;
        Ok(paths.pop().unwrap_or_default())
    }

    /// Forecasts of `steps` values from each origin `o` (the forecast starts after
    /// `values[..o]`), all origins advancing together: one batched prediction per block of
    /// K steps (the model's horizon), each block's values appended to the history the next
    /// block is predicted from. With K = 1 this is the recursive forecast; with `steps` ≤ K
    /// the direct one, the only one a model with covariates makes (`steps` above K is then
    /// an error: callers refuse it first, in the user's terms). A quantile model's forecast
    /// is its median.
    pub fn paths<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let columns = columns.into();
        let values = columns.values;
        if self.direct_only(steps)? {
            let input = self.featurizer.inputs(columns, origins);
            return self.run(&input, |i| &values[..origins[i]], steps);
        }
        let mut histories = self.histories(columns, origins, steps);
        let mut input = Vec::new();
        let mut done = 0;
        while done < steps {
            let block = self.featurizer.horizon.min(steps - done);
            self.encode_histories(&histories, columns, &mut input);
            let next = self.run(&input, |i| &histories[i].0, block)?;
            for ((hist, _), next) in histories.iter_mut().zip(next) {
                hist.extend(next);
            }
            done += block;
        }
        let lookback = self.lookback();
        Ok(histories
            .into_iter()
            .map(|(mut h, _)| h.split_off(lookback))
            .collect())
    }

    /// `samples` forecasts of `steps` values from each origin, in price units, made with
    /// dropout on in every network forward (Monte Carlo dropout, [`crate::intervals::mc_dropout`]):
    /// `result[origin][sample][step]`. Each sample is its own trajectory: a forecast
    /// longer than the horizon continues from its own sampled values, as
    /// [`Forecaster::paths`] continues from the point forecast, all origins and samples
    /// advancing together. Sample `i` of an ensemble comes from network `i mod N`; a
    /// quantile model's sample follows its median output. The dropout masks come from one
    /// generator seeded with `seed`: the same seed gives the same samples bit for bit.
    /// An error ([`SampleError`]) for a model trained without dropout, or fewer than two
    /// samples.
    pub fn sample_paths<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
        samples: usize,
        seed: u64,
    ) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
        use rand::SeedableRng;
        let mut rng = Rng64::seed_from_u64(seed);
        self.sample_paths_with(columns, origins, steps, samples, &mut rng)
    }

    /// [`Forecaster::sample_paths`] drawing its masks from `rng`, for a caller that samples
    /// origins a group at a time from one generator (to bound memory).
    pub fn sample_paths_with<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
        samples: usize,
        rng: &mut Rng64,
    ) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
        self.check_sampling(samples)?;
        let columns = columns.into();
        let values = columns.values;
        // Row r is origin r / samples, sample r % samples.
        let group = |rows: Vec<Vec<f64>>| -> Vec<Vec<Vec<f64>>> {
            let mut rows = rows.into_iter();
            (0..origins.len())
                .map(|_| rows.by_ref().take(samples).collect())
                .collect()
        };
        if self.direct_only(steps)? {
            let input = self.featurizer.inputs(columns, origins);
            let per = self.featurizer.window * self.featurizer.features();
            let repeated: Vec<f32> = (input.chunks(per.max(1)))
                .flat_map(|x| std::iter::repeat_n(x, samples).flatten().copied())
                .collect();
            let history = |r: usize| &values[..origins[r / samples]];
            let rows = self.run_sampled(&repeated, history, steps, samples, rng)?;
            return Ok(group(rows));
        }
        let mut histories: Vec<(Vec<f64>, Vec<i64>)> = (self.histories(columns, origins, steps))
            .into_iter()
            .flat_map(|h| std::iter::repeat_n(h, samples))
            .collect();
        let mut input = Vec::new();
        let mut done = 0;
        while done < steps {
            let block = self.featurizer.horizon.min(steps - done);
            self.encode_histories(&histories, columns, &mut input);
            let next = self.run_sampled(&input, |r| &histories[r].0, block, samples, rng)?;
            for ((hist, _), next) in histories.iter_mut().zip(next) {
                hist.extend(next);
            }
            done += block;
        }
        let lookback = self.lookback();
        let rows = (histories.into_iter())
            .map(|(mut h, _)| h.split_off(lookback))
            .collect();
        Ok(group(rows))
    }

    /// Refuses MC dropout where it cannot work: too few samples, or a network without
    /// dropout (which would give every sample the same forecast).
    fn check_sampling(&self, samples: usize) -> Result<(), SampleError> {
        if samples < crate::intervals::mc_dropout::MIN_SAMPLES {
            return Err(SampleError::TooFew(samples));
        }
        if self.models.iter().any(|m| m.dropout() <= 0.0) {
            return Err(SampleError::NoDropout);
        }
        Ok(())
    }

    /// As [`Forecaster::run`] with dropout on, for rows of `samples` samples each: row `r`
    /// is sample `r % samples`, run through network `(r % samples) mod N` alone (the
    /// networks in turn), and decoded after `history(r)` into its first `steps` prices (a
    /// quantile model's median).
    fn run_sampled<'h>(
        &self,
        inputs: &[f32],
        history: impl Fn(usize) -> &'h [f64],
        steps: usize,
        samples: usize,
        rng: &mut Rng64,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let per = (self.featurizer.window * self.featurizer.features()).max(1);
        let rows = inputs.len() / per;
        let quantiles = self.quantiles().len();
        let median = crate::config::median_index(self.quantiles());
        let width = self.featurizer.horizon * quantiles.max(1);
        let n = self.models.len();
        let mut out = vec![Vec::new(); rows];
        let mut xs = Vec::new();
        for (k, model) in self.models.iter().enumerate() {
            let mine: Vec<usize> = (0..rows).filter(|r| (r % samples) % n == k).collect();
            if mine.is_empty() {
                continue;
            }
            xs.clear();
            for &r in &mine {
                xs.extend_from_slice(&inputs[r * per..(r + 1) * per]);
            }
            let ys = model.sample(&xs, self.featurizer.window, &self.device, rng)?;
            for (&r, y) in mine.iter().zip(ys.chunks(width)) {
                out[r] = match median {
                    None => self.featurizer.decode(history(r), &y[..steps]),
                    Some(m) => self
                        .featurizer
                        .decode_quantiles(history(r), y, quantiles, steps)
                        .chunks(quantiles)
                        .map(|step| step[m])
                        .collect(),
                };
            }
        }
        Ok(out)
    }

    /// The quantile forecasts of `steps` values from each origin, as [`Forecaster::paths`]
    /// makes the point forecast: for each origin and step, the Q quantiles of
    /// [`Forecaster::quantiles`] in price units, increasing (sorted: they never cross). A
    /// forecast longer than the horizon continues in blocks of K steps from the history
    /// continued by the median, so each later block's quantiles are conditional on the
    /// median path before it. An error for a point model.
    pub fn quantile_paths<'a>(
        &self,
        columns: impl Into<Columns<'a>>,
        origins: &[usize],
        steps: usize,
    ) -> anyhow::Result<Vec<Vec<Vec<f64>>>> {
        let columns = columns.into();
        let values = columns.values;
        let q = self.quantiles().len();
        let split = |flat: Vec<f64>| -> Vec<Vec<f64>> {
            flat.chunks(q.max(1)).map(<[f64]>::to_vec).collect()
        };
        if self.direct_only(steps)? {
            let input = self.featurizer.inputs(columns, origins);
            let out = self.run_quantiles(&input, |i| &values[..origins[i]], steps)?;
            return Ok(out.into_iter().map(split).collect());
        }
        let m = crate::config::median_index(self.quantiles()).unwrap_or(0);
        let mut histories = self.histories(columns, origins, steps);
        let mut out: Vec<Vec<Vec<f64>>> = vec![Vec::with_capacity(steps); origins.len()];
        let mut input = Vec::new();
        let mut done = 0;
        while done < steps {
            let block = self.featurizer.horizon.min(steps - done);
            self.encode_histories(&histories, columns, &mut input);
            let next = self.run_quantiles(&input, |i| &histories[i].0, block)?;
            for (((hist, _), path), next) in histories.iter_mut().zip(&mut out).zip(next) {
                let next = split(next);
                hist.extend(next.iter().map(|step| step[m]));
                path.extend(next);
            }
            done += block;
        }
        Ok(out)
    }

    /// True when a forecast of `steps` is made directly from the real data: a model with
    /// covariates (whose future is unknown) makes no other, and `steps` beyond its horizon
    /// is an error.
    fn direct_only(&self, steps: usize) -> anyhow::Result<bool> {
        let k = self.featurizer.horizon;
        if !self.featurizer.has_covariates() {
            return Ok(false);
        }
        anyhow::ensure!(
            steps <= k,
            "a model with --inputs forecasts at most its horizon ({k} steps), not {steps}"
        );
        Ok(true)
    }

    /// Each origin's history, and with calendar inputs its dates, continued on the
    /// series' calendar through a forecast of `steps`.
    fn histories(
        &self,
        columns: Columns<'_>,
        origins: &[usize],
        steps: usize,
    ) -> Vec<(Vec<f64>, Vec<i64>)> {
        let lookback = self.lookback();
        let dated = !self.featurizer.calendar.is_empty();
        origins
            .iter()
            .map(|&o| {
                let mut dates = Vec::new();
                if dated {
                    dates.extend_from_slice(&columns.dates[o - lookback..o]);
                    dates.extend(columns.calendar.future(columns.dates[o - 1], steps));
                }
                (columns.values[o - lookback..o].to_vec(), dates)
            })
            .collect()
    }

    /// Replaces `input` with the inputs that predict what follows each history.
    fn encode_histories(
        &self,
        histories: &[(Vec<f64>, Vec<i64>)],
        columns: Columns<'_>,
        input: &mut Vec<f32>,
    ) {
        input.clear();
        for (hist, dates) in histories {
            let history = Columns {
                values: hist,
                covariates: &[],
                dates,
                calendar: columns.calendar,
            };
            self.featurizer.encode_at(history, hist.len(), input);
        }
    }
}

/// The elementwise median of equally shaped predictions (one per network): for each window
/// and step, the middle value over the networks, or the mean of the two middle ones when
/// their number is even.
fn elementwise_median(each: &[Vec<Vec<f64>>]) -> Vec<Vec<f64>> {
    let mut column = Vec::with_capacity(each.len());
    (0..each[0].len())
        .map(|w| {
            (0..each[0][w].len())
                .map(|s| {
                    column.clear();
                    column.extend(each.iter().map(|net| net[w][s]));
                    median(&mut column)
                })
                .collect()
        })
        .collect()
}

/// The median of `values` (not empty), which it sorts.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;
    use crate::intervals::conformal::{ErrorSet, Method, Space};
    use crate::intervals::Level;

    /// A network of `config`, with the weights seed 1 draws.
    fn network(config: &ModelConfig) -> Model {
        let mut rng = <crate::rng::Rng64 as rand::SeedableRng>::seed_from_u64(1);
        let (network, io) = (&config.network, &config.io());
        let weights = crate::model::init_weights(network, io, &mut rng, &Device::Cpu).unwrap();
        Model::new(network, io, &weights).unwrap()
    }

    fn point_config() -> ModelConfig {
        let mut config = ModelConfig::default();
        config.network.layers = vec![4];
        config.framing.window = 5;
        config
    }

    fn featurizer(config: &ModelConfig) -> Featurizer {
        let values: Vec<f64> = (0..50).map(|i| 100.0 + i as f64).collect();
        Featurizer::fit(&config.framing, &values, None).unwrap()
    }

    #[test]
    fn a_forecaster_refuses_networks_that_do_not_read_its_featurizer() {
        let config = point_config();
        let featurizer = featurizer(&config);
        let f = Forecaster::new(network(&config), featurizer.clone(), Device::Cpu).unwrap();
        assert_eq!(f.featurizer(), &featurizer);
        assert_eq!((f.models().len(), f.lookback()), (1, featurizer.lookback()));
        assert!(f.calibration().is_none() && f.quantiles().is_empty());

        let refused = |models: Vec<Model>| {
            Forecaster::ensemble(models, featurizer.clone(), Device::Cpu)
                .unwrap_err()
                .to_string()
        };
        let wide = ModelConfig {
            input_width: 3,
            ..config.clone()
        };
        let err = refused(vec![network(&wide)]);
        assert!(err.contains("network 1 reads 3 values per step"), "{err}");
        let mut longer = config.clone();
        longer.framing.horizon = 3;
        let err = refused(vec![network(&config), network(&longer)]);
        assert!(
            err.contains("network 2 reads 1 values per step and predicts 3 steps"),
            "{err}"
        );
        let mut quantile = config.clone();
        quantile.framing.quantiles = vec![0.1, 0.5, 0.9];
        let err = refused(vec![network(&config), network(&quantile)]);
        assert!(err.contains("network 2 forecasts the quantiles"), "{err}");
        let err = refused(Vec::new());
        assert!(err.contains("at least one network"), "{err}");
    }

    #[test]
    fn a_forecaster_takes_only_a_calibration_made_for_its_head() {
        let config = point_config();
        let mut quantile_config = config.clone();
        quantile_config.framing.quantiles = vec![0.1, 0.5, 0.9];
        let make =
            |c: &ModelConfig| Forecaster::new(network(c), featurizer(c), Device::Cpu).unwrap();
        let calibration = |method: Method, level: Option<f64>| {
            Some(Arc::new(Calibration {
                method,
                space: Space::Units,
                spread: 0,
                sets: vec![ErrorSet {
                    level: level.map(|l| Level::new(l).unwrap()),
                    steps: vec![vec![0.5]],
                }],
            }))
        };
        let residuals = calibration(Method::Residuals, None);
        let cqr_80 = calibration(Method::Quantiles, Some(0.8));
        let cqr_90 = calibration(Method::Quantiles, Some(0.9));

        let point = make(&config).calibrated(residuals.clone()).unwrap();
        assert_eq!(point.calibration(), residuals.as_ref());
        assert!(make(&config)
            .calibrated(None)
            .unwrap()
            .calibration()
            .is_none());
        let quantile = make(&quantile_config).calibrated(cqr_80.clone()).unwrap();
        assert_eq!(quantile.calibration(), cqr_80.as_ref());

        for (c, calibration) in [
            (&config, cqr_80),
            (&quantile_config, residuals),
            (&quantile_config, cqr_90),
        ] {
            let err = make(c).calibrated(calibration).unwrap_err().to_string();
            assert!(
                err.contains("does not fit a head forecasting the quantiles"),
                "{err}"
            );
        }
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&mut [3.0]), 3.0);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 10.0]), 3.0);
        let each = vec![
            vec![vec![1.0, 9.0], vec![5.0, 0.0]],
            vec![vec![2.0, 7.0], vec![4.0, 1.0]],
            vec![vec![3.0, 8.0], vec![6.0, -1.0]],
        ];
        assert_eq!(
            elementwise_median(&each),
            vec![vec![2.0, 8.0], vec![5.0, 0.0]]
        );
    }
}
