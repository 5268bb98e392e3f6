#!/usr/bin/env bash
# Seconds per training epoch, throughput and peak memory of the seed model, gruf beside
# PyTorch, measured one after the other in this one run, with this machine's large-product
# rate measured in the same run (the machines are shared and noisy: compare only figures
# from the same run).
#
# Usage: benches/epoch.sh [--cell gru|lstm|rnn] [--runs N] [--baseline BIN] CSV [EPOCHS]
#        (EPOCHS default 5; RUNS default 3)
#
# The sides run interleaved, N rounds of gruf, [baseline,] PyTorch, so that a slow spell of
# the machine falls on every side alike. Each run's figure is its median epoch; the table
# gives the median over runs with the spread (min–max) and the median of the per-round
# ratios.
#
#   gruf:     target/release/gruf train --csv CSV --cell CELL --epochs EPOCHS --seed 0
#             (defaults = seed model)
#   baseline: with --baseline, another gruf binary (e.g. an older build kept at a copy
#             path) runs the same command right after gruf, for an A/B in one run
#   PyTorch:  ../shared/bench/reference.py --framework torch --cell CELL --epochs EPOCHS
#             --seed 0 --threads 2
#             ($GRUF_REFERENCE overrides the script's path; its Python comes from
#              $GRUF_BENCH_ENV/torch, default ~/.cache/gruf-bench/torch, made by setup.sh)
#   rate:     cargo bench --bench gemm_rate -- large (an f32 1024³ product on all cores)
#
# Epoch FLOPs count the matrix products only (2 FLOPs per multiply-add), for G gates
# (GRU 3, LSTM 4, RNN 1), T = 60 steps and each layer's input width I and width H:
# forward 2·T·G·H·(I + H) per window and layer (input projection and recurrent product),
# backward twice that (carry product, input gradient, the two weight gradients), plus the
# dense layer. A training window costs forward + backward. gruf's epoch also runs forward
# over its validation windows (its epoch time includes them); PyTorch's reference trains
# on the training and validation windows together and validates nothing, so the two
# epochs differ in work: GFLOP/s, not seconds, is the like-for-like comparison.
# Peak memory is the maximum resident set size reported by GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: benches/epoch.sh [--cell gru|lstm|rnn] [--runs N] [--baseline BIN] CSV [EPOCHS]"
cell=gru
runs=3
baseline=
while [ $# -gt 0 ]; do
  case $1 in
    --cell) cell=${2:?$usage}; shift 2 ;;
    --baseline) baseline=${2:?$usage}; shift 2 ;;
    --runs) runs=${2:?$usage}; shift 2 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) break ;;
  esac
done
case $cell in gru | lstm | rnn) ;; *) echo "--cell must be gru, lstm or rnn; $usage" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0) echo "--runs must be a whole number from 1; $usage" >&2; exit 2 ;; esac
csv=${1:?$usage}
epochs=${2:-5}
reference=${GRUF_REFERENCE:-../shared/bench/reference.py}
python=${GRUF_BENCH_ENV:-$HOME/.cache/gruf-bench}/torch/bin/python
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package 'time')" >&2; exit 1; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "--baseline $baseline is not an executable" >&2; exit 1; }

cargo build --release --locked --quiet
cargo bench --locked --quiet --bench gemm_rate --no-run
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_gruf() { # NAME BIN
  echo "$1: $epochs epochs of the seed model ($cell) on $csv" >&2
  /usr/bin/time -v "$2" train --csv "$csv" --cell "$cell" --epochs "$epochs" --seed 0 \
    --model "$out/$1.safetensors" >"$out/$1.out" 2>"$out/$1.err" ||
    { grep -v "^$(printf '\t')" "$out/$1.err" | tail -n 3 >&2; exit 1; }
}
echo "large-product rate" >&2
cargo bench --locked --quiet --bench gemm_rate -- large >"$out/rate.out"
have_torch=0
if [ -x "$python" ] && [ -f "$reference" ]; then
  have_torch=1
else
  echo "PyTorch skipped: no $python or $reference (run ../shared/bench/setup.sh)" >&2
fi
for round in $(seq 1 "$runs"); do
  echo "round $round of $runs" >&2
  run_gruf "gruf.$round" target/release/gruf
  [ -z "$baseline" ] || run_gruf "baseline.$round" "$baseline"
  if [ "$have_torch" = 1 ]; then
    echo "PyTorch: $epochs epochs of the seed model ($cell) on $csv" >&2
    /usr/bin/time -v "$python" "$reference" --framework torch --cell "$cell" --csv "$csv" \
      --epochs "$epochs" --seed 0 --threads 2 >"$out/torch.$round.out" 2>"$out/torch.$round.err"
  fi
done
# The rate again after the runs: the machine is shared, so say how much it moved (the
# higher of the two is taken as the machine's rate).
cargo bench --locked --quiet --bench gemm_rate -- large >>"$out/rate.out"

bash benches/machine.sh
python3 - "$out" "$have_torch" "$cell" "${baseline:+1}" "$runs" <<'PY'
import json, re, statistics, struct, sys
out, have_torch, cell, have_base = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4] == "1"
runs = int(sys.argv[5])
G = {"gru": 3, "lstm": 4, "rnn": 1}[cell]
T, layers, features, horizon = 60, (50, 100), 1, 1  # the seed model
fwd = 0  # FLOPs of one window's forward pass
width = features
for H in layers:
    fwd += 2 * T * G * H * (width + H)
    width = H
fwd += 2 * width * horizon
train_window = 3 * fwd  # forward + backward (twice forward's products)

def read(name):
    return open(f"{out}/{name}").read()
def peak_mib(name):
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", read(name)).group(1)) / 1024
def epoch_seconds(name):  # from the saved model's history (the log rounds to 10 ms)
    with open(f"{out}/{name}.safetensors", "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return [e["seconds"] for e in json.loads(header["__metadata__"]["gruf"])["history"]]
def gruf_run(name):  # (median s/epoch, peak MiB, FLOPs per epoch, windows, test MAE)
    err = read(f"{name}.err")
    m = re.search(r"(\d+) training windows, (\d+) validation", err)
    flops = int(m.group(1)) * train_window + int(m.group(2)) * fwd
    mae = re.search(r"^model\s+([\d,.]+)", read(f"{name}.out"), re.M)
    return (statistics.median(epoch_seconds(name)), peak_mib(f"{name}.err"), flops,
            f"{int(m.group(1))}+{int(m.group(2))} val", mae.group(1) if mae else "-")
def torch_run(name):
    text = read(f"{name}.out")
    n = int(re.search(r"(\d+) training windows", text).group(1))
    secs = [float(s) for s in re.findall(r"^epoch \d+ loss \S+ seconds ([\d.]+)", text, re.M)]
    mae = re.search(r"^model: MAE ([\d.]+)", text, re.M)
    return (statistics.median(secs), peak_mib(f"{name}.err"), n * train_window, str(n),
            mae.group(1) if mae else "-")

sides = [("gruf", gruf_run)]
if have_base:
    sides.append(("baseline", gruf_run))
if have_torch:
    sides.append(("PyTorch", lambda name: torch_run(name.replace("PyTorch", "torch"))))
runs_of = {name: [read_run(f"{name}.{r}") for r in range(1, runs + 1)] for name, read_run in sides}
rates = [float(r) for r in re.findall(r"rate ([\d.]+) GFLOP/s", read("rate.out"))]
print(f"seed model, cell {cell}: {fwd / 1e6:.2f} MFLOP forward per window, {train_window / 1e6:.2f} trained")
print(f"{runs} interleaved rounds; per run the median of its epochs; below, the median over runs")
print(f"{'':8} {'runs':>4} {'median s/epoch':>15} {'min':>7} {'max':>7} {'peak MiB':>9} "
      f"{'windows':>13} {'GFLOP/epoch':>12} {'GFLOP/s':>8} {'test MAE':>9}")
gflops = {}
for name, _ in sides:
    rs = runs_of[name]
    med = statistics.median(r[0] for r in rs)
    flops = rs[0][2]
    gflops[name] = flops / med / 1e9
    print(f"{name:8} {len(rs):>4} {med:>15.3f} {min(r[0] for r in rs):>7.3f} {max(r[0] for r in rs):>7.3f} "
          f"{max(r[1] for r in rs):>9.0f} {rs[0][3]:>13} {flops / 1e9:>12.2f} {gflops[name]:>8.1f} {rs[0][4]:>9}")
rate = max(rates)  # the least disturbed of the two: the machine's rate
print(f"large-product rate (1024³ f32, all cores, gemm): {' before, '.join(f'{r:.1f}' for r in rates)} after "
      f"the runs, GFLOP/s")
print(f"gruf's epoch throughput is {gflops['gruf'] / rate:.2f} of the large-product rate (the higher one)")
def ratios(other):  # per round: the other's median epoch over gruf's
    return [o[0] / g[0] for g, o in zip(runs_of["gruf"], runs_of[other])]
if have_base:
    r = ratios("baseline")
    print(f"gruf is {statistics.median(r):.2f}x the baseline's speed (median of the per-round epoch time "
          f"ratios, {min(r):.2f}–{max(r):.2f})")
if have_torch:
    r = ratios("PyTorch")
    print(f"gruf is {statistics.median(r):.2f}x PyTorch's speed by epoch time (median of the per-round "
          f"ratios, {min(r):.2f}–{max(r):.2f}), {gflops['gruf'] / gflops['PyTorch']:.2f}x by GFLOP/s")
PY
