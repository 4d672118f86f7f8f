"""What a dataset is, without loading it: ``describe`` and ``require_local``.

A dataset is a built-in name (``DATASETS``) or a path to an ``.npz`` file (see
``_npz``). ``describe`` returns image shape, class names and per-class counts, from
the registry and the embedded data's provenance for built-ins (no file read beyond a
small JSON) and from the arrays' headers and labels for a file, so a section can
bound ``N_TRAIN``/``N_TEST`` and resolve ``CLASSES`` before any heavy work.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import functools
import numbers
import os
from pathlib import Path

import numpy as np

from ntkcompanion.data import _files, _npz
from ntkcompanion.data._registry import (CLASS_COUNTS, CLASS_NAMES, DATASETS, IMAGE_SHAPES, REGISTRY,
                                         embedded_provenance)

__all__ = ["DatasetInfo", "MissingDataError", "describe", "memory_bytes", "require_local"]

SPLITS = ("train", "test")


class MissingDataError(_files.DataIntegrityError):
    """Files a dataset needs are not on this machine (and will not be downloaded)."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Metadata of one dataset.

    Attributes:
      dataset: the built-in name, or the file path as given.
      builtin: whether it is one of ``DATASETS``.
      image_shape: ``(h, w, c)`` of every image.
      class_names: ``k`` names; a class's index is its position here.
      train_counts, test_counts: ``(k,)`` images of each class per split.
    """

    dataset: str
    builtin: bool
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    train_counts: tuple[int, ...]
    test_counts: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def available(self, split: str, class_ids: Sequence[int] | None = None) -> int:
        """Number of images of the given classes (all if None) in ``split``."""
        counts = self.train_counts if split == "train" else self.test_counts
        ids = range(self.n_classes) if class_ids is None else class_ids
        return int(sum(counts[i] for i in ids))

    def check_available(self, split: str, class_ids: Sequence[int] | None, n: int, name: str,
                        classes: str | None = None) -> None:
        """The one availability rule: ``n`` images of ``split`` exist among the given classes (all if None).

        Args:
          split: ``"train"`` or ``"test"``.
          class_ids: resolved class indices (``class_ids()``), or None for every class.
          n: images asked for.
          name: the count's parameter (``N_TRAIN``), named in the error.
          classes: how the classes were chosen, for the error (``"CLASSES = [3, 5]"``).

        Raises:
          ValueError: ``N_TRAIN = 2100 is not allowed: expected at most 2000: the train split of ...``.
        """
        available = self.available(split, class_ids)
        if n > available:
            ids = range(self.n_classes) if class_ids is None else class_ids
            chosen = (f"all {self.n_classes} classes" if len(ids) == self.n_classes and len(ids) > 10
                      else f"classes {[self.class_names[c] for c in ids]}")
            raise ValueError(f"{name} = {n} is not allowed: expected at most {available}: the {split} split of "
                             f"{self.dataset!r} has only {available} examples of {chosen}"
                             + (f" ({classes})" if classes else "") + ".")

    def class_ids(self, classes, name: str = "CLASSES") -> tuple[int, ...]:
        """Resolves class indices or names to indices.

        Args:
          classes: indices or names (``[3, 5]``, ``["airplane", "automobile"]``), at
            least two, no repeats; ``None`` or empty for all classes. A string that is a
            class name is a name, so ``"3"`` is the class named "3".
          name: the parameter to name in errors (``CLASSES``, ``BINARY_CLASSES``, ...).

        Returns:
          The class indices, in the given order.
        """
        names = self.class_names
        if classes is None:
            return tuple(range(len(names)))
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence | np.ndarray):
            raise ValueError(f"{name} = {classes!r} is not allowed: expected a list of class "
                             f"indices or names, e.g. [0, 1] or {list(names[:2])}, or [] for "
                             f"all.")
        if len(classes) == 0:
            return tuple(range(len(names)))
        resolved = []
        for item in classes:
            if isinstance(item, str) and item in names:
                resolved.append(names.index(item))
            elif (isinstance(item, numbers.Integral) and not isinstance(item, bool)
                  and 0 <= item < len(names)):
                resolved.append(int(item))
            else:
                raise ValueError(f"{name} = {list(classes)!r} is not allowed: {item!r} is not "
                                 f"a class of {self.dataset!r}; expected indices "
                                 f"0..{len(names) - 1} or names {list(names)}.")
        if len(set(resolved)) != len(resolved):
            raise ValueError(f"{name} = {list(classes)!r} is not allowed: each class may "
                             f"appear only once.")
        if len(resolved) < 2:
            raise ValueError(f"{name} = {list(classes)!r} is not allowed: a task needs at "
                             f"least two classes (or [] for all {len(names)}).")
        return tuple(resolved)


def _embedded_counts() -> dict[str, tuple[int, ...]]:
    counts = embedded_provenance()["counts"]
    return {s: tuple(int(counts[s][str(d)]) for d in range(10)) for s in SPLITS}


def _bad_name(dataset, name: str):
    raise ValueError(f"{name} = {dataset!r} is not allowed: expected one of "
                     f"{', '.join(repr(d) for d in DATASETS)}, or the path of an .npz file "
                     f"with x_train, y_train, x_test, y_test.")


def describe(dataset, name: str = "DATASET") -> DatasetInfo:
    """Returns a dataset's image shape, class names and per-class counts, cheaply.

    Args:
      dataset: a built-in name or a path (``str`` or ``os.PathLike``) to an ``.npz``.
      name: the parameter to name in errors.

    Returns:
      A ``DatasetInfo``.

    Raises:
      ValueError: an unknown name; ``DatasetError`` (a ValueError) for a missing or
        malformed file, naming the array and the fault.

    Example:
      >>> info = describe("mnist_embedded")
      >>> info.image_shape, info.available("test", [0, 1])
      ((28, 28, 1), 2115)
    """
    if isinstance(dataset, str) and dataset in DATASETS:
        counts = _embedded_counts() if dataset == "mnist_embedded" else CLASS_COUNTS[dataset]
        return DatasetInfo(dataset, True, IMAGE_SHAPES[dataset], CLASS_NAMES[dataset],
                           counts["train"], counts["test"])
    if not _npz.is_file_dataset(dataset):
        _bad_name(dataset, name)
    shown = os.fspath(dataset)
    summary = _npz.inspect(dataset, name, shown)
    return DatasetInfo(shown, False, summary.image_shape, summary.class_names,
                       summary.counts["train"], summary.counts["test"])


def memory_bytes(dataset, name: str = "DATASET") -> int:
    """Bytes of host memory that reading the dataset for a task keeps, from metadata alone (nothing is loaded).

    Images as stored (uint8 for built-ins) and int64 labels: for a file, every array (kept
    for the next task) plus one split's copy; for ``"mnist_embedded"`` both splits (kept) plus
    one copy; for the other built-ins one split at a time. The memory check adds this to a
    section's own allocations, so a file whose header promises 300 × 4000 × 4000 images is
    refused before it is read.

    Raises:
      ValueError / DatasetError: as ``describe``.
    """
    info = describe(dataset, name)
    if not info.builtin:
        return _npz.memory_bytes(dataset, name, os.fspath(dataset))
    per_image = int(np.prod(info.image_shape)) + 8
    split = [per_image * info.available(s) for s in SPLITS]
    return int(sum(split) + max(split)) if dataset == "mnist_embedded" else int(max(split))


def require_local(dataset, name: str = "DATASET") -> list[Path]:
    """Checks, without network and within seconds, that a dataset's files are here.

    For a full built-in dataset its published files must be in
    ``data_dir() / dataset`` (presence only; hashes are verified when loaded); the
    embedded one ships with the package; a file dataset must exist and be well formed.

    Args:
      dataset: as for ``describe``.
      name: the parameter to name in errors.

    Returns:
      The paths of the files found (empty for the embedded dataset).

    Raises:
      MissingDataError: naming every missing file and the directory to place it in.
    """
    if isinstance(dataset, str) and dataset in DATASETS:
        if dataset == "mnist_embedded":
            return []
        folder = _files.data_dir() / dataset
        missing = _files.missing_files(dataset)
        if missing:
            sources = "; ".join(f"{m} from {REGISTRY[dataset][m].url}" for m in missing)
            raise MissingDataError(
                f"{name} = {dataset!r} needs file(s) that are not on this machine: "
                f"{', '.join(missing)}. Place them, with these names, in {folder} (or set "
                f"NTKCOMPANION_DATA_DIR to a directory holding {dataset}/<file>); they are "
                f"checked against pinned SHA-256 hashes. Sources: {sources}. With network "
                f"access they are downloaded on first use instead.")
        return [folder / f for f in REGISTRY[dataset]]
    if not _npz.is_file_dataset(dataset):
        _bad_name(dataset, name)
    path = Path(dataset)
    if not path.is_file():
        raise MissingDataError(f"{name} = {os.fspath(dataset)!r} is not usable: there is no "
                               f"file {path.resolve()} (a relative path is read from the "
                               f"working directory {Path.cwd()}).")
    describe(dataset, name)
    return [path]


@functools.lru_cache(maxsize=16)
def _describe_version(dataset: str, stamp) -> DatasetInfo:
    return describe(dataset)


def dataset_info(dataset: str) -> DatasetInfo:
    """:func:`describe`, cached per file version (an ``.npz`` rewritten in place is read again).

    Parameter checks and the cost model ask for a run's classes and image shape many times; this
    reads the file's headers once.
    """
    stamp = os.stat(dataset).st_mtime_ns if os.path.isfile(dataset) else None
    return _describe_version(dataset, stamp)
