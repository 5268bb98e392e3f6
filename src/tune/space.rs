//! What `gruf tune` searches: a [`Space`] of settings (a list of choices for each), the
//! [`Trial`]s drawn from it, and the default space for a series' step and length.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::features::scaler::TransformKind;
use crate::model::Cell;
use crate::rng::Rng64;

/// The choices for each searched setting. A trial takes one of each; `epochs` is the most
/// a trial trains (successive halving's last rung), not a choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    pub cell: Vec<Cell>,
    pub layers: Vec<Vec<usize>>,
    pub dropout: Vec<f64>,
    pub window: Vec<usize>,
    pub transform: Vec<TransformKind>,
    /// Steps the network predicts at once: 1 forecasts recursively, the forecast length
    /// K directly.
    pub horizon: Vec<usize>,
    pub lr: Vec<f64>,
    pub batch_size: Vec<usize>,
    /// Networks per model, their median the forecast (default: the base configuration's).
    pub ensemble: Vec<usize>,
    /// Each series' latest training windows per epoch, 0 for all (default: the base's).
    pub recent_windows: Vec<usize>,
    pub epochs: usize,
}

/// A `--space` file: the keys it gives replace the default space's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialSpace {
    pub cell: Option<Vec<Cell>>,
    pub layers: Option<Vec<Vec<usize>>>,
    pub dropout: Option<Vec<f64>>,
    pub window: Option<Vec<usize>>,
    pub transform: Option<Vec<TransformKind>>,
    pub horizon: Option<Vec<usize>>,
    pub lr: Option<Vec<f64>>,
    pub batch_size: Option<Vec<usize>>,
    pub ensemble: Option<Vec<usize>>,
    pub recent_windows: Option<Vec<usize>>,
    pub epochs: Option<usize>,
}

/// What the default space is drawn for: the data's season, the shortest series' values
/// before its test part, the forecast length tuned for, and the base configuration's
/// epochs and transform.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub season: Option<usize>,
    pub pre_test: usize,
    pub steps: usize,
    pub epochs: usize,
    /// The base configuration's ensemble and recent windows: the default space's only
    /// choices for them.
    pub ensemble: usize,
    pub recent_windows: usize,
    /// False when some value is zero or negative: only `minmax` and `diff` take those.
    pub positive: bool,
    /// True for a model with covariates, whose future is unknown: it must forecast the
    /// whole length at once.
    pub covariates: bool,
}

/// One point of the space: the settings one trial trains with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub cell: Cell,
    pub layers: Vec<usize>,
    pub dropout: f64,
    pub window: usize,
    pub transform: TransformKind,
    pub horizon: usize,
    pub lr: f64,
    pub batch_size: usize,
    #[serde(default = "one")]
    pub ensemble: usize,
    #[serde(default)]
    pub recent_windows: usize,
}

fn one() -> usize {
    1
}

impl Space {
    /// The space searched when no `--space` says otherwise: the three cells, one or two
    /// layers, windows of whole seasons (or of 15 to 120 steps without a long season) of
    /// at most a third of the shortest series before its test part, the transforms the values
    /// allow, recursive and direct forecasts of `steps`, and the usual learning rates and
    /// batch sizes.
    pub fn default_for(shape: Shape) -> Space {
        let mut window: Vec<usize> = match shape.season {
            Some(m) if m >= 12 => vec![m, 2 * m, 4 * m, 7 * m],
            _ => vec![15, 30, 60, 90, 120],
        };
        let longest = (shape.pre_test / 3).max(2);
        window.retain(|&w| w <= longest);
        if window.is_empty() {
            window.push(longest.min(30));
        }
        let mut transform = match shape.positive {
            true => vec![
                TransformKind::Window,
                TransformKind::Minmax,
                TransformKind::Logret,
            ],
            false => vec![TransformKind::Diff, TransformKind::Minmax],
        };
        if shape.positive && shape.season.is_some_and(|m| m >= 2) {
            transform.push(TransformKind::Seasonal);
        }
        let horizon = match (shape.steps, shape.covariates) {
            (1, _) => vec![1],
            (k, true) => vec![k],
            (k, false) => vec![1, k],
        };
        Space {
            cell: Cell::ALL.to_vec(),
            layers: vec![
                vec![32],
                vec![64],
                vec![128],
                vec![50, 100],
                vec![64, 64],
                vec![100, 100],
            ],
            dropout: vec![0.0, 0.1, 0.2, 0.3],
            window,
            transform,
            horizon,
            lr: vec![3e-4, 1e-3, 3e-3],
            batch_size: vec![32, 64, 128],
            ensemble: vec![shape.ensemble.max(1)],
            recent_windows: vec![shape.recent_windows],
            epochs: shape.epochs.max(1),
        }
    }

    /// `self` with the keys `partial` gives replaced.
    pub fn with(mut self, partial: PartialSpace) -> Space {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut self.cell, partial.cell);
        set(&mut self.layers, partial.layers);
        set(&mut self.dropout, partial.dropout);
        set(&mut self.window, partial.window);
        set(&mut self.transform, partial.transform);
        set(&mut self.horizon, partial.horizon);
        set(&mut self.lr, partial.lr);
        set(&mut self.batch_size, partial.batch_size);
        set(&mut self.ensemble, partial.ensemble);
        set(&mut self.recent_windows, partial.recent_windows);
        set(&mut self.epochs, partial.epochs);
        self
    }

    /// `Err` names the first setting with no choice, or a choice `validate` refuses.
    pub fn check(&self, base: &RunConfig) -> Result<(), String> {
        let counts = [
            ("cell", self.cell.len()),
            ("layers", self.layers.len()),
            ("dropout", self.dropout.len()),
            ("window", self.window.len()),
            ("transform", self.transform.len()),
            ("horizon", self.horizon.len()),
            ("lr", self.lr.len()),
            ("batch_size", self.batch_size.len()),
            ("ensemble", self.ensemble.len()),
            ("recent_windows", self.recent_windows.len()),
        ];
        if let Some((key, _)) = counts.iter().find(|(_, n)| *n == 0) {
            return Err(format!("{key} has no choice: give at least one"));
        }
        if self.epochs == 0 {
            return Err("epochs = 0: give the most epochs a trial may train".into());
        }
        // Each choice on its own over the base configuration, so a bad one is named.
        let first = self.first();
        let singles = (self.cell.iter().map(|&c| Trial {
            cell: c,
            ..first.clone()
        }))
        .chain(self.layers.iter().map(|l| Trial {
            layers: l.clone(),
            ..first.clone()
        }))
        .chain(self.dropout.iter().map(|&d| Trial {
            dropout: d,
            ..first.clone()
        }))
        .chain(self.window.iter().map(|&w| Trial {
            window: w,
            ..first.clone()
        }))
        .chain(self.horizon.iter().map(|&h| Trial {
            horizon: h,
            ..first.clone()
        }))
        .chain(self.lr.iter().map(|&lr| Trial {
            lr,
            ..first.clone()
        }))
        .chain(self.batch_size.iter().map(|&b| Trial {
            batch_size: b,
            ..first.clone()
        }))
        .chain(self.ensemble.iter().map(|&e| Trial {
            ensemble: e,
            ..first.clone()
        }));
        for trial in singles {
            let mut config = base.clone();
            trial.apply(&mut config);
            config.train.epochs = self.epochs;
            config.validate().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The first choice of each setting.
    fn first(&self) -> Trial {
        Trial {
            cell: self.cell[0],
            layers: self.layers[0].clone(),
            dropout: self.dropout[0],
            window: self.window[0],
            transform: self.transform[0],
            horizon: self.horizon[0],
            lr: self.lr[0],
            batch_size: self.batch_size[0],
            ensemble: self.ensemble[0],
            recent_windows: self.recent_windows[0],
        }
    }

    /// How many distinct trials the space holds (saturating).
    pub fn size(&self) -> usize {
        [
            self.cell.len(),
            self.layers.len(),
            self.dropout.len(),
            self.window.len(),
            self.transform.len(),
            self.horizon.len(),
            self.lr.len(),
            self.batch_size.len(),
            self.ensemble.len(),
            self.recent_windows.len(),
        ]
        .iter()
        .fold(1usize, |a, &n| a.saturating_mul(n))
    }

    /// `n` distinct trials drawn uniformly from the space by `seed` (fewer when the space
    /// holds fewer that `allowed` accepts), after `first` when it is given: the same seed
    /// and space give the same trials in the same order.
    pub fn draw(
        &self,
        n: usize,
        seed: u64,
        first: Option<Trial>,
        allowed: impl Fn(&Trial) -> bool,
    ) -> Vec<Trial> {
        let mut rng = Rng64::seed_from_u64(seed);
        let mut trials: Vec<Trial> = first.into_iter().collect();
        // Enough attempts to find every allowed point of a small space.
        let attempts = 50 * n.max(1) + 20 * self.size().min(100_000);
        for _ in 0..attempts {
            if trials.len() >= n {
                break;
            }
            let mut pick = |len: usize| rng.random_range(0..len);
            let trial = Trial {
                cell: self.cell[pick(self.cell.len())],
                layers: self.layers[pick(self.layers.len())].clone(),
                dropout: self.dropout[pick(self.dropout.len())],
                window: self.window[pick(self.window.len())],
                transform: self.transform[pick(self.transform.len())],
                horizon: self.horizon[pick(self.horizon.len())],
                lr: self.lr[pick(self.lr.len())],
                batch_size: self.batch_size[pick(self.batch_size.len())],
                ensemble: self.ensemble[pick(self.ensemble.len())],
                recent_windows: self.recent_windows[pick(self.recent_windows.len())],
            };
            if allowed(&trial) && !trials.contains(&trial) {
                trials.push(trial);
            }
        }
        trials.truncate(n);
        trials
    }
}

impl Trial {
    /// The trial the base configuration is: its own settings, as a point of any space.
    pub fn of(config: &RunConfig) -> Trial {
        let (n, f, t) = (&config.model.network, &config.model.framing, &config.train);
        Trial {
            cell: n.cell,
            layers: n.layers.clone(),
            dropout: n.dropout,
            window: f.window,
            transform: f.transform,
            horizon: f.horizon,
            lr: t.lr,
            batch_size: t.batch_size,
            ensemble: t.ensemble,
            recent_windows: t.recent_windows,
        }
    }

    /// Sets the trial's settings in `config`, leaving the rest.
    pub fn apply(&self, config: &mut RunConfig) {
        let (n, f, t) = (
            &mut config.model.network,
            &mut config.model.framing,
            &mut config.train,
        );
        n.cell = self.cell;
        n.layers = self.layers.clone();
        n.dropout = self.dropout;
        f.window = self.window;
        f.transform = self.transform;
        f.horizon = self.horizon;
        t.lr = self.lr;
        t.batch_size = self.batch_size;
        t.ensemble = self.ensemble;
        t.recent_windows = self.recent_windows;
    }

    /// `LSTM 64,64 drop 0.1, window 168 seasonal, direct 48, lr 0.001, batch 64`.
    pub fn describe(&self) -> String {
        let layers: Vec<String> = self.layers.iter().map(|l| l.to_string()).collect();
        let horizon = match self.horizon {
            1 => "recursive".to_string(),
            k => format!("direct {k}"),
        };
        let mut words = format!(
            "{} {} drop {}, window {} {}, {horizon}, lr {}, batch {}",
            self.cell.label(),
            layers.join(","),
            self.dropout,
            self.window,
            self.transform,
            self.lr,
            self.batch_size
        );
        if self.ensemble > 1 {
            words.push_str(&format!(", ensemble {}", self.ensemble));
        }
        if self.recent_windows > 0 {
            words.push_str(&format!(", recent {}", self.recent_windows));
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            season: Some(24),
            pre_test: 900,
            steps: 48,
            epochs: 9,
            positive: true,
            covariates: false,
            ensemble: 1,
            recent_windows: 0,
        }
    }

    #[test]
    fn the_default_space_follows_the_season_and_the_length() {
        let hourly = Space::default_for(shape());
        assert_eq!(hourly.window, vec![24, 48, 96, 168]);
        assert_eq!(hourly.horizon, vec![1, 48]);
        assert!(hourly.transform.contains(&TransformKind::Seasonal));
        let short = Space::default_for(Shape {
            pre_test: 300,
            ..shape()
        });
        assert_eq!(short.window, vec![24, 48, 96], "windows of at most a third");
        let daily = Space::default_for(Shape {
            season: Some(7),
            steps: 1,
            positive: false,
            ..shape()
        });
        assert_eq!(daily.window, vec![15, 30, 60, 90, 120]);
        assert_eq!(daily.horizon, vec![1]);
        assert!(!daily.transform.contains(&TransformKind::Window));
        assert!(!daily.transform.contains(&TransformKind::Seasonal));
    }

    #[test]
    fn the_same_seed_draws_the_same_distinct_trials() {
        let space = Space::default_for(shape());
        let a = space.draw(20, 7, None, |_| true);
        assert_eq!(a.len(), 20);
        assert_eq!(a, space.draw(20, 7, None, |_| true));
        assert_ne!(a, space.draw(20, 8, None, |_| true));
        for (i, t) in a.iter().enumerate() {
            assert!(!a[..i].contains(t), "trial {i} repeats");
        }
        // The base configuration first, then draws; `allowed` is honoured.
        let base = Trial::of(&RunConfig::default());
        let b = space.draw(5, 7, Some(base.clone()), |t| t.cell != Cell::Rnn);
        assert_eq!(b[0], base);
        assert!(b[1..].iter().all(|t| t.cell != Cell::Rnn));
    }

    #[test]
    fn a_small_space_gives_every_point_once() {
        let space = Space {
            cell: vec![Cell::Gru, Cell::Lstm],
            layers: vec![vec![8]],
            dropout: vec![0.0],
            window: vec![10, 20],
            transform: vec![TransformKind::Window],
            horizon: vec![1],
            lr: vec![1e-3],
            batch_size: vec![32],
            ensemble: vec![1],
            recent_windows: vec![0],
            epochs: 3,
        };
        assert_eq!(space.size(), 4);
        assert_eq!(space.draw(10, 1, None, |_| true).len(), 4);
    }

    #[test]
    fn a_partial_space_replaces_only_its_keys_and_bad_choices_are_named() {
        let partial: PartialSpace =
            toml::from_str("cell = [\"lstm\"]\nepochs = 4\nensemble = [1, 3]").unwrap();
        let space = Space::default_for(shape()).with(partial);
        assert_eq!(space.cell, vec![Cell::Lstm]);
        assert_eq!(space.ensemble, vec![1, 3]);
        assert_eq!(space.recent_windows, vec![0]);
        let three = space.draw(40, 1, None, |t| t.ensemble == 3);
        assert!(
            three[0].describe().ends_with("ensemble 3"),
            "{}",
            three[0].describe()
        );
        assert_eq!(space.epochs, 4);
        assert_eq!(space.window, vec![24, 48, 96, 168]);
        assert!(space.check(&RunConfig::default()).is_ok());
        let bad = Space {
            lr: vec![1e-3, -1.0],
            ..space.clone()
        };
        let err = bad.check(&RunConfig::default()).unwrap_err();
        assert!(err.contains("learning rate -1"), "{err}");
        let none = Space {
            window: vec![],
            ..space
        };
        assert!(none
            .check(&RunConfig::default())
            .unwrap_err()
            .contains("window"));
        assert!(toml::from_str::<PartialSpace>("cells = []").is_err());
    }
}
