"""Section 1, the NTK primer: kernel Gram matrices, empirical-vs-analytic NTK over widths, kernel regression.

Its work and memory are modelled in ``ntkcompanion.cost._s01``.
"""

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "01_ntk_primer"
MAX_WIDTH = 1_000_000

PARAMETERS = [
    c.dataset(),
    c.classes(default=(0, 1)),
    c.n_train(default=100, meaning="training images for kernel regression"),
    c.n_test(default=100),
    c.architectures(meaning="architectures whose kernels are compared"),
    c.depth(default=2),
    Param("WIDTHS", "list", "finite widths compared with the infinite-width kernel",
          item=Param("width", "int", "", low=1, high=MAX_WIDTH), max_len=32, increasing=True, default=[16, 64, 256]),
    Param("N_KERNEL", "int", "images on which the empirical and analytic NTK are compared (at most N_TRAIN)",
          unit="images", low=2, high=c.MAX_IMAGES, default=16),
    Param("N_SEEDS", "int", "random initialisations per width", low=1, high=c.MAX_SEEDS, default=2),
    c.block("BATCH_SIZE", 64, "block size of the analytic kernels; the empirical NTK uses the largest block up to it that fits in memory"),
    c.seed(),
    c.output_dir(SECTION),
]

CHECKS = [
    *c.task_checks(depth=("ARCHITECTURES", "DEPTH")),
    at_most("N_KERNEL", "N_TRAIN"),
]
