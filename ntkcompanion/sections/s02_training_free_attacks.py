"""Section 2, training-free attacks: FGSM and PGD against kernel predictors, on a binary and an all-class task.

Largest allocations: the Gram matrices of the all-class task (``N_TRAIN_MULTI`` squared) and
the kernel rows of one attack batch (``BATCH_SIZE`` test images against every training image).
"""

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c
from ntkcompanion.sections import _memory as m

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
    Param("EPS_LIST", "list", "budgets of the accuracy-vs-epsilon curves",
          item=Param("eps", "float", "", low=0.0, high=c.MAX_L2_EPS), max_len=64, default=[0.0, 0.05, 0.1]),
    c.eps(with_norm=True),
    c.attack_steps(meaning="PGD iterations (FGSM is a single step of size EPS)"),
    c.attack_step_size(default=0.01),
    c.norm(),
    Param("N_SHOW", "int", "test images in the figure of adversarial examples (at most N_TEST)", unit="images",
          low=1, high=32, default=6),
    c.seed(),
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
            out.append(m.Allocation("the eigendecomposition of a train Gram matrix", 4 * m.F64 * n * n, knobs[:1],
                                    host=True))
    return out


def peak_memory_bytes(p) -> float:
    return m.peak(memory(p))[0]


def flops(p) -> float:
    shape = c.image_shape(p)
    budgets = len(set(p["EPS_LIST"]) | {p["EPS"]})
    total = 0.0
    for archs, n, nt, _, _ in _tasks(p):
        for a in archs:
            step = 3 * m.kernel_flops(a, p["DEPTH"], shape, nt, n)
            total += (m.kernel_flops(a, p["DEPTH"], shape, n, n) + 3.0 * n ** 3
                      + budgets * (1 + p["ATTACK_STEPS"]) * step)
    return total
