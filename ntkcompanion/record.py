"""What a section run leaves behind: metrics.json, glued numbers, an environment line.

Every notebook ends by calling :func:`write_metrics`, which records the section's
headline numbers together with its parameters, package versions, devices and
runtime. The book's claims and reproducibility pages are generated from these
files only, so every number the book prints traces back to a run.
"""

import importlib.metadata
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import jax

__all__ = [
    "atomic_write_text",
    "environment",
    "environment_line",
    "glue",
    "read_metrics",
    "write_metrics",
]

_PACKAGES = ("ntkcompanion", "jax", "jaxlib", "neural-tangents", "optax", "numpy")


def atomic_write_text(path, text: str) -> Path:
    """Writes ``text`` to ``path`` through a temporary file and a rename.

    A reader never sees a half-written file: either the old one or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict:
    """Package versions, Python, platform and JAX devices of this process."""
    devices = jax.devices()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{getattr(d, 'device_kind', d.platform)}" for d in devices],
    }


def environment_line() -> str:
    """One line for a notebook's first output: versions and devices."""
    env = environment()
    versions = ", ".join(f"{p} {v}" for p, v in env["packages"].items())
    return f"{versions}; python {env['python']}; devices: {', '.join(env['devices'])}"


def glue(name: str, value, *, display: bool = False):
    """Stores ``value`` under ``name`` for ``{glue:text}`name``` in the book's prose.

    Returns ``value`` so that a cell can glue and use a number in one line.
    """
    from myst_nb import glue as myst_glue  # imported here: only notebooks glue

    # numpy 2 scalars print as "np.float64(0.97)", which the book's number formats
    # ({glue:text}`name:.3f`) cannot parse: glue them as Python numbers.
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    myst_glue(name, value, display=display)
    return value


def _plain(value):
    """Converts numpy/jax scalars and arrays to JSON types."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_metrics(output_dir, *, section: str, metrics: dict, parameters: dict,
                  started: float) -> Path:
    """Writes ``output_dir/metrics.json`` atomically and returns its path.

    Args:
      output_dir: the section's output directory (created if missing).
      section: the notebook's stem, e.g. ``"01_ntk_primer"``.
      metrics: headline numbers (JSON-serialisable after numpy conversion).
      parameters: the parameter values the run used.
      started: ``time.time()`` at the start of the run, for the runtime.
    """
    record = {
        "section": section,
        "metrics": _plain(metrics),
        "parameters": _plain(parameters),
        "environment": environment(),
        "runtime_seconds": round(time.time() - started, 2),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return atomic_write_text(Path(output_dir) / "metrics.json",
                             json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_metrics(output_dir) -> dict:
    """Reads a section's ``metrics.json`` written by :func:`write_metrics`."""
    return json.loads((Path(output_dir) / "metrics.json").read_text())
