"""What a section run leaves behind: metrics.json, glued numbers, an environment line.

Every notebook ends with one call, :func:`report`, which records the section's
headline numbers and verdicts together with its parameters, package versions,
devices and runtime, and glues the numbers its prose cites. The book's claims and
reproducibility pages are generated from these files only, so every number the
book prints traces back to a run.
"""

import importlib.metadata
import json
import math
import platform
import time
from pathlib import Path

import jax

from ntkcompanion import cost
from ntkcompanion._io import atomic_write_text

__all__ = [
    "atomic_write_text",
    "environment",
    "environment_line",
    "glue",
    "read_metrics",
    "report",
    "verdict_glue",
    "write_metrics",
]

_PACKAGES = ("ntkcompanion", "jax", "jaxlib", "neural-tangents", "optax", "numpy")


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


_glue = glue  # report() takes a ``glue`` argument that shadows the function


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
                  started: float, verdicts=(), derived: dict | None = None) -> Path:
    """Writes ``output_dir/metrics.json`` atomically and returns its path.

    Args:
      output_dir: the section's output directory (created if missing).
      section: the notebook's stem, e.g. ``"01_ntk_primer"``.
      metrics: headline numbers (JSON-serialisable after numpy conversion).
      parameters: the parameter values the run used.
      started: ``time.time()`` at the start of the run, for the runtime.
      verdicts: ``evidence.Verdict`` objects (or their ``to_dict()``), stored under ``"verdicts"``.
      derived: quantities the run derived from its parameters and the machine (block sizes).
    """
    record = {
        "section": section,
        "metrics": _plain(metrics),
        "parameters": _plain(parameters),
        "verdicts": [_plain(_verdict_dict(v)) for v in verdicts],
        "environment": environment(),
        "runtime_seconds": round(time.time() - started, 2),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if derived:
        record["derived"] = _plain(derived)
    return atomic_write_text(Path(output_dir) / "metrics.json",
                             json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_metrics(output_dir) -> dict:
    """Reads a section's ``metrics.json`` written by :func:`write_metrics`."""
    return json.loads((Path(output_dir) / "metrics.json").read_text())


def _verdict_dict(verdict) -> dict:
    return verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict)


def _ci_text(low, high) -> str:
    def fmt(x):
        return "NaN" if x is None or not math.isfinite(float(x)) else f"{float(x):.3g}"

    return f"[{fmt(low)}, {fmt(high)}]"


def verdict_glue(verdicts) -> dict:
    """Glue names and values of each verdict: ``<key>_decision``, ``_estimate``, ``_ci`` (text
    ``"[low, high]"``), ``_ci_low``, ``_ci_high``, ``_reason``, ``_control`` and ``_control_value``,
    where ``<key>`` is the verdict's
    ``key`` (e.g. ``claim2_transfer``), or ``claim{n}`` for a verdict without one.

    Raises:
      ValueError: two verdicts with the same key (their names would collide).
    """
    out = {}
    for verdict in verdicts:
        v = _verdict_dict(verdict)
        prefix = v.get("key") or f"claim{int(v['claim'])}"
        if f"{prefix}_decision" in out:
            raise ValueError(f"two verdicts named {prefix!r} (claim {v['claim']}): expected one per key in a "
                             "report (their glue names would collide).")
        low, high = (list(v.get("ci") or (None, None)) + [None, None])[:2]
        nan = float("nan")
        out |= {f"{prefix}_decision": v["decision"],
                f"{prefix}_estimate": nan if v.get("estimate") is None else float(v["estimate"]),
                f"{prefix}_ci": _ci_text(low, high),
                f"{prefix}_ci_low": nan if low is None else float(low),
                f"{prefix}_ci_high": nan if high is None else float(high),
                f"{prefix}_reason": v.get("reason", ""),
                f"{prefix}_control": v.get("control", ""),
                f"{prefix}_control_value": nan if v.get("control_value") is None else float(v["control_value"])}
    return out


def report(p, *, metrics: dict, verdicts=(), glue: dict | None = None, output_dir=None) -> Path:
    """Writes the run's metrics.json and glues its numbers: the one call that ends a section notebook.

    Args:
      p: the run's ``sections.RunParameters`` (from ``sections.setup``): section, parameters, derived
        quantities and start time.
      metrics: headline numbers (JSON-serialisable after numpy conversion).
      verdicts: ``evidence.Verdict`` objects; stored under ``"verdicts"`` and glued as
        ``<key>_decision``, ``<key>_estimate``, ``<key>_ci`` … (:func:`verdict_glue`).
      glue: ``{name: value}`` for the prose's ``{glue:text}`name```; glued after the verdicts and
        :func:`run_glue` (this run's runtime and device, for the title cell).
      output_dir: where metrics.json goes (default ``p.OUTPUT_DIR``).

    Returns:
      The path of metrics.json.
    """
    verdicts = list(verdicts)
    names = verdict_glue(verdicts)  # checks the verdicts before anything is written
    clash = sorted(set(names) & set(glue or {}))
    if clash:
        raise ValueError(f"glue names {clash} are not allowed: they are the verdicts' own names.")
    path = write_metrics(output_dir if output_dir is not None else p.output_dir, section=p.section,
                         metrics=metrics, parameters=p.as_dict(), started=p.started, verdicts=verdicts,
                         derived=getattr(p, "derived", None))
    for name, value in (names | run_glue(time.time() - p.started) | dict(glue or {})).items():
        _glue(name, value)
    return path


def run_glue(seconds: float) -> dict:
    """``run_runtime`` (``"41 s"``, ``"3.2 min"``) and ``run_device`` (``"this CPU (2 cores)"``): what
    the title cell says this page cost, measured by the run that built it rather than typed."""
    text = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
    return {"run_runtime": text, "run_device": cost.current_device().name}
