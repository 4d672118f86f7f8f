"""End to end: every section executes at the smoke profile and the book renders without warnings.

The whole build runs once per test session (``built_book`` in conftest.py); the tests
read what it left: the HTML, the executed notebooks and each section's metrics.json.
The build script's own steps (the dataset check, hiding plumbing cells, the kernels'
environment) are tested first, on planted inputs, in seconds.
"""

import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import _reading_rules as rules
from _scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
BUILD = [sys.executable, str(ROOT / "scripts" / "build_book.py")]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]

slow = pytest.mark.slow


build_book = load_script("build_book")
CODE_COLUMN_CHARS = load_script("format_notebooks").CODE_COLUMN_CHARS


def sections():
    return [Path(p).stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]


@slow
def test_every_section_page_is_rendered(built_book):
    assert (built_book / "html" / "index.html").exists()
    for stem in sections():
        assert (built_book / "html" / "notebooks" / f"{stem}.html").exists(), stem


@slow
def test_every_figure_file_exists(built_book):
    for stem in sections():
        page = built_book / "html" / "notebooks" / f"{stem}.html"
        images = re.findall(r'<img[^>]+src="([^"]+)"', page.read_text())
        assert images, f"{stem} shows no figure"
        for src in images:
            assert (page.parent / src).resolve().exists(), f"{stem}: missing image {src}"


@slow
def test_colab_button_opens_the_source_notebook(built_book):
    for stem in sections():
        html = (built_book / "html" / "notebooks" / f"{stem}.html").read_text()
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
        repo_path = REPOSITORY.removeprefix("https://github.com/")
        assert colab == [f"https://colab.research.google.com/github/{repo_path}/blob/main/notebooks/{stem}.ipynb"]


@slow
def test_primer_metrics_and_glued_numbers(built_book):
    smoke = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())["01_ntk_primer"]
    record = json.loads((built_book / "source" / "results" / "01_ntk_primer" / "metrics.json").read_text())
    assert record["parameters"]["N_TRAIN"] == smoke["N_TRAIN"]
    metrics = record["metrics"]
    for name, errors in metrics["kernel_relative_error"].items():
        assert sorted(int(w) for w in errors) == sorted(smoke["WIDTHS"])
        assert all(0 < e < 2 for e in errors.values())
    fc = metrics["accuracy_t_inf"]["fc NTK"]
    assert 0.5 < fc["accuracy"] <= 1.0  # a two-digit MNIST task: far above chance even at smoke size
    assert fc["low"] <= fc["accuracy"] <= fc["high"]
    html = (built_book / "html" / "notebooks" / "01_ntk_primer.html").read_text()
    assert f"{fc['accuracy']:.3f}" in html, "the glued accuracy is not on the page"
    assert "{glue" not in html


@slow
def test_generated_pages_are_rendered(built_book):
    claims = (built_book / "html" / "book" / "claims.html").read_text()
    assert "Claims check" in claims and "profile: <strong>smoke</strong>" in claims
    staged = (built_book / "source" / "book" / "claims.md").read_text()
    assert "not yet reported" not in staged, "every claim must be tested by some section"
    decisions = ("**supported**", "**not supported**", "**undetermined**")
    for number in range(1, 8):
        rows = [line for line in staged.splitlines() if line.startswith(f"| {number} | ")]
        assert rows, f"claim {number} has no row on the claims page"
        for row in rows:
            assert any(d in row for d in decisions) and "[" in row, row  # a decision and an interval
    assert "claims_verdicts.png" in claims and (built_book / "html" / "_images" / "claims_verdicts.png").is_file()
    report = (built_book / "html" / "book" / "reproducibility.html").read_text()
    assert "01_ntk_primer" in report and "neural-tangents" in report


@slow
def test_build_record_has_profile_and_times(built_book):
    record = json.loads((built_book / "source" / "results" / "build.json").read_text())
    assert record["profile"] == "smoke"
    assert set(record["sections"]) == set(sections())


@slow
def test_source_notebooks_untouched_by_the_build(built_book):
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        assert all(not c.get("outputs") for c in json.loads(path.read_text())["cells"])


def papermill(cwd, output, *args, timeout=300):
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "01_ntk_primer.ipynb"), str(output),
               *args, "--kernel", "python3", "--cwd", str(cwd)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@slow
def test_papermill_override_reaches_the_notebook(tmp_path):
    out = tmp_path / "out.ipynb"
    result = papermill(tmp_path, out, "-p", "N_TRAIN", "24", "-p", "N_TEST", "16",
                       "-p", "N_KERNEL", "4", "-y", "WIDTHS: [4]", "-p", "N_SEEDS", "1",
                       "-p", "OUTPUT_DIR", str(tmp_path / "results"))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "results" / "metrics.json").read_text())
    assert record["parameters"]["N_TRAIN"] == 24 and record["metrics"]["n_train"] == 24
    assert "N_TRAIN = 24" in out.read_text()


@slow
@pytest.mark.parametrize("name,value,message", [
    ("DATASET", "imagenet", "DATASET = 'imagenet' is not allowed: expected one of 'mnist_embedded'"),
    ("N_TRAIN", "-5", "N_TRAIN = -5 is not allowed: expected an integer in [2, "),
    ("ARCHITECTURES", "[resnet]", "ARCHITECTURES[0] = 'resnet' is not allowed: expected one of 'fc', 'conv', 'myrtle'"),
])
def test_bad_parameter_fails_fast_and_clearly(tmp_path, name, value, message):
    started = time.time()
    result = papermill(tmp_path, tmp_path / "out.ipynb", "-y", f"{name}: {value}")
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert time.time() - started < 60


@slow
def test_failing_section_fails_the_build_naming_notebook_and_cell(tmp_path):
    result = subprocess.run(BUILD + ["--profile", "smoke", "--sections", "01_ntk_primer", "--no-html",
                                     "--out", str(tmp_path), "-p", "N_TRAIN", "-5"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert re.search(r"notebooks/01_ntk_primer\.ipynb failed in cell \d+ .*\w+Error: N_TRAIN = -5",
                     result.stderr), result.stderr[-2000:]


@slow
def test_build_rejects_unknown_override_before_running(tmp_path):
    result = subprocess.run(BUILD + ["--profile", "smoke", "--no-html", "--out", str(tmp_path), "-p", "N_TRIAN", "5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "N_TRIAN" in result.stderr
    assert not (tmp_path / "_build").exists()


# --- The build's steps, on planted inputs ----------------------------------------------------------------------


_CELL_IDS = itertools.count()


def _code(source, tags=()):
    return {"cell_type": "code", "id": f"cell-{next(_CELL_IDS)}", "metadata": {"tags": list(tags)},
            "source": source, "outputs": [], "execution_count": None}


def test_hide_plumbing_tags_parameter_and_colab_cells_only():
    cells = [
        _code("N_TRAIN = 60", tags=["parameters"]),
        _code("# Parameters\nN_TRAIN = 800\n", tags=["injected-parameters"]),
        _code(['import sys\n', 'if "google.colab" in sys.modules:\n', '    pass']),
        _code("p = ntkc.sections.setup('01_ntk_primer', globals())"),
        _code("x = 1", tags=["remove-input"]),
        _code("y = 2", tags=["hide-input"]),
        {"cell_type": "markdown", "metadata": {}, "source": "N_TRAIN is the number of training images."},
        _code("N_TRAIN = 60", tags=["parameters", "remove-cell"]),
    ]
    assert build_book.hide_plumbing(cells) == 3
    assert [c["metadata"].get("tags") for c in cells] == [
        ["parameters", "remove-cell"], ["injected-parameters", "remove-cell"], ["remove-cell"], [],
        ["remove-input"], ["hide-input"], None, ["parameters", "remove-cell"]]


def test_kernel_environment_is_set_during_and_restored_after(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "0")
    monkeypatch.delenv("NTKCOMPANION_PROGRESS", raising=False)
    with build_book.kernel_environment(build_book.KERNEL_ENV):
        assert os.environ["NTKCOMPANION_PROGRESS"] == "0" and os.environ["TQDM_DISABLE"] == "1"
    assert os.environ["TQDM_DISABLE"] == "0" and "NTKCOMPANION_PROGRESS" not in os.environ


def test_datasets_needed_reads_plan_then_notebook_default():
    plan = {"notebooks/01_a": {"DATASET": "cifar10"}, "notebooks/02_b": {}, "notebooks/03_c": {"N_TRAIN": 5},
            "notebooks/04_d": {"DATASET": "cifar10"}}
    declared = {"notebooks/01_a": {"DATASET": '"mnist_embedded"'}, "notebooks/02_b": {"DATASET": '"mnist"'},
                "notebooks/03_c": {"N_TRAIN": "5"}, "notebooks/04_d": {"DATASET": '"mnist"'}}
    assert build_book.datasets_needed(plan, declared) == {"cifar10": ["01_a", "04_d"], "mnist": ["02_b"]}
    with pytest.raises(build_book.BuildError, match=r"01_a: DATASET = \['cifar10'\] is not allowed"):
        build_book.datasets_needed({"notebooks/01_a": {"DATASET": ["cifar10"]}}, declared)


def _build_offline(tmp_path, *args):
    data_dir = tmp_path / "empty-data"
    data_dir.mkdir()
    env = {**os.environ, "NTKCOMPANION_DATA_DIR": str(data_dir), "JAX_PLATFORMS": "cpu"}
    started = time.time()
    result = subprocess.run(BUILD + ["--no-html", "--out", str(tmp_path), *args], capture_output=True, text=True,
                            env=env, timeout=120)
    return result, time.time() - started, data_dir


def test_paper_profile_offline_fails_in_seconds_naming_the_missing_files(tmp_path):
    result, seconds, data_dir = _build_offline(tmp_path, "--profile", "paper")
    assert result.returncode == 1, result.stderr[-2000:]
    assert seconds < 30
    message = result.stderr
    assert "no section was started" in message and "executing" not in result.stdout
    assert "DATASET = 'cifar10'" in message and str(data_dir) in message, message
    assert not (tmp_path / "_build").exists()


def test_unknown_dataset_stops_the_build_before_any_section(tmp_path):
    result, _, _ = _build_offline(tmp_path, "--profile", "smoke", "-p", "DATASET", "imagenet")
    assert result.returncode == 1
    assert "no section was started" in result.stderr and "DATASET = 'imagenet'" in result.stderr
    assert not (tmp_path / "_build").exists()


def test_quick_profile_needs_no_downloaded_data(tmp_path):
    result, _, _ = _build_offline(tmp_path, "--profile", "quick", "--check")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "datasets present" in result.stdout
    assert not (tmp_path / "_build").exists()


@slow
def test_kernels_run_without_progress_bars_and_pages_hide_plumbing(tmp_path):
    source = tmp_path / "notebooks" / "planted.ipynb"
    source.parent.mkdir()
    notebook = {"cells": [_code("N_TRAIN = 1", tags=["parameters"]),
                          _code('import os, sys\nif "google.colab" in sys.modules:\n    pass'),
                          _code('print(os.environ.get("NTKCOMPANION_PROGRESS"), os.environ.get("TQDM_DISABLE"))')],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    source.write_text(json.dumps(notebook))
    target = tmp_path / "out" / "notebooks" / "planted.ipynb"
    build_book.execute(source, target, {"N_TRAIN": 2}, tmp_path)
    cells = json.loads(target.read_text())["cells"]
    assert "".join(cells[-1]["outputs"][0]["text"]).split() == ["0", "1"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    hidden = [c for c in cells if "remove-cell" in c["metadata"].get("tags", [])]
    assert len(hidden) == 3  # defaults, injected values, Colab cell


@slow
def test_reading_rules_catch_violations_in_a_rendered_page(tmp_path):
    """A planted notebook rendered by Jupyter Book: the rules see what myst-nb really writes."""
    book = tmp_path / "book"
    (book / "notebooks").mkdir(parents=True)
    (book / "_config.yml").write_text(yaml.safe_dump({"title": "planted", "execute": {"execute_notebooks": "off"},
                                                      "only_build_toc_files": True}))
    (book / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro",
                                                   "chapters": [{"file": "notebooks/planted"}]}))
    (book / "intro.md").write_text("# Intro\n")

    def out(kind, text):
        return {"output_type": "stream", "name": kind, "text": text}

    table = '<table class="ntkc-parameters"><tr><td>N_TRAIN</td><td>2</td></tr></table>'
    cells = [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Planted"},
        _code("N_TRAIN = 1", tags=["parameters"]),
        _code("# Parameters\nN_TRAIN = 2\n", tags=["injected-parameters"]),
        _code("setup()", tags=["remove-input"]),
        _code("print(1)"),
        _code("for i in bar(range(3)):\n    pass"),
        _code("1 / 0"),
        _code("v = " + " + ".join(["value"] * 20)),
    ]
    cells[3]["outputs"] = [{"output_type": "display_data", "metadata": {},
                            "data": {"text/html": table, "text/plain": "<table>"}}]
    cells[4]["outputs"] = [out("stdout", "1\n"), out("stderr", "/root/x.py:3: UserWarning: careful\n")]
    cells[5]["outputs"] = [out("stdout", "100%|##########| 3/3 [00:00<00:00, 999.00it/s]\n")]
    cells[6]["outputs"] = [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
                            "traceback": ["Traceback (most recent call last)", "ZeroDivisionError: division by zero"]}]
    build_book.hide_plumbing(cells)
    (book / "notebooks" / "planted.ipynb").write_text(json.dumps(
        {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(book), "--path-output", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    html = (tmp_path / "out" / "_build" / "html" / "notebooks" / "planted.html").read_text()
    assert "setup()" not in html, "remove-input: the code must not be shown"
    assert rules.parameters_shown_once(html, names={"N_TRAIN"}) == []  # plumbing hidden, table shown once
    assert any("stderr" in p for p in rules.warnings_and_tracebacks(html))
    assert any("traceback" in p for p in rules.warnings_and_tracebacks(html))
    assert rules.absolute_paths(html) and rules.progress_lines(html)
    assert rules.wide_code_lines(html, CODE_COLUMN_CHARS)

