"""Kernel predictor: equals neural-tangents' gradient_descent_mse, is differentiable, fails fast."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _tolerances import assert_close
from ntkcompanion import architectures, kernels, predictor
from ntkcompanion._nt import nt

RNG = np.random.default_rng(0)
N_TRAIN, N_TEST, K = 37, 9, 3  # 37: not a multiple of the chunk size (padding exercised)
X_TRAIN = RNG.uniform(size=(N_TRAIN, 6, 6, 1)).astype(np.float32)
X_TEST = RNG.uniform(size=(N_TEST, 6, 6, 1)).astype(np.float32)
Y_BINARY = np.where(RNG.uniform(size=N_TRAIN) < 0.5, -1.0, 1.0)
Y_ONEHOT = np.eye(K)[RNG.integers(K, size=N_TRAIN)]


def nt_prediction(kernel_fn, y_train, t, learning_rate, ridge, get="ntk"):
    """neural-tangents' predictor on the same Gram matrices (its time is in units of the mean loss)."""
    k_train_train = kernels.kernel_matrix(kernel_fn, X_TRAIN, get=get)
    k_test_train = kernels.kernel_matrix(kernel_fn, X_TEST, X_TRAIN, get=get)
    y = y_train.reshape(N_TRAIN, -1)
    predict_fn = nt.predict.gradient_descent_mse(k_train_train, y, learning_rate=learning_rate,
                                                 diag_reg=ridge, diag_reg_absolute_scale=True)
    t_nt = None if t is None else t * y.size
    fx = predict_fn(t=t_nt, fx_train_0=0.0, fx_test_0=0.0, k_test_train=k_test_train)[1]
    return np.asarray(fx).reshape((N_TEST,) + y_train.shape[1:])


@pytest.mark.parametrize("name", ["fc", "conv"])
@pytest.mark.parametrize("targets", ["binary", "onehot"])
@pytest.mark.parametrize("t, learning_rate, ridge", [
    (None, 1.0, 0.0), (None, 1.0, 0.1), (0.05, 1.0, 0.0), (0.02, 3.0, 0.01), (0.0, 1.0, 0.0)])
def test_equals_neural_tangents(name, targets, t, learning_rate, ridge):
    _, _, kernel_fn = architectures.build(name, 1)
    y_train = Y_BINARY if targets == "binary" else Y_ONEHOT
    predict_fn = predictor.fit(kernel_fn, X_TRAIN, y_train, t=t, learning_rate=learning_rate,
                               ridge=ridge, chunk_size=8)
    fx_test = predict_fn(X_TEST)
    assert fx_test.shape == (N_TEST,) + y_train.shape[1:]
    assert fx_test.dtype == jnp.float32
    expected = nt_prediction(kernel_fn, y_train, t, learning_rate, ridge)
    # t = ∞ without ridge amplifies float32 rounding of the kernel by its condition number.
    assert_close(fx_test, expected, scale=20 if (t is None and not ridge) else 1)


def test_nngp_kernel():
    _, _, kernel_fn = architectures.build("fc", 2)
    fx_test = predictor.fit(kernel_fn, X_TRAIN, Y_BINARY, get="nngp", t=0.1)(X_TEST)
    assert_close(fx_test, nt_prediction(kernel_fn, Y_BINARY, 0.1, 1.0, 0.0, get="nngp"))


def test_interpolates_training_data_at_infinite_time():
    _, _, kernel_fn = architectures.build("fc", 1)
    fx_train = predictor.fit(kernel_fn, X_TRAIN, Y_ONEHOT)(X_TRAIN)
    np.testing.assert_allclose(fx_train, Y_ONEHOT, atol=2e-3)


def test_chunk_size_does_not_change_the_result():
    _, _, kernel_fn = architectures.build("fc", 1)
    coef = predictor.coefficients(kernels.kernel_matrix(kernel_fn, X_TRAIN), Y_ONEHOT, t=0.3)
    ref = predictor.kernel_apply_fn(kernel_fn, X_TRAIN, coef, chunk_size=N_TRAIN)(X_TEST)
    for chunk_size in (1, 5, 64):
        assert_close(predictor.kernel_apply_fn(kernel_fn, X_TRAIN, coef, chunk_size=chunk_size)(X_TEST),
                     ref)


def test_kernel_rows_and_apply_share_one_path():
    _, _, kernel_fn = architectures.build("conv", 1)
    rows = predictor.kernel_rows_fn(kernel_fn, X_TRAIN, chunk_size=10)(X_TEST)
    assert rows.shape == (N_TEST, N_TRAIN)
    assert_close(rows, kernels.kernel_matrix(kernel_fn, X_TEST, X_TRAIN), dtype=np.float32)
    coef = RNG.normal(size=(N_TRAIN, 4))
    apply_fn = predictor.kernel_apply_fn(kernel_fn, X_TRAIN, coef, chunk_size=10)
    assert_close(apply_fn(X_TEST), np.asarray(rows, np.float64) @ coef, scale=5)


def test_input_gradient_matches_finite_differences():
    _, _, kernel_fn = architectures.build("fc", 1)
    predict_fn = predictor.fit(kernel_fn, X_TRAIN, Y_BINARY, ridge=1e-2, chunk_size=8)
    x = jnp.asarray(X_TEST[:2])
    grad = np.asarray(jax.grad(lambda x: predict_fn(x).sum())(x))
    assert grad.shape == x.shape and np.all(np.isfinite(grad))
    h = 1e-2  # float32: a large step keeps rounding small; the function is smooth here
    for index in [(0, 1, 2, 0), (1, 3, 3, 0), (0, 5, 0, 0)]:
        e = np.zeros(x.shape, np.float32)
        e[index] = h
        central = (predict_fn(x + e).sum() - predict_fn(x - e).sum()) / (2 * h)
        np.testing.assert_allclose(grad[index], central, rtol=2e-2, atol=1e-4)


def test_works_under_jit():
    _, _, kernel_fn = architectures.build("fc", 1)
    predict_fn = predictor.fit(kernel_fn, X_TRAIN, Y_ONEHOT, t=1.0)
    direct = predict_fn(X_TEST)
    # Closed over, the training data become compile-time constants: XLA may fuse differently.
    assert_close(jax.jit(lambda x: predict_fn(x))(X_TEST), direct, scale=0.1)
    # As a pytree argument: the training data are traced, not baked into the program.
    np.testing.assert_array_equal(jax.jit(lambda f, x: f(x))(predict_fn, X_TEST), direct)


def test_finite_time_approaches_infinite_time():
    _, _, kernel_fn = architectures.build("fc", 1)
    k = kernels.kernel_matrix(kernel_fn, X_TRAIN)
    late = predictor.coefficients(k, Y_BINARY, t=1e7)
    np.testing.assert_allclose(late, predictor.coefficients(k, Y_BINARY), rtol=1e-3, atol=1e-3)
    assert np.all(predictor.coefficients(k, Y_BINARY, t=0.0) == 0)


@pytest.mark.parametrize("kwargs, name", [
    ({"t": -1.0}, "t"), ({"t": "inf"}, "t"), ({"ridge": -0.1}, "ridge"),
    ({"learning_rate": 0.0}, "learning_rate"), ({"get": "cntk"}, "get"),
    ({"chunk_size": 0}, "chunk_size"), ({"batch_size": 0}, "batch_size"),
    ({"y_train": Y_BINARY[:-1]}, "y_train"), ({"k_train_train": np.eye(3)}, "k_train_train"),
])
def test_bad_parameters_fail_fast(kwargs, name):
    _, _, kernel_fn = architectures.build("fc", 1)
    args = {"y_train": Y_BINARY, **kwargs}
    with pytest.raises(ValueError, match=name):
        predictor.fit(kernel_fn, X_TRAIN, **args)


def test_bad_test_inputs_name_x():
    _, _, kernel_fn = architectures.build("fc", 1)
    predict_fn = predictor.fit(kernel_fn, X_TRAIN, Y_BINARY)
    with pytest.raises(ValueError, match="x has shape"):
        predict_fn(np.zeros((2, 5, 5, 1), np.float32))


def test_singular_gram_asks_for_ridge():
    _, _, kernel_fn = architectures.build("fc", 1)
    x = np.concatenate([X_TRAIN[:4], X_TRAIN[:4]])
    with pytest.raises(ValueError, match="ridge"):
        predictor.fit(kernel_fn, x, np.ones(8))
    assert np.all(np.isfinite(predictor.fit(kernel_fn, x, np.ones(8), t=1.0)(X_TEST)))
