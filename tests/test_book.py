"""End to end: every section executes at the smoke profile and the book renders without warnings.

The whole build runs once per test session (``built_book`` in conftest.py); the tests
read what it left: the HTML, the executed notebooks and each section's metrics.json.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = [sys.executable, str(ROOT / "scripts" / "build_book.py")]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]

pytestmark = pytest.mark.slow


def sections():
    return [Path(p).stem for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]


def test_every_section_page_is_rendered(built_book):
    assert (built_book / "html" / "index.html").exists()
    for stem in sections():
        assert (built_book / "html" / "notebooks" / f"{stem}.html").exists(), stem


def test_every_figure_file_exists(built_book):
    for stem in sections():
        page = built_book / "html" / "notebooks" / f"{stem}.html"
        images = re.findall(r'<img[^>]+src="([^"]+)"', page.read_text())
        assert images, f"{stem} shows no figure"
        for src in images:
            assert (page.parent / src).resolve().exists(), f"{stem}: missing image {src}"


def test_colab_button_opens_the_source_notebook(built_book):
    for stem in sections():
        html = (built_book / "html" / "notebooks" / f"{stem}.html").read_text()
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
        repo_path = REPOSITORY.removeprefix("https://github.com/")
        assert colab == [f"https://colab.research.google.com/github/{repo_path}/blob/main/notebooks/{stem}.ipynb"]


def test_primer_metrics_and_glued_numbers(built_book):
    smoke = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())["01_ntk_primer"]
    record = json.loads((built_book / "source" / "results" / "01_ntk_primer" / "metrics.json").read_text())
    assert record["parameters"]["N_TRAIN"] == smoke["N_TRAIN"]
    metrics = record["metrics"]
    for name, errors in metrics["kernel_relative_error"].items():
        assert sorted(int(w) for w in errors) == sorted(smoke["WIDTHS"])
        assert all(0 < e < 2 for e in errors.values())
    accuracy = metrics["accuracy_t_inf"]["fc-ntk"]
    assert 0.5 < accuracy <= 1.0  # a 0-vs-1 MNIST task: far above chance even at smoke size
    html = (built_book / "html" / "notebooks" / "01_ntk_primer.html").read_text()
    assert f"{accuracy:.3f}" in html, "the glued accuracy is not on the page"
    assert "{glue" not in html


def test_generated_pages_are_rendered(built_book):
    claims = (built_book / "html" / "book" / "claims.html").read_text()
    assert "Claims check" in claims and "profile: <strong>smoke</strong>" in claims
    staged = (built_book / "source" / "book" / "claims.md").read_text()
    assert "not tested in this build" not in staged, "every claim must be tested by some section"
    for number in range(1, 8):
        row = next(line for line in staged.splitlines() if line.startswith(f"| {number}. "))
        assert "**yes**" in row or "**no**" in row, row
    report = (built_book / "html" / "book" / "reproducibility.html").read_text()
    assert "01_ntk_primer" in report and "neural-tangents" in report


def test_build_record_has_profile_and_times(built_book):
    record = json.loads((built_book / "source" / "results" / "build.json").read_text())
    assert record["profile"] == "smoke"
    assert set(record["sections"]) == set(sections())


def test_source_notebooks_untouched_by_the_build(built_book):
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        assert all(not c.get("outputs") for c in json.loads(path.read_text())["cells"])


def papermill(cwd, output, *args, timeout=300):
    command = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "01_ntk_primer.ipynb"), str(output),
               *args, "--kernel", "python3", "--cwd", str(cwd)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_papermill_override_reaches_the_notebook(tmp_path):
    out = tmp_path / "out.ipynb"
    result = papermill(tmp_path, out, "-p", "N_TRAIN", "24", "-p", "N_TEST", "16",
                       "-p", "N_KERNEL", "4", "-y", "WIDTHS: [4]", "-p", "N_SEEDS", "1",
                       "-p", "OUTPUT_DIR", str(tmp_path / "results"))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "results" / "metrics.json").read_text())
    assert record["parameters"]["N_TRAIN"] == 24 and record["metrics"]["n_train"] == 24
    assert "N_TRAIN = 24" in out.read_text()


@pytest.mark.parametrize("name,value,message", [
    ("DATASET", "imagenet", "DATASET = 'imagenet' is not allowed: expected one of 'mnist_embedded'"),
    ("N_TRAIN", "-5", "N_TRAIN = -5 is not allowed: expected an integer >= 1"),
    ("ARCHITECTURES", "[resnet]", "ARCHITECTURES[0] = 'resnet' is not allowed: expected one of 'fc', 'conv', 'myrtle'"),
])
def test_bad_parameter_fails_fast_and_clearly(tmp_path, name, value, message):
    started = time.time()
    result = papermill(tmp_path, tmp_path / "out.ipynb", "-y", f"{name}: {value}")
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert time.time() - started < 60


def test_failing_section_fails_the_build_naming_notebook_and_cell(tmp_path):
    result = subprocess.run(BUILD + ["--profile", "smoke", "--sections", "01_ntk_primer", "--no-html",
                                     "--out", str(tmp_path), "-p", "DATASET", "imagenet"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert re.search(r"notebooks/01_ntk_primer\.ipynb failed in cell \d+ .*ValueError: DATASET = 'imagenet'",
                     result.stderr), result.stderr[-2000:]


def test_build_rejects_unknown_override_before_running(tmp_path):
    result = subprocess.run(BUILD + ["--profile", "smoke", "--no-html", "--out", str(tmp_path), "-p", "N_TRIAN", "5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "N_TRIAN" in result.stderr
    assert not (tmp_path / "_build").exists()
