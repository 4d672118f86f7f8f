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

import dataclasses
import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import kernels, labels, losses, predictor, progress, validate

__all__ = ["NORMS", "KINDS", "fgsm", "pgd", "random_sign", "accuracy", "correct", "predicted_labels", "sweep", "Sweep",
           "step_direction", "project", "KernelSweep", "kernel_sweeps"]

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


@functools.partial(jax.jit, static_argnames=("static", "norm", "loss", "random_start", "keep_best"))
def _attack(leaves, x, y, key, eps, step_size, steps, low, high, *,
            static, norm, loss, random_start, keep_best):
    logits_fn = _join(leaves, static)
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
    return _attack(leaves, x, y, key if random_start else None, eps, step_size, steps, low, high,
                   static=static, norm=norm, loss=loss, random_start=bool(random_start),
                   keep_best=bool(keep_best))


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


KINDS = ("FGSM", "PGD", "noise")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Per-point correctness of one model under each attack at every budget of a grid.

    Attributes:
      eps: ``(n_eps,)`` budgets, increasing.
      correct: kind (``"FGSM"``, ``"PGD"``, ``"noise"``) → ``(n_eps, n)`` uint8, 1 where the model is right.
      adversarial: kind → ``(n, h, w, c)`` perturbed inputs at the budget ``keep`` (if it was asked for).
    """

    eps: np.ndarray
    correct: dict
    adversarial: dict

    def accuracy(self, kind: str) -> np.ndarray:
        """``(n_eps,)`` accuracy under ``kind``."""
        return self.correct[kind].mean(axis=1)


def sweep(logits_fn, x, y, eps, *, steps: int, step_size: float, step_at: float | None = None,
          norm: str = "linf", kinds=KINDS, batch_size: int | None = None, seed: int = 0,
          keep: float | None = None) -> Sweep:
    r"""Accuracy-vs-budget curves: FGSM, PGD and the random-sign control at every ε, per test point.

    At each budget :math:`\epsilon` of the grid, each input is attacked by FGSM (:func:`fgsm`),
    by PGD from the clean input (:func:`pgd`, last iterate) with ``steps`` steps of size
    :math:`s(\epsilon)`, and perturbed by :func:`random_sign` noise of the same size; the model's
    per-point correctness is kept, so that every interval downstream is a paired bootstrap over
    the same points. With ``step_at``, the step size scales with the budget,
    :math:`s(\epsilon) = s \cdot \epsilon / \epsilon_{at}` (``step_size`` is the step at
    ``step_at``), so that ``steps`` steps cross every ball alike; without it every budget uses
    ``step_size``. At :math:`\epsilon = 0` nothing moves and no attack is run.

    Args:
      logits_fn: ``x (n, ...) -> (n,)`` or ``(n, k)``.
      x: ``(n, h, w, c)`` inputs; y: ``(n,)`` ±1 or ``(n, k)`` one-hot labels.
      eps: budgets, any order (sorted, duplicates dropped).
      steps, step_size, step_at: PGD iterations and step size (above).
      norm: ``"linf"`` or ``"l2"``.
      kinds: a subset of :data:`KINDS`.
      batch_size: inputs per attack call: bounds memory.
      seed: of the random signs.
      keep: a budget of the grid whose perturbed inputs are returned in ``Sweep.adversarial``.

    Returns:
      :class:`Sweep`.
    """
    grid = np.unique(np.asarray(eps, float))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds = {list(kinds)!r} is not allowed: expected a non-empty subset of {KINDS}.")
    if keep is not None and keep not in grid:
        raise ValueError(f"keep = {keep!r} is not allowed: expected one of the budgets {grid.tolist()}.")
    size = len(x) if batch_size is None else validate.positive_int("batch_size", batch_size)

    def batched(attack):
        return np.concatenate([np.asarray(attack(x[j:j + size], y[j:j + size])) for j in range(0, len(x), size)])

    out = {k: np.zeros((grid.size, len(x)), np.uint8) for k in kinds}
    kept, clean = {}, None
    for i, e in enumerate(grid):
        s = step_size if step_at is None or e == 0 else step_size * e / step_at
        for kind in kinds:
            if e == 0:  # nothing moves: the clean inputs, classified once
                moved = np.asarray(x)
                clean = correct(logits_fn, moved, y, batch_size=size) if clean is None else clean
                out[kind][i] = clean
            else:
                if kind == "noise":  # drawn for all inputs at once: independent of batch_size
                    moved = random_sign(x, eps=e, norm=norm, seed=seed)
                elif kind == "FGSM":
                    moved = batched(lambda a, b: fgsm(logits_fn, a, b, eps=e, norm=norm))
                else:
                    moved = batched(lambda a, b: pgd(logits_fn, a, b, eps=e, step_size=s, steps=steps, norm=norm))
                out[kind][i] = correct(logits_fn, moved, y, batch_size=size)
            if keep is not None and e == keep:
                kept[kind] = moved
    return Sweep(grid, out, kept)


@dataclasses.dataclass(frozen=True)
class KernelSweep:
    r"""A kernel predictor fitted on one task, and its :class:`Sweep` on that task's test images.

    Attributes:
      predict_fn: ``x (n, h, w, c) -> (n,)`` or ``(n, k)``, the infinite-width predictor
        :math:`f_\infty(x) = \Theta(x, X)\,\alpha` (``predictor.fit``).
      sweep: its per-point correctness under each attack at every budget.
    """

    predict_fn: object
    sweep: Sweep

    def examples(self, x, n: int, kind: str = "PGD"):
        """The first ``n`` perturbed inputs of ``kind`` at the kept budget and the predictor's labels.

        Args:
          x: ``(n_test, h, w, c)`` the clean inputs the sweep attacked, in the same order.
          n: how many, from the first.
          kind: a kind kept by the sweep (``sweep(..., keep=...)``).

        Returns:
          ``(x_adv (n, h, w, c), clean labels (n,), adversarial labels (n,))``, labels as class indices.
        """
        if kind not in self.sweep.adversarial:
            raise ValueError(f"kind = {kind!r} is not allowed: the sweep kept {sorted(self.sweep.adversarial)} "
                             "(pass keep= to sweep to keep the perturbed inputs).")
        x_adv = self.sweep.adversarial[kind][:n]
        return x_adv, predicted_labels(self.predict_fn, x[:n]), predicted_labels(self.predict_fn, x_adv)


def kernel_sweeps(tasks: dict, architectures: dict, eps, *, depth: int, batch_size: int | None = None,
                  **options) -> dict:
    r"""The training-free attack: fit each kernel predictor in closed form, then :func:`sweep` it.

    For each task and each architecture listed for it, the kernel predictor

    .. math::
        f_\infty(x) = \Theta(x, X)\,\Theta(X, X)^{-1} Y

    is fitted from the training Gram matrix (``kernels.gram``, content-addressed cache) with the
    kernel function of ``kernels.kernel_fn`` (the closed form for FC nets, faster inside the attack
    loops), and its test images are attacked at every budget of ``eps``; :math:`\alpha =
    \Theta(X, X)^{-1} Y` stays fixed, so the attacks differentiate :math:`\Theta(x, X)` only.

    Args:
      tasks: ``{name: data.Task}`` with ``x_train (n, h, w, c)``, ``y_train`` (``(n,)`` ±1 or
        ``(n, k)`` one-hot), ``x_test (m, h, w, c)`` and ``y_test``.
      architectures: ``{task name: [architecture, ...]}``, the kernels attacked on each task
        (``"fc"``, ``"conv"``, ``"myrtle"``); an empty list skips the task.
      eps: the budgets of the grid (as in :func:`sweep`).
      depth: hidden layers of every kernel (Myrtle: 5, 7 or 10).
      batch_size: block size of the Gram matrices and test images per attack call: bounds memory.
      **options: passed to :func:`sweep` (``steps``, ``step_size``, ``step_at``, ``norm``, ``seed``,
        ``keep``, ``kinds``).

    Returns:
      ``{task name: {architecture: KernelSweep}}``, in the order of ``architectures``.
    """
    unknown = sorted(set(architectures) - set(tasks))
    if unknown:
        raise ValueError(f"architectures names the tasks {unknown}, which are not among the tasks "
                         f"{sorted(tasks)}.")
    runs = [(name, a) for name, archs in architectures.items() for a in archs]
    out = {name: {} for name, archs in architectures.items() if archs}
    for name, a in progress.bar(runs, desc="attack sweeps"):
        t = tasks[name]
        gram = kernels.gram(t.x_train, None, a, depth, batch_size=batch_size)
        fn = predictor.fit(kernels.kernel_fn(a, depth), t.x_train, t.y_train, k_train_train=gram)
        out[name][a] = KernelSweep(fn, sweep(fn, t.x_test, t.y_test, eps, batch_size=batch_size, **options))
    return out
