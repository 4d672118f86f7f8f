"""The machine's memory and the memory check: now part of the cost model (``ntkcompanion.cost``), named here too."""

from ntkcompanion.cost._resources import (SKIP_ENV, InsufficientMemoryError, available_memory_bytes, check_memory,
                                          format_bytes, host_memory_bytes)

__all__ = ["SKIP_ENV", "InsufficientMemoryError", "available_memory_bytes", "check_memory", "format_bytes",
           "host_memory_bytes"]
