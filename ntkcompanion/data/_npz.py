"""Datasets a reader brings: an ``.npz`` file of images and integer labels.

The file holds ``x_train``, ``y_train``, ``x_test``, ``y_test`` and optionally
``class_names`` (what ``np.savez(path, x_train=..., ...)`` writes):

- ``x_*``: images ``(n, h, w, c)`` with ``h == w`` and ``c`` in {1, 3}, either uint8 in
  [0, 255] or floating point in [0, 1]; both splits the same ``(h, w, c)``.
- ``y_*``: ``(n,)`` integer class indices ``0 .. k-1``, as many as the split's images.
- ``class_names``: ``(k,)`` strings, distinct; without it class ``i`` is named ``str(i)``
  and ``k`` is the largest label plus one.

Every class needs at least ``MIN_PER_CLASS[split]`` images in each split and there
must be at least two classes. ``inspect`` checks everything but the pixel values from
the arrays' headers and the labels alone (cheap even for large files): a header must
describe exactly the bytes the file stores for its array (a forged or damaged header
that claims gigabytes is refused before anything is allocated), and labels are bounded
before any per-class count is made. ``load`` also reads the images and checks their
range. Errors are ``DatasetError`` naming the parameter (``DATASET`` in a notebook),
the file, the array and what is wrong, in a message of bounded length; whatever a
damaged file raises while being read (a bad CRC, an unsupported compression method,
a truncated member) becomes such an error. :func:`memory_bytes` says how much memory
loading a file keeps, for the memory check.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
import zipfile

import numpy as np

__all__ = ["CHANNELS", "MIN_PER_CLASS", "REQUIRED", "DatasetError", "NpzSummary", "inspect",
           "is_file_dataset", "load", "memory_bytes"]

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
CHANNELS = (1, 3)
# Two training images per class is the least that lets a task draw a class-balanced
# pair; fewer means the class cannot be learned or tested at all.
MIN_PER_CLASS = {"train": 2, "test": 1}
_EXAMPLE = ("np.savez('my.npz', x_train=x_train, y_train=y_train, x_test=x_test, "
            "y_test=y_test)")
_LISTED = 8  # classes named in a message before "and N more"


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message names the array and the fault."""


@dataclasses.dataclass(frozen=True)
class NpzSummary:
    """What ``inspect`` learns about a valid file without reading its images.

    Attributes:
      image_shape: ``(h, w, c)``.
      image_dtype: ``"uint8"`` or a float dtype's name.
      class_names: ``k`` names.
      counts: ``{"train": (k,), "test": (k,)}`` images per class.
      array_bytes: ``{name: bytes}`` of each required array once read (from its header).
    """

    image_shape: tuple[int, int, int]
    image_dtype: str
    class_names: tuple[str, ...]
    counts: dict[str, tuple[int, ...]]
    array_bytes: dict[str, int] = dataclasses.field(default_factory=dict)


def _fail(name: str, shown, problem: str):
    raise DatasetError(f"{name} = {shown!r} is not usable: {problem}.")


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:160]}"


def _header(archive: zipfile.ZipFile, member: str, path: Path, name: str, shown):
    """Reads an npy member's shape and dtype without reading its data; the header must match the stored size."""
    info = archive.getinfo(member)
    array = member[:-4]
    try:
        with archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            offset = stream.tell()
    # A damaged member fails in many ways (a bad zip header, an unsupported compression
    # method, a bad npy header); whichever it is, the reader learns which array of which file.
    except Exception as error:  # noqa: BLE001
        _fail(name, shown, f"array '{array}' of {path} cannot be read ({_short(error)}); the file is damaged: "
                           f"write it again with {_EXAMPLE}")
    shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
    if dtype.hasobject:
        _fail(name, shown, f"array '{array}' holds Python objects (dtype {dtype}), which are never read "
                           f"(they would need pickle): write numbers as a numeric array and names as a string "
                           f"array, np.array(['cat', 'dog', ...])")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if offset + nbytes != info.file_size:
        _fail(name, shown, f"array '{array}' of {path} is damaged: its header says shape {shape} {dtype} "
                           f"({nbytes:,} bytes) but the file stores {max(info.file_size - offset, 0):,} bytes "
                           f"of it; write the file again with {_EXAMPLE}")
    return shape, dtype


def _headers(path: Path, name: str, shown) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    if path.is_dir():
        _fail(name, shown, f"{path.resolve()} is a directory; expected a .npz file, e.g. written with {_EXAMPLE}")
    if not path.is_file():
        _fail(name, shown, f"there is no file {path.resolve()} (a relative path is read from "
                           f"the working directory {Path.cwd()})")
    try:
        archive = zipfile.ZipFile(path)
    except Exception as error:  # noqa: BLE001 (not a zip at all, or its directory is damaged)
        _fail(name, shown, f"it is not a readable .npz file ({_short(error)}); "
                           f"write one with {_EXAMPLE}")
    with archive:
        members = [m for m in archive.namelist() if m.endswith(".npy")]
        return {m[:-4]: _header(archive, m, path, name, shown) for m in members}


def _check_images(headers, name, shown) -> tuple[tuple[int, int, int], str]:
    shapes = {}
    for split in ("train", "test"):
        key = f"x_{split}"
        shape, dtype = headers[key]
        if len(shape) != 4:
            hint = " (add a channel axis: x[..., None])" if len(shape) == 3 else ""
            _fail(name, shown, f"array '{key}' has shape {shape}; expected (n, h, w, c) "
                               f"images{hint}")
        n, h, w, c = shape
        if n < 1:
            _fail(name, shown, f"array '{key}' holds no images")
        if h in CHANNELS and w == c and c not in CHANNELS:
            _fail(name, shown, f"array '{key}' has shape {shape}: its images look channel-first (n, c, h, w); "
                               f"expected (n, h, w, c), e.g. x.transpose(0, 2, 3, 1)")
        if h != w:
            _fail(name, shown, f"array '{key}' holds non-square images of {h} x {w} pixels; "
                               f"the architectures need h == w")
        if c not in CHANNELS:
            _fail(name, shown, f"array '{key}' has {c} channels (shape {shape}); expected "
                               f"1 (grey) or 3 (RGB) in the last axis")
        if dtype != np.uint8 and dtype.kind != "f":
            _fail(name, shown, f"array '{key}' has dtype {dtype}; expected uint8 in [0, 255] "
                               f"or floats in [0, 1]")
        shapes[split] = (shape[1:], dtype)
    if shapes["train"][0] != shapes["test"][0]:
        _fail(name, shown, f"arrays 'x_train' and 'x_test' hold images of different shapes "
                           f"{shapes['train'][0]} and {shapes['test'][0]}")
    if shapes["train"][1] != shapes["test"][1]:
        _fail(name, shown, f"arrays 'x_train' and 'x_test' have different dtypes "
                           f"{shapes['train'][1]} and {shapes['test'][1]}")
    return shapes["train"][0], str(shapes["train"][1])


def _check_label_headers(headers, name, shown) -> None:
    for split in ("train", "test"):
        key = f"y_{split}"
        shape, dtype = headers[key]
        n = headers[f"x_{split}"][0][0]
        if len(shape) != 1:
            _fail(name, shown, f"array '{key}' has shape {shape}; expected ({n},) class "
                               f"indices, one per image of 'x_{split}'")
        if dtype.kind not in "iu":
            _fail(name, shown, f"array '{key}' has dtype {dtype}; expected integer class "
                               f"indices (e.g. y.astype(np.int64))")
        if shape[0] != n:
            _fail(name, shown, f"array '{key}' has {shape[0]} labels but 'x_{split}' has {n} "
                               f"images")


def _class_names(arrays, labels, name, shown) -> tuple[str, ...]:
    top = max(int(labels[s].max()) for s in labels)
    if "class_names" not in arrays.files:
        # Classes are 0..top, each needing MIN_PER_CLASS["train"] training images: a larger label
        # cannot be a class index, and is refused before any per-class table is made.
        n = len(labels["train"])
        most = n // MIN_PER_CLASS["train"] - 1
        if top > most:
            split = next(s for s in labels if int(labels[s].max()) == top)
            _fail(name, shown, f"array 'y_{split}' holds the label {top}; without 'class_names' the classes "
                               f"are 0..{top}, each needing at least {MIN_PER_CLASS['train']} training images, "
                               f"but 'x_train' has {n}, so labels must be at most {most}: number the classes "
                               f"0..k-1 (np.unique(y, return_inverse=True)) or add 'class_names'")
        return tuple(str(i) for i in range(top + 1))
    try:
        names = arrays["class_names"]
    except ValueError:  # an object array would need pickle, which is never allowed here
        _fail(name, shown, "array 'class_names' is not a string array; write it as "
                           "np.array(['cat', 'dog', ...])")
    if names.ndim != 1 or names.dtype.kind not in "US":
        _fail(name, shown, f"array 'class_names' has dtype {names.dtype} and shape "
                           f"{names.shape}; expected (k,) strings")
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    if any(not n.strip() for n in names) or len(set(names)) != len(names):
        shown_names = list(names[:_LISTED]) + ([f"... {len(names) - _LISTED} more"] if len(names) > _LISTED else [])
        _fail(name, shown, f"array 'class_names' = {shown_names} must hold distinct, "
                           f"non-empty names")
    if top >= len(names):
        _fail(name, shown, f"label {top} is out of range: 'class_names' names {len(names)} "
                           f"classes, so labels must be 0..{len(names) - 1}")
    return names


def _inspect(path: Path, name: str, shown) -> NpzSummary:
    headers = _headers(path, name, shown)
    missing = [key for key in REQUIRED if key not in headers]
    if missing:
        _fail(name, shown, f"missing array(s) {', '.join(repr(m) for m in missing)}; the file "
                           f"holds {sorted(headers) or 'no arrays'}, expected {list(REQUIRED)} "
                           f"and optionally 'class_names', e.g. {_EXAMPLE}")
    image_shape, image_dtype = _check_images(headers, name, shown)
    _check_label_headers(headers, name, shown)
    with np.load(path, allow_pickle=False) as arrays:
        labels = {s: _read(arrays, f"y_{s}", path, name, shown).astype(np.int64) for s in ("train", "test")}
        for split, values in labels.items():
            if values.min() < 0:
                _fail(name, shown, f"array 'y_{split}' holds the negative label "
                                   f"{int(values.min())}; labels are class indices 0..k-1")
        class_names = _class_names(arrays, labels, name, shown)
    k = len(class_names)
    if k < 2 or len(np.unique(labels["train"])) < 2:
        _fail(name, shown, f"array 'y_train' holds a single class "
                           f"({np.unique(labels['train']).tolist()}); a task needs at least two")
    counts = {s: tuple(int(c) for c in np.bincount(labels[s], minlength=k)) for s in labels}
    for split, least in MIN_PER_CLASS.items():
        short = [f"{class_names[i]!r} ({c})" for i, c in enumerate(counts[split]) if c < least]
        if short:
            listed = ", ".join(short[:_LISTED]) + (f" and {len(short) - _LISTED} more" if len(short) > _LISTED else "")
            _fail(name, shown, f"array 'y_{split}' has too few images of class(es) "
                               f"{listed}; every class needs at least {least} in the "
                               f"{split} split")
    array_bytes = {key: int(np.prod(headers[key][0])) * headers[key][1].itemsize for key in REQUIRED}
    return NpzSummary(image_shape, image_dtype, class_names, counts, array_bytes)


def _read(arrays, key: str, path, name: str, shown) -> np.ndarray:
    """One array of an open ``np.load``; a damaged member becomes a ``DatasetError`` naming it."""
    try:
        return arrays[key]
    except Exception as error:  # noqa: BLE001 (a bad CRC, a zlib error, a truncated member, ...)
        _fail(name, shown, f"array '{key}' of {path} cannot be read ({_short(error)}); the file is damaged: "
                           f"write it again with {_EXAMPLE}")


def _key(path: Path) -> tuple[str, int, int]:
    """Identifies a file's current version: a rewritten file is read again."""
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4)
def _inspect_cached(key, name, shown) -> NpzSummary:
    return _inspect(Path(key[0]), name, shown)


def inspect(path, name: str = "DATASET", shown=None) -> NpzSummary:
    """Checks a dataset file's arrays, shapes, dtypes and labels without reading images.

    Args:
      path: the ``.npz`` file.
      name: the parameter to name in errors (as the notebook spells it).
      shown: the value to show in errors; defaults to ``path`` as given.

    Returns:
      An ``NpzSummary``.

    Raises:
      DatasetError: the file is absent or malformed (the message says which array and how).
    """
    path = Path(path)
    shown = str(path) if shown is None else shown
    if not path.is_file():
        _headers(path, name, shown)  # raises, naming the resolved path
    return _inspect_cached(_key(path), name, shown)


@functools.lru_cache(maxsize=1)
def _load_cached(key, name, shown) -> dict[str, np.ndarray]:
    with np.load(key[0], allow_pickle=False) as arrays:
        out = {k: _read(arrays, k, key[0], name, shown) for k in REQUIRED}
    for split in ("train", "test"):
        images = out[f"x_{split}"]
        if images.dtype.kind == "f":
            finite = np.isfinite(images)
            if not finite.all():
                _fail(name, shown, f"array 'x_{split}' holds {int(np.sum(~finite))} NaN or "
                                   f"infinite value(s)")
            low, high = float(images.min()), float(images.max())
            if low < 0.0 or high > 1.0:
                _fail(name, shown, f"array 'x_{split}' holds floats in [{low:g}, {high:g}]; "
                                   f"float images must lie in [0, 1] (divide uint8 pixels by "
                                   f"255, or store them as uint8)")
        out[f"y_{split}"] = out[f"y_{split}"].astype(np.int64)
    for array in out.values():
        array.flags.writeable = False
    return out


def load(path, name: str = "DATASET", shown=None) -> tuple[NpzSummary, dict[str, np.ndarray]]:
    """Checks a dataset file completely and returns its summary and read-only arrays.

    Returns:
      ``(summary, arrays)`` with ``arrays`` keyed ``x_train`` (images as stored, uint8 or
      float), ``y_train`` (int64), ``x_test``, ``y_test``.

    Raises:
      DatasetError: as ``inspect``, or images out of range or not finite.
    """
    summary = inspect(path, name, shown)
    path = Path(path)
    shown = str(path) if shown is None else shown
    return summary, _load_cached(_key(path), name, shown)


def memory_bytes(path, name: str = "DATASET", shown=None) -> int:
    """Bytes of host memory that loading the file keeps: every array as stored (``load`` keeps them
    for the next task) plus one split's copy (``load_split`` returns copies), from the headers alone.

    Raises:
      DatasetError: as ``inspect``.
    """
    summary = inspect(path, name, shown)
    split = {s: summary.array_bytes[f"x_{s}"] + 8 * sum(summary.counts[s]) for s in ("train", "test")}  # int64 labels
    return int(sum(split.values()) + max(split.values()))


def is_file_dataset(dataset) -> bool:
    """True for a value meant as a file path rather than a built-in dataset's name."""
    return isinstance(dataset, os.PathLike) or (
        isinstance(dataset, str) and (dataset.endswith(".npz") or os.sep in dataset
                                      or Path(dataset).is_file()))
