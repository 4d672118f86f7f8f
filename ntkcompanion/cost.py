r"""Cost model: the runtime and peak memory of a section run, from its parameters alone.

Each section module declares the work of its dominant steps (``flops(p)``: floating-point
operations) and its allocations (``memory(p)``, ``peak_memory_bytes(p)``). A device is
described by its published peak float32 rate :math:`R`, memory bandwidth :math:`B` and
memory; a run's time on it is modelled as a roofline with one efficiency fraction
:math:`e` and a fixed start-up cost :math:`T_0` (compilation, data loading):

.. math::
    T = T_0 + \max\Big(\frac{F}{e\, R},\ \frac{M}{B}\Big),

where :math:`F` is ``flops(p)`` and :math:`M` the bytes the run's arrays occupy, each
counted as written and read once (the sum of ``memory(p)``). The memory term is a floor
(streaming every array once); on every section it is far below the compute term.

Calibration (:func:`calibrate`, ``python -m ntkcompanion.cost``): on the calibration CPU
(2 cores, see :data:`CALIBRATION`) the package's dominant kernels are timed against the FLOPs
the section modules count for them, and each achieved rate is divided by the rate of a
float32 matmul timed in the same run. :data:`EFFICIENCY` is the median of those ratios; a
GPU is assumed to reach the same fraction of its published peak (a matmul reaches most of
it). The spread of the ratios (:data:`SPREAD`) is the model's uncertainty: read every
estimate as "within a factor of a few". :data:`OVERHEAD_S` is the start-up cost of a
smoke-sized section run on that CPU (JIT compilation dominates), assumed the same on a GPU.

Devices (published peaks, float32 without tensor cores):

* NVIDIA T4 (Colab's free GPU): 8.1 TFLOP/s, 320 GB/s, 16 GB.
* NVIDIA H100 SXM: about 67 TFLOP/s, 3.35 TB/s, 80 GB.

A Colab session ends after at most about 12 hours; :func:`paper_glue` says so when a paper
run would outlast one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path

__all__ = ["CALIBRATION", "COLAB_SESSION_S", "DEVICES", "EFFICIENCY", "H100", "OVERHEAD_S", "SPREAD", "T4",
           "Device", "Estimate", "calibrate", "current_device", "estimate", "format_duration", "paper_estimates",
           "paper_glue", "paper_table", "paper_values", "run_line"]


@dataclasses.dataclass(frozen=True)
class Device:
    """A device as the cost model sees it.

    Attributes:
      name: in words (``"a Colab T4"``).
      flops: peak float32 rate, FLOP/s (for the calibration CPU: its measured matmul rate).
      bandwidth: memory bandwidth, bytes/s.
      memory: memory a run may use, bytes.
    """

    name: str
    flops: float
    bandwidth: float
    memory: float


# Published peaks (NVIDIA data sheets), float32 without tensor cores.
T4 = Device("a Colab T4", 8.1e12, 320e9, 16e9)
H100 = Device("an H100 SXM", 67e12, 3.35e12, 80e9)
# Further GPUs the current-device estimate recognises by JAX's device_kind (data-sheet peaks).
_KNOWN_GPUS = {"T4": T4, "H100": H100, "H200": Device("an H200", 67e12, 4.8e12, 141e9),
               "A100": Device("an A100", 19.5e12, 1.6e12, 40e9), "L4": Device("an L4", 30.3e12, 300e9, 24e9),
               "V100": Device("a V100", 15.7e12, 900e9, 16e9)}
DEVICES = {"t4": T4, "h100": H100}

COLAB_SESSION_S = 12 * 3600
COLAB_HOST_MEMORY = 12.7e9  # host RAM of a free Colab session

# --- calibration (measured once with calibrate(); see the module docstring) ---------------------
#: Where and how the constants below were measured.
CALIBRATION = ("2-core x86-64 CPU (the book's reference machine), 23 GiB, jax 0.5.3 on CPU, float32, "
               "python -m ntkcompanion.cost run twice while other processes shared the cores; ratios "
               "of each kernel's rate to a matmul timed in the same run: empirical NTK fc 0.04, conv 0.31; "
               "stax Gram fc 0.21, conv 0.21; PGD step (closed-form FC) 1.0 (2.5 once, with the matmul "
               "slowed by other load)")
#: Float32 matmul rate of the calibration CPU (jnp, (2000, 3072) · (3072, 2000)), FLOP/s.
CPU_MATMUL_FLOPS = 2.3e10  # the faster of the two runs (15.9 and 22.8 GFLOP/s)
#: Cores of the calibration CPU; another CPU's rate is scaled by its core count.
CALIBRATION_CORES = 2
#: Memory bandwidth assumed for a CPU (a dual-channel DDR4 host), bytes/s.
CPU_BANDWIDTH = 20e9
#: Median achieved rate of the package's dominant kernels (FLOPs as the sections count them) / matmul rate.
EFFICIENCY = 0.21
#: Lowest and highest of those ratios: the estimate's uncertainty band.
SPREAD = (0.04, 1.0)
#: Start-up cost of a section run (compilation, data loading), seconds.
OVERHEAD_S = 20.0


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
      flops: work of the dominant steps, FLOPs.
      bytes_moved: bytes of every array the run allocates (each written and read once).
      peak_bytes: peak memory (everything kept plus the largest transient allocation).
      seconds: the model's runtime (module docstring).
      device_bytes: peak of the allocations that live on the device (on a CPU: all of them).
      host_bytes: peak of those that stay in host memory (numpy results, snapshots).
    """

    device: Device
    flops: float
    bytes_moved: float
    peak_bytes: float
    seconds: float
    device_bytes: float = 0.0
    host_bytes: float = 0.0

    @property
    def runtime(self) -> str:
        return format_duration(self.seconds)

    @property
    def memory(self) -> str:
        from ntkcompanion.resources import format_bytes

        return format_bytes(self.peak_bytes)

    @property
    def fits(self) -> bool:
        """The device-side peak memory fits in the device's memory."""
        return self.device_bytes <= self.device.memory


def _run_parameters(section, values, available):
    """``sections.RunParameters`` of validated ``values``, with the section's derived quantities for ``available``."""
    from ntkcompanion import sections

    mod = sections.module(section)
    if isinstance(values, sections.RunParameters) and available is None:
        return mod, values
    plain = dict(values._values if hasattr(values, "_values") else values)
    derived = mod.derive(plain, available) if hasattr(mod, "derive") else {}
    return mod, sections.RunParameters(section, plain, mod.PARAMETERS, derived)


def estimate(section: str, values, device: Device | None = None, *, efficiency: float = EFFICIENCY,
             overhead_s: float = OVERHEAD_S) -> Estimate:
    """The cost of running ``section`` with ``values`` on ``device`` (default: :func:`current_device`).

    Args:
      section: the notebook's stem.
      values: validated parameters (``sections.RunParameters`` or ``parameters.Values`` or a dict of them).
      device: where it runs; its memory also sets the section's derived block sizes.
      efficiency: fraction of the device's peak the package's kernels reach.
      overhead_s: start-up seconds.
    """
    device = device or current_device()
    mod, p = _run_parameters(section, values, device.memory if device is not None else None)
    from ntkcompanion.sections import _memory

    flops = float(mod.flops(p))
    allocations = mod.memory(p)
    moved = float(sum(a.nbytes for a in allocations))
    peak = float(_memory.peak(allocations)[0])
    seconds = overhead_s + max(flops / (efficiency * device.flops), moved / device.bandwidth)
    return Estimate(device, flops, moved, peak, seconds, float(_memory.peak(allocations, host=False)[0]),
                    float(_memory.peak(allocations, host=True)[0]))


def _cpu_device() -> Device:
    cores = os.cpu_count() or CALIBRATION_CORES
    from ntkcompanion import resources

    memory = resources.host_memory_bytes() or 0
    return Device(f"this CPU ({cores} cores)", CPU_MATMUL_FLOPS * cores / CALIBRATION_CORES, CPU_BANDWIDTH,
                  float(memory))


def current_device() -> Device:
    """JAX's default device as a :class:`Device`: a known GPU by name, else the CPU scaled by its cores.

    An unrecognised accelerator is assumed T4-like (the smallest GPU in the table), with its
    reported free memory.
    """
    import jax

    if jax.default_backend() == "cpu":
        return _cpu_device()
    kind = str(getattr(jax.devices()[0], "device_kind", ""))
    for name, device in _KNOWN_GPUS.items():
        if name in kind.upper().replace("TESLA ", ""):
            return device
    from ntkcompanion import resources

    free = resources.available_memory_bytes()
    return Device(f"this accelerator ({kind or 'unknown'}, rated as a T4)", T4.flops, T4.bandwidth,
                  float(free or T4.memory))


def run_line(section: str, p) -> str:
    """One line for the notebook: this run's estimated runtime and peak memory on the current device."""
    est = estimate(section, p, current_device())
    return (f"Cost model: this run needs about {est.flops:.2g} FLOPs and a peak of {est.memory}; "
            f"estimated runtime on {est.device.name}: {est.runtime}.")


# --- the paper profile --------------------------------------------------------------------------

def _profiles_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "params"


def paper_values(section: str, path: Path | None = None):
    """The section's paper-profile parameters: its block of ``params/paper.yaml`` over the declared defaults.

    Returns:
      validated ``parameters.Values``.

    Raises:
      FileNotFoundError: the profile is not next to the package (an installed wheel carries no profiles).
      parameters.ParameterError: the block holds a value the section does not accept.
    """
    import yaml

    from ntkcompanion import parameters, sections

    path = Path(path) if path is not None else _profiles_dir() / "paper.yaml"
    block = (yaml.safe_load(path.read_text()) or {}).get(section) or {}
    mod = sections.module(section)
    return parameters.validate(mod.PARAMETERS, sections.defaults(section) | block, getattr(mod, "CHECKS", ()))


def paper_estimates(section: str, path: Path | None = None) -> dict[str, Estimate]:
    """The paper profile's :class:`Estimate` on each of :data:`DEVICES` (``{"t4": ..., "h100": ...}``)."""
    values = paper_values(section, path)
    return {key: estimate(section, values, device) for key, device in DEVICES.items()}


def paper_glue(section: str, path: Path | None = None) -> dict[str, str]:
    """Glue values for a section's title cell, from its paper-profile block.

    Returns:
      ``paper_runtime_t4``, ``paper_runtime_h100`` (``"about 25 min"``), ``paper_peak_memory``
      (on the T4, whose memory sets the block sizes: ``"12.3 GB"``) and ``paper_colab_note``: a
      sentence when the T4 run would outlast a Colab session or not fit its memory, else ``""``.
    """
    try:
        est = paper_estimates(section, path)
    except FileNotFoundError:
        unknown = "unknown (params/paper.yaml not found)"
        return {"paper_runtime_t4": unknown, "paper_runtime_h100": unknown, "paper_peak_memory": unknown,
                "paper_colab_note": ""}
    from ntkcompanion.resources import format_bytes

    t4 = est["t4"]
    notes = []
    if t4.seconds > COLAB_SESSION_S:
        notes.append(f"On a Colab T4 this is longer than a Colab session (at most about "
                     f"{COLAB_SESSION_S // 3600} h): run it on a longer-lived GPU, or in parts.")
    if not t4.fits:
        notes.append(f"Its device memory peak exceeds the T4's {T4.memory / 1e9:.0f} GB: use a larger GPU or "
                     "smaller sizes.")
    if t4.host_bytes > COLAB_HOST_MEMORY:
        notes.append(f"Its host memory peak ({format_bytes(t4.host_bytes)}) exceeds a free Colab session's "
                     f"{COLAB_HOST_MEMORY / 1e9:.1f} GB of RAM.")
    return {"paper_runtime_t4": t4.runtime, "paper_runtime_h100": est["h100"].runtime,
            "paper_peak_memory": t4.memory, "paper_colab_note": " ".join(notes)}


def paper_table(path: Path | None = None) -> str:
    """Every section's paper-profile estimate as a Markdown table (``python -m ntkcompanion.cost --paper``).

    One row per section (``sections.SECTIONS``): runtime on a Colab T4, runtime on an H100-class
    GPU, and peak memory (on the T4, as :func:`paper_glue`), from the section's block of
    ``params/paper.yaml`` (or ``path``). Read each estimate as "within a factor of a few" (:data:`SPREAD`).
    """
    from ntkcompanion import sections

    lines = ["| section | Colab T4 | H100-class GPU | peak memory |", "| --- | ---: | ---: | ---: |"]
    for section in sections.SECTIONS:
        glue = paper_glue(section, path)
        lines.append(f"| `{section}` | {glue['paper_runtime_t4'].removeprefix('about ')} | "
                     f"{glue['paper_runtime_h100'].removeprefix('about ')} | {glue['paper_peak_memory']} |")
    return "\n".join(lines)


# --- calibration ----------------------------------------------------------------------------------

def _median_seconds(fn, *args, repeat=3):
    import jax

    jax.block_until_ready(fn(*args))  # compile and warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def calibrate(repeat: int = 3) -> dict:
    """Measures the constants above on this machine (a minute on 2 cores).

    Each case is one dominant step of a section, timed against the FLOPs its section module
    counts (``sections._memory``), next to a float32 matmul timed in the same run:

    * the empirical NTK of an FC and a conv net (section 1, 3): Jacobians, ``3 × forward`` each;
    * analytic FC and conv Gram matrices (every section): ``_memory.kernel_flops``;
    * a PGD step's kernel rows and input gradient (sections 2, 4–7): ``4 n N d``.

    Returns:
      ``{"matmul_flops": ..., "ratios": {case: achieved / matmul}, "efficiency": median, "spread": (min, max)}``.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from ntkcompanion import architectures, kernels, predictor
    from ntkcompanion.sections import _memory as m
    from ntkcompanion.sections import s01_ntk_primer as s01

    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.uniform(size=(2000, 3072)), jnp.float32)
    b = jnp.asarray(rng.uniform(size=(3072, 2000)), jnp.float32)
    matmul = jax.jit(lambda a, b: a @ b)

    def matmul_rate():
        return 2 * 2000 * 3072 * 2000 / _median_seconds(matmul, a, b, repeat=repeat)

    shape = (28, 28, 1)
    x = rng.uniform(size=(400,) + shape).astype(np.float32)
    ratios = {}

    def record(case, flops, fn, *args):
        seconds = _median_seconds(fn, *args, repeat=repeat)
        ratios[case] = flops / seconds / matmul_rate()

    for arch, width in (("fc", 2048), ("conv", 128)):
        init_fn, apply_fn, _ = architectures.build(arch, 2, width=width)
        _, params = init_fn(jax.random.PRNGKey(0), (1,) + shape)
        xs = x[:16]
        flops = s01.empirical_flops(arch, 2, width, shape, n=16, seeds=1)
        record(f"empirical NTK, {arch} width {width}", flops,
               lambda: kernels.empirical_ntk(apply_fn, params, xs, batch_size=16))
    for arch, n in (("fc", 400), ("conv", 100)):
        kernel_fn = architectures.build(arch, 2)[2]
        record(f"analytic {arch} Gram {n} x {n} (stax)", m.kernel_flops(arch, 2, shape, n, n),
               lambda: kernels.kernel_matrix(kernel_fn, x[:n], batch_size=100))
    n_train, n_test = 1000, 400
    xt = rng.uniform(size=(n_train,) + shape).astype(np.float32)
    y = np.sign(rng.normal(size=n_train)).astype(np.float32)
    predict_fn = predictor.fit(kernels.kernel_fn("fc", 1), xt, y, ridge=1e-3)
    grad = jax.jit(jax.grad(lambda z: predict_fn(z).sum()))
    record("PGD step on the FC kernel predictor (closed form)", 4.0 * n_test * n_train * 784, grad, x)
    values = sorted(ratios.values())
    return {"matmul_flops": matmul_rate(), "ratios": ratios, "efficiency": float(np.median(values)),
            "spread": (values[0], values[-1])}


def _main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ntkcompanion.cost",
                                     description="Calibrate the cost model, or print the paper-profile estimates.")
    parser.add_argument("--paper", action="store_true",
                        help="print every section's paper-profile estimate as a Markdown table")
    if parser.parse_args(argv).paper:
        print(paper_table())
        return
    result = calibrate()
    print(f"float32 matmul: {result['matmul_flops'] / 1e9:.1f} GFLOP/s")
    for case, ratio in result["ratios"].items():
        print(f"  {case}: {ratio:.2f} of the matmul rate")
    print(f"efficiency (median): {result['efficiency']:.2f}; spread {result['spread'][0]:.2f}"
          f"-{result['spread'][1]:.2f}")


if __name__ == "__main__":
    _main()
