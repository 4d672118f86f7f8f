"""The evidence layer: verdicts with intervals and controls, one vocabulary, a decision per claim.

* ``Verdict``, ``Decision``, ``Reason``, ``decide``, ``make_verdict``: the three-state verdict.
* Statistics: ``bootstrap``, ``mean_ci``, ``paired_difference_ci``, ``seed_ci``,
  ``accuracy_interval``, ``majority_rate``, ``binomial_pvalues``, ``benjamini_hochberg``,
  ``permutation_null``, ``split_halves``, ``rank_correlation``, ``halving_budget(_ci)``.
* Vocabulary (the only definitions of *useful*, *robust*, *non-robust*, *lazy*): ``Q``, ``GAMMA0``,
  ``GAMMA_ATTACK``, ``LAZY_THRESHOLD``, ``LINEARISATION_MARGIN``, ``SATURATION``,
  ``classify_features``, ``useful``, ``robustly_useful``, ``confirmed_useful``, ``is_lazy``, ``sensitivity``; the
  linearisation test of *lazy*: ``LAZY_METRICS``, ``within_margin``, ``lazy_epochs``.
* ``claims``: ``claim1`` … ``claim7`` and ``threshold_sensitivity``; ``reference``: the authors' numbers.
"""

from ntkcompanion.evidence import claims, reference
from ntkcompanion.evidence._stats import (
    accuracy_interval,
    benjamini_hochberg,
    binomial_pvalues,
    bootstrap,
    halving_budget,
    halving_budget_ci,
    majority_rate,
    mean_ci,
    paired_difference_ci,
    permutation_null,
    rank_correlation,
    seed_ci,
    split_halves,
)
from ntkcompanion.evidence._lazy import LAZY_METRICS, lazy_epochs, within_margin
from ntkcompanion.evidence._verdict import Decision, Reason, Verdict, decide, make_verdict
from ntkcompanion.evidence._vocabulary import (
    GAMMA0,
    GAMMA_ATTACK,
    LAZY_THRESHOLD,
    LINEARISATION_MARGIN,
    Q,
    SATURATION,
    FeatureClasses,
    classify_features,
    confirmed_useful,
    is_lazy,
    robustly_useful,
    sensitivity,
    useful,
)

__all__ = [
    "claims",
    "reference",
    "Verdict",
    "Decision",
    "Reason",
    "decide",
    "make_verdict",
    "bootstrap",
    "mean_ci",
    "paired_difference_ci",
    "seed_ci",
    "accuracy_interval",
    "majority_rate",
    "binomial_pvalues",
    "benjamini_hochberg",
    "permutation_null",
    "split_halves",
    "rank_correlation",
    "halving_budget",
    "halving_budget_ci",
    "Q",
    "GAMMA0",
    "GAMMA_ATTACK",
    "LAZY_THRESHOLD",
    "LINEARISATION_MARGIN",
    "SATURATION",
    "FeatureClasses",
    "useful",
    "robustly_useful",
    "confirmed_useful",
    "classify_features",
    "is_lazy",
    "sensitivity",
    "LAZY_METRICS",
    "within_margin",
    "lazy_epochs",
]
