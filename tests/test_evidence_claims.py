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
    verdict = claims.claim1(EPS, attacked, noise, LABELS, at=0.15, **FAST)
    # Planted gap at ε = 0.15: 0.95 − 0.475 = 0.475; the interval holds it and clears 0.10.
    assert verdict.decision == SUP and verdict.ci[0] > 0.10 and verdict.ci[0] < 0.475 < verdict.ci[1]
    assert 0.1 < verdict.details["eps_half"] < 0.2 and verdict.details["budget_ratio_censored"]
    # A weaker attack gives a smaller gap at the same budget: the statistic is not fixed by construction.
    weaker = claims.claim1(EPS, bernoulli(np.linspace(0.95, 0.6, 7), 400, 3), noise, LABELS, at=0.15, **FAST)
    assert weaker.estimate < verdict.estimate - 0.2 and weaker.ci[0] < 0.3 < verdict.ci[0]
    # Planted null: an "attack" no stronger than noise of the same size, on many points.
    curve = np.linspace(0.95, 0.05, 7)
    null = claims.claim1(EPS, bernoulli(curve, 1000, 3), bernoulli(curve, 1000, 4), np.repeat([0, 1], 500), **FAST)
    assert null.decision == NOT and null.ci[0] < 0 < null.ci[1]
    # The same null on few points: never supported, undetermined.
    few = np.repeat([0, 1], 20)
    null = claims.claim1(EPS, bernoulli(curve, 40, 5), bernoulli(curve, 40, 6), few, at=0.15, **FAST)
    assert null.decision == UND and null.reason == ev.Reason.STRADDLES
    # A predictor at chance has nothing to attack.
    verdict = claims.claim1(EPS, bernoulli(np.linspace(0.5, 0.0, 7), 400, 5), noise, LABELS, **FAST)
    assert verdict.decision == UND and verdict.reason == "clean accuracy not above the majority rate"
    # Noise this large already destroys the images: saturated.
    dead = bernoulli(np.r_[0.95, np.zeros(6)], 400, 6)
    verdict = claims.claim1(EPS, attacked, dead, LABELS, **FAST)
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED
    # A budget that moves nothing: attack and noise leave the same points right, a tie.
    still = np.repeat(bernoulli([0.9], 400, 7), 7, axis=0)
    verdict = claims.claim1(EPS, still, still, LABELS, at=0.05, **FAST)
    assert verdict.decision == UND and verdict.reason == ev.Reason.TIE
    with pytest.raises(ValueError, match="at = 0.12"):
        claims.claim1(EPS, attacked, noise, LABELS, at=0.12, **FAST)


def test_claim1_budget_ratio_of_the_halving_budgets():
    # Attack halves at 0.1, noise at 0.2 (deterministic curves on 400 points): ratio 2.
    eps = np.array([0.0, 0.1, 0.2, 0.3])
    attacked = np.zeros((4, 400))
    attacked[0], attacked[1, :200] = 1, 1
    noise = np.ones((4, 400))
    noise[2:, 200:] = 0
    d = claims.claim1(eps, attacked, noise, LABELS, **FAST).details
    assert d["eps_half"] == pytest.approx(0.1) and d["eps_half_noise"] == pytest.approx(0.2)
    assert d["budget_ratio"] == pytest.approx(2.0) and not d["budget_ratio_censored"]
    assert d["gap_curve"] == pytest.approx([0.0, 0.5, 0.5, 0.5]) and d["at"] == 0.3


# --- claim 2 ----------------------------------------------------------------------------------

WIDTHS = [16, 64, 256, 1024, 4096]


def transfer_run(net_rates, kernel_rate=0.1, noise_rate=0.9, unrelated_rate=0.8, n=400, seeds=5, seed_sd=0.0,
                 widths=WIDTHS):
    """Planted claim-2 inputs: per width and seed a rate on the kernel's examples (``net_rates`` per width,
    plus a seed-level normal jitter ``seed_sd``), on noise and on an unrelated model's examples."""
    shape = (len(widths), seeds)
    jitter = np.random.default_rng(0).normal(0.0, seed_sd, shape)
    rates = np.clip(np.asarray(net_rates, float)[:, None] + jitter, 0, 1)
    return dict(widths=widths, net_adv_correct=bernoulli(rates, n, 1), kernel_adv_correct=bernoulli(kernel_rate, n, 2),
                net_noise_correct=bernoulli(np.full(shape, noise_rate), n, 3),
                net_unrelated_correct=bernoulli(np.full(shape, unrelated_rate), n, 4), **FAST)


def test_claim2_states():
    transfer, trend = claims.claim2(**transfer_run([0.6, 0.45, 0.3, 0.2, 0.12]))
    assert transfer.decision == SUP and trend.decision == SUP
    assert (transfer.key, trend.key) == ("claim2_transfer", "claim2_trend")    # distinct glue names
    # Planted margins: 0.8 − 0.12 at the widest width; (0.8 − 0.12) − (0.8 − 0.6) = 0.48 across widths.
    assert transfer.ci[0] < 0.68 < transfer.ci[1] and trend.ci[0] < 0.48 < trend.ci[1]
    assert transfer.n == trend.n == 5                                           # n = seeds
    # Wider nets drift away from the kernel, and the widest resists the kernel's examples
    # better than it resists an unrelated model's.
    transfer, trend = claims.claim2(**transfer_run([0.12, 0.2, 0.3, 0.45, 0.6], unrelated_rate=0.5))
    assert trend.decision == NOT and transfer.decision == NOT
    # Everything fooled at every width: transfer is plain but the trend cannot show.
    transfer, trend = claims.claim2(**transfer_run([0.0] * 5, kernel_rate=0.0))
    assert transfer.decision == SUP
    assert trend.decision == UND and trend.reason == ev.Reason.SATURATED
    assert trend.details["widths"] == WIDTHS and transfer.details["share_fooled_transfer"][-1] == 1.0
    # Two seeds are too few for an interval over seeds.
    transfer, trend = claims.claim2(**transfer_run([0.6, 0.45, 0.3, 0.2, 0.12], seeds=2))
    assert transfer.decision == trend.decision == UND and transfer.reason.startswith("too few seeds")


def test_claim2_planted_null_is_never_supported():
    # The kernel's examples fool the nets exactly as often as the stronger control, at every width.
    for n, seeds in ((400, 5), (4000, 8)):
        transfer, trend = claims.claim2(**transfer_run([0.8] * 5, n=n, seeds=seeds))
        assert SUP not in (transfer.decision, trend.decision)
        assert transfer.ci[1] < 0.05                             # margin ≈ 0: decidedly below the 0.05 threshold
        assert trend.ci[0] < 0 < trend.ci[1]
    # Wider nets merely more fragile: accuracy on the kernel's examples falls 0.6 → 0.2 with width (to the
    # kernel's own 0.2), but both controls fall alongside, 0.1 above it. The transfer is real; its trend is not.
    falling = np.linspace(0.6, 0.2, 5)
    run = transfer_run(falling, kernel_rate=0.2, n=1000)
    run["net_noise_correct"] = run["net_unrelated_correct"] = bernoulli(np.repeat(falling[:, None] + 0.1, 5, 1), 1000, 9)
    transfer, trend = claims.claim2(**run)
    assert transfer.decision == SUP and trend.decision != SUP and trend.ci[0] < 0 < trend.ci[1]


def test_claim2_intervals_are_over_seeds():
    # Seed-level spread (sd 0.15 per net) around a small planted trend, on many points: a bootstrap over
    # test points alone would call it; the interval over seeds does not.
    run = transfer_run([0.7, 0.7, 0.7, 0.7, 0.62], n=4000, seeds=5, seed_sd=0.15)
    transfer, trend = claims.claim2(**run)
    per_seed = np.asarray(trend.details["per_seed"])
    assert per_seed.shape == (5,) and trend.estimate == pytest.approx(per_seed.mean())
    assert trend.decision == UND and trend.ci[1] - trend.ci[0] > 2 * per_seed.std(ddof=1) / np.sqrt(5)

    def seed_mean_trend(a, z, u):            # the same statistic, test points as the only noise
        m = np.minimum(z.mean(-1), u.mean(-1)) - a.mean(-1)
        return (m[..., -1, :] - m[..., 0, :]).mean(-1)
    _, (low, _) = ev.bootstrap(seed_mean_trend, run["net_adv_correct"], run["net_noise_correct"],
                               run["net_unrelated_correct"], **FAST)
    assert low > 0


def test_claim2_unsorted_widths_give_the_sorted_verdicts():
    run = transfer_run([0.6, 0.45, 0.3, 0.2, 0.12], seed_sd=0.03)
    order = [4, 0, 2, 3, 1]
    shuffled = dict(run, widths=[WIDTHS[i] for i in order],
                    **{k: run[k][order] for k in ("net_adv_correct", "net_noise_correct", "net_unrelated_correct")})
    for a, b in zip(claims.claim2(**run), claims.claim2(**shuffled)):
        assert (a.decision, a.estimate, a.ci) == (b.decision, b.estimate, b.ci)
        assert b.details["widths"] == WIDTHS
    reversed_run = dict(run, widths=WIDTHS[::-1],
                        **{k: run[k][::-1] for k in ("net_adv_correct", "net_noise_correct", "net_unrelated_correct")})
    assert [v.decision for v in claims.claim2(**reversed_run)] == [SUP, SUP]
    with pytest.raises(ValueError, match="appears twice"):
        claims.claim2(**dict(run, widths=[16, 64, 64, 1024, 4096]))


# --- claim 3 ----------------------------------------------------------------------------------

def feature_rows(clean_rates, robust_rates, n=400, seed=0):
    return bernoulli(clean_rates, n, seed), bernoulli(robust_rates, n, seed + 1)


MIXED = ([0.85] * 5 + [0.8] * 5 + [0.5] * 20, [0.6] * 5 + [0.0] * 5 + [0.3] * 20)


def groups(head=(0.9, 0.5), tail=(0.85, 0.01), n=400):
    return dict(head_clean=bernoulli(head[0], n, 11), head_robust=bernoulli(head[1], n, 12),
                tail_clean=bernoulli(tail[0], n, 13), tail_robust=bernoulli(tail[1], n, 14), k=10)


def test_claim3_and_6_find_nothing_when_labels_are_permuted():
    from test_evidence import eigen_feature_correctness

    clean, labels = eigen_feature_correctness(permute_labels=True)
    robust = np.zeros_like(clean)
    group = dict(head_clean=clean[:5].max(0), head_robust=robust[0], tail_clean=clean[5:].max(0),
                 tail_robust=robust[0], k=5)
    counts, _ = claims.claim3(clean, robust, labels, **group, **FAST)
    assert counts.details["useful"] == 0 and counts.decision != SUP
    (verdict,) = claims.claim6(clean, robust, labels, n_perm=30)
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


# --- claim 6 ----------------------------------------------------------------------------------

# --- claim 7 ----------------------------------------------------------------------------------

SWITCH = [0, 5, 10, 20, 40]
SLOW = np.array([[0.80, 0.90, 0.93, 0.96, 0.97]] * 3)      # lazy (within 0.02 of 0.97) from epoch 20
FAST_LAZY = np.array([[0.50, 0.60, 0.69, 0.70, 0.70], [0.5, 0.69, 0.7, 0.7, 0.7], [0.5, 0.6, 0.69, 0.7, 0.7]])


def linearisation(std, adv, seeds=3):
    return claims.claim7(switch_epochs=SWITCH, linearised_standard={"clean": std[:seeds]},
                         full_standard={"clean": std[:seeds, -1]}, linearised_adversarial={"clean": adv[:seeds]},
                         full_adversarial={"clean": adv[:seeds, -1]})[0]


def test_claim7_linearisation_states():
    assert claims.lazy_epochs(SWITCH, FAST_LAZY, FAST_LAZY[:, -1]).tolist() == [10, 5, 10]
    assert linearisation(SLOW, FAST_LAZY).decision == SUP
    assert linearisation(FAST_LAZY, SLOW).decision == NOT
    verdict = linearisation(SLOW, FAST_LAZY, seeds=1)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW)
    verdict = linearisation(SLOW, SLOW)
    assert verdict.decision == UND and verdict.reason == ev.Reason.TIE
    never = np.array([[0.5, 0.6, 0.7, 0.8, 0.9]] * 3)
    verdict = claims.claim7(switch_epochs=SWITCH, linearised_standard={"clean": never},
                            full_standard={"clean": np.full(3, 0.97)}, linearised_adversarial={"clean": never},
                            full_adversarial={"clean": np.full(3, 0.97)})[0]
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
    rows = claims.threshold_sensitivity(claims.claim1, "threshold", [0.1, 0.6], EPS, attacked, noise, LABELS,
                                        at=0.15, **FAST)
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
    clean_t = bernoulli(np.array([0.75, 0.85, 0.95]), n, 31)
    robust_t = bernoulli(np.array([0.7, 0.2, 0.0]), n, 32)
    (tradeoff,) = claims.claim5(clean_correct_t=clean_t, robust_correct_t=robust_t, labels=labels, **FAST)
    assert tradeoff.key == "claim5_tradeoff" and tradeoff.decision == SUP
    assert tradeoff.details["best"] == 0 and tradeoff.details["early"] == [True, True]
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
    # Three useful non-robust features, three robustly useful ones (the contrast), the rest at chance.
    clean = bernoulli([0.35] * 3 + [0.4] * 3 + [0.1] * 24, 400, 31)
    robust = bernoulli([0.0] * 3 + [0.35] * 3 + [0.05] * 24, 400, 32)
    null, ys = permuted_tasks(ten, 30)
    (verdict,) = claims.claim6(clean, robust, ten, null_clean_correct=null, null_labels=ys)
    assert verdict.decision == SUP and verdict.details["feature"] < 3
    # Every useful feature is robustly useful: no candidate, and six useful features are too few to
    # call that evidence against the claim (MIN_USEFUL_TO_SPLIT).
    (verdict,) = claims.claim6(clean, bernoulli([0.3] * 6 + [0.05] * 24, 400, 33), ten, null_clean_correct=null,
                               null_labels=ys)
    assert verdict.decision == UND and verdict.reason.startswith(ev.Reason.TOO_FEW)
    # No feature beats chance: nothing to select.
    (verdict,) = claims.claim6(bernoulli([0.1] * 30, 400, 34), robust, ten, null_clean_correct=null, null_labels=ys)
    assert verdict.decision == UND
    # A null that is as strong as the features (e.g. a label leak): the estimate does not beat it.
    leak = np.broadcast_to(clean, (30,) + clean.shape)
    (verdict,) = claims.claim6(clean, robust, ten, null_clean_correct=leak,
                               null_labels=np.broadcast_to(ten, (30, 400)))
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
    verdicts = claims.claim7(switch_epochs=SWITCH, linearised_standard={"clean": SLOW},
                             full_standard={"clean": SLOW[:, -1]}, linearised_adversarial={"clean": FAST_LAZY},
                             full_adversarial={"clean": FAST_LAZY[:, -1]},
                             velocity_standard=high, velocity_adversarial=low, transient=5,
                             undertrained="standard clean 0.93 < 0.95")
    assert [v.decision for v in verdicts] == [UND, UND]
    assert all(v.reason == "nets below the stated accuracy: standard clean 0.93 < 0.95" for v in verdicts)


def test_claim2_reports_per_width_intervals_and_laziness():
    # Planted: margins grow with width; the widest nets moved 0.05 (lazy), the narrowest 0.5 (not lazy).
    run = transfer_run([0.6, 0.45, 0.3, 0.2, 0.12], seeds=3)
    moved = {"kernel_change": np.array([[0.5, 0.6, 0.4], [0.3] * 3, [0.2] * 3, [0.12] * 3, [0.04, 0.05, 0.06]])}
    transfer, _ = claims.claim2(**run, laziness=moved)
    d = transfer.details
    for key in ("margin", "share_fooled_transfer"):
        low, high = np.asarray(d[f"{key}_ci"]).T
        value = np.asarray(d[key])
        assert len(low) == len(WIDTHS) and (low <= value + 1e-12).all() and (value <= high + 1e-12).all()
    # Margin CIs at the narrowest (0.2) and widest (0.68) width do not overlap.
    assert d["margin_ci"][0][1] < d["margin_ci"][-1][0]
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
# Five robustly useful features (the contrast claim 6 needs), the rest at chance.
WEAK_WITH_ROBUST = ([0.85] * 5 + [0.5] * 25, [0.75] * 5 + [0.0] * 25)


def tail_group(clean=0.7, robust=0.01, seed=60, n=400):
    return bernoulli(clean, n, seed), bernoulli(robust, n, seed + 1)


def test_claim6_tail_group_confirms_nothing_when_labels_are_permuted():
    rng = np.random.default_rng(70)
    clean_t, robust_t = tail_group()
    found = 0
    for _ in range(20):
        permuted = rng.permutation(LABELS)
        tail = (claims.permuted_correctness(clean_t, LABELS, permuted), robust_t)
        clean, robust = feature_rows(*MIXED)
        verdicts = claims.claim6(claims.permuted_correctness(clean, LABELS, permuted), robust, LABELS, n_perm=20,
                                 tail=tail)
        found += sum(v.decision == SUP for v in verdicts)
    assert found == 0


def test_claim6_tail_group_against_permuted_tasks():
    clean_t, robust_t = tail_group()
    null_t = (bernoulli(np.full(30, 0.5), 400, 71), np.stack([np.random.default_rng(72 + i).permutation(LABELS)
                                                              for i in range(30)]))
    _, verdict = claims.claim6(*feature_rows(*WEAK_WITH_ROBUST), LABELS, n_perm=50, tail=(clean_t, robust_t),
                               tail_null=null_t)
    assert verdict.decision == SUP and "30 select-and-confirm runs" in verdict.control
    with pytest.raises(ValueError, match="tail robust"):
        claims.claim6(*feature_rows(*WEAK), LABELS, tail=(clean_t, robust_t[:10]))
