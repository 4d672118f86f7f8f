"""The book's sections: each one's declared parameters, checks and memory model, and :func:`setup`.

A section notebook calls, right after its parameters cell::

    p = ntkc.sections.setup("02_training_free_attacks", globals())

which, before any heavy work,

1. stops on an UPPER_CASE name the section does not declare (a mistyped ``-p N_TRAINS 50``),
   naming the closest declared ones;
2. validates every parameter (type, bounds, allowed values) and the rules between them,
   stopping at the first error with the parameter, the value and what is allowed, and checks
   that ``OUTPUT_DIR`` can be written (a folder, or creatable; nothing is created yet);
3. estimates the peak memory of the section's largest allocation and stops if it exceeds
   the memory available, naming the parameters to lower (override:
   ``NTKCOMPANION_SKIP_MEMORY_CHECK=1``);
4. shows the run's parameters once, as a table (name, value, meaning);
5. prints the cost model's estimate of this run on the current device (``ntkcompanion.cost``)
   and, in a notebook, glues the paper profile's estimates for the title cell
   (``paper_runtime_t4``, ``paper_runtime_h100``, ``paper_peak_memory``, ``paper_colab_note``);
6. starts the clock, and returns a :class:`RunParameters` (``p.N_TRAIN``, ``p.as_dict()``).

Each section module (``s01_ntk_primer`` … ``s08_adversarial_training``) defines
``PARAMETERS`` (a list of :class:`~ntkcompanion.parameters.Param`), ``CHECKS``
(cross-parameter rules) and optionally ``derive(p, available)`` (the notebook's call options);
its work and memory are modelled in ``ntkcompanion.cost``, which also derives the block sizes
that follow from the machine's memory.
"""

from __future__ import annotations

import html
import importlib
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from ntkcompanion import cost, parameters, record
from ntkcompanion.sections import _common
# Every section module, so that ``import ntkcompanion`` reaches them (:func:`module` looks one up by name).
from ntkcompanion.sections import (s01_ntk_primer, s02_training_free_attacks, s03_transfer,  # noqa: F401
                                   s04_eigen_features, s05_learned_early, s06_consistency, s07_seeing_features,
                                   s08_adversarial_training)

__all__ = ["PAPER_PROFILE", "SECTIONS", "RunParameters", "declarations", "defaults", "module", "paper_values",
           "setup"]

SECTIONS = ("01_ntk_primer", "02_training_free_attacks", "03_transfer", "04_eigen_features",
            "05_learned_early", "06_consistency", "07_seeing_features", "08_adversarial_training")
#: The paper profile, next to the package in a source checkout.
PAPER_PROFILE = Path(__file__).resolve().parents[2] / "params" / "paper.yaml"


def module(section: str):
    """The module that declares ``section`` (``"04_eigen_features"`` → ``sections.s04_eigen_features``)."""
    if section not in SECTIONS:
        raise ValueError(f"section = {section!r} is not allowed: expected one of {', '.join(SECTIONS)}.")
    return importlib.import_module(f"ntkcompanion.sections.s{section}")


def declarations(section: str) -> list:
    """The section's :class:`~ntkcompanion.parameters.Param` list, in checking order."""
    return list(module(section).PARAMETERS)


def defaults(section: str) -> dict:
    """Smoke-sized example values of every declared parameter (they pass every check)."""
    return {d.name: d.default for d in declarations(section)}


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


class RunParameters(parameters.Values):
    """A section run's validated parameters (``p.N_TRAIN``), derived quantities (``p.ntk_batch_size``) and clock.

    Attributes:
      section: the notebook's stem.
      started: ``time.time()`` when :func:`setup` finished.
      derived: quantities derived from the parameters and the machine (lower-case names).
    """

    def __init__(self, section: str, values: Mapping, decls, derived: Mapping | None = None):
        super().__init__(values)
        object.__setattr__(self, "section", section)
        object.__setattr__(self, "declarations", tuple(decls))
        object.__setattr__(self, "derived", dict(derived or {}))
        object.__setattr__(self, "started", time.time())

    def __getattr__(self, name):
        values, derived = self.__dict__["_values"], self.__dict__["derived"]
        if name in values:
            return values[name]
        if name in derived:
            return derived[name]
        raise AttributeError(f"{self.__dict__['section']} has no parameter named {name!r}")

    @property
    def output_dir(self):
        """``OUTPUT_DIR``: where the run's metrics.json goes."""
        return self._values.get("OUTPUT_DIR")

    def elapsed(self) -> float:
        """Seconds since :func:`setup` returned."""
        return time.time() - self.started

    def as_dict(self) -> dict:
        """The parameters recorded with the run (every declared one except plumbing such as ``OUTPUT_DIR``)."""
        return {d.name: self._values[d.name] for d in self.declarations if d.shown}

    def rows(self) -> list[tuple[str, str, str]]:
        """``(name, value, meaning)`` of every shown parameter."""
        return [(d.name, _show(self._values[d.name]), d.meaning + (f" [{d.unit}]" if d.unit else ""))
                for d in self.declarations if d.shown]

    def __repr__(self) -> str:
        rows = self.rows()
        wn, wv = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
        return "\n".join(f"{n:<{wn}}  {v:<{wv}}  {m}" for n, v, m in rows)

    def _repr_markdown_(self) -> str:
        cells = [f"| {n} | `{v}` | {m} |" for n, v, m in self.rows()]
        return "\n".join(["| parameter | value | meaning |", "|---|---|---|", *cells])

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td><code>{html.escape(n)}</code></td><td><code>{html.escape(v)}</code></td>"
                       f"<td>{html.escape(m)}</td></tr>" for n, v, m in self.rows())
        return ('<table class="ntkc-parameters"><thead><tr><th>parameter</th><th>value</th><th>meaning</th>'
                f"</tr></thead><tbody>{body}</tbody></table>")


def _display(p: RunParameters) -> None:
    """Shows the table once: a rich display output in Jupyter, plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        display(p)
    else:
        print(repr(p))


def _in_kernel() -> bool:
    """Running inside a Jupyter kernel (where glue and rich display work)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def paper_values(section: str, path: Path | None = None):
    """The section's paper-profile parameters: its block of ``params/paper.yaml`` (or ``path``) over its defaults.

    Raises:
      FileNotFoundError: the profile is not next to the package (an installed wheel carries no profiles).
      parameters.ParameterError: the block holds a value the section does not accept.
    """
    path = Path(path) if path is not None else PAPER_PROFILE
    block = (yaml.safe_load(path.read_text()) or {}).get(section) or {}
    mod = module(section)
    return parameters.validate(mod.PARAMETERS, defaults(section) | block, getattr(mod, "CHECKS", ()))


def glue_paper_estimates(section: str) -> dict:
    """Glues the paper profile's cost estimates (``cost.paper_glue``) for the section's title cell."""
    try:
        values = cost.paper_glue(section, paper_values(section))
    except FileNotFoundError:
        unknown = "unknown (params/paper.yaml not found)"
        values = {"paper_runtime_t4": unknown, "paper_runtime_h100": unknown, "paper_peak_memory": unknown,
                  "paper_colab_note": ""}
    for name, value in values.items():
        record.glue(name, value)
    return values


def setup(section: str, namespace: Mapping, *, display: bool = True, available: int | None = None,
          glue: bool | None = None) -> RunParameters:
    """Checks a section's parameters and resources, shows them, starts the clock.

    Args:
      section: the notebook's stem, e.g. ``"02_training_free_attacks"``.
      namespace: the notebook's ``globals()`` after its parameters cell.
      display: show the parameter table.
      available: bytes of memory to plan for (default: what the machine has available now).
      glue: glue the paper profile's estimates (default: when running in a Jupyter kernel).

    Returns:
      :class:`RunParameters`.

    Raises:
      parameters.ParameterError: an undeclared name or a value that is not allowed.
      cost.InsufficientMemoryError: the run would not fit in memory.
    """
    mod = module(section)
    parameters.check_names(mod.PARAMETERS, namespace)
    values = parameters.validate(mod.PARAMETERS, namespace, getattr(mod, "CHECKS", ()))
    if "OUTPUT_DIR" in values:
        _common.check_output_dir(values)
    budget = cost.available_memory_bytes() if available is None else available
    derived = (mod.derive(values, budget) if hasattr(mod, "derive") else {}) | cost.derive(section, values, budget)
    p = RunParameters(section, values, mod.PARAMETERS, derived)
    cost.check_resources(section, p, device_available=available, host_available=available)
    if display:
        _display(p)
        print(cost.run_line(section, p))
    if glue if glue is not None else _in_kernel():
        glue_paper_estimates(section)
    object.__setattr__(p, "started", time.time())
    return p
