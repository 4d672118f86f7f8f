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
the arrays' headers and the labels alone (cheap even for large files); ``load`` also
reads the images and checks their range. Errors are ``DatasetError`` naming the
parameter (``DATASET`` in a notebook), the array and what is wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
import zipfile

import numpy as np

__all__ = ["CHANNELS", "MIN_PER_CLASS", "REQUIRED", "DatasetError", "NpzSummary", "inspect",
           "is_file_dataset", "load"]

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
CHANNELS = (1, 3)
# Two training images per class is the least that lets a task draw a class-balanced
# pair; fewer means the class cannot be learned or tested at all.
MIN_PER_CLASS = {"train": 2, "test": 1}
_EXAMPLE = ("np.savez('my.npz', x_train=x_train, y_train=y_train, x_test=x_test, "
            "y_test=y_test)")


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
    """

    image_shape: tuple[int, int, int]
    image_dtype: str
    class_names: tuple[str, ...]
    counts: dict[str, tuple[int, ...]]


def _fail(name: str, shown, problem: str):
    raise DatasetError(f"{name} = {shown!r} is not usable: {problem}.")


def _header(archive: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], np.dtype]:
    """Reads an npy member's shape and dtype without reading its data."""
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _headers(path: Path, name: str, shown) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    if not path.is_file():
        _fail(name, shown, f"there is no file {path.resolve()} (a relative path is read from "
                           f"the working directory {Path.cwd()})")
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.endswith(".npy")]
            return {m[:-4]: _header(archive, m) for m in members}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        _fail(name, shown, f"it is not a readable .npz file ({type(error).__name__}: {error}); "
                           f"write one with {_EXAMPLE}")


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
        _fail(name, shown, f"array 'class_names' = {list(names)} must hold distinct, "
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
        labels = {s: arrays[f"y_{s}"].astype(np.int64) for s in ("train", "test")}
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
            _fail(name, shown, f"array 'y_{split}' has too few images of class(es) "
                               f"{', '.join(short)}; every class needs at least {least} in the "
                               f"{split} split")
    return NpzSummary(image_shape, image_dtype, class_names, counts)


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
        out = {k: arrays[k] for k in REQUIRED}
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


def is_file_dataset(dataset) -> bool:
    """True for a value meant as a file path rather than a built-in dataset's name."""
    return isinstance(dataset, os.PathLike) or (
        isinstance(dataset, str) and (dataset.endswith(".npz") or os.sep in dataset
                                      or Path(dataset).is_file()))
