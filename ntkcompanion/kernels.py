r"""Kernel matrices: analytic infinite-width NTK/NNGP and the empirical NTK of a finite net.

.. math::
    \Theta(x, x') = \langle \nabla_\theta f(x), \nabla_\theta f(x') \rangle

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
import numpy as np

from ntkcompanion import validate
from ntkcompanion._nt import nt

__all__ = ["KERNELS", "kernel_matrix", "empirical_ntk"]

KERNELS = ("ntk", "nngp")


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
      ``(n1, n2)`` float64 numpy array; a tuple of them, in order, if ``get`` is a tuple.
    """
    if isinstance(get, tuple):
        for i, g in enumerate(get):
            validate.one_of(f"get[{i}]", g, KERNELS)
    else:
        validate.one_of("get", get, KERNELS)
    validate.positive_int("batch_size", batch_size)
    x1 = np.asarray(x1, np.float32)
    x2 = x1 if x2 is None else np.asarray(x2, np.float32)
    n1, n2 = len(x1), len(x2)
    devices = jax.local_device_count() if device_count == -1 else max(device_count, 1)
    # nt.batch needs n1 divisible by block·devices and n2 by block: pad with zeros
    # (rows are independent) and crop; small inputs get one block, no waste.
    block = min(batch_size, -(-n1 // devices), n2)
    batched = nt.batch(kernel_fn, batch_size=block, device_count=device_count,
                       store_on_device=False)
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


def empirical_ntk(apply_fn, params, x1, x2=None, *, trace_axes=(-1,),
                  batch_size: int = 64) -> np.ndarray:
    r"""Empirical NTK :math:`J(x_1) J(x_2)^\top` of a finite network at ``params``.

    Args:
      apply_fn: ``apply_fn(params, x)`` of a stax network.
      params: its parameters.
      x1: ``(n1, h, w, c)`` inputs.
      x2: ``(n2, h, w, c)`` inputs, or ``None`` for ``x1`` itself.
      trace_axes: output axes to average over (neural-tangents' normalised trace); ``(-1,)`` for a scalar-per-pair
        kernel (matches the analytic ``kernel_fn``), ``()`` to keep every logit pair.
      batch_size: rows and columns per block.

    Returns:
      float64 numpy array ``(n1, n2)``, or ``(n1, n2, k, k)`` with ``trace_axes=()``.
    """
    validate.positive_int("batch_size", batch_size)
    ntk_fn = _empirical_ntk_fn(apply_fn, tuple(trace_axes))
    x1 = np.asarray(x1, np.float32)
    x2 = x1 if x2 is None else np.asarray(x2, np.float32)
    rows = []
    for i in range(0, len(x1), batch_size):
        cols = [np.asarray(ntk_fn(x1[i:i + batch_size], x2[j:j + batch_size], params))
                for j in range(0, len(x2), batch_size)]
        rows.append(np.concatenate(cols, axis=1))
    return np.concatenate(rows, axis=0).astype(np.float64)
