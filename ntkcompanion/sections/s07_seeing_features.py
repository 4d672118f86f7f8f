"""Section 7, seeing features: confirmed useful non-robust eigen-features pictured, on a binary and a multi-class task.

Its work and memory are modelled in ``ntkcompanion.cost._s07``.
"""

from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "07_seeing_features"

PARAMETERS = [
    c.dataset(),
    c.classes("BINARY_CLASSES", meaning="the binary task: two classes (first -1, second +1)", min_len=2, max_len=2,
              allow_empty=False),
    c.classes("MULTI_CLASSES", (), meaning="the multi-class task: [] for all classes, or three or more classes"),
    c.n_train(default=60, meaning="training images per task, which is also the number of eigen-features"),
    c.n_test(default=40, low=4, meaning="test images per task: half select features, half confirm them"),
    c.architecture(),
    c.depth(),
    c.eps(),
    c.attack_step_size(),
    c.attack_steps(low=0, meaning="PGD iterations, or 0 for FGSM (one step of size EPS)"),
    Param("N_LEADING", "int", "leading features (largest eigenvalues) attacked exactly", low=0, high=c.MAX_IMAGES,
          default=10),
    Param("N_SAMPLED", "int", "strata of the remaining resolved features, one feature attacked from each "
          "(seeded by SEED)", low=0, high=c.MAX_IMAGES, default=10),
    Param("N_PERMUTATIONS", "int", "label permutations (training and test labels together) of the null", low=1, high=10_000,
          default=20),
    c.block("FEATURE_CHUNK", 32, "features attacked per batch: bounds memory"),
    c.fraction("RCOND", 1e-5, "features with eigenvalue below RCOND times the largest are unresolved"),
    Param("N_IMAGES", "int", "test images pictured with their adversarial versions (at most N_TEST)",
          unit="images", low=1, high=16, default=3),
    Param("N_GALLERY", "int", "confirmed useful non-robust features in the gallery, at most (at most N_TRAIN)",
          low=1, high=64, default=10),
    c.block("BATCH_SIZE", 128, "kernel block size: bounds memory"),
    c.seed(),
    c.output_dir(SECTION),
]


def _check_attacks(p):
    if p["N_LEADING"] + p["N_SAMPLED"] < 1:
        fail("N_LEADING", p["N_LEADING"], "N_LEADING + N_SAMPLED ≥ 1 (features to attack)")


CHECKS = [
    c.check_dataset,
    c.check_classes("BINARY_CLASSES", sizes="binary"),
    c.check_classes("MULTI_CLASSES", sizes="multi"),
    c.check_available("N_TRAIN", "train", "BINARY_CLASSES"),
    c.check_available("N_TEST", "test", "BINARY_CLASSES"),
    c.check_available("N_TRAIN", "train", "MULTI_CLASSES"),
    c.check_available("N_TEST", "test", "MULTI_CLASSES"),
    c.check_depth(),
    _check_attacks,
    at_most("N_IMAGES", "N_TEST"),
    at_most("N_GALLERY", "N_TRAIN"),
    at_most("N_LEADING", "N_TRAIN", offset=-1),  # the head leaves a tail group of at least one feature
]
