"""Reading the user's input files without hanging and within bounds.

Every file the toolkit reads on the user's word (a manifest, a predictions CSV, a label map, a class file,
a checkpoint, a video, a mask) is first checked with ``os.stat``, never opened blind: a FIFO would block
``open`` forever, a character device such as ``/dev/zero`` never ends, a folder or socket cannot be read.

CSV and text inputs are streamed line by line with documented limits (module constants, also in
docs/reliability.md): at most ``MAX_TEXT_BYTES`` bytes, ``MAX_TEXT_LINES`` lines, ``MAX_LINE_BYTES`` bytes per line and
Python's csv limit of 131,072 characters per cell. A NUL byte means binary data: refused at once.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from weirdkinetics.errors import UserError

MAX_TEXT_BYTES = 512 * 1024 * 1024
"""Largest manifest, predictions CSV, label map or class file read (512 MiB)."""
MAX_TEXT_LINES = 2_000_000
"""Most lines in one of those files."""
MAX_LINE_BYTES = 1024 * 1024
"""Longest line (1 MiB): a predictions CSV with 700 score columns needs about 10 KiB."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


_ERRNO_REASONS = {
    errno.ELOOP: "a symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "name too long (at most 255 bytes per name and 4096 per path)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


@dataclass(frozen=True)
class Unreadable:
    """Why a path cannot be read as a regular file. ``missing``: it does not exist (status ``missing``);
    otherwise it exists but is something else or is out of reach (status ``decode_error`` for a video)."""

    reason: str
    missing: bool = False


def is_file(path: str | Path) -> bool:
    """Like ``Path.is_file`` but False, not an error, for names the OS refuses (too long, a NUL byte): the
    caller that reads the file reports those with the option that named it."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def unreadable(path: str | Path) -> Unreadable | None:
    """None when ``path`` is a readable regular file (symlinks followed); else why not. Never opens it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Unreadable("no such file", missing=True)
    except ValueError:  # os.stat's "embedded null byte"
        return Unreadable("the path contains a NUL byte")
    except OSError as exc:
        return Unreadable(_ERRNO_REASONS.get(exc.errno, exc.strerror or str(exc)))
    if not stat.S_ISREG(st.st_mode):
        return Unreadable(f"not a regular file ({_kind(st.st_mode)})")
    if not os.access(path, os.R_OK):
        return Unreadable("unreadable (permissions)")
    return None


def require_regular_file(path: str | Path, what: str, hint: str = "") -> os.stat_result:
    """``os.stat(path)`` after checking that it is a readable regular file; else a one-line ``UserError``
    ``"<what> <path>: <reason>[; <hint>]"``."""
    problem = unreadable(path)
    if problem is not None:
        shown = str(path).replace("\x00", "\\0")
        raise UserError(f"{what} {shown}: {problem.reason}" + (f"; {hint}" if hint else ""))
    return os.stat(path)


class TextEncodingError(UserError):
    """A text input holds bytes that are not UTF-8; ``line`` is the physical line (1-based)."""

    def __init__(self, message: str, line: int, detail: str):
        super().__init__(message)
        self.line, self.detail = line, detail


# csv (newline="") ends lines at \r\n, \r or \n; splitting there keeps a file saved with old Mac line ends
_LINE_ENDS = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (and UTF-32 LE) byte-order marks


def _nul_reason(raw: bytes) -> str:
    """Why a line with NUL bytes is refused: UTF-16/32 text (a wide byte-order mark, or NULs in about half
    the bytes, as ASCII in UTF-16 is) is text to re-save as UTF-8; anything else is binary data."""
    if raw.startswith(_WIDE_BOMS) or raw.count(0) >= len(raw) // 3:
        return (
            "is UTF-16 or UTF-32 text (NUL bytes between its characters): save it as UTF-8 (e.g. 'CSV UTF-8')"
        )
    return "holds NUL bytes: binary data, not a UTF-8 text file"


class TextInput:
    """A UTF-8 text file (CSV or one item per line) read as a stream with limits; a context manager.

    ``lines()`` yields decoded lines (ends kept) for ``csv`` readers; ``dict_rows()`` wraps a
    ``csv.DictReader`` so that csv's own errors become one-line ``UserError``s. ``digest`` is the sha256 of
    the bytes read (the whole file once it has been read to the end).
    """

    def __init__(
        self,
        path: str | Path,
        what: str,
        max_bytes: int | None = None,
        max_lines: int | None = None,
        max_line_bytes: int | None = None,
    ):
        self.path, self.what = Path(path), what
        # the module's limits, read now (not at import) so that they can be changed in one place
        self.max_bytes = MAX_TEXT_BYTES if max_bytes is None else max_bytes
        self.max_lines = MAX_TEXT_LINES if max_lines is None else max_lines
        self.max_line_bytes = MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes
        self.line = 0  # physical lines read so far
        self._hash = hashlib.sha256()
        self._fh = None

    def __enter__(self) -> TextInput:  # noqa: PYI034
        st = require_regular_file(self.path, self.what)
        if st.st_size > self.max_bytes:
            raise UserError(
                f"{self.what} {self.path}: {st.st_size:,} bytes, more than the limit of {self.max_bytes:,}; "
                "split it into several files"
            )
        self._fh = open(self.path, "rb")
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def _fail(self, problem: str) -> UserError:
        return UserError(f"{self.what} {self.path}: line {self.line}: {problem}")

    def lines(self) -> Iterator[str]:
        assert self._fh is not None, "use TextInput as a context manager"
        total = 0
        while True:
            raw = self._fh.readline(self.max_line_bytes + 1)
            if not raw:
                return
            self.line += 1
            total += len(raw)
            self._hash.update(raw)
            if len(raw) > self.max_line_bytes:
                raise self._fail(
                    f"longer than {self.max_line_bytes:,} bytes; is this really a CSV text file?"
                )
            if b"\x00" in raw:
                raise self._fail(_nul_reason(raw))
            if self.line > self.max_lines:
                raise self._fail(f"more than {self.max_lines:,} lines; split the file into several")
            if total > self.max_bytes:  # the file grew while being read
                raise self._fail(f"more than {self.max_bytes:,} bytes; split the file into several")
            try:
                text = raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                detail = f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start} of the line)"
                raise TextEncodingError(
                    f"{self.what} {self.path}: line {self.line}: {detail}; save it as UTF-8",
                    self.line,
                    detail,
                ) from None
            yield from (part for part in _LINE_ENDS.split(text) if part)

    def dict_rows(self) -> _DictRows:
        """A ``csv.DictReader`` over ``lines()`` (extra cells under the key ``None``) whose errors are
        one-line ``UserError``s."""
        return _DictRows(self, csv.DictReader(self.lines()))


class _DictRows:
    def __init__(self, source: TextInput, reader: csv.DictReader):
        self.source, self.reader = source, reader

    @property
    def fieldnames(self) -> list[str]:
        try:
            return list(self.reader.fieldnames or [])
        except csv.Error as exc:
            raise self.source._fail(f"{exc}") from None

    def __iter__(self) -> Iterator[dict]:
        while True:
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                text = str(exc)
                if "field larger than field limit" in text:
                    text = f"a cell longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
                raise self.source._fail(text) from None
            yield row
