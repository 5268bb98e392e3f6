//! Training progress on stderr: an indicatif bar on a terminal, one plain line per epoch
//! otherwise, nothing with `--quiet`. Losses are the training loss (MSE, or pinball for a quantile model) in the transform's units; the
//! validation error is also shown as an RMSE in price units. The one place that knows about terminals.
//!
//! One training run (or one ensemble) reports through a [`Reporter`] of its own. Several
//! runs (`compare`) share one bar through [`Runs`]: each run's reporter names the run and
//! fills its share of the bar when it ends, early stop included.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::text::money;
use crate::train::Event;

pub struct Reporter {
    mode: Mode,
    /// `model 2/3 ` while an ensemble's second of three networks trains; empty otherwise.
    network: String,
    /// Set when the bar is shared by several runs: this run's part of it.
    share: Option<Share>,
}

/// One run's part of a bar shared by several ([`Runs`]).
struct Share {
    /// How many runs share the bar: its length is all their batches.
    runs: usize,
    /// `LSTM seed 2 `: what this run's bar prefix and plain lines start with.
    label: String,
    /// This run's batches if it runs every epoch (0 until its first epoch starts), and
    /// those it has run.
    planned: u64,
    done: u64,
}

#[derive(Clone)]
enum Mode {
    Quiet,
    Lines,
    Bar(ProgressBar),
}

impl Mode {
    /// A bar only when stderr is a terminal; nothing when `quiet`.
    fn choose(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30.cyan/blue}] {pos}/{len} batches  {msg}  {elapsed} elapsed, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(bar)
        } else {
            Mode::Lines
        }
    }
}

/// One bar across several training runs of the same data and epochs (`compare`'s cells
/// and seeds), possibly running at the same time.
pub struct Runs {
    mode: Mode,
    runs: usize,
}

impl Runs {
    /// The bar for `runs` runs.
    pub fn new(quiet: bool, runs: usize) -> Runs {
        Runs {
            mode: Mode::choose(quiet),
            runs,
        }
    }

    /// The reporter of one run, its progress and lines named by `label` (`LSTM seed 2`).
    pub fn reporter(&self, label: &str) -> Reporter {
        Reporter {
            mode: self.mode.clone(),
            network: String::new(),
            share: Some(Share {
                runs: self.runs,
                label: format!("{label} "),
                planned: 0,
                done: 0,
            }),
        }
    }

    /// Leaves the bar complete on the terminal once every run has ended.
    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish();
        }
    }
}

impl Reporter {
    /// The reporter of a run of its own (one network, or an ensemble one after another).
    pub fn new(quiet: bool) -> Reporter {
        Reporter {
            mode: Mode::choose(quiet),
            network: String::new(),
            share: None,
        }
    }

    /// What the bar's prefix and plain lines start with: the run's label, if it shares
    /// the bar, then the ensemble's network.
    fn who(&self) -> String {
        let run = self.share.as_ref().map_or("", |s| s.label.as_str());
        format!("{run}{}", self.network)
    }

    pub fn event(&mut self, event: Event) {
        match (&self.mode, event) {
            (
                mode,
                Event::Network {
                    network,
                    networks,
                    seed,
                },
            ) => {
                self.network = format!("model {network}/{networks} ");
                match mode {
                    Mode::Bar(bar) => {
                        bar.set_position(0);
                        bar.set_message("");
                        bar.reset_eta();
                        bar.reset_elapsed();
                    }
                    Mode::Lines => {
                        crate::eprintln_lossy!("model {network} of {networks} (seed {seed})")
                    }
                    Mode::Quiet => {}
                }
            }
            (
                Mode::Bar(bar),
                Event::EpochStart {
                    epoch,
                    epochs,
                    batches,
                },
            ) => {
                let planned = (epochs * batches) as u64;
                let runs = match &mut self.share {
                    Some(share) => {
                        share.planned = planned;
                        share.runs as u64
                    }
                    None => 1,
                };
                if bar.length().is_none() {
                    bar.set_length(runs * planned);
                }
                bar.set_prefix(format!("{}epoch {epoch}/{epochs}", self.who()));
            }
            (Mode::Bar(bar), Event::Batch { loss, .. }) => {
                bar.inc(1);
                if let Some(share) = &mut self.share {
                    share.done += 1;
                }
                if bar.message().is_empty() {
                    bar.set_message(format!("loss {loss:.6}"));
                }
            }
            (Mode::Bar(bar), Event::EpochEnd { record, best }) => {
                bar.set_message(format!(
                    "loss {:.6}  val loss {:.6} (RMSE {}){}",
                    record.train_loss,
                    record.val_loss,
                    money(record.val_rmse),
                    if best { " best" } else { "" }
                ));
            }
            (Mode::Lines, Event::EpochEnd { record, best }) => {
                crate::eprintln_lossy!(
                    "{}epoch {:>3}  train loss {:.6}  val loss {:.6} (RMSE {})  {:.2} s{}",
                    self.share.as_ref().map_or("", |s| s.label.as_str()),
                    record.epoch,
                    record.train_loss,
                    record.val_loss,
                    money(record.val_rmse),
                    record.seconds,
                    if best { "  best" } else { "" }
                );
            }
            _ => {}
        }
    }

    /// The run has ended: its own bar is left complete; a run sharing a bar fills what is
    /// left of its share (the epochs an early stop skipped).
    pub fn finish(&self) {
        let Mode::Bar(bar) = &self.mode else {
            return;
        };
        match &self.share {
            None => bar.finish(),
            Some(share) => bar.inc(share.planned.saturating_sub(share.done)),
        }
    }
}
