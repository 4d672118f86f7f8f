"""One set of pins: environment.yml and the Colab install (scripts/colab_install.py) agree with pyproject.toml,
and the book's Colab cells install the very commit that built the page (``scripts/build_book.py`` bakes it in)
through that commit's scripts/colab_install.py, which refuses a stale clone and checks what Python imports."""

import ast
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

from _scripts import load_script

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


colab_install = load_script("colab_install")
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_colab_install_pins_agree_with_pyproject():
    """The CUDA jax is pinned in scripts/colab_install.py, the one place the Colab install names a version."""
    pins = pyproject_pins()
    package, spec = _split(colab_install.JAX_REQUIREMENT)
    assert package == "jax" and "[cuda12]" in colab_install.JAX_REQUIREMENT
    assert pins.get(package) == spec, f"colab_install pins {package}{spec}, pyproject {pins.get(package)!r}"
    assert colab_install.REPOSITORY == REPOSITORY
    for name, source in colab_cells():
        assert not re.findall(r'"[A-Za-z0-9_.\[\]-]+==[^"]+"', source), f"{name}: a pin belongs in the script"
        assert f'"{REPOSITORY}"' in source, f"{name}: the Colab cell must install this repository"


def test_colab_install_cells_are_one_cell_but_for_the_section_key():
    cells = {name.removesuffix(".ipynb"): source for name, source in colab_cells()}
    assert len(cells) == 8
    generic = {source.replace(f'"{stem}"', '"<section>"') for stem, source in cells.items()}
    assert len(generic) == 1, "the Colab install cells differ beyond the section key"
    cell = generic.pop()
    assert 'colab_install.install(clone, commit, "<section>", repository=repo)' in cell
    assert not re.search(r"raise \w*Error", cell), "validation belongs in scripts/colab_install.py"


def test_staged_notebook_pins_the_builds_commit(tmp_path):
    """The build's staging (no execution) bakes ``git rev-parse HEAD`` into the Colab cell; the source keeps None."""
    build_book = load_script("build_book")
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
    build_book = load_script("build_book")
    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": [
        'import sys\n', 'if "google.colab" in sys.modules:\n', '    pass']}]}))
    with pytest.raises(build_book.BuildError, match="commit = None"):
        build_book.stage_notebook(notebook, tmp_path / "out.ipynb", "0" * 40)


class _Colab:
    """git and pip replaced: a fetch makes a clone at ``head`` (this checkout's script and paper.yaml), pip copies
    the clone's COMMIT file to where Python finds ``ntkcompanion``."""

    def __init__(self, tmp_path, head):
        self.root, self.head, self.commands = tmp_path, head, []
        self.clone = tmp_path / "ntkcompanion-repo"
        self.site = tmp_path / "site-packages" / "ntkcompanion"

    def run(self, command, check, **kwargs):
        self.commands.append(command)
        if command[0] == "git" and command[3:] == ["rev-parse", "HEAD"]:
            return subprocess.CompletedProcess(command, 0, stdout=self.head + "\n")
        if command[0] == "git" and command[3] == "checkout":
            for path in ("ntkcompanion/_data", "params", "scripts"):
                (self.clone / path).mkdir(parents=True)
            for path in ("params/paper.yaml", "scripts/colab_install.py"):
                shutil.copy(ROOT / path, self.clone / path)
        if "pip" in command:  # installs the clone's package, COMMIT file included
            (self.site / "_data").mkdir(parents=True, exist_ok=True)
            shutil.copy(self.clone / "ntkcompanion" / "_data" / "COMMIT", self.site / "_data")
        return subprocess.CompletedProcess(command, 0, stdout="")

    def find_spec(self, name):
        assert name == "ntkcompanion"
        return types.SimpleNamespace(origin=str(self.site / "__init__.py"))

    def fetched(self, commit):
        return ["git", "-C", "ntkcompanion-repo", "fetch", "-q", "--depth", "1", REPOSITORY, commit] in self.commands

    def installed(self):
        return any("pip" in c for c in self.commands)


@pytest.fixture
def colab(tmp_path, monkeypatch):
    """A Colab session in ``tmp_path`` whose git and pip are stubbed; ntkcompanion not yet imported."""
    session = _Colab(tmp_path, "a" * 40)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", session.run)
    monkeypatch.setattr(importlib.util, "find_spec", session.find_spec)
    monkeypatch.delitem(sys.modules, "ntkcompanion", raising=False)
    return session


PAPER = yaml.safe_load((ROOT / "params" / "paper.yaml").read_text())


def test_install_fetches_installs_and_returns_the_sections_paper_values(colab, capsys):
    values = colab_install.install("ntkcompanion-repo", "a" * 40, "03_transfer", repository=REPOSITORY)
    assert values == PAPER["03_transfer"]
    assert colab.fetched("a" * 40)
    assert any(c[-2] == colab_install.JAX_REQUIREMENT for c in colab.commands if "pip" in c)
    assert (colab.site / "_data" / "COMMIT").read_text() == "a" * 40
    assert f"ntkcompanion {'a' * 40}: the commit that built this page" in capsys.readouterr().out


def test_install_refuses_a_clone_at_another_commit_and_installs_nothing(colab):
    colab_install.fetch("ntkcompanion-repo", None)  # an earlier session's clone, now at "a" * 40
    with pytest.raises(colab_install.InstallError,
                       match=f"holds commit {'a' * 40}, but this page was built from {'b' * 40}: "
                             r"delete the folder \(!rm -rf ntkcompanion-repo\) and run this cell again"):
        colab_install.install("ntkcompanion-repo", "b" * 40, "03_transfer")
    assert not colab.installed(), "nothing is installed from a stale clone"
    assert not (colab.clone / "ntkcompanion" / "_data" / "COMMIT").exists()


def test_install_refuses_an_install_python_does_not_import(colab, monkeypatch):
    """The check after pip: the package Python imports must carry the clone's commit."""
    (colab.site / "_data").mkdir(parents=True)
    (colab.site / "_data" / "COMMIT").write_text("c" * 40)  # pip left another install first on the path
    monkeypatch.setattr(subprocess, "run", functools.partial(
        lambda run, command, **kw: run(command, **kw) if "pip" not in command
        else subprocess.CompletedProcess(command, 0), colab.run))
    with pytest.raises(colab_install.InstallError, match="Python does not import ntkcompanion a{40}: restart"):
        colab_install.install("ntkcompanion-repo", "a" * 40, "03_transfer")


def test_install_refuses_a_package_imported_before_the_install(colab, monkeypatch):
    """pip replaces the files, but a module this session imported keeps its code until a restart."""
    (colab.site / "_data").mkdir(parents=True)
    (colab.site / "_data" / "COMMIT").write_text("c" * 40)
    monkeypatch.setitem(sys.modules, "ntkcompanion", types.ModuleType("ntkcompanion"))
    with pytest.raises(colab_install.InstallError, match="restart the session"):
        colab_install.install("ntkcompanion-repo", "a" * 40, "03_transfer")
    assert (colab.site / "_data" / "COMMIT").read_text() == "a" * 40  # installed, yet not what Python runs


def test_unpinned_install_takes_the_default_branch_and_says_so(colab, capsys):
    colab.head = "d" * 40
    assert colab_install.install("ntkcompanion-repo", None, "02_training_free_attacks") == \
        PAPER["02_training_free_attacks"]
    assert colab.fetched("HEAD")
    assert f"ntkcompanion {'d' * 40}: the default branch (this notebook pins no commit)" in capsys.readouterr().out


def test_install_names_an_unknown_section(colab):
    with pytest.raises(colab_install.InstallError, match="'09_nothing' has no block .* 01_ntk_primer"):
        colab_install.install("ntkcompanion-repo", "a" * 40, "09_nothing")


def test_main_prints_the_values_or_the_refusal(colab, capsys):
    assert colab_install.main(["--commit", "a" * 40, "--section", "05_learned_early"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == PAPER["05_learned_early"]
    assert colab_install.main(["--commit", "b" * 40, "--section", "05_learned_early"]) == 1
    assert "holds commit" in capsys.readouterr().err


def _run_cell(stem, commit, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    source = dict(colab_cells())[f"{stem}.ipynb"].replace("commit = None", f"commit = {commit!r}")
    namespace = {}
    exec(source, namespace)
    return namespace


@pytest.mark.parametrize("stem", sorted(PAPER))
@pytest.mark.parametrize("commit", ["a" * 40, None])
def test_colab_cell_installs_through_the_script_and_loads_the_paper_values(stem, commit, colab, monkeypatch):
    namespace = _run_cell(stem, commit, monkeypatch)
    assert {k: namespace[k] for k in PAPER[stem]} == PAPER[stem]
    assert colab.fetched(commit or "HEAD") and colab.installed()
    assert Path(namespace["colab_install"].__file__).resolve() == colab.clone / "scripts" / "colab_install.py"


def test_colab_cell_refuses_a_clone_at_another_commit(colab, monkeypatch):
    colab.head = "b" * 40
    colab_install.fetch("ntkcompanion-repo", None)
    with pytest.raises(RuntimeError, match=f"holds commit {'b' * 40}, but this page was built from {'a' * 40}"):
        _run_cell("01_ntk_primer", "a" * 40, monkeypatch)
    assert not colab.installed()


def test_colab_cell_stops_on_a_clone_older_than_the_script(colab, monkeypatch):
    """A folder left by a page whose commit predates scripts/colab_install.py: advice, not ModuleNotFoundError."""
    (colab.clone / "params").mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"delete the folder \(!rm -rf ntkcompanion-repo\) and run this cell again"):
        _run_cell("01_ntk_primer", "a" * 40, monkeypatch)
    assert colab.commands == []


def test_colab_install_imports_only_the_standard_library_at_module_level():
    """It runs before anything is installed: PyYAML is imported inside ``paper_values``, after pip."""
    tree = ast.parse((ROOT / "scripts" / "colab_install.py").read_text())
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert top and top <= sys.stdlib_module_names, f"not in the standard library: {top - sys.stdlib_module_names}"
