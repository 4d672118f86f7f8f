"""Section 5, learned early: clean and robust accuracy of the predictor along training time, and of top-k predictors.

Largest allocations: the ``N_TRAIN × N_TRAIN`` Gram matrix and its eigenvectors, and the
kernel rows of ``FEATURE_CHUNK`` predictors attacked at once (``N_TIMES + 1`` predictors
:math:`f_t` and ``N_K`` top-k predictors, each attacked with PGD).
"""

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "05_learned_early"
MAX_GRID = 1_000

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=60),
    c.n_test(default=40),
    c.architecture(),
    c.depth(),
    c.eps(),
    c.attack_step_size(),
    c.attack_steps(meaning="PGD iterations of the attack that measures robust accuracy"),
    Param("LEARNING_RATE", "float", "gradient-flow learning rate; only its product with t matters", low=0.0,
          high=1e6, low_open=True, default=1.0),
    Param("N_TIMES", "int", "training times on a log grid set by the spectrum", low=2, high=MAX_GRID, default=12),
    Param("N_K", "int", "top-k predictors, k on a log grid from 1 to N_TRAIN", low=2, high=MAX_GRID, default=8),
    c.fraction("RCOND", 1e-5, "relative eigenvalue cut-off that ends the time grid"),
    c.block("FEATURE_CHUNK", 32, "predictors attacked per batch: bounds memory"),
    c.block("BATCH_SIZE", 128, "kernel block size: bounds memory"),
    c.seed(),
    c.output_dir(SECTION),
]

CHECKS = [
    *c.task_checks(),
    at_most("N_K", "N_TRAIN"),  # k runs over 1..N_TRAIN: more grid points than that would be merged
]


def n_models(p) -> int:
    """Predictors attacked: f_t on the grid, f_∞, and the top-k predictors."""
    return p["N_TIMES"] + 1 + p["N_K"]


derive = c.feature_derive  # the notebook's call options: spectrum and attack


def memory(p) -> list:
    return c.feature_memory(p, architecture=p["ARCHITECTURE"], shape=c.image_shape(p), n_train=p["N_TRAIN"],
                            n_test=p["N_TEST"], outputs=c.n_outputs(p), n_models=n_models(p),
                            chunk=p["FEATURE_CHUNK"])


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    common = dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=c.image_shape(p), n_train=p["N_TRAIN"],
                  n_test=p["N_TEST"])
    return (c.feature_flops(p, **common, n_models=0, steps=0)
            + c.feature_attack_flops(**common, n_models=n_models(p), steps=p["ATTACK_STEPS"] + 1))
