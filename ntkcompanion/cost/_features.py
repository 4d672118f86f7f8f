"""Memory and work of the eigen-feature sections (4, 5, 7): Gram matrices, eigenvectors, batched feature attacks."""

from __future__ import annotations

from ntkcompanion.cost import _memory as m

__all__ = ["attack_work", "feature_memory", "null_work", "spectrum_work"]


def feature_memory(p, *, architecture: str, shape, n_train: int, n_test: int, outputs: int, n_models: int,
                   chunk: int, chunk_name: str = "FEATURE_CHUNK") -> list:
    """Allocations: Gram matrices, eigenvectors, and ``chunk`` of ``n_models`` models attacked at once.

    ``n_models`` models (features or predictors, columns of a coefficient matrix ``(n_train, n_models, outputs)``)
    are attacked ``chunk`` at a time, each on ``n_test`` images.
    """
    n = n_train
    return [
        m.Allocation("the train and test Gram matrices and the eigenvectors", m.F64 * (2 * n * n + n_test * n),
                     ("N_TRAIN", "N_TEST"), kept=True, host=True),
        m.Allocation("the feature coefficients and values", m.F64 * (n + n_test) * n_models * outputs,
                     ("N_TRAIN", "N_TEST"), kept=True, host=True),
        m.Allocation("one block of the analytic kernel", m.gram(n + n_test, n) +
                     m.analytic_block(architecture, shape, p["BATCH_SIZE"], n + n_test, n), ("N_TRAIN", "BATCH_SIZE")),
        m.Allocation(f"the kernel rows of {min(chunk, n_models)} attacked models at once",
                     m.kernel_rows(architecture, shape, min(chunk, n_models) * n_test, n) +
                     m.F32 * n * n_models * outputs, (chunk_name, "N_TEST")),
        m.Allocation("the eigendecomposition of the train Gram matrix", 4 * m.F64 * n * n, ("N_TRAIN",), host=True),
    ]


def spectrum_work(*, architecture, depth, shape, n_train, n_test, block=128) -> dict:
    """The analytic Gram blocks (train and test rows) and the eigendecomposition (``3 n³``)."""
    return {m.analytic_kind(architecture): m.gram_flops(architecture, depth, shape, n_train, n_test, block),
            "linalg": 3.0 * n_train ** 3}


def attack_work(*, architecture, depth, shape, n_train, n_test, n_models, steps) -> dict:
    """``steps`` attack steps (forward and input gradient) on each of ``n_models`` kernel models (``feature_attacks``).

    For fc the attacks use the closed-form kernel (``kernels.kernel_fn``): one input product per
    pair forward and one for the gradient, ``4 h w c`` FLOPs per pair and step ("pgd_fc"). Other
    architectures go through stax: the kernel's work three times (forward and backward, "pgd_stax").
    """
    return {m.attack_kind(architecture): float(n_models) * steps
            * m.attack_pair_flops(architecture, depth, shape) * n_test * n_train}


def null_work(*, n_train, n_test, n_models, outputs, n_perm) -> dict:
    r"""The label-permutation null (``decomposition.permuted_task_correctness``): the kernel products
    :math:`\Theta(x, X)\, v_i` of the ``n_models`` features once, then per permutation the projections
    :math:`V^\top Y_\pi` (``2 n² k``) and the rescaled values (``n_test m k``)."""
    return {"linalg": 2.0 * n_test * n_train * n_models
            + n_perm * (2.0 * n_train ** 2 + 2.0 * n_test * n_models) * outputs}
