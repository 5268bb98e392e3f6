#!/usr/bin/env bash
# Installs onnxruntime, numpy and onnx into a virtual environment outside the repo, for the
# export tests (tests/it/export.rs runs every exported model in onnxruntime) and prints the
# python to point GRUF_ONNX_PYTHON at. `.ci/run` calls it before the tests.
set -euo pipefail
root="${GRUF_ONNX_ENV:-$HOME/.cache/gruf-onnx}"
if ! "$root/bin/python" -c "import onnxruntime, numpy, onnx" 2>/dev/null; then
  python3 -m venv "$root"
  "$root/bin/pip" install -q --disable-pip-version-check onnxruntime numpy onnx
fi
echo "$root/bin/python"
