"""Figures of the eigen-feature sections: spectrum, usefulness and robustness, gradients, consistency."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ntkcompanion.evidence import accuracy_interval
from ntkcompanion.plotting._style import PALETTE, as_image

__all__ = [
    "eigenvalue_spectrum",
    "feature_accuracy",
    "feature_gradients",
    "learned_early",
    "learned_early_intervals",
    "head_tail_accuracy",
    "feature_profiles",
    "eigenspace_overlap",
    "feature_agreement_heatmap",
    "feature_pictures",
    "feature_gallery",
    "gradient_roughness",
]


def eigenvalue_spectrum(eigenvalues, *, resolved=None):
    r"""Eigenvalues :math:`\lambda_1 \ge \lambda_2 \ge \dots` of :math:`\Theta(X, X)` against their index, log scale.

    Args:
      eigenvalues: ``(n,)`` eigenvalues, largest first (``features.eigendecomposition``).
      resolved: optional ``(n,)`` mask (``features.resolved``); unresolved ones are drawn in grey.

    Returns:
      The figure.
    """
    lam = np.asarray(eigenvalues, float)
    index = np.arange(1, len(lam) + 1)
    mask = np.ones(len(lam), bool) if resolved is None else np.asarray(resolved, bool)
    fig, ax = plt.subplots()
    ax.plot(index[mask], lam[mask], marker=".", ms=3, lw=1, label="resolved")
    if not mask.all():
        ax.plot(index[~mask], np.maximum(lam[~mask], lam[mask].min() * 1e-3), ".", color="grey",
                label="unresolved (below the relative cut-off)")
        ax.legend()
    ax.set(xscale="log", yscale="log", xlabel="eigen-index $i$", ylabel=r"$\lambda_i$",
           title=r"Spectrum of $\Theta(X, X)$")
    return fig


def feature_accuracy(table, *, majority=None, bins: int = 20):
    r"""Usefulness and robustness of eigen-features against their eigen-index: per feature and binned.

    Args:
      table: DataFrame with columns ``index`` (1-based eigen-index), ``measure`` (e.g. ``"usefulness"``,
        ``"robustness (FGSM)"``) and ``accuracy``.
      majority: optional majority-class rate, drawn dashed.
      bins: equal-count bins of eigen-indices for the binned means (right panel).

    Returns:
      The figure: left, every feature (points); right, mean per bin of indices.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.6), sharey=True, constrained_layout=True)
    sns.scatterplot(data=table, x="index", y="accuracy", hue="measure", s=8, alpha=0.5, linewidth=0, ax=left)
    binned = table.assign(bin=table.groupby("measure")["index"].transform(
        lambda i: np.minimum((i.rank(method="first") - 1) * bins // len(i), bins - 1)))
    means = binned.groupby(["measure", "bin"], sort=False).agg(index=("index", "mean"),
                                                                accuracy=("accuracy", "mean")).reset_index()
    sns.lineplot(data=means, x="index", y="accuracy", hue="measure", marker="o", ax=right, legend=False)
    for ax in (left, right):
        if majority is not None:
            ax.axhline(majority, ls="--", lw=1, color="grey")
        ax.set(xscale="log", xlabel="eigen-index $i$ (largest eigenvalue first)")
    left.set(ylabel="accuracy", title="each feature")
    right.set(title=f"mean over {bins} bins of indices (dashed: majority class)")
    return fig


def feature_gradients(gradients, titles, *, images=None):
    r"""Input gradients of features' losses, min-max scaled per panel (the paper's feature pictures).

    Args:
      gradients: ``(m, h, w, c)`` gradients, one per feature, at one test image.
      titles: ``m`` panel titles.
      images: optional ``(h, w, c)`` test image, shown first.

    Returns:
      The figure: one row of panels.
    """
    panels = ([("test image", np.asarray(images))] if images is not None else []) + list(
        zip(titles, np.asarray(gradients)))
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 * len(panels), 2.0), squeeze=False,
                             constrained_layout=True)
    for ax, (title, g) in zip(axes[0], panels):
        g = g[..., 0] if g.shape[-1] == 1 else g  # grey images as (h, w); colour ones stay RGB
        ax.imshow((g - g.min()) / max(float(g.max() - g.min()), 1e-12), cmap="gray")
        ax.set_title(title, fontsize="x-small")
        ax.axis("off")
    return fig


def learned_early(time_table, top_k_table):
    r"""Accuracy and robust accuracy of :math:`f_t` against training time, and of top-k predictors.

    Args:
      time_table: DataFrame with columns ``t``, ``measure`` (``"accuracy"``, ``"robust accuracy (...)"``)
        and ``value``; optional ``low`` and ``high`` (a 95% interval, drawn as a band).
      top_k_table: DataFrame with columns ``k``, ``accuracy`` and ``robust_accuracy``.

    Returns:
      The figure: left, :math:`f_t` along gradient flow (log t); right, the robustness-accuracy
      curve of :math:`\sum_{i \le k} \phi_i` as ``k`` grows (colour: log k).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8), constrained_layout=True)
    sns.lineplot(data=time_table, x="t", y="value", hue="measure", marker="o", ms=4, ax=left)
    if {"low", "high"} <= set(time_table.columns):
        colours = dict(zip(time_table["measure"].unique(), sns.color_palette(PALETTE)))
        for measure, part in time_table.groupby("measure", sort=False):
            left.fill_between(part["t"], part["low"], part["high"], color=colours[measure], alpha=0.2, lw=0)
    left.set(xscale="log", xlabel=r"training time $t$", ylabel="test accuracy",
             title=r"$f_t$ along gradient flow")
    right.plot(top_k_table["accuracy"], top_k_table["robust_accuracy"], color="grey", lw=1, zorder=1)
    points = right.scatter(top_k_table["accuracy"], top_k_table["robust_accuracy"],
                           c=np.log10(top_k_table["k"]), cmap="viridis", s=25, zorder=2)
    fig.colorbar(points, ax=right, label=r"$\log_{10} k$")
    right.set(xlabel="clean accuracy", ylabel="robust accuracy",
              title=r"top-$k$ predictors $\sum_{i \leq k} \phi_i$")
    return fig


def learned_early_intervals(times, along, ks, top, *, attack: str = "PGD"):
    r""":func:`learned_early` from per-point correctness, with 95% Wilson intervals along :math:`t`.

    Args:
      times: ``(n_t,)`` training times (an infinite last time, :math:`f_\infty`, is left out of the plot).
      along: ``(clean, robust)`` correctness of :math:`f_t`, each ``(n_t, n_test)``
        (``feature_attacks.Correctness``).
      ks: ``(n_k,)`` numbers of top features; top: the same for the top-k predictors, ``(n_k, n_test)`` each.
      attack: the attack's name, for the legend.

    Returns:
      ``(figure, table)``: the figure and the long table of the left panel (``t``, ``measure``,
      ``value``, ``low``, ``high``).
    """
    rows = []
    for measure, correct in (("clean", along[0]), (f"under {attack}", along[1])):
        correct = np.asarray(correct)
        for t, c in zip(times, correct):
            low, high = accuracy_interval(int(c.sum()), c.size)
            rows.append({"t": float(t), "measure": measure, "value": float(c.mean()), "low": low, "high": high})
    table = pd.DataFrame(rows)
    top_k = pd.DataFrame({"k": np.asarray(ks), "accuracy": np.asarray(top[0]).mean(axis=1),
                          "robust_accuracy": np.asarray(top[1]).mean(axis=1)})
    return learned_early(table[np.isfinite(table["t"])], top_k), table


def head_tail_accuracy(details, *, attack: str = "PGD"):
    r"""Clean and robust accuracy of the head :math:`\sum_{i \le k} \phi_i` and the tail :math:`\sum_{i > k} \phi_i`.

    Args:
      details: the claim-3 group verdict's ``details`` (``evidence.claims.claim3``): ``k``,
        ``majority``, and ``head_clean``, ``head_robust``, ``tail_clean``, ``tail_robust`` with
        their ``*_ci`` intervals.
      attack: the attack's name, for the legend.

    Returns:
      The figure: bars with 95% intervals, the majority rate dashed.
    """
    k = details["k"]
    groups = {"head": rf"head $\sum_{{i \leq {k}}} \phi_i$", "tail": rf"tail $\sum_{{i > {k}}} \phi_i$"}
    measures = {"clean": "clean", "robust": f"under {attack}"}
    fig, ax = plt.subplots(figsize=(6.0, 3.4), constrained_layout=True)
    width = 0.38
    for j, (measure, label) in enumerate(measures.items()):
        x = np.arange(len(groups)) + (j - 0.5) * width
        value = np.array([details[f"{g}_{measure}"] for g in groups])
        low, high = np.array([details[f"{g}_{measure}_ci"] for g in groups]).T
        ax.bar(x, value, width, label=label, color=sns.color_palette(PALETTE)[j])
        ax.errorbar(x, value, yerr=[value - low, high - value], fmt="none", color="black", capsize=3, lw=1)
    ax.axhline(details["majority"], ls="--", lw=1, color="grey", label="majority class")
    ax.set(xticks=np.arange(len(groups)), xticklabels=list(groups.values()), ylim=(0, 1), ylabel="test accuracy",
           title="The predictor split at the head of the spectrum")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def feature_profiles(table, *, majority=None, bins: int = 10):
    r"""Usefulness and robustness of eigen-features against eigen-index, one panel per kernel, binned means.

    Args:
      table: DataFrame with columns ``kernel``, ``index`` (1-based eigen-index), ``measure`` and ``accuracy``.
      majority: optional majority-class rate, drawn dashed.
      bins: equal-count bins of eigen-indices per kernel and measure.

    Returns:
      The figure: panels side by side on shared axes, mean accuracy per bin (points: bin means).
    """
    names = list(table["kernel"].unique())
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names) + 0.4, 3.3), squeeze=False, sharey=True,
                             sharex=True, constrained_layout=True)
    colours = dict(zip(table["measure"].unique(), sns.color_palette(PALETTE)))
    for ax, name in zip(axes[0], names):
        part = table[table["kernel"] == name]
        binned = part.assign(bin=part.groupby("measure")["index"].transform(
            lambda i: np.minimum((i.rank(method="first") - 1) * bins // len(i), bins - 1)))
        means = binned.groupby(["measure", "bin"], sort=False).agg(
            index=("index", "mean"), accuracy=("accuracy", "mean")).reset_index()
        sns.lineplot(data=means, x="index", y="accuracy", hue="measure", palette=colours, marker="o", ms=4,
                     ax=ax, legend=ax is axes[0, 0])
        if majority is not None:
            ax.axhline(majority, ls="--", lw=1, color="grey")
        ax.set(xscale="log", xlabel="eigen-index $i$", ylabel="accuracy", title=name, ylim=(-0.03, 1.03))
    legend = axes[0, 0].get_legend()
    if legend is not None:
        legend.set_title(None)
        for text in legend.get_texts():
            text.set_fontsize("x-small")
    return fig


def eigenspace_overlap(overlap, names, curves, *, k: int, chance=None):
    r"""Top-k eigenspace overlap :math:`O_k` between kernels: a kernels × kernels heatmap and :math:`O_k` against k.

    Args:
      overlap: ``(K, K)`` matrix of :math:`O_k` at the headline ``k`` (``similarity.subspace_overlap``).
      names: ``K`` kernel names.
      curves: DataFrame with columns ``pair``, ``k`` and ``overlap``.
      k: the headline ``k``, for titles.
      chance: optional DataFrame with columns ``k`` and ``overlap`` (random subspaces, :math:`k/m`), drawn dashed.

    Returns:
      The figure.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8), gridspec_kw={"width_ratios": [1, 1.4]},
                                      constrained_layout=True)
    sns.heatmap(np.asarray(overlap), vmin=0, vmax=1, cmap="viridis", annot=True, fmt=".2f", square=True,
                xticklabels=names, yticklabels=names, cbar_kws={"label": f"$O_{{{k}}}$", "shrink": 0.8}, ax=left)
    left.set_title(f"overlap of the top-{k} eigenspaces")
    left.tick_params(axis="x", labelrotation=0)
    sns.lineplot(data=curves, x="k", y="overlap", hue="pair", marker="o", ms=4, ax=right)
    if chance is not None:
        right.plot(chance["k"], chance["overlap"], ls="--", color="grey", label="random subspaces ($k/m$)")
    right.axvline(k, ls=":", lw=1, color="grey")
    right.set(xscale="log", ylim=(0, 1.02), xlabel="number of top eigenfunctions $k$", ylabel="$O_k$",
              title=r"$O_k = \|P_A P_B\|_F^2 / k$ on the test set")
    right.legend(fontsize="x-small")
    return fig


def feature_agreement_heatmap(matrix, *, name_a: str, name_b: str):
    r"""Cosine between features :math:`\phi^A_i` and :math:`\phi^B_j` on the test set, for the first indices.

    Args:
      matrix: ``(n, n)`` cosines (``similarity.agreement_matrix``), rows for kernel ``name_a``.
      name_a, name_b: kernel names for the axes.

    Returns:
      The figure: a diverging heatmap in [−1, 1]; a bright diagonal means features matched by index agree.
    """
    m = np.asarray(matrix)
    n = len(m)
    fig, ax = plt.subplots(figsize=(4.6, 3.9), constrained_layout=True)
    image = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1, origin="upper", extent=(0.5, n + 0.5, n + 0.5, 0.5))
    fig.colorbar(image, ax=ax, label="cosine on the test set")
    ax.set(xlabel=f"eigen-index $j$ ({name_b})", ylabel=f"eigen-index $i$ ({name_a})",
           title=rf"$\cos(\phi_i^{{A}}, \phi_j^{{B}})$: A = {name_a}, B = {name_b}")
    ax.grid(False)
    return fig


def _scaled_gradient(g):
    """Symmetric min-max scaling g / max|g| to [−1, 1]: white is zero gradient. Colour images → RGB around grey."""
    g = np.asarray(g, float)
    g = g / max(float(np.max(np.abs(g))), 1e-12)
    return g[..., 0] if g.shape[-1] == 1 else np.clip(0.5 + g / 2, 0, 1)


def _show_gradient(ax, g):
    return ax.imshow(_scaled_gradient(g), cmap="RdBu_r", vmin=-1, vmax=1)


def feature_pictures(images, adversarial, gradients, titles, *, adversarial_titles=None, image_titles=None):
    r"""Test images, their adversarial versions and the input gradients of chosen features' losses there.

    Args:
      images: ``(r, h, w, c)`` clean test images in [0, 1], one row each.
      adversarial: ``(r, h, w, c)`` their adversarial versions.
      gradients: ``(m, r, h, w, c)`` :math:`\nabla_x L(\phi_i(x), y)` for ``m`` features at each image,
        each panel scaled by its largest absolute value to [−1, 1] (diverging map, white = 0).
      titles: ``m`` feature labels (e.g. index, usefulness ρ, robustness γ), printed on every panel.
      adversarial_titles, image_titles: optional ``r`` captions (e.g. predictions).

    Returns:
      The figure: one row per image; columns image, adversarial, then one per feature; a shared colour bar.
    """
    images, adversarial, gradients = np.asarray(images), np.asarray(adversarial), np.asarray(gradients)
    r, m = len(images), len(gradients)
    fig, axes = plt.subplots(r, 2 + m, figsize=(1.45 * (2 + m) + 0.8, 1.55 * r + 0.3), squeeze=False,
                             constrained_layout=True)
    for row in range(r):
        axes[row, 0].imshow(as_image(images[row]), cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(image_titles[row] if image_titles is not None else "test image", fontsize="x-small")
        axes[row, 1].imshow(as_image(adversarial[row]), cmap="gray", vmin=0, vmax=1)
        axes[row, 1].set_title(adversarial_titles[row] if adversarial_titles is not None else "adversarial",
                               fontsize="x-small")
        for j in range(m):
            image = _show_gradient(axes[row, 2 + j], gradients[j, row])
            axes[row, 2 + j].set_title(titles[j], fontsize="x-small")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(image, ax=axes[:, 2:].ravel().tolist(), shrink=0.7, ticks=[-1, 0, 1],
                 label=r"$\nabla_x L$ / max $|\nabla_x L|$")
    return fig


def feature_gallery(gradients, titles, *, image=None, ncols: int = 6, frames=None):
    r"""A gallery of feature pictures at one test image: input gradients scaled to [−1, 1] (diverging map).

    Args:
      gradients: ``(m, h, w, c)``, one per feature.
      titles: ``m`` panel titles (index, usefulness, robustness).
      image: optional ``(h, w, c)`` test image, shown first in grey.
      ncols: panels per row.
      frames: optional ``m`` labels or ``None``; panels with a label get a frame in that label's colour,
        explained in a legend (e.g. ``"top"``, ``"useful"``).

    Returns:
      The figure.
    """
    gradients = np.asarray(gradients)
    panels = ([None] if image is not None else []) + list(range(len(gradients)))
    rows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(1.55 * ncols + 0.8, 1.7 * rows + 0.5), squeeze=False,
                             constrained_layout=True)
    labels = [f for f in dict.fromkeys(frames or []) if f is not None]
    colours = dict(zip(labels, sns.color_palette(PALETTE)[2:]))
    shown = None
    for ax, p in zip(axes.ravel(), panels):
        if p is None:
            ax.imshow(as_image(image), cmap="gray", vmin=0, vmax=1)
            ax.set_title("test image", fontsize="x-small")
        else:
            shown = _show_gradient(ax, gradients[p])
            ax.set_title(titles[p], fontsize="x-small")
            if frames is not None and frames[p] is not None:
                for spine in ax.spines.values():
                    spine.set(visible=True, color=colours[frames[p]], linewidth=2.5)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    if shown is not None:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.6, ticks=[-1, 0, 1],
                     label=r"$\nabla_x L$ / max $|\nabla_x L|$")
    if labels:
        handles = [plt.Rectangle((0, 0), 1, 1, fill=False, edgecolor=colours[f], linewidth=2.5) for f in labels]
        fig.legend(handles, [f"frame: {f}" for f in labels], loc="outside lower center", ncol=len(labels),
                   fontsize="x-small", frameon=False)
    return fig


def gradient_roughness(gradients) -> np.ndarray:
    r"""Roughness of gradient pictures: mean absolute difference of neighbouring pixels over the mean absolute value.

    :math:`R(g) = \tfrac12 (\operatorname{mean}|\Delta_h g| + \operatorname{mean}|\Delta_v g|) / \operatorname{mean}|g|`
    over horizontally and vertically adjacent pixels: about 0 for a smooth picture, about 1 or more
    for white noise. It puts a number on "looks like a digit" against "looks like noise".

    Args:
      gradients: ``(..., h, w, c)`` pictures.

    Returns:
      ``(...)`` float64.
    """
    g = np.asarray(gradients, np.float64)
    dx, dy = np.abs(np.diff(g, axis=-3)), np.abs(np.diff(g, axis=-2))
    axes = (-3, -2, -1)
    return (dx.mean(axes) + dy.mean(axes)) / 2 / np.maximum(np.abs(g).mean(axes), 1e-12)
