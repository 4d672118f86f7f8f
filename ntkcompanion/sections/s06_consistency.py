"""Section 6, consistency: do different architectures' kernels share their eigen-features?

Its work and memory are modelled in ``ntkcompanion.cost._s06``.
"""

from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "06_consistency"
DOWNSAMPLES = (1, 2, 4)
# The baseline kernels (linear, RBF, NNGP) compared with the NTKs: three more spectra.
N_BASELINES = 3

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=20, meaning="training images, which is also the number of eigen-features of each kernel"),
    c.n_test(default=24, low=2, meaning="test images on which usefulness and robustness are measured"),
    Param("N_COMPARE", "int", "the first N_COMPARE test images, on which the kernels' eigenfunctions are compared "
          "(at most N_TEST)", unit="images", low=2, high=c.MAX_IMAGES, default=12),
    Param("DOWNSAMPLE", "choice", "images average-pooled by this factor before every kernel", choices=DOWNSAMPLES,
          default=4),
    c.architectures(default=("fc", "conv", "myrtle"), meaning="the NTKs compared (at least two different ones)"),
    Param("DEPTHS", "list", "one per architecture: hidden layers for fc and conv; myrtle takes 5, 7 or 10",
          item=Param("depth", "int", "", low=1, high=64), max_len=len(c.ARCHITECTURES) * 4, default=[1, 1, 5]),
    Param("ATTACKED", "list", "one per architecture: whether its features are attacked (robustness profile)",
          item=Param("attacked", "bool", ""), max_len=len(c.ARCHITECTURES) * 4, default=[True, True, True]),
    c.eps(),
    c.attack_steps(default=10, meaning="PGD iterations of every feature attack"),
    c.attack_step_size(),
    Param("ATTACK_CONTROL", "bool", "also attack the RBF baseline's features at the same indices: the control "
          "of the profile verdict", default=True),
    Param("N_LEADING", "int", "leading features (largest eigenvalues) attacked exactly", low=0,
          high=c.MAX_IMAGES, default=3),
    Param("N_SAMPLED", "int", "strata of the remaining resolved features, one feature attacked from each "
          "(seeded by SEED)", low=0, high=c.MAX_IMAGES, default=3),
    c.block("FEATURE_CHUNK", 16, "features attacked per batch: bounds memory"),
    c.block("POINT_CHUNK", 1000, "test points attacked per batch: bounds memory (keep it small for myrtle on "
            "large images)"),
    c.fraction("RCOND", 1e-5, "features with eigenvalue below RCOND times the largest are unresolved"),
    Param("TOP_K", "int", "k of the top-k eigenspace overlap (below N_TRAIN, at most N_COMPARE / 2)", low=1,
          high=c.MAX_IMAGES, default=4),
    Param("N_AGREEMENT", "int", "eigen-indices shown in the index-by-index agreement heatmap (at most N_TRAIN)",
          low=2, high=100, default=12),
    Param("N_BINS", "int", "bins of eigen-indices for the profile curves (at most N_TRAIN)", low=1, high=100,
          default=3),
    c.block("BATCH_SIZE", 64, "kernel block size for fc and conv: bounds memory"),
    c.block("MYRTLE_BATCH_SIZE", 16, "kernel block size for myrtle (full spatial covariances: keep it small, 4 to "
            "16)"),
    c.seed(),
    c.output_dir(SECTION),
]


def _check_lists(p):
    n = len(p["ARCHITECTURES"])
    for name in ("DEPTHS", "ATTACKED"):
        if len(p[name]) != n:
            fail(name, p[name], f"a list with one entry per architecture ({n})")
    kernels = list(zip(p["ARCHITECTURES"], p["DEPTHS"]))
    if len(set(kernels)) < max(2, n):
        fail("ARCHITECTURES", p["ARCHITECTURES"], f"at least two different kernels, none repeated (with DEPTHS = "
             f"{p['DEPTHS']})")


def _check_top_k(p):
    limit = min(p["N_TRAIN"] - 1, p["N_COMPARE"] // 2)
    if p["TOP_K"] > limit:
        fail("TOP_K", p["TOP_K"], f"at most min(N_TRAIN - 1, N_COMPARE // 2) = {limit} (the agreement's bootstrap "
             "needs at least two test images per eigenfunction)")


def _check_attacks(p):
    if sum(bool(a) for a in p["ATTACKED"]) < 2:
        fail("ATTACKED", p["ATTACKED"], "at least two true entries: robustness profiles are compared between kernels")
    if p["N_LEADING"] + p["N_SAMPLED"] < 1:
        fail("N_LEADING", p["N_LEADING"], "N_LEADING + N_SAMPLED ≥ 1 (features to attack)")


def _check_pool(p):
    h, w, _ = c.image_shape(p)
    side = min(h, w) // p["DOWNSAMPLE"]
    if any(a == "myrtle" for a in p["ARCHITECTURES"]) and side < 4:
        fail("DOWNSAMPLE", p["DOWNSAMPLE"], f"a factor leaving at least 4 pixels a side for myrtle's two 2x2 "
             f"poolings (images are {h}x{w})")


CHECKS = [
    *c.task_checks(depth=None),
    at_most("N_COMPARE", "N_TEST"),
    _check_lists,
    c.check_depth("ARCHITECTURES", "DEPTHS"),
    _check_top_k,
    _check_attacks,
    _check_pool,
    at_most("N_AGREEMENT", "N_TRAIN"),
    at_most("N_BINS", "N_TRAIN"),
    at_most("N_LEADING", "N_TRAIN"),  # the features there are; more would be clamped
]
