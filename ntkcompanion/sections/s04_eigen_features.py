"""Section 4, eigen-features: usefulness and robustness of the NTK's eigen-features, one by one and in groups.

The features attacked are the ``N_LEADING`` leading ones and ``N_SAMPLED`` sampled from the rest
(``feature_attacks.sample_features``), plus the head and tail group predictors. Its work and memory
are modelled in ``ntkcompanion.cost._s04``.
"""

from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "04_eigen_features"
MAX_PERMUTATIONS = 1_000

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=60, meaning="training images, which is also the number of eigen-features"),
    c.n_test(default=40, meaning="test images on which usefulness and robustness are measured"),
    c.architecture(),
    c.depth(),
    c.eps(),
    c.attack_step_size(),
    c.attack_steps(meaning="PGD iterations of the attack that measures robustness"),
    Param("N_LEADING", "int", "features attacked exactly, from the largest eigenvalue down", low=0,
          high=c.MAX_IMAGES, default=16),
    Param("N_SAMPLED", "int", "features attacked from the rest: one drawn (seeded) from each of this many "
          "strata of consecutive eigen-indices", low=0, high=c.MAX_IMAGES, default=16),
    Param("HEAD_K", "int", "features in the head group Σ_(i≤k) φ_i; the tail holds the rest", low=1,
          high=c.MAX_IMAGES, default=10),
    Param("N_PERMUTATIONS", "int", "label-permuted tasks of the control for 'useful'", low=1,
          high=MAX_PERMUTATIONS, default=20),
    c.block("FEATURE_CHUNK", 32, "features attacked per batch: bounds memory"),
    c.fraction("RCOND", 1e-5, "features with eigenvalue below RCOND times the largest are unresolved"),
    Param("N_BINS", "int", "bins of eigen-indices for the binned curves (at most N_TRAIN)", low=1, high=100,
          default=20),
    Param("N_EXAMPLES", "int", "features of each kind shown as pictures (at most N_TRAIN)", low=1, high=16,
          default=4),
    c.block("BATCH_SIZE", 128, "kernel block size: bounds memory"),
    c.seed(),
    c.output_dir(SECTION),
]


def _some_attacked(p):
    if p["N_LEADING"] + p["N_SAMPLED"] == 0:
        fail("N_SAMPLED", p["N_SAMPLED"], "at least 1 when N_LEADING = 0 (some feature must be attacked)")


CHECKS = [
    *c.task_checks(),
    at_most("N_BINS", "N_TRAIN"),
    at_most("N_EXAMPLES", "N_TRAIN"),
    at_most("HEAD_K", "N_TRAIN", offset=-1),
    at_most("N_LEADING", "N_TRAIN"),  # the features there are; more would be clamped
    _some_attacked,
]


derive = c.feature_derive  # the notebook's call options: spectrum and attack
