//! Domain errors a user can act on, and the exit code each one maps to.
//!
//! Every message names the file, column, row or value at fault and says what to do.
//! `main` prints the cause chain and exits with [`GrufError::exit_code`]; anything that
//! is not a `GrufError` is an internal failure (exit 70).

use std::path::{Path, PathBuf};

/// Exit codes, after BSD's sysexits.h (documented in the README).
pub mod exit {
    /// Command-line or configuration misuse (also clap's own errors).
    pub const USAGE: u8 = 2;
    /// Bad input data or model file, or a training run that diverged.
    pub const DATA: u8 = 65;
    /// An input file (CSV, model, config) does not exist or cannot be read.
    pub const NO_INPUT: u8 = 66;
    /// Interrupted by Ctrl-C, as shells report SIGINT; SIGTERM and SIGHUP give 143 and 129
    /// (128 + the signal, [`Signal::exit_code`]).
    pub const INTERRUPTED: u8 = 130;
    /// Internal failure: a bug in gruf.
    pub const INTERNAL: u8 = 70;
    /// An output file cannot be created.
    pub const CANT_CREATE: u8 = 73;
    /// Writing an output failed part-way (disk full, I/O error).
    pub const IO: u8 = 74;
}

#[derive(Debug, thiserror::Error)]
pub enum GrufError {
    /// A flag or config value that cannot work.
    #[error("{0}")]
    Usage(String),

    /// A configuration file that cannot be read or parsed.
    #[error("config {}: {msg}", path.display())]
    Config { path: PathBuf, msg: String },

    /// An input file that does not exist or cannot be opened.
    #[error("cannot read {}: {msg}", path.display())]
    NoInput { path: PathBuf, msg: String },

    /// A CSV whose content is unusable.
    #[error("{}: {msg}", path.display())]
    Data { path: PathBuf, msg: String },

    /// A model file that is not a valid gruf checkpoint.
    #[error("model {}: {msg}", path.display())]
    Model { path: PathBuf, msg: String },

    /// Training produced a non-finite loss or gradient.
    #[error("{0}")]
    Diverged(String),

    /// A signal (Ctrl-C, SIGTERM, SIGHUP) stopped the run; the message says what was kept.
    #[error("{1}")]
    Interrupted(Signal, String),

    /// An output that cannot be created or written.
    #[error("cannot write {}: {msg}", path.display())]
    Write {
        path: PathBuf,
        msg: String,
        create: bool,
    },
}

impl GrufError {
    pub fn exit_code(&self) -> u8 {
        match self {
            GrufError::Usage(_) | GrufError::Config { .. } => exit::USAGE,
            GrufError::NoInput { .. } => exit::NO_INPUT,
            GrufError::Data { .. } | GrufError::Model { .. } | GrufError::Diverged(_) => exit::DATA,
            GrufError::Interrupted(signal, _) => signal.exit_code(),
            GrufError::Write { create: true, .. } => exit::CANT_CREATE,
            GrufError::Write { create: false, .. } => exit::IO,
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        GrufError::Usage(msg.into())
    }

    pub fn data(path: &Path, msg: impl Into<String>) -> Self {
        GrufError::Data {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub fn model(path: &Path, msg: impl Into<String>) -> Self {
        GrufError::Model {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    /// An input that could not be opened: missing, a directory, or unreadable.
    pub fn no_input(path: &Path, err: &std::io::Error, hint: &str) -> Self {
        let msg = match err.kind() {
            std::io::ErrorKind::NotFound => format!("no such file{hint}"),
            std::io::ErrorKind::IsADirectory => "it is a directory, not a file".to_string(),
            _ => err.to_string(),
        };
        GrufError::NoInput {
            path: path.to_path_buf(),
            msg,
        }
    }

    pub fn write(path: &Path, err: impl std::fmt::Display, create: bool) -> Self {
        GrufError::Write {
            path: path.to_path_buf(),
            msg: err.to_string(),
            create,
        }
    }
}

/// Reads a whole input file, mapping failures to [`GrufError::NoInput`].
pub fn read_input(path: &Path, hint: &str) -> Result<Vec<u8>, GrufError> {
    if path.is_dir() {
        return Err(GrufError::NoInput {
            path: path.to_path_buf(),
            msg: "it is a directory, not a file".into(),
        });
    }
    std::fs::read(path).map_err(|e| GrufError::no_input(path, &e, hint))
}

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: a scheduler's time limit, `kill`, `docker stop`.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
}

impl Signal {
    /// The signal's number on Unix.
    pub fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    pub(crate) fn from_number(n: u8) -> Option<Signal> {
        [Signal::Hangup, Signal::Interrupt, Signal::Terminate]
            .into_iter()
            .find(|s| s.number() == n)
    }

    /// 128 + the signal's number, as a shell reports a process it killed.
    pub fn exit_code(self) -> u8 {
        128 + self.number()
    }

    /// How a user names it: `Ctrl-C`, `SIGTERM`, `SIGHUP`.
    pub fn words(self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}
