#!/usr/bin/env bash
# Serving latency of an exported model (`gruf export`): onnxruntime beside `gruf predict` and NeuralForecast, one run (see benches/export_latency.py).
# Usage: [GRUF=target/release/gruf] [PYTHON=~/.cache/gruf-bench/torch/bin/python] [DATA=../shared/data/btc-usd.csv] benches/export_latency.sh [ROUNDS]
set -euo pipefail; cd "$(dirname "$0")/.."; [ -n "${GRUF:-}" ] || cargo build --release --locked --quiet; exec "${PYTHON:-$HOME/.cache/gruf-bench/torch/bin/python}" benches/export_latency.py "${GRUF:-target/release/gruf}" "${DATA:-../shared/data/btc-usd.csv}" "${1:-7}"
