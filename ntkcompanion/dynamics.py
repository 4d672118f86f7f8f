r"""How an empirical NTK moves during training: similarity, distance, velocity, polar dynamics, spectral mass.

A trajectory is a sequence of kernel snapshots :math:`K_0, \dots, K_T` of one network on
one fixed set of images. Snapshots with every logit kept (``trace_axes=()``) have shape
``(n, n, k, k)``; they are read as the ``(n k, n k)`` matrix with rows indexed by
(image, logit), which is symmetric positive semi-definite. ``(n, n)`` kernels are used
as they are. All maths is done in float64.

* Similarity (Fort et al. 2020) and distance:

  .. math::
      \operatorname{sim}(K_1, K_2) = \frac{\operatorname{Tr}(K_1 K_2^\top)}
      {\sqrt{\operatorname{Tr}(K_1 K_1^\top)\operatorname{Tr}(K_2 K_2^\top)}},
      \qquad d(K_1, K_2) = 1 - \operatorname{sim}(K_1, K_2).

* Velocity: :math:`d(K_{t_{i+1}}, K_{t_i}) / (t_{i+1} - t_i)`.
* Polar dynamics (Tsilivis & Kempe 2022, Fig. 5): radius
  :math:`r_t = \|K_t - K_0\|_F / \|K_T - K_0\|_F` and angle
  :math:`\theta_t = \arccos \operatorname{sim}(K_t, K_0)`, for the kernel, for its rank-k
  top-eigenspace truncation :math:`\sum_{i \le k} \lambda_i v_i v_i^\top` and for the bottom
  remainder.
* Spectral mass in the top k: :math:`m_k(t) = \sum_{i\le k} \lambda_i(K_t)^2 / \sum_i \lambda_i(K_t)^2`.

Whether a run is *lazy* is decided by the evidence layer (``evidence.is_lazy``,
``evidence.lazy_epochs``), not here: this module only measures how the kernel moves.

Example:
    >>> d = distance_matrix(snapshots)          # (T+1, T+1)
    >>> velocity(snapshots, epochs)             # (T,)
"""

import numpy as np


__all__ = ["as_matrix", "similarity", "distance", "distance_matrix", "velocity", "top_part",
           "polar_dynamics", "spectral_mass", "PARTS"]

PARTS = ("full", "top", "bottom")


def as_matrix(kernel) -> np.ndarray:
    r"""Reads an ``(n, n, k, k)`` logit-kept kernel as an ``(n k, n k)`` float64 matrix.

    Entry :math:`[(i, a), (j, b)]` is :math:`\Theta_{ab}(x_i, x_j)`.

    Args:
      kernel: ``(n, n)`` or ``(n, n, k, k)``.

    Returns:
      ``(n, n)`` or ``(n k, n k)`` float64 array.
    """
    k = np.asarray(kernel, np.float64)
    if k.ndim == 2 and k.shape[0] == k.shape[1]:
        return k
    if k.ndim == 4 and k.shape[0] == k.shape[1] and k.shape[2] == k.shape[3]:
        n, _, c, _ = k.shape
        return k.transpose(0, 2, 1, 3).reshape(n * c, n * c)
    raise ValueError(f"kernel has shape {k.shape}: expected (n, n) or (n, n, k, k).")


def _flat(kernel) -> np.ndarray:
    """``as_matrix(kernel).ravel()`` in the kernel's own floating dtype (float32 snapshots stay float32)."""
    k = np.asarray(kernel)
    dtype = k.dtype if np.issubdtype(k.dtype, np.floating) else np.float64
    if k.ndim == 4 and k.shape[0] == k.shape[1] and k.shape[2] == k.shape[3]:
        return np.ascontiguousarray(k.transpose(0, 2, 1, 3), dtype=dtype).ravel()
    return as_matrix(k).astype(dtype, copy=False).ravel()


def _frobenius_gram(kernels, chunk: int = 1 << 18) -> np.ndarray:
    """All inner products ⟨K_i, K_j⟩_F = Tr(K_i K_jᵀ), accumulated in float64 over column chunks.

    Memory: the ``T`` kernels flattened in their own dtype (the paper profile's 201 float32
    2500 × 2500 snapshots: 5 GB), plus ``T × chunk`` float64.
    """
    flat = np.stack([_flat(k) for k in kernels])
    gram = np.zeros((len(flat), len(flat)))
    for start in range(0, flat.shape[1], chunk):
        block = flat[:, start:start + chunk].astype(np.float64)
        gram += block @ block.T
    return gram


def similarity(k1, k2) -> float:
    r"""Kernel similarity (Fort et al. 2020), the cosine between two kernels as vectors.

    .. math::
        \operatorname{sim}(K_1, K_2) = \operatorname{Tr}(K_1K_2^\top) \big/
        \sqrt{\operatorname{Tr}(K_1K_1^\top)\operatorname{Tr}(K_2K_2^\top)}

    Args:
      k1: ``(n, n)`` or ``(n, n, k, k)`` kernel.
      k2: a kernel of the same shape.

    Returns:
      A float in [−1, 1]; 1 for kernels equal up to a positive factor.
    """
    a, b = as_matrix(k1), as_matrix(k2)
    if a.shape != b.shape:
        raise ValueError(f"kernels have shapes {np.shape(k1)} and {np.shape(k2)}: expected equal shapes.")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError("a kernel is identically zero: similarity is undefined.")
    return float(np.clip(np.sum(a * b) / norms, -1.0, 1.0))


def distance(k1, k2) -> float:
    """Kernel distance :math:`1 - \\operatorname{sim}(K_1, K_2)`, in [0, 2]."""
    return 1.0 - similarity(k1, k2)


def distance_matrix(kernels) -> np.ndarray:
    """Kernel distance between every pair of snapshots.

    Args:
      kernels: sequence of ``T`` kernels of equal shape, ``(n, n)`` or ``(n, n, k, k)``.

    Returns:
      ``(T, T)`` symmetric float64 array with zero diagonal.
    """
    shapes = {np.shape(as_matrix(k)) if np.ndim(k) == 2 else np.shape(k) for k in kernels}
    if len(shapes) != 1:
        raise ValueError(f"kernels have shapes {sorted(shapes)}: expected one shape.")
    gram = _frobenius_gram(kernels)
    norms = np.sqrt(np.diag(gram))
    if np.any(norms == 0):
        raise ValueError("a kernel is identically zero: similarity is undefined.")
    d = 1.0 - np.clip(gram / np.outer(norms, norms), -1.0, 1.0)
    np.fill_diagonal(d, 0.0)
    return d


def velocity(kernels, times) -> np.ndarray:
    r"""Kernel velocity :math:`d(K_{t_{i+1}}, K_{t_i}) / (t_{i+1} - t_i)` (Fort et al. 2020).

    Args:
      kernels: sequence of ``T`` kernels.
      times: ``(T,)`` strictly increasing times (epochs or steps) of the snapshots.

    Returns:
      ``(T - 1,)`` velocities, distance per unit time.
    """
    times = np.asarray(times, np.float64)
    if times.shape != (len(kernels),) or np.any(np.diff(times) <= 0):
        raise ValueError(f"times = {times.tolist()!r} is not allowed: expected {len(kernels)} strictly "
                         "increasing numbers, one per kernel.")
    steps = [distance(a, b) for a, b in zip(kernels[:-1], kernels[1:])]
    return np.asarray(steps) / np.diff(times)


def top_part(kernel, top_k: int) -> np.ndarray:
    r"""Rank-``top_k`` truncation :math:`\sum_{i \le k} \lambda_i v_i v_i^\top` (largest eigenvalues).

    Args:
      kernel: ``(n, n)`` or ``(n, n, k, k)`` symmetric kernel.
      top_k: number of eigen-directions kept, from 1 to the matrix size.

    Returns:
      ``(N, N)`` float64 matrix, ``N`` the size of :func:`as_matrix`; ``kernel - top`` is the bottom part.
    """
    m = as_matrix(kernel)
    _check_top_k(top_k, len(m))
    eigenvalues, eigenvectors = np.linalg.eigh((m + m.T) / 2)
    v, lam = eigenvectors[:, -top_k:], eigenvalues[-top_k:]
    return (v * lam) @ v.T


def _check_top_k(top_k, size):
    if not (isinstance(top_k, (int, np.integer)) and not isinstance(top_k, bool) and 1 <= top_k <= size):
        raise ValueError(f"top_k = {top_k!r} is not allowed: expected an integer in [1, {size}] "
                         "(the size of the kernel matrix).")


def _angle(a, b) -> float:
    r"""Angle between two matrices as vectors, :math:`\arccos \operatorname{sim}(a, b)`.

    Computed as :math:`2 \operatorname{atan2}(\|\hat a - \hat b\|, \|\hat a + \hat b\|)` (Kahan), which
    stays accurate near 0 where ``arccos`` loses half the digits.
    """
    a_hat, b_hat = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(2 * np.arctan2(np.linalg.norm(a_hat - b_hat), np.linalg.norm(a_hat + b_hat)))


def _polar(parts):
    """(r_t, θ_t) of one trajectory of matrices."""
    first, last = parts[0], parts[-1]
    span = np.linalg.norm(last - first)
    r = np.array([np.linalg.norm(p - first) for p in parts])
    # A trajectory that ends where it starts has no scale: r is undefined there.
    r = r / span if span > 0 else np.full(len(parts), np.nan)
    theta = np.array([_angle(p, first) for p in parts])
    return r, theta


def polar_dynamics(kernels, top_k: int) -> dict:
    r"""Polar dynamics :math:`(r_t, \theta_t)` of the kernel and of its top-k and bottom parts.

    .. math::
        r_t = \frac{\|K_t - K_0\|_F}{\|K_T - K_0\|_F}, \qquad
        \theta_t = \arccos \operatorname{sim}(K_t, K_0)

    The top part of :math:`K_t` is its own rank-k eigen-truncation (its eigenspace moves
    with t); the bottom part is the rest, :math:`K_t - \mathrm{top}_k(K_t)`.

    Args:
      kernels: sequence of ``T`` kernels ``(n, n)`` or ``(n, n, k, k)``, first = initial.
      top_k: eigen-directions in the top part.

    Returns:
      ``{"full" | "top" | "bottom": {"r": (T,), "theta": (T,) radians}}``; ``r`` starts at 0 and
      ends at 1 (all NaN if the last kernel equals the first).
    """
    full = [as_matrix(k) for k in kernels]
    top = [top_part(k, top_k) for k in full]
    bottom = [k - t for k, t in zip(full, top)]
    out = {}
    for name, parts in zip(PARTS, (full, top, bottom)):
        r, theta = _polar(parts)
        out[name] = {"r": r, "theta": theta}
    return out


def spectral_mass(kernels, top_k: int) -> np.ndarray:
    r"""Share of the squared spectrum in the top k: :math:`m_k(t) = \sum_{i\le k}\lambda_i^2 / \sum_i \lambda_i^2`.

    Args:
      kernels: sequence of ``T`` kernels ``(n, n)`` or ``(n, n, k, k)``.
      top_k: number of largest eigenvalues counted.

    Returns:
      ``(T,)`` floats in [0, 1].
    """
    masses = []
    for kernel in kernels:
        m = as_matrix(kernel)
        _check_top_k(top_k, len(m))
        squares = np.linalg.eigvalsh((m + m.T) / 2)[::-1] ** 2
        masses.append(squares[:top_k].sum() / squares.sum())
    return np.asarray(masses)
