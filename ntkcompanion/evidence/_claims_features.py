r"""Claims 3 and 6: robust and non-robust features are both useful, and they can be confirmed.

Inputs are per-feature, per-test-point 0/1 correctness of :math:`\operatorname{sign}\phi_i(x_j)`,
clean and under the attack that measures γ (see ``_vocabulary``). Label-permutation nulls are
built from the same correctness: for binary labels a prediction is recovered from its correctness
(right → the label, wrong → the other class) and scored against permuted labels.
"""

import numpy as np

from ntkcompanion.evidence import _stats
from ntkcompanion.evidence._verdict import Decision, Reason, Verdict, decide, make_verdict
from ntkcompanion.evidence._vocabulary import (GAMMA0, GAMMA_ATTACK, Q, SATURATION, classify_features,
                                               sensitivity, useful)

__all__ = ["claim3", "claim6", "permuted_correctness"]

ALPHA = 0.05
# The fewest significantly useful features among which the absence of a non-robust one is evidence
# against claim 3 (below it, the counts verdict is undetermined: too few points).
MIN_USEFUL_TO_SPLIT = 10


def permuted_correctness(correct, labels, permuted_labels):
    """Correctness ``(..., n)`` of the same binary predictions scored against ``permuted_labels`` ``(n,)``."""
    labels, permuted_labels = np.asarray(labels), np.asarray(permuted_labels)
    classes = np.unique(labels)
    if classes.size != 2:
        raise ValueError(f"label-permutation nulls from correctness need binary labels; got {classes.size} "
                         "classes (CLASSES must name two).")
    other = np.where(labels == classes[0], classes[1], classes[0])
    predictions = np.where(np.asarray(correct) == 1, labels, other)
    return (predictions == permuted_labels).astype(float)


def _smaller_count_ci(clean_correct, robust_correct, labels, *, q, gamma0, attack, n_boot, seed):
    """Percentile 95% CI of min(#useful robust, #useful non-robust), resampling test points (paired)."""
    clean, robust, labels = (np.asarray(a) for a in (clean_correct, robust_correct, labels))
    rng = np.random.default_rng(seed)
    n = labels.shape[0]
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        c = classify_features(clean[:, idx], robust[:, idx], labels[idx], q=q, gamma0=gamma0,
                              attack=attack).counts()
        values.append(min(c["useful_robust"], c["useful_non_robust"]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _group(name, correct, n):
    correct = np.asarray(correct, float)
    if correct.shape != (n,):
        raise ValueError(f"{name} has shape {correct.shape}: expected (n_test,) = ({n},) 0/1 correctness.")
    return correct


def claim3(clean_correct, robust_correct, labels, head_clean=None, head_robust=None, tail_clean=None,
           tail_robust=None, *, k: int, groups=None, null=None,
           q: float = Q, gamma0: float = GAMMA0, attack: str = GAMMA_ATTACK, n_perm: int = 20,
           n_boot: int = _stats.N_BOOT, seed: int = 0, null_clean_correct=None, null_labels=None,
           weights=None) -> list[Verdict]:
    r"""Claim 3 (the eigendecomposition induces robust and non-robust features, both useful): two verdicts.

    *Counts*: among features useful after Benjamini–Hochberg, the smaller of the numbers of robust
    and of non-robust ones; supported when both are at least one. Control: the median number of
    useful features under label permutations: by default ``n_perm`` permutations of the test
    labels against the same predictions (binary labels only); with ``null_clean_correct`` the
    features of label-permuted *tasks* (training and test labels shuffled together, which is the
    null for eigen-features: ``features.permuted_task_correctness``). Undetermined when no feature
    is useful. ``details`` carries the counts and how they move with ``q`` and ``gamma0``
    (``sensitivity``).

    *Groups*: the head predictor :math:`\sum_{i \le k} \phi_i` against the tail
    :math:`\sum_{i > k} \phi_i`; statistic: head robust accuracy minus tail robust accuracy
    (paired bootstrap over test points), supported above 0 when both groups are useful (clean
    accuracy above the majority rate, binomial test at 0.05). Undetermined when a group is not
    useful or both are fooled on (almost) every point.

    Args:
      clean_correct, robust_correct: ``(n_features, n_test)`` 0/1 per feature (index order).
      labels: ``(n_test,)`` binary test labels.
      head_clean, head_robust, tail_clean, tail_robust: ``(n_test,)`` 0/1 of the two group predictors;
        or ``groups = (clean, robust)``, each ``(2, n_test)`` with the head in row 0 and the tail in row 1.
      k: the head's last index.
      null: optional ``(null_clean_correct, null_labels)`` in one tuple (``features.permuted_task_correctness``).
      null_clean_correct: optional ``(n_perm, n_features, n_test)`` 0/1 clean correctness of the
        features of label-permuted tasks, scored against ``null_labels`` ``(n_perm, n_test)``.
      weights: optional ``(n_features,)`` number of features each row stands for (a stratified
        sample, ``feature_attacks.sample_features``); ``details`` then also holds weighted counts.
    """
    if groups is not None:
        (head_clean, tail_clean), (head_robust, tail_robust) = groups
    if null is not None:
        null_clean_correct, null_labels = null
    classes = classify_features(clean_correct, robust_correct, labels, q=q, gamma0=gamma0, attack=attack)
    counts = classes.counts()
    n = classes.n_test
    rng = np.random.default_rng(seed)
    if null_clean_correct is not None:
        if null_labels is None or len(null_labels) != len(null_clean_correct):
            raise ValueError("null_labels must give one (n_test,) label vector per permutation in "
                             "null_clean_correct.")
        null = [useful(c, y, q=q)[0].sum() for c, y in zip(null_clean_correct, null_labels)]
        null_name = f"useful features of label-permuted tasks (train and test labels; median of {len(null)})"
    else:
        null = [useful(permuted_correctness(clean_correct, labels, rng.permutation(labels)), labels, q=q)[0].sum()
                for _ in range(n_perm)]
        null_name = f"useful features under permuted labels (median of {n_perm})"
    counts = dict(counts, sensitivity=sensitivity(clean_correct, robust_correct, labels, attack=attack),
                  null_useful=[int(v) for v in null])
    if weights is not None:
        w = np.asarray(weights, float)
        if w.shape != classes.useful.shape:
            raise ValueError(f"weights has shape {w.shape}: expected ({classes.useful.size},), one per feature.")
        u = classes.useful
        counts["weighted"] = {"features": float(w.sum()), "useful": float(w[u].sum()),
                              "useful_robust": float(w[u & classes.robust].sum()),
                              "useful_non_robust": float(w[u & classes.non_robust].sum()),
                              "useful_intermediate": float(w[u & ~classes.robust & ~classes.non_robust].sum())}
    smaller = min(counts["useful_robust"], counts["useful_non_robust"])
    ci = _smaller_count_ci(clean_correct, robust_correct, labels, q=q, gamma0=gamma0, attack=attack,
                           n_boot=min(n_boot, 200), seed=seed)
    # Too few useful features to split: finding no non-robust one among a handful says little
    # about the many weakly useful tail features where the paper locates them (the group verdict
    # below tests those together).
    too_few = counts["useful"] < MIN_USEFUL_TO_SPLIT and ci[1] < 0.5
    counts_verdict = make_verdict(
        3, "useful robust & non-robust features", f"smaller of the numbers of useful features (binomial test "
        f"against the majority rate, BH at q = {q}) that are robust (γ significantly > {gamma0}) and non-robust "
        f"(γ ≤ {gamma0}); γ under {attack}; 95% CI by bootstrap over test points", smaller, ci, threshold=0.5,
        control=null_name, control_value=float(np.median(null)),
        n=n, undetermined=Reason.TOO_FEW if too_few else None,
        note=(f"only {counts['useful']} feature(s) significantly useful, fewer than {MIN_USEFUL_TO_SPLIT}"
              if too_few else ""), details=counts, key="claim3_counts")

    hc, hr = _group("head_clean", head_clean, n), _group("head_robust", head_robust, n)
    tc, tr = _group("tail_clean", tail_clean, n), _group("tail_robust", tail_robust, n)
    majority = classes.majority
    group_useful = [_stats.binomial_pvalues(c.sum(), n, majority) < ALPHA for c in (hc, tc)]
    diff, ci = _stats.paired_difference_ci(hr, tr, n_boot=n_boot, seed=seed)
    details = {"k": int(k), "majority": majority}
    for name, c in (("head_clean", hc), ("head_robust", hr), ("tail_clean", tc), ("tail_robust", tr)):
        details[name] = float(c.mean())
        details[name + "_ci"] = list(_stats.accuracy_interval(int(c.sum()), n))
    group_verdict = make_verdict(
        3, "head − tail robust accuracy", f"robust accuracy ({attack}) of the head Σ_(i≤{k}) φ_i minus that of "
        "the tail Σ_(i>k) φ_i; both must be useful; paired bootstrap over test points", diff, ci, threshold=0.0,
        control="tail robust accuracy", control_value=float(tr.mean()), n=n, min_n=10,
        saturated=max(hr.mean(), tr.mean()) <= SATURATION,
        undetermined=None if all(group_useful) else "a group is not useful (clean accuracy not above the majority)",
        details=details, key="claim3_groups")
    return [counts_verdict, group_verdict]


def _select_confirm(clean, robust, labels, a, b, q, gamma0):
    """Least robust useful feature on half ``a``; its (clean accuracy − majority, γ) on half ``b``."""
    on_a, _, _ = useful(clean[:, a], labels[a], q=q)
    if not on_a.any():
        return None
    candidates = np.flatnonzero(on_a)
    gamma_a = robust[candidates][:, a].mean(axis=1)
    clean_a = clean[candidates][:, a].mean(axis=1)
    chosen = candidates[np.lexsort((-clean_a, gamma_a))[0]]        # lowest γ, then highest accuracy
    return {"feature": int(chosen), "gamma_a": float(robust[chosen, a].mean()),
            "clean_a": float(clean[chosen, a].mean()), "clean_b": float(clean[chosen, b].mean()),
            "gamma_b": float(robust[chosen, b].mean()), "majority_b": _stats.majority_rate(labels[b]),
            "useful_a": int(on_a.sum())}


def _group_confirm(clean, robust, labels, a, b, q, gamma0):
    """The tail group's numbers on half ``b`` if it is a candidate on half ``a`` (useful and γ ≤ ``gamma0``), else None.

    ``robust`` may be None (a label-permuted task, not attacked): then only usefulness on ``a`` selects.
    """
    on_a, _, _ = useful(clean[None, a], labels[a], q=q)
    if not on_a[0] or (robust is not None and robust[a].mean() > gamma0):
        return None
    out = {"clean_a": float(clean[a].mean()), "clean_b": float(clean[b].mean()),
           "majority_b": _stats.majority_rate(labels[b])}
    if robust is not None:
        out |= {"gamma_a": float(robust[a].mean()), "gamma_b": float(robust[b].mean())}
    return out


def _null95(values) -> float:
    values = np.asarray(values, float)
    return float(np.nanpercentile(values, 95)) if np.isfinite(values).any() else 0.0


def _confirm(picked, n_b, null95, gamma0, name):
    """``(decision, reason, estimate, ci)`` of one candidate confirmed on half B (``n_b`` points)."""
    low, high = _stats.accuracy_interval(round(picked["clean_b"] * n_b), n_b)
    estimate = picked["clean_b"] - picked["majority_b"]
    ci = (low - picked["majority_b"], high - picked["majority_b"])
    decision, reason = decide(estimate, ci, 0.0, n=n_b, min_n=10)
    if decision == Decision.SUPPORTED:
        if picked["gamma_b"] > gamma0:
            decision = Decision.NOT_SUPPORTED
            reason = f"{name} is robust on the confirmation half (γ = {picked['gamma_b']:.2f} > {gamma0})"
        elif estimate <= null95:
            decision, reason = Decision.UNDETERMINED, f"{name} does not beat the label-permutation null"
    elif decision == Decision.NOT_SUPPORTED:
        reason = f"{name} is not useful on the confirmation half ({reason})"
    return decision, reason, estimate, ci


def _null_runs(clean, labels, null_clean_correct, null_labels, n_perm, seed, name):
    """``[(null_clean, permuted_labels), ...]``: label-permuted tasks if given, else permuted test labels."""
    if null_clean_correct is not None:
        if null_labels is None or len(null_labels) != len(null_clean_correct):
            raise ValueError(f"{name} must give one (n_test,) label vector per permutation.")
        return [(np.asarray(c, float), np.asarray(y)) for c, y in zip(null_clean_correct, null_labels)]
    rng = np.random.default_rng(seed + 1)
    return [(permuted_correctness(clean, labels, permuted), permuted)
            for permuted in (rng.permutation(labels) for _ in range(n_perm))]


def claim6(clean_correct, robust_correct, labels, *, q: float = Q, gamma0: float = GAMMA0,
           attack: str = GAMMA_ATTACK, n_perm: int = 100, seed: int = 0, null_clean_correct=None,
           null_labels=None, null=None, tail=None, tail_null=None, k: int | None = None,
           index=None) -> Verdict:
    r"""Claim 6 (useful non-robust features can be identified): select on one half, confirm on the other.

    Two candidates, each selected on half A of the test points and confirmed on half B:

    * *a single feature*: among features useful on A after BH, the least robust one (lowest γ on A);
    * *the tail group* :math:`\sum_{i > k} \phi_i` (optional ``tail``): a candidate when it is
      useful on A (binomial test at ``q``) and non-robust on A (γ ≤ ``gamma0``). Single tail
      features are too weak to be significantly useful at a few hundred points; their sum is not.

    For a candidate, the statistic is its clean accuracy on B minus B's majority rate, with a
    Wilson interval. It is confirmed when that interval is above 0, the estimate beats the 95th
    percentile of the same select-and-confirm statistic under label permutations, and γ on B is
    at most ``gamma0``; it fails when it is robust on B or its interval lies below 0.

    Decision: *supported* when a single feature or the tail group is confirmed (the reason and
    ``details["confirmed_by"]`` say which; the estimate is that candidate's, the feature's when
    both are); *not supported* when candidates were found on A and every one failed on B;
    *undetermined* when nothing qualifies on A (too few points) or a candidate is inconclusive
    (interval straddles 0, null not beaten).

    Args:
      clean_correct, robust_correct: ``(n_features, n_test)`` 0/1 per feature.
      labels: ``(n_test,)`` labels (binary unless the nulls are given).
      null: optional ``(null_clean_correct, null_labels)`` in one tuple (``features.permuted_task_correctness``).
      null_clean_correct: optional ``(n_perm, n_features, n_test)`` clean correctness of the same
        features in label-permuted *tasks* (training and test labels shuffled together,
        ``features.permuted_task_correctness``), scored against ``null_labels`` ``(n_perm, n_test)``:
        the null for eigen-features, and one that works for any number of classes. Selection in the
        null uses the real features' γ (the permuted tasks are not attacked). Without it, the test
        labels alone are permuted against the same predictions (binary labels only).
      tail: optional ``(tail_clean, tail_robust)``, each ``(n_test,)`` 0/1: the tail group predictor's
        per-point correctness, clean and under ``attack``.
      tail_null: optional ``(tail_null_clean (n_perm, n_test), tail_null_labels (n_perm, n_test))``: the
        tail group of label-permuted tasks; without it, permuted test labels (binary labels only).
      k: the head's size (the tail starts after feature ``k``), for the wording only.
      index: optional ``(n_features,)`` 0-based eigen-indices of the rows, for the wording only.
    """
    if null is not None:
        null_clean_correct, null_labels = null
    classes = classify_features(clean_correct, robust_correct, labels, q=q, gamma0=gamma0, attack=attack)
    clean, robust = np.asarray(clean_correct, float), np.asarray(robust_correct, float)
    labels = np.asarray(labels)
    n = labels.size
    a, b = _stats.split_halves(n, seed=seed)
    runs = _null_runs(clean, labels, null_clean_correct, null_labels, n_perm, seed, "null_labels (null_clean_correct)")
    feature_null = []
    for null_clean, permuted in runs:
        result = _select_confirm(null_clean, robust, permuted, a, b, q, gamma0)
        feature_null.append(np.nan if result is None else result["clean_b"] - result["majority_b"])
    tail_name = f"the tail group Σ_(i>{'k' if k is None else k}) φ_i"
    candidates = {}                                    # name -> (picked, null95, n_null, description)
    picked = _select_confirm(clean, robust, labels, a, b, q, gamma0)
    details = {"null_share_selected": float(np.isfinite(feature_null).mean()), **classes.counts()}
    if picked is not None:
        details.update(picked)
        i = picked["feature"]
        label = f"feature φ_{int(index[i]) + 1}" if index is not None else f"feature (row {i})"
        candidates["feature"] = (picked, _null95(feature_null), len(runs), label,
                                 "the least robust useful feature")
    if tail is not None:
        tc, tr = _group("tail clean", tail[0], n), _group("tail robust", tail[1], n)
        null_c, null_y = (None, None) if tail_null is None else tail_null
        tail_runs = _null_runs(tc[None], labels, None if null_c is None else np.asarray(null_c)[:, None],
                               null_y, n_perm, seed + 7, "tail_null's labels")
        group_null = [np.nan if (r := _group_confirm(c[0], None, y, a, b, q, gamma0)) is None
                      else r["clean_b"] - r["majority_b"] for c, y in tail_runs]
        group = _group_confirm(tc, tr, labels, a, b, q, gamma0)
        details["tail_group"] = {"k": k, "clean": float(tc.mean()), "robust": float(tr.mean()),
                                 "candidate": group is not None, **(group or {}),
                                 "null_share_selected": float(np.isfinite(group_null).mean())}
        if group is not None:
            candidates["tail group"] = (group, _null95(group_null), len(tail_runs), tail_name, tail_name)
    outcomes = {}
    for name, (cand, null95, n_null, label, role) in candidates.items():
        decision, reason, estimate, ci = _confirm(cand, b.size, null95, gamma0, role)
        outcomes[name] = dict(decision=decision, reason=reason, estimate=estimate, ci=ci, null95=null95,
                              n_null=n_null, label=label)
    for name, o in outcomes.items():
        key = "feature_path" if name == "feature" else "tail_group"
        details.setdefault(key, {}).update(decision=o["decision"], reason=o["reason"], estimate=float(o["estimate"]),
                                           ci=[float(c) for c in o["ci"]], null95=o["null95"])
    confirmed = [name for name, o in outcomes.items() if o["decision"] == Decision.SUPPORTED]
    details["confirmed_by"] = confirmed
    statistic = "confirmed useful non-robust feature"
    definition = (f"clean accuracy on held-out half B minus B's majority rate, of the least robust feature among "
                  f"those useful on half A (BH at q = {q})"
                  + (", or of the tail group Σ_(i>k) φ_i when it is useful and non-robust on half A" if tail is not None
                     else "")
                  + f"; non-robust on B means γ ≤ {gamma0} under {attack}; Wilson interval")
    main = outcomes[confirmed[0]] if confirmed else next(iter(outcomes.values()), None)
    n_null = main["n_null"] if main else len(runs)
    common = dict(key="claim6", control=f"label-permutation null (95th percentile of {n_null})", threshold=0.0,
                  n=b.size, min_n=10, details=details)
    if main is None:
        nothing = "no feature useful on the selection half"
        if tail is not None:
            nothing += " and the tail group not useful and non-robust on it"
        return make_verdict(6, statistic, definition, np.nan, (np.nan, np.nan), control_value=_null95(feature_null),
                            undetermined=Reason.TOO_FEW, note=nothing, **common)
    if confirmed:
        which = " and ".join(outcomes[name]["label"] for name in confirmed)
        override = (Decision.SUPPORTED, f"{Reason.ABOVE}; confirmed: {which}")
    else:
        decisions = {o["decision"] for o in outcomes.values()}
        state = Decision.NOT_SUPPORTED if decisions == {Decision.NOT_SUPPORTED} else Decision.UNDETERMINED
        shown = [o["reason"] for o in outcomes.values() if o["decision"] == state]
        override = (state, "; ".join(shown))
    return make_verdict(6, statistic, definition, main["estimate"], main["ci"], control_value=main["null95"],
                        override=override, **common)
