"""Section 6's experiment on planted kernels: the comparison, the attack settings, the summary."""

from types import SimpleNamespace

import numpy as np
import pytest

from ntkcompanion import consistency, evidence, feature_attacks, features, kernels


def planted(rng, n=10, m=8, basis=None):
    """A kernel whose comparison rows are given; its top eigenfunctions span ``basis`` columns when set."""
    a = rng.normal(size=(n, n))
    gram = a @ a.T + n * np.eye(n)
    rows = rng.normal(size=(m, n)) if basis is None else basis @ rng.normal(size=(basis.shape[1], n))
    return consistency.spectrum(gram, rows)


def test_compare_finds_shared_top_spaces_and_caps_k():
    rng = np.random.default_rng(0)
    # Rows of rank 2 in one shared 2-d span of R^8: every kernel's top-2 eigenfunctions span it.
    shared = rng.normal(size=(8, 2))
    ntks = {"a": planted(rng, basis=shared), "b": planted(rng, basis=shared)}
    baselines = {"linear": planted(rng)}
    cmp = consistency.compare(ntks, baselines, top_k=2)
    assert cmp.k == 2 and cmp.k_max == 4 and cmp.m == 8          # k_max = min(10 resolved, 8 // 2)
    assert cmp.names == ["a", "b", "linear"] and cmp.ntks == ["a", "b"]
    assert cmp.overlap[0, 1] == pytest.approx(1.0)
    assert cmp.overlap[0, 2] < 0.99
    assert set(cmp.pairs()) == {"a / b", "a / linear", "b / linear"}
    assert all(v.shape == (8, 2) for v in cmp.top.values())
    curves, chance = cmp.curves()
    assert sorted(curves["pair"].unique()) == ["a / b", "a / linear"]
    np.testing.assert_allclose(chance["overlap"], chance["k"] / 8)
    assert consistency.compare(ntks, baselines, top_k=99).k == 4


def test_compare_rejects_too_few_comparison_images():
    rng = np.random.default_rng(1)
    ntks = {"a": planted(rng, m=1), "b": planted(rng, m=1)}
    with pytest.raises(ValueError, match="N_COMPARE = 1"):
        consistency.compare(ntks, {}, top_k=1)


@pytest.mark.parametrize("steps, name, used", [(0, "FGSM", 1), (7, "PGD", 7)])
def test_attack_settings_name_fgsm_at_zero_steps(steps, name, used):
    got, options = feature_attacks.settings(0.1, steps, 0.02, feature_chunk=4)
    assert got == name and options["attack"] == name.lower() and options["steps"] == used
    assert options["feature_chunk"] == 4 and options["eps"] == 0.1
    with pytest.raises(ValueError, match="ATTACK_STEPS"):
        feature_attacks.settings(0.1, -1, 0.02)


def test_pooled_images_share_the_comparison_prefix():
    x = np.arange(3 * 4 * 4 * 1, dtype=np.float32).reshape(3, 4, 4, 1)
    task = SimpleNamespace(x_train=x, x_test=x[::-1])
    images = consistency.pooled(task, 2, 2)
    assert images.train.shape == (3, 2, 2, 1)
    np.testing.assert_array_equal(images.compare, images.test[:2])


def test_profiles_tables_and_agreement():
    rng = np.random.default_rng(2)
    labels = np.array([0, 1] * 10)
    clean = rng.random((3, 20)) < 0.9
    classes = {name: evidence.classify_features(clean, np.zeros_like(clean), labels) for name in ("a", "b")}
    sample = feature_attacks.FeatureSample(np.array([0, 1, 4]), np.array([1.0, 1.0, 3.0]), 2)
    profiles = consistency.Profiles("FGSM", sample, classes, 0.5)
    long = profiles.long()
    assert set(long["measure"]) == {"usefulness", "robustness (FGSM)"} and len(long) == 2 * 2 * 3
    assert sorted(long["index"].unique()) == [1, 2, 5]
    assert set(profiles.gammas()) == {"a", "b"}
    assert consistency.Profiles("FGSM", sample, {"a": classes["a"]}, 0.5).gammas() is None
    # Feature i of a kernel is feature i of the same kernel rescaled: the agreement diagonal is 1.
    spec = planted(rng)
    scaled = consistency.spectrum(4.0 * spec.k_train_train, 4.0 * spec.k_test_train)
    y = np.sign(rng.normal(size=10))
    matrix, first, last = consistency.agreement({"a": spec, "b": scaled}, y, 3)
    assert (first, last) == ("a", "b")
    np.testing.assert_allclose(np.abs(np.diag(matrix)), 1.0, atol=1e-6)
    assert features.RCOND == spec.rcond


def test_rbf_kernel_fn_is_the_rbf_baseline():
    rng = np.random.default_rng(3)
    x, z = rng.random((6, 3, 3, 1)), rng.random((4, 3, 3, 1))
    sigma2 = kernels.median_bandwidth(x)
    got = np.asarray(consistency.rbf_kernel_fn(sigma2)(z, x))
    np.testing.assert_allclose(got, kernels.baseline_gram("rbf", z, x, bandwidth=sigma2), rtol=1e-5, atol=1e-6)


def test_verdicts_resample_every_kernel_and_use_the_control():
    rng = np.random.default_rng(4)
    shared = rng.normal(size=(8, 2))
    ntks = {"a": planted(rng, basis=shared), "b": planted(rng, basis=shared)}
    baselines = {"linear": planted(rng), "rbf": planted(rng)}
    cmp = consistency.compare(ntks, baselines, top_k=2)
    labels = np.array([0, 1] * 10)
    clean = rng.random((6, 20)) < 0.9
    classes = {name: evidence.classify_features(clean, rng.random((6, 20)) < 0.5, labels) for name in ("a", "b")}
    control = {"rbf": evidence.classify_features(clean, rng.random((6, 20)) < 0.5, labels)}
    sample = feature_attacks.FeatureSample(np.arange(6), np.ones(6), 6)
    profiles = consistency.Profiles("PGD", sample, classes, 0.5, control)
    agreement, profile = consistency.verdicts(ntks, baselines, cmp, profiles, n_boot=20)
    assert agreement.key == "claim4_agreement" and agreement.details["n_train"] == 10
    assert set(agreement.details["pairs"]) == {"a / b"}
    assert "a / rbf" in profile.details["partial_rho"] and "PGD" in profile.definition
    assert set(profiles.counts().index) == {"a", "b", "rbf (control)"}


def test_margin_table_lists_every_ntk_pair():
    verdict = evidence.Verdict(4, "s", "d", -0.1, (-0.2, 0.0), "c", 0.9, 0.0, "undetermined", "r", 10, details={
        "pairs": {"a / b": {"ntk_overlap": 0.9, "nearest_baseline": "rbf", "margin": -0.1, "ci": [-0.2, 0.0]}}})
    table = consistency.margin_table(verdict)
    assert list(table.index) == ["a / b"] and table.loc["a / b", "nearest baseline"] == "rbf"
