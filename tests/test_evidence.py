"""The evidence layer's parts: three-state decisions, intervals, tests and the one vocabulary."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from ntkcompanion import evidence as ev
from ntkcompanion.evidence import reference

SUP, NOT, UND = ev.Decision.SUPPORTED, ev.Decision.NOT_SUPPORTED, ev.Decision.UNDETERMINED


# --- decisions and the verdict record ---------------------------------------------------------

@pytest.mark.parametrize("ci, direction, expected", [
    ((0.2, 0.4), "above", (SUP, ev.Reason.ABOVE)),
    ((-0.4, -0.2), "above", (NOT, ev.Reason.BELOW)),
    ((-0.1, 0.3), "above", (UND, ev.Reason.STRADDLES)),
    ((-0.4, -0.2), "below", (SUP, ev.Reason.BELOW)),
    ((0.2, 0.4), "below", (NOT, ev.Reason.ABOVE)),
])
def test_decide_reads_the_interval_against_the_threshold(ci, direction, expected):
    assert ev.decide(sum(ci) / 2, ci, 0.0, direction=direction) == expected


def test_unresolved_statistics_are_never_not_supported():
    bad = (-0.4, -0.2)                         # an interval that would otherwise read "not supported"
    assert ev.decide(-0.3, bad, 0.0, saturated=True) == (UND, ev.Reason.SATURATED)
    assert ev.decide(-0.3, bad, 0.0, ceiling=True) == (UND, ev.Reason.CEILING)
    assert ev.decide(-0.3, bad, 0.0, tie=True) == (UND, ev.Reason.TIE)
    assert ev.decide(-0.3, bad, 0.0, n=3, min_n=10) == (UND, ev.Reason.TOO_FEW)
    assert ev.decide(math.nan, (math.nan, math.nan), 0.0) == (UND, ev.Reason.NAN)
    assert ev.decide(0.0, (0.0, 0.0), 0.0) == (UND, ev.Reason.TIE)
    with pytest.raises(ValueError, match="direction"):
        ev.decide(0.0, (0, 1), 0.0, direction="up")


def test_verdict_round_trips_through_json_with_nan():
    verdict = ev.make_verdict(2, "gap", "words", math.nan, (math.nan, 0.3), threshold=0.0, control="noise",
                              control_value=0.9, n=100, details={"widths": [16, 64]})
    record = json.loads(json.dumps(verdict.to_dict()))
    assert record["estimate"] is None and record["decision"] == UND and record["reason"] == ev.Reason.NAN
    back = ev.Verdict.from_dict(record)
    assert back.key == "claim2"                                      # the default glue name
    assert math.isnan(back.estimate) and back.ci[1] == 0.3 and back.details == {"widths": [16, 64]}
    with pytest.raises(ValueError, match="claim"):
        ev.Verdict.from_dict({**record, "claim": 8})
    with pytest.raises(ValueError, match="decision"):
        ev.Verdict.from_dict({**record, "decision": "holds"})


# --- statistics -------------------------------------------------------------------------------

def test_benjamini_hochberg_matches_a_hand_computed_example():
    # Sorted: 0.005, 0.01, 0.031, 0.039, 0.20 against k q / 5 = 0.01, 0.02, 0.03, 0.04, 0.05:
    # the 4th passes (0.039 ≤ 0.04) so the step-up rejects the four smallest, 0.031 included.
    p = [0.01, 0.039, 0.031, 0.005, 0.20]
    assert ev.benjamini_hochberg(p, q=0.05).tolist() == [True, True, True, True, False]
    # At q = 0.03 the bounds are 0.006, 0.012, 0.018, 0.024, 0.03: only the two smallest pass.
    assert ev.benjamini_hochberg(p, q=0.03).tolist() == [True, False, False, True, False]


def test_bootstrap_interval_covers_a_bernoulli_mean():
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(150):
        sample = (rng.random(200) < 0.3).astype(float)
        _, (low, high) = ev.mean_ci(sample, n_boot=400, seed=trial)
        covered += low <= 0.3 <= high
    assert 0.88 <= covered / 150 <= 0.99


def test_paired_bootstrap_uses_the_same_points_for_both_arrays():
    rng = np.random.default_rng(2)
    a = rng.normal(size=300)
    estimate, (low, high) = ev.paired_difference_ci(a + 0.5, a, seed=0)
    assert estimate == pytest.approx(0.5) and high - low < 1e-9     # a paired difference has no spread


def test_seed_interval_is_the_t_interval():
    mean, (low, high) = ev.seed_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)                          # t_{0.975, 2} · sd / √3, sd = 1
    assert mean == 2.0 and low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert all(math.isnan(c) for c in ev.seed_ci([1.0])[1])


def test_binomial_pvalues_and_wilson_interval():
    assert ev.binomial_pvalues(68, 100, 0.5) == pytest.approx(stats.binomtest(68, 100, 0.5, "greater").pvalue)
    assert ev.binomial_pvalues(3, 100, 0.1, alternative="less") == pytest.approx(
        stats.binomtest(3, 100, 0.1, "less").pvalue)
    z, p, n = 1.959963984540054, 0.68, 100                           # Wilson's formula by hand
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert ev.accuracy_interval(68, 100) == pytest.approx((centre - half, centre + half))
    assert ev.majority_rate([1, 1, 1, -1]) == 0.75


def test_halving_budget_interpolates_the_first_crossing():
    assert ev.halving_budget([0.0, 0.1, 0.2], [1.0, 0.8, 0.4]) == pytest.approx(0.175)
    assert math.isnan(ev.halving_budget([0.0, 0.1, 0.2], [1.0, 0.9, 0.8]))
    with pytest.raises(ValueError, match="EPS"):
        ev.halving_budget([0.1, 0.2], [1.0, 0.4])
    rng = np.random.default_rng(3)
    correct = (rng.random((3, 500)) < np.array([[1.0], [0.8], [0.4]])).astype(float)
    estimate, (low, high) = ev.halving_budget_ci([0.0, 0.1, 0.2], correct, n_boot=300)
    assert low < estimate < high and 0.15 < estimate < 0.2


def test_rank_correlation_interval():
    rng = np.random.default_rng(4)
    x = np.arange(60.0)
    rho, (low, high) = ev.rank_correlation(x, -x + rng.normal(0, 3, 60), n_boot=300)
    assert rho < -0.9 and high < -0.8
    rho, (low, high) = ev.rank_correlation(x, rng.normal(size=60), n_boot=300)
    assert low < 0 < high
    assert math.isnan(ev.rank_correlation(x, np.zeros(60), n_boot=50)[0])


def test_split_halves_are_disjoint_and_cover():
    a, b = ev.split_halves(11, seed=0)
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(11)) and not set(a) & set(b)


# --- vocabulary -------------------------------------------------------------------------------

def rows_with_rates(rates, n, rng):
    """0/1 rows with exactly round(rate · n) ones each, in random positions."""
    out = np.zeros((len(rates), n))
    for i, rate in enumerate(rates):
        out[i, rng.permutation(n)[: round(rate * n)]] = 1
    return out


def test_the_authors_features_fall_where_the_paper_puts_them():
    rng = np.random.default_rng(5)
    index = list(reference.FEATURE_ACCURACY)
    clean = rows_with_rates([reference.FEATURE_ACCURACY[i][0] for i in index], 100, rng)
    robust = rows_with_rates([reference.FEATURE_ACCURACY[i][1] for i in index], 100, rng)
    labels = np.repeat([-1, 1], 50)
    classes = ev.classify_features(clean, robust, labels, attack="FGSM")
    # Robustly useful needs γ significantly above the majority rate 0.5: at 100 points at least 59
    # correct under attack; the authors' best (γ = 0.49) is not, so none of these is robust.
    assert not classes.robust.any() and classes.non_robust.all()
    # γ = 0 or very close: the reported column.
    assert [i for i, small in zip(index, classes.gamma_small) if small] == [25, 1500, 1987]
    # Feature 1 (68 of 100 clean) is useful after BH over the seven; feature 3 (61) is not (p ≈ 0.018 > 2q/7).
    assert [i for i, u in zip(index, classes.useful) if u] == [1]
    with pytest.raises(ValueError, match="attack"):
        ev.classify_features(clean, robust, labels, attack="PGD+FGSM")


def eigen_feature_correctness(permute_labels: bool, n_features=40, seed=0):
    """Per-point correctness of the sign of the RBF kernel's eigen-features on a Gaussian two-class task.

    ``permute_labels`` shuffles the training and the test labels against the images (the null
    task). Shuffling the training labels alone is not a null: the eigenfunctions are label-free
    and the top ones separate the two Gaussian clusters, so a feature with a random sign is as
    likely useful as anti-useful.
    """
    rng = np.random.default_rng(seed)
    d, n_train, n_test = 10, 200, 400
    shift = np.zeros(d)
    shift[0] = 1.5
    y_train = rng.permutation(np.repeat([-1.0, 1.0], n_train // 2))
    y_test = rng.permutation(np.repeat([-1.0, 1.0], n_test // 2))
    x_train = rng.normal(size=(n_train, d)) + y_train[:, None] * shift
    x_test = rng.normal(size=(n_test, d)) + y_test[:, None] * shift
    if permute_labels:
        y_train, y_test = rng.permutation(y_train), rng.permutation(y_test)

    def rbf(a, b):
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * d))
    lam, v = np.linalg.eigh(rbf(x_train, x_train))
    lam, v = lam[::-1][:n_features], v[:, ::-1][:, :n_features]
    phi = rbf(x_test, x_train) @ v * (v.T @ y_train) / lam               # (n_test, n_features)
    return (np.sign(phi).T == y_test).astype(float), y_test


def test_permuted_labels_give_no_useful_feature():
    clean, labels = eigen_feature_correctness(permute_labels=False)
    assert ev.useful(clean, labels)[0].sum() >= 1 and ev.confirmed_useful(clean, labels).sum() >= 1
    clean, labels = eigen_feature_correctness(permute_labels=True)
    assert ev.useful(clean, labels)[0].sum() == 0
    assert ev.confirmed_useful(clean, labels).sum() == 0


def test_sensitivity_table_moves_with_the_thresholds():
    rng = np.random.default_rng(6)
    clean = rows_with_rates([0.8] * 6 + [0.5] * 10, 300, rng)
    robust = rows_with_rates([0.0, 0.04, 0.08, 0.15, 0.3, 0.5] + [0.3] * 10, 300, rng)
    labels = np.repeat([0, 1], 150)
    table = ev.sensitivity(clean, robust, labels, qs=(0.05,), gamma0s=(0.0, 0.05, 0.10, 0.20))
    # γ₀ moves only the reported column; the decision (robust: γ above the majority 0.5) does not move.
    assert [row["useful_gamma_small"] for row in table] == [1, 2, 3, 4]
    assert all(row["useful"] == 6 and row["useful_non_robust"] == 6 for row in table)
    # q moves the decisions: 62% correct under attack on 300 points (p ≈ 2e-5) is robust at q = 0.05.
    robust[5] = rows_with_rates([0.62], 300, rng)[0]
    table = ev.sensitivity(clean, robust, labels, qs=(1e-6, 0.05), gamma0s=(0.1,))
    assert [row["useful_robust"] for row in table] == [0, 1]


def test_laziness_threshold():
    assert ev.is_lazy([0.01, 0.5]).tolist() == [True, False]


def test_reference_set_up_matching():
    assert reference.matches({"DATASET": "cifar10", "CLASSES": [0, 1], "ARCHITECTURE": "fc", "DEPTH": 1,
                              "N_TRAIN": 2000, "N_TEST": 100, "EPS": 0.03137254901960784})
    assert not reference.matches({"DATASET": "mnist_embedded", "CLASSES": [3, 5], "N_TRAIN": 2000})
