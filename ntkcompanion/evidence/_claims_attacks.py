r"""Claims 1 and 2: the kernel makes adversarial examples, and they transfer to lazier nets.

Claim 1's inputs are one predictor's per-test-point 0/1 correctness, so its intervals are
bootstraps over the test points (paired across curves). Claim 2's networks vary with their seed:
its intervals are over seeds (the unit that varies), with the test points nested inside each seed.
"""

import numpy as np
from scipy import stats

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Reason, Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA_ATTACK, SATURATION, is_lazy

__all__ = ["budget_curves", "claim1", "claim2"]

ALPHA = 0.05
MIN_SEEDS = 3


def _binary(name, array, ndim):
    array = np.asarray(array)
    if array.ndim != ndim or not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} has shape {array.shape}: expected {ndim} axes of 0/1 per-point correctness.")
    return array.astype(float)


def _clean_above_majority(clean_correct, labels) -> bool:
    n = clean_correct.size
    p = _stats.binomial_pvalues(clean_correct.sum(), n, _stats.majority_rate(labels))
    return bool(p < ALPHA)


def _budget_ratio(eps, kernel, noise):
    r"""Per resample: :math:`\varepsilon_{1/2}(\text{noise}) / \varepsilon_{1/2}(\text{attack})`.

    Where the noise curve never halves on the grid its :math:`\varepsilon_{1/2}` is replaced by the
    largest budget, so the ratio is a lower bound; NaN where the attack never halves.
    """
    half_k = np.atleast_1d(_stats.halving_budget(eps, kernel.mean(axis=-1)))
    half_z = np.atleast_1d(_stats.halving_budget(eps, noise.mean(axis=-1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isnan(half_z), eps[-1], half_z) / half_k


def claim1(eps, kernel_correct, noise_correct, labels, *, at: float | None = None, threshold: float = 0.10,
           attack: str = GAMMA_ATTACK, n_boot: int = _stats.N_BOOT, seed: int = 0) -> Verdict:
    r"""Claim 1 (the kernel generates adversarial examples): the attack beats random noise of the same budget.

    The statistic is the accuracy gap at a budget fixed before the run, ``at`` (the section's
    headline :math:`\epsilon`),

    .. math::
        \Delta(\epsilon) = \mathrm{acc}(x + \delta_{noise}) - \mathrm{acc}(x + \delta_{attack}),
        \qquad \|\delta\|_\infty \le \epsilon,

    with a paired bootstrap over test points. Neither accuracy is fixed by the choice of
    :math:`\epsilon`, so the gap can take any value in [−1, 1]; an attack no better than noise
    gives :math:`\Delta \approx 0`. Supported when the whole CI exceeds ``threshold`` (default
    0.10: the attack costs at least ten accuracy points more than noise of the same size), not
    supported when the whole CI lies below it.

    Args:
      eps: ``(n_eps,)`` budgets, starting at 0, increasing.
      kernel_correct: ``(n_eps, n_test)`` 0/1, kernel predictor right on its own attacked point.
      noise_correct: ``(n_eps, n_test)`` 0/1, right on the point plus random ±ε sign noise.
      labels: ``(n_test,)`` test labels.
      at: the budget of the decision, one of ``eps`` (default: the largest).

    Undetermined when the clean accuracy is not above the majority rate (nothing to attack), when
    noise alone already fools the predictor at ``at`` (saturated), when the attack and the noise
    leave the same points right at ``at`` (a tie: the budget resolves nothing), or when the CI
    straddles the threshold. The details also hold the gap at every budget with its interval
    (``gap_curve``, ``gap_curve_ci``), the halving budgets :math:`\varepsilon_{1/2}` of both curves,
    and their ratio :math:`\varepsilon_{1/2}(\text{noise}) / \varepsilon_{1/2}(\text{attack})`
    (``budget_ratio``; a lower bound, ``budget_ratio_censored``, when noise never halves).
    """
    eps = np.asarray(eps, float)
    kernel = _binary("kernel_correct", kernel_correct, 2)
    noise = _binary("noise_correct", noise_correct, 2)
    if kernel.shape != noise.shape or kernel.shape[0] != eps.size:
        raise ValueError(f"kernel_correct {kernel.shape} and noise_correct {noise.shape} must both be "
                         f"(len(EPS) = {eps.size}, n_test).")
    at = float(eps[-1]) if at is None else float(at)
    hits = np.flatnonzero(np.isclose(eps, at))
    if hits.size != 1:
        raise ValueError(f"at = {at!r} is not allowed: expected one of the budgets {eps.tolist()}.")
    i = int(hits[0])
    n = kernel.shape[1]
    gap, ci = _stats.paired_difference_ci(noise[i], kernel[i], n_boot=n_boot, seed=seed)
    curve, (curve_low, curve_high) = _stats.paired_difference_ci(noise, kernel, n_boot=n_boot, seed=seed)
    half, half_ci = _stats.halving_budget_ci(eps, kernel, n_boot=n_boot, seed=seed)
    half_z, half_z_ci = _stats.halving_budget_ci(eps, noise, n_boot=n_boot, seed=seed)
    ratio, ratio_ci = _stats.bootstrap(lambda k, z: _budget_ratio(eps, k, z), kernel, noise, n_boot=n_boot,
                                       seed=seed)
    noise_at = float(noise[i].mean())
    undetermined = None if _clean_above_majority(kernel[0], labels) else "clean accuracy not above the majority rate"
    return make_verdict(
        1, "attack − noise gap at ε", f"accuracy under random ±ε sign noise minus accuracy under the kernel's own "
        f"{attack} attack, at the fixed budget ε = {at:.4g}; paired bootstrap over test points",
        gap, ci, threshold=threshold, control=f"random ±ε sign noise (accuracy at ε = {at:.4g})",
        control_value=noise_at, n=n, min_n=10, saturated=noise_at <= SATURATION,
        tie=bool(np.array_equal(kernel[i], noise[i])), undetermined=undetermined, key="claim1",
        details={"eps": eps.tolist(), "at": at, "accuracy": kernel.mean(axis=1).tolist(),
                 "noise_accuracy": noise.mean(axis=1).tolist(), "accuracy_at": float(kernel[i].mean()),
                 "noise_at": noise_at, "gap_curve": np.asarray(curve).tolist(),
                 "gap_curve_ci": [[float(lo), float(hi)] for lo, hi in zip(curve_low, curve_high)],
                 "eps_half": float(half), "eps_half_ci": [float(half_ci[0]), float(half_ci[1])],
                 "eps_half_noise": float(half_z), "eps_half_noise_ci": [float(half_z_ci[0]), float(half_z_ci[1])],
                 "budget_ratio": float(ratio), "budget_ratio_ci": [float(ratio_ci[0]), float(ratio_ci[1])],
                 "budget_ratio_censored": bool(np.isnan(half_z)), "attack": attack})


def budget_curves(eps, correct, *, n_boot: int = _stats.N_BOOT, seed: int = 0) -> dict:
    r"""Accuracy-vs-budget curves with 95% intervals, and the halving budget of each, for claim 1's figure and table.

    Args:
      eps: ``(n_eps,)`` budgets, starting at 0, increasing.
      correct: ``{kind: (n_eps, n_test)}`` 0/1 per-point correctness (e.g. ``"FGSM"``, ``"PGD"``, ``"noise"``),
        the same test points in every curve.
      n_boot, seed: of the bootstrap over test points behind each :math:`\varepsilon_{1/2}` interval.

    Returns:
      ``{"curves": [...], "halving": [...]}``: one row per kind and budget, ``{"kind", "eps",
      "accuracy", "ci_low", "ci_high", "n"}`` (Wilson interval of the accuracy on ``n`` points), and
      one row per kind, ``{"kind", "eps_half", "ci_low", "ci_high"}``: the budget
      :math:`\varepsilon_{1/2}` where the accuracy first falls to half its clean value
      (:func:`~ntkcompanion.evidence.halving_budget`; NaN where it never does on the grid) with its
      percentile-bootstrap interval.
    """
    eps = np.asarray(eps, float)
    rows, halves = [], []
    for kind, values in correct.items():
        values = _binary(f"correct[{kind!r}]", values, 2)
        if values.shape[0] != eps.size:
            raise ValueError(f"correct[{kind!r}] has {values.shape[0]} budgets; eps has {eps.size}.")
        n = values.shape[1]
        for e, hits in zip(eps, values.sum(axis=1)):
            low, high = _stats.accuracy_interval(hits, n)
            rows.append({"kind": kind, "eps": float(e), "accuracy": float(hits / n), "ci_low": low, "ci_high": high,
                         "n": int(n)})
        half, (low, high) = _stats.halving_budget_ci(eps, values, n_boot=n_boot, seed=seed)
        halves.append({"kind": kind, "eps_half": float(half), "ci_low": float(low), "ci_high": float(high)})
    return {"curves": rows, "halving": halves}


def seed_interval(per_seed, points_ci=None, *, level: float = _stats.LEVEL):
    r"""Mean over seeds with a t-interval over seeds, the test points nested inside each seed.

    .. math::
        \bar m \pm t_{0.975,\, s-1} \sqrt{\mathrm{sd}_s^2 / s + \mathrm{se}_{pts}^2}

    The seeds are the unit that varies (each seed is a new network); every seed is evaluated on the
    same test points, whose sampling adds the variance :math:`\mathrm{se}_{pts}^2` of the seed mean,
    read off its bootstrap interval over test points (``points_ci``, half-width / 1.96). Adding
    the two is conservative: the spread over seeds already holds part of the point noise.

    Args:
      per_seed: ``(..., s)`` one value per seed (last axis).
      points_ci: ``((...), (...))`` low and high of the bootstrap interval over test points of the
        seed mean, or None to use the seeds alone.

    Returns:
      ``(mean (...), (low (...), high (...)))``; a NaN interval for fewer than two seeds.
    """
    per_seed = np.asarray(per_seed, float)
    s = per_seed.shape[-1]
    mean = per_seed.mean(axis=-1)
    if s < 2:
        nan = np.full_like(mean, np.nan)
        return mean, (nan, nan)
    variance = per_seed.var(axis=-1, ddof=1) / s
    if points_ci is not None:
        low, high = (np.asarray(v, float) for v in points_ci)
        variance = variance + ((high - low) / (2 * stats.norm.ppf(0.5 + level / 2))) ** 2
    half = stats.t.ppf(0.5 + level / 2, s - 1) * np.sqrt(variance)
    return mean, (mean - half, mean + half)


def _sorted_by_width(widths, *arrays):
    """Widths in increasing order and each ``(n_w, ...)`` array reordered with them; duplicates refused."""
    widths = np.asarray(widths)
    if widths.ndim != 1 or widths.size == 0:
        raise ValueError(f"widths = {widths.tolist()!r} is not allowed: expected a non-empty list of widths.")
    if np.unique(widths).size != widths.size:
        raise ValueError(f"widths = {widths.tolist()!r} is not allowed: a width appears twice.")
    order = np.argsort(widths, kind="stable")
    return widths[order], [a[order] for a in arrays]


def _net(name, array, n_widths):
    array = _binary(name, array, 3)
    if array.shape[0] != n_widths:
        raise ValueError(f"{name} has {array.shape[0]} widths; WIDTHS has {n_widths}.")
    return array


def _margin(a, z, u):
    r"""Control-relative margin per width and seed, ``(..., n_w, s)``: :math:`\min(\mathrm{acc}_{noise},
    \mathrm{acc}_{unrel}) - \mathrm{acc}(x^{adv}_\Theta)`, accuracies over the last (points) axis."""
    return np.minimum(z.mean(-1), u.mean(-1)) - a.mean(-1)


def claim2(widths, net_adv_correct, kernel_adv_correct, net_noise_correct, net_unrelated_correct, *,
           laziness=None, transfer_threshold: float = 0.05, trend_threshold: float = 0.0,
           attack: str = GAMMA_ATTACK, n_boot: int = _stats.N_BOOT, seed: int = 0) -> list[Verdict]:
    r"""Claim 2 (kernel examples transfer, more so to wider, lazier nets): two verdicts on one statistic.

    Both rest on the control-relative *transfer margin* of the network of width :math:`w` and seed
    :math:`s`,

    .. math::
        m(w, s) = \min\big(\mathrm{acc}_{w,s}(x_{noise}),\ \mathrm{acc}_{w,s}(x^{adv}_{unrel})\big)
                  - \mathrm{acc}_{w,s}(x^{adv}_\Theta),

    the net's accuracy on the stronger control (random ±ε signs; PGD examples of an unrelated
    model) minus its accuracy on the kernel's examples: positive when the kernel's examples fool
    the net more than perturbations of the same size that are not made on its kernel, 0 when they
    transfer no better than the controls. Every interval is over seeds (:func:`seed_interval`,
    :math:`n` = seeds), the test points nested inside each seed.

    *Transfer*: the seed mean of :math:`m(w_{max}, s)` at the widest width (by value) exceeds
    ``transfer_threshold`` (0.05).

    *Trend*: :math:`\Delta_s = m(w_{max}, s) - m(w_{min}, s)`, signed: positive when the kernel's
    examples gain on the controls as the width grows. Supported when the seed mean's CI lies
    above ``trend_threshold`` (0), not supported when below. Undetermined as *saturated* when
    the nets at every width are fooled on (almost) every kernel example, since then the margin
    can only follow the controls.

    Args:
      widths: ``(n_w,)`` distinct widths, in any order (the arrays are sorted with them).
      net_adv_correct: ``(n_w, n_seeds, n_test)`` 0/1, net right on the kernel's example.
      kernel_adv_correct: ``(n_test,)`` 0/1, kernel right on its own example (reported, not decided on).
      net_noise_correct, net_unrelated_correct: ``(n_w, n_seeds, n_test)`` 0/1 on the controls.
      laziness: optional ``(n_w, n_seeds)`` relative parameter (or kernel) change, or a dict
        ``{name: (n_w, n_seeds)}`` of several such measures; reported in details as the mean per
        width (``laziness``) and, for a dict, a t-interval over seeds per width (``laziness_ci``)
        and whether the widest net is lazy by the vocabulary's threshold (``lazy_widest``).

    Undetermined with fewer than :data:`MIN_SEEDS` seeds. The details hold, per width in
    increasing order, the margin (``margin``, ``margin_ci``), the accuracies, and the share of
    kernel-fooled points that also fool the net (``share_fooled_transfer``, ``_ci``), all over seeds.
    """
    n_w = np.asarray(widths).size
    kernel = _binary("kernel_adv_correct", kernel_adv_correct, 1)
    arrays = [_net(name, a, n_w) for name, a in (("net_adv_correct", net_adv_correct),
                                                  ("net_noise_correct", net_noise_correct),
                                                  ("net_unrelated_correct", net_unrelated_correct))]
    lazy = {k: np.asarray(v, float) for k, v in laziness.items()} if isinstance(laziness, dict) else laziness
    lazy_arrays = list(lazy.values()) if isinstance(lazy, dict) else ([] if lazy is None
                                                                      else [np.asarray(lazy, float)])
    widths, (adv, noise, unrelated, *lazy_sorted) = _sorted_by_width(widths, *arrays, *lazy_arrays)
    if isinstance(lazy, dict):
        lazy = dict(zip(lazy, lazy_sorted))
    elif lazy is not None:
        lazy = lazy_sorted[0]
    if not adv.shape == noise.shape == unrelated.shape or adv.shape[-1] != kernel.size:
        raise ValueError(f"net_adv_correct {adv.shape}, net_noise_correct {noise.shape}, net_unrelated_correct "
                         f"{unrelated.shape} must share one shape (n_w, n_seeds, n_test = {kernel.size}).")
    n, n_seeds = kernel.size, adv.shape[1]
    margin = _margin(adv, noise, unrelated)                                   # (n_w, s)

    def per_width(a, z, u):                                                   # (B, n_w) seed means
        return _margin(a, z, u).mean(-1)
    _, points_ci = _stats.bootstrap(per_width, adv, noise, unrelated, n_boot=n_boot, seed=seed)
    margin_mean, (margin_low, margin_high) = seed_interval(margin, points_ci)
    # The trend's test-point interval: the same resamples, differenced (paired on points).
    _, trend_points_ci = _stats.bootstrap(lambda a, z, u: per_width(a, z, u)[..., -1] - per_width(a, z, u)[..., 0],
                                          adv[[0, -1]], noise[[0, -1]], unrelated[[0, -1]], n_boot=n_boot, seed=seed)
    trend, trend_ci = seed_interval(margin[-1] - margin[0], trend_points_ci)

    fooled = kernel == 0
    share = 1 - adv[:, :, fooled].mean(-1) if fooled.any() else np.full((n_w, n_seeds), np.nan)
    saturated = bool((adv.mean(-1).mean(-1) <= SATURATION).all())
    too_few = f"too few seeds ({n_seeds} < {MIN_SEEDS})" if n_seeds < MIN_SEEDS else None
    details = {"widths": widths.tolist(), "seeds": int(n_seeds), "attack": attack,
               "net_adv_accuracy": adv.mean(-1).mean(-1).tolist(), "kernel_adv_accuracy": float(kernel.mean()),
               "noise_accuracy": noise.mean(-1).mean(-1).tolist(),
               "unrelated_accuracy": unrelated.mean(-1).mean(-1).tolist(),
               "margin": margin_mean.tolist(), "margin_ci": np.c_[margin_low, margin_high].tolist(),
               "margin_per_seed": margin.tolist(), "share_fooled_transfer": share.mean(-1).tolist()}
    if fooled.any():
        _, share_points = _stats.bootstrap(lambda a: 1 - a.mean(-1).mean(-1), adv[:, :, fooled], n_boot=n_boot,
                                           seed=seed)
        _, (low, high) = seed_interval(share, share_points)
        details["share_fooled_transfer_ci"] = np.c_[low, high].tolist()
    if isinstance(lazy, dict):
        details["laziness"] = {name: v.mean(axis=1).tolist() for name, v in lazy.items()}
        details["laziness_ci"] = {name: [[float(x) for x in _stats.seed_ci(row)[1]] for row in v]
                                  for name, v in lazy.items()}
        details["lazy_widest"] = {name: bool(is_lazy(v[-1].mean())) for name, v in lazy.items()}
    elif lazy is not None:
        details["laziness"] = lazy.mean(axis=1).tolist()
    control_value = float(np.minimum(noise[-1].mean(-1), unrelated[-1].mean(-1)).mean())
    over_seeds = f"t-interval over {n_seeds} seeds, test points nested in each seed"
    first = make_verdict(
        2, "transfer margin over controls (widest net)", f"at the widest width, the net's accuracy on the "
        f"stronger control (random signs or an unrelated model's examples) minus its accuracy on the kernel's "
        f"{attack} examples, per seed; {over_seeds}", margin_mean[-1], (margin_low[-1], margin_high[-1]),
        threshold=transfer_threshold, control="net accuracy on the stronger control (noise or unrelated-model "
        "examples), widest net", control_value=control_value, n=n_seeds,
        saturated=control_value <= SATURATION, undetermined=too_few,
        details=details, key="claim2_transfer")
    second = make_verdict(
        2, "transfer margin trend Δ (wide − narrow)", "the transfer margin (stronger control minus kernel "
        "examples) at the widest width minus the same at the narrowest, per seed (positive: the kernel's "
        f"examples gain on the controls as width grows); {over_seeds}", trend, trend_ci,
        threshold=trend_threshold, control="transfer margin at the narrowest width",
        control_value=float(margin_mean[0]), n=n_seeds, saturated=saturated,
        undetermined=too_few or ("one width: no trend" if n_w < 2 else None),
        details={"widths": widths.tolist(), "margin": margin_mean.tolist(), "per_seed": (margin[-1] - margin[0])
                 .tolist()}, key="claim2_trend")
    return [first, second]
