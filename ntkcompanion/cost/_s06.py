"""Section 6, consistency: do different architectures' kernels share their eigen-features?

Largest allocations: one block of the Myrtle kernel (``MYRTLE_BATCH_SIZE`` squared pairs of
full spatial covariances), each kernel's Gram matrices and eigenvectors, and the kernel rows of
``FEATURE_CHUNK`` features attacked on ``POINT_CHUNK`` test points at once.
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["N_BASELINES", "memory", "repeats", "work"]

# The baseline kernels (linear, RBF, NNGP) compared with the NTKs: three more spectra.
N_BASELINES = 3


def _shape(p):
    h, w, ch = image_shape(p)
    s = p["DOWNSAMPLE"]
    return (h // s, w // s, ch)


def _attacked_features(p) -> int:
    return min(p["N_TRAIN"], p["N_LEADING"] + p["N_SAMPLED"])


def repeats(p) -> int:
    """How many times the whole comparison runs: 1 today. If claim 4's statistics draw training-set resamples,
    each redoes every kernel, spectrum and attack: return that parameter's value here."""
    return 1


def memory(p) -> list:
    shape, n, nc, k = _shape(p), p["N_TRAIN"], p["N_COMPARE"], n_outputs(p)
    kernels = len(p["ARCHITECTURES"]) + N_BASELINES
    out = [m.Allocation("every kernel's Gram matrices, eigenvectors and feature coefficients",
                        kernels * m.F64 * n * (3 * n + nc + n * k), ("N_TRAIN", "N_COMPARE"), kept=True, host=True)]
    chunk = min(p["FEATURE_CHUNK"], _attacked_features(p))
    for a, attacked in zip(p["ARCHITECTURES"], p["ATTACKED"]):
        knob = "MYRTLE_BATCH_SIZE" if a == "myrtle" else "BATCH_SIZE"
        out.append(m.Allocation(f"one block of the {a} kernel", m.gram(n + nc, n) +
                                m.analytic_block(a, shape, p[knob], n + nc, n), (knob,)))
        if attacked:
            points = min(p["POINT_CHUNK"], p["N_TEST"])
            out.append(m.Allocation(f"the {a} kernel rows of {chunk} attacked features on {points} test points "
                                    "(or set its ATTACKED entry to false, or raise DOWNSAMPLE)",
                                    m.kernel_rows(a, shape, chunk * points, n), ("FEATURE_CHUNK", "POINT_CHUNK")))
    if p.get("ATTACK_CONTROL"):
        points = min(p["POINT_CHUNK"], p["N_TEST"])
        out.append(m.Allocation(f"the RBF control's kernel rows of {chunk} attacked features on {points} test points",
                                m.kernel_rows("fc", shape, chunk * points, n), ("FEATURE_CHUNK", "POINT_CHUNK",
                                                                                 "ATTACK_CONTROL")))
    return out


def work(p) -> dict:
    """Per kernel: its Gram blocks on the train and comparison images and its spectrum; per attacked kernel,
    ``ATTACK_STEPS`` (at least one, FGSM) steps and an evaluation on every attacked feature and test point."""
    shape, n, nc, nt = _shape(p), p["N_TRAIN"], p["N_COMPARE"], p["N_TEST"]
    steps = max(1, p["ATTACK_STEPS"])
    r = repeats(p)
    out = {}
    for a, d, attacked in zip(p["ARCHITECTURES"], p["DEPTHS"], p["ATTACKED"]):
        block = p["MYRTLE_BATCH_SIZE"] if a == "myrtle" else p["BATCH_SIZE"]
        m.add(out, m.analytic_kind(a), r * m.gram_flops(a, d, shape, n, nc, block))
        m.add(out, "linalg", r * 3.0 * n ** 3)
        if attacked:
            m.add(out, m.attack_kind(a), r * _attacked_features(p) * (steps + 1) * nt * n
                  * m.attack_pair_flops(a, d, shape))
    if p.get("ATTACK_CONTROL"):
        # The RBF control's features at the same indices: one inner product and a few elementwise maps per
        # pair, the work of the closed-form FC-1 kernel, at its rate.
        m.add(out, m.attack_kind("fc"), r * _attacked_features(p) * (steps + 1) * nt * n
              * m.attack_pair_flops("fc", 1, shape))
    return out
