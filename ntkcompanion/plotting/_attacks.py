"""Figures of the attack sections: accuracy against the budget, adversarial images, transfer and laziness."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D

from ntkcompanion.plotting._style import PALETTE, as_image

__all__ = ["transfer_vs_width", "laziness_vs_width", "accuracy_vs_budget", "adversarial_examples",
           "adversarial_grid"]


def transfer_vs_width(table, *, kernel_adversarial=None, kernel_clean=None, details=None):
    r"""Finite networks' accuracy against width on the kernel's examples and on the controls; the transfer margin.

    Args:
      table: DataFrame with one row per run and columns ``width``, ``clean_accuracy``,
        ``transfer_accuracy``, ``noise_accuracy`` and ``unrelated_accuracy``
        (``transfer.TransferResult.table``).
      kernel_adversarial: the kernel predictor's accuracy on its own adversarial examples, drawn dashed.
      kernel_clean: the kernel predictor's clean accuracy, drawn dotted.
      details: the ``claim2_transfer`` verdict's details (``evidence.claims.claim2``); when given, a
        right panel shows, per width, the transfer margin ``margin`` (the net's accuracy on the
        stronger control minus its accuracy on the kernel's examples) with its 95% interval over
        seeds ``margin_ci``, a zero line, and the share of kernel-fooled points that also fool the
        net (``share_fooled_transfer``, with ``share_fooled_transfer_ci`` when present).

    Returns:
      The figure: mean ± sd over seeds against width on a log axis.
    """
    labels = {"clean_accuracy": "clean", "transfer_accuracy": "NTK predictor's examples",
              "unrelated_accuracy": "RBF model's examples (control)",
              "noise_accuracy": "random signs (control)"}
    present = [c for c in labels if c in table.columns]
    long = table.melt(id_vars=["width"], value_vars=present, var_name="evaluation", value_name="accuracy")
    long["evaluation"] = long["evaluation"].map(labels)
    fig, axes = plt.subplots(1, 2 if details else 1, figsize=(10.0, 3.8) if details else None, squeeze=False)
    ax = axes[0, 0]
    sns.lineplot(data=long, x="width", y="accuracy", hue="evaluation", marker="o", errorbar="sd", ax=ax)
    if kernel_adversarial is not None:
        ax.axhline(kernel_adversarial, ls="--", lw=1, color="black", label="NTK predictor, own examples")
    if kernel_clean is not None:
        ax.axhline(kernel_clean, ls=":", lw=1, color="black", label="NTK predictor, clean")
    ax.set(xscale="log", xlabel="width $w$", ylabel="test accuracy", ylim=(-0.02, 1.02),
           title="Networks under the kernel's examples")
    ax.legend(fontsize="small")
    if details:
        right, widths = axes[0, 1], np.asarray(details["widths"], float)
        for key, label in (("margin", "stronger control − kernel examples"),
                           ("share_fooled_transfer", "share of kernel-fooled points that fool the net")):
            value = np.asarray(details[key], float)
            ci = details.get(f"{key}_ci")
            if ci is None:  # no interval (e.g. the kernel is fooled nowhere): the point estimates only
                right.plot(widths, value, marker="o", label=label)
                continue
            ci = np.asarray(ci, float)
            right.errorbar(widths, value, yerr=[value - ci[:, 0], ci[:, 1] - value], marker="o", capsize=3,
                           label=label)
        right.axhline(0.0, ls="--", lw=1, color="black")
        right.set(xscale="log", xlabel="width $w$", ylabel="accuracy difference / share", ylim=(-1.02, 1.02),
                  title="Transfer margin and shared failures (95% CI over seeds)")
        right.legend(fontsize="small")
    ticks = np.unique(np.asarray(table["width"], float))
    for axis in fig.axes:  # the widths as ticks: a short log range gets crowded minor labels otherwise
        axis.set_xticks(ticks, [f"{w:g}" for w in ticks])
        axis.xaxis.set_minor_locator(plt.NullLocator())
    fig.tight_layout()
    return fig


def laziness_vs_width(table, *, lazy_threshold=None):
    r"""How far training moves a network, against width: parameters (left) and empirical NTK (right).

    Args:
      table: DataFrame with columns ``width``, ``param_change``, ``kernel_distance_init_final`` and,
        if present, ``kernel_change``, ``kernel_distance_init_analytic`` and ``kernel_distance_final_analytic``.
      lazy_threshold: the vocabulary's laziness threshold (``evidence.LAZY_THRESHOLD``), drawn dashed.

    Returns:
      The figure: two log-log panels, mean ± sd over seeds, with a :math:`w^{-1/2}` guide on the left.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    relative = {"param_change": r"$\|\theta_T - \theta_0\| / \|\theta_0\|$",
                "kernel_change": r"$\|\hat\Theta_T - \hat\Theta_0\|_F / \|\hat\Theta_0\|_F$"}
    moved = table.melt(id_vars=["width"], value_vars=[c for c in relative if c in table.columns],
                       var_name="change", value_name="value")
    moved["change"] = moved["change"].map(relative)
    sns.lineplot(data=moved, x="width", y="value", hue="change", marker="o", errorbar="sd", ax=left)
    means = table.groupby("width")["param_change"].mean()
    widths = np.asarray(means.index, float)
    left.plot(widths, means.iloc[0] * np.sqrt(widths[0] / widths), ls=":", color="grey",
              label=r"$\propto w^{-1/2}$")
    if lazy_threshold is not None:
        left.axhline(lazy_threshold, ls="--", lw=1, color="black", label="lazy below this")
    left.set(xscale="log", yscale="log", xlabel="width $w$", ylabel="relative change",
             title="Relative parameter and kernel change")
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


_KIND_STYLE = {"PGD": ("-", "X"), "FGSM": ("--", "o"), "noise": (":", "s")}


def accuracy_vs_budget(curves, *, halves=None, reach=None, attack: str = "PGD"):
    r"""Accuracy against the budget :math:`\epsilon` under each attack and the noise control, with 95% bands.

    Args:
      curves: DataFrame with one row per model, kind and budget: ``task`` (one panel each),
        ``architecture`` (colour), ``kind`` (``"PGD"`` solid, ``"FGSM"`` dashed, ``"noise"`` dotted),
        ``eps``, ``accuracy``, ``ci_low``, ``ci_high`` (``evidence.claims.budget_curves`` rows).
      halves: optional DataFrame ``task``, ``architecture``, ``kind``, ``eps_half``, ``ci_low``, ``ci_high``
        (``budget_curves`` halving rows): the halving budget :math:`\varepsilon_{1/2}` of the ``attack``
        curve, drawn at half the clean accuracy with its interval as a horizontal bar.
      reach: optional :math:`\epsilon` beyond which PGD (steps × step size below :math:`\epsilon`)
        cannot reach the edge of the ball; a dotted vertical line where it falls inside the axis.
      attack: the curve whose halving budget ``halves`` holds.

    Returns:
      The figure: one panel per task, shared legend.
    """
    tasks = list(curves["task"].unique())
    names = list(curves["architecture"].unique())
    kinds = [k for k in _KIND_STYLE if k in set(curves["kind"])]
    colours = dict(zip(names, sns.color_palette(PALETTE)))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks) + 1.8, 3.6), squeeze=False,
                             sharey=True, constrained_layout=True)
    for ax, task in zip(axes[0], tasks):
        part = curves[curves["task"] == task]
        # FGSM last: dashed over solid, as FGSM and PGD often coincide for a nearly linear predictor.
        groups = sorted(part.groupby(["architecture", "kind"], sort=False), key=lambda g: g[0][1] == "FGSM")
        for (name, kind), line in groups:
            line = line.sort_values("eps")
            ls, marker = _KIND_STYLE.get(kind, ("-.", "d"))
            ax.fill_between(line["eps"], line["ci_low"], line["ci_high"], color=colours[name], alpha=0.12, lw=0)
            ax.plot(line["eps"], line["accuracy"], ls=ls, marker=marker, ms=4, color=colours[name],
                    mfc="none" if kind == "FGSM" else colours[name])
        if halves is not None:
            for _, h in halves[(halves["task"] == task) & (halves["kind"] == attack)].iterrows():
                clean = part[(part["architecture"] == h["architecture"]) & (part["kind"] == attack)]
                y = clean.sort_values("eps")["accuracy"].iloc[0] / 2
                x, low, high = h["eps_half"], h["ci_low"], h["ci_high"]
                if np.isfinite([x, low, high]).all():
                    ax.errorbar(x, y, xerr=[[x - low], [high - x]], fmt="D", color=colours[h["architecture"]],
                                mec="black", ms=6, capsize=3, zorder=5)
        if reach is not None and reach < part["eps"].max():
            ax.axvline(reach, ls=":", color="grey", lw=1)
        ax.set(xlabel=r"budget $\epsilon$", ylim=(-0.02, 1.02), title=task)
    axes[0, 0].set_ylabel("test accuracy")
    handles = [Line2D([], [], color=colours[n], lw=2, label=n) for n in names]
    handles += [Line2D([], [], color="grey", ls=_KIND_STYLE[k][0], marker=_KIND_STYLE[k][1],
                       mfc="none" if k == "FGSM" else "grey", label=k if k != "noise" else "random ±ε signs")
                for k in kinds]
    if halves is not None:
        handles.append(Line2D([], [], color="grey", marker="D", mec="black", ls="",
                              label=rf"$\varepsilon_{{1/2}}$ ({attack}), 95% CI"))
    if reach is not None and reach < curves["eps"].max():
        handles.append(Line2D([], [], color="grey", ls=":", label="PGD reach"))
    axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle("Kernel accuracy under training-free attacks and under noise (95% bands)", fontsize="medium")
    return fig


def adversarial_examples(x, labels, class_names, examples, *, eps: float):
    r"""Clean images, their adversarial versions against each model and the perturbations, captioned.

    Args:
      x: ``(n, h, w, c)`` clean images in [0, 1].
      labels: ``(n,)`` true class indices into ``class_names``.
      class_names: the task's class names.
      examples: model name → ``(x_adv, clean_pred, adv_pred)``: ``(n, h, w, c)`` adversarial images and
        the model's predicted class indices on the clean and on the adversarial images.
      eps: the budget (colour scale of the perturbation).

    Returns:
      The figure of :func:`adversarial_grid`: red captions where the model is fooled.
    """
    labels = np.asarray(labels)
    titles = [f"label {class_names[label]}\n" + " ".join(f"{name}:{class_names[clean[j]]}"
                                                         for name, (_, clean, _) in examples.items())
              for j, label in enumerate(labels)]
    rows = {name: (x_adv, [f"{name}: {class_names[q]}" for q in adv], np.asarray(adv) != labels)
            for name, (x_adv, _, adv) in examples.items()}
    return adversarial_grid(x, rows, eps=eps, titles=titles)


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
