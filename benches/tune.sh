#!/usr/bin/env bash
# gruf tune against the shipped preset, the baselines and NeuralForecast's AutoGRU on one
# holdout, one after another in one run on one machine: sMAPE, MASE and wall time.
#
#   btc PATH     daily closes; the last 365 days held out, scored one step ahead;
#                preset configs/btc.toml; the tuner starts from it (trial 0).
#   hourly PATH  a long CSV series,time,value; the last 48 hours of every series held out,
#                forecast in one go (MASE scaled by the seasonal naive, m = 24, on
#                everything before them, as M4 scores); preset configs/hourly.toml.
#
# The holdout is each model's own test part (--test-size): gruf tune never reads it while
# searching (its validation part is the values just before it), and AutoGRU fits and
# searches on the values before it only (benches/autogru.py). The scores of gruf's models
# come from `gruf evaluate --format json` on that part.
#
# Usage: benches/tune.sh btc|hourly PATH [BUDGET] [TRIALS]
#   BUDGET: gruf tune's --budget (default 10m); TRIALS: its --trials (default 27)
#   SKIP_AUTOGRU=1 leaves the peer out; PYTHON: the bench environment's python
#   (default ~/.cache/gruf-bench/torch/bin/python, made by ../shared/bench/setup.sh).
# Needs a release build (cargo build --release --locked; or GRUF=path/to/gruf).
set -euo pipefail
kind=${1:?usage: benches/tune.sh btc|hourly PATH [BUDGET] [TRIALS]}
data=$(realpath "${2:?usage: benches/tune.sh btc|hourly PATH [BUDGET] [TRIALS]}")
budget=${3:-10m}
trials=${4:-27}
here=$(cd "$(dirname "$0")/.." && pwd)
gruf=${GRUF:-"$here/target/release/gruf"}
python=${PYTHON:-$HOME/.cache/gruf-bench/torch/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case $kind in
  btc)
    preset=$here/configs/btc.toml
    flags=(--config "$preset")
    ;;
  hourly)
    preset=$here/configs/hourly.toml
    flags=(--config "$preset" --id-column series --date-column time --column value --steps 48)
    ;;
  *) echo "benches/tune.sh: btc or hourly, not '$kind'" >&2; exit 2 ;;
esac

# The scores of a gruf model on its test part: one step ahead for one series, in one go
# for a panel, beside the baselines gruf scores there.
scores() {
  "$gruf" evaluate --model "$1" --format json --quiet 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = {}
if "ahead" in d:  # a panel: the held-out part forecast in one go, pooled over series
    for r in d["ahead"]:
        rows[r["forecaster"]] = (r["smape"], r["mase"])
else:             # one series: one step ahead over the test part
    for name, m in d["one_step"]["rows"]:
        rows[name] = (m["smape"], m["mase"])
for name, (smape, mase) in rows.items():
    print(f"{name}\t{smape:.3f}\t{mase:.4f}")
'
}

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$@"; }

bash "$here/benches/machine.sh"
echo "data: $data ($kind)"
echo

t0=$(date +%s.%N)
"$gruf" train --csv "$data" "${flags[@]}" --seed 1 --model "$work/preset.gruf" --quiet > "$work/preset.txt"
t1=$(date +%s.%N)
echo "== preset $(basename "$preset") (seed 1): $(seconds "$t0" "$t1") s to train"
scores "$work/preset.gruf" | sed 's/^/   /'

t0=$(date +%s.%N)
"$gruf" tune --csv "$data" "${flags[@]}" --seed 1 --trials "$trials" --budget "$budget" \
  --log "$work/tune.jsonl" --out-config "$work/tuned.toml" --model "$work/tuned.gruf" \
  > "$work/tune.txt" 2> "$work/tune.err"
t1=$(date +%s.%N)
echo
echo "== gruf tune --budget $budget --trials $trials (seed 1): $(seconds "$t0" "$t1") s for the search and the winner"
grep -E "^winner|^on the same|budget ended" "$work/tune.txt" "$work/tune.err" | sed 's/^[^:]*://; s/^/   /' || true
echo "   validation MASE of the preset's own settings (trial 0), by rung:"
python3 - "$work/tune.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for line in lines[1:]:
    r = json.loads(line)
    if r["trial"] == 0 and r.get("score"):
        print("     %d epochs: %.4f" % (r["epochs"], r["score"]["mase"]))
print("   trial runs logged: %d" % (len(lines) - 1))
EOF
scores "$work/tuned.gruf" | sed 's/^/   /'
sed -n '/^\[/,$p' "$work/tuned.toml" | sed 's/^/   | /'

if [ "${SKIP_AUTOGRU:-0}" != 1 ]; then
  echo
  # The same wall clock as gruf tune's search: AutoGRU's own time_budget (seconds).
  budget_s=$(python3 -c '
import re, sys
parts = re.findall(r"(\d+(?:\.\d+)?)([hms]?)", sys.argv[1])
print(int(sum(float(n) * {"h": 3600, "m": 60, "s": 1, "": 1}[u] for n, u in parts)))' "$budget")
  echo "== NeuralForecast AutoGRU, its default space, num_samples=10, time_budget=$budget_s s"
  if "$python" "$here/benches/autogru.py" "$kind" "$data" --time-budget "$budget_s" \
      > "$work/autogru.jsonl" 2> "$work/autogru.err"; then
    python3 - "$work/autogru.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    extra = ""
    if r["method"] == "autogru":
        extra = ", %.1f s search and fit, %d trials (%d failed), best %s" % (
            r["fit_s"], r["trials"], r.get("trials_failed", 0), json.dumps(r["config"]))
    print("   %s\t%.3f\t%.4f%s" % (r["method"], r["smape"], r["mase"], extra))
    for t in r.get("runs", []):
        print("     trial: %s" % json.dumps(t))
EOF
  else
    echo "   AutoGRU failed:"
    tail -5 "$work/autogru.err" | sed 's/^/   /'
  fi
fi
echo
echo "(columns: forecaster, sMAPE %, MASE)"
