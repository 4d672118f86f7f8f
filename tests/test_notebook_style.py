"""The code a section page shows fits the book's code column (scripts/format_notebooks.py)."""

import json
from pathlib import Path

import pytest

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


style = load_script("format_notebooks")
LIMIT = style.CODE_COLUMN_CHARS


def code(source, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source, "outputs": []}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_shown_code_fits_the_column(path):
    wide = style.too_wide(json.loads(path.read_text()))
    assert not wide, (f"{len(wide)} shown code lines are wider than {LIMIT} characters "
                      f"(run scripts/format_notebooks.py, then shorten what it lists):\n"
                      + "\n".join(f"  cell {i} line {n}: {line}" for i, n, line in wide[:10]))


def test_only_lines_the_page_shows_are_checked():
    long = "x = " + "1 + " * LIMIT + "1"
    notebook = {"cells": [
        code(long),                                   # shown: caught
        code(long, tags=["hide-input"]),              # folded but one click away: caught
        code(long, tags=["parameters"]),              # removed from the page by the build
        code(long, tags=["remove-cell"]),
        code(long, tags=["remove-input"]),
        code('import sys\nif "google.colab" in sys.modules:\n    ' + long),  # the Colab install cell
        {"cell_type": "markdown", "metadata": {}, "source": long},
        code("y = 1\n" + "z" * LIMIT),                 # exactly the limit fits
    ]}
    assert [(i, n) for i, n, _ in style.too_wide(notebook)] == [(0, 1), (1, 1)]


def test_formatter_wraps_code_to_the_column_and_keeps_magics():
    source = ("%matplotlib inline\nresult = attacks.pgd(kernel_fn, task.x_test, task.y_test, "
              "eps=EPS, steps=ATTACK_STEPS, step_size=ATTACK_STEP_SIZE, norm='linf')")
    formatted = style.format_source(source, 40)
    assert formatted.startswith("%matplotlib inline\n")
    assert max(len(line) for line in formatted.splitlines()) <= 40
    assert style.format_source(formatted, 40) == formatted  # already formatted: unchanged
    compile(formatted.split("\n", 1)[1], "<cell>", "exec")


def test_format_notebook_rewrites_only_shown_cells(tmp_path):
    long = "value = function_name(first_argument, second_argument, third_argument, fourth)"
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [code(long), code(long, tags=["parameters"])], "metadata": {},
                                "nbformat": 4, "nbformat_minor": 5}))
    assert style.format_notebook(path, limit=40)
    cells = json.loads(path.read_text())["cells"]
    assert max(len(line) for line in "".join(cells[0]["source"]).splitlines()) <= 40
    assert cells[1]["source"] == long
    assert not style.format_notebook(path, limit=40)
