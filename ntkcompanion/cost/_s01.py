"""Section 1, the NTK primer: analytic Gram matrices, the empirical NTK over widths and seeds, kernel regression.

Largest allocations: the empirical NTK of the widest network on ``N_KERNEL`` images (its
Jacobians hold ``block × parameters`` floats, so it is computed in blocks of
``ntk_batch_size`` images, the largest block that fits), the analytic kernel blocks and
the ``N_TRAIN × (N_TRAIN + N_TEST)`` Gram matrices.
"""

from __future__ import annotations

from ntkcompanion.architectures import MYRTLE_LAYERS
from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._task import image_shape

__all__ = ["derive", "empirical_flops", "forward_flops", "memory", "work"]


def _widest(p):
    """``(architecture, parameter count, activations)`` of the largest network the run builds."""
    shape = image_shape(p)
    width = max(p["WIDTHS"])
    nets = [(a, m.n_params(a, p["DEPTH"], width, shape), m.activations(a, p["DEPTH"], width, shape))
            for a in p["ARCHITECTURES"]]
    return max(nets, key=lambda t: t[1])


def _kept(p) -> list:
    shape = image_shape(p)
    n, nt = p["N_TRAIN"], p["N_TEST"]
    k = len(p["ARCHITECTURES"])
    return [m.Allocation("the images", m.F32 * (n + nt) * shape[0] * shape[1] * shape[2], ("N_TRAIN", "N_TEST"),
                         kept=True, host=True),
            m.Allocation("the NTK and NNGP Gram matrices of every architecture", k * 2 * m.F64 * n * (n + nt),
                         ("N_TRAIN", "N_TEST", "ARCHITECTURES"), kept=True, host=True)]


def derive(p, available) -> dict:
    """``ntk_batch_size``: images per block of the empirical NTK, the largest ≤ min(BATCH_SIZE, N_KERNEL) whose
    Jacobians fit in half the memory left by the Gram matrices (the other half is headroom for XLA's temporaries)."""
    limit = min(p["BATCH_SIZE"], p["N_KERNEL"])
    if available is None:
        return {"ntk_batch_size": limit}
    _, params, acts = _widest(p)
    budget = (available - sum(a.nbytes for a in _kept(p))) / 2 - 2 * m.F32 * params
    return {"ntk_batch_size": m.largest_fitting_block(params, acts, limit, budget)}


def memory(p) -> list:
    shape = image_shape(p)
    n, nt = p["N_TRAIN"], p["N_TEST"]
    arch, params, acts = _widest(p)
    block = getattr(p, "derived", {}).get("ntk_batch_size", min(p["BATCH_SIZE"], p["N_KERNEL"]))
    out = _kept(p)
    for a in p["ARCHITECTURES"]:
        out.append(m.Allocation(f"the {a} kernel Gram matrices and one {p['BATCH_SIZE']}-image block",
                                m.gram(n, n + nt, kinds=2) + m.analytic_block(a, shape, p["BATCH_SIZE"], n + nt),
                                ("N_TRAIN", "BATCH_SIZE")))
    out.append(m.Allocation(f"the empirical NTK of the widest network ({arch}, width {max(p['WIDTHS'])}, "
                            f"{params:,} parameters)",
                            2 * m.F32 * params + m.empirical_ntk_memory(params, acts, p["N_KERNEL"], block),
                            ("WIDTHS", "DEPTH", "ARCHITECTURES")))
    out.append(m.Allocation("the eigendecomposition of the train Gram matrix", 4 * m.F64 * n * n, ("N_TRAIN",),
                            host=True))
    return out


def forward_flops(architecture: str, depth: int, width: int, shape) -> float:
    """FLOPs of one forward pass of one image: ``2 · (spatial positions) · (weights)`` per layer."""
    h, w, c = shape
    if architecture == "fc":
        return 2.0 * m.n_params("fc", depth, width, shape)
    if architecture == "conv":
        return 2.0 * h * w * (m.n_params("conv", depth, width, shape) - (h * w * width + 1)) + 2.0 * h * w * width
    total, c_in = 0.0, c
    for block, count in enumerate(MYRTLE_LAYERS.get(depth, MYRTLE_LAYERS[10])):
        positions = (h // 2 ** block) * (w // 2 ** block)  # an AvgPool halves the resolution between blocks
        for _ in range(count):
            total += 2.0 * positions * 9 * c_in * width
            c_in = width
    return total + 2.0 * width


def empirical_flops(architecture: str, depth: int, width: int, shape, *, n: int, seeds: int,
                    block: int | None = None) -> float:
    """Work of the empirical NTK on ``n`` images in blocks of ``block``, ``seeds`` times
    (``_memory.empirical_ntk_flops``, one output)."""
    params = m.n_params(architecture, depth, width, shape)
    return seeds * m.empirical_ntk_flops(forward_flops(architecture, depth, width, shape), params, n, block or n)


def work(p) -> dict:
    """Analytic Gram matrices, the empirical NTK at every width and seed, the solves and eigendecompositions."""
    shape = image_shape(p)
    n, nt = p["N_TRAIN"], p["N_TEST"]
    block = getattr(p, "derived", {}).get("ntk_batch_size", min(p["BATCH_SIZE"], p["N_KERNEL"]))
    out = {"linalg": 3 * len(p["ARCHITECTURES"]) * float(n) ** 3}
    for a in p["ARCHITECTURES"]:
        m.add(out, m.analytic_kind(a), m.gram_flops(a, p["DEPTH"], shape, n, nt, p["BATCH_SIZE"]))
        for w in p["WIDTHS"]:
            m.add(out, m.empirical_kind(a), empirical_flops(a, p["DEPTH"], w, shape, n=p["N_KERNEL"],
                                                            seeds=p["N_SEEDS"], block=block))
    return out
