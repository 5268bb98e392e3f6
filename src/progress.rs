//! Training progress on stderr: an indicatif bar on a terminal, one plain line per epoch
//! otherwise, nothing with `--quiet`. Losses are MSE in the transform's units; the
//! validation error is also shown as an RMSE in price units. The one place that knows about terminals.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::evaluate::money;
use crate::train::Event;

pub struct Reporter {
    mode: Mode,
    /// `model 2/3 ` while an ensemble's second of three networks trains; empty otherwise.
    network: String,
}

enum Mode {
    Quiet,
    Lines,
    Bar(ProgressBar),
}

impl Reporter {
    /// Picks the reporter for this run: a bar only when stderr is a terminal.
    pub fn new(quiet: bool) -> Reporter {
        let mode = if quiet {
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
        };
        Reporter {
            mode,
            network: String::new(),
        }
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
                if bar.length().is_none() {
                    bar.set_length((epochs * batches) as u64);
                }
                bar.set_prefix(format!("{}epoch {epoch}/{epochs}", self.network));
            }
            (Mode::Bar(bar), Event::Batch { loss, .. }) => {
                bar.inc(1);
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
                    "epoch {:>3}  train loss {:.6}  val loss {:.6} (RMSE {})  {:.2} s{}",
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

    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish();
        }
    }
}
