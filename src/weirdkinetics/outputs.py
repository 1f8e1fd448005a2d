"""Writing outputs safely (a shared leaf: imports nothing of the package but its errors).

- Every output file is written to a temporary name in its own folder and renamed over the target
  (``atomic_write_text``, ``atomic_write_bytes``, ``atomic_path`` for libraries that write to a path), so a
  full disk or a crash leaves the previous file whole and no temporary file behind.
- Every CSV cell we write goes through ``neutralise_cell``: text a spreadsheet would run as a formula gets a
  leading apostrophe; ``unneutralise_cell`` undoes it when we read our own CSVs back.
- File names built from user values (split names, run ids, video ids) go through ``safe_filename``.
- ``check_outputs`` refuses an output path that is an input or another output of the same command.
- ``folder_lock`` (and the ``locks_folder`` decorator on ``synth``, ``evaluate``, ``explain`` and ``study``)
  holds an exclusive lock on an output folder while a run writes into it: a second run into the same folder
  is refused at once with one line, instead of mixing its files with the first one's.
- ``check_target`` refuses an output file path that exists and is not a regular file: a character device
  (``/dev/null``), a FIFO, a socket, a folder, or a symbolic link (to anything). Outputs are never written
  through a link: the rename that makes writes atomic would replace the link (or the device) with a regular
  file. ``check_outputs``, ``check_output_file`` and ``atomic_path`` all apply it, so every output is checked
  before any work and again just before it is written.
"""

from __future__ import annotations

import csv
import errno
import functools
import hashlib
import inspect
import io
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from weirdkinetics.errors import UserError, option

# --- atomic files -------------------------------------------------------------------------------------------


class OutputError(UserError):
    """An output could not be written (disk full, read-only folder, permissions); the message names it."""


def _write_error(path: Path, exc: OSError) -> OutputError:
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "free some disk space or choose another output folder; the previous file is unchanged"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "the folder is not writable: choose another output folder"
    else:
        hint = "choose another output folder; the previous file is unchanged"
    return OutputError(f"cannot write {path}: {why}; {hint}")


def _temp_name(path: Path) -> Path:
    # unique per writer (two processes writing the same report never share a temporary file); the real
    # suffix stays last so libraries that pick a format from it still do
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial{path.suffix}")


_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def check_target(path: str | Path, name: str | None = None) -> Path:
    """Refuse an output file ``path`` that exists and is not a regular file (one line naming what it is).

    A symbolic link is refused whatever it points to, even a regular file: ``os.replace`` renames over the
    link itself, so following it would need a second, non-atomic rule, and a link planted in an output folder
    could otherwise redirect a write anywhere. ``name`` names the path in the message (default: the path).
    """
    p = Path(path)
    try:
        st = p.lstat()
    except (OSError, ValueError):  # missing (the usual case), or a name the OS refuses: the write says why
        return p
    shown = name if name is not None else "the output"
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(p)
        except OSError:
            target = "?"
        raise OutputError(
            f"{shown} {p} is a symbolic link (to {target}): outputs are never written through links; "
            "give the real path of a file, or remove the link"
        )
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise OutputError(
                f"{shown} {p} exists and is {kind}, not a regular file: give the path of a new or regular file"
            )
    return p


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, rename it over ``path``.

    For libraries that write to a path themselves (``fig.savefig(tmp)``, ``torch.save(obj, tmp)``). On any
    error the temporary file is removed and ``path`` is left as it was; an ``OSError`` (disk full, read-only
    folder) becomes an ``OutputError`` with one line saying what to do. A ``path`` that exists and is not a
    regular file (a device, a FIFO, a symbolic link: ``check_target``) is refused, before and after the block.
    """
    path = check_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path, exc) from None
    tmp = _temp_name(path)
    try:
        yield tmp
        _fsync(tmp)
        check_target(path)  # again: something may have appeared there while the file was being made
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _fsync(path: Path) -> None:
    """Flush a finished temporary file to disk before it replaces the old one (a crash right after the rename
    must not leave an empty file under the old name)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None
):
    """``open`` for writing, atomically: the file appears under ``path`` only once the block ends cleanly."""
    binary = "b" in mode
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666: the umask applies as usual
        with open(fd, "wb" if binary else "w", encoding=None if binary else encoding, newline=newline) as fh:
            yield fh


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary name in the same folder, then ``os.replace``)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (temporary name in the same folder, then ``os.replace``)."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


# --- CSV cells ----------------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP's list)."""

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _formula(text: str) -> bool:
    return text.startswith(FORMULA_START) and _NUMBER.fullmatch(text) is None


def _quoted(text: str) -> bool:
    """Text of the form an apostrophe + (a formula, or another such quoted text): what reading strips."""
    while text.startswith("'"):
        text = text[1:]
        if _formula(text):
            return True
    return False


def neutralise_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: text starting with ``= + - @``, tab or carriage return gets a
    leading apostrophe, unless it is a plain decimal number (``-0.5``, ``+3``, ``1e-05`` stay numbers).

    Text that already starts with an apostrophe before such a character gets one more, so
    ``unneutralise_cell(neutralise_cell(x)) == x`` for every string.
    """
    text = "" if value is None else str(value)
    return "'" + text if _formula(text) or _quoted(text) else text


def unneutralise_cell(text: str) -> str:
    """Inverse of ``neutralise_cell`` (for reading our own CSVs): one leading apostrophe before a formula
    character (or before another such apostrophe) is dropped; any other text is returned as it is."""
    return text[1:] if _quoted(text) else text


def csv_text(columns: list[str], rows: Iterable[Iterable[object]]) -> str:
    """CSV (``\\n`` line ends) of a header and rows, every cell through ``neutralise_cell``."""
    out = io.StringIO()
    _write_rows(out, columns, rows)
    return out.getvalue()


def _write_rows(fh, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow([neutralise_cell(c) for c in columns])
    for row in rows:
        writer.writerow([neutralise_cell(c) for c in row])


def write_csv(path: str | Path, columns: list[str], rows: Iterable[Iterable[object]]) -> Path:
    """Write a CSV atomically, every cell neutralised (``neutralise_cell``); rows are streamed."""
    with atomic_open(path, "w", newline="") as fh:
        _write_rows(fh, columns, rows)
    return Path(path)


# --- file names from user values ----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: str, max_len: int = 64) -> str:
    """A file-name stem made from a user value (split, run id, video id): letters, digits, ``.``, ``_``, ``-``.

    Text that is already such a name (short, not starting with ``.`` or ``-``) is kept as it is; any other
    text becomes its slug plus ``-`` and 8 hex digits of its sha256, so ``a/b``, ``a_b`` and ``a?b`` stay
    distinct and ``..``, NUL or 300 characters never reach the file system. At most ``max_len`` characters.
    """
    if _UNSAFE.search(text) is None and 0 < len(text) <= max_len and not text.startswith((".", "-")):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    slug = _UNSAFE.sub("_", text).strip("._-")[: max(0, max_len - 9)].rstrip("._-")
    return f"{slug}-{digest}" if slug else f"x-{digest}"


# --- outputs never land on inputs ---------------------------------------------------------------------------


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte: compare as written
        return os.path.abspath(path)


def check_outputs(
    outputs: dict[str, str | Path],
    inputs: dict[str, str | Path] | None = None,
    hint: str = "give it another path",
) -> None:
    """Refuse an output path that is one of ``inputs`` or another of ``outputs`` (one line saying which).

    Keys name the paths for the message (``option("export")``, ``f"the store ({option('store_path')})"``:
    see ``errors.option``). Every output must be new or a regular file (``check_target``). Paths are compared
    resolved (symlinks followed) and, where both exist, by file identity (hard links).
    """
    seen: dict[str, str] = {}
    ids: dict[tuple[int, int], str] = {}
    for name, path in (inputs or {}).items():
        p = Path(path)
        seen.setdefault(_resolved(p), name)
        if (ident := _identity(p)) is not None:
            ids.setdefault(ident, name)
    for name, path in outputs.items():
        p = check_target(path, name)
        key, ident = _resolved(p), _identity(p)
        other = seen.get(key) or (ids.get(ident) if ident is not None else None)
        if other is not None:
            raise UserError(f"{name} {path} would overwrite {other}: {hint}")
        seen[key] = name
        if ident is not None:
            ids[ident] = name


def check_output_file(path: str | Path, flag: str) -> Path:
    """An output file path given by the user: not empty, not an existing folder. ``flag`` names the path in
    messages (an ``errors.option``, or a flag the CLI checks itself)."""
    if str(path).strip() == "":
        raise UserError(f"{flag} is empty: give a file name")
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        raise UserError(f"{flag} {p} is a folder: give a file name, e.g. {p / 'predictions.csv'}")
    return check_target(p, flag)


def check_output_dir(path: str | Path, flag: str = option("out_dir")) -> Path:
    """An output folder given by the user: not empty, not an existing file. ``flag`` names the path in
    messages (an ``errors.option``)."""
    if str(path).strip() == "":
        raise UserError(f"{flag} is empty: give a folder name")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {p} is an existing file, not a folder: choose a folder name")
    return p


# --- one writer per output folder ---------------------------------------------------------------------------

try:  # POSIX; elsewhere (Windows) folders are not locked and two runs must not share one (docs/reliability.md)
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms CI runs
    fcntl = None  # type: ignore[assignment]

_HELD: dict[str, int] = {}
"""Folders this process holds (resolved path -> nesting depth): ``evaluate --report`` calls the report, and
``study`` calls synth and evaluate, into folders it already holds; a second ``flock`` from the same process
on a new descriptor would refuse them."""


class FolderBusyError(UserError):
    """Another process is writing into the output folder."""


@contextmanager
def folder_lock(folder: str | Path, flag: str = option("out_dir")) -> Iterator[Path]:
    """Hold an exclusive, non-blocking lock on ``folder`` (made if missing) while the block runs.

    The lock is ``flock`` on the folder itself (opened read-only), so no lock file is left behind, and the OS
    drops it when the process ends however it ends (kill -9 included): there are no stale locks. Another
    process holding it is refused at once with a ``FolderBusyError`` naming the folder and what to do. The same
    process may nest locks on one folder. ``flag`` names the folder in messages (an ``errors.option``).
    """
    p = Path(folder)
    key = _resolved(p)
    if key in _HELD or fcntl is None:
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield p
        finally:
            _release_nested(key)
        return
    fd = _locked_fd(p, flag)
    _HELD[key] = 1
    try:
        yield p
    finally:
        _release_nested(key)
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the lock


def _release_nested(key: str) -> None:
    _HELD[key] -= 1
    if _HELD[key] == 0:
        del _HELD[key]


def _locked_fd(folder: Path, flag: str) -> int | None:
    """A read-only descriptor of ``folder`` holding its exclusive lock; ``FolderBusyError`` if another has it.
    None when the folder cannot be made or opened: the run's own checks then say why, in its words."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise FolderBusyError(
                f"{flag} {folder} is in use by another weirdkinetics run writing into it: wait for that run "
                f"to end, or choose another folder"
            ) from None
        raise _write_error(folder, exc) from None
    return fd


def locks_folder(param: str, flag: str, attr: str | None = None) -> Callable:
    """Decorator: the call holds ``folder_lock`` on its argument ``param`` (or that argument's ``attr``).

    A value the function itself would refuse (not a path, empty, an existing file) is passed through unlocked,
    so its own check gives the message. A folder the lock had to make is removed again if the call fails and
    leaves it empty (a refused run leaves nothing behind).
    """

    def wrap(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            bound = signature.bind_partial(*args, **kwargs).arguments
            value = bound.get(param)
            folder = getattr(value, attr, None) if attr else value
            if not isinstance(folder, (str, os.PathLike)) or str(folder).strip() == "":
                return fn(*args, **kwargs)
            path = Path(folder)
            if path.exists() and not path.is_dir():
                return fn(*args, **kwargs)
            made = not path.exists()
            try:
                with folder_lock(path, flag):
                    return fn(*args, **kwargs)
            except BaseException:
                if made:
                    _remove_if_empty(path)
                raise

        return locked

    return wrap


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds on an empty folder
    except OSError:
        pass
