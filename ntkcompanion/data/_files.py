"""The data directory, verification of placed files, and checked downloads.

Layout: ``data_dir() / dataset / file_name`` for the raw files as published, and
``data_dir() / dataset / _decoded_v2_{split}.npz`` for decoded arrays. A raw file is
trusted only if its SHA-256 (or, for ``.gz``, its payload's SHA-256) is the pinned
one; it is checked on every load, so a file corrupted after a first good run is
still refused. Downloads go through ``pooch.retrieve``, which writes to a temporary
file in the same directory and moves it into place only after the hash matched, so
an interrupted or wrong download leaves nothing a later run would trust.

The decoded cache only saves decoding time, so it is never trusted blindly: it records
the SHA-256 of the raw files it was decoded from and a SHA-256 of its own arrays, and a
cache that is unreadable, truncated, decoded from other files or whose arrays do not
match their checksum is discarded (with a one-line ``DataCacheNotice``) and rebuilt. A
data directory that cannot be written to works from the verified raw files, decoding
on every load.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
import warnings

import numpy as np

from ntkcompanion import _io
from ntkcompanion.data._registry import FileEntry, REGISTRY

_ENV_VAR = "NTKCOMPANION_DATA_DIR"
_BLOCK = 1 << 20
CACHE_VERSION = "v2"
_CACHE_KEYS = {"images", "labels", "raw_sha256", "arrays_sha256"}


class DataIntegrityError(RuntimeError):
    """A data file is missing, corrupt, or could not be downloaded intact."""


class DataCacheNotice(UserWarning):
    """The decoded-data cache was discarded or could not be written; loading goes on."""


def data_dir() -> Path:
    """Returns the directory holding the full datasets.

    ``$NTKCOMPANION_DATA_DIR`` if set, else ``pooch.os_cache("ntkcompanion") / "data"``
    (``~/.cache/ntkcompanion/data`` on Linux). Files placed there by hand under
    ``<dataset>/<file name as published>`` are verified and used without download.
    Nothing is created by this call.

    Returns:
      The directory as a ``pathlib.Path``.
    """
    override = os.environ.get(_ENV_VAR)
    if override:
        return Path(override).expanduser()
    import pooch  # deferred: importing pooch pulls in requests

    return Path(pooch.os_cache("ntkcompanion")) / "data"


def sha256_of(stream) -> str:
    """Returns the hex SHA-256 of a binary stream, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Returns the hex SHA-256 of the file at ``path``."""
    with open(path, "rb") as stream:
        return sha256_of(stream)


def payload_sha256(path: Path) -> str | None:
    """Returns the hex SHA-256 of a gzip file's payload, or None if it is not valid gzip."""
    try:
        with gzip.open(path, "rb") as stream:
            return sha256_of(stream)
    except (OSError, EOFError):  # gzip.BadGzipFile is an OSError
        return None


def verify(path: Path, entry: FileEntry) -> str:
    """Raises ``DataIntegrityError`` unless ``path`` holds the pinned file or its payload.

    Args:
      path: a file claimed to be ``entry``'s file.
      entry: the registry entry with the pinned hashes.

    Returns:
      The SHA-256 of the file's bytes as placed (the published file's, or that of a
      re-compressed copy whose payload matched).
    """
    actual = file_sha256(path)
    if actual == entry.sha256:
        return actual
    actual_payload = None
    if entry.payload_sha256 is not None:
        actual_payload = payload_sha256(path)
        if actual_payload == entry.payload_sha256:
            return actual
    payload_note = ""
    if entry.payload_sha256 is not None:
        payload_note = (f"; decompressed payload SHA-256 {actual_payload or '(not valid gzip)'}, "
                        f"expected {entry.payload_sha256}")
    raise DataIntegrityError(
        f"{path} does not match its pinned checksum and will not be used: SHA-256 {actual}, "
        f"expected {entry.sha256}{payload_note}. Delete it and rerun to download it again "
        f"from {entry.url}, or replace it with the official file.")


def fetch(dataset: str, file_name: str) -> Path:
    """Returns the path of a verified raw file, downloading it if it is absent.

    Args:
      dataset: a key of ``REGISTRY``.
      file_name: the file's published name.

    Returns:
      ``data_dir() / dataset / file_name``, whose hash has been checked.
    """
    return fetch_verified(dataset, file_name)[0]


def fetch_verified(dataset: str, file_name: str) -> tuple[Path, str]:
    """Like ``fetch``, and also returns the SHA-256 of the file's bytes as placed."""
    entry = REGISTRY[dataset][file_name]
    folder = data_dir() / dataset
    path = folder / file_name
    if path.exists():
        return path, verify(path, entry)
    import pooch
    import requests

    try:
        pooch.retrieve(url=entry.url, known_hash=f"sha256:{entry.sha256}", fname=file_name,
                       path=folder, progressbar=True)
    except (ValueError, OSError, requests.exceptions.RequestException) as error:
        raise DataIntegrityError(
            f"Could not download {file_name} for {dataset!r} from {entry.url}: {error}. "
            f"Nothing was kept in {folder}. Without network access, place the official "
            f"file there by hand (see scripts/provision_test_data.sh).") from error
    return path, entry.sha256  # pooch kept it only because this hash matched


def missing_files(dataset: str) -> list[str]:
    """Returns the names of ``dataset``'s raw files absent from ``data_dir() / dataset``.

    Only presence is checked (no hashing, no network): every load verifies the hashes.
    """
    folder = data_dir() / dataset
    return [name for name in REGISTRY[dataset] if not (folder / name).is_file()]


def cache_path(dataset: str, split: str) -> Path:
    """Returns where the decoded arrays of one split are cached."""
    return data_dir() / dataset / f"_decoded_{CACHE_VERSION}_{split}.npz"


def arrays_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    """Returns a SHA-256 over both arrays' dtypes, shapes and bytes (C order)."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _notice(message: str) -> None:
    warnings.warn(message, DataCacheNotice, stacklevel=4)


def write_cache(path: Path, images: np.ndarray, labels: np.ndarray,
                raw_sha256: tuple[str, ...]) -> bool:
    """Writes decoded arrays with their provenance atomically; returns whether it did.

    A directory that cannot be written to (read-only medium, permissions) is not an
    error: the caller already holds the arrays, so the notice says the cache is skipped.
    Orphaned temporary files of killed writes and caches of older versions in the same
    directory are removed on the way (``_io.atomic_write`` removes the former).

    Args:
      path: from ``cache_path``.
      images, labels: the decoded arrays, ``(n, h, w, c)`` uint8 and ``(n,)`` int64.
      raw_sha256: SHA-256 of each raw file they were decoded from, in a fixed order.
    """
    def write(stream):
        np.savez(stream, images=images, labels=labels, raw_sha256=np.array(raw_sha256),
                 arrays_sha256=np.array(arrays_sha256(images, labels)))

    try:
        _io.atomic_write(path, write)
    except OSError as error:
        _notice(f"ntkcompanion: could not write the decoded-data cache {path} ({error}); "
                f"decoding from the verified raw files on every load instead.")
        return False
    for old in path.parent.glob("_decoded_v1_*"):  # superseded format, never read again
        try:
            old.unlink()
        except OSError:
            pass
    return True


def _discard(path: Path, reason: str) -> None:
    _notice(f"ntkcompanion: discarded the decoded-data cache {path} ({reason}); "
            f"rebuilding it from the verified raw files.")
    try:
        path.unlink()
    except OSError:  # read-only directory: it is ignored now and replaced when writable
        pass


def read_cache(path: Path, raw_sha256: tuple[str, ...],
               counts: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Returns cached (images, labels) if they are intact and decoded from these raw files.

    Anything else (unreadable or truncated file, missing arrays, other raw files,
    arrays that do not match their recorded checksum, images per class other than the
    registry's ``counts``) is discarded with a ``DataCacheNotice`` and None is returned,
    so the caller decodes again. The checksum only proves the arrays are what was
    written; the counts prove they are the whole split (a forged cache of 10 images
    with a consistent checksum is refused).

    Args:
      path: from ``cache_path``.
      raw_sha256: SHA-256 of each raw file as verified for this load.
      counts: images of each class the split holds (``CLASS_COUNTS[dataset][split]``).
    """
    try:
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as arrays:
            if set(arrays.files) != _CACHE_KEYS:
                _discard(path, f"holds arrays {sorted(arrays.files)}, expected "
                               f"{sorted(_CACHE_KEYS)}")
                return None
            content = {key: arrays[key] for key in _CACHE_KEYS}
    # A damaged file can fail in many ways (BadZipFile, a CRC or zlib error, a bad npy
    # header, an absurd shape); whichever it is, the cache is disposable.
    except Exception as error:  # noqa: BLE001
        _discard(path, f"unreadable: {type(error).__name__}: {str(error)[:200]}")
        return None
    images, labels = content["images"], content["labels"]
    if tuple(str(h) for h in content["raw_sha256"].ravel()) != tuple(raw_sha256):
        _discard(path, "decoded from other raw files")
        return None
    if (images.dtype != np.uint8 or images.ndim != 4 or labels.dtype != np.int64
            or labels.shape != (len(images),)):
        _discard(path, f"arrays of unexpected form: images {images.dtype} {images.shape}, "
                       f"labels {labels.dtype} {labels.shape}")
        return None
    if str(content["arrays_sha256"]) != arrays_sha256(images, labels):
        _discard(path, "its arrays do not match their recorded checksum")
        return None
    if counts is not None:
        found = (np.bincount(labels, minlength=len(counts)).tolist() if labels.size and labels.min() >= 0
                 and labels.max() < len(counts) else None)
        if found != list(counts):
            _discard(path, f"it holds {len(labels)} images ({found or 'labels out of range'} per class), "
                           f"the split has {sum(counts)} ({list(counts)})")
            return None
    return images, labels
