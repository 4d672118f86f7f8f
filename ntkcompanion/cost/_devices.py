"""Devices as the cost model sees them: published peaks of the GPUs, this CPU at its timed rate, JAX's current device.

Published peaks (NVIDIA data sheets), float32 without tensor cores:

* NVIDIA T4 (Colab's free GPU): 8.1 TFLOP/s, 320 GB/s, 16 GB (about 15 GB usable).
* NVIDIA H100 SXM: about 67 TFLOP/s, 3.35 TB/s, 80 GB.

A free Colab session has 12.7 GB of host RAM and ends after at most about 12 hours; the
book asks more of a paper profile (:data:`COLAB_BUDGET`): at most 2 h, 10 GB of host memory
and 14 GB of device memory per section and session, so that a reader's session survives
the occasional slow start or idle disconnect.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion.cost import _resources

__all__ = ["COLAB_BUDGET", "COLAB_HOST_MEMORY", "COLAB_SESSION_S", "CPU_BANDWIDTH", "DEVICES", "H100", "T4",
           "Budget", "Device", "current_device", "matmul_flops", "median_seconds"]


@dataclasses.dataclass(frozen=True)
class Device:
    """A device as the cost model sees it.

    Attributes:
      name: in words (``"a Colab T4"``).
      flops: peak float32 rate, FLOP/s (for a CPU: its float32 matmul rate, timed).
      bandwidth: memory bandwidth, bytes/s.
      memory: memory a run may use, bytes.
    """

    name: str
    flops: float
    bandwidth: float
    memory: float


@dataclasses.dataclass(frozen=True)
class Budget:
    """What one section's paper profile may ask of one Colab session.

    Attributes:
      seconds: runtime per session (a resumable section: per chunk).
      host_bytes: peak host memory.
      device_bytes: peak device memory.
    """

    seconds: float
    host_bytes: float
    device_bytes: float


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
COLAB_BUDGET = Budget(seconds=2 * 3600, host_bytes=10e9, device_bytes=14e9)

#: Memory bandwidth assumed for a CPU (a dual-channel DDR4 host), bytes/s.
CPU_BANDWIDTH = 20e9


def median_seconds(fn, *args, repeat=3):
    """Median wall time of ``fn(*args)`` after one warm-up call (compilation), seconds."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_flops(repeat: int = 3) -> float:
    """Float32 matmul rate of JAX's default device, ``(2000, 3072) · (3072, 2000)``, FLOP/s (under a second
    on a 2-core CPU)."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.uniform(size=(2000, 3072)), jnp.float32)
    b = jnp.asarray(rng.uniform(size=(3072, 2000)), jnp.float32)
    return 2 * 2000 * 3072 * 2000 / median_seconds(jax.jit(lambda a, b: a @ b), a, b, repeat=repeat)


@functools.lru_cache(maxsize=1)
def _cpu_device() -> Device:
    # A CPU's rate is timed, not looked up: the same two cores gave 23 to 212 GFLOP/s within an hour
    # as other processes came and went, and the efficiencies are fractions of exactly this matmul.
    memory = _resources.host_memory_bytes() or 0
    return Device(f"this CPU ({os.cpu_count() or 1} cores)", matmul_flops(repeat=5), CPU_BANDWIDTH, float(memory))


def current_device(*, retime: bool = False) -> Device:
    """JAX's default device as a :class:`Device`: a known GPU by name, else this CPU at its timed matmul rate.

    A CPU's rate is a float32 matmul timed on the first call of the process (:func:`matmul_flops`),
    and again with ``retime=True``. An unrecognised accelerator is assumed T4-like (the smallest GPU
    in the table), with its reported free memory.
    """
    if jax.default_backend() == "cpu":
        if retime:
            _cpu_device.cache_clear()
        return _cpu_device()
    kind = str(getattr(jax.devices()[0], "device_kind", ""))
    for name, device in _KNOWN_GPUS.items():
        if name in kind.upper().replace("TESLA ", ""):
            return device
    free = _resources.available_memory_bytes()
    return Device(f"this accelerator ({kind or 'unknown'}, rated as a T4)", T4.flops, T4.bandwidth,
                  float(free or T4.memory))
