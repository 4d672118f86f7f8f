"""Figures of the attack sections: accuracy against the budget, adversarial images, transfer and laziness."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ntkcompanion.plotting._style import PALETTE, as_image

__all__ = ["transfer_vs_width", "laziness_vs_width", "robustness_curves", "adversarial_grid"]


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
        axes[0, j].imshow(as_image(x[j]), cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize="x-small")
    axes[0, 0].set_ylabel("clean", fontsize="small")
    for r, (name, (x_adv, captions, wrong)) in enumerate(rows.items()):
        adv_axes, delta_axes = axes[1 + 2 * r], axes[2 + 2 * r]
        x_adv = np.asarray(x_adv)
        for j in range(n):
            adv_axes[j].imshow(as_image(x_adv[j]), cmap="gray", vmin=0, vmax=1)
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
