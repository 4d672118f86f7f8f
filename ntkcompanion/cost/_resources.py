"""The machine's memory, and a check that a run's largest allocation fits before it starts.

A section estimates the peak memory of its largest allocation from its parameters
(``ntkcompanion.cost``); :func:`check_memory` compares it with what is available
now and stops the run with the estimate, the memory available and the parameters to
lower, instead of an out-of-memory crash minutes later. On an accelerator the
device's free memory counts (JAX ``memory_stats``); on a CPU the host's
``MemAvailable``. Set ``NTKCOMPANION_SKIP_MEMORY_CHECK=1`` to run anyway (the
estimate is deliberately a little pessimistic).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import jax

__all__ = ["SKIP_ENV", "InsufficientMemoryError", "available_memory_bytes", "check_memory", "format_bytes",
           "host_memory_bytes"]

SKIP_ENV = "NTKCOMPANION_SKIP_MEMORY_CHECK"


class InsufficientMemoryError(ValueError):
    """The parameters ask for more memory than the machine has (a parameter problem, raised before any work)."""


def format_bytes(n: float) -> str:
    """``29.8 GB`` style (decimal units, as memory is usually quoted)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # unreachable


def host_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes of host memory available now (Linux ``MemAvailable``, else free physical pages), or ``None``."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        pass
    try:  # not Linux: free physical pages (excludes reclaimable cache, so it is a lower bound)
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _device_available() -> int | None:
    """Free memory of the default accelerator, or ``None`` on a CPU or when JAX does not say."""
    if jax.default_backend() == "cpu":
        return None
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # some backends do not implement memory_stats
        return None
    if "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def available_memory_bytes() -> int | None:
    """Bytes available now for a run's arrays: the accelerator's free memory, else the host's ``MemAvailable``.

    Returns ``None`` if neither can be read (the check is then skipped).
    """
    device = _device_available()
    return device if device is not None else host_memory_bytes()


def check_memory(estimate_bytes: float, parameters_to_lower: Sequence[str], *, what: str = "This run",
                 available: int | None = None) -> None:
    """Stops if ``estimate_bytes`` exceeds the memory available.

    Args:
      estimate_bytes: the estimated peak of the run's largest allocation.
      parameters_to_lower: parameter names, as the notebook spells them, that shrink it.
      what: the allocation, in words (``"the empirical NTK of the widest network"``).
      available: bytes available (default: :func:`available_memory_bytes`).

    Raises:
      InsufficientMemoryError: naming the estimate, the memory available, the parameters
        to lower and the override ``NTKCOMPANION_SKIP_MEMORY_CHECK=1``.
    """
    if os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return
    available = available_memory_bytes() if available is None else available
    if available is None or estimate_bytes <= available:
        return
    raise InsufficientMemoryError(
        f"{what} needs about {format_bytes(estimate_bytes)} of memory, more than the "
        f"{format_bytes(available)} available: lower {', '.join(parameters_to_lower)}. "
        f"(To run anyway, set the environment variable {SKIP_ENV}=1.)")
