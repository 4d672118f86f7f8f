"""The compiled pieces of a training run, on a linear model whose attack and SGD step are known in closed form."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import special

from ntkcompanion import training_steps

RNG = np.random.default_rng(1)
N = 6
X = RNG.uniform(0.3, 0.7, size=(N, 2, 2, 1)).astype(np.float32)   # away from the [0, 1] clip at ε = 0.1
Y = np.where(RNG.uniform(size=N) < 0.5, -1.0, 1.0).astype(np.float32)
W = np.array([0.5, -1.0, 2.0, -0.25], np.float32)
EPS, LR = 0.1, 0.3


def linear(w, x):
    """``f(x) = ⟨w, vec x⟩``: one scalar output per image, ±1 labels."""
    return x.reshape(len(x), -1) @ w


def config(**changes):
    base = dict(mode="standard", eps=EPS, step_size=0.05, steps=3, random_start=False, norm="linf",
                learning_rate=LR, momentum=0.0)
    return types.SimpleNamespace(**(base | changes))


def sgd_step_by_hand(w, x, y):
    """``w - η ∇_w mean softplus(-y ⟨w, x⟩)``, the gradient written out: ``-y σ(-y f) x``."""
    flat = x.reshape(len(x), -1).astype(np.float64)
    f = flat @ w
    grad = np.mean((-y * special.expit(-y * f))[:, None] * flat, axis=0)
    return w - LR * grad


def test_fgsm_images_of_a_linear_model_are_the_corner_against_the_label():
    x_adv = np.asarray(training_steps.adversarial_examples(linear, jnp.asarray(W), X, Y, None, config(mode="fgsm")))
    expected = X - EPS * Y[:, None, None, None] * np.sign(W).reshape(1, 2, 2, 1)
    np.testing.assert_allclose(x_adv, expected, atol=1e-6)
    clean = training_steps.adversarial_examples(linear, jnp.asarray(W), X, Y, None, config())
    np.testing.assert_array_equal(np.asarray(clean), X)


def test_one_sgd_step_is_the_gradient_step_by_hand_clean_and_adversarial():
    for mode in ("standard", "fgsm"):
        optimizer = optax.sgd(LR)
        step = training_steps.make_step(linear, optimizer, config(mode=mode))
        w1, _, loss = step(jnp.asarray(W), optimizer.init(jnp.asarray(W)), X, Y, jax.random.PRNGKey(0))
        x_train = X if mode == "standard" else X - EPS * Y[:, None, None, None] * np.sign(W).reshape(1, 2, 2, 1)
        np.testing.assert_allclose(np.asarray(w1), sgd_step_by_hand(W.astype(np.float64), x_train, Y), rtol=1e-5)
        f = x_train.reshape(N, -1).astype(np.float64) @ W
        np.testing.assert_allclose(float(loss), np.mean(np.logaddexp(0, -Y * f)), rtol=1e-5)  # softplus(-y f)


def test_the_linearised_model_has_the_anchor_jacobian_and_no_gradient_to_the_anchor():
    def f(p, x):
        return jnp.tanh(x.reshape(len(x), -1) @ p["w"] + p["b"])

    anchor = {"w": jnp.asarray(W), "b": jnp.float32(0.1)}
    theta = {"w": jnp.asarray(W) + 0.2, "b": jnp.float32(-0.3)}
    f_lin = training_steps.linearised(f)
    np.testing.assert_allclose(f_lin((anchor, anchor), X), f(anchor, X), rtol=1e-6)
    grads = jax.grad(lambda pair: f_lin(pair, X).sum())((theta, anchor))
    assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree_util.tree_leaves(grads[1]))
    # d/dw Σ_i tanh(⟨w, x_i⟩ + b) at the anchor, whatever θ: Σ_i (1 - tanh²) x_i
    flat = X.reshape(N, -1).astype(np.float64)
    sech2 = 1 - np.tanh(flat @ W + 0.1) ** 2
    np.testing.assert_allclose(grads[0]["w"], sech2 @ flat, rtol=1e-5)
    np.testing.assert_allclose(grads[0]["b"], sech2.sum(), rtol=1e-5)


def test_builders_are_memoised_per_set_up():
    assert training_steps.network("mlp", 1, 16, 3) is training_steps.network("mlp", 1, 16, 3)
    assert training_steps.network("mlp", 1, 16, 3) is not training_steps.network("mlp", 1, 16, 2)
    opt_a, step_a = training_steps.training_step(linear, config())
    assert training_steps.training_step(linear, config())[1] is step_a
    assert training_steps.training_step(linear, config(learning_rate=0.1))[1] is not step_a
    predict = training_steps.predictor(linear)
    assert training_steps.predictor(linear) is predict
    np.testing.assert_allclose(predict(jnp.asarray(W), X), linear(W, X), rtol=1e-6)
