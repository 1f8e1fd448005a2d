"""Videos in object storage: manifest paths that are URIs (``s3://bucket/k400/val/abc.mp4``, ``gs://``,
``https://``, ``memory://``, any protocol fsspec knows) are read through fsspec, never turned into local paths.

The IO edge for URIs, as ``inputs`` is for local files: whether a text is a URI, an object's identity (what
``store.file_identity`` is for a local file), and a seekable binary file object that PyAV decodes from. Pure
code (sampling, transforms, metrics) never sees a URI. ``file://`` URIs are local files and become paths.

Credentials come from the environment, as each filesystem reads them (``AWS_ACCESS_KEY_ID`` /
``AWS_PROFILE`` / ``AWS_ENDPOINT_URL`` for s3fs, ``GOOGLE_APPLICATION_CREDENTIALS`` for gcsfs), so Ray's
decode tasks on other nodes open the same URIs with their own environment.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from pathlib import Path
from typing import IO, Any

from weirdkinetics.errors import UserError, first_line

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
"""A URI's scheme: two characters or more, so a Windows drive (``C:/``) is never taken for one."""

BLOCK_BYTES = 4 * 1024 * 1024
"""Bytes fetched per range request of an object being decoded."""
CACHED_BLOCKS = 16
"""Blocks kept per open object (fsspec's ``blockcache``, least recently used dropped): at most
``BLOCK_BYTES * CACHED_BLOCKS`` = 64 MiB of memory per video being decoded, whatever its size, while seeks
back (PyAV reads an MP4's index at the end, then returns to its start) hit the cache instead of the network."""

EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}
"""Protocol -> the weirdkinetics extra that installs its filesystem (others name their package)."""


class StorageAccessError(UserError):
    """Storage refused us (credentials missing, wrong or without rights) or cannot be reached: the whole run
    stops with one line, as every other row would fail the same way and their statuses must not be stored as
    final."""


def is_uri(text: str | Path) -> bool:
    """True when ``text`` is a URI with a scheme (``s3://...``); a ``Path`` never is (it cannot hold ``//``)."""
    return isinstance(text, str) and _SCHEME.match(text) is not None


def protocol(uri: str) -> str:
    """The URI's scheme, lower case (``s3``)."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def local_path(uri: str) -> Path | None:
    """The local path a ``file://`` URI names (percent-escapes decoded), or None for any other text."""
    if protocol(uri) != "file":
        return None
    parsed = urllib.parse.urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        return None  # file://host/share: not a path on this machine; fsspec reads it as it can
    return Path(urllib.parse.unquote(parsed.path))


def resolved(location: str) -> str:
    """A stored video location as comparable text: a URI as it is, a local path resolved (symlinks followed)."""
    return location if is_uri(location) else str(Path(location).resolve())


def _filesystem(uri: str) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for ``uri``; a missing filesystem package says which extra to
    install."""
    try:
        import fsspec
    except ImportError:
        raise UserError(f"{uri}: reading URIs needs fsspec: pip install 'weirdkinetics[cloud]'") from None
    scheme = protocol(uri)
    try:
        return fsspec.core.url_to_fs(uri)
    except ImportError as exc:
        extra = EXTRAS.get(scheme)
        hint = f"pip install 'weirdkinetics[{extra}]'" if extra else "install the fsspec filesystem it names"
        raise UserError(
            f"{uri}: no filesystem for '{scheme}://' is installed ({first_line(exc)}); {hint}"
        ) from None
    except ValueError as exc:  # an unknown protocol
        raise UserError(f"{uri}: fsspec knows no '{scheme}://' filesystem ({first_line(exc)})") from None


def access_error(uri: str, exc: BaseException) -> StorageAccessError:
    """The one line for storage refusing ``uri``: which credentials the protocol reads from the environment."""
    scheme = protocol(uri)
    if scheme in ("s3", "s3a"):
        how = (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE; AWS_ENDPOINT_URL for a non-AWS "
            "server) in the environment of every node, with read access to the bucket"
        )
    elif scheme in ("gs", "gcs"):
        how = "set GOOGLE_APPLICATION_CREDENTIALS to a key file with read access to the bucket, on every node"
    else:
        how = "give this environment credentials that can read it"
    return StorageAccessError(
        f"{uri}: access denied ({first_line(exc)}); {how}, then run the same command again"
    )


def _is_denied(exc: BaseException) -> bool:
    """Storage refused the credentials (s3fs and gcsfs raise ``PermissionError``; botocore's own
    ``NoCredentialsError`` arrives when none are found at all)."""
    return isinstance(exc, PermissionError) or type(exc).__name__ in (
        "NoCredentialsError",
        "PartialCredentialsError",
    )


def _token(info: dict) -> int:
    """A 63-bit integer that changes when the object does: its ETag (a content tag) when the store gives one,
    else its modification time in ns, else 0 (then only the size tells a change)."""
    tag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("crc32c")
    if tag:
        return int.from_bytes(hashlib.sha256(str(tag).strip('"').encode()).digest()[:8], "big") >> 1
    for key in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        return int(number * 1e9) if number < 1e11 else int(number)  # seconds, or already ns
    return 0


def object_identity(uri: str) -> tuple[int, int] | None:
    """(size in bytes, change token) of the object, as ``store.file_identity`` gives (size, mtime ns) for a
    file: None when it does not exist or is not a file. Raises ``StorageAccessError`` when storage refuses or
    cannot be reached."""
    fs, path = _filesystem(uri)
    try:
        info = fs.info(path)
    except (FileNotFoundError, ValueError):  # ValueError: a name that cannot exist (an empty bucket or key)
        return None
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own client's errors (botocore, aiohttp)
        if _is_denied(exc):
            raise access_error(uri, exc) from None
        # storage out of reach (no network, a wrong endpoint): stop, rather than store every row as failed
        raise StorageAccessError(
            f"{uri}: cannot reach the storage ({type(exc).__name__}: {first_line(exc)}); check the network and "
            "the endpoint (AWS_ENDPOINT_URL for a non-AWS S3 server), then run the same command again"
        ) from None
    if info.get("type", "file") != "file" or info.get("size") is None:
        return None
    return int(info["size"]), _token(info)


def open_object(uri: str) -> IO[bytes]:
    """A seekable binary file object over ``uri`` (close it, or use it as a context manager), read in
    ``BLOCK_BYTES`` ranges with at most ``CACHED_BLOCKS`` kept: bounded memory, no copy of the whole object.

    Raises ``FileNotFoundError`` for a missing object, ``StorageAccessError`` when storage refuses and
    ``OSError`` (one line) for any other failure to open it.
    """
    fs, path = _filesystem(uri)
    try:
        return fs.open(
            path,
            "rb",
            block_size=BLOCK_BYTES,
            cache_type="blockcache",
            cache_options={"maxblocks": CACHED_BLOCKS},
        )
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own client's errors (botocore, aiohttp)
        if _is_denied(exc):
            raise access_error(uri, exc) from None
        raise OSError(f"cannot open {uri} ({first_line(exc)})") from None


def sha256_object(uri: str, chunk: int = BLOCK_BYTES) -> str:
    """sha256 of an object's bytes (hex), streamed (``digest.sha256_file`` for a URI)."""
    h = hashlib.sha256()
    with open_object(uri) as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
