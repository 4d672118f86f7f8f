"""neural-tangents without TensorFlow.

``import neural_tangents`` runs ``from . import experimental``, whose only content is
a TensorFlow-interop module (``empirical_ntk_fn_tf``). Importing it loads TensorFlow:
about ten seconds per process and, on a GPU, a second CUDA runtime that competes
with JAX for memory. Nothing in this package needs it, so before neural_tangents
is first imported we register a placeholder for that one subpackage. Every other
part of neural-tangents (stax, predict, batch, empirical kernels, linearize) is the
real, unmodified library.

This is the only place in the package that imports ``neural_tangents``; every
other module does ``from ntkcompanion._nt import nt, stax``.
"""

import sys
import types

_EXPERIMENTAL = "neural_tangents.experimental"


def _placeholder() -> types.ModuleType:
    module = types.ModuleType(
        _EXPERIMENTAL,
        "Placeholder registered by ntkcompanion so that TensorFlow is not imported.",
    )

    def __getattr__(name):
        # AttributeError, not ImportError: hasattr() and inspect probe modules for
        # attributes like __file__ and must get the exception they expect.
        raise AttributeError(
            f"neural_tangents.experimental.{name} is TensorFlow interop, which ntkcompanion "
            "does not load. Import it in a fresh process that has not imported ntkcompanion."
        )

    module.__getattr__ = __getattr__
    return module


if "neural_tangents" not in sys.modules:
    sys.modules.setdefault(_EXPERIMENTAL, _placeholder())

import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402

__all__ = ["nt", "stax"]
