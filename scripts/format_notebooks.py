#!/usr/bin/env python
"""Formats the code a section page shows to the width of the book's code column.

    python scripts/format_notebooks.py             # reformat notebooks/*.ipynb in place (black)
    python scripts/format_notebooks.py --check     # list the shown code lines that are too wide; exit 1 if any
    python scripts/format_notebooks.py notebooks/02_training_free_attacks.ipynb

Only cells the rendered page shows are formatted and checked: code cells not tagged
``remove-cell``, ``remove-input``, ``parameters`` or ``injected-parameters``, and not the Colab
install cell (the book build removes those from the page; see ``scripts/build_book.py``).
black wraps code but not comments or long strings; whatever it cannot fit is listed, to be
shortened by hand.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Characters of monospace text that fit on one line of a code cell's input block, measured in
# headless Chromium on a rendered section page (sphinx-book-theme with its page-contents sidebar,
# window 1280 px wide; tests/test_browser.py re-measures it): the block's content box is 640 px
# (672 px less 2 x 16 px padding) and the theme's 14 px monospace font (DejaVu Sans Mono there;
# Menlo, Source Code Pro and SF Mono have the same 0.6 em advance) takes 8.43 px a character, so
# 75.9 characters fit. Wider windows give more room.
CODE_COLUMN_CHARS = 75

HIDDEN_TAGS = frozenset({"remove-cell", "remove-input", "parameters", "injected-parameters"})
COLAB_MARKER = "google.colab"


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def shown_on_page(cell: dict) -> bool:
    """Whether a cell's code appears on the rendered page (possibly folded, as ``hide-input`` does)."""
    if cell.get("cell_type") != "code":
        return False
    tags = set(cell.get("metadata", {}).get("tags", []))
    return not (tags & HIDDEN_TAGS) and COLAB_MARKER not in source_text(cell)


def too_wide(notebook: dict, limit: int = CODE_COLUMN_CHARS) -> list[tuple[int, int, str]]:
    """``[(cell index, line number from 1, line)]`` for every shown code line longer than ``limit``."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if shown_on_page(cell):
            for number, line in enumerate(source_text(cell).splitlines(), 1):
                if len(line) > limit:
                    found.append((index, number, line))
    return found


def format_source(source: str, limit: int = CODE_COLUMN_CHARS) -> str:
    """One cell's code formatted by black at line length ``limit`` (IPython magics are kept)."""
    import black

    try:
        return black.format_cell(source, fast=False, mode=black.Mode(line_length=limit))
    except black.NothingChanged:
        return source


def format_notebook(path: Path, limit: int = CODE_COLUMN_CHARS) -> bool:
    """Reformats the shown cells of one notebook in place; returns whether anything changed."""
    notebook = json.loads(path.read_text())
    changed = False
    for cell in notebook["cells"]:
        if not shown_on_page(cell):
            continue
        before = source_text(cell)
        after = format_source(before, limit)
        if after != before:
            cell["source"] = after.splitlines(keepends=True)
            changed = True
    if changed:
        # nbformat's own layout (indent 1, non-ASCII kept), so the diff shows only the code.
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="only list lines wider than the column")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    wide = 0
    for path in paths:
        if not args.check and format_notebook(path):
            print(f"formatted {path.name}")
        for index, number, line in too_wide(json.loads(path.read_text())):
            wide += 1
            print(f"{path.name}: cell {index} line {number}: {len(line)} > {CODE_COLUMN_CHARS} characters: "
                  f"{line.strip()[:60]}...")
    if wide:
        print(f"{wide} shown code lines are wider than the book's code column ({CODE_COLUMN_CHARS} characters)"
              + ("; black cannot wrap them (comments, strings): shorten them by hand." if not args.check else "."))
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
