r"""The cost model: a section run's runtime and peak memory from its parameters alone.

Each section's model (``_s01`` … ``_s08``) counts the work of its dominant steps by kind of
kernel (``work(p)``: ``{kind: FLOPs}``, kinds in :data:`EFFICIENCY`) and lists its allocations
(``memory(p)``). A device (``_devices``) is described by its published peak float32 rate
:math:`R`, memory bandwidth :math:`B` and memory; a run's time on it is a roofline with one
efficiency fraction :math:`e_k` per kind of work and a fixed start-up cost :math:`T_0`
(compilation, data loading):

.. math::
    T = T_0 + \max\Big(\sum_k \frac{F_k}{e_k\, R},\ \frac{M}{B}\Big),

where :math:`F_k` is the work of kind :math:`k` and :math:`M` the bytes the run's arrays occupy,
each counted as written and read once (the sum of ``memory(p)``). The memory term is a floor
(streaming every array once); on every section it is far below the compute term.

Calibration (``_calibrate``, ``python -m ntkcompanion.cost``; checked section by section by
``benchmarks/bench_cost.py``): on the calibration CPU each kind's kernel is timed against the
FLOPs the models count for it and divided by the rate of a float32 matmul timed in the same
run. On a CPU, :math:`R` is that matmul's rate timed when the process first asks
(``current_device()``), so the estimate follows the machine's load at the time. A GPU is assumed to reach the same fraction of its published peak (a matmul reaches most
of it): the CPU-calibrated constants are the model's weakest link on a GPU, which
``benchmarks/gpu_check.py`` measures when one is available.
"""

from __future__ import annotations

import dataclasses
import math

import jax

from ntkcompanion.cost import _memory, _resources, _task
from ntkcompanion.cost import _s01, _s02, _s03, _s04, _s05, _s06, _s07, _s08
from ntkcompanion.cost._devices import Device, current_device

__all__ = ["CALIBRATION", "EFFICIENCY", "MODELS", "OVERHEAD_S", "SPREAD", "Estimate", "check_resources", "derive",
           "estimate", "format_duration", "peak_memory_bytes", "run_line", "seconds"]

#: Each section's model, by the notebook's stem.
MODELS = {"01_ntk_primer": _s01, "02_training_free_attacks": _s02, "03_transfer": _s03,
          "04_eigen_features": _s04, "05_learned_early": _s05, "06_consistency": _s06,
          "07_seeing_features": _s07, "08_adversarial_training": _s08}

# --- calibration (measured with ``python -m ntkcompanion.cost``; see the module docstring) -------
#: Where and how the constants below were measured.
CALIBRATION = ("2-core x86-64 CPU (the book's reference machine), jax 0.5.3 on CPU, float32 (linalg: numpy float64), "
               "python -m ntkcompanion.cost twice while other processes shared the cores (matmul 47.7 and 63.2 "
               "GFLOP/s; the training kinds, timed through the host loop of an SGD epoch on the idle CPU at "
               "172-201 GFLOP/s); each constant is the geometric mean of a kind's achieved rate over a float32 "
               "matmul timed in the same run")
#: Achieved rate of each kind of work (FLOPs as the models count them) / the float32 matmul rate.
EFFICIENCY = {
    "linalg": 0.05,           # eigendecompositions and solves (LAPACK, float64; counted as 3 n³)
    "analytic_fc": 0.29, "analytic_conv": 0.20, "analytic_myrtle": 0.26,  # stax kernel_fn Gram blocks
    # The empirical NTK: per-image Jacobians (memory-bound for dense layers) and their contraction.
    "empirical_fc": 0.045, "empirical_conv": 0.46, "empirical_myrtle": 0.21, "empirical_cnn": 0.39,
    "empirical_mlp": 0.28,
    "pgd_fc": 0.98,           # attack steps through the closed-form FC kernel (input products)
    "pgd_stax": 0.52,         # attack steps through a stax kernel (conv, myrtle)
    # SGD of the trained networks (forward, backward, attacks in training). Section 8's mlp and cnn: epochs through
    # its host loop (a dispatch per step), timed on the idle CPU (mlp: 0.60, 0.57, 0.57, 0.55; cnn: 0.48, 0.45,
    # once the timed call no longer initialised the optimizer, which weighs on the cnn only). Section 3's fc,
    # conv and myrtle nets train in a jax.lax.fori_loop (no per-step dispatch): a bare jitted step of the mlp and
    # cnn, timed under load with the other kinds.
    "train_mlp": 0.58, "train_cnn": 0.46, "train_fc": 1.32, "train_conv": 0.53, "train_myrtle": 0.53,
}
#: Lowest and highest of those ratios: the estimate's uncertainty band.
SPREAD = (min(EFFICIENCY.values()), max(EFFICIENCY.values()))
#: Start-up cost of a section's notebook run (kernel start, imports, compilation, figures and the report), seconds:
#: the median of measured time minus modelled compute over the 24 runs of ``benchmarks/bench_cost.py`` (every
#: section at three sizes) on the idle calibration CPU; by section it ranges from about 15 s (section 5) to 40 s
#: (section 6). A Colab host has two such cores, so it is taken to be the same there.
OVERHEAD_S = 27.0


def format_duration(seconds: float) -> str:
    """``"about 40 s"``, ``"about 25 min"``, ``"about 3.5 h"``, ``"about 2 days"`` (two significant digits)."""
    if not math.isfinite(seconds):
        return "unknown"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 1.5 * size if unit != "min" else seconds >= 90:
            value = seconds / size
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")
            return f"about {text} {unit}"
    return f"about {max(1, round(seconds))} s"


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A run's estimated cost on one device.

    Attributes:
      device: the :class:`Device`.
      work: ``{kind: FLOPs}`` of the dominant steps.
      bytes_moved: bytes of every array the run allocates (each written and read once).
      peak_bytes: peak memory (everything kept plus the largest transient allocation).
      seconds: the model's runtime (module docstring).
      device_bytes: peak of the allocations that live on the device (on a CPU: all of them).
      host_bytes: peak of those that stay in host memory (numpy results, snapshots).
    """

    device: Device
    work: dict
    bytes_moved: float
    peak_bytes: float
    seconds: float
    device_bytes: float = 0.0
    host_bytes: float = 0.0

    @property
    def flops(self) -> float:
        """Total work, FLOPs."""
        return float(sum(self.work.values()))

    @property
    def runtime(self) -> str:
        return format_duration(self.seconds)

    @property
    def memory(self) -> str:
        return _resources.format_bytes(self.peak_bytes)

    @property
    def fits(self) -> bool:
        """The device-side peak memory fits in the device's memory."""
        return self.device_bytes <= self.device.memory


def _model(section: str):
    if section not in MODELS:
        raise ValueError(f"section = {section!r} is not allowed: expected one of {', '.join(MODELS)}.")
    return MODELS[section]


def allocations(section: str, p) -> list:
    """The section's allocations (``memory(p)`` of its model) plus its dataset as read."""
    return _model(section).memory(p) + _task.dataset_memory(p)


def derive(section: str, values, available) -> dict:
    """Quantities of a run that follow from its parameters and the memory ``available`` (bytes, or None):
    block sizes, as lower-case names (``ntk_batch_size`` of section 1)."""
    model = _model(section)
    return model.derive(values, available) if hasattr(model, "derive") else {}


class _WithDerived(dict):
    """A plain mapping of parameters that also carries derived quantities, as ``sections.RunParameters`` does."""

    derived: dict = {}


def _with_derived(section, values, available):
    if hasattr(values, "derived") and available is None:
        return values
    plain = _WithDerived(values._values if hasattr(values, "_values") else values)
    plain.derived = derive(section, plain, available)
    return plain


def seconds(work: dict, device: Device, *, efficiency: dict | None = None) -> float:
    """Compute seconds of ``work`` (``{kind: FLOPs}``) on ``device``, without start-up."""
    efficiency = EFFICIENCY if efficiency is None else efficiency
    return float(sum(f / (efficiency[k] * device.flops) for k, f in work.items()))


def estimate(section: str, values, device: Device | None = None, *, efficiency: dict | None = None,
             overhead_s: float = OVERHEAD_S) -> Estimate:
    """The cost of running ``section`` with ``values`` on ``device`` (default: :func:`current_device`).

    Args:
      section: the notebook's stem.
      values: validated parameters (``sections.RunParameters``, ``parameters.Values`` or a dict of them).
      device: where it runs; its memory also sets the section's derived block sizes.
      efficiency: ``{kind: fraction of the device's peak}`` (default :data:`EFFICIENCY`).
      overhead_s: start-up seconds.
    """
    device = device or current_device()
    model = _model(section)
    p = _with_derived(section, values, device.memory)
    work = {k: float(v) for k, v in model.work(p).items() if v}
    used = allocations(section, p)
    moved = float(sum(a.nbytes for a in used))
    peak = float(_memory.peak(used)[0])
    total = overhead_s + max(seconds(work, device, efficiency=efficiency), moved / device.bandwidth)
    return Estimate(device, work, moved, peak, total, float(_memory.peak(used, host=False)[0]),
                    float(_memory.peak(used, host=True)[0]))


def peak_memory_bytes(section: str, p) -> float:
    """Peak bytes of a run (everything kept plus its largest transient allocation)."""
    return _memory.peak(allocations(section, p))[0]


def check_resources(section: str, p, *, device_available=None, host_available=None) -> None:
    """Stops if the section's peak memory exceeds what the device (and the host) have available.

    Raises:
      InsufficientMemoryError: naming the estimate, the memory available and the parameters to lower.
    """
    used = allocations(section, p)
    on_accelerator = jax.default_backend() != "cpu"
    groups = [(False, device_available), (True, host_available)] if on_accelerator else [(None, host_available)]
    for host, available in groups:
        need, largest = _memory.peak(used, host=host)
        if largest is None:
            continue
        if available is None:
            available = (_resources.available_memory_bytes() if host is not True
                         else _resources.host_memory_bytes())
        _resources.check_memory(need, largest.knobs, what=f"This run (largest allocation: {largest.what})",
                                available=available)


def run_line(section: str, p) -> str:
    """One line for the notebook: this run's estimated runtime and peak memory on the current device."""
    est = estimate(section, p, current_device())
    return (f"Cost model: this run needs about {est.flops:.2g} FLOPs and a peak of {est.memory}; "
            f"estimated runtime on {est.device.name}: {est.runtime}.")
