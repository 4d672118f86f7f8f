"""The public surface: ``import ntkcompanion`` reaches every public module, and every name a notebook
uses from the package is in its module's ``__all__``.

A module is public when no part of its dotted name starts with ``_``. The notebooks are parsed
(``ast``, nothing is run): their ``import`` lines give the local names of package modules
(``ev`` for ``ntkcompanion.evidence``, ``fp`` for ``ntkcompanion.feature_pictures``), and every
attribute chain on such a name (``ntkc.sections.setup``, ``fp.study``) is followed through
submodules to the name it reads.
"""

import ast
import functools
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PACKAGE = "ntkcompanion"

# A fresh interpreter: which public modules are attributes after ``import ntkcompanion`` alone
# (in this process, other tests' imports would set the attributes already).
_REACH = f"""
import pkgutil, sys, types
import {PACKAGE}

def reached(name):
    obj, prefix = sys.modules["{PACKAGE}"], "{PACKAGE}"
    for part in name.split(".")[1:]:
        obj, prefix = getattr(obj, part, None), f"{{prefix}}.{{part}}"
        if not isinstance(obj, types.ModuleType) or obj.__name__ != prefix:
            return False
    return True

names = [m.name for m in pkgutil.walk_packages({PACKAGE}.__path__, "{PACKAGE}.")]
public = [n for n in names if not any(p.startswith("_") for p in n.split("."))]
print("\\n".join(f"{{n}} {{reached(n)}}" for n in sorted(public)))
"""


@functools.lru_cache(maxsize=None)
def public_modules_and_reach() -> dict:
    out = subprocess.run([sys.executable, "-c", _REACH], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return {name: flag == "True" for name, flag in (line.split() for line in out.stdout.splitlines())}


def test_import_ntkcompanion_reaches_every_public_module():
    reach = public_modules_and_reach()
    assert {"ntkcompanion.attacks", "ntkcompanion.evidence", "ntkcompanion.plotting"} <= set(reach)
    missing = sorted(name for name, ok in reach.items() if not ok)
    assert not missing, f"not reachable as attributes after `import ntkcompanion`: {missing}"


def test_every_public_module_declares_all():
    for name in public_modules_and_reach():
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
        undefined = [n for n in module.__all__ if not hasattr(module, n)]
        assert not undefined, f"{name}.__all__ names what it does not define: {undefined}"


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    # IPython magics and shell lines are not Python
    return ["\n".join(line for line in s.splitlines() if not line.lstrip().startswith(("%", "!"))) for s in sources]


def aliases(tree) -> dict:
    """``{local name: dotted module}`` for the package modules a notebook imports."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == PACKAGE:
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else PACKAGE
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"  # a submodule or a name: resolved below
    return out


def chains(tree, local: dict):
    """``(local name, [attr, attr, ...], line)`` of every attribute chain rooted at a package alias."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "_parent", None), ast.Attribute):
            parts, base = [], node
            while isinstance(base, ast.Attribute):
                parts.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in local:
                yield base.id, parts[::-1], node.lineno


def used_names(source: str) -> set:
    """``{(module, name)}``: the public names a notebook reads from package modules."""
    tree = ast.parse(source)
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent
    local = aliases(tree)
    out = set()
    for name, target in local.items():
        module_name, _, attr = target.rpartition(".")
        if target != PACKAGE and not _is_module(target):  # `from ntkcompanion.x import name`
            out.add((module_name, attr))
    for root, parts, _ in chains(tree, local):
        if not _is_module(local[root]):
            continue
        module = local[root]
        for part in parts:
            if _is_module(f"{module}.{part}"):
                module = f"{module}.{part}"
                continue
            out.add((module, part))
            break
    return out


@functools.lru_cache(maxsize=None)
def _is_module(name: str) -> bool:
    try:
        return isinstance(importlib.import_module(name), types.ModuleType)
    except ImportError:
        return False


def test_used_names_on_a_planted_notebook():
    source = ("import ntkcompanion as ntkc\nimport ntkcompanion.evidence as ev\n"
              "from ntkcompanion import feature_pictures as fp, plotting\n"
              "from ntkcompanion.losses import correct\n"
              "p = ntkc.sections.setup('x', globals())\nev.claims.claim3(1)\nfp.study.x\n"
              "fig = plotting.kernel_convergence(t)\nfig.savefig('a')\n")
    assert used_names(source) == {("ntkcompanion.sections", "setup"), ("ntkcompanion.evidence.claims", "claim3"),
                                  ("ntkcompanion.feature_pictures", "study"), ("ntkcompanion.losses", "correct"),
                                  ("ntkcompanion.plotting", "kernel_convergence")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_name_a_notebook_uses_is_in_all(path):
    used = used_names("\n".join(code_cells(path)))
    assert used, "the notebook uses nothing from the package?"
    missing = sorted(f"{m}.{n}" for m, n in used if n not in getattr(importlib.import_module(m), "__all__", ()))
    assert not missing, f"names the notebook uses that are not in their module's __all__: {missing}"
