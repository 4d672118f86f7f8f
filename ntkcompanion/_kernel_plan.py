r"""How the attacks evaluate a kernel predictor :math:`x \mapsto \Theta(x, X)\,C` inside their loop.

``predictor.kernel_apply_fn`` bounds memory for any caller: it scans over chunks of training points
and recomputes each chunk's elementwise kernel work in the backward pass (``jax.checkpoint``).
An attack knows its shapes, so it can do better when they fit (:func:`plan`):

- keep each step's forward residuals (at most ``RESIDUAL_BUDGET`` bytes) instead of recomputing
  them; the chunks are split once, outside the loop, and evaluated as separate calls;
- for the closed-form FC kernel (``kernels.fc_kernel_fn``, a function of :math:`x \cdot x'`,
  :math:`|x|^2` and :math:`|x'|^2` only), drop the pixels that are zero in every training image:
  they add nothing to :math:`x \cdot X_j` and only their norm to :math:`|x|^2`, kept as one extra
  coordinate (:func:`_compress`); and for one output, evaluate :math:`\Theta(x, X)\,C` with
  ``kernel_fn.weighted_rows``, which contracts its saved derivatives with :math:`C` in the forward
  pass, so the backward pass is one matmul per chunk and no elementwise pass over the pairs;
- skip the padding rows of the last chunk (zero coefficients).

All are exact: the function and its input gradient are the predictor's (``tests/test_attacks.py``).
"""

import functools
import weakref

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import kernels, predictor

__all__ = ["RESIDUAL_BUDGET", "MAX_UNROLLED_CHUNKS", "plan", "planned_logits"]

# Residuals the attack may keep per step instead of recomputing them (bytes); above it, the
# predictor's own memory-bounded evaluation (chunked, rematerialised) is used.
RESIDUAL_BUDGET = 2**30
# Chunks evaluated as separate calls in the loop body; more would lengthen compilation.
MAX_UNROLLED_CHUNKS = 8


def _kernel_predictor(logits_fn):
    """``(kernel_fn, get)`` when ``logits_fn`` is ``predictor.kernel_apply_fn``'s Θ(x, X)·C, else ``None``."""
    func = getattr(logits_fn, "func", None)
    func = getattr(func, "fun", func)  # jax's Partial wraps a functools.partial in a hashable shim
    if (isinstance(logits_fn, jax.tree_util.Partial) and isinstance(func, functools.partial)
            and func.func is predictor._apply):
        return func.keywords["kernel_fn"], func.keywords["get"]
    return None


def _is_inner_product_kernel(kernel_fn):
    """Whether ``kernel_fn`` is ``kernels.fc_kernel_fn``'s closed form: a function of x·x', |x|², |x'|² only."""
    return getattr(kernel_fn, "__code__", None) is kernels.fc_kernel_fn(1).__code__


@jax.custom_vjp
def _permute(flat, order, inverse):
    """``flat[:, order]``; its gradient is a gather by the inverse permutation, not XLA's slow scatter-add."""
    return jnp.take(flat, order, axis=1)


def _permute_fwd(flat, order, inverse):
    return _permute(flat, order, inverse), (order, inverse)


def _permute_bwd(residuals, g):
    order, inverse = residuals
    return jnp.take(g, inverse, axis=1), None, None


_permute.defvjp(_permute_fwd, _permute_bwd)


def _compress(z, order, inverse, n_active):
    r"""Exact reduction of flattened inputs for an inner-product kernel: the active pixels and one coordinate
    :math:`\|z_I\|` holding the norm of the rest, scaled by :math:`\sqrt{d'/d}` so that :math:`x \cdot x'/d`
    (the kernel divides by its input's length) is unchanged. ``(n, ...)`` → ``(n, d')``, ``d' = n_active + 1``.
    ``order`` lists the active pixels first, ``inverse`` is its inverse permutation."""
    flat = _permute(z.reshape(z.shape[0], -1), order, inverse)
    rest = jnp.sum(flat[:, n_active:] ** 2, axis=1, keepdims=True)
    # sqrt with a zero (not NaN) gradient at 0, where the true gradient 2·z_I = 0 as well.
    safe = jnp.where(rest > 0, rest, 1.0)
    norm = jnp.where(rest > 0, jnp.sqrt(safe), 0.0)
    scale = np.sqrt((n_active + 1) / flat.shape[1]).astype(z.dtype)
    return jnp.concatenate([flat[:, :n_active], norm], axis=1) * scale


def plan(logits_fn, leaves, x):
    """How the attack evaluates a kernel predictor: ``(None, None)`` (call it as given), or a static plan
    ``(kernel_fn, get, n_active, n_last)`` and the pixel permutation ``(order, inverse)`` (``None`` when not
    reduced); ``n_last`` is how many rows of the last training chunk are not padding.

    The predictor is built to bound memory for any caller: it recomputes each chunk's elementwise
    kernel work in the backward pass (``jax.checkpoint``). Inside the attack loop the shapes are
    known, so when the forward residuals of all chunks fit ``RESIDUAL_BUDGET`` (and the chunks are
    few enough to unroll) the attack keeps them instead: for the stax kernels, whose ``arctan2`` is
    not vectorised on CPU, that recomputation is about a third of a step. For the closed-form FC
    kernel, pixels that are zero in every training image contribute nothing to ``x·X_jᵀ`` and only
    their norm to ``|x|²``: the kernel rows and their input gradient are computed on the active pixels
    (``_compress``), exactly, with a quarter fewer matmul FLOPs on MNIST.
    """
    found = _kernel_predictor(logits_fn)
    x_chunks, coef_chunks = leaves if found is not None else (None, None)
    if found is None or x_chunks.shape[0] > MAX_UNROLLED_CHUNKS:
        return None, None
    kernel_fn, get = found
    per_chunk = _residual_bytes(kernel_fn, get, *(jax.ShapeDtypeStruct(a.shape[i:], a.dtype)
                                                  for a, i in ((x, 0), (x_chunks, 1), (coef_chunks, 1))))
    if per_chunk * x_chunks.shape[0] > RESIDUAL_BUDGET:
        return None, None
    pixels = _active_pixels(x_chunks) if _is_inner_product_kernel(kernel_fn) else None
    return ((kernel_fn, get, None if pixels is None else pixels[2], _unpadded_rows(coef_chunks)),
            None if pixels is None else pixels[:2])


def _unpadded_rows(coef_chunks):
    """Rows of the last chunk up to its trailing zero coefficients (the predictor's padding): they add
    exactly nothing to Θ(z, X)·C or its gradient, so the attack skips them."""
    if isinstance(coef_chunks, jax.core.Tracer):  # the attack is itself traced: no values to look at
        return coef_chunks.shape[1]
    used = np.any(np.asarray(coef_chunks)[-1].reshape(coef_chunks.shape[1], -1) != 0, axis=1)
    tail = np.flatnonzero(used)
    return int(tail[-1]) + 1 if tail.size else 1  # keep one row: an all-padding chunk is never built


_PIXELS = {}  # id(training chunks) -> (weak reference, permutation): one host pass per predictor


def _active_pixels(x_chunks):
    """``(order, inverse, n_active)``: the pixels lit in some training image first; ``None`` if all are."""
    if isinstance(x_chunks, jax.core.Tracer):  # the attack is itself traced: no values to look at
        return None
    cached = _PIXELS.get(id(x_chunks))
    if cached is not None and cached[0]() is x_chunks:
        return cached[1]
    used = np.any(np.asarray(x_chunks).reshape(-1, int(np.prod(x_chunks.shape[2:]))) != 0, axis=0)
    pixels = None
    if not used.all():
        order = np.concatenate([np.flatnonzero(used), np.flatnonzero(~used)])
        pixels = (jnp.asarray(order), jnp.asarray(np.argsort(order)), int(used.sum()))
    for key in [k for k, (ref, _) in _PIXELS.items() if ref() is None]:
        del _PIXELS[key]
    _PIXELS[id(x_chunks)] = (weakref.ref(x_chunks), pixels)
    return pixels


@functools.lru_cache(maxsize=64)
def _residual_bytes(kernel_fn, get, z, x_chunk, coef_chunk):
    """Bytes the backward pass of one chunk's Θ(z, X_c)·C keeps from its forward pass (traced, not run)."""
    def residuals(z, x_chunk, coef_chunk):
        return jax.vjp(lambda z: kernel_fn(z, x_chunk, get) @ coef_chunk, z)[1]

    leaves = jax.tree_util.tree_leaves(jax.eval_shape(residuals, z, x_chunk, coef_chunk))
    return sum(leaf.size * leaf.dtype.itemsize for leaf in leaves)


def planned_logits(leaves, pixels, plan):
    """Θ(z, X)·C summed over the predictor's training chunks, without rematerialisation (:func:`plan`)."""
    kernel_fn, get, n_active, n_last = plan
    x_chunks, coef_chunks = leaves
    if n_active is not None:
        # Training side compressed once, outside the attack loop.
        x_chunks = jax.vmap(lambda c: _compress(c, *pixels, n_active))(x_chunks)

    # Split once, outside the attack loop (slicing inside it copies every step).
    chunks = [(x_chunks[i], coef_chunks[i]) for i in range(x_chunks.shape[0] - 1)]
    chunks.append((x_chunks[-1, :n_last], coef_chunks[-1, :n_last]))

    weighted = getattr(kernel_fn, "weighted_rows", None)
    if weighted is not None and coef_chunks.ndim == 2:
        # One output: the closed form contracts its saved derivatives with C in the forward pass.
        def rows_times_coef(z, x_chunk, coef_chunk):
            return weighted(z, x_chunk, coef_chunk, get)
    elif weighted is not None and coef_chunks.shape[2:] == (1,):
        def rows_times_coef(z, x_chunk, coef_chunk):
            return weighted(z, x_chunk, coef_chunk[:, 0], get)[:, None]
    else:
        def rows_times_coef(z, x_chunk, coef_chunk):
            return kernel_fn(z, x_chunk, get) @ coef_chunk

    def logits_fn(z):
        z = _compress(z, *pixels, n_active) if n_active is not None else z
        # A static loop over the (few) chunks: XLA's scan would stack the residuals and copy them.
        return sum(rows_times_coef(z, x_chunk, coef_chunk) for x_chunk, coef_chunk in chunks)

    return logits_fn
