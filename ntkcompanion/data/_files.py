"""The data directory, verification of placed files, and checked downloads.

Layout: ``data_dir() / dataset / file_name`` for the raw files as published, and
``data_dir() / dataset / _decoded_v1_{split}.npz`` for decoded arrays. A raw file is
trusted only if its SHA-256 (or, for ``.gz``, its payload's SHA-256) is the pinned
one; it is checked on every load, so a file corrupted after a first good run is
still refused. Downloads go through ``pooch.retrieve``, which writes to a temporary
file in the same directory and moves it into place only after the hash matched, so
an interrupted or wrong download leaves nothing a later run would trust.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
import tempfile

import numpy as np

from ntkcompanion.data._registry import FileEntry, REGISTRY

_ENV_VAR = "NTKCOMPANION_DATA_DIR"
_BLOCK = 1 << 20


class DataIntegrityError(RuntimeError):
    """A data file is missing, corrupt, or could not be downloaded intact."""


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


def verify(path: Path, entry: FileEntry) -> None:
    """Raises ``DataIntegrityError`` unless ``path`` holds the pinned file or its payload.

    Args:
      path: a file claimed to be ``entry``'s file.
      entry: the registry entry with the pinned hashes.
    """
    actual = file_sha256(path)
    if actual == entry.sha256:
        return
    actual_payload = None
    if entry.payload_sha256 is not None:
        actual_payload = payload_sha256(path)
        if actual_payload == entry.payload_sha256:
            return
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
    entry = REGISTRY[dataset][file_name]
    folder = data_dir() / dataset
    path = folder / file_name
    if path.exists():
        verify(path, entry)
        return path
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
    return path


def cache_path(dataset: str, split: str) -> Path:
    """Returns where the decoded arrays of one split are cached."""
    return data_dir() / dataset / f"_decoded_v1_{split}.npz"


def write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Writes decoded arrays atomically: a temporary file in the same directory, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, images=images, labels=labels)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Returns cached (images, labels), or None if there is no readable cache."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["images"], arrays["labels"]
    except (OSError, ValueError, KeyError):
        return None  # an unreadable cache is rebuilt from the verified raw files
