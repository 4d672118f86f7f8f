r"""Intervals and tests every section's verdicts need.

* Bootstrap over test points (percentile intervals, seeded, vectorised): the test points are the
  sampling unit, so a statistic of per-point arrays (0/1 correctness, per-point differences) is
  recomputed on ``n_boot`` resamples drawn with replacement, jointly for all arrays (paired).
* Over seeds: a Student-t interval :math:`\bar x \pm t_{0.975, s-1}\, \mathrm{sd}/\sqrt{s}`.
* An accuracy :math:`k/n`: Wilson or Clopper–Pearson intervals and the exact one-sided binomial
  test against a rate :math:`p_0` (the majority rate), :math:`P(X \ge k),\ X \sim \mathrm{Bin}(n, p_0)`.
* Many features at once: the Benjamini–Hochberg step-up procedure, and label-permutation nulls.
* Selection on one half of the test points, confirmation on the other.
* Rank correlation (Spearman) with a bootstrap interval over pairs, and the budget
  :math:`\varepsilon_{1/2}` at which an accuracy-vs-ε curve halves, with a bootstrap interval.
"""

import warnings

import numpy as np
from scipy import stats

__all__ = ["LEVEL", "N_BOOT", "bootstrap", "mean_ci", "paired_difference_ci", "seed_ci",
           "accuracy_interval", "majority_rate", "binomial_pvalues", "benjamini_hochberg",
           "permutation_null", "split_halves", "rank_correlation", "halving_budget",
           "halving_budget_ci"]

LEVEL = 0.95
N_BOOT = 1000
# Elements per resampled chunk: bounds the bootstrap's memory (~320 MB in float64) whatever n_boot.
_CHUNK_ELEMENTS = 4e7


def _percentile_ci(boot, level):
    alpha = 100 * (1 - level) / 2
    with warnings.catch_warnings():  # all-NaN resamples: the interval is NaN, as it should be
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(boot, [alpha, 100 - alpha], axis=0)
    return low, high


def bootstrap(statistic, *samples, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0):
    r"""Percentile bootstrap over test points of ``statistic(*samples)``.

    Args:
      statistic: maps arrays of shape ``(B, ..., n)`` (one per sample, a batch of ``B`` resamples
        first, points last) to shape ``(B,)`` or ``(B, ...)``.
      samples: arrays of shape ``(..., n)`` sharing the number ``n`` of points on the last axis;
        they are resampled with the same indices (a paired bootstrap).
      n_boot: resamples; level: interval coverage; seed: for ``numpy.random.default_rng``.

    Returns:
      ``(estimate, (low, high))``; arrays of the statistic's shape when it is not scalar.
      Resamples where the statistic is NaN are ignored.
    """
    samples = [np.asarray(s, dtype=float) for s in samples]
    n = samples[0].shape[-1]
    if any(s.shape[-1] != n for s in samples):
        raise ValueError(f"samples have {[s.shape[-1] for s in samples]} points on their last axis; "
                         "they must share one number of test points.")
    estimate = np.asarray(statistic(*[s[None] for s in samples]))[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, int(_CHUNK_ELEMENTS // max(1, sum(s.size for s in samples))))
    boot = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        boot.append(np.asarray(statistic(*[np.moveaxis(s[..., idx], -2, 0) for s in samples])))
    low, high = _percentile_ci(np.concatenate(boot, axis=0), level)
    return estimate, (low, high)


def mean_ci(values, **kwargs):
    """Mean over points (last axis) of ``values`` ``(..., n)`` with its bootstrap interval."""
    return bootstrap(lambda v: v.mean(axis=-1), values, **kwargs)


def paired_difference_ci(a, b, **kwargs):
    """Mean over points of ``a − b`` (both ``(..., n)``, same points) with its paired bootstrap interval."""
    return bootstrap(lambda x, y: (x - y).mean(axis=-1), a, b, **kwargs)


def seed_ci(values, level: float = LEVEL):
    r"""Mean over seeds of ``values`` ``(s,)`` with the t-interval; NaN interval for ``s < 2``."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if values.size else float("nan")
    if values.size < 2:
        return mean, (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    return mean, (mean - half, mean + half)


def accuracy_interval(correct: int, n: int, *, method: str = "wilson", level: float = LEVEL):
    """Interval for an accuracy ``correct / n`` (``method``: ``"wilson"`` or ``"exact"`` = Clopper–Pearson)."""
    if method not in ("wilson", "exact"):
        raise ValueError(f"method = {method!r} is not allowed: expected 'wilson' or 'exact'.")
    ci = stats.binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)


def majority_rate(labels) -> float:
    """Share of the most common label: the accuracy of always guessing the majority class."""
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    return float(counts.max() / counts.sum())


def binomial_pvalues(correct, n: int, p0: float, *, alternative: str = "greater"):
    r"""Exact one-sided binomial p-values for counts ``correct`` (any shape) out of ``n`` against ``p0``.

    ``"greater"``: :math:`P(X \ge k)`; ``"less"``: :math:`P(X \le k)`, :math:`X \sim \mathrm{Bin}(n, p_0)`
    — the p-values of ``scipy.stats.binomtest`` with that alternative, vectorised over counts.
    """
    k = np.asarray(correct)
    if alternative == "greater":
        return stats.binom.sf(k - 1, n, p0)
    if alternative == "less":
        return stats.binom.cdf(k, n, p0)
    raise ValueError(f"alternative = {alternative!r} is not allowed: expected 'greater' or 'less'.")


def benjamini_hochberg(pvalues, q: float = 0.05):
    r"""Discoveries at false discovery rate ``q``: boolean mask of ``pvalues`` ``(m,)``.

    The step-up procedure: reject the :math:`k` smallest p-values for the largest :math:`k` with
    :math:`p_{(k)} \le k q / m` (``scipy.stats.false_discovery_control`` adjusted p-values ≤ q).
    """
    pvalues = np.asarray(pvalues, dtype=float)
    if pvalues.size == 0:
        return np.zeros(0, dtype=bool)
    return stats.false_discovery_control(pvalues, method="bh") <= q


def permutation_null(statistic, labels, *, n_perm: int = 200, seed: int = 0):
    """``statistic(permuted_labels)`` for ``n_perm`` seeded permutations of ``labels``: ``(n_perm, ...)``."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    return np.stack([np.asarray(statistic(rng.permutation(labels)), dtype=float) for _ in range(n_perm)])


def split_halves(n: int, *, seed: int = 0):
    """Random disjoint halves ``(a, b)`` of ``range(n)``: select on ``a``, confirm on ``b``."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def _spearman_rows(x, y):
    rx, ry = stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx ** 2).sum(-1) * (ry ** 2).sum(-1))


def rank_correlation(x, y, **kwargs):
    """Spearman ρ of paired values ``x``, ``y`` ``(n,)`` with a bootstrap interval over pairs (NaN if constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    with np.errstate(invalid="ignore"):
        rho = stats.spearmanr(x, y).statistic if np.ptp(x) > 0 and np.ptp(y) > 0 else float("nan")
    _, ci = bootstrap(_spearman_rows, x, y, **kwargs)
    return float(rho), (float(ci[0]), float(ci[1]))


def halving_budget(eps, accuracy):
    r"""Budgets :math:`\varepsilon_{1/2}` where ``accuracy`` ``(..., n_eps)`` first falls to half its ε = 0 value.

    Linear interpolation between the grid points around the first crossing; NaN where the
    curve never halves on the grid. ``eps`` ``(n_eps,)`` must start at 0 and increase.
    """
    eps = np.asarray(eps, float)
    if eps[0] != 0 or np.any(np.diff(eps) <= 0):
        raise ValueError(f"EPS grid {eps.tolist()} must start at 0 and increase strictly.")
    acc = np.atleast_2d(np.asarray(accuracy, float))
    target = acc[:, :1] / 2
    below = acc[:, 1:] <= target
    j = np.argmax(below, axis=1) + 1                        # first grid index at or below half
    rows = np.arange(acc.shape[0])
    a0, a1 = acc[rows, j - 1], acc[rows, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(a0 > a1, (a0 - target[:, 0]) / (a0 - a1), 0.0)
    out = eps[j - 1] + frac * (eps[j] - eps[j - 1])
    out = np.where(below.any(axis=1) & (acc[:, 0] > 0), out, np.nan)
    return out if np.ndim(accuracy) > 1 else float(out[0])


def halving_budget_ci(eps, correct, **kwargs):
    """:func:`halving_budget` of the accuracy curve of ``correct`` ``(n_eps, n)`` (0/1), with a bootstrap CI."""
    return bootstrap(lambda c: halving_budget(eps, c.mean(axis=-1)), correct, **kwargs)
