//! What a network is made of, in the model's own types, as candle-nn's layers take a
//! `GRUConfig`: its own settings ([`NetworkConfig`]: the cell, the widths of the stacked
//! layers, dropout), and the two ends the data decides ([`Io`]: the values it reads per
//! step, the steps and quantiles its head forecasts).
//!
//! Why apart from `config::ModelConfig`: the network does not know how a series becomes
//! windows (the transform, the window, the calendar); the run's settings are composed of
//! these parts and of the featurizer's, so that `model/` depends on nothing after it.

use serde::{Deserialize, Serialize};

/// The network's own settings; with an [`Io`] they fix every parameter's name and shape
/// ([`super::param_shapes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// The recurrent cell of every layer.
    pub cell: Cell,
    /// Hidden size of each stacked recurrent layer, input side first.
    pub layers: Vec<usize>,
    /// Dropout after each recurrent layer, during training only.
    pub dropout: f64,
}

impl Default for NetworkConfig {
    /// The seed model's: GRU(50) → GRU(100), dropout 0.2.
    fn default() -> Self {
        NetworkConfig {
            cell: Cell::Gru,
            layers: vec![50, 100],
            dropout: 0.2,
        }
    }
}

impl NetworkConfig {
    /// The network in a few words: `GRU 50,100`.
    pub fn describe(&self) -> String {
        let widths: Vec<String> = self.layers.iter().map(|h| h.to_string()).collect();
        format!("{} {}", self.cell.label(), widths.join(","))
    }
}

/// The network's two ends: `[batch, window, input_width]` in, `[batch, K·Q]` out for K =
/// `horizon` steps and Q quantiles (Q = 1 for a point model), step-major. Set from the
/// featurizer, never by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Io {
    /// Values per time step of an input window (the first layer's input width): 1 while
    /// the price is the only input.
    pub input_width: usize,
    /// Steps predicted at once by the dense head (a direct multi-step forecast).
    pub horizon: usize,
    /// Quantile levels the head forecasts at every step, increasing, with 0.5 among them;
    /// empty for a point model, whose head forecasts one value per step.
    pub quantiles: Vec<f64>,
}

impl Io {
    /// A point model's ends: `input_width` values per step in, one value for each of
    /// `horizon` steps out.
    pub fn point(input_width: usize, horizon: usize) -> Io {
        Io {
            input_width,
            horizon,
            quantiles: Vec::new(),
        }
    }

    /// Outputs per step: Q for a quantile model, 1 for a point model.
    pub fn outputs_per_step(&self) -> usize {
        self.quantiles.len().max(1)
    }

    /// Outputs of the dense head: K·Q for K steps and Q quantiles, K for a point model.
    pub fn outputs(&self) -> usize {
        self.horizon * self.outputs_per_step()
    }
}

/// The recurrent cell, with PyTorch's equations and parameter layouts (`nn.GRU`,
/// `nn.LSTM`, `nn.RNN` with tanh). Spelled the same in config files (serde) and by
/// `FromStr`/`Display`: `gru`, `lstm`, `rnn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Gated recurrent unit: reset and update gates (the seed model's).
    #[default]
    Gru,
    /// Long short-term memory: input, forget and output gates and a cell state.
    Lstm,
    /// Plain (Elman) recurrent layer with tanh.
    Rnn,
}

impl Cell {
    /// Every cell, in the order help texts and `compare` list them.
    pub const ALL: [Cell; 3] = [Cell::Gru, Cell::Lstm, Cell::Rnn];

    /// The name in config files, on the command line and as the parameters' prefix.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
            Cell::Rnn => "rnn",
        }
    }

    /// Gate blocks stacked in the weights: `weight_ih` is `[gates · H, in]`.
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
            Cell::Rnn => 1,
        }
    }

    /// The name people write: GRU, LSTM, RNN.
    pub fn label(self) -> &'static str {
        match self {
            Cell::Gru => "GRU",
            Cell::Lstm => "LSTM",
            Cell::Rnn => "RNN",
        }
    }
}

impl std::str::FromStr for Cell {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = Cell::ALL.map(Cell::name);
        Cell::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("cell '{s}': use one of {}", names.join(", ")))
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
