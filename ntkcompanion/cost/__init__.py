"""The cost model, in one place: each section's work and memory, devices, calibration, the memory check.

* ``_s01`` … ``_s08``: per section, ``work(p)`` (``{kind: FLOPs}``), ``memory(p)`` (a list of
  :class:`Allocation`) and, where a block size follows from the memory, ``derive(p, available)``;
  ``_features`` holds what sections 4, 5 and 7 share.
* ``_memory``: parameter counts, allocation sizes and FLOPs of the package's heavy steps.
* ``_devices``: the GPUs' published peaks, this CPU's timed matmul rate, the Colab budget.
* ``_model``: :func:`estimate` (roofline, one efficiency per kind of work), the memory check of a run.
* ``_paper``: the paper profile against a free Colab session, and what each section gives up to fit.
* ``_resources``: the memory available on this machine and :func:`check_memory`.
* ``_calibrate``: the efficiencies measured on this machine (``python -m ntkcompanion.cost``).

The package depends on ``data`` and ``architectures`` (and ``kernels`` for calibration), never on
``sections``: ``sections.setup`` calls into it.
"""

from ntkcompanion.cost._devices import (COLAB_BUDGET, COLAB_HOST_MEMORY, COLAB_SESSION_S, DEVICES,
                                        H100, T4, Budget, Device, current_device)
from ntkcompanion.cost._memory import Allocation, peak
from ntkcompanion.cost._model import (CALIBRATION, EFFICIENCY, MODELS, OVERHEAD_S, SPREAD, Estimate,
                                      check_resources, derive, estimate, format_duration, peak_memory_bytes,
                                      run_line, seconds)
from ntkcompanion.cost._paper import (DEVIATIONS, RESUMABLE, Deviation, authors_estimate, paper_estimates,
                                      paper_glue, paper_table, sessions)
from ntkcompanion.cost._resources import (SKIP_ENV, InsufficientMemoryError, available_memory_bytes, check_memory,
                                          format_bytes, host_memory_bytes)

__all__ = ["CALIBRATION", "COLAB_BUDGET", "COLAB_HOST_MEMORY", "COLAB_SESSION_S", "DEVIATIONS",
           "DEVICES", "EFFICIENCY", "H100", "MODELS", "OVERHEAD_S", "RESUMABLE", "SKIP_ENV", "SPREAD", "T4",
           "Allocation", "Budget", "Deviation", "Device", "Estimate", "InsufficientMemoryError", "authors_estimate",
           "available_memory_bytes", "check_memory", "check_resources", "current_device", "derive", "estimate",
           "format_bytes", "format_duration", "host_memory_bytes", "paper_estimates", "paper_glue", "paper_table",
           "peak", "peak_memory_bytes", "run_line", "seconds", "sessions"]
