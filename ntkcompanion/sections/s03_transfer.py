"""Section 3, transfer: attacks on the NTK predictor against finite networks trained by gradient descent.

The kernel side attacks f_t, f_inf and an RBF control once; every network is then only evaluated.

Its work and memory are modelled in ``ntkcompanion.cost._s03``.
"""

from ntkcompanion.lazy_training import LOSSES, OPTIMISERS
from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c

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
