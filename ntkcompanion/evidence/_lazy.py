r"""*Lazy*, operationally: the two tests the vocabulary defines, as the one implementation the package uses.

The vocabulary (``_vocabulary``) defines a net, or its kernel, as *lazy* in one of two
measurable ways, and nothing else in the package may decide laziness by another rule:

* **Relative change** (section 3's wide nets): :math:`\|\theta_T-\theta_0\|/\|\theta_0\|` or
  :math:`\|\Theta_T-\Theta_0\|_F/\|\Theta_0\|_F` below ``LAZY_THRESHOLD`` (``is_lazy``).
* **Linearisation** (section 8's training runs): the run switched to its first-order Taylor
  expansion at time :math:`s` (an epoch, possibly fractional) ends within
  ``LINEARISATION_MARGIN`` of the run trained as a network throughout, in a named accuracy
  (:data:`LAZY_METRICS`: clean or robust test accuracy). A run's *lazy epoch* is the earliest
  switch from which on every switch on the grid passes (:func:`lazy_epochs`): the dynamics are
  lazy *from* there, not merely matched once by chance; comparing two modes' lazy epochs only
  means something when both are measured in the same accuracy.

Example:
    >>> within_margin([[0.80, 0.95, 0.96]], [0.96])          # (1, 3) bool: False, True, True
    >>> lazy_epochs([0, 0.5, 1], [[0.80, 0.95, 0.96]], [0.96])  # array([0.5])
    >>> lazy_epochs([0, 0.5, 1], [[0.95, 0.80, 0.96]], [0.96])  # array([1.]): 0 matched, 0.5 did not
"""

import numpy as np

from ntkcompanion.evidence._vocabulary import LINEARISATION_MARGIN

__all__ = ["LAZY_METRICS", "within_margin", "lazy_epochs"]

# The accuracies a linearised run is compared in: clean test accuracy and robust (PGD) test accuracy.
LAZY_METRICS = ("clean", "robust")


def within_margin(linearised, full, margin: float = LINEARISATION_MARGIN) -> np.ndarray:
    r"""Whether each linearised run ends within ``margin`` :math:`m` of its full run: :math:`|a_{sj} - a_s| \le m`.

    Args:
      linearised: ``(n_seeds, n_switch)`` final accuracy of the run linearised from each switch
        (NaN: not run, never within the margin).
      full: ``(n_seeds,)`` final accuracy of the run trained as a network throughout, in the same accuracy.
      margin: the vocabulary's ``LINEARISATION_MARGIN`` unless a sensitivity analysis varies it.

    Returns:
      ``(n_seeds, n_switch)`` bool.
    """
    linearised, full = np.asarray(linearised, float), np.asarray(full, float)
    if linearised.ndim != 2 or full.shape != linearised.shape[:1]:
        raise ValueError(f"linearised has shape {linearised.shape} and full {full.shape}: expected "
                         "(n_seeds, n_switch) and (n_seeds,).")
    with np.errstate(invalid="ignore"):  # NaN (a switch not run) compares False: not within the margin
        return np.abs(linearised - full[:, None]) <= margin


def lazy_epochs(switch_epochs, linearised, full, margin: float = LINEARISATION_MARGIN) -> np.ndarray:
    """Per seed, the earliest switch epoch from which on every linearised run ends within ``margin`` of the full run.

    A switch before the last one outside the margin does not count even if it is within: the
    linearised run then matched the full run's accuracy once, by a route the later switches show
    is not lazy. Switches not run (NaN) count as outside the margin, so a search may skip every
    switch before the last failure (``laziness.switch_search`` runs them from the last back).

    Args:
      switch_epochs: ``(n_switch,)`` increasing switch times in epochs (fractions allowed).
      linearised: ``(n_seeds, n_switch)``; full: ``(n_seeds,)``: as for :func:`within_margin`.

    Returns:
      ``(n_seeds,)`` float epochs, ``inf`` where the last switch is outside the margin (never lazy
      on the grid: censored).
    """
    switch_epochs = np.asarray(switch_epochs, float)
    close = within_margin(linearised, full, margin)
    if close.shape[1] != switch_epochs.size:
        raise ValueError(f"linearised has {close.shape[1]} switches per seed; switch_epochs has {switch_epochs.size}.")
    trailing = np.cumprod(close[:, ::-1], axis=1).sum(axis=1)  # switches within the margin, counted from the last
    first = np.minimum(switch_epochs.size - trailing, switch_epochs.size - 1)
    return np.where(trailing > 0, switch_epochs[first], np.inf)
