"""Section 4, eigen-features: usefulness and robustness of every eigen-feature of the NTK predictor.

Largest allocations: the ``N_TRAIN × N_TRAIN`` Gram matrix, its eigenvectors and the feature
coefficients, and the kernel rows of ``FEATURE_CHUNK`` features attacked at once.
"""

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

SECTION = "04_eigen_features"

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=60, meaning="training images, which is also the number of eigen-features"),
    c.n_test(default=40, meaning="test images on which usefulness and robustness are measured"),
    c.architecture(),
    c.depth(),
    c.eps(),
    c.attack_step_size(),
    c.attack_steps(low=0, meaning="PGD iterations, or 0 to run FGSM only"),
    Param("PGD_EVERY", "int", "PGD attacks every this-many-th feature by eigen-index; FGSM attacks all", low=1,
          high=c.MAX_IMAGES, default=1),
    c.block("FEATURE_CHUNK", 32, "features attacked per batch: bounds memory"),
    c.fraction("USEFUL_MARGIN", 0.05, "useful: clean accuracy above the majority-class rate plus this margin"),
    c.fraction("NON_ROBUST_MAX", 0.05, "non-robust: accuracy under attack at most this"),
    c.fraction("RCOND", 1e-5, "features with eigenvalue below RCOND times the largest are unresolved"),
    c.fraction("ALPHA", 0.01, "significance level of the rank-correlation test", low_open=True, high_open=True),
    Param("N_BINS", "int", "bins of eigen-indices for the binned curves (at most N_TRAIN)", low=1, high=100,
          default=20),
    Param("N_EXAMPLES", "int", "features of each kind shown as pictures (at most N_TRAIN)", low=1, high=16,
          default=4),
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
    at_most("N_BINS", "N_TRAIN"),
    at_most("N_EXAMPLES", "N_TRAIN"),
]


def memory(p) -> list:
    return c.feature_memory(p, architecture=p["ARCHITECTURE"], shape=c.image_shape(p), n_train=p["N_TRAIN"],
                            n_test=p["N_TEST"], outputs=c.n_outputs(p), n_models=p["N_TRAIN"],
                            chunk=p["FEATURE_CHUNK"])


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    n = p["N_TRAIN"]
    pgd_models = -(-n // p["PGD_EVERY"]) if p["ATTACK_STEPS"] else 0
    common = dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], shape=c.image_shape(p), n_train=n,
                  n_test=p["N_TEST"])
    return (c.feature_flops(p, **common, n_models=n, steps=1)
            + c.feature_flops(p, **common, n_models=pgd_models, steps=p["ATTACK_STEPS"]))
