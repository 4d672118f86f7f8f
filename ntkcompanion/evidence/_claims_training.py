r"""Claim 7: under adversarial training the empirical NTK becomes lazy earlier and concentrates.

Verdicts, each a paired comparison of adversarial against standard training over seeds (seed
:math:`s` of one run paired with seed :math:`s` of the other), with a Student-t interval over the
seeds (:math:`n` = seeds; the test points of each run's accuracies are nested inside its seed):

* linearisation, one verdict per accuracy in which *both* modes were measured (clean and robust,
  ``evidence.LAZY_METRICS``): the lazy epoch of each run (``evidence.lazy_epochs``: the earliest
  switch epoch from which on every linearised run ends within ``margin`` of the full run), standard minus
  adversarial; the claim predicts a positive difference. Both modes are judged in the same
  accuracy, so their lazy epochs are comparable;
* kernel velocity after the early transient (lower = lazier);
* top-k spectral mass after the transient (higher = more concentrated).

Fewer than two seeds, runs that never become lazy on the switch grid (censored), ties and
saturated masses are undetermined, never "not supported". So are a linearisation comparison on
a saturated accuracy (a full run at or below ``SATURATION``, or at or above ``1 - SATURATION``:
every linearised run is then "within the margin"; standard training's robust accuracy is usually
such a floor), identical lazy-epoch differences on fewer than ``MIN_SIGN_SEEDS`` seeds (the lazy
epoch lives on a grid, so equal differences give a zero-width t-interval; the exact sign test,
which such data call for, cannot reach 5% with fewer than five seeds: :math:`0.5^4 > 0.05`), and
every verdict when the nets were not trained to the stated accuracy (``undertrained``).
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._lazy import LAZY_METRICS, lazy_epochs
from ntkcompanion.evidence._verdict import Decision, Reason, Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import LINEARISATION_MARGIN, SATURATION

__all__ = ["claim7", "lazy_epochs"]

MIN_SEEDS = 2
MIN_SIGN_SEEDS = 5
MASS_CEILING = 0.999
UNDERTRAINED = "nets below the stated accuracy"


def _by_metric(name, value) -> dict:
    if not isinstance(value, dict) or not value or any(m not in LAZY_METRICS for m in value):
        raise ValueError(f"{name} must be a dict {{metric: array}} with metrics from {LAZY_METRICS} (the "
                         f"accuracy the linearised and full runs are compared in); got {value!r:.80}.")
    return value


def _linearisation(metric, switch_epochs, linearised_standard, full_standard, linearised_adversarial,
                   full_adversarial, margin):
    """The lazy-epoch verdict of one accuracy ``metric``, both modes measured in it."""
    std = lazy_epochs(switch_epochs, linearised_standard, full_standard, margin)
    adv = lazy_epochs(switch_epochs, linearised_adversarial, full_adversarial, margin)
    if std.shape != adv.shape:
        raise ValueError(f"{metric} accuracy: {std.size} standard and {adv.size} adversarial seeds; the "
                         "comparison pairs seed s with seed s.")
    censored = ~np.isfinite(std) | ~np.isfinite(adv)
    # A run never lazy on the grid is lazy after the last switch at the earliest: a lower bound.
    last = float(np.max(switch_epochs))
    diff = np.where(np.isfinite(std), std, last) - np.where(np.isfinite(adv), adv, last)
    notes = []
    for mode, finals in (("standard", full_standard), ("adversarial", full_adversarial)):
        finals = np.ravel(finals).astype(float)
        if (finals <= SATURATION).any():
            notes.append(f"{mode} training's {metric} accuracy at or below {SATURATION:g}")
        elif (finals >= 1 - SATURATION).any():
            notes.append(f"{mode} training's {metric} accuracy at or above {1 - SATURATION:g}")
    finals = np.concatenate([np.ravel(full_standard), np.ravel(full_adversarial)]).astype(float)
    never = ~np.isfinite(std) & ~np.isfinite(adv)  # neither mode lazy on the grid, seed by seed
    saturated = bool(never.all() or (finals <= SATURATION).any())
    ceiling = bool((finals >= 1 - SATURATION).any())
    if never.all():
        notes.append("no run within the margin on the switch grid")
    elif censored.any():
        notes.append("censored: a run never within the margin")
    undetermined = None
    if (not saturated and not ceiling and MIN_SEEDS <= diff.size < MIN_SIGN_SEEDS
            and np.all(diff == diff[0]) and diff[0] != 0):
        undetermined = (f"{Reason.TOO_FEW} (identical differences on {diff.size} seeds; a sign test needs "
                        f"{MIN_SIGN_SEEDS})")
    return make_verdict(
        7, f"earlier laziness, {metric} accuracy (epochs)",
        f"per seed, the earliest linearisation switch epoch from which on every linearised run ends within {margin} "
        f"{metric} accuracy of the full run (both modes judged in {metric} accuracy), standard minus adversarial "
        f"training (positive: "
        f"adversarial training is lazy earlier); t-interval over n = {diff.size} seeds",
        control=f"standard training's lazy epoch ({metric})",
        control_value=float(np.mean(np.where(np.isfinite(std), std, last))), threshold=0.0,
        **_paired(diff, saturated=saturated, ceiling=ceiling), undetermined=undetermined,
        note="; ".join(notes), key=f"claim7_linearisation_{metric}",
        details={"metric": metric, "margin": margin, "switch_epochs": [float(e) for e in switch_epochs],
                 "standard": [None if not np.isfinite(e) else float(e) for e in std],
                 "adversarial": [None if not np.isfinite(e) else float(e) for e in adv]})


def _after(name, array, transient):
    array = np.asarray(array, float)
    if array.ndim != 2 or not 0 <= transient < array.shape[1]:
        raise ValueError(f"{name} has shape {array.shape}: expected (n_seeds, n_epochs) with more than "
                         f"transient = {transient} epochs.")
    return array[:, transient:].mean(axis=1)


def _paired(diff, **kwargs):
    estimate, ci = _stats.seed_ci(diff)
    return dict(estimate=estimate, ci=ci, n=diff.size, min_n=MIN_SEEDS,
                tie=diff.size >= MIN_SEEDS and bool(np.all(diff == 0)), **kwargs)


def claim7(*, switch_epochs=None, linearised_standard=None, full_standard=None, linearised_adversarial=None,
           full_adversarial=None, margin: float = LINEARISATION_MARGIN, velocity_standard=None,
           velocity_adversarial=None, topk_standard=None, topk_adversarial=None, transient: int = 0,
           k: int | None = None, undertrained: str | None = None) -> list[Verdict]:
    r"""Claim 7: one verdict per measurement given: linearisation per accuracy, velocity, top-k mass (module docstring).

    Args:
      switch_epochs: ``(n_switch,)`` increasing switch epochs (fractions allowed).
      linearised_*: ``{metric: (n_seeds, n_switch)}``, full_*: ``{metric: (n_seeds,)}``: final
        accuracy of the linearised and full runs, ``metric`` in ``evidence.LAZY_METRICS``; the same
        metrics for both modes (one linearisation verdict per metric).
      margin: the laziness margin (``LINEARISATION_MARGIN``, 0.02 accuracy).
      velocity_*: ``(n_seeds, n_epochs)`` kernel velocity (distance between consecutive kernels).
      topk_*: ``(n_seeds, n_epochs)`` share of the kernel's trace in its top-k eigenvalues.
      transient: epochs (columns) skipped as the early transient before averaging.
      undertrained: ``None`` if the nets reached the stated accuracy, else why not (e.g.
        ``"standard clean 0.93 < 0.95"``): every verdict is then undetermined with that reason.
    """
    verdicts = []
    if switch_epochs is not None:
        lin_std = _by_metric("linearised_standard", linearised_standard)
        lin_adv = _by_metric("linearised_adversarial", linearised_adversarial)
        full_std, full_adv = _by_metric("full_standard", full_standard), _by_metric("full_adversarial",
                                                                                     full_adversarial)
        if not set(lin_std) == set(lin_adv) == set(full_std) == set(full_adv):
            raise ValueError(f"the linearisation arrays name the metrics {sorted(lin_std)}, {sorted(lin_adv)}, "
                             f"{sorted(full_std)}, {sorted(full_adv)}: both modes must be measured in the same "
                             "accuracies (otherwise their lazy epochs are not comparable).")
        for metric in (m for m in LAZY_METRICS if m in lin_std):
            verdicts.append(_linearisation(metric, switch_epochs, lin_std[metric], full_std[metric],
                                           lin_adv[metric], full_adv[metric], margin))
    if velocity_standard is not None:
        v_std = _after("velocity_standard", velocity_standard, transient)
        v_adv = _after("velocity_adversarial", velocity_adversarial, transient)
        verdicts.append(make_verdict(
            7, "slower kernel after transient", f"mean kernel velocity after epoch {transient}, standard minus "
            "adversarial training (positive: the adversarial kernel moves less); t-interval over n = "
            f"{v_std.size} seeds",
            control="standard training's velocity", control_value=float(v_std.mean()), threshold=0.0,
            key="claim7_velocity",
            **_paired(v_std - v_adv)))
    if topk_standard is not None:
        m_std = _after("topk_standard", topk_standard, transient)
        m_adv = _after("topk_adversarial", topk_adversarial, transient)
        label = f"top-{k}" if k else "top-k"
        verdicts.append(make_verdict(
            7, f"{label} mass gain", f"mean {label} spectral mass after epoch {transient}, adversarial minus "
            f"standard training; t-interval over n = {m_std.size} seeds", control=f"standard training's {label} mass",
            control_value=float(m_std.mean()), threshold=0.0, key="claim7_topk",
            **_paired(m_adv - m_std, saturated=bool(min(m_std.min(), m_adv.min()) >= MASS_CEILING))))
    if not verdicts:
        raise ValueError("claim7 got no measurements: pass the linearisation, velocity or top-k arrays.")
    for verdict in verdicts:
        if verdict.reason == Reason.TOO_FEW or verdict.reason.startswith(Reason.TOO_FEW + ";"):
            verdict.reason = verdict.reason.replace(Reason.TOO_FEW, f"{Reason.TOO_FEW} (fewer than {MIN_SEEDS} seeds)", 1)
        if undertrained:
            verdict.decision, verdict.reason = Decision.UNDETERMINED, f"{UNDERTRAINED}: {undertrained}"
    return verdicts
