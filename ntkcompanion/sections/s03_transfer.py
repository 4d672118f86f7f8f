"""Section 3, transfer: attacks on the NTK predictor against finite networks trained by gradient descent.

The kernel side attacks f_t, f_inf and an RBF control once; every network is then only evaluated.

Largest allocations: the empirical NTK of the widest network (blocks of ``NTK_BATCH_SIZE``
images, each holding ``NTK_BATCH_SIZE × parameters`` floats per Jacobian), the networks'
full-batch activations, the Gram matrices.
"""

from ntkcompanion.lazy_training import LOSSES, OPTIMISERS
from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "03_transfer"
MAX_WIDTH = 1_000_000
MAX_TRAIN_STEPS = 100_000

PARAMETERS = [
    c.dataset(),
    c.classes(),
    c.n_train(default=40),
    c.n_test(default=40, meaning="test images, all of them attacked"),
    c.architecture(),
    c.depth(),
    Param("WIDTHS", "list", "finite widths, ideally spanning two orders of magnitude or more",
          item=Param("width", "int", "", low=1, high=MAX_WIDTH), max_len=32, increasing=True, default=[8, 64, 512]),
    Param("N_SEEDS", "int", "initialisations per width", low=1, high=c.MAX_SEEDS, default=2),
    Param("TRAIN_STEPS", "int", "gradient-descent steps of every network (training time LR_SCALE / lambda_max "
          "per step)", unit="steps", low=1, high=MAX_TRAIN_STEPS, default=50),
    Param("LR_SCALE", "float", "learning rate in units of 1 / lambda_max of the NTK Gram matrix (below 2 for "
          "stability)", low=0.0, high=2.0, low_open=True, high_open=True, default=1.0),
    Param("OPTIMISER", "choice", "full-batch gradient descent or mini-batch SGD", choices=OPTIMISERS, default="gd"),
    Param("BATCH_SIZE", "int", "mini-batch size for 'sgd', a divisor of N_TRAIN; None for 'gd'", unit="images",
          low=1, high=c.MAX_IMAGES, allow_none=True, default=None),
    Param("LOSS", "choice", "the networks' loss: mse (the NTK theory's) or xent (cross-entropy)", choices=LOSSES,
          default="mse"),
    Param("CENTER", "bool", "train f(x; theta) - f(x; theta_0), so the network starts at 0 like the kernel "
          "predictor", default=True),
    c.eps(with_norm=True),
    c.attack_step_size(),
    c.attack_steps(),
    c.norm(),
    Param("N_EVAL", "int", "training images on which the empirical NTK's movement is measured (laziness; at "
          "most N_TRAIN)", unit="images", low=2, high=c.MAX_IMAGES, default=16),
    c.block("KERNEL_BATCH_SIZE", 128, "block size of the analytic kernels: bounds memory"),
    c.block("NTK_BATCH_SIZE", 16, "images per block of the empirical NTK: its Jacobian holds this many times the "
            "parameter count floats"),
    c.seed(),  # also seeds the sign-noise control
    c.output_dir(SECTION),
]


def _check_batching(p):
    if p["OPTIMISER"] == "sgd" and (p["BATCH_SIZE"] is None or p["N_TRAIN"] % p["BATCH_SIZE"]):
        fail("BATCH_SIZE", p["BATCH_SIZE"], f"a divisor of N_TRAIN = {p['N_TRAIN']} with OPTIMISER = 'sgd'")
    if p["OPTIMISER"] == "gd" and p["BATCH_SIZE"] is not None:
        fail("BATCH_SIZE", p["BATCH_SIZE"], "None with OPTIMISER = 'gd' (full batch)")


CHECKS = [
    *c.task_checks(),
    c.check_eps("EPS"),
    _check_batching,
    at_most("N_EVAL", "N_TRAIN"),
]


def memory(p) -> list:
    shape = c.image_shape(p)
    n, nt, a, k = p["N_TRAIN"], p["N_TEST"], p["ARCHITECTURE"], c.n_outputs(p)
    width = max(p["WIDTHS"])
    params = m.n_params(a, p["DEPTH"], width, shape, k)
    acts = m.activations(a, p["DEPTH"], width, shape)
    batch = p["BATCH_SIZE"] or n
    return [
        m.Allocation("the images, five attacked test sets and the Gram matrices", m.F32 * (n + 6 * nt)
                     * shape[0] * shape[1] * shape[2] + m.F64 * n * (3 * n + nt + p["N_EVAL"]), ("N_TRAIN", "N_TEST"), kept=True, host=True),
        m.Allocation("one block of the analytic kernel", m.gram(n + nt, n) +
                     m.analytic_block(a, shape, p["KERNEL_BATCH_SIZE"], n + nt, n), ("N_TRAIN", "KERNEL_BATCH_SIZE")),
        m.Allocation(f"the empirical NTK of the widest network (width {width}, {params:,} parameters)",
                     4 * m.F32 * params + m.empirical_ntk_block(params, acts, min(p["NTK_BATCH_SIZE"], p["N_EVAL"]), k),
                     ("NTK_BATCH_SIZE", "WIDTHS")),
        m.Allocation(f"training the widest network (width {width}) on {batch} images at once",
                     4 * m.F32 * params + 3 * m.F32 * batch * acts,
                     ("WIDTHS", "N_TRAIN" if batch == n else "BATCH_SIZE")),
        m.Allocation("evaluating the widest network on the test images", 4 * m.F32 * params
                     + 2 * m.F32 * nt * acts, ("WIDTHS", "N_TEST")),
        m.Allocation("the kernel rows of the attacked test images", m.kernel_rows(a, shape, nt, n),
                     ("N_TEST", "N_TRAIN")),
    ]


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    shape = c.image_shape(p)
    n, nt, a, k = p["N_TRAIN"], p["N_TEST"], p["ARCHITECTURE"], c.n_outputs(p)
    total = m.kernel_flops(a, p["DEPTH"], shape, n + nt, n) + 3.0 * n ** 3
    for w in p["WIDTHS"]:
        params = m.n_params(a, p["DEPTH"], w, shape, k)
        per_seed = (6.0 * n * params * p["TRAIN_STEPS"] + 2.0 * 6 * nt * params
                    + 2.0 * 2 * p["N_EVAL"] * params * k + 2.0 * p["N_EVAL"] ** 2 * params * k)
        total += p["N_SEEDS"] * per_seed
    # PGD against f_t and f_inf (3 kernel passes per step) and the RBF control (cheap, one matmul).
    d = shape[0] * shape[1] * shape[2]
    return (total + 2 * 3 * p["ATTACK_STEPS"] * m.kernel_flops(a, p["DEPTH"], shape, nt, n)
            + 3 * p["ATTACK_STEPS"] * 2.0 * nt * n * d)
