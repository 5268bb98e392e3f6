//! Comparing recurrent cells (`gruf compare`) on one series or on a panel: each cell
//! trained from the same seeds on the same split, transform, inputs and horizon, then
//! summarised over the seeds, with a rule that says whether the cells differ by more than
//! the seeds do.
//!
//! Contract: nothing is chosen on the test part. The best run of a cell (the one `compare`
//! draws) and the cell whose model `--save-best` keeps are chosen by validation loss; the
//! held-out score is only reported.
//!
//! The held-out score ([`Measure`]) is the one-step MAE on one series (price units), and
//! on a panel the one-step MASE averaged over the series, each counting the same whatever
//! its scale, as `train` pools a panel's scores.
//!
//! The rule ([`Verdict`]): the cell with the lowest mean held-out score is set beside each
//! other cell; their gap counts as larger than the seed-to-seed spread when it exceeds the
//! larger of the two cells' standard deviations over seeds (sample standard deviation,
//! n − 1). With one seed there is no spread, and the rule says it cannot judge. It is a
//! plain yardstick, not a significance test: with three seeds a standard deviation is
//! itself rough.

use crate::checkpoint::Meta;
use crate::evaluation::evaluate::PanelScores;
use crate::model::Cell;
use crate::scores::Contender;
use crate::series::calendar::Calendar;
use crate::text::money;

/// What the cells are compared by on the held-out part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// One series: the one-step MAE, in price units.
    Mae,
    /// A panel: the one-step MASE (each series' errors over its naive forecast's on its
    /// training part), averaged over the series.
    MeanMase,
}

impl Measure {
    /// `MAE`, `MASE`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Mae => "MAE",
            Measure::MeanMase => "MASE",
        }
    }

    /// An amount of this measure in words: price units, or a ratio to three decimals.
    pub fn amount(self, x: f64) -> String {
        match self {
            Measure::Mae => money(x),
            Measure::MeanMase => format!("{x:.3}"),
        }
    }

    /// What the differences are judged on: `this series`, `these series`.
    fn data(self) -> &'static str {
        match self {
            Measure::Mae => "this series",
            Measure::MeanMase => "these series",
        }
    }
}

/// A run's other held-out scores on a panel, each averaged over the series: the one-step
/// sMAPE, and the held-out part forecast in one go from its start (sMAPE, and MASE scaled
/// by the seasonal naive error), as `train` reports a panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pooled {
    pub smape: f64,
    pub ahead_smape: Option<f64>,
    pub ahead_mase: Option<f64>,
}

impl Pooled {
    /// The model's pooled scores in `scores`.
    pub fn of(scores: &PanelScores) -> Option<Pooled> {
        let one = scores.one_step.get(Contender::Model)?;
        let ahead = (scores.ahead.iter()).find(|r| r.forecaster == Contender::Model);
        Some(Pooled {
            smape: one.smape,
            ahead_smape: ahead.map(|r| r.smape),
            ahead_mase: ahead.map(|r| r.mase),
        })
    }

    /// The means of `runs`' pooled scores, when every run has them.
    fn mean(runs: &[&Run]) -> Option<Pooled> {
        let all: Vec<Pooled> = runs.iter().map(|r| r.pooled).collect::<Option<_>>()?;
        let n = all.len() as f64;
        let mean = |f: fn(&Pooled) -> Option<f64>| -> Option<f64> {
            Some(
                all.iter()
                    .map(f)
                    .collect::<Option<Vec<f64>>>()?
                    .iter()
                    .sum::<f64>()
                    / n,
            )
        };
        Some(Pooled {
            smape: all.iter().map(|p| p.smape).sum::<f64>() / n,
            ahead_smape: mean(|p| p.ahead_smape),
            ahead_mase: mean(|p| p.ahead_mase),
        })
    }
}

/// One training run: a cell from a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub cell: Cell,
    pub seed: u64,
    /// Trainable scalars of the network.
    pub parameters: usize,
    /// Epochs run, and the one whose weights were kept (lowest validation loss), from 1.
    pub epochs: usize,
    pub kept_epoch: usize,
    pub stopped_early: bool,
    /// Mean wall-clock seconds of an epoch (validation included).
    pub seconds_per_epoch: f64,
    /// Validation loss (in the transform's units) and RMSE (price units) at the kept epoch.
    pub val_loss: f64,
    pub val_rmse: f64,
    /// The held-out score (see [`Measure`]): one series' one-step MAE in price units, or
    /// a panel's one-step MASE averaged over the series.
    pub test: f64,
    /// A panel's other pooled held-out scores; `None` for one series.
    pub pooled: Option<Pooled>,
    /// A panel's series, each with the run's one-step MASE on its held-out part (empty for
    /// one series).
    pub series: Vec<(String, f64)>,
}

impl Run {
    /// The run a single network's model file records, scored on one series' test part
    /// (`meta.test`) or, given them, on a panel's pooled held-out `scores`; `None` without
    /// test metrics.
    pub fn of(meta: &Meta, scores: Option<&PanelScores>) -> Option<Run> {
        let model = meta.model();
        let kept = meta.history.get(meta.best_epoch.checked_sub(1)?)?;
        let seconds: f64 = meta.history.iter().map(|r| r.seconds).sum();
        Some(Run {
            cell: model.network.cell,
            seed: meta.seed,
            parameters: crate::model::param_shapes(&model.network, &model.io())
                .iter()
                .map(|(_, shape)| shape.iter().product::<usize>())
                .sum(),
            epochs: meta.history.len(),
            kept_epoch: meta.best_epoch,
            stopped_early: meta.stopped_early,
            seconds_per_epoch: seconds / meta.history.len().max(1) as f64,
            val_loss: kept.val_loss,
            val_rmse: kept.val_rmse,
            test: match scores {
                Some(s) => s.one_step.get(Contender::Model)?.mase,
                None => meta.test.as_ref()?.get(Contender::Model)?.mae,
            },
            pooled: scores.and_then(Pooled::of),
            series: (scores.iter())
                .flat_map(|s| s.series.iter())
                .filter_map(|s| Some((s.id.clone(), s.one_step.get(Contender::Model)?.mase)))
                .collect(),
        })
    }
}

/// A cell's runs summarised over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSummary {
    pub cell: Cell,
    pub parameters: usize,
    pub seeds: usize,
    /// Means over the seeds.
    pub seconds_per_epoch: f64,
    pub val_loss: f64,
    pub test: f64,
    /// Sample standard deviation of the held-out score over the seeds; `None` for one seed.
    pub test_sd: Option<f64>,
    /// A panel's other pooled scores, means over the seeds.
    pub pooled: Option<Pooled>,
    /// The fewest and the most epochs kept over the seeds.
    pub kept_epochs: (usize, usize),
    /// The seed with the lowest validation loss (the first of equals): the cell's best run.
    pub best_seed: u64,
}

impl CellSummary {
    /// Summarises `runs` (one cell's, at least one).
    fn of(runs: &[&Run]) -> CellSummary {
        let n = runs.len() as f64;
        let mean = |f: fn(&Run) -> f64| runs.iter().map(|r| f(r)).sum::<f64>() / n;
        let test = mean(|r| r.test);
        let test_sd = (runs.len() > 1).then(|| {
            let ss: f64 = runs.iter().map(|r| (r.test - test).powi(2)).sum();
            (ss / (n - 1.0)).sqrt()
        });
        let kept = runs.iter().map(|r| r.kept_epoch);
        let best = lowest(runs.iter().copied(), |r| r.val_loss);
        CellSummary {
            cell: runs[0].cell,
            parameters: runs[0].parameters,
            seeds: runs.len(),
            seconds_per_epoch: mean(|r| r.seconds_per_epoch),
            val_loss: mean(|r| r.val_loss),
            test,
            test_sd,
            pooled: Pooled::mean(runs),
            kept_epochs: (kept.clone().min().unwrap_or(0), kept.max().unwrap_or(0)),
            best_seed: best.seed,
        }
    }
}

/// The item with the lowest `key` (the first of equals). `items` is not empty.
fn lowest<'a, T>(items: impl IntoIterator<Item = &'a T>, key: impl Fn(&T) -> f64) -> &'a T {
    let mut items = items.into_iter();
    let first = items.next().expect("lowest of no items");
    items.fold(first, |best, x| if key(x) < key(best) { x } else { best })
}

/// The held-out part every run was scored on, and the naive forecast's score there.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut {
    /// The series' calendar, for wording.
    pub calendar: Calendar,
    /// What the runs are scored by.
    pub measure: Measure,
    /// Series scored (one for a model of one series).
    pub series: usize,
    /// One-step targets scored, over every series.
    pub n: usize,
    /// First and last target (of any series): `2024-03-31`, or RFC 3339 in UTC for
    /// intraday data.
    pub first_date: String,
    pub last_date: String,
    /// The score of "the next value = the last one" over the same targets.
    pub naive: f64,
}

impl HeldOut {
    /// A panel's held-out parts as `train` pooled them in `scores`; `None` without a
    /// naive row.
    pub fn pooled(calendar: Calendar, scores: &PanelScores) -> Option<HeldOut> {
        let naive = scores.one_step.get(Contender::Naive)?;
        let dates = |f: fn(&crate::scores::Evaluation) -> &String| {
            scores.series.iter().map(move |s| f(&s.one_step).clone())
        };
        Some(HeldOut {
            calendar,
            measure: Measure::MeanMase,
            series: scores.one_step.series,
            n: scores.one_step.targets,
            first_date: dates(|e| &e.first_date).min()?,
            last_date: dates(|e| &e.last_date).max()?,
            naive: naive.mase,
        })
    }
}

/// Every run, each cell's summary (in the order the cells were asked for), and what the
/// differences mean.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub runs: Vec<Run>,
    pub cells: Vec<CellSummary>,
    pub held_out: HeldOut,
    pub verdict: Verdict,
}

impl Comparison {
    /// Groups `runs` by cell, in the order each cell first appears. `runs` is not empty.
    pub fn new(runs: Vec<Run>, held_out: HeldOut) -> Comparison {
        let mut order: Vec<Cell> = Vec::new();
        for r in &runs {
            if !order.contains(&r.cell) {
                order.push(r.cell);
            }
        }
        let cells: Vec<CellSummary> = order
            .iter()
            .map(|&c| CellSummary::of(&runs.iter().filter(|r| r.cell == c).collect::<Vec<_>>()))
            .collect();
        let verdict = Verdict::of(&cells);
        Comparison {
            runs,
            cells,
            held_out,
            verdict,
        }
    }

    /// The cell with the lowest mean validation loss (the first of equals), whose best run
    /// `--save-best` keeps. Never chosen on the test part.
    pub fn best_by_validation(&self) -> &CellSummary {
        lowest(&self.cells, |c| c.val_loss)
    }

    /// A cell's mean held-out score over the naive forecast's.
    pub fn over_naive(&self, score: f64) -> f64 {
        score / self.held_out.naive
    }

    /// The verdict in a sentence, in the words of what the runs were scored by.
    pub fn sentence(&self) -> String {
        self.verdict.sentence(self.held_out.measure)
    }
}

/// The cell with the lowest mean held-out score set beside each other cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// One cell: nothing to compare.
    OneCell(Cell),
    Compared {
        best: Cell,
        /// The other cells, in the order asked for.
        others: Vec<Gap>,
    },
}

/// How far another cell's mean held-out score lies above the best one's.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub cell: Cell,
    /// Its mean minus the best cell's (≥ 0).
    pub gap: f64,
    /// The larger of the two cells' standard deviations over seeds; `None` with one seed.
    pub spread: Option<f64>,
}

impl Gap {
    /// Whether the gap is larger than the seed-to-seed spread; `None` when there is no
    /// spread to judge by (one seed).
    pub fn beyond_spread(&self) -> Option<bool> {
        self.spread.map(|sd| self.gap > sd)
    }
}

impl Verdict {
    fn of(cells: &[CellSummary]) -> Verdict {
        let best = lowest(cells, |c| c.test);
        if cells.len() == 1 {
            return Verdict::OneCell(best.cell);
        }
        let others = cells
            .iter()
            .filter(|c| c.cell != best.cell)
            .map(|c| Gap {
                cell: c.cell,
                gap: c.test - best.test,
                spread: best.test_sd.zip(c.test_sd).map(|(a, b)| a.max(b)),
            })
            .collect();
        Verdict::Compared {
            best: best.cell,
            others,
        }
    }

    /// The verdict in a sentence, e.g. "LSTM has the lowest mean held-out MAE, but the
    /// gap is smaller than the seed-to-seed spread: GRU's is 3.10 higher (sd 8.40); the
    /// difference is not meaningful on this series" (on a panel: MASE, these series).
    /// `sd` is the spread the gap is judged by: the larger of the two cells' standard
    /// deviations.
    pub fn sentence(&self, measure: Measure) -> String {
        let (name, on) = (measure.name(), measure.data());
        let (best, others) = match self {
            Verdict::OneCell(cell) => {
                return format!(
                    "only {} was trained: nothing to compare it with (pass --cells with two or more cells)",
                    cell.label()
                )
            }
            Verdict::Compared { best, others } => (best.label(), others),
        };
        if others.iter().any(|g| g.spread.is_none()) {
            return format!(
                "{best} has the lowest held-out {name} ({}); with one seed per cell the seed-to-seed spread cannot be judged, so neither can these differences (pass --seeds 3 or more)",
                higher(others, measure)
            );
        }
        let (beyond, within): (Vec<Gap>, Vec<Gap>) =
            (others.iter().cloned()).partition(|g| g.beyond_spread() == Some(true));
        let (gaps, are) = match others.len() {
            1 => ("the gap is", "the difference is"),
            _ => ("the gaps are", "the differences are"),
        };
        match (beyond.is_empty(), within.is_empty()) {
            (false, true) => format!(
                "{best} has the lowest mean held-out {name}, and {gaps} larger than the seed-to-seed spread: {}",
                higher(&beyond, measure)
            ),
            (true, _) => format!(
                "{best} has the lowest mean held-out {name}, but {gaps} smaller than the seed-to-seed spread: {}; {are} not meaningful on {on}",
                higher(&within, measure)
            ),
            (false, false) => {
                let names: Vec<&str> = within.iter().map(|g| g.cell.label()).collect();
                format!(
                    "{best} has the lowest mean held-out {name}; the gap to {} is larger than the seed-to-seed spread ({}), to {} it is not ({}): {best} and {} do not differ meaningfully on {on}",
                    names_of(&beyond),
                    amounts(&beyond, measure),
                    names_of(&within),
                    amounts(&within, measure),
                    names.join(" and ")
                )
            }
        }
    }
}

/// "LSTM's is 3.10 higher (sd 8.40), RNN's 120.00 (sd 9.10)"; without the spreads when
/// there are none.
fn higher(gaps: &[Gap], measure: Measure) -> String {
    let money = |x| measure.amount(x);
    let parts: Vec<String> = (gaps.iter().enumerate())
        .map(|(i, g)| {
            let sd = g
                .spread
                .map_or(String::new(), |sd| format!(" (sd {})", money(sd)));
            match i {
                0 => format!("{}'s is {} higher{sd}", g.cell.label(), money(g.gap)),
                _ => format!("{}'s {}{sd}", g.cell.label(), money(g.gap)),
            }
        })
        .collect();
    parts.join(", ")
}

/// "3.10, sd 8.40", or "3.10, sd 8.40; 120.00, sd 9.10" for several gaps.
fn amounts(gaps: &[Gap], measure: Measure) -> String {
    let money = |x| measure.amount(x);
    let parts: Vec<String> = (gaps.iter())
        .map(|g| {
            let sd = g
                .spread
                .map_or(String::new(), |sd| format!(", sd {}", money(sd)));
            format!("{}{sd}", money(g.gap))
        })
        .collect();
    parts.join("; ")
}

/// "LSTM's", "LSTM's and RNN's".
fn names_of(gaps: &[Gap]) -> String {
    let names: Vec<String> = gaps
        .iter()
        .map(|g| format!("{}'s", g.cell.label()))
        .collect();
    names.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cell: Cell, seed: u64, val_loss: f64, test_mae: f64) -> Run {
        Run {
            cell,
            seed,
            parameters: 10,
            epochs: 5,
            kept_epoch: 3 + seed as usize % 2,
            stopped_early: false,
            seconds_per_epoch: 0.5,
            val_loss,
            val_rmse: val_loss.sqrt(),
            test: test_mae,
            pooled: None,
            series: Vec::new(),
        }
    }

    fn held_out() -> HeldOut {
        HeldOut {
            calendar: Calendar::default(),
            measure: Measure::Mae,
            series: 1,
            n: 30,
            first_date: "2024-01-01".into(),
            last_date: "2024-01-30".into(),
            naive: 100.0,
        }
    }

    #[test]
    fn cells_are_summarised_over_their_seeds() {
        let runs = vec![
            run(Cell::Gru, 0, 0.3, 100.0),
            run(Cell::Gru, 1, 0.1, 110.0),
            run(Cell::Gru, 2, 0.2, 120.0),
            run(Cell::Rnn, 0, 0.05, 200.0),
            run(Cell::Rnn, 1, 0.5, 200.0),
            run(Cell::Rnn, 2, 0.5, 200.0),
        ];
        let c = Comparison::new(runs, held_out());
        let gru = &c.cells[0];
        assert_eq!(gru.cell, Cell::Gru);
        assert!((gru.test - 110.0).abs() < 1e-12);
        assert!((gru.test_sd.unwrap() - 10.0).abs() < 1e-12);
        assert!((gru.val_loss - 0.2).abs() < 1e-12);
        assert_eq!(gru.kept_epochs, (3, 4));
        // The best run of a cell is chosen by validation loss, not by held-out MAE.
        assert_eq!(gru.best_seed, 1);
        assert_eq!(c.cells[1].test_sd, Some(0.0));
        // RNN's seed 0 has the lowest validation loss of all, but GRU's mean is lower.
        assert_eq!(c.best_by_validation().cell, Cell::Gru);
        assert!((c.over_naive(gru.test) - 1.1).abs() < 1e-12);
    }

    #[test]
    fn a_gap_counts_only_beyond_the_larger_spread() {
        let runs = vec![
            run(Cell::Gru, 0, 0.1, 100.0),
            run(Cell::Gru, 1, 0.1, 120.0),
            run(Cell::Lstm, 0, 0.1, 95.0),
            run(Cell::Lstm, 1, 0.1, 97.0),
            run(Cell::Rnn, 0, 0.1, 300.0),
            run(Cell::Rnn, 1, 0.1, 310.0),
        ];
        let c = Comparison::new(runs, held_out());
        let Verdict::Compared { best, others } = &c.verdict else {
            panic!("{:?}", c.verdict)
        };
        assert_eq!(*best, Cell::Lstm);
        // GRU: 110 − 96 = 14, its sd 14.14 beats LSTM's 1.41: within the spread.
        assert_eq!(others[0].cell, Cell::Gru);
        assert!((others[0].gap - 14.0).abs() < 1e-9);
        assert!((others[0].spread.unwrap() - 200f64.sqrt()).abs() < 1e-9);
        assert_eq!(others[0].beyond_spread(), Some(false));
        assert_eq!(others[1].beyond_spread(), Some(true));
        assert_eq!(
            c.sentence(),
            "LSTM has the lowest mean held-out MAE; the gap to RNN's is larger than the \
             seed-to-seed spread (209.00, sd 7.07), to GRU's it is not (14.00, sd 14.14): LSTM \
             and GRU do not differ meaningfully on this series"
        );
        let within = Verdict::Compared {
            best: Cell::Lstm,
            others: vec![others[0].clone()],
        };
        assert_eq!(
            within.sentence(Measure::Mae),
            "LSTM has the lowest mean held-out MAE, but the gap is smaller than the seed-to-seed \
             spread: GRU's is 14.00 higher (sd 14.14); the difference is not meaningful on this series"
        );
        let beyond = Verdict::Compared {
            best: Cell::Lstm,
            others: vec![others[1].clone(), others[1].clone()],
        };
        assert_eq!(
            beyond.sentence(Measure::Mae),
            "LSTM has the lowest mean held-out MAE, and the gaps are larger than the seed-to-seed \
             spread: RNN's is 209.00 higher (sd 7.07), RNN's 209.00 (sd 7.07)"
        );
    }

    #[test]
    fn a_panel_is_judged_in_its_own_words() {
        let gap = Gap {
            cell: Cell::Gru,
            gap: 0.1234,
            spread: Some(0.5),
        };
        let verdict = Verdict::Compared {
            best: Cell::Lstm,
            others: vec![gap],
        };
        assert_eq!(
            verdict.sentence(Measure::MeanMase),
            "LSTM has the lowest mean held-out MASE, but the gap is smaller than the seed-to-seed \
             spread: GRU's is 0.123 higher (sd 0.500); the difference is not meaningful on these series"
        );
    }

    #[test]
    fn one_seed_cannot_judge_and_one_cell_has_nothing_to_compare() {
        let c = Comparison::new(
            vec![run(Cell::Gru, 0, 0.1, 100.0), run(Cell::Rnn, 0, 0.1, 90.0)],
            held_out(),
        );
        assert_eq!(c.cells[0].test_sd, None);
        let s = c.sentence();
        assert!(
            s.starts_with("RNN has the lowest held-out MAE (GRU's is 10.00 higher); with one seed"),
            "{s}"
        );
        let c = Comparison::new(vec![run(Cell::Gru, 4, 0.1, 100.0)], held_out());
        assert_eq!(c.verdict, Verdict::OneCell(Cell::Gru));
        assert!(c.sentence().starts_with("only GRU was trained"));
    }
}
