"""Datasets for the companion: an embedded MNIST subset and pinned, verified full datasets.

``load_task`` is the entry point notebooks use; ``load_split`` returns whole splits.
The default dataset, ``"mnist_embedded"``, is a class-balanced real MNIST subset
(4,000 train, 1,000 test) shipped inside the package, so the default book builds
with no network. MNIST, Fashion-MNIST and CIFAR-10 are fetched with pooch into
``data_dir()`` and checked against pinned SHA-256 hashes on every use.
"""

from ntkcompanion.data._files import DataIntegrityError, data_dir
from ntkcompanion.data._readers import embedded_provenance, load_split
from ntkcompanion.data._registry import CLASS_NAMES, DATASETS
from ntkcompanion.data._task import Task, load_task

__all__ = [
    "DATASETS",
    "CLASS_NAMES",
    "DataIntegrityError",
    "Task",
    "data_dir",
    "embedded_provenance",
    "load_split",
    "load_task",
]
