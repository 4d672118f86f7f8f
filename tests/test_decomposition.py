"""A task's NTK decomposition, on a planted spectrum whose eigenvectors, predictor and time grid are known."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from ntkcompanion import architectures, decomposition, features, kernels

N, M = 8, 5
V = stats.ortho_group.rvs(N, random_state=3)                   # planted eigenvectors (columns)
LAM = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.1, 1e-7, 1e-9])   # the last two below RCOND · λ₁: unresolved
K_TRAIN = (V * LAM) @ V.T
K_TEST = np.random.default_rng(4).normal(size=(M, N))
Y = np.where(np.random.default_rng(5).uniform(size=N) < 0.5, -1.0, 1.0)


def planted(rcond=features.RCOND):
    lam, v = features.eigendecomposition(K_TRAIN)
    return decomposition.Decomposition(lam, v, features.resolved(lam, rcond), rcond, K_TRAIN, K_TEST)


def test_the_planted_spectrum_is_recovered_with_its_unresolved_tail():
    dec = planted()
    np.testing.assert_allclose(dec.eigenvalues, LAM, rtol=1e-6, atol=1e-12)
    assert dec.resolved.tolist() == [True] * 6 + [False] * 2
    # each eigenvector up to its sign
    np.testing.assert_allclose(np.abs(np.sum(dec.eigenvectors[:, :6] * V[:, :6], axis=0)), 1.0, atol=1e-6)


def test_the_features_sum_to_the_kernel_predictor():
    dec = planted()
    f_inf = K_TEST @ np.linalg.solve(K_TRAIN, Y)                  # Θ(x, X) Θ(X, X)⁻¹ Y, directly
    np.testing.assert_allclose(dec.values(dec.coefficients(Y)).sum(axis=1), f_inf, rtol=1e-6)
    # feature i alone: Θ(x, X) v_i λ_i⁻¹ v_iᵀ Y
    phi_0 = K_TEST @ V[:, 0] * (V[:, 0] @ Y) / LAM[0]
    np.testing.assert_allclose(dec.values(dec.coefficients(Y))[:, 0], phi_0, rtol=1e-6)


def test_the_time_grid_runs_from_the_top_eigenvalue_to_the_smallest_resolved_one():
    grid = planted().time_grid(7, learning_rate=0.5)
    assert grid[0] == pytest.approx(0.1 / (0.5 * 4.0)) and grid[-1] == pytest.approx(10 / (0.5 * 0.1))
    np.testing.assert_allclose(np.diff(np.log(grid)), np.log(grid[1] / grid[0]))   # log-spaced
    # a looser cut-off resolves one more eigenvalue, and the grid goes on to it
    assert planted(rcond=1e-8).time_grid(7)[-1] == pytest.approx(10 / 1e-7, rel=1e-4)


def test_without_test_rows_values_stop_with_a_clear_error():
    dec = planted()._replace(k_test_train=None)
    with pytest.raises(ValueError, match="no test rows"):
        dec.values(np.zeros((N, 1)))


def test_permuting_constant_labels_changes_nothing():
    # With every label +1, shuffling train and test labels is the identity: the null equals the truth.
    dec, ones = planted(), np.ones(N)
    truth = np.stack([np.sign(K_TEST @ V[:, i] * (V[:, i] @ ones) / LAM[i]) == 1 for i in range(3)])
    correct, y_perm = decomposition.permuted_task_correctness(dec, ones, np.ones(M), index=[0, 1, 2], n_perm=4)
    assert correct.shape == (4, 3, M) and y_perm.shape == (4, M)
    for c in correct:
        np.testing.assert_array_equal(c, truth)


@pytest.mark.parametrize("one_hot", [False, True])
def test_permuted_features_are_the_planted_formula_on_the_permuted_labels(one_hot):
    """Each permutation's features are Θ(x, X) v_i λ_i⁻¹ v_iᵀ Y_π, computed here from the planted V and Λ
    (the null reuses Θ(x, X) v_i across permutations: the same numbers, not an approximation)."""
    rng = np.random.default_rng(7)
    y_train = np.eye(3)[rng.integers(0, 3, N)] if one_hot else Y
    y_test = np.eye(3)[rng.integers(0, 3, M)] if one_hot else np.where(rng.uniform(size=M) < 0.5, -1.0, 1.0)
    index = [0, 2, 5]
    correct, y_perm = decomposition.permuted_task_correctness(planted(), y_train, y_test, index=index, n_perm=6,
                                                              seed=11)
    order = np.random.default_rng(11)  # the documented protocol: a training permutation, then a test one
    for c, y_te in zip(correct, y_perm):
        y_tr = y_train[order.permutation(N)]
        np.testing.assert_array_equal(y_te, y_test[order.permutation(M)])
        for row, i in zip(c, index):
            phi = np.multiply.outer(K_TEST @ V[:, i], V[:, i] @ y_tr) / LAM[i]  # (M,) or (M, 3); sign-free in v_i
            expected = phi.argmax(-1) == y_te.argmax(-1) if one_hot else np.sign(phi) == y_te
            np.testing.assert_array_equal(row, expected)


def test_permutations_shuffle_the_test_labels():
    y_test = np.array([1.0, 1.0, -1.0, -1.0, -1.0])
    _, y_perm = decomposition.permuted_task_correctness(planted(), Y, y_test, n_perm=30, seed=2)
    assert all(sorted(row) == sorted(y_test) for row in y_perm)
    assert len({tuple(row) for row in y_perm}) > 1


def test_decompose_reads_the_kernel_and_splits_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(6)
    task = SimpleNamespace(x_train=rng.uniform(size=(6, 4, 4, 1)).astype(np.float32),
                           x_test=rng.uniform(size=(3, 4, 4, 1)).astype(np.float32))
    dec = decomposition.decompose(task, "fc", 1, batch_size=4)
    stax_kernel = architectures.build("fc", 1)[2]                  # the stax kernel, not the cached path
    direct = np.asarray(kernels.kernel_matrix(stax_kernel, task.x_train), np.float64)
    np.testing.assert_allclose(dec.k_train_train, direct, rtol=1e-5)
    np.testing.assert_allclose((dec.eigenvectors * dec.eigenvalues) @ dec.eigenvectors.T, dec.k_train_train,
                               rtol=1e-6, atol=1e-8 * dec.eigenvalues[0])
    assert np.all(np.diff(dec.eigenvalues) <= 0) and dec.k_test_train.shape == (3, 6)
