"""NeuralForecast's GRU or LSTM as one global model over a long CSV of hourly series,
trained on a given number of windows: the peer side of benches/global.sh.

Prints one JSON line on stdout: model, input_size, h, hidden, layers, windows (training
windows seen: max_steps x windows_batch_size), fit_s (wall time of `fit`, everything
NeuralForecast does to train), windows_per_s, predict_s, smape (%), mase, n_series.
Everything else (Lightning, warnings) goes to stderr.

Holdout rule, the same as gruf's test part in benches/global.sh and benches/autogru.py:
the last h values of EVERY series are cut off before fitting and forecast in one go
from the cut. MASE is scaled per series by the seasonal naive's in-sample error
(m = 24) on everything before the cut, as M4 scores; sMAPE = 200/h * sum |f-y|/(|f|+|y|).
Both are averaged over the series.

The network is NeuralForecast's own (recurrent encoder of `layers` x `hidden`, its MLP
decoder, robust scaler, MAE loss, Adam at 1e-3: its defaults) with the input length,
horizon and widths given; only max_steps is derived, from --windows.

Usage: global.py {gru,lstm} PATH --windows N [--input 168] [--h 48] [--hidden 100]
                 [--layers 2] [--threads 2] [--seed 1]
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("PL_TRAINER_ENABLE_PROGRESS_BAR", "False")
os.environ.setdefault("PL_TRAINER_ENABLE_MODEL_SUMMARY", "False")
os.environ.setdefault("PL_TRAINER_LOGGER", "False")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

OUT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

M = 24  # the MASE season


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=["gru", "lstm"])
    ap.add_argument("path")
    ap.add_argument("--windows", type=int, required=True)
    ap.add_argument("--input", type=int, default=168)
    ap.add_argument("--h", type=int, default=48)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import torch

    torch.set_num_threads(a.threads)
    from neuralforecast import NeuralForecast
    from neuralforecast.models import GRU, LSTM

    d = pd.read_csv(a.path)
    d["time"] = pd.to_datetime(d["time"], utc=True)
    d = d.sort_values(["series", "time"])
    d["ds"] = d.groupby("series").cumcount()  # regular hourly series: an integer index
    d = d.rename(columns={"series": "unique_id", "value": "y"})[["unique_id", "ds", "y"]]
    n = d.groupby("unique_id")["ds"].transform("size")
    test = d["ds"] >= n - a.h
    train, held = d[~test].reset_index(drop=True), d[test]
    ids = sorted(train["unique_id"].unique())
    past = {k: g["y"].to_numpy(float) for k, g in train.groupby("unique_id")}
    truth = {k: g["y"].to_numpy(float) for k, g in held.groupby("unique_id")}

    batch = 128  # windows_batch_size, NeuralForecast's default
    steps = max(1, math.ceil(a.windows / batch))
    cls = GRU if a.model == "gru" else LSTM
    model = cls(h=a.h, input_size=a.input, encoder_n_layers=a.layers,
                encoder_hidden_size=a.hidden, max_steps=steps, windows_batch_size=batch,
                random_seed=a.seed, enable_checkpointing=False)
    nf = NeuralForecast(models=[model], freq=1)
    t0 = time.perf_counter()
    nf.fit(df=train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pr = nf.predict().sort_values(["unique_id", "ds"])
    predict_s = time.perf_counter() - t0
    col = cls.__name__
    fc = {k: g[col].to_numpy(float) for k, g in pr.groupby("unique_id")}

    smapes, mases = [], []
    for k in ids:
        f, y, p = fc[k], truth[k], past[k]
        den = np.abs(f) + np.abs(y)
        smapes.append(200.0 * np.where(den == 0, 0.0, np.abs(f - y) / np.where(den == 0, 1, den)).mean())
        mases.append(np.abs(f - y).mean() / np.abs(p[M:] - p[:-M]).mean())
    OUT.write(json.dumps(dict(
        model=f"NeuralForecast {col}", input_size=a.input, h=a.h, hidden=a.hidden,
        layers=a.layers, windows=steps * batch, fit_s=fit_s,
        windows_per_s=steps * batch / fit_s, predict_s=predict_s,
        smape=float(np.mean(smapes)), mase=float(np.mean(mases)), n_series=len(ids))) + "\n")


if __name__ == "__main__":
    main()
