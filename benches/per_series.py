#!/usr/bin/env python3
"""Split a long CSV into one file per series, and score 48-step forecasts independently.

Used by benches/per_series.sh (one model per series beside one global model). Only the
standard library: it is also the independent check of gruf's own held-out table.

  per_series.py split LONG.csv OUTDIR HOLD      writes OUTDIR/full/ID.csv (every row) and
                                                OUTDIR/cut/ID.csv (without the last HOLD rows)
  per_series.py score LONG.csv FORECASTS.csv HOLD M
      FORECASTS.csv: series,date,forecast rows (gruf predict --format csv) made from the
      cut files; prints mean sMAPE and MASE (scaled by the seasonal naive error with period M
      on everything before the last HOLD values) of the forecasts, naive and seasonal naive,
      and on how many series the forecasts beat seasonal naive.
"""
import csv
import os
import sys
from collections import OrderedDict


def read_long(path):
    series = OrderedDict()
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        for row in r:
            series.setdefault(row[0], []).append((row[1], row[2]))
    return header, series


def split(long_csv, outdir, hold):
    header, series = read_long(long_csv)
    for part in ("full", "cut"):
        os.makedirs(os.path.join(outdir, part), exist_ok=True)
    for sid, rows in series.items():
        for part, keep in (("full", rows), ("cut", rows[:-hold])):
            with open(os.path.join(outdir, part, sid + ".csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header[1:])
                w.writerows(keep)
    print(f"{len(series)} series written to {outdir}/full and {outdir}/cut", file=sys.stderr)


def smape(pred, truth):
    return 100.0 * sum(0.0 if p == t else 2 * abs(p - t) / (abs(p) + abs(t))
                       for p, t in zip(pred, truth)) / len(truth)


def score(long_csv, forecasts_csv, hold, m):
    _, series = read_long(long_csv)
    forecasts = OrderedDict()
    with open(forecasts_csv, newline="") as f:
        r = csv.DictReader(f)
        for row in r:
            forecasts.setdefault(row["series"], []).append(float(row["forecast"]))
    totals = {"model": [0.0, 0.0], "naive": [0.0, 0.0], f"seasonal naive {m}": [0.0, 0.0]}
    beats, n = 0, 0
    for sid, rows in series.items():
        if sid not in forecasts:
            continue
        values = [float(v) for _, v in rows]
        train, truth = values[:-hold], values[-hold:]
        pred = forecasts[sid][:hold]
        if len(pred) != hold:
            sys.exit(f"series {sid}: {len(pred)} forecasts, expected {hold}")
        scale = sum(abs(train[t] - train[t - m]) for t in range(m, len(train))) / (len(train) - m)
        snaive = [train[len(train) - m + (h % m)] for h in range(hold)]
        rows_ = {"model": pred, "naive": [train[-1]] * hold, f"seasonal naive {m}": snaive}
        mase = {}
        for name, p in rows_.items():
            mae = sum(abs(a - b) for a, b in zip(p, truth)) / hold
            mase[name] = mae / scale
            totals[name][0] += smape(p, truth)
            totals[name][1] += mase[name]
        beats += mase["model"] < mase[f"seasonal naive {m}"]
        n += 1
    print(f"{n} series, {hold} steps, MASE scaled by the seasonal naive error (m = {m})")
    print(f"{'forecaster':<20} {'mean sMAPE %':>12} {'mean MASE':>10}")
    for name, (s, q) in totals.items():
        print(f"{name:<20} {s / n:>12.3f} {q / n:>10.3f}")
    print(f"model beats seasonal naive on {beats} of {n} series (MASE)")


if __name__ == "__main__":
    if sys.argv[1] == "split":
        split(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "score":
        score(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
