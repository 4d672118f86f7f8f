"""Figures of the primer: kernels at finite and infinite width, regression along training time."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ntkcompanion.plotting._style import PALETTE

__all__ = ["kernel_convergence", "accuracy_vs_time"]


def kernel_convergence(table):
    r"""Relative error of the empirical NTK against the analytic one, versus width.

    Args:
      table: a pandas DataFrame with columns ``architecture``, ``width``, ``seed`` and
        ``relative_error`` :math:`\|\hat\Theta_w - \Theta\|_F / \|\Theta\|_F`.

    Returns:
      The figure: log-log error against width, mean ± sd over seeds, with a
      :math:`w^{-1/2}` reference line through each architecture's first point.
    """
    fig, ax = plt.subplots()
    sns.lineplot(data=table, x="width", y="relative_error", hue="architecture",
                 marker="o", errorbar="sd", ax=ax)
    for i, (name, group) in enumerate(table.groupby("architecture", sort=False)):
        means = group.groupby("width")["relative_error"].mean()
        w0, e0 = means.index[0], means.iloc[0]
        widths = np.asarray(means.index, float)
        ax.plot(widths, e0 * np.sqrt(w0 / widths), ls=":", color="grey",
                label=r"$\propto w^{-1/2}$" if i == 0 else None)
    ax.set(xscale="log", yscale="log", xlabel="width $w$",
           ylabel=r"$\|\hat\Theta_w - \Theta\|_F \,/\, \|\Theta\|_F$",
           title="Empirical NTK approaches the analytic NTK as width grows")
    ax.legend()
    return fig


def accuracy_vs_time(table, *, final=None):
    """Test accuracy of kernel regression after gradient-flow time ``t``.

    Args:
      table: DataFrame with columns ``kernel``, ``t`` (> 0) and ``accuracy``.
      final: optional mapping kernel name → accuracy at t = ∞, drawn dashed.

    Returns:
      The figure, accuracy against ``t`` on a log axis.
    """
    fig, ax = plt.subplots()
    sns.lineplot(data=table, x="t", y="accuracy", hue="kernel", ax=ax)
    colours = dict(zip(table["kernel"].unique(), sns.color_palette(PALETTE)))
    for name, acc in (final or {}).items():
        ax.axhline(acc, ls="--", lw=1, color=colours.get(name, "grey"))
    ax.set(xscale="log", xlabel=r"training time $t$ (learning rate $\eta = 1$)",
           ylabel="test accuracy", title="Kernel regression along gradient flow (dashed: $t=\\infty$)")
    return fig
