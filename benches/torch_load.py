"""Loads a gruf model into PyTorch modules by tensor name and checks that PyTorch's next
value equals gruf's (`gruf predict --steps 1`): docs/model-file.md's "Using the weights in PyTorch"
snippet, run for real.

Usage: python benches/torch_load.py MODEL.safetensors CSV COLUMN
(a model of one series with the minmax or window transform and the price alone;
needs torch and safetensors: pip install torch safetensors)
"""
import csv
import json
import subprocess
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

path, data, column = sys.argv[1], sys.argv[2], sys.argv[3]

# --- the snippet in docs/model-file.md ---
tensors = load_file(path)
with safe_open(path, "pt") as f:
    meta = json.loads(f.metadata()["gruf"])
model = meta["config"]["model"]
cell = model.get("cell", "gru")
Module = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[cell]
layers, width = [], model.get("features", 1)
for l, hidden in enumerate(model["layers"]):
    layer = Module(width, hidden, batch_first=True)
    layer.load_state_dict({f"{p}_l0": tensors[f"{cell}.{p}_l{l}"]
                           for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    layers.append(layer)
    width = hidden
dense = torch.nn.Linear(width, model.get("horizon", 1))
dense.load_state_dict({"weight": tensors["dense.weight"], "bias": tensors["dense.bias"]})


def network(x):  # x: [batch, window, features], scaled as meta["scaler"] says
    for layer in layers:
        x, _ = layer(x)
    return dense(x[:, -1])
# --- end of the snippet ---

values = [float(r[column]) for r in csv.DictReader(open(data))]
window = model["window"]
past = values[-window:]
scaler = meta["scaler"]
if scaler["kind"] == "minmax":
    lo, hi = scaler["min"], scaler["max"]
    x = [(v - lo) / (hi - lo) for v in past]
    decode = lambda y: y * (hi - lo) + lo
elif scaler["kind"] == "window":
    last, s = past[-1], scaler["scale"]
    x = [(v / last - 1) / s for v in past]
    decode = lambda y: last * (1 + y * s)
else:
    sys.exit(f"this check knows minmax and window, not {scaler['kind']}")
with torch.no_grad():
    y = network(torch.tensor(x, dtype=torch.float32).reshape(1, window, 1))[0, 0].item()
torch_next = decode(y)
out = subprocess.run(["target/release/gruf", "predict", "--model", path, "--steps", "1",
                      "--format", "csv"], capture_output=True, text=True, check=True).stdout
gruf_next = float(out.strip().splitlines()[1].split(",")[-1])
print(f"{cell}: PyTorch {torch_next:.6f}  gruf {gruf_next:.6f}  relative difference "
      f"{abs(torch_next - gruf_next) / abs(gruf_next):.2e}")
