r"""The book's one vocabulary: *useful*, *robust*, *non-robust*, *lazy*, and their thresholds.

Every section, plot and page uses these definitions and no other. Features follow the paper's
§2.2, which takes them from Ilyas et al. (2019): for binary labels a feature :math:`\phi` predicts
:math:`\operatorname{sign}\phi(x)`; its clean accuracy :math:`\rho` measures its usefulness and its
accuracy under attack :math:`\gamma` its robustness. Ilyas et al. call a feature
:math:`\gamma`-*robustly useful* when it stays correlated with the label, :math:`\mathbb{E}\,\inf_{\delta}
y\,\phi(x+\delta) \ge \gamma > 0`, under the worst perturbation in the threat model, and a *useful
non-robust* feature one that is useful but robustly useful for no :math:`\gamma \ge 0`. For a
classifier the "no correlation" level is not 0 but the accuracy of a constant guess, the majority
rate :math:`m`: a feature whose accuracy under attack does not beat :math:`m` is of no more use
under attack than always answering the larger class. With per-point 0/1 correctness on
:math:`n` test points:

* **useful**: clean accuracy significantly above the majority rate :math:`m`: the exact
  one-sided binomial test of :math:`k \sim \mathrm{Bin}(n, m)` rejects after Benjamini–Hochberg
  across the feature family at :math:`q = 0.05` (:data:`Q`), or — the held-out route — selected
  on one half of the test points and confirmed on the other (:func:`confirmed_useful`).
* **robust** (robustly useful): the accuracy under the attack, :math:`\gamma`, significantly
  above the majority rate: the same one-sided exact binomial test against :math:`m`, applied to
  the attacked correctness, BH across the same family at :math:`q`.
* **non-robust** (a *useful non-robust* feature when also useful): :math:`\gamma` *not*
  significantly above the majority rate, decided by that test, never by the point estimate.
  Every useful feature is therefore either robust or non-robust; the decision can only be as
  sharp as the test, so a page that counts non-robust features says on how many test points.
* :math:`\gamma \le \gamma_0 = 0.10` (:data:`GAMMA0`, "the attack drives it to (almost) zero",
  the paper's informal ":math:`\gamma = 0` or very close to 0") stays a *reported column*
  (``gamma_small``), not a decision. An earlier rule called a feature robust when :math:`\gamma`
  beat :math:`\gamma_0`; that ignores the majority rate: on a task where the attack maps every
  image onto an image of the other class (so that no function is robustly useful), features with
  :math:`\gamma \approx 0.15` below a majority rate of 0.52 passed it.
* **the family**: BH runs within a *family* of features stated before the data are seen (the
  ``families`` argument; by default all features given). Sections state theirs, e.g. the leading
  features attacked one by one as one family and the stratified sample of the rest as another,
  so that a clear pattern among a few dozen leading features is not drowned by thousands of
  weak tail features.
* **the attack that measures γ**: PGD (:data:`GAMMA_ATTACK`) with the section's ``EPS``,
  ``ATTACK_STEPS``, ``ATTACK_STEP_SIZE``; FGSM only where PGD is unaffordable, and then named as
  such. One :class:`FeatureClasses` carries one attack's name: columns never mix attacks.
* **lazy**: relative change :math:`\|\theta_T-\theta_0\|/\|\theta_0\|` (or
  :math:`\|\Theta_T-\Theta_0\|_F/\|\Theta_0\|_F`) below :data:`LAZY_THRESHOLD` = 0.10, i.e. the
  parameters or the kernel move by less than a tenth of their size; and, for training runs,
  a linearised run switched on at epoch :math:`s` ends within :data:`LINEARISATION_MARGIN` = 0.02
  accuracy of the full run (two points: about the seed-to-seed spread of our runs). A run's *lazy
  epoch* is the earliest switch from which every later switch is within that margin, in one
  accuracy (clean or robust) for every training mode compared (``within_margin``, ``lazy_epochs``).
"""

from dataclasses import asdict, dataclass

import numpy as np

from ntkcompanion.evidence import _stats

__all__ = ["Q", "GAMMA0", "GAMMA_ATTACK", "ATTACKS", "LAZY_THRESHOLD", "LINEARISATION_MARGIN",
           "SATURATION", "FeatureClasses", "useful", "robustly_useful", "confirmed_useful",
           "classify_features", "is_lazy", "sensitivity"]

Q = 0.05
GAMMA0 = 0.10
GAMMA_ATTACK = "PGD"
ATTACKS = ("PGD", "FGSM")
LAZY_THRESHOLD = 0.10
LINEARISATION_MARGIN = 0.02
# An accuracy at or below this under attack means the attack fooled (almost) every point: a
# comparison between two such accuracies cannot resolve an effect.
SATURATION = 0.02


def _correctness(name, array, n_test=None):
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} has shape {array.shape}: expected (n_features, n_test) 0/1 correctness.")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold 0/1 per-point correctness; found other values.")
    if n_test is not None and array.shape[1] != n_test:
        raise ValueError(f"{name} has {array.shape[1]} test points; labels have {n_test}.")
    return array.astype(float)


def _check_attack(attack):
    if attack not in ATTACKS:
        raise ValueError(f"attack = {attack!r} is not allowed: expected one of {ATTACKS} "
                         "(one attack per column; γ is measured with PGD where affordable).")


def _families(families, n_features):
    """``(n_features,)`` family labels (all one family when ``None``)."""
    if families is None:
        return np.zeros(n_features, int)
    families = np.asarray(families)
    if families.shape != (n_features,):
        raise ValueError(f"families has shape {families.shape}: expected ({n_features},), one label per feature.")
    return families


def _bh_by_family(pvalues, families, q):
    """Benjamini–Hochberg at ``q`` within each family: ``(n_features,)`` bool."""
    out = np.zeros(pvalues.shape, bool)
    for family in np.unique(families):
        members = families == family
        out[members] = _stats.benjamini_hochberg(pvalues[members], q)
    return out


@dataclass
class FeatureClasses:
    """Per-feature classes, each array ``(n_features,)``; ``counts()`` summarises them.

    ``robust``: robustly useful (γ significantly above the majority rate, BH within the family);
    ``non_robust``: not robustly useful (that test does not reject); ``gamma_small``: γ ≤ ``gamma0``,
    a reported column only. ``families``: the BH family of each feature.
    """

    clean_accuracy: np.ndarray
    robust_accuracy: np.ndarray
    p_useful: np.ndarray
    p_robust: np.ndarray
    useful: np.ndarray
    robust: np.ndarray
    non_robust: np.ndarray
    gamma_small: np.ndarray
    families: np.ndarray
    majority: float
    n_test: int
    q: float
    gamma0: float
    attack: str

    def counts(self) -> dict:
        """Numbers of features, useful ones, and useful ones that are robust, non-robust, and with γ ≤ γ₀."""
        useful = self.useful
        return {"features": int(useful.size), "useful": int(useful.sum()),
                "useful_robust": int((useful & self.robust).sum()),
                "useful_non_robust": int((useful & self.non_robust).sum()),
                "useful_gamma_small": int((useful & self.gamma_small).sum())}

    def family_counts(self) -> dict:
        """``{family: counts()}`` restricted to each family (labels as strings)."""
        out = {}
        for family in np.unique(self.families):
            m = self.families == family
            u = self.useful[m]
            out[str(family)] = {"features": int(m.sum()), "useful": int(u.sum()),
                                "useful_robust": int((u & self.robust[m]).sum()),
                                "useful_non_robust": int((u & self.non_robust[m]).sum())}
        return out

    def to_dict(self) -> dict:
        """JSON-able: arrays become lists."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


def useful(clean_correct, labels, *, q: float = Q, families=None):
    """``(mask, pvalues, majority)``: features whose clean accuracy beats the majority rate after BH.

    Args:
      clean_correct: ``(n_features, n_test)`` 0/1, feature ``i`` right on test point ``j``.
      labels: ``(n_test,)`` test labels (for the majority rate).
      families: optional ``(n_features,)`` labels; BH runs within each family.
    """
    clean = _correctness("clean_correct", clean_correct, np.asarray(labels).shape[0])
    majority = _stats.majority_rate(labels)
    pvalues = _stats.binomial_pvalues(clean.sum(axis=1), clean.shape[1], majority)
    return _bh_by_family(pvalues, _families(families, clean.shape[0]), q), pvalues, majority


def robustly_useful(robust_correct, labels, *, q: float = Q, families=None):
    """``(mask, pvalues, majority)``: features whose accuracy under attack beats the majority rate after BH.

    The same test as :func:`useful`, on the attacked correctness ``(n_features, n_test)``.
    """
    return useful(robust_correct, labels, q=q, families=families)


def confirmed_useful(clean_correct, labels, *, q: float = Q, seed: int = 0):
    """Features useful on half A of the test points (BH) and again on half B (BH among those).

    Returns a ``(n_features,)`` bool mask: the held-out route to *useful*.
    """
    clean = _correctness("clean_correct", clean_correct, np.asarray(labels).shape[0])
    labels = np.asarray(labels)
    a, b = _stats.split_halves(labels.size, seed=seed)
    selected, _, _ = useful(clean[:, a], labels[a], q=q)
    confirmed = np.zeros(clean.shape[0], dtype=bool)
    if selected.any():
        on_b, _, _ = useful(clean[selected][:, b], labels[b], q=q)
        confirmed[np.flatnonzero(selected)[on_b]] = True
    return confirmed


def classify_features(clean_correct, robust_correct, labels, *, q: float = Q, gamma0: float = GAMMA0,
                      attack: str = GAMMA_ATTACK, families=None) -> FeatureClasses:
    """Useful / robust / non-robust classes of features from per-point correctness.

    Args:
      clean_correct: ``(n_features, n_test)`` 0/1 correctness of ``sign φ_i(x_j)``.
      robust_correct: ``(n_features, n_test)`` 0/1 correctness under ``attack`` (each feature attacked).
      labels: ``(n_test,)`` test labels.
      q: BH false discovery rate; gamma0: the bound of the reported ``gamma_small`` column;
      attack: ``"PGD"`` or ``"FGSM"``; families: optional ``(n_features,)`` BH family labels.
    """
    _check_attack(attack)
    n_test = np.asarray(labels).shape[0]
    robust_c = _correctness("robust_correct", robust_correct, n_test)
    clean = _correctness("clean_correct", clean_correct, n_test)
    if robust_c.shape != clean.shape:
        raise ValueError(f"robust_correct has shape {robust_c.shape}, clean_correct {clean.shape}: they must match.")
    families = _families(families, clean.shape[0])
    is_useful, p_useful, majority = useful(clean, labels, q=q, families=families)
    is_robust, p_robust, _ = robustly_useful(robust_c, labels, q=q, families=families)
    gamma = robust_c.mean(axis=1)
    return FeatureClasses(clean_accuracy=clean.mean(axis=1), robust_accuracy=gamma, p_useful=p_useful,
                          p_robust=p_robust, useful=is_useful, robust=is_robust, non_robust=~is_robust,
                          gamma_small=gamma <= gamma0, families=families, majority=majority, n_test=n_test,
                          q=q, gamma0=gamma0, attack=attack)


def is_lazy(relative_change, threshold: float = LAZY_THRESHOLD):
    """``relative_change < threshold`` elementwise: a net (or kernel) that moved less than a tenth is lazy."""
    return np.asarray(relative_change, float) < threshold


def sensitivity(clean_correct, robust_correct, labels, *, qs=(0.01, 0.05, 0.10),
                gamma0s=(0.0, 0.05, 0.10, 0.20), attack: str = GAMMA_ATTACK, families=None) -> list[dict]:
    """How the feature counts move with the false-discovery rate: one dict per ``(q, gamma0)`` pair.

    ``q`` moves the decisions (useful, robust, non-robust); ``gamma0`` moves only the reported
    ``useful_gamma_small`` column.
    """
    rows = []
    for q in qs:
        for gamma0 in gamma0s:
            classes = classify_features(clean_correct, robust_correct, labels, q=q, gamma0=gamma0, attack=attack,
                                        families=families)
            rows.append({"q": q, "gamma0": gamma0, **classes.counts()})
    return rows
