#!/usr/bin/env bash
# One global model over many hourly series: gruf's configs/hourly.toml against
# NeuralForecast's GRU and LSTM with the same input length (168), horizon (48, forecast in
# one go), widths and number of training windows seen, interleaved in one run on one
# machine: windows per second, peak memory, and sMAPE / MASE on the same holdout.
#
# Usage: benches/global.sh PATH [EPOCHS] [ROUNDS]
#   PATH    a long CSV series,time,value (../shared/data/hourly-414.csv)
#   EPOCHS  gruf's epochs (default 8, the preset's); the peers see as many windows:
#           max_steps = ceil(EPOCHS x gruf's training windows per epoch / 128)
#   ROUNDS  rounds of gruf, GRU, LSTM (default 1; each round is long)
#   HIDDEN  the peers' width (default 100, the preset's: NeuralForecast gives every layer
#           one width)
#   LAYERS  the peers' recurrent layers (default 1, the preset's; the runs quoted before
#           the preset became one layer used 2 layers of 100, against its 50 then 100)
#   GRUF_FLAGS  more `gruf train` flags, e.g. "--layers 100,100" with LAYERS=2: both sides
#           two layers of 100
#   PYTHON  the bench environment's python (default ~/.cache/gruf-bench/torch/bin/python,
#           made by ../shared/bench/setup.sh)
#
# The holdout is the last 48 values of every series (gruf's test part, `test_days = 48`;
# benches/global.py cuts the same), never seen in training. Both score MASE against the
# in-sample seasonal naive (m = 24) on everything before it, sMAPE as M4 does.
#
# Windows per second: windows trained on / training seconds. For gruf the seconds are the
# sum of its epochs (each includes a forward pass over its validation windows, which the
# peers do not have); for NeuralForecast, the wall time of `fit`. Peak memory is the
# process's maximum resident set (GNU time). 2 threads each (RAYON_NUM_THREADS /
# torch.set_num_threads).
set -euo pipefail
data=$(realpath "${1:?usage: benches/global.sh PATH [EPOCHS] [ROUNDS]}")
epochs=${2:-8}
rounds=${3:-1}
hidden=${HIDDEN:-100}
layers=${LAYERS:-1}
for n in "$epochs" "$rounds"; do
  case $n in '' | *[!0-9]* | 0) echo "benches/global.sh: EPOCHS and ROUNDS are whole numbers from 1, not '$n'" >&2; exit 2 ;; esac
done
read -r -a extra <<< "${GRUF_FLAGS:-}"
here=$(cd "$(dirname "$0")/.." && pwd)
gruf=${GRUF:-"$here/target/release/gruf"}
python=${PYTHON:-$HOME/.cache/gruf-bench/torch/bin/python}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
[ -x "$gruf" ] || { echo "no $gruf: cargo build --release --locked first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=2

for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds: gruf, $epochs epochs of configs/hourly.toml" >&2
  /usr/bin/time -v "$gruf" train --csv "$data" --id-column series --date-column time \
    --column value --config "$here/configs/hourly.toml" --epochs "$epochs" --seed 1 "${extra[@]}" \
    --model "$work/gruf.$round.gruf" > "$work/gruf.$round.out" 2> "$work/gruf.$round.err" ||
    { grep -v "^$(printf '\t')" "$work/gruf.$round.err" | tail -3 >&2; exit 1; }
  "$gruf" evaluate --model "$work/gruf.$round.gruf" --format json --quiet \
    > "$work/gruf.$round.json" 2>/dev/null
  per_epoch=$(sed -n 's/.*rows: \([0-9]*\) training windows.*/\1/p' "$work/gruf.$round.err" | head -1)
  windows=$((per_epoch * epochs))
  for peer in gru lstm; do
    echo "round $round of $rounds: NeuralForecast $peer, $windows windows" >&2
    /usr/bin/time -v "$python" "$here/benches/global.py" "$peer" "$data" --windows "$windows" \
      --hidden "$hidden" --layers "$layers" > "$work/$peer.$round.json" 2> "$work/$peer.$round.err" ||
      { tail -5 "$work/$peer.$round.err" >&2; exit 1; }
  done
done

bash "$here/benches/machine.sh"
python3 - "$work" "$rounds" "$epochs" "${GRUF_FLAGS:-}" <<'PY'
import json, re, statistics, struct, sys
work, rounds, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gruf_label = ("gruf configs/hourly.toml " + sys.argv[4]).strip()
def peak(name):
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{work}/{name}").read()).group(1)) / 1024
rows = {}
for r in range(1, rounds + 1):
    err = open(f"{work}/gruf.{r}.err").read()
    per_epoch = int(re.search(r"rows: (\d+) training windows", err).group(1))
    with open(f"{work}/gruf.{r}.gruf", "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    history = json.loads(header["__metadata__"]["gruf"])["history"]
    seconds = sum(e["seconds"] for e in history)
    ahead = {a["forecaster"]: a for a in json.load(open(f"{work}/gruf.{r}.json"))["ahead"]}
    m = ahead["model"]
    rows.setdefault(gruf_label, []).append(
        (per_epoch * len(history), seconds, per_epoch * len(history) / seconds, peak(f"gruf.{r}.err"), m["smape"], m["mase"]))
    for name, row in ahead.items():
        if name.startswith("seasonal"):
            rows.setdefault(f"{name} (no training)", []).append((0, 0, float("nan"), float("nan"), row["smape"], row["mase"]))
    for peer in ("gru", "lstm"):
        j = json.loads(open(f"{work}/{peer}.{r}.json").read())
        label = f"{j['model']} {j['layers']}x{j['hidden']}"
        rows.setdefault(label, []).append((j["windows"], j["fit_s"], j["windows_per_s"], peak(f"{peer}.{r}.err"), j["smape"], j["mase"]))
print(f"{rounds} round(s), interleaved, 2 threads each; medians over rounds; input 168, horizon 48, last 48 of every series held out")
print(f"{'':44} {'windows':>9} {'train s':>9} {'windows/s':>10} {'peak MiB':>9} {'sMAPE':>7} {'MASE':>7}")
med = lambda xs: statistics.median(xs)
base = med([x[2] for x in rows[gruf_label]])
for label, xs in rows.items():
    w, s, wps, mib, sm, ma = (med([x[i] for x in xs]) for i in range(6))
    print(f"{label:44} {w:>9.0f} {s:>9.1f} {wps:>10.0f} {mib:>9.0f} {sm:>7.2f} {ma:>7.3f}")
for label, xs in rows.items():
    if label.startswith("NeuralForecast"):
        print(f"gruf trains {base / med([x[2] for x in xs]):.1f}x the windows per second of {label}")
PY
