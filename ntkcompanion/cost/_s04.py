"""Section 4, eigen-features: usefulness and robustness of the NTK's eigen-features, one by one and in groups.

Largest allocations: the ``N_TRAIN × N_TRAIN`` Gram matrix, its eigenvectors and the feature
coefficients, and the kernel rows of ``FEATURE_CHUNK`` features attacked at once; the
label-permutation control's correctness of every feature.
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._features import attack_work, feature_memory, null_work, spectrum_work
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["memory", "n_attacked", "work"]


def n_attacked(p) -> int:
    """Models attacked: the sampled features (at most all of them) and the two group predictors."""
    return min(p["N_LEADING"] + p["N_SAMPLED"], p["N_TRAIN"]) + 2


def memory(p) -> list:
    allocations = feature_memory(p, architecture=p["ARCHITECTURE"], shape=image_shape(p), n_train=p["N_TRAIN"],
                                 n_test=p["N_TEST"], outputs=n_outputs(p), n_models=p["N_TRAIN"],
                                 chunk=p["FEATURE_CHUNK"])
    # The control: clean correctness of every feature of each label-permuted task (booleans), and
    # one task's feature values at a time.
    allocations.append(m.Allocation("the label-permutation control",
                                    p["N_PERMUTATIONS"] * p["N_TRAIN"] * p["N_TEST"]
                                    + m.F64 * p["N_TEST"] * p["N_TRAIN"] * n_outputs(p),
                                    ("N_PERMUTATIONS", "N_TRAIN", "N_TEST"), kept=True, host=True))
    return allocations


def work(p) -> dict:
    """The spectrum, the label-permutation control (feature values of every permuted task) and the attacks
    (``ATTACK_STEPS`` steps and a final evaluation on each attacked model)."""
    n = p["N_TRAIN"]
    common = dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=image_shape(p), n_train=n,
                  n_test=p["N_TEST"])
    out = spectrum_work(**common, block=p["BATCH_SIZE"])
    m.add(out, "linalg", null_work(n_train=n, n_test=p["N_TEST"], n_models=n_attacked(p), outputs=n_outputs(p),
                                   n_perm=p["N_PERMUTATIONS"])["linalg"])
    for kind, flops in attack_work(**common, n_models=n_attacked(p), steps=p["ATTACK_STEPS"] + 1).items():
        m.add(out, kind, flops)
    return out
