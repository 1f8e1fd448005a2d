"""Shared fixtures: lossless test videos with known pixels, and the real media in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEOS = SHARED / "videos"
REAL_FOOTAGE_SKIP = (
    "real footage is this test's point: it reads the clips in ../shared/data beside the repository (see its "
    "MEDIA.md); every other test makes its videos itself"
)

# the zoo cards issue 5 asks for, by zoo (the registry must hold every one of them)
PTV = [
    "c2d_r50",
    "i3d_r50",
    "slow_r50",
    "slowfast_r50",
    "slowfast_r101",
    "x3d_xs",
    "x3d_s",
    "x3d_m",
    "x3d_l",
    "csn_r101",
    "r2plus1d_r50",
    "mvit_base_16x4",
]
TV = ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s", "swin3d_b"]


def shared_video(name: str) -> Path:
    path = VIDEOS / name
    if not path.exists():
        pytest.skip(f"{REAL_FOOTAGE_SKIP} ({path} not found)")
    return path


def indexed_frames(n: int, h: int = 24, w: int = 32) -> np.ndarray:
    """uint8 (n, h, w, 3) where frame i is identifiable: R = i % 256, G = i // 256, B = a spatial gradient."""
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[..., 0] = (np.arange(n) % 256)[:, None, None]
    frames[..., 1] = (np.arange(n) // 256)[:, None, None]
    frames[..., 2] = (np.arange(w)[None, :] * 7 % 256).astype(np.uint8)
    return frames


def frame_ids(frames: np.ndarray) -> np.ndarray:
    """Inverse of ``indexed_frames``: int64 (T,) frame index of each decoded frame."""
    return frames[:, 0, 0, 0].astype(np.int64) + 256 * frames[:, 0, 0, 1].astype(np.int64)


@pytest.fixture
def lossless_video(tmp_path):
    """Factory: write ``indexed_frames(n)`` losslessly at ``fps`` and return (path, frames)."""
    from weirdkinetics.encode import write_video

    def make(n: int = 90, fps: float = 30, name: str = "v.mkv", h: int = 24, w: int = 32):
        frames = indexed_frames(n, h, w)
        return write_video(tmp_path / name, frames, fps, lossless=True), frames

    return make


@pytest.fixture(scope="session")
def made_media(tmp_path_factory) -> dict[str, Path]:
    """Video files made here (``tests/awkward.py``), one of each kind ../shared/data holds, for every test whose
    point is not real footage (so the suite runs from a clone alone). Roles: ``clip`` (3 s at 30 fps, 64x96),
    ``clip_b`` (3 s at 25 fps), ``corrupt`` (breaks off after 28 of 50 frames at 10 fps: partial), ``truncated``
    (header claims 60 frames, the file holds about a third: partial), ``rotated`` (3 frames, display matrix
    -90: short), ``low_fps`` (5 frames at 5 fps: short), ``vp9`` (VP9 + Opus in WebM, 75 frames at 30 fps)."""
    import awkward

    root = tmp_path_factory.mktemp("made-media")
    return {
        "clip": awkward.h264(root / "clip.mp4", n=90, fps=30),
        "clip_b": awkward.h264(root / "clip_b.mp4", n=75, fps=25),
        "corrupt": awkward.corrupt_nal(root / "corrupt.mp4", n=50, fps=10, break_at=28),
        "truncated": awkward.truncated(root / "truncated.mp4"),
        "rotated": awkward.rotated(root / "rotated.mp4", 90),
        "low_fps": awkward.h264(root / "low_fps.mp4", n=5, fps=5),
        "vp9": awkward.vp9_opus(root / "vp9.webm", n=75),
    }


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The demo on its small configuration, run once per session: ``(out folder, headline)``."""
    from weirdkinetics.demo.run import run_demo

    out = tmp_path_factory.mktemp("small-demo") / "demo"
    return out, run_demo(out, small=True, progress=False)


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray on 2 CPUs, started once for every Ray test of the session (skipped without ray)."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    # address="local": a Ray of its own, not one another process on this machine started
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
    )
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _scheduling_left_as_found():
    """A test must leave this process's scheduling policy as it found it. Native code can change it: SVT-AV1
    makes its caller real-time (SCHED_FIFO 99) when run as root, and every process started afterwards (Ray's,
    Chromium's) inherits that and can starve a 2-core machine. Restored here either way, then reported."""
    before = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
    yield
    after = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
    if after != before:
        os.sched_setscheduler(0, before[0], os.sched_param(before[1]))
        pytest.fail(f"the test changed this process's scheduling (policy, priority) from {before} to {after}")
