"""Section 3, transfer: attacks on the NTK predictor against finite networks trained by gradient descent.

Largest allocations: the empirical NTK of the widest network (blocks of ``NTK_BATCH_SIZE``
images, each holding ``NTK_BATCH_SIZE × parameters`` floats per Jacobian), the networks'
full-batch activations, the Gram matrices.
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._s01 import forward_flops
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["memory", "work"]


def memory(p) -> list:
    shape = image_shape(p)
    n, nt, a, k = p["N_TRAIN"], p["N_TEST"], p["ARCHITECTURE"], n_outputs(p)
    width = max(p["WIDTHS"])
    params = m.n_params(a, p["DEPTH"], width, shape, k)
    acts = m.activations(a, p["DEPTH"], width, shape)
    batch = p["BATCH_SIZE"] or n
    return [
        m.Allocation("the images, five attacked test sets and the Gram matrices", m.F32 * (n + 6 * nt)
                     * shape[0] * shape[1] * shape[2] + m.F64 * n * (3 * n + nt + p["N_EVAL"]), ("N_TRAIN", "N_TEST"),
                     kept=True, host=True),
        m.Allocation("one block of the analytic kernel", m.gram(n + nt, n) +
                     m.analytic_block(a, shape, p["KERNEL_BATCH_SIZE"], n + nt, n), ("N_TRAIN", "KERNEL_BATCH_SIZE")),
        m.Allocation(f"the empirical NTK of the widest network (width {width}, {params:,} parameters)",
                     4 * m.F32 * params + m.empirical_ntk_memory(params, acts, p["N_EVAL"], p["NTK_BATCH_SIZE"], k),
                     ("NTK_BATCH_SIZE", "WIDTHS")),
        m.Allocation(f"training the widest network (width {width}) on {batch} images at once",
                     4 * m.F32 * params + 3 * m.F32 * batch * acts,
                     ("WIDTHS", "N_TRAIN" if batch == n else "BATCH_SIZE")),
        m.Allocation("evaluating the widest network on the test images", 4 * m.F32 * params
                     + 2 * m.F32 * nt * acts, ("WIDTHS", "N_TEST")),
        m.Allocation("the kernel rows of the attacked test images", m.kernel_rows(a, shape, nt, n),
                     ("N_TEST", "N_TRAIN")),
    ]


def work(p) -> dict:
    """The analytic kernel and its solves; per width and seed (``N_SEEDS``: the factor to change when the
    seeds change) training, evaluation on the attacked sets and the empirical NTK on ``N_EVAL`` images;
    PGD against f_t and f_inf and the RBF control."""
    shape = image_shape(p)
    n, nt, a, k = p["N_TRAIN"], p["N_TEST"], p["ARCHITECTURE"], n_outputs(p)
    out = {m.analytic_kind(a): m.gram_flops(a, p["DEPTH"], shape, n, nt, p["KERNEL_BATCH_SIZE"]),
           "linalg": 3.0 * n ** 3}
    for w in p["WIDTHS"]:
        params = m.n_params(a, p["DEPTH"], w, shape, k)
        forward = forward_flops(a, p["DEPTH"], w, shape) * k
        m.add(out, m.train_kind(a), p["N_SEEDS"] * (3.0 * n * forward * p["TRAIN_STEPS"] + 6.0 * nt * forward))
        # The empirical NTK at initialisation and after training, on N_EVAL images.
        m.add(out, m.empirical_kind(a), p["N_SEEDS"] * 2 * m.empirical_ntk_flops(
            forward_flops(a, p["DEPTH"], w, shape), params, p["N_EVAL"], p["NTK_BATCH_SIZE"], k))
    d = shape[0] * shape[1] * shape[2]
    m.add(out, m.attack_kind(a), 2 * p["ATTACK_STEPS"] * nt * n * m.attack_pair_flops(a, p["DEPTH"], shape))
    m.add(out, "linalg", 3 * p["ATTACK_STEPS"] * 2.0 * nt * n * d)
    return out
