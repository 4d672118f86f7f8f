"""Transfer experiment: a tidy table, summaries and trends that mean what they say, fail-fast checks."""

import numpy as np
import pandas as pd
import pytest

from ntkcompanion import data, transfer

TASK = data.load_task("mnist_embedded", [3, 5], n_train=40, n_test=30, seed=0)
OPTIONS = dict(widths=[8, 512], seeds=[0, 1], steps=40, eps=0.1, step_size=0.03, attack_steps=5,
               n_eval=8, progress=False)


@pytest.fixture(scope="module")
def result():
    return transfer.run(TASK.x_train, TASK.y_train, TASK.x_test, TASK.y_test, **OPTIONS)


def test_table_has_one_row_per_width_and_seed(result):
    table = result.table
    assert list(table.columns) == ["architecture", "depth", "width", "seed", *transfer.METRICS]
    assert list(zip(table["width"], table["seed"])) == [(8, 0), (8, 1), (512, 0), (512, 1)]
    for column in ("clean_accuracy", "transfer_accuracy", "whitebox_accuracy", "reverse_accuracy",
                   "agreement"):
        assert table[column].between(0, 1).all(), column
    np.testing.assert_allclose(table["transfer_success"], 1 - table["transfer_accuracy"])
    # White-box PGD is at least as strong as a transferred attack (a few steps, up to ties).
    assert (table["whitebox_accuracy"] <= table["transfer_accuracy"] + 0.1).all()


def test_kernel_attack_is_shared_and_hurts_the_kernel(result):
    kernel = result.kernel
    assert kernel["adversarial_accuracy"] < kernel["clean_accuracy"]
    assert kernel["time"] == pytest.approx(kernel["learning_rate"] * OPTIONS["steps"])
    assert kernel["learning_rate"] * kernel["lambda_max"] == pytest.approx(1.0)
    assert result.x_adv_kernel.shape == TASK.x_test.shape
    assert np.max(np.abs(result.x_adv_kernel - TASK.x_test)) <= OPTIONS["eps"] + 1e-6


def test_wider_networks_are_lazier_and_closer_to_the_kernel(result):
    means = result.table.groupby("width").mean(numeric_only=True)
    for column in ("param_change", "kernel_distance_init_final", "output_distance"):
        assert means.loc[512, column] < means.loc[8, column], column


def test_summary_is_mean_and_sd_over_seeds(result):
    summary, table = result.summary, result.table
    assert list(summary.index) == [8, 512]
    wide = table[table["width"] == 512]["transfer_accuracy"]
    assert summary.loc[512, ("transfer_accuracy", "mean")] == pytest.approx(wide.mean())
    assert summary.loc[512, ("transfer_accuracy", "sd")] == pytest.approx(wide.std(ddof=1))
    assert (summary[("n_seeds", "")] == 2).all()
    assert set(result.trends) == set(transfer.EXPECTED_TRENDS)


def test_trend_reads_the_rank_correlation():
    widths = [16, 16, 128, 128, 1024, 1024]
    rising = pd.DataFrame({"width": widths, "m": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    up = transfer.trend(rising, "m", expect="increase")
    # Spearman's rho is Pearson's correlation of the ranks (ties share the mean rank).
    assert up["rho"] == pytest.approx(np.corrcoef([1.5, 1.5, 3.5, 3.5, 5.5, 5.5], np.arange(6))[0, 1])
    assert up["rho"] > 0.9 and up["p_value"] < 0.05 and up["holds"] and up["n"] == 6
    down = transfer.trend(rising, "m", expect="decrease")
    assert down["rho"] == up["rho"] and not down["holds"]
    flat = transfer.trend(rising.assign(m=0.5), "m", expect="increase")
    assert np.isnan(flat["rho"]) and not flat["holds"]
    few = transfer.trend(rising.head(2), "m", expect="increase")
    assert np.isnan(few["rho"]) and not few["holds"]


@pytest.mark.parametrize("kwargs, name, value, allowed", [
    (dict(widths=[]), "widths", "[]", "a non-empty list"),
    (dict(widths=[16, 0]), "widths[1]", "0", "an integer >= 1"),
    (dict(seeds=[]), "seeds", "[]", "a non-empty list"),
    (dict(optimiser="adam"), "optimiser", "'adam'", "one of 'gd', 'sgd'"),
    (dict(loss="hinge"), "loss", "'hinge'", "one of 'mse', 'xent'"),
    (dict(architecture="resnet"), "architecture", "'resnet'", "one of 'fc', 'conv', 'myrtle'"),
    (dict(eps=-0.1), "eps", "-0.1", "a number >= 0"),
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


def test_bad_expectation_fails_fast():
    with pytest.raises(ValueError, match="expect = 'up'"):
        transfer.trend(pd.DataFrame({"width": [1, 2, 3], "m": [1, 2, 3]}), "m", expect="up")
