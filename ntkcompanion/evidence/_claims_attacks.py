r"""Claims 1 and 2: the kernel makes adversarial examples, and they transfer to lazier nets.

All inputs are per-test-point 0/1 correctness, so every interval is a bootstrap over the same
test points (paired across curves, widths and controls).
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Reason, Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA_ATTACK, SATURATION, is_lazy

__all__ = ["budget_curves", "claim1", "claim2"]

ALPHA = 0.05


def _binary(name, array, ndim):
    array = np.asarray(array)
    if array.ndim != ndim or not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} has shape {array.shape}: expected {ndim} axes of 0/1 per-point correctness.")
    return array.astype(float)


def _clean_above_majority(clean_correct, labels) -> bool:
    n = clean_correct.size
    p = _stats.binomial_pvalues(clean_correct.sum(), n, _stats.majority_rate(labels))
    return bool(p < ALPHA)


def _gap_at_half(eps, kernel, noise):
    """Per resample: noise accuracy − attacked accuracy at ε½ (at the largest ε where ε½ is not reached)."""
    acc_k, acc_z = kernel.mean(axis=-1), noise.mean(axis=-1)
    half = np.atleast_1d(_stats.halving_budget(eps, acc_k))
    half = np.where(np.isnan(half), eps[-1], half)
    return np.array([np.interp(h, eps, z) - np.interp(h, eps, k) for h, z, k in zip(half, acc_z, acc_k)])


def claim1(eps, kernel_correct, noise_correct, labels, *, threshold: float = 0.10, attack: str = GAMMA_ATTACK,
           n_boot: int = _stats.N_BOOT, seed: int = 0) -> Verdict:
    r"""Claim 1 (the kernel generates adversarial examples): the attack beats random noise at ε½.

    The statistic is the accuracy gap to a random ±ε sign-noise control at the budget
    :math:`\varepsilon_{1/2}` where the kernel's attacked accuracy halves (linear interpolation on
    the grid; the largest ε where it never halves), bootstrap over test points. Supported when the
    whole CI exceeds ``threshold`` (default 0.10: the attack must cost ten accuracy points more
    than noise of the same size — a margin no noise effect reaches at budgets that halve accuracy).

    Args:
      eps: ``(n_eps,)`` budgets, starting at 0, increasing.
      kernel_correct: ``(n_eps, n_test)`` 0/1, kernel predictor right on its own attacked point.
      noise_correct: ``(n_eps, n_test)`` 0/1, right on the point plus random ±ε sign noise.
      labels: ``(n_test,)`` test labels.

    Undetermined when the clean accuracy is not above the majority rate, when noise alone already
    fools the predictor at ε½ (saturated), or when the CI straddles the threshold.
    """
    eps = np.asarray(eps, float)
    kernel = _binary("kernel_correct", kernel_correct, 2)
    noise = _binary("noise_correct", noise_correct, 2)
    if kernel.shape != noise.shape or kernel.shape[0] != eps.size:
        raise ValueError(f"kernel_correct {kernel.shape} and noise_correct {noise.shape} must both be "
                         f"(len(EPS) = {eps.size}, n_test).")
    n = kernel.shape[1]
    stat = lambda k, z: _gap_at_half(eps, k, z)  # noqa: E731
    gap, ci = _stats.bootstrap(stat, kernel, noise, n_boot=n_boot, seed=seed)
    half, half_ci = _stats.halving_budget_ci(eps, kernel, n_boot=n_boot, seed=seed)
    at = eps[-1] if np.isnan(half) else half
    noise_at = float(np.interp(at, eps, noise.mean(axis=1)))
    undetermined = None if _clean_above_majority(kernel[0], labels) else "clean accuracy not above the majority rate"
    return make_verdict(
        1, "gap to noise at ε½", f"accuracy under random ±ε sign noise minus accuracy under the kernel's own "
        f"{attack} attack, at the budget ε½ where the attacked accuracy halves; bootstrap over test points",
        gap, ci, threshold=threshold, control="random ±ε sign noise (accuracy at ε½)", control_value=noise_at,
        n=n, min_n=10, saturated=noise_at <= SATURATION, undetermined=undetermined, key="claim1",
        note="" if not np.isnan(half) else "accuracy never halves on the ε grid; gap at the largest ε",
        details={"eps": eps.tolist(), "accuracy": kernel.mean(axis=1).tolist(),
                 "noise_accuracy": noise.mean(axis=1).tolist(), "eps_half": float(half),
                 "eps_half_ci": [float(half_ci[0]), float(half_ci[1])], "attack": attack})


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


def _per_width_ci(statistic, *samples, n_boot, seed):
    """``[[low, high], ...]`` per width of a statistic returning ``(B, n_w)``, bootstrap over points."""
    _, (low, high) = _stats.bootstrap(statistic, *samples, n_boot=n_boot, seed=seed)
    return [[float(lo), float(hi)] for lo, hi in zip(np.atleast_1d(low), np.atleast_1d(high))]


def _seed_mean(name, array, n_widths):
    array = _binary(name, array, 3)
    if array.shape[0] != n_widths:
        raise ValueError(f"{name} has {array.shape[0]} widths; WIDTHS has {n_widths}.")
    return array.mean(axis=1)                          # (n_widths, n_test): seeds averaged per point


def claim2(widths, net_adv_correct, kernel_adv_correct, net_noise_correct, net_unrelated_correct, *,
           laziness=None, transfer_threshold: float = 0.05, trend_threshold: float = 0.0,
           attack: str = GAMMA_ATTACK, n_boot: int = _stats.N_BOOT, seed: int = 0) -> list[Verdict]:
    r"""Claim 2 (kernel examples transfer, more so to wider, lazier nets): two verdicts.

    *Transfer*: at the widest width, the net's accuracy on the kernel's adversarial examples is
    below its accuracy on each control (random ±ε sign noise; examples made on an unrelated
    model) by more than ``transfer_threshold`` (0.05); statistic: the smaller of the two drops.

    *Trend*: the transfer gap :math:`g(w) = |\mathrm{acc}_{net,w}(x^\Theta_{adv}) -
    \mathrm{acc}_\Theta(x^\Theta_{adv})|` shrinks from the narrowest to the widest net:
    :math:`\Delta = g(w_{min}) - g(w_{max}) > 0` (``trend_threshold``). Undetermined as
    *saturated* when the kernel and the nets at every width are fooled on (almost) every point,
    since then every gap is zero whatever the width.

    Args:
      widths: ``(n_w,)`` widths, increasing.
      net_adv_correct: ``(n_w, n_seeds, n_test)`` 0/1, net right on the kernel's example.
      kernel_adv_correct: ``(n_test,)`` 0/1, kernel right on its own example.
      net_noise_correct, net_unrelated_correct: ``(n_w, n_seeds, n_test)`` 0/1 on the controls.
      laziness: optional ``(n_w, n_seeds)`` relative parameter (or kernel) change, or a dict
        ``{name: (n_w, n_seeds)}`` of several such measures; reported in details as the mean per
        width (``laziness``) and, for a dict, a t-interval over seeds per width (``laziness_ci``)
        and whether the widest net is lazy by the vocabulary's threshold (``lazy_widest``).

    The details also hold, per width, bootstrap intervals of the gap (``gap_ci``) and of the
    share of kernel-fooled points that also fool the net (``share_fooled_transfer_ci``).
    """
    widths = np.asarray(widths)
    adv = _seed_mean("net_adv_correct", net_adv_correct, widths.size)
    noise = _seed_mean("net_noise_correct", net_noise_correct, widths.size)
    unrelated = _seed_mean("net_unrelated_correct", net_unrelated_correct, widths.size)
    kernel = _binary("kernel_adv_correct", kernel_adv_correct, 1)
    n, n_seeds = kernel.size, np.asarray(net_adv_correct).shape[1]

    def drop(a, z, u):
        return np.minimum((z - a).mean(-1), (u - a).mean(-1))
    transfer, transfer_ci = _stats.bootstrap(drop, adv[-1], noise[-1], unrelated[-1], n_boot=n_boot, seed=seed)

    def gap_trend(a, k):
        gaps = np.abs(a.mean(-1) - k.mean(-1)[..., None])          # (B, n_w)
        return gaps[..., 0] - gaps[..., -1]
    trend, trend_ci = _stats.bootstrap(gap_trend, adv, kernel, n_boot=n_boot, seed=seed)
    fooled = kernel == 0
    share = [float(1 - a[fooled].mean()) if fooled.any() else float("nan") for a in adv]
    saturated = kernel.mean() <= SATURATION and bool((adv.mean(axis=1) <= SATURATION).all())
    details = {"widths": widths.tolist(), "net_adv_accuracy": adv.mean(axis=1).tolist(),
               "kernel_adv_accuracy": float(kernel.mean()), "noise_accuracy": noise.mean(axis=1).tolist(),
               "unrelated_accuracy": unrelated.mean(axis=1).tolist(), "share_fooled_transfer": share,
               "gap": np.abs(adv.mean(axis=1) - kernel.mean()).tolist(), "seeds": int(n_seeds), "attack": attack}
    details["gap_ci"] = _per_width_ci(lambda a, k: np.abs(a.mean(-1) - k.mean(-1)[..., None]), adv, kernel,
                                      n_boot=n_boot, seed=seed)
    if fooled.any():
        details["share_fooled_transfer_ci"] = _per_width_ci(lambda a: 1 - a.mean(-1), adv[:, fooled],
                                                            n_boot=n_boot, seed=seed)
    if isinstance(laziness, dict):
        details["laziness"] = {name: np.asarray(v, float).mean(axis=1).tolist() for name, v in laziness.items()}
        details["laziness_ci"] = {name: [[float(x) for x in _stats.seed_ci(row)[1]] for row in np.asarray(v, float)]
                                  for name, v in laziness.items()}
        details["lazy_widest"] = {name: bool(is_lazy(np.asarray(v, float)[-1].mean()))
                                  for name, v in laziness.items()}
    elif laziness is not None:
        details["laziness"] = np.asarray(laziness, float).mean(axis=1).tolist()
    control_value = float(min(noise[-1].mean(), unrelated[-1].mean()))
    first = make_verdict(
        2, "transfer beyond controls (widest net)", f"at the widest width, the net's accuracy on each control "
        f"minus its accuracy on the kernel's {attack} examples, the smaller of the two; seeds averaged, "
        "bootstrap over test points", transfer, transfer_ci, threshold=transfer_threshold,
        control="net accuracy on the stronger control (noise or unrelated-model examples)",
        control_value=control_value, n=n, min_n=10, details=details, key="claim2_transfer")
    second = make_verdict(
        2, "transfer gap Δ (narrow − wide)", "|net − kernel| accuracy on the kernel's examples at the narrowest "
        "width minus the same at the widest (positive: wider nets follow the kernel more closely); "
        "bootstrap over test points", trend, trend_ci, threshold=trend_threshold,
        control="net accuracy change on noise, narrowest → widest",
        control_value=float(noise[-1].mean() - noise[0].mean()), n=n, min_n=10,
        saturated=saturated, undetermined=Reason.TOO_FEW if widths.size < 2 else None,
        details={"widths": widths.tolist()}, key="claim2_trend")
    return [first, second]

