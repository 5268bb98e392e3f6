//! A model with the series it is asked about: what `predict`, `evaluate`, `plot` and
//! `inspect` share, for a model of one series and a global model alike.
//!
//! [`Opened::open`] loads the model's data as a panel (the training CSV or CSVs, or those
//! of `--csv`; a plain CSV is a panel of one unnamed series) and checks each series as the
//! model reads it; [`Opened::subjects`] pairs each chosen series with what was fitted for
//! it and the network ready to forecast it.
//!
//! A series the model never saw (an id or a file it was not trained on) is forecast when
//! the model's transform is fitted per series on that series' own past (`window`, `diff`,
//! `logret`, `seasonal`: each window carries its own level, and the one scale is fitted on
//! the series' training part, cut as training would cut it, its held-out part left out).
//! `minmax` learned each training series' own range, so a model with it refuses others.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Device;

use crate::checkpoint::{Checkpoint, FittedSeries, Meta};
use crate::cli::OpenArgs;
use crate::error::GrufError;
use crate::features::scaler::TransformKind;
use crate::forecast::Forecaster;
use crate::scores::naive_scale;
use crate::series::csv::{load_csv_with, Hash};
use crate::series::panel::{self, Panel, PanelSeries};
use crate::series::Series;
use crate::text::{name_some, plural};
use crate::train::prepare::{self, Chosen, Prepared};

use super::{data_config, note, warn, warn_extrapolation, whose, NAMED};

/// A model and the data it reads.
pub(super) struct Opened {
    pub checkpoint: Checkpoint,
    pub panel: Panel,
    /// Whether the series came from `--csv` rather than the model's training files.
    given: bool,
}

/// One series a command works on, with what was fitted for it and the network ready to
/// forecast it.
pub(super) struct OpenedSeries<'a> {
    pub named: &'a PanelSeries,
    /// The transforms fitted on the series' training part: stored in the model, or, for a
    /// series it never saw, fitted now on the same part of the series' own past.
    pub fitted: Cow<'a, FittedSeries>,
    pub forecaster: Forecaster,
}

impl OpenedSeries<'_> {
    pub fn series(&self) -> &Series {
        &self.named.loaded.series
    }

    /// The series' id: empty for the one series of a plain CSV.
    pub fn id(&self) -> &str {
        &self.named.id
    }

    /// The id a result carries: `None` for the one series of a plain CSV.
    pub fn named_id(&self) -> Option<String> {
        Some(self.named.id.clone()).filter(|id| !id.is_empty())
    }

    /// Whether the model was trained on this series.
    pub fn seen(&self) -> bool {
        matches!(self.fitted, Cow::Borrowed(_))
    }

    /// Where the part the model never trained on begins (`series().len()`: none).
    pub fn held_out(&self) -> usize {
        self.fitted.held_out_origin(self.series())
    }
}

impl Opened {
    /// The model's data: `--csv` when given, else the CSV (or CSVs) it was trained on,
    /// each series checked as the model reads it (values its transform takes, the same
    /// inputs, its calendar).
    pub fn open(source: &OpenArgs, checkpoint: Checkpoint) -> anyhow::Result<Opened> {
        let meta = &checkpoint.meta;
        if let (Some(id), false) = (source.series.first(), meta.is_global()) {
            return Err(GrufError::usage(format!(
                "--series {id}: {} was trained on one series; --series chooses among the series of a global model (--id-column, or several --csv)",
                source.model.display()
            ))
            .into());
        }
        let config = data_config(source, meta)?;
        let given = !source.csv.is_empty();
        let paths = match given {
            true => source.csv.clone(),
            false => training_files(meta)?,
        };
        let panel = if config.id_column.is_some() {
            panel::load(&paths, &config)?
        } else if meta.is_global() {
            panel::load_files(&paths, &config)?
        } else {
            let [path] = paths.as_slice() else {
                return Err(GrufError::usage(format!(
                    "--csv was given {} times, but {} is a model of one series; pass one file",
                    paths.len(),
                    source.model.display()
                ))
                .into());
            };
            // The hash tells whether the training CSV changed; another file needs none.
            let hash = if given { Hash::Skip } else { Hash::Sha256 };
            let loaded = load_csv_with(path, &config, hash)?;
            if !given && loaded.provenance.sha256 != meta.data.sha256 {
                warn(&format!(
                    "{} changed since training; using it as it is now",
                    path.display()
                ));
            }
            panel::one(loaded)
        };
        if meta.is_global() {
            super::report_panel(&panel, true);
        }
        let mut opened = Opened {
            checkpoint,
            panel,
            given,
        };
        opened.check(&config.fill)?;
        Ok(opened)
    }

    pub fn meta(&self) -> &Meta {
        &self.checkpoint.meta
    }

    /// The file a message about the data names: the CSV, or a panel's first.
    pub fn path(&self) -> &Path {
        &self.panel.provenance.path
    }

    /// Each series as the model reads it: values its transform takes, the inputs it was
    /// trained with, dates continued on its calendar; and what `--fill` filled, said once.
    fn check(&mut self, fill: &crate::series::fill::Fill) -> anyhow::Result<()> {
        let meta = &self.checkpoint.meta;
        let words = super::panel_words(&self.panel);
        let filled: usize = (self.panel.series.iter())
            .map(|n| n.loaded.filled.len())
            .sum();
        if filled > 0 {
            let calendar = self.panel.series[0].loaded.series.calendar;
            note(&format!(
                "{words}: filled {} missing (--fill {fill}, as the model was trained)",
                calendar.count(filled),
            ));
        }
        let stored: Vec<&str> = (meta.first().inputs.iter())
            .map(|i| i.name.as_str())
            .collect();
        let mut other_calendar = None;
        for named in &mut self.panel.series {
            let path = named.loaded.provenance.path.clone();
            let who = whose(&named.id);
            let series = &mut named.loaded.series;
            prepare::check_values(
                meta.config.model.framing.transform,
                Chosen::Model,
                series,
                &named.loaded.lines,
            )
            .map_err(|m| GrufError::data(&path, format!("{who}{m}")))?;
            let found: Vec<&str> = series.covariates.iter().map(|c| c.name.as_str()).collect();
            if stored.len() != found.len()
                || (stored.iter().zip(&found)).any(|(a, b)| !a.eq_ignore_ascii_case(b))
            {
                return Err(GrufError::data(
                    &path,
                    format!(
                        "{who}the model reads the inputs {} beside {}, but this file gives {}; pass a --csv with those columns",
                        stored.join(", "),
                        meta.data.column,
                        if found.is_empty() { "none".to_string() } else { found.join(", ") }
                    ),
                )
                .into());
            }
            // Dates continue on the calendar the model was trained on (files from gruf 1.0
            // do not record one: theirs is the CSV's).
            if let Some(trained) = meta.data.calendar {
                if trained != series.calendar && series.len() > 2 && other_calendar.is_none() {
                    other_calendar = Some((path, who, series.calendar, trained));
                }
                series.calendar = trained;
            }
        }
        if let Some((path, who, found, trained)) = other_calendar {
            let which = match who.strip_suffix(": ") {
                Some(series) => format!("{}: {series}", path.display()),
                None => path.display().to_string(),
            };
            warn(&format!(
                "{which} looks {}, but the model was trained on {} data; dates continue as {}",
                found.describe(),
                trained.describe(),
                trained.describe()
            ));
        }
        Ok(())
    }

    /// The series to work on, each with its transforms and the network: those named by
    /// `--series`, else every series of `--csv`, else every series the model was trained
    /// on; in the order people list ids. A series the model never saw is fitted on its own
    /// past when the model's transform allows it (see the module's documentation), else
    /// refused naming the transforms that do.
    pub fn subjects(
        &self,
        series: &[String],
        device: &Device,
    ) -> anyhow::Result<Vec<OpenedSeries<'_>>> {
        let meta = self.meta();
        let by_id: HashMap<&str, &FittedSeries> =
            (meta.series.iter()).map(|m| (m.id.as_str(), m)).collect();
        let chosen: Vec<&PanelSeries> = if !series.is_empty() {
            (series.iter())
                .map(|id| self.named(id, &by_id))
                .collect::<Result<_, _>>()?
        } else if self.given || !meta.is_global() {
            let mut all: Vec<&PanelSeries> = self.panel.series.iter().collect();
            all.sort_by(|a, b| panel::natural_cmp(&a.id, &b.id));
            all
        } else {
            let mut ids: Vec<&str> = by_id.keys().copied().collect();
            ids.sort_by(|a, b| panel::natural_cmp(a, b));
            (ids.into_iter())
                .map(|id| {
                    self.panel.get(id).ok_or_else(|| {
                        GrufError::data(
                            self.path(),
                            format!(
                                "series '{id}' of the model is not in {}; pass a --csv that has it, or choose others with --series",
                                super::panel_words(&self.panel)
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let unseen: Vec<&str> = (chosen.iter())
            .filter(|n| meta.is_global() && !by_id.contains_key(n.id.as_str()))
            .map(|n| n.id.as_str())
            .collect();
        if !unseen.is_empty() {
            self.check_unseen(&unseen)?;
        }
        let mut subjects = Vec::with_capacity(chosen.len());
        for named in chosen {
            let fitted = match (meta.is_global(), by_id.get(named.id.as_str())) {
                (false, _) => Cow::Borrowed(meta.first()),
                (true, Some(fitted)) => Cow::Borrowed(*fitted),
                (true, None) => Cow::Owned(self.fit_unseen(named)?),
            };
            let forecaster = self.forecaster(named, &fitted, device)?;
            subjects.push(OpenedSeries {
                named,
                fitted,
                forecaster,
            });
        }
        Ok(subjects)
    }

    /// The series `id` of the data, for `--series`: one the model has, or one of `--csv`.
    fn named(
        &self,
        id: &str,
        by_id: &HashMap<&str, &FittedSeries>,
    ) -> Result<&PanelSeries, GrufError> {
        match (self.panel.get(id), by_id.contains_key(id)) {
            (Some(named), _) => Ok(named),
            (None, true) => Err(GrufError::data(
                self.path(),
                format!(
                    "series '{id}' of the model is not in {}; pass a --csv that has it, or choose others with --series",
                    super::panel_words(&self.panel)
                ),
            )),
            (None, false) => {
                let mut ids: Vec<&str> = by_id.keys().copied().collect();
                ids.sort_by(|a, b| panel::natural_cmp(a, b));
                Err(GrufError::usage(format!(
                    "--series {id}: the model has no such series; it has {}, and {} has none either",
                    name_some(&ids, NAMED),
                    super::panel_words(&self.panel),
                )))
            }
        }
    }

    /// Refuses series the model never saw when its transform cannot be fitted on their
    /// own past; says once that the others are, and that their intervals come from a
    /// calibration on other series.
    fn check_unseen(&self, unseen: &[&str]) -> anyhow::Result<()> {
        let meta = self.meta();
        let transform = meta.config.model.framing.transform;
        let how = if meta.series.iter().any(|m| m.file.is_some()) {
            " (a series is named by its file's stem, as in training)"
        } else {
            ""
        };
        if transform == TransformKind::Minmax {
            return Err(GrufError::data(
                self.path(),
                format!(
                    "{} series the model was not trained on: {}{how}; its transform, minmax, scales each series by the range it had in training, which a new series has not (a model trained with --transform window, diff, logret or seasonal forecasts new series)",
                    unseen.len(),
                    name_some(unseen, NAMED)
                ),
            )
            .into());
        }
        let intervals = match meta.calibration {
            Some(_) => "; their intervals come from the calibration on the training series",
            None => "",
        };
        note(&format!(
            "{} series the model was not trained on: {}{how}: each is scaled on its own past before its last {} ({transform} transform), as a training series would be{intervals}",
            unseen.len(),
            name_some(unseen, NAMED),
            self.panel.series[0]
                .loaded
                .series
                .calendar
                .count(meta.config.train.test_days),
        ));
        Ok(())
    }

    /// What training would have fitted on a series it never saw: the series cut as the
    /// model's configuration cuts one (its last `test_days` held out, then validation),
    /// the transform fitted on its training part.
    fn fit_unseen(&self, named: &PanelSeries) -> anyhow::Result<FittedSeries> {
        let meta = self.meta();
        let series = &named.loaded.series;
        let test_days = meta.config.train.test_days;
        // Training's remedy names training flags, which a consumer cannot change: the
        // reason alone, and this command's remedy.
        let Prepared { split, featurizer } = prepare::prepare(&meta.config, series, test_days)
            .map_err(|unfit| {
                let why = unfit.why;
                GrufError::data(
                    named.path(),
                    format!(
                        "series '{}', which the model was not trained on, cannot be scaled on its own past as training would ({why}); pass more of its history, or choose other series with --series",
                        named.id
                    ),
                )
            })?;
        let held_out_from = match &split.test {
            test if test.is_empty() => series.dates[test.end - 1] + 1,
            test => series.dates[test.start],
        };
        Ok(FittedSeries {
            id: named.id.clone(),
            scaler: featurizer.scaler,
            inputs: featurizer.inputs,
            mase_scale: Some(naive_scale(&series.values[..split.fit_end()])),
            split,
            file: named.file.clone(),
            held_out_from: Some(held_out_from),
            held_out_in_utc: false,
        })
    }

    /// The network with `fitted`'s transforms for `named`; a series shorter than the
    /// model's input is refused, naming it; a forecast whose input leaves the range a
    /// min-max scaling was fitted on is warned of.
    fn forecaster(
        &self,
        named: &PanelSeries,
        fitted: &FittedSeries,
        device: &Device,
    ) -> anyhow::Result<Forecaster> {
        let series = &named.loaded.series;
        let forecaster = self.checkpoint.forecaster_for(fitted, device)?;
        let lookback = forecaster.lookback();
        if series.len() < lookback {
            return Err(GrufError::data(
                named.path(),
                format!(
                    "{}{} usable row{}, but the model needs the last {lookback} values as input; pass a longer CSV",
                    whose(&named.id),
                    series.len(),
                    plural(series.len())
                ),
            )
            .into());
        }
        warn_extrapolation(
            &whose(&named.id),
            &fitted.scaler,
            &series.values,
            forecaster.featurizer().window,
        );
        Ok(forecaster)
    }
}

/// The CSV (or CSVs) a model was trained on, each still there.
fn training_files(meta: &Meta) -> Result<Vec<PathBuf>, GrufError> {
    let files: Vec<PathBuf> = meta.series.iter().filter_map(|m| m.file.clone()).collect();
    let paths = match files.is_empty() {
        true => vec![meta.data.path.clone()],
        false => files,
    };
    if let Some(gone) = paths.iter().find(|p| !p.exists()) {
        let msg = match paths.len() {
            1 => "the training CSV is gone; pass --csv with the data to forecast from",
            _ => "a training CSV is gone; pass --csv with the data to forecast from",
        };
        return Err(GrufError::NoInput {
            path: gone.clone(),
            msg: msg.into(),
        });
    }
    Ok(paths)
}
