"""Datasets for the companion: embedded MNIST, pinned full datasets, and a reader's own files.

``load_task`` is the entry point notebooks use; ``load_split`` returns whole splits;
``describe`` tells a dataset's image shape, classes and per-class counts without
loading it (``dataset_info``: the same, cached per file version); ``require_local`` checks offline that its files are present.
The default dataset, ``"mnist_embedded"``, is real MNIST shipped inside the package
(the complete official test set of 10,000 images and a class-balanced training subset
of 10,000), so the default book builds with no network. MNIST, Fashion-MNIST and
CIFAR-10 are fetched with pooch into ``data_dir()`` and checked against pinned
SHA-256 hashes on every use. ``DATASET`` may also be the path of an ``.npz`` file with
``x_train``, ``y_train``, ``x_test``, ``y_test`` and optional ``class_names``.
"""

from ntkcompanion.data._describe import (DatasetInfo, MissingDataError, dataset_info, describe, memory_bytes,
                                         require_local)
from ntkcompanion.data._files import DataCacheNotice, DataIntegrityError, data_dir
from ntkcompanion.data._npz import DatasetError
from ntkcompanion.data._readers import embedded_provenance, load_split
from ntkcompanion.data._registry import CLASS_NAMES, DATASETS
from ntkcompanion.data._task import Task, load_task

__all__ = [
    "DATASETS",
    "CLASS_NAMES",
    "DataCacheNotice",
    "DataIntegrityError",
    "DatasetError",
    "DatasetInfo",
    "MissingDataError",
    "Task",
    "data_dir",
    "dataset_info",
    "describe",
    "embedded_provenance",
    "load_split",
    "load_task",
    "memory_bytes",
    "require_local",
]
