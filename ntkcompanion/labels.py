r"""The two label conventions, checked in one place.

* binary: ``(n,)`` labels in {−1, +1}, one scalar output per example;
* multi-class: ``(n, k)`` one-hot labels (or regression targets), ``k`` outputs per example.

Every function that takes labels next to ``n`` inputs or training points calls :func:`check`,
so the error a user sees is the same everywhere (``losses`` defines what is computed from them).
"""

import numpy as np

__all__ = ["check"]


def check(y, n: int, *, name: str = "y", per: str = "input"):
    """Checks that ``y`` holds one ±1 label or one-hot row per example: shape ``(n,)`` or ``(n, k)``.

    Only the shape is read (``np.shape``), so ``y`` may be a numpy array, a JAX array or a
    tracer inside ``jit``; it is returned unchanged.

    Args:
      y: the labels.
      n: the number of examples they must match.
      name: the parameter's name as the caller's user typed it (``"y_train"``, ``"Y"``), for messages.
      per: what one label belongs to, for messages (``"input"``, ``"training point"``).

    Returns:
      ``y`` itself.

    Raises:
      ValueError: naming ``name``, its shape and the two allowed shapes.
    """
    shape = np.shape(y)
    if len(shape) not in (1, 2) or shape[0] != n:
        raise ValueError(f"{name} has shape {tuple(shape)}: expected ({n},) ±1 labels or ({n}, k) one-hot "
                         f"targets, one per {per}.")
    return y
