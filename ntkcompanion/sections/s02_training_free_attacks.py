"""Section 2, training-free attacks: FGSM, PGD and a random-sign control against kernel predictors.

Every budget of ``EPS_LIST`` (with 0 and ``EPS``) is attacked on a binary and an all-class task.
Largest allocations: the Gram matrices of the all-class task (``N_TRAIN_MULTI`` squared), the
kernel rows of one attack batch (``BATCH_SIZE`` test images against a chunk of training images)
and the bootstrap over test points behind the curves' intervals.
"""

import dataclasses

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

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


def _tasks(p):
    """``(architectures, n_train, n_test, outputs)`` of each task run."""
    tasks = [(p["ARCHITECTURES"], p["N_TRAIN"], p["N_TEST"], 1, ("N_TRAIN", "N_TEST"))]
    if p["MULTICLASS_ARCHITECTURES"]:
        k = len(c.dataset_info(p["DATASET"]).class_names)
        tasks.append((p["MULTICLASS_ARCHITECTURES"], p["N_TRAIN_MULTI"], p["N_TEST_MULTI"], k,
                      ("N_TRAIN_MULTI", "N_TEST_MULTI")))
    return tasks


def memory(p) -> list:
    shape = c.image_shape(p)
    out = []
    for archs, n, nt, k, knobs in _tasks(p):
        out.append(m.Allocation("the fitted predictors' train Gram matrices and coefficients",
                                len(archs) * m.F64 * n * (n + k), knobs, kept=True, host=True))
        for a in archs:
            out.append(m.Allocation(f"the {a} train Gram matrix and one kernel block",
                                    m.gram(n) + m.analytic_block(a, shape, p["BATCH_SIZE"], n),
                                    (knobs[0], "BATCH_SIZE")))
            out.append(m.Allocation(f"the {a} kernel rows of one attack batch",
                                    m.kernel_rows(a, shape, min(p["BATCH_SIZE"], nt), n), ("BATCH_SIZE", knobs[0])))
            out.append(m.Allocation("the Cholesky factor of a train Gram matrix", 2 * m.F64 * n * n, knobs[:1],
                                    host=True))
        # The perturbed test images of the three kinds at EPS, kept for the figure, and one set in flight.
        out.append(m.Allocation("the perturbed test images", 4 * m.F32 * len(archs) * nt * shape[0] * shape[1]
                                * shape[2], knobs[1:], kept=True, host=True))
    out.append(m.Allocation("the bootstrap over test points", _bootstrap(p), ("N_TEST", "N_TEST_MULTI"), host=True))
    return out


def _bootstrap(p) -> float:
    """Bytes of the resampled correctness in ``evidence.bootstrap`` (its chunks hold 4e7 float64) and an index copy."""
    n_eps = len(set(p["EPS_LIST"]) | {0.0, p["EPS"]})
    largest = max(nt for _, _, nt, _, _ in _tasks(p))
    return 2 * m.F64 * min(4e7, 1000 * 3 * n_eps * largest)


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def _attack_entry_flops(architecture: str, depth: int, shape) -> float:
    """Work of one kernel entry Θ(x, x_i) inside the attacks, in the cost model's FLOP units.

    The stax kernels (conv, myrtle) as ``_memory.kernel_flops`` counts them. The closed-form FC
    kernel (``kernels.kernel_fn``) is the input product ``2 h w c`` plus a few elementwise maps per
    layer, and runs at the float32 matmul rate (``cost.CALIBRATION``: ratio 1.0), not at the median
    efficiency the cost model assumes for every counted FLOP: it is counted at that efficiency.
    """
    if architecture != "fc":
        return m.kernel_flops(architecture, depth, shape, 1, 1)
    from ntkcompanion import cost  # imported here: cost imports the section modules

    h, w, c = shape
    return (2 * h * w * c + 20 * depth) * cost.EFFICIENCY


def flops(p) -> float:
    shape = c.image_shape(p)
    budgets = len(set(p["EPS_LIST"]) | {p["EPS"]} - {0.0})
    total = 0.0
    for archs, n, nt, _, _ in _tasks(p):
        for a in archs:
            forward = nt * n * _attack_entry_flops(a, p["DEPTH"], shape)
            # Per budget, in forward passes over the test set: a gradient costs two (the kernel rows
            # and their backward product), FGSM takes one and PGD ATTACK_STEPS, and the FGSM, PGD
            # and noise images are each classified once; plus the clean images once.
            per_budget = (2 * (1 + p["ATTACK_STEPS"]) + 3) * forward
            total += m.kernel_flops(a, p["DEPTH"], shape, n, n) + n ** 3 / 3 + forward + budgets * per_budget
    return total
