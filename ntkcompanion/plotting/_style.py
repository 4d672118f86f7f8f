"""The house style shared by every figure, and image helpers."""

import numpy as np
import seaborn as sns

__all__ = ["PALETTE", "set_style", "as_image"]

PALETTE = "colorblind"


def set_style():
    """Applies the house style (seaborn whitegrid, colour-blind palette, book-width figures)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE,
                  rc={"figure.figsize": (7.0, 3.6), "figure.dpi": 110,
                      "axes.titlesize": "medium", "savefig.bbox": "tight"})


def as_image(x):
    """(h, w, c) in [0, 1] → what imshow wants: (h, w) for one channel, (h, w, 3) for three."""
    x = np.clip(np.asarray(x, float), 0.0, 1.0)
    return x[..., 0] if x.shape[-1] == 1 else x
