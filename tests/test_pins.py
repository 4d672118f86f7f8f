"""One set of pins: environment.yml and every Colab install cell agree with pyproject.toml, and the book's
Colab cells install the very commit that built the page (``scripts/build_book.py`` bakes it in)."""

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([<>=!~].*)?$")


def _split(requirement: str):
    match = REQUIREMENT.match(requirement)
    assert match, f"unparsable requirement {requirement!r}"
    name, _, spec = match.groups()
    return name.lower().replace("_", "-"), (spec or "").replace(" ", "")


def pyproject_pins() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(_split(r) for r in requirements)


def test_core_stack_is_pinned_exactly():
    pins = pyproject_pins()
    for name in ("jax", "jaxlib", "neural-tangents", "optax"):
        assert pins[name].startswith("=="), f"{name} must be pinned exactly, found {pins[name]!r}"
    assert pins["jupyter-book"] == ">=1.0.4,<2"


def test_environment_yml_agrees_with_pyproject():
    pins = pyproject_pins()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    checked = 0
    for requirement in pip_section:
        if requirement.startswith("-e"):
            continue
        name, spec = _split(requirement)
        assert pins.get(name) == spec, f"environment.yml pins {name}{spec}, pyproject.toml {pins.get(name)!r}"
        checked += 1
    assert checked >= 4


def colab_cells():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        colab = [c for c in cells if "google.colab" in "".join(c["source"])]
        assert len(colab) == 1, f"{path.name} needs exactly one Colab install cell"
        yield path.name, "".join(colab[0]["source"])


def test_colab_install_cells_agree_with_pyproject():
    pins = pyproject_pins()
    for name, source in colab_cells():
        requirements = re.findall(r'"([A-Za-z0-9_.\[\]-]+==[^"]+)"', source)
        assert requirements, f"{name}: the Colab cell pins nothing"
        for requirement in requirements:
            package, spec = _split(requirement)
            assert pins.get(package) == spec, f"{name}: Colab pins {package}{spec}, pyproject {pins.get(package)!r}"
        repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
        assert f'"{repository}"' in source, f"{name}: the Colab cell must install this repository"


def test_colab_install_cells_are_one_cell_but_for_the_section_key():
    cells = {name.removesuffix(".ipynb"): source for name, source in colab_cells()}
    assert len(cells) == 8
    generic = {source.replace(f'["{stem}"]', '["<section>"]') for stem, source in cells.items()}
    assert len(generic) == 1, "the Colab install cells differ beyond the section key"
    assert 'yaml.safe_load(open(f"{clone}/params/paper.yaml"))["<section>"]' in generic.pop()


def _build_book():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_staged_notebook_pins_the_builds_commit(tmp_path):
    """The build's staging (no execution) bakes ``git rev-parse HEAD`` into the Colab cell; the source keeps None."""
    build_book = _build_book()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    commit, _ = build_book.build_commit(ROOT)
    assert commit == head.stdout.strip() and re.fullmatch(r"[0-9a-f]{40}", commit)
    source = ROOT / "notebooks" / "03_transfer.ipynb"
    before = source.read_text()
    staged = build_book.stage_notebook(source, tmp_path / "notebooks" / "03_transfer.ipynb", commit)
    assert source.read_text() == before
    cells = json.loads(staged.read_text())["cells"]
    colab = "".join(next(c for c in cells if "google.colab" in "".join(c["source"]))["source"])
    assert re.findall(r"^commit = (.*)$", colab, re.M) == [f'"{commit}"']
    assert re.findall(r"^commit = (.*)$", dict(colab_cells())["03_transfer.ipynb"], re.M) == ["None"]
    # Every other cell is staged unchanged.
    original = json.loads(before)["cells"]
    assert [c for c in cells if "google.colab" not in "".join(c["source"])] == \
        [c for c in original if "google.colab" not in "".join(c["source"])]


def test_staging_refuses_a_notebook_without_the_placeholder(tmp_path):
    build_book = _build_book()
    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": [
        'import sys\n', 'if "google.colab" in sys.modules:\n', '    pass']}]}))
    with pytest.raises(build_book.BuildError, match="commit = None"):
        build_book.stage_notebook(notebook, tmp_path / "out.ipynb", "0" * 40)


class _Colab:
    """Runs a Colab install cell with git and pip replaced: a clone at ``head``, pip copying the COMMIT file."""

    def __init__(self, tmp_path, head):
        self.root, self.head, self.commands = tmp_path, head, []
        self.site = tmp_path / "site-packages" / "ntkcompanion"

    def run(self, command, check, capture_output=False, text=False):
        self.commands.append(command)
        if command[0] == "git" and command[3:] == ["rev-parse", "HEAD"]:
            return subprocess.CompletedProcess(command, 0, stdout=self.head + "\n")
        if command[0] == "git" and command[3] == "init":
            (self.root / "ntkcompanion-repo" / "ntkcompanion" / "_data").mkdir(parents=True)
            (self.root / "ntkcompanion-repo" / "params").mkdir()
            (self.root / "ntkcompanion-repo" / "params" / "paper.yaml").write_text(
                (ROOT / "params" / "paper.yaml").read_text())
        if "pip" in command:  # installs the clone's package, COMMIT file included
            (self.site / "_data").mkdir(parents=True, exist_ok=True)
            shutil.copy(self.root / "ntkcompanion-repo" / "ntkcompanion" / "_data" / "COMMIT", self.site / "_data")
        return subprocess.CompletedProcess(command, 0, stdout="")

    def find_spec(self, name):
        assert name == "ntkcompanion"
        return types.SimpleNamespace(origin=str(self.site / "__init__.py"))


def _run_cell(source, colab, monkeypatch, commit):
    monkeypatch.chdir(colab.root)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", colab.run)
    monkeypatch.setattr(importlib.util, "find_spec", colab.find_spec)
    source = source.replace("commit = None", f"commit = {commit!r}")
    namespace = {}
    exec(source, namespace)
    return namespace


@pytest.mark.parametrize("stem", ["01_ntk_primer", "08_adversarial_training"])
def test_pinned_colab_cell_installs_that_commit_and_loads_its_paper_profile(stem, tmp_path, monkeypatch):
    commit = "a" * 40
    colab = _Colab(tmp_path, commit)
    namespace = _run_cell(dict(colab_cells())[f"{stem}.ipynb"], colab, monkeypatch, commit)
    paper = yaml.safe_load((ROOT / "params" / "paper.yaml").read_text())
    assert {k: namespace[k] for k in paper[stem]} == paper[stem]
    assert ["git", "-C", "ntkcompanion-repo", "fetch", "-q", "--depth", "1",
            "https://github.com/ntkcompanion/ntkcompanion", commit] in colab.commands
    assert any("jax[cuda12]==0.5.3" in c for c in colab.commands)


def test_colab_cell_refuses_a_clone_at_another_commit(tmp_path, monkeypatch):
    colab = _Colab(tmp_path, "b" * 40)
    (tmp_path / "ntkcompanion-repo").mkdir()  # an earlier session's clone
    with pytest.raises(RuntimeError, match=f"holds commit {'b' * 40}, but this page was built from {'a' * 40}"):
        _run_cell(dict(colab_cells())["01_ntk_primer.ipynb"], colab, monkeypatch, "a" * 40)
    assert not any("pip" in c for c in colab.commands), "nothing is installed from a stale clone"


def test_colab_cell_refuses_an_install_at_another_commit(tmp_path, monkeypatch):
    """The check after pip: the package Python imports must carry the clone's commit."""
    colab = _Colab(tmp_path, "a" * 40)
    (colab.site / "_data").mkdir(parents=True)
    (colab.site / "_data" / "COMMIT").write_text("c" * 40)
    colab.run = functools.partial(lambda run, command, **kw: run(command, **kw) if "pip" not in command
                                  else subprocess.CompletedProcess(command, 0), colab.run)
    with pytest.raises(RuntimeError, match="Python does not import ntkcompanion"):
        _run_cell(dict(colab_cells())["01_ntk_primer.ipynb"], colab, monkeypatch, "a" * 40)


def test_unpinned_colab_cell_installs_the_default_branch_and_says_so(tmp_path, monkeypatch, capsys):
    colab = _Colab(tmp_path, "d" * 40)
    _run_cell(dict(colab_cells())["02_training_free_attacks.ipynb"], colab, monkeypatch, None)
    assert ["git", "-C", "ntkcompanion-repo", "fetch", "-q", "--depth", "1",
            "https://github.com/ntkcompanion/ntkcompanion", "HEAD"] in colab.commands
    assert f"ntkcompanion {'d' * 40}: the default branch" in capsys.readouterr().out
