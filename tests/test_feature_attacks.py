"""Batched feature attacks: equal to a per-feature loop with the package's attacks, and fail fast on bad input."""

import jax
import numpy as np
import pytest

from ntkcompanion import attacks, feature_attacks, features, kernels, losses, predictor

from _feature_data import (EIGENVALUES, EIGENVECTORS, K_TEST_TRAIN, KERNEL_FN, N_TEST, N_TRAIN, X_TEST, X_TRAIN,
                           Y_BINARY, Y_TEST, targets)


def loop(coef, y_test, attack, **kwargs):
    """The reference: one model at a time with the package's attacks and its own logits function."""
    useful, robust = [], []
    # One pytree structure for every feature, so the attack compiles once (leaves are traced).
    treedef = jax.tree_util.tree_structure(predictor.kernel_apply_fn(KERNEL_FN, X_TRAIN, coef[:, 0]))
    for i in range(coef.shape[1]):
        own = jax.tree_util.tree_leaves(predictor.kernel_apply_fn(KERNEL_FN, X_TRAIN, coef[:, i]))
        logits_fn = jax.tree_util.tree_unflatten(treedef, own)
        x_adv = getattr(attacks, attack)(logits_fn, X_TEST, y_test, **kwargs)
        useful.append(attacks.accuracy(logits_fn, X_TEST, y_test))
        robust.append(attacks.accuracy(logits_fn, x_adv, y_test))
    return np.array(useful), np.array(robust)


@pytest.mark.parametrize("kind, attack, kwargs, feature_chunk", [
    ("binary", "fgsm", dict(eps=0.1), 5),
    ("binary", "pgd", dict(eps=0.05, step_size=0.01, steps=4), 8),
    ("onehot", "fgsm", dict(eps=0.1), 7),
    ("onehot", "pgd", dict(eps=0.1, step_size=0.03, steps=3, norm="l2"), 32),
])
def test_batched_robustness_equals_a_per_feature_loop(kind, attack, kwargs, feature_chunk):
    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, targets(kind))
    y_test = Y_TEST[kind]
    result = feature_attacks.robustness(KERNEL_FN, X_TRAIN, coef, X_TEST, y_test, attack=attack,
                                        feature_chunk=feature_chunk, **kwargs)
    useful, robust = loop(coef, y_test, attack, **kwargs)
    np.testing.assert_array_equal(result.usefulness, useful)
    np.testing.assert_array_equal(result.robustness, robust)
    assert np.any(result.robustness < result.usefulness)  # the attack bites


def test_clean_accuracy_equals_sign_of_float64_features():
    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY)
    result = feature_attacks.robustness(KERNEL_FN, X_TRAIN, coef, X_TEST, Y_TEST["binary"], eps=0.0)
    phi = features.feature_values(K_TEST_TRAIN, coef)
    resolved = features.resolved(EIGENVALUES)
    expected = np.mean(np.sign(phi) == Y_TEST["binary"][:, None], axis=0)
    np.testing.assert_array_equal(result.usefulness[resolved], expected[resolved])
    np.testing.assert_array_equal(result.robustness, result.usefulness)  # ε = 0: no attack


def attack_zeros(coef_shape=(N_TRAIN, 2), labels="binary", **kwargs):
    """Attacks zero models (the arguments are checked before anything is computed)."""
    return feature_attacks.robustness(KERNEL_FN, X_TRAIN, np.zeros(coef_shape), X_TEST, Y_TEST[labels], **kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda: attack_zeros(attack="cw", eps=0.1), "attack = 'cw' is not allowed: expected one of 'fgsm', 'pgd'"),
    (lambda: attack_zeros(attack="pgd", eps=0.1, steps=3), "step_size = None is not allowed"),
    (lambda: attack_zeros(labels="onehot", eps=0.1), "y has shape (11, 3): expected (11,)"),
    (lambda: attack_zeros((5, 2), eps=0.1), "coef has shape (5, 2)"),
    (lambda: attack_zeros(eps=0.1, feature_chunk=0), "feature_chunk = 0 is not allowed"),
    (lambda: attack_zeros(eps=0.1, attack="fgsm", norm="l1"), "norm = 'l1' is not allowed"),
])
def test_bad_arguments_fail_fast_and_clearly(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_per_point_correctness_matches_the_loop_and_the_means():
    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY)
    kwargs = dict(eps=0.05, step_size=0.01, steps=4)
    result = feature_attacks.correctness(KERNEL_FN, X_TRAIN, coef, X_TEST, Y_TEST["binary"], attack="pgd",
                                         feature_chunk=6, **kwargs)
    assert result.clean.shape == result.robust.shape == (N_TRAIN, N_TEST) and result.clean.dtype == bool
    useful, robust = loop(coef, Y_TEST["binary"], "pgd", **kwargs)
    np.testing.assert_array_equal(result.clean.mean(axis=1), useful)
    np.testing.assert_array_equal(result.robust.mean(axis=1), robust)
    values = features.feature_values(K_TEST_TRAIN, coef)                         # float64 signs, per point
    np.testing.assert_array_equal(result.clean, losses.correct(values.T, Y_TEST["binary"]))


def test_sample_features_leads_exactly_then_one_per_stratum():
    mask = np.ones(100, bool)
    mask[90:] = False                                                             # ten unresolved features
    sample = feature_attacks.sample_features(mask, n_leading=10, n_sampled=8, seed=3)
    assert sample.n_exact == 10 and list(sample.index[:10]) == list(range(10))
    drawn = sample.index[10:]
    assert drawn.size == 8 and np.all(np.diff(drawn) > 0) and drawn.max() < 90   # one per stratum, in order
    strata = np.array_split(np.arange(10, 90), 8)
    assert all(d in s for d, s in zip(drawn, strata))
    assert sample.weight.sum() == 90 and list(sample.weight[:10]) == [1] * 10
    again = feature_attacks.sample_features(mask, n_leading=10, n_sampled=8, seed=3)
    other = feature_attacks.sample_features(mask, n_leading=10, n_sampled=8, seed=4)
    np.testing.assert_array_equal(sample.index, again.index)
    assert not np.array_equal(sample.index, other.index)
    whole = feature_attacks.sample_features(12, n_leading=10, n_sampled=8)
    assert whole.n_exact == 12 and list(whole.index) == list(range(12)) and whole.weight.sum() == 12
    with pytest.raises(ValueError, match="nothing to attack"):
        feature_attacks.sample_features(np.zeros(5, bool), n_leading=2, n_sampled=2)
    with pytest.raises(ValueError, match="n_sampled"):
        feature_attacks.sample_features(mask, n_leading=2, n_sampled=-1)


def test_attacker_binds_the_task_and_the_fast_kernel():
    class Task:
        x_train, x_test, y_test = X_TRAIN, X_TEST, Y_TEST["binary"]

    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY)[:, :4]
    bound = feature_attacks.attacker(Task, "fc", 1, attack="fgsm", eps=0.1)(coef)
    direct = feature_attacks.correctness(kernels.kernel_fn("fc", 1), X_TRAIN, coef, X_TEST, Y_TEST["binary"],
                                         attack="fgsm", eps=0.1)
    np.testing.assert_array_equal(bound.robust, direct.robust)
    np.testing.assert_array_equal(bound.clean, direct.clean)


def test_most_and_least_robust_pick_among_useful_features():
    class Classes:
        useful = np.array([True, False, True, True, False])
        robust_accuracy = np.array([0.1, 0.9, 0.5, 0.0, 0.8])

    assert list(feature_attacks.most_and_least_robust(Classes, 1)) == [2, 3]
    assert list(feature_attacks.most_and_least_robust(Classes, 2)) == [2, 0, 3, 0]
    Classes.useful = np.zeros(5, bool)                                            # none useful: all features
    assert list(feature_attacks.most_and_least_robust(Classes, 1)) == [1, 3]


def test_families_are_the_leading_features_and_the_rest():
    sample = feature_attacks.sample_features(20, n_leading=3, n_sampled=4, seed=0)
    assert feature_attacks.families(sample, 3).tolist() == ["leading"] * 3 + ["rest"] * 4
    # Every feature attacked (n_exact = all): the stated family still splits at N_LEADING.
    every = feature_attacks.sample_features(10, n_leading=2, n_sampled=8, seed=0)
    assert every.n_exact == 10 and feature_attacks.families(every, 2).tolist() == ["leading"] * 2 + ["rest"] * 8


def test_leading_used_is_clamped_to_the_resolved_features_and_says_so():
    # 12 candidates: N_LEADING = 16 cannot be met, every candidate is attacked and 12 lead.
    used, note = feature_attacks.leading_used(feature_attacks.sample_features(12, n_leading=16, n_sampled=4), 16)
    assert used == 12 and "N_LEADING = 16" in note and "12" in note
    # 40 candidates, 5 leading and 10 strata: the 5 asked for.
    used, note = feature_attacks.leading_used(feature_attacks.sample_features(40, n_leading=5, n_sampled=10), 5)
    assert (used, note) == (5, "N_LEADING = 5")
    # Every candidate attacked, but N_LEADING below their number: still N_LEADING lead.
    assert feature_attacks.leading_used(feature_attacks.sample_features(10, n_leading=3, n_sampled=9), 3)[0] == 3
