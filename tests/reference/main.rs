//! gruf's numerics against independent references: the recurrent stacks' outputs and
//! gradients against PyTorch, the interval baselines and scores against plain Python, the
//! pinball loss against PyTorch. The fixtures are in tests/fixtures/, with the scripts that
//! made them. Run them alone with `cargo test --release --locked --test reference`.

#[path = "../common/close.rs"]
mod close;

mod interval_reference;
mod pinball_reference;
mod pytorch_reference;
