#!/usr/bin/env bash
# Interval methods on a price CSV, mean of seeds: the calibrated intervals of each preset
# (conformal residuals of a point model; CQR of a quantile model), beside the naive
# baselines, one and 7 steps ahead, at 80 % and 95 %.
#
# Two stages, so that no choice sees the test year:
#   select: the CSV without its last TEST rows, its own last TEST rows held out (a year
#           the final models train on, never their test part): the preset is chosen here;
#   final:  the whole CSV, its last TEST rows held out: what the chosen preset reaches.
#
# Usage: benches/intervals.sh CSV [SEEDS] [TEST]     (defaults: 3 seeds, 365 rows)
# Needs a release build (cargo build --release; or GRUF=path/to/gruf) and python3 (standard
# library only).
set -euo pipefail
csv=${1:?usage: benches/intervals.sh CSV [SEEDS] [TEST]}
seeds=${2:-3}
test_rows=${3:-365}
here=$(cd "$(dirname "$0")/.." && pwd)
gruf=${GRUF:-"$here/target/release/gruf"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -n $(( $(wc -l < "$csv") - test_rows )) "$csv" > "$work/select.csv"
cp "$csv" "$work/final.csv"

declare -A presets=(
  [residuals]="--config $here/configs/btc.toml"
  [cqr]="--config $here/configs/btc.toml --quantiles 0.025,0.1,0.5,0.9,0.975"
)
for stage in select final; do
  for name in residuals cqr; do
    for ((s = 0; s < seeds; s++)); do
      model="$work/$stage-$name-$s.safetensors"
      # shellcheck disable=SC2086
      "$gruf" train --csv "$work/$stage.csv" ${presets[$name]} --test-size "$test_rows" \
        --seed "$s" --model "$model" --quiet > /dev/null
      "$gruf" evaluate --model "$model" --csv "$work/$stage.csv" --format json \
        > "$work/$stage-$name-$s.json" 2> /dev/null
    done
  done
done

python3 - "$work" "$seeds" <<'PY'
import json, sys, statistics as st
work, seeds = sys.argv[1], int(sys.argv[2])
for stage in ("select", "final"):
    print(f"\n== {stage}: mean over {seeds} seeds (± sd of the model's coverage) ==")
    print(f"{'method':<10} {'forecaster':<22} {'steps':>5} {'level':>5} {'coverage':>15} {'width':>10} {'MSIS':>7}")
    for name in ("residuals", "cqr"):
        docs = [json.load(open(f"{work}/{stage}-{name}-{s}.json")) for s in range(seeds)]
        rows = [d["intervals"]["rows"] for d in docs]
        for i, r in enumerate(rows[0]):
            for l, sc in enumerate(r["scores"]):
                cov = [rs[i]["scores"][l]["coverage"] for rs in rows]
                width = st.mean(rs[i]["scores"][l]["width"] for rs in rows)
                msis = st.mean(rs[i]["scores"][l]["msis"] for rs in rows)
                sd = f" ± {st.stdev(cov):.1f}" if seeds > 1 and r["forecaster"] == "model" else ""
                label = name if r["forecaster"] == "model" else ""
                print(f"{label:<10} {r['forecaster']:<22} {r['steps']:>5} {sc['level']*100:>4.0f}% "
                      f"{st.mean(cov):>8.1f} %{sd:<6} {width:>10.2f} {msis:>7.3f}")
PY
