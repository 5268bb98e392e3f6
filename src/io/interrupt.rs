//! Signals that end a run early, all handled alike: Ctrl-C (SIGINT), SIGTERM (what Slurm
//! time limits, Kubernetes and `docker stop` send) and SIGHUP (a closed terminal).
//!
//! The first signal asks the running command to stop after its current batch and keep
//! what it finished (the best model so far, an ensemble's finished networks, a backtest's
//! finished folds, a comparison's finished runs); the command polls [`requested`]. A later
//! signal exits at once, leaving every file as it was. Signals closer together than
//! [`SAME_REQUEST`] count as one: `timeout -s INT` signals gruf and then its process
//! group, microseconds apart, and a job scheduler may signal every process of a job.
//!
//! A run stopped by a signal exits with 128 + its number, as a shell reports a process
//! killed by it: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.

use crate::error::Signal;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Signals closer together than this are one request to stop.
pub const SAME_REQUEST: Duration = Duration::from_secs(1);

/// What the running command says on a first and on a later signal.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// What stopping keeps, after "interrupted (Ctrl-C): ": `finishing this batch and
    /// saving the best model so far`.
    pub stopping: &'static str,
    /// What an exit at once leaves, after "interrupted again: exiting now; ".
    pub exiting: &'static str,
}

/// The signal that asked the run to stop (its number), 0 while none has.
static REQUESTED: AtomicU8 = AtomicU8::new(0);

/// When the request to stop came, and what to say on signals.
static STATE: Mutex<State> = Mutex::new(State {
    first: None,
    words: Words {
        stopping: "stopping after this batch",
        exiting: "nothing was written",
    },
});

struct State {
    first: Option<Instant>,
    words: Words,
}

/// Handles stopping signals from now on (installed once; later calls only change the
/// words said), `words` saying what the running command keeps or leaves.
pub fn watch(words: Words) {
    STATE.lock().unwrap_or_else(PoisonError::into_inner).words = words;
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        if let Err(e) = install() {
            crate::eprintln_lossy!(
                "gruf: warning: Ctrl-C and SIGTERM will stop gruf at once, without saving: {e}"
            );
        }
    });
}

/// The signal that asked the run to stop, if one has.
pub fn requested() -> Option<Signal> {
    Signal::from_number(REQUESTED.load(Ordering::SeqCst))
}

/// Records `signal`, arrived at `now`: the first asks the run to stop, one within
/// [`SAME_REQUEST`] of it is the same request, a later one exits at once.
fn received(signal: Signal, now: Instant) -> Received {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    match state.first {
        None => {
            state.first = Some(now);
            REQUESTED.store(signal.number(), Ordering::SeqCst);
            Received::Stop(state.words)
        }
        Some(first) if now.saturating_duration_since(first) < SAME_REQUEST => Received::Same,
        Some(_) => Received::Exit(state.words),
    }
}

#[derive(Debug)]
enum Received {
    Stop(Words),
    Same,
    Exit(Words),
}

/// Acts on `signal`: says what happens, and exits on a second request.
fn handle(signal: Signal) {
    match received(signal, Instant::now()) {
        Received::Stop(words) => crate::eprintln_lossy!(
            "\ngruf: interrupted ({0}): {1} ({0} again to quit now)",
            signal.words(),
            words.stopping,
        ),
        Received::Same => {}
        Received::Exit(words) => {
            crate::eprintln_lossy!(
                "\ngruf: interrupted again ({}): exiting now; {}",
                signal.words(),
                words.exiting
            );
            crate::io::output::remove_pending_temporary();
            std::process::exit(i32::from(signal.exit_code()));
        }
    }
}

/// A thread that hears SIGINT, SIGTERM and SIGHUP and [`handle`]s each.
#[cfg(unix)]
fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("gruf-signals".into())
        .spawn(move || {
            for n in signals.forever() {
                if let Some(signal) = u8::try_from(n).ok().and_then(Signal::from_number) {
                    handle(signal);
                }
            }
        })?;
    Ok(())
}

/// Ctrl-C only, elsewhere.
#[cfg(not(unix))]
fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| handle(Signal::Interrupt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_within_a_second_are_one_request_and_a_later_one_exits() {
        let t0 = Instant::now();
        assert!(matches!(received(Signal::Terminate, t0), Received::Stop(_)));
        assert_eq!(requested(), Some(Signal::Terminate));
        // `timeout -s INT`: the same signal again, to the process group, microseconds later.
        assert!(matches!(
            received(Signal::Interrupt, t0 + Duration::from_micros(30)),
            Received::Same
        ));
        assert!(matches!(
            received(Signal::Interrupt, t0 + Duration::from_millis(900)),
            Received::Same
        ));
        assert_eq!(requested(), Some(Signal::Terminate), "the first one counts");
        assert!(matches!(
            received(Signal::Interrupt, t0 + Duration::from_millis(1500)),
            Received::Exit(_)
        ));
    }

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Hangup.exit_code(), 129);
    }
}
