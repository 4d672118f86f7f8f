"""Section 5, learned early: robustness of the predictor along training time and of top-k predictors.

Largest allocations: the ``N_TRAIN × N_TRAIN`` Gram matrix and its eigenvectors, and the
kernel rows of ``FEATURE_CHUNK`` predictors attacked at once.
"""

from ntkcompanion.feature_attacks import ATTACKS
from ntkcompanion.parameters import Param
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

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
    Param("ATTACKS", "list", "attacks run on every predictor; the last one is the headline",
          item=Param("attack", "choice", "", choices=ATTACKS), max_len=len(ATTACKS), default=["fgsm", "pgd"]),
    c.attack_step_size(),
    c.attack_steps(),
    Param("LEARNING_RATE", "float", "gradient-flow learning rate; only its product with t matters", low=0.0,
          high=1e6, low_open=True, default=1.0),
    Param("N_TIMES", "int", "training times on a log grid set by the spectrum", low=2, high=MAX_GRID, default=12),
    Param("N_K", "int", "top-k predictors, k on a log grid from 1 to N_TRAIN", low=2, high=MAX_GRID, default=12),
    c.fraction("USEFUL_MARGIN", 0.05, "a predictor counts if its clean accuracy beats the majority-class rate by "
               "more than this"),
    c.fraction("MIN_GAP", 0.02, "a drop in robust accuracy larger than this counts as a trade-off"),
    c.fraction("RCOND", 1e-5, "relative eigenvalue cut-off that ends the time grid"),
    c.block("FEATURE_CHUNK", 32, "predictors attacked per batch: bounds memory"),
    c.block("BATCH_SIZE", 128, "kernel block size: bounds memory"),
    c.seed(),
    c.output_dir(SECTION),
]

CHECKS = [
    c.check_dataset,
    c.check_classes(),
    c.check_available("N_TRAIN", "train"),
    c.check_available("N_TEST", "test"),
    c.check_depth(),
]


def memory(p) -> list:
    return c.feature_memory(p, architecture=p["ARCHITECTURE"], shape=c.image_shape(p), n_train=p["N_TRAIN"],
                            n_test=p["N_TEST"], outputs=c.n_outputs(p), n_models=p["N_TIMES"] + p["N_K"] + 2,
                            chunk=p["FEATURE_CHUNK"])


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    steps = sum(1 if a == "fgsm" else p["ATTACK_STEPS"] for a in p["ATTACKS"])
    return c.feature_flops(p, architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=c.image_shape(p),
                           n_train=p["N_TRAIN"], n_test=p["N_TEST"], n_models=p["N_TIMES"] + p["N_K"] + 2,
                           steps=steps)
