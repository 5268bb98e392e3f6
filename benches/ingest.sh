#!/usr/bin/env bash
# Reading a big CSV: `gruf predict` on 5,000,000 minute bars resampled to daily closes,
# beside pandas reading the same file and resampling it the way a user would
# (benches/ingest_pandas.py), interleaved in this one run (the machines are shared and
# noisy: compare only figures from the same run). Wall seconds and peak RSS of each whole
# process (start-up included) from GNU time; medians over the repetitions.
#
# Usage: benches/ingest.sh [REPS]          (REPS default 5)
#
#   data:    $GRUF_BENCH_DATA (default target/bench), made once by benches/bigcsv.py:
#            big.csv (5,000,000 rows, 268 MB; not committed) and a model trained on it
#            with --resample 1d (big.safetensors; 2 epochs, the forecast is not the point)
#   gruf:    target/release/gruf predict --csv big.csv --model big.safetensors
#            ($GRUF_ALSO, e.g. 'before=/path/to/gruf hashing=/other/gruf', names other
#             gruf binaries measured the same way beside it, e.g. builds of older commits)
#   pandas:  $GRUF_BENCH_ENV/torch/bin/python (default ~/.cache/gruf-bench, made by
#            ../shared/bench/setup.sh) running benches/ingest_pandas.py big.csv
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
data=${GRUF_BENCH_DATA:-target/bench}
python=${GRUF_BENCH_ENV:-$HOME/.cache/gruf-bench}/torch/bin/python
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package 'time')" >&2; exit 1; }
[ -x "$python" ] || { echo "no $python: run ../shared/bench/setup.sh" >&2; exit 1; }

cargo build --release --locked --quiet
gruf=target/release/gruf
mkdir -p "$data"
csv=$data/big.csv
model=$data/big.safetensors
if [ ! -f "$csv" ]; then
  echo "writing $csv (5,000,000 rows)" >&2
  python3 benches/bigcsv.py "$csv"
fi
if [ ! -f "$model" ]; then
  echo "training $model on $csv with --resample 1d" >&2
  "$gruf" train --csv "$csv" --resample 1d --epochs 2 --seed 0 --quiet --model "$model" >/dev/null
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A bin=([gruf]=$gruf)
runners=()
for also in ${GRUF_ALSO:-}; do
  bin[${also%%=*}]=${also#*=}
  runners+=("${also%%=*}")
done
runners+=(gruf pandas)
for ((i = 1; i <= reps; i++)); do
  for who in "${runners[@]}"; do
    case $who in
      pandas) cmd=("$python" benches/ingest_pandas.py "$csv") ;;
      *) cmd=("${bin[$who]}" predict --csv "$csv" --model "$model") ;;
    esac
    /usr/bin/time -o "$out/time" -f '%e %M' "${cmd[@]}" >"$out/$who.out"
    echo "$who $(cat "$out/time")" | tee -a "$out/all" >&2
  done
done

python3 - "$out/all" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, secs, kib = line.split()
    runs.setdefault(who, []).append((float(secs), int(kib) / 1024))
print(f"{sys.argv[2]}, {len(runs['gruf'])} runs each, interleaved")
print(f"{'':8} {'median s':>9} {'min':>6} {'max':>6} {'median peak RSS MiB':>20}")
med = {}
for who, got in runs.items():
    secs = [s for s, _ in got]
    med[who] = (statistics.median(secs), statistics.median(m for _, m in got))
    print(f"{who:8} {med[who][0]:>9.2f} {min(secs):>6.2f} {max(secs):>6.2f} {med[who][1]:>20.0f}")
for who in med:
    if who != "pandas":
        t, m = (a / b for a, b in zip(med[who], med["pandas"]))
        print(f"{who}/pandas: time {t:.2f}, memory {m:.2f}")
PY
