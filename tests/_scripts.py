"""The repository's scripts (``scripts/*.py``, not a package) loaded as modules for the tests."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def load_script(name: str):
    """``scripts/<name>.py`` as a module, executed once per test session."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
