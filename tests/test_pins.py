"""One set of pins: environment.yml and every Colab install cell agree with pyproject.toml."""

import json
import re
import tomllib
from pathlib import Path

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
        stem = name.removesuffix(".ipynb")
        assert f'yaml.safe_load(open("ntkcompanion-repo/params/paper.yaml"))["{stem}"]' in source, \
            f"{name}: the Colab cell must load this section's paper profile"


def test_colab_cell_loads_the_paper_profile(tmp_path, monkeypatch):
    """Runs each Colab cell as Colab would, with git and pip stubbed out: the paper values land."""
    import subprocess
    import sys
    import types

    paper = yaml.safe_load((ROOT / "params" / "paper.yaml").read_text())
    (tmp_path / "ntkcompanion-repo" / "params").mkdir(parents=True)
    (tmp_path / "ntkcompanion-repo" / "params" / "paper.yaml").write_text(
        (ROOT / "params" / "paper.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, check: commands.append(command))
    for name, source in colab_cells():
        namespace = {}
        exec(source, namespace)
        stem = name.removesuffix(".ipynb")
        assert {k: namespace[k] for k in paper[stem]} == paper[stem], name
        assert any("jax[cuda12]==0.5.3" in c for c in commands)
