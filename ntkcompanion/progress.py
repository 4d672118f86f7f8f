"""Text progress bars that look the same in a terminal, on Colab and in a papermill-executed notebook.

:func:`bar` is ``tqdm.std.tqdm``, the plain-text bar: the notebook variant (``tqdm.auto``)
draws a widget that papermill cannot render and warns (``TqdmWarning``) when ipywidgets is
missing, and a text bar in a notebook is one line redrawn in place. Setting the environment
variable ``NTKCOMPANION_PROGRESS=0`` turns every bar off (the book build does, so no bar ends
up in the rendered pages); interactive and command-line runs keep them.
"""

import os
import warnings

from tqdm import TqdmWarning
from tqdm.std import tqdm

__all__ = ["ENV_VAR", "enabled", "bar"]

ENV_VAR = "NTKCOMPANION_PROGRESS"



def _silence_tqdm_warnings():
    # tqdm's own warnings (a clamped fraction, an unknown terminal width) carry the path of the
    # installed tqdm and say nothing about the computation. Installed again at every bar, as
    # notebook kernels and test runners reset the warning filters.
    warnings.filterwarnings("ignore", category=TqdmWarning)


_silence_tqdm_warnings()


def enabled() -> bool:
    """Whether bars are shown: unless ``$NTKCOMPANION_PROGRESS`` is ``"0"``."""
    return os.environ.get(ENV_VAR, "1").strip() != "0"


def bar(iterable=None, **kwargs):
    """A text progress bar over ``iterable`` (or a manual one with ``total=``), off when disabled.

    Args:
      iterable: what to iterate over, or ``None`` for a bar advanced with ``.update(n)``.
      **kwargs: ``tqdm`` options (``desc``, ``total``, ``leave``, ``disable``...); ``disable=True``
        turns this bar off whatever the environment says.

    Returns:
      A ``tqdm.std.tqdm``: iterate over it, or use it as a context manager.
    """
    _silence_tqdm_warnings()
    kwargs["disable"] = bool(kwargs.get("disable", False)) or not enabled()
    # ascii bars: the same characters in every terminal, browser font and log file.
    kwargs.setdefault("ascii", True)
    kwargs.setdefault("dynamic_ncols", False)
    return tqdm(iterable, **kwargs)
