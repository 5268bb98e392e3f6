#!/usr/bin/env bash
# Many series in one long CSV (`--id-column`): wall seconds and peak RSS of whole `gruf`
# processes (start-up included) from GNU time, medians over the repetitions, beside the
# file's size. Three runs, interleaved in this one run (the machines are shared and noisy:
# compare only figures from the same run):
#
#   load 100k:  `gruf train` on 100,000 ids x 30 daily rows (3,000,000 rows, made by
#               benches/manyids.py) with every series too short for its --test-size, so
#               the run stops right after loading and cutting each series (exit 65): the
#               load path alone
#   train 100k: the same file, a tiny model (GRU(4), window 7, the last 5 days held out,
#               each series' latest window, 1 epoch): load, one epoch, scoring every
#               series' held-out part, saving
#   predict 100k: `gruf predict --steps 3 --format csv` with that model, every series
#   load 414 / train 414: the same two on $GRUF_HOURLY (default ../shared/data/hourly-414.csv,
#               414 hourly series, 353,500 rows), window 8, the last 5 hours held out
#
# Usage: benches/manyids.sh [REPS]          (REPS default 3)
#   $GRUF_BENCH_DATA (default target/bench) holds the generated CSV (75 MB; not committed)
#   $GRUF_ALSO, e.g. 'before=/path/to/gruf', names other gruf binaries measured the same
#   way beside target/release/gruf, e.g. a build of an older commit
#   $GRUF_SKIP, e.g. 'predict', leaves out the cases whose name contains a word given
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
data=${GRUF_BENCH_DATA:-target/bench}
hourly=${GRUF_HOURLY:-../shared/data/hourly-414.csv}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package 'time')" >&2; exit 1; }

cargo build --release --locked --quiet
mkdir -p "$data"
csv=$data/ids-100k.csv
if [ ! -f "$csv" ]; then
  echo "writing $csv (100,000 series x 30 days)" >&2
  python3 benches/manyids.py "$csv"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A bin=([now]=target/release/gruf)
runners=()
for also in ${GRUF_ALSO:-}; do
  bin[${also%%=*}]=${also#*=}
  runners+=("${also%%=*}")
done
runners+=(now)

tiny=(--layers 4 --epochs 1 --recent-windows 1 --seed 0 -q)
cases=("load 100k" "train 100k" "predict 100k")
[ -f "$hourly" ] && cases+=("load 414" "train 414")
skipped() {
  for word in ${GRUF_SKIP:-}; do [[ $1 == *"$word"* ]] && return 0; done
  return 1
}
for ((i = 1; i <= reps; i++)); do
  for case in "${cases[@]}"; do
    skipped "$case" && continue
    for who in "${runners[@]}"; do
      gruf=${bin[$who]}
      model=$out/$who.safetensors
      case $case in
        "load 100k") cmd=(train --csv "$csv" --id-column series --column value --window 7 --test-size 50 "${tiny[@]}" --model "$out/none.safetensors") ;;
        "train 100k") cmd=(train --csv "$csv" --id-column series --column value --window 7 --test-size 5 "${tiny[@]}" --model "$model") ;;
        "predict 100k") cmd=(predict --model "$model" --steps 3 --format csv) ;;
        "load 414") cmd=(train --csv "$hourly" --id-column series --column value --window 8 --test-size 2000 "${tiny[@]}" --model "$out/none.safetensors") ;;
        "train 414") cmd=(train --csv "$hourly" --id-column series --column value --window 8 --test-size 5 "${tiny[@]}" --model "$out/$who-414.safetensors") ;;
      esac
      /usr/bin/time -o "$out/time" -f '%e %M' "$gruf" "${cmd[@]}" >"$out/stdout" 2>"$out/stderr" || true
      echo "$case|$who|$(tail -1 "$out/time")" | tee -a "$out/all" >&2
    done
  done
done

python3 - "$out/all" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)" "$csv" "$hourly" <<'PY'
import os, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    case, who, t = line.rstrip("\n").split("|")
    secs, kib = t.split()
    runs.setdefault((case, who), []).append((float(secs), int(kib) / 1024))
sizes = {"100k": sys.argv[4], "414": sys.argv[5]}
print(f"{sys.argv[2]}, {sys.argv[3]} cores; medians of {max(len(v) for v in runs.values())} runs")
print(f"{'case':14} {'gruf':8} {'wall s':>8} {'min':>7} {'max':>7} {'peak RSS MiB':>13} {'RSS / file':>10}")
for (case, who), got in runs.items():
    secs = [s for s, _ in got]
    rss = statistics.median(m for _, m in got)
    size = os.path.getsize(sizes[case.split()[1]]) / 2**20
    print(f"{case:14} {who:8} {statistics.median(secs):>8.2f} {min(secs):>7.2f} {max(secs):>7.2f} {rss:>13.0f} {rss / size:>10.2f}")
for key, path in sizes.items():
    if os.path.exists(path):
        print(f"file {key}: {os.path.getsize(path) / 2**20:.1f} MiB ({path})")
PY
