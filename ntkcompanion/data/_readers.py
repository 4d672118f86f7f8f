"""Decoders for the published formats, the embedded data, and ``load_split``."""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources
import io
import json
import os
import pickle
import tarfile

import numpy as np

from ntkcompanion import validate
from ntkcompanion.data import _files, _npz
from ntkcompanion.data._describe import describe
from ntkcompanion.data._registry import CLASS_COUNTS, DATASETS, EMBEDDED_JSON, IDX_FILES, embedded_provenance

SPLITS = ("train", "test")
EMBEDDED_NPZ = "mnist_subset.npz"
_IDX_DTYPE_UBYTE = 0x08


def read_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decodes an uncompressed IDX file of unsigned bytes.

    Args:
      raw: the file's bytes (magic ``0x00 0x00 0x08 ndim``, ``ndim`` big-endian
        uint32 sizes, then the data).
      name: used in error messages.

    Returns:
      A uint8 array of the stored shape, e.g. ``(n, 28, 28)`` or ``(n,)``.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_DTYPE_UBYTE:
        raise _files.DataIntegrityError(f"{name} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise _files.DataIntegrityError(f"{name}: size does not match its header {shape}.")
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape).copy()


def read_idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Reads gzipped IDX images and labels into ``(n, 28, 28, 1)`` uint8 and ``(n,)`` int64."""
    with gzip.open(images_path, "rb") as stream:
        images = read_idx(stream.read(), str(images_path))
    with gzip.open(labels_path, "rb") as stream:
        labels = read_idx(stream.read(), str(labels_path))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise _files.DataIntegrityError(
            f"{images_path} and {labels_path} do not hold matching images and labels.")
    return images[..., None], labels.astype(np.int64)


def read_cifar10(archive_path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads one split of ``cifar-10-python.tar.gz``.

    The archive holds pickled batches (``data_batch_1..5``, ``test_batch``) with
    ``b"data"``: ``(n, 3072)`` uint8, each row channel-major (1024 red, then green,
    then blue, each row-major 32 × 32) and ``b"labels"``: ``n`` ints. Pickle is safe
    here only because the archive's SHA-256 was checked first.

    Returns:
      images ``(n, 32, 32, 3)`` uint8 (NHWC) and labels ``(n,)`` int64.
    """
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    with tarfile.open(archive_path, "r:gz") as archive:
        members = {m.name.rsplit("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
        for name in names:
            if name not in members:
                raise _files.DataIntegrityError(f"{archive_path} has no batch {name!r}.")
            batch = pickle.load(archive.extractfile(members[name]), encoding="bytes")
            data = np.asarray(batch[b"data"], np.uint8)
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch[b"labels"], np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


@functools.lru_cache(maxsize=1)
def _embedded_arrays() -> dict[str, np.ndarray]:
    raw = resources.files("ntkcompanion").joinpath("_data", EMBEDDED_NPZ).read_bytes()
    expected = embedded_provenance()["npz_sha256"]
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise _files.DataIntegrityError(
            f"The embedded {EMBEDDED_NPZ} has SHA-256 {actual}, but {EMBEDDED_JSON} records "
            f"{expected}. Reinstall ntkcompanion, or rebuild both with "
            f"scripts/make_embedded_mnist.py.")
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        out = {key: arrays[key] for key in arrays.files}
    for array in out.values():
        array.flags.writeable = False
    return out


def _load_full(dataset: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if dataset == "cifar10":
        names = ["cifar-10-python.tar.gz"]
    else:
        names = list(IDX_FILES[split])
    # Raw files are verified on every load, even when a cache exists, so a corrupted
    # file is always reported; the cache only saves the decoding, and is used only if
    # it was decoded from exactly these files and its arrays match their checksum.
    verified = [_files.fetch_verified(dataset, name) for name in names]
    raw_paths = [path for path, _ in verified]
    raw_sha256 = tuple(sha for _, sha in verified)
    cache = _files.cache_path(dataset, split)
    cached = _files.read_cache(cache, raw_sha256, CLASS_COUNTS[dataset][split])
    if cached is not None:
        return cached
    if dataset == "cifar10":
        images, labels = read_cifar10(raw_paths[0], split)
    else:
        images, labels = read_idx_pair(*raw_paths)
    _files.write_cache(cache, images, labels, raw_sha256)
    return images, labels


def load_split(dataset, split: str, name: str = "DATASET") -> tuple[np.ndarray, np.ndarray]:
    """Loads one whole split of a dataset.

    ``"mnist_embedded"`` is read from the package (no network); the other built-ins
    come from ``data_dir()``, downloaded on first use and verified on every use; a
    path is read as an ``.npz`` file after full validation (see ``_npz``).

    Args:
      dataset: one of ``DATASETS``, or the path of an ``.npz`` file.
      split: ``"train"`` or ``"test"``.
      name: the parameter to name in errors about ``dataset``.

    Returns:
      ``(images, labels)``: images ``(n, h, w, c)`` (uint8 in [0, 255] for built-ins,
      ``c = 1`` for (Fashion-)MNIST, 3 for CIFAR-10; as stored for a file: uint8, or
      floats in [0, 1]), labels ``(n,)`` int64 class indices.

    Example:
      >>> images, labels = load_split("mnist_embedded", "test")
      >>> images.shape, labels.shape
      ((10000, 28, 28, 1), (10000,))
    """
    validate.one_of("split", split, SPLITS)
    if isinstance(dataset, str) and dataset in DATASETS:
        if dataset == "mnist_embedded":
            arrays = _embedded_arrays()
            return arrays[f"x_{split}"].copy(), arrays[f"y_{split}"].copy()
        return _load_full(dataset, split)
    describe(dataset, name)  # a clear error for an unknown name or a malformed file
    _, arrays = _npz.load(dataset, name, os.fspath(dataset))
    return arrays[f"x_{split}"].copy(), arrays[f"y_{split}"].copy()
