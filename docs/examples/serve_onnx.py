# A gruf model exported with `gruf export`, served by onnxruntime (docs/export.md).
# Usage: python serve_onnx.py gruf-model.onnx data/btc-sample.csv   (pip install onnxruntime numpy)
import csv, json, sys
import numpy as np, onnxruntime as ort

session = ort.InferenceSession(sys.argv[1])
meta = session.get_modelmeta().custom_metadata_map  # gruf.column, gruf.history, gruf.levels, ...
column, n = meta["gruf.column"], int(meta["gruf.history"])
closes = [float(row[column]) for row in csv.DictReader(open(sys.argv[2]))][-n:]  # oldest first
outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"history": np.array([closes])})))
print("forecast:", outputs["forecast"][0].tolist())  # [K] (or [K, Q] for a quantile model)
for j, level in enumerate(json.loads(meta["gruf.levels"])):  # intervals: [batch, K, levels, 2]
    print(f"{level:.0%} interval:", outputs["intervals"][0, :, j].tolist())  # [lower, upper] per step
