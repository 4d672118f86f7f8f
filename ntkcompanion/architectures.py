r"""The paper's architectures as neural-tangents ``stax`` triples, in one registry.

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

Inputs are images ``(n, h, w, c)``; outputs ``(n, out_dim)``.

Example:
    >>> init_fn, apply_fn, kernel_fn = build("fc", depth=2, out_dim=1)
    >>> kernel_fn(x1, x2, "ntk").shape  # (n1, n2)
"""

import math

from ntkcompanion import validate
from ntkcompanion._nt import stax

__all__ = ["ARCHITECTURES", "MYRTLE_LAYERS", "build", "fc", "conv", "myrtle", "check"]

W_STD = math.sqrt(2.0)
B_STD = 0.1
MYRTLE_LAYERS = {5: (1, 1, 1), 7: (1, 2, 2), 10: (2, 3, 3)}


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


ARCHITECTURES = {"fc": fc, "conv": conv, "myrtle": myrtle}


def check(name: str, depth: int, *, name_param: str = "architecture",
          depth_param: str = "depth") -> tuple[str, int]:
    """Validates an architecture name and depth without building anything.

    ``name_param`` and ``depth_param`` are the names the caller's user typed (for
    example ``"ARCHITECTURES[0]"`` and ``"DEPTH"`` in a notebook), used in messages.
    """
    validate.one_of(name_param, name, ARCHITECTURES)
    if name == "myrtle":
        validate.one_of(depth_param, depth, MYRTLE_LAYERS)
    else:
        validate.positive_int(depth_param, depth)
    return name, depth


def build(name: str, depth: int = 1, **kwargs):
    """Builds ``(init_fn, apply_fn, kernel_fn)`` for a registered architecture.

    Args:
        name: one of ``ARCHITECTURES`` (``"fc"``, ``"conv"``, ``"myrtle"``).
        depth: hidden layers for fc/conv (≥ 1); 5, 7 or 10 for myrtle.
        **kwargs: ``width``, ``out_dim``, ``W_std``, ``b_std``, ``parameterization``.

    Returns:
        The stax triple ``(init_fn, apply_fn, kernel_fn)``.
    """
    check(name, depth)
    return ARCHITECTURES[name](depth, **kwargs)
