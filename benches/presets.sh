#!/usr/bin/env bash
# Cheaper variants of configs/hourly.toml, compared on validation only: the last 48 values
# of every series are cut off first (the real holdout, never read here), each variant
# trains on what is left with the preset's split (its own last 48 held out: the 48 hours
# before the real holdout) and is scored there, forecast in one go (sMAPE, and MASE scaled
# by the seasonal naive error, m = 24, on everything before those 48 hours), with its wall
# time and peak memory. This is how configs/hourly.toml was chosen; a variant that wins
# here can then be scored once on the real holdout.
#
# Usage: benches/presets.sh PATH [VARIANT...]
#   PATH     a long CSV series,time,value (../shared/data/hourly-414.csv), each series'
#            rows in time order
#   VARIANT  `gruf train` flags added to the preset, one quoted string each, e.g.
#            "--recent-windows 100" "--layers 100"; the preset itself ("") always runs
#            first. Default: "" only.
#   SEEDS    the seeds each variant trains from (default "0 1")
#
# One variant and seed after another, 2 threads each, on one machine: compare wall times
# only within one run. Needs a release build (cargo build --release --locked; or
# GRUF=path/to/gruf) and GNU time.
set -euo pipefail
data=$(realpath "${1:?usage: benches/presets.sh PATH [VARIANT...]}")
shift
variants=("" "$@")
read -r -a seeds <<< "${SEEDS:-0 1}"
here=$(cd "$(dirname "$0")/.." && pwd)
gruf=${GRUF:-"$here/target/release/gruf"}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
[ -x "$gruf" ] || { echo "no $gruf: cargo build --release --locked first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2

# Each series without its last 48 rows; refuses a series whose times go back.
awk -F, 'NR == FNR { n[$1]++; next }
  FNR == 1 { print; next }
  $1 == last && $2 <= time { printf "%s: series %s is not in time order at %s\n", FILENAME, $1, $2 > "/dev/stderr"; exit 1 }
  { last = $1; time = $2; if (++seen[$1] <= n[$1] - 48) print }' \
  "$data" "$data" > "$work/validation.csv"

results=$work/results.tsv
for i in "${!variants[@]}"; do
  read -r -a flags <<< "${variants[$i]}"
  for seed in "${seeds[@]}"; do
    echo "variant $((i + 1)) of ${#variants[@]} (${variants[$i]:-the preset}), seed $seed" >&2
    model=$work/v$i.$seed.gruf
    /usr/bin/time -f "%e %M" -o "$work/time" "$gruf" train --csv "$work/validation.csv" \
      --id-column series --date-column time --column value \
      --config "$here/configs/hourly.toml" --seed "$seed" "${flags[@]}" --model "$model" \
      > /dev/null 2> "$work/err" || { tail -3 "$work/err" >&2; exit 1; }
    "$gruf" evaluate --model "$model" --format json --quiet > "$work/json" 2>/dev/null
    python3 - "$work/json" "$work/time" "${variants[$i]:-the preset}" "$seed" >> "$results" <<'PY'
import json, sys
ev, tm, label, seed = sys.argv[1:]
ahead = {a["forecaster"]: a for a in json.load(open(ev))["ahead"]}
wall, kib = open(tm).read().split()[:2]
m, sn = ahead["model"], next(a for name, a in ahead.items() if name.startswith("seasonal"))
relative = (m["smape"] / sn["smape"] + m["mase"] / sn["mase"]) / 2
print("\t".join([label, seed, wall, str(int(kib) // 1024), f"{m['smape']:.3f}", f"{m['mase']:.4f}",
                 f"{relative:.4f}", str(sn["model_better"])]))
PY
  done
done

bash "$here/benches/machine.sh"
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("validation: the 48 hours before each series' last 48, forecast in one go; 2 threads")
print("relative: the mean of sMAPE and MASE, each over the seasonal naive's (as M4's OWA);")
print("beats: the series on which the variant's MASE is below the seasonal naive's")
print(f"{'variant':36} {'seed':>5} {'wall s':>8} {'peak MiB':>9} {'sMAPE %':>8} {'MASE':>7} {'relative':>9} {'beats':>6}")
for r in rows:
    print(f"{r[0]:36} {r[1]:>5} {float(r[2]):>8.1f} {r[3]:>9} {r[4]:>8} {r[5]:>7} {r[6]:>9} {r[7]:>6}")
print("means over seeds, wall time as a share of the preset's")
base = statistics.mean(float(r[2]) for r in rows if r[0] == rows[0][0])
for label in dict.fromkeys(r[0] for r in rows):
    xs = [r for r in rows if r[0] == label]
    mean = lambda i: statistics.mean(float(r[i]) for r in xs)
    print(f"{label:36} {mean(2):>8.1f} {mean(2) / base:>6.2f}x  sMAPE {mean(4):.3f}  MASE {mean(5):.4f}"
          f"  relative {mean(6):.4f}  beats {mean(7):.0f}")
PY
