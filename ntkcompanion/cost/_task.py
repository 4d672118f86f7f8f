"""The few facts about a run's dataset that its cost depends on: image shape, classes, model outputs."""

from __future__ import annotations


from ntkcompanion import data
from ntkcompanion.cost import _memory as m

__all__ = ["dataset_memory", "image_shape", "n_classes", "n_outputs"]


def image_shape(p) -> tuple:
    """``(h, w, c)`` of the run's dataset ``p["DATASET"]``."""
    return tuple(data.dataset_info(p["DATASET"]).image_shape)


def n_classes(p) -> int:
    """Classes of the run's dataset."""
    return len(data.dataset_info(p["DATASET"]).class_names)


def n_outputs(p, name: str = "CLASSES") -> int:
    """Outputs of the task's models: 1 for two classes (±1 targets), else the number of classes (one-hot)."""
    n = len(data.dataset_info(p["DATASET"]).class_ids(p[name], name))
    return 1 if n == 2 else n


def dataset_memory(p) -> list:
    """The dataset as the readers keep it (``data.memory_bytes``): one kept host allocation, shrunk by ``DATASET``.

    Every section holds its dataset while it runs, so every section's memory counts it: a user's
    ``.npz`` whose headers promise 4,000 × 4,000 images shows in the estimate before it is read.
    """
    if "DATASET" not in p:
        return []
    return [m.Allocation(f"the dataset {p['DATASET']!r} as read", float(data.memory_bytes(p["DATASET"])),
                         ("DATASET",), kept=True, host=True)]
