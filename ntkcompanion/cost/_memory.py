r"""Memory and work models of the package's heavy steps, from parameters alone (no arrays built).

Every estimate is in bytes of float32 (4) or float64 (8) arrays, deliberately a little
pessimistic: it must stop a run that cannot fit, not a run that can.

* Parameter count :math:`P` of the analytic nets (``architectures``) and the trained
  nets (``training_steps.network``): dense layers ``fan_in · fan_out + fan_out``, 3×3 convolutions
  ``9 · c_in · c_out + c_out``.
* Empirical NTK of a block of :math:`b` images with :math:`o` outputs
  (``neural_tangents`` Jacobian contraction): the Jacobians of both blocks,
  :math:`(b, o, P)` float32 each, plus one transient copy in the contraction:
  :math:`3 \cdot 4\, b\, o\, P` bytes, plus the activations of the vectorised backward
  pass :math:`2 \cdot 4\, b\, o\, A` (:math:`A` activations per image).
* Analytic kernel block :math:`b \times b` (``kernels.kernel_matrix``): the NNGP and NTK
  covariances and their layer temporaries, four arrays of :math:`b^2 q` float32, with
  :math:`q` floats per pair: a few for fc, :math:`hw` for conv (+ Flatten), :math:`(hw)^2`
  for Myrtle (global pooling needs full spatial covariances).
* Gram matrices :math:`n_1 \times n_2`: float32 on the device, float64 on the host.
"""

from __future__ import annotations

import dataclasses

from ntkcompanion.architectures import CNN_CHANNELS, MYRTLE_LAYERS
from ntkcompanion.kernels import JACOBIAN_BUDGET

F32, F64 = 4, 8
_ELEMENTWISE_FLOPS = 600  # per covariance entry and layer of an analytic kernel: see kernel_flops
_FC_FLOATS_PER_PAIR = 4  # the covariances of one pair: K(x, x), K(x', x'), K(x, x'), Θ(x, x')


@dataclasses.dataclass(frozen=True)
class Allocation:
    """One array (or group) a section allocates.

    Attributes:
      what: in words, for the error message.
      nbytes: estimated bytes.
      knobs: parameters, as the notebook spells them, that shrink it.
      kept: held for the whole run (summed), else transient (only the largest counts).
      host: lives in host memory even on an accelerator (numpy results, snapshots).
    """

    what: str
    nbytes: float
    knobs: tuple
    kept: bool = False
    host: bool = False


def peak(allocations, *, host: bool | None = None) -> tuple[float, Allocation | None]:
    """Peak bytes (everything kept plus the largest transient) and the largest allocation.

    ``host``: count only host (True) or device (False) allocations; ``None``: all.
    """
    chosen = [a for a in allocations if host is None or a.host == host]
    if not chosen:
        return 0.0, None
    kept = sum(a.nbytes for a in chosen if a.kept)
    transient = [a for a in chosen if not a.kept]
    top = max(transient, key=lambda a: a.nbytes) if transient else None
    largest = max(chosen, key=lambda a: a.nbytes)
    return kept + (top.nbytes if top else 0.0), largest


# --- parameter counts and activations ------------------------------------------------------------

def _dense(fan_in, fan_out):
    return fan_in * fan_out + fan_out


def _conv(c_in, c_out):
    return 9 * c_in * c_out + c_out


def n_params(architecture: str, depth: int, width: int, shape, out: int = 1) -> int:
    """Parameters of ``architectures.build(architecture, depth, width=width, out_dim=out)`` on ``shape`` images."""
    h, w, c = shape
    if architecture == "fc":
        return _dense(h * w * c, width) + (depth - 1) * _dense(width, width) + _dense(width, out)
    if architecture == "conv":
        return _conv(c, width) + (depth - 1) * _conv(width, width) + _dense(h * w * width, out)
    layers = sum(MYRTLE_LAYERS.get(depth, MYRTLE_LAYERS[10]))
    return _conv(c, width) + (layers - 1) * _conv(width, width) + _dense(width, out)


def activations(architecture: str, depth: int, width: int, shape) -> int:
    """Floats of the hidden activations of one image (what a backward pass keeps)."""
    h, w, _ = shape
    if architecture == "fc":
        return depth * width
    if architecture == "conv":
        return depth * h * w * width
    return sum(MYRTLE_LAYERS.get(depth, MYRTLE_LAYERS[10])) * h * w * width  # upper bound: before pooling


def _cnn_channels(width: float, depth: int):
    return [max(1, round(CNN_CHANNELS * 2 ** s * width)) for s in range(depth)]


def trained_params(network: str, width: float, depth: int, shape, out: int) -> int:
    """Parameters of ``training_steps.network(network, depth, width, out)`` on ``shape`` images."""
    h, w, c = shape
    if network == "mlp":
        units = max(1, round(width))
        return _dense(h * w * c, units) + (depth - 1) * _dense(units, units) + _dense(units, out)
    total, c_in = 0, c
    for ch in _cnn_channels(width, depth):
        total += _conv(c_in, ch) + _conv(ch, ch)
        c_in = ch
    return total + _dense((h // 4) * (w // 4) * c_in, out)  # MaxPool after stage 0, AvgPool at the end


def trained_forward_flops(network: str, width: float, depth: int, shape, out: int) -> float:
    """FLOPs of one forward pass of one image through ``training_steps.network(network, depth, width, out)``.

    mlp: ``2 ×`` its parameters; cnn: ``2 · 9 · c_in · c_out`` per output position of each 3×3
    convolution (stage 0 at full resolution, the others after the 2×2 max pool), plus the readout.
    """
    h, w, c = shape
    if network == "mlp":
        return 2.0 * trained_params(network, width, depth, shape, out)
    total, c_in = 0.0, c
    for stage, ch in enumerate(_cnn_channels(width, depth)):
        positions = h * w if stage == 0 else (h // 2) * (w // 2)
        total += 2.0 * positions * 9 * (c_in * ch + ch * ch)
        c_in = ch
    return total + 2.0 * (h // 4) * (w // 4) * c_in * out


def trained_activations(network: str, width: float, depth: int, shape) -> int:
    h, w, _ = shape
    if network == "mlp":
        return depth * max(1, round(width))
    return sum(2 * h * w * ch for ch in _cnn_channels(width, depth))  # upper bound: full resolution


# --- kernels ----------------------------------------------------------------------------------

def floats_per_pair(architecture: str, shape) -> int:
    """Covariance floats one pair of images holds inside the analytic kernel."""
    h, w, _ = shape
    return {"fc": _FC_FLOATS_PER_PAIR, "conv": h * w}.get(architecture, (h * w) ** 2)


def analytic_block(architecture: str, shape, block: int, n1: int, n2: int | None = None) -> float:
    """Bytes of one block of an analytic kernel (``kernels.kernel_matrix``)."""
    b1, b2 = min(block, n1), min(block, n2 or n1)
    return 4 * F32 * b1 * b2 * floats_per_pair(architecture, shape)


def gram(n1: int, n2: int | None = None, *, kinds: int = 1) -> float:
    """Bytes of ``kinds`` Gram matrices: float32 on the device plus their float64 host copy."""
    return kinds * (F32 + F64) * n1 * (n2 or n1)


def empirical_ntk_block(params: int, acts: int, block: int, out: int = 1) -> float:
    """Bytes of one block of the empirical NTK (module docstring)."""
    return F32 * block * out * (3 * params + 2 * acts)


def jacobians_once(params: int, n: int, out: int = 1) -> bool:
    """``kernels.empirical_ntk`` keeps every image's Jacobian (``n × out × params`` float32) within its budget."""
    return F32 * n * out * params <= JACOBIAN_BUDGET


def empirical_ntk_memory(params: int, acts: int, n: int, block: int, out: int = 1) -> float:
    """Bytes of ``kernels.empirical_ntk`` on ``n`` images in blocks of ``block``: one block's Jacobians and
    activations, plus every image's Jacobian when they are kept (:func:`jacobians_once`)."""
    kept = F32 * n * out * params if jacobians_once(params, n, out) else 0.0
    return kept + empirical_ntk_block(params, acts, min(block, n), out)


def empirical_ntk_flops(forward: float, params: int, n: int, block: int, out: int = 1) -> float:
    """Work of ``kernels.empirical_ntk`` on ``n`` images (symmetric), ``out`` logits kept.

    A Jacobian costs a forward and ``out`` backward passes per image (``(1 + 2 out) ×`` forward):
    once per image when the Jacobians are kept, else for both blocks of every pair of blocks in
    the upper triangle (``⌈n/b⌉ (⌈n/b⌉ + 1) b`` images); the contraction is ``2 (n·out)² P``.
    """
    blocks = -(-n // max(1, block))
    images = n if jacobians_once(params, n, out) else blocks * (blocks + 1) * min(block, n)
    return images * forward * (1 + 2 * out) + 2.0 * (n * out) ** 2 * params


def largest_fitting_block(params: int, acts: int, limit: int, budget: float, out: int = 1) -> int:
    """The largest block in ``[1, limit]`` whose empirical NTK fits in ``budget`` bytes (at least 1)."""
    per_image = empirical_ntk_block(params, acts, 1, out)
    return int(max(1, min(limit, budget // max(per_image, 1))))


def kernel_rows(architecture: str, shape, n_rows: int, n_train: int, chunk: int = 512) -> float:
    """Bytes of the kernel rows Θ(x, X) of ``n_rows`` inputs, X chunked by ``chunk`` (attacks), with gradients."""
    return 4 * F32 * n_rows * min(n_train, chunk) * floats_per_pair(architecture, shape)


def gram_flops(architecture: str, depth: int, shape, n_train: int, n_test: int = 0, block: int = 128) -> float:
    """Work of a train Gram matrix (symmetric: ``kernels.kernel_matrix`` computes its upper triangle of
    ``block``-row strips, ``n (n + block) / 2`` pairs) and of the ``n_test × n_train`` test rows."""
    b = min(block, n_train)
    pairs = n_train * (n_train + b) / 2 if n_train > b else n_train * n_train
    return (kernel_flops(architecture, depth, shape, 1, 1) * pairs
            + kernel_flops(architecture, depth, shape, n_test, n_train))


def kernel_flops(architecture: str, depth: int, shape, n1: int, n2: int) -> float:
    """Floating-point work of an analytic Gram block ``n1 × n2`` (stax ``kernel_fn``), in matmul-equivalent FLOPs.

    Per pair: the input product (``2 h w c``) and, per layer and covariance entry (a few for fc,
    ``h w`` for conv, ``(h w)²`` for Myrtle), a 3×3 convolution of the NNGP and NTK covariances
    and the ReLU arc-cosine map, whose ``arctan2`` costs about 25 ns on a CPU (XLA does not
    vectorise it): ~600 matmul-equivalent FLOPs per entry and layer, measured by
    ``ntkcompanion.cost.calibrate``.
    """
    h, w, c = shape
    entries = {"fc": 1, "conv": h * w}.get(architecture, (h * w) ** 2)
    return float(n1) * n2 * (2 * h * w * c + _ELEMENTWISE_FLOPS * depth * entries)


# --- kinds of work --------------------------------------------------------------------------------
# The cost model's time is the sum over kinds of FLOPs / (efficiency of the kind × device peak)
# (``_model.EFFICIENCY``): each kind is one kind of kernel, timed separately by the calibration.

def analytic_kind(architecture: str) -> str:
    """``"analytic_fc"``, ``"analytic_conv"`` or ``"analytic_myrtle"``: a stax Gram matrix."""
    return f"analytic_{architecture}"


def empirical_kind(architecture: str) -> str:
    """``"empirical_fc"``, ``"empirical_conv"``, ``"empirical_myrtle"``, ``"empirical_cnn"``, ``"empirical_mlp"``."""
    return f"empirical_{architecture}"


def train_kind(network: str) -> str:
    """``"train_mlp"``, ``"train_cnn"``, ``"train_fc"`` or ``"train_conv"``: SGD steps of a finite network."""
    return f"train_{network}"


def attack_kind(architecture: str) -> str:
    """``"pgd_fc"`` (the closed-form FC kernel) or ``"pgd_stax"`` (gradients through a stax kernel)."""
    return "pgd_fc" if architecture == "fc" else "pgd_stax"


def attack_pair_flops(architecture: str, depth: int, shape) -> float:
    """FLOPs of one kernel entry Θ(x, x_i) and its input gradient inside an attack step.

    fc: the closed-form kernel's input product forward and backward (``4 h w c``) plus a few
    elementwise maps per layer; others: the stax kernel's work (:func:`kernel_flops`) three times.
    """
    if architecture == "fc":
        h, w, c = shape
        return 4.0 * h * w * c + 40.0 * depth
    return 3.0 * kernel_flops(architecture, depth, shape, 1, 1)


def add(work: dict, kind: str, flops: float) -> dict:
    """Adds ``flops`` of ``kind`` to the ``{kind: FLOPs}`` dict ``work`` (in place; returned for chaining)."""
    work[kind] = work.get(kind, 0.0) + float(flops)
    return work
