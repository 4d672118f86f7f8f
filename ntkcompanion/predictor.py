r"""The kernel predictor after gradient flow on the MSE, fitted once and differentiable in its input.

.. math::
    f_t(x) = \Theta(x, X)\, \Theta(X, X)^{-1} \big(I - e^{-\eta\, \Theta(X, X)\, t}\big)\, Y,
    \qquad
    f_\infty(x) = \Theta(x, X)\, (\Theta(X, X) + \rho I)^{-1} Y,

with :math:`f_0 = 0` (Tsilivis & Kempe 2022, §2; Jacot et al. 2018). Everything that
does not depend on the test input is done once, on the host, in float64: the Gram
matrix :math:`\Theta(X, X)` is factorised (Cholesky for :math:`t = \infty`, an
eigendecomposition for finite :math:`t`) into the coefficients

.. math::
    \alpha = \Theta(X, X)^{-1} \big(I - e^{-\eta\, \Theta(X, X)\, t}\big)\, Y \in \mathbb{R}^{n_{train} \times k}.

A prediction is then only :math:`\Theta(x, X)\,\alpha`: a pure JAX function of ``x``,
jit-able and differentiable, which is what the training-free attacks differentiate.

Time convention: :math:`t` is the gradient-flow time of the *summed* squared loss
:math:`\tfrac12 \|f(X) - Y\|^2`, as in the paper. ``neural_tangents.predict.gradient_descent_mse``
uses the mean over the ``y_train.size`` entries, so its time ``t_nt`` equals ``t * y_train.size``.

Memory: :math:`\Theta(x, X)` is evaluated over chunks of ``chunk_size`` training points
(a ``lax.scan`` that accumulates :math:`\Theta(x, X_c)\,\alpha_c`), so memory is that of
one ``n × chunk_size`` block of the kernel's intermediates, whatever ``n_train``. The
backward pass keeps only each chunk's ``x·Xᵀ`` products and recomputes the rest
(``jax.checkpoint``), so gradients are memory-bounded too: a few floats per pair for FC
kernels, ``h·w`` floats per pair for Conv + Flatten kernels (lower ``chunk_size`` there).

Example:
    >>> kernel_fn = kernels.kernel_fn("fc", 1)                  # the closed form for FC nets
    >>> predict_fn = fit(kernel_fn, x_train, y_train)          # t = ∞
    >>> fx_test = predict_fn(x_test)                           # (n_test,) for ±1 labels
    >>> jax.grad(lambda x: predict_fn(x).sum())(x_test)        # (n_test, h, w, c)
"""

import functools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ntkcompanion import kernels, labels, validate

__all__ = ["fit", "coefficients", "kernel_apply_fn", "kernel_rows_fn", "predictions", "CHUNK_SIZE"]

CHUNK_SIZE = 512
# Keep the kernel's x·Xᵀ products for the backward pass, recompute the cheap elementwise rest.
_REMAT_POLICY = jax.checkpoint_policies.dots_with_no_batch_dims_saveable


def _check_time(t, learning_rate, ridge):
    if t is not None and not (isinstance(t, numbers.Real) and not isinstance(t, bool)
                              and t == t and t >= 0):
        raise ValueError(f"t = {t!r} is not allowed: expected None (t = ∞) or a number >= 0.")
    validate.positive_float("learning_rate", learning_rate)
    validate.nonnegative_float("ridge", ridge)
    return None if t is None or math.isinf(t) else float(t)


def _check_targets(y_train, n_train, name="y_train"):
    return np.asarray(labels.check(y_train, n_train, name=name, per="training point"))


def coefficients(k_train_train, y_train, *, t=None, learning_rate: float = 1.0,
                 ridge: float = 0.0, overwrite: bool = False) -> np.ndarray:
    r"""Coefficients :math:`\alpha` of the kernel predictor :math:`f_t(x) = \Theta(x, X)\,\alpha`.

    .. math::
        \alpha = (\Theta + \rho I)^{-1} \big(I - e^{-\eta (\Theta + \rho I) t}\big)\, Y,

    computed in float64 by a Cholesky solve (:math:`t = \infty`) or an eigendecomposition
    (finite :math:`t`, where eigenvalues :math:`\lambda \to 0` give the limit :math:`\eta t`).

    Args:
      k_train_train: ``(n_train, n_train)`` symmetric positive semi-definite Gram matrix.
      y_train: ``(n_train,)`` ±1 labels or ``(n_train, k)`` one-hot targets.
      t: gradient-flow time of the summed squared loss (≥ 0), or ``None`` for :math:`t = \infty`.
      learning_rate: :math:`\eta > 0`; only :math:`\eta t` matters.
      ridge: :math:`\rho \ge 0`, added to the diagonal (absolute units).
      overwrite: let the factorisation overwrite ``k_train_train`` (saves one copy
        of the matrix; only if it is a float64 numpy array you no longer need).

    Returns:
      ``(n_train,)`` or ``(n_train, k)`` float64 array, shaped like ``y_train``.
    """
    t = _check_time(t, learning_rate, ridge)
    k = np.asarray(k_train_train)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"k_train_train has shape {k.shape}: expected a square (n_train, n_train) matrix.")
    y = _check_targets(y_train, len(k)).astype(np.float64)
    k = np.array(k, np.float64, copy=not (overwrite and k.dtype == np.float64))
    if ridge:
        k[np.diag_indices_from(k)] += ridge
    if t is None:
        try:
            # Reads the lower triangle only: no need to symmetrise a blocked Gram matrix.
            factor = scipy.linalg.cho_factor(k, lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError as error:
            raise ValueError(f"the Gram matrix is not numerically positive definite (ridge = {ridge!r}): "
                             "use ridge > 0 or a finite t.") from error
        return scipy.linalg.cho_solve(factor, y, check_finite=False)
    lam, v = scipy.linalg.eigh(k, lower=True, overwrite_a=True, check_finite=False)
    lam = np.maximum(lam, 0.0)  # negative eigenvalues are rounding error of a PSD matrix
    eta_t = learning_rate * t
    safe = np.where(lam > 0, lam, 1.0)
    gain = np.where(lam > 0, -np.expm1(-eta_t * lam) / safe, eta_t)
    return v @ (gain.reshape((-1,) + (1,) * (y.ndim - 1)) * (v.T @ y))


def _chunks(x_train, coef, chunk_size):
    """Splits training points (and coefficients) into ``(m, chunk, ...)`` blocks.

    The last block is padded with copies of the first training point and zero
    coefficients: they contribute exactly nothing, and unlike zero images they keep
    every kernel finite (a zero input with ``b_std = 0`` has a zero norm).
    """
    x_train = np.asarray(x_train, np.float32)
    n = len(x_train)
    chunk = min(chunk_size, n)
    missing = -n % chunk
    x_pad = np.concatenate([x_train, np.repeat(x_train[:1], missing, axis=0)])
    x_chunks = x_pad.reshape((-1, chunk) + x_train.shape[1:])
    if coef is None:
        return jnp.asarray(x_chunks), None
    coef = np.asarray(coef, np.float64)
    coef_pad = np.concatenate([coef, np.zeros((missing,) + coef.shape[1:])])
    dtype = jnp.result_type(float)  # float32 unless jax_enable_x64
    return jnp.asarray(x_chunks), jnp.asarray(coef_pad.reshape((-1, chunk) + coef.shape[1:]), dtype)


def _check_inputs(x, x_chunks):
    if x.ndim != x_chunks.ndim - 1 or x.shape[1:] != x_chunks.shape[2:]:
        raise ValueError(f"x has shape {x.shape}: expected (n,) + {tuple(x_chunks.shape[2:])}, "
                         "the shape of the training inputs.")


@functools.partial(jax.jit, static_argnames=("kernel_fn", "get"))
def _apply(x_chunks, coef_chunks, x, *, kernel_fn, get):
    _check_inputs(x, x_chunks)

    @functools.partial(jax.checkpoint, policy=_REMAT_POLICY)
    def add_chunk(acc, chunk):
        x_chunk, coef_chunk = chunk
        return acc + kernel_fn(x, x_chunk, get) @ coef_chunk, None

    acc = jnp.zeros((x.shape[0],) + coef_chunks.shape[2:], coef_chunks.dtype)
    return jax.lax.scan(add_chunk, acc, (x_chunks, coef_chunks))[0]


@functools.partial(jax.jit, static_argnames=("kernel_fn", "get", "n_train"))
def _rows(x_chunks, x, *, kernel_fn, get, n_train):
    _check_inputs(x, x_chunks)
    blocks = jax.lax.map(jax.checkpoint(lambda x_chunk: kernel_fn(x, x_chunk, get),
                                        policy=_REMAT_POLICY), x_chunks)  # (m, n, chunk)
    return jnp.moveaxis(blocks, 0, 1).reshape(x.shape[0], -1)[:, :n_train]


def _check_kernel_args(kernel_fn, get, chunk_size):
    if not callable(kernel_fn):
        raise ValueError(f"kernel_fn = {kernel_fn!r} is not allowed: expected a stax kernel_fn.")
    validate.one_of("get", get, kernels.KERNELS)
    validate.positive_int("chunk_size", chunk_size)


def kernel_apply_fn(kernel_fn, x_train, coef, *, get: str = "ntk", chunk_size: int = CHUNK_SIZE):
    r"""Builds :math:`x \mapsto \Theta(x, X)\, C` for fixed training inputs and coefficients.

    The shared hot path of the kernel predictor (:math:`C = \alpha`) and of eigen-features
    (:math:`C` with one column per feature). Chunked over training points (module docstring).

    Args:
      kernel_fn: an analytic ``kernel_fn`` (``kernels.kernel_fn``).
      x_train: ``(n_train, h, w, c)`` training inputs :math:`X`.
      coef: ``(n_train,)`` or ``(n_train, m)`` coefficients :math:`C`.
      get: ``"ntk"`` or ``"nngp"``.
      chunk_size: training points per block; bounds memory.

    Returns:
      ``apply_fn(x)``: ``(n, h, w, c)`` → ``(n,)`` or ``(n, m)``. A ``jax.tree_util.Partial``
      whose leaves are the (padded) training inputs and coefficients, so that passing it
      to a jitted function (e.g. the attacks) traces them as arguments, not constants.
    """
    _check_kernel_args(kernel_fn, get, chunk_size)
    coef = np.asarray(coef)
    if coef.ndim not in (1, 2) or coef.shape[0] != len(x_train):
        raise ValueError(f"coef has shape {coef.shape}: expected ({len(x_train)},) or "
                         f"({len(x_train)}, m), one row per training point.")
    x_chunks, coef_chunks = _chunks(x_train, coef, chunk_size)
    return jax.tree_util.Partial(functools.partial(_apply, kernel_fn=kernel_fn, get=get),
                                 x_chunks, coef_chunks)


def kernel_rows_fn(kernel_fn, x_train, *, get: str = "ntk", chunk_size: int = CHUNK_SIZE):
    r"""Builds :math:`x \mapsto \Theta(x, X)`, the test-train kernel rows, chunked over :math:`X`.

    Args:
      kernel_fn: a stax ``kernel_fn``.
      x_train: ``(n_train, h, w, c)`` training inputs.
      get: ``"ntk"`` or ``"nngp"``.
      chunk_size: training points per block.

    Returns:
      ``rows_fn(x)``: ``(n, h, w, c)`` → ``(n, n_train)``, jitted and differentiable.
    """
    _check_kernel_args(kernel_fn, get, chunk_size)
    x_chunks, _ = _chunks(x_train, None, chunk_size)
    return jax.tree_util.Partial(
        functools.partial(_rows, kernel_fn=kernel_fn, get=get, n_train=len(x_train)), x_chunks)


def fit(kernel_fn, x_train, y_train, *, t=None, learning_rate: float = 1.0, ridge: float = 0.0,
        get: str = "ntk", batch_size: int = 128, chunk_size: int = CHUNK_SIZE,
        k_train_train=None):
    r"""Fits the kernel predictor :math:`f_t` once and returns it as a function of the test input.

    .. math::
        f_t(x) = \Theta(x, X)\, \Theta(X, X)^{-1} \big(I - e^{-\eta\, \Theta(X, X)\, t}\big)\, Y

    (Tsilivis & Kempe 2022, §2; ``ridge`` adds :math:`\rho I` to :math:`\Theta(X, X)`).

    Args:
      kernel_fn: an analytic ``kernel_fn`` (``kernels.kernel_fn``).
      x_train: ``(n_train, h, w, c)`` training inputs.
      y_train: ``(n_train,)`` ±1 labels or ``(n_train, k)`` one-hot targets.
      t: gradient-flow time (≥ 0) of the summed squared loss, ``None`` for :math:`t = \infty`.
      learning_rate: :math:`\eta > 0`.
      ridge: :math:`\rho \ge 0`.
      get: ``"ntk"`` (gradient descent) or ``"nngp"`` (the same formula with the NNGP kernel).
      batch_size: block size of the train-train Gram matrix (``kernels.kernel_matrix``).
      chunk_size: training points per block of the test-train kernel rows.
      k_train_train: optional precomputed ``(n_train, n_train)`` Gram matrix of ``get``.

    Returns:
      ``predict_fn(x)``: ``(n, h, w, c)`` → ``(n,)`` for ±1 labels or ``(n, k)`` for one-hot
      targets; pure, jitted and differentiable in ``x`` (see ``kernel_apply_fn``).
    """
    _check_time(t, learning_rate, ridge)
    _check_kernel_args(kernel_fn, get, chunk_size)
    validate.positive_int("batch_size", batch_size)
    x_train = np.asarray(x_train, np.float32)
    _check_targets(y_train, len(x_train))
    if k_train_train is None:
        k_train_train = kernels.kernel_matrix(kernel_fn, x_train, get=get, batch_size=batch_size)
        owned = True
    else:
        owned = False
        if np.shape(k_train_train) != (len(x_train),) * 2:
            raise ValueError(f"k_train_train has shape {np.shape(k_train_train)}: expected "
                             f"({len(x_train)}, {len(x_train)}).")
    coef = coefficients(k_train_train, y_train, t=t, learning_rate=learning_rate, ridge=ridge,
                        overwrite=owned)
    del k_train_train
    return kernel_apply_fn(kernel_fn, x_train, coef, get=get, chunk_size=chunk_size)


def predictions(k_train_train, k_test_train, y_train, times, *, learning_rate: float = 1.0,
                ridge: float = 0.0) -> np.ndarray:
    r"""Test predictions :math:`f_t(X_{test}) = \Theta(X_{test}, X)\,\alpha_t` at many times, from one
    eigendecomposition of :math:`\Theta(X, X) + \rho I = V \Lambda V^\top`:

    .. math::
        \alpha_t = V\, \frac{1 - e^{-\eta \Lambda t}}{\Lambda}\, V^\top Y,
        \qquad \alpha_\infty = V \Lambda^{-1} V^\top Y

    (the time convention of :func:`coefficients`; directions with :math:`\lambda = 0` get the
    limit :math:`\eta t`, and none at :math:`t = \infty`).

    Args:
      k_train_train: ``(n_train, n_train)`` Gram matrix.
      k_test_train: ``(n_test, n_train)`` test-train kernel rows of the same kernel.
      y_train: ``(n_train,)`` ±1 labels or ``(n_train, k)`` one-hot targets.
      times: sequence of gradient-flow times ``t ≥ 0``, ``None`` (or ``inf``) for :math:`t = \infty`.
      learning_rate: :math:`\eta > 0`.
      ridge: :math:`\rho \ge 0`.

    Returns:
      ``(n_times, n_test)`` or ``(n_times, n_test, k)`` float64 array.
    """
    ts = [_check_time(t, learning_rate, ridge) for t in times]
    k = np.array(k_train_train, np.float64)
    rows = np.asarray(k_test_train, np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or rows.ndim != 2 or rows.shape[1] != len(k):
        raise ValueError(f"k_train_train has shape {k.shape} and k_test_train {rows.shape}: expected "
                         "(n_train, n_train) and (n_test, n_train).")
    y = _check_targets(y_train, len(k)).astype(np.float64)
    k[np.diag_indices_from(k)] += ridge
    lam, v = scipy.linalg.eigh(k, lower=True, overwrite_a=True, check_finite=False)
    lam = np.maximum(lam, 0.0)  # negative eigenvalues are rounding error of a PSD matrix
    safe = np.where(lam > 0, lam, 1.0)
    projected_rows, projected_y = rows @ v, v.T @ y  # (n_test, n_train), (n_train[, k])
    out = []
    for t in ts:
        if t is None:
            gain = np.where(lam > 0, 1.0 / safe, 0.0)
        else:
            gain = np.where(lam > 0, -np.expm1(-learning_rate * t * lam) / safe, learning_rate * t)
        out.append(projected_rows @ (gain.reshape((-1,) + (1,) * (y.ndim - 1)) * projected_y))
    return np.stack(out)
