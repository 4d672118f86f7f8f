"""The book's figures: one seaborn house style, one function per figure kind.

Every function returns its ``matplotlib.figure.Figure`` so a notebook cell can show
it, save it, or add to it; none calls ``plt.show``.
"""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

__all__ = ["set_style", "kernel_convergence", "accuracy_vs_time", "PALETTE"]

PALETTE = "colorblind"


def set_style():
    """Applies the house style (seaborn whitegrid, colour-blind palette, book-width figures)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE,
                  rc={"figure.figsize": (7.0, 3.6), "figure.dpi": 110,
                      "axes.titlesize": "medium", "savefig.bbox": "tight"})


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


__all__ += ["kernel_distance_heatmaps", "polar_dynamics", "spectral_mass", "linearisation"]


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
        and ``value``.
      top_k_table: DataFrame with columns ``k``, ``accuracy`` and ``robust_accuracy``.

    Returns:
      The figure: left, :math:`f_t` along gradient flow (log t); right, the robustness-accuracy
      curve of :math:`\sum_{i \le k} \phi_i` as ``k`` grows (colour: log k).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8), constrained_layout=True)
    sns.lineplot(data=time_table, x="t", y="value", hue="measure", marker="o", ms=4, ax=left)
    left.set(xscale="log", xlabel=r"training time $t$", ylabel="test accuracy",
             title=r"$f_t$ along gradient flow")
    right.plot(top_k_table["accuracy"], top_k_table["robust_accuracy"], color="grey", lw=1, zorder=1)
    points = right.scatter(top_k_table["accuracy"], top_k_table["robust_accuracy"],
                           c=np.log10(top_k_table["k"]), cmap="viridis", s=25, zorder=2)
    fig.colorbar(points, ax=right, label=r"$\log_{10} k$")
    right.set(xlabel="clean accuracy", ylabel="robust accuracy",
              title=r"top-$k$ predictors $\sum_{i \leq k} \phi_i$")
    return fig


__all__ += ["eigenvalue_spectrum", "feature_accuracy", "feature_gradients", "learned_early"]


def transfer_vs_width(table, *, kernel_adversarial=None, kernel_clean=None):
    """Finite networks' accuracy against width: clean, on the kernel's adversarial examples, and white-box.

    Args:
      table: DataFrame with one row per run and columns ``width``, ``clean_accuracy``,
        ``transfer_accuracy`` and ``whitebox_accuracy`` (``transfer.TransferResult.table``).
      kernel_adversarial: the kernel predictor's accuracy on its own adversarial examples, drawn dashed.
      kernel_clean: the kernel predictor's clean accuracy, drawn dotted.

    Returns:
      The figure: mean ± sd over seeds against width on a log axis.
    """
    labels = {"clean_accuracy": "clean", "transfer_accuracy": "kernel's examples (transfer)",
              "whitebox_accuracy": "own examples (white-box)"}
    long = table.melt(id_vars=["width"], value_vars=list(labels), var_name="evaluation",
                      value_name="accuracy")
    long["evaluation"] = long["evaluation"].map(labels)
    fig, ax = plt.subplots()
    sns.lineplot(data=long, x="width", y="accuracy", hue="evaluation", marker="o", errorbar="sd", ax=ax)
    if kernel_adversarial is not None:
        ax.axhline(kernel_adversarial, ls="--", lw=1, color="black", label="NTK predictor, own examples")
    if kernel_clean is not None:
        ax.axhline(kernel_clean, ls=":", lw=1, color="black", label="NTK predictor, clean")
    ax.set(xscale="log", xlabel="width $w$", ylabel="test accuracy", ylim=(-0.02, 1.02),
           title="Finite networks under the NTK predictor's adversarial examples")
    ax.legend(fontsize="small")
    return fig


def laziness_vs_width(table):
    r"""How far training moves a network, against width: parameters (left) and empirical NTK (right).

    Args:
      table: DataFrame with columns ``width``, ``param_change``, ``kernel_distance_init_final`` and,
        if present, ``kernel_distance_init_analytic`` and ``kernel_distance_final_analytic``.

    Returns:
      The figure: two log-log panels, mean ± sd over seeds, with a :math:`w^{-1/2}` guide on the left.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    sns.lineplot(data=table, x="width", y="param_change", marker="o", errorbar="sd", ax=left)
    means = table.groupby("width")["param_change"].mean()
    widths = np.asarray(means.index, float)
    left.plot(widths, means.iloc[0] * np.sqrt(widths[0] / widths), ls=":", color="grey",
              label=r"$\propto w^{-1/2}$")
    left.set(xscale="log", yscale="log", xlabel="width $w$",
             ylabel=r"$\|\theta_T - \theta_0\| \,/\, \|\theta_0\|$", title="Relative parameter change")
    left.legend(fontsize="small")
    labels = {"kernel_distance_init_final": r"$d(\hat\Theta_0, \hat\Theta_T)$",
              "kernel_distance_init_analytic": r"$d(\hat\Theta_0, \Theta)$",
              "kernel_distance_final_analytic": r"$d(\hat\Theta_T, \Theta)$"}
    present = [c for c in labels if c in table.columns]
    long = table.melt(id_vars=["width"], value_vars=present, var_name="distance", value_name="value")
    long["distance"] = long["distance"].map(labels)
    # A kernel distance can round to exactly 0 in float32; keep the log axis finite.
    long["value"] = long["value"].clip(lower=1e-8)
    sns.lineplot(data=long, x="width", y="value", hue="distance", marker="o", errorbar="sd", ax=right)
    right.set(xscale="log", yscale="log", xlabel="width $w$", ylabel="kernel distance $d$",
              title="Empirical NTK: movement and distance to the limit")
    right.legend(fontsize="small")
    fig.tight_layout()
    return fig


__all__ += ["transfer_vs_width", "laziness_vs_width"]


def robustness_curves(table, *, reach=None):
    r"""Accuracy of a predictor under attack against the budget :math:`\epsilon`, one line per model × attack.

    Args:
      table: DataFrame with columns ``architecture``, ``attack`` (``"FGSM"`` dashed, any other solid),
        ``eps`` and ``accuracy``; an optional ``task`` column gives one panel per task.
      reach: optional :math:`\epsilon` beyond which PGD (steps × step size below :math:`\epsilon`)
        cannot reach the boundary of the ball; drawn as a dotted line where it falls inside the axis.

    Returns:
      The figure: accuracy against :math:`\epsilon`, colour = architecture (the same in every panel),
      line style = attack, one shared legend.
    """
    from matplotlib.lines import Line2D

    tasks = list(table["task"].unique()) if "task" in table else [None]
    names = list(table["architecture"].unique())
    kinds = list(table["attack"].unique())
    colours = dict(zip(names, sns.color_palette(PALETTE)))
    style = {kind: ("--", "o") if kind == "FGSM" else ("-", "X") for kind in kinds}
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks) + 1.6, 3.6), squeeze=False,
                             sharey=True, constrained_layout=True)
    for ax, task in zip(axes[0], tasks):
        part = table if task is None else table[table["task"] == task]
        # Solid lines first, dashed on top: FGSM and PGD often coincide for a nearly linear predictor.
        for kind in sorted(kinds, key=lambda k: k == "FGSM"):
            for name in names:
                line = part[(part["attack"] == kind) & (part["architecture"] == name)].sort_values("eps")
                if len(line):
                    ls, marker = style[kind]
                    ax.plot(line["eps"], line["accuracy"], ls=ls, marker=marker, ms=5, color=colours[name],
                            mfc="none" if kind == "FGSM" else colours[name])
        if reach is not None and reach < part["eps"].max():
            ax.axvline(reach, ls=":", color="grey", lw=1)
        ax.set(xlabel=r"budget $\epsilon$", ylim=(-0.02, 1.02), title=task or "")
    axes[0, 0].set_ylabel("test accuracy")
    handles = [Line2D([], [], color=colours[n], lw=2, label=n) for n in names]
    handles += [Line2D([], [], color="grey", ls=style[k][0], marker=style[k][1],
                       mfc="none" if k == "FGSM" else "grey", label=k) for k in kinds]
    if reach is not None and reach < table["eps"].max():
        handles.append(Line2D([], [], color="grey", ls=":", label="PGD reach"))
    axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle("Kernel accuracy under training-free attacks", fontsize="medium")
    return fig


def _as_image(x):
    """(h, w, c) in [0, 1] → what imshow wants: (h, w) for one channel, (h, w, 3) for three."""
    x = np.clip(np.asarray(x, float), 0.0, 1.0)
    return x[..., 0] if x.shape[-1] == 1 else x


def adversarial_grid(x, rows, *, eps: float, titles=None):
    r"""Clean test images, their adversarial versions and the perturbations, one column per image.

    Args:
      x: ``(n, h, w, c)`` clean images in [0, 1].
      rows: model name → ``(x_adv, captions, wrong)``: ``x_adv`` ``(n, h, w, c)``, ``n`` short captions
        (e.g. the prediction on the adversarial image) and ``n`` booleans, True where the model is
        wrong on ``x_adv`` (caption in red). Each model gives two rows: the adversarial images and
        :math:`x_{adv} - x` on a diverging scale :math:`[-\epsilon, \epsilon]` (grey = unchanged for colour images).
      eps: the budget, for the perturbation's colour scale.
      titles: optional ``n`` strings over the clean images (e.g. label and clean predictions).

    Returns:
      The figure.
    """
    x = np.asarray(x)
    n = len(x)
    n_rows = 1 + 2 * len(rows)
    fig, axes = plt.subplots(n_rows, n, figsize=(1.25 * n + 1.2, 1.35 * n_rows), squeeze=False,
                             constrained_layout=True)
    scale = max(float(eps), 1e-12)
    red = sns.color_palette(PALETTE)[3]
    for j in range(n):
        axes[0, j].imshow(_as_image(x[j]), cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize="x-small")
    axes[0, 0].set_ylabel("clean", fontsize="small")
    for r, (name, (x_adv, captions, wrong)) in enumerate(rows.items()):
        adv_axes, delta_axes = axes[1 + 2 * r], axes[2 + 2 * r]
        x_adv = np.asarray(x_adv)
        for j in range(n):
            adv_axes[j].imshow(_as_image(x_adv[j]), cmap="gray", vmin=0, vmax=1)
            adv_axes[j].set_title(captions[j], fontsize="x-small", color=red if wrong[j] else "black",
                                  fontweight="bold" if wrong[j] else "normal")
            delta = x_adv[j] - x[j]
            if delta.shape[-1] == 1:
                image = delta_axes[j].imshow(delta[..., 0], cmap="RdBu_r", vmin=-scale, vmax=scale)
            else:
                delta_axes[j].imshow(np.clip(0.5 + delta / (2 * scale), 0, 1))
        adv_axes[0].set_ylabel(f"{name}\nadversarial", fontsize="small")
        delta_axes[0].set_ylabel(f"{name}\n$x_{{adv}} - x$", fontsize="small")
        if x.shape[-1] == 1:
            fig.colorbar(image, ax=delta_axes.tolist(), shrink=0.8, ticks=[-scale, 0, scale], format="%.3g")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    return fig


__all__ += ["robustness_curves", "adversarial_grid"]


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
        axes[row, 0].imshow(_as_image(images[row]), cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(image_titles[row] if image_titles is not None else "test image", fontsize="x-small")
        axes[row, 1].imshow(_as_image(adversarial[row]), cmap="gray", vmin=0, vmax=1)
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
            ax.imshow(_as_image(image), cmap="gray", vmin=0, vmax=1)
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


__all__ += ["feature_profiles", "eigenspace_overlap", "feature_agreement_heatmap", "feature_pictures",
            "feature_gallery"]
