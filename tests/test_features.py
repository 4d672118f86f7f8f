"""Eigen-features: they sum to the kernel predictor, the decomposition is exact, bad input fails."""

import numpy as np
import pytest

from _tolerances import assert_close
from ntkcompanion import decomposition, features, kernels, predictor
from ntkcompanion._nt import nt

from _feature_data import (EIGENVALUES, EIGENVECTORS, K_TEST_TRAIN, K_TRAIN_TRAIN, KERNEL_FN, N_TEST, N_TRAIN,
                           X_TEST, X_TRAIN, Y_BINARY, Y_TEST, targets)


def nt_prediction(y_train, t, learning_rate=1.0):
    """neural-tangents' f_t on the same Gram matrices (its time is t · y_train.size, see predictor)."""
    y = y_train.reshape(N_TRAIN, -1)
    predict_fn = nt.predict.gradient_descent_mse(K_TRAIN_TRAIN, y, learning_rate=learning_rate)
    fx = predict_fn(t=None if t is None else t * y.size, fx_train_0=0.0, fx_test_0=0.0,
                    k_test_train=K_TEST_TRAIN)[1]
    return np.asarray(fx, np.float64).reshape((N_TEST,) + y_train.shape[1:])


def test_eigendecomposition_is_sorted_float64_and_exact():
    assert EIGENVALUES.dtype == EIGENVECTORS.dtype == np.float64
    assert np.all(np.diff(EIGENVALUES) <= 0) and EIGENVALUES[-1] >= 0
    # The float32 kernel is symmetric only to rounding; the decomposition reads its lower triangle.
    lower = np.tril(K_TRAIN_TRAIN) + np.tril(K_TRAIN_TRAIN, -1).T
    assert_close(EIGENVECTORS @ np.diag(EIGENVALUES) @ EIGENVECTORS.T, lower, scale=100)
    assert_close(EIGENVECTORS.T @ EIGENVECTORS, np.eye(N_TRAIN), scale=100)


@pytest.mark.parametrize("kind", ["binary", "onehot"])
def test_features_sum_to_the_infinite_time_predictor(kind):
    y_train = targets(kind)
    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y_train)
    assert coef.shape == (N_TRAIN, N_TRAIN) + y_train.shape[1:]
    phi = features.feature_values(K_TEST_TRAIN, coef)
    assert phi.shape == (N_TEST, N_TRAIN) + y_train.shape[1:]
    # Float64 throughout: the identity is exact up to the Gram matrix's condition number.
    f_inf = K_TEST_TRAIN @ predictor.coefficients(K_TRAIN_TRAIN, y_train)
    assert_close(phi.sum(axis=1), f_inf, scale=100)
    assert_close(phi.sum(axis=1), nt_prediction(y_train, None), scale=100, dtype=np.float32)


@pytest.mark.parametrize("kind", ["binary", "onehot"])
@pytest.mark.parametrize("t, learning_rate", [(0.0, 1.0), (0.05, 1.0), (0.3, 2.0), (50.0, 1.0)])
def test_weighted_features_sum_to_the_finite_time_predictor(kind, t, learning_rate):
    y_train = targets(kind)
    phi = features.feature_values(K_TEST_TRAIN, features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y_train))
    w = features.time_weights(EIGENVALUES, t, learning_rate=learning_rate)
    assert np.all((0 <= w) & (w <= 1))
    f_t = np.einsum("nm...,m->n...", phi, w)
    expected = K_TEST_TRAIN @ predictor.coefficients(K_TRAIN_TRAIN, y_train, t=t, learning_rate=learning_rate)
    assert_close(f_t, expected, scale=100)
    assert_close(f_t, nt_prediction(y_train, t, learning_rate), scale=10, dtype=np.float32)
    # The same sum as coefficients of f_t, and as weighted feature coefficients.
    coef_t = features.time_coefficients(EIGENVALUES, EIGENVECTORS, y_train, [t], learning_rate=learning_rate)
    assert_close(features.feature_values(K_TEST_TRAIN, coef_t)[:, 0], expected, scale=100)
    weighted = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y_train, t=t, learning_rate=learning_rate)
    assert_close(features.feature_values(K_TEST_TRAIN, weighted).sum(axis=1), expected, scale=100)


@pytest.mark.parametrize("kind", ["binary", "onehot"])
def test_feature_and_predictor_functions_match_float64_values(kind):
    y_train = targets(kind)
    coef = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y_train, features=[0, 3, 22])
    phi_fn = features.features_fn(KERNEL_FN, X_TRAIN, coef, chunk_size=8)
    assert_close(phi_fn(X_TEST), features.feature_values(K_TEST_TRAIN, coef), scale=50, dtype=np.float32)
    # Top-k and subset predictors; k = n_train is the full predictor, as predictor.fit gives it.
    full = features.top_k_predictor(KERNEL_FN, X_TRAIN, EIGENVALUES, EIGENVECTORS, y_train, N_TRAIN, t=0.2)
    fit = predictor.fit(KERNEL_FN, X_TRAIN, y_train, t=0.2)
    assert_close(full(X_TEST), fit(X_TEST), scale=20, dtype=np.float32)
    top3 = features.top_k_predictor(KERNEL_FN, X_TRAIN, EIGENVALUES, EIGENVECTORS, y_train, 3)
    subset = features.subset_predictor(KERNEL_FN, X_TRAIN, EIGENVALUES, EIGENVECTORS, y_train, [2, 0, 1])
    assert_close(top3(X_TEST), subset(X_TEST), dtype=np.float32)
    ks = features.top_k_coefficients(EIGENVALUES, EIGENVECTORS, y_train, [3, N_TRAIN])
    assert_close(features.feature_values(K_TEST_TRAIN, ks)[:, 0], top3(X_TEST), scale=20, dtype=np.float32)


def test_zero_eigenvalues_give_the_pseudo_inverse():
    # Repeated training points: Θ(X, X) is singular, so some λ_i are 0 up to rounding.
    x_train = np.concatenate([X_TRAIN[:8], X_TRAIN[:4]])
    y_train = np.concatenate([Y_BINARY[:8], Y_BINARY[:4]])
    k = kernels.kernel_matrix(KERNEL_FN, x_train)
    lam, v = features.eigendecomposition(k)
    mask = features.resolved(lam)
    assert mask.sum() == 8 and not mask[8:].any()
    coef = features.feature_coefficients(lam, v, y_train)
    coef[:, ~mask] = 0.0  # unresolved features are rounding artefacts: drop them
    phi = features.feature_values(kernels.kernel_matrix(KERNEL_FN, X_TEST, x_train), coef)
    assert np.all(np.isfinite(phi))
    expected = kernels.kernel_matrix(KERNEL_FN, X_TEST, x_train) @ np.linalg.pinv(k, rcond=1e-5, hermitian=True) @ y_train
    assert_close(phi.sum(axis=1), expected, scale=1000)
    # Finite time: w_i/λ_i → ηt as λ_i → 0, so f_0 = 0 and f_t is finite.
    assert np.all(np.isfinite(features.time_coefficients(np.maximum(lam, 0) * mask, v, y_train, [0.0, 1.0])))


def test_time_grid_spans_the_spectrum():
    ts = features.time_grid(EIGENVALUES, 10)
    assert ts.shape == (10,) and np.all(np.diff(ts) > 0)
    assert np.all(features.time_weights(EIGENVALUES, ts[0]) < 0.1)
    assert np.all(features.time_weights(EIGENVALUES, ts[-1]) > 1 - 1e-4)


@pytest.mark.parametrize("call, message", [
    (lambda: features.top_k_predictor(KERNEL_FN, X_TRAIN, EIGENVALUES, EIGENVECTORS, Y_BINARY, N_TRAIN + 1),
     f"k = {N_TRAIN + 1} is not allowed: expected an integer in [1, n_train = {N_TRAIN}]"),
    (lambda: features.top_k_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY, [1, 0]),
     "ks[1] = 0 is not allowed"),
    (lambda: features.time_weights(EIGENVALUES, -1.0), "t = -1.0 is not allowed: expected None"),
    (lambda: features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY, t=-0.5),
     "t = -0.5 is not allowed"),
    (lambda: features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY, features="robust"),
     "features = 'robust' is not allowed: expected 'all' or a non-empty list of distinct integers in [0, 23)"),
    (lambda: features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY, features=[0, 23]),
     "features = [0, 23] is not allowed"),
    (lambda: features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY, features=[1, 1]),
     "features = [1, 1] is not allowed"),
    (lambda: features.feature_coefficients(EIGENVALUES, EIGENVECTORS, Y_BINARY[:5]),
     "y_train has shape (5,)"),
    (lambda: features.eigendecomposition(np.zeros((3, 4))), "k_train_train has shape (3, 4)"),

])
def test_bad_arguments_fail_fast_and_clearly(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


@pytest.mark.parametrize("kind", ["binary", "onehot"])
def test_head_and_tail_sum_to_the_predictor(kind):
    y = targets(kind)
    groups = features.head_tail_coefficients(EIGENVALUES, EIGENVECTORS, y, 5)
    each = features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y)
    np.testing.assert_allclose(groups[:, 0], each[:, :5].sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(groups[:, 1], each[:, 5:].sum(axis=1), atol=1e-9)
    with pytest.raises(ValueError, match=f"k = {N_TRAIN} is not allowed"):
        features.head_tail_coefficients(EIGENVALUES, EIGENVECTORS, y, N_TRAIN)


def test_permuted_tasks_shuffle_train_and_test_labels_together():
    dec = decomposition.Decomposition(EIGENVALUES, EIGENVECTORS, features.resolved(EIGENVALUES),
                                           features.RCOND, K_TRAIN_TRAIN, K_TEST_TRAIN)
    correct, y_perm = decomposition.permuted_task_correctness(dec, Y_BINARY, Y_TEST["binary"],
                                                         index=[0, 3], n_perm=4, seed=1)
    assert correct.shape == (4, 2, N_TEST) and y_perm.shape == (4, N_TEST)
    assert all(sorted(y) == sorted(Y_TEST["binary"]) for y in y_perm)             # permutations of the labels
    # Permutation 0 recomputed by hand: the same draws, features of the shuffled task.
    rng = np.random.default_rng(1)
    y_tr, y_te = Y_BINARY[rng.permutation(N_TRAIN)], Y_TEST["binary"][rng.permutation(N_TEST)]
    phi = K_TEST_TRAIN @ features.feature_coefficients(EIGENVALUES, EIGENVECTORS, y_tr, features=[0, 3])
    np.testing.assert_array_equal(correct[0], (np.sign(phi) == y_te[:, None]).T)
    np.testing.assert_array_equal(y_perm[0], y_te)


def test_decompose_matches_the_pieces_and_predicts_f_infinity():
    class Task:
        x_train, x_test = X_TRAIN, X_TEST

    dec = decomposition.decompose(Task, "fc", 1)
    np.testing.assert_allclose(dec.k_train_train, K_TRAIN_TRAIN, rtol=1e-6)
    np.testing.assert_allclose(dec.eigenvalues, EIGENVALUES, rtol=1e-6)
    assert dec.resolved.all() and dec.rcond == features.RCOND
    f_inf = dec.predict(Y_BINARY)
    np.testing.assert_allclose(dec.values(dec.coefficients(Y_BINARY)).sum(axis=1), f_inf, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(f_inf, nt_prediction(Y_BINARY, None), rtol=1e-4, atol=1e-6)
    assert decomposition.decompose(Task, "fc", 1, test=False).k_test_train is None
    with pytest.raises(ValueError, match="no test rows"):
        decomposition.decompose(Task, "fc", 1, test=False).values(np.zeros((N_TRAIN, 1)))


@pytest.mark.parametrize("n, n_k", [(20, 8), (10, 10), (300, 40), (5, 2), (1000, 12), (7, 1)])
def test_k_grid_has_n_k_distinct_integers_from_1_to_n(n, n_k):
    ks = features.k_grid(n, n_k)
    assert len(ks) == n_k and np.all(np.diff(ks) > 0) and ks[-1] == n and ks.dtype.kind == "i"
    assert n_k == 1 or ks[0] == 1
    # Where rounding the log grid merges nothing, the grid is that rounding.
    plain = np.unique(np.geomspace(1, n, n_k).round())
    if len(plain) == n_k > 1:
        np.testing.assert_array_equal(ks, plain)


def test_k_grid_keeps_values_the_rounded_log_grid_merges():
    assert len(np.unique(np.geomspace(1, 20, 8).round())) < 8  # the grid notebook 05 used to build
    # Rounded: [1, 2, 2, 4, 6, 8, 13, 20]; the repeated 2 moves up to 3, the rest stay.
    assert features.k_grid(20, 8).tolist() == [1, 2, 3, 4, 6, 8, 13, 20]
    with pytest.raises(ValueError, match="n_k = 21"):
        features.k_grid(20, 21)
