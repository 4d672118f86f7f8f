"""Figures draw the data they are given: planted tables and verdicts, read back from the artists."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ntkcompanion import plotting  # noqa: E402
from ntkcompanion.plotting._evidence import DECISION_COLOURS  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    plotting.set_style()
    yield
    plt.close("all")


def dashed(ax):
    return [line for line in ax.lines if line.get_linestyle() in ("--", ":")]


def test_kernel_convergence_draws_seed_means_and_a_half_power_reference():
    widths, seeds = [16, 64, 256], [0, 1]
    rows = [dict(architecture=a, width=w, seed=s, relative_error=c / np.sqrt(w) * (1 + 0.1 * s))
            for a, c in (("fc", 1.0), ("conv", 3.0)) for w in widths for s in seeds]
    table = pd.DataFrame(rows)
    fig = plotting.kernel_convergence(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    means = table.groupby(["architecture", "width"]).relative_error.mean()
    solid = [line for line in ax.lines if line.get_linestyle() == "-" and len(line.get_xdata()) == 3]
    drawn = {tuple(np.round(line.get_ydata(), 12)) for line in solid}
    for a in ("fc", "conv"):
        assert tuple(np.round(means[a].to_numpy(), 12)) in drawn
    for line in dashed(ax):                       # w^{-1/2}: slope -1/2 on the log-log axes
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        np.testing.assert_allclose(np.diff(np.log(y)) / np.diff(np.log(x)), -0.5)
    assert len(dashed(ax)) == 2


def test_accuracy_vs_time_marks_each_final_accuracy_dashed():
    table = pd.DataFrame(dict(kernel=["fc NTK"] * 3 + ["conv NTK"] * 3, t=[0.1, 1, 10] * 2,
                              accuracy=[0.5, 0.7, 0.8, 0.55, 0.75, 0.9]))
    fig = plotting.accuracy_vs_time(table, final={"fc NTK": 0.81, "conv NTK": 0.92})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert sorted(line.get_ydata()[0] for line in dashed(ax)) == [0.81, 0.92]


def test_eigenvalue_spectrum_separates_resolved_from_unresolved():
    lam = np.array([5.0, 1.0, 0.2, 1e-9])
    fig = plotting.eigenvalue_spectrum(lam, resolved=lam > 1e-5 * lam[0])
    lines = fig.axes[0].lines
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[0].get_ydata(), [5.0, 1.0, 0.2])
    np.testing.assert_array_equal(lines[1].get_xdata(), [4])            # the unresolved one, in grey
    assert len(fig.axes[0].get_legend().get_texts()) == 2


def test_verdict_forest_draws_estimate_interval_threshold_and_decision():
    verdicts = [dict(claim=5, statistic="Spearman ρ", estimate=-0.4, ci=[-0.6, -0.2], threshold=0.0,
                     direction="below", decision="supported", reason="ci below threshold"),
                dict(claim=1, statistic="accuracy drop", estimate=float("nan"), ci=[None, None], threshold=0.1,
                     direction="above", decision="undetermined", reason="saturated; all points fooled")]
    fig = plotting.verdict_forest(verdicts, missing=[3])
    axes = fig.axes
    assert len(axes) == 3                                               # sorted by claim: 1, 3, 5
    assert axes[0].get_title(loc="left").startswith("claim 1") and axes[2].get_title(loc="left").startswith("claim 5")
    assert axes[0].get_title(loc="right") == "undetermined (saturated)"
    assert any(t.get_text() == "no estimate" for t in axes[0].texts)
    assert any(t.get_text() == "not yet reported" for t in axes[1].texts)
    ax = axes[2]
    assert [line.get_xdata()[0] for line in dashed(ax)] == [0.0]       # the threshold
    assert ax.get_title(loc="right") == "supported"
    point = [line for line in ax.lines if line.get_marker() == "o"][0]
    assert point.get_xdata()[0] == -0.4
    assert matplotlib.colors.to_rgb(point.get_color()) == matplotlib.colors.to_rgb(DECISION_COLOURS["supported"])
    lo, hi = ax.get_xlim()
    assert lo < -0.6 and hi > 0.0                                       # interval and threshold in view


def test_kernel_distance_heatmaps_share_one_colour_scale():
    d = {"standard": np.array([[0.0, 0.2], [0.2, 0.0]]), "pgd": np.array([[0.0, 0.5], [0.5, 0.0]])}
    fig = plotting.kernel_distance_heatmaps(d, {"standard": [0, 1], "pgd": [0, 1]})
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2 and all(im.get_clim() == (0, 0.5) for im in images)
    np.testing.assert_array_equal(images[1].get_array(), d["pgd"])


def test_gradient_roughness_on_planted_pictures():
    flat = np.ones((5, 5, 1))
    checker = np.indices((5, 5)).sum(0)[..., None] % 2 * 2 - 1.0      # ±1 alternating
    ramp = np.tile(np.arange(5.0)[:, None, None], (1, 5, 1))           # rows 0..4
    out = plotting.gradient_roughness(np.stack([flat, checker, ramp]))
    # flat: no differences; checker: |Δ| = 2 both ways over mean |g| = 1; ramp: |Δ_h| = 1, Δ_v = 0, mean |g| = 2
    np.testing.assert_allclose(out, [0.0, 2.0, 0.5 * 1 / 2.0])


def test_transfer_vs_width_right_panel_draws_the_claim2_margin_and_its_interval():
    widths = [64, 16, 256]  # the table in any order; details are per width in increasing order
    table = pd.DataFrame([dict(width=w, seed=s, clean_accuracy=0.9, transfer_accuracy=0.2 + 0.01 * s,
                               noise_accuracy=0.8, unrelated_accuracy=0.7) for w in widths for s in range(3)])
    details = {"widths": [16, 64, 256], "margin": [0.11, -0.07, 0.43],
               "margin_ci": [[0.02, 0.23], [-0.19, 0.05], [0.31, 0.52]],
               "share_fooled_transfer": [0.6, 0.3, 0.9]}  # no share interval: drawn as points only
    assert len(plotting.transfer_vs_width(table).axes) == 1
    fig = plotting.transfer_vs_width(table, details=details)
    right = fig.axes[1]
    (margin,) = [c for c in right.containers if c.get_label() == "stronger control − kernel examples"]
    line, _, (bars,) = margin.lines
    np.testing.assert_allclose(line.get_xdata(), [16, 64, 256])
    np.testing.assert_allclose(line.get_ydata(), [0.11, -0.07, 0.43])
    spans = sorted((seg[:, 1].min(), seg[:, 1].max()) for seg in bars.get_segments())
    np.testing.assert_allclose(spans, sorted(map(tuple, details["margin_ci"])))
    share = [ln for ln in right.lines if ln.get_label().startswith("share")]
    np.testing.assert_allclose(share[0].get_ydata(), [0.6, 0.3, 0.9])
    assert any(np.allclose(ln.get_ydata(), 0) for ln in dashed(right))
    assert right.get_xscale() == "log"


def test_linearisation_search_marks_the_lazy_epoch_not_the_first_switch_within_the_margin():
    switches = [0, 0.25, 0.5, 1, 2, 4]
    # Seed 0 is within the margin at 0 by chance, outside at 0.25 and 0.5, within from 1 on: lazy from 1.
    # Seed 1 was not run before its last miss at 2 (NaN) and is within only at 4: lazy from 4.
    # Seed 2 ends outside at the last switch: never lazy on the grid, no filled marker.
    linearised = {"pgd": {"robust": np.array([[0.60, 0.50, 0.52, 0.59, 0.61, 0.60],
                                              [np.nan, np.nan, np.nan, np.nan, 0.50, 0.60],
                                              [0.40, 0.45, 0.50, 0.52, 0.55, 0.50]]),
                          "clean": np.zeros((3, 6))}}
    full = {"pgd": {"robust": np.array([0.60, 0.60, 0.60]), "clean": np.ones(3)}}
    fig = plotting.linearisation_search(linearised, full, switches, margin=0.02, metric="robust")
    ax = fig.axes[0]
    filled = [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in ax.lines
              if ln.get_linestyle() in ("None", "") and len(ln.get_xdata()) == 1]
    np.testing.assert_allclose(sorted(filled), [(1.0, -0.01), (4.0, 0.0)], atol=1e-12)
    assert ax.get_xscale() == "symlog" and "robust accuracy" in ax.get_ylabel()
    np.testing.assert_allclose(ax.get_xticks(), switches)
    # Fractional switches do not pile up: the tick positions on screen are distinct and increasing.
    shown = ax.transData.transform(np.c_[switches, np.zeros(6)])[:, 0]
    assert np.all(np.diff(shown) > 10)
    with pytest.raises(ValueError, match="metric"):
        plotting.linearisation_search(linearised, full, switches, margin=0.02, metric="accuracy")
