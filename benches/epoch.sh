#!/usr/bin/env bash
# Seconds per training epoch and peak memory of the seed model, gruf beside PyTorch,
# measured one after the other in this one run (the machines are shared and noisy:
# compare only figures from the same run).
#
# Usage: benches/epoch.sh CSV [EPOCHS]        (EPOCHS default 5; medians need >= 3)
#
#   gruf:    target/release/gruf train --csv CSV --epochs EPOCHS --seed 0 (defaults = seed model)
#   PyTorch: ../shared/bench/reference.py --framework torch --epochs EPOCHS --seed 0 --threads 2
#            ($GRUF_REFERENCE overrides the script's path; its Python comes from
#             $GRUF_BENCH_ENV/torch, default ~/.cache/gruf-bench/torch, made by setup.sh)
#
# gruf's epoch time includes its validation pass; PyTorch's reference has none, so the
# comparison slightly favours PyTorch. Peak memory is the maximum resident set size
# reported by GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:?usage: benches/epoch.sh CSV [EPOCHS]}
epochs=${2:-5}
reference=${GRUF_REFERENCE:-../shared/bench/reference.py}
python=${GRUF_BENCH_ENV:-$HOME/.cache/gruf-bench}/torch/bin/python
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package 'time')" >&2; exit 1; }

cargo build --release --locked --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "gruf: $epochs epochs of the seed model on $csv" >&2
/usr/bin/time -v target/release/gruf train --csv "$csv" --epochs "$epochs" --seed 0 \
  --model "$out/bench.safetensors" >"$out/gruf.out" 2>"$out/gruf.err"
have_torch=0
if [ -x "$python" ] && [ -f "$reference" ]; then
  echo "PyTorch: $epochs epochs of the seed model on $csv" >&2
  /usr/bin/time -v "$python" "$reference" --framework torch --csv "$csv" --epochs "$epochs" \
    --seed 0 --threads 2 >"$out/torch.out" 2>"$out/torch.err"
  have_torch=1
else
  echo "PyTorch skipped: no $python or $reference (run ../shared/bench/setup.sh)" >&2
fi

python3 - "$out" "$have_torch" <<'PY'
import re, statistics, sys
out, have_torch = sys.argv[1], sys.argv[2] == "1"
def peak_mib(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024
gruf = [float(s) for s in re.findall(r"^epoch\s+\d+ .*?([\d.]+) s", open(f"{out}/gruf.err").read(), re.M)]
rows = [("gruf", gruf, peak_mib(f"{out}/gruf.err"))]
if have_torch:
    torch = [float(s) for s in re.findall(r"^epoch \d+ loss \S+ seconds ([\d.]+)", open(f"{out}/torch.out").read(), re.M)]
    rows.append(("PyTorch", torch, peak_mib(f"{out}/torch.err")))
print(f"{'':8} {'epochs':>6} {'median s/epoch':>15} {'min':>7} {'max':>7} {'peak RSS MiB':>13}")
for name, secs, rss in rows:
    print(f"{name:8} {len(secs):>6} {statistics.median(secs):>15.3f} {min(secs):>7.3f} {max(secs):>7.3f} {rss:>13.0f}")
if have_torch:
    ratio = statistics.median(rows[1][1]) / statistics.median(rows[0][1])
    print(f"gruf is {ratio:.2f}x PyTorch's speed (median epoch time ratio, same run)")
PY
