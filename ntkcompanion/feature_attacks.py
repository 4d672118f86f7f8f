r"""Usefulness and robustness of many kernel models at once: every eigen-feature attacked on its own, batched.

Each model is :math:`x \mapsto \Theta(x, X)\, c_i` for a column :math:`c_i` of a coefficient matrix
:math:`C` (``features.feature_coefficients``, ``top_k_coefficients``, ``time_coefficients``): an
eigen-feature :math:`\phi_i(x) = \Theta(x, X)\, v_i \lambda_i^{-1} v_i^\top Y`, a top-k predictor or
:math:`f_t`. :func:`robustness` gives each model's clean accuracy (usefulness :math:`\rho_i`) and its
accuracy under FGSM or PGD computed against that model alone (robustness :math:`\gamma_i`;
Tsilivis & Kempe 2022, §2.2, §4), exactly what ``attacks.fgsm`` / ``attacks.pgd`` give per model.

Why batched: every model shares the kernel rows :math:`\Theta(x, X)` at the clean inputs and
their input-gradient (one linearisation, applied to one cotangent per model), so the clean
outputs of all models are one matmul ``rows @ C``; only the adversarial inputs differ per model,
and those are evaluated ``feature_chunk`` models at a time as one large batch of inputs.
:func:`input_gradients` gives the first-step gradients themselves (the paper's feature pictures).

Example:
    >>> coef = features.feature_coefficients(eigenvalues, eigenvectors, y_train)   # (n_train, n_train)
    >>> result = robustness(kernels.kernel_fn("fc", 1), x_train, coef, x_test, y_test, attack="fgsm", eps=0.1)
    >>> result.usefulness.shape, result.robustness.shape                          # (n_train,) each
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import attacks, features, labels, losses, predictor, validate

__all__ = ["ATTACKS", "FEATURE_CHUNK", "Robustness", "robustness", "input_gradients"]

ATTACKS = ("fgsm", "pgd")
FEATURE_CHUNK = 32


class Robustness(NamedTuple):
    """Per-model accuracies: ``usefulness`` on clean inputs, ``robustness`` under the attack; ``(m,)`` each."""

    usefulness: np.ndarray
    robustness: np.ndarray


@functools.partial(jax.jit, static_argnames=("loss", "norm"))
def _attack_all(rows_fn, x, y, coef_chunks, eps, step_size, steps, low, high, *, loss, norm):
    """Correct counts, clean and attacked, of the models ``coef_chunks (chunks, N, j[, k])``, one attack each."""
    j = coef_chunks.shape[2]
    eps, step_size, low, high = (jnp.asarray(v, x.dtype) for v in (eps, step_size, low, high))
    # One linearisation of the kernel rows at the clean inputs, shared by every model.
    rows, vjp_fn = jax.vjp(rows_fn, x)
    n, n_train = rows.shape
    x_j = jnp.broadcast_to(x, (j,) + x.shape)
    correct = jax.vmap(lambda out: losses.correct(out, y))

    def total_loss(logits):  # (j, n[, k]) -> scalar; models are independent, so one gradient serves all
        return jnp.sum(jax.vmap(lambda out: losses.per_example(loss, out, y))(logits))

    def one_chunk(coef):
        def logits_at(z):  # (j, n, ...) -> (j, n[, k]): model i evaluated at its own inputs z[i]
            r = rows_fn(z.reshape((j * n,) + x.shape[1:])).reshape(j, n, n_train)
            return jnp.einsum("jnN,Nj...->jn...", r, coef)

        clean = jnp.einsum("nN,Nj...->jn...", rows, coef)
        # First step: a VJP of the shared linearisation per model, cotangent (∂L/∂logits) ⊗ c_i.
        cotangents = jnp.einsum("jn...,Nj...->jnN", jax.grad(total_loss)(clean), coef)
        g = jax.vmap(lambda ct: vjp_fn(ct)[0])(cotangents)
        # The same arithmetic as attacks.pgd (over a (models, inputs) batch), so results agree to the bit.
        z = x_j + step_size * attacks.step_direction(g, norm, batch_dims=2)
        z = attacks.project(z, x_j, eps, low, high, norm, batch_dims=2)

        def step(_, z):
            g = jax.grad(lambda z: total_loss(logits_at(z)))(z)
            z = z + step_size * attacks.step_direction(g, norm, batch_dims=2)
            return attacks.project(z, x_j, eps, low, high, norm, batch_dims=2)

        z = jax.lax.fori_loop(1, steps, step, z)
        return jnp.sum(correct(clean), axis=1), jnp.sum(correct(logits_at(z)), axis=1)  # counts, exact

    return jax.lax.map(one_chunk, coef_chunks)


_ROWS_TREEDEFS = {}


def _rows_fn(kernel_fn, x_train, get, chunk_size):
    """``predictor.kernel_rows_fn`` with one pytree structure per kernel and shape, so compilations are reused."""
    rows_fn = predictor.kernel_rows_fn(kernel_fn, x_train, get=get, chunk_size=chunk_size)
    key = (kernel_fn, get, chunk_size, x_train.shape)
    treedef = _ROWS_TREEDEFS.setdefault(key, jax.tree_util.tree_structure(rows_fn))
    return jax.tree_util.tree_unflatten(treedef, jax.tree_util.tree_leaves(rows_fn))


def _train_chunk(n_train, chunk_size):
    """Equal training chunks of at most ``chunk_size`` (less padding than fixed-size chunks)."""
    return -(-n_train // -(-n_train // chunk_size))


def robustness(kernel_fn, x_train, coef, x, y, *, attack: str = "fgsm", eps: float,
               step_size: float | None = None, steps: int = 1, norm: str = "linf", loss: str | None = None,
               clip=(0.0, 1.0), feature_chunk: int = FEATURE_CHUNK, get: str = "ntk",
               chunk_size: int = predictor.CHUNK_SIZE) -> Robustness:
    r"""Usefulness and robustness of every model :math:`x \mapsto \Theta(x, X)\, c_i`, each attacked on its own.

    Usefulness :math:`\rho_i` is the clean accuracy of :math:`\phi_i` (sign for ±1 labels, argmax
    for one-hot); robustness :math:`\gamma_i` is its accuracy at :math:`x'_i`, the FGSM or PGD point
    computed against :math:`\phi_i` itself (paper §2.2, §4). Exactly what ``attacks.fgsm`` /
    ``attacks.pgd`` (from ``x``, last iterate) give per model, but batched:

    * one compiled call; the kernel rows :math:`\Theta(x, X)` at the clean inputs are computed and linearised once;
      every model's clean output is ``rows @ C`` and its first attack gradient a VJP of that
      linearisation with cotangent :math:`(\partial L/\partial \phi_i)\, c_i^\top`;
    * the adversarial inputs differ per model, so :math:`\Theta(x'_i, X)\, c_i` (and PGD's further
      steps) are evaluated for ``feature_chunk`` models at a time (a ``lax.map`` over chunks), as
      one batch of ``feature_chunk · n`` inputs through the chunked kernel rows.

    Memory: a few arrays of ``feature_chunk · n · min(n_train, chunk_size)`` floats.

    Args:
      kernel_fn: an analytic ``kernel_fn`` (``kernels.kernel_fn``).
      x_train: ``(n_train, h, w, c)`` training inputs.
      coef: ``(n_train, m)`` for ±1 labels, ``(n_train, m, k)`` for one-hot labels: one model per column
        (features, top-k predictors, :math:`f_t` at several times...).
      x: ``(n, h, w, c)`` test inputs.
      y: ``(n,)`` ±1 labels or ``(n, k)`` one-hot labels.
      attack: ``"fgsm"`` (one step of size ``eps``) or ``"pgd"``.
      eps: radius :math:`\epsilon \ge 0`.
      step_size: PGD step (> 0); ignored by FGSM.
      steps: PGD iterations (≥ 1); ignored by FGSM.
      norm: ``"linf"`` or ``"l2"``.
      loss: ``"bce"``, ``"ce"`` or ``"margin"`` (``losses``); ``None`` follows the labels.
      clip: ``(low, high)`` pixel range or ``None``.
      feature_chunk: models per batch (≥ 1); bounds memory.
      get, chunk_size: as in ``predictor.kernel_rows_fn``.

    Returns:
      ``Robustness(usefulness, robustness)``, two ``(m,)`` float64 arrays in [0, 1].
    """
    validate.one_of("attack", attack, ATTACKS)
    eps = validate.nonnegative_float("eps", eps)
    validate.one_of("norm", norm, attacks.NORMS)
    feature_chunk = validate.positive_int("feature_chunk", feature_chunk)
    validate.positive_int("chunk_size", chunk_size)
    if attack == "fgsm":
        step_size, steps = eps, 1
    else:
        step_size = validate.positive_float("step_size", step_size)
        steps = validate.positive_int("steps", steps)
    x_train = np.asarray(x_train, np.float32)
    coef = features.check_coef(coef, len(x_train))
    x = jnp.asarray(x, jnp.float32)
    if x.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x has shape {x.shape}: expected (n,) + {x_train.shape[1:]}, like x_train.")
    y = jnp.asarray(labels.check(y, len(x)), x.dtype)
    want = (len(x),) if coef.ndim == 2 else (len(x), coef.shape[2])
    if y.shape != want:
        raise ValueError(f"y has shape {y.shape}: expected {want}, to match x and coef of shape {coef.shape}.")
    loss = losses.default_loss(y) if loss is None else validate.one_of("loss", loss, losses.LOSSES)
    if clip is None:
        low, high = -np.inf, np.inf
    else:
        if (not isinstance(clip, (tuple, list)) or len(clip) != 2 or not clip[0] < clip[1]):
            raise ValueError(f"clip = {clip!r} is not allowed: expected None or (low, high) with low < high.")
        low, high = clip

    rows_fn = _rows_fn(kernel_fn, x_train, get, _train_chunk(len(x_train), chunk_size))
    m = coef.shape[1]
    # Equal chunks of models; the last is padded with zero models and cropped.
    n_chunks = -(-m // feature_chunk)
    size = -(-m // n_chunks)
    pad = np.zeros((coef.shape[0], n_chunks * size - m) + coef.shape[2:], coef.dtype)
    chunks = np.concatenate([coef, pad], axis=1).reshape((coef.shape[0], n_chunks, size) + coef.shape[2:])
    useful, robust = _attack_all(rows_fn, x, y, jnp.asarray(np.moveaxis(chunks, 1, 0), x.dtype), eps, step_size,
                                 steps, low, high, loss=loss, norm=norm)
    useful, robust = np.asarray(useful).reshape(-1), np.asarray(robust).reshape(-1)
    return Robustness(useful[:m] / len(x), robust[:m] / len(x))


def input_gradients(kernel_fn, x_train, coef, x, y, *, loss: str | None = None, get: str = "ntk",
                    chunk_size: int = predictor.CHUNK_SIZE) -> np.ndarray:
    r"""Input gradient :math:`\nabla_x L(\phi_i(x), y)` of every model's loss at every input (the paper's feature pictures).

    One linearisation of the kernel rows at ``x``, applied to one cotangent per model, as in
    :func:`robustness`; meant for a handful of models (memory ``m · n · h · w · c``).

    Args:
      kernel_fn, x_train, coef, x, y, loss, get, chunk_size: as in :func:`robustness`.

    Returns:
      ``(m, n, h, w, c)`` float32 gradients.
    """
    x_train = np.asarray(x_train, np.float32)
    coef = jnp.asarray(features.check_coef(coef, len(x_train)), jnp.float32)
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(labels.check(y, len(x)), x.dtype)
    loss = losses.default_loss(y) if loss is None else validate.one_of("loss", loss, losses.LOSSES)
    rows, vjp_fn = jax.vjp(_rows_fn(kernel_fn, x_train, get, _train_chunk(len(x_train), chunk_size)), x)

    def total_loss(logits):
        return jnp.sum(jax.vmap(lambda out: losses.per_example(loss, out, y))(logits))

    g_logits = jax.grad(total_loss)(jnp.einsum("nN,Nj...->jn...", rows, coef))
    cotangents = jnp.einsum("jn...,Nj...->jnN", g_logits, coef)
    return np.asarray(jax.vmap(lambda ct: vjp_fn(ct)[0])(cotangents))
