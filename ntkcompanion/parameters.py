"""Declared parameters: type, bounds, allowed values and meaning, checked before any heavy work.

A section declares each of its parameters once, as a :class:`Param`; :func:`validate`
checks a notebook's values against the declarations and stops at the first bad one with
a message that names the parameter as the notebook spells it, the value and what is
allowed (``N_TRAIN = 0 is not allowed: expected an integer in [2, 60000].``).
:func:`check_names` stops a run whose namespace holds an UPPER_CASE name that no
declaration knows (a mistyped ``-p N_TRAINS 50`` would otherwise be silently ignored), and any
name that is a declared one in other letter case (papermill injects ``-p n_train 50`` as a new
variable ``n_train``, leaving ``N_TRAIN`` at its default).

Kinds:

* ``"int"``: an integer (``True``/``False`` are not integers; ``32.5`` is not rounded);
* ``"float"``: a real number (integers accepted and kept as integers; NaN and infinities rejected);
* ``"bool"``: ``True`` or ``False``;
* ``"str"``: a non-empty string;
* ``"choice"``: one of ``choices`` (compared with ``==``, bools never match integers);
* ``"class"``: a class index (integer ≥ 0) or a class name (string), resolved by a section check;
* ``"list"``: a list whose items each satisfy ``item`` (named ``NAME[i]`` in messages); ``distinct``
  forbids repeated items (two ``"fc"`` architectures would be one curve drawn twice, or a tie) and
  ``increasing`` asks for a strictly increasing grid (a "widest" or "largest budget" read off the
  last item is then the largest one).

Cross-parameter rules (``BATCH_SIZE ≤ N_TRAIN``) are plain functions ``check(p)`` of the
validated values, run after every single parameter passed; :func:`at_most` builds the
common one.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = ["KINDS", "Param", "ParameterError", "Values", "at_most", "check_names", "fail", "validate"]

KINDS = ("int", "float", "bool", "str", "choice", "class", "list")

# The names a notebook's parameters cell may define: constants spelled in capitals.
_UPPER_CASE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ParameterError(ValueError):
    """A parameter value (or name) a section does not accept."""


def fail(name: str, value, allowed: str):
    """Raises :class:`ParameterError` in the one message format: ``NAME = value is not allowed: expected ...``."""
    raise ParameterError(f"{name} = {value!r} is not allowed: expected {allowed}.")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclasses.dataclass(frozen=True)
class Param:
    """One declared parameter.

    Attributes:
      name: as the notebook spells it (``"N_TRAIN"``).
      kind: one of :data:`KINDS`.
      meaning: one line for the parameter table and the docs.
      unit: unit of a number, if any (``"pixels"``, ``"epochs"``).
      low, high: inclusive bounds of a number (``None``: unbounded on that side).
      low_open, high_open: make the bound exclusive (``EPS > 0`` is ``low=0, low_open=True``).
      choices: allowed values of a ``"choice"``.
      item: declaration of each item of a ``"list"`` (its ``name`` is not used).
      min_len, max_len: allowed lengths of a ``"list"`` (``min_len`` defaults to 1, or 0 with
        ``allow_empty``).
      allow_empty: a ``"list"`` may be ``[]``.
      distinct: no two items of a ``"list"`` are equal.
      increasing: the items of a ``"list"`` of numbers are strictly increasing (implies ``distinct``).
      allow_none: ``None`` is allowed besides the kind (``BATCH_SIZE = None`` for full batch).
      default: a smoke-sized example value (used by tests and by sections that show defaults).
      shown: listed in the run's parameter table and recorded in metrics.json (plumbing such
        as ``OUTPUT_DIR`` is not).
    """

    name: str
    kind: str
    meaning: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    item: Param | None = None
    min_len: int | None = None
    max_len: int | None = None
    allow_empty: bool = False
    distinct: bool = False
    increasing: bool = False
    allow_none: bool = False
    default: object = None
    shown: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind = {self.kind!r} is not allowed: expected one of {', '.join(KINDS)}.")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a 'choice' needs choices.")
        if self.kind == "list" and self.item is None:
            raise ValueError(f"{self.name}: a 'list' needs an item declaration.")
        if (self.distinct or self.increasing) and self.kind != "list":
            raise ValueError(f"{self.name}: only a 'list' can be distinct or increasing.")
        if self.increasing and self.item.kind not in ("int", "float"):
            raise ValueError(f"{self.name}: only a list of numbers can be increasing.")
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    # --- what is allowed, in words -------------------------------------------------------------
    def _range(self) -> str:
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            return f"in {'(' if self.low_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if self.high_open else ']'}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {_fmt(lo)}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {_fmt(hi)}"
        return ""

    def allowed(self) -> str:
        """What this declaration accepts, as the end of an error message."""
        if self.kind in ("int", "float"):
            text = ("an integer" if self.kind == "int" else "a number") + (" " + self._range()).rstrip()
        elif self.kind == "bool":
            text = "True or False"
        elif self.kind == "str":
            text = "a non-empty string"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "class":
            text = "a class index (an integer >= 0) or a class name"
        else:
            lo = self.min_len if self.min_len is not None else (0 if self.allow_empty else 1)
            size = (f"{lo} to {self.max_len} items" if self.max_len is not None
                    else "any number of items" if lo == 0 else f"at least {lo} item" + ("s" if lo > 1 else ""))
            if self.min_len is not None and self.min_len == self.max_len:
                size = f"exactly {self.min_len} item" + ("s" if self.min_len > 1 else "")
            order = "strictly increasing " if self.increasing else "distinct " if self.distinct else ""
            text = f"a {order}list of {size}, each {self.item.allowed()}"
        if self.unit and self.kind in ("int", "float"):
            text += f" ({self.unit})"
        return text + (", or None" if self.allow_none else "")

    # --- the check ------------------------------------------------------------------------------
    def _in_range(self, v) -> bool:
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return not (self.high is not None and (v >= self.high if self.high_open else v > self.high))

    def check(self, value, name: str | None = None):
        """``value`` normalised (numpy scalars as Python numbers, lists as ``list``); raises naming ``name``."""
        name = name or self.name
        if value is None and self.allow_none:
            return None
        kind = self.kind
        if kind == "int":
            if _is_int(value) and self._in_range(value):
                return int(value)
        elif kind == "float":
            if _is_real(value) and math.isfinite(value) and self._in_range(value):
                return int(value) if _is_int(value) else float(value)
        elif kind == "bool":
            if isinstance(value, bool):
                return value
        elif kind == "str":
            if isinstance(value, str) and value:
                return value
        elif kind == "choice":
            for c in self.choices:  # bools never stand for 0/1 choices, nor the reverse
                if type(value) is type(c) and value == c or (_is_int(value) and _is_int(c) and value == c):
                    return c
        elif kind == "class":
            if (_is_int(value) and value >= 0) or (isinstance(value, str) and value):
                return int(value) if _is_int(value) else value
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            lo = self.min_len if self.min_len is not None else (0 if self.allow_empty else 1)
            if lo <= len(value) and (self.max_len is None or len(value) <= self.max_len):
                items = [self.item.check(v, f"{name}[{i}]") for i, v in enumerate(value)]
                self._check_order(items, name, value)
                return items
        fail(name, value, self.allowed())

    def _check_order(self, items: list, name: str, value) -> None:
        """Repeated items of a ``distinct`` list, a step down (or a tie) in an ``increasing`` one."""
        if self.distinct or self.increasing:
            for i, v in enumerate(items):
                j = next((j for j in range(i) if type(items[j]) is type(v) and items[j] == v), None)
                if j is not None:
                    fail(name, value, f"distinct items ({name}[{j}] and {name}[{i}] are both {v!r})")
        if self.increasing:
            for i in range(1, len(items)):
                if not items[i - 1] < items[i]:
                    fail(name, value, f"a strictly increasing list ({name}[{i - 1}] = {items[i - 1]!r} is not "
                                      f"below {name}[{i}] = {items[i]!r}), e.g. {sorted(items)!r}")


class Values(Mapping):
    """Validated values with attribute access (``p.N_TRAIN``), handed to cross-parameter checks."""

    def __init__(self, values: Mapping):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter named {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("parameters are read-only once validated")

    def __getitem__(self, name):
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def check_names(declarations: Iterable[Param], namespace: Mapping, *, ignore: Iterable[str] = ()) -> None:
    """Stops on a name in ``namespace`` that looks like a parameter but is not one, naming the closest declared ones.

    A name looks like a parameter if it is spelled in capitals (``N_TRAINS``) or is a declared
    name in other letter case (``n_train``, ``N_train``); other names (imports, ``In``, ``_``)
    are the notebook's own.

    Raises:
      ParameterError: ``unknown name N_TRAINS: not a parameter of this section (did you mean N_TRAIN?) ...``.
    """
    declared = [d.name for d in declarations]
    known = set(declared) | set(ignore)
    by_upper = {n.upper(): n for n in declared}
    for name in sorted(namespace):
        if name in known or not isinstance(name, str):
            continue
        if name.upper() in by_upper:
            raise ParameterError(f"unknown name {name}: not a parameter of this section; names are case-sensitive "
                                 f"(did you mean {by_upper[name.upper()]}?).")
        if _UPPER_CASE.match(name):
            close = difflib.get_close_matches(name, declared, n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ParameterError(f"unknown name {name}: not a parameter of this section{hint}; the parameters are "
                                 f"{', '.join(declared)}.")


def at_most(name: str, other: str, *, offset: int = 0) -> Callable:
    """A cross-parameter check ``name <= other + offset`` (a figure count cannot exceed the images)."""

    def check(p):
        value, limit = p[name], p[other] + offset
        if value is not None and value > limit:
            bound = other if offset == 0 else f"{other} {'+' if offset > 0 else '-'} {abs(offset)}"
            fail(name, value, f"at most {bound} = {limit}")

    check.__name__ = f"{name}_at_most_{other}"
    return check


def validate(declarations: Sequence[Param], values: Mapping, checks: Iterable[Callable] = ()) -> Values:
    """Validates every declared parameter in order, then the cross-parameter checks; stops at the first error.

    Args:
      declarations: the section's :class:`Param` list; the order is the order of the checks.
      values: a mapping holding every declared name (a notebook's ``globals()``); other
        names are ignored here (see :func:`check_names`).
      checks: functions ``check(p)`` of the validated :class:`Values` that call :func:`fail`.

    Returns:
      :class:`Values` with every declared parameter, normalised.

    Raises:
      ParameterError: naming the parameter, the value and what is allowed.
    """
    out = {}
    for d in declarations:
        if d.name not in values:
            raise ParameterError(f"{d.name} is not set: the parameters cell must define it "
                                 f"({d.meaning}; {d.allowed()}).")
        out[d.name] = d.check(values[d.name])
    p = Values(out)
    for check in checks:
        check(p)
    return p
