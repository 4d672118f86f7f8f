"""Section 6, consistency: do different architectures' kernels share their eigen-features?

Largest allocations: one block of the Myrtle kernel (``MYRTLE_BATCH_SIZE`` squared pairs of
full spatial covariances), each kernel's Gram matrices and eigenvectors, and the kernel rows of
``FEATURE_CHUNK`` features attacked at once.
"""

from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

SECTION = "06_consistency"
DOWNSAMPLES = (1, 2, 4)

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=30, meaning="training images, which is also the number of eigen-features of each kernel"),
    c.n_test(default=20, low=2, meaning="test images on which features are compared, and usefulness and "
             "robustness measured"),
    Param("DOWNSAMPLE", "choice", "images average-pooled by this factor before every kernel", choices=DOWNSAMPLES,
          default=4),
    c.architectures(default=("fc", "conv", "myrtle"), meaning="the kernels compared (at least two different ones)"),
    Param("DEPTHS", "list", "one per architecture: hidden layers for fc and conv; myrtle takes 5, 7 or 10",
          item=Param("depth", "int", "", low=1, high=64), max_len=len(c.ARCHITECTURES) * 4, default=[1, 1, 5]),
    Param("ATTACK_EVERY", "list", "one per architecture: FGSM attacks every this-many-th feature, 0 for none",
          item=Param("every", "int", "", low=0, high=c.MAX_IMAGES), max_len=len(c.ARCHITECTURES) * 4,
          default=[1, 1, 3]),
    c.eps(),
    c.block("FEATURE_CHUNK", 32, "features attacked per batch: bounds memory"),
    c.fraction("USEFUL_MARGIN", 0.05, "useful: clean accuracy above the majority-class rate plus this margin"),
    c.fraction("NON_ROBUST_MAX", 0.05, "non-robust: accuracy under attack at most this"),
    c.fraction("RCOND", 1e-5, "features with eigenvalue below RCOND times the largest are unresolved"),
    Param("TOP_K", "int", "k of the headline top-k eigenspace overlap (below N_TRAIN and N_TEST)", low=1,
          high=c.MAX_IMAGES, default=5),
    c.fraction("CONSISTENT_MIN", 0.5, "claim 4 holds if every pair of kernels shares more than this fraction of "
               "the top-k eigenspace"),
    Param("N_AGREEMENT", "int", "eigen-indices shown in the index-by-index agreement heatmap (at most N_TRAIN)",
          low=2, high=100, default=20),
    Param("N_BINS", "int", "bins of eigen-indices for the profile curves (at most N_TRAIN)", low=1, high=100,
          default=6),
    c.block("BATCH_SIZE", 64, "kernel block size for fc and conv: bounds memory"),
    c.block("MYRTLE_BATCH_SIZE", 16, "kernel block size for myrtle (full spatial covariances: keep it small, 4 to "
            "16)"),
    c.seed(),
    c.output_dir(SECTION),
]


def _check_lists(p):
    n = len(p["ARCHITECTURES"])
    for name in ("DEPTHS", "ATTACK_EVERY"):
        if len(p[name]) != n:
            fail(name, p[name], f"a list with one entry per architecture ({n})")
    kernels = list(zip(p["ARCHITECTURES"], p["DEPTHS"]))
    if len(set(kernels)) < max(2, n):
        fail("ARCHITECTURES", p["ARCHITECTURES"], f"at least two different kernels, none repeated (with DEPTHS = "
             f"{p['DEPTHS']})")


def _check_top_k(p):
    limit = min(p["N_TRAIN"], p["N_TEST"]) - 1
    if p["TOP_K"] > limit:
        fail("TOP_K", p["TOP_K"], f"at most min(N_TRAIN, N_TEST) - 1 = {limit}")


CHECKS = [
    c.check_dataset,
    c.check_classes(),
    c.check_available("N_TRAIN", "train"),
    c.check_available("N_TEST", "test"),
    _check_lists,
    c.check_depth("ARCHITECTURES", "DEPTHS"),
    _check_top_k,
    at_most("N_AGREEMENT", "N_TRAIN"),
    at_most("N_BINS", "N_TRAIN"),
]


def _shape(p):
    h, w, ch = c.image_shape(p)
    s = p["DOWNSAMPLE"]
    return (h // s, w // s, ch)


def memory(p) -> list:
    shape, n, nt, k = _shape(p), p["N_TRAIN"], p["N_TEST"], c.n_outputs(p)
    kernels = len(p["ARCHITECTURES"])
    out = [m.Allocation("every kernel's Gram matrices, eigenvectors and feature coefficients",
                        kernels * m.F64 * n * (3 * n + nt + n * k), ("N_TRAIN", "N_TEST"), kept=True, host=True)]
    for a, every in zip(p["ARCHITECTURES"], p["ATTACK_EVERY"]):
        knob = "MYRTLE_BATCH_SIZE" if a == "myrtle" else "BATCH_SIZE"
        block = p[knob]
        out.append(m.Allocation(f"one block of the {a} kernel", m.gram(n + nt, n) +
                                m.analytic_block(a, shape, block, n + nt, n), (knob,)))
        if every:
            models = -(-n // every)
            out.append(m.Allocation(f"the {a} kernel rows of {min(p['FEATURE_CHUNK'], models)} attacked features "
                                    "(or raise its ATTACK_EVERY, 0 for none, or DOWNSAMPLE)",
                                    m.kernel_rows(a, shape, min(p["FEATURE_CHUNK"], models) * nt, n),
                                    ("FEATURE_CHUNK", "N_TEST")))
    return out


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    shape, n, nt = _shape(p), p["N_TRAIN"], p["N_TEST"]
    total = 0.0
    for a, d, every in zip(p["ARCHITECTURES"], p["DEPTHS"], p["ATTACK_EVERY"]):
        total += m.kernel_flops(a, d, shape, n + nt, n) + 3.0 * n ** 3
        if every:
            total += -(-n // every) * 3 * m.kernel_flops(a, d, shape, nt, n)
    return total
