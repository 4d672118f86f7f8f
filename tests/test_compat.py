"""The neural-tangents compat layer keeps TensorFlow out and leaves the library whole."""

import subprocess
import sys


def test_import_leaves_tensorflow_out():
    code = ("import sys, ntkcompanion; from ntkcompanion._nt import nt, stax; "
            "nt.batch; nt.empirical_ntk_fn; nt.predict.gradient_descent_mse; stax.Dense; "
            "print(sorted(m for m in sys.modules if m == 'tensorflow' or m.startswith('tensorflow.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_experimental_placeholder_explains_itself():
    from ntkcompanion._nt import nt

    try:
        nt.experimental.empirical_ntk_fn_tf
    except AttributeError as error:
        assert "TensorFlow" in str(error)
    else:
        raise AssertionError("the TensorFlow interop should not be loaded")


def test_placeholder_survives_introspection():
    # IPython formats every traceback with inspect.getmodule, which probes each
    # module's __file__ with hasattr(); a raising placeholder broke error reports.
    import inspect
    import sys

    from ntkcompanion import _nt  # noqa: F401

    assert not hasattr(sys.modules["neural_tangents.experimental"], "__file__")
    assert inspect.getmodule(inspect.currentframe()) is not None
