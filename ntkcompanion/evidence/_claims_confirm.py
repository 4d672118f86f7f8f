r"""Claim 6: useful non-robust features can be identified: select on one half of the test points, confirm on the other.

Per-feature, per-point 0/1 correctness, clean and under the attack that measures γ, as in claim 3
(``_claims_features``); *useful*, *robust* and *non-robust* are the vocabulary's (``_vocabulary``).
Selecting one candidate among many and confirming it on points that played no part in the
selection turns a multiple comparison into a single held-out test; a label-permutation null of
the whole select-and-confirm procedure guards against what the split cannot (a label leak).
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._claims_features import MIN_USEFUL_TO_SPLIT, _group, permuted_correctness
from ntkcompanion.evidence._verdict import Decision, Reason, Verdict, decide, make_verdict
from ntkcompanion.evidence._vocabulary import GAMMA0, GAMMA_ATTACK, Q, classify_features, robustly_useful, useful

__all__ = ["claim6", "null_percentile"]


def _robust_on(robust, labels, idx, q, families=None) -> np.ndarray:
    """Features robustly useful on the points ``idx`` (the vocabulary's test, BH at ``q``)."""
    return robustly_useful(robust[:, idx], labels[idx], q=q, families=families)[0]


def _select_confirm(clean, robust, labels, a, b, q, families=None):
    """The candidate chosen on half ``a`` and its numbers on half ``b``, or None.

    Candidates: features useful on ``a`` (BH at ``q`` within ``families``) and non-robust on ``a``
    (accuracy under attack not significantly above ``a``'s majority rate, same test); the one
    chosen is the most accurate on ``a`` (ties: the lowest γ on ``a``), the likeliest to confirm.
    ``robust`` ``(n_features, n)`` is the real features' attacked correctness (the nulls reuse it).
    """
    on_a, _, _ = useful(clean[:, a], labels[a], q=q, families=families)
    candidates = np.flatnonzero(on_a & ~_robust_on(robust, labels, a, q, families))
    if not candidates.size:
        return None
    gamma_a = robust[candidates][:, a].mean(axis=1)
    clean_a = clean[candidates][:, a].mean(axis=1)
    chosen = candidates[np.lexsort((gamma_a, -clean_a))[0]]        # highest accuracy, then lowest γ
    return {"feature": int(chosen), "gamma_a": float(robust[chosen, a].mean()),
            "clean_a": float(clean[chosen, a].mean()), "clean_b": float(clean[chosen, b].mean()),
            "gamma_b": float(robust[chosen, b].mean()), "majority_b": _stats.majority_rate(labels[b]),
            "useful_a": int(on_a.sum()), "candidates_a": int(candidates.size)}


def _group_confirm(clean, robust, labels, a, b, q):
    """The tail group's numbers on half ``b`` if it is a candidate on half ``a`` (useful and non-robust), else None.

    ``robust`` may be None (a label-permuted task, not attacked): then only usefulness on ``a`` selects.
    """
    on_a, _, _ = useful(clean[None, a], labels[a], q=q)
    if not on_a[0] or (robust is not None and _robust_on(robust[None], labels, a, q)[0]):
        return None
    out = {"clean_a": float(clean[a].mean()), "clean_b": float(clean[b].mean()),
           "majority_b": _stats.majority_rate(labels[b])}
    if robust is not None:
        out |= {"gamma_a": float(robust[a].mean()), "gamma_b": float(robust[b].mean())}
    return out


def null_percentile(values, level: float = 95.0) -> float:
    r"""The ``level``-th percentile of a select-and-confirm null whose runs without a candidate are ``None``.

    A run that selects nothing can confirm nothing: it counts as :math:`-\infty`, not 0 and not
    left out. The percentile (the sample's order statistic, no interpolation) is therefore
    :math:`-\infty` when at least ``100 − level`` % of the runs select nothing: then no null run
    confirms at that rate and any confirmed candidate beats the null.
    """
    values = np.array([-np.inf if v is None or not np.isfinite(v) else float(v) for v in values])
    if not values.size:
        return float("nan")
    return float(np.percentile(values, level, method="higher"))


def _smallest_confirmable(n_b: int, majority_b: float) -> float:
    """Smallest clean accuracy on ``n_b`` points whose Wilson interval lies above ``majority_b`` (NaN if none)."""
    for k in range(int(np.floor(majority_b * n_b)), n_b + 1):
        if _stats.accuracy_interval(k, n_b)[0] > majority_b:
            return k / n_b
    return float("nan")


def _confirm(picked, n_b, null95, q, name):
    """``(decision, reason, estimate, ci, p_robust_b)`` of one candidate confirmed on half B (``n_b`` points).

    Useful on B: the Wilson interval of its clean accuracy minus B's majority rate above 0 and the
    estimate above the null's 95th percentile. Non-robust on B: its accuracy under attack not
    significantly above B's majority rate (one-sided exact binomial test at ``q``; one candidate,
    no correction); robust on B fails the candidate.
    """
    low, high = _stats.accuracy_interval(round(picked["clean_b"] * n_b), n_b)
    estimate = picked["clean_b"] - picked["majority_b"]
    ci = (low - picked["majority_b"], high - picked["majority_b"])
    p_robust_b = float(_stats.binomial_pvalues(round(picked["gamma_b"] * n_b), n_b, picked["majority_b"]))
    decision, reason = decide(estimate, ci, 0.0, n=n_b, min_n=10)
    if decision == Decision.SUPPORTED:
        if p_robust_b < q:
            decision = Decision.NOT_SUPPORTED
            reason = (f"{name} is robustly useful on the confirmation half (γ = {picked['gamma_b']:.3f} above the "
                      f"majority rate {picked['majority_b']:.3f}, p = {p_robust_b:.2g})")
        elif not estimate > null95:
            decision, reason = Decision.UNDETERMINED, f"{name} does not beat the label-permutation null"
    elif decision == Decision.NOT_SUPPORTED:
        reason = f"{name} is not useful on the confirmation half ({reason})"
    return decision, reason, estimate, ci, p_robust_b


def _null_runs(clean, labels, null_clean_correct, null_labels, n_perm, seed, name):
    """``[(null_clean, permuted_labels), ...]``: label-permuted tasks if given, else permuted test labels."""
    if null_clean_correct is not None:
        if null_labels is None or len(null_labels) != len(null_clean_correct):
            raise ValueError(f"{name} must give one (n_test,) label vector per permutation.")
        return [(np.asarray(c, float), np.asarray(y)) for c, y in zip(null_clean_correct, null_labels)]
    rng = np.random.default_rng(seed + 1)
    return [(permuted_correctness(clean, labels, permuted), permuted)
            for permuted in (rng.permutation(labels) for _ in range(n_perm))]


def _null_record(values) -> dict:
    """The null's runs for ``details``: values (``None`` = no candidate), counts and the 95th percentile."""
    return {"values": [None if v is None else float(v) for v in values],
            "no_candidate": int(sum(v is None for v in values)), "runs": len(values),
            "p95": null_percentile(values)}


def _null_text(null: dict) -> str:
    return (f"label-permutation null: 95th percentile of {null['runs']} select-and-confirm runs "
            f"({null['no_candidate']} without a candidate, counted as −∞)")


def _verdict6(key, statistic, definition, outcome, null, n_b, details, gate):
    """One claim-6 verdict from a confirmation ``outcome`` (or None: no candidate) and a ``gate`` (or None)."""
    common = dict(key=key, control=_null_text(null), threshold=0.0, n=n_b, min_n=10, details=details)
    control = null["p95"] if np.isfinite(null["p95"]) else np.nan
    if gate is not None:
        state, why = gate
        est, ci = (outcome["estimate"], outcome["ci"]) if outcome else (np.nan, (np.nan, np.nan))
        return make_verdict(6, statistic, definition, est, ci, control_value=control, override=(state, why),
                            **common)
    return make_verdict(6, statistic, definition, outcome["estimate"], outcome["ci"], control_value=control,
                        override=(outcome["decision"], outcome["reason"]), **common)


def claim6(clean_correct, robust_correct, labels, *, q: float = Q, gamma0: float = GAMMA0,
           attack: str = GAMMA_ATTACK, n_perm: int = 100, seed: int = 0, null_clean_correct=None,
           null_labels=None, null=None, tail=None, tail_null=None, k: int | None = None,
           index=None, families=None, tail_size: int | None = None, contrast=None) -> list[Verdict]:
    r"""Claim 6 (useful non-robust features can be identified): select on one half, confirm on the other.

    The test points are split at random into halves A and B. Two verdicts, each about what it
    confirms:

    * ``claim6_feature`` — *a single feature*: among features useful on A and non-robust on A
      (the vocabulary's tests, BH at ``q`` within ``families``), the most accurate on A;
    * ``claim6_group`` (when ``tail`` is given) — *the tail group* :math:`\sum_{i > k} \phi_i`, one
      predictor that sums many features: a candidate when it is useful and non-robust on A. Its
      confirmation says the tail *as a whole* is useful and non-robust, not that any one of its
      features is.

    For a candidate, the statistic is its clean accuracy on B minus B's majority rate, with a
    Wilson interval. It is confirmed (*supported*) when that interval is above 0, the estimate is
    above the 95th percentile of the same select-and-confirm statistic on label-permuted tasks
    (runs that select nothing count as :math:`-\infty`, :func:`null_percentile`), and it is
    non-robust on B (its accuracy under attack not significantly above B's majority rate,
    one-sided exact binomial test at ``q``). *Not supported*: robustly useful on B, or not useful on
    B (interval below 0), or (single feature) at least ``MIN_USEFUL_TO_SPLIT`` features useful on A
    and every one of them robustly useful. *Undetermined*: no candidate on A, an interval that
    straddles 0, a null not beaten — and whenever nothing is robustly useful on A, neither an
    attacked feature nor the ``contrast`` predictor: then the attack defeats every predictor at this
    radius and "non-robust" singles nothing out (saturated).

    Args:
      clean_correct, robust_correct: ``(n_features, n_test)`` 0/1 per feature.
      labels: ``(n_test,)`` labels (binary unless the nulls are given).
      null: optional ``(null_clean_correct, null_labels)`` in one tuple (``features.permuted_task_correctness``).
      null_clean_correct: optional ``(n_perm, n_features, n_test)`` clean correctness of the same
        features of label-permuted tasks (training and test labels shuffled together), scored against
        ``null_labels`` ``(n_perm, n_test)``. Selection in the null uses the real features' γ (the
        permuted tasks are not attacked). Without it, the test labels alone are permuted against the
        same predictions (binary labels only).
      tail: optional ``(tail_clean, tail_robust)``, each ``(n_test,)`` 0/1: the tail group predictor's
        per-point correctness, clean and under ``attack``.
      tail_null: optional ``(tail_null_clean (n_perm, n_test), tail_null_labels (n_perm, n_test))``: the
        tail group of label-permuted tasks; without it, permuted test labels (binary labels only).
      k: the head's size (the tail starts after feature ``k``); tail_size: features in the tail; wording only.
      index: optional ``(n_features,)`` 0-based eigen-indices of the rows, for the wording only.
      families: optional ``(n_features,)`` BH family labels.
      contrast: optional ``(n_test,)`` 0/1 correctness under ``attack`` of a reference predictor built from
        the same features (e.g. the head :math:`\sum_{i \le k} \phi_i`): robustly useful on A, it
        shows the attack does not defeat everything, as a robustly useful single feature would.

    Returns:
      ``[feature verdict]`` or ``[feature verdict, group verdict]``.
    """
    if null is not None:
        null_clean_correct, null_labels = null
    classes = classify_features(clean_correct, robust_correct, labels, q=q, gamma0=gamma0, attack=attack,
                                families=families)
    families = classes.families
    clean, robust = np.asarray(clean_correct, float), np.asarray(robust_correct, float)
    labels = np.asarray(labels)
    n = labels.size
    a, b = _stats.split_halves(n, seed=seed)
    majority_b = _stats.majority_rate(labels[b])
    # The contrast: some attacked feature must be robustly useful on A, else the attack defeats all.
    robust_a = _robust_on(robust, labels, a, q, families)
    useful_a = useful(clean[:, a], labels[a], q=q, families=families)[0]
    contrast_a = False
    if contrast is not None:
        contrast = _group("contrast", contrast, n)
        contrast_a = bool(_robust_on(contrast[None], labels, a, q)[0])
    gate = None
    if not robust_a.any() and not contrast_a:
        gate = (Decision.UNDETERMINED, f"{Reason.SATURATED}: nothing is robustly useful on the selection half "
                "(no attacked feature" + (", nor the contrast predictor" if contrast is not None else "") +
                "), so the attack defeats every predictor at this radius and 'non-robust' singles nothing out")
    runs = _null_runs(clean, labels, null_clean_correct, null_labels, n_perm, seed, "null_labels (null_clean_correct)")
    feature_null = []
    for null_clean, permuted in runs:
        result = _select_confirm(null_clean, robust, permuted, a, b, q, families)
        feature_null.append(None if result is None else result["clean_b"] - result["majority_b"])
    fnull = _null_record(feature_null)
    confirmable = _smallest_confirmable(b.size, majority_b)
    base = {**classes.counts(), "n_a": int(a.size), "n_b": int(b.size), "majority_b": majority_b,
            "robust_on_a": int(robust_a.sum()), "useful_on_a": int(useful_a.sum()),
            "contrast_robust_on_a": contrast_a if contrast is not None else None,
            "smallest_confirmable_accuracy": confirmable, "contrast": bool(robust_a.any())}

    picked = _select_confirm(clean, robust, labels, a, b, q, families)
    details = {**base, "null": fnull, "candidate": picked is not None}
    outcome = None
    what = "the most accurate feature among those useful and non-robust on half A"
    if picked is not None:
        i = picked["feature"]
        details |= picked | {"label": f"feature φ_{int(index[i]) + 1}" if index is not None else f"feature (row {i})"}
        decision, reason, estimate, ci, p_rob = _confirm(picked, b.size, fnull["p95"], q, what)
        outcome = dict(decision=decision, reason=f"{reason}; candidate: {details['label']}", estimate=estimate,
                       ci=ci)
        details |= {"p_robust_b": p_rob}
    feature_gate = gate
    if feature_gate is None and picked is None:
        if useful_a.sum() >= MIN_USEFUL_TO_SPLIT:
            feature_gate = (Decision.NOT_SUPPORTED, f"all {int(useful_a.sum())} features useful on the selection "
                            "half are robustly useful there")
        else:
            feature_gate = (Decision.UNDETERMINED, f"{Reason.TOO_FEW}: no feature is useful and non-robust on the "
                            f"selection half ({int(useful_a.sum())} useful there)")
    n_fam = len(classes.family_counts())
    definition = (f"single feature: clean accuracy on held-out half B minus B's majority rate of the most accurate "
                  f"feature among those useful and non-robust on half A ({classes.useful.size} features, BH at "
                  f"q = {q} within {n_fam} famil{'y' if n_fam == 1 else 'ies'}; "
                  f"{a.size} points select, {b.size} confirm); confirmed when its Wilson interval is above 0, it "
                  f"beats the null, and its accuracy under {attack} on B is not significantly above B's majority rate; "
                  f"requires something robustly useful on A (a feature or the contrast predictor)")
    verdicts = [_verdict6("claim6_feature", "confirmed useful non-robust single feature", definition, outcome,
                          fnull, b.size, details, feature_gate)]
    if tail is None:
        return verdicts

    tc, tr = _group("tail clean", tail[0], n), _group("tail robust", tail[1], n)
    null_c, null_y = (None, None) if tail_null is None else tail_null
    tail_runs = _null_runs(tc[None], labels, None if null_c is None else np.asarray(null_c)[:, None],
                           null_y, n_perm, seed + 7, "tail_null's labels")
    group_null = [None if (r := _group_confirm(c[0], None, y, a, b, q)) is None else r["clean_b"] - r["majority_b"]
                  for c, y in tail_runs]
    gnull = _null_record(group_null)
    group = _group_confirm(tc, tr, labels, a, b, q)
    name = f"the tail group Σ_(i>{'k' if k is None else k}) φ_i"
    size = f" (the sum of {tail_size} features)" if tail_size is not None else ""
    gdetails = {**base, "k": k, "tail_size": tail_size, "clean": float(tc.mean()), "robust": float(tr.mean()),
                "candidate": group is not None, **(group or {}), "null": gnull}
    outcome = None
    if group is not None:
        decision, reason, estimate, ci, p_rob = _confirm(group, b.size, gnull["p95"], q, name)
        outcome = dict(decision=decision, reason=reason, estimate=estimate, ci=ci)
        gdetails["p_robust_b"] = p_rob
    group_gate = gate
    if group_gate is None and group is None:
        group_gate = (Decision.UNDETERMINED, f"{Reason.TOO_FEW}: {name} is not both useful and non-robust on the "
                      "selection half")
    gdefinition = (f"group: clean accuracy on held-out half B minus B's majority rate of {name}{size}, one predictor, "
                   f"when it is useful and non-robust on half A; confirmed as for a single feature (Wilson interval "
                   f"above 0, null beaten, accuracy under {attack} on B not significantly above the majority rate); "
                   "a confirmed group says the tail as a whole is useful and non-robust, not that any one feature is")
    verdicts.append(_verdict6("claim6_group", "confirmed useful non-robust tail group", gdefinition, outcome, gnull,
                              b.size, gdetails, group_gate))
    return verdicts
