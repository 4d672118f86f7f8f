r"""Every network of the book as a neural-tangents ``stax`` triple, in one registry with one ``build``.

Each builder returns ``(init_fn, apply_fn, kernel_fn)``: the same definition gives
the analytic infinite-width kernels (``kernel_fn``) and finite networks of any
width (``init_fn``, ``apply_fn``), so kernels, trained networks and notebooks all
speak about the same model. Defaults follow the authors' set-up (PAPER.md):
ReLU, NTK parameterisation, :math:`\sigma_w = \sqrt 2`, :math:`\sigma_b = 0.1`.

* ``fc(depth)``:   Flatten, depth × [Dense + Relu], Dense.
* ``conv(depth)``: depth × [Conv 3×3 SAME + Relu], Flatten, Dense.
* ``myrtle(depth)`` for depth in {5, 7, 10}: blocks of 3×3 SAME conv + Relu with
    {5: [1, 1, 1], 7: [1, 2, 2], 10: [2, 3, 3]} layers, separated by 2×2 AvgPool,
    then GlobalAvgPool and Dense.

The practical networks trained adversarially (``adversarial_training``) are in the same
registry, in the standard parameterisation (He initialisation, zero biases):

* ``cnn(depth)``:  the authors' CNN, ``depth`` stages of 2 × [Conv 3×3 + Relu] with 32·2^s·width
    channels, MaxPool after the first, AvgPool, Flatten, Dense; depth 3 is the authors' network.
* ``mlp(depth)``:  Flatten, depth × [Dense(width) + Relu], Dense.

Max pooling has no analytic kernel, so ``cnn``'s ``kernel_fn`` raises: use the empirical NTK.
``ANALYTIC`` names the networks with an analytic kernel, ``PRACTICAL`` the others.

Inputs are images ``(n, h, w, c)``; outputs ``(n, out_dim)``.

Example:
    >>> init_fn, apply_fn, kernel_fn = build("fc", depth=2, out_dim=1)
    >>> kernel_fn(x1, x2, "ntk").shape  # (n1, n2)
    >>> init_fn, apply_fn, _ = build("cnn", depth=3, width=0.5, out_dim=10)
"""

import math

import jax
import jax.numpy as jnp

from ntkcompanion import validate
from ntkcompanion._nt import stax

__all__ = ["ARCHITECTURES", "PRACTICAL", "NETWORKS", "MYRTLE_LAYERS", "build", "check",
           "fc", "conv", "myrtle", "cnn", "mlp"]

W_STD = math.sqrt(2.0)
B_STD = 0.1
MYRTLE_LAYERS = {5: (1, 1, 1), 7: (1, 2, 2), 10: (2, 3, 3)}
CNN_CHANNELS = 32  # channels of the first CNN stage; each further stage doubles them


def fc(depth: int = 1, *, width: int = 512, out_dim: int = 1,
        W_std: float = W_STD, b_std: float = B_STD, parameterization: str = "ntk"):
    """Fully connected ReLU network: Flatten, ``depth`` × [Dense(width) + Relu], Dense(out_dim)."""
    hidden = [stax.Dense(width, W_std, b_std, parameterization=parameterization), stax.Relu()]
    return stax.serial(
        stax.Flatten(),
        *(hidden * depth),
        stax.Dense(out_dim, W_std, b_std, parameterization=parameterization),
    )


def conv(depth: int = 1, *, width: int = 128, out_dim: int = 1,
        W_std: float = W_STD, b_std: float = B_STD, parameterization: str = "ntk"):
    """Convolutional ReLU network: ``depth`` × [Conv 3×3 SAME + Relu], Flatten, Dense(out_dim)."""
    hidden = [stax.Conv(width, (3, 3), padding="SAME", W_std=W_std, b_std=b_std,
                        parameterization=parameterization), stax.Relu()]
    return stax.serial(
        *(hidden * depth),
        stax.Flatten(),
        stax.Dense(out_dim, W_std, b_std, parameterization=parameterization),
    )


def myrtle(depth: int = 5, *, width: int = 128, out_dim: int = 1,
        W_std: float = W_STD, b_std: float = B_STD, parameterization: str = "ntk"):
    """Myrtle CNN (5, 7 or 10 layers): conv blocks separated by 2×2 AvgPool, GlobalAvgPool, Dense.

    The analytic kernel keeps full spatial covariances (GlobalAvgPool needs them), so it
    costs O((h w)²) memory per pair of images: batch it small (``kernels.kernel_matrix``).
    """
    depth = validate.one_of("depth", depth, MYRTLE_LAYERS)
    layer = [stax.Conv(width, (3, 3), padding="SAME", W_std=W_std, b_std=b_std,
             parameterization=parameterization), stax.Relu()]
    layers = []
    for block, count in enumerate(MYRTLE_LAYERS[depth]):
        if block:
            layers.append(stax.AvgPool((2, 2), strides=(2, 2)))
        layers += layer * count
    layers += [stax.GlobalAvgPool(),
               stax.Dense(out_dim, W_std, b_std, parameterization=parameterization)]
    return stax.serial(*layers)


def _max_pool(window=(2, 2)):
    """2×2 max pooling as a stax layer; it has no analytic kernel, only finite-network functions."""
    dims = (1, *window, 1)

    def init_fn(rng, input_shape):
        n, h, w, c = input_shape
        return (n, h // window[0], w // window[1], c), ()

    def apply_fn(params, inputs, **kwargs):
        return jax.lax.reduce_window(inputs, -jnp.inf, jax.lax.max, dims, dims, "VALID")

    def kernel_fn(k, **kwargs):
        raise NotImplementedError("MaxPool has no analytic NTK in neural-tangents; use the empirical NTK.")

    return init_fn, apply_fn, kernel_fn


def cnn(depth: int = 3, *, width: float = 1.0, out_dim: int = 10, convs_per_stage: int = 2,
        W_std: float = W_STD, b_std: float = 0.0):
    r"""The authors' CNN, standard parameterisation: Conv32 Conv32 MaxPool Conv64 Conv64 Conv128 Conv128 AvgPool Dense.

    The released description does not say how the last AvgPool meets the Dense layer; we read it
    as a 2×2 AvgPool then Flatten (spatial information kept, as in a plain VGG-style head).

    Stage ``s`` (from 0) has ``convs_per_stage`` × [Conv 3×3 SAME with
    :math:`\lfloor 32 \cdot 2^s \cdot \mathrm{width} \rceil` channels + Relu]; a 2×2 MaxPool follows
    the first stage; the last stage is followed by 2×2 average pooling, Flatten and a Dense layer.
    ``width=1, depth=3`` is the authors' network.

    Args:
      depth: number of stages (≥ 1).
      width: channel multiplier (> 0); channels are rounded, at least 1.
      out_dim: logits (10 for CIFAR-10 / MNIST, 1 for a binary task with ±1 labels).
      convs_per_stage: convolutions per stage (≥ 1).
      W_std: weight scale: weights start :math:`\mathcal N(0, W_{std}^2/\text{fan-in})` (He for √2).
      b_std: bias scale at initialisation (0: zero biases, still trained).

    Returns:
      The stax triple ``(init_fn, apply_fn, kernel_fn)``; images ``(n, h, w, c)`` → ``(n, out_dim)``.
      ``kernel_fn`` raises (max pooling has no analytic kernel); use the empirical NTK.
    """
    validate.positive_float("width", width)
    validate.positive_int("depth", depth)
    validate.positive_int("convs_per_stage", convs_per_stage)
    layers = []
    for stage in range(depth):
        channels = max(1, round(CNN_CHANNELS * 2 ** stage * width))
        layers += [stax.Conv(channels, (3, 3), padding="SAME", W_std=W_std, b_std=b_std,
                             parameterization="standard"), stax.Relu()] * convs_per_stage
        if stage == 0:
            layers.append(_max_pool())
    layers += [stax.AvgPool((2, 2), strides=(2, 2)), stax.Flatten(),
               stax.Dense(out_dim, 1.0, b_std, parameterization="standard")]
    return stax.serial(*layers)


def mlp(depth: int = 2, *, width: float = 512, out_dim: int = 10, W_std: float = W_STD,
        b_std: float = 0.0):
    """Fully connected ReLU network, standard parameterisation: Flatten, ``depth`` × [Dense(width) + Relu], Dense.

    Args:
      depth: hidden layers (≥ 1).
      width: hidden units (rounded, at least 1).
      out_dim: logits.
      W_std: weight scale (fan-in scaled).
      b_std: bias scale at initialisation.

    Returns:
      The stax triple ``(init_fn, apply_fn, kernel_fn)``.
    """
    validate.positive_float("width", width)
    validate.positive_int("depth", depth)
    hidden = [stax.Dense(max(1, round(width)), W_std, b_std, parameterization="standard"), stax.Relu()]
    return stax.serial(stax.Flatten(), *(hidden * depth),
                       stax.Dense(out_dim, 1.0, b_std, parameterization="standard"))


# Networks with an analytic kernel (NTK parameterisation), and the practical ones trained adversarially.
ARCHITECTURES = {"fc": fc, "conv": conv, "myrtle": myrtle}
PRACTICAL = {"cnn": cnn, "mlp": mlp}
NETWORKS = ARCHITECTURES | PRACTICAL


def check(name: str, depth: int, *, name_param: str = "architecture",
          depth_param: str = "depth", allowed=ARCHITECTURES) -> tuple[str, int]:
    """Validates a network name and depth without building anything.

    ``name_param`` and ``depth_param`` are the names the caller's user typed (for
    example ``"ARCHITECTURES[0]"`` and ``"DEPTH"`` in a notebook), used in messages.
    ``allowed`` is the registry to choose from: ``ARCHITECTURES`` (analytic kernel, the
    default), ``PRACTICAL`` or ``NETWORKS``.
    """
    validate.one_of(name_param, name, allowed)
    if name == "myrtle":
        validate.one_of(depth_param, depth, MYRTLE_LAYERS)
    else:
        validate.positive_int(depth_param, depth)
    return name, depth


def build(name: str, depth: int | None = None, **kwargs):
    """Builds ``(init_fn, apply_fn, kernel_fn)`` for any network of the registry.

    Args:
        name: one of ``NETWORKS``: ``"fc"``, ``"conv"``, ``"myrtle"`` (analytic kernel) or
          ``"cnn"``, ``"mlp"`` (practical networks).
        depth: hidden layers for fc/conv/mlp (≥ 1); 5, 7 or 10 for myrtle; stages for cnn (≥ 1).
          ``None``: the network's default (1 for fc/conv, 5 for myrtle, 3 for cnn, 2 for mlp).
        **kwargs: ``width`` (hidden units, channels, or the CNN's channel multiplier), ``out_dim``,
          ``W_std``, ``b_std``; ``parameterization`` for the analytic ones; ``convs_per_stage`` for cnn.

    Returns:
        The stax triple ``(init_fn, apply_fn, kernel_fn)``.
    """
    validate.one_of("architecture", name, NETWORKS)
    builder = NETWORKS[name]
    if depth is None:
        return builder(**kwargs)
    check(name, depth, allowed=NETWORKS)
    return builder(depth, **kwargs)
