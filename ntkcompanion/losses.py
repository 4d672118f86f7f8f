r"""Per-example losses that the attacks maximise, on a model's raw outputs (logits).

Label conventions, defined once here and used by every attack and accuracy:

* binary: a scalar output per example, ``logits (n,)``, labels ``y (n,)`` in {−1, +1};
  the prediction is :math:`\operatorname{sign} f(x)`.
* multi-class: ``logits (n, k)``, one-hot labels ``y (n, k)``; the prediction is the argmax.

A binary model written as a network with one output, ``logits (n, 1)``, is read as ``(n,)``.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import validate

__all__ = ["LOSSES", "bce", "ce", "margin", "per_example", "correct", "default_loss"]


def bce(logits, y):
    r"""Binary cross-entropy of :math:`\sigma(f)` against ``(y + 1) / 2``, computed stably.

    .. math::
        -\big[\tfrac{1+y}{2} \log \sigma(f) + \tfrac{1-y}{2} \log (1 - \sigma(f))\big]
        = \operatorname{softplus}(-y f)

    (the authors' loss: labels mapped to {0, 1}, sigmoid of the scalar kernel output).

    Args:
      logits: ``(n,)`` scalar outputs :math:`f`.
      y: ``(n,)`` labels in {−1, +1}.

    Returns:
      ``(n,)`` losses.
    """
    return jax.nn.softplus(-y * logits)


def ce(logits, y):
    r"""Softmax cross-entropy :math:`-\sum_j y_j \log \operatorname{softmax}(z)_j`.

    Args:
      logits: ``(n, k)`` outputs :math:`z`.
      y: ``(n, k)`` one-hot labels.

    Returns:
      ``(n,)`` losses.
    """
    return -jnp.sum(y * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def margin(logits, y):
    r"""Margin loss: :math:`-y f` (binary) or :math:`\max_{j \ne c} z_j - z_c` (multi-class, true class c).

    Positive exactly when the example is misclassified (ties aside).

    Args:
      logits: ``(n,)`` with ``y (n,)`` ±1, or ``(n, k)`` with ``y (n, k)`` one-hot.
      y: labels.

    Returns:
      ``(n,)`` losses.
    """
    if logits.ndim == 1:
        return -y * logits
    true = jnp.sum(y * logits, axis=-1)
    other = jnp.max(jnp.where(y > 0, -jnp.inf, logits), axis=-1)
    return other - true


LOSSES = {"bce": bce, "ce": ce, "margin": margin}


def default_loss(y) -> str:
    """``"bce"`` for ±1 labels ``(n,)``, ``"ce"`` for one-hot labels ``(n, k)``."""
    return "bce" if jnp.ndim(y) == 1 else "ce"


def _match(logits, y, loss=None):
    """Reads ``(n, 1)`` logits as ``(n,)`` for ±1 labels and checks the shapes agree."""
    if jnp.ndim(y) == 1 and logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.shape != jnp.shape(y):
        raise ValueError(f"logits have shape {logits.shape} but y has shape {jnp.shape(y)}: expected "
                         "(n,) logits with (n,) ±1 labels, or (n, k) logits with (n, k) one-hot labels.")
    if loss == "bce" and logits.ndim != 1:
        raise ValueError(f"loss = 'bce' needs ±1 labels of shape (n,), got y of shape {jnp.shape(y)}: "
                         "use 'ce' or 'margin' for one-hot labels.")
    if loss == "ce" and logits.ndim != 2:
        raise ValueError(f"loss = 'ce' needs one-hot labels of shape (n, k), got y of shape {jnp.shape(y)}: "
                         "use 'bce' or 'margin' for ±1 labels.")
    return logits


def per_example(loss: str, logits, y):
    """Per-example loss ``loss`` (one of ``LOSSES``): ``(n,)``."""
    validate.one_of("loss", loss, LOSSES)
    return LOSSES[loss](_match(logits, y, loss), y)


def correct(logits, y):
    r"""Whether each prediction is right: :math:`\operatorname{sign} f = y` for ±1 labels, argmax for one-hot.

    The one definition of a correct prediction in the package. Leading axes of ``logits`` index
    models evaluated on the same inputs (for example the eigen-features of ``features``).
    NumPy inputs are compared in NumPy (float64 values stay exact), JAX arrays in JAX (jit-able).

    Args:
      logits: ``(..., n)`` with ``y (n,)`` ±1, or ``(..., n, k)`` with ``y (n, k)`` one-hot;
        a single model's ``(n, 1)`` outputs with ±1 labels are read as ``(n,)``.
      y: labels.

    Returns:
      ``(..., n)`` bool: model ``...`` right on input ``j``.
    """
    xp = jnp if isinstance(logits, jax.Array) or isinstance(y, jax.Array) else np
    if np.ndim(y) == 1 and np.shape(logits) == (np.shape(y)[0], 1):
        logits = logits[:, 0]
    lead = np.ndim(logits) - np.ndim(y)
    if np.ndim(y) not in (1, 2) or lead < 0 or np.shape(logits)[lead:] != np.shape(y):
        raise ValueError(f"logits have shape {np.shape(logits)} but y has shape {np.shape(y)}: expected "
                         "(..., n) logits with (n,) ±1 labels, or (..., n, k) logits with (n, k) one-hot labels.")
    if np.ndim(y) == 1:
        return xp.sign(logits) == y
    return xp.argmax(logits, axis=-1) == xp.argmax(y, axis=-1)
