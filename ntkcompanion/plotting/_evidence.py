"""The headline figure: every claim's statistic with its 95% CI against its decision threshold."""

import math

import matplotlib.pyplot as plt
import seaborn as sns

from ntkcompanion.plotting._style import PALETTE

__all__ = ["verdict_forest", "DECISION_COLOURS"]

_palette = sns.color_palette(PALETTE)
DECISION_COLOURS = {"supported": _palette[2], "not supported": _palette[3], "undetermined": _palette[7]}


def _field(verdict, name):
    return verdict[name] if isinstance(verdict, dict) else getattr(verdict, name)


def _number(x):
    return float("nan") if x is None else float(x)


def verdict_forest(verdicts, *, missing=(), width: float = 7.0):
    """One row per verdict: estimate and 95% CI against the threshold, coloured by decision.

    Each row has its own x-axis (statistics come in different units: accuracy, epochs, ρ); the
    threshold is a dashed line and the side the claim predicts is shaded. Rows whose estimate is
    NaN show the reason instead of a point.

    Args:
      verdicts: ``Verdict`` objects or their ``to_dict()`` records, in page order.
      missing: claim numbers with no verdict yet, drawn as "not yet reported" rows.
      width: figure width in inches (book width by default).

    Returns:
      The figure.
    """
    rows = [("verdict", v) for v in verdicts] + [("missing", c) for c in missing]
    rows.sort(key=lambda r: _field(r[1], "claim") if r[0] == "verdict" else r[1])
    # Titles above each strip (not y-labels beside it) keep the whole book width for the axes.
    fig, axes = plt.subplots(max(1, len(rows)), 1, figsize=(width, 0.8 * max(1, len(rows)) + 0.6), squeeze=False)
    for ax, (kind, item) in zip(axes[:, 0], rows):
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
        if kind == "missing":
            ax.set_title(f"claim {item}", loc="left", fontsize="small", pad=2)
            ax.text(0.5, 0.5, "not yet reported", transform=ax.transAxes, ha="center", va="center",
                    color="grey", fontsize="small")
            ax.set_xticks([])
            continue
        estimate, threshold = _number(_field(item, "estimate")), _number(_field(item, "threshold"))
        low, high = (_number(c) for c in _field(item, "ci"))
        decision, colour = _field(item, "decision"), DECISION_COLOURS[_field(item, "decision")]
        ax.set_title(f"claim {_field(item, 'claim')}: {_field(item, 'statistic')}", loc="left", fontsize="small",
                     pad=2)
        reason = _field(item, "reason").split(";")[0]             # the note after ";" is on the page
        label = decision if decision != "undetermined" else f"undetermined ({reason})"
        ax.set_title(label, loc="right", fontsize="small", color=colour, fontweight="bold", pad=2)
        values = [v for v in (estimate, low, high, threshold) if math.isfinite(v)]
        lo, hi = (min(values), max(values)) if values else (-1.0, 1.0)
        pad = 0.15 * (hi - lo) if hi > lo else 0.5 * max(abs(hi), 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        if math.isfinite(threshold):
            ax.axvline(threshold, ls="--", lw=1, color="black")
            side = (threshold, hi + pad) if _field(item, "direction") == "above" else (lo - pad, threshold)
            ax.axvspan(*side, color=DECISION_COLOURS["supported"], alpha=0.08, lw=0)
        if math.isfinite(estimate):
            err = [[estimate - low], [high - estimate]] if math.isfinite(low) and math.isfinite(high) else None
            ax.errorbar([estimate], [0], xerr=err, fmt="o", color=colour, capsize=3, lw=2)
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize="x-small", pad=1)
        if not math.isfinite(estimate):
            ax.text(0.5, 0.5, "no estimate", transform=ax.transAxes, ha="center", va="center", color="grey",
                    fontsize="small")
    fig.suptitle("Each claim's statistic, 95% CI, and threshold (dashed; shaded: the claimed side)",
                 fontsize="medium")
    fig.tight_layout(h_pad=0.4)
    return fig


