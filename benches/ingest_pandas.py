#!/usr/bin/env python3
"""The pandas side of benches/ingest.sh: what a user would write to get daily closes.

Usage: ingest_pandas.py CSV
"""
import sys

import pandas as pd

df = pd.read_csv(sys.argv[1], usecols=["Timestamp", "Close"])
df["Timestamp"] = pd.to_datetime(df["Timestamp"], unit="s")
daily = df.set_index("Timestamp")["Close"].resample("1D").last().dropna()
print(daily.tail(5))
