#!/usr/bin/env bash
# How well a global model forecasts series it never saw: configs/hourly.toml trained on
# every other series of a long CSV (in the order people list ids: H1, H3, H5, ... are
# trained on), then evaluated on the other half, whose last 48 values are held out from
# both; beside the same model trained on every series, evaluated on the same half and the
# same held-out values. Prints the pooled tables of each (one-step MASE, the 48 hours
# forecast in one go: sMAPE and MASE scaled by the seasonal naive error, m = 24) and the
# intervals' coverage.
#
# Usage: benches/transfer.sh [CSV] [OUTDIR]
#        CSV default ../shared/data/hourly-414.csv (series,time,value); OUTDIR default
#        target/transfer. Two trainings of configs/hourly.toml (8 epochs): about 2.5 and 5
#        minutes on 2 cores (AVX2; the former two-layer preset took twice that).
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:-../shared/data/hourly-414.csv}
out=${2:-target/transfer}
gruf=target/release/gruf
mkdir -p "$out"
cargo build --release --locked -q

python3 - "$csv" "$out" <<'EOF'
import csv, re, sys
src, out = sys.argv[1], sys.argv[2]
rows = list(csv.reader(open(src)))
head, body = rows[0], rows[1:]
key = lambda s: [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', s)]
ids = sorted({r[0] for r in body}, key=key)
for name, keep in (('seen.csv', set(ids[0::2])), ('unseen.csv', set(ids[1::2]))):
    with open(f'{out}/{name}', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(r for r in body if r[0] in keep)
print(f'{len(ids)} series: {len(ids[0::2])} to train on, {len(ids[1::2])} held back')
EOF

train() { # CSV MODEL
  "$gruf" train --csv "$1" --id-column series --column value \
    --config configs/hourly.toml --seed 0 --model "$2" -q > /dev/null
}
train "$out/seen.csv" "$out/half.gruf"
train "$csv" "$out/all.gruf"

for model in half all; do
  echo
  case $model in
    half) echo "== trained on the other half: these series never seen ==" ;;
    all)  echo "== trained on every series: these series seen (but not their last 48 hours) ==" ;;
  esac
  "$gruf" evaluate --model "$out/$model.gruf" --csv "$out/unseen.csv" -q > "$out/$model.txt"
  sed -n '/^held out:/,/^$/p' "$out/$model.txt"
  grep -E '^ +(1|7) +(80|95) %  model ' "$out/$model.txt"
done
