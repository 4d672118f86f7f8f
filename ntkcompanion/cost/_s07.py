"""Section 7, seeing features: confirmed useful non-robust eigen-features pictured, on a binary and a multi-class task.

Largest allocations: per task, the ``N_TRAIN × N_TRAIN`` Gram matrix, its eigenvectors and
the feature coefficients (times the classes for the multi-class task), and the kernel rows
of ``FEATURE_CHUNK`` features attacked at once.
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._features import attack_work, feature_memory, null_work, spectrum_work
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["memory", "work"]

TASKS = ("BINARY_CLASSES", "MULTI_CLASSES")


def _attacked(p) -> int:
    return min(p["N_TRAIN"], p["N_LEADING"] + p["N_SAMPLED"])


def memory(p) -> list:
    out = []
    for name in TASKS:
        out += feature_memory(p, architecture=p["ARCHITECTURE"], shape=image_shape(p), n_train=p["N_TRAIN"],
                              n_test=p["N_TEST"], outputs=n_outputs(p, name), n_models=_attacked(p),
                              chunk=p["FEATURE_CHUNK"])
    return out


def work(p) -> dict:
    """Per task (binary and multi-class): the spectrum, the attacks on the attacked features and the
    label-permutation null (for the binary task also the tail group's: one more model)."""
    common = dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=image_shape(p), n_train=p["N_TRAIN"],
                  n_test=p["N_TEST"])
    out = {}
    for name in TASKS:
        outputs = n_outputs(p, name)
        null = null_work(n_train=p["N_TRAIN"], n_test=p["N_TEST"], n_models=_attacked(p) + (outputs == 1),
                         outputs=outputs, n_perm=p["N_PERMUTATIONS"])
        for part in (spectrum_work(**common, block=p["BATCH_SIZE"]), null,
                     attack_work(**common, n_models=_attacked(p), steps=max(1, p["ATTACK_STEPS"]) + 1)):
            for kind, flops in part.items():
                m.add(out, kind, flops)
    return out
