"""Section 2, training-free attacks: FGSM, PGD and a random-sign control against kernel predictors.

Every budget of ``EPS_LIST`` (with 0 and ``EPS``) is attacked on a binary and an all-class task.
Largest allocations: the Gram matrices of the all-class task (``N_TRAIN_MULTI`` squared), the
kernel rows of one attack batch (``BATCH_SIZE`` test images against a chunk of training images)
and the bootstrap over test points behind the curves' intervals.
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._task import image_shape, n_classes

__all__ = ["memory", "work"]


def _tasks(p):
    """``(architectures, n_train, n_test, outputs, knobs)`` of each task run."""
    tasks = [(p["ARCHITECTURES"], p["N_TRAIN"], p["N_TEST"], 1, ("N_TRAIN", "N_TEST"))]
    if p["MULTICLASS_ARCHITECTURES"]:
        tasks.append((p["MULTICLASS_ARCHITECTURES"], p["N_TRAIN_MULTI"], p["N_TEST_MULTI"], n_classes(p),
                      ("N_TRAIN_MULTI", "N_TEST_MULTI")))
    return tasks


def _bootstrap(p) -> float:
    """Bytes of the resampled correctness in ``evidence.bootstrap`` (its chunks hold 4e7 float64) and an index copy."""
    n_eps = len(set(p["EPS_LIST"]) | {0.0, p["EPS"]})
    largest = max(nt for _, _, nt, _, _ in _tasks(p))
    return 2 * m.F64 * min(4e7, 1000 * 3 * n_eps * largest)


def memory(p) -> list:
    shape = image_shape(p)
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


def work(p) -> dict:
    """Per task and kernel: the train Gram matrix, its Cholesky factor, and per budget the attacks.

    Per budget, in attack-step units over the test set (a kernel row and its input gradient):
    FGSM takes one and PGD ``ATTACK_STEPS``, and the FGSM, PGD and noise images are each
    classified once (half a step each); plus the clean images once.
    """
    shape = image_shape(p)
    budgets = len(set(p["EPS_LIST"]) | {p["EPS"]} - {0.0})
    out = {}
    for archs, n, nt, _, _ in _tasks(p):
        for a in archs:
            step = nt * n * m.attack_pair_flops(a, p["DEPTH"], shape)
            m.add(out, m.analytic_kind(a), m.gram_flops(a, p["DEPTH"], shape, n, 0, p["BATCH_SIZE"]))
            m.add(out, "linalg", n ** 3 / 3)
            m.add(out, m.attack_kind(a), step * (0.5 + budgets * (1 + p["ATTACK_STEPS"] + 1.5)))
    return out
