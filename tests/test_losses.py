"""Losses and correctness against their textbook formulas, computed here in float64 NumPy/SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from ntkcompanion import losses

RNG = np.random.default_rng(0)
N, K = 9, 4
F_BINARY = RNG.normal(size=N) * 3                       # scalar outputs
Y_BINARY = np.where(RNG.uniform(size=N) < 0.5, -1.0, 1.0)
Z = RNG.normal(size=(N, K)) * 2                         # multi-class logits
CLASS = RNG.integers(K, size=N)
Y_ONEHOT = np.eye(K)[CLASS]


def test_bce_is_the_cross_entropy_of_the_sigmoid():
    p = special.expit(F_BINARY)
    expected = -((1 + Y_BINARY) / 2 * np.log(p) + (1 - Y_BINARY) / 2 * np.log(1 - p))
    got = losses.per_example("bce", jnp.asarray(F_BINARY), jnp.asarray(Y_BINARY))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # stable where the naive formula overflows: log(1 + e^{100}) = 100 to float precision
    assert float(losses.bce(jnp.array([-100.0]), jnp.array([1.0]))[0]) == pytest.approx(100.0)


def test_ce_is_minus_the_log_softmax_of_the_true_class():
    expected = -special.log_softmax(Z, axis=1)[np.arange(N), CLASS]
    np.testing.assert_allclose(losses.per_example("ce", jnp.asarray(Z), jnp.asarray(Y_ONEHOT)), expected, rtol=1e-5)


def test_margin_is_best_other_minus_true_and_positive_exactly_when_wrong():
    expected = np.array([np.max(np.delete(Z[i], CLASS[i])) - Z[i, CLASS[i]] for i in range(N)])
    got = np.asarray(losses.per_example("margin", jnp.asarray(Z), jnp.asarray(Y_ONEHOT)))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_array_equal(got > 0, Z.argmax(1) != CLASS)
    binary = np.asarray(losses.margin(jnp.asarray(F_BINARY), jnp.asarray(Y_BINARY)))
    np.testing.assert_allclose(binary, -Y_BINARY * F_BINARY, rtol=1e-6)


def test_correct_is_sign_or_argmax_and_agrees_with_the_margin():
    np.testing.assert_array_equal(losses.correct(F_BINARY, Y_BINARY), np.sign(F_BINARY) == Y_BINARY)
    np.testing.assert_array_equal(losses.correct(Z, Y_ONEHOT), Z.argmax(1) == CLASS)
    for logits, y in ((F_BINARY, Y_BINARY), (Z, Y_ONEHOT)):
        margin = np.asarray(losses.margin(jnp.asarray(logits), jnp.asarray(y)))
        np.testing.assert_array_equal(losses.correct(logits, y), margin < 0)  # no ties in these draws


def test_correct_takes_leading_model_axes():
    # three models on the same N inputs: row i is model i
    models = np.stack([F_BINARY, -F_BINARY, np.abs(F_BINARY)])
    expected = np.stack([np.sign(m) == Y_BINARY for m in models])
    np.testing.assert_array_equal(losses.correct(models, Y_BINARY), expected)
    z3 = np.stack([Z, -Z])                                       # (2, N, K)
    np.testing.assert_array_equal(losses.correct(z3, Y_ONEHOT), np.stack([Z.argmax(1) == CLASS,
                                                                          (-Z).argmax(1) == CLASS]))


def test_correct_keeps_numpy_float64_exact_and_runs_under_jit():
    tiny = np.array([1e-300, -1e-300])                          # zero in float32
    out = losses.correct(tiny, np.array([1.0, -1.0]))
    assert isinstance(out, np.ndarray) and out.tolist() == [True, True]
    jitted = jax.jit(losses.correct)(jnp.asarray(Z), jnp.asarray(Y_ONEHOT))
    np.testing.assert_array_equal(np.asarray(jitted), Z.argmax(1) == CLASS)


def test_a_binary_network_with_one_output_is_read_as_scalar():
    col = F_BINARY[:, None]                                      # (n, 1)
    np.testing.assert_array_equal(losses.correct(col, Y_BINARY), np.sign(F_BINARY) == Y_BINARY)
    np.testing.assert_allclose(losses.per_example("bce", jnp.asarray(col), jnp.asarray(Y_BINARY)),
                               losses.per_example("bce", jnp.asarray(F_BINARY), jnp.asarray(Y_BINARY)))


def test_bad_shapes_and_names_are_refused():
    with pytest.raises(ValueError, match="logits have shape"):
        losses.correct(Z[:, :2], Y_ONEHOT)
    with pytest.raises(ValueError, match="logits have shape"):
        losses.correct(F_BINARY[:5], Y_BINARY)
    with pytest.raises(ValueError, match="loss = 'bce' needs"):
        losses.per_example("bce", jnp.asarray(Z), jnp.asarray(Y_ONEHOT))
    with pytest.raises(ValueError, match="loss = 'ce' needs"):
        losses.per_example("ce", jnp.asarray(F_BINARY), jnp.asarray(Y_BINARY))
    with pytest.raises(ValueError, match="loss"):
        losses.per_example("hinge", jnp.asarray(F_BINARY), jnp.asarray(Y_BINARY))


def test_default_loss_follows_the_label_convention():
    assert losses.default_loss(Y_BINARY) == "bce" and losses.default_loss(Y_ONEHOT) == "ce"
