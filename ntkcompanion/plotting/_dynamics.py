"""Figures of adversarial training: kernel distances, polar dynamics, spectral mass, linearisation."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ntkcompanion.evidence import LAZY_METRICS, lazy_epochs
from ntkcompanion.plotting._style import PALETTE

__all__ = ["kernel_distance_heatmaps", "polar_dynamics", "spectral_mass", "linearisation", "kernel_measures",
           "linearisation_search"]


def kernel_distance_heatmaps(distances: dict, epochs: dict):
    r"""Kernel distance :math:`1 - \operatorname{sim}(K_s, K_t)` between every pair of snapshots, one panel per run.

    Args:
      distances: run name → ``(T, T)`` distance matrix (``dynamics.distance_matrix``).
      epochs: run name → ``(T,)`` snapshot epochs.

    Returns:
      The figure: heatmaps side by side on one colour scale.
    """
    names = list(distances)
    vmax = max(float(np.max(d)) for d in distances.values())
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names) + 0.8, 3.4), squeeze=False,
                             constrained_layout=True)
    for ax, name in zip(axes[0], names):
        e = np.asarray(epochs[name])
        image = ax.imshow(distances[name], origin="lower", cmap="viridis", vmin=0, vmax=vmax,
                          extent=(e[0] - 0.5, e[-1] + 0.5, e[0] - 0.5, e[-1] + 0.5))
        ax.set(title=name, xlabel="epoch", ylabel="epoch")
        ax.grid(False)
    fig.colorbar(image, ax=axes[0].tolist(), label="kernel distance")
    return fig


def polar_dynamics(polar: dict):
    r"""Polar dynamics :math:`(\theta_t, r_t)` of each run's kernel, and of its top-k and bottom parts.

    Args:
      polar: run name → ``dynamics.polar_dynamics`` output (``{"full" | "top" | "bottom": {"r", "theta"}}``).

    Returns:
      The figure: three polar panels (full, top, bottom), one trajectory per run, angle in degrees.
    """
    parts = ("full", "top", "bottom")
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8), subplot_kw={"projection": "polar"},
                             constrained_layout=True)
    colours = sns.color_palette(PALETTE)
    for ax, part in zip(axes, parts):
        top = 0.0
        for colour, (name, trajectory) in zip(colours, polar.items()):
            theta, r = trajectory[part]["theta"], trajectory[part]["r"]
            ax.plot(theta, r, marker="o", ms=3, color=colour, label=name)
            top = max(top, float(np.nanmax(theta)) if np.any(np.isfinite(theta)) else 0.0)
        ax.set_thetamin(0)
        ax.set_thetamax(max(5.0, np.degrees(top) * 1.15))
        ax.set_title({"full": "kernel", "top": "top-k part", "bottom": "bottom part"}[part])
    axes[0].legend(loc="upper left", bbox_to_anchor=(0.0, -0.05), ncol=len(polar), frameon=False)
    return fig


def spectral_mass(table, *, top_k: int):
    r"""Share of the squared spectrum in the top k eigenvalues, :math:`m_k(t)`, over epochs.

    Args:
      table: DataFrame with columns ``run``, ``epoch`` and ``mass``.
      top_k: the k of :math:`m_k`, for the label.

    Returns:
      The figure.
    """
    fig, ax = plt.subplots()
    sns.lineplot(data=table, x="epoch", y="mass", hue="run", marker="o", ax=ax)
    ax.set(xlabel="epoch", ylabel=f"$m_{{{top_k}}}(t)$",
           title=f"Spectral mass in the top {top_k} eigenvalues of the empirical NTK")
    return fig


def linearisation(table, *, full: dict | None = None):
    """Final test accuracy when the linearised network is trained from epoch e on.

    Args:
      table: DataFrame with columns ``run``, ``switch_epoch``, ``accuracy`` and ``metric``
        (``"clean"`` or ``"robust"``).
      full: optional mapping (run, metric) → accuracy of the network trained to the end, drawn dashed.

    Returns:
      The figure: one panel per metric, accuracy against the switch epoch.
    """
    metrics = list(table["metric"].unique())
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.8 * len(metrics), 3.4), squeeze=False,
                             sharey=True, constrained_layout=True)
    colours = dict(zip(table["run"].unique(), sns.color_palette(PALETTE)))
    for ax, metric in zip(axes[0], metrics):
        part = table[table["metric"] == metric]
        sns.lineplot(data=part, x="switch_epoch", y="accuracy", hue="run", marker="o", ax=ax,
                     palette=colours)
        for (run, m), acc in (full or {}).items():
            if m == metric:
                ax.axhline(acc, ls="--", lw=1, color=colours.get(run, "grey"))
        ax.set(xlabel="epoch e of the switch to the linearised network", ylabel=f"final {metric} accuracy",
               title=f"{metric} (dashed: network trained throughout)")
    return fig


def _band(ax, x, rows, colour, label):
    """Mean over seeds (line), each seed (thin), and the min-max band of ``rows`` ``(n_seeds, len(x))``."""
    rows = np.asarray(rows, float)
    for row in rows:
        ax.plot(x, row, color=colour, lw=0.6, alpha=0.5)
    ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=colour, alpha=0.15, lw=0)
    ax.plot(x, rows.mean(axis=0), color=colour, lw=2, marker="o", ms=3, label=label)


def kernel_measures(measures: dict, *, transient: int, top_k: int):
    r"""Kernel velocity and top-k spectral mass over training, every seed of every run.

    Args:
      measures: run name → ``laziness.kernel_measures`` output (``"epochs"`` ``(T,)``,
        ``"velocity"`` ``(s, T - 1)``, ``"topk"`` ``(s, T)``).
      transient: epochs shaded as the early transient (left out of the verdicts' averages).
      top_k: the k of :math:`m_k`, for the label.

    Returns:
      The figure: velocity (log scale) and :math:`m_k(t)` against the epoch; thick lines are means
      over seeds, thin lines single seeds.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4), constrained_layout=True)
    colours = sns.color_palette(PALETTE)
    for colour, (name, m) in zip(colours, measures.items()):
        epochs = np.asarray(m["epochs"], float)
        _band(axes[0], epochs[1:], m["velocity"], colour, name)
        _band(axes[1], epochs, m["topk"], colour, name)
    for ax in axes:
        if transient > 0:
            ax.axvspan(0, transient, color="grey", alpha=0.12, lw=0)
        ax.set(xlabel="epoch")
    axes[0].set(yscale="log", ylabel="kernel distance per epoch", title="velocity (to this epoch's snapshot)")
    axes[1].set(ylabel=f"$m_{{{top_k}}}(t)$", title=f"spectral mass in the top {top_k}")
    axes[1].legend(frameon=False)
    return fig


def linearisation_search(linearised: dict, full: dict, switch_epochs, *, margin: float, metric: str):
    """How far each linearised run ends from the network trained throughout, against the switch epoch.

    Args:
      linearised: run name → ``(n_seeds, n_switch)`` final accuracies in ``metric``, or run name →
        ``{metric: (n_seeds, n_switch)}`` (``laziness.linearisation``); NaN: not run (the search
        stopped once the accuracy had left the margin).
      full: run name → ``(n_seeds,)`` final accuracy of the network trained throughout, or run name →
        ``{metric: (n_seeds,)}``.
      switch_epochs: ``(n_switch,)`` increasing switch epochs (fractions allowed).
      margin: the laziness margin, drawn as a grey band around 0.
      metric: the accuracy compared (``"clean"`` or ``"robust"``, ``evidence.LAZY_METRICS``), for the
        axis label and to pick it from nested dicts.

    Returns:
      The figure: one panel per run, one line per seed of linearised minus full accuracy; a filled
      marker is the seed's lazy epoch (``evidence.lazy_epochs``: the earliest switch from which every
      later switch is within the margin; none where the last switch is outside). The switch axis is
      linear from 0 to the smallest positive switch and logarithmic above it, so fractions of an
      epoch and whole epochs are both resolved; every switch is a tick.
    """
    if metric not in LAZY_METRICS:
        raise ValueError(f"metric = {metric!r}: expected one of {list(LAZY_METRICS)}.")

    def pick(value):
        return value[metric] if isinstance(value, dict) else value

    names = list(linearised)
    fig, axes = plt.subplots(1, len(names), figsize=(3.9 * len(names), 3.4), squeeze=False,
                             constrained_layout=True)
    colours = sns.color_palette(PALETTE, n_colors=max(3, len(np.atleast_1d(pick(next(iter(full.values())))))))
    x = np.asarray(switch_epochs, float)
    positive = x[x > 0]
    linthresh = min(1.0, positive.min()) if positive.size else 1.0
    for ax, name in zip(axes[0], names):
        ax.axhspan(-margin, margin, color="grey", alpha=0.2, lw=0)
        ax.axhline(0, color="grey", lw=0.8)
        values, reference = np.asarray(pick(linearised[name]), float), np.asarray(pick(full[name]), float)
        gaps = values - reference[:, None]
        lazy = lazy_epochs(x, values, reference, margin)  # the evidence layer's definition
        for s, gap in enumerate(gaps):
            colour = colours[s % len(colours)]
            run = np.isfinite(gap)
            ax.plot(x[run], gap[run], color=colour, marker="o", mfc="white", label=f"seed {s}")
            if np.isfinite(lazy[s]):
                j = int(np.flatnonzero(x == lazy[s])[0])
                ax.plot(x[j], gap[j], "o", color=colour, label="lazy epoch" if s == 0 else None)
        ax.set_xscale("symlog", linthresh=linthresh, linscale=1.0)
        ax.set_xticks(x, [f"{e:g}" for e in x])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set(xlabel="switch epoch e", ylabel=f"linearised − full, {metric} accuracy",
               title=f"{name} (grey: within ±{margin:g})")
    axes[0][0].legend(frameon=False, fontsize="small")
    return fig
