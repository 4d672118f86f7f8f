r"""FGSM and PGD in the ℓ∞ and ℓ2 balls, for any differentiable model ``logits_fn: x ↦ logits``.

The same attacks serve the kernel predictor (``predictor.fit``), a single eigen-feature
and a finite network (``lambda x: apply_fn(params, x)``): only the input gradient of the
loss is needed. Against the kernel predictor this is the paper's *training-free* attack
(Tsilivis & Kempe 2022, §3): :math:`\nabla_x L(\Theta(x, X)\,\alpha, y)` with :math:`\alpha` fixed.

PGD (the basic iterative method of Kurakin et al. 2017; Madry et al. 2018) iterates

.. math::
    x_{i+1} = \Pi_{[0,1]}\Big(\Pi_{B_\epsilon(x)}\big(x_i + s\, d(\nabla_x L(x_i))\big)\Big),
    \qquad d(g) = \operatorname{sign}(g)\ (\ell_\infty), \quad d(g) = g / \|g\|_2\ (\ell_2),

per example; FGSM is one step of size :math:`\epsilon` from :math:`x`. Random starts draw
:math:`x_0` uniformly in the ℓ∞ ball, or uniformly (direction and radius) in the ℓ2 ball.
The loop is a ``lax.fori_loop`` inside one jit; ``eps``, ``step_size``, ``steps`` and the
clip range are traced, so sweeping them does not recompile.

A kernel predictor (``predictor.fit`` / ``predictor.kernel_apply_fn``) is evaluated the attack's
own way when that fits in memory (``ntkcompanion._kernel_plan``): its training chunks are split
once before the loop, each step keeps the forward pass's residuals instead of recomputing them
in the backward pass, and the closed-form FC kernel runs on the pixels lit in some training image. The function and its
gradient are the predictor's (tested); only the cost differs, which is what
``benchmarks/bench_foolbox.py`` measures against foolbox's PGD on the same predictor.

Losses and label conventions: ``losses`` (``"bce"`` for ±1 labels, ``"ce"`` for one-hot,
``"margin"`` for both; the default follows the labels' shape).

Compilation is cached per model. A kernel predictor (a ``jax.tree_util.Partial``) is
passed to the jitted attack as data, so refitting on new data of the same shape reuses
the compiled attack; a plain Python function (``lambda x: apply_fn(params, x)``) is a
static argument: keep the same function object to reuse the compilation.

Example:
    >>> predict_fn = predictor.fit(kernel_fn, x_train, y_train)
    >>> x_adv = pgd(predict_fn, x_test, y_test, eps=0.1, step_size=0.01, steps=10)
    >>> accuracy(predict_fn, x_adv, y_test)
"""

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import _kernel_plan as kernel_plan
from ntkcompanion import labels, losses, validate

__all__ = ["NORMS", "fgsm", "pgd", "random_sign", "accuracy", "correct", "predicted_labels", "step_direction",
           "project"]

NORMS = ("linf", "l2")
_TINY = 1e-12


def _split(logits_fn):
    """Array leaves of a pytree model (traced), or the function itself (static)."""
    leaves, treedef = jax.tree_util.tree_flatten(logits_fn)
    if leaves and all(isinstance(leaf, (jax.Array, np.ndarray)) for leaf in leaves):
        return tuple(leaves), treedef
    return (), logits_fn


def _join(leaves, static):
    return static.unflatten(leaves) if isinstance(static, jax.tree_util.PyTreeDef) else static


def _per_example_norm(v, norm, batch_dims: int = 1):
    axes = tuple(range(batch_dims, v.ndim))
    if norm == "linf":
        return jnp.max(jnp.abs(v), axis=axes, keepdims=True)
    return jnp.sqrt(jnp.sum(v * v, axis=axes, keepdims=True))


def step_direction(g, norm: str, batch_dims: int = 1):
    """Steepest-ascent direction of a gradient: its sign (ℓ∞) or its per-example unit vector (ℓ2).

    ``batch_dims`` leading axes index examples (2 when a batch of models attacks a batch of inputs,
    as ``features.robustness`` does); the rest are an example's pixels.
    """
    if norm == "linf":
        return jnp.sign(g)
    return g / jnp.maximum(_per_example_norm(g, "l2", batch_dims), _TINY)


def project(z, x, eps, low, high, norm: str, batch_dims: int = 1):
    """Projects ``z`` onto the ε-ball around ``x`` (per example) and then onto the pixel box [low, high]."""
    delta = z - x
    if norm == "linf":
        delta = jnp.clip(delta, -eps, eps)
    else:
        delta = delta * jnp.minimum(1.0, eps / jnp.maximum(_per_example_norm(delta, "l2", batch_dims), _TINY))
    # Clipping to the pixel box only shrinks |z - x| coordinate-wise: the ε-ball still holds.
    return jnp.clip(x + delta, low, high)


def _random_start(key, x, eps, norm):
    if norm == "linf":
        return x + jax.random.uniform(key, x.shape, x.dtype, -eps, eps)
    direction_key, radius_key = jax.random.split(key)
    g = jax.random.normal(direction_key, x.shape, x.dtype)
    d = np.prod(x.shape[1:])
    radius = eps * jax.random.uniform(radius_key, (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype) ** (1.0 / d)
    return x + radius * g / jnp.maximum(_per_example_norm(g, "l2"), _TINY)


@functools.partial(jax.jit, static_argnames=("static", "norm", "loss", "random_start", "keep_best", "plan"))
def _attack(leaves, x, y, key, eps, step_size, steps, low, high, *,
            static, norm, loss, random_start, keep_best, plan=None, pixels=None):
    logits_fn = _join(leaves, static) if plan is None else kernel_plan.planned_logits(leaves, pixels, plan)
    eps, step_size, low, high = (jnp.asarray(v, x.dtype) for v in (eps, step_size, low, high))

    def loss_fn(z):
        return losses.per_example(loss, logits_fn(z), y)

    def summed(z):
        per = loss_fn(z)
        return jnp.sum(per), per

    # Examples are independent, so the gradient of the summed loss holds every per-example gradient.
    value_and_grad = jax.grad(summed, has_aux=True)
    expand = (slice(None),) + (None,) * (x.ndim - 1)

    def keep(best_z, best_loss, z, loss_z):
        better = loss_z > best_loss
        return jnp.where(better[expand], z, best_z), jnp.where(better, loss_z, best_loss)

    z = project(_random_start(key, x, eps, norm), x, eps, low, high, norm) if random_start else x
    # The clean input is a candidate for the best point, so its loss is a floor (keep_best=True).
    best = (x, loss_fn(x) if random_start else jnp.full(x.shape[:1], -jnp.inf, x.dtype))

    def step(_, carry):
        z, best = carry
        g, loss_z = value_and_grad(z)
        if keep_best:
            best = keep(*best, z, loss_z)
        return project(z + step_size * step_direction(g, norm), x, eps, low, high, norm), best

    z, best = jax.lax.fori_loop(0, steps, step, (z, best))
    if keep_best:
        return keep(*best, z, loss_fn(z))[0]
    return z


def _check(logits_fn, x, y, eps, step_size, steps, norm, loss, random_start, key, clip):
    if not callable(logits_fn):
        raise ValueError(f"logits_fn = {logits_fn!r} is not allowed: expected a function x -> logits.")
    validate.nonnegative_float("eps", eps)
    validate.positive_float("step_size", step_size)
    validate.positive_int("steps", steps)
    validate.one_of("norm", norm, NORMS)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.ndim < 2:
        raise ValueError(f"x has dtype {x.dtype} and shape {x.shape}: expected floating-point inputs "
                         "(n, ...), e.g. images (n, h, w, c) in [0, 1].")
    y = jnp.asarray(labels.check(y, x.shape[0]))
    loss = losses.default_loss(y) if loss is None else validate.one_of("loss", loss, losses.LOSSES)
    if (loss, y.ndim) in (("bce", 2), ("ce", 1)):
        allowed = "(n,) ±1 labels" if loss == "bce" else "(n, k) one-hot labels"
        raise ValueError(f"loss = {loss!r} is not allowed with y of shape {y.shape}: it needs {allowed}.")
    if random_start and key is None:
        raise ValueError("key = None is not allowed with random_start=True: expected a jax.random key.")
    if clip is None:
        low, high = -jnp.inf, jnp.inf
    else:
        if (not isinstance(clip, (tuple, list)) or len(clip) != 2
                or not all(isinstance(c, numbers.Real) for c in clip) or not clip[0] < clip[1]):
            raise ValueError(f"clip = {clip!r} is not allowed: expected None or (low, high) with low < high.")
        low, high = clip
    return x, y.astype(x.dtype), loss, low, high


def pgd(logits_fn, x, y, *, eps: float, step_size: float, steps: int, norm: str = "linf",
        loss: str | None = None, random_start: bool = False, key=None, clip=(0.0, 1.0),
        keep_best: bool = False):
    r"""Projected gradient ascent on the loss in the :math:`\epsilon`-ball around each input.

    .. math::
        x_{i+1} = \Pi_{[0,1]}\big(\Pi_{B_\epsilon(x)}(x_i + s\, d(\nabla_x L(f(x_i), y)))\big)

    Args:
      logits_fn: ``x (n, ...) -> (n,)`` or ``(n, k)`` (``(n, 1)`` is read as ``(n,)``).
      x: ``(n, h, w, c)`` clean inputs, floating point.
      y: ``(n,)`` ±1 labels or ``(n, k)`` one-hot labels.
      eps: radius :math:`\epsilon \ge 0` of the ball, in the chosen norm.
      step_size: :math:`s > 0`, in the chosen norm (ℓ2 steps have length :math:`s`).
      steps: iterations (≥ 1).
      norm: ``"linf"`` or ``"l2"``.
      loss: ``"bce"``, ``"ce"`` or ``"margin"`` (``losses``); ``None``: ``"bce"`` for ±1 labels,
        ``"ce"`` for one-hot labels.
      random_start: start uniformly in the ball (needs ``key``); else at ``x``.
      key: a ``jax.random`` key; the result is a deterministic function of it.
      clip: ``(low, high)`` pixel range, or ``None`` for no clipping.
      keep_best: return, per example, the iterate with the largest loss (the clean input
        included), instead of the last iterate (the authors' method). Then the loss at
        ``x_adv`` is never below the clean loss.

    Returns:
      ``x_adv`` with the shape and dtype of ``x``.
    """
    x, y, loss, low, high = _check(logits_fn, x, y, eps, step_size, steps, norm, loss,
                                   random_start, key, clip)
    leaves, static = _split(logits_fn)
    plan, pixels = kernel_plan.plan(logits_fn, leaves, x)
    return _attack(leaves, x, y, key if random_start else None, eps, step_size, steps, low, high,
                   static=static, norm=norm, loss=loss, random_start=bool(random_start),
                   keep_best=bool(keep_best), plan=plan, pixels=pixels)


def fgsm(logits_fn, x, y, *, eps: float, norm: str = "linf", loss: str | None = None,
         clip=(0.0, 1.0)):
    r"""Fast gradient (sign) method: one step of size :math:`\epsilon` (Goodfellow et al. 2015).

    .. math::
        x_{adv} = \Pi_{[0,1]}\big(x + \epsilon\, d(\nabla_x L(f(x), y))\big),
        \quad d = \operatorname{sign}\ (\ell_\infty),\ d(g) = g/\|g\|_2\ (\ell_2)

    Args:
      logits_fn: ``x (n, ...) -> (n,)`` or ``(n, k)``.
      x: ``(n, h, w, c)`` clean inputs.
      y: ``(n,)`` ±1 labels or ``(n, k)`` one-hot labels.
      eps: :math:`\epsilon \ge 0`.
      norm: ``"linf"`` or ``"l2"``.
      loss: as in :func:`pgd`.
      clip: ``(low, high)`` or ``None``.

    Returns:
      ``x_adv`` with the shape and dtype of ``x``.
    """
    eps = validate.nonnegative_float("eps", eps)
    # eps = 0 is a valid, empty attack; step_size must be positive, and is then irrelevant.
    return pgd(logits_fn, x, y, eps=eps, step_size=eps or 1.0, steps=1, norm=norm, loss=loss,
               clip=clip)


def random_sign(x, *, eps: float, norm: str = "linf", seed: int = 0, clip=(0.0, 1.0)):
    r"""The noise control of an attack: a random sign perturbation of the attack's size, no gradient.

    .. math::
        x_{noise} = \Pi_{[0,1]}\big(x + \epsilon\, s\big), \qquad s \in \{-1, +1\}^d \text{ uniform}\ (\ell_\infty),
        \quad s / \sqrt{d}\ (\ell_2),

    a vertex of the ℓ∞ ball (what FGSM moves to, in a random instead of the loss's direction),
    or a point on the ℓ2 sphere of radius ε. The signs depend on ``seed`` and the shape of ``x``
    only, so the same seed moves every image along the same ray at every ε (a smooth curve).

    Args:
      x: ``(n, h, w, c)`` clean inputs.
      eps: :math:`\epsilon \ge 0`.
      norm: ``"linf"`` or ``"l2"``.
      seed: for ``numpy.random.default_rng``.
      clip: ``(low, high)`` pixel range, or ``None``.

    Returns:
      ``(n, h, w, c)`` numpy array, dtype of ``x``.
    """
    eps = validate.nonnegative_float("eps", eps)
    validate.one_of("norm", norm, NORMS)
    x = np.asarray(x)
    signs = np.random.default_rng(validate.nonnegative_int("seed", seed)).choice(
        np.array([-1.0, 1.0], x.dtype), size=x.shape)
    scale = eps if norm == "linf" else eps / np.sqrt(np.prod(x.shape[1:]))
    noisy = x + x.dtype.type(scale) * signs
    return noisy if clip is None else np.clip(noisy, *clip).astype(x.dtype)


def correct(logits_fn, x, y, *, batch_size: int | None = None) -> np.ndarray:
    """Per input, whether it is classified correctly: sign for ±1 labels, argmax for one-hot labels.

    Args:
      logits_fn: ``x (n, ...) -> (n,)`` or ``(n, k)``.
      x: ``(n, h, w, c)`` inputs.
      y: ``(n,)`` ±1 labels or ``(n, k)`` one-hot labels.
      batch_size: inputs per call of ``logits_fn`` (``None``: all at once).

    Returns:
      ``(n,)`` bool numpy array.
    """
    n = len(x)
    size = n if batch_size is None else validate.positive_int("batch_size", batch_size)
    right = [np.asarray(losses.correct(logits_fn(x[i:i + size]), jnp.asarray(y[i:i + size])))
             for i in range(0, n, size)]
    return np.concatenate(right).astype(bool)


def predicted_labels(logits_fn, x) -> np.ndarray:
    """Predicted class indices ``(n,)``: 1 where a scalar output is positive (the +1 class) else 0; argmax otherwise."""
    out = np.asarray(logits_fn(x))
    out = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    return (out > 0).astype(int) if out.ndim == 1 else np.argmax(out, axis=1)


def accuracy(logits_fn, x, y, *, batch_size: int | None = None) -> float:
    """Fraction of inputs classified correctly (the mean of :func:`correct`), a Python float in [0, 1]."""
    return float(np.mean(correct(logits_fn, x, y, batch_size=batch_size)))
