"""Section 5, learned early: clean and robust accuracy of the predictor along training time, and of top-k predictors.

Largest allocations: the ``N_TRAIN × N_TRAIN`` Gram matrix and its eigenvectors, and the
kernel rows of ``FEATURE_CHUNK`` predictors attacked at once (``N_TIMES + 1`` predictors
:math:`f_t` and ``N_K`` top-k predictors, each attacked with PGD).
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._features import attack_work, feature_memory, spectrum_work
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["memory", "n_models", "work"]


def n_models(p) -> int:
    """Predictors attacked: f_t on the grid, f_∞, and the top-k predictors."""
    return p["N_TIMES"] + 1 + p["N_K"]


def memory(p) -> list:
    return feature_memory(p, architecture=p["ARCHITECTURE"], shape=image_shape(p), n_train=p["N_TRAIN"],
                          n_test=p["N_TEST"], outputs=n_outputs(p), n_models=n_models(p), chunk=p["FEATURE_CHUNK"])


def work(p) -> dict:
    common = dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=image_shape(p), n_train=p["N_TRAIN"],
                  n_test=p["N_TEST"])
    out = spectrum_work(**common, block=p["BATCH_SIZE"])
    for kind, flops in attack_work(**common, n_models=n_models(p), steps=p["ATTACK_STEPS"] + 1).items():
        m.add(out, kind, flops)
    return out
