"""Source notebooks are clean, parameterised, listed in the book, and covered by every profile."""

import ast
import json
from pathlib import Path

import pytest
import yaml

from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROFILES = ("smoke", "quick", "paper")


def load(path):
    return json.loads(path.read_text())


def toc_files():
    return set(load_script("build_book").toc_sections(ROOT / "_toc.yml"))


def parameters_cell(nb):
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def declared(nb) -> dict:
    tree = ast.parse("".join(parameters_cell(nb)["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


def test_there_are_notebooks():
    assert NOTEBOOKS, "no section notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb["metadata"], "stale papermill metadata"
    assert "colab" not in nb["metadata"], "Colab noise in metadata"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
        assert "papermill" not in cell.get("metadata", {}), f"cell {i} has papermill metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_structure(path):
    nb = load(path)
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# "), "title cell first"
    title = "".join(cells[0]["source"])
    assert "Runtime" in title, "the title cell states the expected runtime and hardware"
    assert cells[1] is parameters_cell(nb), "the parameters cell comes right after the title"
    colab = cells[2]
    assert "google.colab" in "".join(colab["source"]) and "remove-cell" in colab["metadata"]["tags"]
    assert "## References" in "".join(cells[-1]["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_commented_upper_case_literals(path):
    nb = load(path)
    source = "".join(parameters_cell(nb)["source"])
    tree = ast.parse(source)
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.unparse(node)
        name = node.targets[0].id
        assert name.isupper(), f"parameter {name} must be UPPER_CASE"
        ast.literal_eval(node.value)  # plain literals only: papermill injects after this cell
    for line in source.splitlines():
        assert "#" in line, f"parameter line without a comment (units or allowed values): {line!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_parameter(path):
    import papermill

    # papermill's own parser (used by -p and by the build) must agree with Python's.
    assert set(papermill.inspect_notebook(str(path))) == set(declared(load(path)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_listed_in_toc_and_every_profile(path):
    assert f"notebooks/{path.stem}" in toc_files(), f"{path.name} is not in _toc.yml"
    names = set(declared(load(path)))
    for profile in PROFILES:
        blocks = yaml.safe_load((ROOT / "params" / f"{profile}.yaml").read_text())
        assert path.stem in blocks, f"params/{profile}.yaml has no block for {path.stem}"
        unknown = set(blocks[path.stem]) - names
        assert not unknown, f"params/{profile}.yaml sets {unknown} that {path.name} does not declare"
