r"""Claim 5: robust features sit at the top of the spectrum and are learned early.

(Claim 4, consistency across architectures, is in ``_claims_consistency``.)
"""

import numpy as np
from scipy import stats

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA_ATTACK, SATURATION

__all__ = ["claim5"]

ALPHA = 0.05
MIN_FEATURES = 5


def _order_verdict(index, robust_accuracy, useful, robust, attack, n_boot, seed) -> Verdict:
    index, gamma = np.asarray(index, float), np.asarray(robust_accuracy, float)
    chosen = np.asarray(useful, bool)
    n_useful = int(chosen.sum())
    if n_useful >= 2:
        rho, ci = _stats.rank_correlation(index[chosen], gamma[chosen], n_boot=n_boot, seed=seed)
    else:
        rho, ci = np.nan, (np.nan, np.nan)
    undetermined, details = None, {"useful": n_useful}
    if robust is not None:
        n_robust = int((chosen & np.asarray(robust, bool)).sum())
        details["useful_robust"] = n_robust
        if n_useful >= MIN_FEATURES and not n_robust:
            # Where γ falls among features the attack defeats says nothing about where robust ones sit.
            undetermined = "no useful feature is robustly useful: there are no robust features to place"
    return make_verdict(
        5, "ρ(index, γ) among useful features", f"Spearman rank correlation of eigen-index and γ ({attack}) over "
        f"the useful features ({n_useful}); requires at least one robustly useful feature (accuracy under attack "
        "significantly above the majority rate); bootstrap over features", rho, ci, threshold=0.0,
        direction="below", control="no order (ρ = 0)", control_value=0.0, n=n_useful, min_n=MIN_FEATURES,
        saturated=n_useful >= MIN_FEATURES and np.ptp(gamma[chosen]) == 0, undetermined=undetermined,
        details=details, key="claim5_order")


def _less_accurate(clean_t, alpha):
    r"""One-sided exact McNemar test per early row: is f_t's clean accuracy below f_∞'s (last row)?

    Returns ``(early mask (n_t − 1,), p-values)``. Discordant points: ``b`` where f_∞ is right and f_t
    wrong, ``c`` the reverse; under equal accuracy :math:`b \sim \mathrm{Bin}(b + c, 1/2)`.
    """
    last = clean_t[-1]
    b = ((last == 1) & (clean_t[:-1] == 0)).sum(axis=1)
    c = ((last == 0) & (clean_t[:-1] == 1)).sum(axis=1)
    p = np.where(b + c > 0, stats.binom.sf(b - 1, np.maximum(b + c, 1), 0.5), 1.0)
    return p < alpha, p


def _simultaneous_gain(robust_t, rows, majority_indicator, n_boot, seed, level=_stats.LEVEL):
    r"""Per early row :math:`g_t = \gamma(f_t) - \max(\gamma(f_\infty), m)`, with max-t simultaneous bounds.

    The paired bootstrap over test points resamples every row, f_∞ and the majority indicator together;
    the critical value :math:`c` is the ``level`` quantile of :math:`\max_t |g^*_t - g_t| / s_t` (``s_t`` the
    bootstrap standard deviation), so the bands :math:`g_t \pm c\, s_t` hold for all early rows at once.
    Returns ``(g (r,), low (r,), high (r,), c)``.
    """
    sub = robust_t[np.r_[rows, robust_t.shape[0] - 1]]          # the early rows, then f_∞

    def statistic(r, m):
        reference = np.maximum(r[..., -1, :].mean(-1), m.mean(-1))
        return r[..., :-1, :].mean(-1) - reference[..., None]
    g = statistic(sub[None], majority_indicator[None])[0]
    rng = np.random.default_rng(seed)
    n = sub.shape[-1]
    boot = []
    for start in range(0, n_boot, 100):                          # chunks bound the memory
        idx = rng.integers(0, n, size=(min(100, n_boot - start), n))
        boot.append(statistic(sub[:, idx].transpose(1, 0, 2), majority_indicator[idx]))
    boot = np.concatenate(boot)                                   # (B, r)
    sd = boot.std(axis=0)
    scaled = np.abs(boot - g) / np.where(sd > 0, sd, np.inf)
    crit = float(np.quantile(scaled.max(axis=1), level))
    return g, g - crit * sd, g + crit * sd, crit


def claim5(index=None, robust_accuracy=None, useful=None, *, robust=None, clean_correct_t=None,
           robust_correct_t=None, labels=None, times=None, attack: str = GAMMA_ATTACK,
           n_boot: int = _stats.N_BOOT, seed: int = 0) -> list[Verdict]:
    r"""Claim 5 (robust features sit at the top of the spectrum and are learned early): up to two verdicts.

    *Order*: Spearman ρ between eigen-index and γ among useful features, bootstrap CI over
    features; supported below 0 (γ falls with index). Undetermined with fewer than five useful
    features, a constant γ (saturated), or — when ``robust`` is given — no useful feature robustly
    useful (the vocabulary's definition: accuracy under attack significantly above the majority rate).

    The order verdict is left out when ``index`` is ``None`` (a section that only follows
    :math:`f_t`).

    *Trade-off along t* (when the ``*_t`` arrays are given): an *early* time is one where
    :math:`f_t`'s clean accuracy is significantly below :math:`f_\infty`'s (one-sided exact McNemar
    test on the paired test points at 0.05). For each early :math:`t` the statistic is
    :math:`g_t = \gamma(f_t) - \max(\gamma(f_\infty), m)`, the early predictor's robust accuracy
    beyond both the trained predictor's and the majority rate :math:`m` (a constant guess). The
    reported estimate is :math:`\max_t g_t` and its interval comes from simultaneous max-t
    bootstrap bands over the early times (paired over test points), so choosing the best of many
    times is paid for: supported when some early :math:`t`'s band lies above 0, not supported when
    every band lies below 0. Undetermined when no time is early (no trade-off to test) or every
    robust accuracy is saturated.

    Args:
      index: ``(n_features,)`` eigen-indices; robust_accuracy: ``(n_features,)`` γ;
        useful: ``(n_features,)`` bool (``FeatureClasses.useful``); robust: optional ``(n_features,)``
        bool (``FeatureClasses.robust``).
      clean_correct_t, robust_correct_t: ``(n_t, n_test)`` 0/1 of :math:`f_t`, the last row :math:`f_\infty`.
      labels: ``(n_test,)``; times: ``(n_t,)`` (the last may be ``inf``), for the record.
    """
    verdicts = []
    if index is not None:
        verdicts.append(_order_verdict(index, robust_accuracy, useful, robust, attack, n_boot, seed))
    elif clean_correct_t is None:
        raise ValueError("claim5 needs index, robust_accuracy and useful (the order), clean_correct_t and "
                         "robust_correct_t (the trade-off along t), or both.")
    if clean_correct_t is None:
        return verdicts
    clean_t, robust_t = np.asarray(clean_correct_t, float), np.asarray(robust_correct_t, float)
    n = clean_t.shape[1]
    labels = np.asarray(labels)
    majority = _stats.majority_rate(labels)
    values, counts = np.unique(labels, return_counts=True)
    indicator = (labels == values[np.argmax(counts)]).astype(float)
    early, p_early = _less_accurate(clean_t, ALPHA)
    rows = np.flatnonzero(early)
    acc = robust_t.mean(axis=1)
    details = {"times": [None if not np.isfinite(t) else float(t) for t in np.asarray(
                   times if times is not None else np.arange(acc.size), float)],
               "clean_accuracy": clean_t.mean(axis=1).tolist(), "robust_accuracy": acc.tolist(),
               "majority": majority, "early": early.tolist(), "p_less_accurate": p_early.tolist(),
               "n_early": int(rows.size), "best": None}
    if rows.size:
        g, low, high, crit = _simultaneous_gain(robust_t, rows, indicator, n_boot, seed)
        best = int(np.argmax(g))
        estimate, ci = float(g[best]), (float(low.max()), float(high.max()))
        details |= {"best": int(rows[best]), "gain": g.tolist(), "gain_low": low.tolist(),
                    "gain_high": high.tolist(), "critical_value": crit}
    else:
        estimate, ci = np.nan, (np.nan, np.nan)
    verdicts.append(make_verdict(
        5, "early f_t robust accuracy beyond f_∞ and majority", f"largest over early times (f_t's clean accuracy "
        f"significantly below f_∞'s, exact McNemar test at {ALPHA}; {rows.size} of {acc.size - 1}) of f_t's robust "
        f"accuracy ({attack}) minus the larger of f_∞'s robust accuracy and the majority rate; simultaneous max-t "
        f"bootstrap bands over the early times, paired over {n} test points", estimate, ci, threshold=0.0,
        control="max(robust accuracy of f_∞, majority rate)", control_value=max(float(acc[-1]), majority), n=n,
        min_n=10, saturated=bool((acc <= SATURATION).all()),
        undetermined=None if rows.size else "no early time: no f_t is significantly less accurate than f_∞",
        key="claim5_tradeoff", details=details))
    return verdicts
