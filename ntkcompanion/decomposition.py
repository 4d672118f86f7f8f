r"""A task's NTK decomposition: the Gram matrices of its images and their eigendecomposition, in one object.

Every eigen-feature section starts the same way: the analytic Gram matrix of the training images
(and the kernel rows of the test images), through the content-addressed cache
(``kernels.gram``), decomposed in float64 (``features.eigendecomposition``), with the
numerically resolved features marked (``features.resolved``). :func:`decompose` does that;
:class:`Decomposition` carries the result and the coefficient builders of ``features`` bound to
it (features, top-k and head/tail groups, :math:`f_t`). :func:`permuted_task_correctness` is the
label-permutation null for *useful* built on it.

Example:
    >>> dec = decompose(task, "fc", 1)
    >>> phi = dec.values(dec.coefficients(task.y_train))     # (n_test, n_train): φ_i at the test images
"""

from typing import NamedTuple

import numpy as np

from ntkcompanion import features, kernels, losses, predictor, validate

__all__ = ["Decomposition", "decompose", "permuted_task_correctness"]


class Decomposition(NamedTuple):
    r"""The eigendecomposition of :math:`\Theta(X, X)` with the kernel rows of the test points (:func:`decompose`).

    Attributes:
      eigenvalues: ``(n_train,)``, largest first; eigenvectors: ``(n_train, n_train)``.
      resolved: ``(n_train,)`` mask of numerically resolved features (``features.resolved``); rcond: its cut-off.
      k_train_train: ``(n_train, n_train)``; k_test_train: ``(n_test, n_train)`` or ``None``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    resolved: np.ndarray
    rcond: float
    k_train_train: np.ndarray
    k_test_train: np.ndarray | None

    def coefficients(self, y_train, **kwargs):
        """:func:`features.feature_coefficients` of this decomposition."""
        return features.feature_coefficients(self.eigenvalues, self.eigenvectors, y_train, **kwargs)

    def top_k_coefficients(self, y_train, ks, **kwargs):
        """:func:`features.top_k_coefficients` of this decomposition."""
        return features.top_k_coefficients(self.eigenvalues, self.eigenvectors, y_train, ks, **kwargs)

    def head_tail(self, y_train, k, **kwargs):
        """:func:`features.head_tail_coefficients` of this decomposition."""
        return features.head_tail_coefficients(self.eigenvalues, self.eigenvectors, y_train, k, **kwargs)

    def time_coefficients(self, y_train, ts, **kwargs):
        """:func:`features.time_coefficients` of this decomposition."""
        return features.time_coefficients(self.eigenvalues, self.eigenvectors, y_train, ts, **kwargs)

    def time_grid(self, n: int = 30, *, learning_rate: float = 1.0):
        """:func:`features.time_grid` of this decomposition (ending at its smallest resolved eigenvalue)."""
        return features.time_grid(self.eigenvalues, n, learning_rate=learning_rate, rcond=self.rcond)

    def values(self, coef):
        r"""Model values at the test points, :math:`\Theta(x, X)\, C` (:func:`features.feature_values`)."""
        if self.k_test_train is None:
            raise ValueError("this decomposition has no test rows: call decompose(..., test=True).")
        return features.feature_values(self.k_test_train, coef)

    def predict(self, y_train):
        r""":math:`f_\infty` at the test points: :math:`\Theta(x, X)\, \Theta(X, X)^{-1} Y` (``predictor.coefficients``)."""
        alpha = np.asarray(predictor.coefficients(self.k_train_train, y_train), np.float64)  # (n_train[, k])
        return self.values(alpha.reshape(len(alpha), 1, -1))[:, 0].reshape((-1,) + alpha.shape[1:])


def decompose(task, architecture: str = "fc", depth: int = 1, *, batch_size: int = 128,
              rcond: float = features.RCOND, test: bool = True) -> Decomposition:
    r"""The analytic NTK of a task's training images, decomposed: the start of every eigen-feature section.

    The Gram matrices come from ``kernels.gram`` (content-addressed cache: sections that share
    data and kernel share them), the decomposition from ``features.eigendecomposition``.

    Args:
      task: anything with ``x_train`` ``(n_train, h, w, c)`` and ``x_test`` (a ``data.Task``).
      architecture, depth, batch_size: as in ``kernels.gram``.
      rcond: the cut-off of ``features.resolved``.
      test: also compute the kernel rows of the test images.

    Returns:
      :class:`Decomposition`.
    """
    options = dict(architecture=architecture, depth=depth, batch_size=batch_size)
    k_train_train = kernels.gram(task.x_train, **options)
    k_test_train = kernels.gram(task.x_test, task.x_train, **options) if test else None
    lam, v = features.eigendecomposition(k_train_train)
    return Decomposition(lam, v, features.resolved(lam, rcond), float(rcond), k_train_train, k_test_train)


def permuted_task_correctness(decomposition, y_train, y_test, index=None, n_perm: int = 20, seed: int = 0):
    r"""Clean correctness of the eigen-features of label-permuted tasks: the null for *useful*.

    Each permutation shuffles the training labels *and* the test labels against the images, and
    recomputes the features :math:`\phi_i = \Theta(x, X)\, v_i \lambda_i^{-1} v_i^\top Y_\pi`
    (the eigenvectors do not depend on the labels, so only :math:`v_i^\top Y_\pi` changes).
    Shuffling the training labels alone is not a null: the top eigenvectors still separate the
    classes, so a feature with a random sign is as often useful as anti-useful against the true
    test labels.

    Args:
      decomposition: :class:`Decomposition` with its test rows (:func:`decompose`).
      y_train: ``(n_train,)`` ±1 or ``(n_train, k)`` one-hot; y_test: the same for the test points.
      index: eigen-indices of the features (default all).
      n_perm: number of permutations (≥ 1); seed: their seed.

    Returns:
      ``(correct, y_permuted)``: ``(n_perm, m, n_test)`` boolean and ``(n_perm,) + y_test.shape``.
    """
    validate.positive_int("n_perm", n_perm)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    index = np.arange(len(y_train)) if index is None else np.asarray(index, int)
    rng = np.random.default_rng(seed)
    # phi_i = Θ(x, X) v_i u_i with u_i = λ_i⁻¹ v_iᵀ Y_π: the kernel products Θ(x, X) v_i do not depend on the
    # labels, so they are computed once ((n_test, m)); each permutation only rescales them (O(n_test m k), not
    # O(n_test n_train m k)). u_i is read back from the coefficient column v_i u_i (v_i has unit norm).
    v = np.asarray(decomposition.eigenvectors, np.float64)[:, index]  # (n_train, m)
    basis = decomposition.values(v)  # (n_test, m)
    out, permuted = [], []
    for _ in range(n_perm):
        y_tr, y_te = y_train[rng.permutation(len(y_train))], y_test[rng.permutation(len(y_test))]
        u = np.einsum("Nm,Nm...->m...", v, decomposition.coefficients(y_tr, features=list(index)))  # (m[, k])
        values = basis[:, :, None] * u[None] if u.ndim == 2 else basis * u[None]  # (n_test, m[, k])
        out.append(losses.correct(np.moveaxis(values, 1, 0), y_te))  # (m, n_test)
        permuted.append(y_te)
    return np.stack(out), np.stack(permuted)
