r"""Claim 5: robust features sit at the top of the spectrum and are learned early.

(Claim 4, consistency across architectures, is in ``_claims_consistency``.)
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA_ATTACK, SATURATION

__all__ = ["claim5"]

ALPHA = 0.05
MIN_FEATURES = 5


def _order_verdict(index, robust_accuracy, useful, attack, n_boot, seed) -> Verdict:
    index, gamma = np.asarray(index, float), np.asarray(robust_accuracy, float)
    chosen = np.asarray(useful, bool)
    n_useful = int(chosen.sum())
    if n_useful >= 2:
        rho, ci = _stats.rank_correlation(index[chosen], gamma[chosen], n_boot=n_boot, seed=seed)
    else:
        rho, ci = np.nan, (np.nan, np.nan)
    return make_verdict(
        5, "ρ(index, γ) among useful features", f"Spearman rank correlation of eigen-index and γ ({attack}) over "
        "the useful features; bootstrap over features", rho, ci, threshold=0.0, direction="below",
        control="no order (ρ = 0)", control_value=0.0, n=n_useful, min_n=MIN_FEATURES,
        saturated=n_useful >= MIN_FEATURES and np.ptp(gamma[chosen]) == 0, key="claim5_order")


def claim5(index=None, robust_accuracy=None, useful=None, *, clean_correct_t=None, robust_correct_t=None,
           labels=None, times=None, attack: str = GAMMA_ATTACK, n_boot: int = _stats.N_BOOT, seed: int = 0) -> list[Verdict]:
    r"""Claim 5 (robust features sit at the top of the spectrum and are learned early): up to two verdicts.

    *Order*: Spearman ρ between eigen-index and γ among useful features, bootstrap CI over
    features; supported below 0 (γ falls with index). Undetermined with fewer than five useful
    features or a constant γ (saturated).

    The order verdict is left out when ``index`` is ``None`` (a section that only follows
    :math:`f_t`).

    *Trade-off along t* (when the ``*_t`` arrays are given): the largest robust accuracy of a
    useful early predictor :math:`f_t` (clean accuracy above the majority, binomial test at 0.05)
    minus the robust accuracy of :math:`f_\infty`; paired bootstrap over test points (the maximum
    recomputed on each resample); supported above 0, even when that :math:`f_t` is less accurate
    clean. Undetermined when no early predictor is useful or every robust accuracy is saturated.

    Args:
      index: ``(n_features,)`` eigen-indices; robust_accuracy: ``(n_features,)`` γ;
        useful: ``(n_features,)`` bool (``FeatureClasses.useful``).
      clean_correct_t, robust_correct_t: ``(n_t, n_test)`` 0/1 of :math:`f_t`, the last row :math:`f_\infty`.
      labels: ``(n_test,)``; times: ``(n_t,)`` (the last may be ``inf``), for the record.
    """
    verdicts = []
    if index is not None:
        verdicts.append(_order_verdict(index, robust_accuracy, useful, attack, n_boot, seed))
    elif clean_correct_t is None:
        raise ValueError("claim5 needs index, robust_accuracy and useful (the order), clean_correct_t and "
                         "robust_correct_t (the trade-off along t), or both.")
    if clean_correct_t is None:
        return verdicts
    clean_t, robust_t = np.asarray(clean_correct_t, float), np.asarray(robust_correct_t, float)
    n = clean_t.shape[1]
    majority = _stats.majority_rate(labels)
    early_useful = _stats.binomial_pvalues(clean_t[:-1].sum(axis=1), n, majority) < ALPHA
    rows = np.flatnonzero(early_useful)

    def gain(r):
        early = r[..., rows, :].mean(-1) if rows.size else np.full(r.shape[:-2] + (1,), np.nan)
        return early.max(-1) - r[..., -1, :].mean(-1)
    estimate, ci = _stats.bootstrap(gain, robust_t, n_boot=n_boot, seed=seed)
    acc = robust_t.mean(axis=1)
    verdicts.append(make_verdict(
        5, "early f_t robust-accuracy gain", f"largest robust accuracy ({attack}) of a useful early f_t minus that "
        "of f_∞; paired bootstrap over test points", estimate, ci, threshold=0.0,
        control="robust accuracy of f_∞", control_value=float(acc[-1]), n=n, min_n=10,
        saturated=bool((acc <= SATURATION).all()),
        undetermined=None if rows.size else "no early f_t is useful", key="claim5_tradeoff",
        details={"times": [None if not np.isfinite(t) else float(t) for t in np.asarray(
            times if times is not None else np.arange(acc.size), float)],
            "clean_accuracy": clean_t.mean(axis=1).tolist(), "robust_accuracy": acc.tolist(),
            "early_useful": early_useful.tolist(),
            "best": int(rows[np.argmax(acc[rows])]) if rows.size else None}))
    return verdicts


