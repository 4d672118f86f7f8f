"""Lazy training of NTK-parameterised networks: NTK time convention, centring, laziness falling with width, fail-fast checks."""

import jax
import numpy as np
import pytest

from ntkcompanion import architectures, attacks, kernels, lazy_training, predictor
from ntkcompanion import evidence as ev

RNG = np.random.default_rng(0)
N_TRAIN, N_TEST = 24, 10
X_TRAIN = RNG.uniform(size=(N_TRAIN, 6, 6, 1)).astype(np.float32)
X_TEST = RNG.uniform(size=(N_TEST, 6, 6, 1)).astype(np.float32)
Y_BINARY = np.where(X_TRAIN.mean(axis=(1, 2, 3)) > np.median(X_TRAIN.mean(axis=(1, 2, 3))), 1.0, -1.0)
Y_ONEHOT = np.eye(3)[RNG.integers(3, size=N_TRAIN)]
_, _, KERNEL_FN = architectures.build("fc", 1)
K_TRAIN_TRAIN = kernels.kernel_matrix(KERNEL_FN, X_TRAIN)
LR = lazy_training.lazy_learning_rate(K_TRAIN_TRAIN)
STEPS = 60


def train(width, **kwargs):
    options = dict(steps=STEPS, learning_rate=LR, seed=0, progress=False)
    options.update(kwargs)
    return lazy_training.train_ntk_parameterised("fc", 1, width, X_TRAIN, options.pop("y", Y_BINARY), **options)


def test_lazy_learning_rate_is_scale_over_the_largest_eigenvalue():
    lam_max = np.linalg.eigvalsh(K_TRAIN_TRAIN)[-1]
    assert lazy_training.lazy_learning_rate(K_TRAIN_TRAIN) == pytest.approx(1 / lam_max)
    assert lazy_training.lazy_learning_rate(K_TRAIN_TRAIN, scale=1.5) == pytest.approx(1.5 / lam_max)


def test_training_reduces_the_loss_and_records_the_time():
    net = train(64)
    assert net.history["step"][0] == 0 and net.history["step"][-1] == STEPS
    assert net.history["loss"][-1] < 0.5 * net.history["loss"][0]
    assert net.time == pytest.approx(LR * STEPS)
    assert net.logits_fn(X_TEST).shape == (N_TEST,)


def test_centred_network_starts_at_zero_and_plain_one_does_not():
    net = train(32, steps=1)
    assert np.allclose(lazy_training.network_fn(net.apply_fn, net.params_0, net.params_0)(X_TEST), 0.0)
    assert not np.allclose(lazy_training.network_fn(net.apply_fn, net.params_0)(X_TEST), 0.0)
    # The initial summed MSE of a centred net is ½‖Y‖² exactly.
    assert net.history["loss"][0] == pytest.approx(0.5 * N_TRAIN)


def test_wide_centred_network_follows_the_kernel_predictor_at_the_same_time():
    # Lazy training: GD for `steps` at rate η equals gradient flow for t = η·steps on the analytic NTK.
    f_t = np.asarray(predictor.fit(KERNEL_FN, X_TRAIN, Y_BINARY, t=LR * STEPS)(X_TEST))
    gaps = []
    for width in (16, 16384):
        f_net = np.asarray(train(width).logits_fn(X_TEST))
        gaps.append(np.linalg.norm(f_net - f_t) / np.linalg.norm(f_t))
    # The gap shrinks like w^(-1/2) (0.7 at width 16); on these inputs it is 0.06 at 16384.
    assert gaps[1] < 0.1
    assert gaps[1] < gaps[0] / 4


def test_laziness_falls_with_width_at_a_fixed_seed():
    x_eval = X_TRAIN[:12]
    k_eval = kernels.kernel_matrix(KERNEL_FN, x_eval)
    lazy = [lazy_training.laziness(train(width), x_eval, k_eval) for width in (16, 128, 1024)]
    for key in ("param_change", "kernel_distance_init_final", "kernel_change",
                "kernel_distance_final_analytic"):
        values = [entry[key] for entry in lazy]
        assert values[0] > values[1] > values[2], (key, values)
    assert lazy[-1]["kernel_distance_final_analytic"] < 1e-2
    # "Lazy" is the evidence vocabulary's rule on these relative changes, nothing of this module's own.
    for entry in lazy:
        assert entry["lazy"] == {k: entry[k] < ev.LAZY_THRESHOLD for k in ("param_change", "kernel_change")}


def test_parameter_change_is_the_relative_norm_over_all_leaves():
    params_0 = {"a": np.ones(3), "b": [np.zeros(1), np.full(4, 2.0)]}
    params = {"a": np.ones(3) + 1.0, "b": [np.ones(1), np.full(4, 2.0)]}
    assert lazy_training.parameter_change(params, params_0) == pytest.approx(np.sqrt(4 / 19))


def test_same_seed_same_network_different_seed_different_network():
    a, b, c = train(32, steps=5), train(32, steps=5), train(32, steps=5, seed=1)
    np.testing.assert_array_equal(a.logits_fn(X_TEST), b.logits_fn(X_TEST))
    assert not np.allclose(a.logits_fn(X_TEST), c.logits_fn(X_TEST))


def test_minibatch_sgd_keeps_the_time_convention():
    net = train(512, optimiser="sgd", batch_size=8, steps=3 * STEPS, learning_rate=LR / 3)
    f_gd = np.asarray(train(512).logits_fn(X_TEST))
    f_sgd = np.asarray(net.logits_fn(X_TEST))
    # Same time t = η·steps, so (up to gradient noise) the same function.
    assert np.linalg.norm(f_sgd - f_gd) / np.linalg.norm(f_gd) < 0.3


def test_cross_entropy_with_one_hot_targets():
    net = train(64, y=Y_ONEHOT, loss="xent")
    assert net.logits_fn(X_TEST).shape == (N_TEST, 3)
    assert net.history["loss"][-1] < net.history["loss"][0]


def test_trained_network_is_attackable():
    net = train(64)
    y_test = np.where(X_TEST.mean(axis=(1, 2, 3)) > 0.5, 1.0, -1.0)
    x_adv = attacks.pgd(net.logits_fn, X_TEST, y_test, eps=0.1, step_size=0.05, steps=3)
    assert np.max(np.abs(x_adv - X_TEST)) <= 0.1 + 1e-6
    assert jax.numpy.isfinite(x_adv).all()


@pytest.mark.parametrize("kwargs, name, value, allowed", [
    (dict(width=0), "width", "0", "integer >= 1"),
    (dict(optimiser="adam"), "optimiser", "'adam'", "'gd', 'sgd'"),
    (dict(loss="hinge"), "loss", "'hinge'", "'mse', 'xent'"),
    (dict(steps=0), "steps", "0", "integer >= 1"),
    (dict(learning_rate=-1.0), "learning_rate", "-1.0", "number > 0"),
    (dict(optimiser="sgd", batch_size=5), "batch_size", "5", "divisor"),
    (dict(optimiser="gd", batch_size=8), "batch_size", "8", "None"),
])
def test_bad_parameters_fail_fast_naming_them(kwargs, name, value, allowed):
    options = dict(width=16)
    options.update(kwargs)
    with pytest.raises(ValueError) as error:
        train(options.pop("width"), **options)
    message = str(error.value)
    assert message.startswith(f"{name} = {value}") and allowed in message, message


def test_divergence_is_reported():
    with pytest.raises(FloatingPointError, match="learning_rate"):
        train(64, learning_rate=1e4 * LR, steps=40)
