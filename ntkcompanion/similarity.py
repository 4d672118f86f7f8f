r"""How alike are the eigen-features of two kernels? Per-index agreement and top-k subspace overlap.

Two kernels :math:`A, B` on the same training images :math:`X` give eigen-features
:math:`\phi^A_i, \phi^B_i` (``features``). They are compared through their values on the same
:math:`m` test images, so the comparison sees the functions, not the training-set eigenvectors alone.

* Agreement of feature :math:`i` (matched by index): the cosine of the two features' value vectors
  on the test set (flattened over classes for one-hot targets),

  .. math::
      c_i(A, B) = \frac{\langle \phi^A_i, \phi^B_i \rangle}{\|\phi^A_i\|\, \|\phi^B_i\|}
      \in [-1, 1], \qquad \phi_i = (\phi_i(x_1), \dots, \phi_i(x_m)).

  :math:`\phi_i = \Theta(\cdot, X) v_i \lambda_i^{-1} v_i^\top Y` does not depend on the sign of
  :math:`v_i`, so :math:`c_i` is well defined; it ignores each feature's scale.

* Overlap of the top-k eigenspaces: the eigenfunctions :math:`\psi_i(x) = \Theta(x, X)\, v_i / \lambda_i`
  (the Nyström extension of :math:`v_i`, label-free) evaluated on the test set span a
  :math:`k`-dimensional subspace of :math:`\mathbb{R}^m` per kernel, with orthogonal projector
  :math:`P_A` (:math:`P_B`). Their normalised Frobenius overlap is the mean squared cosine of the
  principal angles :math:`\theta_1, \dots, \theta_k` between the subspaces,

  .. math::
      O_k(A, B) = \frac{\|P_A P_B\|_F^2}{k} = \frac{\|U_A^\top U_B\|_F^2}{k}
      = \frac{1}{k}\sum_{j=1}^{k} \cos^2 \theta_j \in [0, 1],

  with :math:`U_A, U_B` orthonormal bases. :math:`O_k = 1` for equal subspaces, 0 for orthogonal
  ones, and :math:`k/m` in expectation for a uniformly random pair (:func:`chance_overlap`).
  It is invariant to any rescaling or change of basis within each subspace, so near-degenerate
  eigenvalues that swap order between kernels do not lower it (they do lower :math:`c_i`).

* Kernel similarity (Fort et al. 2020) of the Gram matrices themselves is
  ``dynamics.similarity``, re-exported here as :func:`kernel_similarity`.

Example:
    >>> psi_a = eigenfunctions(k_test_train_a, eigenvalues_a, eigenvectors_a, k=20)   # (m, 20)
    >>> psi_b = eigenfunctions(k_test_train_b, eigenvalues_b, eigenvectors_b, k=20)
    >>> subspace_overlap(psi_a, psi_b)                                                 # O_20(A, B)
"""

import itertools
import numpy as np

from ntkcompanion import validate
from ntkcompanion.dynamics import similarity as kernel_similarity

__all__ = ["feature_agreement", "agreement_matrix", "eigenfunctions", "orthonormal_basis", "principal_angles",
           "subspace_overlap", "batched_subspace_overlap", "overlap_curve", "chance_overlap", "kernel_similarity", "top_eigenfunctions",
           "pairwise_overlaps", "overlap_matrix", "overlap_frame"]

_TINY = 1e-12


def _columns(values, name):
    """``(m, n_features)`` or ``(m, n_features, k)`` values → ``(n_features, m·k)`` float64 rows."""
    v = np.asarray(values, np.float64)
    if v.ndim not in (2, 3):
        raise ValueError(f"{name} has shape {v.shape}: expected (n_test, n_features) or (n_test, n_features, k).")
    return np.moveaxis(v, 1, 0).reshape(v.shape[1], -1)


def agreement_matrix(phi_a, phi_b) -> np.ndarray:
    r"""Cosine :math:`\langle \phi^A_i, \phi^B_j \rangle / (\|\phi^A_i\| \|\phi^B_j\|)` for every pair of features.

    Args:
      phi_a: ``(m, n_a)`` or ``(m, n_a, k)`` feature values on ``m`` test inputs (``features.feature_values``).
      phi_b: ``(m, n_b)`` or ``(m, n_b, k)`` on the same inputs.

    Returns:
      ``(n_a, n_b)`` float64 in [−1, 1]; 0 where a feature is identically zero.
    """
    a, b = _columns(phi_a, "phi_a"), _columns(phi_b, "phi_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"phi_a and phi_b have shapes {np.shape(phi_a)} and {np.shape(phi_b)}: expected values "
                         "on the same test inputs (and classes).")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    denom = np.outer(na, nb)
    return np.clip(np.where(denom > _TINY, a @ b.T / np.maximum(denom, _TINY), 0.0), -1.0, 1.0)


def feature_agreement(phi_a, phi_b) -> np.ndarray:
    r"""Agreement :math:`c_i(A, B)` of features matched by index (module docstring).

    Args:
      phi_a, phi_b: ``(m, n)`` or ``(m, n, k)`` feature values of two kernels on the same test inputs.

    Returns:
      ``(n,)`` float64 in [−1, 1].
    """
    if np.shape(phi_a) != np.shape(phi_b):
        raise ValueError(f"phi_a and phi_b have shapes {np.shape(phi_a)} and {np.shape(phi_b)}: expected equal shapes.")
    a, b = _columns(phi_a, "phi_a"), _columns(phi_b, "phi_b")
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.clip(np.where(denom > _TINY, np.sum(a * b, axis=1) / np.maximum(denom, _TINY), 0.0), -1.0, 1.0)


def eigenfunctions(k_test_train, eigenvalues, eigenvectors, k: int) -> np.ndarray:
    r"""Values of the top-k eigenfunctions :math:`\psi_i(x) = \Theta(x, X)\, v_i / \lambda_i` on test inputs.

    Args:
      k_test_train: ``(m, n_train)`` kernel rows.
      eigenvalues: ``(n_train,)``, largest first (``features.eigendecomposition``).
      eigenvectors: ``(n_train, n_train)``, :math:`v_i` in column ``i``.
      k: number of eigenfunctions, in [1, n_train]; each needs :math:`\lambda_i > 0`.

    Returns:
      ``(m, k)`` float64.
    """
    lam = np.asarray(eigenvalues, np.float64)
    k = validate.positive_int("k", k)
    if k > len(lam) or not np.all(lam[:k] > 0):
        raise ValueError(f"k = {k} is not allowed: expected at most n_train = {len(lam)} positive eigenvalues.")
    return np.asarray(k_test_train, np.float64) @ (np.asarray(eigenvectors, np.float64)[:, :k] / lam[:k])


def orthonormal_basis(a, rcond: float = 1e-10) -> np.ndarray:
    """Orthonormal basis of the column span of ``a`` ``(m, k)``, from its SVD (columns below ``rcond`` dropped)."""
    a = np.asarray(a, np.float64)
    if a.ndim != 2:
        raise ValueError(f"a has shape {a.shape}: expected an (m, k) matrix whose columns span the subspace.")
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        raise ValueError("a is identically zero: it spans no subspace.")
    return u[:, s > rcond * s[0]]


def principal_angles(a, b) -> np.ndarray:
    r"""Principal angles :math:`0 \le \theta_1 \le \dots \le \pi/2` between the column spans of ``a`` and ``b``.

    :math:`\cos\theta_j` are the singular values of :math:`U_A^\top U_B`.

    Args:
      a: ``(m, k_a)``; b: ``(m, k_b)``.

    Returns:
      ``(min(rank a, rank b),)`` angles in radians, smallest first.
    """
    ua, ub = orthonormal_basis(a), orthonormal_basis(b)
    if ua.shape[0] != ub.shape[0]:
        raise ValueError(f"a and b have {ua.shape[0]} and {ub.shape[0]} rows: expected vectors in the same space.")
    cosines = np.linalg.svd(ua.T @ ub, compute_uv=False)
    return np.arccos(np.clip(cosines, 0.0, 1.0))


def subspace_overlap(a, b) -> float:
    r"""Normalised overlap :math:`O_k = \|P_A P_B\|_F^2 / k` of two column spans (module docstring).

    Args:
      a: ``(m, k)``; b: ``(m, k)``, columns spanning each subspace (e.g. :func:`eigenfunctions`).
        With ranks :math:`k_a \ne k_b` the divisor is :math:`\max(k_a, k_b)`.

    Returns:
      A float in [0, 1]: 1 for equal spans, 0 for orthogonal ones.
    """
    ua, ub = orthonormal_basis(a), orthonormal_basis(b)
    if ua.shape[0] != ub.shape[0]:
        raise ValueError(f"a and b have {ua.shape[0]} and {ub.shape[0]} rows: expected vectors in the same space.")
    return float(np.clip(_basis_overlap(ua, ub), 0.0, 1.0))


def _basis_overlap(u_a, u_b):
    r""":math:`\|U_A^\top U_B\|_F^2 / \max(k_a, k_b)` for orthonormal bases ``(..., m, k_a)``, ``(..., m, k_b)``."""
    return ((np.swapaxes(u_a, -1, -2) @ u_b) ** 2).sum(axis=(-1, -2)) / max(u_a.shape[-1], u_b.shape[-1])


def batched_subspace_overlap(psi_a, psi_b):
    r""":func:`subspace_overlap` over a batch (e.g. bootstrap resamples): ``psi_a``, ``psi_b`` ``(..., m, k)``.

    Bases come from a QR decomposition, so each batch member is taken to have full column rank
    (eigenfunctions of resolved features do).
    """
    u_a, _ = np.linalg.qr(psi_a)
    u_b, _ = np.linalg.qr(psi_b)
    return _basis_overlap(u_a, u_b)


def overlap_curve(psi_a, psi_b, ks) -> np.ndarray:
    r""":math:`O_k(A, B)` for each ``k`` in ``ks``, from the top-k columns of ``psi_a`` and ``psi_b``.

    Args:
      psi_a, psi_b: ``(m, K)`` eigenfunction values, largest eigenvalue first.
      ks: integers in [1, K].

    Returns:
      ``(len(ks),)`` float64.
    """
    psi_a, psi_b = np.asarray(psi_a, np.float64), np.asarray(psi_b, np.float64)
    ks = validate.nonempty_list("ks", ks, validate.positive_int)
    if max(ks) > min(psi_a.shape[1], psi_b.shape[1]):
        raise ValueError(f"ks = {ks!r} is not allowed: expected integers in [1, {min(psi_a.shape[1], psi_b.shape[1])}].")
    return np.array([subspace_overlap(psi_a[:, :k], psi_b[:, :k]) for k in ks])


def chance_overlap(k: int, m: int) -> float:
    r"""Expected :math:`O_k` of two independent uniformly random k-dimensional subspaces of :math:`\mathbb{R}^m`: :math:`k/m`."""
    k, m = validate.positive_int("k", k), validate.positive_int("m", m)
    if k > m:
        raise ValueError(f"k = {k} is not allowed: expected k at most m = {m}.")
    return k / m


# --- Several kernels on the same images (``consistency`` builds them) ------------------------------


def top_eigenfunctions(spectra: dict, k: int) -> dict:
    """``{name: (m, k)}`` top-k eigenfunction values of every kernel in ``spectra``.

    ``spectra``: ``{name: decomposition.Decomposition}`` whose test rows ``k_test_train`` ``(m, n)`` are
    the kernel rows of the comparison inputs (``consistency.ntk_spectra``).

    ``k`` must not exceed the resolved eigenvalues of any kernel (the caller takes the smallest count).
    """
    short = {name: int(s.resolved.sum()) for name, s in spectra.items() if s.resolved.sum() < k}
    if short:
        raise ValueError(f"k = {k} is not allowed: these kernels resolve fewer eigenvalues: {short}.")
    return {name: eigenfunctions(s.k_test_train, s.eigenvalues, s.eigenvectors, k) for name, s in spectra.items()}


def pairwise_overlaps(psi: dict, ks) -> dict:
    r""":math:`O_k` for every pair of kernels in ``psi`` (``{name: (m, K)}``) and every ``k`` in ``ks``.

    Returns:
      ``{(a, b): (len(ks),) array}`` for each unordered pair, in the order of ``psi``.
    """
    return {(a, b): overlap_curve(psi[a], psi[b], ks) for a, b in itertools.combinations(psi, 2)}


def overlap_matrix(psi: dict) -> np.ndarray:
    r"""``(K, K)`` matrix of :math:`O_k` between every pair of the ``K`` kernels in ``psi`` (``{name: (m, k)}``)."""
    names = list(psi)
    return np.array([[subspace_overlap(psi[a], psi[b]) for b in names] for a in names])


def overlap_frame(psi: dict, ks, *, among=None):
    r"""Long table (``pair``, ``k``, ``overlap``) of :math:`O_k` curves, for plotting.

    Args:
      psi: ``{name: (m, K)}`` eigenfunction values.
      ks: integers in [1, K].
      among: names whose pairs are shown (default all); each kernel outside ``among`` is paired
        with the first name of ``among`` only, so baselines appear once each.
    """
    import pandas as pd  # only the notebooks' tables need pandas

    among = list(psi) if among is None else list(among)
    pairs = list(itertools.combinations(among, 2)) + [(among[0], b) for b in psi if b not in among]
    return pd.concat([pd.DataFrame({"pair": f"{a} / {b}", "k": list(ks), "overlap": overlap_curve(psi[a], psi[b], ks)})
                      for a, b in pairs], ignore_index=True)
