#!/usr/bin/env python3
"""Writes a long CSV of many short daily series for benches/manyids.sh: `series,date,value`,
IDS series (default 100,000) of DAYS rows each (default 30), a noisy weekly cycle on a
level of its own per series. Rows are grouped by series (`--order id`, as NeuralForecast
and most exports write them) or by date (`--order date`: every series' first day, then every
series' second day, ...). Standard library only; the same arguments give the same bytes.

Usage: benches/manyids.py OUT.csv [--ids N] [--days N] [--order id|date]
"""
import argparse
import datetime
import math
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--ids", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--order", choices=["id", "date"], default="id")
    args = ap.parse_args()
    rng = random.Random(0)
    start = datetime.date(2024, 1, 1)
    dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(args.days)]
    width = len(str(args.ids - 1))
    ids = [f"S{i:0{width}d}" for i in range(args.ids)]
    levels = [rng.uniform(10, 1000) for _ in ids]
    weekly = [math.sin(2 * math.pi * d / 7) for d in range(args.days)]

    def row(i, d):
        v = levels[i] * (1 + 0.1 * weekly[d] + 0.02 * rng.gauss(0, 1))
        return f"{ids[i]},{dates[d]},{v:.2f}\n"

    with open(args.out, "w", newline="") as f:
        f.write("series,date,value\n")
        if args.order == "id":
            for i in range(args.ids):
                f.write("".join(row(i, d) for d in range(args.days)))
        else:
            for d in range(args.days):
                f.write("".join(row(i, d) for i in range(args.ids)))


if __name__ == "__main__":
    main()
