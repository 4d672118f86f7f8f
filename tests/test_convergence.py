"""Width convergence of the empirical NTK and the primer's kernel-regression accuracy, on planted data."""

import math
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ntkcompanion import convergence, data, kernels


def planted_table(rate, widths=(16, 64, 256, 1024), seeds=3, noise=0.05, names=("fc", "conv"), rng=0):
    rng = np.random.default_rng(rng)
    rows = [dict(architecture=a, width=w, seed=s,
                 relative_error=2.0 * w ** rate * math.exp(noise * rng.normal()))
            for a in names for w in widths for s in range(seeds)]
    return pd.DataFrame(rows)


def test_relative_distance_is_the_frobenius_ratio():
    k = np.array([[2.0, 0.0], [0.0, 2.0]])
    assert convergence.relative_distance(k + np.array([[0.0, 1.0], [1.0, 0.0]]), k) == pytest.approx(
        math.sqrt(2) / math.sqrt(8))
    assert convergence.relative_distance(k, k) == 0.0
    with pytest.raises(ValueError, match="k_analytic is zero"):
        convergence.relative_distance(k, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        convergence.relative_distance(k, np.eye(3))


@pytest.mark.parametrize("rate", [-0.5, -1.0])
def test_log_slopes_recover_a_planted_rate(rate):
    slopes = convergence.log_slopes(planted_table(rate))
    assert list(slopes.index) == ["fc", "conv"] and (slopes.n == 12).all()
    for _, fit in slopes.iterrows():
        assert fit.slope == pytest.approx(rate, abs=0.03)
        assert fit.low < fit.slope < fit.high
        assert fit.high - fit.low < 0.1  # 5% noise over two decades of width: a tight interval


def test_log_slopes_interval_covers_the_rate_at_its_level():
    covered = [(lambda f: f.low < -0.5 < f.high)(convergence.log_slopes(
        planted_table(-0.5, noise=0.3, names=("fc",), rng=r)).loc["fc"]) for r in range(400)]
    assert 0.92 < np.mean(covered) < 0.98  # 95% nominal; 400 replicates: sd of the rate 0.011


def test_log_slopes_interval_widens_with_the_level_and_needs_two_widths():
    table = planted_table(-0.5, noise=0.3)
    narrow = convergence.log_slopes(table, level=0.5).loc["fc"]
    wide = convergence.log_slopes(table, level=0.99).loc["fc"]
    assert wide.low < narrow.low < narrow.high < wide.high
    one_width = convergence.log_slopes(planted_table(-0.5, widths=(64,)))
    assert one_width.slope.isna().all() and one_width.low.isna().all()
    two_points = convergence.log_slopes(planted_table(-0.5, widths=(16, 64), seeds=1, noise=0.0))
    assert two_points.slope.to_numpy() == pytest.approx([-0.5, -0.5])
    assert two_points.low.isna().all()
    with pytest.raises(ValueError, match="level"):
        convergence.log_slopes(table, level=1.0)


def test_summary_reports_the_first_architecture():
    table = planted_table(-0.5, noise=0.0)
    metrics, glue = convergence.summary(table, convergence.log_slopes(table))
    assert glue["first_arch"] == "fc" and glue["widest"] == 1024
    assert glue["first_error_widest"] == pytest.approx(2.0 / 32)
    assert glue["first_slope"] == pytest.approx(-0.5)
    assert metrics["kernel_relative_error"]["conv"][16] == pytest.approx(2.0 / 4)
    assert set(metrics["kernel_error_slope"]) == {"fc", "conv"}


def test_width_sweep_gets_closer_to_the_analytic_kernel_as_width_grows():
    x = np.random.default_rng(1).uniform(size=(8, 4, 4, 1)).astype(np.float32)
    analytic = {"fc": kernels.gram(x, architecture="fc", depth=1, cache=False)}
    table = convergence.width_sweep(x, analytic, depth=1, widths=[4, 4096], n_seeds=2, n_kernel=6)
    assert list(table.columns) == ["architecture", "width", "seed", "relative_error"]
    assert len(table) == 4 and set(table.seed) == {0, 1}
    means = table.groupby("width").relative_error.mean()
    assert means[4096] < means[4] / 4  # 1000x the width: about 30x closer (w^-1/2)
    assert means[4096] < 0.1


def test_width_sweep_rejects_what_it_cannot_compare():
    x = np.zeros((4, 2, 2, 1), np.float32)
    with pytest.raises(ValueError, match="N_KERNEL = 5"):
        convergence.width_sweep(x, {"fc": np.eye(4)}, depth=1, widths=[4], n_seeds=1, n_kernel=5)
    with pytest.raises(ValueError, match=r"analytic_ntk\['fc'\] has shape \(3, 3\)"):
        convergence.width_sweep(x, {"fc": np.eye(3)}, depth=1, widths=[4], n_seeds=1, n_kernel=2)


def test_regression_accuracy_counts_and_intervals():
    # K(X, X) = I: f_inf(x) = K(x, X) Y. Three test rows copy a training target's sign, one flips it.
    task = data.load_task("mnist_embedded", (0, 1), n_train=40, n_test=4, seed=0)
    y, n = task.y_train, task.n_train
    assert set(y) == {-1.0, 1.0}
    k_st = np.zeros((4, n))
    for i in range(4):
        j = int(np.flatnonzero(y == task.y_test[i])[0])
        k_st[i, j] = 1.0 if i < 3 else -1.0
    out = convergence.regression_accuracy(task, np.eye(n), k_st)
    assert list(out.columns) == ["t", "accuracy", "low", "high"] and out.t.tolist() == [math.inf]
    ci = stats.binomtest(3, 4).proportion_ci(method="wilson")
    assert out.accuracy[0] == 0.75 and (out.low[0], out.high[0]) == pytest.approx((ci.low, ci.high))
    grid = convergence.regression_accuracy(task, np.eye(n), k_st, 5)
    assert len(grid) == 5 and np.all(np.diff(grid.t) > 0) and (grid.accuracy == 0.75).all()
    with pytest.raises(ValueError, match="relative_ridge"):
        convergence.regression_accuracy(task, np.eye(n), k_st, relative_ridge=-1.0)


def test_task_title():
    assert data.load_task("mnist_embedded", (3, 5), n_train=4, n_test=4, seed=0).title == "3 vs 5"
    assert data.load_task("mnist_embedded", (0, 1, 2), n_train=6, n_test=6, seed=0).title == "3-class"
