"""The package's import structure: module-level imports only, and no circle among them.

The graph is read from the source with ``ast`` (nothing is imported): a node per module of
``ntkcompanion``, an edge ``a -> b`` when ``a`` imports ``b`` at module level. An import
written inside a function is how a circle is usually hidden, so none may name a module of the
package; the only imports allowed inside functions are the optional third-party libraries
listed in ``LAZY_THIRD_PARTY`` (heavy, and needed by a few functions only).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ntkcompanion"
NAME = "ntkcompanion"

# Third-party libraries a function may import for itself: tables (pandas), downloads (pooch,
# requests) and the notebook front end (IPython, myst_nb), none needed to import the package.
LAZY_THIRD_PARTY = {"pandas", "pooch", "requests", "IPython", "myst_nb"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    """``{dotted name: (path, ast tree)}`` of every module of the package."""
    return {module_name(p): (p, ast.parse(p.read_text(), filename=str(p))) for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def imported(node, here: str) -> list[str]:
    """The modules an ``import`` statement names, resolved against ``here`` (a module's dotted name).

    ``from a import b`` names ``a.b`` when that is a module of the package, else ``a`` itself.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the package that contains ``here``
        package = here if MODULES.get(here, (Path(),))[0].name == "__init__.py" else here.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def top_level_imports(tree):
    """Import statements that run when the module is imported (outside any function or lambda)."""
    out, stack = [], list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def function_imports(tree):
    """Import statements inside a function body (run only when the function is called)."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += [n for stmt in fn.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return sorted(set(out), key=lambda n: n.lineno)


def graph() -> dict:
    """``{module: set of package modules it imports at module level}``."""
    edges = {}
    for name, (_, tree) in MODULES.items():
        targets = {t for node in top_level_imports(tree) for t in imported(node, name)}
        edges[name] = {t for t in targets if t in MODULES and t != name}
    return edges


def find_cycle(edges: dict):
    """One cycle of the directed graph as a list of nodes (first = last), or ``None``."""
    colour = dict.fromkeys(edges, 0)  # 0 unseen, 1 on the current path, 2 done
    path = []

    def visit(u):
        colour[u] = 1
        path.append(u)
        for v in sorted(edges[u]):
            if colour[v] == 1:
                return path[path.index(v):] + [v]
            if colour[v] == 0 and (found := visit(v)):
                return found
        colour[u] = 2
        path.pop()
        return None

    for u in sorted(edges):
        if colour[u] == 0 and (found := visit(u)):
            return found
    return None


def test_the_reader_sees_the_package():
    # a planted check of the reader itself: these edges exist in any version of the package
    edges = graph()
    assert {"ntkcompanion.attacks", "ntkcompanion.losses", "ntkcompanion.evidence"} <= set(edges)
    assert "ntkcompanion.losses" in edges["ntkcompanion.attacks"]
    assert "ntkcompanion.evidence._stats" in edges["ntkcompanion.evidence._vocabulary"]


def test_find_cycle_on_planted_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"b2"}, "b2": {"b"}}) == ["b", "b2", "b"]


def test_function_imports_on_a_planted_module():
    tree = ast.parse("import numpy\ndef f():\n    import pandas as pd\n    from ntkcompanion import cost\n")
    assert [ast.unparse(n) for n in top_level_imports(tree)] == ["import numpy"]
    assert [ast.unparse(n) for n in function_imports(tree)] == ["import pandas as pd",
                                                                "from ntkcompanion import cost"]


def test_module_level_imports_have_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_imports_except_optional_libraries(name):
    path, tree = MODULES[name]
    bad = []
    for node in function_imports(tree):
        roots = {t.split(".")[0] for t in imported(node, name)}
        if not roots <= LAZY_THIRD_PARTY:
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, ("imports inside functions (move them to the top of the module; a package module "
                     "imported inside a function hides a circle):\n" + "\n".join(bad))
