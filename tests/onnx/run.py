"""Runs exported gruf models in onnxruntime for tests/it/export.rs: an independent runtime.

Reads JSON from stdin: {"cases": [{"model": PATH, "windows": [{"values": [...],
"covariates": [[...], ...] | null, "dates": [...] | null, "id": ID | null}]}]}. Each
case is one batch, a window per series: the last `gruf.history` values, the last
`gruf.window` rows of covariates and dates, the series' index in `gruf.series`, as the
file's metadata says. Checks each model with onnx.checker when the onnx package is there, runs it, and
writes {"outputs": [{"meta": {...}, NAME: {"shape": [...], "data": [...flat...]}}]}.
"""
import json
import sys

import numpy as np
import onnxruntime as ort

try:
    import onnx
except ImportError:  # the checker is a bonus; onnxruntime is the runtime under test
    onnx = None

request = json.load(sys.stdin)
results = []
for case in request["cases"]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(case["model"], options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    if onnx is not None:
        onnx.checker.check_model(onnx.load(case["model"]), full_check=True)
    history, window = int(meta["gruf.history"]), int(meta["gruf.window"])
    windows = case["windows"]
    feeds = {"history": np.array([w["values"][-history:] for w in windows], dtype=np.float64)}
    if windows[0]["covariates"] is not None:
        feeds["covariates"] = np.array([w["covariates"][-window:] for w in windows], dtype=np.float64)
    if windows[0]["dates"] is not None:
        feeds["dates"] = np.array([w["dates"][-window:] for w in windows], dtype=np.int64)
    if windows[0]["id"] is not None:
        ids = json.loads(meta["gruf.series"])
        feeds["series"] = np.array([ids.index(w["id"]) for w in windows], dtype=np.int64)
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, feeds)
    result = {n: {"shape": list(v.shape), "data": v.ravel().tolist()} for n, v in zip(names, values)}
    result["meta"] = meta
    results.append(result)
json.dump({"outputs": results, "onnxruntime": ort.__version__}, sys.stdout)
