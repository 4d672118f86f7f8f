"""Section 2, training-free attacks: FGSM, PGD and a random-sign control against kernel predictors.

Every budget of ``EPS_LIST`` (with 0 and ``EPS``) is attacked on a binary and an all-class task.

Its work and memory are modelled in ``ntkcompanion.cost._s02``.
"""

import dataclasses

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS"]

SECTION = "02_training_free_attacks"

PARAMETERS = [
    c.dataset(),
    c.classes(meaning="the binary task: two classes (first -1, second +1), indices or names", min_len=2,
              max_len=2, allow_empty=False),
    c.n_train(default=60, low=1, meaning="training images of the binary task"),
    c.n_test(default=20, meaning="test images attacked on the binary task"),
    c.architectures(meaning="kernels attacked on the binary task (myrtle: a GPU job)"),
    c.architectures("MULTICLASS_ARCHITECTURES", ("fc",), allow_empty=True,
                    meaning="kernels also attacked on a task with all the dataset's classes; [] skips that task"),
    Param("N_TRAIN_MULTI", "int", "training images of the all-class task", unit="images", low=1,
          high=c.MAX_IMAGES, default=200),
    Param("N_TEST_MULTI", "int", "test images of the all-class task", unit="images", low=1, high=c.MAX_IMAGES,
          default=50),
    c.depth(default=2),
    Param("EPS_LIST", "list", "budgets of the accuracy-vs-epsilon curves (0 and EPS are added)",
          item=Param("eps", "float", "", low=0.0, high=c.MAX_L2_EPS), max_len=64, increasing=True, default=[0.05, 0.2]),
    dataclasses.replace(c.eps(0.1, with_norm=True), low_open=True,
                        meaning="headline attack radius: adversarial images, the table (8/255 on CIFAR-10)"),
    c.attack_steps(meaning="PGD iterations (FGSM is a single step of size epsilon)"),
    dataclasses.replace(c.attack_step_size(0.025),
                        meaning="PGD step size at EPS; at other budgets scaled in proportion to epsilon"),
    c.norm(),
    Param("N_SHOW", "int", "test images in the figure of adversarial examples (at most N_TEST)", unit="images",
          low=1, high=32, default=6),
    Param("SEED", "int", "seed of the data subsample and of the random signs", low=0, high=2**31 - 1, default=0),
    c.block("BATCH_SIZE", 100, "kernel block size and test images per attack batch: bounds memory"),
    c.output_dir(SECTION),
]


def _multi(check):
    """Runs ``check`` only when the all-class task is run."""
    def run(p):
        if p["MULTICLASS_ARCHITECTURES"]:
            check(p)
    return run


CHECKS = [
    c.check_dataset,
    c.check_classes(sizes="binary"),
    c.check_available("N_TRAIN", "train"),
    c.check_available("N_TEST", "test"),
    _multi(c.check_available("N_TRAIN_MULTI", "train", None)),
    _multi(c.check_available("N_TEST_MULTI", "test", None)),
    c.check_depth("ARCHITECTURES", "DEPTH"),
    c.check_depth("MULTICLASS_ARCHITECTURES", "DEPTH"),
    c.check_eps("EPS_LIST", "EPS"),
    at_most("N_SHOW", "N_TEST"),
]


