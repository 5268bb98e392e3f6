// A gruf model exported with `gruf export`, served by onnxruntime-node (docs/export.md).
// Usage: node serve_onnx.mjs gruf-model.onnx data/btc-sample.csv [Close]
//   (in a folder where `npm install onnxruntime-node` ran; 1.22 or later for inputMetadata)
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, csv, column = "Close"] = process.argv.slice(2);
const session = await ort.InferenceSession.create(model);
const n = session.inputMetadata.find((m) => m.name === "history").shape[1]; // gruf.history
const [header, ...rows] = readFileSync(csv, "utf8").trim().split(/\r?\n/).map((l) => l.split(","));
const col = header.findIndex((h) => h.toLowerCase() === column.toLowerCase());
const closes = Float64Array.from(rows.slice(-n), (r) => Number(r[col])); // oldest first, float64
const out = await session.run({ history: new ort.Tensor("float64", closes, [1, n]) });
console.log("forecast:", Array.from(out.forecast.data)); // [batch, K] (or [batch, K, Q])
if (out.intervals) console.log("intervals", out.intervals.dims, Array.from(out.intervals.data)); // [batch, K, levels, 2]
