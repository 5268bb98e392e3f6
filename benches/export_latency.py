#!/usr/bin/env python3
"""Latency of serving a gruf model: the exported ONNX file in onnxruntime beside `gruf`
itself and NeuralForecast, in one run, interleaved (the machines are shared and noisy:
compare only figures from the same run). Medians over the rounds; prints a markdown table.

Usage: python benches/export_latency.py GRUF CSV [ROUNDS]     (ROUNDS default 7)
  needs numpy and onnxruntime; neuralforecast (and torch) for its rows, else they say n/a.
  benches/export_latency.sh runs it with its defaults. GRUF_KEEP=1 keeps the model files.

What is timed, per row:
  onnxruntime, batch 1      session.run on one window (the last origin of CSV), the session
                            already open (intra_op_num_threads = the machine's cores, and
                            a second session with 1 thread beside it);
                            median of 50 calls per round
  onnxruntime, batch 1000   one session.run on the last 1,000 origins (the held-out part:
                            each window ends the day before a held-out target); 5 per round
  onnxruntime, open session InferenceSession(model.onnx): what a process pays once
  gruf predict --steps 1    the whole process, as a user runs it: start, load the model,
                            read the training CSV, one forecast, print it (stdout to /dev/null)
  gruf evaluate             the whole process of `gruf evaluate --horizon 0 --interval-steps 1`
                            on a model trained with --test-size 1000: one-step forecasts from
                            the same 1,000 origins, plus the baselines' forecasts, the scores
                            and the 1-step interval scoring (so an upper bound on 1,000
                            forecasts: gruf has no batch-of-windows predict command)
  NeuralForecast predict    nf.predict() (Lightning's predict loop, scaler, dataloader) on the
                            BTC series (one forecast), and on a frame of 1,000 series, one per
                            window (the same 1,000 windows, 60 values each), valid_batch_size
                            1024 so that they go through in one batch
  torch forward             the same NeuralForecast network's forward(), no_grad, eval mode,
                            on already-scaled float32 tensors (no scaler, no data handling)

The model: the seed model (GRU(50) -> GRU(100) -> Dense(1), 60-step windows, minmax)
trained for EPOCHS (3) epochs with --test-size 1000 -- accuracy does not matter here.
NeuralForecast cannot stack widths 50 then 100: its GRU is encoder_n_layers=2 of
encoder_hidden_size=100 (the first layer twice gruf's width), decoder_layers=1 (one linear
layer, as gruf's Dense(1)), input_size=60, h=1, trained for max_steps=1.
"""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort

EPOCHS = 3
HELD_OUT = 1000


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def timed(f, n=1):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return out


def cpu_name():
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in text.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    gruf, data = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix="gruf-export-latency.")
    model = os.path.join(work, "bench.safetensors")
    onnx_path = os.path.join(work, "bench.onnx")
    quiet = dict(cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    print(f"training the bench model ({EPOCHS} epochs) and exporting it ...", file=sys.stderr)
    subprocess.run([gruf, "train", "--csv", data, "--epochs", str(EPOCHS), "--test-size",
                    str(HELD_OUT), "--seed", "0", "--model", model, "-q"], **quiet)
    subprocess.run([gruf, "export", "--model", model, "--out", onnx_path, "-q"], **quiet)

    # --- data: the price column named in the file's metadata, oldest first ---
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = cores
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    L, window = int(meta["gruf.history"]), int(meta["gruf.window"])
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    column = next(k for k in rows[0] if k.lower() == meta["gruf.column"].lower())
    y = np.array([float(r[column]) for r in rows])
    dates = [r[next(iter(rows[0]))] for r in rows]
    n = len(y)
    last = y[-L:][None, :]
    # The 1,000 held-out origins: window i ends at n - HELD_OUT - 1 + i, its target follows.
    ends = np.arange(n - HELD_OUT - 1, n - 1)
    batch = np.stack([y[e - L + 1:e + 1] for e in ends])

    # --- sanity: the graph against `gruf predict` at the last origin ---
    levels = json.loads(meta["gruf.levels"])
    opts1 = ort.SessionOptions()
    opts1.intra_op_num_threads = 1
    sess1 = ort.InferenceSession(onnx_path, opts1, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {"history": last})))
    cmd = [gruf, "predict", "--model", model, "--steps", "1", "--format", "json", "-q"]
    for level in levels:
        cmd += ["--interval", str(level)]
    row = json.loads(subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                                    check=True).stdout)["forecast"][0]
    pairs = [(got["forecast"][0, 0], row["forecast"])]
    for j, level in enumerate(levels):
        pct = f"{level * 100:g}"
        pairs += [(got["intervals"][0, 0, j, 0], row[f"lower_{pct}"]),
                  (got["intervals"][0, 0, j, 1], row[f"upper_{pct}"])]
    rel = max(abs(a - b) / abs(b) for a, b in pairs)

    # --- the runners ---
    results = {}

    def add(key, samples):
        results.setdefault(key, []).extend(samples)

    def gruf_predict():
        subprocess.run([gruf, "predict", "--model", model, "--steps", "1", "-q"], **quiet)

    def gruf_evaluate():
        subprocess.run([gruf, "evaluate", "--model", model, "--horizon", "0",
                        "--interval-steps", "1", "--format", "json", "-q"], **quiet)

    scored = subprocess.run([gruf, "evaluate", "--model", model, "--horizon", "0", "--interval-steps",
                             "1", "--format", "json", "-q"], cwd=work, capture_output=True,
                            text=True, check=True).stdout
    assert json.loads(scored)["one_step"]["n"] == HELD_OUT, "gruf evaluate did not score 1,000 origins"

    nf = setup_neuralforecast(y, dates, ends, window, cores)

    for r in range(rounds):
        print(f"round {r + 1}/{rounds}", file=sys.stderr)
        sess.run(None, {"history": last})  # warm
        add("ort1", timed(lambda: sess.run(None, {"history": last}), 50))
        add("ort1000", timed(lambda: sess.run(None, {"history": batch}), 5))
        add("ort1t1", timed(lambda: sess1.run(None, {"history": last}), 50))
        add("ort1000t1", timed(lambda: sess1.run(None, {"history": batch}), 5))
        add("ortopen", timed(lambda: ort.InferenceSession(onnx_path, opts,
                                                          providers=["CPUExecutionProvider"])))
        add("predict", timed(gruf_predict))
        add("evaluate", timed(gruf_evaluate))
        if nf:
            for key, f, k in nf["runners"]:
                add(key, timed(f, k))

    # --- the table ---
    ms = {k: median_ms(v) for k, v in results.items()}
    na = "n/a"

    def cell(key):
        return f"{ms[key]:.3f}" if key in ms else na

    def per_fc(key, count):
        return f"{ms[key] * 1000.0 / count:.1f}" if key in ms else na

    print(f"\n{cpu_name()}, {cores} cores (onnxruntime {ort.__version__}, "
          f"intra_op_num_threads={cores}); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average (1 min) at start {load:.2f}, at end {os.getloadavg()[0]:.2f}")
    print(f"data: {os.path.basename(data)} ({n} values of {column}); model: the seed model, "
          f"{EPOCHS} epochs, --test-size {HELD_OUT}; history L = {L}; medians over {rounds} rounds")
    if nf:
        print(f"NeuralForecast {nf['version']}, torch {nf['torch']} "
              f"({nf['threads']} threads): {nf['shape']}")
    else:
        print(f"NeuralForecast: n/a ({nf_missing})")
    print()
    print("| runner | what is timed | 1 forecast (ms) | 1,000 windows (ms) | µs / forecast at 1,000 |")
    print("|---|---|---:|---:|---:|")
    print(f"| onnxruntime (Python), {cores} threads | session.run, session open | {cell('ort1')} | {cell('ort1000')} "
          f"| {per_fc('ort1000', HELD_OUT)} |")
    print(f"| onnxruntime (Python), 1 thread | the same, intra_op_num_threads=1 | {cell('ort1t1')} "
          f"| {cell('ort1000t1')} | {per_fc('ort1000t1', HELD_OUT)} |")
    print(f"| onnxruntime (Python) | opening the session (once per process) | {cell('ortopen')} | - | - |")
    print(f"| `gruf predict --steps 1` | whole process: start, load, read CSV, forecast | "
          f"{cell('predict')} | n/a: no batch-of-windows predict | - |")
    print(f"| `gruf evaluate --horizon 0 --interval-steps 1` | whole process: 1,000 one-step "
          f"forecasts + baselines + scoring | - | {cell('evaluate')} | {per_fc('evaluate', HELD_OUT)} |")
    print(f"| NeuralForecast `nf.predict()` | Lightning predict loop, model in memory | "
          f"{cell('nf1')} | {cell('nf1000')} | {per_fc('nf1000', HELD_OUT)} |")
    print(f"| torch forward (same NF network) | forward() only, no_grad, float32 | "
          f"{cell('torch1')} | {cell('torch1000')} | {per_fc('torch1000', HELD_OUT)} |")
    print()
    print(f"sanity: largest |onnx - gruf predict| / |gruf predict| at the last origin "
          f"(forecast and {len(levels)} interval(s), {dates[-1]} + 1 step): {rel:.2e}")
    if os.environ.get("GRUF_KEEP"):
        print(f"(files kept in {work})", file=sys.stderr)
    else:
        shutil.rmtree(work)


nf_missing = "neuralforecast is not installed in this Python"


def setup_neuralforecast(y, dates, ends, window, cores):
    global nf_missing
    try:
        import logging
        import pandas as pd
        import torch
        import neuralforecast
        from neuralforecast import NeuralForecast
        from neuralforecast.models import GRU
    except ImportError as e:
        nf_missing = f"cannot import it: {e}"
        return None
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric",
                 "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(cores)
    print("fitting NeuralForecast's GRU (max_steps=1) ...", file=sys.stderr)
    df = pd.DataFrame({"unique_id": "BTC", "ds": pd.to_datetime(dates), "y": y})
    model = GRU(h=1, input_size=window, encoder_n_layers=2, encoder_hidden_size=100,
                decoder_layers=1, max_steps=1, valid_batch_size=1024,
                inference_windows_batch_size=-1, random_seed=0, accelerator="cpu",
                enable_progress_bar=False, enable_model_summary=False, logger=False)
    nf = NeuralForecast(models=[model], freq="D")
    nf.fit(df=df)
    # 1,000 series, one per window: the same windows as onnxruntime's batch (60 values).
    frames = []
    for i, e in enumerate(ends):
        frames.append(pd.DataFrame({"unique_id": f"w{i:04d}",
                                    "ds": pd.to_datetime(dates[e - window + 1:e + 1]),
                                    "y": y[e - window + 1:e + 1]}))
    df1000 = pd.concat(frames, ignore_index=True)
    out = nf.predict(df=df1000)
    assert len(out) == len(ends), f"NeuralForecast forecast {len(out)} of {len(ends)} windows"
    net = nf.models[0]
    net.eval()

    def batch_of(k):
        return {"insample_y": torch.randn(k, window, 1), "insample_mask": torch.ones(k, window),
                "futr_exog": torch.empty(k, window + 1, 0), "hist_exog": torch.empty(k, window, 0),
                "stat_exog": torch.empty(k, 0)}

    b1, b1000 = batch_of(1), batch_of(len(ends))

    def forward(b):
        with torch.no_grad():
            return net(b)

    forward(b1)
    return {
        "version": neuralforecast.__version__, "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "shape": "GRU(encoder_n_layers=2, encoder_hidden_size=100, decoder_layers=1, "
                 f"input_size={window}, h=1), max_steps=1 -- gruf's first layer is 50 wide",
        "runners": [("nf1", lambda: nf.predict(), 1),
                    ("nf1000", lambda: nf.predict(df=df1000), 1),
                    ("torch1", lambda: forward(b1), 50),
                    ("torch1000", lambda: forward(b1000), 5)],
    }


if __name__ == "__main__":
    main()
