"""Parameter checks that fail fast, naming the parameter, the value and what is allowed.

Every public entry point and every notebook's parameter cell goes through these
before any heavy work, so a typo costs a second, not a ten-minute kernel build.
The ``name`` argument is the name the user typed (``"N_TRAIN"`` in a notebook,
``"n_train"`` in Python), so the message points at the right place. Notebooks declare
their parameters instead (``ntkcompanion.parameters``); both raise the same message
through :func:`ntkcompanion.parameters.fail`.
"""

from collections.abc import Iterable, Sequence
import numbers

from ntkcompanion.parameters import fail as _fail

__all__ = [
    "one_of",
    "positive_int",
    "nonnegative_int",
    "nonnegative_float",
    "positive_float",
    "float_in_range",
    "nonempty_list",
]


def one_of(name: str, value, allowed: Iterable):
    """Returns ``value`` if it is one of ``allowed``."""
    allowed = tuple(allowed)
    if isinstance(value, str) or not isinstance(value, Iterable):
        if value in allowed:
            return value
    _fail(name, value, "one of " + ", ".join(repr(a) for a in allowed))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value) -> int:
    """Returns ``value`` if it is an integer ≥ 1."""
    if not (_is_int(value) and value >= 1):
        _fail(name, value, "an integer >= 1")
    return int(value)


def nonnegative_int(name: str, value) -> int:
    """Returns ``value`` if it is an integer ≥ 0."""
    if not (_is_int(value) and value >= 0):
        _fail(name, value, "an integer >= 0")
    return int(value)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def nonnegative_float(name: str, value) -> float:
    """Returns ``value`` as a float if it is a real number ≥ 0."""
    if not (_is_real(value) and value >= 0):
        _fail(name, value, "a number >= 0")
    return float(value)


def positive_float(name: str, value) -> float:
    """Returns ``value`` as a float if it is a real number > 0."""
    if not (_is_real(value) and value > 0):
        _fail(name, value, "a number > 0")
    return float(value)


def float_in_range(name: str, value, low: float, high: float) -> float:
    """Returns ``value`` as a float if ``low <= value <= high``."""
    if not (_is_real(value) and low <= value <= high):
        _fail(name, value, f"a number in [{low}, {high}]")
    return float(value)


def nonempty_list(name: str, value, item_check=None) -> list:
    """Returns ``value`` as a list if it is a non-empty sequence; checks each item.

    ``item_check(item_name, item)`` is applied to every item, with the item named
    ``NAME[i]`` in messages.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
        _fail(name, value, "a non-empty list")
    if item_check is not None:
        return [item_check(f"{name}[{i}]", item) for i, item in enumerate(value)]
    return list(value)
