//! Successive halving: every trial trains a few epochs, the best third trains three times
//! as long, and so on up to the space's epochs. A rung starts once the one below it has
//! ended, so which trials go on depends on their scores only, never on which finished
//! first: the same scores give the same search, run on one thread or eight, in one go or
//! resumed from its log.

use std::collections::BTreeMap;

/// The epochs of each rung, fewest first, and the share of a rung's trials that go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub rungs: Vec<usize>,
    /// A rung keeps the best 1/`eta` of its scored trials (at least one).
    pub eta: usize,
}

impl Schedule {
    /// Rungs of `epochs`/eta², `epochs`/eta and `epochs` (rounded up, each at least one,
    /// no two the same): three rungs when the epochs allow.
    pub fn new(epochs: usize, eta: usize) -> Schedule {
        let eta = eta.max(2);
        let mut rungs: Vec<usize> = [eta * eta, eta, 1]
            .iter()
            .map(|d| epochs.div_ceil(*d).max(1))
            .collect();
        rungs.dedup();
        Schedule { rungs, eta }
    }

    /// How many of `scored` trials go on to the next rung.
    pub fn keep(&self, scored: usize) -> usize {
        scored.div_ceil(self.eta)
    }
}

/// One unit of work: trial `trial` trained for rung `rung`'s epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Job {
    pub trial: usize,
    pub rung: usize,
}

/// How a job ended: its validation score (lower is better), or why it could not be
/// scored (a setting the series cannot take, a failed training).
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Scored(f64),
    Failed(String),
}

/// The search's state: which jobs ended and how, and which are running.
#[derive(Debug, Clone)]
pub struct Search {
    pub schedule: Schedule,
    trials: usize,
    ended: BTreeMap<Job, Ended>,
    running: Vec<Job>,
}

impl Search {
    pub fn new(schedule: Schedule, trials: usize) -> Search {
        Search {
            schedule,
            trials,
            ended: BTreeMap::new(),
            running: Vec::new(),
        }
    }

    /// Records how `job` ended (from this run or from the log of an earlier one).
    pub fn record(&mut self, job: Job, ended: Ended) {
        self.running.retain(|j| *j != job);
        self.ended.insert(job, ended);
    }

    /// Gives `job` back unended (stopped by the budget or a signal): it runs again when
    /// the search is resumed.
    pub fn abandon(&mut self, job: Job) {
        self.running.retain(|j| *j != job);
    }

    pub fn ended(&self, job: Job) -> Option<&Ended> {
        self.ended.get(&job)
    }

    /// The trials that enter rung `rung`: every trial for the first; for a later one the
    /// best of the rung below by score (ties to the lower trial), once it has ended.
    /// `None` while the rung below is still running or waiting.
    pub fn entrants(&self, rung: usize) -> Option<Vec<usize>> {
        if rung == 0 {
            return Some((0..self.trials).collect());
        }
        let below = self.entrants(rung - 1)?;
        let mut scored = Vec::with_capacity(below.len());
        for &trial in &below {
            match self.ended.get(&Job {
                trial,
                rung: rung - 1,
            })? {
                Ended::Scored(s) => scored.push((*s, trial)),
                Ended::Failed(_) => {}
            }
        }
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        scored.truncate(self.schedule.keep(scored.len()));
        let mut trials: Vec<usize> = scored.into_iter().map(|(_, t)| t).collect();
        trials.sort_unstable();
        Some(trials)
    }

    /// The next job to start: the lowest trial of the lowest rung not yet ended or
    /// running. `None` when every job that can start now has (the rung below must end
    /// first) or the search is over.
    pub fn start_next(&mut self) -> Option<Job> {
        for rung in 0..self.schedule.rungs.len() {
            let entrants = self.entrants(rung)?;
            let job = entrants
                .into_iter()
                .map(|trial| Job { trial, rung })
                .find(|j| !self.ended.contains_key(j) && !self.running.contains(j));
            if let Some(job) = job {
                self.running.push(job);
                return Some(job);
            }
        }
        None
    }

    /// True once every rung has ended.
    pub fn finished(&self) -> bool {
        let last = self.schedule.rungs.len() - 1;
        self.entrants(last).is_some_and(|trials| {
            trials
                .iter()
                .all(|&trial| self.ended.contains_key(&Job { trial, rung: last }))
        })
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// The best job scored so far (lowest score; ties to the higher rung, then the lower
    /// trial): the search's winner once it has finished, or when it stops early.
    pub fn best(&self) -> Option<(Job, f64)> {
        self.ended
            .iter()
            .filter_map(|(job, e)| match e {
                Ended::Scored(s) => Some((*job, *s)),
                Ended::Failed(_) => None,
            })
            .min_by(|a, b| {
                (a.1.total_cmp(&b.1))
                    .then(b.0.rung.cmp(&a.0.rung))
                    .then(a.0.trial.cmp(&b.0.trial))
            })
    }

    /// Trials whose last job ended without going on: scored but not among a rung's best.
    pub fn pruned(&self) -> usize {
        (1..self.schedule.rungs.len())
            .filter_map(|r| {
                let below = self.entrants(r - 1)?;
                let entered = self.entrants(r)?;
                let scored = below
                    .iter()
                    .filter(|&&t| {
                        matches!(
                            self.ended.get(&Job {
                                trial: t,
                                rung: r - 1
                            }),
                            Some(Ended::Scored(_))
                        )
                    })
                    .count();
                Some(scored - entered.len())
            })
            .sum()
    }

    /// Jobs ended, and the most the search can run (every rung full).
    pub fn progress(&self) -> (usize, usize) {
        let mut total = 0;
        let mut entering = self.trials;
        for _ in &self.schedule.rungs {
            total += entering;
            entering = self.schedule.keep(entering);
        }
        (self.ended.len(), total)
    }

    /// The epochs still to train if every rung fills (an upper bound: failed trials and
    /// small rungs leave fewer), counting the running jobs' whole.
    pub fn epochs_left(&self) -> usize {
        let mut left = 0;
        let mut entering = self.trials;
        for (rung, &epochs) in self.schedule.rungs.iter().enumerate() {
            let ended = self.ended.keys().filter(|j| j.rung == rung).count();
            left += entering.saturating_sub(ended) * epochs;
            entering = self.schedule.keep(entering);
        }
        left
    }

    /// Every job ended, in order.
    pub fn results(&self) -> impl Iterator<Item = (&Job, &Ended)> {
        self.ended.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_grow_by_eta_up_to_the_epochs() {
        assert_eq!(Schedule::new(27, 3).rungs, vec![3, 9, 27]);
        assert_eq!(Schedule::new(50, 3).rungs, vec![6, 17, 50]);
        assert_eq!(Schedule::new(8, 3).rungs, vec![1, 3, 8]);
        assert_eq!(Schedule::new(2, 3).rungs, vec![1, 2]);
        assert_eq!(Schedule::new(1, 3).rungs, vec![1]);
    }

    /// Runs a whole search, scoring each job with `score`, in the order `next` gives.
    fn run(trials: usize, score: impl Fn(Job) -> Ended) -> Search {
        let mut search = Search::new(Schedule::new(27, 3), trials);
        while let Some(job) = search.start_next() {
            search.record(job, score(job));
        }
        search
    }

    #[test]
    fn the_best_third_goes_on_and_the_best_job_wins() {
        // Trial t scores t at every rung but improves with epochs, except trial 5.
        let search = run(9, |j| {
            let s = j.trial as f64 - j.rung as f64 * 0.1;
            Ended::Scored(if j.trial == 5 { 0.5 } else { s })
        });
        assert!(search.finished());
        assert_eq!(search.entrants(1), Some(vec![0, 1, 5]));
        assert_eq!(search.entrants(2), Some(vec![0]));
        assert_eq!(search.best(), Some((Job { trial: 0, rung: 2 }, -0.2)));
        assert_eq!(search.progress(), (9 + 3 + 1, 13));
        assert_eq!(search.epochs_left(), 0);
        assert_eq!(
            Search::new(Schedule::new(27, 3), 9).epochs_left(),
            9 * 3 + 3 * 9 + 27
        );
        assert_eq!(search.pruned(), 6 + 2);
    }

    #[test]
    fn failed_trials_never_go_on_and_a_rung_waits_for_the_one_below() {
        let mut search = Search::new(Schedule::new(27, 3), 4);
        let first: Vec<Job> = std::iter::from_fn(|| search.start_next()).collect();
        assert_eq!(first.len(), 4, "rung 0 only: rung 1 waits");
        assert!(first.iter().all(|j| j.rung == 0));
        for j in &first[..3] {
            search.record(*j, Ended::Failed("too short".into()));
        }
        assert_eq!(search.start_next(), None, "trial 3 still running");
        search.record(first[3], Ended::Scored(1.0));
        assert_eq!(search.start_next(), Some(Job { trial: 3, rung: 1 }));
    }

    #[test]
    fn a_resumed_search_runs_only_what_had_not_ended() {
        let score = |j: Job| Ended::Scored((j.trial * 7 % 5) as f64 + j.rung as f64);
        let whole = run(6, score);
        // Stop after four jobs, one abandoned mid-way; resume from what was recorded.
        let mut first = Search::new(Schedule::new(27, 3), 6);
        let mut log = Vec::new();
        for _ in 0..4 {
            let job = first.start_next().unwrap();
            log.push((job, score(job)));
            first.record(job, score(job));
        }
        let cut = first.start_next().unwrap();
        first.abandon(cut);
        let mut resumed = Search::new(Schedule::new(27, 3), 6);
        for (job, e) in &log {
            resumed.record(*job, e.clone());
        }
        let mut rerun = Vec::new();
        while let Some(job) = resumed.start_next() {
            rerun.push(job);
            resumed.record(job, score(job));
        }
        assert_eq!(rerun[0], cut);
        assert!(rerun.iter().all(|j| !log.iter().any(|(l, _)| l == j)));
        assert_eq!(
            resumed.results().collect::<Vec<_>>(),
            whole.results().collect::<Vec<_>>()
        );
    }
}
