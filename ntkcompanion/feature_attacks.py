r"""Usefulness and robustness of many kernel models at once: every eigen-feature attacked on its own, batched.

Each model is :math:`x \mapsto \Theta(x, X)\, c_i` for a column :math:`c_i` of a coefficient matrix
:math:`C` (``features.feature_coefficients``, ``top_k_coefficients``, ``time_coefficients``): an
eigen-feature :math:`\phi_i(x) = \Theta(x, X)\, v_i \lambda_i^{-1} v_i^\top Y`, a top-k predictor or
:math:`f_t`. :func:`robustness` gives each model's clean accuracy (usefulness :math:`\rho_i`) and its
accuracy under FGSM or PGD computed against that model alone (robustness :math:`\gamma_i`;
Tsilivis & Kempe 2022, §2.2, §4), exactly what ``attacks.fgsm`` / ``attacks.pgd`` give per model;
:func:`correctness` gives the same per test point (the evidence layer's input), and
:func:`sample_features` picks which features to attack when all of them would take too long.

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

from ntkcompanion import attacks, features, kernels, labels, losses, predictor, validate

__all__ = ["ATTACKS", "FEATURE_CHUNK", "Robustness", "Correctness", "FeatureSample", "families", "leading_used", "robustness",
           "correctness", "sample_features", "input_gradients", "correctness_by_points", "settings", "attacker",
           "most_and_least_robust"]

ATTACKS = ("fgsm", "pgd")
FEATURE_CHUNK = 32


class Robustness(NamedTuple):
    """Per-model accuracies: ``usefulness`` on clean inputs, ``robustness`` under the attack; ``(m,)`` each."""

    usefulness: np.ndarray
    robustness: np.ndarray


class Correctness(NamedTuple):
    """Per-model, per-point 0/1 correctness: ``clean`` and under the attack (``robust``), ``(m, n)`` each.

    The evidence layer's input (``evidence.classify_features``, ``evidence.claims``): accuracies
    are the row means, and confidence intervals resample the points.
    """

    clean: np.ndarray
    robust: np.ndarray


@functools.partial(jax.jit, static_argnames=("loss", "norm"))
def _attack_all(rows_fn, x, y, coef_chunks, eps, step_size, steps, low, high, *, loss, norm):
    """Per-point correctness ``(chunks, j, n)``, clean and attacked, of the models ``coef_chunks (chunks, N, j[, k])``."""
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
        return correct(clean), correct(logits_at(z))  # (j, n) booleans, exact

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


def correctness(kernel_fn, x_train, coef, x, y, *, attack: str = "fgsm", eps: float,
               step_size: float | None = None, steps: int = 1, norm: str = "linf", loss: str | None = None,
               clip=(0.0, 1.0), feature_chunk: int = FEATURE_CHUNK, get: str = "ntk",
               chunk_size: int = predictor.CHUNK_SIZE) -> Correctness:
    r"""Per-point correctness of every model :math:`x \mapsto \Theta(x, X)\, c_i`, clean and each attacked on its own.

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
      ``Correctness(clean, robust)``, two ``(m, n)`` boolean arrays: model ``i`` right on point ``j``.
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
    n = len(x)
    useful, robust = np.asarray(useful).reshape(-1, n), np.asarray(robust).reshape(-1, n)
    return Correctness(useful[:m], robust[:m])


def robustness(kernel_fn, x_train, coef, x, y, **kwargs) -> Robustness:
    r"""Usefulness and robustness of every model :math:`x \mapsto \Theta(x, X)\, c_i`: the means of :func:`correctness`.

    Arguments as in :func:`correctness`.

    Returns:
      ``Robustness(usefulness, robustness)``, two ``(m,)`` float64 arrays in [0, 1].
    """
    result = correctness(kernel_fn, x_train, coef, x, y, **kwargs)
    return Robustness(result.clean.mean(axis=1, dtype=np.float64), result.robust.mean(axis=1, dtype=np.float64))


class FeatureSample(NamedTuple):
    """Which features are attacked: ``index`` ``(m,)`` eigen-indices (0-based, increasing), ``weight`` ``(m,)``
    the number of candidate features each one stands for (1 for those attacked exactly), and ``n_exact``,
    the number of leading features attacked exactly (the first ``n_exact`` entries of ``index``)."""

    index: np.ndarray
    weight: np.ndarray
    n_exact: int


def sample_features(candidates, *, n_leading: int, n_sampled: int, seed: int = 0) -> FeatureSample:
    r"""The features to attack: the leading ``n_leading`` exactly, and a seeded stratified sample of the rest.

    Attacking every feature costs ``n_features`` attacks; at the book's default sizes that is too
    slow on two CPU cores, and the top of the spectrum (where the robust features are expected)
    matters most. So the first ``n_leading`` candidates (largest eigenvalues) are attacked
    exactly, and the remaining candidates are cut into ``n_sampled`` strata of consecutive
    eigen-indices (as equal in size as possible), one feature drawn uniformly from each with
    ``numpy.random.default_rng(seed)``. A sampled feature stands for its stratum: ``weight`` is the
    stratum's size, so ``sum(weight * mask)`` estimates how many candidates have a property.
    When ``n_leading + n_sampled`` covers every candidate, every candidate is attacked exactly.

    Args:
      candidates: ``(n_features,)`` boolean mask of the features that may be attacked (e.g.
        ``features.resolved``), or an integer: every index below it.
      n_leading: features attacked exactly, from the top of the spectrum (≥ 0).
      n_sampled: strata, one sampled feature each, over the rest (≥ 0).
      seed: the sample's seed.

    Returns:
      :class:`FeatureSample`.
    """
    n_leading = validate.nonnegative_int("n_leading", n_leading)
    n_sampled = validate.nonnegative_int("n_sampled", n_sampled)
    pool = (np.arange(candidates) if isinstance(candidates, (int, np.integer))
            else np.flatnonzero(np.asarray(candidates, bool)))
    if pool.size == 0 or n_leading + n_sampled == 0:
        raise ValueError(f"nothing to attack: {pool.size} candidate features, n_leading = {n_leading}, "
                         f"n_sampled = {n_sampled}; expected at least one of each.")
    if n_leading + n_sampled >= pool.size:
        return FeatureSample(pool, np.ones(pool.size), int(pool.size))
    lead, rest = pool[:n_leading], pool[n_leading:]
    strata = np.array_split(rest, n_sampled)
    rng = np.random.default_rng(seed)
    drawn = np.array([rng.choice(stratum) for stratum in strata], int)
    weight = np.concatenate([np.ones(lead.size), [float(s.size) for s in strata]])
    return FeatureSample(np.concatenate([lead, drawn]), weight, int(lead.size))


def families(sample: FeatureSample, n_leading: int) -> np.ndarray:
    """The multiple-testing families of the attacked features, stated before the data are seen.

    ``"leading"`` for the first ``n_leading`` attacked features (``N_LEADING``, the top of the spectrum),
    ``"rest"`` for the others (the stratified sample of the rest, or every remaining feature when all
    are attacked). Benjamini–Hochberg then runs within each family (``evidence.classify_features``),
    so a clear pattern among the leading features is not diluted by many weak tail features.
    Returns ``(n_attacked,)`` strings.
    """
    return np.where(np.arange(len(sample.index)) < n_leading, "leading", "rest")


def leading_used(sample: FeatureSample, n_leading: int) -> tuple[int, str]:
    """How many leading features were attacked exactly, and a clause that says so for the page.

    ``N_LEADING`` is checked against ``N_TRAIN`` before the run, but the candidates are the features
    the ``RCOND`` cut-off leaves resolved, known only at run time; :func:`sample_features` then
    attacks all of them. The number used is ``min(n_leading, sample.n_exact)``.

    Returns:
      ``(used, note)``: ``note`` (plain text, for ``glue:text``) names ``N_LEADING`` and, when fewer were
      used, why.
    """
    used = int(min(n_leading, sample.n_exact))
    if used == n_leading:
        return used, f"N_LEADING = {n_leading}"
    return used, (f"N_LEADING = {n_leading} asks for more than the {used} features the RCOND cut-off leaves "
                  f"resolved: all {used} are used")


def attacker(task, architecture: str = "fc", depth: int = 1, **kwargs):
    """``coef -> correctness(kernels.kernel_fn(architecture, depth), task.x_train, coef, task.x_test, task.y_test, **kwargs)``.

    One attack set-up for every coefficient matrix a section attacks (features, groups, :math:`f_t`);
    the kernel is the architecture's fast form (``kernels.kernel_fn``).
    """
    return functools.partial(correctness, kernels.kernel_fn(architecture, depth), task.x_train, x=task.x_test,
                             y=task.y_test, **kwargs)


def most_and_least_robust(classes, n: int) -> np.ndarray:
    """Rows of the ``n`` most robust and the ``n`` least robust useful features (all features if none is useful).

    Args:
      classes: ``evidence.FeatureClasses`` (``useful``, ``robust_accuracy``).
      n: features of each kind (≥ 1).

    Returns:
      Up to ``2 n`` row indices: the most robust first, then the least robust (least first).
    """
    n = validate.positive_int("n", n)
    pool = np.flatnonzero(classes.useful) if np.any(classes.useful) else np.arange(len(classes.useful))
    pool = pool[np.argsort(-np.asarray(classes.robust_accuracy)[pool], kind="stable")]
    return np.r_[pool[:n], pool[::-1][:n]]


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


def correctness_by_points(kernel_fn, x_train, coef, x, y, *, point_chunk: int, **kwargs) -> Correctness:
    r""":func:`correctness` computed ``point_chunk`` test points at a time: the same result, bounded memory.

    Each test point's attack depends on that point alone (the loss is a sum over points and the
    projection is per point), so splitting the points changes nothing but the peak memory, which
    for kernels with full spatial covariances (Myrtle: :math:`(hw)^2` floats per pair) is
    ``feature_chunk · point_chunk · min(n_train, chunk_size)`` pairs instead of ``feature_chunk · n · …``.

    Args:
      kernel_fn, x_train, coef, x, y, **kwargs: as in :func:`correctness`.
      point_chunk: test points per call (≥ 1).

    Returns:
      ``Correctness(clean, robust)``, two ``(m, n)`` boolean arrays.
    """
    point_chunk = validate.positive_int("point_chunk", point_chunk)
    parts = [correctness(kernel_fn, x_train, coef, x[i:i + point_chunk], y[i:i + point_chunk], **kwargs)
             for i in range(0, len(x), point_chunk)]
    return Correctness(np.concatenate([r.clean for r in parts], axis=1),
                       np.concatenate([r.robust for r in parts], axis=1))


def settings(eps: float, steps: int, step_size: float, **kwargs) -> tuple:
    r"""The attack that measures robustness, from a section's knobs: PGD, or FGSM when ``steps`` is 0.

    Args:
      eps: radius ``EPS``; steps: ``ATTACK_STEPS`` (0: FGSM, one step of size ``eps``); step_size:
        ``ATTACK_STEP_SIZE`` (PGD only); kwargs: further options of :func:`correctness` (``feature_chunk``...).

    Returns:
      ``(name, options)``: ``"PGD"`` or ``"FGSM"`` (named in every table and verdict) and the keyword
      arguments of :func:`correctness`.
    """
    steps = validate.nonnegative_int("ATTACK_STEPS", steps)
    name = "PGD" if steps else "FGSM"
    return name, dict(attack=name.lower(), eps=eps, steps=max(steps, 1), step_size=step_size, **kwargs)
