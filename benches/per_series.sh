#!/usr/bin/env bash
# One model per series beside one global model, on a long CSV of many series (e.g.
# ../shared/data/hourly-414.csv): the last HOLD values of every series are held out, each
# per-series model is trained on its own file (its own last HOLD values are its test part,
# so nothing held out reaches fitting), forecasts HOLD steps from the file without them,
# and both sets of forecasts are scored by benches/per_series.py (standard library only,
# independent of gruf's own scoring): mean sMAPE and MASE (seasonal naive scale, m = M).
#
# The per-series jobs are also the working example of sharding over a scheduler: each job
# writes its own checkpoint, so any runner can spread them (here xargs -P on one box; GNU
# parallel, a Slurm job array or Kubernetes Jobs the same way: see docs/past-one-machine.md).
#
# Usage: benches/per_series.sh LONG.csv [CONFIG] [HOLD] [M]
#   defaults: configs/hourly.toml, 48, 24; JOBS (default: cores) runs at once;
#   GLOBAL=1 also trains the global model on the same file, for the side-by-side.
set -euo pipefail
cd "$(dirname "$0")/.."
long=$(realpath "${1:?usage: benches/per_series.sh LONG.csv [CONFIG] [HOLD] [M]}")
config=$(realpath "${2:-configs/hourly.toml}")
hold=${3:-48}
m=${4:-24}
jobs=${JOBS:-$(nproc)}
cargo build --release --locked --quiet
gruf=$(realpath target/release/gruf)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

python3 benches/per_series.py split "$long" "$out" "$hold"
mkdir -p "$out/models" "$out/forecasts"
# One job: train on the series' own file, forecast HOLD steps from the file without them.
job() {
  id=$1
  "$gruf" train --csv "$out/full/$id.csv" --column value --config "$config" \
    --model "$out/models/$id.gruf" --quiet >/dev/null 2>"$out/models/$id.err" \
    && "$gruf" predict --model "$out/models/$id.gruf" --csv "$out/cut/$id.csv" \
      --steps "$hold" --format csv 2>>"$out/models/$id.err" \
      | tail -n +2 | sed "s/^/$id,/" >"$out/forecasts/$id.csv" \
    || echo "series $id failed: $(tail -1 "$out/models/$id.err")" >&2
}
export -f job
export gruf out config hold
start=$(date +%s.%N)
ls "$out/full" | sed 's/\.csv$//' | xargs -P "$jobs" -I{} bash -c 'job {}'
end=$(date +%s.%N)
{ echo "series,date,forecast"; cat "$out/forecasts/"*.csv; } >"$out/per-series.csv"
echo
echo "one model per series ($(ls "$out/models" | grep -c '\.gruf$') models, $jobs at once): $(echo "$end - $start" | bc) s wall"
python3 benches/per_series.py score "$long" "$out/per-series.csv" "$hold" "$m"

if [ "${GLOBAL:-0}" = 1 ]; then
  # The same cut, as one long CSV, for the global model's forecasts.
  { head -1 "$long"; for f in "$out"/cut/*.csv; do
      id=$(basename "$f" .csv); tail -n +2 "$f" | sed "s/^/$id,/"; done; } >"$out/cut-long.csv"
  idcol=$(head -1 "$long" | cut -d, -f1)
  start=$(date +%s.%N)
  "$gruf" train --csv "$long" --id-column "$idcol" --column value --config "$config" \
    --model "$out/global.gruf" --quiet >"$out/global-train.txt"
  "$gruf" predict --model "$out/global.gruf" --csv "$out/cut-long.csv" --steps "$hold" \
    --format csv >"$out/global.csv"
  end=$(date +%s.%N)
  echo
  echo "one global model: $(echo "$end - $start" | bc) s wall (train + predict)"
  python3 benches/per_series.py score "$long" "$out/global.csv" "$hold" "$m"
fi
