r"""Claim 4: the kernels of different architectures share their features beyond what any kernel shares.

On natural images almost every kernel (linear, RBF, NNGP, every NTK) has nearly the same top
eigenspace: the leading directions of the pixel covariance dominate them all. "Consistent across
architectures" is therefore decided *relative to generic kernels*: two NTKs are consistent when
they are closer to each other than either is to any baseline kernel that is not an NTK.

*Agreement.* For kernels :math:`A, B` on the same :math:`n` training images, :math:`O_k(A, B) \in [0, 1]`
is the overlap of the spans of their top-:math:`k` eigenfunctions on the same :math:`m` comparison
images (``similarity``). For an NTK pair the *separation margin* is

.. math::
    D(A, B) = O_k(A, B) - \max_{b \in \text{baselines}} \max\big(O_k(A, b),\, O_k(B, b)\big),

symmetric in :math:`A, B`; :math:`D > 0` says each NTK's nearest kernel is the other NTK. (The
variant with :math:`\min` in place of the inner :math:`\max` rewards noise: a noisier copy of a
kernel overlaps every baseline less, so its :math:`\min` falls and the pair looks "consistent".)
The interval resamples the *training images* (the eigendecompositions are recomputed on each
resample, so eigenvector variability is in it) and, jointly, the comparison images.

*Profiles.* For the attacked kernels, the robustness :math:`\gamma_i` (accuracy of feature
:math:`i` under the PGD attack) of the same eigen-indices :math:`i`. Every profile falls with the
index, so a raw rank correlation between two profiles is high for any two kernels. The statistic
is the partial Spearman correlation given the index, :math:`\rho_{AB\cdot i}`; with a control kernel
(a baseline attacked on the same indices) it is :math:`\rho_{AB\cdot i} - \max_c \max(\rho_{Ac\cdot i},
\rho_{Bc\cdot i})`. Bootstrap over features.

With several NTKs the headline is the smallest statistic over NTK pairs; its interval is
:math:`[\min_p \ell_p, \min_p u_p]` from Bonferroni-level intervals :math:`[\ell_p, u_p]` of every pair,
which covers the smallest value with probability at least 95% (every pair at once).
"""

import itertools

import numpy as np
import scipy.linalg
from scipy import stats

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA_ATTACK
from ntkcompanion.similarity import batched_subspace_overlap as subspace_overlap

__all__ = ["claim4", "separation_margins", "partial_rank_correlation", "subspace_overlap"]

MIN_FEATURES = 5
N_BOOT = 500
# Resamples whose k-th eigenvalue falls below this share of the largest (repeated images) are dropped.
_RESOLVED = 1e-8


def _top_basis(gram, rows, k, weight=None):
    r"""Orthonormal basis ``(m, k)`` of the top-``k`` eigenfunctions' span on the comparison images, or ``None``.

    ``weight`` ``(n,)``: multiplicities of the training images in a resample (a bootstrap draw). The
    kernel operator of the weighted sample has the eigenproblem of :math:`W^{1/2} K W^{1/2}`
    (:math:`W = \operatorname{diag}(w)`, images with :math:`w = 0` dropped), whose eigenvectors :math:`u_i` give
    eigenfunctions :math:`\psi_i \propto K(\cdot, X) W^{1/2} u_i`: the same as decomposing the Gram matrix
    of the resample with its repeated images, without their zero eigenvalues and at a smaller size.
    """
    if weight is not None:
        keep = np.flatnonzero(weight)
        root = np.sqrt(weight[keep])
        gram = root[:, None] * gram[np.ix_(keep, keep)] * root[None, :]
        rows = rows[:, keep] * root[None, :]
    n = len(gram)
    if n < k:
        return None
    lam, vec = scipy.linalg.eigh(gram, subset_by_index=[n - k, n - 1], driver="evr")
    if lam[0] <= _RESOLVED * lam[-1]:
        return None
    basis, _ = np.linalg.qr(rows @ vec)        # psi = rows v / lambda spans the same columns as rows v
    return basis


def _margins(bases, ntk_pairs, baselines):
    """``(P,)`` separation margins and ``(K, K)`` overlaps from ``{name: (m, k) basis}``."""
    def overlap(a, b):
        return float(subspace_overlap(bases[a], bases[b]))
    out = []
    for a, b in ntk_pairs:
        nearest = max(max(overlap(a, base), overlap(b, base)) for base in baselines)
        out.append(overlap(a, b) - nearest)
    return np.array(out)


def separation_margins(kernels: dict, ntks, baselines, k: int, *, n_boot: int = N_BOOT, seed: int = 0):
    r"""Separation margins :math:`D(A, B)` of every NTK pair, and their bootstrap resamples.

    Args:
      kernels: ``{name: (gram (n, n), rows (m, n))}``: each kernel's Gram matrix on the training images and
        its rows on the comparison images (same images for every kernel).
      ntks, baselines: names in ``kernels``; k: the :math:`k` of :math:`O_k`.
      n_boot: resamples of (training images, comparison images), drawn jointly with replacement.

    Returns:
      ``(pairs, estimate (P,), boot (n_boot, P), overlap {"a / b": O_k})``; a resample whose Gram matrix
      resolves fewer than ``k`` eigenvalues is NaN.
    """
    names = list(ntks) + list(baselines)
    grams = {name: np.asarray(kernels[name][0], np.float64) for name in names}
    rows = {name: np.asarray(kernels[name][1], np.float64) for name in names}
    n, m = len(grams[names[0]]), len(rows[names[0]])
    pairs = list(itertools.combinations(ntks, 2))
    bases = {name: _top_basis(grams[name], rows[name], k) for name in names}
    if any(b is None for b in bases.values()):
        short = [name for name, b in bases.items() if b is None]
        raise ValueError(f"k = {k} is not allowed: kernels {short} resolve fewer than k eigenvalues.")
    estimate = _margins(bases, pairs, baselines)
    overlap = {f"{a} / {b}": float(subspace_overlap(bases[a], bases[b])) for a, b in itertools.combinations(names, 2)}
    rng = np.random.default_rng(seed)
    boot = np.full((n_boot, len(pairs)), np.nan)
    for r in range(n_boot):
        weight = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        compare = rng.integers(0, m, m)
        resampled = {name: _top_basis(grams[name], rows[name][compare], k, weight) for name in names}
        if all(b is not None for b in resampled.values()):
            boot[r] = _margins(resampled, pairs, baselines)
    return pairs, estimate, boot, overlap


def _smallest(estimate, boot, level=_stats.LEVEL):
    """Smallest of ``P`` statistics and its simultaneous interval (Bonferroni-level percentile intervals)."""
    low, high = _stats._percentile_ci(boot, 1 - (1 - level) / boot.shape[1])
    j = int(np.argmin(estimate))
    return float(estimate[j]), (float(np.min(low)), float(np.min(high))), low, high


def _ranks(x):
    r = stats.rankdata(x, axis=-1)
    return r - r.mean(axis=-1, keepdims=True)


def partial_rank_correlation(a, b, given):
    r"""Partial Spearman correlation :math:`\rho_{ab\cdot g}` of ``a`` and ``b`` given ``given``, batched ``(..., n)``.

    Ranks of ``a`` and ``b`` are regressed on the ranks of ``given``; the result is the Pearson
    correlation of the residuals (NaN when a residual is constant).
    """
    ra, rb, rg = _ranks(a), _ranks(b), _ranks(given)
    gg = (rg * rg).sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ea = ra - rg * (ra * rg).sum(-1, keepdims=True) / gg
        eb = rb - rg * (rb * rg).sum(-1, keepdims=True) / gg
        return (ea * eb).sum(-1) / np.sqrt((ea * ea).sum(-1) * (eb * eb).sum(-1))


def claim4(kernels: dict, ntks, baselines, *, k: int, profiles: dict | None = None, index=None,
           controls: dict | None = None, attack: str = GAMMA_ATTACK, n_boot: int = N_BOOT,
           seed: int = 0) -> list[Verdict]:
    r"""Claim 4 (features are consistent across architectures): separation from baselines, and profiles.

    *Agreement* (``claim4_agreement``): the smallest separation margin :math:`D(A, B)` over NTK pairs
    (module docstring), bootstrap over training and comparison images with the eigendecompositions
    recomputed; supported above 0. Undetermined with fewer than :math:`2k` training or comparison images.

    *Profiles* (``claim4_profiles``, when ``profiles`` is given): the smallest partial Spearman
    :math:`\rho(\gamma_A, \gamma_B \mid i)` over NTK pairs, minus the largest such correlation of an NTK
    with a control kernel when ``controls`` is given; bootstrap over features; supported above 0;
    undetermined (saturated) when a profile is constant, with fewer than five features, or NaN.

    Args:
      kernels: ``{name: (gram (n, n), rows (m, n))}`` for every NTK and baseline.
      ntks: names of the NTKs (≥ 2); baselines: names of the baseline kernels (≥ 1); k: of :math:`O_k`.
      profiles: ``{name: (n_features,)}`` γ of two or more NTKs on the same eigen-indices ``index``.
      index: ``(n_features,)`` the eigen-indices (0-based) of the profiles.
      controls: ``{name: (n_features,)}`` γ of baseline kernels on the same indices.
    """
    ntks, baselines = list(ntks), list(baselines)
    if len(ntks) < 2 or not baselines:
        raise ValueError(f"claim 4 needs ≥ 2 NTKs and ≥ 1 baseline; got ntks={ntks}, baselines={baselines}.")
    missing = [name for name in ntks + baselines if name not in kernels]
    if missing:
        raise ValueError(f"kernels lacks {missing}; it has {sorted(kernels)}.")
    shapes = {(np.shape(kernels[name][0]), np.shape(kernels[name][1])) for name in ntks + baselines}
    if len(shapes) != 1:
        raise ValueError(f"every kernel needs the same (n, n) Gram and (m, n) rows; got {sorted(shapes)}.")
    (n, _), (m, _) = shapes.pop()
    verdicts = [_agreement_verdict(kernels, ntks, baselines, int(k), n, m, n_boot, seed)]
    if profiles is not None:
        verdicts.append(_profiles_verdict(profiles, index, controls or {}, attack, seed))
    return verdicts


def _agreement_verdict(kernels, ntks, baselines, k, n, m, n_boot, seed) -> Verdict:
    if min(n, m) < 2 * k:
        pairs, estimate, boot, overlap = list(itertools.combinations(ntks, 2)), np.full(1, np.nan), None, {}
        value, ci, low, high = np.nan, (np.nan, np.nan), [np.nan], [np.nan]
    else:
        pairs, estimate, boot, overlap = separation_margins(kernels, ntks, baselines, k, n_boot=n_boot, seed=seed)
        value, ci, low, high = _smallest(estimate, boot)
    nearest = {}
    for a, b in pairs:
        scores = {base: max(overlap.get(f"{a} / {base}", np.nan), overlap.get(f"{b} / {base}", np.nan))
                  for base in baselines}
        nearest[f"{a} / {b}"] = max(scores, key=scores.get) if overlap else None
    worst = int(np.nanargmin(estimate)) if np.isfinite(estimate).any() else 0
    worst_pair = f"{pairs[worst][0]} / {pairs[worst][1]}"
    details = {"k": k, "n_train": n, "n_compare": m, "chance_overlap": k / m, "n_boot": n_boot,
               "resample_failures": int(np.isnan(boot).any(axis=1).sum()) if boot is not None else None,
               "overlap": overlap, "closest_pair": worst_pair,
               "pairs": {f"{a} / {b}": {"margin": float(estimate[i]) if boot is not None else None,
                                        "ci": [float(low[i]), float(high[i])] if boot is not None else None,
                                        "ntk_overlap": overlap.get(f"{a} / {b}"),
                                        "nearest_baseline": nearest[f"{a} / {b}"]}
                         for i, (a, b) in enumerate(pairs)}}
    base = nearest.get(worst_pair)
    base_value = max(overlap.get(f"{x} / {base}", np.nan) for x in pairs[worst]) if base else np.nan
    return make_verdict(
        4, "NTK separation margin over baselines",
        f"smallest over NTK pairs ({', '.join(ntks)}) of O_{k}(A, B) − max over baselines "
        f"({', '.join(baselines)}) of max(O_{k}(A, b), O_{k}(B, b)); top-{k} eigenspace overlap on {m} comparison "
        f"images; bootstrap over the {n} training images (eigenvectors recomputed) and the comparison images, "
        f"Bonferroni over {len(pairs)} pair(s)",
        value, ci, threshold=0.0, control=f"largest overlap of {' or '.join(pairs[worst])} with a baseline ({base})",
        control_value=base_value, n=min(n, m), min_n=2 * k, details=details, key="claim4_agreement")


def _profiles_verdict(profiles, index, controls, attack, seed) -> Verdict:
    names, control_names = list(profiles), list(controls)
    gammas = [np.asarray(profiles[name], float) for name in names]
    extra = [np.asarray(controls[name], float) for name in control_names]
    if len(gammas) < 2 or len({g.shape for g in gammas + extra}) != 1:
        raise ValueError(f"profiles needs ≥ 2 γ arrays of one shape (same eigen-indices), controls the same shape; "
                         f"got { {name: g.shape for name, g in zip(names + control_names, gammas + extra)} }.")
    index = np.arange(gammas[0].size, dtype=float) if index is None else np.asarray(index, float)
    if index.shape != gammas[0].shape:
        raise ValueError(f"index has shape {index.shape}: expected {gammas[0].shape}, one eigen-index per feature.")
    pairs = list(itertools.combinations(range(len(names)), 2))
    n_ntk = len(names)

    def statistic(*arrays):
        g, i = arrays[:-1], arrays[-1]
        out = []
        for a, b in pairs:
            value = partial_rank_correlation(g[a], g[b], i)
            if control_names:
                with np.errstate(invalid="ignore"):
                    value = value - np.max(np.stack([partial_rank_correlation(g[x], g[c], i)
                                                     for x in (a, b) for c in range(n_ntk, len(g))]), axis=0)
            out.append(value)
        return np.stack(out, axis=-1)

    samples = gammas + extra + [index]
    estimate = np.asarray(statistic(*[s[None] for s in samples]))[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, index.size, size=(_stats.N_BOOT, index.size))
    boot = np.asarray(statistic(*[s[idx] for s in samples]))
    value, ci, low, high = _smallest(estimate, boot)
    flat = any(np.ptp(g) == 0 for g in gammas + extra)
    raw = {f"{names[a]} / {names[b]}": float(_stats._spearman_rows(gammas[a], gammas[b])) for a, b in pairs}
    partial = {f"{names[a]} / {names[b]}": float(partial_rank_correlation(gammas[a], gammas[b], index))
               for a, b in pairs}
    partial.update({f"{names[x]} / {name}": float(partial_rank_correlation(gammas[x], g, index))
                    for x in range(n_ntk) for name, g in zip(control_names, extra)})
    details = {"raw_rho": raw, "partial_rho": partial, "index_rho": {
        name: float(_stats._spearman_rows(g, index)) for name, g in zip(names + control_names, gammas + extra)},
        "pairs": {f"{names[a]} / {names[b]}": {"statistic": float(estimate[j]), "ci": [float(low[j]), float(high[j])]}
                  for j, (a, b) in enumerate(pairs)}}
    what = "smallest over NTK pairs of the partial Spearman ρ(γ_A, γ_B | eigen-index)" if len(pairs) > 1 else \
        f"partial Spearman ρ(γ_{names[0]}, γ_{names[1]} | eigen-index)"
    if control_names:
        what += f" minus the largest partial ρ of an NTK with the control kernel(s) {', '.join(control_names)}"
        control, control_value = (f"partial ρ with {', '.join(control_names)}",
                                  max(v for key, v in partial.items() if key.split(" / ")[1] in control_names))
    else:
        control, control_value = "profiles that share only the index trend (partial ρ = 0)", 0.0
    return make_verdict(
        4, "robustness profiles agree beyond the index trend", f"{what}; γ by {attack}; bootstrap over features",
        value, ci, threshold=0.0, control=control, control_value=control_value, n=index.size, min_n=MIN_FEATURES,
        saturated=flat, details=details, key="claim4_profiles")
