"""Shared numerical tolerances: tight in float64, loosened for float32 (neural-tangents' test_utils habit)."""

import numpy as np

# Relative tolerance by dtype for results that went through one float32 kernel evaluation
# and a float64 solve; atol covers entries that cancel to ~0.
RTOL = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-9}
ATOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}
# Rounding of x + δ − x for pixels in [0, 1]: a few ulps of 1.0.
NORM_SLACK = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def tolerance(dtype, scale: float = 1.0) -> dict:
    """``rtol`` and ``atol`` for ``np.testing.assert_allclose`` at ``dtype``, times ``scale``."""
    dtype = np.dtype(dtype)
    return {"rtol": scale * RTOL[dtype], "atol": scale * ATOL[dtype]}


def assert_close(actual, expected, *, scale: float = 1.0, dtype=None):
    """Asserts ``actual ≈ expected`` at the tolerance of ``dtype`` (default: ``actual``'s dtype)."""
    actual = np.asarray(actual)
    dtype = actual.dtype if dtype is None else dtype
    np.testing.assert_allclose(actual, np.asarray(expected), **tolerance(dtype, scale))
