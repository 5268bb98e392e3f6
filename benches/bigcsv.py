#!/usr/bin/env python3
"""Writes the "Big files" benchmark CSV: minute bars, Unix seconds, OHLCV.

Usage: benches/bigcsv.py OUT [ROWS]     (ROWS default 5,000,000: 268 MB)

One row per minute from Unix time 1,600,000,000, header Timestamp,Open,High,Low,Close,Volume,
a seeded random-walk price with 2 decimals in the four price columns and a 4-decimal
volume. Deterministic: the same ROWS give the same bytes. The data are not committed.
"""
import random
import sys


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
    rng = random.Random(0)
    price = 10_000.0
    t = 1_600_000_000
    with open(out, "w", newline="\n") as f:
        f.write("Timestamp,Open,High,Low,Close,Volume\n")
        lines = []
        for _ in range(rows):
            open_ = price
            price = max(1.0, price + rng.gauss(0.0, 5.0))
            high = max(open_, price) + rng.random() * 2.0
            low = max(0.01, min(open_, price) - rng.random() * 2.0)
            volume = rng.random() * 10.0
            lines.append(f"{t},{open_:.2f},{high:.2f},{low:.2f},{price:.2f},{volume:.4f}\n")
            t += 60
            if len(lines) == 100_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


if __name__ == "__main__":
    main()
