r"""Claim 7: under adversarial training the empirical NTK becomes lazy earlier and concentrates.

Three verdicts, each a paired comparison of adversarial against standard training over seeds
(seed :math:`s` of one run paired with seed :math:`s` of the other), with a t-interval over seeds:

* linearisation: the earliest switch epoch whose linearised run (the net replaced by its
  first-order Taylor expansion from that epoch on) ends within ``margin`` of the full run; the
  claim predicts it is earlier for adversarial training;
* kernel velocity after the early transient (lower = lazier);
* top-k spectral mass after the transient (higher = more concentrated).

Fewer than two seeds, runs that never become lazy on the switch grid (censored), ties and
saturated masses are undetermined, never "not supported". So are a linearisation comparison on
a saturated accuracy (a full run at or below ``SATURATION``, or at or above ``1 - SATURATION``:
every linearised run is then "within the margin"), identical lazy-epoch differences on fewer than
``MIN_SIGN_SEEDS`` seeds (the lazy epoch lives on a coarse grid, so equal differences give a
zero-width t-interval; the exact sign test, which such data call for, cannot reach 5% with fewer
than five seeds: :math:`0.5^4 > 0.05`), and every verdict when the nets were not trained to the
stated accuracy (``undertrained``).
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Decision, Reason, Verdict, make_verdict
from ntkcompanion.evidence._vocabulary import LINEARISATION_MARGIN, SATURATION

__all__ = ["claim7", "lazy_epochs"]

MIN_SEEDS = 2
MIN_SIGN_SEEDS = 5
MASS_CEILING = 0.999
UNDERTRAINED = "nets below the stated accuracy"


def lazy_epochs(switch_epochs, linearised, full, margin: float = LINEARISATION_MARGIN):
    """Per seed, the earliest switch epoch whose linearised run ends within ``margin`` of the full run.

    Args:
      switch_epochs: ``(n_switch,)`` increasing; linearised: ``(n_seeds, n_switch)`` final metric
        (e.g. test accuracy) of the run linearised from each switch epoch; full: ``(n_seeds,)``.

    Returns:
      ``(n_seeds,)`` float epochs, ``inf`` where no switch epoch is within the margin (censored).
    """
    switch_epochs = np.asarray(switch_epochs, float)
    close = np.abs(np.asarray(linearised, float) - np.asarray(full, float)[:, None]) <= margin
    return np.where(close.any(axis=1), switch_epochs[np.argmax(close, axis=1)], np.inf)


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
    r"""Claim 7: up to three verdicts, for whichever measurements are given (see the module docstring).

    Args:
      switch_epochs: ``(n_switch,)``; linearised_*: ``(n_seeds, n_switch)``; full_*: ``(n_seeds,)``
        final metric of the linearised and full runs; margin: the laziness margin (0.02 accuracy).
      velocity_*: ``(n_seeds, n_epochs)`` kernel velocity (distance between consecutive kernels).
      topk_*: ``(n_seeds, n_epochs)`` share of the kernel's trace in its top-k eigenvalues.
      transient: epochs (columns) skipped as the early transient before averaging.
      undertrained: ``None`` if the nets reached the stated accuracy, else why not (e.g.
        ``"standard clean 0.93 < 0.95"``): every verdict is then undetermined with that reason.
    """
    verdicts = []
    if switch_epochs is not None:
        std = lazy_epochs(switch_epochs, linearised_standard, full_standard, margin)
        adv = lazy_epochs(switch_epochs, linearised_adversarial, full_adversarial, margin)
        censored = ~np.isfinite(std) | ~np.isfinite(adv)
        # A run never lazy on the grid is lazy after the last switch at the earliest: a lower bound.
        last = float(np.max(switch_epochs))
        diff = np.where(np.isfinite(std), std, last) - np.where(np.isfinite(adv), adv, last)
        finals = np.concatenate([np.ravel(full_standard), np.ravel(full_adversarial)]).astype(float)
        saturated = bool((~np.isfinite(std) & ~np.isfinite(adv)).all() or (finals <= SATURATION).any())
        ceiling = bool((finals >= 1 - SATURATION).any())
        undetermined = None
        if (not saturated and not ceiling and MIN_SEEDS <= diff.size < MIN_SIGN_SEEDS
                and np.all(diff == diff[0]) and diff[0] != 0):
            undetermined = (f"{Reason.TOO_FEW} (identical differences on {diff.size} seeds; a sign test needs "
                            f"{MIN_SIGN_SEEDS})")
        verdicts.append(make_verdict(
            7, "earlier laziness (epochs)", f"per seed, earliest linearisation switch epoch within {margin} of the "
            "full run, standard minus adversarial training (positive: adversarial is lazy earlier); t-interval "
            "over seeds", control="standard training's lazy epoch", control_value=float(np.mean(np.where(
                np.isfinite(std), std, last))), threshold=0.0,
            **_paired(diff, saturated=saturated, ceiling=ceiling), undetermined=undetermined,
            note="censored: a run never within the margin" if censored.any() else "", key="claim7_linearisation",
            details={"standard": [None if not np.isfinite(e) else float(e) for e in std],
                     "adversarial": [None if not np.isfinite(e) else float(e) for e in adv], "margin": margin}))
    if velocity_standard is not None:
        v_std = _after("velocity_standard", velocity_standard, transient)
        v_adv = _after("velocity_adversarial", velocity_adversarial, transient)
        verdicts.append(make_verdict(
            7, "slower kernel after transient", f"mean kernel velocity after epoch {transient}, standard minus "
            "adversarial training (positive: the adversarial kernel moves less); t-interval over seeds",
            control="standard training's velocity", control_value=float(v_std.mean()), threshold=0.0,
            key="claim7_velocity",
            **_paired(v_std - v_adv)))
    if topk_standard is not None:
        m_std = _after("topk_standard", topk_standard, transient)
        m_adv = _after("topk_adversarial", topk_adversarial, transient)
        label = f"top-{k}" if k else "top-k"
        verdicts.append(make_verdict(
            7, f"{label} mass gain", f"mean {label} spectral mass after epoch {transient}, adversarial minus "
            "standard training; t-interval over seeds", control=f"standard training's {label} mass",
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
