"""Masks of a whole video at one bit per pixel, and ``.npz`` mask files read and written a frame at a time.

``synth`` streams its videos (``synth.stream``): frames are decoded again on each pass instead of held, and
what must span the whole video is the person's mask. Every variant reads a mask only through ``binarize``
(person = probability >= threshold), so a bool per pixel is all the state there is; ``PackedMasks`` keeps it
at one bit (``np.packbits``): a 1080p frame is 259 KB, 60 s at 30 fps 467 MB, against 14.9 GB for the
float32 masks the whole-video path held.

The ``.npz`` helpers read and write the same files as ``np.load``/``np.savez_compressed`` (the mask cache's
entries, the demo's ``mask_path`` files) without holding the whole array: NumPy's ``.npy`` header
(``np.lib.format``) is followed by the frames in C order, inside a zip entry that ``zipfile`` streams.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Self

import numpy as np


class PackedMasks:
    """bool (T, H, W) stored frame by frame at one bit per pixel; frames are appended in order or set by index.

    ``mask[t]`` unpacks frame t: bool (H, W). ``counts`` holds each frame's number of True pixels, so coverage
    needs no unpacking.
    """

    def __init__(self, height: int, width: int, count: int = 0):
        self.height, self.width = height, width
        self._frames: list[np.ndarray | None] = [None] * count
        self._counts: list[int] = [0] * count

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self._frames), self.height, self.width

    def append(self, mask: np.ndarray) -> None:
        """Add one frame's mask: bool (H, W)."""
        self._frames.append(None)
        self._counts.append(0)
        self[len(self._frames) - 1] = mask

    def __setitem__(self, t: int, mask: np.ndarray) -> None:
        mask = np.asarray(mask, bool)
        if mask.shape != (self.height, self.width):
            raise ValueError(f"mask of shape {mask.shape} in masks of {self.height}x{self.width}")
        self._frames[t] = np.packbits(mask)
        self._counts[t] = int(np.count_nonzero(mask))

    @property
    def counts(self) -> np.ndarray:
        """int64 (T,): True pixels per frame."""
        return np.asarray(self._counts, np.int64).reshape(len(self._counts))

    def __getitem__(self, t: int) -> np.ndarray:
        packed = self._frames[t]
        if packed is None:  # never set: empty
            return np.zeros((self.height, self.width), bool)
        bits = np.unpackbits(packed, count=self.height * self.width)
        return bits.reshape(self.height, self.width).view(bool)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[t] for t in range(len(self)))

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed frames."""
        return sum(f.nbytes for f in self._frames if f is not None) + 8 * len(self._counts)

    def any(self) -> bool:
        return any(self._counts)

    def coverage(self) -> np.ndarray:
        """Fraction of True pixels per frame: float64 (T,), the same numbers as ``composite.mask_coverage``."""
        return self.counts / float(self.height * self.width) if len(self) else np.zeros(0, np.float64)

    @classmethod
    def from_array(cls, masks: np.ndarray) -> PackedMasks:
        """bool (T, H, W) -> packed."""
        out = cls(masks.shape[1], masks.shape[2])
        for mask in masks:
            out.append(mask)
        return out

    def to_array(self) -> np.ndarray:
        """bool (T, H, W) (for tests and short clips: this is the whole-video array the class avoids)."""
        return np.stack(list(self)) if len(self) else np.zeros(self.shape, bool)


# -- .npz files a frame at a time ------------------------------------------------------------------------


class NpzFrames:
    """The array ``key`` of an ``.npz`` file, frame by frame (its first axis). ``shape`` and ``dtype`` come
    from the ``.npy`` header before any frame is read. Raises ``KeyError`` when the file has no such array,
    ``ValueError`` for a header NumPy cannot read or a Fortran-ordered array, ``zipfile.BadZipFile`` and
    ``OSError`` as ``zipfile`` does. Close it (or use ``with``)."""

    def __init__(self, path: str | Path, key: str):
        self._zip = zipfile.ZipFile(path)
        try:
            self._entry = self._zip.open(f"{key}.npy")
            self.shape, self.dtype = _read_header(self._entry)
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._entry.close()
        self._zip.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        frame_shape = self.shape[1:]
        size = int(np.prod(frame_shape, dtype=np.int64)) * self.dtype.itemsize
        for _ in range(self.shape[0]):
            data = self._entry.read(size)
            if len(data) != size:
                raise ValueError(f"the array ends after {len(data)} of {size} bytes of a frame")
            yield np.frombuffer(data, self.dtype).reshape(frame_shape)


def _read_header(entry: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(entry)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(entry)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(entry)
    if fortran and len(shape) > 1:
        raise ValueError("a Fortran-ordered array cannot be read frame by frame")
    if dtype.hasobject:
        raise ValueError("the array holds Python objects (pickles are never loaded)")
    if not shape:
        raise ValueError("the array is a scalar, not frames")
    return tuple(shape), dtype


class NpzFrameWriter:
    """Writes the array ``key`` of shape ``shape`` and dtype ``dtype`` frame by frame (``write``) into a
    compressed ``.npz`` that ``np.load`` reads as ``np.savez_compressed`` would have written it. ``close``
    raises ``ValueError`` when the frames did not fill ``shape``; ``abort`` closes without that check."""

    def __init__(self, path: str | Path, key: str, shape: tuple[int, ...], dtype: np.dtype):
        self.shape, self.dtype, self.written = tuple(shape), np.dtype(dtype), 0
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": self.shape,
        }
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self._entry = self._zip.open(f"{key}.npy", "w", force_zip64=True)
        np.lib.format.write_array_header_2_0(self._entry, header)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != self.shape[1:] or frame.dtype != self.dtype:
            raise ValueError(
                f"frame {self.written}: {frame.dtype} {frame.shape}, expected {self.dtype} {self.shape[1:]}"
            )
        self._entry.write(np.ascontiguousarray(frame).tobytes())
        self.written += 1

    def abort(self) -> None:
        self._entry.close()
        self._zip.close()

    def close(self) -> None:
        self.abort()
        if self.written != self.shape[0]:
            raise ValueError(f"{self.written} frames written for an array of {self.shape[0]}")


def write_npz_frames(
    path: str | Path, key: str, frames: Iterable[np.ndarray], shape: tuple[int, ...]
) -> None:
    """Write ``frames`` (each ``shape[1:]``, all one dtype; uint8 when there are none) as the array ``key``
    of ``shape`` with ``NpzFrameWriter``."""
    frames = iter(frames)
    first = next(frames, None)
    writer = NpzFrameWriter(path, key, shape, first.dtype if first is not None else np.uint8)
    try:
        for frame in itertools.chain([first] if first is not None else [], frames):
            writer.write(frame)
    except BaseException:
        writer.abort()
        raise
    writer.close()
