r"""Kernels: the analytic infinite-width NTK/NNGP of a registry network, its Gram matrices, and the empirical NTK.

.. math::
    \Theta(x, x') = \langle \nabla_\theta f(x), \nabla_\theta f(x') \rangle

* :func:`kernel_fn` is *the* kernel of an architecture: neural-tangents' stax ``kernel_fn``,
  or for FC nets the closed form :func:`fc_kernel_fn` (in ``_fc_closed_form``; the same kernel, tested to float32
  precision, and about 3× faster inside attack loops on the CPU).
* :func:`gram` is an analytic Gram matrix through the content-addressed ``cache``: a rerun with
  the same architecture, depth, kernel and data reads it back instead of recomputing it.
* :func:`kernel_matrix` computes a Gram matrix of any ``kernel_fn`` block by block;
  :func:`empirical_ntk` is :math:`J(x_1) J(x_2)^\top` of a finite network.

Analytic Gram matrices are built block by block with ``neural_tangents.batch``,
which also spreads the blocks over every local accelerator when there are several.
Memory is bounded by one ``batch_size × batch_size`` block of the kernel's
intermediate covariances: for FC nets that is a few scalars per pair; for
Conv + Flatten about ``h·w`` floats per pair; for Myrtle (global pooling)
``(h·w)²`` floats per pair, so Myrtle wants ``batch_size`` ≲ 8 on 28×28 inputs.

Results come back to the host as float64 numpy arrays, ready for the solves and
eigendecompositions that need the precision; the kernels themselves are computed
in JAX's default dtype (float32 unless ``jax_enable_x64`` is set).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import architectures, validate
from ntkcompanion import cache as _cache
from ntkcompanion._fc_closed_form import KERNELS, fc_kernel_fn
from ntkcompanion._nt import nt

__all__ = ["KERNELS", "BASELINES", "JACOBIAN_BUDGET", "kernel_fn", "fc_kernel_fn", "gram", "kernel_matrix",
           "empirical_ntk", "average_pool", "median_bandwidth", "baseline_gram"]

# Label-free kernels that are not NTKs, the controls of claim 4 (the NNGP is the third, via :func:`gram`).
BASELINES = ("linear", "rbf")


def _pad_rows(x: np.ndarray, multiple: int) -> np.ndarray:
    """Pads axis 0 with zeros up to a multiple of ``multiple`` (nt.batch needs divisibility)."""
    missing = -len(x) % multiple
    if missing == 0:
        return x
    return np.concatenate([x, np.zeros((missing,) + x.shape[1:], x.dtype)])


def kernel_matrix(kernel_fn, x1, x2=None, *, get="ntk", batch_size: int = 128,
                  device_count: int = -1):
    r"""Analytic kernel Gram matrix :math:`K(x_1, x_2)`, computed in blocks.

    Args:
      kernel_fn: a stax ``kernel_fn`` (see ``architectures.build``).
      x1: ``(n1, h, w, c)`` inputs.
      x2: ``(n2, h, w, c)`` inputs, or ``None`` for ``x1`` itself.
      get: ``"ntk"`` or ``"nngp"``, or a tuple of both (one pass computes both).
      batch_size: rows and columns per block; bounds memory (module docstring).
      device_count: accelerators to spread blocks over; ``-1`` uses all of them.

    Returns:
      ``(n1, n2)`` float64 numpy array; a tuple of them, in order, if ``get`` is a tuple. With ``x2=None``
      on one device only the upper triangle of blocks is computed (``n (n + batch_size) / 2`` pairs) and
      mirrored: the matrix is exactly symmetric.
    """
    if isinstance(get, tuple):
        for i, g in enumerate(get):
            validate.one_of(f"get[{i}]", g, KERNELS)
    else:
        validate.one_of("get", get, KERNELS)
    validate.positive_int("batch_size", batch_size)
    x1 = np.asarray(x1, np.float32)
    symmetric = x2 is None
    x2 = x1 if symmetric else np.asarray(x2, np.float32)
    n1, n2 = len(x1), len(x2)
    devices = jax.local_device_count() if device_count == -1 else max(device_count, 1)
    # nt.batch needs n1 divisible by block·devices and n2 by block: pad with zeros
    # (rows are independent) and crop; small inputs get one block, no waste.
    block = min(batch_size, -(-n1 // devices), n2)
    batched = nt.batch(kernel_fn, batch_size=block, device_count=device_count,
                       store_on_device=False)
    kinds = get if isinstance(get, tuple) else (get,)
    if symmetric and devices == 1 and n1 > block:
        # K(X, X) is symmetric: one strip of rows at a time against the columns from its diagonal block
        # on (the upper triangle), mirrored; about half the pairs of the full matrix.
        out = [np.empty((n1, n1)) for _ in kinds]
        for i in range(0, n1, block):
            strip = batched(_pad_rows(x1[i:i + block], block), _pad_rows(x1[i:], block), get)
            for o, ki in zip(out, strip if isinstance(get, tuple) else (strip,)):
                ki = np.asarray(ki, np.float64)[:min(block, n1 - i), :n1 - i]
                o[i:i + len(ki), i:] = ki
                o[i:, i:i + len(ki)] = ki.T
        return tuple(out) if isinstance(get, tuple) else out[0]
    k = batched(_pad_rows(x1, block * devices), _pad_rows(x2, block), get)
    if isinstance(get, tuple):
        return tuple(np.asarray(ki, np.float64)[:n1, :n2] for ki in k)
    return np.asarray(k, np.float64)[:n1, :n2]


@functools.lru_cache(maxsize=32)
def _empirical_ntk_fn(apply_fn, trace_axes: tuple):
    """The jitted empirical-NTK function of ``apply_fn``, built once (repeated calls reuse its compilation)."""
    # Jacobian contraction is the implementation that works with jax 0.5 for every stax net.
    return jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=trace_axes, vmap_axes=0,
                                       implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION))


@functools.lru_cache(maxsize=32)
def _jacobian_fn(apply_fn):
    """Per-image Jacobians of ``apply_fn``, flattened: ``(params, (b, ...)) -> (b, k, P)`` float32, jitted once."""

    def one(params, x):
        jac = jax.jacrev(lambda p: apply_fn(p, x[None])[0])(params)  # leaves (k, *leaf shape)
        leaves = jax.tree_util.tree_leaves(jac)
        return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)

    return jax.jit(jax.vmap(one, in_axes=(None, 0)))


@functools.partial(jax.jit, static_argnames="trace")
def _contract(j1, j2, trace: bool):
    """:math:`J_1 J_2^\top` of ``(b1, k, P)`` and ``(b2, k, P)``: ``(b1, b2)`` averaged over the logits, or
    ``(b1, b2, k, k)``."""
    if trace:
        return jnp.einsum("aip,bip->ab", j1, j2) / j1.shape[1]
    return jnp.einsum("aip,bjp->abij", j1, j2)


#: Bytes of Jacobians :func:`empirical_ntk` may keep at once to compute each image's Jacobian only once.
JACOBIAN_BUDGET = 4e9


def _n_params(params) -> int:
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(params)))


def empirical_ntk(apply_fn, params, x1, x2=None, *, trace_axes=(-1,),
                  batch_size: int = 64, jacobian_budget: float = JACOBIAN_BUDGET) -> np.ndarray:
    r"""Empirical NTK :math:`J(x_1) J(x_2)^\top` of a finite network at ``params``.

    When the Jacobians of every image fit in ``jacobian_budget`` bytes (``n × k × P`` float32, ``k``
    logits, ``P`` parameters), each image's Jacobian is computed once, in blocks of ``batch_size``,
    and the blocks are contracted pairwise: ``n k`` backward passes in all. Otherwise neural-tangents'
    Jacobian contraction runs block by block, recomputing both blocks' Jacobians for every pair of
    blocks (memory: two blocks). For the symmetric ``x2=None`` only the upper triangle of blocks is
    computed, the rest mirrored.

    Args:
      apply_fn: ``apply_fn(params, x)`` of a stax network.
      params: its parameters.
      x1: ``(n1, h, w, c)`` inputs.
      x2: ``(n2, h, w, c)`` inputs, or ``None`` for ``x1`` itself.
      trace_axes: output axes to average over (neural-tangents' normalised trace); ``(-1,)`` for a scalar-per-pair
        kernel (matches the analytic ``kernel_fn``), ``()`` to keep every logit pair.
      batch_size: rows and columns per block.
      jacobian_budget: bytes of Jacobians that may be kept at once (0: always block by block).

    Returns:
      float64 numpy array ``(n1, n2)``, or ``(n1, n2, k, k)`` with ``trace_axes=()``.
    """
    validate.positive_int("batch_size", batch_size)
    x1 = np.asarray(x1, np.float32)
    symmetric = x2 is None
    x2 = x1 if symmetric else np.asarray(x2, np.float32)
    trace_axes = tuple(trace_axes)
    if symmetric and trace_axes not in ((), (-1,)):
        symmetric = False  # mirroring assumes the (n1, n2) or (n1, n2, k, k) layout
    logits = int(np.prod(jax.eval_shape(apply_fn, params, x1[:1]).shape[1:]))
    n_jac = len(x1) + (0 if symmetric else len(x2))
    if trace_axes in ((), (-1,)) and 4.0 * n_jac * logits * _n_params(params) <= jacobian_budget:
        return _empirical_ntk_once(apply_fn, params, x1, None if symmetric else x2, trace_axes == (-1,),
                                   batch_size)
    ntk_fn = _empirical_ntk_fn(apply_fn, trace_axes)
    starts1, starts2 = range(0, len(x1), batch_size), range(0, len(x2), batch_size)
    out = {}
    for i in starts1:
        for j in starts2:
            if symmetric and j < i:  # the transpose of a block already computed
                block = out[j, i]
                out[i, j] = block.swapaxes(0, 1) if block.ndim == 2 else block.transpose(1, 0, 3, 2)
            else:
                out[i, j] = np.asarray(ntk_fn(x1[i:i + batch_size], x2[j:j + batch_size], params))
    rows = [np.concatenate([out[i, j] for j in starts2], axis=1) for i in starts1]
    return np.concatenate(rows, axis=0).astype(np.float64)


def _empirical_ntk_once(apply_fn, params, x1, x2, trace: bool, batch_size: int) -> np.ndarray:
    """:func:`empirical_ntk` with every image's Jacobian computed once and kept on the device."""
    jac = _jacobian_fn(apply_fn)
    blocks1 = [jac(params, x1[i:i + batch_size]) for i in range(0, len(x1), batch_size)]
    blocks2 = blocks1 if x2 is None else [jac(params, x2[j:j + batch_size]) for j in range(0, len(x2), batch_size)]
    out = {}
    for a, j1 in enumerate(blocks1):
        for b, j2 in enumerate(blocks2):
            if x2 is None and b < a:
                block = np.asarray(out[b, a])
                out[a, b] = block.T if trace else block.transpose(1, 0, 3, 2)
            else:
                out[a, b] = np.asarray(_contract(j1, j2, trace))
    rows = [np.concatenate([out[a, b] for b in range(len(blocks2))], axis=1) for a in range(len(blocks1))]
    return np.concatenate(rows, axis=0).astype(np.float64)


def kernel_fn(architecture: str, depth: int = 1, *, fast: bool = True, **kwargs):
    r"""The analytic kernel function of a registry architecture: closed form for FC, stax otherwise.

    Args:
      architecture: one of ``architectures.ARCHITECTURES`` (``"fc"``, ``"conv"``, ``"myrtle"``).
      depth: its depth (``architectures.build``).
      fast: for ``"fc"``, return :func:`fc_kernel_fn` (same kernel, faster in attack loops);
        ``False`` always returns the stax ``kernel_fn``.
      **kwargs: ``W_std``, ``b_std`` (both forms); other ``architectures.build`` options
        (``parameterization``...) select the stax form, as width and ``out_dim`` do not change the kernel.

    Returns:
      ``kernel_fn(x1, x2=None, get="ntk")``: ``(n1, h, w, c)``, ``(n2, h, w, c)`` → ``(n1, n2)``;
      the same function object for the same arguments (so compiled attacks are reused).
    """
    architectures.check(architecture, depth)
    return _kernel_fn(architecture, depth, bool(fast), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=None)
def _kernel_fn(architecture, depth, fast, options):
    """One function object per configuration: the jitted attacks and predictors key their compilations on it."""
    kwargs = dict(options)
    if fast and architecture == "fc" and set(kwargs) <= {"W_std", "b_std"}:
        return fc_kernel_fn(depth, **kwargs)
    return architectures.build(architecture, depth, **kwargs)[2]


def gram(x1, x2=None, architecture: str = "fc", depth: int = 1, *, kind="ntk", cache: bool = True,
         batch_size: int = 128, **kwargs):
    r"""Analytic Gram matrix :math:`K(x_1, x_2)` of a registry architecture, read from the cache when it exists.

    The entry's key is everything that determines the matrix: ``architecture``, ``depth``, the
    kernel options ``kwargs``, ``kind``, the fingerprints of ``x1`` and ``x2`` (``cache.fingerprint``),
    whether JAX computes in float64, and the package version (``cache.key``). The block size does
    not change the result and is not part of the key. The stax ``kernel_fn`` computes it
    (:func:`kernel_matrix`), so the cached matrix equals what the notebooks computed before.

    Args:
      x1: ``(n1, h, w, c)`` inputs.
      x2: ``(n2, h, w, c)`` inputs, or ``None`` for ``x1`` itself (the symmetric train-train matrix).
      architecture, depth: as in ``architectures.build``.
      kind: ``"ntk"``, ``"nngp"``, or a tuple of both (one pass computes every kind).
      cache: read and write the content-addressed cache; ``False`` always computes.
      batch_size: rows and columns per block (:func:`kernel_matrix`); myrtle wants ≲ 8.
      **kwargs: ``architectures.build`` options that change the kernel (``W_std``, ``b_std``,
        ``parameterization``).

    Returns:
      ``(n1, n2)`` float64 numpy array, or a tuple of them in the order of ``kind``.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for i, g in enumerate(kinds):
        validate.one_of("kind" if len(kinds) == 1 and not isinstance(kind, tuple) else f"kind[{i}]", g, KERNELS)
    architectures.check(architecture, depth)
    validate.positive_int("batch_size", batch_size)
    x1 = np.asarray(x1, np.float32)
    x2 = None if x2 is None else np.asarray(x2, np.float32)

    def compute():
        stax_kernel_fn = architectures.build(architecture, depth, **kwargs)[2]
        k = kernel_matrix(stax_kernel_fn, x1, x2, get=kinds, batch_size=batch_size)
        return dict(zip(kinds, k))

    if cache:
        entry = _cache.key(kind="gram", architecture=architecture, depth=depth, options=kwargs,
                           kernels=list(kinds), x1=_cache.fingerprint(x1),
                           x2=None if x2 is None else _cache.fingerprint(x2),
                           x64=bool(jax.config.jax_enable_x64))
        shape = (len(x1), len(x1) if x2 is None else len(x2))
        arrays = _cache.cached(entry, compute, shapes={g: shape for g in kinds})  # a wrong-shaped entry is recomputed
    else:
        arrays = compute()
    out = tuple(np.asarray(arrays[g], np.float64) for g in kinds)
    return out if isinstance(kind, tuple) else out[0]


# --- Inputs and baseline kernels ----------------------------------------------------------------


def average_pool(x, factor: int, *, name: str = "DOWNSAMPLE") -> np.ndarray:
    r"""Images average-pooled by an integer ``factor``: ``(n, h, w, c)`` → ``(n, h // f, w // f, c)``, still in [0, 1].

    Rows and columns beyond a multiple of ``factor`` are dropped. Pooling is the cheapest way to
    shrink the Myrtle kernel, whose cost grows as :math:`(hw)^2` per pair of images.

    Args:
      x: ``(n, h, w, c)`` images.
      factor: pooling factor (≥ 1; 1 returns the images unchanged).
      name: the parameter's name in messages.
    """
    factor = validate.positive_int(name, factor)
    x = np.asarray(x, np.float32)
    n, h, w, c = x.shape
    if factor > min(h, w):
        raise ValueError(f"{name} = {factor} is not allowed: expected at most the image side {min(h, w)}.")
    x = x[:, : h - h % factor, : w - w % factor]
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def _squared_distances(a, b):
    """``(n1, n2)`` squared Euclidean distances between flattened rows, in float64."""
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(x) -> float:
    r"""The median heuristic: :math:`\sigma^2 = \operatorname{median}_{i<j} \|x_i - x_j\|^2` over distinct pairs.

    Args:
      x: ``(n, ...)`` inputs, ``n ≥ 2``.

    Returns:
      :math:`\sigma^2 > 0` (a float); the RBF kernel is :math:`\exp(-\|x - x'\|^2 / (2\sigma^2))`.
    """
    x = np.asarray(x)
    if len(x) < 2:
        raise ValueError(f"x has {len(x)} inputs: the median heuristic needs at least 2.")
    d = _squared_distances(x, x)[np.triu_indices(len(x), 1)]
    sigma2 = float(np.median(d))
    if sigma2 <= 0:
        raise ValueError("the inputs are (mostly) identical: the median squared distance is 0.")
    return sigma2


def baseline_gram(name: str, x1, x2=None, *, bandwidth: float | None = None) -> np.ndarray:
    r"""Gram matrix of a baseline kernel (not an NTK): the controls against which NTKs are compared.

    * ``"linear"``: :math:`K(x, x') = x \cdot x' / d` (``d`` pixels);
    * ``"rbf"``: :math:`K(x, x') = \exp(-\|x - x'\|^2 / (2\sigma^2))` with :math:`\sigma^2` from
      :func:`median_bandwidth` of ``x1`` unless ``bandwidth`` gives it (pass the training set's
      bandwidth when ``x1`` is a test set, so train and test rows use the same kernel).

    Args:
      name: one of :data:`BASELINES`.
      x1: ``(n1, h, w, c)`` inputs; x2: ``(n2, h, w, c)`` or ``None`` for ``x1``.
      bandwidth: :math:`\sigma^2 > 0` for ``"rbf"``.

    Returns:
      ``(n1, n2)`` float64.
    """
    validate.one_of("name", name, BASELINES)
    x1 = np.asarray(x1, np.float64)
    x2 = x1 if x2 is None else np.asarray(x2, np.float64)
    a, b = x1.reshape(len(x1), -1), x2.reshape(len(x2), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x1 and x2 have {a.shape[1]} and {b.shape[1]} pixels: expected the same image shape.")
    if name == "linear":
        return a @ b.T / a.shape[1]
    sigma2 = median_bandwidth(x1) if bandwidth is None else validate.positive_float("bandwidth", bandwidth)
    return np.exp(-_squared_distances(a, b) / (2.0 * sigma2))
