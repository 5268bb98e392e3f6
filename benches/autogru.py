"""AutoGRU (NeuralForecast) vs naive baselines on a holdout: the peer's tuner.

Measures, for one data set, NeuralForecast's `AutoGRU` with its DEFAULT search
space (`AutoGRU.get_default_config`, no custom config) and `num_samples` trials
(default 10, the peer's default), next to the naive and seasonal naive
baselines. Prints one JSON object per line (JSONL) on stdout:

    dataset, method ("autogru" | "seasonal_naive" | "naive"), smape (%), mase,
    fit_s (whole search + final refit, wall), predict_s (wall), trials,
    config (AutoGRU's best trial; str() of values that are not JSON), ...

Everything else (Ray, Lightning, warnings) goes to stderr.

Data sets and holdout rule:
  hourly PATH  long CSV `series,time,value`; the last h=48 values of EVERY series
               are held out and forecast in one go from the cut point.
               MASE scale: mean |y_t - y_{t-24}| over all values before the cut.
               seasonal_naive repeats the last 24 values, naive the last value.
  btc PATH     daily CSV (Date, ..., Close); Close is the series. The last 365
               days are held out and scored ONE STEP AHEAD (h=1): the forecast
               for day t sees the true closes up to day t-1. MASE scale: mean
               |y_t - y_{t-1}| before the holdout. naive = yesterday's close
               (with m=1 seasonal naive is the same thing, so it is not repeated).
sMAPE = 200/h * sum |f-y| / (|f|+|y|) (a term with both zero counts 0); both
metrics are computed per series (hourly) or per day (btc), then averaged.

How it is honest: AutoGRU's search AND its final refit only see the data before
the holdout. Its trials are scored, as NeuralForecast does, on a validation
window of val_size=h points at the end of that training part (before the
holdout, never on it). For btc the tuned model is frozen; the one-step
forecasts are one batched `predict` over 365 histories (history up to day t-1,
last 1000 rows, far more than the largest input_size 64), identical to 365
separate `predict` calls since nothing is refit between them.

Note: for hourly (h=48) the default space's input_size 64*h=3072 exceeds every
series, so such trials fail inside NeuralForecast ("Time series is too short");
Ray records them as errored and the best is picked among the rest. They count
in `trials` and are reported in `trials_failed`.

Usage:  autogru.py {hourly,btc} PATH [--samples N] [--time-budget S] [--quick] [--backend B]
  --time-budget: AutoGRU's own `time_budget` (seconds of search; Ray stops
  starting and running trials after it, then the best config is refit once).
  --quick: 1 sample and max_steps=5 (only max_steps is overridden in the
  default config) as an end-to-end smoke test; its scores mean nothing.
"""

import argparse
import contextlib
import json
import os
import sys
import time

THREADS = 2
# Quiet Lightning everywhere (also inside Ray workers, which inherit the env):
# Trainer reads PL_TRAINER_* as defaults; NeuralForecast does not pass these.
os.environ.setdefault("PL_TRAINER_ENABLE_PROGRESS_BAR", "False")
os.environ.setdefault("PL_TRAINER_ENABLE_MODEL_SUMMARY", "False")
os.environ.setdefault("PL_TRAINER_LOGGER", "False")
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# JSONL goes to the real stdout; anything else written to fd 1 (Ray, Lightning,
# C libraries) is redirected to stderr.
OUT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr


def emit(**row):
    OUT.write(json.dumps(row, default=str) + "\n")


def smape(f, y):
    f, y = np.asarray(f, float), np.asarray(y, float)
    den = np.abs(f) + np.abs(y)
    t = np.where(den == 0, 0.0, np.abs(f - y) / np.where(den == 0, 1.0, den))
    return 200.0 * t.mean()


def scale(train, m):
    train = np.asarray(train, float)
    return np.abs(train[m:] - train[:-m]).mean()


def load_hourly(path):
    d = pd.read_csv(path)
    d["time"] = pd.to_datetime(d["time"], utc=True)
    d = d.sort_values(["series", "time"])
    # integer hour index (series are regular, hourly, no gaps), freq=1
    d["ds"] = d.groupby("series").cumcount()
    return d.rename(columns={"series": "unique_id", "value": "y"})[["unique_id", "ds", "y"]]


def load_btc(path):
    d = pd.read_csv(path, parse_dates=["Date"]).sort_values("Date")
    return pd.DataFrame({"unique_id": "BTC", "ds": np.arange(len(d)), "y": d["Close"].to_numpy(float)})


def make_autogru(h, samples, quick, backend, time_budget):
    from neuralforecast.auto import AutoGRU
    from neuralforecast.common._base_auto import RayOptions

    config = None  # None -> AutoGRU's default search space
    if quick:
        base = AutoGRU.get_default_config(h=h, backend=backend)
        if backend == "ray":
            config = {**base, "max_steps": 5}
        else:
            config = lambda trial: {**base(trial), "max_steps": 5}  # noqa: E731
    kw = dict(h=h, config=config, num_samples=1 if quick else samples, backend=backend,
              time_budget=time_budget)
    if backend == "ray":
        kw["ray_options"] = RayOptions(cpus=THREADS, gpus=0)
    return AutoGRU(**kw)


def fit_autogru(train, h, args):
    from neuralforecast import NeuralForecast

    model = make_autogru(h, args.samples, args.quick, args.backend, args.time_budget)
    nf = NeuralForecast(models=[model], freq=1)
    t0 = time.perf_counter()
    nf.fit(df=train, val_size=h)  # trials scored on the last h points of train
    fit_s = time.perf_counter() - t0
    res = nf.models[0].results
    if args.backend == "ray":
        trials, failed = len(res), res.num_errors
        cfg = dict(res.get_best_result().config)
    else:
        trials = len(res.trials)
        failed = sum(t.state.name == "FAIL" for t in res.trials)
        cfg = dict(res.best_trial.user_attrs["ALL_PARAMS"])
    runs = []  # one row per trial: what it was, how long it ran, how it ended
    if args.backend == "ray":
        for r in res:
            m, c = r.metrics or {}, r.config or {}
            runs.append(dict(
                error=r.error is not None, loss=m.get("loss"), seconds=m.get("time_total_s"),
                reports=m.get("training_iteration"),
                **{k: c.get(k) for k in ("input_size", "encoder_hidden_size", "encoder_n_layers",
                                         "max_steps", "batch_size", "learning_rate")}))
    cfg = {k: v for k, v in cfg.items() if k not in ("loss", "valid_loss", "callbacks")}
    cfg = json.loads(json.dumps(cfg, default=str))
    # input_size < 1 in the space means "3*h" (NeuralForecast BaseModel rule)
    cfg["effective_input_size"] = int(nf.models[0].model.input_size)
    return nf, fit_s, trials, failed, cfg, runs


def common(args, h, holdout, n_series):
    return dict(dataset=args.dataset, h=h, holdout=holdout, n_series=n_series,
                samples=1 if args.quick else args.samples, quick=args.quick,
                time_budget=args.time_budget)


def run_hourly(args):
    h, m = 48, 24
    df = load_hourly(args.path)
    n = df.groupby("unique_id")["ds"].transform("size")
    is_test = df["ds"] >= n - h
    train, test = df[~is_test].reset_index(drop=True), df[is_test]
    ids = sorted(train["unique_id"].unique())
    tr = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id")}
    te = {k: g["y"].to_numpy() for k, g in test.groupby("unique_id")}
    sc = {k: scale(tr[k], m) for k in ids}
    c = common(args, h, h, len(ids))

    def score(fc):
        s = np.mean([smape(fc[k], te[k]) for k in ids])
        q = np.mean([np.abs(fc[k] - te[k]).mean() / sc[k] for k in ids])
        return float(s), float(q)

    for name, fn in (("seasonal_naive", lambda y: np.tile(y[-m:], h // m)),
                     ("naive", lambda y: np.repeat(y[-1], h))):
        t0 = time.perf_counter()
        fc = {k: fn(tr[k]) for k in ids}
        p = time.perf_counter() - t0
        s, q = score(fc)
        emit(**c, method=name, smape=s, mase=q, fit_s=0.0, predict_s=p, trials=0, config=None)

    nf, fit_s, trials, failed, cfg, runs = fit_autogru(train, h, args)
    t0 = time.perf_counter()
    pr = nf.predict()
    p = time.perf_counter() - t0
    pr = pr.sort_values(["unique_id", "ds"])
    fc = {k: g["AutoGRU"].to_numpy() for k, g in pr.groupby("unique_id")}
    assert all(len(fc[k]) == h for k in ids)
    s, q = score(fc)
    emit(**c, method="autogru", smape=s, mase=q, fit_s=fit_s, predict_s=p,
         trials=trials, trials_failed=failed, config=cfg, backend=args.backend,
         runs=runs)


def run_btc(args):
    hold, keep = 365, 1000
    df = load_btc(args.path)
    y = df["y"].to_numpy()
    cut = len(y) - hold
    train = df.iloc[:cut].reset_index(drop=True)
    sc = scale(y[:cut], 1)
    truth = y[cut:]
    c = common(args, 1, hold, 1)

    t0 = time.perf_counter()
    fc = y[cut - 1:-1]  # yesterday's close
    p = time.perf_counter() - t0
    emit(**c, method="naive", smape=float(smape(fc, truth)),
         mase=float(np.abs(fc - truth).mean() / sc), fit_s=0.0, predict_s=p, trials=0, config=None)

    nf, fit_s, trials, failed, cfg, runs = fit_autogru(train, 1, args)
    # one series per holdout day t: the history y[:t] (last `keep` rows)
    t0 = time.perf_counter()
    parts = []
    for i, t in enumerate(range(cut, len(y))):
        g = df.iloc[max(0, t - keep):t].copy()
        g["unique_id"] = f"d{i:04d}"
        parts.append(g)
    pr = nf.predict(df=pd.concat(parts, ignore_index=True))
    p = time.perf_counter() - t0
    pr = pr.sort_values("unique_id")
    fc = pr["AutoGRU"].to_numpy()
    assert len(fc) == hold and (pr["ds"].to_numpy() == np.arange(cut, len(y))).all()
    emit(**c, method="autogru", smape=float(smape(fc, truth)),
         mase=float(np.abs(fc - truth).mean() / sc), fit_s=fit_s, predict_s=p,
         trials=trials, trials_failed=failed, config=cfg, backend=args.backend,
         runs=runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", choices=["hourly", "btc"])
    ap.add_argument("path")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--time-budget", type=int, default=None,
                    help="seconds of search (AutoGRU's time_budget); default: none")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backend", choices=["ray", "optuna"], default=None,
                    help="default: ray if importable, else optuna")
    args = ap.parse_args()
    if args.backend is None:
        try:
            import ray  # noqa: F401
            args.backend = "ray"
        except ImportError:
            args.backend = "optuna"

    import torch
    torch.set_num_threads(THREADS)
    if args.backend == "ray":
        import ray
        ray.init(num_cpus=THREADS, num_gpus=0, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR")
    try:
        (run_hourly if args.dataset == "hourly" else run_btc)(args)
    finally:
        if args.backend == "ray":
            with contextlib.suppress(Exception):
                ray.shutdown()


if __name__ == "__main__":
    main()
