"""Every claim's decision function, driven to supported, not supported and undetermined on planted data."""

import numpy as np
import pytest

from ntkcompanion import evidence as ev
from ntkcompanion.evidence import claims

SUP, NOT, UND = ev.Decision.SUPPORTED, ev.Decision.NOT_SUPPORTED, ev.Decision.UNDETERMINED
FAST = {"n_boot": 300}


def bernoulli(rates, n, seed):
    """0/1 array of shape ``rates.shape + (n,)`` with the given per-row success rates."""
    rates = np.asarray(rates, float)
    return (np.random.default_rng(seed).random(rates.shape + (n,)) < rates[..., None]).astype(float)


LABELS = np.repeat([-1, 1], 200)               # 400 balanced test points: majority rate 0.5
EPS = np.linspace(0.0, 0.3, 7)


# --- claim 1 ----------------------------------------------------------------------------------

def test_claim1_states():
    noise = bernoulli(np.full(7, 0.95), 400, 1)
    attacked = bernoulli(np.linspace(0.95, 0.0, 7), 400, 2)
    verdict = claims.claim1(EPS, attacked, noise, LABELS, **FAST)
    assert verdict.decision == SUP and verdict.ci[0] > 0.10
    assert 0.1 < verdict.details["eps_half"] < 0.2
    # An "attack" no stronger than noise of the same size.
    curve = np.linspace(0.95, 0.05, 7)
    verdict = claims.claim1(EPS, bernoulli(curve, 1000, 3), bernoulli(curve, 1000, 4), np.repeat([0, 1], 500), **FAST)
    assert verdict.decision == NOT
    # A predictor at chance has nothing to attack.
    verdict = claims.claim1(EPS, bernoulli(np.linspace(0.5, 0.0, 7), 400, 5), noise, LABELS, **FAST)
    assert verdict.decision == UND and verdict.reason == "clean accuracy not above the majority rate"
    # Noise this large already destroys the images: saturated.
    dead = bernoulli(np.r_[0.95, np.zeros(6)], 400, 6)
    verdict = claims.claim1(EPS, attacked, dead, LABELS, **FAST)
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED
    # A small effect on few points: the interval straddles the threshold.
    few = np.repeat([0, 1], 20)
    verdict = claims.claim1(EPS, bernoulli(np.linspace(0.95, 0.3, 7), 40, 7),
                            bernoulli(np.linspace(0.95, 0.5, 7), 40, 8), few, **FAST)
    assert verdict.decision == UND and verdict.reason == ev.Reason.STRADDLES


# --- claim 2 ----------------------------------------------------------------------------------

WIDTHS = [16, 64, 256, 1024, 4096]


def transfer_run(net_rates, kernel_rate=0.1, noise_rate=0.9, unrelated_rate=0.8, n=400):
    shape = (len(WIDTHS), 3)
    return dict(widths=WIDTHS,
                net_adv_correct=bernoulli(np.broadcast_to(np.asarray(net_rates)[:, None], shape), n, 1),
                kernel_adv_correct=bernoulli(kernel_rate, n, 2),
                net_noise_correct=bernoulli(np.full(shape, noise_rate), n, 3),
                net_unrelated_correct=bernoulli(np.full(shape, unrelated_rate), n, 4), **FAST)


def test_claim2_states():
    transfer, trend = claims.claim2(**transfer_run([0.6, 0.45, 0.3, 0.2, 0.12]))
    assert transfer.decision == SUP and trend.decision == SUP
    assert (transfer.key, trend.key) == ("claim2_transfer", "claim2_trend")    # distinct glue names
    # Wider nets drift away from the kernel, and the widest resists the kernel's examples as well
    # better than it resists an unrelated model's.
    transfer, trend = claims.claim2(**transfer_run([0.12, 0.2, 0.3, 0.45, 0.6], unrelated_rate=0.5))
    assert trend.decision == NOT and transfer.decision == NOT
    # Everything fooled at every width: transfer is perfect but the trend cannot show.
    transfer, trend = claims.claim2(**transfer_run([0.0] * 5, kernel_rate=0.0))
    assert transfer.decision == SUP
    assert trend.decision == UND and trend.reason == ev.Reason.SATURATED
    assert trend.details["widths"] == WIDTHS and transfer.details["share_fooled_transfer"][-1] == 1.0


# --- claim 3 ----------------------------------------------------------------------------------

def feature_rows(clean_rates, robust_rates, n=400, seed=0):
    return bernoulli(clean_rates, n, seed), bernoulli(robust_rates, n, seed + 1)


MIXED = ([0.85] * 5 + [0.8] * 5 + [0.5] * 20, [0.6] * 5 + [0.0] * 5 + [0.3] * 20)


def groups(head=(0.9, 0.5), tail=(0.85, 0.01), n=400):
    return dict(head_clean=bernoulli(head[0], n, 11), head_robust=bernoulli(head[1], n, 12),
                tail_clean=bernoulli(tail[0], n, 13), tail_robust=bernoulli(tail[1], n, 14), k=10)


def test_claim3_states():
    clean, robust = feature_rows(*MIXED)
    counts, group = claims.claim3(clean, robust, LABELS, **groups(), **FAST)
    assert counts.decision == SUP and counts.details["useful_robust"] == 5
    assert counts.details["useful_non_robust"] == 5 and counts.control_value <= 2
    assert group.decision == SUP
    # Every useful feature robust; the tail more robust than the head.
    clean, robust = feature_rows([0.85] * 10 + [0.5] * 20, [0.6] * 10 + [0.3] * 20)
    counts, group = claims.claim3(clean, robust, LABELS, **groups(head=(0.9, 0.1), tail=(0.85, 0.4)), **FAST)
    assert counts.decision == NOT and group.decision == NOT
    # Only a handful of useful features, all robust: too few to say the split is absent.
    clean, robust = feature_rows([0.85] * 4 + [0.5] * 26, [0.6] * 4 + [0.3] * 26)
    counts, _ = claims.claim3(clean, robust, LABELS, **groups(), **FAST)
    assert counts.decision == UND and counts.reason.startswith(ev.Reason.TOO_FEW)
    assert counts.ci[0] <= counts.estimate <= counts.ci[1]
    # Nothing useful; a tail at chance; both groups fooled everywhere.
    clean, robust = feature_rows([0.5] * 30, [0.3] * 30)
    counts, group = claims.claim3(clean, robust, LABELS, **groups(tail=(0.5, 0.0)), **FAST)
    assert counts.decision == UND and counts.reason.startswith(ev.Reason.TOO_FEW)
    assert group.decision == UND and "not useful" in group.reason
    _, group = claims.claim3(*feature_rows(*MIXED), LABELS, **groups(head=(0.9, 0.0), tail=(0.85, 0.0)), **FAST)
    assert group.decision == UND and group.reason == ev.Reason.SATURATED


def test_claim3_and_6_find_nothing_when_labels_are_permuted():
    from test_evidence import eigen_feature_correctness

    clean, labels = eigen_feature_correctness(permute_labels=True)
    robust = np.zeros_like(clean)
    group = dict(head_clean=clean[:5].max(0), head_robust=robust[0], tail_clean=clean[5:].max(0),
                 tail_robust=robust[0], k=5)
    counts, _ = claims.claim3(clean, robust, labels, **group, **FAST)
    assert counts.details["useful"] == 0 and counts.decision != SUP
    verdict = claims.claim6(clean, robust, labels, n_perm=30)
    assert verdict.decision != SUP and "feature" not in verdict.details


# Claim 4 (consistency across architectures): tests/test_claims_consistency.py.


# --- claim 5 ----------------------------------------------------------------------------------

def test_claim5_order_states():
    index = np.arange(40)
    rng = np.random.default_rng(9)
    falling = np.linspace(0.6, 0.0, 40) + rng.normal(0, 0.05, 40)
    all_useful = np.ones(40, bool)
    assert claims.claim5(index, falling, all_useful, **FAST)[0].decision == SUP
    assert claims.claim5(index, falling[::-1], all_useful, **FAST)[0].decision == NOT
    verdict = claims.claim5(index, falling, index < 3, **FAST)[0]
    assert verdict.decision == UND and verdict.reason == ev.Reason.TOO_FEW
    verdict = claims.claim5(index, np.zeros(40), all_useful, **FAST)[0]
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED


def tradeoff(clean_rates, robust_rates):
    return claims.claim5(np.arange(10), np.linspace(0.5, 0, 10), np.ones(10, bool),
                         clean_correct_t=bernoulli(clean_rates, 400, 1),
                         robust_correct_t=bernoulli(robust_rates, 400, 2),
                         labels=LABELS, times=[1, 10, 100, np.inf], **FAST)[1]


def test_claim5_tradeoff_states():
    # The second task: an early f_t at clean 0.74 / robust 0.415 against f_∞ at 0.845 / 0.0.
    verdict = tradeoff([0.74, 0.8, 0.83, 0.845], [0.415, 0.2, 0.05, 0.0])
    assert verdict.decision == SUP and verdict.details["times"][-1] is None
    assert tradeoff([0.74, 0.8, 0.83, 0.845], [0.0, 0.05, 0.1, 0.3]).decision == NOT
    verdict = tradeoff([0.74, 0.8, 0.83, 0.845], [0.0, 0.0, 0.0, 0.0])
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED
    verdict = tradeoff([0.5, 0.5, 0.5, 0.845], [0.4, 0.4, 0.4, 0.0])
    assert verdict.decision == UND and verdict.reason == "no early f_t is useful"


# --- claim 6 ----------------------------------------------------------------------------------

def test_claim6_states():
    clean, robust = feature_rows(*MIXED)
    verdict = claims.claim6(clean, robust, LABELS, n_perm=50)
    assert verdict.decision == SUP and 5 <= verdict.details["feature"] < 10
    assert verdict.control_value < verdict.estimate
    # Useful features exist, but every one of them is robust.
    clean, robust = feature_rows([0.85] * 10 + [0.5] * 20, [0.6] * 10 + [0.3] * 20)
    verdict = claims.claim6(clean, robust, LABELS, n_perm=50)
    assert verdict.decision == NOT and "robust on the confirmation half" in verdict.reason
    clean, robust = feature_rows([0.5] * 30, [0.0] * 30)
    verdict = claims.claim6(clean, robust, LABELS, n_perm=50)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW)


# --- claim 7 ----------------------------------------------------------------------------------

SWITCH = [0, 5, 10, 20, 40]
SLOW = np.array([[0.80, 0.90, 0.93, 0.96, 0.97]] * 3)      # lazy (within 0.02 of 0.97) from epoch 20
FAST_LAZY = np.array([[0.50, 0.60, 0.69, 0.70, 0.70], [0.5, 0.69, 0.7, 0.7, 0.7], [0.5, 0.6, 0.69, 0.7, 0.7]])


def linearisation(std, adv, seeds=3):
    return claims.claim7(switch_epochs=SWITCH, linearised_standard=std[:seeds], full_standard=std[:seeds, -1],
                         linearised_adversarial=adv[:seeds], full_adversarial=adv[:seeds, -1])[0]


def test_claim7_linearisation_states():
    assert claims.lazy_epochs(SWITCH, FAST_LAZY, FAST_LAZY[:, -1]).tolist() == [10, 5, 10]
    assert linearisation(SLOW, FAST_LAZY).decision == SUP
    assert linearisation(FAST_LAZY, SLOW).decision == NOT
    verdict = linearisation(SLOW, FAST_LAZY, seeds=1)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW)
    verdict = linearisation(SLOW, SLOW)
    assert verdict.decision == UND and verdict.reason == ev.Reason.TIE
    never = np.array([[0.5, 0.6, 0.7, 0.8, 0.9]] * 3)
    verdict = claims.claim7(switch_epochs=SWITCH, linearised_standard=never, full_standard=np.full(3, 0.97),
                            linearised_adversarial=never, full_adversarial=np.full(3, 0.97))[0]
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.SATURATED)


def test_claim7_velocity_and_mass_states():
    rng = np.random.default_rng(10)
    high, low = 0.5 + 0.02 * rng.normal(size=(3, 30)), 0.2 + 0.02 * rng.normal(size=(3, 30))
    velocity, mass = claims.claim7(velocity_standard=high, velocity_adversarial=low, topk_standard=low,
                                   topk_adversarial=high, transient=5, k=10)
    assert velocity.decision == SUP and mass.decision == SUP and "top-10" in mass.statistic
    assert {velocity.key, mass.key} == {"claim7_velocity", "claim7_topk"}
    velocity, mass = claims.claim7(velocity_standard=low, velocity_adversarial=high, topk_standard=high,
                                   topk_adversarial=low, transient=5)
    assert velocity.decision == NOT and mass.decision == NOT
    (mass,) = claims.claim7(topk_standard=np.ones((3, 30)), topk_adversarial=np.ones((3, 30)), transient=5)
    assert mass.decision == UND and mass.reason == ev.Reason.SATURATED
    (velocity,) = claims.claim7(velocity_standard=high[:1], velocity_adversarial=low[:1], transient=5)
    assert velocity.decision == UND and velocity.reason.startswith(ev.Reason.TOO_FEW)
    with pytest.raises(ValueError, match="transient"):
        claims.claim7(velocity_standard=high, velocity_adversarial=low, transient=30)


def test_threshold_sensitivity_moves_the_decision():
    noise = bernoulli(np.full(7, 0.95), 400, 1)
    attacked = bernoulli(np.linspace(0.95, 0.0, 7), 400, 2)
    rows = claims.threshold_sensitivity(claims.claim1, "threshold", [0.1, 0.9], EPS, attacked, noise, LABELS, **FAST)
    assert [row["decision"] for row in rows] == [SUP, NOT]


# --- claims 3 and 5: the task-permutation null and the trade-off on its own (sections 4 and 5) ---------

def test_claim3_counts_control_from_label_permuted_tasks():
    from test_evidence import eigen_feature_correctness

    clean, labels = eigen_feature_correctness(permute_labels=False)
    robust = np.zeros_like(clean)
    robust[:3] = bernoulli(np.full(3, 0.6), clean.shape[1], 21)     # three robust features planted
    null = [eigen_feature_correctness(permute_labels=True, seed=s) for s in range(1, 6)]
    group = dict(head_clean=clean[0], head_robust=robust[0], tail_clean=clean[-1], tail_robust=robust[-1], k=3)
    counts, _ = claims.claim3(clean, robust, labels, **group, null_clean_correct=np.stack([c for c, _ in null]),
                              null_labels=np.stack([y for _, y in null]), weights=np.full(len(clean), 2.0), **FAST)
    assert counts.control.startswith("useful features of label-permuted tasks")
    assert counts.control_value == 0 and counts.details["null_useful"] == [0] * 5
    assert counts.details["useful"] >= 1 and counts.details["weighted"]["useful"] == 2 * counts.details["useful"]
    rows = counts.details["sensitivity"]
    assert {(r["q"], r["gamma0"]) for r in rows} >= {(0.05, 0.10)}
    with pytest.raises(ValueError, match="null_labels"):
        claims.claim3(clean, robust, labels, **group, null_clean_correct=np.stack([c for c, _ in null]), **FAST)


def test_claim5_tradeoff_alone_and_nothing_asked():
    n = 400
    labels = np.repeat([-1, 1], n // 2)
    clean_t = bernoulli(np.array([0.75, 0.85, 0.9]), n, 31)
    robust_t = bernoulli(np.array([0.45, 0.2, 0.0]), n, 32)
    (tradeoff,) = claims.claim5(clean_correct_t=clean_t, robust_correct_t=robust_t, labels=labels, **FAST)
    assert tradeoff.key == "claim5_tradeoff" and tradeoff.decision == SUP
    assert tradeoff.details["best"] == 0 and tradeoff.details["early_useful"] == [True, True]
    (tradeoff,) = claims.claim5(clean_correct_t=clean_t, robust_correct_t=robust_t[::-1], labels=labels, **FAST)
    assert tradeoff.decision == NOT
    with pytest.raises(ValueError, match="claim5 needs"):
        claims.claim5()


# --- claim 6 against permuted tasks (section 7) ----------------------------------------------

def permuted_tasks(labels, n_features, n_perm=30, seed=50):
    """Null correctness of features of label-permuted tasks: right at the chance rate of each permuted label."""
    rng = np.random.default_rng(seed)
    ys = np.stack([rng.permutation(labels) for _ in range(n_perm)])
    rate = 1.0 / np.unique(labels).size
    return bernoulli(np.full((n_perm, n_features), rate), labels.size, seed + 1), ys


def test_claim6_states_against_permuted_tasks_any_number_of_classes():
    ten = np.repeat(np.arange(10), 40)              # 400 points, ten classes: majority 0.1
    clean = bernoulli([0.35] * 3 + [0.1] * 27, 400, 31)
    robust = bernoulli([0.0] * 3 + [0.05] * 27, 400, 32)
    null, ys = permuted_tasks(ten, 30)
    verdict = claims.claim6(clean, robust, ten, null_clean_correct=null, null_labels=ys)
    assert verdict.decision == SUP and verdict.details["feature"] < 3 and verdict.control_value < verdict.estimate
    # The useful features are robust: not supported.
    verdict = claims.claim6(clean, bernoulli([0.3] * 3 + [0.05] * 27, 400, 33), ten, null_clean_correct=null,
                            null_labels=ys)
    assert verdict.decision == NOT
    # No feature beats chance: nothing to select.
    verdict = claims.claim6(bernoulli([0.1] * 30, 400, 34), robust, ten, null_clean_correct=null, null_labels=ys)
    assert verdict.decision == UND
    # A null that is as strong as the features (e.g. a label leak): the estimate does not beat it.
    leak = np.broadcast_to(clean, (30,) + clean.shape)
    verdict = claims.claim6(clean, robust, ten, null_clean_correct=leak, null_labels=np.broadcast_to(ten, (30, 400)))
    assert verdict.decision == UND and "null" in verdict.reason
    with pytest.raises(ValueError, match="null_labels"):
        claims.claim6(clean, robust, ten, null_clean_correct=null)


def test_claim7_saturation_identical_differences_and_undertrained_nets():
    # A robust accuracy of 0 everywhere puts every linearised run "within the margin" at epoch 0.
    zero = np.zeros((3, 5))
    verdict = linearisation(SLOW, zero)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.SATURATED)
    verdict = linearisation(np.ones((3, 5)), FAST_LAZY)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.CEILING)
    # Lazy at 20 (standard) and at 10 (adversarial) on every seed: a zero-width t-interval that
    # three seeds cannot back (sign test p = 1/8), five can (1/32).
    fast = np.array([[0.5, 0.6, 0.69, 0.7, 0.7]] * 5)
    verdict = linearisation(np.repeat(SLOW[:1], 5, axis=0), fast, seeds=3)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW) and "sign test" in verdict.reason
    assert verdict.estimate == 10
    assert linearisation(np.repeat(SLOW[:1], 5, axis=0), fast, seeds=5).decision == SUP
    assert linearisation(fast, np.repeat(SLOW[:1], 5, axis=0), seeds=5).decision == NOT
    # Nets below the stated accuracy: nothing is decided, whatever the measurements say.
    rng = np.random.default_rng(11)
    high, low = 0.5 + 0.02 * rng.normal(size=(3, 30)), 0.2 + 0.02 * rng.normal(size=(3, 30))
    decided = claims.claim7(velocity_standard=high, velocity_adversarial=low, transient=5)[0]
    assert decided.decision == SUP
    verdicts = claims.claim7(switch_epochs=SWITCH, linearised_standard=SLOW, full_standard=SLOW[:, -1],
                             linearised_adversarial=FAST_LAZY, full_adversarial=FAST_LAZY[:, -1],
                             velocity_standard=high, velocity_adversarial=low, transient=5,
                             undertrained="standard clean 0.93 < 0.95")
    assert [v.decision for v in verdicts] == [UND, UND]
    assert all(v.reason == "nets below the stated accuracy: standard clean 0.93 < 0.95" for v in verdicts)


def test_claim2_reports_per_width_intervals_and_laziness():
    # Planted: gaps shrink with width; the widest nets moved 0.05 (lazy), the narrowest 0.5 (not lazy).
    run = transfer_run([0.6, 0.45, 0.3, 0.2, 0.12])
    moved = {"kernel_change": np.array([[0.5, 0.6, 0.4], [0.3] * 3, [0.2] * 3, [0.12] * 3, [0.04, 0.05, 0.06]])}
    transfer, _ = claims.claim2(**run, laziness=moved)
    d = transfer.details
    for key in ("gap_ci", "share_fooled_transfer_ci"):
        low, high = np.asarray(d[key]).T
        value = np.asarray(d["gap" if key == "gap_ci" else "share_fooled_transfer"])
        assert len(low) == len(WIDTHS) and (low <= value + 1e-12).all() and (value <= high + 1e-12).all()
    # Gap CIs at the narrowest and widest width do not overlap (0.5 vs 0.02 on 400 points).
    assert d["gap_ci"][0][0] > d["gap_ci"][-1][1]
    assert d["laziness"]["kernel_change"][-1] == pytest.approx(0.05)
    low, high = d["laziness_ci"]["kernel_change"][-1]
    assert low < 0.05 < high
    assert d["lazy_widest"] == {"kernel_change": True}
    transfer, _ = claims.claim2(**run, laziness={"kernel_change": moved["kernel_change"][::-1]})
    assert transfer.details["lazy_widest"] == {"kernel_change": False}


def test_budget_curves_intervals_and_halving_budgets():
    n = 400
    attacked = bernoulli(np.linspace(0.9, 0.0, 7), n, 41)          # halves near 0.15 on EPS
    noise = bernoulli(np.full(7, 0.9), n, 42)                      # never halves
    out = claims.budget_curves(EPS, {"PGD": attacked, "noise": noise}, **FAST)
    rows = [r for r in out["curves"] if r["kind"] == "PGD"]
    assert [r["eps"] for r in rows] == EPS.tolist() and all(r["n"] == n for r in rows)
    for r, hits in zip(rows, attacked.sum(axis=1)):
        assert r["accuracy"] == hits / n
        assert r["ci_low"] <= r["accuracy"] <= r["ci_high"] and r["ci_high"] - r["ci_low"] < 0.11   # ~2·1.96·0.025
    halves = {h["kind"]: h for h in out["halving"]}
    pgd = halves["PGD"]                                            # the planted curve halves at 0.15
    assert abs(pgd["eps_half"] - 0.15) < 0.02 and pgd["ci_low"] <= pgd["eps_half"] <= pgd["ci_high"]
    assert pgd["ci_high"] - pgd["ci_low"] < 0.03
    assert np.isnan(halves["noise"]["eps_half"])
    with pytest.raises(ValueError, match="budgets"):
        claims.budget_curves(EPS[:3], {"PGD": attacked}, **FAST)


def test_claim3_takes_groups_and_null_as_pairs():
    clean, robust = feature_rows(*MIXED)
    g = groups()
    counts, group = claims.claim3(clean, robust, LABELS, **g, **FAST)
    pairs = (np.stack([g["head_clean"], g["tail_clean"]]), np.stack([g["head_robust"], g["tail_robust"]]))
    counts2, group2 = claims.claim3(clean, robust, LABELS, groups=pairs, k=10,
                                    null=(clean[None], LABELS[None]), **FAST)
    assert (group2.estimate, group2.ci, group2.decision) == (group.estimate, group.ci, group.decision)
    assert counts2.details["null_useful"] == [counts2.details["useful"]]        # unpermuted "null": all pass


# --- claim 6 with the tail group -----------------------------------------------------------------

WEAK = ([0.5] * 30, [0.0] * 30)                 # no single feature useful at 400 points
ROBUST_ONLY = ([0.85] * 10 + [0.5] * 20, [0.6] * 10 + [0.3] * 20)


def tail_group(clean=0.7, robust=0.01, seed=60, n=400):
    return bernoulli(clean, n, seed), bernoulli(robust, n, seed + 1)


def test_claim6_tail_group_states():
    # No single feature is useful, but the tail group is useful and non-robust: confirmed by the group.
    verdict = claims.claim6(*feature_rows(*WEAK), LABELS, n_perm=50, tail=tail_group(), k=20)
    assert verdict.decision == SUP and verdict.details["confirmed_by"] == ["tail group"]
    assert "Σ_(i>20)" in verdict.reason and verdict.control_value < verdict.estimate < 0.3
    assert verdict.details["tail_group"]["gamma_b"] <= ev.GAMMA0 and "feature" not in verdict.details
    # The robust single feature fails on B, the tail group is confirmed: supported, by the group.
    verdict = claims.claim6(*feature_rows(*ROBUST_ONLY), LABELS, n_perm=50, tail=tail_group(), k=20)
    assert verdict.decision == SUP and verdict.details["confirmed_by"] == ["tail group"]
    assert verdict.details["feature_path"]["decision"] == NOT
    # A non-robust single feature and the group both confirm: the feature's estimate is reported.
    verdict = claims.claim6(*feature_rows(*MIXED), LABELS, n_perm=50, tail=tail_group(), index=np.arange(30) + 10)
    assert verdict.decision == SUP and verdict.details["confirmed_by"] == ["feature", "tail group"]
    assert verdict.estimate == verdict.details["feature_path"]["estimate"] and "feature φ_1" in verdict.reason
    # Both candidates robust on B: not supported, with both reasons.
    robust_on_b = tail_group()[1].copy()
    _, b = ev.split_halves(400, seed=0)
    robust_on_b[b] = 1.0                             # non-robust on A, robust on B
    verdict = claims.claim6(*feature_rows(*ROBUST_ONLY), LABELS, n_perm=50, tail=(tail_group()[0], robust_on_b))
    assert verdict.decision == NOT and verdict.reason.count("robust on the confirmation half") == 2
    # The group alone, robust on B: not supported.
    verdict = claims.claim6(*feature_rows(*WEAK), LABELS, n_perm=50, tail=(tail_group()[0], robust_on_b))
    assert verdict.decision == NOT and "tail group" in verdict.reason
    # The tail group is useful but robust on A: no candidate at all.
    verdict = claims.claim6(*feature_rows(*WEAK), LABELS, n_perm=50, tail=tail_group(robust=0.5))
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW)
    assert not verdict.details["tail_group"]["candidate"]
    # A tail group that is a candidate on A but does not beat a label-permutation null as strong as itself.
    clean_t, robust_t = tail_group()
    leak = (np.broadcast_to(clean_t, (30, 400)), np.broadcast_to(LABELS, (30, 400)))
    verdict = claims.claim6(*feature_rows(*WEAK), LABELS, n_perm=50, tail=(clean_t, robust_t), tail_null=leak)
    assert verdict.decision == UND and "null" in verdict.reason


def test_claim6_tail_group_confirms_nothing_when_labels_are_permuted():
    rng = np.random.default_rng(70)
    clean_t, robust_t = tail_group()
    found = 0
    for _ in range(20):
        permuted = rng.permutation(LABELS)
        tail = (claims.permuted_correctness(clean_t, LABELS, permuted), robust_t)
        clean, robust = feature_rows(*MIXED)
        verdict = claims.claim6(claims.permuted_correctness(clean, LABELS, permuted), robust, LABELS, n_perm=20,
                                tail=tail)
        found += verdict.decision == SUP
    assert found == 0


def test_claim6_tail_group_against_permuted_tasks():
    clean_t, robust_t = tail_group()
    null_t = (bernoulli(np.full(30, 0.5), 400, 71), np.stack([np.random.default_rng(72 + i).permutation(LABELS)
                                                              for i in range(30)]))
    verdict = claims.claim6(*feature_rows(*WEAK), LABELS, n_perm=50, tail=(clean_t, robust_t), tail_null=null_t)
    assert verdict.decision == SUP and verdict.control.endswith("of 30)")
    with pytest.raises(ValueError, match="tail robust"):
        claims.claim6(*feature_rows(*WEAK), LABELS, tail=(clean_t, robust_t[:10]))
