"""Claims 3, 5 and 6 under one definition of *robust*: planted nulls, planted positives, every state.

Robust means *robustly useful* (accuracy under attack significantly above the majority rate). A
planted null is data on which no function can be robustly useful; on it no claim-3, -5 or -6
verdict may be "supported". Synthetic 0/1 correctness arrays drive the decision functions; one
small end-to-end run goes through the package's own kernel, features and PGD on the checkerboard
null of the issue (random labels, the only signal a ±0.05 checkerboard, ε = 0.1).
"""

import numpy as np
import pytest

from ntkcompanion import evidence as ev
from ntkcompanion import feature_attacks, features, kernels
from ntkcompanion.evidence import _claims_confirm, claims

SUP, NOT, UND = ev.Decision.SUPPORTED, ev.Decision.NOT_SUPPORTED, ev.Decision.UNDETERMINED
FAST = {"n_boot": 300}
N = 400
LABELS = np.repeat([-1, 1], N // 2)                 # majority rate 0.5


def bernoulli(rates, n=N, seed=0):
    rates = np.asarray(rates, float)
    return (np.random.default_rng(seed).random(rates.shape + (n,)) < rates[..., None]).astype(float)


def rows(clean, robust, seed=0):
    return bernoulli(clean, seed=seed), bernoulli(robust, seed=seed + 1)


# Feature sets (clean rate, robust rate) per row.
POSITIVE = ([0.85] * 5 + [0.8] * 5 + [0.5] * 20, [0.75] * 5 + [0.1] * 5 + [0.3] * 20)
ALL_ROBUST = ([0.85] * 12 + [0.3] * 18, [0.75] * 12 + [0.1] * 18)   # the rest clearly not useful
FEW_ROBUST = ([0.85] * 4 + [0.3] * 26, [0.75] * 4 + [0.1] * 26)
# The planted null in correctness form: useful features whose accuracy under attack is positive
# (γ ≈ 0.15, far from 0) but below the majority rate: none is robustly useful.
NULL = ([0.8] * 10 + [0.5] * 20, [0.15] * 10 + [0.1] * 20)


def group(head, tail, seed=11):
    return dict(head_clean=bernoulli(head[0], seed=seed), head_robust=bernoulli(head[1], seed=seed + 1),
                tail_clean=bernoulli(tail[0], seed=seed + 2), tail_robust=bernoulli(tail[1], seed=seed + 3), k=10)


# --- the vocabulary ---------------------------------------------------------------------------

def test_robust_means_robustly_useful_not_gamma_above_gamma0():
    clean, robust = rows(*NULL)
    classes = ev.classify_features(clean, robust, LABELS)
    assert classes.useful[:10].all() and not classes.robust.any()
    assert classes.non_robust[classes.useful].all()
    assert classes.counts()["useful_robust"] == 0 and classes.counts()["useful_non_robust"] == 10
    # γ ≈ 0.15 is above γ₀ = 0.10: the reported column, not the decision.
    assert not classes.gamma_small[:10].any()
    clean, robust = rows(*POSITIVE)
    classes = ev.classify_features(clean, robust, LABELS)
    assert classes.robust[:5].all() and (classes.useful & classes.non_robust)[5:10].all()


def test_non_robust_is_decided_by_the_test_not_the_point_estimate():
    # γ = 0.53 on 400 points is above the majority 0.5 as a number, not significantly.
    robust = np.zeros((1, N))
    robust[0, :212] = 1
    classes = ev.classify_features(np.ones((1, N)), robust, LABELS)
    assert classes.robust_accuracy[0] > classes.majority and classes.non_robust[0]


def test_families_run_bh_separately():
    # 10 leading features at clean 0.58 on 400 points, among 990 at chance: significant only as their own family.
    clean = np.concatenate([bernoulli([0.6] * 10, seed=3), bernoulli([0.5] * 990, seed=4)])
    robust = np.zeros_like(clean)
    one = ev.classify_features(clean, robust, LABELS)
    two = ev.classify_features(clean, robust, LABELS, families=np.r_[np.zeros(10), np.ones(990)])
    assert two.useful[:10].sum() > one.useful[:10].sum()
    assert set(two.family_counts()) == {"0.0", "1.0"} and two.family_counts()["0.0"]["features"] == 10
    with pytest.raises(ValueError, match="families has shape"):
        ev.classify_features(clean, robust, LABELS, families=np.zeros(3))


# --- claim 3 ----------------------------------------------------------------------------------

def test_claim3_counts_every_state_and_the_null():
    counts, _ = claims.claim3(*rows(*POSITIVE), LABELS, **group((0.9, 0.75), (0.85, 0.1)), **FAST)
    assert counts.decision == SUP and counts.details["useful_robust"] == 5
    counts, _ = claims.claim3(*rows(*ALL_ROBUST), LABELS, **group((0.9, 0.75), (0.85, 0.1)), **FAST)
    assert counts.decision == NOT and counts.details["useful_non_robust"] == 0
    counts, _ = claims.claim3(*rows(*FEW_ROBUST), LABELS, **group((0.9, 0.75), (0.85, 0.1)), **FAST)
    assert counts.decision == UND and counts.reason.startswith(ev.Reason.TOO_FEW)
    counts, _ = claims.claim3(*rows(*NULL), LABELS, **group((0.9, 0.15), (0.85, 0.1)), **FAST)
    assert counts.decision != SUP and counts.details["useful_robust"] == 0
    assert "majority rate" in counts.definition and "test points" in counts.definition


def test_claim3_groups_every_state_and_the_null():
    features_ = rows(*POSITIVE)
    _, g = claims.claim3(*features_, LABELS, **group((0.9, 0.75), (0.85, 0.1)), **FAST)
    assert g.decision == SUP and g.ci[0] > 0
    # A head more robust than the tail but below the majority rate under attack: not robustly useful.
    _, g = claims.claim3(*features_, LABELS, **group((0.9, 0.35), (0.85, 0.1)), **FAST)
    assert g.decision == NOT and g.ci[1] < 0
    # The tail is robustly useful: no non-robust group.
    _, g = claims.claim3(*features_, LABELS, **group((0.9, 0.85), (0.85, 0.7)), **FAST)
    assert g.decision == NOT and "tail is robustly useful" in g.reason
    _, g = claims.claim3(*features_, LABELS, **group((0.9, 0.75), (0.5, 0.0)), **FAST)
    assert g.decision == UND and "not useful" in g.reason
    _, g = claims.claim3(*features_, LABELS, **group((0.9, 0.0), (0.85, 0.0)), **FAST)
    assert g.decision == UND and g.reason == ev.Reason.SATURATED
    _, g = claims.claim3(*rows(*NULL), LABELS, **group((0.9, 0.15), (0.85, 0.12)), **FAST)
    assert g.decision != SUP


# --- claim 5 ----------------------------------------------------------------------------------

def test_claim5_order_needs_a_robustly_useful_feature():
    index, falling = np.arange(40), np.linspace(0.9, 0.1, 40)
    useful, robust = np.ones(40, bool), falling > 0.6
    assert claims.claim5(index, falling, useful, robust=robust, **FAST)[0].decision == SUP
    assert claims.claim5(index, falling[::-1], useful, robust=robust[::-1], **FAST)[0].decision == NOT
    verdict = claims.claim5(index, falling, useful, robust=np.zeros(40, bool), **FAST)[0]
    assert verdict.decision == UND and "robustly useful" in verdict.reason
    verdict = claims.claim5(index, falling, index < 3, robust=robust, **FAST)[0]
    assert verdict.decision == UND and verdict.reason == ev.Reason.TOO_FEW


def along_t(early, last, n_early=4, seed=20):
    """``(clean_t, robust_t)``: ``n_early`` rows at ``early = (clean, robust)`` rates, then f_∞ at ``last``."""
    clean = np.concatenate([bernoulli([early[0]] * n_early, seed=seed), bernoulli([last[0]], seed=seed + 1)])
    robust = np.concatenate([bernoulli([early[1]] * n_early, seed=seed + 2), bernoulli([last[1]], seed=seed + 3)])
    return clean, robust


def tradeoff(clean, robust, labels=LABELS):
    (verdict,) = claims.claim5(clean_correct_t=clean, robust_correct_t=robust, labels=labels, **FAST)
    return verdict


def test_claim5_tradeoff_every_state():
    verdict = tradeoff(*along_t((0.75, 0.7), (0.95, 0.2)))
    assert verdict.decision == SUP and verdict.details["n_early"] == 4
    # The null: an early f_t more robust than f_∞ but below the majority rate under attack.
    verdict = tradeoff(*along_t((0.55, 0.3), (0.95, 0.05)))
    assert verdict.decision == NOT and verdict.ci[1] < 0
    # No early time: the last finite f_t equals f_∞, the rest as accurate; nothing is significantly less accurate.
    clean, robust = along_t((0.9, 0.9), (0.9, 0.2))
    clean[:] = clean[-1]
    verdict = tradeoff(clean, robust)
    assert verdict.decision == UND and verdict.details["n_early"] == 0 and "no early time" in verdict.reason
    verdict = tradeoff(*along_t((0.75, 0.0), (0.95, 0.0)))
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED


def test_claim5_tradeoff_pays_for_choosing_the_best_time():
    # 20 early times whose robust accuracy is exactly the majority rate's level: no true gain.
    decisions = []
    for seed in range(5):
        verdict = tradeoff(*along_t((0.7, 0.5), (0.95, 0.1), n_early=20, seed=100 + 7 * seed))
        decisions.append(verdict.decision)
        assert verdict.details["critical_value"] > 1.96          # wider than one time's interval
    assert SUP not in decisions


# --- claim 6 ----------------------------------------------------------------------------------

def claim6(clean, robust, tail=None, **kwargs):
    return claims.claim6(clean, robust, LABELS, n_perm=50, tail=tail, k=10, **kwargs)


def test_claim6_single_feature_every_state():
    feature, grp = claim6(*rows(*POSITIVE), tail=(bernoulli(0.85, seed=5), bernoulli(0.1, seed=6)))
    assert feature.key == "claim6_feature" and grp.key == "claim6_group"
    assert feature.decision == SUP and feature.details["feature"] in range(5, 10)
    assert feature.details["null"]["runs"] == 50
    # Every useful feature robustly useful: no useful non-robust feature exists.
    (feature,) = claim6(*rows(*ALL_ROBUST))
    assert feature.decision == NOT and "robustly useful" in feature.reason
    # The candidate is robust on the held-out half.
    clean, robust = rows(*POSITIVE)
    a, b = ev.split_halves(N, seed=0)
    robust[5:10, b] = bernoulli([0.9] * 5, n=b.size, seed=9)
    (feature,) = claim6(clean, robust)
    assert feature.decision == NOT and "confirmation half" in feature.reason
    (feature,) = claim6(*rows(*FEW_ROBUST))
    assert feature.decision == UND and feature.reason.startswith(ev.Reason.TOO_FEW)


def test_claim6_group_every_state():
    features_ = rows(*POSITIVE)
    _, grp = claim6(*features_, tail=(bernoulli(0.85, seed=5), bernoulli(0.1, seed=6)))
    assert grp.decision == SUP and "as a whole" in grp.definition
    a, b = ev.split_halves(N, seed=0)
    tail_robust = bernoulli(0.1, seed=6)
    tail_robust[b] = bernoulli(0.9, n=b.size, seed=7)
    _, grp = claim6(*features_, tail=(bernoulli(0.85, seed=5), tail_robust))
    assert grp.decision == NOT
    _, grp = claim6(*features_, tail=(bernoulli(0.5, seed=5), bernoulli(0.1, seed=6)))
    assert grp.decision == UND and grp.reason.startswith(ev.Reason.TOO_FEW)
    tail_clean = bernoulli(0.85, seed=5)
    tail_clean[b] = bernoulli(0.3, n=b.size, seed=8)
    _, grp = claim6(*features_, tail=(tail_clean, bernoulli(0.1, seed=6)))
    assert grp.decision == NOT and "not useful on the confirmation half" in grp.reason


def test_claim6_is_never_supported_on_the_planted_null():
    # Useful non-robust features exist, but nothing is robustly useful: "non-robust" singles nothing out.
    verdicts = claim6(*rows(*NULL), tail=(bernoulli(0.85, seed=5), bernoulli(0.1, seed=6)))
    assert [v.decision for v in verdicts] == [UND, UND]
    assert all(ev.Reason.SATURATED in v.reason for v in verdicts)


def test_null_percentile_counts_runs_without_a_candidate():
    assert _claims_confirm.null_percentile([None] * 96 + [0.2] * 4) == -np.inf
    assert _claims_confirm.null_percentile([None] * 90 + [0.2] * 10) == pytest.approx(0.2)
    assert _claims_confirm.null_percentile(list(np.linspace(0, 1, 101))) == pytest.approx(0.95)
    verdict = claim6(*rows(*POSITIVE))[0]
    null = verdict.details["null"]
    assert len(null["values"]) == 50 and null["no_candidate"] == sum(v is None for v in null["values"])


# --- end to end: the checkerboard null through the package's kernel, features and PGD ------------

def checkerboard_task(n_train=40, n_test=120, side=6, seed=0):
    """Random ±1 labels; images uniform in [0.05, 0.95] plus label · 0.05 · checkerboard."""
    rng = np.random.default_rng(seed)
    board = np.where(np.add.outer(np.arange(side), np.arange(side)) % 2 == 0, 1.0, -1.0)[..., None]

    def split(n):
        y = rng.choice([-1.0, 1.0], size=n)
        x = 0.05 + 0.9 * rng.random((n, side, side, 1))
        return (x + 0.05 * y[:, None, None, None] * board).astype(np.float32), y
    return split(n_train), split(n_test)


def test_no_claim_3_5_6_verdict_is_supported_on_the_checkerboard_null():
    (x_train, y_train), (x_test, y_test) = checkerboard_task()
    kfn = kernels.kernel_fn("fc", 1)
    lam, v = features.eigendecomposition(kernels.kernel_matrix(kfn, x_train))
    keep = features.resolved(lam)
    coef = features.feature_coefficients(lam, v, y_train)[:, keep]
    head_tail = features.head_tail_coefficients(lam, v, y_train, 5)
    times = features.time_grid(lam, 6)
    along = features.time_coefficients(lam, v, y_train, [*times, None])
    _, options = feature_attacks.settings(0.1, 10, 0.025)
    c = feature_attacks.correctness(kfn, x_train, np.concatenate([coef, head_tail, along], axis=1), x_test,
                                    y_test, **options)
    m = coef.shape[1]
    clean, robust = c.clean[:m].astype(float), c.robust[:m].astype(float)
    labels = (y_test > 0).astype(int)
    classes = ev.classify_features(clean, robust, labels)
    assert not classes.robust.any()                  # no function is robustly useful here
    verdicts = claims.claim3(clean, robust, labels, groups=(c.clean[m:m + 2], c.robust[m:m + 2]), k=5, **FAST)
    verdicts += claims.claim5(np.arange(m), classes.robust_accuracy, classes.useful, robust=classes.robust,
                              clean_correct_t=c.clean[m + 2:], robust_correct_t=c.robust[m + 2:], labels=labels,
                              **FAST)
    verdicts += claims.claim6(clean, robust, labels, n_perm=20, tail=(c.clean[m + 1], c.robust[m + 1]), k=5,
                              contrast=c.robust[m])
    assert len(verdicts) == 6
    assert [v.decision for v in verdicts if v.decision == SUP] == []


def test_claim6_contrast_predictor_opens_the_gate_only_when_robustly_useful():
    # No single feature is robustly useful; a robustly useful head shows the attack does not defeat everything.
    no_robust_feature = ([0.8] * 10 + [0.3] * 20, [0.15] * 10 + [0.1] * 20)
    tail = (bernoulli(0.85, seed=5), bernoulli(0.1, seed=6))
    feature, grp = claim6(*rows(*no_robust_feature), tail=tail, contrast=bernoulli(0.8, seed=7))
    assert feature.decision == SUP and grp.decision == SUP and feature.details["contrast_robust_on_a"]
    # A head fooled below the majority rate (the planted null): still no contrast.
    verdicts = claim6(*rows(*no_robust_feature), tail=tail, contrast=bernoulli(0.2, seed=7))
    assert [v.decision for v in verdicts] == [UND, UND] and "contrast" in verdicts[0].reason
