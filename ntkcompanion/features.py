r"""Eigen-features of the NTK: the kernel predictor split along the eigenvectors of :math:`\Theta(X, X)`.

With :math:`\Theta(X, X) = \sum_i \lambda_i v_i v_i^\top`, :math:`\lambda_1 \ge \lambda_2 \ge \dots \ge 0`
(Tsilivis & Kempe 2022, §4):

.. math::
    \phi_i(x) = \Theta(x, X)\, v_i\, \lambda_i^{-1}\, v_i^\top Y, \qquad
    f_\infty = \sum_i \phi_i, \qquad
    f_t = \sum_i w_i(t)\, \phi_i, \quad w_i(t) = 1 - e^{-\eta \lambda_i t}.

With ±1 labels :math:`Y \in \{\pm 1\}^n` each :math:`\phi_i` is a scalar; with one-hot
targets :math:`Y \in \mathbb{R}^{n \times k}` it is a vector in :math:`\mathbb{R}^k`
(the paper's Appendix A). Time :math:`t` follows ``predictor`` (gradient flow on the
*summed* squared loss; neural-tangents' time is :math:`t \cdot` ``y_train.size``).

Every feature, and every weighted sum of features (``top_k``, ``subset``, ``f_t``), is
a kernel model :math:`x \mapsto \Theta(x, X)\, c` with a coefficient vector :math:`c`;
a set of them is one coefficient matrix :math:`C`, one column per model. They all go
through the predictor's chunked kernel rows (``predictor.kernel_apply_fn``,
``predictor.kernel_rows_fn``); ``feature_attacks.robustness`` attacks all columns at once.

Eigenvalues near zero. The decomposition is exact algebra for every :math:`\lambda_i > 0`
(and a feature with :math:`\lambda_i = 0` is taken as 0, the pseudo-inverse; at finite
:math:`t`, :math:`w_i/\lambda_i \to \eta t`). But the kernel is computed in float32, so
:math:`\Theta(X, X)` carries rounding of relative size :math:`\sim 10^{-7}`, and
:math:`\phi_i(x)` is evaluated to a relative precision of roughly
:math:`10^{-7} \lambda_1 / \lambda_i`. Features with :math:`\lambda_i < r \lambda_1`
(``rcond`` :math:`r`, default ``RCOND`` :math:`= 10^{-5}`, i.e. about 1% precision) are
*unresolved*: they are still returned and still sum to :math:`f_\infty`, but their
eigenvectors, usefulness and robustness are rounding artefacts, so :func:`resolved`
marks them and the notebooks leave them out of every statistic (and report how many).

Example:
    >>> k_train_train = kernels.kernel_matrix(kernel_fn, x_train)
    >>> eigenvalues, eigenvectors = eigendecomposition(k_train_train)
    >>> coef = feature_coefficients(eigenvalues, eigenvectors, y_train)       # (n_train, n_train)
    >>> phi = features_fn(kernels.kernel_fn("fc", 1), x_train, coef)(x_test)   # (n_test, n_train)
"""

import functools
import math
import numbers

import jax
import numpy as np
import scipy.linalg

from ntkcompanion import labels, predictor, validate

__all__ = [
    "RCOND",
    "eigendecomposition",
    "resolved",
    "select",
    "time_weights",
    "feature_coefficients",
    "top_k_coefficients",
    "k_grid",
    "head_tail_coefficients",
    "time_coefficients",
    "time_grid",
    "feature_values",
    "features_fn",
    "subset_predictor",
    "top_k_predictor",
    "check_coef",
]

RCOND = 1e-5


# --- The decomposition (host, float64) ---------------------------------------------------------


def eigendecomposition(k_train_train):
    r"""Eigenvalues and eigenvectors of :math:`\Theta(X, X)` in float64, largest first.

    Args:
      k_train_train: ``(n_train, n_train)`` symmetric positive semi-definite Gram matrix.

    Returns:
      ``(eigenvalues, eigenvectors)``: ``(n_train,)`` with :math:`\lambda_1 \ge \lambda_2 \ge \dots \ge 0`
      (negative rounding errors set to 0) and ``(n_train, n_train)`` with :math:`v_i` in column ``i``.
    """
    k = np.asarray(k_train_train, np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"k_train_train has shape {k.shape}: expected a square (n_train, n_train) matrix.")
    if not np.all(np.isfinite(k)):
        raise ValueError("k_train_train has non-finite entries: expected a finite Gram matrix.")
    lam, v = scipy.linalg.eigh(k, lower=True, check_finite=False)
    return np.maximum(lam[::-1], 0.0), np.ascontiguousarray(v[:, ::-1])


def resolved(eigenvalues, rcond: float = RCOND) -> np.ndarray:
    r"""Which features are numerically resolved: :math:`\lambda_i \ge r\, \lambda_1` (module docstring).

    Args:
      eigenvalues: ``(n_train,)`` eigenvalues, largest first.
      rcond: relative cut-off :math:`r \in [0, 1]`.

    Returns:
      ``(n_train,)`` boolean mask.
    """
    rcond = validate.float_in_range("rcond", rcond, 0.0, 1.0)
    lam = np.asarray(eigenvalues, np.float64)
    return (lam >= rcond * lam[0]) & (lam > 0)


def select(features, n_features: int, *, name: str = "features") -> np.ndarray:
    """Eigen-indices of a feature set: ``"all"`` or a list of distinct 0-based indices.

    Args:
      features: ``"all"``, or a sequence of distinct integers in ``[0, n_features)``.
      n_features: number of features (``n_train``).
      name: the parameter's name as the user typed it, for messages.

    Returns:
      ``(m,)`` int array of indices, in the given order.
    """
    allowed = f"'all' or a non-empty list of distinct integers in [0, {n_features})"
    if isinstance(features, str):
        if features == "all":
            return np.arange(n_features)
        raise ValueError(f"{name} = {features!r} is not allowed: expected {allowed}.")
    try:
        indices = [int(i) for i in features if isinstance(i, numbers.Integral) and not isinstance(i, bool)]
        ok = len(indices) == len(features) > 0 and len(set(indices)) == len(indices)
    except TypeError:
        ok = False
    if not ok or not all(0 <= i < n_features for i in indices):
        raise ValueError(f"{name} = {features!r} is not allowed: expected {allowed}.")
    return np.asarray(indices, int)


def _check_time(t, learning_rate):
    if t is not None and not (isinstance(t, numbers.Real) and not isinstance(t, bool) and t == t and t >= 0):
        raise ValueError(f"t = {t!r} is not allowed: expected None (t = ∞) or a number >= 0.")
    validate.positive_float("learning_rate", learning_rate)
    return None if t is None or math.isinf(t) else float(t)


def time_weights(eigenvalues, t=None, *, learning_rate: float = 1.0) -> np.ndarray:
    r"""Finite-time weights :math:`w_i(t) = 1 - e^{-\eta \lambda_i t}` of the features in :math:`f_t`.

    Args:
      eigenvalues: ``(n_train,)`` eigenvalues :math:`\lambda_i \ge 0`.
      t: gradient-flow time (≥ 0) of the summed squared loss, or ``None`` for :math:`t = \infty` (all ones).
      learning_rate: :math:`\eta > 0`.

    Returns:
      ``(n_train,)`` float64 weights in [0, 1].
    """
    t = _check_time(t, learning_rate)
    lam = np.asarray(eigenvalues, np.float64)
    return np.ones_like(lam) if t is None else -np.expm1(-learning_rate * t * lam)


def _gains(eigenvalues, t, learning_rate):
    r""":math:`w_i(t) / \lambda_i`, with the limits :math:`\eta t` (:math:`\lambda = 0`, finite t) and 0 (t = ∞)."""
    t = _check_time(t, learning_rate)
    lam = np.asarray(eigenvalues, np.float64)
    safe = np.where(lam > 0, lam, 1.0)
    if t is None:
        return np.where(lam > 0, 1.0 / safe, 0.0)
    return np.where(lam > 0, -np.expm1(-learning_rate * t * lam) / safe, learning_rate * t)


def _projections(eigenvectors, y_train):
    v = np.asarray(eigenvectors, np.float64)
    y = np.asarray(labels.check(y_train, v.shape[0], name="y_train", per="training point"), np.float64)
    return v, v.T @ y  # (n, n), (n,) or (n, k)


def feature_coefficients(eigenvalues, eigenvectors, y_train, *, features="all", t=None,
                         learning_rate: float = 1.0) -> np.ndarray:
    r"""Coefficients :math:`c_i = w_i(t)\, v_i \lambda_i^{-1} v_i^\top Y` of the features, one column each.

    :math:`w_i(t)\,\phi_i(x) = \Theta(x, X)\, c_i` (``t=None``: :math:`w_i = 1`, the features themselves).

    Args:
      eigenvalues: ``(n_train,)``, largest first (:func:`eigendecomposition`).
      eigenvectors: ``(n_train, n_train)``, :math:`v_i` in column ``i``.
      y_train: ``(n_train,)`` ±1 labels or ``(n_train, k)`` one-hot targets.
      features: ``"all"`` or a list of eigen-indices (:func:`select`).
      t: gradient-flow time (≥ 0) or ``None`` for :math:`t = \infty`.
      learning_rate: :math:`\eta > 0`.

    Returns:
      ``(n_train, m)`` for ±1 labels or ``(n_train, m, k)`` for one-hot targets, float64.
    """
    v, proj = _projections(eigenvectors, y_train)
    idx = select(features, v.shape[1])
    scale = _gains(eigenvalues, t, learning_rate)[idx]
    u = proj[idx] * scale.reshape((-1,) + (1,) * (proj.ndim - 1))  # (m,) or (m, k)
    return v[:, idx, None] * u[None] if u.ndim == 2 else v[:, idx] * u[None]


def top_k_coefficients(eigenvalues, eigenvectors, y_train, ks, *, t=None,
                       learning_rate: float = 1.0) -> np.ndarray:
    r"""Coefficients of the top-k predictors :math:`\sum_{i \le k} w_i(t)\, \phi_i`, one column per ``k``.

    Args:
      eigenvalues, eigenvectors, y_train, t, learning_rate: as in :func:`feature_coefficients`.
      ks: list of integers in ``[1, n_train]``.

    Returns:
      ``(n_train, len(ks))`` or ``(n_train, len(ks), k)`` float64.
    """
    v, proj = _projections(eigenvectors, y_train)
    n = v.shape[1]
    ks = validate.nonempty_list("ks", ks)
    for j, k in enumerate(ks):
        if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and 1 <= k <= n):
            raise ValueError(f"ks[{j}] = {k!r} is not allowed: expected an integer in [1, n_train = {n}].")
    u = proj * _gains(eigenvalues, t, learning_rate).reshape((-1,) + (1,) * (proj.ndim - 1))
    return np.stack([v[:, :k] @ u[:k] for k in ks], axis=1)


def k_grid(n: int, n_k: int) -> np.ndarray:
    r"""``n_k`` distinct integers from 1 to ``n``, about evenly spaced in :math:`\log k`: the top-k grid.

    Rounding ``np.geomspace(1, n, n_k)`` merges neighbours where the grid is finer than 1 (at the
    small-k end), so a plain ``np.unique`` would silently use fewer than ``n_k`` values. Each value
    is instead pushed up to one above its predecessor and, from the top, down to one below its
    successor, which keeps both ends (1 and ``n``) and every value distinct.

    Args:
      n: the largest k (the number of training points), at least 1.
      n_k: grid size, in ``[1, n]`` (``n_k = 1`` gives ``[n]``).

    Returns:
      ``(n_k,)`` increasing int64.
    """
    validate.positive_int("n", n)
    validate.positive_int("n_k", n_k)
    if n_k > n:
        raise ValueError(f"n_k = {n_k} is not allowed: at most n = {n} distinct integers lie in [1, {n}].")
    if n_k == 1:
        return np.array([n], np.int64)
    ks = np.geomspace(1, n, n_k).round().astype(np.int64)
    for i in range(1, n_k):                 # strictly increasing from below ...
        ks[i] = max(ks[i], ks[i - 1] + 1)
    for i in range(n_k - 1, -1, -1):        # ... and at most n - (n_k - 1 - i), so the top stays n
        ks[i] = min(ks[i], n - (n_k - 1 - i))
    return ks


def head_tail_coefficients(eigenvalues, eigenvectors, y_train, k: int, *, t=None,
                           learning_rate: float = 1.0) -> np.ndarray:
    r"""Coefficients of the head :math:`\sum_{i \le k} w_i(t)\, \phi_i` and the tail :math:`\sum_{i > k} w_i(t)\, \phi_i`.

    The two group predictors sum to :math:`f_t` (to :math:`f_\infty` for ``t=None``): the split of the
    predictor into the top of the spectrum and the rest, at any scale.

    Args:
      eigenvalues, eigenvectors, y_train, t, learning_rate: as in :func:`feature_coefficients`.
      k: features in the head, an integer in ``[1, n_train - 1]``.

    Returns:
      ``(n_train, 2)`` or ``(n_train, 2, k)`` float64: column 0 the head, column 1 the tail.
    """
    n = len(np.asarray(eigenvalues))
    if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and 1 <= k < n):
        raise ValueError(f"k = {k!r} is not allowed: expected an integer in [1, n_train - 1 = {n - 1}].")
    head, whole = np.moveaxis(top_k_coefficients(eigenvalues, eigenvectors, y_train, [int(k), n], t=t,
                                                 learning_rate=learning_rate), 1, 0)
    return np.stack([head, whole - head], axis=1)


def time_coefficients(eigenvalues, eigenvectors, y_train, ts, *, learning_rate: float = 1.0) -> np.ndarray:
    r"""Coefficients of :math:`f_t = \sum_i w_i(t)\, \phi_i` for each time in ``ts``, one column per time.

    Args:
      eigenvalues, eigenvectors, y_train, learning_rate: as in :func:`feature_coefficients`.
      ts: list of times (each ≥ 0, or ``None`` for ∞).

    Returns:
      ``(n_train, len(ts))`` or ``(n_train, len(ts), k)`` float64.
    """
    v, proj = _projections(eigenvectors, y_train)
    ts = validate.nonempty_list("ts", ts)
    cols = []
    for t in ts:
        gain = _gains(eigenvalues, t, learning_rate).reshape((-1,) + (1,) * (proj.ndim - 1))
        cols.append(v @ (gain * proj))
    return np.stack(cols, axis=1)


def time_grid(eigenvalues, n: int = 30, *, learning_rate: float = 1.0, rcond: float = RCOND) -> np.ndarray:
    r"""Log-spaced times from :math:`0.1/(\eta\lambda_1)` (nothing learned) to :math:`10/(\eta\lambda_{min})`.

    :math:`\lambda_{min}` is the smallest resolved eigenvalue (:func:`resolved`), so the grid ends
    when every resolved feature has weight :math:`w_i \ge 1 - e^{-10}`.

    Returns:
      ``(n,)`` float64 times.
    """
    validate.positive_int("n", n)
    validate.positive_float("learning_rate", learning_rate)
    lam = np.asarray(eigenvalues, np.float64)
    lam_min = lam[resolved(lam, rcond)][-1]
    return np.logspace(np.log10(0.1 / (learning_rate * lam[0])), np.log10(10 / (learning_rate * lam_min)), n)


def feature_values(k_test_train, coef) -> np.ndarray:
    r"""Feature values from precomputed kernel rows, in float64: :math:`\Theta(x, X)\, C`.

    Args:
      k_test_train: ``(n_test, n_train)`` kernel rows (``kernels.kernel_matrix``).
      coef: ``(n_train, m)`` or ``(n_train, m, k)`` coefficients (:func:`feature_coefficients`).

    Returns:
      ``(n_test, m)`` or ``(n_test, m, k)`` float64.
    """
    k, c = np.asarray(k_test_train, np.float64), np.asarray(coef, np.float64)
    # One BLAS matmul over the flattened model axes (np.einsum would loop over them without BLAS).
    return (k @ c.reshape(c.shape[0], -1)).reshape((k.shape[0],) + c.shape[1:])


# --- Feature and predictor functions (JAX, through the predictor's kernel rows) ---------------


def _reshaped(apply_fn, x, *, shape):
    return apply_fn(x).reshape((x.shape[0],) + shape)


def check_coef(coef, n_train):
    """Checks a coefficient matrix: ``(n_train, m)`` or ``(n_train, m, k)``, one column per model."""
    coef = np.asarray(coef)
    if coef.ndim not in (2, 3) or coef.shape[0] != n_train:
        raise ValueError(f"coef has shape {coef.shape}: expected ({n_train}, m) or ({n_train}, m, k), "
                         "one row per training point and one column per feature.")
    return coef


def features_fn(kernel_fn, x_train, coef, *, get: str = "ntk", chunk_size: int = predictor.CHUNK_SIZE):
    r"""Builds :math:`x \mapsto (\phi_i(x))_i = \Theta(x, X)\, C` for a coefficient matrix :math:`C`.

    Args:
      kernel_fn: an analytic ``kernel_fn`` (``kernels.kernel_fn``).
      x_train: ``(n_train, h, w, c)`` training inputs.
      coef: ``(n_train, m)`` or ``(n_train, m, k)`` (:func:`feature_coefficients`).
      get, chunk_size: as in ``predictor.kernel_apply_fn``.

    Returns:
      ``phi_fn(x)``: ``(n, h, w, c)`` → ``(n, m)`` or ``(n, m, k)``; a jitted, differentiable pytree.
    """
    coef = check_coef(coef, len(x_train))
    apply_fn = predictor.kernel_apply_fn(kernel_fn, x_train, coef.reshape(len(coef), -1), get=get,
                                         chunk_size=chunk_size)
    return jax.tree_util.Partial(functools.partial(_reshaped, shape=coef.shape[1:]), apply_fn)


def subset_predictor(kernel_fn, x_train, eigenvalues, eigenvectors, y_train, features, *, t=None,
                     learning_rate: float = 1.0, get: str = "ntk", chunk_size: int = predictor.CHUNK_SIZE):
    r"""The predictor :math:`\sum_{i \in S} w_i(t)\, \phi_i` of a subset :math:`S` of eigen-features.

    Args:
      kernel_fn, x_train: as in ``predictor.kernel_apply_fn``.
      eigenvalues, eigenvectors, y_train, t, learning_rate: as in :func:`feature_coefficients`.
      features: ``"all"`` (then this is :math:`f_t` itself) or a list of eigen-indices.

    Returns:
      ``predict_fn(x)``: ``(n, h, w, c)`` → ``(n,)`` or ``(n, k)``, like ``predictor.fit``.
    """
    coef = feature_coefficients(eigenvalues, eigenvectors, y_train, features=features, t=t,
                                learning_rate=learning_rate).sum(axis=1)
    return predictor.kernel_apply_fn(kernel_fn, x_train, coef, get=get, chunk_size=chunk_size)


def top_k_predictor(kernel_fn, x_train, eigenvalues, eigenvectors, y_train, k: int, **kwargs):
    r"""The predictor :math:`\sum_{i \le k} w_i(t)\, \phi_i` of the top ``k`` eigen-features (``k`` in [1, n_train]).

    Keyword arguments as in :func:`subset_predictor`.
    """
    n = len(np.asarray(eigenvalues))
    if not (isinstance(k, numbers.Integral) and not isinstance(k, bool) and 1 <= k <= n):
        raise ValueError(f"k = {k!r} is not allowed: expected an integer in [1, n_train = {n}].")
    return subset_predictor(kernel_fn, x_train, eigenvalues, eigenvectors, y_train, list(range(k)), **kwargs)
