"""Every figure a section page shows has a MyST-NB caption: cell metadata
``{"mystnb": {"figure": {"name": ..., "caption": ...}}}``, with a label unique in the book.

A code cell makes a figure when it calls a figure function of ``ntkcompanion.plotting``
(every public name there returns a ``matplotlib.figure.Figure`` except ``NOT_FIGURES``) or
assigns a name ``fig``. The notebooks are parsed with ``ast``, not run.
"""

import ast
import json
from pathlib import Path

import pytest

from ntkcompanion import plotting

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NOT_FIGURES = {"PALETTE", "set_style", "gradient_roughness"}  # a palette, a style, a statistic
FIGURE_FUNCTIONS = set(plotting.__all__) - NOT_FIGURES


def source(cell) -> str:
    text = "".join(cell["source"])
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))


def makes_figure(code: str) -> bool:
    """Whether a cell's code calls a plotting figure function or assigns ``fig``."""
    for node in ast.walk(ast.parse(code)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "plotting"
                and node.func.attr in FIGURE_FUNCTIONS):
            return True
        if isinstance(node, ast.Name) and node.id == "fig" and isinstance(node.ctx, ast.Store):
            return True
    return False


def figure_cells(path: Path):
    cells = json.loads(path.read_text())["cells"]
    return [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code" and makes_figure(source(c))]


def caption(cell) -> dict:
    return cell.get("metadata", {}).get("mystnb", {}).get("figure", {})


def test_makes_figure_on_planted_cells():
    assert makes_figure("fig = plotting.kernel_convergence(sweep)")
    assert makes_figure("fig, curve = plotting.learned_early_intervals(ts, f, ks, top)")
    assert makes_figure("plotting.verdict_forest(verdicts)")
    assert makes_figure("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()")
    assert not makes_figure("plotting.set_style()")
    assert not makes_figure("r = plotting.gradient_roughness(g)\nfigure_count = 2")
    assert FIGURE_FUNCTIONS and FIGURE_FUNCTIONS <= set(plotting.__all__)


def test_the_book_has_figures():
    assert sum(len(figure_cells(p)) for p in NOTEBOOKS) >= len(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_cell_has_a_caption(path):
    missing = [i for i, c in figure_cells(path)
               if not (str(caption(c).get("name", "")).strip() and str(caption(c).get("caption", "")).strip())]
    assert not missing, (f"figure cells without mystnb figure name and caption metadata: {missing} "
                         '(add {"mystnb": {"figure": {"name": "fig-...", "caption": "..."}}})')


def test_figure_names_are_unique_in_the_book():
    names = [caption(c)["name"] for p in NOTEBOOKS for _, c in figure_cells(p) if caption(c).get("name")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
