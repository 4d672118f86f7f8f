"""Transfer experiment: per-point correctness that feeds claim 2, shared examples and controls, fail-fast checks."""

import jax.numpy as jnp
import numpy as np
import pytest

from ntkcompanion import attacks, data, kernels, predictor, transfer

TASK = data.load_task("mnist_embedded", [3, 5], n_train=40, n_test=30, seed=0)
OPTIONS = dict(widths=[8, 512], seeds=[0, 1], train_steps=40, eps=0.1, attack_step_size=0.03, attack_steps=5,
               n_eval=8, progress=False)


@pytest.fixture(scope="module")
def result():
    return transfer.run(TASK.x_train, TASK.y_train, TASK.x_test, TASK.y_test, **OPTIONS)


def test_table_has_one_row_per_width_and_seed(result):
    table = result.table
    assert list(table.columns) == ["architecture", "depth", "width", "seed", *transfer.METRICS]
    assert list(zip(table["width"], table["seed"])) == [(8, 0), (8, 1), (512, 0), (512, 1)]
    for column in ("clean_accuracy", "transfer_accuracy", "transfer_accuracy_infinite", "noise_accuracy",
                   "unrelated_accuracy", "agreement"):
        assert table[column].between(0, 1).all(), column


def test_correctness_arrays_agree_with_the_table(result):
    n = len(TASK.x_test)
    for name in transfer.EVALUATIONS:
        assert result.correct[name].shape == (2, 2, n) and set(np.unique(result.correct[name])) <= {0, 1}
    # The table's accuracies are the per-point means (row order: width-major, then seed).
    np.testing.assert_allclose(result.table["transfer_accuracy"], result.correct["adv"].reshape(4, n).mean(1))
    np.testing.assert_allclose(result.table["noise_accuracy"], result.correct["noise"].reshape(4, n).mean(1))
    fooled = result.correct["kernel_adv"] == 0
    share = 1 - result.correct["adv"][1, 0][fooled].mean()
    assert result.table["share_fooled"].iloc[2] == pytest.approx(share)
    for name in transfer.LAZINESS:
        np.testing.assert_allclose(result.laziness[name].ravel(), result.table[name])


def test_kernel_examples_are_shared_and_hurt_the_kernel(result):
    kernel = result.kernel
    assert kernel["adversarial_accuracy"] < kernel["clean_accuracy"]
    assert kernel["unrelated_adversarial_accuracy"] < kernel["unrelated_clean_accuracy"]
    assert kernel["time"] == pytest.approx(kernel["learning_rate"] * OPTIONS["train_steps"])
    assert kernel["learning_rate"] * kernel["lambda_max"] == pytest.approx(1.0)
    assert result.x_adv_kernel.shape == TASK.x_test.shape
    assert np.max(np.abs(result.x_adv_kernel - TASK.x_test)) <= OPTIONS["eps"] + 1e-6
    # Every network saw the same kernel examples: recomputing the kernel's correctness on them agrees.
    assert result.correct["kernel_adv"].mean() == pytest.approx(kernel["adversarial_accuracy"])


def test_wider_networks_are_lazier_and_closer_to_the_kernel(result):
    means = result.table.groupby("width").mean(numeric_only=True)
    for column in ("param_change", "kernel_change", "kernel_distance_init_final", "output_distance"):
        assert means.loc[512, column] < means.loc[8, column], column


def test_verdicts_are_claim2_on_the_run(result):
    transfer_v, trend_v = result.verdicts(n_boot=200)
    assert (transfer_v.key, trend_v.key) == ("claim2_transfer", "claim2_trend")
    d = transfer_v.details
    assert d["widths"] == [8, 512] and transfer_v.n == trend_v.n == 2        # n = seeds
    c = result.correct
    margin = np.minimum(c["noise"][-1].mean(-1), c["unrelated"][-1].mean(-1)) - c["adv"][-1].mean(-1)
    assert d["margin"][-1] == pytest.approx(margin.mean()) and transfer_v.estimate == pytest.approx(margin.mean())
    assert set(d["laziness"]) == set(transfer.LAZINESS) and len(d["laziness_ci"]["param_change"]) == 2


def test_summary_is_mean_and_sd_over_seeds(result):
    summary, table = result.summary, result.table
    assert list(summary.index) == [8, 512]
    wide = table[table["width"] == 512]["transfer_accuracy"]
    assert summary.loc[512, ("transfer_accuracy", "mean")] == pytest.approx(wide.mean())
    assert summary.loc[512, ("transfer_accuracy", "sd")] == pytest.approx(wide.std(ddof=1))
    assert (summary[("n_seeds", "")] == 2).all()


def test_rbf_kernel_fn_is_the_baseline_gram():
    x = TASK.x_train[:6]
    sigma2 = kernels.median_bandwidth(x)
    fn = transfer.rbf_kernel_fn(sigma2)
    np.testing.assert_allclose(np.asarray(fn(jnp.asarray(x), jnp.asarray(TASK.x_test[:4]))),
                               kernels.baseline_gram("rbf", x, TASK.x_test[:4], bandwidth=sigma2),
                               rtol=1e-4, atol=1e-5)
    assert transfer.rbf_kernel_fn(sigma2) is fn                    # one object: attacks compile once
    # A predictor on it is differentiable, so PGD can attack it.
    f = predictor.fit(fn, x, TASK.y_train[:6], ridge=1e-3)
    x_adv = attacks.pgd(f, TASK.x_test[:4], TASK.y_test[:4], eps=0.1, step_size=0.05, steps=2)
    assert np.max(np.abs(np.asarray(x_adv) - TASK.x_test[:4])) > 0


@pytest.mark.parametrize("kwargs, name, value, allowed", [
    (dict(widths=[]), "widths", "[]", "a non-empty list"),
    (dict(widths=[16, 0]), "widths[1]", "0", "an integer >= 1"),
    (dict(seeds=[]), "seeds", "[]", "a non-empty list"),
    (dict(optimiser="adam"), "optimiser", "'adam'", "one of 'gd', 'sgd'"),
    (dict(loss="hinge"), "loss", "'hinge'", "one of 'mse', 'xent'"),
    (dict(architecture="resnet"), "architecture", "'resnet'", "one of 'fc', 'conv', 'myrtle'"),
    (dict(eps=-0.1), "eps", "-0.1", "a number >= 0"),
    (dict(train_steps=0), "train_steps", "0", "an integer >= 1"),
    (dict(n_eval=1000), "n_eval", "1000", "[2, n_train = 40]"),
    (dict(optimiser="sgd", batch_size=7), "batch_size", "7", "divisor"),
])
def test_bad_parameters_fail_fast_naming_them(kwargs, name, value, allowed):
    options = dict(OPTIONS)
    options.update(kwargs)
    with pytest.raises(ValueError) as error:
        transfer.run(TASK.x_train, TASK.y_train, TASK.x_test, TASK.y_test, **options)
    message = str(error.value)
    assert message.startswith(f"{name} = {value}") and allowed in message, message
